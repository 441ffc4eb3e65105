//! `@verifyCPF`: matches when the regular expression finds a valid
//! Brazilian CPF number (taxpayer id) in the value.
//!
//! Argument: a PCRE pattern that finds candidates, compiled once.
//!
//! Example: `SecRule ARGS "@verifyCPF ([0-9]{3}\.){2}[0-9]{3}-[0-9]{2}" "id:100,phase:2,block,capture"`
//!
//! Check (as ModSecurity v3): the first 11 digits of the candidate are
//! taken (other bytes skipped; fewer than 11 digits fails); the eleven
//! numbers made of one repeated digit and `01234567890` are rejected; the
//! two check digits must equal the mod-11 checksums of the first nine and
//! ten digits (a remainder below 2 gives 0, else 11 minus it).
//!
//! Candidates: the whole match, then each group, of the leftmost match from
//! every start offset (see [`verify_cc`](super::verify_cc)). Captures:
//! `TX.0` is the first valid candidate. Edge cases: the empty value never
//! matches; an empty argument is a load error. Differs from ModSecurity
//! only for patterns anchored with `^`: ModSecurity searches each suffix of
//! the value as a new subject, so `^` matches at every offset there.
//!
//! Must not: allocate unless it captures or the pattern has groups.

use super::pcre::PcrePattern;
use super::verify_cc::{candidate_pattern, find_verified, report, Groups};
use super::{BuildContext, OpContext, Operator};

/// The compiled `@verifyCPF` operator.
#[derive(Debug)]
pub struct VerifyCpf {
    pattern: PcrePattern,
}

impl VerifyCpf {
    /// Compiles the candidate pattern.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(VerifyCpf {
            pattern: candidate_pattern(param)?,
        })
    }
}

impl Operator for VerifyCpf {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        report(
            cx,
            find_verified(&self.pattern, input, Groups::AndEachGroup, is_valid_cpf),
        )
    }
}

/// ModSecurity's CPF check.
fn is_valid_cpf(candidate: &[u8]) -> bool {
    let mut digits = [0u32; 11];
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
    let all_same = digits.iter().all(|&d| d == digits[0]);
    if all_same || digits == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0] {
        return false;
    }
    let check = |len: usize| {
        let sum: u32 = digits[..len]
            .iter()
            .enumerate()
            .map(|(i, &d)| d * (len as u32 + 1 - i as u32))
            .sum();
        match sum % 11 {
            0 | 1 => 0,
            rest => 11 - rest,
        }
    };
    let first = check(9);
    if first != digits[9] {
        return false;
    }
    check(10) == digits[10]
}

#[cfg(test)]
mod tests {
    use super::is_valid_cpf;

    #[test]
    fn checks_both_digits() {
        assert!(is_valid_cpf(b"010.817.514-60"));
        assert!(is_valid_cpf(b"01081751460"));
        assert!(!is_valid_cpf(b"010.817.514-61"));
        assert!(!is_valid_cpf(b"111.111.111-11"));
        assert!(!is_valid_cpf(b"012.345.678-90"));
        assert!(!is_valid_cpf(b"010.817"));
    }
}
