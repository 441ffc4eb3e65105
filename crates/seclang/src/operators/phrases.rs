//! Case-insensitive phrase sets for `@pm` and `@pmFromFile`.
//!
//! Owns one Aho-Corasick automaton per operator, built once at load time
//! over every phrase (ASCII case folding only, like ModSecurity's `acmp`,
//! which lower-cases with the C locale), and the phrase reported as the
//! match: the first phrase to end in the value (standard Aho-Corasick
//! order, as `acmp_process_quick` reports it), spelled as in the rule or
//! data file.
//!
//! Must not: allocate while matching, or be built per request.

use aho_corasick::{AhoCorasick, MatchKind};

/// A compiled set of phrases.
#[derive(Clone)]
pub struct PhraseSet {
    automaton: AhoCorasick,
    phrases: Vec<Vec<u8>>,
}

impl std::fmt::Debug for PhraseSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PhraseSet({} phrases)", self.phrases.len())
    }
}

impl PhraseSet {
    /// Builds the automaton. Empty phrases are dropped (they would match
    /// everything; ModSecurity's `acmp` ignores them too).
    pub fn new(phrases: Vec<Vec<u8>>) -> Result<Self, String> {
        let phrases: Vec<Vec<u8>> = phrases.into_iter().filter(|p| !p.is_empty()).collect();
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&phrases)
            .map_err(|e| format!("cannot build the phrase matcher: {e}"))?;
        Ok(PhraseSet { automaton, phrases })
    }

    /// Number of phrases.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// True when the set holds no phrase (it then never matches).
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The phrases, in the order given.
    pub fn phrases(&self) -> &[Vec<u8>] {
        &self.phrases
    }

    /// True when any phrase occurs in `input`.
    pub fn is_match(&self, input: &[u8]) -> bool {
        self.automaton.is_match(input)
    }

    /// The phrase of the first match (earliest end), as written.
    pub fn find(&self, input: &[u8]) -> Option<&[u8]> {
        self.automaton
            .find(input)
            .map(|m| self.phrases[m.pattern().as_usize()].as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_ascii_case_only() {
        let set = PhraseSet::new(vec![b"Select".to_vec(), "é".as_bytes().to_vec()]).unwrap();
        assert_eq!(set.find(b"xx SELECT yy"), Some(&b"Select"[..]));
        assert!(set.is_match("caf\u{e9}".as_bytes()));
        assert!(!set.is_match("CAF\u{c9}".as_bytes()));
        assert!(!set.is_match(b""));
    }

    #[test]
    fn reports_the_earliest_ending_phrase() {
        let set = PhraseSet::new(vec![b"bcdef".to_vec(), b"cd".to_vec()]).unwrap();
        assert_eq!(set.find(b"abcdefg"), Some(&b"cd"[..]));
    }
}
