//! Refanging: undoes the "defanging" that analysts and feeds apply so an indicator cannot be
//! clicked (`hxxp://evil[.]com`). Runs before any parser, on every value.
//!
//! Rewrites, case-insensitively: a leading `hxxp`/`hxxps` scheme to `http`/`https`; `[.]`,
//! `(.)`, `(dot)` and `[dot]` to `.`; `[:]` to `:`; `[@]` and `[at]` to `@`. A value without any
//! of these is returned borrowed, untouched. Bare words (`dot`, `at` without brackets) are left
//! alone: they occur in real names and paths.

use std::borrow::Cow;

/// Bracketed forms and what they stand for, matched case-insensitively.
const REPLACEMENTS: &[(&str, &str)] = &[
    ("[.]", "."),
    ("(.)", "."),
    ("(dot)", "."),
    ("[dot]", "."),
    ("[:]", ":"),
    ("[@]", "@"),
    ("[at]", "@"),
];

/// Undoes common defanging.
pub fn refang(value: &str) -> Cow<'_, str> {
    let scheme_defanged = starts_with_ignore_case(value, "hxxp");
    let bracketed = value.contains(['[', '(']);
    if !scheme_defanged && !bracketed {
        return Cow::Borrowed(value);
    }

    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    if starts_with_ignore_case(value, "hxxps") {
        out.push_str("https");
        rest = &rest[5..];
    } else if scheme_defanged {
        out.push_str("http");
        rest = &rest[4..];
    }
    'outer: while !rest.is_empty() {
        if rest.starts_with(['[', '(']) {
            for (from, to) in REPLACEMENTS {
                if starts_with_ignore_case(rest, from) {
                    out.push_str(to);
                    rest = &rest[from.len()..];
                    continue 'outer;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    Cow::Owned(out)
}

fn starts_with_ignore_case(value: &str, prefix: &str) -> bool {
    value
        .as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undoes_every_listed_defang() {
        assert_eq!(
            refang("hxxps://dhl-parcel-tracking[.]example[.]com/track"),
            "https://dhl-parcel-tracking.example.com/track"
        );
        assert_eq!(
            refang("hXXp://a(.)b(dot)c[DOT]d[:]8080/"),
            "http://a.b.c.d:8080/"
        );
        assert_eq!(refang("user[@]example[.]org"), "user@example.org");
        assert_eq!(refang("user[at]example[dot]org"), "user@example.org");
        assert_eq!(refang("HXXPS://a[AT]b(DOT)c"), "https://a@b.c");
        assert_eq!(refang("hxxp[:]//x"), "http://x");
    }

    #[test]
    fn leaves_clean_values_borrowed() {
        assert!(matches!(refang("https://example.org/"), Cow::Borrowed(_)));
        assert!(matches!(refang("192.0.2.1"), Cow::Borrowed(_)));
    }

    #[test]
    fn is_idempotent_and_keeps_other_brackets() {
        let once = refang("hxxp://[2001:db8::1]/a(b)[c]");
        assert_eq!(once, "http://[2001:db8::1]/a(b)[c]");
        assert_eq!(refang(&once), once);
    }

    #[test]
    fn handles_multibyte_text() {
        assert_eq!(refang("bücher[.]example"), "bücher.example");
    }
}
