//! Bans: the addresses and networks refused before any other work, kept
//! in memory for the accept path and in the database (table `edge_bans`)
//! so that every node sharing it, and `rampart bans`, see the same list.
//!
//! A ban row is never deleted by expiry: it keeps the offence count that
//! makes the next ban of the same address longer (escalation). Lifting a
//! ban (`rampart bans remove`) sets its end to now.

use ahash::{AHashMap as HashMap, AHashSet as HashSet};
use std::net::IpAddr;
use std::sync::RwLock;

use ipnet::IpNet;
use store::{sqlx, Database, StoreError};

const MIGRATIONS: &[&str] = &["CREATE TABLE edge_bans (\
       target TEXT PRIMARY KEY, \
       reason TEXT NOT NULL, \
       source TEXT NOT NULL, \
       created_ms BIGINT NOT NULL, \
       until_ms BIGINT NOT NULL, \
       offenses BIGINT NOT NULL)"];

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One ban as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ban {
    /// An address (`203.0.113.7`) or network (`203.0.113.0/24`).
    pub target: String,
    /// Why, for people: `login_failures: 10 in 300 s`.
    pub reason: String,
    /// What made it: a jail's name, `manual`, ...
    pub source: String,
    pub created_ms: i64,
    pub until_ms: i64,
    /// How many times this target has been banned.
    pub offenses: i64,
}

impl Ban {
    pub fn net(&self) -> Option<IpNet> {
        super::config_net(&self.target)
    }
}

/// Creates the table if needed.
pub async fn migrate(db: &Database) -> Result<(), StoreError> {
    db.migrate("edge", MIGRATIONS).await
}

type Row = (String, String, String, i64, i64, i64);

fn from_row(r: Row) -> Ban {
    Ban {
        target: r.0,
        reason: r.1,
        source: r.2,
        created_ms: r.3,
        until_ms: r.4,
        offenses: r.5,
    }
}

/// The bans in force at `now` (all rows with `all`), newest first.
pub async fn list(db: &Database, now: i64, all: bool) -> Result<Vec<Ban>, StoreError> {
    let rows: Vec<Row> = if all {
        sqlx::query_as(
            "SELECT target, reason, source, created_ms, until_ms, offenses FROM edge_bans ORDER BY created_ms DESC",
        )
        .fetch_all(db.pool())
        .await?
    } else {
        sqlx::query_as(
            "SELECT target, reason, source, created_ms, until_ms, offenses FROM edge_bans WHERE until_ms > $1 ORDER BY created_ms DESC",
        )
        .bind(now)
        .fetch_all(db.pool())
        .await?
    };
    Ok(rows.into_iter().map(from_row).collect())
}

/// Records a ban of `target` for `base_ms`, lengthened by `escalation`
/// for each earlier ban and capped at `max_ms`; returns the ban as
/// stored. An active longer ban is kept as is.
pub async fn put(
    db: &Database,
    target: &str,
    reason: &str,
    source: &str,
    base_ms: i64,
    escalation: f64,
    max_ms: i64,
) -> Result<Ban, StoreError> {
    // Two nodes banning the same address at once on PostgreSQL: one
    // insert loses to the other's unique key; the second try updates.
    let mut tries = 0;
    loop {
        match put_once(db, target, reason, source, base_ms, escalation, max_ms).await {
            Err(_) if tries < 2 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20 * tries)).await;
            }
            done => return done,
        }
    }
}

async fn put_once(
    db: &Database,
    target: &str,
    reason: &str,
    source: &str,
    base_ms: i64,
    escalation: f64,
    max_ms: i64,
) -> Result<Ban, StoreError> {
    let now = now_ms();
    // Read, then write: the write lock first (see begin_write).
    let mut tx = db.begin_write().await?;
    let old: Option<Row> = sqlx::query_as(
        "SELECT target, reason, source, created_ms, until_ms, offenses FROM edge_bans WHERE target = $1",
    )
    .bind(target)
    .fetch_optional(&mut *tx)
    .await?;
    let old = old.map(from_row);
    let offenses = old.as_ref().map_or(0, |b| b.offenses) + 1;
    let duration = ban_duration(base_ms, escalation, max_ms, offenses);
    let until = now.saturating_add(duration);
    if let Some(b) = old.as_ref().filter(|b| b.until_ms >= until) {
        return Ok(b.clone());
    }
    let sql = if old.is_some() {
        "UPDATE edge_bans SET reason = $2, source = $3, created_ms = $4, until_ms = $5, offenses = $6 WHERE target = $1"
    } else {
        "INSERT INTO edge_bans (target, reason, source, created_ms, until_ms, offenses) VALUES ($1, $2, $3, $4, $5, $6)"
    };
    sqlx::query(sql)
        .bind(target)
        .bind(reason)
        .bind(source)
        .bind(now)
        .bind(until)
        .bind(offenses)
        .execute(&mut *tx)
        .await?;
    let ban = Ban {
        target: target.into(),
        reason: reason.into(),
        source: source.into(),
        created_ms: now,
        until_ms: until,
        offenses,
    };
    tx.commit().await?;
    Ok(ban)
}

/// Lifts the ban on `target`; false when none was in force.
pub async fn lift(db: &Database, target: &str) -> Result<bool, StoreError> {
    let now = now_ms();
    let done =
        sqlx::query("UPDATE edge_bans SET until_ms = $2 WHERE target = $1 AND until_ms > $2")
            .bind(target)
            .bind(now)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected() > 0)
}

/// How long the `offenses`-th ban lasts.
pub fn ban_duration(base_ms: i64, escalation: f64, max_ms: i64, offenses: i64) -> i64 {
    let factor = escalation.powi((offenses - 1).clamp(0, 64) as i32);
    let ms = (base_ms as f64 * factor).min(max_ms as f64);
    (ms as i64).clamp(1, max_ms.max(1))
}

/// The bans in force, as the accept path reads them.
#[derive(Default)]
pub(crate) struct BanBook {
    inner: RwLock<Book>,
}

#[derive(Default)]
struct Book {
    hosts: HashMap<IpAddr, i64>,
    nets: Vec<(IpNet, i64)>,
    /// Bans made here and not yet confirmed stored: kept through a reload
    /// from the database that does not have them yet.
    pending: HashSet<IpNet>,
}

impl BanBook {
    /// The end (ms) of the ban covering `ip`, if one is in force.
    pub fn banned(&self, ip: IpAddr, now: i64) -> Option<i64> {
        let b = self.inner.read().unwrap_or_else(|e| e.into_inner());
        if let Some(&until) = b.hosts.get(&ip) {
            if until > now {
                return Some(until);
            }
        }
        b.nets
            .iter()
            .find(|(n, until)| *until > now && n.contains(&ip))
            .map(|(_, until)| *until)
    }

    /// Adds a ban made on this node (before it is stored).
    pub fn insert_local(&self, net: IpNet, until: i64) {
        let mut b = self.inner.write().unwrap_or_else(|e| e.into_inner());
        b.pending.insert(net);
        b.put(net, until);
    }

    /// The ban on `net` is stored (or failed to store: then it stays in
    /// memory until it expires, as bans already known stay in force).
    pub fn stored(&self, net: IpNet, stored: Option<i64>) {
        let mut b = self.inner.write().unwrap_or_else(|e| e.into_inner());
        b.pending.remove(&net);
        if let Some(until) = stored {
            b.put(net, until);
        }
    }

    /// Replaces the book with the database's view, keeping the bans made
    /// here that are not stored yet.
    pub fn replace(&self, bans: &[Ban], now: i64) {
        let mut fresh = Book::default();
        for ban in bans {
            if let Some(n) = ban.net() {
                fresh.put(n, ban.until_ms);
            }
        }
        let mut b = self.inner.write().unwrap_or_else(|e| e.into_inner());
        for net in &b.pending {
            let until = if net.prefix_len() == net.max_prefix_len() {
                b.hosts.get(&net.addr()).copied()
            } else {
                b.nets.iter().find(|(n, _)| n == net).map(|(_, u)| *u)
            };
            if let Some(u) = until.filter(|u| *u > now) {
                fresh.put(*net, u);
            }
        }
        fresh.pending = std::mem::take(&mut b.pending);
        *b = fresh;
    }

    /// Drops expired entries (memory bound between reloads).
    pub fn expire(&self, now: i64) {
        let mut b = self.inner.write().unwrap_or_else(|e| e.into_inner());
        b.hosts.retain(|_, u| *u > now);
        b.nets.retain(|(_, u)| *u > now);
    }
}

impl Book {
    fn put(&mut self, net: IpNet, until: i64) {
        if net.prefix_len() == net.max_prefix_len() {
            let e = self.hosts.entry(net.addr()).or_insert(until);
            *e = until;
        } else if let Some(slot) = self.nets.iter_mut().find(|(n, _)| *n == net) {
            slot.1 = until;
        } else {
            self.nets.push((net, until));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_lengthens_and_caps() {
        assert_eq!(ban_duration(1000, 2.0, 10_000, 1), 1000);
        assert_eq!(ban_duration(1000, 2.0, 10_000, 2), 2000);
        assert_eq!(ban_duration(1000, 2.0, 10_000, 3), 4000);
        assert_eq!(ban_duration(1000, 2.0, 10_000, 9), 10_000);
        assert_eq!(ban_duration(1000, 1.0, 10_000, 50), 1000);
    }

    #[test]
    fn book_matches_hosts_and_networks_until_expiry() {
        let book = BanBook::default();
        book.insert_local("203.0.113.7/32".parse().unwrap(), 2000);
        book.insert_local("198.51.100.0/24".parse().unwrap(), 3000);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(book.banned(ip("203.0.113.7"), 1000), Some(2000));
        assert_eq!(book.banned(ip("203.0.113.8"), 1000), None);
        assert_eq!(book.banned(ip("198.51.100.99"), 1000), Some(3000));
        assert_eq!(book.banned(ip("203.0.113.7"), 2000), None);
        // A reload from a database that has not seen the local bans yet
        // keeps them; once stored, the database's view wins.
        book.replace(&[], 1000);
        assert!(book.banned(ip("203.0.113.7"), 1000).is_some());
        book.stored("203.0.113.7/32".parse().unwrap(), Some(2000));
        book.replace(&[], 1000);
        assert!(book.banned(ip("203.0.113.7"), 1000).is_none());
        assert!(book.banned(ip("198.51.100.1"), 1000).is_some());
    }
}
