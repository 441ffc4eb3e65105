//! `t:base64DecodeExt`: forgiving Base64 decoding, as libmodsecurity 3's
//! `Base64::decode_forgiven`.
//!
//! Exact behaviour:
//! - Every byte of the value is looked at, NULs included.
//! - Symbols of both alphabets count: `+` and `-` are 62, `/` and `_` are
//!   63. Every other byte (whitespace, `.`, NUL, bytes >= 0x80, ...) is
//!   skipped.
//! - Output is produced symbol by symbol, so an incomplete final group
//!   still yields its complete bytes (`QUJDRA` -> `ABCD`).
//! - An `=` that is not followed by another `=`, seen when the number of
//!   symbols so far is 1 more than a multiple of 4, empties the result.
//!   The same happens when the input *ends* in that position with `=` or
//!   with `9`: ModSecurity compares the last symbol's *value* with the
//!   code of `=`, and `9` has value 61, the code of `=` (`QUJD9` -> ``).
//!
//! ```text
//! SecRule ARGS:token "@contains <script" "id:101,phase:2,t:base64DecodeExt,deny"
//! ```
//!
//! Must not: reject input; invalid bytes are skipped, never fatal.

use std::borrow::Cow;

use super::rewrite::owned_if_changed;

/// Value of a symbol in either Base64 alphabet, or `None` for a byte that
/// is skipped.
#[inline]
const fn forgiving_value(b: u8) -> Option<u8> {
    match b {
        b'-' => Some(62),
        b'_' => Some(63),
        _ => super::base64_decode::symbol_value(b),
    }
}

/// ModSecurity keeps the last byte's table value in the same variable it
/// compares with `'='` (61); this is that comparison.
const PAD: i32 = b'=' as i32;

pub(crate) fn base64_decode_ext(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut symbols: usize = 0;
    let mut partial: u8 = 0;
    let mut last: i32 = 0;
    for (k, &b) in input.iter().enumerate() {
        if b == b'=' {
            let next = input.get(k + 1).copied().unwrap_or(0);
            if next != b'=' && symbols % 4 == 1 {
                return owned_if_changed(input, Vec::new());
            }
            last = PAD;
            continue;
        }
        let Some(v) = forgiving_value(b) else {
            last = -1;
            continue;
        };
        last = i32::from(v);
        match symbols % 4 {
            0 => partial = v << 2,
            1 => {
                out.push(partial | (v >> 4));
                partial = (v & 0x0f) << 4;
            }
            2 => {
                out.push(partial | (v >> 2));
                partial = (v & 0x03) << 6;
            }
            _ => out.push(partial | v),
        }
        symbols += 1;
    }
    if last == PAD && symbols % 4 == 1 {
        out.clear();
    }
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &[u8]) -> Vec<u8> {
        base64_decode_ext(s).into_owned()
    }

    #[test]
    fn skips_invalid_bytes_and_keeps_partial_groups() {
        assert_eq!(
            dec(b"P.HNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
            b"<script>alert(1)</script>"
        );
        assert_eq!(dec(b"QUJDRA"), b"ABCD");
        assert_eq!(dec(b"Q U\nJ\0D"), b"ABC");
    }

    #[test]
    fn url_safe_alphabet() {
        assert_eq!(dec(b"-_-_"), dec(b"+/+/"));
    }

    #[test]
    fn misplaced_padding_empties() {
        assert_eq!(dec(b"QUJDR="), b"");
        assert_eq!(dec(b"QUJDR=x"), b"");
        assert_eq!(dec(b"QUJDR==x"), b"");
        assert_eq!(dec(b"QUJDRA=."), b"ABCD");
    }

    #[test]
    fn trailing_nine_in_padding_position_empties() {
        assert_eq!(dec(b"QUJD9"), b"");
        assert_eq!(dec(b"QUJDQ"), b"ABC");
    }
}
