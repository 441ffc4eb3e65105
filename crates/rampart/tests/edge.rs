//! Edge defenses end to end through the real binary: bans made by
//! `rampart bans` and by the jails are enforced at accept time (before
//! TLS), rate limits answer 429 with Retry-After to the client over its
//! limit only, slowloris connections are cut at the header timeout, the
//! per-address connection cap holds, deny files reload, and credential
//! stuffing and card testing against the demo shop end in bans. Source
//! addresses across 127.0.0.0/8 play the different clients.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::chromium::Chromium;
use common::shop::{is_challenge, start_demo, Shopper};
use common::*;
use http::{Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn edge_config(store: SocketAddr, edge: &str, extra_server: &str) -> String {
    config(store, "").replace(
        "data_dir = \"data\"\n",
        &format!("data_dir = \"data\"\n{extra_server}\n[edge]\n{edge}\n"),
    )
}

fn state(gw: &Rampart) -> Vec<String> {
    vec![
        "--config".into(),
        gw.dir.join("rampart.toml").display().to_string(),
    ]
}

fn rampart(gw: &Rampart, args: &[&str]) -> (i32, String, String) {
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(state(gw));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run(&refs)
}

// The proof-of-work page (`is_challenge`) is what a client without
// JavaScript (these tests' bots) gets once a jail counts half its
// threshold; not solving it counts as one more offence.

/// True when `src` can no longer open a connection (refused before TLS).
async fn refused(gw: &Rampart, src: &str) -> bool {
    get_from(gw.https, src, "/").await.is_err()
}

/// Waits up to `secs` for `src` to be refused; the time it took.
async fn until_refused(gw: &Rampart, src: &str, secs: u64) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if refused(gw, src).await {
            return Some(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Waits up to `secs` for `src` to be served again.
async fn until_served(gw: &Rampart, src: &str, secs: u64) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if let Ok(r) = get_from(gw.https, src, "/").await {
            if r.status() == 200 {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn events(gw: &Rampart, kind: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = rampart(gw, &["events", "query", "--kind", kind, "--json"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn eventually_events(gw: &Rampart, kind: &str, secs: u64) -> Vec<serde_json::Value> {
    let t = Instant::now();
    loop {
        let e = events(gw, kind);
        if !e.is_empty() || t.elapsed() > Duration::from_secs(secs) {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits up to `secs` for an event of `kind` that `wanted` accepts (events
/// are written by a background task, so one made after another may not be
/// stored yet): that event, or a panic listing what was stored.
async fn eventually_event_where(
    gw: &Rampart,
    kind: &str,
    secs: u64,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let e = events(gw, kind);
        if let Some(found) = e.iter().find(|e| wanted(e)) {
            return found.clone();
        }
        if t.elapsed() > Duration::from_secs(secs) {
            panic!("no such {kind} event within {secs} s: {e:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_made_by_hand_are_enforced_before_tls_and_lifted() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &edge_config(store.addr, "", ""));
    assert_eq!(
        get_from(gw.https, "127.0.0.2", "/").await.unwrap().status(),
        200
    );

    let (code, out, err) = rampart(
        &gw,
        &[
            "bans",
            "add",
            "127.0.0.2",
            "--for",
            "10m",
            "--reason",
            "seen skimming",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("banned 127.0.0.2 until"), "{out}");
    let took = until_refused(&gw, "127.0.0.2", 3)
        .await
        .expect("the ban is enforced by the running gateway");
    eprintln!("manual ban enforced after {took:?}");
    // The TCP connection is dropped: no handshake, no store request.
    let before = store.received().len();
    assert!(refused(&gw, "127.0.0.2").await);
    assert_eq!(store.received().len(), before);
    // Everyone else is served.
    assert_eq!(
        get_from(gw.https, "127.0.0.3", "/").await.unwrap().status(),
        200
    );

    let (code, out, _) = rampart(&gw, &["bans", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("127.0.0.2") && out.contains("seen skimming") && out.contains("manual"),
        "{out}"
    );
    let (_, json, _) = rampart(&gw, &["bans", "list", "--json"]);
    let ban: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(ban["target"], "127.0.0.2");
    let secs = (ban["until_ms"].as_i64().unwrap() - ban["created_ms"].as_i64().unwrap()) / 1000;
    assert_eq!(secs, 600);

    let (code, out, err) = rampart(&gw, &["bans", "remove", "127.0.0.2"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("lifted"));
    assert!(
        until_served(&gw, "127.0.0.2", 3).await,
        "lifted ban stops applying"
    );
    let (code, _, err) = rampart(&gw, &["bans", "remove", "127.0.0.2"]);
    assert_eq!(code, 1);
    assert!(err.contains("127.0.0.2 is not banned"), "{err}");
    let (_, out, _) = rampart(&gw, &["bans", "list"]);
    assert!(out.contains("no bans in force"), "{out}");
    let (_, out, _) = rampart(&gw, &["bans", "list", "--all"]);
    assert!(out.contains("127.0.0.2") && out.contains("ended"), "{out}");

    // Bad input: one line, exit 2, nothing stored.
    let (code, _, err) = rampart(&gw, &["bans", "add", "shop.example"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not an IP address or CIDR"), "{err}");
    let (code, _, err) = rampart(&gw, &["bans", "add", "127.0.0.9", "--for", "forever"]);
    assert_eq!(code, 2);
    assert!(err.contains("--for"), "{err}");
    // A network ban covers every address in it.
    let (code, _, _) = rampart(&gw, &["bans", "add", "127.0.5.0/24", "--for", "5m"]);
    assert_eq!(code, 0);
    assert!(until_refused(&gw, "127.0.5.77", 3).await.is_some());
    assert!(!refused(&gw, "127.0.6.1").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_to_the_client_over_its_limit_only() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = "allow = [\"127.0.0.60\"]\n\
                [edge.limits]\n\
                all = { per_minute = 60, burst = 5 }\n\
                search = { per_minute = 6, burst = 2 }\n";
    let gw = Rampart::start(dir.path(), &edge_config(store.addr, edge, ""));

    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..10 {
        let r = get_from(gw.https, "127.0.0.10", "/").await.unwrap();
        if r.status() == 429 {
            retry_after = r.headers().get("retry-after").cloned();
            assert!(String::from_utf8_lossy(r.body()).contains("Too many requests"));
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[200; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let wait: u64 = retry_after.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");

    // Another address has its own budget; the allow-listed one has none.
    for _ in 0..5 {
        assert_eq!(
            get_from(gw.https, "127.0.0.11", "/")
                .await
                .unwrap()
                .status(),
            200
        );
    }
    for _ in 0..12 {
        assert_eq!(
            get_from(gw.https, "127.0.0.60", "/")
                .await
                .unwrap()
                .status(),
            200
        );
    }
    // The search class is tighter than the overall limit.
    let search: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(
                get_from(gw.https, "127.0.0.12", "/search?q=tea")
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        v
    };
    assert_eq!(search, vec![200, 200, 429, 429]);

    let limited = eventually_events(&gw, "edge.rate_limited", 5).await;
    assert!(!limited.is_empty());
    let e = &limited[0];
    assert_eq!(e["client_ip"], "127.0.0.10");
    assert_eq!(e["status"], 429);
    assert_eq!(e["data"]["class"], "all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanning_and_waf_hits_end_in_escalating_bans() {
    let crs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = "[edge.jails]\n\
                not_found = { threshold = 5, window_s = 60, ban_s = 60 }\n\
                waf_blocks = { threshold = 3, window_s = 60, ban_s = 60 }\n";
    let text = edge_config(store.addr, edge, "")
        + &format!("\n[site.waf]\ncrs = {:?}\n", crs.display().to_string());
    // [site.waf] belongs to the site: put it right after it.
    let gw = Rampart::start(dir.path(), &text);

    // A scanner walking paths that do not exist: 404s, then (half-way
    // to the threshold) the challenge it cannot solve.
    for i in 0..5 {
        let r = get_from(gw.https, "127.0.0.20", &format!("/not-found/{i}.php"))
            .await
            .unwrap();
        if i < 3 {
            assert_eq!(r.status(), 404);
        } else {
            assert!(is_challenge(&r), "{}", r.status());
        }
    }
    assert!(
        until_refused(&gw, "127.0.0.20", 3).await.is_some(),
        "five 404s within the window ban the scanner"
    );
    assert_eq!(
        get_from(gw.https, "127.0.0.22", "/")
            .await
            .unwrap()
            .status(),
        200
    );
    let bans = eventually_events(&gw, "edge.ban", 5).await;
    assert!(
        bans.iter().any(|b| b["client_ip"] == "127.0.0.20"
            && b["data"]["source"] == "not_found"
            && b["data"]["seconds"] == 60),
        "{bans:?}"
    );

    // Attacks the WAF blocks.
    for _ in 0..3 {
        let r = get_from(
            gw.https,
            "127.0.0.21",
            "/?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E",
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 403);
    }
    assert!(until_refused(&gw, "127.0.0.21", 3).await.is_some());

    // A repeat offender's second ban lasts twice as long.
    let (code, _, _) = rampart(&gw, &["bans", "remove", "127.0.0.20"]);
    assert_eq!(code, 0);
    assert!(until_served(&gw, "127.0.0.20", 3).await);
    for i in 0..5 {
        let _ = get_from(gw.https, "127.0.0.20", &format!("/not-found/again-{i}")).await;
    }
    assert!(until_refused(&gw, "127.0.0.20", 3).await.is_some());
    let t = Instant::now();
    let ban = loop {
        let (_, json, _) = rampart(&gw, &["bans", "list", "--json"]);
        let found = json
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|b| b["target"] == "127.0.0.20" && b["offenses"] == 2);
        if let Some(b) = found {
            break b;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{json}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let secs = (ban["until_ms"].as_i64().unwrap() - ban["created_ms"].as_i64().unwrap()) / 1000;
    assert_eq!(secs, 120);
    assert_eq!(ban["source"], "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_is_cut_at_the_header_timeout_and_the_connection_cap_holds() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(
        dir.path(),
        &edge_config(
            store.addr,
            "max_connections_per_ip = 20\n",
            "header_read_timeout_ms = 1000\n",
        ),
    );
    // 200 slow clients, each from its own address: TLS, then a request
    // head that never ends (one header line every 300 ms).
    let mut slow = Vec::new();
    for i in 0..200u32 {
        let src = format!("127.0.1.{}", i % 250 + 1);
        let src = if i >= 250 {
            format!("127.0.2.{}", i - 249)
        } else {
            src
        };
        let addr = gw.https;
        slow.push(tokio::spawn(async move {
            let mut tls = tls_connect_from(addr, src.parse().unwrap()).await.ok()?;
            let started = Instant::now();
            tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
                .await
                .ok()?;
            let mut buf = [0u8; 512];
            // 50 lines: under the header count and size limits, so only
            // the header timeout can end this before the client gives up.
            for n in 0..50 {
                let line = format!("X-Slow-{n}: a\r\n");
                if tls.write_all(line.as_bytes()).await.is_err() {
                    return Some(started.elapsed());
                }
                match tokio::time::timeout(Duration::from_millis(300), tls.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                    Ok(Ok(_)) => {
                        // An answer (408) then close: also cut.
                        return Some(started.elapsed());
                    }
                    Err(_) => {}
                }
            }
            None
        }));
    }
    // Meanwhile a customer is served, every time.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ok = 0;
    for _ in 0..20 {
        if get_from(gw.https, "127.0.0.2", "/")
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 20,
        "the customer is served while 200 slow clients hang on"
    );
    let mut cut = Vec::new();
    for s in slow {
        cut.push(s.await.unwrap().expect("every slow connection is cut"));
    }
    eprintln!(
        "slowloris: longest connection lasted {:?}",
        cut.iter().max().unwrap()
    );

    // One address may hold 20 connections; the 21st is dropped.
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(
            tls_connect_from(gw.https, "127.0.3.1".parse().unwrap())
                .await
                .unwrap(),
        );
    }
    assert!(tls_connect_from(gw.https, "127.0.3.1".parse().unwrap())
        .await
        .is_err());
    assert!(get_from(gw.https, "127.0.3.2", "/").await.is_ok());
    drop(held);
    assert!(
        until_served(&gw, "127.0.3.1", 5).await,
        "slots free when connections close"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_files_reload_and_a_bad_file_keeps_the_list() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let deny = dir.path().join("deny.txt");
    std::fs::write(&deny, "# scanners\n127.0.0.50\n").unwrap();
    let gw = Rampart::start(
        dir.path(),
        &edge_config(
            store.addr,
            "deny_file = \"deny.txt\"\ndeny = [\"127.0.7.0/24\"]\n",
            "",
        ),
    );
    assert!(refused(&gw, "127.0.0.50").await);
    assert!(refused(&gw, "127.0.7.9").await);
    assert!(!refused(&gw, "127.0.0.51").await);

    std::fs::write(&deny, "127.0.0.51 # moved\n").unwrap();
    assert!(until_refused(&gw, "127.0.0.51", 5).await.is_some());
    assert!(until_served(&gw, "127.0.0.50", 5).await);

    std::fs::write(&deny, "127.0.0.52\nnot-an-address\n").unwrap();
    let errors = eventually_events(&gw, "edge.list_error", 5).await;
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("deny.txt:2"),
        "{errors:?}"
    );
    // The previous list stays in force.
    assert!(refused(&gw, "127.0.0.51").await);
    assert!(!refused(&gw, "127.0.0.52").await);

    // A bad list at start is a clear start error.
    let (code, _, err) = run(&[
        "config",
        "check",
        &gw.dir.join("rampart.toml").display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
}

// ---------------------------------------------------------------------------
// Against the demo shop.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_and_card_testing_against_the_demo_end_in_bans() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let demo = start_demo(&data);

    // Credential stuffing from one address: ten failed logins (the demo's
    // default jail) and it is banned.
    let mut bot = Shopper::new(demo.https, "127.0.0.30");
    for i in 0..10 {
        let r = bot
            .failed_login(&format!("customer{i}@example.com"))
            .await
            .unwrap();
        if i < 5 {
            assert_eq!(r.status(), 200);
            assert!(String::from_utf8_lossy(r.body()).contains("Invalid email or password."));
        } else {
            // Half-way: the challenge, which the bot cannot solve.
            assert!(is_challenge(&r), "{}", r.status());
        }
    }
    let t = Instant::now();
    let banned = loop {
        if bot.send("GET", "/", None).await.is_err() {
            break true;
        }
        if t.elapsed() > Duration::from_secs(3) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(banned, "ten failed logins ban the address");

    // One account attacked from many addresses: twenty failures, one per
    // address, ban them all.
    for i in 0..20 {
        let mut b = Shopper::new(demo.https, &format!("127.0.8.{}", i + 1));
        let r = b.failed_login("Owner@Example.com").await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let mut all_banned = true;
    for i in 0..20 {
        let src = format!("127.0.8.{}", i + 1);
        let t = Instant::now();
        loop {
            if get_from(demo.https, &src, "/").await.is_err() {
                break;
            }
            if t.elapsed() > Duration::from_secs(3) {
                all_banned = false;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert!(
        all_banned,
        "every address in the distributed attack on one account is banned"
    );

    // Card testing: declined cards at checkout, four times.
    let mut tester = Shopper::new(demo.https, "127.0.0.31");
    let token = tester.csrf("/product/colombia-huila").await.unwrap();
    let r = tester
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
    for i in 0..4 {
        let token = match tester.csrf("/checkout").await {
            Ok(t) => t,
            Err(challenge) => {
                assert!(i >= 2, "challenged after two declines, not {i}");
                assert!(is_challenge(&challenge));
                continue;
            }
        };
        let r = tester
            .post(
                "/checkout",
                &[
                    ("csrf_token", &token),
                    ("email", "guest@example.com"),
                    ("ship_name", "Gwen Guest"),
                    ("ship_address", "3 Place Bellecour"),
                    ("ship_postcode", "69002"),
                    ("ship_city", "Lyon"),
                    ("ship_country", "France"),
                    ("card_name", "Gwen Guest"),
                    ("card_number", "4000000000000002"),
                    ("card_exp", "12/30"),
                    ("card_cvc", "123"),
                ],
            )
            .await
            .unwrap();
        assert_eq!(r.status(), 402, "{}", String::from_utf8_lossy(r.body()));
    }
    let t = Instant::now();
    let banned = loop {
        if tester.send("GET", "/", None).await.is_err() {
            break true;
        }
        if t.elapsed() > Duration::from_secs(3) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(banned, "four declined payments ban the card tester");

    // A real customer was never affected.
    let mut customer = Shopper::new(demo.https, "127.0.0.32");
    assert_eq!(customer.send("GET", "/", None).await.unwrap().status(), 200);

    // The bans are stored by a background task: read until all three
    // are there (bounded).
    let expected = [
        ("127.0.0.30", "login_failures"),
        ("127.0.0.31", "payment_declines"),
        ("127.0.8.7", "account_failures"),
    ];
    let t = Instant::now();
    let sources = loop {
        let (code, json, err) = run(&[
            "bans",
            "list",
            "--json",
            "--data",
            &data.display().to_string(),
        ]);
        assert_eq!(code, 0, "{err}");
        let sources: Vec<(String, String)> = json
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|b| {
                (
                    b["target"].as_str().unwrap().to_string(),
                    b["source"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let all = expected
            .iter()
            .all(|(t, s)| sources.contains(&(t.to_string(), s.to_string())));
        if all || t.elapsed() > Duration::from_secs(10) {
            break sources;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if !expected
        .iter()
        .all(|(t, s)| sources.contains(&(t.to_string(), s.to_string())))
    {
        // Which bans the gateway says it could not store, and why.
        let (_, events, _) = run(&[
            "events",
            "query",
            "--kind",
            "edge",
            "--data",
            &data.display().to_string(),
        ]);
        panic!("stored bans {sources:?}\nedge events:\n{events}");
    }
    assert!(!sources.iter().any(|(t, _)| t == "127.0.0.32"));
    drop(demo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_on_one_node_is_enforced_by_another_sharing_postgres() {
    let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES") else {
        eprintln!("RAMPART_TEST_POSTGRES not set: skipped");
        return;
    };
    let store = Store::start().await;
    // Addresses of this run only (the database outlives test runs).
    let n = std::process::id();
    let src = format!("127.{}.{}.9", 100 + n % 100, (n / 100) % 250 + 1);
    let edge = "[edge.jails]\nnot_found = { threshold = 3, window_s = 60, ban_s = 30 }\n";
    let server = format!("database = {url:?}\n");
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = Rampart::start(dir_a.path(), &edge_config(store.addr, edge, &server));
    let b = Rampart::start(dir_b.path(), &edge_config(store.addr, edge, &server));
    assert!(!refused(&b, &src).await);
    for i in 0..3 {
        let r = get_from(a.https, &src, &format!("/not-found/{i}"))
            .await
            .unwrap();
        assert!(r.status() == 404 || is_challenge(&r), "{}", r.status());
    }
    assert!(until_refused(&a, &src, 3).await.is_some());
    let took = until_refused(&b, &src, 3)
        .await
        .expect("the other node enforces the ban");
    eprintln!("ban seen by the second node after {took:?}");
    let (code, _, _) = rampart(&b, &["bans", "remove", &src]);
    assert_eq!(code, 0);
    assert!(until_served(&a, &src, 3).await);
    assert!(until_served(&b, &src, 3).await);
}

// ---------------------------------------------------------------------------
// Several nodes through Redis.

/// A private `redis-server` on a free loopback port, so the test can stop
/// and restart it without touching the shared one.
struct PrivateRedis {
    child: Option<std::process::Child>,
    port: u16,
}

impl PrivateRedis {
    fn start(port: Option<u16>) -> Option<PrivateRedis> {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(PrivateRedis {
                    child: Some(child),
                    port,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn cluster_config(store: SocketAddr, redis: &str, prefix: &str, edge: &str) -> String {
    edge_config(store, edge, "").replace(
        "[edge]\n",
        &format!("[cluster]\nredis = {redis:?}\nprefix = {prefix:?}\n\n[edge]\n"),
    )
}

/// A's and B's answers to `n` requests from `src`, alternating nodes.
async fn alternate(a: &Rampart, b: &Rampart, src: &str, n: usize) -> Vec<std::io::Result<u16>> {
    let mut out = Vec::new();
    for i in 0..n {
        let gw = if i % 2 == 0 { a } else { b };
        out.push(
            get_from(gw.https, src, "/")
                .await
                .map(|r| r.status().as_u16()),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_bans_and_limits_through_redis() {
    let Ok(url) = std::env::var("RAMPART_TEST_REDIS") else {
        eprintln!("RAMPART_TEST_REDIS not set: skipped");
        return;
    };
    let store = Store::start().await;
    let prefix = format!("rampart-test-{}-{}", std::process::id(), bans_now());
    let edge = "[edge.limits]\nall = { per_minute = 60, burst = 6 }\n\
                [edge.jails]\nnot_found = { threshold = 3, window_s = 60, ban_s = 30 }\n";
    // Separate data directories: only Redis joins the two nodes.
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Rampart::start(da.path(), &cluster_config(store.addr, &url, &prefix, edge));
    let b = Rampart::start(db.path(), &cluster_config(store.addr, &url, &prefix, edge));
    tokio::time::sleep(Duration::from_millis(700)).await;

    // One budget for both nodes: 6 requests, not 6 on each.
    let answers = alternate(&a, &b, "127.0.9.5", 12).await;
    let ok = answers.iter().filter(|r| matches!(r, Ok(200))).count();
    let limited = answers.iter().filter(|r| matches!(r, Ok(429))).count();
    assert_eq!(ok + limited, 12, "{answers:?}");
    assert!(
        (6..=7).contains(&ok),
        "the global limit holds across both nodes: {answers:?}"
    );

    // A ban made on A (three 404s) is enforced by B.
    for i in 0..3 {
        let r = get_from(a.https, "127.0.9.6", &format!("/not-found/{i}"))
            .await
            .unwrap();
        assert!(r.status() == 404 || is_challenge(&r), "{}", r.status());
    }
    assert!(until_refused(&a, "127.0.9.6", 3).await.is_some());
    let took = until_refused(&b, "127.0.9.6", 3)
        .await
        .expect("B enforces A's ban");
    eprintln!("ban made on A enforced by B after {took:?} (poll 500 ms)");
    // Lifting it through one node's configuration lifts it on both.
    let (code, _, err) = rampart(&b, &["bans", "remove", "127.0.9.6"]);
    assert_eq!(code, 0, "{err}");
    assert!(until_served(&a, "127.0.9.6", 3).await);
    assert!(until_served(&b, "127.0.9.6", 3).await);
    // And a ban by hand on B reaches A.
    let (code, _, err) = rampart(&b, &["bans", "add", "127.0.9.7", "--for", "1m"]);
    assert_eq!(code, 0, "{err}");
    assert!(until_refused(&a, "127.0.9.7", 3).await.is_some());
}

fn bans_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_loses_no_request_and_keeps_known_bans() {
    let Some(mut redis) = PrivateRedis::start(None) else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let store = Store::start().await;
    let edge = "[edge.limits]\nall = { per_minute = 600, burst = 20 }\n\
                [edge.jails]\nnot_found = { threshold = 3, window_s = 60, ban_s = 60 }\n";
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Rampart::start(
        da.path(),
        &cluster_config(store.addr, &url, "rampart", edge),
    );
    let b = Rampart::start(
        db.path(),
        &cluster_config(store.addr, &url, "rampart", edge),
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    for i in 0..3 {
        let _ = get_from(a.https, "127.0.9.20", &format!("/not-found/{i}")).await;
    }
    assert!(until_refused(&b, "127.0.9.20", 3).await.is_some());

    // Redis goes away mid-traffic: every request is still answered.
    let mut answers = alternate(&a, &b, "127.0.9.21", 6).await;
    redis.stop();
    answers.extend(alternate(&a, &b, "127.0.9.21", 14).await);
    assert!(
        answers.iter().all(|r| matches!(r, Ok(200))),
        "no request lost while Redis is down: {answers:?}"
    );
    // The ban B learnt from Redis stays in force.
    assert!(refused(&b, "127.0.9.20").await);
    let down = eventually_events(&a, "edge.cluster_unreachable", 5).await;
    assert!(!down.is_empty());
    // Jails keep working on each node alone.
    for i in 0..3 {
        let _ = get_from(b.https, "127.0.9.22", &format!("/not-found/{i}")).await;
    }
    assert!(until_refused(&b, "127.0.9.22", 3).await.is_some());

    // Redis is back: the nodes reconnect by themselves.
    let _redis = PrivateRedis::start(Some(redis.port)).expect("redis-server restarts");
    let back = eventually_events(&a, "edge.cluster_restored", 10).await;
    assert!(!back.is_empty(), "A reconnects to Redis");
}

// ---------------------------------------------------------------------------
// The proof-of-work challenge, solved by headless Chromium
// (tests/common/chromium.rs).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenge_is_solved_by_a_browser_and_stops_scripts() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = "[edge.challenge]\nunder_attack = true\n";
    let gw = Rampart::start(dir.path(), &edge_config(store.addr, edge, ""));

    // A client without JavaScript gets the page, and the store nothing.
    let r = get_from(gw.https, "127.0.0.1", "/products?page=2")
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-rampart-challenge"], "proof-of-work");
    assert!(String::from_utf8_lossy(r.body()).contains("One moment, please"));
    assert!(store.received().is_empty());
    // A forged answer is refused.
    let r = get_from(
        gw.https,
        "127.0.0.1",
        "/.rampart/challenge?token=v1.9999999999.00.00&n=1&next=/",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
    // API routes are never challenged.
    assert_eq!(
        get_from(gw.https, "127.0.0.1", "/api/cart")
            .await
            .unwrap()
            .status(),
        200
    );

    // A browser solves it and lands on the page it asked for.
    let mut browser = Chromium::start().await;
    let url = format!("https://localhost:{}/products?page=2", gw.https.port());
    let started = Instant::now();
    browser
        .call("Page.navigate", serde_json::json!({ "url": url }))
        .await;
    let mut text = String::new();
    while started.elapsed() < Duration::from_secs(60) {
        text = browser
            .eval("document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or("")
            .to_string();
        if text.contains("hello from the store") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        text.contains("hello from the store"),
        "browser stuck on: {text}"
    );
    eprintln!(
        "Chromium solved the challenge and reached the store in {:?}",
        started.elapsed()
    );
    let pages = |store: &Store| -> Vec<String> {
        store
            .received()
            .into_iter()
            .map(|r| r.uri)
            .filter(|u| u != "/favicon.ico" && u != "/api/cart")
            .collect()
    };
    assert_eq!(pages(&store), vec!["/products?page=2".to_string()]);
    // The pass cookie is Rampart's: the store never sees it.
    for r in store.received() {
        let cookie = r
            .headers
            .get("cookie")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(!cookie.contains("rampart_pass"), "{cookie}");
    }
    // And the browser keeps its pass for the next pages.
    browser
        .call(
            "Page.navigate",
            serde_json::json!({ "url": format!("https://localhost:{}/second", gw.https.port()) }),
        )
        .await;
    let t = Instant::now();
    while pages(&store).len() < 2 && t.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        pages(&store),
        vec!["/products?page=2".to_string(), "/second".to_string()]
    );
    assert!(!eventually_events(&gw, "edge.challenge_passed", 5)
        .await
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_a_jail_counts_is_challenged_before_it_is_banned() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let edge = "[edge.jails]\nnot_found = { threshold = 10, window_s = 60, ban_s = 60 }\n";
    let gw = Rampart::start(dir.path(), &edge_config(store.addr, edge, ""));
    for i in 0..4 {
        let r = get_from(gw.https, "127.0.0.40", &format!("/not-found/{i}"))
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    assert_eq!(
        get_from(gw.https, "127.0.0.40", "/")
            .await
            .unwrap()
            .status(),
        200
    );
    let r = get_from(gw.https, "127.0.0.40", "/not-found/5")
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Half the threshold: the next page is the challenge.
    let r = get_from(gw.https, "127.0.0.40", "/").await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-rampart-challenge"], "proof-of-work");
    // Others are not.
    assert_eq!(
        get_from(gw.https, "127.0.0.41", "/")
            .await
            .unwrap()
            .status(),
        200
    );
    // Each unsolved challenge counts: at the threshold, the ban.
    for _ in 0..4 {
        let r = get_from(gw.https, "127.0.0.40", "/").await.unwrap();
        assert!(is_challenge(&r));
    }
    assert!(until_refused(&gw, "127.0.0.40", 3).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_post_is_cut_while_a_normal_upload_goes_through() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(
        dir.path(),
        &edge_config(
            store.addr,
            "",
            "body_timeout_ms = 1000\nbody_min_rate = 1000\n",
        ),
    );
    // Ten bytes every 300 ms of a declared 100 kB: far under 1000 B/s.
    let mut tls = tls_connect_from(gw.https, "127.0.0.70".parse().unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    tls.write_all(
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    'outer: for _ in 0..100 {
        if tls.write_all(b"aaaaaaaaaa").await.is_err() {
            break;
        }
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(50), tls.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break 'outer,
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break 'outer;
                    }
                }
                Err(_) => {}
            }
        }
    }
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?} after {took:?}");
    eprintln!("slow POST answered 408 after {took:?}");

    // A normal upload from another client is untouched.
    let body_bytes = pattern(50_000);
    let req = Request::post("/echo")
        .header("host", "localhost")
        .body(body(body_bytes.clone()))
        .unwrap();
    let r = request_from(gw.https, "127.0.0.71".parse().unwrap(), req)
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.body().as_ref(), &body_bytes[..]);
}

/// `GET path` from 127.0.0.1 through a connection that starts with
/// `proxy_header` (what a load balancer speaking the PROXY protocol sends).
async fn get_via_proxy_protocol(
    gw: &Rampart,
    proxy_header: &[u8],
    path: &str,
) -> std::io::Result<Response<Bytes>> {
    use hyper_util::rt::TokioIo;
    let mut tcp = tokio::net::TcpStream::connect(gw.https).await?;
    tcp.write_all(proxy_header).await?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier = std::sync::Arc::new(AnyCert {
        seen: std::sync::Mutex::new(None),
        provider: provider.clone(),
    });
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
    let name = rustls::pki_types::ServerName::try_from("localhost".to_string()).unwrap();
    let tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", "localhost")
        .body(empty())
        .unwrap();
    let r = send
        .send_request(req)
        .await
        .map_err(std::io::Error::other)?;
    Ok(collect(r).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_protocol_names_the_client_only_from_a_trusted_proxy() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(
        dir.path(),
        &edge_config(
            store.addr,
            "",
            "trusted_proxies = [\"127.0.0.1\"]\nproxy_protocol = true\n",
        ),
    );
    let last_xff = |store: &Store| {
        store.received().last().unwrap().headers["x-forwarded-for"]
            .to_str()
            .unwrap()
            .to_string()
    };
    // v1 from the trusted load balancer: the client is the header's.
    let r = get_via_proxy_protocol(&gw, b"PROXY TCP4 203.0.113.9 127.0.0.1 40000 443\r\n", "/")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(last_xff(&store), "203.0.113.9");
    // v2 (binary), IPv6.
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    v2.extend([0x21, 0x21, 0, 36]);
    v2.extend(
        "2001:db8::42"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    v2.extend(std::net::Ipv6Addr::LOCALHOST.octets());
    v2.extend([0x9c, 0x40, 1, 187]);
    let r = get_via_proxy_protocol(&gw, &v2, "/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(last_xff(&store), "2001:db8::42");
    // A ban on the real client holds behind the load balancer.
    let (code, _, err) = rampart(&gw, &["bans", "add", "203.0.113.9", "--for", "5m"]);
    assert_eq!(code, 0, "{err}");
    let t = Instant::now();
    let mut refused_now = false;
    while t.elapsed() < Duration::from_secs(3) {
        if get_via_proxy_protocol(&gw, b"PROXY TCP4 203.0.113.9 127.0.0.1 40001 443\r\n", "/")
            .await
            .is_err()
        {
            refused_now = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        refused_now,
        "the banned client is dropped after its PROXY header"
    );
    let r = get_via_proxy_protocol(&gw, b"PROXY TCP4 203.0.113.10 127.0.0.1 40002 443\r\n", "/")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The trusted proxy must send the header; a direct client may not
    // claim an address with one.
    assert!(get_via_proxy_protocol(&gw, b"", "/").await.is_err());
    let r = get_from(gw.https, "127.0.0.2", "/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(last_xff(&store), "127.0.0.2");
    let mut forged = tls_connect_from(gw.https, "127.0.0.3".parse().unwrap()).await;
    if let Ok(tls) = forged.as_mut() {
        // Only TLS is spoken to an untrusted peer: the header is no TLS.
        let _ = tls
            .write_all(b"PROXY TCP4 198.51.100.1 127.0.0.1 1 443\r\n")
            .await;
    }
    assert!(!store.received().iter().any(|r| r
        .headers
        .get("x-forwarded-for")
        .is_some_and(|v| v == "198.51.100.1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_over_its_request_budget_is_answered_429_and_closed() {
    use hyper_util::rt::TokioIo;
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(
        dir.path(),
        &edge_config(
            store.addr,
            "connection_rate = { per_second = 1, burst = 5 }\n",
            "",
        ),
    );
    let tls = tls_connect_from(gw.https, "127.0.0.80".parse().unwrap())
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        if send.ready().await.is_err() {
            break;
        }
        let req = Request::get("/")
            .header("host", "localhost")
            .body(empty())
            .unwrap();
        match send.send_request(req).await {
            Ok(r) => {
                let closing = r.headers().get("connection").is_some_and(|v| v == "close");
                statuses.push(r.status().as_u16());
                if closing {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429], "{statuses:?}");
    // A new connection has a new budget.
    assert_eq!(
        get_from(gw.https, "127.0.0.80", "/")
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_many_addresses_is_limited_while_a_customer_is_served() {
    use hyper_util::rt::TokioIo;
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(
        dir.path(),
        &edge_config(
            store.addr,
            "[edge.limits]\nall = { per_minute = 120, burst = 10 }\n",
            "",
        ),
    );
    // 40 addresses, 40 requests each on a keep-alive connection, all at
    // once: 1,600 requests, bounded.
    let https = gw.https;
    let mut flood = Vec::new();
    for i in 1..=40u8 {
        flood.push(tokio::spawn(async move {
            let src = format!("127.0.10.{i}").parse().unwrap();
            let (mut ok, mut limited) = (0u32, 0u32);
            let Ok(tls) = tls_connect_from(https, src).await else {
                return (ok, limited);
            };
            let Ok((mut send, conn)) =
                hyper::client::conn::http1::handshake(TokioIo::new(tls)).await
            else {
                return (ok, limited);
            };
            tokio::spawn(conn);
            for _ in 0..40 {
                if send.ready().await.is_err() {
                    break;
                }
                let req = Request::get("/flood")
                    .header("host", "localhost")
                    .body(empty())
                    .unwrap();
                match send.send_request(req).await {
                    Ok(r) if r.status() == 200 => ok += 1,
                    Ok(r) if r.status() == 429 => limited += 1,
                    _ => break,
                }
            }
            (ok, limited)
        }));
    }
    // Meanwhile a customer browses at a human pace (a page every 700 ms,
    // within the limit of 2 a second) from its own address.
    let mut served = 0;
    let mut asked = 0;
    while flood.iter().any(|f| !f.is_finished()) || asked < 8 {
        asked += 1;
        if let Ok(r) = get_from(gw.https, "127.0.0.90", "/customer").await {
            if r.status() == 200 {
                served += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        if asked > 60 {
            break;
        }
    }
    let (mut ok, mut limited) = (0, 0);
    for f in flood {
        let (o, l) = f.await.unwrap();
        ok += o;
        limited += l;
    }
    eprintln!("flood: {ok} served, {limited} limited; customer: {served}/{asked} served");
    assert!(ok + limited >= 1500, "the flood ran: {ok} + {limited}");
    assert!(
        ok <= 40 * 12,
        "each flooding address gets about its burst: {ok}"
    );
    assert!(
        served * 100 >= asked * 99,
        "the customer's success rate stays at or above 99%: {served}/{asked}"
    );
}

/// `POST /echo` to `host` from `src` with a 20-byte body sent as 10
/// bytes, a pause of `pause`, and the other 10: the answer's status line.
async fn post_with_pause(gw: &Rampart, src: &str, host: &str, pause: Duration) -> String {
    let mut tls = tls_connect_from(gw.https, src.parse().unwrap())
        .await
        .unwrap();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\nContent-Length: 20\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(b"aaaaaaaaaa").await.unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(pause).await;
    // The gateway may have answered and closed already.
    let _ = tls.write_all(b"bbbbbbbbbb").await;
    let _ = tls.flush().await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_has_limits_of_its_own() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    // "shop" keeps the [edge] limits; "outlet" has a tighter overall
    // limit and a short body timeout of its own.
    let sites = format!(
        "\n[[site]]\nname = \"outlet\"\nhosts = [\"outlet.test\"]\n\
         upstream = \"http://{}\"\ntls = {{ self_signed = true }}\n\
         [site.limits]\nall = {{ per_minute = 60, burst = 3 }}\n\
         body_timeout_ms = 300\nbody_min_rate = 1000\n",
        store.addr
    );
    let edge = "[edge.limits]\nall = { per_minute = 600, burst = 50 }\n";
    let cfg = edge_config(store.addr, edge, "") + &sites;
    let gw = Rampart::start(dir.path(), &cfg);

    let get = |host: &'static str| async move {
        let req = Request::get("/")
            .header("host", host)
            .body(empty())
            .unwrap();
        request_from(gw.https, "127.0.0.80".parse().unwrap(), req)
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let mut outlet = Vec::new();
    for _ in 0..5 {
        outlet.push(get("outlet.test").await);
    }
    assert_eq!(outlet, vec![200, 200, 200, 429, 429]);
    // The same address is within the shared limit on the other site.
    for _ in 0..5 {
        assert_eq!(get("localhost").await, 200);
    }
    let limited = eventually_events(&gw, "edge.rate_limited", 5).await;
    assert_eq!(limited[0]["site"], "outlet");
    assert_eq!(limited[0]["data"]["site_limit"], true);

    // A one-second pause in a 20-byte body: over the outlet's 300 ms,
    // within the server's 20 s.
    let pause = Duration::from_secs(1);
    let line = post_with_pause(&gw, "127.0.0.81", "outlet.test", pause).await;
    assert!(line.starts_with("HTTP/1.1 408"), "{line:?}");
    let line = post_with_pause(&gw, "127.0.0.82", "localhost", pause).await;
    assert!(line.starts_with("HTTP/1.1 200"), "{line:?}");

    // Rate limits in [site.limits] need [edge].
    let bad = config(store.addr, "[site.limits]\nlogin = { per_minute = 5 }\n");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let (code, _, err) = run(&[
        "config",
        "check",
        dir.path().join("bad.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("need the edge defenses"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_login_and_payment_rules_feed_the_jails_and_a_session_is_counted_across_addresses() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    // A store without a preset: the operator says where its login and
    // payment are and how a failure shows (the test store echoes the
    // form back, so the answer holds what the form said).
    let edge = "session_cookies = [\"sid\"]\n\
                [[edge.login]]\nmethod = \"POST\"\npath = \"/echo\"\nquery = [\"login=1\"]\n\
                body = [\"password=wrong\"]\n\
                [[edge.payment]]\nmethod = \"POST\"\npath = \"/echo\"\nquery = [\"pay=1\"]\n\
                body = [\"result=declined\"]\n\
                [edge.jails]\n\
                login_failures = { threshold = 3, window_s = 60, ban_s = 60 }\n\
                account_failures = { enabled = false }\n\
                payment_declines = { threshold = 50, window_s = 60, ban_s = 60 }\n\
                session_declines = { threshold = 3, window_s = 60, ban_s = 60 }\n\
                [edge.challenge]\nsuspicious = false\n\
                [edge.limits]\nall = { per_minute = 6000, burst = 500 }\n\
                checkout = { per_minute = 6000, burst = 500 }\n\
                login = { per_minute = 6000, burst = 500 }\n";
    let gw = Rampart::start(dir.path(), &edge_config(store.addr, edge, ""));
    let post = |src: &'static str, path: &'static str, form: String, cookie: &'static str| async move {
        let req = Request::post(path)
            .header("host", "localhost")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(body(form))
            .unwrap();
        request_from(gw.https, src.parse().unwrap(), req).await
    };

    // Successful logins are not counted; the third failure bans.
    for _ in 0..4 {
        let ok = form_encode(&[("email", "a@example.com"), ("password", "right")]);
        assert_eq!(
            post("127.0.0.90", "/echo?login=1", ok, "")
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert!(!refused(&gw, "127.0.0.90").await);
    for _ in 0..3 {
        let bad = form_encode(&[("email", "a@example.com"), ("password", "wrong")]);
        assert_eq!(
            post("127.0.0.90", "/echo?login=1", bad, "")
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert!(until_refused(&gw, "127.0.0.90", 5).await.is_some());

    // Card testing from three addresses in one store session: each has
    // one decline only (under payment_declines), the session has three.
    // A customer with a declined card in another session is left alone.
    let declined = || form_encode(&[("card", "tok_x"), ("result", "declined")]);
    assert_eq!(
        post("127.0.0.95", "/echo?pay=1", declined(), "sid=customer")
            .await
            .unwrap()
            .status(),
        200
    );
    for src in ["127.0.0.91", "127.0.0.92", "127.0.0.93"] {
        let r = post(
            src,
            "/echo?pay=1",
            declined(),
            "theme=dark; sid=carding-run",
        )
        .await;
        assert_eq!(r.unwrap().status(), 200);
    }
    for src in ["127.0.0.91", "127.0.0.92", "127.0.0.93"] {
        assert!(until_refused(&gw, src, 5).await.is_some(), "{src}");
    }
    assert!(!refused(&gw, "127.0.0.95").await);
    let session_ban = eventually_event_where(&gw, "edge.ban", 5, |e| {
        e["data"]["source"] == "session_declines"
    })
    .await;
    // The event names the session by digest, never by its value.
    let text = session_ban.to_string();
    assert!(text.contains("session-"), "{text}");
    assert!(!text.contains("carding-run"), "{text}");

    // A rule that cannot recognise a failure is refused at load.
    let bad = edge_config(store.addr, "[[edge.login]]\npath = \"/login\"\n", "");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let (code, _, err) = run(&[
        "config",
        "check",
        dir.path().join("bad.toml").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("say how a failure shows"), "{err}");
}
