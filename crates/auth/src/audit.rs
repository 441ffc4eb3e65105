//! The access audit trail: every login, failure, MFA change, role change,
//! review and sign-off, in an append-only table where each entry carries
//! the SHA-256 of its predecessor, so an edited or deleted row breaks the
//! chain and [`Auth::verify_audit`] names the first broken link.
//!
//! Owns: the `auth_audit` table, the hash of an entry, verification. Must
//! not: store a secret (details name what happened, never a password or a
//! code). Two writers racing for the same predecessor cannot fork the
//! chain: `prev_hash` is UNIQUE, so the loser retries on the new head.
//!
//! Limits: the chain proves that the entries present are the ones written
//! and in that order; removing entries from the end leaves a shorter
//! valid chain. Export the head hash (`rampart audit verify` prints it) to
//! detect that.

use serde::Serialize;
use store::sqlx::{self, Row};

use crate::secret::sha256_hex;
use crate::{Auth, AuthError};

/// The predecessor of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// Unix seconds.
    pub time: i64,
    /// What happened: `login.ok`, `login.failed`, `user.role_changed`, …
    pub kind: String,
    /// Who did it: a staff user name, `cli:USER`, or the client address.
    pub actor: String,
    /// Whom it concerns (a user name), or empty.
    pub subject: String,
    /// Details as JSON text.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verification {
    /// Every link holds.
    Intact { entries: u64, head: String },
    /// The first entry whose link does not hold, and why.
    Broken {
        seq: i64,
        reason: String,
        /// Entries before it that verified.
        verified: u64,
    },
}

/// The hash of an entry: SHA-256 over its fields as a JSON array, so no
/// two different entries share the same bytes.
fn entry_hash(
    prev: &str,
    time: i64,
    kind: &str,
    actor: &str,
    subject: &str,
    detail: &str,
) -> String {
    let canonical = serde_json::json!([prev, time, kind, actor, subject, detail]).to_string();
    sha256_hex(canonical.as_bytes())
}

fn entry(row: &store::sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: row.try_get(0)?,
        time: row.try_get(1)?,
        kind: row.try_get(2)?,
        actor: row.try_get(3)?,
        subject: row.try_get(4)?,
        detail: row.try_get(5)?,
        prev_hash: row.try_get(6)?,
        hash: row.try_get(7)?,
    })
}

const COLUMNS: &str = "seq, time, kind, actor, subject, detail, prev_hash, hash";

impl Auth {
    /// Appends one entry to the trail; returns its sequence number.
    pub async fn audit(
        &self,
        kind: &str,
        actor: &str,
        subject: &str,
        detail: serde_json::Value,
    ) -> Result<i64, AuthError> {
        let actor = crate::printable(actor);
        let subject = crate::printable(subject);
        let detail = detail.to_string();
        let mut last_err = None;
        for _ in 0..20 {
            let head: Option<String> =
                sqlx::query("SELECT hash FROM auth_audit ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(self.db.pool())
                    .await?
                    .map(|r| r.try_get::<String, _>(0))
                    .transpose()?;
            let prev = head.unwrap_or_else(|| GENESIS.to_string());
            let time = self.now();
            let hash = entry_hash(&prev, time, kind, &actor, &subject, &detail);
            let inserted = sqlx::query(
                "INSERT INTO auth_audit (time, kind, actor, subject, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
            )
            .bind(time)
            .bind(kind)
            .bind(&actor)
            .bind(&subject)
            .bind(&detail)
            .bind(&prev)
            .bind(&hash)
            .fetch_one(self.db.pool())
            .await;
            match inserted {
                Ok(row) => return Ok(row.try_get(0)?),
                // Another writer took this predecessor: retry on the new head.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    last_err = Some(sqlx::Error::Database(e));
                    tokio::task::yield_now().await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Query(
            last_err.unwrap_or(sqlx::Error::WorkerCrashed),
        ))
    }

    /// Entries after `after_seq`, oldest first, at most `limit`.
    pub async fn audit_entries(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, AuthError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM auth_audit WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.iter().map(entry).collect::<Result<_, _>>()?)
    }

    /// Walks the whole chain and reports the first entry whose hash or
    /// link does not hold.
    pub async fn verify_audit(&self) -> Result<Verification, AuthError> {
        let mut expected_prev = GENESIS.to_string();
        let mut verified = 0u64;
        let mut after = i64::MIN;
        loop {
            let page = self.audit_entries(after, 1000).await?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                if e.prev_hash != expected_prev {
                    return Ok(Verification::Broken {
                        seq: e.seq,
                        reason: if verified == 0 && e.prev_hash != GENESIS {
                            "the entries before it were deleted (it does not link to the start of the trail)".into()
                        } else {
                            "it does not link to the entry before it (an entry was deleted or its link edited)".into()
                        },
                        verified,
                    });
                }
                let hash = entry_hash(
                    &e.prev_hash,
                    e.time,
                    &e.kind,
                    &e.actor,
                    &e.subject,
                    &e.detail,
                );
                if hash != e.hash {
                    return Ok(Verification::Broken {
                        seq: e.seq,
                        reason: "its content does not match its hash (the entry was edited)".into(),
                        verified,
                    });
                }
                expected_prev = e.hash.clone();
                verified += 1;
                after = e.seq;
            }
        }
        Ok(Verification::Intact {
            entries: verified,
            head: expected_prev,
        })
    }
}
