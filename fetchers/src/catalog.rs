//! The catalog of integrations the fetcher runs: every `spec.toml` under
//! `fetcher.integrations_dir`, with the operator's `[integrations.<name>]` overrides applied.
//!
//! A `base_url` override points an integration at another host (the replay server in tests and
//! the demo): it replaces `scheme://host[:port]` of the spec URL, and [`Integration::rewrite`]
//! does the same for absolute next-page links on the spec's original host.

use std::sync::Arc;

use iocflow_schemas::spec::{load_catalog, IntegrationSpec};
use url::Url;

use crate::config::FetcherConfig;
use crate::error::FetchError;

/// One integration as the fetcher runs it.
#[derive(Debug, Clone)]
pub struct Integration {
    /// The spec, with the request URL already rewritten to `base_url`.
    pub spec: Arc<IntegrationSpec>,
    /// Whether it runs (override, else the spec).
    pub enabled: bool,
    /// Seconds between run starts (override, else the spec).
    pub schedule_secs: u64,
    /// The spec URL's original `scheme://host[:port]` and its replacement, when overridden.
    rewrite: Option<(String, String)>,
}

impl Integration {
    /// Builds an integration from its spec and an optional `base_url`.
    ///
    /// # Errors
    /// [`FetchError::Config`] when the spec URL cannot be rewritten onto `base_url`.
    pub fn new(
        mut spec: IntegrationSpec,
        base_url: Option<&str>,
    ) -> Result<Integration, FetchError> {
        let mut rewrite = None;
        if let Some(base) = base_url {
            let original = Url::parse(&spec.request.url).map_err(|e| FetchError::Config {
                key: format!("integrations.{}.base_url", spec.name),
                message: format!("spec request.url does not parse: {e}"),
            })?;
            let origin = original.origin().ascii_serialization();
            let base = base.trim_end_matches('/').to_string();
            spec.request.url = rewrite_onto(&spec.request.url, &origin, &base);
            rewrite = Some((origin, base));
        }
        Ok(Integration {
            enabled: spec.enabled,
            schedule_secs: spec.schedule_secs,
            spec: Arc::new(spec),
            rewrite,
        })
    }

    /// The integration's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Applies the `base_url` rewrite to an absolute URL on the spec's original host; other URLs
    /// are returned unchanged.
    pub fn rewrite(&self, url: &str) -> String {
        match &self.rewrite {
            Some((origin, base)) => rewrite_onto(url, origin, base),
            None => url.to_string(),
        }
    }
}

/// Replaces the leading `origin` of `url` (matched case-insensitively, default port included
/// or not) with `base`.
fn rewrite_onto(url: &str, origin: &str, base: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return url.to_string();
    };
    if parsed.origin().ascii_serialization() != origin {
        return url.to_string();
    }
    let mut rest = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        rest.push('?');
        rest.push_str(q);
    }
    format!("{base}{rest}")
}

/// Every integration of the catalog, sorted by name.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The integrations, enabled or not.
    pub integrations: Vec<Integration>,
}

impl Catalog {
    /// Loads the specs under `fetcher.integrations_dir` and applies the overrides.
    ///
    /// # Errors
    /// [`FetchError::Config`] for a spec that does not load, an override naming no integration,
    /// or a base URL that cannot be applied.
    pub fn load(config: &FetcherConfig) -> Result<Catalog, FetchError> {
        let dir = &config.fetcher.integrations_dir;
        let specs = load_catalog(dir).map_err(|e| FetchError::Config {
            key: "fetcher.integrations_dir".into(),
            message: e.to_string(),
        })?;
        for name in config.integrations.keys() {
            if !specs.iter().any(|(_, s)| &s.name == name) {
                return Err(FetchError::Config {
                    key: format!("integrations.{name}"),
                    message: format!("no integration named {name} in {}", dir.display()),
                });
            }
        }

        let mut integrations = Vec::with_capacity(specs.len());
        for (_, spec) in specs {
            check_fetchable(&spec)?;
            let o = config
                .integrations
                .get(&spec.name)
                .cloned()
                .unwrap_or_default();
            let mut integration = Integration::new(spec, o.base_url.as_deref())?;
            if let Some(enabled) = o.enabled {
                integration.enabled = enabled;
            }
            if let Some(secs) = o.schedule_secs {
                integration.schedule_secs = secs;
            }
            integrations.push(integration);
        }
        Ok(Catalog { integrations })
    }

    /// The integrations that run.
    pub fn enabled(&self) -> impl Iterator<Item = &Integration> {
        self.integrations.iter().filter(|i| i.enabled)
    }
}

/// Rejects spec combinations the fetcher cannot run, naming the spec key.
fn check_fetchable(spec: &IntegrationSpec) -> Result<(), FetchError> {
    use iocflow_schemas::spec::{FramingSpec, PaginationSpec};
    let is_json = matches!(spec.framing, FramingSpec::Json { .. });
    let needs_json = matches!(
        spec.pagination,
        PaginationSpec::NextLink { .. } | PaginationSpec::Cursor { .. }
    ) || spec.response.status_pointer.is_some();
    if needs_json && !is_json {
        return Err(FetchError::Config {
            key: format!("{}: pagination / response.status_pointer", spec.name),
            message: "JSON pointers need framing.kind = \"json\"".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::tests::catalog_spec;

    #[test]
    fn base_url_replaces_scheme_host_and_port() {
        let i = Integration::new(
            catalog_spec("urlhaus"),
            Some("http://127.0.0.1:8080/urlhaus/"),
        )
        .unwrap();
        assert_eq!(
            i.spec.request.url,
            "http://127.0.0.1:8080/urlhaus/downloads/csv_recent/"
        );
        assert_eq!(
            i.rewrite("https://urlhaus.abuse.ch/p?page=2&x=1"),
            "http://127.0.0.1:8080/urlhaus/p?page=2&x=1"
        );
        assert_eq!(
            i.rewrite("https://URLHAUS.abuse.ch:443/p"),
            "http://127.0.0.1:8080/urlhaus/p"
        );
        assert_eq!(
            i.rewrite("https://other.example/p"),
            "https://other.example/p"
        );
    }

    #[test]
    fn without_override_nothing_changes() {
        let i = Integration::new(catalog_spec("openphish"), None).unwrap();
        assert_eq!(i.spec.request.url, "https://www.openphish.com/feed.txt");
        assert_eq!(
            i.rewrite("https://www.openphish.com/x"),
            "https://www.openphish.com/x"
        );
    }

    #[test]
    fn bundled_catalog_loads_and_unknown_override_is_named() {
        let text = format!(
            "[kafka]\nbootstrap_servers = \"x\"\n[fetcher]\nintegrations_dir = \"{}/integrations\"\n[integrations.nope]\nenabled = false\n",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut cfg: FetcherConfig = toml_cfg(&text);
        let err = Catalog::load(&cfg).unwrap_err().to_string();
        assert!(err.contains("integrations.nope"), "{err}");
        cfg.integrations.clear();
        let catalog = Catalog::load(&cfg).unwrap();
        assert_eq!(catalog.enabled().count(), 3);
    }

    fn toml_cfg(text: &str) -> FetcherConfig {
        let dir = std::env::temp_dir().join(format!("iocflow-catalog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, text).unwrap();
        iocflow_service::config::load(Some(&file), Vec::new()).unwrap()
    }
}
