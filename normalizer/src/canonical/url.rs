//! URLs (`url`).
//!
//! Canonical form, decided for iocflow: what the WHATWG parser of the `url` crate produces, which
//! lower-cases the scheme and the host (internationalized hosts become punycode), drops the
//! scheme's default port (`:80` on http, `:443` on https, `:21` on ftp), writes an empty path as
//! `/` and percent-encodes characters that cannot appear raw. The path, query and fragment keep
//! their case and their existing percent-encoding: `https://Download.Example-Cdn.COM/files/A.zip`
//! becomes `https://download.example-cdn.com/files/A.zip`. Only `http`, `https` and `ftp` URLs
//! with a host are indicators; anything else is an invalid value.

use url::Url;

use crate::canonical::ip::truncate;
use crate::error::{ErrorKind, NormalizeError};

/// Schemes accepted as URL indicators.
const SCHEMES: &[&str] = &["http", "https", "ftp"];

/// Canonicalizes a (refanged) URL.
///
/// # Errors
/// `invalid_value` when the value does not parse as an absolute URL, has another scheme, or has
/// no host.
pub fn canonical_url(value: &str) -> Result<String, NormalizeError> {
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
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host".into()));
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ];
        for (input, want) in cases {
            assert_eq!(canonical_url(input).unwrap(), want, "{input}");
        }
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
                canonical_url(bad).unwrap_err().kind,
                ErrorKind::InvalidValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn idempotent() {
        for v in [
            "https://Download.Example-Cdn.COM/files/Invoice_0501.zip",
            "http://a.example:80/x?y=1#frag",
            "http://[2001:DB8::1]:8080/a%2fb",
            "ftp://files.example.org/a b",
        ] {
            let once = canonical_url(v).unwrap();
            assert_eq!(canonical_url(&once).unwrap(), once, "{v}");
        }
    }
}
