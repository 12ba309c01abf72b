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
//!
//! Most feed URLs are already in this form; `as_written` recognizes them without running the
//! parser, and [`canonical_url_parsed`] (always the parser) is what the shortcut is tested
//! against.

use std::borrow::Cow;
use std::net::Ipv4Addr;

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
    // Parsing can complete a defanged marker the input did not contain: the parser drops tabs
    // and newlines (`[at<LF>]` becomes `[at]`), and decoding an escaped unreserved character
    // can finish one (`[%2E]` becomes `[.]`). Such a URL is refanged and parsed again until
    // nothing changes, so the canonical form is a fixed point (canonicalizing it again, which
    // refangs first, returns it unchanged). Every round that changes something removes at least
    // two characters of a marker, so few rounds are ever needed.
    fixed_point(value, keep_non_public, parse_once)
}

/// Rounds of refanging the parsed URL again before [`canonical_url`] gives up.
const MAX_REFANG_ROUNDS: usize = 8;

/// [`canonical_url`] without the shortcut for URLs already in canonical form: every URL goes
/// through the `url` crate's parser. It is the reference the shortcut is checked against (a
/// property test here and the fuzz target `canon_url` compare the two on every input).
///
/// # Errors
/// As [`canonical_url`].
pub fn canonical_url_parsed(
    value: &str,
    keep_non_public: bool,
) -> Result<CanonicalUrl, NormalizeError> {
    fixed_point(value, keep_non_public, parse)
}

/// Canonicalizes with `parse_once` until refanging the result changes nothing.
fn fixed_point(
    value: &str,
    keep_non_public: bool,
    parse_once: fn(&str, bool) -> Result<CanonicalUrl, NormalizeError>,
) -> Result<CanonicalUrl, NormalizeError> {
    let mut url = parse_once(value, keep_non_public)?;
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

/// One canonicalization of a (refanged) URL: the value itself when it is already written the
/// way the parser would write it, the parser's output otherwise.
fn parse_once(value: &str, keep_non_public: bool) -> Result<CanonicalUrl, NormalizeError> {
    match as_written(value) {
        Some(host) => Ok(CanonicalUrl {
            url: value.to_owned(),
            unicode: None,
            flag: match host {
                WrittenHost::Domain => None,
                WrittenHost::Ipv4(addr) => check_public(addr.into(), keep_non_public)?,
            },
        }),
        None => parse(value, keep_non_public),
    }
}

/// The host of a URL [`as_written`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WrittenHost {
    /// A lower-case ASCII name that is not punycode.
    Domain,
    /// A dotted-quad IPv4 address without leading zeros.
    Ipv4(Ipv4Addr),
}

/// Recognizes, without parsing, a URL the WHATWG parser would write back byte for byte, and
/// returns its host; `None` means "not sure", never "invalid".
///
/// Most feed URLs are already canonical, and the parser is the largest cost of normalizing
/// them. Accepted: `http://`, `https://` or `ftp://`; a host of lower-case ASCII labels (no
/// empty label, no `xn--`) whose last label starts with a letter, or a dotted-quad IPv4
/// address without leading zeros; an optional port without a leading zero that is not the
/// scheme's default; then a `/` and a path, query and fragment of characters the parser
/// leaves alone (RFC 3986 unreserved and sub-delimiters, `:`, `@`, `/`, `?` after the path;
/// no `%`, no `'` after the path, no `.` or `..` segment). Anything else goes to the parser.
fn as_written(value: &str) -> Option<WrittenHost> {
    let bytes = value.as_bytes();
    let (scheme_len, default_port) = if bytes.starts_with(b"http://") {
        (7, 80)
    } else if bytes.starts_with(b"https://") {
        (8, 443)
    } else if bytes.starts_with(b"ftp://") {
        (6, 21)
    } else {
        return None;
    };
    let rest = &bytes[scheme_len..];

    // The host: labels of [a-z0-9-], none empty, none punycode.
    let mut at = 0;
    let mut label_start = 0;
    while at < rest.len() && class(rest[at]) & HOST != 0 {
        if at == label_start && rest[at..].starts_with(b"xn--") {
            return None;
        }
        if rest[at] == b'.' {
            if at == label_start {
                return None;
            }
            label_start = at + 1;
        }
        at += 1;
    }
    if at == label_start {
        return None;
    }
    let host = written_host(&value[scheme_len..scheme_len + at], &rest[label_start..at])?;

    // An optional port, written as the parser writes it.
    if rest.get(at) == Some(&b':') {
        let digits = rest[at + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let port = &value[scheme_len + at + 1..scheme_len + at + 1 + digits];
        if !(1..=5).contains(&digits) || port.starts_with('0') {
            return None;
        }
        match port.parse::<u16>() {
            Ok(number) if number != default_port => at += 1 + digits,
            _ => return None,
        }
    }
    if rest.get(at) != Some(&b'/') {
        return None;
    }
    written_tail(&rest[at..]).then_some(host)
}

/// The host of [`as_written`], given its last label.
fn written_host(host: &str, last_label: &[u8]) -> Option<WrittenHost> {
    if last_label[0].is_ascii_lowercase() {
        return Some(WrittenHost::Domain);
    }
    // A last label that is not a name makes the parser read the host as an IPv4 address, in
    // any of the forms it accepts; only the one it writes back is taken here.
    let mut octets = [0u8; 4];
    let mut labels = host.split('.');
    for octet in &mut octets {
        let label = labels.next()?;
        if label.len() > 3
            || !label.bytes().all(|b| b.is_ascii_digit())
            || (label.len() > 1 && label.starts_with('0'))
        {
            return None;
        }
        *octet = label.parse().ok()?;
    }
    if labels.next().is_some() {
        return None;
    }
    Some(WrittenHost::Ipv4(Ipv4Addr::from(octets)))
}

/// Whether the path, query and fragment of [`as_written`], starting at the path's `/`, hold
/// only characters the parser leaves alone and no `.` or `..` path segment.
fn written_tail(tail: &[u8]) -> bool {
    let mut allowed = PATH;
    let mut segment_start = 0;
    for (at, &b) in tail.iter().enumerate() {
        if allowed == PATH && (b == b'/' || b == b'?' || b == b'#') {
            if matches!(&tail[segment_start..at], b"." | b"..") {
                return false;
            }
            segment_start = at + 1;
        }
        match b {
            b'?' if allowed == PATH => allowed = QUERY,
            b'#' if allowed != FRAGMENT => allowed = FRAGMENT,
            _ if class(b) & allowed == 0 => return false,
            _ => {}
        }
    }
    allowed != PATH || !matches!(&tail[segment_start..], b"." | b"..")
}

/// Character classes of [`as_written`]: what the parser writes unchanged in a host, a path, a
/// query and a fragment. `%` is in none of them (escapes are normalized by [`parse`]), nor is
/// anything outside printable ASCII.
const HOST: u8 = 1;
const PATH: u8 = 2;
const QUERY: u8 = 4;
const FRAGMENT: u8 = 8;

fn class(b: u8) -> u8 {
    const TABLE: [u8; 256] = {
        let mut table = [0u8; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            let mut bits = 0;
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.' {
                bits |= HOST;
            }
            // RFC 3986 unreserved characters, the sub-delimiters other than `'`, `:`, `@`, `/`.
            let plain = c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b':'
                        | b'@'
                        | b'/'
                );
            if plain || c == b'\'' {
                bits |= PATH;
            }
            if plain || c == b'?' {
                bits |= QUERY | FRAGMENT;
            }
            table[b] = bits;
            b += 1;
        }
        table
    };
    TABLE[usize::from(b)]
}

/// One parse of a (refanged) URL by the `url` crate into its canonical form.
fn parse(value: &str, keep_non_public: bool) -> Result<CanonicalUrl, NormalizeError> {
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
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

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
    fn urls_written_canonically_skip_the_parser() {
        for (url, host) in [
            (
                "http://115.55.237.17:43145/i",
                WrittenHost::Ipv4(Ipv4Addr::new(115, 55, 237, 17)),
            ),
            (
                "https://microsoft-365-auth.example.web.app/?login=user@contoso.com",
                WrittenHost::Domain,
            ),
            (
                "ftp://files.example.org/pub/a-b_c~d.tar",
                WrittenHost::Domain,
            ),
            ("http://0.0.0.0/", WrittenHost::Ipv4(Ipv4Addr::UNSPECIFIED)),
            ("https://a.example/it's?q=1&r=(2)#top", WrittenHost::Domain),
        ] {
            assert_eq!(as_written(url), Some(host), "{url}");
            assert_eq!(
                canonical_url_parsed(url, true).unwrap().url,
                url,
                "the parser agrees on {url}"
            );
        }
    }

    #[test]
    fn urls_the_parser_would_rewrite_are_parsed() {
        for url in [
            "HTTP://a.example/",
            "http://A.example/",
            "http://a.example",
            "http://a.example?q",
            "http://a.example:80/",
            "https://a.example:443/",
            "ftp://a.example:21/",
            "http://a.example:080/",
            "http://a.example:/",
            "http://a.example:65536/",
            "http://user@a.example/",
            "http://a..example/",
            "http://a.example./",
            "http://.a.example/",
            "http://xn--bcher-kva.example/",
            "http://a_b.example/",
            "http://1.2.3/",
            "http://1.2.3.4.5/",
            "http://01.2.3.4/",
            "http://256.1.1.1/",
            "http://0x7f.0.0.1/",
            "http://a.1/",
            "http://a.example/a/./b",
            "http://a.example/a/../b",
            "http://a.example/..",
            "http://a.example/a%2fb",
            "http://a.example/a b",
            "http://a.example/a\\b",
            "http://a.example/a^b",
            "http://a.example/{a}",
            "http://a.example/?q='",
            "http://a.example/#a#b",
            "http://[::1]/",
            " http://a.example/",
            "http://a.example/\t",
            "https://a.example/é",
        ] {
            assert_eq!(as_written(url), None, "{url}");
        }
    }

    /// URLs built mostly from the pieces the shortcut accepts, with the near misses it must
    /// refuse mixed in.
    fn url_pieces() -> impl Strategy<Value = String> {
        let scheme = prop_oneof![
            8 => "(http|https|ftp)://",
            1 => "(HTTP|Https|hxxp|file|ws)(://|:/|:)",
        ];
        let label = prop_oneof![
            6 => "[a-z][a-z0-9-]{0,5}",
            1 => "[a-z]xn--[a-z0-9]{1,4}|[a-z]{1,2}--[a-z]",
            3 => "25[0-9]|1?[0-9]{1,2}",
            1 => "[A-Z_]|-[a-z]|[a-z]-|xn--[a-z0-9]{1,6}|0x[0-9a-f]{1,2}|0[0-9]{1,3}|",
        ];
        let port = prop::option::weighted(0.3, "[1-9][0-9]{0,4}|0[0-9]{0,3}|80|443|21|");
        let user = prop::option::weighted(0.05, "[a-z]{1,3}(:[a-z]{0,3})?@");
        let piece = prop_oneof![
            12 => "[a-zA-Z0-9]{1,3}",
            4 => "[-._~!$&()*+,;=:@/]",
            2 => "[?#']",
            1 => r#"[%\\^{}|<>"` \t\n\[\]]|%[0-9a-fA-F]{2}|/\.{1,2}/|é"#,
        ];
        let tail = (
            prop::option::weighted(0.95, Just("/")),
            prop::collection::vec(piece, 0..12),
        );
        (scheme, user, prop::collection::vec(label, 1..5), port, tail).prop_map(
            |(scheme, user, labels, port, (slash, pieces))| {
                let mut url = scheme;
                url.push_str(user.as_deref().unwrap_or(""));
                url.push_str(&labels.join("."));
                if let Some(port) = port {
                    url.push(':');
                    url.push_str(&port);
                }
                url.push_str(slash.unwrap_or(""));
                url.push_str(&pieces.concat());
                url
            },
        )
    }

    /// The property below is only worth something if it exercises both sides.
    #[test]
    fn url_pieces_reach_both_sides_of_the_shortcut() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = url_pieces();
        let taken = (0..2000)
            .filter(|_| {
                let url = strategy.new_tree(&mut runner).unwrap().current();
                as_written(&url).is_some()
            })
            .count();
        assert!((400..=1600).contains(&taken), "{taken} of 2000 taken");
    }

    proptest! {
        /// The shortcut changes no result: `canonical_url` equals the parser's
        /// `canonical_url_parsed`, errors included.
        #[test]
        fn the_shortcut_agrees_with_the_parser(url in url_pieces()) {
            for keep in [true, false] {
                prop_assert_eq!(
                    canonical_url(&url, keep),
                    canonical_url_parsed(&url, keep),
                    "{:?}",
                    url
                );
            }
        }
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
