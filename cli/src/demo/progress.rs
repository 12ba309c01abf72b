//! Watching the demo pipeline: scraping each stage's `/metrics` and showing progress on stderr.
//!
//! The stages report `iocflow_records_total{stage,source,outcome}` and
//! `iocflow_fetch_runs_total{source,outcome}` (`docs/CONTRACTS.md`); a [`Snapshot`] is the sum
//! of those counters over the three processes at one moment. The display is an indicatif
//! spinner per stage on stderr, so stdout stays parseable; when stderr is not a terminal (CI,
//! a log file) it prints a plain progress line whenever the counts change instead.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counter values of the pipeline at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// `iocflow_records_total` by (stage, source, outcome).
    pub records: BTreeMap<(String, String, String), u64>,
    /// `iocflow_fetch_runs_total` by (source, outcome).
    pub fetch_runs: BTreeMap<(String, String), u64>,
}

impl Snapshot {
    /// Adds the counters of one `/metrics` page.
    pub fn add_metrics_text(&mut self, text: &str) {
        for (name, labels, value) in parse_prometheus(text) {
            let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
            let value = if value.is_finite() && value > 0.0 {
                value as u64
            } else {
                0
            };
            match name.as_str() {
                "iocflow_records_total" => {
                    *self
                        .records
                        .entry((label("stage"), label("source"), label("outcome")))
                        .or_default() += value;
                }
                "iocflow_fetch_runs_total" => {
                    *self
                        .fetch_runs
                        .entry((label("source"), label("outcome")))
                        .or_default() += value;
                }
                _ => {}
            }
        }
    }

    /// `iocflow_records_total` of one stage, source and outcome.
    pub fn records(&self, stage: &str, source: &str, outcome: &str) -> u64 {
        self.records
            .get(&(stage.to_string(), source.to_string(), outcome.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Fetch runs of a source, all outcomes together.
    pub fn fetch_runs(&self, source: &str) -> u64 {
        self.fetch_runs
            .iter()
            .filter(|((s, _), _)| s == source)
            .map(|(_, v)| v)
            .sum()
    }

    /// Sum of `iocflow_records_total` over sources for one stage and outcome.
    pub fn stage_total(&self, stage: &str, outcome: &str) -> u64 {
        self.records
            .iter()
            .filter(|((st, _, o), _)| st == stage && o == outcome)
            .map(|(_, v)| v)
            .sum()
    }
}

/// Parses Prometheus text exposition into (name, labels, value); comments and malformed lines
/// are ignored.
pub fn parse_prometheus(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, labels, rest) = match line.find('{') {
            Some(open) => {
                let Some(close) = line.rfind('}') else {
                    continue;
                };
                if close < open {
                    continue;
                }
                (
                    &line[..open],
                    parse_labels(&line[open + 1..close]),
                    &line[close + 1..],
                )
            }
            None => match line.split_once(char::is_whitespace) {
                Some((n, r)) => (n, BTreeMap::new(), r),
                None => continue,
            },
        };
        let Some(value) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        else {
            continue;
        };
        out.push((name.to_string(), labels, value));
    }
    out
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(',') | Some(' ')) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() || chars.next() != Some('"') {
            break;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim().to_string(), value);
    }
    labels
}

/// Fetches one `/metrics` page; `None` while the endpoint is not up yet.
pub async fn scrape(client: &reqwest::Client, url: &str) -> Option<String> {
    let resp = client
        .get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.text().await.ok()
}

/// The progress display: one spinner line per stage, on stderr.
#[derive(Debug)]
pub struct ProgressDisplay {
    _multi: MultiProgress,
    fetch: ProgressBar,
    normalize: ProgressBar,
    submit: ProgressBar,
    /// Without a terminal: the last plain line printed, so only changes are printed.
    plain_last: Option<String>,
}

impl ProgressDisplay {
    /// Starts the display (hidden when stderr is not a terminal).
    pub fn new() -> ProgressDisplay {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} {prefix:<10} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = |prefix: &'static str| {
            let b = multi.add(ProgressBar::new_spinner());
            b.set_style(style.clone());
            b.set_prefix(prefix);
            b.enable_steady_tick(Duration::from_millis(120));
            b
        };
        ProgressDisplay {
            fetch: bar("fetch"),
            normalize: bar("normalize"),
            submit: bar("submit"),
            _multi: multi,
            plain_last: (!std::io::stderr().is_terminal()).then(String::new),
        }
    }

    /// Shows a snapshot against the enabled integrations.
    pub fn update(&mut self, snap: &Snapshot, sources: &[String]) {
        let fetched_sources = sources.iter().filter(|s| snap.fetch_runs(s) > 0).count();
        if let Some(last) = &mut self.plain_last {
            let line = plain_line(snap, fetched_sources, sources.len());
            if *last != line {
                eprintln!("{line}");
                *last = line;
            }
            return;
        }
        self.fetch.set_message(format!(
            "{fetched_sources}/{} sources fetched, {} items framed, {} produced, {} skipped",
            sources.len(),
            snap.stage_total("fetch", "fetched"),
            snap.stage_total("fetch", "produced"),
            snap.stage_total("fetch", "skipped"),
        ));
        let normalized = snap.stage_total("normalize", "normalized");
        self.normalize.set_message(format!(
            "{} of {} raw records: {normalized} indicators, {} skipped, {} dead-lettered",
            normalized
                + snap.stage_total("normalize", "skipped")
                + snap.stage_total("normalize", "dead_lettered"),
            snap.stage_total("fetch", "produced"),
            snap.stage_total("normalize", "skipped"),
            snap.stage_total("normalize", "dead_lettered"),
        ));
        self.submit.set_message(format!(
            "{} of {normalized} indicators: {} submitted, {} dead-lettered",
            snap.stage_total("submit", "submitted") + snap.stage_total("submit", "dead_lettered"),
            snap.stage_total("submit", "submitted"),
            snap.stage_total("submit", "dead_lettered"),
        ));
    }

    /// Removes the spinners.
    pub fn finish(&self) {
        for b in [&self.fetch, &self.normalize, &self.submit] {
            b.finish_and_clear();
        }
    }
}

/// One line of progress for logs: sources fetched and records through each stage.
pub fn plain_line(snap: &Snapshot, fetched_sources: usize, sources: usize) -> String {
    let normalized = snap.stage_total("normalize", "normalized");
    format!(
        "progress: fetch {fetched_sources}/{sources} sources, {} produced; normalize {} of them; \
         submit {} of {normalized} indicators",
        snap.stage_total("fetch", "produced"),
        normalized
            + snap.stage_total("normalize", "skipped")
            + snap.stage_total("normalize", "dead_lettered"),
        snap.stage_total("submit", "submitted") + snap.stage_total("submit", "dead_lettered"),
    )
}

impl Default for ProgressDisplay {
    fn default() -> Self {
        ProgressDisplay::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# HELP iocflow_records_total Records through a stage, by outcome.
# TYPE iocflow_records_total counter
iocflow_records_total{outcome="fetched",source="urlhaus",stage="fetch"} 12
iocflow_records_total{outcome="produced",source="urlhaus",stage="fetch"} 9
iocflow_records_total{outcome="skipped",source="urlhaus",stage="fetch"} 3
iocflow_fetch_runs_total{outcome="success",source="urlhaus"} 1
iocflow_fetch_duration_seconds_bucket{source="urlhaus",le="+Inf"} 1
weird line without value
"#;

    #[test]
    fn counters_are_read_by_label() {
        let mut snap = Snapshot::default();
        snap.add_metrics_text(PAGE);
        snap.add_metrics_text(
            r#"iocflow_records_total{stage="normalize",source="urlhaus",outcome="normalized"} 7"#,
        );
        assert_eq!(snap.records("fetch", "urlhaus", "fetched"), 12);
        assert_eq!(snap.records("normalize", "urlhaus", "normalized"), 7);
        assert_eq!(snap.records("submit", "urlhaus", "submitted"), 0);
        assert_eq!(snap.fetch_runs("urlhaus"), 1);
        assert_eq!(snap.stage_total("fetch", "skipped"), 3);
        assert_eq!(
            plain_line(&snap, 1, 2),
            "progress: fetch 1/2 sources, 9 produced; normalize 7 of them; submit 0 of 7 indicators"
        );
    }

    #[test]
    fn label_values_may_hold_escapes_and_commas() {
        let parsed = parse_prometheus(r#"m{a="x,\"y\"",b="z"} 2.5"#);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].1["a"], "x,\"y\"");
        assert_eq!(parsed[0].1["b"], "z");
        assert_eq!(parsed[0].2, 2.5);
    }
}
