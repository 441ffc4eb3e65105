//! `t:compressWhitespace`: turns every run of C-locale whitespace
//! (space, `\t`, `\n`, `\v`, `\f`, `\r`) into a single space.
//!
//! Leading and trailing runs are kept as one space each. Unlike
//! ModSecurity 2, libmodsecurity 3 does not treat the non-breaking space
//! (0xa0) as whitespace here, and neither does this.
//!
//! ```text
//! SecRule ARGS "@contains union select" "id:104,phase:2,t:lowercase,t:compressWhitespace,deny"
//! ```
//!
//! Must not: remove whitespace entirely (that is `t:removeWhitespace`).

use std::borrow::Cow;

use super::c_locale::is_space;
use super::rewrite::Rewrite;

pub(crate) fn compress_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    // The first byte that changes: whitespace other than a lone space, or
    // any whitespace right after a space.
    let mut start = None;
    for (i, &b) in input.iter().enumerate() {
        if is_space(b) && (b != b' ' || input.get(i + 1).is_some_and(|&n| is_space(n))) {
            start = Some(i);
            break;
        }
    }
    let Some(start) = start else {
        return Cow::Borrowed(input);
    };
    let mut out = Rewrite::new(input, start);
    let mut in_space = false;
    for &b in &input[start..] {
        if is_space(b) {
            if !in_space {
                in_space = true;
                out.push(b' ');
            }
        } else {
            in_space = false;
            out.push(b);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_runs() {
        assert_eq!(
            &*compress_whitespace(b"  Test  \t   Case  "),
            b" Test Case "
        );
        assert_eq!(&*compress_whitespace(b"a\x0bb"), b"a b");
        assert_eq!(&*compress_whitespace(b"a\xa0\xa0b"), b"a\xa0\xa0b");
        assert!(matches!(compress_whitespace(b"a b c"), Cow::Borrowed(_)));
    }
}
