//! Building a source's requests from its spec: method, headers, body, conditional headers, and
//! the auth that `spec.auth` names.
//!
//! The secret is read once per run from the environment variable `auth.secret_env` and held in a
//! [`Secret`], whose `Debug`/`Display` redact it. It is put on the wire only here; the URL that
//! raw records, logs and errors carry is [`SourceClient::request_url`], which drops the auth
//! query parameter.

use std::sync::Arc;
use std::time::Duration;

use iocflow_schemas::spec::{AuthSpec, IntegrationSpec, Method};
use iocflow_service::secret::Secret;
use reqwest::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH};
use url::Url;

use crate::error::FetchError;

/// Conditional-request validators from the last successful run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditional {
    /// Sent as `If-None-Match`.
    pub etag: Option<String>,
    /// Sent as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// Builds the requests of one integration.
#[derive(Debug, Clone)]
pub struct SourceClient {
    http: reqwest::Client,
    spec: Arc<IntegrationSpec>,
    secret: Option<Secret>,
}

impl SourceClient {
    /// A client for `spec`, reading its secret from the environment.
    ///
    /// # Errors
    /// [`FetchError::MissingSecret`] when `auth.secret_env` is not set (the error names the
    /// variable, never a value).
    pub fn new(
        spec: Arc<IntegrationSpec>,
        http: reqwest::Client,
    ) -> Result<SourceClient, FetchError> {
        let secret = match spec.auth.secret_env() {
            None => None,
            Some(env) => match std::env::var(env) {
                Ok(v) if !v.is_empty() => Some(Secret::new(v)),
                _ => {
                    return Err(FetchError::MissingSecret {
                        source_id: spec.name.clone(),
                        env: env.to_string(),
                    })
                }
            },
        };
        Ok(SourceClient::with_secret(spec, http, secret))
    }

    /// A client with an explicit secret (tests, coded integrations).
    pub fn with_secret(
        spec: Arc<IntegrationSpec>,
        http: reqwest::Client,
        secret: Option<Secret>,
    ) -> SourceClient {
        SourceClient { http, spec, secret }
    }

    /// The integration's name.
    pub fn source_id(&self) -> &str {
        &self.spec.name
    }

    /// The shared HTTP client.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `url` as it may be recorded and logged: without the auth query parameter.
    pub fn request_url(&self, url: &Url) -> String {
        let AuthSpec::Query { name, .. } = &self.spec.auth else {
            return url.to_string();
        };
        let mut clean = url.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != name)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            clean.set_query(None);
        } else {
            clean.query_pairs_mut().clear().extend_pairs(kept);
        }
        clean.to_string()
    }

    /// The request for `url` with auth, the spec's headers and body, and `conditional`.
    ///
    /// # Errors
    /// [`FetchError::Transport`] (not retriable) when a header value is not valid HTTP.
    pub fn build(
        &self,
        url: &Url,
        conditional: &Conditional,
    ) -> Result<reqwest::Request, FetchError> {
        let spec = &self.spec.request;
        let mut target = url.clone();
        if let (AuthSpec::Query { name, .. }, Some(secret)) = (&self.spec.auth, &self.secret) {
            target.query_pairs_mut().append_pair(name, secret.expose());
        }

        let mut rb = match spec.method {
            Method::Get => self.http.get(target),
            Method::Post => self.http.post(target),
        };
        rb = rb.timeout(Duration::from_secs(spec.timeout_secs));
        for (k, v) in &spec.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &spec.body {
            let ct = spec
                .body_content_type
                .as_deref()
                .unwrap_or("application/json");
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, ct)
                .body(body.clone());
        }
        if let Some(etag) = &conditional.etag {
            rb = rb.header(IF_NONE_MATCH, etag.as_str());
        }
        if let Some(lm) = &conditional.last_modified {
            rb = rb.header(IF_MODIFIED_SINCE, lm.as_str());
        }
        match (&self.spec.auth, &self.secret) {
            (AuthSpec::Header { name, .. }, Some(s)) => rb = rb.header(name.as_str(), s.expose()),
            (AuthSpec::Bearer { .. }, Some(s)) => rb = rb.bearer_auth(s.expose()),
            (AuthSpec::Basic { username, .. }, Some(s)) => {
                rb = rb.basic_auth(username, Some(s.expose()))
            }
            _ => {}
        }

        let mut request = rb.build().map_err(|e| FetchError::Transport {
            source_id: self.spec.name.clone(),
            url: self.request_url(url),
            message: e.without_url().to_string(),
            retriable: false,
        })?;
        for value in request.headers_mut().values_mut() {
            // Keeps secret header values out of any debug output of the request.
            value.set_sensitive(true);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::tests::catalog_spec;
    use std::path::Path;

    fn query_spec() -> Arc<IntegrationSpec> {
        let text = r##"
name = "q"
title = "q"
[request]
url = "https://example.org/api?format=csv"
[auth]
kind = "query"
name = "apikey"
secret_env = "IOCFLOW_TEST_SECRET_THAT_IS_NOT_SET"
[framing]
kind = "lines"
[mapping]
type = "url"
value = "line"
"##;
        Arc::new(IntegrationSpec::parse(text, Path::new("q")).unwrap())
    }

    #[test]
    fn query_secret_is_sent_but_never_recorded() {
        let client = SourceClient::with_secret(
            query_spec(),
            reqwest::Client::new(),
            Some(Secret::new("hunter2-secret")),
        );
        let url = Url::parse("https://example.org/api?format=csv").unwrap();
        let req = client.build(&url, &Conditional::default()).unwrap();
        assert!(req.url().as_str().contains("apikey=hunter2-secret"));
        assert_eq!(
            client.request_url(req.url()),
            "https://example.org/api?format=csv"
        );
        assert!(!format!("{client:?}").contains("hunter2"));
    }

    #[test]
    fn header_secret_is_sensitive_and_redacted_in_debug() {
        let spec = Arc::new(catalog_spec("urlhaus"));
        let client = SourceClient::with_secret(
            spec,
            reqwest::Client::new(),
            Some(Secret::new("hunter2-secret")),
        );
        let url = Url::parse("https://urlhaus.abuse.ch/downloads/csv_recent/").unwrap();
        let cond = Conditional {
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        let req = client.build(&url, &cond).unwrap();
        assert_eq!(req.headers()["Auth-Key"], "hunter2-secret");
        assert_eq!(req.headers()["If-None-Match"], "\"abc\"");
        assert!(!format!("{req:?}").contains("hunter2"));
        assert!(!format!("{client:?}").contains("hunter2"));
    }

    #[test]
    fn missing_secret_names_the_variable_only() {
        let err = SourceClient::new(query_spec(), reqwest::Client::new()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("IOCFLOW_TEST_SECRET_THAT_IS_NOT_SET"),
            "{text}"
        );
        assert!(!err.is_retriable());
    }
}
