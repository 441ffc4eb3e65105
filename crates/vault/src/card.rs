//! Card data as the vault receives it: the card number (PAN), expiry,
//! holder name, and the security code (CVV). Every type here wipes its
//! bytes when dropped and prints as `[redacted]` through `Debug`; error
//! messages never quote a card number.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::VaultError;

/// The Luhn (mod 10) check over ASCII digits.
pub fn luhn_valid(digits: &[u8]) -> bool {
    luhn_sum(digits).is_multiple_of(10)
}

/// The Luhn sum of ASCII digits (rightmost digit undoubled).
pub(crate) fn luhn_sum(digits: &[u8]) -> u32 {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum
}

/// A primary account number: 12 to 19 digits that pass the Luhn check.
#[derive(Clone)]
pub struct Pan(Zeroizing<String>);

impl Pan {
    /// Parses a card number; spaces and dashes between digits are allowed.
    pub fn parse(text: &str) -> Result<Pan, VaultError> {
        let mut digits = Zeroizing::new(String::with_capacity(19));
        for c in text.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => {
                    return Err(VaultError::InvalidCard(
                        "the card number has a character that is not a digit",
                    ))
                }
            }
        }
        if !(12..=19).contains(&digits.len()) {
            return Err(VaultError::InvalidCard(
                "the card number must have 12 to 19 digits",
            ));
        }
        if !luhn_valid(digits.as_bytes()) {
            return Err(VaultError::InvalidCard(
                "the card number fails the Luhn check",
            ));
        }
        Ok(Pan(digits))
    }

    /// The digits (a secret: never log it).
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// The issuer identification number (first six digits), not secret.
    pub fn bin(&self) -> &str {
        &self.0[..6]
    }

    /// The last four digits, not secret.
    pub fn last4(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({}******{})", self.bin(), self.last4())
    }
}

/// A card's expiry month and year (four-digit year).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub month: u8,
    pub year: u16,
}

impl Expiry {
    /// Parses `MM/YY`, `MM/YYYY`, `MMYY` or `MM-YY`.
    pub fn parse(text: &str) -> Result<Expiry, VaultError> {
        let bad = || VaultError::InvalidCard("the expiry must be MM/YY or MM/YYYY");
        let t = text.trim();
        let (m, y) = match t.split_once(['/', '-']) {
            Some((m, y)) => (m.trim(), y.trim()),
            None if t.len() == 4 => t.split_at(2),
            None => return Err(bad()),
        };
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) || m.len() > 2 {
            return Err(bad());
        }
        if !y.bytes().all(|b| b.is_ascii_digit()) || !(y.len() == 2 || y.len() == 4) {
            return Err(bad());
        }
        let month: u8 = m.parse().map_err(|_| bad())?;
        let mut year: u16 = y.parse().map_err(|_| bad())?;
        if y.len() == 2 {
            year += 2000;
        }
        if !(1..=12).contains(&month) {
            return Err(VaultError::InvalidCard("the expiry month must be 01 to 12"));
        }
        Ok(Expiry { month, year })
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}/{:02}", self.month, self.year % 100)
    }
}

impl fmt::Debug for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Expiry([redacted])")
    }
}

/// A card: number, expiry and holder name. Wiped from memory on drop.
#[derive(Clone)]
pub struct Card {
    pub pan: Pan,
    pub expiry: Option<Expiry>,
    pub holder: Option<Zeroizing<String>>,
}

impl Card {
    pub fn new(pan: Pan, expiry: Option<Expiry>, holder: Option<&str>) -> Result<Card, VaultError> {
        let holder = match holder.map(str::trim) {
            None | Some("") => None,
            Some(h) if h.len() > 200 => {
                return Err(VaultError::InvalidCard(
                    "the holder name is longer than 200 bytes",
                ))
            }
            Some(h) if h.chars().any(char::is_control) => {
                return Err(VaultError::InvalidCard(
                    "the holder name has a control character",
                ))
            }
            Some(h) => Some(Zeroizing::new(h.to_string())),
        };
        Ok(Card {
            pan,
            expiry,
            holder,
        })
    }

    /// Parses one card line: `PAN|EXPIRY|HOLDER` (fields separated by `|`
    /// or a tab; expiry and holder may be left out or empty).
    pub fn parse_line(line: &str) -> Result<Card, VaultError> {
        let mut fields = line.split(['|', '\t']);
        let pan = Pan::parse(fields.next().unwrap_or(""))?;
        let expiry = match fields.next().map(str::trim) {
            None | Some("") => None,
            Some(e) => Some(Expiry::parse(e)?),
        };
        let holder = fields.next();
        if fields.next().is_some() {
            return Err(VaultError::InvalidCard(
                "a card line has at most three fields: number|expiry|holder",
            ));
        }
        Card::new(pan, expiry, holder)
    }

    /// The card as one line `PAN|MM/YY|HOLDER` (a secret: wiped on drop).
    pub fn to_line(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(64));
        s.push_str(self.pan.digits());
        s.push('|');
        if let Some(e) = self.expiry {
            s.push_str(&e.to_string());
        }
        s.push('|');
        if let Some(h) = &self.holder {
            s.push_str(h);
        }
        s
    }

    /// The record's plaintext: version 1, then length-prefixed fields.
    pub(crate) fn encode(&self) -> Zeroizing<Vec<u8>> {
        let pan = self.pan.digits().as_bytes();
        let holder = self.holder.as_deref().map(String::as_bytes).unwrap_or(b"");
        let mut out = Zeroizing::new(Vec::with_capacity(8 + pan.len() + holder.len()));
        out.push(1);
        out.push(pan.len() as u8);
        out.extend_from_slice(pan);
        match self.expiry {
            Some(e) => {
                out.push(e.month);
                out.extend_from_slice(&e.year.to_be_bytes());
            }
            None => out.extend_from_slice(&[0, 0, 0]),
        }
        out.extend_from_slice(holder);
        out
    }

    /// The inverse of [`Card::encode`].
    pub(crate) fn decode(bytes: &[u8]) -> Option<Card> {
        let (&version, rest) = bytes.split_first()?;
        if version != 1 {
            return None;
        }
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if rest.len() < len + 3 {
            return None;
        }
        let pan = Pan::parse(std::str::from_utf8(&rest[..len]).ok()?).ok()?;
        let month = rest[len];
        let year = u16::from_be_bytes([rest[len + 1], rest[len + 2]]);
        let expiry = (month != 0).then_some(Expiry { month, year });
        let holder = std::str::from_utf8(&rest[len + 3..]).ok()?;
        Card::new(pan, expiry, Some(holder)).ok()
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("pan", &self.pan)
            .field("expiry", &self.expiry)
            .field("holder", &self.holder.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A card security code (CVV/CVC): 3 or 4 digits, never stored.
pub struct Cvv(Zeroizing<String>);

impl Cvv {
    pub fn parse(text: &str) -> Result<Cvv, VaultError> {
        let t = text.trim();
        if !(3..=4).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VaultError::InvalidCard(
                "the security code must be 3 or 4 digits",
            ));
        }
        Ok(Cvv(Zeroizing::new(t.to_string())))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cvv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cvv([redacted])")
    }
}

impl Drop for Cvv {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(luhn_valid(b"378282246310005"));
        assert!(!luhn_valid(b"4111111111111112"));
    }

    #[test]
    fn pans_parse_with_separators_and_fail_without_quoting_the_number() {
        assert_eq!(
            Pan::parse("4111 1111-1111 1111").unwrap().digits(),
            "4111111111111111"
        );
        let e = Pan::parse("4111111111111112").unwrap_err().to_string();
        assert!(e.contains("Luhn") && !e.contains("4111"), "{e}");
        assert!(Pan::parse("4111x111111111111").is_err());
        assert!(Pan::parse("42").is_err());
        assert!(Pan::parse("41111111111111111111").is_err());
    }

    #[test]
    fn debug_never_shows_the_middle_digits_or_the_name() {
        let c = Card::parse_line("4111111111111111|12/29|Jane Doe").unwrap();
        let d = format!("{c:?}");
        assert!(
            !d.contains("4111111111111111") && !d.contains("Jane") && !d.contains("29"),
            "{d}"
        );
        assert!(d.contains("411111******1111"));
        assert_eq!(
            format!("{:?}", Cvv::parse("123").unwrap()),
            "Cvv([redacted])"
        );
    }

    #[test]
    fn expiry_forms() {
        for (t, m, y) in [
            ("12/29", 12, 2029),
            ("01/2031", 1, 2031),
            ("0728", 7, 2028),
            ("3-27", 3, 2027),
        ] {
            let e = Expiry::parse(t).unwrap();
            assert_eq!((e.month, e.year), (m, y), "{t}");
        }
        for t in ["13/29", "00/29", "1229x", "12/299", "", "ab/cd"] {
            assert!(Expiry::parse(t).is_err(), "{t}");
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        for line in [
            "4111111111111111|12/29|Jane Doe",
            "378282246310005||",
            "5555555555554444|01/31|",
        ] {
            let c = Card::parse_line(line).unwrap();
            let back = Card::decode(&c.encode()).unwrap();
            assert_eq!(back.to_line().as_str(), c.to_line().as_str());
        }
        assert!(Card::decode(&[2, 0]).is_none());
        assert!(Card::decode(&[1, 16, b'4']).is_none());
    }

    #[test]
    fn card_lines() {
        let c = Card::parse_line("4111 1111 1111 1111\t12/29\tJane Doe").unwrap();
        assert_eq!(c.to_line().as_str(), "4111111111111111|12/29|Jane Doe");
        assert!(Card::parse_line("4111111111111111|12/29|a|b").is_err());
        assert!(Card::parse_line("4111111111111111|99/29|a").is_err());
    }
}
