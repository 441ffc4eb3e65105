//! Envelope encryption of one record.
//!
//! Each record gets its own random 256-bit data key (DEK). The card is
//! sealed with AES-256-GCM under the DEK; the DEK is sealed (wrapped) with
//! AES-256-GCM under a key-encryption key (KEK). The additional
//! authenticated data binds the sealed card to its token, and the wrapped
//! DEK to its token and KEK version, so a record moved to another token or
//! relabelled with another key version fails to open. Rotation re-wraps
//! the DEK only; the sealed card is untouched.
//!
//! Layouts: `wrapped = nonce(12) || GCM(KEK, DEK)(32+16)`,
//! `sealed = nonce(12) || GCM(DEK, card)(n+16)`.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::card::Card;
use crate::keys::Kek;
use crate::token::Token;
use crate::VaultError;

/// Random bytes drawn from the system generator in blocks (one system
/// call per few hundred records), wiped when dropped.
pub(crate) struct Entropy {
    rng: SystemRandom,
    pool: Zeroizing<Vec<u8>>,
    at: usize,
}

impl Entropy {
    pub(crate) fn new() -> Entropy {
        Entropy {
            rng: SystemRandom::new(),
            pool: Zeroizing::new(vec![0u8; 16 * 1024]),
            at: usize::MAX,
        }
    }

    /// Fills `out` with fresh random bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) -> Result<(), VaultError> {
        if self.at.saturating_add(out.len()) > self.pool.len() {
            self.rng
                .fill(&mut self.pool)
                .map_err(|_| VaultError::Crypto("the system random generator failed"))?;
            self.at = 0;
        }
        out.copy_from_slice(&self.pool[self.at..self.at + out.len()]);
        // Each byte is handed out once.
        self.pool[self.at..self.at + out.len()].fill(0);
        self.at += out.len();
        Ok(())
    }

    /// A stream of random bytes (for drawing token digits).
    pub(crate) fn bytes(&mut self) -> impl Iterator<Item = u8> + '_ {
        std::iter::from_fn(move || {
            let mut b = [0u8];
            self.fill(&mut b).ok().map(|_| b[0])
        })
    }
}

fn record_aad(token: &Token) -> Vec<u8> {
    let mut aad = b"rampart vault record v1\0".to_vec();
    aad.extend_from_slice(token.as_str().as_bytes());
    aad
}

fn wrap_aad(token: &Token, version: u32) -> Vec<u8> {
    let mut aad = b"rampart vault dek v1\0".to_vec();
    aad.extend_from_slice(token.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn seal_with(
    key: &LessSafeKey,
    entropy: &mut Entropy,
    aad: &[u8],
    plain: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let mut nonce = [0u8; NONCE_LEN];
    entropy.fill(&mut nonce)?;
    let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let mut body = out.split_off(NONCE_LEN);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut body,
    )
    .map_err(|_| VaultError::Crypto("encryption failed"))?;
    out.append(&mut body);
    Ok(out)
}

/// Opens `nonce || ciphertext || tag` into a wiped-on-drop buffer.
fn open_with(key: &LessSafeKey, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + 16 {
        return None;
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
    let mut buf = Zeroizing::new(sealed[NONCE_LEN..].to_vec());
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// A sealed record: the wrapped data key and the sealed card.
pub(crate) struct Sealed {
    pub wrapped_key: Vec<u8>,
    pub sealed: Vec<u8>,
}

/// Seals `card` for `token` under a fresh data key wrapped by `kek`.
pub(crate) fn seal(
    card: &Card,
    token: &Token,
    kek: &Kek,
    entropy: &mut Entropy,
) -> Result<Sealed, VaultError> {
    let mut dek = Zeroizing::new([0u8; 32]);
    entropy.fill(dek.as_mut())?;
    let data_key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, dek.as_ref())
            .map_err(|_| VaultError::Crypto("bad data key length"))?,
    );
    let sealed = seal_with(&data_key, entropy, &record_aad(token), &card.encode())?;
    let wrapped_key = seal_with(
        &kek.aead,
        entropy,
        &wrap_aad(token, kek.version),
        dek.as_ref(),
    )?;
    Ok(Sealed {
        wrapped_key,
        sealed,
    })
}

/// Unwraps a record's data key (KEK `kek`, whose version the record names).
fn unwrap_dek(token: &Token, kek: &Kek, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    open_with(&kek.aead, &wrap_aad(token, kek.version), wrapped)
        .filter(|dek| dek.len() == 32)
        .ok_or_else(|| VaultError::Tampered(token.clone()))
}

/// Opens a record. Any mismatch (tampered bytes, record moved to another
/// token or key version) is [`VaultError::Tampered`]; nothing partial is
/// returned.
pub(crate) fn open(
    token: &Token,
    kek: &Kek,
    wrapped: &[u8],
    sealed: &[u8],
) -> Result<Card, VaultError> {
    let dek = unwrap_dek(token, kek, wrapped)?;
    let data_key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &dek).map_err(|_| VaultError::Tampered(token.clone()))?,
    );
    let plain = open_with(&data_key, &record_aad(token), sealed)
        .ok_or_else(|| VaultError::Tampered(token.clone()))?;
    Card::decode(&plain).ok_or_else(|| VaultError::Tampered(token.clone()))
}

/// Re-wraps a record's data key from `old` to `new`.
pub(crate) fn rewrap(
    token: &Token,
    old: &Kek,
    new: &Kek,
    wrapped: &[u8],
    entropy: &mut Entropy,
) -> Result<Vec<u8>, VaultError> {
    let dek = unwrap_dek(token, old, wrapped)?;
    seal_with(&new.aead, entropy, &wrap_aad(token, new.version), &dek)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyRing;

    fn ring() -> KeyRing {
        KeyRing::parse(
            "kek 1 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\nkek 2 AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
        )
        .unwrap()
    }

    #[test]
    fn round_trip_and_no_plaintext_in_the_output() {
        let ring = ring();
        let mut e = Entropy::new();
        let card = Card::parse_line("4111111111111111|12/29|Jane Doe").unwrap();
        let token = Token::parse("4111110000001112").unwrap();
        let s = seal(&card, &token, ring.active(), &mut e).unwrap();
        let both = [s.wrapped_key.clone(), s.sealed.clone()].concat();
        assert!(!both.windows(16).any(|w| w == b"4111111111111111"));
        let back = open(&token, ring.active(), &s.wrapped_key, &s.sealed).unwrap();
        assert_eq!(back.to_line().as_str(), "4111111111111111|12/29|Jane Doe");
    }

    #[test]
    fn every_bit_flip_and_every_swap_fails_cleanly() {
        let ring = ring();
        let mut e = Entropy::new();
        let card = Card::parse_line("4111111111111111|12/29|Jane Doe").unwrap();
        let token = Token::parse("4111110000001112").unwrap();
        let other = Token::parse("4111110000002112").unwrap();
        let s = seal(&card, &token, ring.kek(2).unwrap(), &mut e).unwrap();
        for i in 0..s.sealed.len() {
            let mut bad = s.sealed.clone();
            bad[i] ^= 0x01;
            assert!(matches!(
                open(&token, ring.kek(2).unwrap(), &s.wrapped_key, &bad),
                Err(VaultError::Tampered(_))
            ));
        }
        for i in 0..s.wrapped_key.len() {
            let mut bad = s.wrapped_key.clone();
            bad[i] ^= 0x80;
            assert!(open(&token, ring.kek(2).unwrap(), &bad, &s.sealed).is_err());
        }
        // Moved to another token, or relabelled as another key version.
        assert!(open(&other, ring.kek(2).unwrap(), &s.wrapped_key, &s.sealed).is_err());
        assert!(open(&token, ring.kek(1).unwrap(), &s.wrapped_key, &s.sealed).is_err());
        assert!(open(
            &token,
            ring.kek(2).unwrap(),
            &s.wrapped_key[..10],
            &s.sealed
        )
        .is_err());
    }

    #[test]
    fn rewrap_moves_to_the_new_key_only() {
        let ring = ring();
        let mut e = Entropy::new();
        let card = Card::parse_line("5555555555554444|01/30|").unwrap();
        let token = Token::parse("5555550000004445").unwrap();
        let s = seal(&card, &token, ring.kek(1).unwrap(), &mut e).unwrap();
        let w = rewrap(
            &token,
            ring.kek(1).unwrap(),
            ring.kek(2).unwrap(),
            &s.wrapped_key,
            &mut e,
        )
        .unwrap();
        assert!(open(&token, ring.kek(1).unwrap(), &w, &s.sealed).is_err());
        let back = open(&token, ring.kek(2).unwrap(), &w, &s.sealed).unwrap();
        assert_eq!(back.pan.digits(), "5555555555554444");
    }
}
