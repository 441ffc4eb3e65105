//! Signing in: the password step, the second factor (TOTP, a recovery
//! code or a passkey assertion), step-up re-authentication, and the backoff that locks an
//! account or a client address after repeated failures.
//!
//! Lockout: after `account_lock_after` consecutive failures (password or
//! code) an account is locked for `lock_base` seconds, doubling with each
//! further failure up to `lock_max`; a success resets it. A client
//! address is locked the same way after `ip_lock_after` failures within
//! `ip_window`, whichever accounts it tried. The password step answers a
//! locked, disabled or unknown account exactly like a wrong password (no
//! account enumeration), and still spends one Argon2id verification.
//!
//! Owns: the `auth_ip_failures` table and the failure columns of
//! accounts. Must not: say why a sign-in failed to the client beyond
//! [`Refusal::message`]; the audit trail has the reason.

use std::sync::OnceLock;

use store::sqlx::{self, Row};

use crate::secret::{normalize_recovery_code, sha256_hex, Secret};
use crate::{totp, Auth, AuthError};

/// Where the password step leads.
#[derive(Debug)]
pub enum LoginStep {
    /// Password accepted; the second factor is due. The token names a
    /// pending session that only the second-factor form accepts.
    NeedSecondFactor(Secret),
    /// Signed in (a role without mandatory MFA and no authenticator).
    Done(Secret),
}

/// Why a step was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong user name or password, or the account is locked or disabled.
    BadCredentials,
    /// Too many failures from this client address.
    AddressLocked { seconds: i64 },
    /// Too many failures for this account (second-factor steps).
    AccountLocked { seconds: i64 },
    /// The role requires MFA and the account has no authenticator.
    MfaNotEnrolled,
    /// Wrong or malformed code.
    BadCode,
    /// A TOTP code that was already accepted once.
    ReplayedCode,
    /// The pending session is unknown or timed out: start again.
    SessionExpired,
    /// A passkey answer that does not verify: forged, tampered, replayed,
    /// for another site, or its challenge expired or was used already.
    BadPasskey,
    /// Managing passkeys needs a second factor confirmed recently.
    StaleSecondFactor,
}

impl Refusal {
    /// What the person is told.
    pub fn message(&self) -> String {
        match self {
            Refusal::BadCredentials => "Sign-in refused: wrong user name or password, or too many attempts. Try again in a few minutes.".into(),
            Refusal::AddressLocked { seconds } | Refusal::AccountLocked { seconds } => format!(
                "Too many failed attempts: try again in {} minute(s).",
                (seconds + 59) / 60
            ),
            Refusal::MfaNotEnrolled => "Your role requires two-factor authentication and your account has none: ask an owner to run `rampart users reset-mfa` for you.".into(),
            Refusal::BadCode => "That code is not valid. Enter the current code from your authenticator app, or a recovery code.".into(),
            Refusal::ReplayedCode => "That code was already used. Wait for the next code in your authenticator app.".into(),
            Refusal::SessionExpired => "Your sign-in timed out. Start again.".into(),
            Refusal::BadPasskey => "The passkey was not accepted. Try it again, or use a code.".into(),
            Refusal::StaleSecondFactor => "Confirm it is you first: this needs a recent second factor.".into(),
        }
    }

    /// A short machine name (events, audit trail).
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::BadCredentials => "bad_credentials",
            Refusal::AddressLocked { .. } => "address_locked",
            Refusal::AccountLocked { .. } => "account_locked",
            Refusal::MfaNotEnrolled => "mfa_not_enrolled",
            Refusal::BadCode => "bad_code",
            Refusal::ReplayedCode => "replayed_code",
            Refusal::SessionExpired => "session_expired",
            Refusal::BadPasskey => "bad_passkey",
            Refusal::StaleSecondFactor => "stale_second_factor",
        }
    }
}

/// A hash no password matches, verified for unknown accounts so they cost
/// the same time as known ones.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| crate::password::hash(&crate::secret::random_password()))
}

enum CodeCheck {
    Totp,
    Recovery,
    Bad,
    Replayed,
}

/// What a second-factor step offers.
pub(crate) enum Proof<'a> {
    /// A TOTP or recovery code as typed.
    Code(&'a str),
    /// A passkey assertion (the `PublicKeyCredential` JSON) answering the
    /// session's challenge.
    Passkey {
        rp: &'a crate::RelyingParty,
        response: &'a str,
        session_hash: String,
    },
}

/// Longest code looked at (TOTP 6 digits, recovery 11 characters).
const MAX_CODE_LEN: usize = 32;

impl Auth {
    fn backoff(&self, over: i64) -> i64 {
        let s = &self.settings;
        let shift = over.clamp(0, 20) as u32;
        (s.lock_base.saturating_mul(1i64 << shift)).min(s.lock_max)
    }

    /// Seconds left of a lockout of client address `ip`, if locked.
    pub async fn address_locked(&self, ip: &str) -> Result<Option<i64>, AuthError> {
        let row = sqlx::query("SELECT locked_until FROM auth_ip_failures WHERE ip = $1")
            .bind(ip)
            .fetch_optional(self.db.pool())
            .await?;
        let now = self.now();
        Ok(match row {
            Some(r) => {
                let until: i64 = r.try_get(0)?;
                (until > now).then_some(until - now)
            }
            None => None,
        })
    }

    async fn address_failed(&self, ip: &str) -> Result<(), AuthError> {
        let now = self.now();
        sqlx::query(
            "INSERT INTO auth_ip_failures (ip, failures, last_failure, locked_until) VALUES ($1, 1, $2, 0) \
             ON CONFLICT (ip) DO UPDATE SET failures = CASE WHEN auth_ip_failures.last_failure < $3 THEN 1 ELSE auth_ip_failures.failures + 1 END, last_failure = $2",
        )
        .bind(ip)
        .bind(now)
        .bind(now - self.settings.ip_window)
        .execute(self.db.pool())
        .await?;
        let failures: i64 = sqlx::query("SELECT failures FROM auth_ip_failures WHERE ip = $1")
            .bind(ip)
            .fetch_one(self.db.pool())
            .await?
            .try_get(0)?;
        if failures >= self.settings.ip_lock_after {
            let until = now + self.backoff(failures - self.settings.ip_lock_after);
            sqlx::query("UPDATE auth_ip_failures SET locked_until = $1 WHERE ip = $2")
                .bind(until)
                .bind(ip)
                .execute(self.db.pool())
                .await?;
            self.audit(
                "login.address_locked",
                ip,
                "",
                serde_json::json!({ "failures": failures, "until": until }),
            )
            .await?;
        }
        Ok(())
    }

    async fn account_failed(&self, user_id: i64, username: &str) -> Result<(), AuthError> {
        let failures: i64 = sqlx::query(
            "UPDATE auth_users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
        )
        .bind(user_id)
        .fetch_one(self.db.pool())
        .await?
        .try_get(0)?;
        if failures >= self.settings.account_lock_after {
            let until = self.now() + self.backoff(failures - self.settings.account_lock_after);
            sqlx::query("UPDATE auth_users SET locked_until = $1 WHERE id = $2")
                .bind(until)
                .bind(user_id)
                .execute(self.db.pool())
                .await?;
            self.audit(
                "login.account_locked",
                "",
                username,
                serde_json::json!({ "failures": failures, "until": until }),
            )
            .await?;
        }
        Ok(())
    }

    /// The password step. `mfa_required` says whether a role must use a
    /// second factor. A session the browser already had (`previous`) is
    /// ended: every login gets a new session id.
    pub async fn login_password(
        &self,
        username: &str,
        password: &str,
        ip: &str,
        mfa_required: &(dyn Fn(&str) -> bool + Sync),
        previous: Option<&str>,
    ) -> Result<Result<LoginStep, Refusal>, AuthError> {
        let typed = crate::printable(username).to_ascii_lowercase();
        if let Some(seconds) = self.address_locked(ip).await? {
            self.audit(
                "login.failed",
                ip,
                &typed,
                serde_json::json!({ "reason": "address_locked" }),
            )
            .await?;
            return Ok(Err(Refusal::AddressLocked { seconds }));
        }
        if let Some(old) = previous {
            self.drop_session(&crate::sessions::token_hash(old)).await?;
        }
        let row = sqlx::query(
            "SELECT id, username, password_hash, role, disabled, locked_until, totp_secret IS NOT NULL OR EXISTS (SELECT 1 FROM auth_passkeys p WHERE p.user_id = auth_users.id) FROM auth_users WHERE username = $1",
        )
        .bind(&typed)
        .fetch_optional(self.db.pool())
        .await?;
        let over_long = password.len() > crate::password::MAX_LENGTH;
        let Some(row) = row else {
            let pw = password.to_string();
            let _ = tokio::task::spawn_blocking(move || crate::password::verify(&pw, dummy_hash()))
                .await;
            self.address_failed(ip).await?;
            self.audit(
                "login.failed",
                ip,
                &typed,
                serde_json::json!({ "reason": "unknown_user" }),
            )
            .await?;
            return Ok(Err(Refusal::BadCredentials));
        };
        let id: i64 = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let phc: String = row.try_get(2)?;
        let role: String = row.try_get(3)?;
        let disabled = row.try_get::<i64, _>(4)? != 0;
        let locked_until: i64 = row.try_get(5)?;
        let has_mfa = row
            .try_get::<bool, _>(6)
            .or_else(|_| row.try_get::<i64, _>(6).map(|v| v != 0))?;
        let now = self.now();
        let ok = if over_long {
            false
        } else {
            let pw = password.to_string();
            tokio::task::spawn_blocking(move || crate::password::verify(&pw, &phc))
                .await
                .unwrap_or(false)
        };
        let reason = if disabled {
            Some("disabled")
        } else if locked_until > now {
            Some("account_locked")
        } else if !ok {
            Some("bad_password")
        } else {
            None
        };
        if let Some(reason) = reason {
            if reason == "bad_password" {
                self.account_failed(id, &name).await?;
            }
            self.address_failed(ip).await?;
            self.audit(
                "login.failed",
                ip,
                &name,
                serde_json::json!({ "reason": reason }),
            )
            .await?;
            return Ok(Err(Refusal::BadCredentials));
        }
        if !has_mfa {
            if mfa_required(&role) {
                self.audit(
                    "login.failed",
                    ip,
                    &name,
                    serde_json::json!({ "reason": "mfa_not_enrolled" }),
                )
                .await?;
                return Ok(Err(Refusal::MfaNotEnrolled));
            }
            let token = self.create_session(id, false, None, ip).await?;
            self.signed_in(id).await?;
            self.audit(
                "login.ok",
                ip,
                &name,
                serde_json::json!({ "method": "password" }),
            )
            .await?;
            return Ok(Ok(LoginStep::Done(token)));
        }
        let token = self.create_session(id, true, None, ip).await?;
        self.audit(
            "login.password_ok",
            ip,
            &name,
            serde_json::json!({ "next": "second_factor" }),
        )
        .await?;
        Ok(Ok(LoginStep::NeedSecondFactor(token)))
    }

    async fn signed_in(&self, user_id: i64) -> Result<(), AuthError> {
        sqlx::query("UPDATE auth_users SET failed_logins = 0, locked_until = 0, last_login = $1 WHERE id = $2")
            .bind(self.now())
            .bind(user_id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn check_code(&self, user_id: i64, code: &str) -> Result<CodeCheck, AuthError> {
        let code = code.trim();
        if code.is_empty() || code.len() > MAX_CODE_LEN {
            return Ok(CodeCheck::Bad);
        }
        if code.bytes().all(|b| b.is_ascii_digit()) {
            let row =
                sqlx::query("SELECT totp_secret, totp_last_step FROM auth_users WHERE id = $1")
                    .bind(user_id)
                    .fetch_one(self.db.pool())
                    .await?;
            let secret: Option<String> = row.try_get(0)?;
            let last: i64 = row.try_get(1)?;
            let Some(secret) = secret else {
                return Ok(CodeCheck::Bad);
            };
            let Some(step) = totp::matched_step(&secret, code, self.now().max(0) as u64) else {
                return Ok(CodeCheck::Bad);
            };
            let step = step as i64;
            if step <= last {
                return Ok(CodeCheck::Replayed);
            }
            // Only one request can move the step forward: a concurrent
            // replay of the same code finds it taken.
            let moved = sqlx::query(
                "UPDATE auth_users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
            )
            .bind(step)
            .bind(user_id)
            .execute(self.db.pool())
            .await?;
            return Ok(if moved.rows_affected() == 1 {
                CodeCheck::Totp
            } else {
                CodeCheck::Replayed
            });
        }
        let hash = sha256_hex(normalize_recovery_code(code).as_bytes());
        let used = sqlx::query(
            "UPDATE auth_recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(self.now())
        .bind(user_id)
        .bind(&hash)
        .execute(self.db.pool())
        .await?;
        Ok(if used.rows_affected() == 1 {
            CodeCheck::Recovery
        } else {
            CodeCheck::Bad
        })
    }

    /// Checks a code for the session's account, counting failures.
    /// `Ok(method)` on success.
    async fn second_factor(
        &self,
        user_id: i64,
        username: &str,
        proof: Proof<'_>,
        ip: &str,
        step: &str,
    ) -> Result<Result<&'static str, Refusal>, AuthError> {
        if let Some(seconds) = self.address_locked(ip).await? {
            return Ok(Err(Refusal::AddressLocked { seconds }));
        }
        let locked_until: i64 = sqlx::query("SELECT locked_until FROM auth_users WHERE id = $1")
            .bind(user_id)
            .fetch_one(self.db.pool())
            .await?
            .try_get(0)?;
        let now = self.now();
        if locked_until > now {
            self.audit(
                "login.mfa_failed",
                ip,
                username,
                serde_json::json!({ "reason": "account_locked", "step": step }),
            )
            .await?;
            return Ok(Err(Refusal::AccountLocked {
                seconds: locked_until - now,
            }));
        }
        // (method, refusal, detailed reason, counts toward lockout)
        let (method, refusal, why, counts) = match proof {
            Proof::Code(code) => match self.check_code(user_id, code).await? {
                CodeCheck::Totp => ("totp", None, "", false),
                CodeCheck::Recovery => ("recovery_code", None, "", false),
                CodeCheck::Bad => ("", Some(Refusal::BadCode), "bad_code", true),
                // A replayed code was right once: refusing it tells a
                // guesser nothing, so it does not count toward lockout (a
                // person who submits twice must not lock themselves out).
                CodeCheck::Replayed => ("", Some(Refusal::ReplayedCode), "replayed_code", false),
            },
            Proof::Passkey {
                rp,
                response,
                session_hash,
            } => {
                use crate::passkeys::Assertion;
                let purpose = if step == "login" { "login" } else { "step_up" };
                match self
                    .check_assertion(user_id, &session_hash, purpose, rp, response)
                    .await?
                {
                    Assertion::Valid { passkey_id, name } => {
                        self.audit(
                            "mfa.passkey_used",
                            ip,
                            username,
                            serde_json::json!({ "passkey": passkey_id, "name": name, "step": step }),
                        )
                        .await?;
                        ("passkey", None, "", false)
                    }
                    Assertion::Invalid => ("", Some(Refusal::BadPasskey), "invalid_passkey", true),
                    Assertion::Replayed => {
                        ("", Some(Refusal::BadPasskey), "replayed_passkey", true)
                    }
                    // Expired or answered already: the person asks again.
                    Assertion::NoChallenge => {
                        ("", Some(Refusal::BadPasskey), "no_passkey_challenge", false)
                    }
                }
            }
        };
        if let Some(r) = refusal {
            if counts {
                self.account_failed(user_id, username).await?;
                self.address_failed(ip).await?;
            }
            self.audit(
                "login.mfa_failed",
                ip,
                username,
                serde_json::json!({ "reason": why, "step": step }),
            )
            .await?;
            return Ok(Err(r));
        }
        if method == "recovery_code" {
            self.audit(
                "mfa.recovery_code_used",
                ip,
                username,
                serde_json::json!({ "step": step }),
            )
            .await?;
        }
        Ok(Ok(method))
    }

    /// The second-factor step: on success the pending session is replaced
    /// by a new, signed-in one (new token).
    pub async fn login_second_factor(
        &self,
        pending: &str,
        code: &str,
        ip: &str,
    ) -> Result<Result<Secret, Refusal>, AuthError> {
        self.login_with(pending, Proof::Code(code), ip).await
    }

    /// The second-factor step with a passkey: `response` answers the
    /// challenge [`Auth::start_passkey_authentication`] issued to the
    /// pending session.
    pub async fn login_passkey(
        &self,
        pending: &str,
        rp: &crate::RelyingParty,
        response: &str,
        ip: &str,
    ) -> Result<Result<Secret, Refusal>, AuthError> {
        let proof = Proof::Passkey {
            rp,
            response,
            session_hash: crate::sessions::token_hash(pending),
        };
        self.login_with(pending, proof, ip).await
    }

    async fn login_with(
        &self,
        pending: &str,
        proof: Proof<'_>,
        ip: &str,
    ) -> Result<Result<Secret, Refusal>, AuthError> {
        let Some(s) = self.session(pending).await? else {
            return Ok(Err(Refusal::SessionExpired));
        };
        if !s.pending {
            return Ok(Err(Refusal::SessionExpired));
        }
        match self
            .second_factor(s.user_id, &s.username, proof, ip, "login")
            .await?
        {
            Err(r) => Ok(Err(r)),
            Ok(method) => {
                self.drop_session(&crate::sessions::token_hash(pending))
                    .await?;
                let token = self
                    .create_session(s.user_id, false, Some(self.now()), ip)
                    .await?;
                self.signed_in(s.user_id).await?;
                self.audit(
                    "login.ok",
                    ip,
                    &s.username,
                    serde_json::json!({ "method": method }),
                )
                .await?;
                Ok(Ok(token))
            }
        }
    }

    /// Step-up: a signed-in session proves the second factor again (for
    /// sensitive paths); its MFA time is renewed.
    pub async fn step_up(
        &self,
        token: &str,
        code: &str,
        ip: &str,
    ) -> Result<Result<(), Refusal>, AuthError> {
        self.step_up_with(token, Proof::Code(code), ip).await
    }

    /// Step-up with a passkey assertion (the session's challenge).
    pub async fn step_up_passkey(
        &self,
        token: &str,
        rp: &crate::RelyingParty,
        response: &str,
        ip: &str,
    ) -> Result<Result<(), Refusal>, AuthError> {
        let proof = Proof::Passkey {
            rp,
            response,
            session_hash: crate::sessions::token_hash(token),
        };
        self.step_up_with(token, proof, ip).await
    }

    async fn step_up_with(
        &self,
        token: &str,
        proof: Proof<'_>,
        ip: &str,
    ) -> Result<Result<(), Refusal>, AuthError> {
        let Some(s) = self.session(token).await? else {
            return Ok(Err(Refusal::SessionExpired));
        };
        if s.pending {
            return Ok(Err(Refusal::SessionExpired));
        }
        match self
            .second_factor(s.user_id, &s.username, proof, ip, "step_up")
            .await?
        {
            Err(r) => Ok(Err(r)),
            Ok(method) => {
                sqlx::query("UPDATE auth_sessions SET mfa_at = $1 WHERE id_hash = $2")
                    .bind(self.now())
                    .bind(crate::sessions::token_hash(token))
                    .execute(self.db.pool())
                    .await?;
                self.audit(
                    "login.step_up",
                    ip,
                    &s.username,
                    serde_json::json!({ "method": method }),
                )
                .await?;
                Ok(Ok(()))
            }
        }
    }
}
