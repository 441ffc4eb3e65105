//! Password hashing for customers and staff: Argon2id (RustCrypto's
//! `argon2` defaults, PHC strings), run off the async threads.
//!
//! Must not: log, store or compare passwords in clear; it only turns them
//! into PHC strings and checks them against one.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::secret::fill_random;

/// Hash `password` into a PHC string (`$argon2id$v=19$...`).
pub(crate) fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("password salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub(crate) fn password_matches(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// [`password_matches`] on a blocking thread (Argon2 takes tens of
/// milliseconds by design).
pub(crate) async fn verify_off_thread(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || password_matches(&password, &phc))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(password_matches("correct horse", &a));
        assert!(!password_matches("wrong horse", &a));
        assert!(!password_matches("correct horse", "not a hash"));
    }
}
