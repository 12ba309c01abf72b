//! Times read from fields, per `TimeField.format`: `rfc3339`, `unix_secs`, `unix_ms`, or a
//! chrono format string read as UTC. A format without a time of day (such as `%Y-%m-%d`) gives
//! midnight UTC of that day.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::DateTime;

use crate::error::{ErrorKind, NormalizeError};

/// Parses `text` with `format` into milliseconds since the Unix epoch.
///
/// # Errors
/// `invalid_value` naming the field when the text does not match the format.
pub fn parse_time_ms(field: &str, format: &str, text: &str) -> Result<i64, NormalizeError> {
    let text = text.trim();
    let parsed = match format {
        "rfc3339" => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_millis()),
        "unix_secs" => parse_number(text).and_then(|secs| secs.checked_mul(1000)),
        "unix_ms" => parse_number(text),
        chrono_format => parse_with_format(chrono_format, text),
    };
    parsed.ok_or_else(|| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!(
                "field {field}: {:?} does not match time format {format:?}",
                crate::canonical::ip::truncate(text)
            ),
        )
    })
}

/// `text` read with a chrono format as UTC; a format without a time of day gives midnight.
/// (What `NaiveDateTime::parse_from_str`, then `NaiveDate::parse_from_str`, would return,
/// without reading the format string again for every record.)
fn parse_with_format(format: &str, text: &str) -> Option<i64> {
    fast_path(format, text).or_else(|| general(format, text))
}

/// `text` read with chrono's general parser and the format compiled once per thread.
fn general(format: &str, text: &str) -> Option<i64> {
    let items = compiled(format)?;
    let mut parsed = Parsed::new();
    parse(&mut parsed, text, items.iter()).ok()?;
    let time = match parsed.to_naive_datetime_with_offset(0) {
        Ok(t) => t,
        Err(_) => parsed.to_naive_date().ok()?.and_hms_opt(0, 0, 0)?,
    };
    Some(time.and_utc().timestamp_millis())
}

/// The two formats the catalog uses most, `%Y-%m-%d %H:%M:%S` and `%Y-%m-%d`, read without
/// chrono's general parser when the text has exactly their zero-padded shape
/// (`2024-05-01 11:58:05`). `None` sends everything else, a valid but differently written
/// text included, to chrono, so the result is always chrono's (a property test checks it).
fn fast_path(format: &str, text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let with_time = match format {
        "%Y-%m-%d %H:%M:%S" if b.len() == 19 && b[10] == b' ' && b[13] == b':' && b[16] == b':' => {
            true
        }
        "%Y-%m-%d" if b.len() == 10 => false,
        _ => return None,
    };
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |at: usize, len: usize| -> Option<u32> {
        b[at..at + len].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 2)?, num(8, 2)?)?;
    let (h, m, s) = if with_time {
        (num(11, 2)?, num(14, 2)?, num(17, 2)?)
    } else {
        (0, 0, 0)
    };
    // A leap second (`:60`) is left to chrono.
    Some(date.and_hms_opt(h, m, s)?.and_utc().timestamp_millis())
}

thread_local! {
    /// Formats compiled so far on this thread: a catalog has a handful.
    static COMPILED: RefCell<Vec<(String, Rc<[Item<'static>]>)>> = const { RefCell::new(Vec::new()) };
}

/// The compiled items of `format`; `None` when chrono cannot read the format.
fn compiled(format: &str) -> Option<Rc<[Item<'static>]>> {
    COMPILED.with(|cell| {
        let mut cache = cell.borrow_mut();
        if let Some((_, items)) = cache.iter().find(|(f, _)| f == format) {
            return Some(Rc::clone(items));
        }
        let items: Rc<[Item<'static>]> = StrftimeItems::new(format).parse_to_owned().ok()?.into();
        cache.push((format.to_owned(), Rc::clone(&items)));
        Some(items)
    })
}

/// An integer, also when written as a float with no fraction (`1714564800.0`).
fn parse_number(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let f = text.parse::<f64>().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-05-01T11:58:05Z
    const T: i64 = 1_714_564_685_000;

    #[test]
    fn every_format() {
        assert_eq!(
            parse_time_ms("f", "%Y-%m-%d %H:%M:%S", "2024-05-01 11:58:05").unwrap(),
            T
        );
        assert_eq!(
            parse_time_ms("f", "rfc3339", "2024-05-01T13:58:05+02:00").unwrap(),
            T
        );
        assert_eq!(parse_time_ms("f", "unix_secs", "1714564685").unwrap(), T);
        assert_eq!(parse_time_ms("f", "unix_ms", "1714564685000").unwrap(), T);
        assert_eq!(parse_time_ms("f", "unix_secs", "1714564685.0").unwrap(), T);
    }

    #[test]
    fn date_only_is_midnight_utc() {
        assert_eq!(
            parse_time_ms("f", "%Y-%m-%d", "2024-05-01").unwrap(),
            1_714_521_600_000
        );
    }

    #[test]
    fn mismatches_are_invalid_values_naming_the_field() {
        let err = parse_time_ms("last_online", "%Y-%m-%d", "yesterday").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidValue);
        assert!(err.message.contains("last_online"), "{}", err.message);
        assert!(parse_time_ms("f", "rfc3339", "2024-05-01").is_err());
        assert!(parse_time_ms("f", "unix_secs", "soon").is_err());
    }

    /// Texts of the fast path's shape, valid or not, give exactly what chrono's general parser
    /// gives.
    #[test]
    fn fast_path_agrees_with_chrono() {
        use proptest::prelude::*;
        let digits = |n: usize| proptest::collection::vec(0u8..10, n);
        proptest!(|(y in digits(4), mo in 0u8..14, d in 0u8..33, h in 0u8..26, mi in 0u8..62, s in 0u8..62)| {
            let year: String = y.iter().map(|d| char::from(b'0' + d)).collect();
            let date = format!("{year}-{mo:02}-{d:02}");
            let full = format!("{date} {h:02}:{mi:02}:{s:02}");
            prop_assert_eq!(parse_with_format("%Y-%m-%d %H:%M:%S", &full), general("%Y-%m-%d %H:%M:%S", &full), "{}", full);
            prop_assert_eq!(parse_with_format("%Y-%m-%d", &date), general("%Y-%m-%d", &date), "{}", date);
        });
        // Shapes the fast path refuses still parse through chrono.
        assert_eq!(
            parse_with_format("%Y-%m-%d", "2024-5-01"),
            general("%Y-%m-%d", "2024-5-01")
        );
        assert_eq!(
            parse_with_format("%Y-%m-%d %H:%M:%S", "2024-05-01 23:59:60"),
            general("%Y-%m-%d %H:%M:%S", "2024-05-01 23:59:60")
        );
    }
}
