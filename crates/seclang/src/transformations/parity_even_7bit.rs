//! `t:parityEven7bit`: sets or clears bit 7 of every byte so that the
//! byte has an even number of 1 bits.
//!
//! As in ModSecurity, the parity is computed over all eight bits of the
//! input byte: a byte with odd parity gets bit 7 set, one with even parity
//! gets it cleared (`a` 0x61 -> 0xe1, 0xe1 -> 0x61, 0x80 -> 0x80).
//!
//! ```text
//! SecRule ARGS "@rx \xe1dmin" "id:118,phase:2,t:parityEven7bit,deny"
//! ```
//!
//! Must not: look at more than one byte at a time.

use std::borrow::Cow;

use super::rewrite::Rewrite;

/// True when `b` has an odd number of 1 bits.
#[inline]
pub(super) const fn odd_parity(b: u8) -> bool {
    b.count_ones() % 2 == 1
}

pub(crate) fn parity_even_7bit(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Rewrite::new(input, 0);
    for &b in input {
        out.push(if odd_parity(b) { b | 0x80 } else { b & 0x7f });
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_over_eight_bits() {
        assert_eq!(&*parity_even_7bit(b"abc\0"), b"\xe1\xe2c\0");
        assert_eq!(&*parity_even_7bit(b"\xe1\x80"), b"\x61\x80");
    }
}
