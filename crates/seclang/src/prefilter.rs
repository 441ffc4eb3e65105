//! Rule prefilters: for a regular expression, a set of literals at least
//! one of which must occur (ignoring ASCII case) in any input it matches.
//! A rule whose literals are all absent from a value is never run on it,
//! which is how the engine skips most of the OWASP CRS on ordinary
//! traffic without changing a single result.
//!
//! The set is computed from the expression's syntax tree: a literal
//! requires itself; a concatenation requires what its most selective part
//! requires; an alternation requires the union of what each branch
//! requires (and nothing if one branch requires nothing); a repetition
//! requires what its body requires when it must run at least once.
//! Case is folded (`[Ss]` and `(?i)s` both count as `s`) because the
//! literals are searched without case.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Literal sets larger than this are not worth a prefilter.
const MAX_LITERALS: usize = 256;

/// A compiled prefilter.
#[derive(Debug, Clone)]
pub struct Prefilter {
    searcher: AhoCorasick,
    literals: Vec<Vec<u8>>,
}

impl Prefilter {
    /// The literals (lower-cased) one of which every match contains.
    pub fn literals(&self) -> &[Vec<u8>] {
        &self.literals
    }

    /// Builds the prefilter of a PCRE pattern, or `None` when the pattern
    /// requires no literal worth searching for.
    pub fn for_regex(pattern: &str) -> Option<Prefilter> {
        let translated = crate::operators::pcre::translate(pattern.as_bytes()).ok()?;
        if translated.needs_backtracking {
            return None;
        }
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .dot_matches_new_line(true)
            .multi_line(true)
            .build()
            .parse(&translated.text)
            .ok()?;
        let mut lits = required(&hir)?;
        lits.sort();
        lits.dedup();
        // A set whose shortest member is one byte filters almost nothing.
        if lits.is_empty() || lits.iter().any(|l| l.len() < 2) || lits.len() > MAX_LITERALS {
            return None;
        }
        let searcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&lits)
            .ok()?;
        Some(Prefilter {
            searcher,
            literals: lits,
        })
    }

    /// False when `input` cannot match the expression.
    pub fn may_match(&self, input: &[u8]) -> bool {
        self.searcher.is_match(input)
    }
}

/// Many rules' prefilters in one automaton, for the rules that share a
/// transformation chain: one pass over a transformed value tells which of
/// those rules can match it.
#[derive(Debug)]
pub struct Bank {
    searcher: AhoCorasick,
    /// Pattern index → the rule's prefilter index.
    owners: Vec<u32>,
}

impl Bank {
    /// A bank of `(prefilter index, literals)`.
    pub fn new(rules: &[(u32, &[Vec<u8>])]) -> Option<Bank> {
        let mut patterns: Vec<&[u8]> = Vec::new();
        let mut owners = Vec::new();
        for (idx, lits) in rules {
            for l in lits.iter() {
                patterns.push(l);
                owners.push(*idx);
            }
        }
        let searcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .ok()?;
        Some(Bank { searcher, owners })
    }

    /// Sets in `bits` the prefilter index of every rule whose literals
    /// occur in `input`.
    pub fn scan(&self, input: &[u8], bits: &mut [u64]) {
        for m in self.searcher.find_overlapping_iter(input) {
            let idx = self.owners[m.pattern().as_usize()] as usize;
            bits[idx / 64] |= 1 << (idx % 64);
        }
    }
}

/// Literals (lower-cased) one of which every match contains; `None` when
/// there is no such set.
fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => single_letter(class).map(|b| vec![vec![b]]),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Repetition(_) | HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(required(b)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            Some(all)
        }
        HirKind::Concat(parts) => {
            // Adjacent literal pieces join into longer literals; of every
            // run, the most selective requirement wins.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut run: Option<Vec<Vec<u8>>> = None;
            let consider = |cand: Option<Vec<Vec<u8>>>, best: &mut Option<Vec<Vec<u8>>>| {
                if let Some(c) = cand {
                    if best.as_ref().is_none_or(|b| score(&c) > score(b)) {
                        *best = Some(c);
                    }
                }
            };
            for p in parts {
                match exact(p) {
                    Some(pieces) => {
                        run = Some(match run.take() {
                            None => pieces,
                            Some(prev) if prev.len() * pieces.len() <= MAX_LITERALS => {
                                let mut joined = Vec::with_capacity(prev.len() * pieces.len());
                                for a in &prev {
                                    for b in &pieces {
                                        let mut x = a.clone();
                                        x.extend_from_slice(b);
                                        joined.push(x);
                                    }
                                }
                                joined
                            }
                            Some(prev) => {
                                consider(Some(prev), &mut best);
                                pieces
                            }
                        });
                    }
                    None => {
                        consider(run.take(), &mut best);
                        consider(required(p), &mut best);
                    }
                }
            }
            consider(run, &mut best);
            best
        }
    }
}

/// The exact strings a piece matches when it is a small finite set of
/// literals (a literal, a case-folded letter, an alternation of those).
fn exact(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => single_letter(class).map(|b| vec![vec![b]]),
        HirKind::Capture(c) => exact(&c.sub),
        HirKind::Concat(parts) => {
            let mut acc: Vec<Vec<u8>> = vec![Vec::new()];
            for p in parts {
                let next = exact(p)?;
                if acc.len() * next.len() > MAX_LITERALS {
                    return None;
                }
                let mut joined = Vec::with_capacity(acc.len() * next.len());
                for a in &acc {
                    for b in &next {
                        let mut x = a.clone();
                        x.extend_from_slice(b);
                        joined.push(x);
                    }
                }
                acc = joined;
            }
            Some(acc)
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(exact(b)?);
                if all.len() > MAX_LITERALS {
                    return None;
                }
            }
            Some(all)
        }
        _ => None,
    }
}

/// A class that is one byte, or one ASCII letter in both cases.
fn single_letter(class: &Class) -> Option<u8> {
    let mut bytes = Vec::new();
    match class {
        Class::Bytes(c) => {
            for r in c.ranges() {
                if r.end() - r.start() > 1 {
                    return None;
                }
                for b in r.start()..=r.end() {
                    bytes.push(b);
                }
            }
        }
        Class::Unicode(c) => {
            for r in c.ranges() {
                if (r.end() as u32) - (r.start() as u32) > 1 || r.end() as u32 > 0x7f {
                    return None;
                }
                for ch in r.start()..=r.end() {
                    bytes.push(ch as u8);
                }
            }
        }
    }
    bytes.sort();
    bytes.dedup();
    match bytes.as_slice() {
        [b] => Some(b.to_ascii_lowercase()),
        [a, b] if a.is_ascii_uppercase() && *b == a.to_ascii_lowercase() => Some(*b),
        _ => None,
    }
}

/// How selective a set is: longer shortest member first, then fewer
/// members.
fn score(set: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>) {
    let min = set.iter().map(Vec::len).min().unwrap_or(0);
    (min.min(6), std::cmp::Reverse(set.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &str) -> Option<Vec<String>> {
        let t = crate::operators::pcre::translate(p.as_bytes()).unwrap();
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&t.text)
            .unwrap();
        required(&hir).map(|mut v| {
            v.sort();
            v.dedup();
            v.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn finds_what_every_match_contains() {
        assert_eq!(lits("(?i)union[\\s]+select"), Some(vec!["select".into()]));
        assert_eq!(
            lits("(?i)\\b(?:sleep|benchmark)\\("),
            Some(vec!["benchmark(".into(), "sleep(".into()])
        );
        assert_eq!(
            lits("[Ss][Ee][Ll][Ee][Cc][Tt]"),
            Some(vec!["select".into()])
        );
        assert_eq!(lits("a|\\d+"), None);
        assert_eq!(lits("x*"), None);
        assert_eq!(
            lits("(?:<script|javascript:)"),
            Some(vec!["<script".into(), "javascript:".into()])
        );
    }

    #[test]
    fn prefilter_never_rejects_a_match() {
        let patterns = [
            "(?i)union[\\s\\x0b]+(?:all[\\s\\x0b]+)?select",
            "(?i)<script[^>]*>",
            "(?:etc/passwd|/proc/self)",
        ];
        let inputs = [
            "1 UNION  ALL select x",
            "<SCRIPT src=x>",
            "../../etc/passwd",
            "nothing here",
        ];
        for p in patterns {
            let re = crate::operators::pcre::PcrePattern::new(p).unwrap();
            let pf = Prefilter::for_regex(p).expect("literals");
            for i in inputs {
                if re.is_match(i.as_bytes()) {
                    assert!(pf.may_match(i.as_bytes()), "{p} on {i}");
                }
            }
            assert!(!pf.may_match(b"nothing here"));
        }
    }
}
