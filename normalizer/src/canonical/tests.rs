//! Tests of the dispatch in [`super`], and the idempotence property of every type:
//! `canonicalize(canonicalize(x)) == canonicalize(x)` over generated inputs.

use proptest::prelude::*;

use super::*;

#[test]
fn dispatches_by_type_and_refangs_first() {
    let c = canonicalize("url", "hxxps://dhl-parcel-tracking[.]example[.]com/track").unwrap();
    assert_eq!(c.family, Family::Url);
    assert_eq!(c.value, "https://dhl-parcel-tracking.example.com/track");

    let c = canonicalize("ip", "2606:4700::1111").unwrap();
    assert_eq!(c.family.type_name(), "ipv6");

    let c = canonicalize("domain", "evil[.]example(dot)com").unwrap();
    assert_eq!(c.value, "evil.example.com");

    let c = canonicalize("hash", &"A".repeat(40)).unwrap();
    assert_eq!(c.family.type_name(), "sha1");

    let c = canonicalize("network", "45.95.147.236/22").unwrap();
    assert_eq!(
        (c.family, c.value.as_str()),
        (Family::Ipv4Network, "45.95.144.0/22")
    );

    let c = canonicalize("asn", "as13335").unwrap();
    assert_eq!((c.family, c.value.as_str()), (Family::Asn, "AS13335"));

    let c = canonicalize("x509", &"C".repeat(64)).unwrap();
    assert_eq!(c.family.type_name(), "x509_sha256");

    let c = canonicalize("email", "bob[at]bücher[.]example").unwrap();
    assert_eq!(c.value, "bob@xn--bcher-kva.example");
    assert_eq!(c.value_unicode.as_deref(), Some("bob@bücher.example"));
}

#[test]
fn non_public_addresses_are_rejected_or_kept_with_a_flag() {
    let err = canonicalize("ipv4", "10.1.2.3").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidValue);
    assert_eq!(err.message, "10.1.2.3 is a private address (RFC 1918)");

    let keep = CanonicalOptions {
        keep_non_public: true,
        ..CanonicalOptions::default()
    };
    let c = canonicalize_with("ipv4", "10.1.2.3:8080", &keep).unwrap();
    assert_eq!((c.value.as_str(), c.port), ("10.1.2.3", Some(8080)));
    assert_eq!(c.flags, ["private_address"]);
    let c = canonicalize_with("url", "http://127.0.0.1:8000/x", &keep).unwrap();
    assert_eq!(c.flags, ["reserved_address"]);
    assert!(canonicalize_with("ipv4", "8.8.8.8", &keep)
        .unwrap()
        .flags
        .is_empty());
}

#[test]
fn minimum_network_prefix_follows_the_options() {
    assert!(canonicalize("network", "4.0.0.0/6").is_err());
    let wide = CanonicalOptions {
        min_ipv4_prefix: 4,
        ..CanonicalOptions::default()
    };
    assert!(canonicalize_with("network", "4.0.0.0/6", &wide).is_ok());
}

#[test]
fn unknown_type_and_oversized_value() {
    assert_eq!(
        canonicalize("mutex", "x").unwrap_err().kind,
        ErrorKind::UnsupportedType
    );
    let big = format!("http://example.com/{}", "a".repeat(MAX_VALUE_BYTES));
    assert_eq!(
        canonicalize("url", &big).unwrap_err().kind,
        ErrorKind::TooLarge
    );
}

#[test]
fn every_type_name_is_known() {
    for t in [
        "ip",
        "ipv4",
        "ipv6",
        "network",
        "ipv4_network",
        "ipv6_network",
        "domain",
        "url",
        "email",
        "hash",
        "md5",
        "sha1",
        "sha256",
        "sha512",
        "asn",
        "cve",
        "ja3",
        "x509",
        "x509_sha1",
        "x509_sha256",
    ] {
        assert!(is_known_type(t), "{t}");
        assert_ne!(
            canonicalize(t, "x").map_err(|e| e.kind),
            Err(ErrorKind::UnsupportedType),
            "{t}"
        );
    }
    assert!(!is_known_type("mutex"));
}

#[test]
fn every_family_is_idempotent() {
    let cases = [
        ("ipv4", "8.8.8.8:8080"),
        ("ipv4", "008.008.004.004"),
        ("ipv6", "2606:4700:0:0:0:0:0:1111"),
        ("ipv4_network", "1.2.3.4/24"),
        ("ipv6_network", "2606:4700::1/32"),
        ("domain", "Evil[.]Example.COM"),
        ("domain", "раураl.com"),
        ("url", "hxxp://Evil[.]Example.COM:80/A?b=C%2f%7E"),
        ("email", "Bob[@]Example.org"),
        (
            "sha256",
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        ),
        ("cve", "cve-2021-44228"),
        ("asn", "13335"),
        ("ja3", "E7D705A3286E19EA42F587B344EE6865"),
        ("x509_sha1", "1F3B2C4D5E6F708192A3B4C5D6E7F8091A2B3C4D"),
    ];
    for (kind, value) in cases {
        let once = canonicalize(kind, value).unwrap();
        assert_idempotent(kind, value, &CanonicalOptions::default());
        assert_eq!(
            once.family.type_name(),
            canonicalize(kind, value).unwrap().family.type_name()
        );
    }
}

/// Options that keep everything, so generated non-public addresses are checked too.
const KEEP: CanonicalOptions = CanonicalOptions {
    keep_non_public: true,
    min_ipv4_prefix: 1,
    min_ipv6_prefix: 1,
};

/// When `value` canonicalizes, its canonical value canonicalizes (as the type it got) to the
/// same value, family, Unicode form and flags.
fn assert_idempotent(type_name: &str, value: &str, options: &CanonicalOptions) {
    let Ok(once) = canonicalize_with(type_name, value, options) else {
        return;
    };
    let twice = canonicalize_with(once.family.type_name(), &once.value, options)
        .unwrap_or_else(|e| panic!("{type_name} {value:?} -> {:?} rejected: {e:?}", once.value));
    assert_eq!(twice.value, once.value, "{type_name} {value:?}");
    assert_eq!(twice.family, once.family, "{type_name} {value:?}");
    assert_eq!(
        twice.value_unicode, once.value_unicode,
        "{type_name} {value:?}"
    );
    assert_eq!(twice.flags, once.flags, "{type_name} {value:?}");
}

fn ipv4_text() -> impl Strategy<Value = String> {
    (any::<[u8; 4]>(), any::<bool>()).prop_map(|(o, padded)| {
        if padded {
            format!("{:03}.{:03}.{:03}.{:03}", o[0], o[1], o[2], o[3])
        } else {
            format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3])
        }
    })
}

fn ipv6_text() -> impl Strategy<Value = String> {
    (any::<[u16; 8]>(), any::<bool>()).prop_map(|(s, upper)| {
        let text = std::net::Ipv6Addr::from(s).to_string();
        let full = s.map(|x| format!("{x:x}")).join(":");
        if upper {
            full.to_uppercase()
        } else {
            text
        }
    })
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?",
        "[a-zäöüßéа-яё0-9]{1,12}",
        "xn--[a-z0-9]{1,10}",
    ]
}

fn domain_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(label(), 1..4),
        "[a-z]{2,6}",
        any::<bool>(),
    )
        .prop_map(|(labels, tld, dot)| {
            format!("{}.{tld}{}", labels.join("."), if dot { "." } else { "" })
        })
}

fn url_text() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("http"), Just("HTTPS"), Just("hxxp"), Just("ftp")],
        prop_oneof![
            domain_text(),
            ipv4_text(),
            ipv6_text().prop_map(|v| format!("[{v}]"))
        ],
        prop::option::of(1u16..),
        "(/([a-zA-Z0-9._~!$&'()*+,;=:@-]|%[0-9a-fA-F]{2}|%|\\.\\.){0,8}){0,4}",
        prop::option::of("([a-zA-Z0-9=&/?%-]|%[0-9a-fA-F]{2}){0,12}"),
        prop::option::of("[a-zA-Z0-9%/-]{0,8}"),
    )
        .prop_map(|(scheme, host, port, path, query, fragment)| {
            let mut u = format!("{scheme}://{host}");
            if let Some(p) = port {
                u.push_str(&format!(":{p}"));
            }
            u.push_str(&path);
            if let Some(q) = query {
                u.push('?');
                u.push_str(&q);
            }
            if let Some(f) = fragment {
                u.push('#');
                u.push_str(&f);
            }
            u
        })
}

proptest! {
    #[test]
    fn ip_is_idempotent(v4 in ipv4_text(), v6 in ipv6_text(), port in 0u16..) {
        for v in [v4.clone(), format!("{v4}:{port}"), v6.clone(), format!("[{v6}]:{port}")] {
            assert_idempotent("ip", &v, &KEEP);
            assert_idempotent("ip", &v, &CanonicalOptions::default());
        }
        assert_idempotent("ipv4", &v4, &KEEP);
        assert_idempotent("ipv6", &v6, &KEEP);
    }

    #[test]
    fn network_is_idempotent(v4 in ipv4_text(), v6 in ipv6_text(), p4 in 0u8..=33, p6 in 0u8..=129) {
        for options in [KEEP, CanonicalOptions::default()] {
            assert_idempotent("network", &format!("{v4}/{p4}"), &options);
            assert_idempotent("ipv4_network", &format!("{v4}/{p4}"), &options);
            assert_idempotent("network", &format!("{v6}/{p6}"), &options);
            assert_idempotent("ipv6_network", &format!("{v6}/{p6}"), &options);
        }
    }

    #[test]
    fn domain_is_idempotent(d in domain_text()) {
        assert_idempotent("domain", &d, &KEEP);
        assert_idempotent("domain", &d.to_uppercase(), &KEEP);
        assert_idempotent("domain", &d.replace('.', "[.]"), &KEEP);
    }

    #[test]
    fn url_is_idempotent(u in url_text()) {
        assert_idempotent("url", &u, &KEEP);
        assert_idempotent("url", &u, &CanonicalOptions::default());
    }

    #[test]
    fn email_is_idempotent(local in "[a-zA-Z0-9._%+-]{1,20}", d in domain_text()) {
        assert_idempotent("email", &format!("{local}@{d}"), &KEEP);
        assert_idempotent("email", &format!("mailto:{local}[at]{d}"), &KEEP);
    }

    #[test]
    fn hex_types_are_idempotent(hex in "[0-9a-fA-F]{32,130}") {
        for t in ["hash", "md5", "sha1", "sha256", "sha512", "ja3", "x509", "x509_sha1", "x509_sha256"] {
            assert_idempotent(t, &hex, &KEEP);
            assert_idempotent(t, &hex[..32], &KEEP);
            assert_idempotent(t, &hex[..hex.len().min(40)], &KEEP);
        }
    }

    #[test]
    fn asn_and_cve_are_idempotent(n in any::<u32>(), pad in 0usize..3, year in 1999u32..2100, id in 0u64..100_000_000) {
        for v in [n.to_string(), format!("as{}{n}", "0".repeat(pad)), format!("ASN {n}")] {
            assert_idempotent("asn", &v, &KEEP);
        }
        assert_idempotent("cve", &format!("cve-{year}-{id:04}"), &KEEP);
    }

    #[test]
    fn any_text_of_any_type_is_idempotent(text in "\\PC{0,60}", pick in 0usize..20) {
        let types = [
            "ip", "ipv4", "ipv6", "network", "ipv4_network", "ipv6_network", "domain", "url",
            "email", "hash", "md5", "sha1", "sha256", "sha512", "asn", "cve", "ja3", "x509",
            "x509_sha1", "x509_sha256",
        ];
        assert_idempotent(types[pick], &text, &KEEP);
        assert_idempotent(types[pick], &text, &CanonicalOptions::default());
    }
}
