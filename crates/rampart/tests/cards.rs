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

async fn eventually_events(dir: &Path, kind: &str) -> Vec<serde_json::Value> {
    for _ in 0..50 {
        let e = events(dir, kind);
        if !e.is_empty() {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Vec::new()
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
        eventually_events(dir.path(), "cards.refused").await.len(),
        3
    );

    let tokenized = eventually_events(dir.path(), "cards.tokenized").await;
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
    let failed = eventually_events(dir.path(), "cards.tokenize_failed").await;
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
    assert!(!eventually_events(dir.path(), "cards.leak_unscanned")
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

    let leaks = eventually_events(dir.path(), "cards.leak").await;
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
    drop(gw);
    assert!(scan_dir(&dir.path().join("data"), &[VISA.to_string()]) >= 2);
}
