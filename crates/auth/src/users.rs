//! Staff accounts: creation with a checked password and TOTP enrollment,
//! listing, disabling (offboarding: every session ends at once), roles,
//! MFA reset with fresh recovery codes. Every change is an audit entry.
//!
//! Owns: the `auth_users` and `auth_recovery_codes` tables. Must not:
//! return a password hash or TOTP secret from a listing.

use serde::Serialize;
use store::sqlx::{self, Row};

use crate::secret::{self, sha256_hex, Secret};
use crate::{printable, roles, totp, Auth, AuthError};

/// How many recovery codes an enrollment issues.
pub const RECOVERY_CODES: usize = 10;

/// A staff account as listings show it (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    /// A second factor is enrolled: a TOTP authenticator or a passkey.
    pub mfa: bool,
    /// Registered passkeys.
    pub passkeys: i64,
    /// Unix seconds.
    pub created: i64,
    pub last_login: Option<i64>,
    /// Consecutive failed sign-ins.
    pub failed_logins: i64,
    /// Unix seconds; 0 or past when not locked.
    pub locked_until: i64,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// What a new enrollment gives the person: shown once, never stored in
/// clear except the TOTP secret the server needs to check codes.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// Base32 TOTP secret, to type into an authenticator app.
    pub totp_secret: Secret,
    /// The `otpauth://` URI (what the QR code holds).
    pub otpauth_uri: Secret,
    /// Single-use codes for when the authenticator is lost.
    pub recovery_codes: Vec<Secret>,
}

/// A new account's credentials: the password when Rampart generated it.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user: User,
    pub generated_password: Option<Secret>,
    pub enrollment: Option<Enrollment>,
}

pub(crate) fn check_username(name: &str) -> Result<String, AuthError> {
    let n = name.trim().to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
    if ok {
        Ok(n)
    } else {
        Err(AuthError::InvalidUsername(printable(name)))
    }
}

const USER_COLUMNS: &str = "u.id, u.username, u.role, u.disabled, u.totp_secret IS NOT NULL, u.created, u.last_login, u.failed_logins, u.locked_until, (SELECT COUNT(*) FROM auth_recovery_codes c WHERE c.user_id = u.id AND c.used_at IS NULL), (SELECT COUNT(*) FROM auth_passkeys p WHERE p.user_id = u.id)";

fn user(row: &store::sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    let passkeys: i64 = row.try_get(10)?;
    let totp = row
        .try_get::<bool, _>(4)
        .or_else(|_| row.try_get::<i64, _>(4).map(|v| v != 0))?;
    Ok(User {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        role: row.try_get(2)?,
        disabled: row.try_get::<i64, _>(3)? != 0,
        mfa: totp || passkeys > 0,
        passkeys,
        created: row.try_get(5)?,
        last_login: row.try_get(6)?,
        failed_logins: row.try_get(7)?,
        locked_until: row.try_get(8)?,
        recovery_codes_left: row.try_get(9)?,
    })
}

impl Auth {
    /// Creates a staff account. Without `password` one is generated (and
    /// returned once). With `mfa`, a TOTP authenticator and recovery codes
    /// are enrolled at once, so the account never exists without its
    /// second factor.
    pub async fn add_user(
        &self,
        username: &str,
        password: Option<&str>,
        role: &str,
        mfa: bool,
        actor: &str,
    ) -> Result<NewAccount, AuthError> {
        let username = check_username(username)?;
        let role = roles::check_role(role)?;
        let generated = match password {
            Some(p) => {
                crate::password::check_strength(p, &username).map_err(AuthError::WeakPassword)?;
                None
            }
            None => Some(Secret::new(secret::random_password())),
        };
        let plain = password.map(str::to_string).unwrap_or_else(|| {
            generated
                .as_ref()
                .map(|g| g.expose().to_string())
                .unwrap_or_default()
        });
        let hash = tokio::task::spawn_blocking(move || crate::password::hash(&plain))
            .await
            .map_err(|e| AuthError::Internal(format!("password hashing: {e}")))?;
        let exists = sqlx::query("SELECT id FROM auth_users WHERE username = $1")
            .bind(&username)
            .fetch_optional(self.db.pool())
            .await?;
        if exists.is_some() {
            return Err(AuthError::UserExists(username));
        }
        let now = self.now();
        let inserted = sqlx::query(
            "INSERT INTO auth_users (username, password_hash, role, created) VALUES ($1, $2, $3, $4)",
        )
        .bind(&username)
        .bind(&hash)
        .bind(&role)
        .bind(now)
        .execute(self.db.pool())
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AuthError::UserExists(username))
            }
            r => {
                r?;
            }
        }
        self.audit(
            "user.added",
            actor,
            &username,
            serde_json::json!({ "role": role, "mfa": mfa }),
        )
        .await?;
        let enrollment = if mfa {
            Some(self.enroll(&username, actor).await?)
        } else {
            None
        };
        let user = self.user(&username).await?;
        Ok(NewAccount {
            user,
            generated_password: generated,
            enrollment,
        })
    }

    /// The account named `username`.
    pub async fn user(&self, username: &str) -> Result<User, AuthError> {
        let name = check_username(username)?;
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM auth_users u WHERE u.username = $1"
        ))
        .bind(&name)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(AuthError::UnknownUser(name))?;
        Ok(user(&row)?)
    }

    /// Every account, by name.
    pub async fn users(&self) -> Result<Vec<User>, AuthError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM auth_users u ORDER BY u.username"
        ))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(user).collect::<Result<_, _>>()?)
    }

    /// Whether any account exists (the demo creates its first owner).
    pub async fn has_users(&self) -> Result<bool, AuthError> {
        let row = sqlx::query("SELECT COUNT(*) FROM auth_users")
            .fetch_one(self.db.pool())
            .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Disables an account and ends all its sessions at once.
    pub async fn disable_user(&self, username: &str, actor: &str) -> Result<u64, AuthError> {
        let u = self.user(username).await?;
        sqlx::query("UPDATE auth_users SET disabled = 1 WHERE id = $1")
            .bind(u.id)
            .execute(self.db.pool())
            .await?;
        let ended = self.end_sessions_of(u.id).await?;
        self.audit(
            "user.disabled",
            actor,
            &u.username,
            serde_json::json!({ "sessions_ended": ended }),
        )
        .await?;
        Ok(ended)
    }

    /// Re-enables an account and clears its lockout.
    pub async fn enable_user(&self, username: &str, actor: &str) -> Result<(), AuthError> {
        let u = self.user(username).await?;
        sqlx::query(
            "UPDATE auth_users SET disabled = 0, failed_logins = 0, locked_until = 0 WHERE id = $1",
        )
        .bind(u.id)
        .execute(self.db.pool())
        .await?;
        self.audit("user.enabled", actor, &u.username, serde_json::json!({}))
            .await?;
        Ok(())
    }

    /// Changes an account's role; its sessions end (they carried the old
    /// role's rights).
    pub async fn set_role(&self, username: &str, role: &str, actor: &str) -> Result<(), AuthError> {
        let u = self.user(username).await?;
        let role = roles::check_role(role)?;
        sqlx::query("UPDATE auth_users SET role = $1 WHERE id = $2")
            .bind(&role)
            .bind(u.id)
            .execute(self.db.pool())
            .await?;
        let ended = self.end_sessions_of(u.id).await?;
        self.audit(
            "user.role_changed",
            actor,
            &u.username,
            serde_json::json!({ "from": u.role, "to": role, "sessions_ended": ended }),
        )
        .await?;
        Ok(())
    }

    /// Replaces the account's password (checked for strength).
    pub async fn set_password(
        &self,
        username: &str,
        password: &str,
        actor: &str,
    ) -> Result<(), AuthError> {
        let u = self.user(username).await?;
        crate::password::check_strength(password, &u.username).map_err(AuthError::WeakPassword)?;
        let plain = password.to_string();
        let hash = tokio::task::spawn_blocking(move || crate::password::hash(&plain))
            .await
            .map_err(|e| AuthError::Internal(format!("password hashing: {e}")))?;
        sqlx::query("UPDATE auth_users SET password_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(u.id)
            .execute(self.db.pool())
            .await?;
        let ended = self.end_sessions_of(u.id).await?;
        self.audit(
            "user.password_changed",
            actor,
            &u.username,
            serde_json::json!({ "sessions_ended": ended }),
        )
        .await?;
        Ok(())
    }

    /// Removes the account's authenticator, passkeys and recovery codes
    /// and enrolls a new authenticator and codes (for a lost phone or
    /// laptop); its sessions end.
    pub async fn reset_mfa(&self, username: &str, actor: &str) -> Result<Enrollment, AuthError> {
        let u = self.user(username).await?;
        self.end_sessions_of(u.id).await?;
        let passkeys = self.remove_passkeys_of(u.id).await?;
        self.audit(
            "mfa.reset",
            actor,
            &u.username,
            serde_json::json!({ "passkeys_removed": passkeys }),
        )
        .await?;
        self.enroll(&u.username, actor).await
    }

    /// A new TOTP secret and recovery codes for `username`.
    async fn enroll(&self, username: &str, actor: &str) -> Result<Enrollment, AuthError> {
        let u = self.user(username).await?;
        let secret = totp::new_secret();
        let uri = totp::otpauth_uri(secret.expose(), &u.username, &self.settings.issuer)
            .map_err(AuthError::Totp)?;
        let codes: Vec<Secret> = (0..RECOVERY_CODES)
            .map(|_| Secret::new(secret::recovery_code()))
            .collect();
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("UPDATE auth_users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2")
            .bind(secret.expose())
            .bind(u.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM auth_recovery_codes WHERE user_id = $1")
            .bind(u.id)
            .execute(&mut *tx)
            .await?;
        for c in &codes {
            sqlx::query("INSERT INTO auth_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(u.id)
                .bind(sha256_hex(c.expose().as_bytes()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.audit(
            "mfa.enrolled",
            actor,
            &u.username,
            serde_json::json!({ "method": "totp", "recovery_codes": codes.len() }),
        )
        .await?;
        Ok(Enrollment {
            totp_secret: secret,
            otpauth_uri: Secret::new(uri),
            recovery_codes: codes,
        })
    }
}
