//! Staff passwords: Argon2id hashing with the OWASP parameters and the
//! strength check that refuses weak and common passwords. Owns: the PHC
//! hash strings stored for accounts. Must not: keep or log a password.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (hashing cost and form limits).
pub const MAX_LENGTH: usize = 256;

/// Argon2id with the OWASP Password Storage Cheat Sheet's first
/// configuration: 19 MiB of memory, 2 iterations, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of `password`.
pub fn hash(password: &str) -> String {
    let salt_bytes = crate::secret::random_bytes(16);
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes make a valid salt");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2id hashing cannot fail with valid parameters")
        .to_string()
}

/// Whether `password` matches the stored `phc` string (constant time in
/// the password; a malformed stored hash never matches).
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Refuses a password that is short, overlong, or guessable (zxcvbn score
/// below 3 of 4: dictionary words, common passwords, names, dates,
/// keyboard walks, or the user name itself). The error says why in one
/// line.
pub fn check_strength(password: &str, username: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        return Err(format!(
            "the password is too short: use at least {MIN_LENGTH} characters (a few unrelated words work well)"
        ));
    }
    if password.len() > MAX_LENGTH {
        return Err(format!("the password is longer than {MAX_LENGTH} bytes"));
    }
    let entropy = zxcvbn::zxcvbn(password, &[username, "rampart", "admin", "shop", "store"]);
    if (entropy.score() as u8) < 3 {
        let why = entropy
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string())
            .unwrap_or_else(|| "it would be guessed quickly".to_string());
        return Err(format!(
            "the password is too weak: {} (pick a longer passphrase of unrelated words)",
            why.trim_end_matches('.')
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_owasp_and_verify() {
        let h = hash("correct horse battery staple");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("correct horse battery staple", &h));
        assert!(!verify("correct horse battery stapler", &h));
        assert!(!verify("x", "not a hash"));
        assert_ne!(h, hash("correct horse battery staple"), "salted");
    }

    #[test]
    fn weak_and_common_passwords_are_refused() {
        for weak in [
            "short",
            "password1234",
            "Password123!",
            "qwertyuiop123",
            "alice-alice-alice",
        ] {
            assert!(check_strength(weak, "alice").is_err(), "{weak} accepted");
        }
        assert!(check_strength("velvet otter juggles quartz", "alice").is_ok());
        assert!(check_strength(&"x".repeat(300), "alice").is_err());
    }
}
