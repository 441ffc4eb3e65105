//! `@verifySVNR`: matches when the regular expression finds a valid
//! Austrian social insurance number (Sozialversicherungsnummer) in the
//! value.
//!
//! Argument: a PCRE pattern that finds candidates, compiled once.
//!
//! Example: `SecRule ARGS "@verifySVNR ([0-9]{4} ?[0-9]{6})" "id:100,phase:2,block,capture"`
//!
//! Check (as ModSecurity v3): the first ten digits of the candidate are
//! taken (fewer fails); `0000000000`, `0123456789`, `1234567890` and
//! `1111111111`..`7777777777` are rejected (ModSecurity's list also holds
//! `8888888888` and `9999999999` but its loop never reaches them); the
//! fourth digit must equal (3,7,9,_,5,8,4,2,1,6 weighted sum) mod 11, where
//! 10 counts as 0.
//!
//! Candidates: the whole match, then each group, of the leftmost match from
//! every start offset (see [`verify_cc`](super::verify_cc)). Captures:
//! `TX.0` is the first valid candidate. Edge cases: the empty value never
//! matches; an empty argument is a load error.
//!
//! Must not: allocate unless it captures or the pattern has groups.

use super::pcre::PcrePattern;
use super::verify_cc::{candidate_pattern, find_verified, report, Groups};
use super::{BuildContext, OpContext, Operator};

/// The compiled `@verifySVNR` operator.
#[derive(Debug)]
pub struct VerifySvnr {
    pattern: PcrePattern,
}

impl VerifySvnr {
    /// Compiles the candidate pattern.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(VerifySvnr {
            pattern: candidate_pattern(param)?,
        })
    }
}

impl Operator for VerifySvnr {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        report(
            cx,
            find_verified(&self.pattern, input, Groups::AndEachGroup, is_valid_svnr),
        )
    }
}

/// Weights of the ten digits; the fourth is the check digit.
const WEIGHTS: [u32; 10] = [3, 7, 9, 0, 5, 8, 4, 2, 1, 6];

/// ModSecurity's SVNR check.
fn is_valid_svnr(candidate: &[u8]) -> bool {
    let mut digits = [0u32; 10];
    let mut count = 0;
    for &byte in candidate.iter().filter(|b| b.is_ascii_digit()) {
        if count == digits.len() {
            break;
        }
        digits[count] = u32::from(byte - b'0');
        count += 1;
    }
    if count != digits.len() {
        return false;
    }
    let ascending_from = |first: u32| (0..10).all(|i| digits[i] == (first + i as u32) % 10);
    let repeated_low = digits.iter().all(|&d| d == digits[0]) && digits[0] <= 7;
    if repeated_low || ascending_from(0) || ascending_from(1) {
        return false;
    }
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    let check = match sum % 11 {
        10 => 0,
        rest => rest,
    };
    check == digits[3]
}

#[cfg(test)]
mod tests {
    use super::is_valid_svnr;

    #[test]
    fn checks_the_fourth_digit() {
        assert!(is_valid_svnr(b"1237010180"));
        assert!(is_valid_svnr(b"1237 010180"));
        assert!(!is_valid_svnr(b"1238010180"));
        assert!(!is_valid_svnr(b"0100817"));
        assert!(!is_valid_svnr(b"0000000000"));
    }
}
