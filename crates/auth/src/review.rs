//! Access reviews: what a periodic review of staff access must look at
//! (accounts without MFA, accounts unused for N days, privileged accounts,
//! role changes since the last review), and the reviewer's sign-off,
//! recorded in `auth_reviews` and in the audit trail.
//!
//! Owns: the `auth_reviews` table. Must not: change accounts (the review
//! reports; `rampart users` acts).

use serde::Serialize;
use store::sqlx::{self, Row};

use crate::{Auth, AuthError, PRIVILEGED_ROLES};

/// The previous sign-off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastReview {
    pub time: i64,
    pub reviewer: String,
    /// The audit trail's last entry when it was signed.
    pub audit_seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountLine {
    pub username: String,
    pub role: String,
    pub mfa: bool,
    pub last_login: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleChange {
    pub seq: i64,
    pub time: i64,
    pub actor: String,
    pub username: String,
    /// Empty for an account created with its role.
    pub from: String,
    pub to: String,
}

/// One access review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Unix seconds.
    pub generated: i64,
    pub inactive_days: i64,
    pub last_review: Option<PastReview>,
    /// Enabled accounts.
    pub accounts: usize,
    pub disabled_accounts: usize,
    pub without_mfa: Vec<AccountLine>,
    pub inactive: Vec<AccountLine>,
    pub privileged: Vec<AccountLine>,
    pub role_changes: Vec<RoleChange>,
    /// The audit trail's last entry this review covers.
    pub audit_seq: i64,
}

impl Review {
    /// Findings that call for action: accounts without MFA or unused.
    pub fn findings(&self) -> usize {
        self.without_mfa.len() + self.inactive.len()
    }
}

impl Auth {
    /// The last sign-off, if any.
    pub async fn last_review(&self) -> Result<Option<PastReview>, AuthError> {
        let row = sqlx::query(
            "SELECT time, reviewer, audit_seq FROM auth_reviews ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(PastReview {
                time: r.try_get(0)?,
                reviewer: r.try_get(1)?,
                audit_seq: r.try_get(2)?,
            }),
            None => None,
        })
    }

    /// Builds a review; accounts not signed in for `inactive_days` (or
    /// never, and created that long ago) count as inactive.
    pub async fn review(&self, inactive_days: i64) -> Result<Review, AuthError> {
        let now = self.now();
        let last_review = self.last_review().await?;
        let users = self.users().await?;
        let line = |u: &crate::User| AccountLine {
            username: u.username.clone(),
            role: u.role.clone(),
            mfa: u.mfa,
            last_login: u.last_login,
        };
        let enabled: Vec<_> = users.iter().filter(|u| !u.disabled).collect();
        let cutoff = now - inactive_days.max(0) * 86_400;
        let since = last_review.as_ref().map(|r| r.audit_seq).unwrap_or(0);
        let rows = sqlx::query(
            "SELECT seq, time, actor, subject, kind, detail FROM auth_audit WHERE seq > $1 AND kind IN ('user.role_changed', 'user.added') ORDER BY seq",
        )
        .bind(since)
        .fetch_all(self.db.pool())
        .await?;
        let mut role_changes = Vec::new();
        for r in rows {
            let detail: String = r.try_get(5)?;
            let d: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
            let kind: String = r.try_get(4)?;
            let text = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            role_changes.push(RoleChange {
                seq: r.try_get(0)?,
                time: r.try_get(1)?,
                actor: r.try_get(2)?,
                username: r.try_get(3)?,
                from: if kind == "user.added" {
                    String::new()
                } else {
                    text("from")
                },
                to: if kind == "user.added" {
                    text("role")
                } else {
                    text("to")
                },
            });
        }
        let head: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM auth_audit")
            .fetch_one(self.db.pool())
            .await?
            .try_get(0)?;
        Ok(Review {
            generated: now,
            inactive_days,
            last_review,
            accounts: enabled.len(),
            disabled_accounts: users.len() - enabled.len(),
            without_mfa: enabled.iter().filter(|u| !u.mfa).map(|u| line(u)).collect(),
            inactive: enabled
                .iter()
                .filter(|u| u.last_login.unwrap_or(u.created) < cutoff)
                .map(|u| line(u))
                .collect(),
            privileged: enabled
                .iter()
                .filter(|u| PRIVILEGED_ROLES.contains(&u.role.as_str()))
                .map(|u| line(u))
                .collect(),
            role_changes,
            audit_seq: head,
        })
    }

    /// Records `reviewer`'s sign-off of `review`; the next review lists
    /// role changes after it.
    pub async fn sign_off(&self, reviewer: &str, review: &Review) -> Result<(), AuthError> {
        let name = crate::printable(reviewer);
        if name.trim().is_empty() || name.len() != reviewer.len() {
            return Err(AuthError::InvalidReviewer(name));
        }
        let summary = serde_json::json!({
            "accounts": review.accounts,
            "without_mfa": review.without_mfa.iter().map(|a| &a.username).collect::<Vec<_>>(),
            "inactive": review.inactive.iter().map(|a| &a.username).collect::<Vec<_>>(),
            "privileged": review.privileged.iter().map(|a| &a.username).collect::<Vec<_>>(),
            "role_changes": review.role_changes.len(),
            "inactive_days": review.inactive_days,
        });
        sqlx::query(
            "INSERT INTO auth_reviews (time, reviewer, audit_seq, summary) VALUES ($1, $2, $3, $4)",
        )
        .bind(self.now())
        .bind(&name)
        .bind(review.audit_seq)
        .bind(summary.to_string())
        .execute(self.db.pool())
        .await?;
        self.audit("review.signed_off", &name, "", summary).await?;
        Ok(())
    }
}
