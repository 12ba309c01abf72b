//! Mapping: turns one raw record into an indicator following its integration's `[mapping]`.
//!
//! Steps: read the item as its framing says ([`fields`]); apply `skip_when`; find the type
//! (`type`, or `type_field` through `type_map`); canonicalize the value
//! ([`crate::canonical`], with the spec's `keep_non_public` and minimum network prefixes); read
//! port, times ([`time`]), confidence (through `confidence_scale`, [`confidence`]) and lists;
//! derive `valid_until_ms` ([`expiry`]), the status (`revoked` when `revoked_when` matches,
//! else `expired` when `valid_until_ms` is already past, else `active`) and the id
//! ([`crate::identity`]). Revoked and expired indicators are emitted like any other, so the
//! platform learns of the change; they are never dropped.

pub mod confidence;
pub mod expiry;
pub mod fields;
pub mod time;

use std::borrow::Cow;

use iocflow_schemas::spec::{FramingSpec, IntegrationSpec, ListField, TimeField};
#[cfg(doc)]
use iocflow_schemas::Indicator;
use iocflow_schemas::{IndicatorRef, RawRecordRef};

use crate::canonical::{self, ip::parse_port, CanonicalOptions};
use crate::error::{ErrorKind, NormalizeError};
use crate::identity::indicator_id;
use crate::{Normalized, Origin};
use fields::{Item, List};

/// Indicator status: the source still reports it and it has not expired.
pub const STATUS_ACTIVE: &str = "active";
/// Indicator status: the source withdrew it (`revoked_when`).
pub const STATUS_REVOKED: &str = "revoked";
/// Indicator status: `valid_until_ms` was already past when it was normalized.
pub const STATUS_EXPIRED: &str = "expired";

/// Maps one raw record with `spec` (see [`crate::normalize`]).
///
/// # Errors
/// A [`NormalizeError`] with the kind saying why the record cannot become an indicator.
pub fn map_record(
    spec: &IntegrationSpec,
    raw: &RawRecordRef<'_>,
    origin: &Origin,
    now_ms: i64,
) -> Result<Normalized, NormalizeError> {
    Ok(match map_parts(spec, raw, origin, now_ms)? {
        Some(mapped) => Normalized::Indicator(mapped.view().to_indicator()),
        None => Normalized::Skipped {
            reason: "skip_when".into(),
        },
    })
}

/// An indicator as [`map_parts`] finds it: the canonical value, the id and what had to be
/// rewritten are owned; the rest (most list elements included) is borrowed from the raw record,
/// the spec and the origin. [`Mapped::view`] is the indicator field for field; the stage
/// encodes that view directly, which saves building and freeing an owned [`Indicator`] per
/// record (about a third of the hot path's allocations).
#[derive(Debug)]
pub struct Mapped<'a> {
    canonical: canonical::Canonical,
    id: String,
    port: Option<u16>,
    source: &'a str,
    source_ref: Option<String>,
    first_seen_ms: Option<i64>,
    last_seen_ms: Option<i64>,
    confidence: Option<i32>,
    tlp: &'a str,
    tags: List<'a>,
    threat_types: List<'a>,
    malware_families: List<'a>,
    fetch_id: &'a str,
    origin: &'a Origin,
    normalized_at_ms: i64,
    valid_until_ms: Option<i64>,
    references: List<'a>,
    status: &'static str,
}

impl<'a> Mapped<'a> {
    /// The indicator, borrowed from the parts.
    pub fn view(&self) -> IndicatorRef<'_, &'static str, Cow<'a, str>> {
        IndicatorRef {
            id: &self.id,
            kind: self.canonical.family.type_name(),
            value: &self.canonical.value,
            port: self.port.map(i32::from),
            source: self.source,
            source_ref: self.source_ref.as_deref(),
            first_seen_ms: self.first_seen_ms,
            last_seen_ms: self.last_seen_ms,
            confidence: self.confidence,
            tlp: self.tlp,
            tags: &self.tags,
            threat_types: &self.threat_types,
            malware_families: &self.malware_families,
            fetch_id: self.fetch_id,
            raw_topic: &self.origin.topic,
            raw_partition: self.origin.partition,
            raw_offset: self.origin.offset,
            normalized_at_ms: self.normalized_at_ms,
            valid_until_ms: self.valid_until_ms,
            references: &self.references,
            value_unicode: self.canonical.value_unicode.as_deref(),
            status: self.status,
            flags: &self.canonical.flags,
        }
    }

    /// The deterministic id (the record's key), taking it.
    pub fn into_id(self) -> String {
        self.id
    }
}

/// Maps one raw record with `spec` into its parts; `None` when `skip_when` skips it.
///
/// # Errors
/// As [`map_record`].
pub fn map_parts<'a>(
    spec: &'a IntegrationSpec,
    raw: &RawRecordRef<'a>,
    origin: &'a Origin,
    now_ms: i64,
) -> Result<Option<Mapped<'a>>, NormalizeError> {
    let m = &spec.mapping;
    let max_item_bytes = match &spec.framing {
        FramingSpec::Csv { max_item_bytes, .. }
        | FramingSpec::Lines { max_item_bytes, .. }
        | FramingSpec::Json { max_item_bytes, .. } => *max_item_bytes,
    };
    if raw.payload.len() > max_item_bytes {
        return Err(NormalizeError::new(
            ErrorKind::TooLarge,
            format!(
                "item is {} bytes, the spec's max_item_bytes is {max_item_bytes}",
                raw.payload.len()
            ),
        ));
    }
    let item = Item::parse(&spec.framing, raw.framing, raw.payload)?;

    // Counted skips come first: a skipped item is not checked any further.
    for rule in &m.skip_when {
        if let Some(v) = item.string(&rule.field)? {
            if rule.equals.iter().any(|e| e == v.trim()) {
                return Ok(None);
            }
        }
    }

    let type_name: &str = match (&m.kind, &m.type_field) {
        (Some(kind), _) => kind,
        (None, Some(field)) => {
            let source_type = required(&item, field)?;
            match m.type_map.get(source_type.trim()) {
                Some(kind) => kind,
                None => {
                    return Err(NormalizeError::new(
                        ErrorKind::UnsupportedType,
                        format!(
                            "field {field}: source type {:?} is not in the type_map",
                            canonical::ip::truncate(source_type.trim())
                        ),
                    ))
                }
            }
        }
        (None, None) => {
            return Err(NormalizeError::new(
                ErrorKind::SchemaMismatch,
                "the mapping names no type",
            ))
        }
    };

    let value = required(&item, &m.value)?;
    let options = CanonicalOptions {
        keep_non_public: m.keep_non_public,
        min_ipv4_prefix: m.min_ipv4_prefix,
        min_ipv6_prefix: m.min_ipv6_prefix,
    };
    let canonical = canonical::canonicalize_with(type_name, &value, &options)?;

    let mut port = canonical.port;
    if let Some(field) = &m.port {
        if let Some(p) = item.string(field)? {
            port = Some(parse_port(&p).map_err(|e| in_field(field, e))?);
        }
    }

    let first_seen_ms = time_field(&item, m.first_seen.as_ref())?;
    let last_seen_ms = time_field(&item, m.last_seen.as_ref())?;
    let confidence = match &m.confidence_field {
        Some(field) => match item.string(field)? {
            Some(text) => Some(
                confidence::parse(m.confidence_scale.as_ref(), &text)
                    .map_err(|e| in_field(field, e))?,
            ),
            None => m.confidence,
        },
        None => m.confidence,
    };
    let valid_until_ms = expiry::valid_days(m, canonical.family).map(|days| {
        let base = last_seen_ms.or(first_seen_ms).unwrap_or(now_ms);
        base.saturating_add(i64::from(days).saturating_mul(expiry::DAY_MS))
    });
    let revoked = match &m.revoked_when {
        Some(rule) => item
            .string(&rule.field)?
            .is_some_and(|v| rule.equals.iter().any(|e| e == v.trim())),
        None => false,
    };
    let status = if revoked {
        STATUS_REVOKED
    } else if valid_until_ms.is_some_and(|until| until <= now_ms) {
        STATUS_EXPIRED
    } else {
        STATUS_ACTIVE
    };
    let source_ref = match &m.source_ref {
        Some(field) => item.string(field)?.map(|s| s.trim().to_owned()),
        None => None,
    };

    Ok(Some(Mapped {
        id: indicator_id(&canonical),
        port,
        source: raw.source,
        source_ref,
        first_seen_ms,
        last_seen_ms,
        confidence,
        tlp: &m.tlp,
        tags: list(&item, m.tags.as_ref(), &m.constant_tags)?,
        threat_types: list(&item, m.threat_types.as_ref(), &m.constant_threat_types)?,
        malware_families: list(&item, m.malware_families.as_ref(), &[])?,
        fetch_id: raw.fetch_id,
        origin,
        normalized_at_ms: now_ms,
        valid_until_ms,
        references: list(&item, m.references.as_ref(), &[])?,
        status,
        canonical,
    }))
}

fn required<'i>(
    item: &'i Item<'_>,
    field: &str,
) -> Result<std::borrow::Cow<'i, str>, NormalizeError> {
    item.string(field)?.ok_or_else(|| {
        NormalizeError::new(
            ErrorKind::MissingField,
            format!("field {field} is missing or empty"),
        )
    })
}

fn time_field(item: &Item<'_>, spec: Option<&TimeField>) -> Result<Option<i64>, NormalizeError> {
    let Some(spec) = spec else {
        return Ok(None);
    };
    match item.string(&spec.field)? {
        Some(text) => time::parse_time_ms(&spec.field, &spec.format, &text).map(Some),
        None => Ok(None),
    }
}

/// The list from the field followed by the constants, without duplicates, in first-seen order;
/// the constants are borrowed from the spec.
fn list<'a>(
    item: &Item<'a>,
    spec: Option<&ListField>,
    constants: &'a [String],
) -> Result<List<'a>, NormalizeError> {
    let mut out = match spec {
        Some(l) => item.list(&l.field, l.split.as_deref())?,
        None => List::new(),
    };
    out.extend(constants.iter().map(|c| Cow::Borrowed(c.as_str())));
    // Lists are short: a linear scan is cheaper than hashing, and removing in place keeps the
    // one allocation.
    let mut i = 0;
    while i < out.len() {
        if out[..i].contains(&out[i]) {
            out.remove(i);
        } else {
            i += 1;
        }
    }
    Ok(out)
}

fn in_field(field: &str, e: NormalizeError) -> NormalizeError {
    NormalizeError::new(e.kind, format!("field {field}: {}", e.message))
}

#[cfg(test)]
mod tests;
