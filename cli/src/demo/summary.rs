//! The demo's result: when the pipeline is done, and the per-source summary built from the
//! stages' counters (table for people, one JSON line for scripts).
//!
//! `fetched` counts every framed item and `skipped` adds the fetcher's skips to the
//! normalizer's, so for every source `fetched == skipped + normalized + dead_lettered_normalize`
//! once the pipeline is done.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::demo::progress::Snapshot;
use crate::integrations::list::render_table;

/// Counts of one source (or of all of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Items framed by the fetcher, skipped ones included.
    pub fetched: u64,
    /// Fetcher skips plus normalizer skips.
    pub skipped: u64,
    /// Indicators the normalizer emitted.
    pub normalized: u64,
    /// Raw records the normalizer dead-lettered.
    pub dead_lettered_normalize: u64,
    /// Indicators the sinks acknowledged.
    pub submitted: u64,
    /// Indicators the submitter dead-lettered.
    pub dead_lettered_submit: u64,
}

impl Counts {
    /// The counts of `source` in a snapshot.
    pub fn of_source(snap: &Snapshot, source: &str) -> Counts {
        let r = |stage, outcome| snap.records(stage, source, outcome);
        Counts {
            fetched: r("fetch", "fetched"),
            skipped: r("fetch", "skipped") + r("normalize", "skipped"),
            normalized: r("normalize", "normalized"),
            dead_lettered_normalize: r("normalize", "dead_lettered"),
            submitted: r("submit", "submitted"),
            dead_lettered_submit: r("submit", "dead_lettered"),
        }
    }

    fn add(&mut self, o: &Counts) {
        self.fetched += o.fetched;
        self.skipped += o.skipped;
        self.normalized += o.normalized;
        self.dead_lettered_normalize += o.dead_lettered_normalize;
        self.submitted += o.submitted;
        self.dead_lettered_submit += o.dead_lettered_submit;
    }

    /// Whether every framed item is accounted for.
    pub fn balanced(&self) -> bool {
        self.fetched == self.skipped + self.normalized + self.dead_lettered_normalize
    }
}

/// The demo's summary; serialized as the `--json` line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Sums over all sources.
    pub totals: Counts,
    /// Per integration name.
    pub sources: BTreeMap<String, Counts>,
    /// Where the file sink, the logs and the stage configs are.
    pub output_dir: String,
}

impl Summary {
    /// Builds the summary of `sources` (plus any other source the counters mention).
    pub fn from_snapshot(snap: &Snapshot, sources: &[String], output_dir: String) -> Summary {
        let mut names: Vec<String> = sources.to_vec();
        for (_, source, _) in snap.records.keys() {
            if !source.is_empty() && !names.contains(source) {
                names.push(source.clone());
            }
        }
        names.sort();
        let mut summary = Summary {
            output_dir,
            ..Summary::default()
        };
        for name in names {
            let c = Counts::of_source(snap, &name);
            summary.totals.add(&c);
            summary.sources.insert(name, c);
        }
        summary
    }

    /// The summary as one line of JSON.
    ///
    /// # Errors
    /// Never in practice (plain data); serde's error otherwise.
    pub fn to_json_line(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }

    /// A per-source table with a total row.
    pub fn render_table(&self) -> String {
        let row = |name: &str, c: &Counts| {
            [
                name.to_string(),
                c.fetched.to_string(),
                c.skipped.to_string(),
                c.normalized.to_string(),
                c.dead_lettered_normalize.to_string(),
                c.submitted.to_string(),
                c.dead_lettered_submit.to_string(),
            ]
        };
        let mut rows: Vec<[String; 7]> = self.sources.iter().map(|(n, c)| row(n, c)).collect();
        rows.push(row("TOTAL", &self.totals));
        render_table(
            &[
                "SOURCE",
                "FETCHED",
                "SKIPPED",
                "NORMALIZED",
                "DLQ NORMALIZE",
                "SUBMITTED",
                "DLQ SUBMIT",
            ],
            &rows,
        )
    }
}

/// Whether the pipeline has finished with what was fetched, and if not, what is missing.
///
/// Done means: every enabled integration has at least one fetch run; per source the normalizer
/// has an outcome for every record the fetcher produced, and the submitter for every indicator
/// the normalizer emitted.
pub fn missing(snap: &Snapshot, enabled: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for s in enabled {
        if snap.fetch_runs(s) == 0 {
            out.push(format!("{s}: no fetch run finished yet"));
        }
    }
    let mut sources: Vec<&String> = snap.records.keys().map(|(_, s, _)| s).collect();
    sources.extend(enabled);
    sources.sort();
    sources.dedup();
    for s in sources {
        let produced = snap.records("fetch", s, "produced");
        let normalized = snap.records("normalize", s, "normalized");
        let handled = normalized
            + snap.records("normalize", s, "skipped")
            + snap.records("normalize", s, "dead_lettered");
        if handled != produced {
            out.push(format!(
                "{s}: normalizer handled {handled} of {produced} raw records"
            ));
        }
        let submitted =
            snap.records("submit", s, "submitted") + snap.records("submit", s, "dead_lettered");
        if submitted != normalized {
            out.push(format!(
                "{s}: submitter handled {submitted} of {normalized} indicators"
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap() -> Snapshot {
        let mut s = Snapshot::default();
        s.add_metrics_text(
            r#"
iocflow_records_total{stage="fetch",source="a",outcome="fetched"} 10
iocflow_records_total{stage="fetch",source="a",outcome="skipped"} 2
iocflow_records_total{stage="fetch",source="a",outcome="produced"} 8
iocflow_fetch_runs_total{source="a",outcome="success"} 1
iocflow_records_total{stage="normalize",source="a",outcome="normalized"} 5
iocflow_records_total{stage="normalize",source="a",outcome="skipped"} 1
iocflow_records_total{stage="normalize",source="a",outcome="dead_lettered"} 2
iocflow_records_total{stage="submit",source="a",outcome="submitted"} 4
iocflow_records_total{stage="submit",source="a",outcome="dead_lettered"} 1
"#,
        );
        s
    }

    #[test]
    fn summary_json_has_the_documented_shape() {
        let summary = Summary::from_snapshot(&snap(), &["a".into(), "b".into()], "/tmp/x".into());
        let line = summary.to_json_line().unwrap();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let fields = [
            "fetched",
            "skipped",
            "normalized",
            "dead_lettered_normalize",
            "submitted",
            "dead_lettered_submit",
        ];
        for f in fields {
            assert!(v["totals"][f].is_u64(), "totals.{f}");
            assert!(v["sources"]["a"][f].is_u64(), "sources.a.{f}");
            assert!(v["sources"]["b"][f].is_u64(), "sources.b.{f}");
        }
        assert_eq!(v["output_dir"], "/tmp/x");
        assert_eq!(v["sources"]["a"]["skipped"], 3);
        assert_eq!(v["totals"]["fetched"], 10);
        let a = &summary.sources["a"];
        assert!(a.balanced(), "{a:?}");
        assert!(summary.render_table().contains("TOTAL"));
    }

    #[test]
    fn done_only_when_every_stage_caught_up() {
        let s = snap();
        // a: 8 produced, 8 handled by the normalizer, 5 indicators and 5 submitted outcomes.
        assert!(
            missing(&s, &["a".into()]).is_empty(),
            "{:?}",
            missing(&s, &["a".into()])
        );
        let m = missing(&s, &["a".into(), "b".into()]);
        assert_eq!(m, vec!["b: no fetch run finished yet".to_string()]);

        let mut lagging = s.clone();
        lagging.add_metrics_text(
            r#"iocflow_records_total{stage="fetch",source="a",outcome="produced"} 1"#,
        );
        let m = missing(&lagging, &["a".into()]);
        assert_eq!(
            m,
            vec!["a: normalizer handled 8 of 9 raw records".to_string()]
        );
    }
}
