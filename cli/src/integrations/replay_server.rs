//! The replay server: serves every integration's recorded responses over HTTP, the way the
//! real source would, for the demo, the fetcher's tests and integration engineers.
//!
//! Integration `<name>` is mounted under `http://HOST:PORT/<name>`. Each request is checked
//! against the spec's `auth` with the recorded `secret` (401 on mismatch), matched against the
//! `[[response]]` entries of `recordings/responses.toml` (first match wins, 404 otherwise), and
//! answered with the recorded status, headers and body, after any injected fault. Bodies are
//! streamed from disk in chunks with `{{base_url}}` replaced on the fly, so a recording of any
//! size needs little memory. `truncate_body_at` announces the full `Content-Length`, sends the
//! first bytes and then breaks the connection, which a client sees as a short read.
//!
//! The format is fixed in `docs/CONTRACTS.md`. Matching and fault logic live in [`rules`].

pub mod rules;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::StreamExt as _;
use iocflow_schemas::spec::{load_catalog, AuthSpec, SpecError};
use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::integrations::recordings::{
    body_path, RecordedResponse, Recordings, BASE_URL_PLACEHOLDER,
};
use rules::StreamingReplacer;
use rules::{check_auth, find_match, split_mount, FaultCounter, OccurrenceCounter};

/// Pause between the last bytes of a truncated body and the connection break.
const TRUNCATE_FLUSH_PAUSE: Duration = Duration::from_millis(100);

/// Bytes read from a body file at a time.
const CHUNK_BYTES: usize = 64 * 1024;

/// `iocflow replay-server`: serve the recorded responses until SIGTERM or Ctrl-C.
#[derive(Debug, clap::Args)]
pub struct ReplayServerArgs {
    /// The integration catalog: one directory per integration.
    #[arg(long, default_value = "fetchers/integrations")]
    pub integrations_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

/// Why the replay server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A spec or a `responses.toml` does not load (the message names the file).
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A body file named in `responses.toml` cannot be read.
    #[error("{integration}: cannot read body file {path}: {error}")]
    BodyFile {
        /// Integration name.
        integration: String,
        /// The body file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        error: std::io::Error,
    },
}

/// A running replay server; stops when [`ReplayServer::stop`] is called or the handle is dropped.
#[derive(Debug)]
pub struct ReplayServer {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    names: Vec<String>,
}

impl ReplayServer {
    /// Loads the catalog's specs and recordings, binds `addr` and starts serving in the
    /// background on the current tokio runtime.
    ///
    /// # Errors
    /// [`ReplayError`] when a spec, a `responses.toml` or a body file is unusable, or when the
    /// address cannot be bound.
    pub async fn start(catalog_dir: &Path, addr: SocketAddr) -> Result<ReplayServer, ReplayError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| ReplayError::Bind { addr, error })?;
        let local = listener
            .local_addr()
            .map_err(|error| ReplayError::Bind { addr, error })?;
        let base_url = format!("http://{local}");

        let mut mounts = BTreeMap::new();
        for (dir, spec) in load_catalog(catalog_dir)? {
            let recordings = Recordings::load(&dir)?;
            let mount_url = format!("{base_url}/{}", spec.name);
            let mut entries = Vec::with_capacity(recordings.responses.len());
            for response in recordings.responses {
                let body = match &response.body_file {
                    Some(file) => {
                        let path = body_path(&dir, file);
                        let length = expanded_length(&path, &mount_url).await.map_err(|error| {
                            ReplayError::BodyFile {
                                integration: spec.name.clone(),
                                path: path.clone(),
                                error,
                            }
                        })?;
                        Some(BodyFile { path, length })
                    }
                    None => None,
                };
                entries.push(Entry {
                    response,
                    body,
                    faults: FaultCounter::default(),
                });
            }
            mounts.insert(
                spec.name.clone(),
                Mount {
                    auth: spec.auth.clone(),
                    secret: recordings.secret,
                    mount_url,
                    entries,
                },
            );
        }
        let names: Vec<String> = mounts.keys().cloned().collect();

        let stop = CancellationToken::new();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::new(ServerState { mounts }));
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, message = "Replay server stopped.");
            }
        });
        tracing::info!(addr = %local, integrations = names.len(), message = "Replay server listening.");

        Ok(ReplayServer {
            addr: local,
            stop,
            task: Some(task),
            names,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base URL of integration `name`: `http://HOST:PORT/<name>`.
    pub fn url_for(&self, name: &str) -> String {
        format!("{}/{name}", self.base_url())
    }

    /// Names of the mounted integrations, sorted.
    pub fn integrations(&self) -> &[String] {
        &self.names
    }

    /// Stops accepting connections and waits for open ones to finish.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            drop(task.await);
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Runs `iocflow replay-server`.
///
/// # Errors
/// A catalog that does not load or an address that cannot be bound.
pub async fn run(args: ReplayServerArgs) -> anyhow::Result<ExitCode> {
    let stop = iocflow_service::shutdown::on_signal();
    let server = ReplayServer::start(&args.integrations_dir, args.listen).await?;

    // Tests parse this line: it must be the first one on stdout, and flushed at once.
    println!("listening on {}", server.base_url());
    use std::io::Write;
    std::io::stdout().flush()?;
    for name in server.integrations() {
        eprintln!("  {name}: {}", server.url_for(name));
    }

    stop.cancelled().await;
    server.stop().await;
    Ok(ExitCode::SUCCESS)
}

struct ServerState {
    mounts: BTreeMap<String, Mount>,
}

struct Mount {
    auth: AuthSpec,
    secret: Option<String>,
    mount_url: String,
    entries: Vec<Entry>,
}

struct Entry {
    response: RecordedResponse,
    body: Option<BodyFile>,
    faults: FaultCounter,
}

struct BodyFile {
    path: PathBuf,
    /// Length after `{{base_url}}` substitution, sent as `Content-Length`.
    length: u64,
}

async fn handle(State(state): State<Arc<ServerState>>, req: Request) -> Response {
    let path = req.uri().path();
    let Some((name, rest)) = split_mount(path) else {
        return text(StatusCode::NOT_FOUND, "no integration in the path\n".into());
    };
    let Some(mount) = state.mounts.get(name) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no integration named {name}\n"),
        );
    };
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();

    if let Err(reason) = check_auth(&mount.auth, mount.secret.as_deref(), req.headers(), &query) {
        return text(
            StatusCode::UNAUTHORIZED,
            format!("unauthorized: {reason}\n"),
        );
    }
    let Some(index) = find_match(
        mount.entries.iter().map(|e| &e.response),
        req.method().as_str(),
        rest,
        &query,
    ) else {
        return text(
            StatusCode::NOT_FOUND,
            format!("no recorded response for {} {rest}\n", req.method()),
        );
    };
    let entry = &mount.entries[index];
    let r = &entry.response;

    if r.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(r.delay_ms)).await;
    }
    if entry.faults.next_fails(r.fail_first) {
        let status = StatusCode::from_u16(r.fail_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut resp = text(status, "injected failure\n".into());
        if let Some(secs) = r.retry_after_secs {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return resp;
    }

    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut builder = Response::builder().status(status);
    for (k, v) in &r.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v)) {
            builder = builder.header(k, v);
        }
    }
    let body = match &entry.body {
        Some(file) => {
            builder = builder.header(header::CONTENT_LENGTH, file.length);
            let truncate_at = r.truncate_body_at.filter(|&n| n < file.length);
            stream_body(file.path.clone(), mount.mount_url.clone(), truncate_at)
        }
        None => Body::empty(),
    };
    builder
        .body(body)
        .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "bad response\n".into()))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Length of a body file once `{{base_url}}` is replaced by `mount_url`, read in chunks.
async fn expanded_length(path: &Path, mount_url: &str) -> std::io::Result<u64> {
    let mut file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    let mut counter = OccurrenceCounter::new(BASE_URL_PLACEHOLDER);
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        counter.push(&buf[..n]);
    }
    let grow = mount_url.len() as i64 - BASE_URL_PLACEHOLDER.len() as i64;
    Ok((size as i64 + grow * counter.count() as i64).max(0) as u64)
}

/// Streams a body file with `{{base_url}}` replaced; with `truncate_at`, the stream fails after
/// that many bytes so the server breaks the connection short of the announced length.
fn stream_body(path: PathBuf, mount_url: String, truncate_at: Option<u64>) -> Body {
    struct St {
        file: Option<tokio::fs::File>,
        path: PathBuf,
        replacer: StreamingReplacer,
        sent: u64,
        limit: Option<u64>,
        done: bool,
    }
    let st = St {
        file: None,
        path,
        replacer: StreamingReplacer::new(BASE_URL_PLACEHOLDER, &mount_url),
        sent: 0,
        limit: truncate_at,
        done: false,
    };
    let stream = futures::stream::unfold(st, |mut st| async move {
        if st.done {
            return None;
        }
        let result = next_chunk(&mut st.file, &st.path, &mut st.replacer).await;
        let mut chunk = match result {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return None,
            Err(error) => {
                st.done = true;
                return Some((Err(error), st));
            }
        };
        if let Some(limit) = st.limit {
            let room = limit.saturating_sub(st.sent);
            if (chunk.len() as u64) >= room {
                chunk.truncate(room as usize);
                st.done = true;
                st.file = None;
                let item = Ok(Bytes::from(chunk));
                return Some((item, st));
            }
        }
        st.sent += chunk.len() as u64;
        Some((Ok(Bytes::from(chunk)), st))
    });
    // After the truncated piece the stream ends with an error, never with a clean end. The
    // pause lets the server flush the piece first: an error right behind it would make it
    // drop the unsent bytes along with the connection.
    let cut = futures::stream::iter(truncate_at).then(|_| async {
        tokio::time::sleep(TRUNCATE_FLUSH_PAUSE).await;
        Err(truncated())
    });
    let stream = stream.chain(cut);
    Body::from_stream(stream)
}

fn truncated() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "truncated by the replay server",
    )
}

async fn next_chunk(
    file: &mut Option<tokio::fs::File>,
    path: &Path,
    replacer: &mut StreamingReplacer,
) -> std::io::Result<Option<Vec<u8>>> {
    if file.is_none() {
        *file = Some(tokio::fs::File::open(path).await?);
    }
    let Some(f) = file.as_mut() else {
        return Ok(None);
    };
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            let rest = replacer.finish();
            return Ok((!rest.is_empty()).then_some(rest));
        }
        let out = replacer.push(&buf[..n]);
        if !out.is_empty() {
            return Ok(Some(out));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name = "feed"
title = "Test feed"
[request]
url = "https://feed.example.com/list.json"
[auth]
kind = "header"
name = "Auth-Key"
secret_env = "IOCFLOW_SECRET_FEED"
[framing]
kind = "lines"
[mapping]
type = "domain"
value = "line"
"#;

    const RESPONSES: &str = r#"
secret = "s3cret"

[[response]]
path = "/list.json"
query = { page = "2" }
headers = { "content-type" = "application/json", "x-page" = "2" }
body_file = "page2.json"

[[response]]
path = "/list.json"
headers = { "content-type" = "application/json" }
body_file = "page1.json"

[[response]]
path = "/flaky"
fail_first = 2
fail_status = 429
retry_after_secs = 1
body_file = "page2.json"

[[response]]
path = "/cut"
truncate_body_at = 10
body_file = "big.txt"
"#;

    fn catalog() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("feed");
        std::fs::create_dir_all(dir.join("recordings")).unwrap();
        std::fs::write(dir.join("spec.toml"), SPEC).unwrap();
        std::fs::write(dir.join("recordings/responses.toml"), RESPONSES).unwrap();
        std::fs::write(
            dir.join("recordings/page1.json"),
            r#"{"items": [1], "next": "{{base_url}}/list.json?page=2"}"#,
        )
        .unwrap();
        std::fs::write(dir.join("recordings/page2.json"), r#"{"items": [2]}"#).unwrap();
        std::fs::write(dir.join("recordings/big.txt"), "x".repeat(200_000)).unwrap();
        tmp
    }

    /// GET with the recorded secret in the spec's header.
    async fn get_with_key(
        client: &reqwest::Client,
        url: impl reqwest::IntoUrl,
    ) -> reqwest::Response {
        client
            .get(url)
            .header("Auth-Key", "s3cret")
            .send()
            .await
            .unwrap()
    }

    async fn start(tmp: &tempfile::TempDir) -> ReplayServer {
        ReplayServer::start(tmp.path(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn serves_recordings_with_auth_matching_and_substitution() {
        let tmp = catalog();
        let server = start(&tmp).await;
        let client = reqwest::Client::new();
        let url = format!("{}/list.json", server.url_for("feed"));

        let resp = client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        let body = resp.text().await.unwrap();
        assert!(body.contains("missing header Auth-Key"), "{body}");
        assert!(!body.contains("s3cret"));

        let resp = client
            .get(&url)
            .header("Auth-Key", "nope")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);

        let resp = get_with_key(&client, &url).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body = resp.text().await.unwrap();
        let expected_next = format!("\"next\": \"{}/feed/list.json?page=2\"", server.base_url());
        assert!(body.contains(&expected_next), "{body}");

        let resp = get_with_key(&client, format!("{url}?page=2&extra=1")).await;
        assert_eq!(resp.headers()["x-page"], "2");
        assert_eq!(resp.text().await.unwrap(), r#"{"items": [2]}"#);

        let missing = format!("{}/other", server.url_for("feed"));
        let resp = get_with_key(&client, &missing).await;
        assert_eq!(resp.status(), 404);
        let resp = client
            .get(format!("{}/nobody/x", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        let resp = client
            .post(&url)
            .header("Auth-Key", "s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);

        server.stop().await;
    }

    #[tokio::test]
    async fn injects_failures_then_answers() {
        let tmp = catalog();
        let server = start(&tmp).await;
        let client = reqwest::Client::new();
        let url = format!("{}/flaky", server.url_for("feed"));

        for _ in 0..2 {
            let resp = get_with_key(&client, &url).await;
            assert_eq!(resp.status(), 429);
            assert_eq!(resp.headers()["retry-after"], "1");
        }
        let resp = get_with_key(&client, &url).await;
        assert_eq!(resp.status(), 200);
        server.stop().await;
    }

    #[tokio::test]
    async fn truncated_bodies_break_the_connection() {
        let tmp = catalog();
        let server = start(&tmp).await;
        let url = format!("{}/cut", server.url_for("feed"));

        // A raw client shows exactly what arrives: the full length announced, 10 bytes sent.
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(server.local_addr())
            .await
            .unwrap();
        let request = "GET /feed/cut HTTP/1.1\r\nHost: x\r\nAuth-Key: s3cret\r\n\r\n";
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut received = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
            .await
            .expect("the server closes the connection");
        drop(read);
        let text = String::from_utf8_lossy(&received).to_lowercase();
        assert!(text.contains("content-length: 200000"), "{text}");
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        assert_eq!(body, "x".repeat(10));

        // An HTTP client sees an error while reading the body.
        let resp = reqwest::Client::new()
            .get(&url)
            .header("Auth-Key", "s3cret")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.bytes().await.is_err());
        server.stop().await;
    }

    #[tokio::test]
    async fn missing_body_file_fails_start() {
        let tmp = catalog();
        std::fs::remove_file(tmp.path().join("feed/recordings/big.txt")).unwrap();
        let err = ReplayServer::start(tmp.path(), SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("big.txt"), "{err}");
    }
}
