//! Views: the canonical [`Indicator`] rendered for platforms that speak a standard format
//! instead of iocflow's own JSON.
//!
//! - [`stix`]: STIX 2.1 objects (indicator, observable, identity, TLP 2.0 markings,
//!   relationships) and bundles, valid for the OASIS `stix2-validator` in strict mode;
//! - [`ecs`]: an Elastic Common Schema document with the `threat.indicator.*` and
//!   `threat.feed.*` fields.
//!
//! Both are pure functions of the indicator (no clock, no I/O), so rendering the same indicator
//! twice gives byte-identical output. They are used by `iocflow integrations export` and by the
//! validator test (`tests/stix_validator.rs`).
//!
//! [`Indicator`]: iocflow_schemas::Indicator

pub mod ecs;
pub mod stix;

use chrono::{DateTime, SecondsFormat};

/// Why an indicator cannot be rendered in a view. Always permanent: the same indicator fails
/// the same way every time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ViewError {
    /// The indicator type has no rendering in this view.
    #[error("indicator type {kind:?} has no {view} rendering")]
    UnsupportedType {
        /// The indicator type.
        kind: String,
        /// The view (`stix` or `ecs`).
        view: &'static str,
    },
    /// A field holds a value the view cannot represent.
    #[error("field `{field}`: {message}")]
    InvalidField {
        /// The indicator field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

impl ViewError {
    /// Whether retrying could help: never, rendering is a pure function of the indicator.
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// Milliseconds since the Unix epoch as RFC 3339 UTC with exactly three fraction digits and a
/// `Z` suffix (`2024-05-01T12:00:00.000Z`), the form STIX 2.1 and ECS both accept.
///
/// # Errors
/// [`ViewError::InvalidField`] naming `field` when `ms` is outside the range chrono represents.
pub fn rfc3339_ms(field: &'static str, ms: i64) -> Result<String, ViewError> {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .ok_or_else(|| ViewError::InvalidField {
            field,
            message: format!("{ms} ms is not a representable time"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_milliseconds_and_z() {
        assert_eq!(
            rfc3339_ms("t", 1_714_564_800_000).unwrap(),
            "2024-05-01T12:00:00.000Z"
        );
        assert_eq!(rfc3339_ms("t", 5).unwrap(), "1970-01-01T00:00:00.005Z");
        assert!(rfc3339_ms("t", i64::MAX).is_err());
    }

    #[test]
    fn view_errors_are_permanent() {
        let e = ViewError::UnsupportedType {
            kind: "x".into(),
            view: "stix",
        };
        assert!(!e.is_retriable());
    }
}
