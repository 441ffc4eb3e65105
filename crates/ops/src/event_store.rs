//! The embedded event store: every event in SQLite (`DATA_DIR/events.sqlite`)
//! with versioned schema migrations, and the queries behind
//! `rampart events query|tail`.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use time::OffsetDateTime;

use crate::bus::Sink;
use crate::event::{Event, Severity};

/// Schema history. Append only: a released migration is never edited.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(
        "CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            time_ns INTEGER NOT NULL,
            kind TEXT NOT NULL,
            severity TEXT NOT NULL,
            site TEXT,
            request_id TEXT,
            client_ip TEXT,
            body TEXT NOT NULL
        );
        CREATE INDEX events_time ON events(time_ns);
        CREATE INDEX events_kind_time ON events(kind, time_ns);",
    )])
}

/// Errors from the event store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event store {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error("event store {path}: schema migration failed: {source}")]
    Migration {
        path: String,
        source: rusqlite_migration::Error,
    },
    #[error("event store: stored event {seq} is unreadable: {source}")]
    Corrupt { seq: i64, source: serde_json::Error },
}

/// A handle on the SQLite event store.
pub struct EventStore {
    conn: Connection,
    path: String,
}

/// What to select in a query.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only events at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only events whose kind equals one of these, or starts with `k.` for
    /// a kind `k` (so `waf` selects `waf.match`).
    pub kinds: Vec<String>,
    /// Only events at or above this severity.
    pub min_severity: Option<Severity>,
    /// Only events after this sequence number (for `tail`).
    pub after_seq: Option<i64>,
    /// At most this many, newest last.
    pub limit: Option<usize>,
}

impl EventStore {
    /// Opens or creates the store and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let name = path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: name.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        migrations()
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migration {
                path: name.clone(),
                source,
            })?;
        Ok(EventStore { conn, path: name })
    }

    fn sql_error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends events in one transaction.
    pub fn append(&mut self, batch: &[Event]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events (time_ns, kind, severity, site, request_id, client_ip, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql)?;
            for e in batch {
                let body = serde_json::to_string(e).expect("an event always serializes");
                stmt.execute(params![
                    e.time.unix_timestamp_nanos() as i64,
                    e.kind.as_ref(),
                    e.severity.as_str(),
                    e.site,
                    e.request_id,
                    e.client_ip.map(|ip| ip.to_string()),
                    body
                ])
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)
    }

    /// Events matching `q`, oldest first, each with its sequence number.
    pub fn query(&self, q: &Query) -> Result<Vec<(i64, Event)>, StoreError> {
        let mut sql = String::from("SELECT seq, body FROM events WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(since) = q.since {
            sql.push_str(" AND time_ns >= ?");
            args.push((since.unix_timestamp_nanos() as i64).into());
        }
        if let Some(after) = q.after_seq {
            sql.push_str(" AND seq > ?");
            args.push(after.into());
        }
        if !q.kinds.is_empty() {
            sql.push_str(" AND (");
            for (i, k) in q.kinds.iter().enumerate() {
                if i > 0 {
                    sql.push_str(" OR ");
                }
                sql.push_str("kind = ? OR substr(kind, 1, ?) = ?");
                args.push(k.clone().into());
                args.push((k.len() as i64 + 1).into());
                args.push(format!("{k}.").into());
            }
            sql.push(')');
        }
        if let Some(min) = q.min_severity {
            let allowed: Vec<String> = ALL_SEVERITIES
                .iter()
                .filter(|s| **s >= min)
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            sql.push_str(&format!(" AND severity IN ({})", allowed.join(",")));
        }
        // Newest `limit`, returned oldest first.
        sql = format!("SELECT seq, body FROM ({sql} ORDER BY seq DESC");
        if let Some(limit) = q.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        sql.push_str(") ORDER BY seq ASC");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.sql_error(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.sql_error(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row.map_err(|e| self.sql_error(e))?;
            let event = serde_json::from_str(&body)
                .map_err(|source| StoreError::Corrupt { seq, source })?;
            out.push((seq, event));
        }
        Ok(out)
    }

    /// The highest sequence number stored, if any.
    pub fn last_seq(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT max(seq) FROM events", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()
            .map(|v| v.flatten())
            .map_err(|e| self.sql_error(e))
    }
}

/// Parses the `--since` of `rampart events`: an age such as `90s`, `15m`,
/// `1h`, `2d`, `1w` (counted back from `now`), or an RFC 3339 time.
pub fn parse_since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    let t = text.trim();
    if let Ok(at) = OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
        return Ok(at);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("--since {text:?}: expected an age like 30m, 1h, 2d or a time like 2026-01-31T12:00:00Z"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(format!(
                "--since {text:?}: unknown unit {unit:?}; use s, m, h, d or w"
            ))
        }
    };
    n.checked_mul(seconds)
        .and_then(|s| now.checked_sub(time::Duration::seconds(s)))
        .ok_or_else(|| format!("--since {text:?}: too far back"))
}

const ALL_SEVERITIES: [Severity; 6] = [
    Severity::Debug,
    Severity::Info,
    Severity::Notice,
    Severity::Warning,
    Severity::Error,
    Severity::Critical,
];

impl Sink for EventStore {
    fn name(&self) -> &'static str {
        "event-store"
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), String> {
        self.append(batch).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventBus;

    #[test]
    fn stores_and_filters_by_kind_time_and_severity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        let store = EventStore::open(&path).unwrap();
        let (bus, dispatcher) = EventBus::start(vec![Box::new(store)]);
        let mut old = Event::new("upstream.error", Severity::Error).message("store down");
        old.time -= time::Duration::hours(2);
        bus.emit(old);
        bus.emit(Event::new("upstream.timeout", Severity::Warning));
        bus.emit(Event::new("waf.match", Severity::Warning));
        bus.emit(Event::new("request", Severity::Info));
        bus.emit(Event::new("upstreamx", Severity::Critical));
        bus.flush();
        drop(bus);
        dispatcher.shutdown();

        let store = EventStore::open(&path).unwrap();
        let all = store.query(&Query::default()).unwrap();
        assert_eq!(all.len(), 5);
        let upstream = store
            .query(&Query {
                kinds: vec!["upstream".into()],
                ..Query::default()
            })
            .unwrap();
        let kinds: Vec<_> = upstream.iter().map(|(_, e)| e.kind.to_string()).collect();
        assert_eq!(kinds, ["upstream.error", "upstream.timeout"]);
        let recent = store
            .query(&Query {
                since: Some(OffsetDateTime::now_utc() - time::Duration::hours(1)),
                kinds: vec!["upstream".into()],
                ..Query::default()
            })
            .unwrap();
        assert_eq!(recent.len(), 1);
        let serious = store
            .query(&Query {
                min_severity: Some(Severity::Error),
                ..Query::default()
            })
            .unwrap();
        assert_eq!(serious.len(), 2);
        let last_two = store
            .query(&Query {
                limit: Some(2),
                ..Query::default()
            })
            .unwrap();
        assert_eq!(last_two[1].1.kind, "upstreamx");
        assert_eq!(last_two[0].1.kind, "request");
        assert_eq!(store.last_seq().unwrap(), Some(last_two[1].0));
        let after = store
            .query(&Query {
                after_seq: Some(last_two[0].0),
                ..Query::default()
            })
            .unwrap();
        assert_eq!(after.len(), 1);
    }

    #[test]
    fn since_accepts_ages_and_times() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        assert_eq!(
            parse_since("1h", now).unwrap().unix_timestamp(),
            1_000_000 - 3600
        );
        assert_eq!(
            parse_since("30m", now).unwrap().unix_timestamp(),
            1_000_000 - 1800
        );
        assert_eq!(
            parse_since("2d", now).unwrap().unix_timestamp(),
            1_000_000 - 172_800
        );
        assert_eq!(
            parse_since("1970-01-02T00:00:00Z", now)
                .unwrap()
                .unix_timestamp(),
            86_400
        );
        assert!(parse_since("1y", now).unwrap_err().contains("unknown unit"));
        assert!(parse_since("soon", now)
            .unwrap_err()
            .contains("expected an age"));
    }

    #[test]
    fn reopening_keeps_schema_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.sqlite");
        let mut store = EventStore::open(&path).unwrap();
        store
            .append(&[Event::new("config.reloaded", Severity::Notice)])
            .unwrap();
        drop(store);
        let store = EventStore::open(&path).unwrap();
        assert_eq!(store.query(&Query::default()).unwrap().len(), 1);
    }
}
