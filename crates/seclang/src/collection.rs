//! Stored collections: `TX` for one transaction, and the persistent ones
//! (`IP`, `GLOBAL`, `SESSION`, `USER`, `RESOURCE`) kept across
//! transactions in a [`PersistentStore`]. Keys compare without ASCII case
//! and keep the case they were first written with; insertion order is
//! kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use crate::variables::Var;

/// A map of variables.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// Lower-cased key → (key as first written, value).
    values: IndexMap<Box<str>, (Box<str>, Vec<u8>)>,
    expiry: HashMap<Box<str>, Instant>,
}

impl Collection {
    fn key(name: &str) -> std::borrow::Cow<'_, str> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(name.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(name)
        }
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let key = Self::key(name);
        if let Some(at) = self.expiry.get(key.as_ref()) {
            if Instant::now() >= *at {
                return None;
            }
        }
        self.values.get(key.as_ref()).map(|(_, v)| v.as_slice())
    }

    pub fn set(&mut self, name: &str, value: Vec<u8>) {
        let key = Self::key(name);
        if let Some((_, v)) = self.values.get_mut(key.as_ref()) {
            *v = value;
        } else {
            self.values
                .insert(key.into_owned().into_boxed_str(), (name.into(), value));
        }
    }

    pub fn remove(&mut self, name: &str) {
        let key = Self::key(name);
        self.values.shift_remove(key.as_ref());
        self.expiry.remove(key.as_ref());
    }

    /// Makes `name` disappear after `after`.
    pub fn expire(&mut self, name: &str, after: Duration) {
        let key = Self::key(name).into_owned().into_boxed_str();
        self.expiry.insert(key, Instant::now() + after);
    }

    /// Live members in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let now = Instant::now();
        self.values
            .iter()
            .filter(move |(k, _)| self.expiry.get(*k).is_none_or(|at| now < *at))
            .map(|(_, (name, v))| (name.as_ref(), v.as_slice()))
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Persistent collections shared by the transactions of one rule set,
/// in memory. Bounded: beyond `capacity` records, the oldest is dropped.
#[derive(Debug)]
pub struct PersistentStore {
    records: Mutex<IndexMap<(Var, String), Collection>>,
    capacity: usize,
}

impl Default for PersistentStore {
    fn default() -> Self {
        PersistentStore {
            records: Mutex::new(IndexMap::new()),
            capacity: 100_000,
        }
    }
}

impl PersistentStore {
    /// The stored record, or an empty one.
    pub fn load(&self, var: Var, key: &str) -> Collection {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records
            .get(&(var, key.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// Writes a record back.
    pub fn store(&self, var: Var, key: &str, col: Collection) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.insert((var, key.to_string()), col);
        while records.len() > self.capacity {
            records.shift_remove_index(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_and_ordered() {
        let mut c = Collection::default();
        c.set("Score", b"1".to_vec());
        c.set("b", b"2".to_vec());
        c.set("SCORE", b"3".to_vec());
        assert_eq!(c.get("score"), Some(&b"3"[..]));
        let keys: Vec<_> = c.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["Score", "b"]);
        c.expire("b", Duration::from_secs(0));
        assert_eq!(c.get("b"), None);
        c.remove("score");
        assert!(c.is_empty());
    }
}
