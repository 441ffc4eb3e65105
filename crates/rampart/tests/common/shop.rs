//! `rampart demo` as a test starts it, and a shopper with cookies who
//! plays one source address.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};

use super::*;

/// True for Rampart's proof-of-work challenge page.
pub fn is_challenge(r: &Response<Bytes>) -> bool {
    r.status() == 403 && r.headers().get("x-rampart-challenge").is_some()
}

/// Where the demo's stderr goes: `demo.log` beside the data directory.
fn demo_log(data: &Path) -> std::process::Stdio {
    let dir = data.parent().unwrap_or(data);
    std::fs::File::create(dir.join("demo.log"))
        .map(std::process::Stdio::from)
        .unwrap_or_else(|_| std::process::Stdio::null())
}

pub struct Demo {
    pub child: std::process::Child,
    pub https: SocketAddr,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_demo(data: &Path) -> Demo {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let crs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    let mut child = Command::new(BIN)
        .args(["demo", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .arg("--data")
        .arg(data)
        .arg("--crs")
        .arg(crs)
        .stdout(Stdio::piped())
        .stderr(demo_log(data))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut https = None;
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(30)) {
        if let Some(a) = l
            .split_whitespace()
            .find_map(|w| w.strip_prefix("https="))
            .and_then(|a| a.parse().ok())
        {
            https = Some(a);
            break;
        }
    }
    Demo {
        child,
        https: https.expect("the demo prints its listening line"),
    }
}

/// A shopper from one address, with cookies.
pub struct Shopper {
    addr: SocketAddr,
    src: std::net::IpAddr,
    jar: std::collections::BTreeMap<String, String>,
}

impl Shopper {
    pub fn new(addr: SocketAddr, src: &str) -> Shopper {
        Shopper {
            addr,
            src: src.parse().unwrap(),
            jar: Default::default(),
        }
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body_text: Option<String>,
    ) -> std::io::Result<Response<Bytes>> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        if !self.jar.is_empty() {
            let c: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", c.join("; "));
        }
        let req = match body_text {
            Some(b) => req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body(b)),
            None => req.body(empty()),
        }
        .unwrap();
        let r = request_from(self.addr, self.src, req).await?;
        for sc in r.headers().get_all("set-cookie") {
            let first = sc.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = first.split_once('=') {
                self.jar.insert(k.to_string(), v.to_string());
            }
        }
        Ok(r)
    }

    /// The form's CSRF token, or the challenge page the bot got instead.
    pub async fn csrf(&mut self, path: &str) -> Result<String, Response<Bytes>> {
        let r = self.send("GET", path, None).await.unwrap();
        if is_challenge(&r) {
            return Err(r);
        }
        let page = String::from_utf8_lossy(r.body()).into_owned();
        let marker = "name=\"csrf_token\" value=\"";
        let at = page
            .find(marker)
            .unwrap_or_else(|| panic!("no csrf token on {path}: {page}"));
        let rest = &page[at + marker.len()..];
        Ok(rest[..rest.find('"').unwrap()].to_string())
    }

    pub async fn post(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> std::io::Result<Response<Bytes>> {
        self.send("POST", path, Some(form_encode(fields))).await
    }

    pub async fn failed_login(&mut self, email: &str) -> std::io::Result<Response<Bytes>> {
        let token = match self.csrf("/account/login").await {
            Ok(t) => t,
            Err(challenge) => return Ok(challenge),
        };
        self.post(
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", email),
                ("password", "Winter2026!"),
            ],
        )
        .await
    }
}
