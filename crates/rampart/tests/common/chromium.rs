//! Headless Chromium (Debian's `chromium`; `.ci/run` installs it) driven
//! over the DevTools protocol: the edge's proof-of-work challenge and the
//! portal's passkeys (a virtual WebAuthn authenticator) are tested in a
//! real browser with it.

use std::time::{Duration, Instant};

/// Headless Chromium driven over the DevTools protocol.
pub struct Chromium {
    child: std::process::Child,
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Chromium {
    /// A browser that accepts the gateway's self-signed certificates.
    pub async fn start() -> Chromium {
        Chromium::start_with(&[]).await
    }

    /// The same with extra command-line switches (e.g.
    /// `--host-resolver-rules=MAP shop.test 127.0.0.1`).
    pub async fn start_with(args: &[&str]) -> Chromium {
        use std::io::{BufRead, BufReader};
        let profile = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--ignore-certificate-errors",
                "--no-first-run",
                "--remote-debugging-port=0",
            ])
            .args(args)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("chromium (Debian's package; .ci/run installs it)");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium prints its DevTools address");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut c = Chromium {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            _profile: profile,
        };
        let target = c
            .call(
                "Target.createTarget",
                serde_json::json!({ "url": "about:blank" }),
            )
            .await;
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = c
            .call(
                "Target.attachToTarget",
                serde_json::json!({ "targetId": target_id, "flatten": true }),
            )
            .await;
        c.session = attached["sessionId"].as_str().unwrap().to_string();
        c
    }

    /// One DevTools command; its result.
    pub async fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use futures_util::{SinkExt, StreamExt};
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = serde_json::json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = serde_json::Value::String(self.session.clone());
        }
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                msg.to_string().into(),
            ))
            .await
            .unwrap();
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("chromium answers")
                .unwrap()
                .unwrap();
            let tokio_tungstenite::tungstenite::Message::Text(t) = m else {
                continue;
            };
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    pub async fn eval(&mut self, js: &str) -> serde_json::Value {
        let r = self
            .call(
                "Runtime.evaluate",
                serde_json::json!({ "expression": js, "returnByValue": true }),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Runs `js` as if the person had clicked (WebAuthn calls need a
    /// user gesture in some browsers).
    pub async fn gesture(&mut self, js: &str) -> serde_json::Value {
        let r = self
            .call(
                "Runtime.evaluate",
                serde_json::json!({ "expression": js, "returnByValue": true, "userGesture": true }),
            )
            .await;
        r["result"]["value"].clone()
    }

    pub async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", serde_json::json!({ "url": url }))
            .await;
    }

    /// The page's visible text once it contains `needle` (at most `secs`
    /// seconds of polling; the last text otherwise).
    pub async fn wait_for_text(&mut self, needle: &str, secs: u64) -> String {
        let started = Instant::now();
        let mut text = String::new();
        while started.elapsed() < Duration::from_secs(secs) {
            text = self
                .eval("document.body ? document.body.innerText : ''")
                .await
                .as_str()
                .unwrap_or("")
                .to_string();
            if text.contains(needle) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        text
    }
}
