//! Test support: the real `rampart` binary, a recording store, and a TLS
//! client that reports which certificate it was shown.
#![allow(dead_code)]

pub mod chromium;
pub mod pan_scan;
pub mod shop;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};

pub const BIN: &str = env!("CARGO_BIN_EXE_rampart");

/// A running `rampart serve`.
pub struct Rampart {
    pub child: Child,
    pub https: SocketAddr,
    pub http: Option<SocketAddr>,
    pub admin: Option<SocketAddr>,
    /// The outbound proxy, when `[vault.outbound]` runs one.
    pub outbound: Option<SocketAddr>,
    /// The detokenization API, when `[vault.api]` runs it.
    pub api: Option<SocketAddr>,
    pub dir: PathBuf,
}

impl Rampart {
    /// Writes `config` to `dir/rampart.toml` and starts `rampart serve`
    /// on it; returns once it printed its listening line.
    pub fn start(dir: &Path, config: &str) -> Rampart {
        let file = dir.join("rampart.toml");
        std::fs::write(&file, config).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let err = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                panic!("rampart did not start: {err}");
            }
        };
        let field = |name: &str| -> Option<SocketAddr> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
        };
        Rampart {
            https: field("https").unwrap_or_else(|| panic!("bad ready line {line:?}")),
            http: field("http"),
            admin: field("admin"),
            outbound: field("outbound"),
            api: field("api"),
            child,
            dir: dir.to_path_buf(),
        }
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("rampart did not stop within 10 s of SIGTERM");
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for Rampart {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `rampart ARGS` to completion: (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A minimal configuration: one site named `shop` for `localhost` and
/// `127.0.0.1`, self-signed, every listener on an ephemeral port.
pub fn config(upstream: SocketAddr, extra_site: &str) -> String {
    format!(
        r#"[server]
http = "127.0.0.1:0"
https = "127.0.0.1:0"
admin = "127.0.0.1:0"
data_dir = "data"

[[site]]
name = "shop"
hosts = ["localhost", "127.0.0.1"]
upstream = "http://{upstream}"
tls = {{ self_signed = true }}
{extra_site}
"#
    )
}

/// What the store received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// A store for tests: records every request and answers by path:
/// `/echo` echoes the body, `/big?N` streams N pattern bytes in chunks,
/// `/slow` answers after 3 s, `/not-found…` answers 404, `/own-headers` sets its own security
/// headers, anything else says "hello from the store".
pub struct Store {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
}

pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

impl Store {
    pub async fn start() -> Store {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let rec = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    break;
                };
                let rec = rec.clone();
                tokio::spawn(async move {
                    let svc =
                        service_fn(move |req: Request<Incoming>| store_answer(rec.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Store { addr, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

type StoreBody = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

async fn store_answer(
    rec: Arc<Mutex<Vec<Received>>>,
    req: Request<Incoming>,
) -> Result<Response<StoreBody>, std::convert::Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    rec.lock().unwrap().push(Received {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let full = |b: Bytes| Full::new(b).boxed();
    let resp = match parts.uri.path() {
        "/echo" => Response::new(full(body)),
        "/big" => {
            let n: usize = parts
                .uri
                .query()
                .and_then(|q| q.parse().ok())
                .unwrap_or(1000);
            let data = Bytes::from(pattern(n));
            let chunks: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = (0..n)
                .step_by(65_536)
                .map(|i| Ok(http_body::Frame::data(data.slice(i..(i + 65_536).min(n)))))
                .collect();
            let stream = futures_util::stream::iter(chunks);
            Response::new(http_body_util::StreamBody::new(stream).boxed())
        }
        p if p.starts_with("/not-found") => {
            let mut r = Response::new(full(Bytes::from_static(b"no such page")));
            *r.status_mut() = http::StatusCode::NOT_FOUND;
            r
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Response::new(full(Bytes::from_static(b"late")))
        }
        "/own-headers" => {
            let mut r = Response::new(full(Bytes::from_static(b"own")));
            let h = r.headers_mut();
            h.insert("referrer-policy", "no-referrer".parse().unwrap());
            h.insert("strict-transport-security", "max-age=60".parse().unwrap());
            h.insert(
                "content-security-policy",
                "default-src 'self'".parse().unwrap(),
            );
            r
        }
        _ => {
            let mut r = Response::new(full(Bytes::from_static(b"hello from the store")));
            r.headers_mut()
                .insert("connection", "x-store-private".parse().unwrap());
            r.headers_mut()
                .insert("x-store-private", "1".parse().unwrap());
            r
        }
    };
    Ok(resp)
}

/// Accepts any certificate and remembers the one it was shown.
#[derive(Debug)]
pub struct AnyCert {
    pub seen: Mutex<Option<CertificateDer<'static>>>,
    pub provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.seen.lock().unwrap() = Some(end_entity.clone().into_owned());
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS connection to the gateway: the stream, the certificate shown, the
/// ALPN protocol chosen.
pub async fn tls_connect(
    addr: SocketAddr,
    sni: &str,
    alpn: &[&[u8]],
) -> (
    tokio_rustls::client::TlsStream<TcpStream>,
    CertificateDer<'static>,
    Option<Vec<u8>>,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCert {
        seen: Mutex::new(None),
        provider: provider.clone(),
    });
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let tls = connector.connect(name, tcp).await.expect("TLS handshake");
    let alpn = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
    let cert = verifier.seen.lock().unwrap().clone().unwrap();
    (tls, cert, alpn)
}

/// An HTTP/1.1 client over one TLS connection.
pub async fn h1_client(
    addr: SocketAddr,
    sni: &str,
) -> hyper::client::conn::http1::SendRequest<StoreBody> {
    let (tls, _, _) = tls_connect(addr, sni, &[b"http/1.1"]).await;
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    send
}

/// An HTTP/2 client over one TLS connection (ALPN h2).
pub async fn h2_client(
    addr: SocketAddr,
    sni: &str,
) -> hyper::client::conn::http2::SendRequest<StoreBody> {
    let (tls, _, alpn) = tls_connect(addr, sni, &[b"h2"]).await;
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN must pick h2");
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    send
}

pub fn body(b: impl Into<Bytes>) -> StoreBody {
    Full::new(b.into()).boxed()
}

pub fn empty() -> StoreBody {
    body(Bytes::new())
}

/// Sends one request on a fresh HTTP/1.1 TLS connection and collects the
/// response.
pub async fn get(addr: SocketAddr, host: &str, path: &str) -> Response<Bytes> {
    let mut c = h1_client(addr, host).await;
    let req = Request::get(path)
        .header("host", host)
        .body(empty())
        .unwrap();
    collect(c.send_request(req).await.unwrap()).await
}

pub async fn collect(resp: Response<Incoming>) -> Response<Bytes> {
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Response::from_parts(parts, bytes)
}

/// The self-signed certificate (DER) Rampart made for site `name`.
pub fn self_signed_cert(data_dir: &Path, name: &str) -> CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject;
    let dir = data_dir.join("tls");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let f = p.file_name().unwrap().to_string_lossy();
            f.starts_with(&format!("self-signed-{name}-")) && f.ends_with(".crt")
        })
        .unwrap_or_else(|| panic!("no self-signed certificate for {name} in {}", dir.display()));
    CertificateDer::from_pem_file(file).unwrap()
}

/// Makes a certificate and key for `host` with the openssl command.
pub fn openssl_cert(dir: &Path, stem: &str, host: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            &format!("/CN={host}"),
            "-addext",
            &format!("subjectAltName=DNS:{host}"),
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the openssl command is needed for this test");
    assert!(status.success());
    (cert, key)
}

/// Waits until `f` returns true, at most `secs` seconds.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 20 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// A TLS connection (HTTP/1.1) to the gateway from source address `src`
/// (any of 127.0.0.0/8 plays a different client); `Err` when the gateway
/// drops the connection or the handshake fails.
pub async fn tls_connect_from(
    addr: SocketAddr,
    src: std::net::IpAddr,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCert {
        seen: Mutex::new(None),
        provider: provider.clone(),
    });
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(src, 0))?;
    let tcp = tokio::time::timeout(Duration::from_secs(5), socket.connect(addr))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let name = ServerName::try_from("localhost".to_string()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// One request from source address `src` on a fresh connection: `Err`
/// when the gateway refused the connection.
pub async fn request_from(
    addr: SocketAddr,
    src: std::net::IpAddr,
    req: Request<StoreBody>,
) -> std::io::Result<Response<Bytes>> {
    let tls = tls_connect_from(addr, src).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let resp = tokio::time::timeout(Duration::from_secs(20), send.send_request(req))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
        .map_err(std::io::Error::other)?;
    let (parts, body) = resp.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok(Response::from_parts(parts, bytes))
}

/// `GET path` from `src`.
pub async fn get_from(addr: SocketAddr, src: &str, path: &str) -> std::io::Result<Response<Bytes>> {
    let req = Request::get(path)
        .header("host", "localhost")
        .body(empty())
        .unwrap();
    request_from(addr, src.parse().unwrap(), req).await
}

/// `application/x-www-form-urlencoded` for `fields` (RFC 3986 unreserved kept).
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------
// TOTP, independently of Rampart.

pub fn base32_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u64, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32 secret") as u64;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

/// The 6-digit code of `secret` at `offset` steps from now.
pub fn totp(secret: &str, offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let step = (now / 30 + offset) as u64;
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        &base32_decode(secret),
    );
    let tag = ring::hmac::sign(&key, &step.to_be_bytes());
    let h = tag.as_ref();
    let i = (h[19] & 0x0f) as usize;
    let n = u32::from_be_bytes([h[i] & 0x7f, h[i + 1], h[i + 2], h[i + 3]]) % 1_000_000;
    format!("{n:06}")
}
