//! The stage pipeline through real sockets: example stages block on the
//! request head, on a request-body marker, and rewrite a response body; a
//! store records what it received, so a blocked request provably never
//! reached it; the audit log gets the contract fields.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use gateway::{
    BodyInspection, BufferedBody, Config, Decision, Gateway, OverLimit, Pipeline, RequestContext,
    Stage,
};
use http::{request, response, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ops::Action;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Blocks a request whose query has `attack` (request-head phase).
struct QueryBlock;

impl Stage for QueryBlock {
    fn name(&self) -> &'static str {
        "query-block"
    }
    fn request_headers(&self, ctx: &mut RequestContext, req: &mut request::Parts) -> Decision<'_> {
        req.headers.insert("x-seen-by-stage", "1".parse().unwrap());
        if req.uri.query().is_some_and(|q| q.contains("attack")) {
            ctx.findings.rules.push(990_001);
            ctx.findings.anomaly_score = Some(5);
            ctx.findings.message = "attack in query".into();
            return Decision::Respond(forbidden());
        }
        Decision::Continue
    }
}

/// Blocks a request body containing `EVIL`, looking at the first 64 KiB.
struct BodyMarkerBlock;

impl Stage for BodyMarkerBlock {
    fn name(&self) -> &'static str {
        "body-marker"
    }
    fn request_body_inspection(&self, _: &RequestContext, req: &request::Parts) -> BodyInspection {
        if req.uri.path() == "/strict" {
            BodyInspection::Buffer {
                limit: 1000,
                over_limit: OverLimit::Reject,
            }
        } else {
            BodyInspection::Buffer {
                limit: 64 * 1024,
                over_limit: OverLimit::InspectPrefix,
            }
        }
    }
    fn request_body(
        &self,
        ctx: &mut RequestContext,
        _: &mut request::Parts,
        body: &mut BufferedBody,
    ) -> Decision<'_> {
        if body.bytes.windows(4).any(|w| w == b"EVIL") {
            ctx.findings.rules.extend([990_002, 990_003]);
            ctx.findings.anomaly_score = Some(10);
            return Decision::Respond(forbidden());
        }
        Decision::Continue
    }
}

/// Masks a card number in HTML responses and records it (detection).
struct CardMask;

impl Stage for CardMask {
    fn name(&self) -> &'static str {
        "card-mask"
    }
    fn response_body_inspection(
        &self,
        _: &RequestContext,
        resp: &response::Parts,
    ) -> BodyInspection {
        let html = resp
            .headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        if html {
            BodyInspection::Buffer {
                limit: 1 << 20,
                over_limit: OverLimit::InspectPrefix,
            }
        } else {
            BodyInspection::Skip
        }
    }
    fn response_body(
        &self,
        ctx: &mut RequestContext,
        _: &mut response::Parts,
        body: &mut BufferedBody,
    ) -> Decision<'_> {
        let text = String::from_utf8_lossy(&body.bytes);
        if text.contains("4111111111111111") {
            body.bytes = Bytes::from(text.replace("4111111111111111", "************1111"));
            ctx.findings.rules.push(990_100);
            ctx.findings.action = Some(Action::Detect);
        }
        Decision::Continue
    }
}

/// Asks a verdict service over TCP about every `/remote` path: the stage
/// awaits real I/O through `Decision::wait` and writes to the context and
/// the request head from inside the future.
struct RemoteVerdict(SocketAddr);

impl Stage for RemoteVerdict {
    fn name(&self) -> &'static str {
        "remote-verdict"
    }
    fn request_headers<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
    ) -> Decision<'a> {
        if !req.uri.path().starts_with("/remote") {
            return Decision::Continue;
        }
        Decision::wait(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut tcp = tokio::net::TcpStream::connect(self.0).await.unwrap();
            tcp.write_all(req.uri.path().as_bytes()).await.unwrap();
            tcp.shutdown().await.unwrap();
            let mut answer = String::new();
            tcp.read_to_string(&mut answer).await.unwrap();
            if answer == "deny" {
                ctx.findings.rules.push(990_200);
                ctx.findings.message = "remote verdict".into();
                return Decision::Respond(forbidden());
            }
            req.headers.insert("x-verdict", answer.parse().unwrap());
            Decision::Continue
        })
    }
}

/// Answers `deny` for paths containing `bad`, else `ok`.
async fn verdict_service() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut path = String::new();
                tcp.read_to_string(&mut path).await.unwrap();
                // A little latency, so the stage really is suspended.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let answer = if path.contains("bad") { "deny" } else { "ok" };
                tcp.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    addr
}

fn forbidden() -> Response<Bytes> {
    let mut r = Response::new(Bytes::from_static(b"blocked by policy"));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

type Seen = Arc<Mutex<Vec<(String, Bytes, http::HeaderMap)>>>;

/// A store that records each request and answers with an HTML page that
/// quotes a card number on `/card`, else echoes the body.
async fn store() -> (SocketAddr, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let rec = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let rec = rec.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let rec = rec.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        rec.lock().unwrap().push((
                            parts.uri.to_string(),
                            body.clone(),
                            parts.headers,
                        ));
                        let mut resp = if parts.uri.path() == "/card" {
                            let mut r = Response::new(Full::new(Bytes::from_static(
                                b"<p>Your card 4111111111111111 was charged</p>",
                            )));
                            r.headers_mut()
                                .insert("content-type", "text/html".parse().unwrap());
                            r
                        } else {
                            Response::new(Full::new(body))
                        };
                        resp.headers_mut().insert("x-store", "1".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn send(addr: SocketAddr, method: &str, path: &str, body: Bytes) -> Response<Bytes> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header(
            "x-request-id",
            format!("test-{}", path.replace(['/', '?', '='], "-")),
        )
        .body(Full::new(body))
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
}

async fn start(data: &Path, store: SocketAddr, verdict: SocketAddr) -> Gateway {
    let text = format!(
        "[server]\nhttps = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n[[site]]\nname = \"shop\"\nhosts = [\"localhost\"]\nupstream = \"http://{store}\"\ntls = {{ self_signed = true }}\n",
        data.display()
    );
    let config = Config::parse(&text, "test.toml", Path::new("/")).unwrap();
    let stages: Vec<Arc<dyn Stage>> = vec![
        Arc::new(QueryBlock),
        Arc::new(BodyMarkerBlock),
        Arc::new(CardMask),
        Arc::new(RemoteVerdict(verdict)),
    ];
    Gateway::start(config, Pipeline::new(stages).fixed())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_blocked_post_never_reaches_the_store() {
    let (store_addr, seen) = store().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gw = start(&data, store_addr, verdict_service().await).await;
    let addr = gw.addresses().await.https;

    // Body marker: blocked, nothing forwarded.
    let r = send(
        addr,
        "POST",
        "/checkout",
        Bytes::from_static(b"card=1&note=EVIL"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.body(), "blocked by policy");
    assert!(
        r.headers().contains_key("strict-transport-security"),
        "stage answers get security headers"
    );
    assert_eq!(r.headers()["x-request-id"], "test--checkout");
    assert!(
        seen.lock().unwrap().is_empty(),
        "the store saw {:?}",
        seen.lock().unwrap()
    );

    // Head phase: blocked before any body is read.
    let r = send(addr, "GET", "/search?q=attack", Bytes::new()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(seen.lock().unwrap().is_empty());

    // Over the Reject limit: 413, not forwarded.
    let r = send(addr, "POST", "/strict", Bytes::from(vec![b'a'; 5000])).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(seen.lock().unwrap().is_empty());

    // A clean body passes intact, with the head rewrite of phase 1.
    let r = send(
        addr,
        "POST",
        "/checkout",
        Bytes::from_static(b"card=1&note=fine"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.body(), "card=1&note=fine");
    // Past the inspection limit the rest streams untouched: a marker late
    // in a large body is not seen, and the store gets every byte.
    let mut large = vec![b'x'; 200_000];
    large[150_000..150_004].copy_from_slice(b"EVIL");
    let r = send(addr, "POST", "/upload", Bytes::from(large.clone())).await;
    assert_eq!(r.status(), 200);
    assert!(r.body()[..] == large[..]);
    // A marker at the start of a large body is.
    large[10..14].copy_from_slice(b"EVIL");
    let r = send(addr, "POST", "/upload", Bytes::from(large.clone())).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Response body rewrite: masked, length fixed.
    let r = send(addr, "GET", "/card", Bytes::new()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.body(), "<p>Your card ************1111 was charged</p>");
    assert_eq!(
        r.headers()["content-length"],
        r.body().len().to_string().as_str()
    );
    assert_eq!(r.headers()["x-store"], "1");

    // A stage that awaits a remote service: a denial stops the request,
    // an answer it wrote into the head reaches the store.
    let r = send(addr, "GET", "/remote/bad", Bytes::new()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(addr, "GET", "/remote/good", Bytes::new()).await;
    assert_eq!(r.status(), 200);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[3].0, "/remote/good");
    assert_eq!(seen[3].2["x-verdict"], "ok");
    assert_eq!(seen[0].0, "/checkout");
    assert_eq!(seen[0].1, "card=1&note=fine");
    assert_eq!(seen[0].2["x-seen-by-stage"], "1");
    assert_eq!(seen[1].1.len(), 200_000);

    gw.shutdown().await;
    audit_lines_follow_the_contract(&data);
}

fn audit_lines_follow_the_contract(data: &Path) {
    let text = std::fs::read_to_string(data.join("audit.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Four blocks (body, query, 413, late-body), one detection, one remote
    // denial.
    assert_eq!(lines.len(), 6, "{text}");
    for v in &lines {
        for field in [
            "time",
            "request_id",
            "client_ip",
            "method",
            "uri",
            "status",
            "action",
            "rules",
            "anomaly_score",
        ] {
            assert!(!v[field].is_null(), "{field} missing in {v}");
        }
        assert!(v["time"].as_str().unwrap().contains('T'));
        assert_eq!(v["client_ip"], "127.0.0.1");
    }
    let first = &lines[0];
    assert_eq!(first["request_id"], "test--checkout");
    assert_eq!(first["method"], "POST");
    assert_eq!(first["uri"], "/checkout");
    assert_eq!(first["status"], 403);
    assert_eq!(first["action"], "block");
    assert_eq!(first["rules"], serde_json::json!([990_002, 990_003]));
    assert_eq!(first["anomaly_score"], 10);
    let query = &lines[1];
    assert_eq!(query["uri"], "/search?q=attack");
    assert_eq!(query["rules"], serde_json::json!([990_001]));
    assert_eq!(lines[2]["status"], 413);
    assert_eq!(lines[2]["rules"], serde_json::json!([]));
    let detect = &lines[4];
    assert_eq!(detect["action"], "detect");
    assert_eq!(detect["status"], 200);
    assert_eq!(detect["rules"], serde_json::json!([990_100]));
    assert_eq!(lines[5]["uri"], "/remote/bad");
    assert_eq!(lines[5]["rules"], serde_json::json!([990_200]));
}
