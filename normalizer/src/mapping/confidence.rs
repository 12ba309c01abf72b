//! Confidence: maps a source's confidence value to iocflow's 0-100.
//!
//! Without `confidence_scale` the value must already be a number in 0-100 (rounded). With
//! `{ kind = "range", min, max }` a number on the source's range maps linearly (`min` → 0,
//! `max` → 100, rounded half away from zero): on `0..=10`, `7` is 70 and `2.5` is 25. With
//! `{ kind = "levels", map = { high = 85, medium = 50, low = 15 } }` a named level maps to its
//! value, compared case-insensitively after trimming. Anything else is an invalid value that
//! names the accepted values; it is not clamped, because a value outside the scale means the
//! spec no longer describes the source.

use iocflow_schemas::spec::ConfidenceScale;

use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Maps `text` to a 0-100 confidence.
///
/// # Errors
/// `invalid_value` when `text` is not on the scale.
pub fn parse(scale: Option<&ConfidenceScale>, text: &str) -> Result<i32, NormalizeError> {
    let t = text.trim();
    let invalid = |expected: String| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("confidence {:?} is not {expected}", truncate(text)),
        )
    };
    let number = || t.parse::<f64>().ok().filter(|n| n.is_finite());
    match scale {
        None => match number().filter(|c| (0.0..=100.0).contains(c)) {
            Some(c) => Ok(c.round() as i32),
            None => Err(invalid("0-100".into())),
        },
        Some(ConfidenceScale::Range { min, max }) => {
            match number().filter(|c| (*min..=*max).contains(c)) {
                Some(c) => Ok(((c - min) / (max - min) * 100.0).round() as i32),
                None => Err(invalid(format!("on the source's scale {min}-{max}"))),
            }
        }
        Some(ConfidenceScale::Levels { map }) => map
            .iter()
            .find(|(level, _)| level.trim().eq_ignore_ascii_case(t))
            .map(|(_, c)| *c)
            .ok_or_else(|| {
                let names: Vec<&str> = map.keys().map(String::as_str).collect();
                invalid(format!("one of the levels {}", names.join(", ")))
            }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn plain_percentages() {
        assert_eq!(parse(None, " 87.4 ").unwrap(), 87);
        assert_eq!(parse(None, "100").unwrap(), 100);
        assert_eq!(
            parse(None, "high").unwrap_err().message,
            "confidence \"high\" is not 0-100"
        );
        assert!(parse(None, "101").is_err());
        assert!(parse(None, "NaN").is_err());
    }

    #[test]
    fn ranges_map_linearly() {
        let scale = ConfidenceScale::Range {
            min: 0.0,
            max: 10.0,
        };
        assert_eq!(parse(Some(&scale), "7").unwrap(), 70);
        assert_eq!(parse(Some(&scale), "2.5").unwrap(), 25);
        assert_eq!(parse(Some(&scale), "0").unwrap(), 0);
        assert_eq!(parse(Some(&scale), "10").unwrap(), 100);
        assert_eq!(
            parse(Some(&scale), "11").unwrap_err().message,
            "confidence \"11\" is not on the source's scale 0-10"
        );
        let shifted = ConfidenceScale::Range { min: 1.0, max: 5.0 };
        assert_eq!(parse(Some(&shifted), "3").unwrap(), 50);
    }

    #[test]
    fn levels_map_by_name() {
        let map: BTreeMap<String, i32> = [("high", 85), ("medium", 50), ("low", 15)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let scale = ConfidenceScale::Levels { map };
        assert_eq!(parse(Some(&scale), "High").unwrap(), 85);
        assert_eq!(parse(Some(&scale), " low ").unwrap(), 15);
        assert_eq!(
            parse(Some(&scale), "certain").unwrap_err().message,
            "confidence \"certain\" is not one of the levels high, low, medium"
        );
    }
}
