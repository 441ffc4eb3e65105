//! Scheduled scans (`[[scan]]`): while `rampart serve` runs, each
//! configured store is audited every `every_hours`, one scan at a time,
//! exactly as `rampart scan URL` does (the `scan` crate). Each run is
//! diffed against the previous scan of the same target and its events
//! (`scan.completed`, `scan.finding.new`, `scan.finding.resolved`, or
//! `scan.failed`) go to the gateway's event store and alert rules; the
//! report is written to `report` when configured.
//!
//! The schedule survives restarts: a target's last scan is read from the
//! event store, so a restart does not scan again before it is due. A
//! reload replaces the list.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway::config::ScanSchedule;
use ops::event_store::{EventStore, Query};
use ops::{Event, Severity};
use scan::history;
use time::OffsetDateTime;
use tokio::sync::watch;

/// The running schedule; dropping it stops it.
pub struct Scheduler {
    scans: watch::Sender<Vec<ScanSchedule>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Scheduler {
    /// Starts the schedule (inside the runtime). `emit` takes the events
    /// of every run.
    pub fn start(
        scans: Vec<ScanSchedule>,
        data_dir: PathBuf,
        emit: impl Fn(Event) + Send + Sync + 'static,
    ) -> Scheduler {
        let (tx, rx) = watch::channel(scans);
        let task = tokio::spawn(run(rx, data_dir, emit));
        Scheduler { scans: tx, task }
    }

    /// Puts a reloaded list in force (a no-op when it did not change).
    pub fn replace(&self, scans: &[ScanSchedule]) {
        self.scans.send_if_modified(|current| {
            if current.as_slice() == scans {
                return false;
            }
            *current = scans.to_vec();
            true
        });
    }
}

/// When a scan last ran for each target string, as the event store has
/// it: the newest `scan.completed` or `scan.failed` event of that site.
fn last_runs(data_dir: &Path) -> Vec<(String, OffsetDateTime)> {
    let Ok(store) = EventStore::open(&data_dir.join("events.sqlite")) else {
        return Vec::new();
    };
    let q = Query {
        kinds: vec![history::EVENT_KIND.to_string(), FAILED.to_string()],
        ..Query::default()
    };
    let mut out: Vec<(String, OffsetDateTime)> = Vec::new();
    for (_, e) in store.query(&q).unwrap_or_default() {
        let Some(site) = e.site else { continue };
        match out.iter_mut().find(|(s, _)| *s == site) {
            Some((_, t)) if *t < e.time => *t = e.time,
            Some(_) => {}
            None => out.push((site, e.time)),
        }
    }
    out
}

/// The kind of the event of a scan that could not be made.
pub const FAILED: &str = "scan.failed";

/// The kind of the event of a scan whose report file could not be written
/// (the scan itself is stored as usual).
pub const REPORT_UNWRITTEN: &str = "scan.report_unwritten";

/// How long until `scan` is due, given when it last ran.
pub fn due_in(every: Duration, last: Option<OffsetDateTime>, now: OffsetDateTime) -> Duration {
    match last {
        None => Duration::ZERO,
        Some(last) => {
            let since = (now - last).max(time::Duration::ZERO);
            let since = Duration::from_secs_f64(since.as_seconds_f64());
            every.saturating_sub(since)
        }
    }
}

/// The target string reports and events carry for a configured URL.
fn target_of(url: &str) -> Option<String> {
    scan::parse_target(url).ok().map(|u| u.to_string())
}

async fn run(
    mut rx: watch::Receiver<Vec<ScanSchedule>>,
    data_dir: PathBuf,
    emit: impl Fn(Event) + Send + Sync + 'static,
) {
    let dir = data_dir.clone();
    let mut last: Vec<(String, OffsetDateTime)> =
        tokio::task::spawn_blocking(move || last_runs(&dir))
            .await
            .unwrap_or_default();
    loop {
        let scans = rx.borrow_and_update().clone();
        let now = OffsetDateTime::now_utc();
        // The scan due first, and how long until then.
        let next = scans
            .iter()
            .filter_map(|s| {
                let target = target_of(&s.url)?;
                let when = last.iter().find(|(t, _)| *t == target).map(|(_, w)| *w);
                Some((due_in(s.every, when, now), s.clone(), target))
            })
            .min_by_key(|(wait, _, _)| *wait);
        let Some((wait, due, target)) = next else {
            if rx.changed().await.is_err() {
                return;
            }
            continue;
        };
        tokio::select! {
            changed = rx.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
            _ = tokio::time::sleep(wait) => {}
        }
        let events = scan_once(&due, &data_dir).await;
        for e in events {
            emit(e);
        }
        let at = OffsetDateTime::now_utc();
        match last.iter_mut().find(|(t, _)| *t == target) {
            Some((_, t)) => *t = at,
            None => last.push((target, at)),
        }
    }
}

/// One scan of `s`: its events (or the one `scan.failed`).
async fn scan_once(s: &ScanSchedule, data_dir: &Path) -> Vec<Event> {
    match try_scan(s, data_dir).await {
        Ok(events) => events,
        Err(why) => {
            let mut e = Event::new(FAILED, Severity::Warning)
                .message(format!("scheduled scan of {} failed: {why}", s.url));
            e.site = target_of(&s.url);
            vec![e]
        }
    }
}

async fn try_scan(s: &ScanSchedule, data_dir: &Path) -> Result<Vec<Event>, String> {
    let target = scan::parse_target(&s.url).map_err(|e| e.to_string())?;
    let extra_roots = match &s.ca_file {
        Some(p) => crate::scan_cmd::load_roots(p).map_err(|f| f.1)?,
        None => Vec::new(),
    };
    let mut opts = scan::ScanOptions {
        crawl: s.crawl,
        http_port: s.http_port,
        extra_roots,
        exposure: s.exposure,
        tls: s.tls,
        dns: s.dns,
        resolver: s.resolver,
        mail_domain: s.mail_domain.clone(),
        ..scan::ScanOptions::default()
    };
    if data_dir.join("rampart.sqlite").is_file() {
        if let Ok(store) = crate::scan_cmd::advisory_store(data_dir).await {
            opts.advisories = Some(std::sync::Arc::new(store));
        }
    }
    let report = scan::scan(&target, &opts)
        .await
        .map_err(|e| e.to_string())?;
    let dir = data_dir.to_path_buf();
    let wanted = report.target.clone();
    let previous = tokio::task::spawn_blocking(move || {
        let store = EventStore::open(&dir.join("events.sqlite")).ok()?;
        crate::scan_cmd::previous_report(&store, &wanted).ok()?
    })
    .await
    .ok()
    .flatten();
    let diff = history::diff(previous.as_ref(), &report);
    if let Some(path) = &s.report {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("html") => scan::format::Format::Html,
            Some("json") => scan::format::Format::Json,
            Some("sarif") => scan::format::Format::Sarif,
            _ => scan::format::Format::Text,
        };
        let shown = previous.is_some().then_some(&diff);
        let text = scan::format::render(&report, shown, format);
        let tmp = path.with_extension("tmp");
        let written =
            std::fs::write(&tmp, text.as_bytes()).and_then(|_| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let mut events = history::events(&report, &diff);
            let mut warn = Event::new(REPORT_UNWRITTEN, Severity::Warning).message(format!(
                "scheduled scan of {}: cannot write the report {}: {e}",
                report.target,
                path.display()
            ));
            warn.site = Some(report.target.clone());
            events.push(warn);
            return Ok(events);
        }
    }
    Ok(history::events(&report, &diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_never_run_or_when_the_interval_passed() {
        let now = OffsetDateTime::now_utc();
        let day = Duration::from_secs(86_400);
        assert_eq!(due_in(day, None, now), Duration::ZERO);
        let left = due_in(day, Some(now - time::Duration::hours(6)), now);
        assert_eq!(left.as_secs(), 18 * 3600);
        assert_eq!(
            due_in(day, Some(now - time::Duration::hours(30)), now),
            Duration::ZERO
        );
        // A clock that went back: wait the whole interval, not forever.
        assert_eq!(due_in(day, Some(now + time::Duration::hours(2)), now), day);
    }
}
