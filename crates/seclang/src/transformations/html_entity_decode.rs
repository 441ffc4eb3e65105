//! `t:htmlEntityDecode`: decodes HTML character references, as
//! libmodsecurity 3 does (after GHSA-cxqf-vgrr-xxrv and issue #3340).
//!
//! Exact behaviour, for `&` followed by:
//! - `#` and decimal digits, or `#x`/`#X` and hex digits: *all* the digits
//!   are read (leading zeros are fine: `&#000000123;` is `{`), their value
//!   is computed like C `strtol` (saturating at 2^63-1) and its low byte
//!   is produced (`&#256;` -> 0x00, `&#x41;` -> `A`).
//! - letters and digits forming one of the named entities below, compared
//!   case-insensitively over the *whole* name (`&ltest;` is not `<`):
//!   `amp apos ast bsol caret colon comma commat dollar equals grave gt
//!   hyphen lbrace lbrack lowbar lpar lt nbsp num percnt period plus quest
//!   quot rbrace rbrack rpar semi sol tilde verbar`; `nbsp` is byte 0xa0.
//!
//! A `;` right after a decoded reference is consumed; it is optional.
//! Anything else is kept as is (`&#xg;`, `&foo;`, a lone `&`).
//!
//! ```text
//! SecRule ARGS "@rx <script" "id:109,phase:2,t:htmlEntityDecode,t:lowercase,deny"
//! ```
//!
//! Must not: produce UTF-8 for code points above 0xff; only the low byte
//! is kept, as in ModSecurity.

use std::borrow::Cow;

use super::c_locale::{is_hex, strtol_low_byte};
use super::rewrite::{run_end, Rewrite};

/// The byte for a named entity, compared case-insensitively.
fn named_entity(name: &[u8]) -> Option<u8> {
    if name.len() > 6 {
        return None;
    }
    let mut lower = [0u8; 6];
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(match &lower[..name.len()] {
        b"amp" => b'&',
        b"apos" => b'\'',
        b"ast" => b'*',
        b"bsol" => b'\\',
        b"caret" => b'^',
        b"colon" => b':',
        b"comma" => b',',
        b"commat" => b'@',
        b"dollar" => b'$',
        b"equals" => b'=',
        b"grave" => b'`',
        b"gt" => b'>',
        b"hyphen" => b'-',
        b"lbrace" => b'{',
        b"lbrack" => b'[',
        b"lowbar" => b'_',
        b"lpar" => b'(',
        b"lt" => b'<',
        b"nbsp" => 0xa0,
        b"num" => b'#',
        b"percnt" => b'%',
        b"period" => b'.',
        b"plus" => b'+',
        b"quest" => b'?',
        b"quot" => b'"',
        b"rbrace" => b'}',
        b"rbrack" => b']',
        b"rpar" => b')',
        b"semi" => b';',
        b"sol" => b'/',
        b"tilde" => b'~',
        b"verbar" => b'|',
        _ => return None,
    })
}

/// Decodes the reference starting at `input[i] == '&'`: the byte and the
/// index after it (and after an optional `;`), or how many bytes to copy
/// unchanged.
fn reference(input: &[u8], i: usize) -> Result<(u8, usize), usize> {
    let len = input.len();
    let mut j = i + 1;
    if j >= len {
        return Err(1);
    }
    let (value, end) = if input[j] == b'#' {
        j += 1;
        if j >= len {
            return Err(2);
        }
        if input[j] == b'x' || input[j] == b'X' {
            j += 1;
            if j >= len {
                return Err(3);
            }
            let k = j;
            while j < len && is_hex(input[j]) {
                j += 1;
            }
            if j == k {
                return Err(3);
            }
            (strtol_low_byte(&input[k..j], 16), j)
        } else {
            let k = j;
            while j < len && input[j].is_ascii_digit() {
                j += 1;
            }
            if j == k {
                return Err(2);
            }
            (strtol_low_byte(&input[k..j], 10), j)
        }
    } else {
        let k = j;
        while j < len && input[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if j == k {
            return Err(1);
        }
        match named_entity(&input[k..j]) {
            Some(b) => (b, j),
            None => return Err(j - k + 1),
        }
    };
    let next = if input.get(end) == Some(&b';') {
        end + 1
    } else {
        end
    };
    Ok((value, next))
}

pub(crate) fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| b == b'&') else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Rewrite::new(input, start);
    let mut i = start;
    while i < len {
        if input[i] != b'&' {
            let end = run_end(input, i, |b| b == b'&');
            out.extend(&input[i..end]);
            i = end;
            continue;
        }
        match reference(input, i) {
            Ok((b, next)) => {
                out.push(b);
                i = next;
            }
            Err(copy) => {
                out.extend(&input[i..i + copy]);
                i += copy;
            }
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &[u8]) -> Vec<u8> {
        html_entity_decode(s).into_owned()
    }

    #[test]
    fn numeric_references() {
        assert_eq!(
            dec(b"&#x24;&#00000000000000000000000000000000000000000000000123;"),
            b"${"
        );
        assert_eq!(dec(b"&#x0&#X20&#32&#100"), b"\0  d");
        assert_eq!(dec(b"&#256;&#x141;"), b"\0A");
        assert_eq!(dec(b"&#99999999999999999999999;"), b"\xff");
        assert_eq!(dec(b"&#xg;&#X2g;&#a;&#10a;"), b"&#xg;\x02g;&#a;\na;");
    }

    #[test]
    fn named_references() {
        assert_eq!(dec(b"&quot&amp;&LT;&Gt&nbsp;"), b"\"&<>\xa0");
        assert_eq!(dec(b"&ltest;&foo;&"), b"&ltest;&foo;&");
        assert_eq!(dec(b"&lpar;&rpar&colon;&sol;"), b"():/");
        assert!(matches!(html_entity_decode(b"a&b"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncated_references() {
        assert_eq!(dec(b"&#"), b"&#");
        assert_eq!(dec(b"&#x"), b"&#x");
        assert_eq!(dec(b"&#x4"), b"\x04");
    }
}
