//! Staff sessions: a random 256-bit token the browser holds, stored only
//! as its SHA-256, with an idle and an absolute timeout, a CSRF token of
//! its own, and the time of the last second-factor check (for step-up).
//! A session is `pending` between the password and the second factor.
//!
//! Owns: the `auth_sessions` table. Every check reads the database, so a
//! revocation (logout, disable, role change, MFA reset) takes effect at
//! once on every gateway node that shares it. Must not: know cookies.

use store::sqlx::{self, Row};

use crate::secret::{random_token, sha256_hex, Secret};
use crate::{Auth, AuthError};

/// A live session, as the gate sees it.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    /// Unix seconds of login.
    pub created: i64,
    /// Unix seconds of the last accepted second factor, if any.
    pub mfa_at: Option<i64>,
    /// Waiting for the second factor.
    pub pending: bool,
    /// The session's CSRF token (forms of the portal carry it).
    pub csrf: Secret,
    /// The account has an authenticator enrolled.
    pub has_totp: bool,
    /// The account has at least one passkey.
    pub has_passkey: bool,
}

impl Session {
    /// The account has a second factor (TOTP or a passkey).
    pub fn has_mfa(&self) -> bool {
        self.has_totp || self.has_passkey
    }

    /// Whether the second factor was confirmed within `seconds` of `now`
    /// (step-up's rule). An account with no second factor at all has
    /// nothing to confirm: its sign-in must be that recent instead.
    pub fn mfa_fresh(&self, now: i64, seconds: i64) -> bool {
        if self.has_mfa() {
            self.mfa_at.is_some_and(|t| now - t <= seconds)
        } else {
            now - self.created <= seconds
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("pending", &self.pending)
            .field("has_totp", &self.has_totp)
            .field("has_passkey", &self.has_passkey)
            .finish()
    }
}

/// Longest session token accepted from a client (longer: not looked up).
pub const MAX_TOKEN_LEN: usize = 64;

/// The stored form of a token.
pub(crate) fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn well_formed(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Auth {
    /// Starts a session for `user_id`; returns the token for the cookie.
    pub(crate) async fn create_session(
        &self,
        user_id: i64,
        pending: bool,
        mfa_at: Option<i64>,
        ip: &str,
    ) -> Result<Secret, AuthError> {
        let token = random_token(32);
        let now = self.now();
        sqlx::query(
            "INSERT INTO auth_sessions (id_hash, user_id, created, last_seen, mfa_at, pending, csrf, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(now)
        .bind(now)
        .bind(mfa_at)
        .bind(if pending { 1i64 } else { 0 })
        .bind(random_token(24))
        .bind(ip)
        .execute(self.db.pool())
        .await?;
        Ok(Secret::new(token))
    }

    /// The session `token` names, if it is live: known, not expired (idle,
    /// absolute, or pending too long), and its account enabled. An expired
    /// session is deleted. Refreshes the idle timer.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, AuthError> {
        if !well_formed(token) {
            return Ok(None);
        }
        let hash = token_hash(token);
        let row = sqlx::query(
            "SELECT s.user_id, u.username, u.role, s.created, s.last_seen, s.mfa_at, s.pending, s.csrf, u.disabled, u.totp_secret IS NOT NULL, EXISTS (SELECT 1 FROM auth_passkeys p WHERE p.user_id = s.user_id) FROM auth_sessions s JOIN auth_users u ON u.id = s.user_id WHERE s.id_hash = $1",
        )
        .bind(&hash)
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let now = self.now();
        let created: i64 = row.try_get(3)?;
        let last_seen: i64 = row.try_get(4)?;
        let pending = row.try_get::<i64, _>(6)? != 0;
        let disabled = row.try_get::<i64, _>(8)? != 0;
        let s = &self.settings;
        let expired = disabled
            || now - last_seen > s.idle_timeout
            || now - created > s.absolute_timeout
            || (pending && now - created > s.pending_timeout);
        if expired {
            self.drop_session(&hash).await?;
            return Ok(None);
        }
        if now - last_seen >= 15 {
            sqlx::query("UPDATE auth_sessions SET last_seen = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(&hash)
                .execute(self.db.pool())
                .await?;
        }
        Ok(Some(Session {
            user_id: row.try_get(0)?,
            username: row.try_get(1)?,
            role: row.try_get(2)?,
            created,
            mfa_at: row.try_get(5)?,
            pending,
            csrf: Secret::new(row.try_get::<String, _>(7)?),
            has_totp: row
                .try_get::<bool, _>(9)
                .or_else(|_| row.try_get::<i64, _>(9).map(|v| v != 0))?,
            has_passkey: row
                .try_get::<bool, _>(10)
                .or_else(|_| row.try_get::<i64, _>(10).map(|v| v != 0))?,
        }))
    }

    pub(crate) async fn drop_session(&self, hash: &str) -> Result<bool, AuthError> {
        let r = sqlx::query("DELETE FROM auth_sessions WHERE id_hash = $1")
            .bind(hash)
            .execute(self.db.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Ends the session `token` names (logout).
    pub async fn logout(&self, token: &str, ip: &str) -> Result<(), AuthError> {
        if !well_formed(token) {
            return Ok(());
        }
        if let Some(s) = self.session(token).await? {
            self.drop_session(&token_hash(token)).await?;
            self.audit(
                "session.logout",
                &s.username,
                &s.username,
                serde_json::json!({ "ip": ip }),
            )
            .await?;
        }
        Ok(())
    }

    pub(crate) async fn end_sessions_of(&self, user_id: i64) -> Result<u64, AuthError> {
        let r = sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.db.pool())
            .await?;
        Ok(r.rows_affected())
    }

    /// Ends every session of `username` at once.
    pub async fn revoke_sessions(&self, username: &str, actor: &str) -> Result<u64, AuthError> {
        let u = self.user(username).await?;
        let ended = self.end_sessions_of(u.id).await?;
        self.audit(
            "session.revoked_all",
            actor,
            &u.username,
            serde_json::json!({ "sessions_ended": ended }),
        )
        .await?;
        Ok(ended)
    }

    /// Live (not pending) sessions of `username`.
    pub async fn session_count(&self, username: &str) -> Result<i64, AuthError> {
        let u = self.user(username).await?;
        let row =
            sqlx::query("SELECT COUNT(*) FROM auth_sessions WHERE user_id = $1 AND pending = 0")
                .bind(u.id)
                .fetch_one(self.db.pool())
                .await?;
        Ok(row.try_get(0)?)
    }
}
