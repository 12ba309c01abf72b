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

/// Undoes common defanging. A value in which nothing is rewritten (brackets that are not
/// markers included, such as an IPv6 URL host) is returned borrowed, so a caller can tell from
/// the `Cow` alone whether refanging changed anything.
pub fn refang(value: &str) -> Cow<'_, str> {
    let (scheme, start) = if starts_with_ignore_case(value, "hxxps") {
        ("https", 5)
    } else if starts_with_ignore_case(value, "hxxp") {
        ("http", 4)
    } else {
        ("", 0)
    };
    let mut next = next_marker(value, start);
    if start == 0 && next.is_none() {
        return Cow::Borrowed(value);
    }

    let mut out = String::with_capacity(value.len());
    out.push_str(scheme);
    let mut at = start;
    while let Some((pos, from, to)) = next {
        out.push_str(&value[at..pos]);
        out.push_str(to);
        at = pos + from.len();
        next = next_marker(value, at);
    }
    out.push_str(&value[at..]);
    Cow::Owned(out)
}

/// The first marker at or after byte `from`: its position, the marker and its replacement.
fn next_marker(value: &str, from: usize) -> Option<(usize, &'static str, &'static str)> {
    memchr::memchr2_iter(b'[', b'(', &value.as_bytes()[from..]).find_map(|i| {
        let pos = from + i;
        REPLACEMENTS
            .iter()
            .find(|(marker, _)| starts_with_ignore_case(&value[pos..], marker))
            .map(|(marker, to)| (pos, *marker, *to))
    })
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
        // Brackets that are not markers change nothing either.
        assert!(matches!(
            refang("http://[2001:db8::1]/a(b)[c]"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(refang("a[.b(dot"), Cow::Borrowed(_)));
        assert!(matches!(refang("a[.]b"), Cow::Owned(_)));
    }

    #[test]
    fn is_idempotent_and_keeps_other_brackets() {
        let once = refang("hxxp://[2001:db8::1]/a(b)[c]");
        assert_eq!(once, "http://[2001:db8::1]/a(b)[c]");
        assert_eq!(refang(&once), once);
    }

    proptest::proptest! {
        /// Borrowed exactly when nothing changed (every rewrite changes the text).
        #[test]
        fn borrowed_exactly_when_unchanged(v in "[\\[\\](). dotaAT:@hxpsü]{0,24}") {
            let once = refang(&v);
            proptest::prop_assert_eq!(matches!(once, Cow::Borrowed(_)), once == v.as_str());
        }
    }

    #[test]
    fn handles_multibyte_text() {
        assert_eq!(refang("bücher[.]example"), "bücher.example");
    }
}
