//! WebAuthn passkeys as a second factor (and the only one an account may
//! have): registration from a signed-in session with a fresh second
//! factor, listing, removal, and assertions at sign-in and step-up.
//! Verification is webauthn-rs's; this module keeps what it needs between
//! the two halves of a ceremony and the credentials themselves.
//!
//! A ceremony's state (the challenge and what the server expects) never
//! leaves the server: it is kept in `auth_webauthn_challenges` under the
//! hash of the session that asked for it and one purpose (`register`,
//! `login`, `step_up`), expires after [`CHALLENGE_SECONDS`], and is taken
//! (deleted) by the answer that uses it, so each challenge is answered at
//! most once, from the session it was issued to, on any node.
//!
//! A credential is stored as webauthn-rs's JSON with its signature
//! counter beside it. A counter that does not move forward (when the
//! authenticator keeps one) is refused as a replay or a cloned
//! authenticator.
//!
//! Owns: the `auth_passkeys` and `auth_webauthn_challenges` tables and
//! the accounts' WebAuthn user handles. Must not: know the HTTP request
//! (the gate gives the relying party: the site's host name and origin).

use base64::Engine;
use serde::Serialize;
use store::sqlx::{self, Row};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use crate::login::Refusal;
use crate::sessions::token_hash;
use crate::{Auth, AuthError};

/// Seconds a challenge may be answered in (the browser's own timeout is
/// webauthn-rs's default, 5 minutes, too).
pub const CHALLENGE_SECONDS: i64 = 300;
/// Longest passkey name kept.
pub const MAX_NAME_LEN: usize = 64;
/// Longest credential response looked at (a passkey's is under 2 KiB;
/// the portal's forms are at most 8 KiB).
pub const MAX_RESPONSE_LEN: usize = 6 * 1024;

/// Who the passkeys are for: the site's host name (the RP ID) and the
/// origin its pages are served from (`https://host[:port]`).
pub struct RelyingParty {
    webauthn: Webauthn,
    id: String,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("id", &self.id)
            .finish()
    }
}

impl RelyingParty {
    /// The relying party `rp_id` for pages served at `origin`. The RP ID
    /// must be a domain name (not an IP address) that the origin's host
    /// is or ends with.
    pub fn new(rp_id: &str, origin: &str, name: &str) -> Result<RelyingParty, AuthError> {
        let bad = |why: &str| AuthError::Passkey(format!("relying party {rp_id:?}: {why}"));
        let url = Url::parse(origin).map_err(|_| bad("the origin is not a URL"))?;
        if url.scheme() != "https" && url.host_str() != Some("localhost") {
            return Err(bad("passkeys need an https origin"));
        }
        if url.domain().is_none() {
            return Err(bad(
                "an IP address cannot be a passkey relying party; use a host name",
            ));
        }
        let webauthn = WebauthnBuilder::new(rp_id, &url)
            .map_err(|_| bad("the RP ID must be the origin's host name or a parent domain of it"))?
            .rp_name(name)
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(RelyingParty {
            webauthn,
            id: rp_id.to_string(),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A registered passkey as listings show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PasskeyInfo {
    pub id: i64,
    pub name: String,
    /// Unix seconds.
    pub created: i64,
    pub last_used: Option<i64>,
}

/// What a new passkey may be called: printable, at most 64 characters,
/// "Passkey" when empty.
fn clean_name(name: &str) -> String {
    let n: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_LEN)
        .collect();
    let n = n.trim();
    if n.is_empty() {
        "Passkey".into()
    } else {
        n.to_string()
    }
}

fn credential_id(p: &Passkey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(AsRef::<[u8]>::as_ref(p.cred_id()))
}

fn internal(what: &str) -> impl Fn(serde_json::Error) -> AuthError + '_ {
    move |e| AuthError::Internal(format!("{what}: {e}"))
}

/// The outcome of checking an assertion.
pub(crate) enum Assertion {
    Valid {
        passkey_id: i64,
        name: String,
    },
    /// Forged, tampered, for another credential or another site.
    Invalid,
    /// No challenge for this session (expired, or answered already).
    NoChallenge,
    /// Signature counter did not move forward.
    Replayed,
}

impl Auth {
    /// The account's WebAuthn user handle, created on first use. Random,
    /// so it says nothing about the account.
    async fn user_handle(&self, user_id: i64) -> Result<Uuid, AuthError> {
        let row = sqlx::query("SELECT webauthn_handle FROM auth_users WHERE id = $1")
            .bind(user_id)
            .fetch_one(self.db.pool())
            .await?;
        if let Some(h) = row.try_get::<Option<String>, _>(0)? {
            return Uuid::parse_str(&h).map_err(|_| {
                AuthError::Internal("stored WebAuthn user handle is not a UUID".into())
            });
        }
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&crate::secret::random_bytes(16));
        let fresh = uuid_v4(bytes);
        sqlx::query(
            "UPDATE auth_users SET webauthn_handle = $1 WHERE id = $2 AND webauthn_handle IS NULL",
        )
        .bind(fresh.to_string())
        .bind(user_id)
        .execute(self.db.pool())
        .await?;
        // A concurrent first use may have won: read what is stored.
        let row = sqlx::query("SELECT webauthn_handle FROM auth_users WHERE id = $1")
            .bind(user_id)
            .fetch_one(self.db.pool())
            .await?;
        let stored: String = row.try_get(0)?;
        Uuid::parse_str(&stored)
            .map_err(|_| AuthError::Internal("stored WebAuthn user handle is not a UUID".into()))
    }

    async fn stored_passkeys(
        &self,
        user_id: i64,
    ) -> Result<Vec<(i64, String, Passkey)>, AuthError> {
        let rows = sqlx::query(
            "SELECT id, name, passkey FROM auth_passkeys WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let json: String = r.try_get(2)?;
                let pk: Passkey =
                    serde_json::from_str(&json).map_err(internal("stored passkey"))?;
                Ok((r.try_get(0)?, r.try_get(1)?, pk))
            })
            .collect()
    }

    /// The passkeys of `username`, oldest first.
    pub async fn passkeys(&self, username: &str) -> Result<Vec<PasskeyInfo>, AuthError> {
        let u = self.user(username).await?;
        self.passkeys_of(u.id).await
    }

    pub(crate) async fn passkeys_of(&self, user_id: i64) -> Result<Vec<PasskeyInfo>, AuthError> {
        let rows = sqlx::query(
            "SELECT id, name, created, last_used FROM auth_passkeys WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(PasskeyInfo {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    created: r.try_get(2)?,
                    last_used: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Removes passkey `id` of `username`; false when the account has no
    /// such passkey.
    pub async fn remove_passkey(
        &self,
        username: &str,
        id: i64,
        actor: &str,
    ) -> Result<bool, AuthError> {
        let u = self.user(username).await?;
        let gone = sqlx::query("DELETE FROM auth_passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(u.id)
            .execute(self.db.pool())
            .await?
            .rows_affected()
            == 1;
        if gone {
            self.audit(
                "mfa.passkey_removed",
                actor,
                &u.username,
                serde_json::json!({ "passkey": id }),
            )
            .await?;
        }
        Ok(gone)
    }

    /// Removes every passkey of an account (MFA reset); how many.
    pub(crate) async fn remove_passkeys_of(&self, user_id: i64) -> Result<u64, AuthError> {
        Ok(sqlx::query("DELETE FROM auth_passkeys WHERE user_id = $1")
            .bind(user_id)
            .execute(self.db.pool())
            .await?
            .rows_affected())
    }

    async fn put_challenge(
        &self,
        session_hash: &str,
        purpose: &str,
        state: String,
    ) -> Result<(), AuthError> {
        let now = self.now();
        sqlx::query("DELETE FROM auth_webauthn_challenges WHERE expires < $1")
            .bind(now)
            .execute(self.db.pool())
            .await?;
        sqlx::query(
            "INSERT INTO auth_webauthn_challenges (session_hash, purpose, state, expires) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (session_hash, purpose) DO UPDATE SET state = $3, expires = $4",
        )
        .bind(session_hash)
        .bind(purpose)
        .bind(state)
        .bind(now + CHALLENGE_SECONDS)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Takes the session's challenge for `purpose`: at most one caller
    /// gets it, and only before it expires.
    async fn take_challenge(
        &self,
        session_hash: &str,
        purpose: &str,
    ) -> Result<Option<String>, AuthError> {
        let row = sqlx::query(
            "DELETE FROM auth_webauthn_challenges WHERE session_hash = $1 AND purpose = $2 RETURNING state, expires",
        )
        .bind(session_hash)
        .bind(purpose)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires: i64 = row.try_get(1)?;
        if expires < self.now() {
            return Ok(None);
        }
        Ok(Some(row.try_get(0)?))
    }

    /// Starts registering a passkey for the signed-in session `token`:
    /// the options for `navigator.credentials.create` as JSON. The
    /// session must have confirmed its second factor within
    /// `fresh_seconds` (an account without any second factor yet: signed
    /// in within that time).
    pub async fn start_passkey_registration(
        &self,
        token: &str,
        rp: &RelyingParty,
        fresh_seconds: i64,
    ) -> Result<Result<String, Refusal>, AuthError> {
        let Some(s) = self.session(token).await? else {
            return Ok(Err(Refusal::SessionExpired));
        };
        if s.pending {
            return Ok(Err(Refusal::SessionExpired));
        }
        if !s.mfa_fresh(self.now(), fresh_seconds) {
            return Ok(Err(Refusal::StaleSecondFactor));
        }
        let handle = self.user_handle(s.user_id).await?;
        let existing: Vec<_> = self
            .stored_passkeys(s.user_id)
            .await?
            .into_iter()
            .map(|(_, _, p)| p.cred_id().clone())
            .collect();
        let (options, state) = rp
            .webauthn
            .start_passkey_registration(handle, &s.username, &s.username, Some(existing))
            .map_err(|e| AuthError::Passkey(format!("passkey registration: {e}")))?;
        let state = serde_json::to_string(&state).map_err(internal("registration state"))?;
        self.put_challenge(&token_hash(token), "register", state)
            .await?;
        Ok(Ok(
            serde_json::to_string(&options).map_err(internal("registration options"))?
        ))
    }

    /// Finishes a registration with the browser's answer (the JSON of the
    /// `PublicKeyCredential`, binary fields base64url).
    pub async fn finish_passkey_registration(
        &self,
        token: &str,
        rp: &RelyingParty,
        fresh_seconds: i64,
        name: &str,
        response: &str,
        ip: &str,
    ) -> Result<Result<PasskeyInfo, Refusal>, AuthError> {
        let Some(s) = self.session(token).await? else {
            return Ok(Err(Refusal::SessionExpired));
        };
        if s.pending {
            return Ok(Err(Refusal::SessionExpired));
        }
        if !s.mfa_fresh(self.now(), fresh_seconds) {
            return Ok(Err(Refusal::StaleSecondFactor));
        }
        let Some(state) = self.take_challenge(&token_hash(token), "register").await? else {
            return self
                .registration_refused(ip, &s.username, "no_challenge")
                .await;
        };
        let state: PasskeyRegistration =
            serde_json::from_str(&state).map_err(internal("registration state"))?;
        if response.len() > MAX_RESPONSE_LEN {
            return self
                .registration_refused(ip, &s.username, "malformed")
                .await;
        }
        let Ok(reg) = serde_json::from_str::<RegisterPublicKeyCredential>(response) else {
            return self
                .registration_refused(ip, &s.username, "malformed")
                .await;
        };
        let passkey = match rp.webauthn.finish_passkey_registration(&reg, &state) {
            Ok(p) => p,
            Err(_) => return self.registration_refused(ip, &s.username, "invalid").await,
        };
        let name = clean_name(name);
        let json = serde_json::to_string(&passkey).map_err(internal("passkey"))?;
        let now = self.now();
        let inserted = sqlx::query(
            "INSERT INTO auth_passkeys (user_id, credential_id, name, passkey, counter, created) VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
        )
        .bind(s.user_id)
        .bind(credential_id(&passkey))
        .bind(&name)
        .bind(&json)
        .bind(now)
        .fetch_one(self.db.pool())
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get(0)?,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return self
                    .registration_refused(ip, &s.username, "already_registered")
                    .await
            }
            Err(e) => return Err(e.into()),
        };
        self.audit(
            "mfa.passkey_registered",
            &s.username,
            &s.username,
            serde_json::json!({ "passkey": id, "name": name, "rp_id": rp.id, "ip": ip }),
        )
        .await?;
        Ok(Ok(PasskeyInfo {
            id,
            name,
            created: now,
            last_used: None,
        }))
    }

    async fn registration_refused(
        &self,
        ip: &str,
        username: &str,
        reason: &str,
    ) -> Result<Result<PasskeyInfo, Refusal>, AuthError> {
        self.audit(
            "mfa.passkey_refused",
            ip,
            username,
            serde_json::json!({ "step": "register", "reason": reason }),
        )
        .await?;
        Ok(Err(Refusal::BadPasskey))
    }

    /// A challenge for one of the session's account's passkeys (the
    /// options for `navigator.credentials.get` as JSON), for signing in
    /// (a pending session) or step-up; `None` when it has no passkey.
    pub async fn start_passkey_authentication(
        &self,
        token: &str,
        rp: &RelyingParty,
    ) -> Result<Option<String>, AuthError> {
        let Some(s) = self.session(token).await? else {
            return Ok(None);
        };
        let keys: Vec<Passkey> = self
            .stored_passkeys(s.user_id)
            .await?
            .into_iter()
            .map(|(_, _, p)| p)
            .collect();
        if keys.is_empty() {
            return Ok(None);
        }
        let (options, state) = rp
            .webauthn
            .start_passkey_authentication(&keys)
            .map_err(|e| AuthError::Passkey(format!("passkey sign-in: {e}")))?;
        let state = serde_json::to_string(&state).map_err(internal("authentication state"))?;
        let purpose = if s.pending { "login" } else { "step_up" };
        self.put_challenge(&token_hash(token), purpose, state)
            .await?;
        Ok(Some(
            serde_json::to_string(&options).map_err(internal("authentication options"))?,
        ))
    }

    /// Checks an assertion against the session's challenge; on success
    /// the credential's counter and state are stored.
    pub(crate) async fn check_assertion(
        &self,
        user_id: i64,
        session_hash: &str,
        purpose: &str,
        rp: &RelyingParty,
        response: &str,
    ) -> Result<Assertion, AuthError> {
        let Some(state) = self.take_challenge(session_hash, purpose).await? else {
            return Ok(Assertion::NoChallenge);
        };
        let state: PasskeyAuthentication =
            serde_json::from_str(&state).map_err(internal("authentication state"))?;
        if response.len() > MAX_RESPONSE_LEN {
            return Ok(Assertion::Invalid);
        }
        let Ok(cred) = serde_json::from_str::<PublicKeyCredential>(response) else {
            return Ok(Assertion::Invalid);
        };
        let result = match rp.webauthn.finish_passkey_authentication(&cred, &state) {
            Ok(r) => r,
            Err(webauthn_rs::prelude::WebauthnError::CredentialPossibleCompromise) => {
                return Ok(Assertion::Replayed)
            }
            Err(_) => return Ok(Assertion::Invalid),
        };
        let used = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(AsRef::<[u8]>::as_ref(result.cred_id()));
        let Some((id, name, mut passkey)) = self
            .stored_passkeys(user_id)
            .await?
            .into_iter()
            .find(|(_, _, p)| crate::secrets_equal(credential_id(p).as_bytes(), used.as_bytes()))
        else {
            // Removed between the challenge and the answer.
            return Ok(Assertion::Invalid);
        };
        passkey.update_credential(&result);
        let counter = i64::from(result.counter());
        let json = serde_json::to_string(&passkey).map_err(internal("passkey"))?;
        // Authenticators without a counter always send 0; one that keeps
        // a counter must move it forward, also against a concurrent use.
        let moved = sqlx::query(
            "UPDATE auth_passkeys SET passkey = $1, counter = $2, last_used = $3 WHERE id = $4 AND ($2 = 0 OR counter < $2)",
        )
        .bind(&json)
        .bind(counter)
        .bind(self.now())
        .bind(id)
        .execute(self.db.pool())
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(Assertion::Replayed);
        }
        Ok(Assertion::Valid {
            passkey_id: id,
            name,
        })
    }
}

/// A random (version 4) UUID from 16 random bytes.
fn uuid_v4(mut b: [u8; 16]) -> Uuid {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_needs_a_host_name_and_https() {
        assert!(RelyingParty::new("shop.test", "https://shop.test:8443", "Rampart").is_ok());
        assert!(RelyingParty::new("shop.test", "https://admin.shop.test", "Rampart").is_ok());
        let e = RelyingParty::new("127.0.0.1", "https://127.0.0.1:8443", "Rampart").unwrap_err();
        assert!(e.to_string().contains("IP address"), "{e}");
        assert!(RelyingParty::new("shop.test", "http://shop.test", "Rampart").is_err());
        assert!(RelyingParty::new("other.test", "https://shop.test", "Rampart").is_err());
    }

    #[test]
    fn names_are_printable_and_bounded() {
        assert_eq!(clean_name(""), "Passkey");
        assert_eq!(clean_name("  laptop\n "), "laptop");
        assert_eq!(clean_name(&"x".repeat(200)).len(), MAX_NAME_LEN);
        assert_eq!(uuid_v4([0xff; 16]).get_version_num(), 4);
    }
}
