//! Card data through the real gateway: checkout card numbers become
//! tokens before the store sees them (urlencoded, multipart, JSON, by name
//! and by shape), the vault gives them back, what cannot be tokenized is
//! refused, and card numbers in the store's responses are masked or
//! withheld.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::pan_scan::scan_dir;
use common::{body, collect, h1_client, run, Rampart};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const VISA: &str = "4111111111111111";
const MASTERCARD: &str = "5555555555554444";
const VISA_2: &str = "4012888888881881";

fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, d) in digits.bytes().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

/// A token for `pan`: as long, same BIN and last four, fails Luhn.
fn assert_token_for(value: &str, pan: &str) {
    assert_eq!(value.len(), pan.len(), "{value:?}");
    assert!(value.bytes().all(|b| b.is_ascii_digit()), "{value:?}");
    assert_ne!(value, pan);
    assert_eq!(&value[..6], &pan[..6], "BIN kept");
    assert_eq!(
        &value[value.len() - 4..],
        &pan[pan.len() - 4..],
        "last four kept"
    );
    assert!(!luhn_ok(value), "a token fails the Luhn check: {value}");
}

#[derive(Clone, Debug)]
struct Got {
    path: String,
    headers: http::HeaderMap,
    body: Bytes,
}

/// A store that records requests and answers by path: `/leak` is a page
/// with a card number, `/leak.gz` the same gzip-encoded, `/leak.br` one
/// claiming brotli, `/leak-big` a 3 MiB page with a card number at the
/// start, `/clean` a page without one; anything else says "ok".
async fn store() -> (SocketAddr, Arc<Mutex<Vec<Got>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let rec = got.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let rec = rec.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let rec = rec.clone();
                    async move {
                        let (parts, b) = req.into_parts();
                        let b = b.collect().await.unwrap().to_bytes();
                        rec.lock().unwrap().push(Got {
                            path: parts.uri.path().to_string(),
                            headers: parts.headers.clone(),
                            body: b,
                        });
                        Ok::<_, std::convert::Infallible>(answer(parts.uri.path()))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (addr, got)
}

const LEAK_PAGE: &str =
    "<html><body><p>Order 1042 paid with 4111 1111 1111 1111, ref 99</p></body></html>";

fn answer(path: &str) -> Response<Full<Bytes>> {
    let html = |b: Vec<u8>| {
        let mut r = Response::new(Full::new(Bytes::from(b)));
        r.headers_mut()
            .insert("content-type", "text/html; charset=utf-8".parse().unwrap());
        r
    };
    match path {
        "/leak" => html(LEAK_PAGE.as_bytes().to_vec()),
        "/leak.gz" => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(LEAK_PAGE.as_bytes()).unwrap();
            let mut r = html(gz.finish().unwrap());
            r.headers_mut()
                .insert("content-encoding", "gzip".parse().unwrap());
            r
        }
        "/leak.br" => {
            let mut r = html(b"\x1b\x00\x00 pretend brotli".to_vec());
            r.headers_mut()
                .insert("content-encoding", "br".parse().unwrap());
            r
        }
        "/leak-big" => {
            let mut b = LEAK_PAGE.as_bytes().to_vec();
            b.resize(3 << 20, b'.');
            html(b)
        }
        "/clean" => html(b"<p>Order 1042 paid with card ending 1111</p>".to_vec()),
        _ => Response::new(Full::new(Bytes::from_static(b"ok"))),
    }
}

async fn post(
    gw: SocketAddr,
    path: &str,
    content_type: &str,
    payload: impl Into<Bytes>,
) -> Response<Bytes> {
    let mut c = h1_client(gw, "localhost").await;
    let req = Request::post(path)
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(body(payload.into()))
        .unwrap();
    collect(c.send_request(req).await.unwrap()).await
}

async fn get_with(gw: SocketAddr, host: &str, path: &str, accept: &str) -> Response<Bytes> {
    let mut c = h1_client(gw, host).await;
    let req = Request::get(path)
        .header("host", host)
        .header("accept-encoding", accept)
        .body(common::empty())
        .unwrap();
    collect(c.send_request(req).await.unwrap()).await
}

fn last(got: &Arc<Mutex<Vec<Got>>>, path: &str) -> Got {
    got.lock()
        .unwrap()
        .iter()
        .rev()
        .find(|g| g.path == path)
        .cloned()
        .unwrap_or_else(|| panic!("the store got nothing on {path}"))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields.iter().find(|(k, _)| k == name).unwrap().1
}

fn events(dir: &Path, kind: &str) -> Vec<serde_json::Value> {
    let data = dir.join("data");
    let (code, out, err) = run(&[
        "events",
        "query",
        "--kind",
        kind,
        "--json",
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The events of `kind`, once there are at least `at_least` of them
/// (they are written by a background task) or after ten seconds.
async fn eventually_events(dir: &Path, kind: &str, at_least: usize) -> Vec<serde_json::Value> {
    let mut e = Vec::new();
    for _ in 0..50 {
        e = events(dir, kind);
        if e.len() >= at_least {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    e
}

fn keygen(dir: &Path) -> String {
    let keys = dir.join("vault.keys");
    let (code, _, err) = run(&["vault", "keygen", keys.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    keys.display().to_string()
}

fn gateway_config(store: SocketAddr, keys: &str) -> String {
    format!(
        r#"[server]
https = "127.0.0.1:0"
data_dir = "data"

[vault]
key_file = "{keys}"

[[site]]
name = "shop"
hosts = ["localhost", "127.0.0.1"]
upstream = "http://{store}"
tls = {{ self_signed = true }}
platform = "demo"

[[site.cards.checkout]]
method = "POST"
path = "/api/pay"
card_fields = ["payment.card.number", "payment.card.cvc", "payment.card.exp", "payment.card.holder"]
"#
    )
}

fn detokenize(dir: &Path, keys: &str, token: &str) -> String {
    let data = dir.join("data");
    let (code, out, err) = run(&[
        "vault",
        "detokenize",
        "--data",
        data.to_str().unwrap(),
        "--key-file",
        keys,
        token,
    ]);
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_card_numbers_become_tokens_before_the_store_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path());
    let (store_addr, got) = store().await;
    let gw = Rampart::start(dir.path(), &gateway_config(store_addr, &keys));

    // The demo preset's checkout form.
    let sent = format!(
        "csrf_token=abc&card_name=Ada+Lovelace&card_number={}&card_exp=12%2F30&card_cvc=123&gift_note={VISA_2}&note=two+words",
        "4111+1111+1111+1111"
    );
    let r = post(
        gw.https,
        "/checkout",
        "application/x-www-form-urlencoded",
        sent.clone(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen = last(&got, "/checkout");
    let fields = form(&seen.body);
    let token = field(&fields, "card_number").to_string();
    assert_token_for(&token, VISA);
    assert_eq!(
        field(&fields, "card_cvc"),
        "000",
        "the code never reaches the store"
    );
    assert_eq!(field(&fields, "card_exp"), "12/30");
    assert_eq!(field(&fields, "card_name"), "Ada Lovelace");
    // A card number in a field the preset does not name, found by shape.
    assert_token_for(field(&fields, "gift_note"), VISA_2);
    // Every other byte as sent.
    let text = String::from_utf8(seen.body.to_vec()).unwrap();
    assert!(text.starts_with("csrf_token=abc&card_name=Ada+Lovelace&card_number="));
    assert!(text.ends_with("&note=two+words"));
    assert_eq!(
        seen.headers["content-length"],
        seen.body.len().to_string().as_str()
    );
    // The vault gives the card back.
    assert_eq!(
        detokenize(dir.path(), &keys, &token),
        format!("{VISA}|12/30|Ada Lovelace")
    );

    // JSON on a route of the site's own: byte-exact apart from the values.
    let json = format!(
        "{{ \"order\": 7, \"payment\": {{\"card\": {{\"holder\": \"Grace\", \"number\": \"{MASTERCARD}\", \"exp\": \"01/31\", \"cvc\": \"4321\"}}}}, \"z\": [1, 2] }}"
    );
    let r = post(gw.https, "/api/pay", "application/json", json.clone()).await;
    assert_eq!(r.status(), 200);
    let seen = String::from_utf8(last(&got, "/api/pay").body.to_vec()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&seen).unwrap();
    let token2 = v["payment"]["card"]["number"].as_str().unwrap().to_string();
    assert_token_for(&token2, MASTERCARD);
    assert_eq!(v["payment"]["card"]["cvc"], "0000");
    assert_eq!(
        seen,
        json.replace(MASTERCARD, &token2)
            .replace("\"4321\"", "\"0000\"")
    );
    assert_eq!(
        detokenize(dir.path(), &keys, &token2),
        format!("{MASTERCARD}|01/31|Grace")
    );

    // Multipart on the checkout.
    let mp = format!(
        "--B0und\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n{VISA}\r\n--B0und\r\nContent-Disposition: form-data; name=\"card_cvc\"\r\n\r\n999\r\n--B0und--\r\n"
    );
    let r = post(
        gw.https,
        "/checkout",
        "multipart/form-data; boundary=B0und",
        mp,
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen = String::from_utf8(last(&got, "/checkout").body.to_vec()).unwrap();
    assert!(!seen.contains(VISA) && !seen.contains("999"), "{seen}");
    let t3 = seen
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .split("\r\n")
        .next()
        .unwrap();
    assert_token_for(t3, VISA);

    // What cannot be read safely is refused and never reaches the store.
    let before = got.lock().unwrap().len();
    let r = post(
        gw.https,
        "/api/pay",
        "application/json",
        format!("{{\"payment\": {{\"card\": {{\"number\": \"{VISA}\""),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = post(gw.https, "/checkout", "text/plain", format!("card {VISA}")).await;
    assert_eq!(r.status(), 400);
    let r = post(
        gw.https,
        "/checkout",
        "multipart/form-data; boundary=B0und",
        format!("--B0und\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n{VISA}"),
    )
    .await;
    assert_eq!(r.status(), 400);
    let r = post(gw.https, "/checkout", "text/plain", "no card here").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        got.lock().unwrap().len(),
        before + 1,
        "only the clean body went through"
    );
    assert_eq!(
        eventually_events(dir.path(), "cards.refused", 3)
            .await
            .len(),
        3
    );

    let tokenized = eventually_events(dir.path(), "cards.tokenized", 3).await;
    assert!(tokenized.len() >= 3, "{tokenized:?}");
    assert!(tokenized.iter().any(|e| e["data"]["cvv_held"] == true));

    // Outside checkout routes nothing is rewritten (leak prevention is the
    // guard there).
    let r = post(
        gw.https,
        "/contact",
        "application/x-www-form-urlencoded",
        "msg=hello",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(&last(&got, "/contact").body[..], b"msg=hello");

    drop(gw);
    // No card number in any form anywhere under the data directory.
    let pans = [VISA.to_string(), MASTERCARD.to_string(), VISA_2.to_string()];
    assert!(scan_dir(&dir.path().join("data"), &pans) >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_that_cannot_store_the_card_stops_the_checkout() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path());
    let (store_addr, got) = store().await;

    // No keys at all: the gateway does not start, and says why.
    let bad = gateway_config(
        store_addr,
        &dir.path().join("missing.keys").display().to_string(),
    );
    std::fs::write(dir.path().join("bad.toml"), &bad).unwrap();
    let (code, _, err) = run(&[
        "serve",
        "--config",
        dir.path().join("bad.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("[vault]") && err.lines().count() == 1, "{err}");

    let gw = Rampart::start(dir.path(), &gateway_config(store_addr, &keys));
    let r = post(
        gw.https,
        "/checkout",
        "application/x-www-form-urlencoded",
        format!("card_number={VISA}&card_cvc=123"),
    )
    .await;
    assert_eq!(r.status(), 200);
    // The key file is replaced by an unrelated one: the vault refuses to
    // write under a key it was not opened with, so the checkout stops.
    std::fs::remove_file(&keys).unwrap();
    let (code, _, err) = run(&["vault", "keygen", &keys]);
    assert_eq!(code, 0, "{err}");
    let mut refused = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = post(
            gw.https,
            "/checkout",
            "application/x-www-form-urlencoded",
            format!("card_number={MASTERCARD}&card_cvc=123"),
        )
        .await;
        if r.status() == 503 {
            let page = String::from_utf8_lossy(r.body());
            assert!(page.contains("Payment could not be secured"), "{page}");
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "the checkout went on with a key the vault does not know"
    );
    let failed = eventually_events(dir.path(), "cards.tokenize_failed", 1).await;
    assert!(!failed.is_empty());
    assert!(
        !got.lock()
            .unwrap()
            .iter()
            .any(|g| String::from_utf8_lossy(&g.body).contains(MASTERCARD)),
        "the card reached the store"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_in_responses_are_masked_or_withheld() {
    let dir = tempfile::tempdir().unwrap();
    let (store_addr, got) = store().await;
    // A webhook for the alerts (the path stands for a secret token).
    let (hook_addr, hooks) = store().await;
    // No vault: leak prevention works on its own.
    let config = format!(
        r#"[server]
https = "127.0.0.1:0"
data_dir = "data"

[[site]]
name = "mask"
hosts = ["localhost", "127.0.0.1"]
upstream = "http://{store_addr}"
tls = {{ self_signed = true }}
[site.cards]
leaks = "mask"

[[site]]
name = "block"
hosts = ["block.localhost"]
upstream = "http://{store_addr}"
tls = {{ self_signed = true }}
[site.cards]
leaks = "block"

[[site]]
name = "off"
hosts = ["off.localhost"]
upstream = "http://{store_addr}"
tls = {{ self_signed = true }}

[[alerts]]
name = "card leaks"
kinds = ["cards"]
min_severity = "critical"
webhook = "http://{hook_addr}/hooks/T0SECRET"
"#
    );
    let gw = Rampart::start(dir.path(), &config);

    let r = get_with(gw.https, "localhost", "/leak", "br, gzip, deflate").await;
    assert_eq!(r.status(), 200);
    let page = String::from_utf8_lossy(r.body()).into_owned();
    assert!(
        page.contains("paid with **** **** **** 1111, ref 99"),
        "{page}"
    );
    assert_eq!(
        last(&got, "/leak").headers["accept-encoding"],
        "gzip, deflate",
        "only codings Rampart reads are asked for"
    );
    // Compressed: decoded, masked, sent plain.
    let r = get_with(gw.https, "localhost", "/leak.gz", "gzip").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("content-encoding").is_none());
    assert!(String::from_utf8_lossy(r.body()).contains("**** **** **** 1111"));
    // Too long to mask in full: withheld.
    let r = get_with(gw.https, "localhost", "/leak-big", "identity").await;
    assert_eq!(r.status(), 502);
    // A clean page is untouched, compressed as the store sent it.
    let r = get_with(gw.https, "localhost", "/clean", "identity").await;
    assert_eq!(
        &r.body()[..],
        b"<p>Order 1042 paid with card ending 1111</p>"
    );
    // An encoding that cannot be read passes under mask, with an event.
    let r = get_with(gw.https, "localhost", "/leak.br", "br").await;
    assert_eq!(r.status(), 200);
    assert!(!eventually_events(dir.path(), "cards.leak_unscanned", 1)
        .await
        .is_empty());

    // Block mode withholds the page, and the unreadable one too.
    let r = get_with(gw.https, "block.localhost", "/leak", "identity").await;
    assert_eq!(r.status(), 502);
    let page = String::from_utf8_lossy(r.body()).into_owned();
    assert!(
        page.contains("Page withheld") && !page.contains("1111 1111"),
        "{page}"
    );
    let r = get_with(gw.https, "block.localhost", "/leak.br", "br").await;
    assert_eq!(r.status(), 502);
    let r = get_with(gw.https, "block.localhost", "/clean", "identity").await;
    assert_eq!(r.status(), 200);

    // Off: untouched.
    let r = get_with(gw.https, "off.localhost", "/leak", "br").await;
    assert_eq!(r.body(), LEAK_PAGE.as_bytes());
    assert_eq!(last(&got, "/leak").headers["accept-encoding"], "br");

    let leaks = eventually_events(dir.path(), "cards.leak", 5).await;
    let masked = leaks
        .iter()
        .filter(|e| e["data"]["action"] == "masked")
        .count();
    let blocked = leaks
        .iter()
        .filter(|e| e["data"]["action"] == "blocked")
        .count();
    assert_eq!((masked, blocked), (2, 3), "{leaks:?}");
    assert!(
        leaks.iter().all(|e| e["severity"] == "critical"),
        "{leaks:?}"
    );
    // The first leak is sent to the webhook at once (the rest wait for
    // the rule's next message); no card number in it.
    let mut sent = Vec::new();
    for _ in 0..50 {
        sent = hooks.lock().unwrap().clone();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent.len(), 1, "one alert message");
    assert_eq!(sent[0].path, "/hooks/T0SECRET");
    assert_eq!(sent[0].headers["content-type"], "application/json");
    let alert: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(alert["alert"], "card leaks");
    assert_eq!(alert["count"], 1);
    assert_eq!(alert["events"][0]["kind"], "cards.leak");
    assert!(alert["text"].as_str().unwrap().contains("card leaks"));
    common::pan_scan::assert_no_card("the alert", &sent[0].body, &[VISA.to_string()]);
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(
        !log.contains("T0SECRET"),
        "the webhook's secret is not logged"
    );
    drop(gw);
    assert!(scan_dir(&dir.path().join("data"), &[VISA.to_string()]) >= 2);
}

/// A payment provider over TLS for `localhost` (its certificate in
/// `dir/provider.pem`) that records what it receives; `/echo-pan` answers
/// with a card number in its JSON.
async fn provider(dir: &Path) -> (u16, Arc<Mutex<Vec<Got>>>) {
    use rustls::pki_types::pem::PemObject;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("provider.pem"), cert.pem()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let rec = got.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, rec) = (acceptor.clone(), rec.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(move |req: Request<Incoming>| {
                    let rec = rec.clone();
                    async move {
                        let (parts, b) = req.into_parts();
                        let b = b.collect().await.unwrap().to_bytes();
                        rec.lock().unwrap().push(Got {
                            path: parts.uri.path().to_string(),
                            headers: parts.headers.clone(),
                            body: b,
                        });
                        let answer = if parts.uri.path() == "/v1/echo-pan" {
                            format!("{{\"status\":\"approved\",\"card\":\"{VISA}\"}}")
                        } else {
                            "{\"status\":\"approved\"}".to_string()
                        };
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                            answer,
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (port, got)
}

/// POSTs `json` to https://HOST:PORT/PATH through the outbound proxy
/// (CONNECT, then TLS trusting only Rampart's outbound CA): the CONNECT
/// status, and the answer when the tunnel opened.
async fn through_proxy(
    proxy: SocketAddr,
    ca: &Path,
    host: &str,
    port: u16,
    path: &str,
    json: &str,
) -> (u16, Option<Response<Bytes>>) {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(proxy).await.unwrap();
    tcp.write_all(
        format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        if tcp.read(&mut b).await.unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    let status: u16 = String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if status != 200 {
        return (status, None);
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(
            rustls::pki_types::ServerName::try_from(host.to_string()).unwrap(),
            tcp,
        )
        .await
        .expect("the proxy's certificate for the destination is trusted through its CA");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::post(path)
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json")
        .body(body(json.to_string()))
        .unwrap();
    (
        200,
        Some(collect(send.send_request(req).await.unwrap()).await),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbound_proxy_puts_card_numbers_back_only_where_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path());
    let (store_addr, got) = store().await;
    let (psp, charges) = provider(dir.path()).await;
    let config = gateway_config(store_addr, &keys).replace(
        "[[site]]",
        &format!(
            "[vault.outbound]\nlisten = \"127.0.0.1:0\"\ntrust = \"provider.pem\"\n\n\
             [[vault.outbound.destinations]]\nurl = \"https://localhost:{psp}/v1\"\n\
             fields = [\"card.number\"]\ncvv_fields = [\"card.cvc\"]\n\n[[site]]"
        ),
    );
    let gw = Rampart::start(dir.path(), &config);
    let outbound: SocketAddr = {
        // The ready line names the proxy.
        let (code, _, err) = run(&[
            "config",
            "check",
            dir.path().join("rampart.toml").to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        gw.outbound
            .expect("the ready line names the outbound proxy")
    };
    let ca = dir.path().join("data/outbound-ca.pem");

    // A checkout: the store gets a token, the code is held.
    let r = post(
        gw.https,
        "/checkout",
        "application/x-www-form-urlencoded",
        format!("card_number={VISA}&card_exp=10%2F29&card_cvc=321&card_name=Ada"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let token = field(&form(&last(&got, "/checkout").body), "card_number").to_string();
    assert_token_for(&token, VISA);

    // The store's charge: the number and the code go back in, only there.
    let charge = format!(
        "{{\"amount\": 1590, \"card\": {{\"number\": \"{token}\", \"cvc\": \"000\"}}, \"note\": \"{token}\"}}"
    );
    let (status, answer) =
        through_proxy(outbound, &ca, "localhost", psp, "/v1/charges", &charge).await;
    assert_eq!(status, 200);
    assert_eq!(answer.unwrap().status(), 200);
    let seen = String::from_utf8(charges.lock().unwrap().last().unwrap().body.to_vec()).unwrap();
    assert_eq!(
        seen,
        charge
            .replacen(&token, VISA, 1)
            .replace("\"000\"", "\"321\""),
        "number and code put back in their fields; the note keeps the token"
    );
    // The code served its one forward.
    let (_, answer) = through_proxy(outbound, &ca, "localhost", psp, "/v1/charges", &charge).await;
    assert_eq!(answer.unwrap().status(), 200);
    let seen = String::from_utf8(charges.lock().unwrap().last().unwrap().body.to_vec()).unwrap();
    assert!(
        seen.contains(VISA) && seen.contains("\"cvc\": \"000\""),
        "{seen}"
    );

    // A card number in the provider's answer is masked for the store.
    let (_, answer) = through_proxy(outbound, &ca, "localhost", psp, "/v1/echo-pan", &charge).await;
    let answer = answer.unwrap();
    let text = String::from_utf8_lossy(answer.body()).into_owned();
    assert!(
        text.contains("************1111") && !text.contains(VISA),
        "{text}"
    );

    // An unknown token: nothing reaches the provider.
    let before = charges.lock().unwrap().len();
    let unknown = "4111110000001112";
    let (_, answer) = through_proxy(
        outbound,
        &ca,
        "localhost",
        psp,
        "/v1/charges",
        &format!("{{\"card\": {{\"number\": \"{unknown}\"}}}}"),
    )
    .await;
    assert_eq!(answer.unwrap().status(), 422);
    assert_eq!(charges.lock().unwrap().len(), before);

    // Another destination (the same server under another name, or a path
    // outside the prefix) gets no card data.
    let (status, _) = through_proxy(outbound, &ca, "127.0.0.1", psp, "/v1/charges", &charge).await;
    assert_eq!(status, 403);
    let (_, answer) = through_proxy(outbound, &ca, "localhost", psp, "/v2/charges", &charge).await;
    assert_eq!(answer.unwrap().status(), 200);
    let seen = String::from_utf8(charges.lock().unwrap().last().unwrap().body.to_vec()).unwrap();
    assert!(!seen.contains(VISA) && seen.contains(&token), "{seen}");

    assert!(!eventually_events(dir.path(), "vault.detokenized", 1)
        .await
        .is_empty());
    let refused = eventually_events(dir.path(), "vault.outbound_refused", 1).await;
    assert!(!refused.is_empty());
    let failed = eventually_events(dir.path(), "vault.detokenize_failed", 1).await;
    assert!(!failed.is_empty());
    drop(gw);
    assert!(scan_dir(&dir.path().join("data"), &[VISA.to_string()]) >= 3);
}

/// Adds one product to `shopper`'s cart and pays with `card`.
async fn demo_checkout(shopper: &mut common::shop::Shopper, card: &str) -> Response<Bytes> {
    let token = shopper.csrf("/product/colombia-huila").await.unwrap();
    let r = shopper
        .post(
            "/cart/add",
            &[
                ("csrf_token", &token),
                ("product", "colombia-huila"),
                ("quantity", "1"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let token = shopper.csrf("/checkout").await.unwrap();
    shopper
        .post(
            "/checkout",
            &[
                ("csrf_token", &token),
                ("email", "ada@example.com"),
                ("ship_name", "Ada Lovelace"),
                ("ship_address", "12 St James's Square"),
                ("ship_postcode", "SW1Y 4JH"),
                ("ship_city", "London"),
                ("ship_country", "United Kingdom"),
                ("card_name", "Ada Lovelace"),
                ("card_number", card),
                ("card_exp", "12/30"),
                ("card_cvc", "737"),
            ],
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_checkout_leaves_no_card_number_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = common::shop::start_demo(&data);
    let mut shopper = common::shop::Shopper::new(demo.https, "127.0.0.41");
    // Approved: the provider saw a real card (it approves 4242…).
    let r = demo_checkout(&mut shopper, "4242 4242 4242 4242").await;
    assert_eq!(r.status(), 303, "{}", String::from_utf8_lossy(r.body()));
    let order = r.headers()["location"].to_str().unwrap().to_string();
    let page = shopper.send("GET", &order, None).await.unwrap();
    let page = String::from_utf8_lossy(page.body()).into_owned();
    assert!(
        page.contains("card ending in <strong>4242</strong>"),
        "{page}"
    );
    // Declined: only the real number is declined; a token would be approved.
    let r = demo_checkout(&mut shopper, "4000000000000002").await;
    assert_eq!(r.status(), 402, "{}", String::from_utf8_lossy(r.body()));
    let detokenized = eventually_events(dir.path(), "vault.detokenized", 2).await;
    assert!(detokenized.len() >= 2, "{detokenized:?}");
    assert!(
        detokenized.iter().all(|e| e["data"]["cvv"] == true),
        "{detokenized:?}"
    );
    assert!(!eventually_events(dir.path(), "cards.tokenized", 1)
        .await
        .is_empty());
    drop(demo);
    let pans = [
        "4242424242424242".to_string(),
        "4000000000000002".to_string(),
    ];
    // Every file of the gateway and the shop, and the demo's log.
    assert!(scan_dir(&data, &pans) >= 5);
    let log = std::fs::read(dir.path().join("demo.log")).unwrap();
    common::pan_scan::assert_no_card("the demo's log", &log, &pans);
    // The shop's own records hold tokens (BIN and last four kept), never the number.
    let shop_db = std::fs::read(data.join("demo-shop/demo-shop.sqlite")).unwrap();
    common::pan_scan::assert_no_card("demo-shop.sqlite", &shop_db, &pans);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_on_postgres_leaves_no_card_number_in_a_dump() {
    let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES") else {
        eprintln!("note: RAMPART_TEST_POSTGRES is not set; the PostgreSQL card test is skipped");
        return;
    };
    let schema = format!("cards_gw_{}", std::process::id());
    let psql = |sql: &str| {
        let out = std::process::Command::new("psql")
            .args([url.as_str(), "-Atqc", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    psql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ));
    let scoped = format!(
        "{url}{}options=-csearch_path%3D{schema}",
        if url.contains('?') { "&" } else { "?" }
    );
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path());
    let (store_addr, got) = store().await;
    let config = gateway_config(store_addr, &keys).replace(
        "data_dir = \"data\"",
        &format!("data_dir = \"data\"\ndatabase = \"{scoped}\""),
    );
    let gw = Rampart::start(dir.path(), &config);
    for pan in [VISA, MASTERCARD] {
        let r = post(
            gw.https,
            "/checkout",
            "application/x-www-form-urlencoded",
            format!("card_number={pan}&card_exp=01%2F31&card_cvc=123&card_name=Grace"),
        )
        .await;
        assert_eq!(r.status(), 200);
        assert_token_for(
            field(&form(&last(&got, "/checkout").body), "card_number"),
            pan,
        );
    }
    drop(gw);
    let dump = std::process::Command::new("pg_dump")
        .args([url.as_str(), "--schema", &schema])
        .output()
        .unwrap();
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(String::from_utf8_lossy(&dump.stdout).contains("vault_cards"));
    let pans = [VISA.to_string(), MASTERCARD.to_string()];
    common::pan_scan::assert_no_card("pg_dump", &dump.stdout, &pans);
    scan_dir(&dir.path().join("data"), &pans);
    psql(&format!("DROP SCHEMA {schema} CASCADE"));
}

/// A caller's client certificate (chain of one) and key, issued by `ca`.
fn client_cert(
    ca: &rcgen::Issuer<'_, rcgen::KeyPair>,
    name: &str,
) -> (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, ca).unwrap();
    (
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
}

fn new_ca() -> (rcgen::Issuer<'static, rcgen::KeyPair>, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "payments clients");
    let cert = params.self_signed(&key).unwrap();
    (rcgen::Issuer::new(params, key), cert.pem())
}

/// One call to the detokenization API: status and JSON answer, or `None`
/// when the TLS handshake was refused.
async fn api_call(
    addr: SocketAddr,
    server_ca: &Path,
    key: Option<&str>,
    cert: Option<(
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    )>,
    path: &str,
    json: &str,
) -> Option<(u16, serde_json::Value)> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(server_ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let cfg = match cert {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .ok()?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .ok()?;
    tokio::spawn(conn);
    let mut req = Request::post(path)
        .header("host", "localhost")
        .header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let r = send
        .send_request(req.body(body(json.to_string())).unwrap())
        .await
        .ok()?;
    let r = collect(r).await;
    Some((
        r.status().as_u16(),
        serde_json::from_slice(r.body()).unwrap_or(serde_json::Value::Null),
    ))
}

/// `rampart vault api-key NAME`: the key, and the configured digest line.
fn api_key(name: &str) -> (String, String) {
    let (code, out, err) = run(&["vault", "api-key", name]);
    assert_eq!(code, 0, "{err}");
    let key = out.lines().next().unwrap().to_string();
    let sha = out
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert!(key.starts_with("rk_") && key.len() > 40, "{key}");
    (key, sha)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detokenization_api_gives_cards_only_to_authorised_services() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keygen(dir.path());
    let (store_addr, got) = store().await;
    let (refunds, refunds_sha) = api_key("refund-worker");
    let (support, support_sha) = api_key("support-desk");
    let (burst, burst_sha) = api_key("burst-job");
    let (ca, ca_pem) = new_ca();
    let ca_file = dir.path().join("clients-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let api_table = format!(
        "[vault.api]\nlisten = \"127.0.0.1:0\"\nclient_ca = {ca_file:?}\nrate_per_minute = 5\nmax_tokens = 3\n\n\
         [[vault.api.keys]]\nname = \"refund-worker\"\nsha256 = \"{refunds_sha}\"\n\n\
         [[vault.api.keys]]\nname = \"support-desk\"\nsha256 = \"{support_sha}\"\nrole = \"support\"\n\n\
         [[vault.api.keys]]\nname = \"burst-job\"\nsha256 = \"{burst_sha}\"\n\n\
         [[vault.api.clients]]\nname = \"billing.shop.internal\"\n"
    );
    let config = gateway_config(store_addr, &keys).replacen(
        "\n\n[[site]]",
        &format!("\n\n{api_table}\n[[site]]"),
        1,
    );
    let gw = Rampart::start(dir.path(), &config);
    let api = gw.api.expect("the ready line has api=ADDR");
    let server_ca = dir.path().join("data/vault-api.pem");

    // A card comes in through the checkout.
    let r = post(
        gw.https,
        "/checkout",
        "application/x-www-form-urlencoded",
        format!("card_name=Ada+Lovelace&card_number={VISA}&card_exp=12%2F30&card_cvc=123"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let token = field(&form(&last(&got, "/checkout").body), "card_number").to_string();
    assert_token_for(&token, VISA);
    let ask = format!("{{\"tokens\": [\"{token}\"]}}");

    // The payments service with its key reads it back.
    let (status, answer) = api_call(
        api,
        &server_ca,
        Some(&refunds),
        None,
        "/v1/detokenize",
        &ask,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cards"][0]["token"], token.as_str());
    assert_eq!(answer["cards"][0]["number"], VISA);
    assert_eq!(answer["cards"][0]["expiry"], "12/30");
    assert_eq!(answer["cards"][0]["holder"], "Ada Lovelace");

    // No key, a wrong key, a key of another role: nothing.
    for key in [
        None,
        Some("rk_0123"),
        Some(refunds.replace('a', "b").as_str()),
    ] {
        let (status, answer) = api_call(api, &server_ca, key, None, "/v1/detokenize", &ask)
            .await
            .unwrap();
        assert_eq!(status, 401, "{key:?}: {answer}");
        assert!(!answer.to_string().contains(VISA));
    }
    let (status, answer) = api_call(
        api,
        &server_ca,
        Some(&support),
        None,
        "/v1/detokenize",
        &ask,
    )
    .await
    .unwrap();
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("payments"));

    // A client certificate from client_ca for a listed name.
    let (status, answer) = api_call(
        api,
        &server_ca,
        None,
        Some(client_cert(&ca, "billing.shop.internal")),
        "/v1/detokenize",
        &ask,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["cards"][0]["number"], VISA);
    // From client_ca but for another name: not a caller.
    let (status, _) = api_call(
        api,
        &server_ca,
        None,
        Some(client_cert(&ca, "shop-frontend.internal")),
        "/v1/detokenize",
        &ask,
    )
    .await
    .unwrap();
    assert_eq!(status, 401);
    // For the listed name but from another CA: the handshake fails.
    let (other_ca, _) = new_ca();
    let refused = api_call(
        api,
        &server_ca,
        None,
        Some(client_cert(&other_ca, "billing.shop.internal")),
        "/v1/detokenize",
        &ask,
    )
    .await;
    assert!(
        refused.as_ref().is_none_or(|(s, _)| *s != 200),
        "a certificate from another CA was accepted: {refused:?}"
    );

    // All or nothing: one unknown token among known ones gives no card.
    let unknown = format!("{}{}", &VISA[..6], "0000001112");
    let (status, answer) = api_call(
        api,
        &server_ca,
        Some(&refunds),
        None,
        "/v1/detokenize",
        &format!("{{\"tokens\": [\"{token}\", \"{unknown}\"]}}"),
    )
    .await
    .unwrap();
    assert_eq!(status, 404, "{answer}");
    assert!(answer.get("cards").is_none());
    assert!(!answer.to_string().contains(VISA));
    // More tokens than max_tokens, and a body that is not the request.
    let four = format!("{{\"tokens\": [\"{token}\", \"{token}\", \"{token}\", \"{token}\"]}}");
    let (status, _) = api_call(
        api,
        &server_ca,
        Some(&refunds),
        None,
        "/v1/detokenize",
        &four,
    )
    .await
    .unwrap();
    assert_eq!(status, 400);

    // Each caller has its own rate limit (5 a minute here).
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (s, _) = api_call(api, &server_ca, Some(&burst), None, "/v1/detokenize", &ask)
            .await
            .unwrap();
        statuses.push(s);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);

    // Every call is audited; no event holds the card number.
    let read = eventually_events(dir.path(), "vault.api_detokenized", 7).await;
    assert_eq!(read.len(), 7, "{read:?}");
    assert!(read.iter().any(
        |e| e["data"]["caller"] == "billing.shop.internal" && e["data"]["via"] == "certificate"
    ));
    assert!(read
        .iter()
        .all(|e| e["data"]["tokens"][0] == token.as_str()));
    let refusals = events(dir.path(), "vault.api_refused");
    assert!(refusals.iter().any(|e| e["data"]["status"] == 401));
    assert!(refusals
        .iter()
        .any(|e| e["data"]["status"] == 403 && e["data"]["caller"] == "support-desk"));
    assert!(refusals
        .iter()
        .any(|e| e["data"]["status"] == 429 && e["data"]["caller"] == "burst-job"));
    let failed = events(dir.path(), "vault.detokenize_failed");
    assert!(failed
        .iter()
        .any(|e| e["data"]["caller"] == "refund-worker"));
    assert!(scan_dir(&dir.path().join("data"), &[VISA.to_string()]) > 0);
}
