//! Security codes (CVV/CVC) held in memory only, for one use.
//!
//! PCI DSS forbids storing a card's security code after authorisation;
//! Rampart never writes one anywhere. A code is kept here, keyed by the
//! card's token, until it is taken once (for the one forward to the
//! payment provider) or its short time to live runs out. The number of
//! codes held is bounded: the oldest is dropped first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::card::Cvv;
use crate::token::Token;

pub struct CvvHold {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    codes: HashMap<Token, (Cvv, Instant)>,
    /// Tokens in the order they were put (with their deadline), for expiry.
    order: VecDeque<(Instant, Token)>,
}

impl Held {
    fn expire(&mut self, now: Instant) {
        while let Some((deadline, _)) = self.order.front() {
            if *deadline > now {
                break;
            }
            let (deadline, token) = self.order.pop_front().expect("front exists");
            // Only drop the entry the queue item describes (it may have
            // been replaced by a newer put).
            if self.codes.get(&token).is_some_and(|(_, d)| *d == deadline) {
                self.codes.remove(&token);
            }
        }
    }
}

impl std::fmt::Debug for CvvHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CvvHold").field("ttl", &self.ttl).finish()
    }
}

impl CvvHold {
    pub fn new(ttl: Duration, capacity: usize) -> CvvHold {
        CvvHold {
            ttl,
            capacity: capacity.max(1),
            inner: Mutex::new(Held::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // A panic while holding the lock cannot leave the maps invalid.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds `cvv` for `token` (replacing an earlier one).
    pub fn put(&self, token: &Token, cvv: Cvv) {
        self.put_at(token, cvv, Instant::now());
    }

    fn put_at(&self, token: &Token, cvv: Cvv, now: Instant) {
        let deadline = now + self.ttl;
        let mut held = self.lock();
        held.expire(now);
        while held.codes.len() >= self.capacity {
            match held.order.pop_front() {
                Some((d, t)) => {
                    if held.codes.get(&t).is_some_and(|(_, dd)| *dd == d) {
                        held.codes.remove(&t);
                    }
                }
                None => break,
            }
        }
        held.codes.insert(token.clone(), (cvv, deadline));
        held.order.push_back((deadline, token.clone()));
    }

    /// Takes the code for `token`: once, and only within its time to live.
    pub fn take(&self, token: &Token) -> Option<Cvv> {
        self.take_at(token, Instant::now())
    }

    fn take_at(&self, token: &Token, now: Instant) -> Option<Cvv> {
        let mut held = self.lock();
        held.expire(now);
        held.codes.remove(token).map(|(cvv, _)| cvv)
    }

    /// How many codes are held now.
    pub fn len(&self) -> usize {
        let mut held = self.lock();
        held.expire(Instant::now());
        held.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Token {
        Token::parse(s).unwrap()
    }

    #[test]
    fn one_use_only() {
        let hold = CvvHold::new(Duration::from_secs(60), 10);
        hold.put(&t("4111110000001112"), Cvv::parse("123").unwrap());
        assert_eq!(hold.take(&t("4111110000001112")).unwrap().digits(), "123");
        assert!(hold.take(&t("4111110000001112")).is_none());
    }

    #[test]
    fn expires_after_the_ttl() {
        let hold = CvvHold::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        hold.put_at(&t("4111110000001112"), Cvv::parse("123").unwrap(), t0);
        hold.put_at(&t("4111110000002112"), Cvv::parse("456").unwrap(), t0);
        let just_in_time = hold.take_at(&t("4111110000002112"), t0 + Duration::from_secs(59));
        assert_eq!(just_in_time.unwrap().digits(), "456");
        let too_late = hold.take_at(&t("4111110000001112"), t0 + Duration::from_secs(60));
        assert!(too_late.is_none());
        // And for real, with a short TTL.
        let hold = CvvHold::new(Duration::from_millis(30), 10);
        hold.put(&t("4111110000001112"), Cvv::parse("123").unwrap());
        std::thread::sleep(Duration::from_millis(60));
        assert!(hold.take(&t("4111110000001112")).is_none());
        assert!(hold.is_empty());
    }

    #[test]
    fn bounded_oldest_dropped_first() {
        let hold = CvvHold::new(Duration::from_secs(60), 2);
        hold.put(&t("4111110000001112"), Cvv::parse("111").unwrap());
        hold.put(&t("4111110000002112"), Cvv::parse("222").unwrap());
        hold.put(&t("4111110000003112"), Cvv::parse("333").unwrap());
        assert_eq!(hold.len(), 2);
        assert!(hold.take(&t("4111110000001112")).is_none());
        assert_eq!(hold.take(&t("4111110000003112")).unwrap().digits(), "333");
    }

    #[test]
    fn a_replaced_code_keeps_its_own_deadline() {
        let hold = CvvHold::new(Duration::from_secs(80), 10);
        let t0 = Instant::now();
        hold.put_at(&t("4111110000001112"), Cvv::parse("111").unwrap(), t0);
        hold.put_at(
            &t("4111110000001112"),
            Cvv::parse("222").unwrap(),
            t0 + Duration::from_secs(50),
        );
        // Past the first deadline, before the second.
        let code = hold.take_at(&t("4111110000001112"), t0 + Duration::from_secs(100));
        assert_eq!(code.unwrap().digits(), "222");
    }
}
