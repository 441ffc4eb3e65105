//! `auth`: who may enter a store's back office, and the record of it.
//!
//! Owns: staff accounts ([`users`]), Argon2id passwords and the strength
//! check ([`password`]), TOTP enrollment and codes ([`totp`]), WebAuthn passkeys
//! ([`passkeys`]), single-use recovery codes, failed-login backoff and lockout per account and per
//! client address ([`login`]), sessions with idle and absolute timeouts
//! ([`sessions`]), roles mapped to paths and methods ([`roles`]), access
//! reviews ([`review`]) and the append-only, hash-chained audit trail of
//! all of it ([`audit`]). Storage goes through [`store::Database`]
//! (SQLite or PostgreSQL, the same SQL).
//!
//! Must not: route HTTP, render pages or set cookies (the gateway's
//! access gate does), or log a password, code, secret or session token
//! (they are [`Secret`]s, redacted in `Debug`).

pub mod audit;
pub mod login;
pub mod passkeys;
pub mod password;
pub mod review;
pub mod roles;
mod secret;
pub mod sessions;
pub mod totp;
pub mod users;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub use login::{LoginStep, Refusal};
pub use passkeys::{PasskeyInfo, RelyingParty};
pub use roles::{Permission, Policy, BUILTIN_ROLES, PRIVILEGED_ROLES};
pub use secret::{secrets_equal, Secret};
pub use sessions::Session;
pub use store::Database;
pub use users::{Enrollment, User};

/// A random 20-character password (for `rampart users set-password`).
pub fn generate_password() -> Secret {
    Secret::new(secret::random_password())
}

/// Errors of the access layer: one line, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("auth database query failed: {0}")]
    Query(#[from] store::sqlx::Error),
    #[error("{0}")]
    WeakPassword(String),
    #[error("no staff account named {0:?}")]
    UnknownUser(String),
    #[error("a staff account named {0:?} already exists")]
    UserExists(String),
    #[error("user name {0:?}: use 1-64 characters of a-z, 0-9, '.', '_', '-' or '@'")]
    InvalidUsername(String),
    #[error("role {0:?}: use owner, admin, developer, support, auditor or a custom name of 1-32 characters a-z, 0-9, '_' or '-'")]
    InvalidRole(String),
    #[error("{0}")]
    Totp(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Passkey(String),
    #[error("reviewer {0:?}: name who signs off (1-64 printable characters)")]
    InvalidReviewer(String),
}

/// Timeouts and lockout thresholds. The defaults follow OWASP's session
/// and authentication cheat sheets for privileged accounts.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A session unused this long (seconds) ends.
    pub idle_timeout: i64,
    /// A session ends this long (seconds) after login, used or not.
    pub absolute_timeout: i64,
    /// Time (seconds) to enter the second factor after the password.
    pub pending_timeout: i64,
    /// Consecutive failures (password or code) that lock an account.
    pub account_lock_after: i64,
    /// Failures from one client address, within `ip_window`, that lock it out.
    pub ip_lock_after: i64,
    /// Seconds over which failures from one address are counted.
    pub ip_window: i64,
    /// First lockout in seconds; each further failure doubles it.
    pub lock_base: i64,
    /// Longest lockout in seconds.
    pub lock_max: i64,
    /// The name authenticator apps show for the codes.
    pub issuer: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            idle_timeout: 30 * 60,
            absolute_timeout: 12 * 3600,
            pending_timeout: 5 * 60,
            account_lock_after: 5,
            ip_lock_after: 20,
            ip_window: 15 * 60,
            lock_base: 60,
            lock_max: 3600,
            issuer: "Rampart".into(),
        }
    }
}

/// The staff-access database: accounts, sessions, audit trail.
#[derive(Clone)]
pub struct Auth {
    pub(crate) db: Database,
    pub(crate) settings: Settings,
    clock_offset: Arc<AtomicI64>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("db", &self.db).finish()
    }
}

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE auth_users (id {serial}, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, role TEXT NOT NULL, disabled BIGINT NOT NULL DEFAULT 0, totp_secret TEXT, totp_last_step BIGINT NOT NULL DEFAULT 0, created BIGINT NOT NULL, last_login BIGINT, failed_logins BIGINT NOT NULL DEFAULT 0, locked_until BIGINT NOT NULL DEFAULT 0);
     CREATE TABLE auth_recovery_codes (user_id BIGINT NOT NULL, code_hash TEXT NOT NULL, used_at BIGINT, PRIMARY KEY (user_id, code_hash));
     CREATE TABLE auth_sessions (id_hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL, created BIGINT NOT NULL, last_seen BIGINT NOT NULL, mfa_at BIGINT, pending BIGINT NOT NULL, csrf TEXT NOT NULL, ip TEXT NOT NULL);
     CREATE INDEX auth_sessions_user ON auth_sessions (user_id);
     CREATE TABLE auth_ip_failures (ip TEXT PRIMARY KEY, failures BIGINT NOT NULL, last_failure BIGINT NOT NULL, locked_until BIGINT NOT NULL);
     CREATE TABLE auth_audit (seq {serial}, time BIGINT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL UNIQUE, hash TEXT NOT NULL);
     CREATE TABLE auth_reviews (id {serial}, time BIGINT NOT NULL, reviewer TEXT NOT NULL, audit_seq BIGINT NOT NULL, summary TEXT NOT NULL)",
    // WebAuthn passkeys: webauthn-rs's credential JSON per account, its
    // signature counter, and ceremony state bound to a session.
    "ALTER TABLE auth_users ADD COLUMN webauthn_handle TEXT;
     CREATE TABLE auth_passkeys (id {serial}, user_id BIGINT NOT NULL, credential_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, passkey TEXT NOT NULL, counter BIGINT NOT NULL, created BIGINT NOT NULL, last_used BIGINT);
     CREATE INDEX auth_passkeys_user ON auth_passkeys (user_id);
     CREATE TABLE auth_webauthn_challenges (session_hash TEXT NOT NULL, purpose TEXT NOT NULL, state TEXT NOT NULL, expires BIGINT NOT NULL, PRIMARY KEY (session_hash, purpose))",
];

impl Auth {
    /// Opens the access tables in `db`, creating them on first use.
    pub async fn open(db: Database, settings: Settings) -> Result<Auth, AuthError> {
        db.migrate("auth", MIGRATIONS).await?;
        Ok(Auth {
            db,
            settings,
            clock_offset: Arc::new(AtomicI64::new(0)),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Unix time in seconds, as this handle sees it.
    pub fn now(&self) -> i64 {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        sys + self.clock_offset.load(Ordering::Relaxed)
    }

    /// Moves this handle's clock forward by `seconds` (tests of timeouts
    /// and lockouts; nothing in the binary calls it).
    pub fn advance_clock(&self, seconds: i64) {
        self.clock_offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// What an actor name or a typed user name may look like in the audit
/// trail: at most 64 printable characters.
pub(crate) fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}
