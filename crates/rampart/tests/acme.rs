//! ACME (RFC 8555) against a real CA: Debian's `pebble`, started by each
//! test on free loopback ports, validating against the real `rampart
//! serve` (HTTP-01 on its plain-HTTP listener, TLS-ALPN-01 on its HTTPS
//! listener) with host names resolved by a small DNS server in the test.
//! Nothing is skipped: PEBBLE_VA_ALWAYS_VALID stays unset.

mod common;

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use http::Request;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::{TcpStream, UdpSocket};

/// How long any one step may take (pebble validates within a second or
/// two; the bound is for a loaded CI machine).
const WAIT: u64 = 60;

/// A DNS server on 127.0.0.1 answering A 127.0.0.1 for `names` (and no
/// records of other types), NXDOMAIN for anything else.
async fn dns_server(names: &[&str]) -> SocketAddr {
    let zone: HashSet<String> = names.iter().map(|n| n.to_string()).collect();
    let socket = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut reply = Message::new();
            reply.set_id(query.id());
            reply.set_message_type(MessageType::Response);
            reply.set_op_code(query.op_code());
            reply.set_recursion_desired(query.recursion_desired());
            reply.set_recursion_available(true);
            reply.set_authoritative(true);
            let mut found = false;
            for q in query.queries() {
                reply.add_query(q.clone());
                let name = q
                    .name()
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                if zone.contains(&name) {
                    found = true;
                    if q.query_type() == RecordType::A {
                        reply.add_answer(Record::from_rdata(
                            q.name().clone(),
                            60,
                            RData::A(A::new(127, 0, 0, 1)),
                        ));
                    }
                }
            }
            if !found {
                reply.set_response_code(ResponseCode::NXDomain);
            }
            if let Ok(bytes) = reply.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running pebble.
struct Pebble {
    child: Child,
    /// `https://127.0.0.1:PORT/dir`
    directory: String,
    management: SocketAddr,
    /// The root of pebble's own HTTPS certificate (made by the test).
    listen_ca: PathBuf,
    log: PathBuf,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The pebble settings of every test.
const PEBBLE_ENV: [(&str, &str); 3] = [
    // No random 0-15 s sleep before each validation.
    ("PEBBLE_VA_NOSLEEP", "1"),
    // Never reject a good nonce (instant-acme retries, but a test should
    // not depend on chance).
    ("PEBBLE_WFE_NONCEREJECT", "0"),
    // Every order is validated anew, renewals included.
    ("PEBBLE_AUTHZREUSE", "0"),
];

impl Pebble {
    /// Starts pebble validating HTTP-01 against `http_port` and
    /// TLS-ALPN-01 against `tls_port` on 127.0.0.1, resolving names with
    /// `dns`; certificates live `validity_secs`.
    async fn start(
        dir: &Path,
        http_port: u16,
        tls_port: u16,
        dns: SocketAddr,
        validity_secs: u64,
    ) -> Pebble {
        let dir = dir.join("pebble");
        std::fs::create_dir_all(&dir).unwrap();
        // Pebble's HTTPS (directory and management) certificate, from a CA
        // of the test's.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "rampart test: pebble listen CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let listen_ca = dir.join("listen-ca.pem");
        std::fs::write(&listen_ca, ca.pem()).unwrap();
        std::fs::write(dir.join("cert.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();

        let acme_port = free_port();
        let management_port = free_port();
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{acme_port}"),
                "managementListenAddress": format!("127.0.0.1:{management_port}"),
                "certificate": dir.join("cert.pem"),
                "privateKey": dir.join("key.pem"),
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
                "certificateValidityPeriod": validity_secs,
            }
        });
        let config_file = dir.join("pebble-config.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let log = dir.join("pebble.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("/usr/bin/pebble")
            .arg("-config")
            .arg(&config_file)
            .arg("-dnsserver")
            .arg(dns.to_string())
            .envs(PEBBLE_ENV)
            .env_remove("PEBBLE_VA_ALWAYS_VALID")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("pebble (Debian package pebble) is needed: apt-get install pebble");
        let pebble = Pebble {
            child,
            directory: format!("https://127.0.0.1:{acme_port}/dir"),
            management: SocketAddr::from(([127, 0, 0, 1], management_port)),
            listen_ca,
            log,
        };
        for port in [acme_port, management_port] {
            let up = eventually(WAIT, || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            })
            .await;
            assert!(up, "pebble did not listen on {port}: {}", pebble.log());
        }
        pebble
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The root pebble issues from, from its management interface.
    async fn issuing_root(&self) -> CertificateDer<'static> {
        let roots = roots_from(&[CertificateDer::from_pem_file(&self.listen_ca).unwrap()]);
        let (tls, _) = verified_tls(self.management, "127.0.0.1", roots, &[b"http/1.1"])
            .await
            .expect("pebble's management interface");
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get("/roots/0")
            .header("host", "127.0.0.1")
            .body(empty())
            .unwrap();
        let resp = send.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let pem = resp.into_body().collect().await.unwrap().to_bytes();
        CertificateDer::from_pem_slice(&pem).unwrap()
    }
}

fn roots_from(certs: &[CertificateDer<'static>]) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c.clone()).unwrap();
    }
    roots
}

/// A TLS connection that checks the server's chain against `roots` and its
/// name against `sni`, as a browser would: the stream and the leaf shown.
async fn verified_tls(
    addr: SocketAddr,
    sni: &str,
    roots: rustls::RootCertStore,
    alpn: &[&[u8]],
) -> Result<
    (
        tokio_rustls::client::TlsStream<TcpStream>,
        CertificateDer<'static>,
    ),
    std::io::Error,
> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let tls = connector.connect(name, tcp).await?;
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    Ok((tls, leaf))
}

fn serial(cert: &CertificateDer<'_>) -> String {
    let (_, c) = x509_parser::parse_x509_certificate(cert.as_ref()).unwrap();
    c.raw_serial_as_string()
}

/// The events of `kind` so far, from the event store
/// (`rampart events query --json`), oldest first.
fn events(data: &Path, kind: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = run(&[
        "events",
        "query",
        "--json",
        "--since",
        "1h",
        "--kind",
        kind,
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "events query: {err}");
    let mut all: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == kind)
        .collect();
    all.sort_by(|a, b| a["time"].as_str().cmp(&b["time"].as_str()));
    all
}

/// Waits (at most WAIT s) for the `n`th event of `kind`; fails early on
/// `tls.acme_failed` unless that is what is awaited.
async fn wait_event(gw: &Rampart, pebble: &Pebble, kind: &str, n: usize) -> serde_json::Value {
    let data = gw.dir.join("data");
    let mut failed = None;
    for _ in 0..WAIT * 4 {
        let got = events(&data, kind);
        if got.len() >= n {
            return got[n - 1].clone();
        }
        if kind != "tls.acme_failed" {
            failed = events(&data, "tls.acme_failed").into_iter().next();
            if failed.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!(
        "no {kind} event (failure: {failed:?})\ngateway: {}\npebble: {}",
        gw.stderr(),
        pebble.log()
    )
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    store: Store,
    pebble: Pebble,
    http: u16,
    https: u16,
}

/// A store, a DNS server that knows `names`, free ports for the gateway and
/// pebble validating against them.
async fn setup(names: &[&str], validity_secs: u64) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let store = Store::start().await;
    let dns = dns_server(names).await;
    let (http, https) = (free_port(), free_port());
    let pebble = Pebble::start(&dir, http, https, dns, validity_secs).await;
    Setup {
        _dir: tmp,
        dir,
        store,
        pebble,
        http,
        https,
    }
}

impl Setup {
    fn config(&self, hosts: &str, acme_extra: &str) -> String {
        format!(
            r#"[server]
http = "127.0.0.1:{http}"
https = "127.0.0.1:{https}"
data_dir = "data"

[[site]]
name = "shop"
hosts = [{hosts}]
upstream = "http://{store}"
tls = {{ acme = {{ directory = "{directory}", email = "ops@shop.example", ca = "{ca}"{acme_extra} }} }}
"#,
            http = self.http,
            https = self.https,
            store = self.store.addr,
            directory = self.pebble.directory,
            ca = self.pebble.listen_ca.display(),
        )
    }

    fn start(&self, config: &str) -> Rampart {
        Rampart::start(&self.dir, config)
    }
}

/// A browser's view: the chain checks out to pebble's issuing root for
/// `name`, and the store answers through it.
async fn browse(
    gw: &Rampart,
    name: &str,
    root: &CertificateDer<'static>,
) -> CertificateDer<'static> {
    let (tls, leaf) = verified_tls(
        gw.https,
        name,
        roots_from(std::slice::from_ref(root)),
        &[b"http/1.1"],
    )
    .await
    .unwrap_or_else(|e| panic!("{name}: the ACME certificate does not verify: {e}"));
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get("/")
        .header("host", name)
        .body(empty())
        .unwrap();
    let resp = collect(send.send_request(req).await.unwrap()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.body()[..], b"hello from the store");
    leaf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http01_issues_a_certificate_the_browser_trusts() {
    let s = setup(&["shop.rampart.test", "www.rampart.test"], 90 * 86_400).await;
    let config = s.config(
        r#""shop.rampart.test", "www.rampart.test", "localhost", "127.0.0.1""#,
        r#", challenge = "http-01""#,
    );
    let gw = s.start(&config);
    let issued = wait_event(&gw, &s.pebble, "tls.acme_issued", 1).await;
    assert_eq!(issued["site"], "shop");
    assert_eq!(
        issued["data"]["names"],
        serde_json::json!(["shop.rampart.test", "www.rampart.test"])
    );
    assert_eq!(
        issued["data"]["not_in_certificate"],
        serde_json::json!(["localhost", "127.0.0.1"])
    );

    let root = s.pebble.issuing_root().await;
    let leaf = browse(&gw, "shop.rampart.test", &root).await;
    assert_eq!(
        serial(&leaf).replace(':', ""),
        issued["data"]["serial"].as_str().unwrap()
    );
    let www = browse(&gw, "www.rampart.test", &root).await;
    assert_eq!(leaf, www, "one certificate for all of the site's names");

    // The challenge is gone: plain HTTP is back to 404 for it, and
    // redirects everything else.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let http = gw.http.unwrap();
    let req = Request::get(format!("http://{http}/.well-known/acme-challenge/x"))
        .header("host", "shop.rampart.test")
        .body(http_body_util::Empty::new())
        .unwrap();
    assert_eq!(client.request(req).await.unwrap().status(), 404);
    let req = Request::get(format!("http://{http}/cart?x=1"))
        .header("host", "shop.rampart.test")
        .body(http_body_util::Empty::new())
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 301);
    assert_eq!(
        resp.headers()["location"],
        format!("https://shop.rampart.test:{}/cart?x=1", s.https).as_str()
    );

    // Keys on disk are private to the gateway's user.
    use std::os::unix::fs::PermissionsExt;
    let acme = s.dir.join("data/acme");
    let mut keys = Vec::new();
    for sub in ["accounts", "certs"] {
        for e in walk(&acme.join(sub)) {
            if e.extension().is_some_and(|x| x == "json") || e.ends_with("key.pem") {
                keys.push(e);
            }
        }
    }
    assert_eq!(keys.len(), 2, "{keys:?}");
    for k in keys {
        let mode = std::fs::metadata(&k).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", k.display());
    }
    assert!(gw.stop().success());
}

/// Replaces a stored certificate with one for `name` that is nine days
/// into a ten-day life; gives its serial as the events write it.
fn age_certificate(cert_file: &Path, key_file: &Path, name: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(9);
    params.not_after = now + time::Duration::days(1);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x4a, 0x9e, 0x01]));
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(cert_file, cert.pem()).unwrap();
    std::fs::write(key_file, key.serialize_pem()).unwrap();
    "4a9e01".to_string()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_issues_a_certificate_the_browser_trusts() {
    let s = setup(&["alpn.rampart.test"], 90 * 86_400).await;
    // No plain-HTTP listener is needed for TLS-ALPN-01.
    let config = s
        .config(r#""alpn.rampart.test""#, r#", challenge = "tls-alpn-01""#)
        .replace(&format!("http = \"127.0.0.1:{}\"\n", s.http), "");
    let gw = s.start(&config);
    assert!(gw.http.is_none());
    let issued = wait_event(&gw, &s.pebble, "tls.acme_issued", 1).await;
    assert_eq!(
        issued["data"]["names"],
        serde_json::json!(["alpn.rampart.test"])
    );
    let root = s.pebble.issuing_root().await;
    browse(&gw, "alpn.rampart.test", &root).await;

    // With no challenge pending, acme-tls/1 is not negotiated.
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
    cfg.alpn_protocols = vec![b"acme-tls/1".to_vec()];
    let tcp = TcpStream::connect(gw.https).await.unwrap();
    let name = ServerName::try_from("alpn.rampart.test".to_string()).unwrap();
    let r = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(name, tcp)
        .await;
    assert!(r.is_err(), "acme-tls/1 without a pending challenge");
    assert!(gw.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_inside_its_renewal_window_is_renewed() {
    // Ten-day certificates: by default renewed 3⅓ days before expiry.
    let s = setup(&["renew.rampart.test"], 10 * 86_400).await;
    let hosts = r#""renew.rampart.test""#;
    let gw = s.start(&s.config(hosts, ""));
    let issued = wait_event(&gw, &s.pebble, "tls.acme_issued", 1).await;
    let root = s.pebble.issuing_root().await;
    let first = browse(&gw, "renew.rampart.test", &root).await;
    assert_eq!(
        serial(&first).replace(':', ""),
        issued["data"]["serial"].as_str().unwrap()
    );
    assert!(gw.stop().success());
    let account: Vec<PathBuf> = walk(&s.dir.join("data/acme/accounts"));
    assert_eq!(account.len(), 1);
    let account_before = std::fs::read(&account[0]).unwrap();

    // Started again with the stored certificate: it is fresh, nothing is
    // ordered.
    let gw = s.start(&s.config(hosts, ""));
    let served = browse(&gw, "renew.rampart.test", &root).await;
    assert_eq!(
        served, first,
        "the stored certificate is served after a restart"
    );
    assert!(gw.stop().success());

    // Nine days later, one day left: the stored certificate is aged in
    // place (one the test makes for the same name, valid from nine days
    // ago until tomorrow), and it is inside the default window of 3⅓
    // days. It is renewed at start, and the new one served.
    let stored: Vec<PathBuf> = walk(&s.dir.join("data/acme/certs"));
    let cert_file = stored.iter().find(|p| p.ends_with("cert.pem")).unwrap();
    let key_file = stored.iter().find(|p| p.ends_with("key.pem")).unwrap();
    let aged_serial = age_certificate(cert_file, key_file, "renew.rampart.test");
    let gw = s.start(&s.config(hosts, ""));
    let renewed = wait_event(&gw, &s.pebble, "tls.acme_renewed", 1).await;
    assert_eq!(renewed["data"]["previous_serial"], aged_serial.as_str());
    let second = browse(&gw, "renew.rampart.test", &root).await;
    assert_ne!(serial(&second), serial(&first), "a new certificate");
    assert_eq!(
        serial(&second).replace(':', ""),
        renewed["data"]["serial"].as_str().unwrap()
    );
    let data = s.dir.join("data");
    assert_eq!(events(&data, "tls.acme_issued").len(), 1, "issued once");
    assert!(events(&data, "tls.acme_failed").is_empty());
    assert_eq!(
        std::fs::read(&account[0]).unwrap(),
        account_before,
        "the account is reused"
    );
    assert!(gw.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_validation_is_an_event_and_the_temporary_certificate_stays() {
    // The DNS server does not know the site's name: pebble cannot reach
    // the gateway and the order fails.
    let s = setup(&["other.rampart.test"], 90 * 86_400).await;
    let gw = s.start(&s.config(r#""unknown.rampart.test", "localhost""#, ""));
    let failed = wait_event(&gw, &s.pebble, "tls.acme_failed", 1).await;
    assert_eq!(failed["site"], "shop");
    assert_eq!(failed["severity"], "error");
    let why = failed["data"]["error"].as_str().unwrap();
    assert!(why.contains("unknown.rampart.test"), "{why}");
    assert!(failed["data"]["retry_in_seconds"].as_u64().unwrap() >= 60);
    assert!(events(&gw.dir.join("data"), "tls.acme_issued").is_empty());

    // The listener keeps serving, with the temporary self-signed
    // certificate.
    let temporary = self_signed_cert(&gw.dir.join("data"), "shop");
    let (_, shown, _) = tls_connect(gw.https, "unknown.rampart.test", &[b"http/1.1"]).await;
    assert_eq!(shown, temporary);
    let resp = get(gw.https, "unknown.rampart.test", "/").await;
    assert_eq!(resp.status(), 200);
    assert!(gw.stop().success());
}

/// The ACME settings are checked like every other key.
#[test]
fn bad_acme_settings_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let base = r#"[server]
http = "127.0.0.1:0"
https = "127.0.0.1:0"
data_dir = "data"

[[site]]
hosts = ["shop.example", "localhost"]
upstream = "http://127.0.0.1:3000"
tls = { acme = { directory = "https://ca.example/dir", email = "ops@shop.example"EXTRA } }
"#;
    let cases = [
        (", renew_days = 0", "renew_days"),
        (", ca = \"missing.pem\"", "missing.pem"),
        (", contact = \"x\"", "contact"),
    ];
    for (extra, needle) in cases {
        let f = dir.path().join("rampart.toml");
        std::fs::write(&f, base.replace("EXTRA", extra)).unwrap();
        let (code, out, err) = run(&["config", "check", f.to_str().unwrap()]);
        assert_eq!(code, 2, "{extra}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{extra}: want {needle:?} in {err}");
    }
    let f = dir.path().join("rampart.toml");
    std::fs::write(&f, base.replace("EXTRA", "")).unwrap();
    let (code, out, err) = run(&["config", "check", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
}
