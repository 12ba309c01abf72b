//! Mapping: turns one raw record into an indicator following its integration's `[mapping]`.
//!
//! Steps: read the item as its framing says ([`fields`]); apply `skip_when`; find the type
//! (`type`, or `type_field` through `type_map`); canonicalize the value
//! ([`crate::canonical`]); read port, times ([`time`]), confidence and lists; derive
//! `valid_until_ms` (from last seen, else first seen, else now) and the id
//! ([`crate::identity`]).

pub mod fields;
pub mod time;

use iocflow_schemas::spec::{FramingSpec, IntegrationSpec, ListField, TimeField};
use iocflow_schemas::{Indicator, RawRecord};

use crate::canonical::{self, ip::parse_port};
use crate::error::{ErrorKind, NormalizeError};
use crate::identity::indicator_id;
use crate::{Normalized, Origin};
use fields::Item;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Maps one raw record with `spec` (see [`crate::normalize`]).
///
/// # Errors
/// A [`NormalizeError`] with the kind saying why the record cannot become an indicator.
pub fn map_record(
    spec: &IntegrationSpec,
    raw: &RawRecord,
    origin: &Origin,
    now_ms: i64,
) -> Result<Normalized, NormalizeError> {
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
    let item = Item::parse(&spec.framing, &raw.framing, &raw.payload)?;

    // Counted skips come first: a skipped item is not checked any further.
    for rule in &m.skip_when {
        if let Some(v) = item.string(&rule.field)? {
            if rule.equals.iter().any(|e| e == v.trim()) {
                return Ok(Normalized::Skipped {
                    reason: "skip_when".into(),
                });
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
    let canonical = canonical::canonicalize(type_name, &value)?;

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
            Some(text) => Some(parse_confidence(field, &text)?),
            None => m.confidence,
        },
        None => m.confidence,
    };
    let valid_until_ms = m.valid_days.map(|days| {
        let base = last_seen_ms.or(first_seen_ms).unwrap_or(now_ms);
        base.saturating_add(i64::from(days).saturating_mul(DAY_MS))
    });
    let source_ref = match &m.source_ref {
        Some(field) => item.string(field)?.map(|s| s.trim().to_owned()),
        None => None,
    };

    Ok(Normalized::Indicator(Indicator {
        id: indicator_id(&canonical),
        kind: canonical.family.type_name().to_owned(),
        value: canonical.value,
        port: port.map(i32::from),
        source: raw.source.clone(),
        source_ref,
        first_seen_ms,
        last_seen_ms,
        confidence,
        tlp: m.tlp.clone(),
        tags: list(&item, m.tags.as_ref(), &m.constant_tags)?,
        threat_types: list(&item, m.threat_types.as_ref(), &m.constant_threat_types)?,
        malware_families: list(&item, m.malware_families.as_ref(), &[])?,
        fetch_id: raw.fetch_id.clone(),
        raw_topic: origin.topic.clone(),
        raw_partition: origin.partition,
        raw_offset: origin.offset,
        normalized_at_ms: now_ms,
        valid_until_ms,
        references: list(&item, m.references.as_ref(), &[])?,
        value_unicode: None,
        status: "active".to_owned(),
        flags: Vec::new(),
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

fn parse_confidence(field: &str, text: &str) -> Result<i32, NormalizeError> {
    let number = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|c| (0.0..=100.0).contains(c));
    match number {
        Some(c) => Ok(c.round() as i32),
        None => Err(NormalizeError::new(
            ErrorKind::InvalidValue,
            format!(
                "field {field}: confidence {:?} is not 0-100",
                canonical::ip::truncate(text)
            ),
        )),
    }
}

/// The list from the field followed by the constants, without duplicates, in first-seen order.
fn list(
    item: &Item<'_>,
    spec: Option<&ListField>,
    constants: &[String],
) -> Result<Vec<String>, NormalizeError> {
    let mut out = match spec {
        Some(l) => item.list(&l.field, l.split.as_deref())?,
        None => Vec::new(),
    };
    out.extend(constants.iter().cloned());
    // Lists are short: a linear scan is cheaper than hashing.
    let mut unique: Vec<String> = Vec::with_capacity(out.len());
    for v in out {
        if !unique.contains(&v) {
            unique.push(v);
        }
    }
    Ok(unique)
}

fn in_field(field: &str, e: NormalizeError) -> NormalizeError {
    NormalizeError::new(e.kind, format!("field {field}: {}", e.message))
}

#[cfg(test)]
mod tests;
