//! `t:cmdLine`: normalises a command line the way ModSecurity does, to
//! defeat shell and `cmd.exe` obfuscation.
//!
//! Byte by byte:
//! - `"`, `'`, `\` and `^` are deleted;
//! - a run of space, `,`, `;`, `\t`, `\r`, `\n` becomes one space;
//! - a space right before `/` or `(` is deleted;
//! - every other byte is lower-cased (ASCII only, C locale).
//!
//! So `C^OMMAND /C DIR` becomes `command/c dir`.
//!
//! ```text
//! SecRule ARGS "@rx (?:^|\s)cmd(?:\.exe)?/c" "id:103,phase:2,t:cmdLine,deny"
//! ```
//!
//! Must not: touch bytes >= 0x80 (no Unicode case folding).

use std::borrow::Cow;

use super::rewrite::Rewrite;

pub(crate) fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| {
        matches!(
            b,
            b'"' | b'\'' | b'\\' | b'^' | b',' | b';' | b'\t' | b'\r' | b'\n' | b' '
        ) || b.is_ascii_uppercase()
    }) else {
        return Cow::Borrowed(input);
    };
    let mut out = Rewrite::new(input, start);
    // A space at the end of the unchanged prefix counts as "just wrote a
    // space"; the scan stopped at the first space, so the prefix has none.
    let mut space = false;
    for &b in &input[start..] {
        match b {
            b'"' | b'\'' | b'\\' | b'^' => {}
            b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                if !space {
                    out.push(b' ');
                    space = true;
                }
            }
            b'/' | b'(' => {
                if space {
                    out.pop();
                }
                space = false;
                out.push(b);
            }
            _ => {
                out.push(b.to_ascii_lowercase());
                space = false;
            }
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_cmd() {
        assert_eq!(&*cmd_line(b"C^OMMAND /C DIR"), b"command/c dir");
        assert_eq!(&*cmd_line(b"cmd,/c DiR"), b"cmd/c dir");
        assert_eq!(&*cmd_line(b"\"command\" /c DiR"), b"command/c dir");
        assert_eq!(&*cmd_line(b"a ;, ( b"), b"a( b");
        assert!(matches!(cmd_line(b"echo hi"), Cow::Borrowed(_)));
    }

    #[test]
    fn quote_between_space_and_slash_still_joins() {
        // The quote is deleted without resetting the pending space.
        assert_eq!(&*cmd_line(b"a '/b"), b"a/b");
    }
}
