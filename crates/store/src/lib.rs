//! `store`: where Rampart keeps durable state.
//!
//! One [`Database`] handle over SQLite (a file under the data directory,
//! the embedded default) or PostgreSQL (for several nodes), chosen by the
//! URL. Components (users, vault, incidents...) bring their own schema as
//! a list of migrations, applied once each and recorded per component.
//! This crate knows no business rules and no table but its own ledger.
//!
//! SQL written for both backends uses `$1, $2, …` placeholders (SQLite
//! accepts them), `BIGINT`/`TEXT`/`BYTEA`-free types (store bytes as
//! base64 or hex `TEXT`, or use `BLOB` on SQLite only through
//! [`Database::blob_type`]), and no backend-specific functions.

use std::path::Path;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool};

pub use sqlx;

/// Errors from the store: one line, naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("{component} schema migration {version} failed: {source}")]
    Migration {
        component: String,
        version: usize,
        source: sqlx::Error,
    },
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// Which backend a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to Rampart's database.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Database {
    /// Opens (creating) the SQLite file at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Database, StoreError> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    /// Connects to `postgres://…` or `sqlite://…`.
    pub async fn connect(url: &str) -> Result<Database, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Connect {
                url: redact(url),
                source: sqlx::Error::Configuration(
                    "the URL must start with sqlite: or postgres://".into(),
                ),
            });
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 16 })
            .acquire_timeout(std::time::Duration::from_secs(5));
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                source,
            })?;
        Ok(Database { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that reads and then writes. SQLite's default
    /// (deferred) transaction takes its write lock only at the first
    /// write, and when another connection wrote since the read it fails at
    /// once with SQLITE_BUSY, without waiting for the busy timeout; `BEGIN
    /// IMMEDIATE` takes the lock up front, so it waits its turn instead.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The column type for raw bytes (`BLOB` / `BYTEA`).
    pub fn blob_type(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        }
    }

    /// Applies `component`'s migrations that have not run yet, in order,
    /// each in its own transaction. Released migrations are never edited:
    /// append new ones. `{blob}` in a migration stands for
    /// [`Database::blob_type`] and `{serial}` for an auto-increment key.
    pub async fn migrate(&self, component: &str, migrations: &[&str]) -> Result<(), StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS rampart_schema (component TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (component, version))",
        )
        .execute(&self.pool)
        .await?;
        for (i, sql) in migrations.iter().enumerate() {
            let version = i + 1;
            let done: Option<AnyRow> = sqlx::query(
                "SELECT version FROM rampart_schema WHERE component = $1 AND version = $2",
            )
            .bind(component)
            .bind(version as i64)
            .fetch_optional(&self.pool)
            .await?;
            if done.is_some() {
                continue;
            }
            let serial = match self.backend {
                Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
                Backend::Postgres => "BIGSERIAL PRIMARY KEY",
            };
            let text = sql
                .replace("{blob}", self.blob_type())
                .replace("{serial}", serial);
            let fail = |source| StoreError::Migration {
                component: component.to_string(),
                version,
                source,
            };
            let applied = async {
                let mut tx = self.pool.begin().await?;
                for statement in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                sqlx::query("INSERT INTO rampart_schema (component, version) VALUES ($1, $2)")
                    .bind(component)
                    .bind(version as i64)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = applied {
                // Another process (a second node, a CLI command) may have
                // applied the same migration at the same moment: then its
                // ledger row is there and all is well.
                let now_done: Option<AnyRow> = sqlx::query(
                    "SELECT version FROM rampart_schema WHERE component = $1 AND version = $2",
                )
                .bind(component)
                .bind(version as i64)
                .fetch_optional(&self.pool)
                .await?;
                if now_done.is_none() {
                    return Err(fail(e));
                }
            }
        }
        Ok(())
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("sqlite:///x.db"), "sqlite:///x.db");
    }
}
