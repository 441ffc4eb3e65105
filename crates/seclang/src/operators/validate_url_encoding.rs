//! `@validateUrlEncoding`: matches (reports a violation) when the value
//! holds a malformed `%` escape.
//!
//! Argument: none (anything given is ignored, as in ModSecurity).
//!
//! Example: `SecRule REQUEST_URI "@validateUrlEncoding" "id:920220,phase:1,block,t:none"`
//!
//! Edge cases (as ModSecurity v3): every `%` must be followed by two hex
//! digits (either case); `%` with fewer than two bytes after it, or with a
//! non-hex byte among the two, is a violation. `%00` and `%ff` are valid
//! encodings. `+` and bytes >= 0x80 are not checked. The empty value is
//! valid.
//!
//! Must not: decode or allocate.

use super::{BuildContext, OpContext, Operator};

/// The `@validateUrlEncoding` operator.
#[derive(Debug, Clone, Default)]
pub struct ValidateUrlEncoding;

impl ValidateUrlEncoding {
    /// Accepts any argument.
    pub fn new(_param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(ValidateUrlEncoding)
    }
}

impl Operator for ValidateUrlEncoding {
    fn evaluate(&self, _cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        has_malformed_escape(input)
    }
}

/// True at the first `%` not followed by two hex digits.
fn has_malformed_escape(input: &[u8]) -> bool {
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'%' {
            i += 1;
            continue;
        }
        match input.get(i + 1..i + 3) {
            Some([hi, lo]) if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => i += 3,
            _ => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::has_malformed_escape;

    #[test]
    fn checks_every_escape() {
        assert!(!has_malformed_escape(b""));
        assert!(!has_malformed_escape(b"a%20b%Fe%00"));
        assert!(has_malformed_escape(b"%"));
        assert!(has_malformed_escape(b"ab%4"));
        assert!(has_malformed_escape(b"%4g"));
        assert!(has_malformed_escape(b"%20%%20"));
    }
}
