//! `@pm`: matches when any of the space-separated phrases occurs in the
//! value, ignoring ASCII case.
//!
//! Argument: phrases separated by white space, compiled once into an
//! Aho-Corasick automaton (see [`phrases`](super::phrases)). The argument
//! is read as ModSecurity v3's `parse_pm_content` reads it: leading spaces
//! and tabs are skipped; one pair of surrounding double quotes is removed;
//! `|hex|` sections give raw bytes (`|0D 0A|` is not valid there: hex
//! digits only, in pairs); `\:`, `\;`, `\\` and `\"` escape those
//! characters. Any other escape or a non-hex byte inside `|...|` makes
//! ModSecurity (and us) fall back to the argument exactly as written.
//!
//! Example: `SecRule REQUEST_HEADERS:Accept-Encoding "@pm gzip compress deflate br zstd" "id:100,phase:1,pass"`
//!
//! Captures: `TX.0` is the matched phrase as written in the rule (not the
//! value's spelling), the first phrase to end in the value.
//!
//! Edge cases: macros are not expanded (as in ModSecurity). An argument
//! with no phrase at all is a load error (ModSecurity builds a matcher that
//! never matches).
//!
//! Must not: allocate unless it captures.

use super::phrases::PhraseSet;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@pm` operator.
#[derive(Debug, Clone)]
pub struct Pm {
    phrases: PhraseSet,
}

impl Pm {
    /// Splits and compiles the phrases.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        let content = parse_content(param.as_bytes());
        let phrases: Vec<Vec<u8>> = content
            .split(|b| is_c_space(*b))
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        if phrases.is_empty() {
            return Err("expected at least one phrase".to_string());
        }
        Ok(Pm {
            phrases: PhraseSet::new(phrases)?,
        })
    }

    /// The compiled phrases.
    pub fn phrases(&self) -> &PhraseSet {
        &self.phrases
    }
}

impl Operator for Pm {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        evaluate_phrases(&self.phrases, cx, input)
    }
}

/// Shared by `@pm` and `@pmFromFile`: match, and store the phrase in
/// `TX.0` when capturing.
pub(crate) fn evaluate_phrases(phrases: &PhraseSet, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
    match cx.captures.as_deref_mut() {
        None => phrases.is_match(input),
        Some(captures) => match phrases.find(input) {
            Some(phrase) => {
                captures.set_single(phrase);
                true
            }
            None => false,
        },
    }
}

/// C's `isspace` in the C locale: what `std::istream >> std::string`
/// splits on.
fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// ModSecurity v3's `parse_pm_content`: quotes, `|hex|` and escapes.
fn parse_content(param: &[u8]) -> Vec<u8> {
    let Some(offset) = param.iter().position(|b| *b != b' ' && *b != b'\t') else {
        return param.to_vec();
    };
    let mut body = &param[offset..];
    if body.len() >= 2 && body[0] == b'"' && body[body.len() - 1] == b'"' {
        body = &body[1..body.len() - 1];
    }
    if body.is_empty() {
        return param.to_vec();
    }
    let mut out = Vec::with_capacity(body.len());
    let (mut in_hex, mut escaped) = (false, false);
    let mut pending_digit: Option<u8> = None;
    for &byte in body {
        if byte == b'|' {
            in_hex = !in_hex;
        } else if !escaped && byte == b'\\' {
            escaped = true;
        } else if in_hex {
            let Some(digit) = char::from(byte).to_digit(16) else {
                return param.to_vec();
            };
            let digit = digit as u8;
            match pending_digit.take() {
                Some(high) => out.push(high << 4 | digit),
                None => pending_digit = Some(digit),
            }
        } else if escaped {
            if !matches!(byte, b':' | b';' | b'\\' | b'"') {
                return param.to_vec();
            }
            out.push(byte);
            escaped = false;
        } else {
            out.push(byte);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_argument_like_modsecurity() {
        assert_eq!(parse_content(b"abc def"), b"abc def");
        assert_eq!(parse_content(b"  \"abc def\""), b"abc def");
        assert_eq!(parse_content(b"a|41|b"), b"aAb");
        assert_eq!(parse_content(b"|3c73|cript"), b"<script");
        assert_eq!(parse_content(b"a\\:b\\\\c"), b"a:b\\c");
        assert_eq!(parse_content(b"a\\nb"), b"a\\nb");
        assert_eq!(parse_content(b"|zz|"), b"|zz|");
        assert_eq!(parse_content(b"   "), b"   ");
    }

    #[test]
    fn empty_argument_is_an_error() {
        assert!(Pm::new("   ", &BuildContext::default()).is_err());
        assert!(Pm::new("", &BuildContext::default()).is_err());
    }
}
