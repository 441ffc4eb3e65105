//! Accounts, sign-in, lockout, sessions, roles, reviews and the audit
//! chain against a real database: each scenario runs on SQLite (a file in
//! a temporary directory) and on the PostgreSQL that
//! `RAMPART_TEST_POSTGRES` names (skipped with a note when unset).

use auth::audit::Verification;
use auth::{Auth, Database, LoginStep, Refusal, Settings};
use store::sqlx;

const PASSWORD: &str = "velvet otter juggles quartz";

async fn sqlite() -> (tempfile::TempDir, Auth) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_sqlite(&dir.path().join("rampart.sqlite"))
        .await
        .unwrap();
    (dir, Auth::open(db, Settings::default()).await.unwrap())
}

/// A fresh schema of its own on the test PostgreSQL, or None (skip).
async fn postgres(name: &str) -> Option<Auth> {
    let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES") else {
        eprintln!("note: RAMPART_TEST_POSTGRES is unset: the PostgreSQL half of {name} is skipped");
        return None;
    };
    let db = Database::connect(&url).await.unwrap();
    let schema = format!("auth_test_{name}_{}", std::process::id());
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(db.pool())
        .await
        .unwrap();
    let scoped = Database::connect(&format!(
        "{url}{}options=-csearch_path%3D{schema}",
        if url.contains('?') { "&" } else { "?" }
    ))
    .await
    .unwrap();
    Some(Auth::open(scoped, Settings::default()).await.unwrap())
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (_dir, auth) = super::sqlite().await;
                super::$name(&auth).await;
            }
            #[tokio::test]
            async fn postgres() {
                if let Some(auth) = super::postgres(stringify!($name)).await {
                    super::$name(&auth).await;
                }
            }
        }
    };
}

fn always(_: &str) -> bool {
    true
}

fn code(secret: &str, auth: &Auth) -> String {
    auth::totp::code_at(secret, auth.now() as u64).unwrap()
}

async fn password_totp_login_and_replay(auth: &Auth) {
    let new = auth
        .add_user("Alice", Some(PASSWORD), "admin", true, "cli:test")
        .await
        .unwrap();
    assert_eq!(new.user.username, "alice");
    assert!(new.user.mfa);
    let enrollment = new.enrollment.unwrap();
    let secret = enrollment.totp_secret.expose().to_string();
    assert!(format!("{enrollment:?}").matches("[redacted]").count() >= 2);
    assert!(!format!("{enrollment:?}").contains(&secret));

    // Weak password, duplicate, bad names are refused.
    let weak = auth
        .add_user("bob", Some("password1234"), "support", true, "cli")
        .await;
    assert!(
        matches!(weak, Err(auth::AuthError::WeakPassword(_))),
        "{weak:?}"
    );
    assert!(matches!(
        auth.add_user("alice", Some(PASSWORD), "admin", true, "cli")
            .await,
        Err(auth::AuthError::UserExists(_))
    ));
    assert!(auth
        .add_user("a b", None, "admin", true, "cli")
        .await
        .is_err());
    assert!(auth
        .add_user("carol", None, "no such role!", true, "cli")
        .await
        .is_err());

    // Password, then TOTP.
    let step = auth
        .login_password("alice", PASSWORD, "127.0.0.1", &always, None)
        .await
        .unwrap()
        .unwrap();
    let LoginStep::NeedSecondFactor(pending) = step else {
        panic!("MFA skipped")
    };
    let s = auth.session(pending.expose()).await.unwrap().unwrap();
    assert!(s.pending);
    let wrong = auth
        .login_second_factor(pending.expose(), "000000", "127.0.0.1")
        .await
        .unwrap();
    assert!(matches!(wrong, Err(Refusal::BadCode)) || code(&secret, auth) == "000000");
    let c = code(&secret, auth);
    let token = auth
        .login_second_factor(pending.expose(), &c, "127.0.0.1")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(token.expose(), pending.expose(), "rotated");
    assert!(auth.session(pending.expose()).await.unwrap().is_none());
    let s = auth.session(token.expose()).await.unwrap().unwrap();
    assert!(!s.pending && s.role == "admin" && s.mfa_at.is_some());

    // The same code again, on a new password step: replay refused.
    let LoginStep::NeedSecondFactor(p2) = auth
        .login_password(
            "alice",
            PASSWORD,
            "127.0.0.1",
            &always,
            Some(token.expose()),
        )
        .await
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    assert!(
        auth.session(token.expose()).await.unwrap().is_none(),
        "old session ended at login"
    );
    let replay = auth
        .login_second_factor(p2.expose(), &c, "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(replay.unwrap_err(), Refusal::ReplayedCode);

    // A recovery code works once.
    let rc = enrollment.recovery_codes[0].expose().to_uppercase();
    let t3 = auth
        .login_second_factor(p2.expose(), &rc, "127.0.0.1")
        .await
        .unwrap()
        .unwrap();
    assert!(auth.session(t3.expose()).await.unwrap().is_some());
    let LoginStep::NeedSecondFactor(p3) = auth
        .login_password("alice", PASSWORD, "127.0.0.1", &always, None)
        .await
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        auth.login_second_factor(p3.expose(), &rc, "127.0.0.1")
            .await
            .unwrap()
            .unwrap_err(),
        Refusal::BadCode
    );
    assert_eq!(auth.user("alice").await.unwrap().recovery_codes_left, 9);

    // Forged and oversized tokens are simply unknown.
    assert!(auth.session("forged").await.unwrap().is_none());
    assert!(auth.session(&"a".repeat(10_000)).await.unwrap().is_none());
    assert!(auth.session("../../etc/passwd").await.unwrap().is_none());
    assert!(matches!(
        auth.verify_audit().await.unwrap(),
        Verification::Intact { .. }
    ));
}
on_both!(password_totp_login_and_replay);

async fn lockout_per_account_and_address(auth: &Auth) {
    auth.add_user("dave", Some(PASSWORD), "support", true, "cli")
        .await
        .unwrap();
    for i in 0..5 {
        let r = auth
            .login_password(
                "dave",
                "wrong password here",
                &format!("127.0.1.{i}"),
                &always,
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.unwrap_err(), Refusal::BadCredentials);
    }
    // Locked: even the right password is refused, the same way.
    let r = auth
        .login_password("dave", PASSWORD, "127.0.1.9", &always, None)
        .await
        .unwrap();
    assert_eq!(r.unwrap_err(), Refusal::BadCredentials);
    assert!(auth.user("dave").await.unwrap().locked_until > auth.now());
    // After the lock ends, the right password works.
    auth.advance_clock(61);
    assert!(auth
        .login_password("dave", PASSWORD, "127.0.1.9", &always, None)
        .await
        .unwrap()
        .is_ok());

    // One address trying many accounts is locked out.
    for i in 0..20 {
        let _ = auth
            .login_password(
                &format!("nobody{i}"),
                "whatever password",
                "127.0.2.1",
                &always,
                None,
            )
            .await
            .unwrap();
    }
    let r = auth
        .login_password("dave", PASSWORD, "127.0.2.1", &always, None)
        .await
        .unwrap();
    assert!(matches!(r, Err(Refusal::AddressLocked { .. })), "{r:?}");
    // Another address is not affected.
    assert!(auth
        .login_password("dave", PASSWORD, "127.0.2.2", &always, None)
        .await
        .unwrap()
        .is_ok());
}
on_both!(lockout_per_account_and_address);

async fn timeouts_disable_and_roles(auth: &Auth) {
    let new = auth
        .add_user("erin", Some(PASSWORD), "support", true, "cli")
        .await
        .unwrap();
    let secret = new.enrollment.unwrap().totp_secret.expose().to_string();
    let login = |auth: &Auth| {
        let auth = auth.clone();
        let secret = secret.clone();
        async move {
            let LoginStep::NeedSecondFactor(p) = auth
                .login_password("erin", PASSWORD, "127.0.0.1", &always, None)
                .await
                .unwrap()
                .unwrap()
            else {
                panic!()
            };
            auth.login_second_factor(p.expose(), &code(&secret, &auth), "127.0.0.1")
                .await
                .unwrap()
                .unwrap()
        }
    };
    let t = login(auth).await;
    auth.advance_clock(31 * 60);
    assert!(
        auth.session(t.expose()).await.unwrap().is_none(),
        "idle timeout"
    );

    let t = login(auth).await;
    for _ in 0..26 {
        auth.advance_clock(29 * 60);
        if auth.session(t.expose()).await.unwrap().is_none() {
            break;
        }
    }
    assert!(
        auth.session(t.expose()).await.unwrap().is_none(),
        "absolute timeout"
    );

    // Disable ends every session at once; role change too.
    auth.advance_clock(60);
    let a = login(auth).await;
    auth.advance_clock(30);
    let b = login(auth).await;
    assert_eq!(auth.session_count("erin").await.unwrap(), 2);
    assert_eq!(auth.disable_user("erin", "cli:owner").await.unwrap(), 2);
    assert!(auth.session(a.expose()).await.unwrap().is_none());
    assert!(auth.session(b.expose()).await.unwrap().is_none());
    assert!(auth
        .login_password("erin", PASSWORD, "127.0.0.1", &always, None)
        .await
        .unwrap()
        .is_err());
    auth.enable_user("erin", "cli:owner").await.unwrap();
    auth.advance_clock(30);
    let c = login(auth).await;
    auth.set_role("erin", "auditor", "cli:owner").await.unwrap();
    assert!(auth.session(c.expose()).await.unwrap().is_none());
    assert_eq!(auth.user("erin").await.unwrap().role, "auditor");

    // MFA reset: a new secret; the old one no longer works.
    let fresh = auth.reset_mfa("erin", "cli:owner").await.unwrap();
    assert_ne!(fresh.totp_secret.expose(), secret);

    // A role without mandatory MFA and no authenticator signs in with the
    // password alone; with mandatory MFA it is refused.
    let n = auth
        .add_user("frank", Some(PASSWORD), "auditor", false, "cli")
        .await
        .unwrap();
    assert!(!n.user.mfa);
    let r = auth
        .login_password("frank", PASSWORD, "127.0.0.1", &always, None)
        .await
        .unwrap();
    assert_eq!(r.unwrap_err(), Refusal::MfaNotEnrolled);
    let r = auth
        .login_password("frank", PASSWORD, "127.0.0.1", &|_| false, None)
        .await
        .unwrap();
    assert!(matches!(r, Ok(LoginStep::Done(_))));
}
on_both!(timeouts_disable_and_roles);

async fn review_and_audit_chain(auth: &Auth) {
    auth.add_user("gina", Some(PASSWORD), "owner", true, "cli")
        .await
        .unwrap();
    auth.add_user("hank", Some(PASSWORD), "support", false, "cli")
        .await
        .unwrap();
    let r = auth.review(90).await.unwrap();
    assert_eq!(r.accounts, 2);
    assert_eq!(
        r.without_mfa
            .iter()
            .map(|a| a.username.as_str())
            .collect::<Vec<_>>(),
        ["hank"]
    );
    assert_eq!(r.privileged.len(), 1);
    assert_eq!(r.role_changes.len(), 2);
    assert!(r.inactive.is_empty());
    auth.sign_off("gina", &r).await.unwrap();

    auth.set_role("hank", "developer", "cli:gina")
        .await
        .unwrap();
    auth.advance_clock(91 * 86_400);
    let r = auth.review(90).await.unwrap();
    assert_eq!(r.last_review.as_ref().unwrap().reviewer, "gina");
    assert_eq!(r.role_changes.len(), 1);
    assert_eq!(
        (
            r.role_changes[0].from.as_str(),
            r.role_changes[0].to.as_str()
        ),
        ("support", "developer")
    );
    assert_eq!(r.inactive.len(), 2);
    assert_eq!(r.privileged.len(), 2);

    let Verification::Intact { entries, .. } = auth.verify_audit().await.unwrap() else {
        panic!("chain broken")
    };
    let kinds: Vec<String> = auth
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(
        kinds.contains(&"review.signed_off".to_string()),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"user.role_changed".to_string()));
    assert_eq!(entries as usize, kinds.len());

    // An edit breaks the chain at that entry; a deletion at the next.
    let third = auth.audit_entries(0, 100).await.unwrap()[2].seq;
    sqlx::query("UPDATE auth_audit SET detail = $1 WHERE seq = $2")
        .bind("{\"role\":\"owner\"}")
        .bind(third)
        .execute(auth.database().pool())
        .await
        .unwrap();
    match auth.verify_audit().await.unwrap() {
        Verification::Broken {
            seq,
            reason,
            verified,
        } => {
            assert_eq!(seq, third);
            assert!(reason.contains("edited"), "{reason}");
            assert_eq!(verified, 2);
        }
        v => panic!("{v:?}"),
    }
    let all = auth.audit_entries(0, 100).await.unwrap();
    sqlx::query("DELETE FROM auth_audit WHERE seq <= $1")
        .bind(third)
        .execute(auth.database().pool())
        .await
        .unwrap();
    let _ = all;
    match auth.verify_audit().await.unwrap() {
        Verification::Broken { reason, .. } => assert!(reason.contains("deleted"), "{reason}"),
        v => panic!("{v:?}"),
    }
}
on_both!(review_and_audit_chain);

async fn concurrent_appends_keep_one_chain(auth: &Auth) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let a = auth.clone();
        tasks.push(tokio::spawn(async move {
            a.audit(
                "test.concurrent",
                "t",
                &format!("n{i}"),
                serde_json::json!({}),
            )
            .await
            .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    match auth.verify_audit().await.unwrap() {
        Verification::Intact { entries, .. } => assert_eq!(entries, 16),
        v => panic!("{v:?}"),
    }
}
on_both!(concurrent_appends_keep_one_chain);
