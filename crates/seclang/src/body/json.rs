//! `JSON` bodies: every scalar becomes an argument named by its path, the
//! way ModSecurity v3 names them: `json.key`, `json.outer.inner`, array
//! elements `json.list.array_0`, `json.list.array_1`; `true`/`false` as
//! text, `null` as an empty value, numbers as written. Keys keep their
//! order and repeats. An array also yields itself, named by its path, with
//! its element count as value (as OWASP Coraza does): array keys are
//! client-chosen names, and rules on `ARGS_NAMES` must see them. Nesting deeper than the configured limit, or
//! invalid JSON, is an error (the arguments read so far are kept). serde_json
//! also stops at 128 levels whatever the limit, which keeps the stack safe.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Arguments found, or the error and the arguments found before it.
pub fn parse(body: &[u8], depth_limit: usize) -> Result<super::Pairs, (String, super::Pairs)> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = Node {
        path: b"json".to_vec(),
        depth: 0,
        limit: depth_limit,
        out: &mut out,
    }
    .deserialize(&mut de)
    .and_then(|_| de.end());
    match result {
        Ok(()) => Ok(out),
        Err(e) => Err((e.to_string(), out)),
    }
}

/// Visits one JSON value found at `path`.
struct Node<'o> {
    path: Vec<u8>,
    depth: usize,
    limit: usize,
    out: &'o mut Vec<(Vec<u8>, Vec<u8>)>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Node<'_> {
    fn leaf<E>(self, value: &[u8]) -> Result<(), E> {
        self.out.push((self.path, value.to_vec()));
        Ok(())
    }

    fn deeper<E: de::Error>(&self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > self.limit {
            return Err(E::custom(format!(
                "JSON depth exceeds the limit of {} levels",
                self.limit
            )));
        }
        Ok(depth)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.leaf(if v { b"true" } else { b"false" })
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        let s = v.to_string();
        self.leaf(s.as_bytes())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        let s = v.to_string();
        self.leaf(s.as_bytes())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        let s = v.to_string();
        self.leaf(s.as_bytes())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.leaf(v.as_bytes())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.leaf(b"")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.deeper()?;
        let mut i = 0usize;
        loop {
            let mut path = self.path.clone();
            path.extend_from_slice(format!(".array_{i}").as_bytes());
            let child = Node {
                path,
                depth,
                limit: self.limit,
                out: &mut *self.out,
            };
            if seq.next_element_seed(child)?.is_none() {
                break;
            }
            i += 1;
        }
        self.out.push((self.path, i.to_string().into_bytes()));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.deeper()?;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let mut path = self.path.clone();
            path.push(b'.');
            // ModSecurity names an empty key `empty-key`.
            path.extend_from_slice(if key.is_empty() {
                b"empty-key"
            } else {
                key.as_bytes()
            });
            map.next_value_seed(Node {
                path,
                depth,
                limit: self.limit,
                out: &mut *self.out,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Vec<(String, String)> {
        parse(body.as_bytes(), 100)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    #[test]
    fn names_follow_modsecurity() {
        assert_eq!(
            names(r#"{"a":"x","b":{"c":1,"d":[true,null,"y"]},"a":2.5}"#),
            vec![
                ("json.a".into(), "x".into()),
                ("json.b.c".into(), "1".into()),
                ("json.b.d.array_0".into(), "true".into()),
                ("json.b.d.array_1".into(), "".into()),
                ("json.b.d.array_2".into(), "y".into()),
                ("json.b.d".into(), "3".into()),
                ("json.a".into(), "2.5".into()),
            ]
        );
        assert_eq!(
            names(r#"["q"]"#),
            vec![
                ("json.array_0".into(), "q".into()),
                ("json".into(), "1".into())
            ]
        );
    }

    #[test]
    fn errors_keep_what_was_read() {
        let (err, got) = parse(br#"{"a":"x","b":"#, 10).unwrap_err();
        assert!(err.contains("EOF"), "{err}");
        assert_eq!(got.len(), 1);
        let (err, _) = parse(br#"{"a":{"b":{"c":1}}}"#, 2).unwrap_err();
        assert!(err.contains("depth"), "{err}");
        assert!(parse(b"a", 10).is_err());
    }
}
