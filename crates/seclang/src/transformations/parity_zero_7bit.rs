//! `t:parityZero7bit`: clears bit 7 of every byte (0xc3 -> `C`).
//!
//! ```text
//! SecRule ARGS "@contains admin" "id:120,phase:2,t:parityZero7bit,deny"
//! ```
//!
//! Must not: change bits 0 to 6.

use std::borrow::Cow;

pub(crate) fn parity_zero_7bit(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| b >= 0x80) else {
        return Cow::Borrowed(input);
    };
    let mut out = input.to_vec();
    for b in &mut out[start..] {
        *b &= 0x7f;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clears_high_bit() {
        assert_eq!(&*parity_zero_7bit(b"\xc2\x80\0\xc3\xbf"), b"B\0\0C?");
        assert!(matches!(parity_zero_7bit(b"abc"), Cow::Borrowed(_)));
    }
}
