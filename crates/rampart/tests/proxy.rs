//! End-to-end behaviour of `rampart serve` through real sockets: redirects,
//! TLS, HTTP/2, SNI, headers, bodies, WebSocket, store failures, reloads.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use futures_util::{SinkExt, StreamExt};
use http::{Request, StatusCode, Version};
use http_body_util::BodyExt;
use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn plain_http_redirects_every_path_to_https() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    let http = gw.http.unwrap();
    let port = gw.https.port();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let cases = [
        ("GET", "/", 301),
        ("GET", "/shop/cart?item=42&qty=1", 301),
        ("HEAD", "/a%20b/c?x=%2F", 301),
        ("POST", "/checkout?step=2", 308),
        ("PUT", "/api/items/7", 308),
    ];
    for (method, path, status) in cases {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{http}{path}"))
            .header("host", "LocalHost:8080")
            .body(http_body_util::Empty::new())
            .unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{method} {path}");
        assert_eq!(
            resp.headers()["location"],
            format!("https://localhost:{port}{path}").as_str(),
            "{method} {path}"
        );
        assert!(resp.headers().get("strict-transport-security").is_none());
    }
    let req = Request::get(format!("http://{http}/.well-known/acme-challenge/token"))
        .header("host", "localhost")
        .body(http_body_util::Empty::new())
        .unwrap();
    assert_eq!(client.request(req).await.unwrap().status(), 404);
    let req = Request::get(format!("http://{http}/"))
        .header("host", "evil.example")
        .body(http_body_util::Empty::new())
        .unwrap();
    assert_eq!(client.request(req).await.unwrap().status(), 421);
    assert!(
        store.received().is_empty(),
        "nothing reaches the store over plain HTTP"
    );
    drop(gw);

    // Behind a port forward from 443, the port disappears from the URL.
    let dir = tempfile::tempdir().unwrap();
    let text = config(store.addr, "").replace("data_dir", "public_https_port = 443\ndata_dir");
    let gw = Rampart::start(dir.path(), &text);
    let req = Request::get(format!("http://{}/x?y", gw.http.unwrap()))
        .header("host", "localhost")
        .body(http_body_util::Empty::new())
        .unwrap();
    assert_eq!(
        client.request(req).await.unwrap().headers()["location"],
        "https://localhost/x?y"
    );
}

#[tokio::test]
async fn https_responses_carry_security_headers_unless_turned_off() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"
[[site]]
name = "bare"
hosts = ["bare.test"]
upstream = "http://STORE"
tls = { self_signed = true }
headers = { hsts = false, nosniff = false, referrer_policy = "", frame_ancestors = "" }

[[site]]
name = "strict"
hosts = ["strict.test"]
upstream = "http://STORE"
tls = { self_signed = true }
headers = { hsts_max_age = 600, hsts_include_subdomains = true, hsts_preload = true, override_store = true }
"#
    .replace("STORE", &store.addr.to_string());
    let gw = Rampart::start(dir.path(), &config(store.addr, &extra));

    for path in ["/", "/missing-page"] {
        let r = get(gw.https, "localhost", path).await;
        assert_eq!(r.status(), 200);
        let h = r.headers();
        assert_eq!(h["strict-transport-security"], "max-age=31536000");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
        assert_eq!(h["content-security-policy"], "frame-ancestors 'self'");
        // Hop-by-hop headers of the store do not leak.
        assert!(h.get("x-store-private").is_none());
    }
    // The gateway's own pages carry them too.
    let r = get(gw.https, "unknown.test", "/").await;
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(r.headers().contains_key("strict-transport-security"));

    // What the store set is kept...
    let r = get(gw.https, "localhost", "/own-headers").await;
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["strict-transport-security"], "max-age=60");
    assert_eq!(r.headers()["content-security-policy"], "default-src 'self'");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    // ...unless the site overrides it.
    let r = get(gw.https, "strict.test", "/own-headers").await;
    assert_eq!(
        r.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=600; includeSubDomains; preload"
    );
    let csp: Vec<_> = r
        .headers()
        .get_all("content-security-policy")
        .iter()
        .collect();
    assert_eq!(csp, ["default-src 'self'", "frame-ancestors 'self'"]);
    // Turned off.
    let r = get(gw.https, "bare.test", "/").await;
    assert_eq!(r.status(), 200);
    for name in [
        "strict-transport-security",
        "x-content-type-options",
        "referrer-policy",
        "content-security-policy",
    ] {
        assert!(r.headers().get(name).is_none(), "{name} should be off");
    }
}

fn openssl_handshake(addr: std::net::SocketAddr, flag: &str) -> (bool, String) {
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
            flag,
        ])
        .args(["-cipher", "DEFAULT@SECLEVEL=0"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the openssl command is needed for this test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn only_tls_1_2_and_1_3_are_accepted() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    let addr = gw.https;
    let results = tokio::task::spawn_blocking(move || {
        ["-tls1", "-tls1_1", "-tls1_2", "-tls1_3"].map(|f| (f, openssl_handshake(addr, f)))
    })
    .await
    .unwrap();
    for (flag, (ok, text)) in &results {
        match *flag {
            "-tls1" | "-tls1_1" => {
                assert!(!ok, "{flag} must be refused: {text}");
                assert!(
                    text.contains("alert handshake failure")
                        || text.contains("alert protocol version"),
                    "{flag}: {text}"
                );
            }
            "-tls1_2" => {
                assert!(*ok && text.contains("TLSv1.2"), "{flag}: {text}");
            }
            _ => assert!(*ok && text.contains("TLSv1.3"), "{flag}: {text}"),
        }
    }
    // A failed handshake is an event.
    assert!(tokio::task::spawn_blocking(move || gw.stop())
        .await
        .unwrap()
        .success());
    let (code, out, _) = run(&[
        "events",
        "query",
        "--data",
        dir.path().join("data").to_str().unwrap(),
        "--kind",
        "tls",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("tls.handshake_failed"), "{out}");
}

#[tokio::test]
async fn http2_works_and_sni_picks_each_sites_certificate() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "\n[[site]]\nname = \"outlet\"\nhosts = [\"outlet.test\"]\nupstream = \"http://{}\"\ntls = {{ self_signed = true }}\n",
        store.addr
    );
    let gw = Rampart::start(dir.path(), &config(store.addr, &extra));
    let data = dir.path().join("data");
    let shop_cert = self_signed_cert(&data, "shop");
    let outlet_cert = self_signed_cert(&data, "outlet");
    assert_ne!(shop_cert, outlet_cert);
    let (_, cert, _) = tls_connect(gw.https, "outlet.test", &[b"h2"]).await;
    assert_eq!(cert, outlet_cert);
    let (_, cert, _) = tls_connect(gw.https, "localhost", &[b"h2"]).await;
    assert_eq!(cert, shop_cert);

    let mut h2 = h2_client(gw.https, "outlet.test").await;
    for i in 0..3 {
        let req = Request::post(format!("https://outlet.test/echo?i={i}"))
            .body(body(format!("over h2 #{i}")))
            .unwrap();
        let resp = collect(h2.send_request(req).await.unwrap()).await;
        assert_eq!(resp.version(), Version::HTTP_2);
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.body(), format!("over h2 #{i}").as_bytes());
        assert!(resp.headers().contains_key("strict-transport-security"));
    }
    let got = store.received();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].headers["host"], "outlet.test");
    assert_eq!(got[0].uri, "/echo?i=0");
}

#[tokio::test]
async fn bodies_are_proxied_byte_exact_both_ways() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    let mut c = h1_client(gw.https, "localhost").await;

    // GET.
    let req = Request::get("/")
        .header("host", "localhost")
        .body(empty())
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert_eq!(r.body(), "hello from the store");

    // A large upload with Content-Length, echoed back.
    let big = Bytes::from(pattern(5 * 1024 * 1024 + 3));
    let req = Request::post("/echo")
        .header("host", "localhost")
        .body(body(big.clone()))
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert_eq!(r.status(), 200);
    assert!(r.body() == &big, "5 MB echo differs");

    // A chunked upload (no Content-Length).
    let chunks: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = (0..40)
        .map(|i| {
            Ok(http_body::Frame::data(Bytes::from(vec![
                i as u8;
                10_000 + i
            ])))
        })
        .collect();
    let expected: Vec<u8> = (0..40).flat_map(|i| vec![i as u8; 10_000 + i]).collect();
    let streamed = BodyExt::boxed(http_body_util::StreamBody::new(futures_util::stream::iter(
        chunks,
    )));
    let req = Request::post("/echo")
        .header("host", "localhost")
        .body(streamed)
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert!(r.body()[..] == expected[..], "chunked echo differs");

    // A large streamed download.
    let req = Request::get("/big?8000001")
        .header("host", "localhost")
        .body(empty())
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert_eq!(r.body().len(), 8_000_001);
    assert!(r.body()[..] == pattern(8_000_001)[..], "download differs");

    let got = store.received();
    assert_eq!(got[1].body, big);
    assert_eq!(got[2].body[..], expected[..]);
    assert!(
        got[2].headers.get("content-length").is_none(),
        "chunked stays streamed"
    );
}

#[tokio::test]
async fn requests_reach_the_store_with_forwarding_headers_and_request_id() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    let mut c = h1_client(gw.https, "localhost").await;
    let req = Request::get("/p?q=1")
        .header("host", "localhost")
        .header("x-request-id", "order-123:abc")
        .header("x-forwarded-for", "6.6.6.6")
        .header("connection", "x-hop")
        .header("x-hop", "secret")
        .body(empty())
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert_eq!(r.headers()["x-request-id"], "order-123:abc");
    let req = Request::get("/p")
        .header("host", "localhost")
        .header("x-request-id", "bad id!")
        .body(empty())
        .unwrap();
    let r2 = collect(c.send_request(req).await.unwrap()).await;
    let generated = r2.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 32);

    let got = store.received();
    let h = &got[0].headers;
    assert_eq!(h["x-request-id"], "order-123:abc");
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "a client's own X-Forwarded-For is not trusted"
    );
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["x-forwarded-host"], "localhost");
    assert_eq!(
        h["forwarded"],
        "for=127.0.0.1;host=\"localhost\";proto=https"
    );
    assert_eq!(h["host"], "localhost");
    assert!(
        h.get("x-hop").is_none(),
        "headers named in Connection are hop-by-hop"
    );
    assert_eq!(got[1].headers["x-request-id"], generated.as_str());
}

#[tokio::test]
async fn websocket_upgrade_echoes_through_the_proxy() {
    // A WebSocket echo store.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ws_addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    if msg.is_text() || msg.is_binary() {
                        let _ = ws.send(msg).await;
                    }
                }
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(ws_addr, ""));
    let (tls, _, _) = tls_connect(gw.https, "localhost", &[b"http/1.1"]).await;
    let (mut ws, resp) = tokio_tungstenite::client_async("wss://localhost/live", tls)
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    for text in ["hello", "basket updated", &"x".repeat(100_000)] {
        ws.send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .unwrap();
        let echo = ws.next().await.unwrap().unwrap();
        assert_eq!(echo.into_text().unwrap().as_str(), text);
    }
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn store_down_is_a_502_with_an_event_and_slow_store_a_504() {
    let store = Store::start().await;
    // A port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "response_timeout_ms = 400\n\n[[site]]\nname = \"down\"\nhosts = [\"down.test\"]\nupstream = \"http://{closed}\"\ntls = {{ self_signed = true }}\n"
    );
    let gw = Rampart::start(dir.path(), &config(store.addr, &extra));
    let r = get(gw.https, "down.test", "/checkout").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let page = std::str::from_utf8(r.body()).unwrap();
    assert!(page.contains("The shop is unavailable"), "{page}");
    assert!(
        !page.contains(&closed.to_string()),
        "the page must not reveal the store's address"
    );
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();

    let started = Instant::now();
    let r = get(gw.https, "localhost", "/slow").await;
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(2));

    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_string();
    let found = eventually(5, || {
        let (code, out, _) = run(&[
            "events", "query", "--since", "1h", "--kind", "upstream", "--data", &data_s,
        ]);
        code == 0
            && out.contains("upstream.error")
            && out.contains(&id)
            && out.contains("upstream.timeout")
    })
    .await;
    let (_, out, _) = run(&[
        "events", "query", "--since", "1h", "--kind", "upstream", "--data", &data_s,
    ]);
    assert!(found, "events query output: {out}");
    assert!(!out.contains("gateway.started"), "--kind filters: {out}");

    // Straight from the SQLite store, as JSON.
    let (_, json, _) = run(&[
        "events",
        "query",
        "--json",
        "--kind",
        "upstream.error",
        "--data",
        &data_s,
    ]);
    let v: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(v["status"], 502);
    assert_eq!(v["request_id"], id.as_str());
    assert_eq!(v["site"], "down");
    assert_eq!(v["uri"], "/checkout");
    assert!(data.join("events.sqlite").is_file());
}

#[tokio::test]
async fn oversized_bodies_get_413_and_never_reach_the_store() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(
        dir.path(),
        &config(store.addr, "max_request_body_bytes = 100000\n"),
    );
    let mut c = h1_client(gw.https, "localhost").await;
    let req = Request::post("/echo")
        .header("host", "localhost")
        .body(body(vec![1u8; 100_001]))
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(store.received().is_empty());

    let mut c = h1_client(gw.https, "localhost").await;
    let chunks: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = (0..20)
        .map(|_| Ok(http_body::Frame::data(Bytes::from(vec![2u8; 10_000]))))
        .collect();
    let streamed = BodyExt::boxed(http_body_util::StreamBody::new(futures_util::stream::iter(
        chunks,
    )));
    let req = Request::post("/echo")
        .header("host", "localhost")
        .body(streamed)
        .unwrap();
    // A streamed body has no declared length: the gateway finds out
    // mid-stream, answers 413 and closes (RFC 9110 15.5.14). A client
    // still writing may see the close before the answer.
    match c.send_request(req).await {
        Ok(r) => assert_eq!(collect(r).await.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(
            e.is_body_write_aborted()
                || e.is_closed()
                || e.is_incomplete_message()
                || format!("{e:?}").contains("BrokenPipe")
                || format!("{e:?}").contains("ConnectionReset"),
            "{e:?}"
        ),
    }
    if let Some(got) = store.received().first() {
        assert!(
            got.body.len() <= 100_000,
            "the store never gets more than the limit"
        );
    }
    let req = Request::post("/echo")
        .header("host", "localhost")
        .body(body(vec![3u8; 100_000]));
    let mut c = h1_client(gw.https, "localhost").await;
    let r = collect(c.send_request(req.unwrap()).await.unwrap()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.body().len(), 100_000);
}

#[tokio::test]
async fn bad_requests_get_a_clear_4xx() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    let raw = |text: &'static str| {
        let addr = gw.https;
        async move {
            let (mut tls, _, _) = tls_connect(addr, "localhost", &[b"http/1.1"]).await;
            tls.write_all(text.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out)).await;
            String::from_utf8_lossy(&out).into_owned()
        }
    };
    let cases = [
        ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "400"),
        (
            "GET / HTTP/1.1\r\nHost: localhost\r\nHost: other\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "GET / HTTP/1.1\r\nHost: bad host!\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "GET / HTTP/1.1\r\nHost: elsewhere.example\r\nConnection: close\r\n\r\n",
            "421",
        ),
        ("GET /a b HTTP/1.1\r\nHost: localhost\r\n\r\n", "400"),
        ("NOT HTTP AT ALL\r\n\r\n", "400"),
        (
            "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\nConnection: close\r\n\r\n",
            "405",
        ),
    ];
    for (text, status) in cases {
        let out = raw(text).await;
        assert!(
            out.starts_with(&format!("HTTP/1.1 {status}")),
            "{text:?} -> {out:?}"
        );
    }
    let mut many = String::from("GET / HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let out = raw(Box::leak(many.into_boxed_str())).await;
    assert!(out.starts_with("HTTP/1.1 431"), "{out:?}");
    assert!(
        store.received().is_empty(),
        "no bad request reaches the store"
    );

    assert!(tokio::task::spawn_blocking(move || gw.stop())
        .await
        .unwrap()
        .success());
    let data = dir.path().join("data");
    let (_, out, _) = run(&["events", "query", "--data", data.to_str().unwrap()]);
    assert!(out.contains("http.malformed"), "{out}");
    assert!(
        out.contains("status=421") && out.contains("no site serves host"),
        "{out}"
    );
}

#[tokio::test]
async fn admin_listener_serves_metrics_and_health() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    get(gw.https, "localhost", "/").await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    let admin = gw.admin.unwrap();
    let text = |path: &'static str| {
        let client = client.clone();
        async move {
            let r = client
                .get(format!("http://{admin}{path}").parse().unwrap())
                .await
                .unwrap();
            let status = r.status();
            (
                status,
                String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec())
                    .unwrap(),
            )
        }
    };
    let (status, health) = text("/healthz").await;
    assert_eq!((status.as_u16(), health.as_str()), (200, "ok\n"));
    let (_, metrics) = text("/metrics").await;
    for needle in [
        "rampart_requests_total{site=\"shop\",class=\"2xx\"} 1",
        "rampart_upstream_latency_seconds_count{site=\"shop\"} 1",
        "rampart_blocked_total{site=\"shop\"} 0",
        "rampart_active_connections",
        "rampart_events_dropped_total 0",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from {metrics}");
    }
}

#[tokio::test]
async fn sighup_reload_under_load_drops_nothing() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let base = config(store.addr, "");
    let gw = Rampart::start(dir.path(), &base);
    let addr = gw.https;
    let mut workers = Vec::new();
    for w in 0..16 {
        workers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut c = h1_client(addr, "localhost").await;
            for i in 0..150 {
                if i % 50 == 0 {
                    // Some fresh connections too.
                    c = h1_client(addr, "localhost").await;
                }
                let req = Request::post("/echo")
                    .header("host", "localhost")
                    .body(body(format!("w{w} r{i}")))
                    .unwrap();
                match c.send_request(req).await {
                    Ok(r) => {
                        let r = collect(r).await;
                        let ok = r.status() == 200 && r.body() == format!("w{w} r{i}").as_bytes();
                        statuses.push(if ok {
                            Ok(())
                        } else {
                            Err(format!("{} {:?}", r.status(), r.body()))
                        });
                    }
                    Err(e) => statuses.push(Err(e.to_string())),
                }
            }
            statuses
        }));
    }
    // Reload several times while the load runs, alternating a header.
    for round in 0..6 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        let policy = if round % 2 == 0 {
            "no-referrer"
        } else {
            "same-origin"
        };
        let text = base.clone() + &format!("headers = {{ referrer_policy = \"{policy}\" }}\n");
        std::fs::write(dir.path().join("rampart.toml"), text).unwrap();
        gw.signal(Signal::SIGHUP);
    }
    let mut failures = Vec::new();
    let mut total = 0;
    for w in workers {
        for s in w.await.unwrap() {
            total += 1;
            if let Err(e) = s {
                failures.push(e);
            }
        }
    }
    assert_eq!(total, 2400);
    assert!(
        failures.is_empty(),
        "{} of {total} failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    // The last configuration is in force.
    let mut policy = String::new();
    for _ in 0..50 {
        let r = get(addr, "localhost", "/").await;
        policy = r.headers()["referrer-policy"].to_str().unwrap().to_string();
        if policy == "same-origin" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(policy, "same-origin", "the last configuration is in force");
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_string();
    let query = || run(&["events", "query", "--kind", "config", "--data", &data_s]).1;
    let reloaded = eventually(5, || query().contains("config.reloaded")).await;
    assert!(reloaded, "{}", query());
    let status = gw.stop();
    assert!(status.success(), "SIGTERM is a clean exit: {status:?}");
}

#[tokio::test]
async fn replaced_certificate_files_are_served_without_restart() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (c1, k1) = openssl_cert(dir.path(), "one", "localhost");
    let (c2, k2) = openssl_cert(dir.path(), "two", "localhost");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::copy(&c1, &cert).unwrap();
    std::fs::copy(&k1, &key).unwrap();
    let text = config(store.addr, "").replace(
        "tls = { self_signed = true }",
        "tls = { cert = \"cert.pem\", key = \"key.pem\" }",
    );
    let gw = Rampart::start(dir.path(), &text);
    use rustls::pki_types::pem::PemObject;
    let der = |p: &std::path::Path| rustls::pki_types::CertificateDer::from_pem_file(p).unwrap();
    let (_, served, _) = tls_connect(gw.https, "localhost", &[]).await;
    assert_eq!(served, der(&c1));

    // A broken file: the old certificate stays, and an event says why.
    std::fs::write(
        &cert,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap().to_string();
    let failed = eventually(6, || {
        run(&[
            "events",
            "query",
            "--kind",
            "tls.cert_reload_failed",
            "--data",
            &data_s,
        ])
        .1
        .contains("cert.pem")
    })
    .await;
    assert!(failed, "a cert_reload_failed event");
    let (_, served, _) = tls_connect(gw.https, "localhost", &[]).await;
    assert_eq!(served, der(&c1));

    // Key first, then certificate, as a renewal script would.
    std::fs::copy(&k2, &key).unwrap();
    std::fs::copy(&c2, &cert).unwrap();
    let mut now = None;
    for _ in 0..60 {
        let (_, served, _) = tls_connect(gw.https, "localhost", &[]).await;
        if served == der(&c2) {
            now = Some(served);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        now.is_some(),
        "the new certificate is served within a few seconds"
    );
    let r = get(gw.https, "localhost", "/").await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    let addr = gw.https;
    let slow = tokio::spawn(async move {
        let mut c = h1_client(addr, "localhost").await;
        let req = Request::get("/slow")
            .header("host", "localhost")
            .body(empty())
            .unwrap();
        collect(c.send_request(req).await.unwrap()).await
    });
    assert!(eventually(5, || !store.received().is_empty()).await);
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || gw.stop())
        .await
        .unwrap();
    assert!(status.success());
    let r = slow.await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.body(), "late");
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "shutdown waited for the request"
    );
    // No new connections after shutdown.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_client_too_slow_to_send_its_headers_is_cut_off() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let text = config(store.addr, "").replace("data_dir", "header_read_timeout_ms = 300\ndata_dir");
    let gw = Rampart::start(dir.path(), &text);
    let (mut tls, _, _) = tls_connect(gw.https, "localhost", &[b"http/1.1"]).await;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: local")
        .await
        .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out)).await;
    assert!(read.is_ok(), "the gateway must close a slow connection");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(store.received().is_empty());
}
