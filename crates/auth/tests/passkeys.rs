//! Passkeys against a real database (SQLite, and the PostgreSQL that
//! `RAMPART_TEST_POSTGRES` names): registration, sign-in and step-up with
//! a passkey, replayed and forged assertions, stale sessions, removal,
//! and a passkey as an account's only second factor.
//!
//! The authenticator is a small software one written here from the
//! WebAuthn and CTAP2 specifications (P-256 key from ring, "none"
//! attestation, CBOR by hand), independent of webauthn-rs.

use auth::{Auth, Database, LoginStep, Refusal, RelyingParty, Settings};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use store::sqlx::{self, Row};

const PASSWORD: &str = "velvet otter juggles quartz";
const ORIGIN: &str = "https://shop.test:8443";

async fn sqlite() -> (tempfile::TempDir, Auth) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_sqlite(&dir.path().join("rampart.sqlite"))
        .await
        .unwrap();
    (dir, Auth::open(db, Settings::default()).await.unwrap())
}

async fn postgres(name: &str) -> Option<Auth> {
    let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES") else {
        eprintln!("note: RAMPART_TEST_POSTGRES is unset: the PostgreSQL half of {name} is skipped");
        return None;
    };
    let db = Database::connect(&url).await.unwrap();
    let schema = format!("auth_passkey_{name}_{}", std::process::id());
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

// ---------------------------------------------------------------------------
// A software authenticator.

struct SoftKey {
    key: EcdsaKeyPair,
    id: Vec<u8>,
    counter: u32,
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// A CBOR byte string header for `n` bytes.
fn cbor_bytes(out: &mut Vec<u8>, data: &[u8]) {
    match data.len() {
        n if n < 24 => out.push(0x40 | n as u8),
        n if n < 256 => out.extend([0x58, n as u8]),
        n => out.extend([0x59, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(data);
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 24);
    out.push(0x60 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn options(json: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["publicKey"].clone()
}

impl SoftKey {
    fn new() -> SoftKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let mut id = vec![0u8; 32];
        ring::rand::SecureRandom::fill(&rng, &mut id).unwrap();
        SoftKey {
            key,
            id,
            counter: 0,
        }
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        serde_json::json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    /// The answer to `navigator.credentials.create(options)` at `origin`.
    fn register(&self, options_json: &str, origin: &str) -> String {
        let o = options(options_json);
        let rp_id = o["rp"]["id"].as_str().unwrap();
        let challenge = o["challenge"].as_str().unwrap();
        let client_data = Self::client_data("webauthn.create", challenge, origin);
        let public = self.key.public_key().as_ref(); // 0x04 || x || y
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut cose, &public[1..33]);
        cose.push(0x22);
        cbor_bytes(&mut cose, &public[33..65]);
        let mut auth_data = sha256(rp_id.as_bytes());
        auth_data.push(0x45); // user present, user verified, attested credential data
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.id.len() as u16).to_be_bytes());
        auth_data.extend(&self.id);
        auth_data.extend(cose);
        let mut att = vec![0xa3];
        cbor_text(&mut att, "fmt");
        cbor_text(&mut att, "none");
        cbor_text(&mut att, "attStmt");
        att.push(0xa0);
        cbor_text(&mut att, "authData");
        cbor_bytes(&mut att, &auth_data);
        serde_json::json!({
            "id": B64.encode(&self.id),
            "rawId": B64.encode(&self.id),
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(att),
                "clientDataJSON": B64.encode(client_data),
                "transports": ["internal"],
            },
            "extensions": {},
        })
        .to_string()
    }

    /// The answer to `navigator.credentials.get(options)` at `origin`;
    /// the counter moves forward.
    fn assert(&mut self, options_json: &str, origin: &str) -> String {
        self.counter += 1;
        let o = options(options_json);
        let rp_id = o["rpId"].as_str().unwrap();
        let challenge = o["challenge"].as_str().unwrap();
        let client_data = Self::client_data("webauthn.get", challenge, origin);
        let mut auth_data = sha256(rp_id.as_bytes());
        auth_data.push(0x05); // user present, user verified
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(sha256(&client_data));
        let sig = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        serde_json::json!({
            "id": B64.encode(&self.id),
            "rawId": B64.encode(&self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(sig.as_ref()),
                "userHandle": null,
            },
            "extensions": {},
        })
        .to_string()
    }
}

fn rp() -> RelyingParty {
    RelyingParty::new("shop.test", ORIGIN, "Rampart").unwrap()
}

fn always(_: &str) -> bool {
    true
}

fn never(_: &str) -> bool {
    false
}

fn code(secret: &str, auth: &Auth) -> String {
    auth::totp::code_at(secret, auth.now() as u64).unwrap()
}

async fn pending(auth: &Auth, user: &str) -> String {
    match auth
        .login_password(user, PASSWORD, "192.0.2.1", &always, None)
        .await
        .unwrap()
    {
        Ok(LoginStep::NeedSecondFactor(t)) => t.expose().to_string(),
        other => panic!("password step: {other:?}"),
    }
}

async fn audit_reasons(auth: &Auth, kind: &str) -> Vec<String> {
    auth.audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.detail)
        .collect()
}

async fn counter_of(auth: &Auth, id: i64) -> i64 {
    sqlx::query("SELECT counter FROM auth_passkeys WHERE id = $1")
        .bind(id)
        .fetch_one(auth.database().pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

// ---------------------------------------------------------------------------

async fn register_sign_in_and_refusals(auth: &Auth) {
    let rp = rp();
    let new = auth
        .add_user("alice", Some(PASSWORD), "admin", true, "cli:root")
        .await
        .unwrap();
    let secret = new.enrollment.unwrap().totp_secret;
    let p = pending(auth, "alice").await;
    let token = auth
        .login_second_factor(&p, &code(secret.expose(), auth), "192.0.2.1")
        .await
        .unwrap()
        .unwrap();
    let token = token.expose();

    // Register: the challenge is the server's, bound to this session.
    let options = auth
        .start_passkey_registration(token, &rp, 300)
        .await
        .unwrap()
        .unwrap();
    assert!(options.contains("\"shop.test\""), "{options}");
    let mut key = SoftKey::new();
    let answer = key.register(&options, ORIGIN);
    // Another session cannot answer it.
    let p2 = pending(auth, "alice").await;
    assert!(auth
        .finish_passkey_registration(&p2, &rp, 300, "x", &answer, "192.0.2.1")
        .await
        .unwrap()
        .is_err());
    let info = auth
        .finish_passkey_registration(token, &rp, 300, "laptop\n", &answer, "192.0.2.1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.name, "laptop");
    // Single use: the same answer again is refused.
    assert_eq!(
        auth.finish_passkey_registration(token, &rp, 300, "again", &answer, "192.0.2.1")
            .await
            .unwrap(),
        Err(Refusal::BadPasskey)
    );
    let listed = auth.passkeys("alice").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, info.id);
    assert_eq!(auth.user("alice").await.unwrap().passkeys, 1);

    // Sign in with password + passkey; the counter is stored.
    let p = pending(auth, "alice").await;
    let options = auth
        .start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .expect("alice has a passkey");
    let assertion = key.assert(&options, ORIGIN);
    let signed_in = auth
        .login_passkey(&p, &rp, &assertion, "192.0.2.1")
        .await
        .unwrap()
        .unwrap();
    let s = auth.session(signed_in.expose()).await.unwrap().unwrap();
    assert!(!s.pending && s.mfa_at.is_some() && s.has_passkey);
    assert_eq!(counter_of(auth, info.id).await, 1);
    assert!(auth.passkeys("alice").await.unwrap()[0].last_used.is_some());
    // The same assertion again (its challenge is gone, and its session).
    let p = pending(auth, "alice").await;
    auth.start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        auth.login_passkey(&p, &rp, &assertion, "192.0.2.1")
            .await
            .unwrap(),
        Err(Refusal::BadPasskey)
    );

    // A tampered signature is refused.
    let p = pending(auth, "alice").await;
    let options = auth
        .start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .unwrap();
    let mut forged: serde_json::Value =
        serde_json::from_str(&key.assert(&options, ORIGIN)).unwrap();
    let mut sig = B64
        .decode(forged["response"]["signature"].as_str().unwrap())
        .unwrap();
    let last = sig.len() - 1;
    sig[last] ^= 1;
    forged["response"]["signature"] = B64.encode(sig).into();
    assert_eq!(
        auth.login_passkey(&p, &rp, &forged.to_string(), "192.0.2.1")
            .await
            .unwrap(),
        Err(Refusal::BadPasskey)
    );
    // Its challenge was used up by that answer: asking again without a
    // new challenge is refused too (and a person who double-submits is
    // not locked out for it).
    assert_eq!(
        auth.login_passkey(&p, &rp, &forged.to_string(), "192.0.2.1")
            .await
            .unwrap(),
        Err(Refusal::BadPasskey)
    );
    // Garbage is refused, not an error.
    let options = auth
        .start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        auth.login_passkey(&p, &rp, "{not json", "192.0.2.1")
            .await
            .unwrap(),
        Err(Refusal::BadPasskey)
    );
    // Another site's origin is refused.
    let options2 = auth
        .start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .unwrap();
    let _ = options;
    let phished = key.assert(&options2, "https://shop-test.example");
    assert_eq!(
        auth.login_passkey(&p, &rp, &phished, "192.0.2.1")
            .await
            .unwrap(),
        Err(Refusal::BadPasskey)
    );
    // A cloned authenticator (counter not moving forward) is refused.
    auth.start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .unwrap();
    let options = auth
        .start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .unwrap();
    key.counter = 0; // the next assertion carries 1, the stored counter is 1
    let cloned = key.assert(&options, ORIGIN);
    assert_eq!(
        auth.login_passkey(&p, &rp, &cloned, "192.0.2.1")
            .await
            .unwrap(),
        Err(Refusal::BadPasskey)
    );
    key.counter = 10;
    let failed = audit_reasons(auth, "login.mfa_failed").await.join(" ");
    for reason in [
        "invalid_passkey",
        "replayed_passkey",
        "no_passkey_challenge",
    ] {
        assert!(failed.contains(reason), "{reason} in {failed}");
    }
    // Refused passkeys count toward the account's lockout like bad codes.
    assert!(auth.user("alice").await.unwrap().failed_logins >= 3);
    auth.enable_user("alice", "cli:root").await.unwrap();

    // Step-up with the passkey renews the MFA time.
    auth.advance_clock(600);
    let p = pending(auth, "alice").await;
    let token = auth
        .login_second_factor(&p, &code(secret.expose(), auth), "192.0.2.1")
        .await
        .unwrap()
        .unwrap();
    auth.advance_clock(600);
    let token = token.expose();
    let before = auth.session(token).await.unwrap().unwrap().mfa_at.unwrap();
    // Registering needs a fresh second factor.
    assert_eq!(
        auth.start_passkey_registration(token, &rp, 300)
            .await
            .unwrap(),
        Err(Refusal::StaleSecondFactor)
    );
    let options = auth
        .start_passkey_authentication(token, &rp)
        .await
        .unwrap()
        .unwrap();
    auth.step_up_passkey(token, &rp, &key.assert(&options, ORIGIN), "192.0.2.1")
        .await
        .unwrap()
        .unwrap();
    let after = auth.session(token).await.unwrap().unwrap().mfa_at.unwrap();
    assert!(after > before);
    assert!(auth
        .start_passkey_registration(token, &rp, 300)
        .await
        .unwrap()
        .is_ok());
    assert_eq!(counter_of(auth, info.id).await, 11);

    // Removal.
    assert!(!auth
        .remove_passkey("alice", info.id + 100, "alice")
        .await
        .unwrap());
    assert!(auth
        .remove_passkey("alice", info.id, "alice")
        .await
        .unwrap());
    assert!(auth.passkeys("alice").await.unwrap().is_empty());
    let p = pending(auth, "alice").await;
    assert!(auth
        .start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .is_none());

    for kind in [
        "mfa.passkey_registered",
        "mfa.passkey_used",
        "mfa.passkey_removed",
        "mfa.passkey_refused",
    ] {
        assert!(!audit_reasons(auth, kind).await.is_empty(), "{kind}");
    }
    assert!(matches!(
        auth.verify_audit().await.unwrap(),
        auth::audit::Verification::Intact { .. }
    ));
}
on_both!(register_sign_in_and_refusals);

async fn a_passkey_alone_is_mfa(auth: &Auth) {
    let rp = rp();
    auth.add_user("bob", Some(PASSWORD), "support", false, "cli:root")
        .await
        .unwrap();
    assert!(!auth.user("bob").await.unwrap().mfa);
    // Without MFA, the role that does not require it signs in with the
    // password alone, and may add a first passkey while that is fresh.
    let LoginStep::Done(token) = auth
        .login_password("bob", PASSWORD, "192.0.2.2", &never, None)
        .await
        .unwrap()
        .unwrap()
    else {
        panic!("password only")
    };
    let options = auth
        .start_passkey_registration(token.expose(), &rp, 300)
        .await
        .unwrap()
        .unwrap();
    let mut key = SoftKey::new();
    let answer = key.register(&options, ORIGIN);
    auth.finish_passkey_registration(token.expose(), &rp, 300, "", &answer, "192.0.2.2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.passkeys("bob").await.unwrap()[0].name, "Passkey");
    let u = auth.user("bob").await.unwrap();
    assert!(u.mfa && u.passkeys == 1);
    let review = auth.review(90).await.unwrap();
    assert!(review.without_mfa.iter().all(|a| a.username != "bob"));

    // Now MFA is mandatory: the passkey satisfies it.
    let p = pending(auth, "bob").await;
    let options = auth
        .start_passkey_authentication(&p, &rp)
        .await
        .unwrap()
        .unwrap();
    let t = auth
        .login_passkey(&p, &rp, &key.assert(&options, ORIGIN), "192.0.2.2")
        .await
        .unwrap()
        .unwrap();
    let s = auth.session(t.expose()).await.unwrap().unwrap();
    assert!(s.has_mfa() && !s.has_totp && s.mfa_fresh(auth.now(), 60));

    // An MFA reset removes passkeys too (a lost laptop).
    auth.reset_mfa("bob", "cli:root").await.unwrap();
    assert!(auth.passkeys("bob").await.unwrap().is_empty());
    assert!(auth.session(t.expose()).await.unwrap().is_none());
}
on_both!(a_passkey_alone_is_mfa);
