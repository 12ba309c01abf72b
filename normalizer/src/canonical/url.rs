//! URLs (`url`).
//!
//! Canonical form, decided for iocflow: what the WHATWG parser of the `url` crate produces, which
//! lower-cases the scheme and the host (internationalized hosts become punycode, their Unicode
//! form is kept beside the value), drops the scheme's default port (`:80` on http, `:443` on
//! https, `:21` on ftp), writes an empty path as `/`, resolves `.` and `..` path segments, and
//! percent-encodes characters that cannot appear raw. Then percent-escapes in the path, query
//! and fragment are normalized the RFC 3986 way, which never changes what the URL means: an
//! escaped unreserved character (`A-Z a-z 0-9 - . _ ~`) is decoded (`%7Euser` → `~user`), and
//! every other escape is written with upper-case hex (`%2f` → `%2F`); reserved characters stay
//! escaped (`%40` is not `@`). The path, query and fragment otherwise keep their case:
//! `https://Download.Example-Cdn.COM/files/A.zip` becomes
//! `https://download.example-cdn.com/files/A.zip`.
//!
//! Only `http`, `https` and `ftp` URLs with a host are indicators; anything else is an invalid
//! value. A host that is a private or reserved IP address is treated like such an address
//! (see [`super::ip::non_public`]).

use std::borrow::Cow;

use url::{Host, Position, Url};

use crate::canonical::domain;
use crate::canonical::ip::{check_public, truncate};
use crate::canonical::refang::refang;
use crate::error::{ErrorKind, NormalizeError};

/// Schemes accepted as URL indicators.
const SCHEMES: &[&str] = &["http", "https", "ftp"];

/// A canonical URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalUrl {
    /// The canonical URL: the indicator value.
    pub url: String,
    /// The URL with its host in Unicode, when the host is an internationalized name.
    pub unicode: Option<String>,
    /// `private_address` or `reserved_address` when the host is such an address and kept.
    pub flag: Option<&'static str>,
}

/// Canonicalizes a (refanged) URL.
///
/// # Errors
/// `invalid_value` when the value does not parse as an absolute URL, has another scheme, has no
/// host, or its host is a non-public address and `keep_non_public` is false.
pub fn canonical_url(value: &str, keep_non_public: bool) -> Result<CanonicalUrl, NormalizeError> {
    let mut url = parse_once(value, keep_non_public)?;
    // Parsing can complete a defanged marker the input did not contain: the parser drops tabs
    // and newlines (`[at<LF>]` becomes `[at]`), and decoding an escaped unreserved character
    // can finish one (`[%2E]` becomes `[.]`). Such a URL is refanged and parsed again until
    // nothing changes, so the canonical form is a fixed point (canonicalizing it again, which
    // refangs first, returns it unchanged). Every round that changes something removes at least
    // two characters of a marker, so few rounds are ever needed.
    for _ in 0..MAX_REFANG_ROUNDS {
        match refang(&url.url) {
            Cow::Borrowed(_) => return Ok(url),
            Cow::Owned(again) => url = parse_once(&again, keep_non_public)?,
        }
    }
    Err(NormalizeError::new(
        ErrorKind::InvalidValue,
        format!(
            "{:?} is not a URL indicator: defanged markers keep reappearing when it is parsed",
            truncate(value)
        ),
    ))
}

/// Rounds of refanging the parsed URL again before [`canonical_url`] gives up.
const MAX_REFANG_ROUNDS: usize = 8;

/// One parse of a (refanged) URL into its canonical form; see [`canonical_url`].
fn parse_once(value: &str, keep_non_public: bool) -> Result<CanonicalUrl, NormalizeError> {
    let invalid = |why: String| {
        NormalizeError::new(
            ErrorKind::InvalidValue,
            format!("{:?} is not a URL indicator: {why}", truncate(value)),
        )
    };
    let url = Url::parse(value.trim()).map_err(|e| invalid(e.to_string()))?;
    if !SCHEMES.contains(&url.scheme()) {
        return Err(invalid(format!(
            "scheme {} is not http, https or ftp",
            url.scheme()
        )));
    }
    let flag = match url.host() {
        None => return Err(invalid("no host".into())),
        Some(Host::Domain("")) => return Err(invalid("no host".into())),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(a)) => check_public(a.into(), keep_non_public)?,
        Some(Host::Ipv6(a)) => check_public(a.into(), keep_non_public)?,
    };

    // Most URLs have no escape at all: skip the rewrite and the second parse for them.
    let url = if url[Position::BeforePath..].contains('%') {
        let normalized = format!(
            "{}{}",
            &url[..Position::BeforePath],
            normalize_escapes(&url[Position::BeforePath..])
        );
        // Decoding unreserved characters cannot change how the URL parses; parsing again keeps
        // the result exactly what the parser itself would write.
        Url::parse(&normalized).map_err(|e| invalid(e.to_string()))?
    } else {
        url
    };

    let unicode = match url.host() {
        Some(Host::Domain(host)) => domain::to_unicode(host).map(|host| {
            format!(
                "{}{host}{}",
                &url[..Position::BeforeHost],
                &url[Position::AfterHost..]
            )
        }),
        _ => None,
    };
    Ok(CanonicalUrl {
        url: url.into(),
        unicode,
        flag,
    })
}

/// Decodes escaped unreserved characters and upper-cases the hex of every other escape.
fn normalize_escapes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) {
                let decoded = hi * 16 + lo;
                let unreserved = decoded.is_ascii_alphanumeric() || b"-._~".contains(&decoded);
                if unreserved && !(decoded.is_ascii_hexdigit() && ends_in_partial_escape(&out)) {
                    out.push(char::from(decoded));
                } else {
                    out.push('%');
                    out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                    out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                }
                i += 3;
                continue;
            }
        }
        // Copy one whole character (the text is valid UTF-8; escapes are ASCII).
        let len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + len]);
        i += len;
    }
    out
}

/// Whether `out` ends with `%` or `%` and one hex digit: a decoded hex digit appended there
/// would make a new escape (`%0%61` must not become `%0a`), so it stays escaped.
fn ends_in_partial_escape(out: &str) -> bool {
    let b = out.as_bytes();
    match b {
        [.., b'%'] => true,
        [.., b'%', h] => h.is_ascii_hexdigit(),
        _ => false,
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(v: &str) -> Result<String, NormalizeError> {
        canonical_url(v, false).map(|u| u.url)
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            (
                "https://Download.Example-Cdn.COM/files/Invoice_0501.zip",
                "https://download.example-cdn.com/files/Invoice_0501.zip",
            ),
            (
                "http://update-check.example.net:80/gate.php?id=7",
                "http://update-check.example.net/gate.php?id=7",
            ),
            ("HTTPS://example.org:443", "https://example.org/"),
            (
                "http://115.55.237.17:43145/i",
                "http://115.55.237.17:43145/i",
            ),
            (
                "ftp://files.example.org:21/a b",
                "ftp://files.example.org/a%20b",
            ),
            (
                "https://microsoft-365-auth.example.web.app/?login=user%40contoso.com",
                "https://microsoft-365-auth.example.web.app/?login=user%40contoso.com",
            ),
            (
                "http://bücher.example/Path",
                "http://xn--bcher-kva.example/Path",
            ),
            ("http://a.example/a/./b/../c", "http://a.example/a/c"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input).unwrap(), want, "{input}");
        }
    }

    /// Found by fuzz target `canon_url`: markers completed by the parser itself are refanged
    /// too, so canonicalizing the result again (which refangs first) changes nothing.
    #[test]
    fn markers_the_parser_completes_are_refanged() {
        let cases = [
            // The parser drops the newline, which completes `[at]`.
            ("ftp://files.example/x[at\n]y", "ftp://files.example/x@y"),
            // Decoding the escaped unreserved `.` completes `[.]`, then `(dot)`.
            ("http://a.example/a[%2E]b", "http://a.example/a.b"),
            ("http://a.example/a(%64ot)b", "http://a.example/a.b"),
            // Nested: refanging the inner marker completes the outer one.
            ("http://a.example/a[[.]]b", "http://a.example/a.b"),
            ("http://a.example/a[[%2E]]b", "http://a.example/a.b"),
        ];
        for (input, want) in cases {
            let once = canon(input).unwrap();
            assert_eq!(once, want, "{input}");
            let refanged = refang(&once);
            assert_eq!(canon(&refanged).unwrap(), once, "{input} twice");
        }
    }

    #[test]
    fn percent_encoding_is_normalized_without_changing_meaning() {
        let cases = [
            // Unreserved characters are decoded.
            (
                "http://a.example/%7Euser/%41%62%2d%5F",
                "http://a.example/~user/Ab-_",
            ),
            // Other escapes keep their bytes, with upper-case hex.
            (
                "http://a.example/a%2fb?q=%3d%3D#%2f",
                "http://a.example/a%2Fb?q=%3D%3D#%2F",
            ),
            // A reserved character stays escaped.
            (
                "http://a.example/?u=a%40b%26c",
                "http://a.example/?u=a%40b%26c",
            ),
            // A lone or broken % is left as written (the parser keeps it).
            ("http://a.example/100%/x%zz", "http://a.example/100%/x%zz"),
            // UTF-8 escapes are upper-cased, not decoded.
            ("http://a.example/%c3%a9", "http://a.example/%C3%A9"),
            // Decoding never creates a new escape from a broken one.
            ("http://a.example/%0%61", "http://a.example/%0%61"),
            ("http://a.example/%%361", "http://a.example/%%361"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn unicode_form_of_an_idn_host_is_kept() {
        let u = canonical_url("https://Bücher.example:8443/Path?q=1", false).unwrap();
        assert_eq!(u.url, "https://xn--bcher-kva.example:8443/Path?q=1");
        assert_eq!(
            u.unicode.as_deref(),
            Some("https://bücher.example:8443/Path?q=1")
        );
        assert_eq!(
            canonical_url("https://example.org/", false)
                .unwrap()
                .unicode,
            None
        );
    }

    #[test]
    fn non_public_hosts() {
        assert_eq!(
            canon("http://192.168.1.1/boot.sh").unwrap_err().message,
            "192.168.1.1 is a private address (RFC 1918)"
        );
        assert_eq!(
            canon("http://[::1]:8080/").unwrap_err().message,
            "::1 is a loopback address (RFC 4291)"
        );
        let kept = canonical_url("http://10.0.0.5/x", true).unwrap();
        assert_eq!(
            (kept.url.as_str(), kept.flag),
            ("http://10.0.0.5/x", Some("private_address"))
        );
    }

    #[test]
    fn invalid_urls_are_invalid_values() {
        for bad in [
            "not a url",
            "not a url at all",
            "/relative/path",
            "mailto:a@example.org",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "http://",
            "http://exa mple.com/",
            "",
        ] {
            assert_eq!(
                canon(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
        assert!(canon("javascript:alert(1)")
            .unwrap_err()
            .message
            .ends_with("scheme javascript is not http, https or ftp"));
    }

    #[test]
    fn idempotent() {
        for v in [
            "https://Download.Example-Cdn.COM/files/Invoice_0501.zip",
            "http://a.example:80/x?y=1#frag",
            "http://[2606:4700::1]:8080/a%2fb",
            "ftp://files.example.org/a b",
            "http://a.example/%7e%2e%2E/%25%32%65",
        ] {
            let once = canon(v).unwrap();
            assert_eq!(canon(&once).unwrap(), once, "{v}");
        }
    }
}
