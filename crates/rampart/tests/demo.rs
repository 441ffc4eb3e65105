//! `rampart demo`: the README's first command. The real binary, the demo
//! shop behind the gateway, the WAF on the shared CRS.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn demo_serves_the_shop_and_blocks_attacks() {
    let crs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "demo",
            "--https",
            "127.0.0.1:0",
            "--http",
            "127.0.0.1:0",
            "--data",
        ])
        .arg(&data)
        .arg("--crs")
        .arg(&crs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the demo prints its ready line");
    let https: std::net::SocketAddr = ready
        .split_whitespace()
        .find_map(|w| w.strip_prefix("https="))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("bad ready line {ready:?}"));
    let mut banner = String::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(500)) {
        banner.push_str(&l);
        banner.push('\n');
    }
    assert!(
        banner.contains("OWASP CRS, paranoia 1, block mode"),
        "{banner}"
    );

    let home = get(https, "localhost", "/").await;
    assert_eq!(home.status(), 200);
    let page = String::from_utf8_lossy(home.body());
    assert!(page.contains("Ember"), "the demo shop's home page: {page}");
    assert!(home.headers().contains_key("strict-transport-security"));

    let attack = get(
        https,
        "localhost",
        "/search?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E",
    )
    .await;
    assert_eq!(attack.status(), 403);
    assert!(data.join("rampart-demo.toml").is_file());
    assert!(
        eventually(10, || std::fs::read_to_string(data.join("audit.jsonl"))
            .is_ok_and(|t| t.contains("\"action\":\"block\"")))
        .await,
        "the block is on the audit log"
    );
    drop(demo);
}
