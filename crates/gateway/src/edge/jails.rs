//! IPS jails: count what a client (or account) did wrong within a window
//! and say when it crossed the threshold.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{Jail, JailKind};

/// When each recent offence happened and which address committed it.
type Offences = VecDeque<(Instant, String)>;

/// Recent offences per (jail, key).
#[derive(Default)]
pub(crate) struct Jails {
    seen: Mutex<HashMap<(JailKind, String), Offences>>,
}

impl Jails {
    /// Records one offence by `key` (with `who`, the client address, for
    /// jails keyed by something else): `Ok` with the count in the window,
    /// or `Err` with the addresses to ban when this crosses the threshold
    /// (the window then starts over).
    pub fn offend(
        &self,
        jail: &Jail,
        key: &str,
        who: &str,
        now: Instant,
    ) -> Result<usize, Vec<String>> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let q = seen.entry((jail.kind, key.to_string())).or_default();
        while q
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > jail.window)
        {
            q.pop_front();
        }
        q.push_back((now, who.to_string()));
        if q.len() >= jail.threshold as usize {
            let mut who: Vec<String> = q.drain(..).map(|(_, w)| w).collect();
            who.sort();
            who.dedup();
            return Err(who);
        }
        Ok(q.len())
    }

    /// Forgets keys with nothing inside their window (memory bound).
    pub fn sweep(&self, longest_window: Duration, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, q| {
            q.back()
                .is_some_and(|(t, _)| now.duration_since(*t) <= longest_window)
        });
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jail(threshold: u32, window_s: u64) -> Jail {
        Jail {
            kind: JailKind::LoginFailures,
            threshold,
            window: Duration::from_secs(window_s),
            ban: Duration::from_secs(60),
            min_score: 5,
        }
    }

    #[test]
    fn trips_at_the_threshold_within_the_window_only() {
        let j = Jails::default();
        let jl = jail(3, 10);
        let t0 = Instant::now();
        assert!(j.offend(&jl, "a", "a", t0).is_ok());
        assert!(j.offend(&jl, "a", "a", t0 + Duration::from_secs(5)).is_ok());
        // The first offence left the window: still two.
        assert!(j
            .offend(&jl, "a", "a", t0 + Duration::from_secs(12))
            .is_ok());
        assert_eq!(
            j.offend(&jl, "a", "a", t0 + Duration::from_secs(13)),
            Err(vec!["a".to_string()])
        );
        // Started over.
        assert!(j
            .offend(&jl, "a", "a", t0 + Duration::from_secs(14))
            .is_ok());
        assert!(j
            .offend(&jl, "b", "b", t0 + Duration::from_secs(14))
            .is_ok());
        j.sweep(Duration::from_secs(10), t0 + Duration::from_secs(100));
        assert_eq!(j.keys(), 0);
    }

    #[test]
    fn an_account_jail_names_every_address_that_failed() {
        let j = Jails::default();
        let jl = jail(3, 10);
        let t = Instant::now();
        assert_eq!(j.offend(&jl, "alice", "10.0.0.1", t), Ok(1));
        assert_eq!(j.offend(&jl, "alice", "10.0.0.2", t), Ok(2));
        let who = j.offend(&jl, "alice", "10.0.0.1", t).unwrap_err();
        assert_eq!(who, vec!["10.0.0.1".to_string(), "10.0.0.2".to_string()]);
    }
}
