//! Leak prevention: find card numbers in text (response bodies, log
//! lines) and mask them.
//!
//! A card number is 12 to 19 digits, written plain (`4111111111111111`),
//! in groups separated by single spaces or dashes (`4111 1111 1111 1111`,
//! `4111-1111-1111-1111`), that passes the Luhn check AND falls in a known
//! issuer range with a length that issuer uses. Digits glued to letters or
//! to longer digit runs are not taken (an order id, a timestamp). Tokens
//! fail the Luhn check, so they are never reported.

use std::borrow::Cow;
use std::fmt;

/// True when ASCII `digits` pass the Luhn check.
fn luhn_valid(digits: &[u8]) -> bool {
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
    sum.is_multiple_of(10)
}

/// The card scheme an issuer range belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    Diners,
    UnionPay,
}

impl fmt::Display for Brand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::Jcb => "jcb",
            Brand::Diners => "diners",
            Brand::UnionPay => "unionpay",
        })
    }
}

/// The scheme whose issuer ranges and lengths `digits` fits, if any.
pub fn brand(digits: &[u8]) -> Option<Brand> {
    let n = digits.len();
    let prefix = |k: usize| -> u32 {
        digits[..k.min(n)]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
    if p1 == 4 && matches!(n, 13 | 16 | 19) {
        return Some(Brand::Visa);
    }
    if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16 {
        return Some(Brand::Mastercard);
    }
    if (p2 == 34 || p2 == 37) && n == 15 {
        return Some(Brand::Amex);
    }
    if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6))
        && (16..=19).contains(&n)
    {
        return Some(Brand::Discover);
    }
    if (3528..=3589).contains(&p4) && (16..=19).contains(&n) {
        return Some(Brand::Jcb);
    }
    if ((300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
        && (14..=19).contains(&n)
    {
        return Some(Brand::Diners);
    }
    if p2 == 62 && (16..=19).contains(&n) {
        return Some(Brand::UnionPay);
    }
    None
}

/// A card number found in text: its byte range (separators included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub brand: Brand,
}

/// Every card number in `text`, in order, not overlapping.
pub fn find_cards(text: &str) -> Vec<Finding> {
    find_cards_in_bytes(text.as_bytes())
}

/// Every card number in raw bytes (a response body in any ASCII-compatible
/// encoding), in order, not overlapping.
pub fn find_cards_in_bytes(b: &[u8]) -> Vec<Finding> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && (b[i - 1].is_ascii_alphanumeric())) {
            i += 1;
            continue;
        }
        // Walk a run of digits with single separators between groups,
        // noting where groups end.
        let mut digits: Vec<u8> = Vec::with_capacity(19);
        let mut ends: Vec<(usize, usize)> = Vec::new(); // (digit count, byte end)
        let mut j = i;
        while j < b.len() {
            if b[j].is_ascii_digit() {
                digits.push(b[j]);
                j += 1;
                if digits.len() > 19 + 19 {
                    break;
                }
            } else if (b[j] == b' ' || b[j] == b'-')
                && j + 1 < b.len()
                && b[j + 1].is_ascii_digit()
                && j > i
            {
                ends.push((digits.len(), j));
                j += 1;
            } else {
                break;
            }
        }
        let glued = j < b.len() && b[j].is_ascii_alphabetic();
        if !glued {
            ends.push((digits.len(), j));
        }
        // The longest group-aligned prefix that is a card.
        let hit = ends.iter().rev().find(|(n, _)| {
            (12..=19).contains(n) && luhn_valid(&digits[..*n]) && brand(&digits[..*n]).is_some()
        });
        match hit {
            Some(&(n, end)) => {
                found.push(Finding {
                    start: i,
                    end,
                    brand: brand(&digits[..n]).expect("checked"),
                });
                i = end;
            }
            None => {
                // Skip this run's first group: a card cannot start inside it.
                let mut k = i;
                while k < b.len() && b[k].is_ascii_digit() {
                    k += 1;
                }
                i = k;
            }
        }
    }
    found
}

/// `text` with every card number's digits but the last four replaced by
/// `*` (separators kept), and how many were masked.
pub fn mask_cards(text: &str) -> (Cow<'_, str>, usize) {
    match mask_cards_in_bytes(text.as_bytes()) {
        (Cow::Borrowed(_), _) => (Cow::Borrowed(text), 0),
        (Cow::Owned(bytes), n) => (
            Cow::Owned(String::from_utf8(bytes).expect("only ASCII digits were replaced by ASCII")),
            n,
        ),
    }
}

/// [`mask_cards`] for raw bytes.
pub fn mask_cards_in_bytes(bytes: &[u8]) -> (Cow<'_, [u8]>, usize) {
    let found = find_cards_in_bytes(bytes);
    if found.is_empty() {
        return (Cow::Borrowed(bytes), 0);
    }
    let mut out = bytes.to_vec();
    for f in &found {
        let digit_positions: Vec<usize> = (f.start..f.end)
            .filter(|&k| out[k].is_ascii_digit())
            .collect();
        for &k in &digit_positions[..digit_positions.len() - 4] {
            out[k] = b'*';
        }
    }
    (Cow::Owned(out), found.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (text, expected masked text, brands found)
    const CASES: &[(&str, &str, &[Brand])] = &[
        ("4111111111111111", "************1111", &[Brand::Visa]),
        (
            "card 4111 1111 1111 1111 ok",
            "card **** **** **** 1111 ok",
            &[Brand::Visa],
        ),
        ("4111-1111-1111-1111", "****-****-****-1111", &[Brand::Visa]),
        ("4222222222222", "*********2222", &[Brand::Visa]),
        ("5555555555554444", "************4444", &[Brand::Mastercard]),
        ("2223003122003222", "************3222", &[Brand::Mastercard]),
        ("2720992593319364", "************9364", &[Brand::Mastercard]),
        ("378282246310005", "***********0005", &[Brand::Amex]),
        ("3714 496353 98431", "**** ****** *8431", &[Brand::Amex]),
        ("6011111111111117", "************1117", &[Brand::Discover]),
        ("6445644564456445", "************6445", &[Brand::Discover]),
        ("3530111333300000", "************0000", &[Brand::Jcb]),
        ("30569309025904", "**********5904", &[Brand::Diners]),
        ("36227206271667", "**********1667", &[Brand::Diners]),
        ("6200000000000005", "************0005", &[Brand::UnionPay]),
        (
            "a=4111111111111111&b=5555555555554444",
            "a=************1111&b=************4444",
            &[Brand::Visa, Brand::Mastercard],
        ),
        (
            "{\"pan\":\"4111111111111111\",\"exp\":\"12/29\"}",
            "{\"pan\":\"************1111\",\"exp\":\"12/29\"}",
            &[Brand::Visa],
        ),
        (
            "4111111111111111 12 29",
            "************1111 12 29",
            &[Brand::Visa],
        ),
        // Not cards: Luhn fails, unknown range, wrong length, glued to
        // letters or to a longer run, tokens.
        ("4111111111111112", "4111111111111112", &[]),
        ("1234567812345670", "1234567812345670", &[]),
        ("41111111111111111", "41111111111111111", &[]),
        ("order4111111111111111", "order4111111111111111", &[]),
        ("4111111111111111x", "4111111111111111x", &[]),
        ("994111111111111111", "994111111111111111", &[]),
        ("4111110000001112", "4111110000001112", &[]),
        (
            "5105105105105100 5",
            "************5100 5",
            &[Brand::Mastercard],
        ),
        ("tel 0049 30 1234567", "tel 0049 30 1234567", &[]),
        ("2026-11-25 19:02:47", "2026-11-25 19:02:47", &[]),
        ("4111  1111 1111 1111", "4111  1111 1111 1111", &[]),
    ];

    #[test]
    fn table() {
        for (text, masked, brands) in CASES {
            let found = find_cards(text);
            let got: Vec<Brand> = found.iter().map(|f| f.brand).collect();
            assert_eq!(&got, brands, "{text}");
            let (m, n) = mask_cards(text);
            assert_eq!(m, *masked, "{text}");
            assert_eq!(n, brands.len(), "{text}");
            let (mb, nb) = mask_cards_in_bytes(text.as_bytes());
            assert_eq!((&*mb, nb), (masked.as_bytes(), brands.len()), "{text}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_scanned_too() {
        let body = b"\xff\xfe card=4111111111111111 \x80";
        let (masked, n) = mask_cards_in_bytes(body);
        assert_eq!(n, 1);
        assert_eq!(&*masked, b"\xff\xfe card=************1111 \x80");
    }
}
