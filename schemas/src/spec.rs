//! The declarative integration spec: one `spec.toml` per source.
//!
//! A spec says how to fetch a source (request, auth, pagination, cursor), how to cut the
//! response into items (framing), and how to turn one item into an indicator (mapping). The
//! fetcher reads the first three parts, the normalizer the mapping; both load the same file so
//! they cannot disagree. Field references in the mapping name a CSV column, a JSON object key,
//! or (when they start with `/`) a JSON pointer; a text line is the field `line`.
//!
//! Every table rejects unknown keys, so a typo in a spec stops start-up with the key named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Why an integration file (its spec, or its recordings in the CLI) could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The spec file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The TOML does not parse or does not fit the spec format (names the key).
    #[error("{path}: {message}")]
    Parse {
        /// The spec file.
        path: PathBuf,
        /// What the TOML parser said, including the offending key.
        message: String,
    },
    /// The spec parses but says something impossible.
    #[error("{path}: key `{key}`: {message}")]
    Invalid {
        /// The spec file.
        path: PathBuf,
        /// The offending key, dotted.
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// One integration, as written in its `spec.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSpec {
    /// Unique name: lower-case letters, digits and `_`. Used in topics keys, metrics and state.
    pub name: String,
    /// Human-readable title.
    pub title: String,
    /// Whether the fetcher runs it. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Seconds between the start of two fetch runs. Default 3600.
    #[serde(default = "default_schedule_secs")]
    pub schedule_secs: u64,
    /// Field whose value keys the raw record (ordering per item); default: a hash of the payload.
    #[serde(default)]
    pub key_field: Option<String>,
    /// The HTTP request.
    pub request: RequestSpec,
    /// How the request authenticates.
    #[serde(default)]
    pub auth: AuthSpec,
    /// How further pages are requested.
    #[serde(default)]
    pub pagination: PaginationSpec,
    /// Checks on the response as a whole.
    #[serde(default)]
    pub response: ResponseSpec,
    /// Incremental fetching: the cursor kept in the fetch-state topic.
    #[serde(default)]
    pub cursor: Option<CursorSpec>,
    /// How the response body is cut into items.
    pub framing: FramingSpec,
    /// How one item becomes an indicator.
    pub mapping: MappingSpec,
}

/// HTTP method of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET.
    #[default]
    Get,
    /// POST.
    Post,
}

/// The request a fetch run starts with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Absolute URL of the first page.
    pub url: String,
    /// GET (default) or POST.
    #[serde(default)]
    pub method: Method,
    /// Extra request headers (no secrets: use `auth`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Extra query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Request body for POST, sent as is.
    #[serde(default)]
    pub body: Option<String>,
    /// Content type of `body`. Default `application/json`.
    #[serde(default)]
    pub body_content_type: Option<String>,
    /// Per-request timeout in seconds. Default 60.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Attempts per request before the run fails (first try included). Default 5.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
}

/// How a request authenticates. The secret itself is never in the spec: `secret_env` names the
/// environment variable that holds it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthSpec {
    /// No authentication.
    #[default]
    None,
    /// A request header carries the secret (`Auth-Key`, `X-OTX-API-KEY`, ...).
    Header {
        /// Header name.
        name: String,
        /// Environment variable holding the secret.
        secret_env: String,
    },
    /// A query parameter carries the secret.
    Query {
        /// Parameter name.
        name: String,
        /// Environment variable holding the secret.
        secret_env: String,
    },
    /// `Authorization: Bearer <secret>`.
    Bearer {
        /// Environment variable holding the token.
        secret_env: String,
    },
    /// HTTP Basic.
    Basic {
        /// User name.
        username: String,
        /// Environment variable holding the password.
        secret_env: String,
    },
}

impl AuthSpec {
    /// The environment variable holding this auth's secret, if any.
    pub fn secret_env(&self) -> Option<&str> {
        match self {
            AuthSpec::None => None,
            AuthSpec::Header { secret_env, .. }
            | AuthSpec::Query { secret_env, .. }
            | AuthSpec::Bearer { secret_env }
            | AuthSpec::Basic { secret_env, .. } => Some(secret_env),
        }
    }
}

/// How further pages are requested.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaginationSpec {
    /// One request per run.
    #[default]
    None,
    /// The JSON response holds the next page's URL (absolute or relative) at `pointer`; stop
    /// when it is missing, null or empty.
    NextLink {
        /// JSON pointer, e.g. `/next` or `/links/next`.
        pointer: String,
    },
    /// The JSON response holds an opaque token at `pointer`, sent back as query `param`.
    Cursor {
        /// JSON pointer to the token.
        pointer: String,
        /// Query parameter the token is sent in.
        param: String,
    },
    /// Numbered pages; stop on a page with fewer than `page_size` items.
    PageNumber {
        /// Query parameter of the page number.
        param: String,
        /// Number of the first page. Default 1.
        #[serde(default = "default_first_page")]
        first: u64,
        /// Query parameter of the page size.
        size_param: String,
        /// Items per page.
        page_size: u64,
    },
}

/// Checks on a whole response.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// Largest response body accepted, in bytes (after decompression). Default 1 GiB.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// For JSON bodies: a status field and the values that mean success. Sources that answer
    /// HTTP 200 with an error body (abuse.ch `query_status`) fail the run with that value.
    #[serde(default)]
    pub status_pointer: Option<String>,
    /// Values of `status_pointer` that mean success.
    #[serde(default)]
    pub status_ok: Vec<String>,
    /// Values of `status_pointer` that mean "nothing new" (a successful, empty run).
    #[serde(default)]
    pub status_empty: Vec<String>,
}

impl Default for ResponseSpec {
    fn default() -> Self {
        ResponseSpec {
            max_body_bytes: default_max_body_bytes(),
            status_pointer: None,
            status_ok: Vec::new(),
            status_empty: Vec::new(),
        }
    }
}

/// Incremental fetching: after a successful run the cursor becomes the largest value of
/// `field` among the run's items, and the next run sends it as query parameter `param`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorSpec {
    /// Field of an item (compared as a string, so use sortable timestamps or numbers).
    pub field: String,
    /// Query parameter the cursor is sent in.
    pub param: String,
    /// Value sent on the very first run, if any.
    #[serde(default)]
    pub initial: Option<String>,
}

/// How the response body is cut into items.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FramingSpec {
    /// One item per CSV record.
    Csv {
        /// Column names, in order.
        columns: Vec<String>,
        /// Lines starting with this are comments (counted skips).
        #[serde(default)]
        comment_prefix: Option<String>,
        /// Whether the first non-comment line is a header (skipped and counted).
        #[serde(default)]
        has_header: bool,
        /// Field delimiter. Default `,`.
        #[serde(default = "default_delimiter")]
        delimiter: char,
        /// Largest item in bytes; longer items become dead letters. Default 1 MiB.
        #[serde(default = "default_max_item_bytes")]
        max_item_bytes: usize,
    },
    /// One item per line of text; blank lines are skipped.
    Lines {
        /// Lines starting with this are comments (counted skips).
        #[serde(default)]
        comment_prefix: Option<String>,
        /// Largest item in bytes. Default 1 MiB.
        #[serde(default = "default_max_item_bytes")]
        max_item_bytes: usize,
    },
    /// One item per element of a JSON array.
    Json {
        /// JSON pointer to the array; empty for a top-level array.
        #[serde(default)]
        items_pointer: String,
        /// Largest item in bytes. Default 1 MiB.
        #[serde(default = "default_max_item_bytes")]
        max_item_bytes: usize,
    },
}

impl FramingSpec {
    /// The `framing` value of raw records cut with this framing.
    pub fn record_framing(&self) -> &'static str {
        match self {
            FramingSpec::Csv { .. } => "csv_row",
            FramingSpec::Lines { .. } => "text_line",
            FramingSpec::Json { .. } => "json_value",
        }
    }
}

/// How one item becomes an indicator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// Fixed indicator type for every item (e.g. `url`). Exclusive with `type_field`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Field holding the source's type name, translated through `type_map`.
    #[serde(default)]
    pub type_field: Option<String>,
    /// Source type name → indicator type. Unlisted names are dead letters (unsupported_type).
    #[serde(default)]
    pub type_map: BTreeMap<String, String>,
    /// Field holding the value.
    pub value: String,
    /// Field holding a port (ip:port indicators).
    #[serde(default)]
    pub port: Option<String>,
    /// Field holding the source's own id or link.
    #[serde(default)]
    pub source_ref: Option<String>,
    /// First-seen time.
    #[serde(default)]
    pub first_seen: Option<TimeField>,
    /// Last-seen time.
    #[serde(default)]
    pub last_seen: Option<TimeField>,
    /// Field holding a 0-100 confidence.
    #[serde(default)]
    pub confidence_field: Option<String>,
    /// Confidence when the source gives none (0-100).
    #[serde(default)]
    pub confidence: Option<i32>,
    /// TLP 2.0 marking of everything from this source. Default `clear`.
    #[serde(default = "default_tlp")]
    pub tlp: String,
    /// Tags from a field.
    #[serde(default)]
    pub tags: Option<ListField>,
    /// Tags added to every indicator.
    #[serde(default)]
    pub constant_tags: Vec<String>,
    /// Threat types from a field.
    #[serde(default)]
    pub threat_types: Option<ListField>,
    /// Threat types added to every indicator.
    #[serde(default)]
    pub constant_threat_types: Vec<String>,
    /// Malware families from a field.
    #[serde(default)]
    pub malware_families: Option<ListField>,
    /// References from a field.
    #[serde(default)]
    pub references: Option<ListField>,
    /// Days an indicator stays valid after it was last (or first, else normalization) seen, for
    /// every type; 0 means it never expires. Default: the per-type default of the normalizer
    /// (addresses and networks 30 days, domains, URLs and e-mail addresses 90 days, hashes,
    /// CVEs, AS numbers and fingerprints no expiry).
    #[serde(default)]
    pub valid_days: Option<u32>,
    /// Days valid per indicator type (`ipv4 = 14`), over `valid_days`; 0 means no expiry. Keys
    /// are exact type names ([`INDICATOR_TYPES`]).
    #[serde(default)]
    pub valid_days_by_type: BTreeMap<String, u32>,
    /// How the values of `confidence_field` map to 0-100. Default: they already are 0-100.
    #[serde(default)]
    pub confidence_scale: Option<ConfidenceScale>,
    /// Items matching the rule are kept with `status = "revoked"` (the source withdrew them).
    #[serde(default)]
    pub revoked_when: Option<RevokeRule>,
    /// Keep private and reserved addresses (RFC 1918, loopback, documentation, ...) as
    /// indicators flagged `private_address`/`reserved_address` instead of dead-lettering them.
    /// Default false.
    #[serde(default)]
    pub keep_non_public: bool,
    /// Smallest IPv4 network prefix accepted (larger networks are invalid values). Default 8,
    /// 1-32.
    #[serde(default = "default_min_ipv4_prefix")]
    pub min_ipv4_prefix: u8,
    /// Smallest IPv6 network prefix accepted. Default 16, 1-128.
    #[serde(default = "default_min_ipv6_prefix")]
    pub min_ipv6_prefix: u8,
    /// Items matching any rule are skipped (counted, not dead-lettered).
    #[serde(default)]
    pub skip_when: Vec<SkipRule>,
}

/// Exact indicator type names (what `Indicator.type` holds). A mapping's `type` may also name
/// the pickers `ip`, `network`, `hash` and `x509`, which choose one of these from the value.
pub const INDICATOR_TYPES: &[&str] = &[
    "ipv4",
    "ipv6",
    "ipv4_network",
    "ipv6_network",
    "domain",
    "url",
    "email",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "asn",
    "cve",
    "ja3",
    "x509_sha1",
    "x509_sha256",
];

/// How a source's confidence values map to iocflow's 0-100.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConfidenceScale {
    /// A number on `min..=max`, mapped linearly: `min` → 0, `max` → 100, rounded. Values
    /// outside the range are invalid values.
    Range {
        /// The source's lowest confidence.
        min: f64,
        /// The source's highest confidence.
        max: f64,
    },
    /// Named levels (`high`, `medium`, `low`), compared case-insensitively, each with its
    /// 0-100 value. An unlisted level is an invalid value.
    Levels {
        /// Level name → confidence 0-100.
        map: BTreeMap<String, i32>,
    },
}

/// Mark an item revoked when a field equals one of the values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRule {
    /// Field to look at.
    pub field: String,
    /// Values that mean the source withdrew the indicator (one string or a list).
    #[serde(deserialize_with = "one_or_many")]
    pub equals: Vec<String>,
}

/// Accepts `"x"` or `["x", "y"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(v) => vec![v],
        OneOrMany::Many(v) => v,
    })
}

/// A time read from a field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeField {
    /// Field holding the time.
    pub field: String,
    /// `rfc3339`, `unix_secs`, `unix_ms`, or a chrono format string read as UTC
    /// (e.g. `%Y-%m-%d %H:%M:%S`). Default `rfc3339`.
    #[serde(default = "default_time_format")]
    pub format: String,
}

/// A list read from a field: a JSON array, or a string split on `split`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListField {
    /// Field holding the list.
    pub field: String,
    /// Separator for string values. Default: the whole string is one element.
    #[serde(default)]
    pub split: Option<String>,
}

/// Skip an item when a field equals one of the values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRule {
    /// Field to look at.
    pub field: String,
    /// Values that make the item a counted skip.
    pub equals: Vec<String>,
}

impl IntegrationSpec {
    /// Reads and checks a `spec.toml`.
    ///
    /// # Errors
    /// [`SpecError::Read`] when the file cannot be read, [`SpecError::Parse`] for bad TOML or an
    /// unknown key, [`SpecError::Invalid`] for a value that cannot work.
    pub fn load(path: &Path) -> Result<IntegrationSpec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|error| SpecError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        IntegrationSpec::parse(&text, path)
    }

    /// Parses and checks spec text; `path` is only used in messages.
    ///
    /// # Errors
    /// As [`IntegrationSpec::load`], without the read.
    pub fn parse(text: &str, path: &Path) -> Result<IntegrationSpec, SpecError> {
        let spec: IntegrationSpec = toml::from_str(text).map_err(|e| SpecError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        spec.check(path)?;
        Ok(spec)
    }

    fn check(&self, path: &Path) -> Result<(), SpecError> {
        let invalid = |key: &str, message: String| SpecError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };

        let name_ok = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(invalid(
                "name",
                "use lower-case letters, digits and _".into(),
            ));
        }
        if !(self.request.url.starts_with("http://") || self.request.url.starts_with("https://")) {
            return Err(invalid(
                "request.url",
                "must be an absolute http(s) URL".into(),
            ));
        }
        if self.schedule_secs == 0 {
            return Err(invalid("schedule_secs", "must be at least 1".into()));
        }
        if self.request.max_attempts == 0 {
            return Err(invalid("request.max_attempts", "must be at least 1".into()));
        }
        if let FramingSpec::Csv { columns, .. } = &self.framing {
            if columns.is_empty() {
                return Err(invalid(
                    "framing.columns",
                    "list at least one column".into(),
                ));
            }
        }
        match (&self.mapping.kind, &self.mapping.type_field) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "mapping.type_field",
                    "give either mapping.type or mapping.type_field, not both".into(),
                ))
            }
            (None, None) => {
                return Err(invalid(
                    "mapping.type",
                    "give mapping.type or mapping.type_field".into(),
                ))
            }
            (None, Some(_)) if self.mapping.type_map.is_empty() => {
                return Err(invalid(
                    "mapping.type_map",
                    "mapping.type_field needs a type_map".into(),
                ))
            }
            _ => {}
        }
        if let Some(c) = self.mapping.confidence {
            if !(0..=100).contains(&c) {
                return Err(invalid("mapping.confidence", "must be 0-100".into()));
            }
        }
        if !["clear", "green", "amber", "amber+strict", "red"].contains(&self.mapping.tlp.as_str())
        {
            return Err(invalid(
                "mapping.tlp",
                "must be clear, green, amber, amber+strict or red".into(),
            ));
        }
        self.check_mapping_context(path)?;
        if self.response.status_pointer.is_some() && self.response.status_ok.is_empty() {
            return Err(invalid(
                "response.status_ok",
                "response.status_pointer needs status_ok values".into(),
            ));
        }
        Ok(())
    }
}

impl IntegrationSpec {
    /// Checks the mapping's context options: expiry per type, confidence scale, revocation
    /// rule and network prefixes.
    fn check_mapping_context(&self, path: &Path) -> Result<(), SpecError> {
        let invalid = |key: &str, message: String| SpecError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        let m = &self.mapping;
        if let Some(t) = m
            .valid_days_by_type
            .keys()
            .find(|t| !INDICATOR_TYPES.contains(&t.as_str()))
        {
            return Err(invalid(
                &format!("mapping.valid_days_by_type.{t}"),
                format!(
                    "not an indicator type; use one of {}",
                    INDICATOR_TYPES.join(", ")
                ),
            ));
        }
        match &m.confidence_scale {
            Some(ConfidenceScale::Range { min, max })
                if !(min.is_finite() && max.is_finite() && min < max) =>
            {
                return Err(invalid(
                    "mapping.confidence_scale",
                    "a range needs finite min < max".into(),
                ))
            }
            Some(ConfidenceScale::Levels { map }) => {
                if map.is_empty() {
                    return Err(invalid(
                        "mapping.confidence_scale.map",
                        "list at least one level".into(),
                    ));
                }
                if let Some((level, _)) = map.iter().find(|(_, c)| !(0..=100).contains(*c)) {
                    return Err(invalid(
                        &format!("mapping.confidence_scale.map.{level}"),
                        "must be 0-100".into(),
                    ));
                }
            }
            _ => {}
        }
        if m.confidence_scale.is_some() && m.confidence_field.is_none() {
            return Err(invalid(
                "mapping.confidence_scale",
                "needs mapping.confidence_field".into(),
            ));
        }
        if m.revoked_when.as_ref().is_some_and(|r| r.equals.is_empty()) {
            return Err(invalid(
                "mapping.revoked_when.equals",
                "list at least one value".into(),
            ));
        }
        if !(1..=32).contains(&m.min_ipv4_prefix) {
            return Err(invalid("mapping.min_ipv4_prefix", "must be 1-32".into()));
        }
        if !(1..=128).contains(&m.min_ipv6_prefix) {
            return Err(invalid("mapping.min_ipv6_prefix", "must be 1-128".into()));
        }
        Ok(())
    }
}

/// Loads every `*/spec.toml` under a catalog directory, sorted by name.
///
/// # Errors
/// The first spec that fails to load, or a duplicate name.
pub fn load_catalog(dir: &Path) -> Result<Vec<(PathBuf, IntegrationSpec)>, SpecError> {
    let entries = std::fs::read_dir(dir).map_err(|error| SpecError::Read {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut out: Vec<(PathBuf, IntegrationSpec)> = Vec::new();
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("spec.toml").is_file())
        .collect();
    dirs.sort();
    for d in dirs {
        let spec = IntegrationSpec::load(&d.join("spec.toml"))?;
        if out.iter().any(|(_, s)| s.name == spec.name) {
            return Err(SpecError::Invalid {
                path: d.join("spec.toml"),
                key: "name".into(),
                message: format!("another integration is already named {}", spec.name),
            });
        }
        out.push((d, spec));
    }
    Ok(out)
}

const fn default_true() -> bool {
    true
}
const fn default_schedule_secs() -> u64 {
    3600
}
const fn default_timeout_secs() -> u64 {
    60
}
const fn default_max_attempts() -> u32 {
    5
}
const fn default_first_page() -> u64 {
    1
}
const fn default_max_body_bytes() -> u64 {
    1 << 30
}
const fn default_delimiter() -> char {
    ','
}
const fn default_max_item_bytes() -> usize {
    1 << 20
}
const fn default_min_ipv4_prefix() -> u8 {
    8
}
const fn default_min_ipv6_prefix() -> u8 {
    16
}
fn default_tlp() -> String {
    "clear".into()
}
fn default_time_format() -> String {
    "rfc3339".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r##"
name = "example"
title = "Example list"
[request]
url = "https://example.org/list.txt"
[framing]
kind = "lines"
comment_prefix = "#"
[mapping]
type = "ipv4"
value = "line"
"##;

    #[test]
    fn minimal_spec_gets_defaults() {
        let s = IntegrationSpec::parse(MINIMAL, Path::new("x")).unwrap();
        assert!(s.enabled);
        assert_eq!(s.schedule_secs, 3600);
        assert_eq!(s.request.max_attempts, 5);
        assert_eq!(s.mapping.tlp, "clear");
        assert!(matches!(s.auth, AuthSpec::None));
        assert_eq!(s.framing.record_framing(), "text_line");
    }

    #[test]
    fn unknown_key_is_named() {
        let text = MINIMAL.replace("[mapping]", "[mapping]\nvalu = \"x\"");
        let err = IntegrationSpec::parse(&text, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("valu"), "{err}");
    }

    #[test]
    fn impossible_values_name_their_key() {
        let text = MINIMAL.replace("name = \"example\"", "name = \"Bad Name\"");
        let err = IntegrationSpec::parse(&text, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`name`"), "{err}");

        let text = MINIMAL.replace("type = \"ipv4\"", "type = \"ipv4\"\ntype_field = \"t\"");
        let err = IntegrationSpec::parse(&text, Path::new("x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("mapping.type_field"), "{err}");
    }

    #[test]
    fn mapping_context_options_parse_and_are_checked() {
        let text = MINIMAL.replace(
            "value = \"line\"",
            r#"value = "line"
confidence_field = "score"
confidence_scale = { kind = "levels", map = { high = 85, medium = 50, low = 15 } }
revoked_when = { field = "status", equals = "removed" }
valid_days_by_type = { ipv4 = 14, domain = 0 }
keep_non_public = true
min_ipv4_prefix = 16"#,
        );
        let s = IntegrationSpec::parse(&text, Path::new("x")).unwrap();
        let m = &s.mapping;
        assert!(
            matches!(&m.confidence_scale, Some(ConfidenceScale::Levels { map }) if map["high"] == 85)
        );
        assert_eq!(m.revoked_when.as_ref().unwrap().equals, ["removed"]);
        assert_eq!(m.valid_days_by_type["ipv4"], 14);
        assert!(m.keep_non_public);
        assert_eq!((m.min_ipv4_prefix, m.min_ipv6_prefix), (16, 16));

        let defaults = IntegrationSpec::parse(MINIMAL, Path::new("x"))
            .unwrap()
            .mapping;
        assert!(!defaults.keep_non_public && defaults.revoked_when.is_none());
        assert_eq!(
            (defaults.min_ipv4_prefix, defaults.min_ipv6_prefix),
            (8, 16)
        );

        let bad = |extra: &str| {
            let text = MINIMAL.replace("value = \"line\"", &format!("value = \"line\"\n{extra}"));
            IntegrationSpec::parse(&text, Path::new("x"))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("valid_days_by_type = { ip = 3 }").contains("mapping.valid_days_by_type.ip"));
        assert!(bad(
            "confidence_field = \"c\"\nconfidence_scale = { kind = \"range\", min = 5, max = 5 }"
        )
        .contains("mapping.confidence_scale"));
        assert!(bad("confidence_field = \"c\"\nconfidence_scale = { kind = \"levels\", map = { high = 101 } }")
            .contains("mapping.confidence_scale.map.high"));
        assert!(
            bad("confidence_scale = { kind = \"range\", min = 0, max = 10 }")
                .contains("needs mapping.confidence_field")
        );
        assert!(bad("min_ipv4_prefix = 0").contains("mapping.min_ipv4_prefix"));
        assert!(bad("revoked_when = { field = \"s\", equals = [] }")
            .contains("mapping.revoked_when.equals"));
    }
}
