//! Integers the way ModSecurity reads them, for `@eq`, `@ge`, `@gt`, `@le`
//! and `@lt`.
//!
//! Owns two readings: [`leading_integer`] for evaluation-time values (what
//! C's `atoll` does: skip leading white space, optional sign, then digits up
//! to the first non-digit; no digits gives 0, so `"12abc"` is 12 and `"abc"`
//! is 0), and [`Operand`] for the operator's own argument, which must be an
//! integer when it is fixed text (a typo such as `@gt 1O` is a load error
//! rather than a silent 0). A decimal such as `70.000000` is accepted and
//! compares as its integer part, as ModSecurity reads it (rules generated
//! by tools print their limits that way).
//!
//! Deliberate difference from ModSecurity v3: values beyond the 64-bit range
//! saturate (glibc's `atoll` does the same), and `@eq`, which ModSecurity
//! reads with `std::stoi` (32 bits, out of range turns into 0), uses the same
//! 64-bit reading, so an attacker's `99999999999` never compares equal to 0.
//! Must not: allocate for fixed operands.

use crate::macros::{MacroSource, MacroString};

use super::argument::Argument;

/// Reads the leading integer of `bytes` like C's `atoll`, saturating at the
/// `i64` bounds.
pub fn leading_integer(bytes: &[u8]) -> i64 {
    let mut rest = bytes;
    while let [first, tail @ ..] = rest {
        if matches!(first, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
            rest = tail;
        } else {
            break;
        }
    }
    let negative = match rest.first() {
        Some(b'-') => {
            rest = &rest[1..];
            true
        }
        Some(b'+') => {
            rest = &rest[1..];
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    for &byte in rest.iter().take_while(|b| b.is_ascii_digit()) {
        let digit = i64::from(byte - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(digit)
        } else {
            value.saturating_mul(10).saturating_add(digit)
        };
    }
    value
}

/// The right-hand side of a numeric comparison.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A fixed integer, read once at load time.
    Fixed(i64),
    /// A macro such as `%{tx.max_num_args}`, read per evaluation.
    Macro(MacroString),
}

impl Operand {
    /// Parses the operator argument: fixed text must be one integer,
    /// optionally with a decimal fraction that is dropped (surrounding
    /// white space allowed).
    pub fn parse(param: &str) -> Result<Self, String> {
        match Argument::parse(param) {
            Argument::Macro(text) => Ok(Operand::Macro(text)),
            Argument::Fixed(_) => {
                let text = param.trim();
                let number = text.strip_prefix(['+', '-']).unwrap_or(text);
                let (digits, fraction) = number.split_once('.').unwrap_or((number, "0"));
                let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                if !all_digits(digits) || !all_digits(fraction) {
                    return Err(format!("expected an integer, found `{param}`"));
                }
                Ok(Operand::Fixed(leading_integer(text.as_bytes())))
            }
        }
    }

    /// The operand's value for this evaluation.
    pub fn value(&self, macros: &dyn MacroSource) -> i64 {
        match self {
            Operand::Fixed(n) => *n,
            Operand::Macro(text) => leading_integer(&text.expand(macros)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_atoll() {
        assert_eq!(leading_integer(b""), 0);
        assert_eq!(leading_integer(b"abc"), 0);
        assert_eq!(leading_integer(b"12abc"), 12);
        assert_eq!(leading_integer(b" \t\n-7"), -7);
        assert_eq!(leading_integer(b"+5"), 5);
        assert_eq!(leading_integer(b"- 5"), 0);
        assert_eq!(leading_integer(b"99999999999999999999999"), i64::MAX);
        assert_eq!(leading_integer(b"-99999999999999999999999"), i64::MIN);
    }

    #[test]
    fn fixed_operand_must_be_an_integer() {
        assert!(matches!(Operand::parse(" 5 "), Ok(Operand::Fixed(5))));
        assert!(matches!(Operand::parse("-1"), Ok(Operand::Fixed(-1))));
        assert!(Operand::parse("xxx").is_err());
        assert!(Operand::parse("").is_err());
        assert!(Operand::parse("5x").is_err());
        assert!(matches!(
            Operand::parse("70.000000"),
            Ok(Operand::Fixed(70))
        ));
        assert!(matches!(Operand::parse("-2.5"), Ok(Operand::Fixed(-2))));
        assert!(Operand::parse("7.").is_err());
        assert!(Operand::parse(".5").is_err());
        assert!(Operand::parse("1.2.3").is_err());
        assert!(matches!(Operand::parse("%{tx.a}"), Ok(Operand::Macro(_))));
    }
}
