//! The access gate through `rampart serve` alone (no account exists):
//! a protected area answers with the sign-in portal and nothing reaches
//! the store, whatever the path spelling; a client's identity headers
//! never reach it either. (tests/access.rs signs in.) And passkeys end to
//! end: headless Chromium with a virtual WebAuthn authenticator (DevTools
//! protocol) registers one from the portal and signs in with it; a
//! forged assertion posted directly is refused.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use bytes::Bytes;
use common::chromium::Chromium;
use common::*;
use http::Response;

#[tokio::test]
async fn protected_area_fails_closed_without_a_session() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(store.addr, "\n[[site.protect]]\npaths = [\"/admin\"]\n");
    let gw = Rampart::start(dir.path(), &config);
    for path in [
        "/admin",
        "/admin/orders?x=1",
        "/ADMIN/",
        "/shop/../admin",
        "/%61dmin/x",
    ] {
        let r = get(gw.https, "localhost", path).await;
        assert_eq!(r.status(), 401, "{path}");
        let page = String::from_utf8_lossy(r.body()).into_owned();
        assert!(
            page.contains("Staff sign-in") && page.contains("name=\"csrf\""),
            "{page}"
        );
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("__Host-rampart_csrf="), "{cookie}");
        assert!(
            cookie.contains("Secure")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
        );
    }
    assert!(
        store.received().is_empty(),
        "nothing of the area reached the store"
    );
    let r = get(gw.https, "localhost", "/.rampart/nothing").await;
    assert_eq!(r.status(), 404);

    let mut c = h1_client(gw.https, "localhost").await;
    let req = http::Request::get("/")
        .header("host", "localhost")
        .header("x-rampart-user", "mallory")
        .header("x-rampart-role", "owner")
        .body(empty())
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert_eq!(r.status(), 200);
    let got = store.received().pop().unwrap();
    assert!(
        got.headers.get("x-rampart-user").is_none() && got.headers.get("x-rampart-role").is_none()
    );
}

// ---------------------------------------------------------------------------
// Passkeys.

/// The site answers to `shop.test`, which Chromium resolves to 127.0.0.1
/// (WebAuthn needs a host name as relying party, not an IP address).
const HOST: &str = "shop.test";

fn passkey_config(upstream: SocketAddr) -> String {
    format!(
        r#"[server]
http = "127.0.0.1:0"
https = "127.0.0.1:0"
admin = "127.0.0.1:0"
data_dir = "data"

[[site]]
name = "shop"
hosts = ["{HOST}", "localhost"]
upstream = "http://{upstream}"
tls = {{ self_signed = true }}

[[site.protect]]
paths = ["/admin"]
"#
    )
}

/// `rampart users add NAME --role admin`: (password, TOTP secret).
fn add_admin(config: &str, name: &str) -> (String, String) {
    let (code, out, err) = run(&[
        "users", "add", name, "--role", "admin", "--json", "--config", config,
    ]);
    assert_eq!(code, 0, "users add: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    (
        v["password"].as_str().unwrap().to_string(),
        v["totp_secret"].as_str().unwrap().to_string(),
    )
}

/// The gateway's `request` events whose message contains `needle`.
async fn request_events(config: &str, needle: &str) -> Vec<serde_json::Value> {
    for _ in 0..50 {
        let (code, out, err) = run(&[
            "events", "query", "--kind", "request", "--json", "--config", config,
        ]);
        assert_eq!(code, 0, "{err}");
        let found: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e.to_string().contains(needle))
            .collect();
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Vec::new()
}

/// JavaScript string literal of `s`.
fn js(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

async fn sign_in_with_password(browser: &mut Chromium, user: &str, password: &str) {
    let text = browser.wait_for_text("Staff sign-in", 30).await;
    assert!(text.contains("Staff sign-in"), "{text}");
    browser
        .eval(&format!(
            "document.querySelector('[name=username]').value = {};\
             document.querySelector('[name=password]').value = {};\
             document.querySelector('form').submit(); true",
            js(user),
            js(password)
        ))
        .await;
    let text = browser.wait_for_text("Two-factor authentication", 30).await;
    assert!(text.contains("Two-factor authentication"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_is_registered_in_a_browser_and_signs_in() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Rampart::start(dir.path(), &passkey_config(store.addr));
    let config = dir.path().join("rampart.toml").display().to_string();
    let (password, secret) = add_admin(&config, "alice");
    let base = format!("https://{HOST}:{}", gw.https.port());

    let mut browser =
        Chromium::start_with(&[&format!("--host-resolver-rules=MAP {HOST} 127.0.0.1")]).await;
    browser.call("WebAuthn.enable", serde_json::json!({})).await;
    let authenticator = browser
        .call(
            "WebAuthn.addVirtualAuthenticator",
            serde_json::json!({ "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
            }}),
        )
        .await["authenticatorId"]
        .as_str()
        .unwrap()
        .to_string();

    // Password and TOTP, as before passkeys.
    browser.navigate(&format!("{base}/admin")).await;
    sign_in_with_password(&mut browser, "alice", &password).await;
    let page = browser.eval("document.body.innerHTML").await;
    assert!(
        !page.as_str().unwrap().contains("Use a passkey"),
        "no passkey yet: {page}"
    );
    browser
        .eval(&format!(
            "document.querySelector('[name=code]').value = {};\
             document.querySelector('[name=code]').form.submit(); true",
            js(&totp(&secret, 0))
        ))
        .await;
    let text = browser.wait_for_text("hello from the store", 30).await;
    assert!(text.contains("hello from the store"), "{text}");

    // Register a passkey from the portal (the MFA is fresh).
    browser.navigate(&format!("{base}/.rampart/passkeys")).await;
    let text = browser.wait_for_text("no passkeys yet", 30).await;
    assert!(text.contains("Your passkeys"), "{text}");
    browser
        .gesture(
            "document.querySelector('[name=name]').value = 'work laptop';\
             document.getElementById('passkey').click(); true",
        )
        .await;
    let text = browser.wait_for_text("work laptop", 30).await;
    assert!(
        text.contains("work laptop") && text.contains("never used"),
        "{text}"
    );
    let creds = browser
        .call(
            "WebAuthn.getCredentials",
            serde_json::json!({ "authenticatorId": authenticator }),
        )
        .await;
    assert_eq!(creds["credentials"].as_array().unwrap().len(), 1, "{creds}");
    assert_eq!(creds["credentials"][0]["rpId"], HOST);
    let (code, out, err) = run(&["users", "list", "--json", "--config", &config]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"passkeys\":1"), "{out}");

    // Sign out; sign in with password and the passkey.
    browser
        .gesture("document.getElementById('sign-out').click(); true")
        .await;
    sign_in_with_password(&mut browser, "alice", &password).await;
    let text = browser.wait_for_text("Use a passkey", 30).await;
    assert!(text.contains("Use a passkey"), "{text}");
    let before = store.received().len();
    browser
        .gesture("document.getElementById('passkey').click(); true")
        .await;
    let text = browser.wait_for_text("hello from the store", 30).await;
    assert!(text.contains("hello from the store"), "{text}");
    let reached: Vec<_> = store.received()[before..].to_vec();
    assert!(
        reached
            .iter()
            .any(|r| r.uri == "/admin" && r.headers["x-rampart-user"] == "alice"),
        "{reached:?}"
    );
    let creds = browser
        .call(
            "WebAuthn.getCredentials",
            serde_json::json!({ "authenticatorId": authenticator }),
        )
        .await;
    assert!(creds["credentials"][0]["signCount"].as_u64().unwrap() >= 1);
    assert!(!request_events(&config, "signed in with a passkey")
        .await
        .is_empty());
    let (code, out, err) = run(&["audit", "verify", "--config", &config]);
    assert_eq!(code, 0, "{out}{err}");

    // A forged assertion posted directly (right credential id, right
    // challenge, no private key) is refused, with an event.
    let cred_id = creds["credentials"][0]["credentialId"]
        .as_str()
        .unwrap()
        .to_string();
    let seen = store.received().len();
    let mut client = Jar::new(gw.https, gw.https.port());
    let r = client.get("/admin").await;
    let csrf = field(&text_of(&r), "csrf");
    let r = client
        .post(
            "/.rampart/login",
            &[
                ("csrf", &csrf),
                ("next", "/admin"),
                ("username", "alice"),
                ("password", &password),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let page = text_of(&r);
    let options = attribute(&page, "data-options");
    let options: serde_json::Value = serde_json::from_str(&options).unwrap();
    let challenge = options["publicKey"]["challenge"].as_str().unwrap();
    let csrf = field(&page, "csrf");
    let client_data = serde_json::json!({
        "type": "webauthn.get",
        "challenge": challenge,
        "origin": base,
        "crossOrigin": false,
    })
    .to_string();
    let mut auth_data = ring::digest::digest(&ring::digest::SHA256, HOST.as_bytes())
        .as_ref()
        .to_vec();
    auth_data.push(0x05);
    auth_data.extend(1000u32.to_be_bytes());
    // A well-formed DER ECDSA signature that is not the key's.
    let mut sig = vec![0x30, 0x44, 0x02, 0x20];
    sig.extend([0x11; 32]);
    sig.extend([0x02, 0x20]);
    sig.extend([0x22; 32]);
    let cred_id_b64 = B64.encode(
        base64::engine::general_purpose::STANDARD
            .decode(&cred_id)
            .or_else(|_| B64.decode(&cred_id))
            .unwrap(),
    );
    let forged = serde_json::json!({
        "id": cred_id_b64,
        "rawId": cred_id_b64,
        "type": "public-key",
        "response": {
            "authenticatorData": B64.encode(&auth_data),
            "clientDataJSON": B64.encode(client_data.as_bytes()),
            "signature": B64.encode(&sig),
            "userHandle": null,
        },
        "extensions": {},
    })
    .to_string();
    let post = |credential: &str| {
        form_encode(&[
            ("csrf", &csrf),
            ("next", "/admin"),
            ("credential", credential),
        ])
    };
    let body = post(&forged);
    let r = client
        .send("POST", "/.rampart/passkey-mfa", Some(body))
        .await;
    assert_eq!(r.status(), 401, "{}", text_of(&r));
    assert!(
        text_of(&r).contains("The passkey was not accepted"),
        "{}",
        text_of(&r)
    );
    assert!(r.headers().get("set-cookie").is_none());
    // Garbage is a refusal too, never a 500.
    let body = post("{\"id\": 5");
    let r = client
        .send("POST", "/.rampart/passkey-mfa", Some(body))
        .await;
    assert_eq!(r.status(), 401, "{}", text_of(&r));
    let refused = request_events(&config, "second factor refused (bad_passkey)").await;
    assert!(!refused.is_empty(), "an event for the forged assertion");
    // Nothing of it reached the store.
    assert_eq!(store.received().len(), seen);
}

// ---------------------------------------------------------------------------
// A cookie-keeping client for shop.test.

struct Jar {
    addr: SocketAddr,
    host: String,
    jar: BTreeMap<String, String>,
}

impl Jar {
    fn new(addr: SocketAddr, port: u16) -> Jar {
        Jar {
            addr,
            host: format!("{HOST}:{port}"),
            jar: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> Response<Bytes> {
        let mut c = h1_client(self.addr, HOST).await;
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header("cookie", cookies.join("; "));
        }
        let req = match form {
            Some(f) => req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body(f)),
            None => req.body(empty()),
        }
        .unwrap();
        let r = collect(c.send_request(req).await.unwrap()).await;
        for sc in r.headers().get_all("set-cookie") {
            let sc = sc.to_str().unwrap();
            let (name, value) = sc.split(';').next().unwrap().split_once('=').unwrap();
            if sc.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        r
    }

    async fn get(&mut self, path: &str) -> Response<Bytes> {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Response<Bytes> {
        self.send("POST", path, Some(form_encode(fields))).await
    }
}

fn text_of(r: &Response<Bytes>) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// The value of hidden input `name`.
fn field(page: &str, name: &str) -> String {
    attribute_after(page, &format!("name=\"{name}\" value=\""))
}

/// The (HTML-unescaped) value of the first attribute `name`.
fn attribute(page: &str, name: &str) -> String {
    attribute_after(page, &format!("{name}=\""))
}

fn attribute_after(page: &str, marker: &str) -> String {
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {page}"))
        + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
