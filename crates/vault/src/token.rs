//! Tokens: what the store keeps instead of a card number.
//!
//! A token has as many digits as the card number, so that a shop's field
//! validation accepts it; it keeps the first six digits (BIN) and the last
//! four if so configured, the rest is random, and it always FAILS the Luhn
//! check, so that a token can never pass for a card (and a card never for
//! a token). Uniqueness is enforced by the database (the token is the
//! primary key); a colliding token is drawn again.

use std::fmt;

use crate::card::{luhn_sum, Pan};
use crate::VaultError;

/// Which parts of the card number a token keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenFormat {
    pub keep_bin: bool,
    pub keep_last4: bool,
}

impl Default for TokenFormat {
    fn default() -> Self {
        TokenFormat {
            keep_bin: true,
            keep_last4: true,
        }
    }
}

impl TokenFormat {
    /// Parses `bin,last4`, `bin`, `last4` or `none`.
    pub fn parse(text: &str) -> Result<TokenFormat, String> {
        let mut f = TokenFormat {
            keep_bin: false,
            keep_last4: false,
        };
        for part in text.split(',').map(str::trim) {
            match part {
                "bin" => f.keep_bin = true,
                "last4" => f.keep_last4 = true,
                "none" | "" => {}
                other => {
                    return Err(format!(
                        "unknown token part {other:?} (expected bin, last4 or none)"
                    ))
                }
            }
        }
        Ok(f)
    }

    /// Draws a token for `pan` from `random` bytes (consumed as needed;
    /// `None` when they ran out).
    pub(crate) fn draw(&self, pan: &Pan, random: &mut impl Iterator<Item = u8>) -> Option<Token> {
        let digits = pan.digits().as_bytes();
        let n = digits.len();
        let head = if self.keep_bin { 6 } else { 0 };
        let tail = if self.keep_last4 { 4 } else { 0 };
        let mut out = Vec::with_capacity(n);
        out.extend_from_slice(&digits[..head]);
        for _ in head..n - tail {
            // Rejection sampling: bytes 250..=255 would bias the digits.
            let d = loop {
                let b = random.next()?;
                if b < 250 {
                    break b % 10;
                }
            };
            out.push(b'0' + d);
        }
        out.extend_from_slice(&digits[n - tail..]);
        if luhn_sum(&out).is_multiple_of(10) {
            // Changing one digit always changes the Luhn sum mod 10 (the
            // doubling map is a bijection on digits), so the token fails.
            let i = n - tail - 1;
            out[i] = b'0' + (out[i] - b'0' + 1) % 10;
        }
        // A leading zero is legal in a token; all bytes are ASCII digits.
        Some(Token(String::from_utf8(out).ok()?))
    }
}

/// A token standing for a stored card. Not a secret (it is what the store
/// keeps), but it is only as long as the card data it points to.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(String);

impl Token {
    /// Parses a token as a client passes it back: digits (spaces and
    /// dashes allowed), failing the Luhn check.
    pub fn parse(text: &str) -> Result<Token, VaultError> {
        let digits: String = text
            .trim()
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VaultError::InvalidToken(
                "a token is 12 to 19 digits".to_string(),
            ));
        }
        if luhn_sum(digits.as_bytes()).is_multiple_of(10) {
            // A Luhn-valid number is a card, never a token: refuse it
            // without echoing it.
            return Err(VaultError::InvalidToken(
                "this is a card number, not a token (it passes the Luhn check)".to_string(),
            ));
        }
        Ok(Token(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_stored(s: String) -> Token {
        Token(s)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::luhn_valid;

    fn rand_bytes(seed: u64) -> impl Iterator<Item = u8> {
        // A simple xorshift stream: enough to exercise every digit.
        let mut s = seed | 1;
        std::iter::from_fn(move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            Some(s as u8)
        })
    }

    #[test]
    fn tokens_keep_what_is_configured_and_always_fail_luhn() {
        let pans = [
            "4111111111111111",
            "378282246310005",
            "5555555555554444",
            "6011000990139424",
            "30569309025904",
            "4222222222222",
        ];
        let formats = [
            TokenFormat::default(),
            TokenFormat {
                keep_bin: false,
                keep_last4: true,
            },
            TokenFormat {
                keep_bin: true,
                keep_last4: false,
            },
            TokenFormat {
                keep_bin: false,
                keep_last4: false,
            },
        ];
        let mut random = rand_bytes(7);
        for p in pans {
            let pan = Pan::parse(p).unwrap();
            for f in formats {
                for _ in 0..500 {
                    let t = f.draw(&pan, &mut random).unwrap();
                    let s = t.as_str();
                    assert_eq!(s.len(), p.len());
                    assert!(!luhn_valid(s.as_bytes()), "{s} passes Luhn");
                    assert_ne!(s, p);
                    if f.keep_bin {
                        assert_eq!(&s[..6], &p[..6]);
                    }
                    if f.keep_last4 {
                        assert_eq!(&s[s.len() - 4..], &p[p.len() - 4..]);
                    }
                    assert_eq!(Token::parse(s).unwrap(), t);
                }
            }
        }
    }

    #[test]
    fn the_random_middle_varies() {
        let pan = Pan::parse("4111111111111111").unwrap();
        let mut random = rand_bytes(3);
        let tokens: std::collections::HashSet<String> = (0..1000)
            .map(|_| {
                TokenFormat::default()
                    .draw(&pan, &mut random)
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(tokens.len() > 990, "{}", tokens.len());
    }

    #[test]
    fn running_out_of_randomness_is_none_not_a_weak_token() {
        let pan = Pan::parse("4111111111111111").unwrap();
        assert!(TokenFormat::default()
            .draw(&pan, &mut [1u8, 2].into_iter())
            .is_none());
    }

    #[test]
    fn card_numbers_are_refused_as_tokens() {
        let e = Token::parse("4111111111111111").unwrap_err().to_string();
        assert!(e.contains("card number") && !e.contains("4111"), "{e}");
        assert!(Token::parse("abc").is_err());
    }

    #[test]
    fn formats_parse() {
        assert_eq!(
            TokenFormat::parse("bin,last4").unwrap(),
            TokenFormat::default()
        );
        assert_eq!(
            TokenFormat::parse("none").unwrap(),
            TokenFormat {
                keep_bin: false,
                keep_last4: false
            }
        );
        assert!(TokenFormat::parse("bin,middle").is_err());
    }
}
