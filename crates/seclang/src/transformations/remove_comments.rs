//! `t:removeComments`: removes C (`/* */`) and HTML (`<!-- -->`) comments
//! and cuts the value at an SQL or shell line comment, byte for byte as
//! libmodsecurity 3.
//!
//! Exact behaviour:
//! - `/*` or `<!--` starts a comment, which ends at `*/` or `-->` (either
//!   closer ends either kind). An unterminated comment becomes one space.
//! - Outside a comment, `--` or `#` ends the value: it and everything
//!   after it are removed.
//! - After a closer, ModSecurity copies the next byte without looking at
//!   it, so a comment opener right after a closer is kept (`/*a*//*b*/`
//!   -> `/*b*/`), and a closer at the very end yields a NUL byte
//!   (`/* x */` -> `\0`): ModSecurity copies the string's terminator.
//!
//! ```text
//! SecRule ARGS "@rx union\s+select" "id:122,phase:2,t:removeComments,deny"
//! ```
//!
//! Must not: replace comments with a space (that is `t:replaceComments`).

use std::borrow::Cow;

use super::rewrite::Rewrite;

pub(crate) fn remove_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let opener = |i: usize| {
        input[i] == b'#'
            || (input[i] == b'/' && input.get(i + 1) == Some(&b'*'))
            || (input[i] == b'<' && input.get(i + 1..i + 4) == Some(b"!--"))
            || (input[i] == b'-' && input.get(i + 1) == Some(&b'-'))
    };
    let Some(start) = (0..len).find(|&i| opener(i)) else {
        return Cow::Borrowed(input);
    };
    // Reads past the end see the C string terminator.
    let at = |i: usize| input.get(i).copied().unwrap_or(0);
    let mut out = Rewrite::new(input, start);
    let mut in_comment = false;
    let mut i = start;
    while i < len {
        if !in_comment {
            if input[i] == b'/' && at(i + 1) == b'*' && i + 1 < len {
                in_comment = true;
                i += 2;
            } else if input[i] == b'<' && i + 3 < len && &input[i + 1..i + 4] == b"!--" {
                in_comment = true;
                i += 4;
            } else if (input[i] == b'-' && i + 1 < len && input[i + 1] == b'-') || input[i] == b'#'
            {
                break;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else if input[i] == b'*' && i + 1 < len && input[i + 1] == b'/' {
            in_comment = false;
            out.push(at(i + 2));
            i += 3;
        } else if input[i] == b'-' && i + 2 < len && &input[i + 1..i + 3] == b"->" {
            in_comment = false;
            out.push(at(i + 3));
            i += 4;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(s: &[u8]) -> Vec<u8> {
        remove_comments(s).into_owned()
    }

    #[test]
    fn removes_comments() {
        assert_eq!(rc(b"Before/* TestCase */After"), b"BeforeAfter");
        assert_eq!(rc(b"/* TestCase */"), b"\0");
        assert_eq!(rc(b"Before /* Test\nCase "), b"Before  ");
        assert_eq!(rc(b"a<!-- x -->b"), b"ab");
        assert_eq!(rc(b"a<!-- x */b"), b"ab");
        assert_eq!(rc(b"/*a*//*b*/"), b"/*b*/");
    }

    #[test]
    fn line_comments_cut() {
        assert_eq!(rc(b"1 OR 1=1-- x"), b"1 OR 1=1");
        assert_eq!(rc(b"ls # x"), b"ls ");
        assert_eq!(rc(b"a-b"), b"a-b");
        assert!(matches!(remove_comments(b"a-b*/c"), Cow::Borrowed(_)));
    }
}
