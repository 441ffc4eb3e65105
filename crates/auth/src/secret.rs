//! Random values and their stored forms: session ids, CSRF tokens,
//! recovery codes, TOTP secrets. Owns: the CSPRNG calls, SHA-256 digests
//! of what is stored instead of a secret, constant-time comparison. Must
//! not: format a secret in `Debug` output.

use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

/// `n` bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // SystemRandom reads getrandom(2); it fails only if the kernel has no
    // entropy source at all, where nothing secure can be done.
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the operating system's random number generator failed");
    buf
}

/// A URL- and cookie-safe random token of `n` bytes (base64url).
pub(crate) fn random_token(n: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// Lower-case hex SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut s = String::with_capacity(64);
    for b in d.as_ref() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Constant-time equality of two secrets.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A secret string (session token, TOTP secret, recovery code, generated
/// password) that prints as `[redacted]` in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that must show or send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A random recovery code: ten characters of an unambiguous alphabet in
/// two groups, `k7m2p-x9q4t` (about 50 bits).
pub(crate) fn recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes = random_bytes(10);
    let mut s = String::with_capacity(11);
    for (i, b) in bytes.iter().enumerate() {
        if i == 5 {
            s.push('-');
        }
        // 31 symbols: the modulo bias (256 % 31 = 8) costs < 0.1 bit per symbol.
        s.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
    }
    s
}

/// The canonical form of a recovery code as typed (case, spaces, dashes).
pub(crate) fn normalize_recovery_code(code: &str) -> String {
    let clean: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if clean.len() == 10 {
        format!("{}-{}", &clean[..5], &clean[5..])
    } else {
        clean
    }
}

/// A password of 20 random characters, for accounts created without one.
pub(crate) fn random_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789";
    random_bytes(20)
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_redacted() {
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(random_token(32).len(), 43);
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
    }

    #[test]
    fn recovery_codes_normalize() {
        let c = recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(
            normalize_recovery_code(&c.to_uppercase().replace('-', " ")),
            c
        );
    }
}
