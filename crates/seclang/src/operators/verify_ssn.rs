//! `@verifySSN`: matches when the regular expression finds a plausible US
//! Social Security number in the value.
//!
//! Argument: a PCRE pattern that finds candidates, compiled once.
//!
//! Example: `SecRule RESPONSE_BODY "@verifySSN \d{3}-?\d{2}-?\d{4}" "id:100,phase:4,block,capture"`
//!
//! Check (as ModSecurity v3): the candidate must hold exactly nine digits
//! (other bytes skipped); all nine ascending by one (`123-45-6789`) or all
//! equal is rejected; area (first three), group (next two) and serial
//! (last four) must be non-zero; area 666 and areas from 740 up are
//! rejected.
//!
//! Candidates: the whole match, then each group, of the leftmost match from
//! every start offset (see [`verify_cc`](super::verify_cc)). Captures:
//! `TX.0` is the first valid candidate. Edge cases: the empty value never
//! matches; an empty argument is a load error. As for `@verifyCPF`, a `^`
//! anchor matches only at line starts here, not at every offset.
//!
//! Must not: allocate unless it captures or the pattern has groups.

use super::pcre::PcrePattern;
use super::verify_cc::{candidate_pattern, find_verified, report, Groups};
use super::{BuildContext, OpContext, Operator};

/// The compiled `@verifySSN` operator.
#[derive(Debug)]
pub struct VerifySsn {
    pattern: PcrePattern,
}

impl VerifySsn {
    /// Compiles the candidate pattern.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(VerifySsn {
            pattern: candidate_pattern(param)?,
        })
    }
}

impl Operator for VerifySsn {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        report(
            cx,
            find_verified(&self.pattern, input, Groups::AndEachGroup, is_plausible_ssn),
        )
    }
}

/// ModSecurity's SSN check.
fn is_plausible_ssn(candidate: &[u8]) -> bool {
    let mut digits = [0u32; 9];
    let mut count = 0;
    for &byte in candidate.iter().filter(|b| b.is_ascii_digit()) {
        if count < digits.len() {
            digits[count] = u32::from(byte - b'0');
        }
        count += 1;
    }
    if count != digits.len() {
        return false;
    }
    let ascending = digits.windows(2).all(|w| w[0] + 1 == w[1]);
    let repeated = digits.windows(2).all(|w| w[0] == w[1]);
    if ascending || repeated {
        return false;
    }
    let number = |range: std::ops::Range<usize>| digits[range].iter().fold(0, |n, d| n * 10 + d);
    let (area, group, serial) = (number(0..3), number(3..5), number(5..9));
    area != 0 && group != 0 && serial != 0 && area < 740 && area != 666
}

#[cfg(test)]
mod tests {
    use super::is_plausible_ssn;

    #[test]
    fn applies_the_area_rules() {
        assert!(is_plausible_ssn(b"574-57-8065"));
        assert!(!is_plausible_ssn(b"800-57-8065"));
        assert!(!is_plausible_ssn(b"666-57-8065"));
        assert!(!is_plausible_ssn(b"123-45-6789"));
        assert!(!is_plausible_ssn(b"555-55-5555"));
        assert!(!is_plausible_ssn(b"574-00-8065"));
        assert!(!is_plausible_ssn(b"574-57-80651"));
    }
}
