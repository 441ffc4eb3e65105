//! The scanner against real loopback shops: a badly kept one (every
//! exposure it has is found, nothing else), a soft-404 one (nothing is
//! found although its catch-all page contains PHP source), and an
//! unreachable one (a clear error, no panic).

mod fixture;

use std::collections::HashMap;
use std::time::Duration;

use fixture::{serve, weak_shop, Answer};
use scan::{ScanOptions, Severity};

fn options() -> ScanOptions {
    let mut o = ScanOptions::default();
    o.limits.rate = 500.0;
    o.limits.concurrency = 2;
    o.limits.timeout = Duration::from_secs(5);
    o.crawl = 10;
    o
}

fn ids(r: &scan::Report) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| format!("{} {}", f.id, f.location))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_what_a_badly_kept_shop_exposes() {
    let shop = serve(weak_shop(), None, Duration::from_millis(5)).await;
    let target = scan::parse_target(&shop.url("/")).unwrap();
    let report = scan::scan(&target, &options()).await.unwrap();
    let found = ids(&report);
    let has = |id: &str, path: &str| {
        report
            .findings
            .iter()
            .any(|f| f.id == id && f.location == shop.url(path))
    };
    for (id, path) in [
        ("exposure.git", "/.git/HEAD"),
        ("exposure.env", "/.env"),
        ("exposure.sql-backup", "/backup.sql"),
        ("exposure.archive-backup", "/backup.zip"),
        ("exposure.config-backup", "/wp-config.php~"),
        ("exposure.directory-listing", "/uploads/"),
        ("exposure.stack-trace", "/broken"),
        ("https.password-on-http", "/"),
        ("https.no-redirect-to-https", "/"),
        ("payment.third-party-script-without-sri", "/checkout"),
        ("headers.cookies-session-without-secure-flag", "/"),
        ("headers.csp-not-implemented", "/"),
        ("exposure.admin-login", "/wp-login.php"),
    ] {
        assert!(
            has(id, path),
            "missing {id} at {path}; found:\n{}",
            found.join("\n")
        );
    }
    // Nothing the shop does not have: no phpinfo, no server-status, no
    // adminer, no tar.gz.
    for absent in [
        "exposure.phpinfo",
        "exposure.server-status",
        "exposure.db-admin",
        "exposure.git-config",
    ] {
        assert!(
            !report.findings.iter().any(|f| f.id == absent),
            "false {absent}"
        );
    }
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.id == "exposure.archive-backup")
            .count(),
        1,
        "{found:?}"
    );
    // A login page that asks for a one-time code is not flagged.
    assert!(!has("exposure.admin-login", "/administrator/"), "{found:?}");
    assert_eq!(report.worst(), Some(Severity::Critical));
    // Grade: redirection -20, HSTS no https -20, CSP -25, XCTO -5, XFO -20,
    // session cookie without Secure -40 → floored at 0, F.
    let grade = report.headers.as_ref().unwrap();
    assert_eq!((grade.score, grade.grade.as_str()), (0, "F"));

    // The payment page's scripts, with origin and SRI.
    let inv: Vec<(String, bool, bool)> = report
        .payment_scripts
        .iter()
        .map(|s| (s.origin.clone(), s.same_origin, s.integrity))
        .collect();
    assert!(
        inv.contains(&("https://cdn.skimmer.example".into(), false, false)),
        "{inv:?}"
    );
    assert!(
        inv.contains(&("https://cdn.trusted.example".into(), false, true)),
        "{inv:?}"
    );
    assert!(
        inv.contains(&(format!("http://{}", shop.addr), true, false)),
        "{inv:?}"
    );

    // Gentle: robots.txt obeyed, our User-Agent on every request, never
    // more than two requests in flight, other hosts never fetched.
    let requests = shop.seen.requests.lock().unwrap().clone();
    assert!(
        !requests.iter().any(|(p, _)| p.starts_with("/private/")),
        "robots.txt ignored"
    );
    let ua = format!("Rampart-Scanner/{}", env!("CARGO_PKG_VERSION"));
    assert!(requests.iter().all(|(_, u)| *u == ua), "{requests:?}");
    assert!(
        shop.seen
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
            <= 2
    );
    assert!(report.pages.iter().any(|p| p.ends_with("/about")));
    assert!(!report.pages.iter().any(|p| p.contains("elsewhere.example")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_404_shop_raises_no_exposure() {
    // Every unknown path answers 200 with a blog page that quotes PHP
    // source, which alone would pass the config-backup signature.
    let page = Answer::html(
        "<html><title>Dev blog</title><pre>&lt;?php define('DB_PASSWORD', '...');</pre><p><?php echo 'hi'; ?></p></html>",
    );
    let shop = serve(HashMap::new(), Some(page), Duration::ZERO).await;
    let target = scan::parse_target(&shop.url("/")).unwrap();
    let report = scan::scan(&target, &options()).await.unwrap();
    let exposures: Vec<String> = ids(&report)
        .into_iter()
        .filter(|i| i.starts_with("exposure."))
        .collect();
    assert!(exposures.is_empty(), "{exposures:?}");
    // The probes did happen.
    assert!(shop.seen.paths().iter().any(|p| p == "/wp-config.php~"));
}

#[tokio::test]
async fn unreachable_and_garbage_targets_end_in_a_clear_error_or_finding() {
    // Nothing listens on this port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = scan::parse_target(&format!("http://127.0.0.1:{port}/")).unwrap();
    let err = scan::scan(&target, &options()).await.unwrap_err();
    assert!(matches!(err, scan::ScanError::Unreachable(_)), "{err}");
    assert!(!err.to_string().contains('\n'));

    // A server that answers garbage, then one that never answers.
    let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gaddr = garbage.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = garbage.accept().await {
            let _ = s
                .write_all(b"\x00\x01garbage that is not HTTP\r\n\r\n")
                .await;
        }
    });
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let saddr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut o = options();
    o.limits.timeout = Duration::from_millis(500);
    for addr in [gaddr, saddr] {
        let target = scan::parse_target(&format!("http://{addr}/")).unwrap();
        let err = scan::scan(&target, &o).await.unwrap_err();
        assert!(matches!(err, scan::ScanError::Unreachable(_)), "{err}");
    }
    assert!(scan::parse_target("ftp://shop.example").is_err());
    assert!(scan::parse_target("https://").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento_version_is_read_from_magento_version() {
    let mut routes = HashMap::new();
    routes.insert(
        "/".to_string(),
        Answer::html(r#"<html><script type="text/x-magento-init">{"*":{}}</script></html>"#),
    );
    routes.insert(
        "/magento_version".to_string(),
        Answer::text(b"Magento/2.4 (Community)"),
    );
    let shop = serve(routes, None, Duration::ZERO).await;
    let target = scan::parse_target(&shop.url("/")).unwrap();
    let mut o = options();
    o.exposure = false;
    let report = scan::scan(&target, &o).await.unwrap();
    assert_eq!(report.software, ["magento 2.4"]);
    let f = report
        .findings
        .iter()
        .find(|f| f.id == "fingerprint.magento")
        .unwrap();
    assert!(
        f.evidence.contains("Magento/2.4 (Community)"),
        "{}",
        f.evidence
    );
}

#[tokio::test]
async fn database_tools_and_admin_logins_at_their_other_usual_paths() {
    let mut routes = HashMap::new();
    routes.insert(
        "/pma/".to_string(),
        Answer::html("<html><head><title>phpMyAdmin</title></head><body><form method=post><input name=pma_username><input type=password name=pma_password></form></body></html>"),
    );
    routes.insert(
        "/adminer/".to_string(),
        Answer::html("<html><head><title>Login - Adminer</title></head><body><form method=post><input type=password name=auth[password]></form></body></html>"),
    );
    routes.insert(
        "/index.php/admin/".to_string(),
        Answer::html("<html><head><title>Magento Admin</title></head><body><form method=post><input name=login[username]><input type=password name=login[password]></form></body></html>"),
    );
    routes.insert(
        "/".to_string(),
        Answer::html("<html><body>shop</body></html>"),
    );
    let shop = serve(routes, None, Duration::ZERO).await;
    let target = scan::parse_target(&shop.url("/")).unwrap();
    let report = scan::scan(&target, &options()).await.unwrap();
    let at = |id: &str| -> Vec<String> {
        let mut v: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.id == id)
            .map(|f| f.location.trim_start_matches(&shop.url("")).to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(at("exposure.db-admin"), ["/adminer/", "/pma/"]);
    assert_eq!(at("exposure.admin-login"), ["/index.php/admin/"]);
}
