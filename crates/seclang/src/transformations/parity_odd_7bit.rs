//! `t:parityOdd7bit`: sets or clears bit 7 of every byte so that the byte
//! has an odd number of 1 bits.
//!
//! As in ModSecurity, the parity is computed over all eight bits of the
//! input byte: a byte with odd parity gets bit 7 cleared, one with even
//! parity gets it set (`c` 0x63 -> 0xe3, `\0` -> 0x80).
//!
//! ```text
//! SecRule ARGS "@rx \xe3md" "id:119,phase:2,t:parityOdd7bit,deny"
//! ```
//!
//! Must not: look at more than one byte at a time.

use std::borrow::Cow;

use super::parity_even_7bit::odd_parity;
use super::rewrite::Rewrite;

pub(crate) fn parity_odd_7bit(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Rewrite::new(input, 0);
    for &b in input {
        out.push(if odd_parity(b) { b & 0x7f } else { b | 0x80 });
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_over_eight_bits() {
        assert_eq!(&*parity_odd_7bit(b"abc\0"), b"ab\xe3\x80");
        assert_eq!(&*parity_odd_7bit(b"\xe3\x80"), b"\x63\x00");
    }
}
