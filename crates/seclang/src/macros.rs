//! Macro strings: text with `%{COLLECTION.key}` references, as used in
//! `msg`, `logdata`, `setvar` values and some operator arguments.
//!
//! A [`MacroString`] is parsed once at rule load time; at evaluation time it
//! is expanded against a [`MacroSource`] that the transaction provides.

use std::borrow::Cow;

/// Where a transaction's values come from when a macro is expanded.
pub trait MacroSource {
    /// The value of `collection` (upper-case, e.g. `TX`, `REQUEST_HEADERS`,
    /// `MATCHED_VAR`) with the optional `key` (as written, e.g.
    /// `anomaly_score`, `User-Agent`). `None` when nothing is there.
    fn lookup(&self, collection: &str, key: Option<&str>) -> Option<Cow<'_, [u8]>>;
}

/// One piece of a macro string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Literal(String),
    /// `%{COLLECTION}` or `%{COLLECTION.key}`; the collection name is stored
    /// upper-cased, the key as written.
    Reference {
        collection: String,
        key: Option<String>,
    },
}

/// A string that may contain `%{...}` references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroString {
    parts: Vec<Part>,
}

impl MacroString {
    /// Parses `text`. A `%{` without a closing `}` stays literal, as in
    /// ModSecurity.
    pub fn parse(text: &str) -> Self {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("%{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let inner = &after[..end];
            if !is_reference(inner) {
                literal.push_str(&rest[..start + 2]);
                rest = after;
                continue;
            }
            literal.push_str(&rest[..start]);
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            let (collection, key) = match inner.split_once(['.', ':']) {
                Some((c, k)) => (c, Some(k.to_string())),
                None => (inner, None),
            };
            parts.push(Part::Reference {
                collection: collection.to_ascii_uppercase(),
                key,
            });
            rest = &after[end + 1..];
            // ModSecurity also accepts the old `%{name}%` spelling.
            if rest.starts_with('%') && !rest.starts_with("%{") {
                rest = &rest[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        MacroString { parts }
    }

    /// True when the string holds no reference, so it never changes.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// The text when the string holds no reference.
    pub fn static_text(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Literal(text)] => Some(text),
            _ => None,
        }
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Expands every reference; a missing value expands to nothing.
    pub fn expand<'a>(&'a self, source: &dyn MacroSource) -> Cow<'a, [u8]> {
        if let [Part::Literal(text)] = self.parts.as_slice() {
            return Cow::Borrowed(text.as_bytes());
        }
        let mut out = Vec::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Part::Reference { collection, key } => {
                    if let Some(v) = source.lookup(collection, key.as_deref()) {
                        out.extend_from_slice(&v);
                    }
                }
            }
        }
        Cow::Owned(out)
    }
}

/// `COLLECTION`, `COLLECTION.key`, `COLLECTION:key` or
/// `COLLECTION:/regex/`.
fn is_reference(inner: &str) -> bool {
    let (col, key) = match inner.split_once(['.', ':']) {
        Some((c, k)) => (c, Some(k)),
        None => (inner, None),
    };
    !col.is_empty()
        && col.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && match key {
            None => true,
            Some(k) if k.len() >= 2 && k.starts_with('/') && k.ends_with('/') => true,
            Some(k) => !k.is_empty() && k.chars().all(is_reference_char),
        }
}

fn is_reference_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tx;
    impl MacroSource for Tx {
        fn lookup(&self, collection: &str, key: Option<&str>) -> Option<Cow<'_, [u8]>> {
            match (collection, key) {
                ("TX", Some("anomaly_score")) => Some(Cow::Borrowed(b"5")),
                ("MATCHED_VAR", None) => Some(Cow::Borrowed(b"x")),
                _ => None,
            }
        }
    }

    #[test]
    fn expands_references_and_keeps_literals() {
        let m = MacroString::parse("score %{tx.anomaly_score} on %{MATCHED_VAR}%{tx.none}!");
        assert!(!m.is_static());
        assert_eq!(&*m.expand(&Tx), b"score 5 on x!");
    }

    #[test]
    fn unterminated_reference_is_literal() {
        let m = MacroString::parse("50%{ off");
        assert!(m.is_static());
        assert_eq!(&*m.expand(&Tx), b"50%{ off");
    }
}
