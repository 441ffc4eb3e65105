//! `@verifyCC`: matches when the regular expression finds a candidate card
//! number in the value that passes the Luhn check.
//!
//! Argument: a PCRE pattern (see [`pcre`](super::pcre)) that finds
//! candidates, compiled once.
//!
//! Example: `SecRule RESPONSE_BODY "@verifyCC (?:^|[^\d])(\d{4}\-?\d{4}\-?\d{2}\-?\d{2}\-?\d{1,4})(?:[^\d]|$)" "id:100,phase:4,block,capture"`
//!
//! Candidates (as ModSecurity v3): the leftmost match found from every
//! start offset of the value (ModSecurity retries from each offset, so
//! overlapping candidates are tried too); the whole match is checked, its
//! digits only (separators are skipped). A candidate without digits fails.
//!
//! Captures: `TX.0` is the first candidate that passes.
//!
//! Edge cases: the empty value never matches. An empty argument is a load
//! error (a pattern that finds nothing to check is a mistake). The search
//! jumps from one candidate's start to the next, so it costs one regex
//! search per distinct candidate, not one per byte as in ModSecurity.
//!
//! Must not: allocate unless it captures.

use super::pcre::{PcrePattern, Spans};
use super::{BuildContext, OpContext, Operator};

/// The compiled `@verifyCC` operator.
#[derive(Debug)]
pub struct VerifyCc {
    pattern: PcrePattern,
}

impl VerifyCc {
    /// Compiles the candidate pattern.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(VerifyCc {
            pattern: candidate_pattern(param)?,
        })
    }
}

impl Operator for VerifyCc {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        report(
            cx,
            find_verified(&self.pattern, input, Groups::WholeMatch, luhn),
        )
    }
}

/// Compiles the candidate pattern of a `@verify*` operator.
pub(crate) fn candidate_pattern(param: &str) -> Result<PcrePattern, String> {
    if param.is_empty() {
        return Err("expected a regular expression that finds candidates".to_string());
    }
    PcrePattern::new(param)
}

/// Stores the verified candidate in `TX.0` when capturing.
pub(crate) fn report(cx: &mut OpContext<'_>, found: Option<&[u8]>) -> bool {
    let Some(candidate) = found else {
        return false;
    };
    if let Some(captures) = cx.captures.as_deref_mut() {
        captures.set_single(candidate);
    }
    true
}

/// Which parts of a match are candidates.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Groups {
    /// Only the whole match (`@verifyCC`).
    WholeMatch,
    /// The whole match, then each group (`@verifyCPF`, `@verifySSN`,
    /// `@verifySVNR`, where ModSecurity checks every group its
    /// `searchAll` returns).
    AndEachGroup,
}

/// The first candidate that `verify` accepts: the leftmost match from
/// every start offset of `input` (jumping from one match start to the
/// next, which visits exactly the distinct matches ModSecurity's
/// per-offset loop visits).
pub(crate) fn find_verified<'a>(
    pattern: &PcrePattern,
    input: &'a [u8],
    groups: Groups,
    verify: fn(&[u8]) -> bool,
) -> Option<&'a [u8]> {
    let with_groups = groups == Groups::AndEachGroup && pattern.group_count() > 1;
    let mut spans = Spans::new();
    let mut start = 0;
    while start < input.len() {
        let (begin, end) = pattern.find_at(input, start)?;
        if verify(&input[begin..end]) {
            return Some(&input[begin..end]);
        }
        if with_groups && pattern.captures_at(input, start, &mut spans) {
            for (group_start, group_end) in spans.iter().skip(1).flatten().copied() {
                if verify(&input[group_start..group_end]) {
                    return Some(&input[group_start..group_end]);
                }
            }
        }
        start = begin + 1;
    }
    None
}

/// The Luhn mod-10 check over the digits of `candidate`.
pub(crate) fn luhn(candidate: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut digits = 0usize;
    for &byte in candidate.iter().rev().filter(|b| b.is_ascii_digit()) {
        let digit = u32::from(byte - b'0');
        sum += if digits % 2 == 1 {
            let doubled = digit * 2;
            if doubled > 9 {
                doubled - 9
            } else {
                doubled
            }
        } else {
            digit
        };
        digits += 1;
    }
    digits > 0 && matches!(sum % 10, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_checks_digits_only() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"4111-1111-1111-1111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b""));
        assert!(!luhn(b"abc"));
        assert!(luhn(b"0"));
    }

    #[test]
    fn tries_overlapping_candidates() {
        let pattern = PcrePattern::new(r"\d{4}").unwrap();
        // "9000" fails Luhn; "0000" overlaps it and is found only by
        // searching again from inside the first candidate.
        let found = find_verified(&pattern, b"90000", Groups::WholeMatch, luhn);
        assert_eq!(found, Some(&b"0000"[..]));
    }
}
