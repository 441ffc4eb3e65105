//! The WAF in the real gateway: `rampart serve` with the OWASP CRS 4.28.0
//! in front of a recording store. Blocked requests (headers or body) never
//! reach the store; every match is on the audit log.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use http::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn crs() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    assert!(p.is_dir(), "missing {} (the shared CRS)", p.display());
    std::fs::canonicalize(p).unwrap()
}

fn waf_config(store: std::net::SocketAddr, mode: &str) -> String {
    config(
        store,
        &format!(
            "\n[site.waf]\ncrs = {:?}\nparanoia = 1\nmode = \"{mode}\"\n",
            crs().display().to_string()
        ),
    )
}

/// Audit-log lines (`data/audit.jsonl`) of one request id, waiting a
/// little for the writer.
async fn audit_lines(dir: &Path, request_id: &str) -> Vec<serde_json::Value> {
    let path = dir.join("data/audit.jsonl");
    let mut found = Vec::new();
    eventually(10, || {
        found = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["request_id"] == request_id)
            .collect();
        !found.is_empty()
    })
    .await;
    found
}

fn request_id(r: &http::Response<bytes::Bytes>) -> String {
    r.headers()["x-request-id"].to_str().unwrap().to_string()
}

async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    content_type: &str,
    payload: &str,
) -> http::Response<bytes::Bytes> {
    let mut c = h1_client(addr, "localhost").await;
    let req = Request::post(path)
        .header("host", "localhost")
        .header("content-type", content_type)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        )
        .header("accept", "text/html")
        .body(body(payload.to_string()))
        .unwrap();
    collect(c.send_request(req).await.unwrap()).await
}

async fn browser_get(addr: std::net::SocketAddr, path: &str) -> http::Response<bytes::Bytes> {
    let mut c = h1_client(addr, "localhost").await;
    let req = Request::get(path)
        .header("host", "localhost")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        )
        .header("accept", "text/html")
        .body(empty())
        .unwrap();
    collect(c.send_request(req).await.unwrap()).await
}

#[tokio::test]
async fn attacks_are_blocked_before_the_store_and_logged() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &waf_config(store.addr, "block"));

    // Ordinary shopping passes.
    let r = browser_get(gw.https, "/products?q=green+tea&sort=price").await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.body());
    let r = post(
        gw.https,
        "/cart",
        "application/x-www-form-urlencoded",
        "product=42&qty=2&note=Please+gift+wrap%2C+it%27s+for+my+mum",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(store.received().len(), 2);

    // SQL injection in the query string: 403, never forwarded.
    let r = browser_get(gw.https, "/products?id=1%27%20OR%20%271%27%3D%271").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let id = request_id(&r);
    assert!(
        String::from_utf8_lossy(r.body()).contains(&id),
        "the block page names the request id"
    );
    let lines = audit_lines(dir.path(), &id).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["action"], "block");
    assert_eq!(line["status"], 403);
    let rules: Vec<u64> = line["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(rules.contains(&949110), "{rules:?}");
    assert!(
        rules.iter().any(|r| (942000..943000).contains(r)),
        "{rules:?}"
    );
    assert!(line["anomaly_score"].as_i64().unwrap() >= 5);
    let matches = line["data"]["matches"].as_array().unwrap();
    assert!(matches
        .iter()
        .any(|m| m["msg"].as_str().unwrap_or("").contains("SQL")));

    // XSS in a form body, SQLi in a JSON body: 403; neither the headers
    // nor the body reach the store.
    let r = post(
        gw.https,
        "/reviews",
        "application/x-www-form-urlencoded",
        "rating=5&text=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E",
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        gw.https,
        "/api/cart",
        "application/json",
        r#"{"coupon":"x' UNION SELECT password FROM users--"}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        store.received().len(),
        2,
        "nothing blocked reached the store"
    );
    for got in store.received() {
        assert!(got.uri.starts_with("/products") || got.uri == "/cart");
    }

    // A raw attack target hyper alone would refuse with a bare 400: the
    // WAF sees it, blocks it and logs it.
    let (mut tls, _, _) = tls_connect(gw.https, "localhost", &[b"http/1.1"]).await;
    tls.write_all(
        b"GET /search?q=\"><script>alert(1)</script> HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    tls.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert_eq!(store.received().len(), 2);

    // A card number in a blocked request never reaches the audit log or
    // the event store in clear.
    let r = browser_get(
        gw.https,
        "/pay?pan=4111111111111111&note=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let lines = audit_lines(dir.path(), &request_id(&r)).await;
    assert_eq!(lines.len(), 1);
    assert!(lines[0]["uri"]
        .as_str()
        .unwrap()
        .contains("************1111"));
    for file in [
        "data/audit.jsonl",
        "data/events.sqlite",
        "data/events.sqlite-wal",
    ] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(16).any(|w| w == b"4111111111111111"),
            "a card number in clear in {file}"
        );
    }
}

#[tokio::test]
async fn detection_mode_forwards_and_records() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &waf_config(store.addr, "detect"));
    let r = browser_get(gw.https, "/products?id=1%27%20OR%20%271%27%3D%271").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(store.received().len(), 1);
    let lines = audit_lines(dir.path(), &request_id(&r)).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["action"], "detect");
    assert!(lines[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v == 949110));
    // A benign request leaves no audit line (the audit log is for matches).
    let r = browser_get(gw.https, "/products?q=tea").await;
    assert_eq!(r.status(), StatusCode::OK);
    let id = request_id(&r);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let text = std::fs::read_to_string(dir.path().join("data/audit.jsonl")).unwrap();
    assert!(!text.contains(&id));
}
