//! `t:urlEncode`: percent-encodes every byte except ASCII letters, digits
//! and `*`, as libmodsecurity 3; a space becomes `+` and escapes use
//! lower-case hex (`a-b c` -> `a%2db+c`).
//!
//! ```text
//! SecRule ARGS:q "@contains %3cscript" "id:134,phase:2,t:urlEncode,deny"
//! ```
//!
//! Must not: leave `-`, `.`, `_` or `~` unencoded; ModSecurity encodes
//! them.

use std::borrow::Cow;

use super::c_locale::LOWER_HEX;

#[inline]
fn kept(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'*'
}

pub(crate) fn url_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| !kept(b)) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len() + 2 * (input.len() - start));
    out.extend_from_slice(&input[..start]);
    for &b in &input[start..] {
        if b == b' ' {
            out.push(b'+');
        } else if kept(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                LOWER_HEX[usize::from(b >> 4)],
                LOWER_HEX[usize::from(b & 0x0f)],
            ]);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_all_but_alnum_and_star() {
        assert_eq!(&*url_encode(b"a-b c*~\0\xff"), b"a%2db+c*%7e%00%ff");
        assert!(matches!(url_encode(b"Az09*"), Cow::Borrowed(_)));
    }
}
