//! Staff access end to end: the real `rampart serve` (and `rampart demo`)
//! in front of a store, accounts made with the real `rampart users`
//! command, a client that keeps cookies like a browser, TOTP codes
//! computed from the enrolled secret (RFC 6238, independently of
//! Rampart's code: tests/common).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response};

// ---------------------------------------------------------------------------
// A browser: cookies, forms.

struct Browser {
    addr: SocketAddr,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new(addr: SocketAddr) -> Browser {
        Browser {
            addr,
            jar: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<String>) -> Response<Bytes> {
        let mut c = h1_client(self.addr, "localhost").await;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
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
        let r = tokio::time::timeout(Duration::from_secs(20), c.send_request(req))
            .await
            .expect("the gateway answers within 20 s")
            .unwrap();
        let r = collect(r).await;
        for sc in r.headers().get_all("set-cookie") {
            let sc = sc.to_str().unwrap();
            let first = sc.split(';').next().unwrap();
            let (name, value) = first.split_once('=').unwrap();
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

    /// Password step from a fresh visit of `area`; the second-factor page.
    async fn password(&mut self, area: &str, user: &str, password: &str) -> Response<Bytes> {
        let r = self.get(area).await;
        assert_eq!(r.status(), 401, "{area} asks for sign-in: {}", text(&r));
        let csrf = hidden(&text(&r), "csrf");
        self.post(
            "/.rampart/login",
            &[
                ("csrf", &csrf),
                ("next", area),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }

    /// Password then TOTP: signed in, redirected to `area`.
    async fn sign_in(&mut self, area: &str, user: &Staff, offset: i64) -> Response<Bytes> {
        let r = self.password(area, &user.name, &user.password).await;
        assert_eq!(r.status(), 200, "{}", text(&r));
        assert!(text(&r).contains("Two-factor authentication"));
        let csrf = hidden(&text(&r), "csrf");
        let code = totp(&user.secret, offset);
        self.post(
            "/.rampart/mfa",
            &[("csrf", &csrf), ("next", area), ("code", &code)],
        )
        .await
    }
}

fn text(r: &Response<Bytes>) -> String {
    String::from_utf8_lossy(r.body()).into_owned()
}

/// The value of the hidden input `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

// ---------------------------------------------------------------------------
// Accounts through the CLI.

struct Staff {
    name: String,
    password: String,
    secret: String,
    recovery: Vec<String>,
}

fn add_user(state: &[&str], name: &str, role: &str) -> Staff {
    let mut args = vec!["users", "add", name, "--role", role, "--json"];
    args.extend_from_slice(state);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "users add {name}: {err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    Staff {
        name: name.into(),
        password: v["password"].as_str().unwrap().into(),
        secret: v["totp_secret"].as_str().unwrap().into(),
        recovery: v["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect(),
    }
}

const PROTECT: &str = r#"
[[site.protect]]
paths = ["/admin"]
step_up = [{ path = "/admin/settings/payments", minutes = 5 }]

[site.protect.roles]
support = [{ path = "/admin/orders", methods = ["GET", "POST"] }]
"#;

struct Gate {
    _dir: tempfile::TempDir,
    gw: Rampart,
    store: Store,
    config: String,
}

impl Gate {
    async fn start() -> Gate {
        let store = Store::start().await;
        let dir = tempfile::tempdir().unwrap();
        let gw = Rampart::start(dir.path(), &config(store.addr, PROTECT));
        let config = dir.path().join("rampart.toml").display().to_string();
        Gate {
            _dir: dir,
            gw,
            store,
            config,
        }
    }

    fn state(&self) -> [&str; 2] {
        ["--config", &self.config]
    }

    fn sqlite(&self) -> std::path::PathBuf {
        Path::new(&self.config)
            .parent()
            .unwrap()
            .join("data/rampart.sqlite")
    }
}

async fn sqlite_exec(file: &Path, sql: &str) -> u64 {
    use store::sqlx::{self, Connection};
    let mut c = sqlx::sqlite::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query(sql)
        .execute(&mut c)
        .await
        .unwrap()
        .rows_affected()
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn password_and_totp_reach_the_area_and_a_replayed_code_is_refused() {
    let g = Gate::start().await;
    let alice = add_user(&g.state(), "alice", "admin");
    let mut b = Browser::new(g.gw.https);

    // Wrong code first: refused, the page asks again.
    let r = b.password("/admin", "alice", &alice.password).await;
    let csrf = hidden(&text(&r), "csrf");
    let r = b
        .post(
            "/.rampart/mfa",
            &[("csrf", &csrf), ("next", "/admin"), ("code", "000000x")],
        )
        .await;
    assert_eq!(r.status(), 401, "{}", text(&r));
    assert!(text(&r).contains("not valid"));
    assert!(g.store.received().is_empty());

    // Without the CSRF token the code form is refused outright.
    let r = b
        .post(
            "/.rampart/mfa",
            &[("next", "/admin"), ("code", &totp(&alice.secret, 0))],
        )
        .await;
    assert_eq!(r.status(), 403, "{}", text(&r));

    let mut b = Browser::new(g.gw.https);
    let r = b.sign_in("/admin/orders?page=2", &alice, 0).await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    assert_eq!(r.headers()["location"], "/admin/orders?page=2");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("__Host-rampart_session=")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let r = b.get("/admin/orders?page=2").await;
    assert_eq!(r.status(), 200, "{}", text(&r));
    let got = g.store.received().pop().expect("the store saw the request");
    assert_eq!(got.uri, "/admin/orders?page=2");
    assert_eq!(got.headers["x-rampart-user"], "alice");
    assert_eq!(got.headers["x-rampart-role"], "admin");
    let sent_cookies = got
        .headers
        .get("cookie")
        .map(|c| c.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        !sent_cookies.contains("rampart_session"),
        "Rampart's cookie never reaches the store: {sent_cookies}"
    );

    // A forged session cookie is a fresh visitor.
    let mut forged = Browser::new(g.gw.https);
    forged.jar.insert(
        "__Host-rampart_session".into(),
        "A".repeat(43), // the shape of a real token
    );
    let r = forged.get("/admin").await;
    assert_eq!(r.status(), 401);

    // The same code again, from another browser, after a correct password.
    let mut again = Browser::new(g.gw.https);
    let r = again.password("/admin", "alice", &alice.password).await;
    let csrf = hidden(&text(&r), "csrf");
    let r = again
        .post(
            "/.rampart/mfa",
            &[
                ("csrf", &csrf),
                ("next", "/admin"),
                ("code", &totp(&alice.secret, 0)),
            ],
        )
        .await;
    assert_eq!(r.status(), 401, "{}", text(&r));
    assert!(text(&r).contains("already used"), "{}", text(&r));
    // A recovery code works once.
    let r = again
        .post(
            "/.rampart/mfa",
            &[
                ("csrf", &csrf),
                ("next", "/admin"),
                ("code", &alice.recovery[0]),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", text(&r));

    // Sign-out needs the session's CSRF token; `rampart users revoke`
    // ends the session from outside.
    assert_eq!(b.get("/admin").await.status(), 200);
    let r = b.post("/.rampart/logout", &[("csrf", "wrong")]).await;
    assert_eq!(r.status(), 403, "logout without the token is refused");
    assert_eq!(b.get("/admin").await.status(), 200, "still signed in");
    let (code, out, _) = run(&["users", "revoke", "alice", "--config", &g.config]);
    assert_eq!(code, 0);
    assert!(out.contains("Ended 3 session(s)"), "{out}");
    let r = b.get("/admin").await;
    assert_eq!(r.status(), 401, "revoked");

    let (code, out, err) = run(&["audit", "show", "--json", "--config", &g.config]);
    assert_eq!(code, 0, "{err}");
    let kinds: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for k in ["user.added", "login.ok", "session.revoked_all"] {
        assert!(kinds.iter().any(|x| x == k), "{k} in {kinds:?}");
    }
    assert!(
        out.contains("replayed_code") && out.contains("bad_code"),
        "failures are audited: {out}"
    );
    assert!(
        !out.contains(&alice.password) && !out.contains(&alice.secret),
        "no secret in the audit trail"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let g = Gate::start().await;
    let bob = add_user(&g.state(), "bob", "admin");
    let mut b = Browser::new(g.gw.https);
    for i in 0..5 {
        let r = b.password("/admin", "bob", "not-the-password-at-all").await;
        assert_eq!(r.status(), 401, "attempt {i}");
        assert!(text(&r).contains("Sign-in refused"));
    }
    // Now even the right password is refused, with the same answer.
    let r = b.password("/admin", "bob", &bob.password).await;
    assert_eq!(r.status(), 401, "{}", text(&r));
    assert!(text(&r).contains("Sign-in refused"));
    let (_, out, _) = run(&["users", "list", "--config", &g.config]);
    let line = out.lines().find(|l| l.starts_with("bob ")).unwrap();
    assert!(line.contains("locked"), "{out}");
    // An unknown account is answered exactly like a wrong password.
    let r = b.password("/admin", "nobody", "whatever-password").await;
    assert_eq!(r.status(), 401);
    assert!(text(&r).contains("Sign-in refused"));
    // Oversized fields: a refusal, never a 500.
    let r = b.get("/admin").await;
    let csrf = hidden(&text(&r), "csrf");
    // Oversized fields: a refusal, never a 500 (a field over its limit,
    // and a whole form over the portal's 8 KiB).
    let long = "x".repeat(3000);
    let r = b
        .post(
            "/.rampart/login",
            &[("csrf", &csrf), ("username", &long), ("password", &long)],
        )
        .await;
    assert!(
        r.status() == 400 || r.status() == 401,
        "{}: {}",
        r.status(),
        text(&r)
    );
    let huge = "x".repeat(9000);
    let r = b
        .post("/.rampart/login", &[("csrf", &csrf), ("username", &huge)])
        .await;
    assert_eq!(r.status(), 413, "{}", text(&r));
    assert!(g.store.received().is_empty());
    let (_, out, _) = run(&["audit", "show", "--config", &g.config]);
    assert!(out.contains("account_locked"), "{out}");
}

#[tokio::test]
async fn roles_deny_and_sensitive_paths_need_a_fresh_second_factor() {
    let g = Gate::start().await;
    let sam = add_user(&g.state(), "sam", "support");
    let olga = add_user(&g.state(), "olga", "owner");

    let mut s = Browser::new(g.gw.https);
    assert_eq!(s.sign_in("/admin/orders", &sam, 0).await.status(), 303);
    assert_eq!(s.get("/admin/orders/17").await.status(), 200);
    let r = s.post("/admin/orders/17", &[("note", "called back")]).await;
    assert_eq!(r.status(), 200, "support may post on orders");
    let before = g.store.received().len();
    let r = s.get("/admin/products").await;
    assert_eq!(r.status(), 403, "{}", text(&r));
    assert!(text(&r).contains("Not allowed"));
    let r = s.get("/admin/settings/payments").await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        g.store.received().len(),
        before,
        "denied requests stay here"
    );

    let mut o = Browser::new(g.gw.https);
    assert_eq!(o.sign_in("/admin", &olga, 0).await.status(), 303);
    assert_eq!(o.get("/admin/settings/payments").await.status(), 200);
    // Ten minutes later (the session's MFA time moved back), the payment
    // settings ask for the code again; other pages do not.
    let moved = sqlite_exec(
        &g.sqlite(),
        "UPDATE auth_sessions SET mfa_at = mfa_at - 600 WHERE pending = 0",
    )
    .await;
    assert!(moved >= 1);
    assert_eq!(o.get("/admin/products").await.status(), 200);
    let before = g.store.received().len();
    let r = o.get("/admin/settings/payments").await;
    assert_eq!(r.status(), 401, "{}", text(&r));
    assert!(text(&r).contains("Confirm it is you"));
    assert_eq!(g.store.received().len(), before);
    let csrf = hidden(&text(&r), "csrf");
    let r = o
        .post(
            "/.rampart/step-up",
            &[
                ("csrf", &csrf),
                ("next", "/admin/settings/payments"),
                ("code", &totp(&olga.secret, 1)),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    assert_eq!(o.get("/admin/settings/payments").await.status(), 200);
    assert_eq!(
        g.store.received().last().unwrap().uri,
        "/admin/settings/payments"
    );
}

#[tokio::test]
async fn the_audit_trail_reports_a_row_edited_in_the_database() {
    let g = Gate::start().await;
    let alice = add_user(&g.state(), "alice", "admin");
    let _eve = add_user(&g.state(), "eve", "support");
    let mut b = Browser::new(g.gw.https);
    assert_eq!(b.sign_in("/admin", &alice, 0).await.status(), 303);
    let (code, _, _) = run(&["users", "set-role", "eve", "admin", "--config", &g.config]);
    assert_eq!(code, 0);

    let (code, out, err) = run(&["audit", "verify", "--config", &g.config]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("intact"), "{out}");

    // Someone hides the role change by rewriting its row.
    let edited = sqlite_exec(
        &g.sqlite(),
        "UPDATE auth_audit SET detail = '{\"from\":\"support\",\"to\":\"support\"}' WHERE kind = 'user.role_changed'",
    )
    .await;
    assert_eq!(edited, 1);
    let seq = {
        let (_, out, _) = run(&["audit", "show", "--json", "--config", &g.config]);
        out.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v["kind"] == "user.role_changed")
            .unwrap()["seq"]
            .as_i64()
            .unwrap()
    };
    let (code, _, err) = run(&["audit", "verify", "--config", &g.config]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("BROKEN at entry {seq}")) && err.contains("edited"),
        "{err}"
    );
    let (code, out, _) = run(&["audit", "verify", "--json", "--config", &g.config]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["status"], "broken");
    assert_eq!(v["seq"], seq);

    // Deleting a row instead is found too.
    sqlite_exec(
        &g.sqlite(),
        &format!("UPDATE auth_audit SET detail = (SELECT detail FROM auth_audit WHERE seq = {seq}) WHERE seq = {seq}"),
    )
    .await;
    sqlite_exec(
        &g.sqlite(),
        &format!("DELETE FROM auth_audit WHERE seq = {}", seq - 1),
    )
    .await;
    let (code, _, err) = run(&["audit", "verify", "--config", &g.config]);
    assert_eq!(code, 1);
    assert!(err.contains("BROKEN"), "{err}");
}

#[tokio::test]
async fn access_review_lists_findings_and_records_the_sign_off() {
    let g = Gate::start().await;
    let state = g.state();
    add_user(&state, "olga", "owner");
    let (code, out, err) = run(&[
        "users",
        "add",
        "temp",
        "--role",
        "developer",
        "--no-mfa",
        "--config",
        &g.config,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("password:"));
    run(&["users", "set-role", "temp", "admin", "--config", &g.config]);

    let (code, out, err) = run(&["access", "review", "--config", &g.config]);
    assert_eq!(code, 1, "a finding: {out} {err}");
    assert!(
        out.contains("Accounts without MFA: 1") && out.contains("temp"),
        "{out}"
    );
    assert!(out.contains("Privileged accounts: 2"), "{out}");
    assert!(out.contains("developer -> admin"), "{out}");

    let (code, out, _) = run(&[
        "access",
        "review",
        "--json",
        "--sign-off",
        "Dana Reviewer",
        "--config",
        &g.config,
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["findings"], 1);
    assert_eq!(v["without_mfa"][0]["username"], "temp");
    assert_eq!(v["signed_off_by"], "Dana Reviewer");

    // Offboarding: the next review starts from the sign-off.
    let (code, out, _) = run(&["users", "disable", "temp", "--config", &g.config]);
    assert_eq!(code, 0);
    assert!(out.contains("Disabled temp"));
    let (code, out, _) = run(&["access", "review", "--json", "--config", &g.config]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["last_review"]["reviewer"], "Dana Reviewer");
    assert_eq!(v["disabled_accounts"], 1);
    assert_eq!(v["role_changes"].as_array().unwrap().len(), 0);

    // Bad input: one line, exit 2.
    let (code, _, err) = run(&[
        "users", "set-role", "olga", "Emperor!", "--config", &g.config,
    ]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = run(&["users", "add", "olga", "--config", &g.config]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
}

/// Two gateway nodes share PostgreSQL: a session opened on one works on
/// the other, and `rampart users disable` ends it on both at once.
#[tokio::test]
async fn disable_ends_a_live_session_on_a_second_node() {
    let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES") else {
        eprintln!("note: RAMPART_TEST_POSTGRES is unset: the two-node access test is skipped");
        return;
    };
    use store::sqlx::{self, Connection};
    let schema = format!("rampart_access_{}", std::process::id());
    let mut c = sqlx::postgres::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut c)
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = format!("{url}{sep}options=-csearch_path%3D{schema}");

    let store = Store::start().await;
    let with_db = config(store.addr, PROTECT).replace(
        "data_dir = \"data\"",
        &format!("data_dir = \"data\"\ndatabase = \"{db}\""),
    );
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node1 = Rampart::start(d1.path(), &with_db);
    let node2 = Rampart::start(d2.path(), &with_db);
    let cfg1 = d1.path().join("rampart.toml").display().to_string();
    let alice = add_user(&["--config", &cfg1], "alice", "admin");

    let mut b = Browser::new(node1.https);
    assert_eq!(b.sign_in("/admin", &alice, 0).await.status(), 303);
    assert_eq!(b.get("/admin").await.status(), 200);
    b.addr = node2.https;
    assert_eq!(
        b.get("/admin/orders").await.status(),
        200,
        "node 2 knows the session"
    );
    assert_eq!(
        store.received().last().unwrap().headers["x-rampart-user"],
        "alice"
    );

    let (code, out, err) = run(&["users", "disable", "alice", "--database", &db]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 session(s) ended"), "{out}");
    let r = b.get("/admin/orders").await;
    assert_eq!(r.status(), 401, "node 2 refuses the revoked session");
    b.addr = node1.https;
    assert_eq!(b.get("/admin").await.status(), 401, "so does node 1");
    // And the account cannot sign in again.
    let r = b.password("/admin", "alice", &alice.password).await;
    assert_eq!(r.status(), 401);

    drop((node1, node2));
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut c)
        .await
        .unwrap();
}

/// `rampart demo`: the shop's /admin is behind Rampart's sign-in; the
/// owner account printed on the first run signs in with its TOTP code and
/// reaches the shop's own admin login.
#[tokio::test]
async fn the_demo_admin_needs_the_owner_password_and_code() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let crs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = || {
        let mut child = Command::new(BIN)
            .args(["demo", "--https", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .arg("--data")
            .arg(&data)
            .arg("--crs")
            .arg(&crs)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut banner = String::new();
        while let Ok(l) = rx.recv_timeout(Duration::from_secs(30)) {
            banner.push_str(&l);
            banner.push('\n');
            if l.contains("Ctrl-C stops") {
                break;
            }
        }
        (KillOnDrop(child), banner)
    };
    let (demo, banner) = start();
    let field = |label: &str| -> String {
        banner
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {banner}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let https: SocketAddr = banner
        .split_whitespace()
        .find_map(|w| w.strip_prefix("https="))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{banner}"));
    let owner = Staff {
        name: "owner".into(),
        password: field("password:"),
        secret: field("authenticator secret:"),
        recovery: Vec::new(),
    };
    let mut b = Browser::new(https);
    let r = b.sign_in("/admin", &owner, 0).await;
    assert_eq!(r.status(), 303, "{}", text(&r));
    let r = b.get("/admin").await;
    assert!(
        r.status() == 200 || r.status() == 303,
        "the shop's admin answers: {} {}",
        r.status(),
        text(&r)
    );
    drop(demo);

    // The second run keeps the account and does not print secrets again.
    let (_demo, banner) = start();
    assert!(banner.contains("shown on the first run"), "{banner}");
    assert!(!banner.contains(&owner.password));
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
