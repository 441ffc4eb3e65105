//! `rampart scan` through the real binary against a real loopback shop:
//! formats, exit codes, results stored as events and diffed.

mod common;
#[path = "../../scan/tests/fixture/mod.rs"]
mod fixture;

use std::time::Duration;

use common::run;

async fn rampart(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a)
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_reports_stores_and_diffs() {
    let shop = fixture::serve(fixture::weak_shop(), None, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let url = shop.url("/");
    let base = [
        "scan",
        url.as_str(),
        "--data",
        data,
        "--rate",
        "500",
        "--crawl",
        "5",
    ];

    // JSON; a critical finding exists, so --fail-on critical exits 1.
    let mut a = args(&base);
    a.extend(args(&["--format", "json", "--fail-on", "critical"]));
    let (code, out, err) = rampart(a).await;
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("critical"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"exposure.git") && ids.contains(&"exposure.env"),
        "{ids:?}"
    );
    assert_eq!(report["headers"]["grade"], "F");
    assert!(
        report.get("diff").is_none(),
        "first scan has nothing to diff against"
    );

    // The .env is removed; the second scan says it is resolved.
    shop.set("/.env", None);
    let mut a = args(&base);
    a.extend(args(&["--format", "json", "--fail-on", "critical"]));
    let (code, out, _) = rampart(a).await;
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let resolved: Vec<&str> = report["diff"]["resolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(resolved, ["exposure.env"]);
    assert!(report["diff"]["new"].as_array().unwrap().is_empty());

    // Both scans are events.
    let (code, out, err) =
        rampart(args(&["events", "query", "--data", data, "--kind", "scan"])).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.contains("scan.completed")).count(),
        2,
        "{out}"
    );
    assert!(out.contains("1 resolved"), "{out}");
    let (_, out, _) = rampart(args(&[
        "events",
        "query",
        "--data",
        data,
        "--kind",
        "scan.finding.resolved",
    ]))
    .await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("exposure.env"), "{out}");

    // SARIF to a file; text; HTML; nothing at or above... a level that passes.
    let sarif = dir.path().join("r.sarif");
    let mut a = args(&base);
    a.extend(args(&[
        "--no-store",
        "--format",
        "sarif",
        "-o",
        sarif.to_str().unwrap(),
        "--fail-on",
        "critical",
    ]));
    let (code, out, _) = rampart(a).await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["runs"][0]["results"].as_array().unwrap().len() >= 10);

    let mut a = args(&base);
    a.extend(args(&[
        "--no-store",
        "--format",
        "html",
        "--no-exposure",
        "--fail-on",
        "critical",
    ]));
    let (code, out, err) = rampart(a).await;
    // Without the exposure probes nothing critical remains.
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("<!DOCTYPE html>"), "{out}");
    assert!(out.contains("Security headers: F"));

    let mut a = args(&base);
    a.extend(args(&["--no-store", "--fail-on", "info"]));
    let (code, out, _) = rampart(a).await;
    assert_eq!(code, 1);
    assert!(out.contains("CRITICAL exposure.git"), "{out}");
}

#[test]
fn scan_usage_errors_exit_2_with_one_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dead = format!("http://127.0.0.1:{port}/");
    for (a, needle) in [
        (vec!["scan", "ftp://shop.example"], "only http"),
        (
            vec!["scan", "https://shop.example", "--format", "pdf"],
            "unknown format",
        ),
        (
            vec!["scan", "https://shop.example", "--fail-on", "severe"],
            "unknown severity",
        ),
        (vec!["scan", dead.as_str(), "--no-store"], "unreachable"),
    ] {
        let (code, _, err) = run(&a);
        assert_eq!(code, 2, "{a:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{a:?}: {err}");
        assert!(err.contains(needle), "{a:?}: {err}");
    }
}

fn osv(id: &str, ecosystem: &str, name: &str, fixed: &str, severity: &str) -> String {
    serde_json::json!({
        "schema_version": "1.6.0",
        "id": id,
        "summary": format!("test advisory for {name}"),
        "aliases": [format!("CVE-2099-{}", id.len())],
        "affected": [{
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
        }],
        "database_specific": {"severity": severity}
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advisories_match_fingerprints_and_lockfiles() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap().to_string();
    let feed = dir.path().join("osv");
    std::fs::create_dir_all(feed.join("npm")).unwrap();
    std::fs::write(
        feed.join("woo.json"),
        osv("TEST-WOO-1", "WordPress", "woocommerce", "8.0.2", "HIGH"),
    )
    .unwrap();
    std::fs::write(
        feed.join("packagist.json"),
        format!(
            "[{}, {}]",
            osv(
                "TEST-GUZZLE-1",
                "Packagist",
                "guzzlehttp/guzzle",
                "7.4.5",
                "CRITICAL"
            ),
            osv(
                "TEST-MONOLOG-1",
                "Packagist",
                "monolog/monolog",
                "2.0.0",
                "LOW"
            )
        ),
    )
    .unwrap();
    std::fs::write(
        feed.join("npm/lodash.json"),
        osv("TEST-LODASH-1", "npm", "lodash", "4.17.21", "HIGH"),
    )
    .unwrap();
    std::fs::write(
        feed.join("npm/minimist.json"),
        osv("TEST-MINIMIST-1", "npm", "minimist", "1.2.6", "MODERATE"),
    )
    .unwrap();
    std::fs::write(
        feed.join("rack.json"),
        osv("TEST-RACK-1", "RubyGems", "rack", "2.2.6.4", "HIGH"),
    )
    .unwrap();

    let (code, out, err) = rampart(args(&[
        "advisories",
        "import",
        feed.to_str().unwrap(),
        "--data",
        &data,
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("imported 6 advisories from 5 files (6 stored)"),
        "{out}"
    );
    // Importing again replaces, never duplicates.
    let (_, out, _) = rampart(args(&[
        "advisories",
        "import",
        feed.to_str().unwrap(),
        "--data",
        &data,
    ]))
    .await;
    assert!(out.contains("(6 stored)"), "{out}");

    // The shop shows "WooCommerce 8.0.0" in its generator tag.
    let shop = fixture::serve(fixture::weak_shop(), None, Duration::ZERO).await;
    let url = shop.url("/");
    let (code, out, err) = rampart(args(&[
        "scan",
        &url,
        "--data",
        &data,
        "--rate",
        "500",
        "--no-exposure",
        "--format",
        "json",
        "--fail-on",
        "critical",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let hit = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "advisory.TEST-WOO-1")
        .unwrap_or_else(|| panic!("no advisory finding: {out}"));
    assert_eq!(hit["severity"], "high");
    assert!(
        hit["evidence"].as_str().unwrap().contains("fixed in 8.0.2"),
        "{hit}"
    );
    assert!(report["software"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s == "woocommerce 8.0.0"));

    // Lockfiles.
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("composer.lock"),
        r#"{"packages":[{"name":"guzzlehttp/guzzle","version":"7.4.0"},{"name":"monolog/monolog","version":"2.9.1"}]}"#,
    )
    .unwrap();
    std::fs::write(
        app.join("package-lock.json"),
        r#"{"lockfileVersion":3,"packages":{"":{},"node_modules/lodash":{"version":"4.17.21"}}}"#,
    )
    .unwrap();
    std::fs::write(
        app.join("yarn.lock"),
        "# yarn lockfile v1\n\nminimist@^1.2.0:\n  version \"1.2.5\"\n",
    )
    .unwrap();
    std::fs::write(
        app.join("Gemfile.lock"),
        "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.2.3)\n\nPLATFORMS\n  ruby\n",
    )
    .unwrap();
    let (code, out, err) = rampart(args(&[
        "scan",
        "deps",
        app.to_str().unwrap(),
        "--data",
        &data,
        "--format",
        "json",
    ]))
    .await;
    assert_eq!(code, 1, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    ids.sort();
    // lodash 4.17.21 is the fixed version and monolog 2.9.1 is past the fix.
    assert_eq!(
        ids,
        [
            "advisory.TEST-GUZZLE-1",
            "advisory.TEST-MINIMIST-1",
            "advisory.TEST-RACK-1"
        ]
    );

    // Garbage in: a clear one-line error, exit 2.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let (code, _, err) = rampart(args(&[
        "advisories",
        "import",
        bad.to_str().unwrap(),
        "--data",
        &data,
    ]))
    .await;
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = rampart(args(&[
        "scan",
        "deps",
        dir.path().join("nothing").to_str().unwrap(),
        "--data",
        &data,
    ]))
    .await;
    assert_eq!(code, 2, "{err}");
}

/// `[[scan]]` under `rampart serve`: the scan runs at start (never run
/// before), its events reach the event store and the report file is
/// written; a restart does not scan again before it is due.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_scans_run_under_serve() {
    let shop = fixture::serve(fixture::weak_shop(), None, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("shop-report.html");
    let url = shop.url("/");
    let upstream = url.trim_start_matches("http://").trim_end_matches('/');
    let config = format!(
        "[server]\nhttps = \"127.0.0.1:0\"\ndata_dir = \"data\"\n\n\
         [[scan]]\nurl = {url:?}\nevery_hours = 24\ncrawl = 3\ntls = false\ndns = false\nreport = {:?}\n\n\
         [[site]]\nhosts = [\"localhost\"]\nupstream = \"http://{upstream}\"\ntls = {{ self_signed = true }}\n",
        report.display().to_string()
    );
    let data = dir.path().join("data");
    let data_s = data.display().to_string();
    let completed = |data: &str| {
        let (_, out, _) = run(&[
            "events",
            "query",
            "--kind",
            "scan.completed",
            "--data",
            data,
        ]);
        out.lines().filter(|l| l.contains("scan.completed")).count()
    };
    let gw = common::Rampart::start(dir.path(), &config);
    assert!(
        common::eventually(60, || report.is_file() && completed(&data_s) == 1).await,
        "no scheduled scan: {}",
        gw.stderr()
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.contains("exposure.git"), "{html}");
    let _ = gw.stop();
    // Not due again for a day: a restart keeps the schedule.
    let gw = common::Rampart::start(dir.path(), &config);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(completed(&data_s), 1);
    let _ = gw.stop();
}
