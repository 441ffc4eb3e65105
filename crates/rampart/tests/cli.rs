//! The `rampart` command line: configuration checks, start-up errors,
//! events, exit codes.

mod common;

use std::time::Duration;

use common::*;

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const GOOD: &str = r#"[server]
https = "127.0.0.1:0"
data_dir = "data"

[[site]]
hosts = ["shop.example"]
upstream = "http://127.0.0.1:3000"
tls = { self_signed = true }
"#;

#[test]
fn config_check_accepts_a_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "rampart.toml", GOOD);
    let (code, out, err) = run(&["config", "check", &f]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok") && out.contains("shop.example"), "{out}");
}

#[test]
fn config_check_reports_file_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // unknown key
        (GOOD.replace("data_dir", "data_directory"), "3:1", "data_directory"),
        // syntax error
        (GOOD.replace("https = \"127.0.0.1:0\"", "https = 127.0.0.1:0"), "2:", ""),
        // bad address
        (GOOD.replace("127.0.0.1:0", "localhost"), "2:9", "not an address"),
        // bad upstream
        (GOOD.replace("http://127.0.0.1:3000", "127.0.0.1:3000"), "7:12", "upstream"),
        // duplicate host
        (
            format!("{GOOD}\n[[site]]\nname = \"b\"\nhosts = [\"SHOP.example\"]\nupstream = \"http://127.0.0.1:1\"\ntls = {{ self_signed = true }}\n"),
            "12:10",
            "already served",
        ),
        // ACME HTTP-01 without the plain-HTTP listener the CA would call
        (
            GOOD.replace("{ self_signed = true }", "{ acme = { directory = \"https://acme.example/dir\", email = \"ops@shop.example\" } }"),
            "8:",
            "needs the plain-HTTP listener",
        ),
        // unknown key in an inline table
        (GOOD.replace("self_signed = true", "self_signed = true, selfsigned = 1"), "8:", "selfsigned"),
    ];
    for (i, (text, position, needle)) in cases.iter().enumerate() {
        let f = write(dir.path(), &format!("bad{i}.toml"), text);
        let (code, out, err) = run(&["config", "check", &f]);
        assert_eq!(code, 2, "case {i}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.contains(&format!("{f}:{position}")),
            "case {i}: want {f}:{position} in {err}"
        );
        assert!(err.contains(needle), "case {i}: want {needle:?} in {err}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    let (code, _, err) = run(&["config", "check", "/nonexistent/rampart.toml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent/rampart.toml: cannot read"),
        "{err}"
    );
}

#[test]
fn config_check_loads_certificate_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "rampart.toml",
        &GOOD.replace(
            "{ self_signed = true }",
            "{ cert = \"missing.pem\", key = \"missing.key\" }",
        ),
    );
    let (code, _, err) = run(&["config", "check", &f]);
    assert_eq!(code, 2);
    assert!(
        err.contains("missing.pem") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2_and_version_works() {
    let (code, out, _) = run(&["version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("rampart "), "{out}");
    let (code, _, _) = run(&["frobnicate"]);
    assert_eq!(code, 2);
    let (code, _, err) = run(&["events", "query", "--since", "soon", "--data", "."]);
    assert_eq!(code, 2);
    assert!(err.contains("--since"), "{err}");
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("serve") && out.contains("events"), "{out}");
}

#[test]
fn serve_start_up_errors_are_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // Port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let f = write(dir.path(), "port.toml", &GOOD.replace("127.0.0.1:0", &addr));
    let (code, _, err) = run(&["serve", "--config", &f]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&addr) && err.contains("in use"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // Data directory whose parent is missing.
    let f = write(
        dir.path(),
        "data.toml",
        &GOOD.replace("data_dir = \"data\"", "data_dir = \"no/such/dir\""),
    );
    let (code, _, err) = run(&["serve", "--config", &f]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");

    // Unreadable certificate.
    let f = write(
        dir.path(),
        "cert.toml",
        &GOOD.replace(
            "{ self_signed = true }",
            "{ cert = \"nope.pem\", key = \"nope.key\" }",
        ),
    );
    let (code, _, err) = run(&["serve", "--config", &f]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.pem"), "{err}");

    // No configuration at all.
    let out = std::process::Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no configuration"));
}

#[test]
fn state_defaults_to_rampart_toml_then_data() {
    let dir = tempfile::tempdir().unwrap();
    // Neither flag, no rampart.toml, no ./data: a clear error.
    let out = std::process::Command::new(BIN)
        .args(["events", "query"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("data directory data does not exist"));
    // ./data present: used.
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["events", "query"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.path().join("data/events.sqlite").is_file());
    // rampart.toml present: its data_dir is used.
    write(
        dir.path(),
        "rampart.toml",
        &GOOD.replace("data_dir = \"data\"", "data_dir = \"elsewhere\""),
    );
    let out = std::process::Command::new(BIN)
        .args(["events", "query"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("elsewhere"));
}

#[tokio::test]
async fn events_tail_follows_new_events() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &config(store.addr, ""));
    let data = dir.path().join("data");
    let mut tail = std::process::Command::new(BIN)
        .args(["events", "tail", "--kind", "request", "--data"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = tail.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = get(gw.https, "stranger.example", "/wp-login.php").await;
    assert_eq!(r.status(), 421);
    let line = rx.recv_timeout(Duration::from_secs(10));
    let _ = tail.kill();
    let _ = tail.wait();
    let line = line.expect("tail printed the new event");
    assert!(
        line.contains("request") && line.contains("/wp-login.php") && line.contains("status=421"),
        "{line}"
    );
}
