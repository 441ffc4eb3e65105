//! Random secrets (session ids, CSRF tokens, salts, payment references) and
//! their constant-time comparison.
//!
//! Must not: log or format the secrets it makes.

use subtle::ConstantTimeEq;

/// `bytes` random bytes from the OS generator, hex-encoded.
///
/// The OS generator failing means the machine cannot make secrets at all;
/// the shop refuses to continue rather than hand out guessable ids.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    let mut out = String::with_capacity(bytes * 2);
    for b in buf {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Fill `buf` from the OS generator.
pub(crate) fn fill_random(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Compare two secrets without leaking, through timing, where they differ.
pub(crate) fn secrets_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `text` has the shape of a value made by [`random_hex`] of
/// `bytes` bytes (checked before any lookup).
pub(crate) fn is_hex_secret(text: &str, bytes: usize) -> bool {
    text.len() == bytes * 2 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_the_right_shape_and_varies() {
        let a = random_hex(32);
        let b = random_hex(32);
        assert!(is_hex_secret(&a, 32));
        assert_ne!(a, b);
    }

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(secrets_match("abc", "abc"));
        assert!(!secrets_match("abc", "abd"));
        assert!(!secrets_match("abc", "abcd"));
    }
}
