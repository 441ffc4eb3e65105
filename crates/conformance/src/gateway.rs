//! Playing the suite over real sockets through the real gateway: an
//! albedo-compatible backend on 127.0.0.1, `rampart serve` in front of it
//! configured as the CRS project tests itself, and each test's bytes sent
//! as they are over TLS. What the rules matched is read back from the
//! gateway's audit log (`DATA_DIR/audit.jsonl`), found by the request id
//! the gateway returns; after each request a marker request (which a rule
//! of the test setup always logs) proves that every earlier line is
//! written.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::albedo;
use crate::report::{format_line, Observed, Player};

/// The rule that logs marker requests.
const MARKER_RULE: u32 = 440099;

/// Starts the albedo-compatible backend; it runs until the runtime stops.
pub async fn start_albedo() -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let (parts, body) = req.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let target = parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str())
                        .unwrap_or("/");
                    let reply =
                        albedo::respond(parts.method.as_str().as_bytes(), target.as_bytes(), &body);
                    let mut resp = hyper::Response::new(Full::new(Bytes::from(reply.body)));
                    *resp.status_mut() =
                        hyper::StatusCode::from_u16(reply.status).unwrap_or(hyper::StatusCode::OK);
                    for (k, v) in reply.headers {
                        if let (Ok(k), Ok(v)) = (
                            hyper::header::HeaderName::from_bytes(k.as_bytes()),
                            hyper::header::HeaderValue::from_str(&v),
                        ) {
                            resp.headers_mut().append(k, v);
                        }
                    }
                    Ok::<_, std::convert::Infallible>(resp)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(addr)
}

/// A running `rampart serve` configured for the CRS suite.
pub struct GatewayUnderTest {
    child: Child,
    pub https: SocketAddr,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for GatewayUnderTest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GatewayUnderTest {
    /// Starts `rampart` (the binary at `rampart`) in front of `backend`
    /// with the CRS in `crs`, paranoia 4, detection only.
    pub fn start(
        rampart: &Path,
        crs: &Path,
        backend: SocketAddr,
    ) -> Result<GatewayUnderTest, String> {
        let crs = &std::fs::canonicalize(crs).map_err(|e| format!("{}: {e}", crs.display()))?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let setup = dir.path().join("crs-test-setup.conf");
        let marker = format!(
            "SecRule REQUEST_HEADERS:X-Rampart-Marker \"@rx .\" \"id:{MARKER_RULE},phase:1,pass,log,msg:'conformance marker',ctl:ruleRemoveById=1-440098,ctl:ruleRemoveById=440100-999999\"\n"
        );
        std::fs::write(&setup, format!("{}{marker}", crate::TEST_SETUP))
            .map_err(|e| e.to_string())?;
        let config = dir.path().join("rampart.toml");
        let text = format!(
            "[server]\nhttps = \"127.0.0.1:0\"\ndata_dir = {data:?}\ninspection_buffer_bytes = 16777216\n\n\
             [[site]]\nname = \"crs-test\"\nhosts = [\"localhost\"]\ndefault = true\nupstream = \"http://{backend}\"\n\
             tls = {{ self_signed = true }}\n\n[site.waf]\ncrs = {crs:?}\nparanoia = 4\nmode = \"detect\"\ninclude = [{setup:?}]\n",
            data = data.display().to_string(),
            crs = crs.display().to_string(),
            setup = setup.display().to_string(),
        );
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        let stderr_path = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).map_err(|e| e.to_string())?;
        let mut child = Command::new(rampart)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("{}: {e}", rampart.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let https = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("https="))
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                let _ = child.wait();
                let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                format!(
                    "rampart did not start: {}",
                    err.lines().last().unwrap_or("no output")
                )
            })?;
        Ok(GatewayUnderTest {
            child,
            https,
            data,
            _dir: dir,
        })
    }

    fn certificate(&self) -> Result<Vec<u8>, String> {
        let dir = self.data.join("tls");
        for e in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.extension().is_some_and(|x| x == "crt") {
                return std::fs::read(&p).map_err(|e| e.to_string());
            }
        }
        Err("the gateway's self-signed certificate is missing".into())
    }
}

/// Plays requests through a [`GatewayUnderTest`].
pub struct GatewayPlayer {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    tls: tokio_rustls::TlsConnector,
    audit: std::sync::Mutex<AuditReader>,
    markers: std::sync::atomic::AtomicU64,
}

struct AuditReader {
    path: PathBuf,
    offset: u64,
    pending: Vec<serde_json::Value>,
}

impl AuditReader {
    /// Reads lines written since the last call.
    fn poll(&mut self) {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut text = String::new();
        if f.read_to_string(&mut text).is_err() {
            return;
        }
        // Only whole lines.
        let end = text.rfind('\n').map_or(0, |i| i + 1);
        for line in text[..end].lines() {
            if let Ok(v) = serde_json::from_str(line) {
                self.pending.push(v);
            }
        }
        self.offset += end as u64;
    }
}

impl GatewayPlayer {
    pub fn new(
        gw: &GatewayUnderTest,
        runtime: tokio::runtime::Runtime,
    ) -> Result<GatewayPlayer, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let pem = gw.certificate()?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots
                .add(cert.map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
        }
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(GatewayPlayer {
            runtime,
            addr: gw.https,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            audit: std::sync::Mutex::new(AuditReader {
                path: gw.data.join("audit.jsonl"),
                offset: 0,
                pending: Vec::new(),
            }),
            markers: Default::default(),
        })
    }

    /// Sends raw bytes; returns the status, the request id and the whole
    /// response, or why nothing usable came back.
    async fn exchange(&self, raw: &[u8]) -> Result<(u16, Option<String>, Vec<u8>), String> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let name =
            rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let mut tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        tls.write_all(raw)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut chunk = [0u8; 16384];
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, tls.read(&mut chunk)).await {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if response_complete(&buf) {
                        break;
                    }
                }
                Ok(Err(e)) => {
                    if buf.is_empty() {
                        return Err(format!("read: {e}"));
                    }
                    break;
                }
            }
        }
        let head_end = find(&buf, b"\r\n\r\n").ok_or_else(|| {
            if buf.is_empty() {
                "the connection closed without a response".to_string()
            } else {
                "an incomplete response".to_string()
            }
        })?;
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or("no status line")?;
        let id = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("x-request-id")
                .then(|| v.trim().to_string())
        });
        Ok((status, id, buf))
    }

    /// Audit lines of `id`, once the marker after it is written.
    fn lines_for(&self, id: &str, marker: &str) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut audit = self.audit.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            audit.poll();
            let seen = audit
                .pending
                .iter()
                .any(|v| v["request_id"].as_str() == Some(marker));
            if seen || Instant::now() >= deadline {
                break;
            }
            drop(audit);
            std::thread::sleep(Duration::from_millis(2));
            audit = self.audit.lock().unwrap_or_else(|e| e.into_inner());
        }
        let mut mine = Vec::new();
        audit.pending.retain(|v| {
            let rid = v["request_id"].as_str();
            if rid == Some(id) {
                mine.push(v.clone());
                false
            } else {
                rid != Some(marker)
            }
        });
        mine
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// True once a whole HTTP/1.1 response is in `buf`.
fn response_complete(buf: &[u8]) -> bool {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let body = &buf[end + 4..];
    if let Some(len) = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
    {
        return body.len() >= len;
    }
    if head.contains("transfer-encoding: chunked") {
        return body.ends_with(b"0\r\n\r\n");
    }
    false
}

impl Player for GatewayPlayer {
    fn play(&self, raw: &[u8]) -> Observed {
        let n = self
            .markers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = self.runtime.block_on(self.exchange(raw));
        let marker_req = format!(
            "GET /rampart-conformance-marker/{n} HTTP/1.1\r\nHost: localhost\r\nX-Rampart-Marker: {n}\r\nConnection: close\r\n\r\n"
        );
        let marker = self.runtime.block_on(self.exchange(marker_req.as_bytes()));
        let Ok((_, Some(marker_id), _)) = marker else {
            return Observed {
                error: Some("the gateway stopped answering".into()),
                ..Observed::default()
            };
        };
        let (status, id, response) = match result {
            Ok(r) => r,
            Err(e) => {
                // Nothing to attribute: drop what was logged up to the marker.
                self.lines_for("", &marker_id);
                return Observed {
                    error: Some(e),
                    ..Observed::default()
                };
            }
        };
        let lines = self.lines_for(id.as_deref().unwrap_or(""), &marker_id);
        let mut rule_ids = Vec::new();
        let mut log = Vec::new();
        for l in &lines {
            let Some(matches) = l["data"]["matches"].as_array() else {
                continue;
            };
            for m in matches {
                let Some(rule) = m["id"].as_u64().and_then(|v| u32::try_from(v).ok()) else {
                    continue;
                };
                rule_ids.push(rule);
                log.push(format_line(
                    rule,
                    m["msg"].as_str().unwrap_or(""),
                    m["data"].as_str().unwrap_or(""),
                    m["severity"].as_u64().and_then(|v| u8::try_from(v).ok()),
                    &[],
                ));
            }
        }
        Observed {
            status: Some(status),
            error: None,
            log,
            rule_ids,
            response,
        }
    }
}
