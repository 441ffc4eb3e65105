//! The SecLang lexer: turns configuration text into directives, each a name
//! and its arguments with the position where it starts.
//!
//! It knows the shape of the language only (comments, line continuations,
//! quoting), never the meaning of a directive.
//!
//! Rules, as ModSecurity applies them:
//! - a line whose first non-blank character is `#` is a comment;
//! - a backslash at the very end of a line (trailing blanks allowed) joins
//!   the next line to it;
//! - arguments are separated by blanks; an argument in double quotes may
//!   hold blanks, and inside it `\"` stands for `"` (every other backslash
//!   is kept, so regular expressions arrive unchanged); single quotes work
//!   the same way with `\'`;
//! - a quote still open at the end of the (joined) line closes there: the
//!   argument is marked `unclosed` and the parser accepts that only for a
//!   rule's list of actions, as ModSecurity does (CRS 3.x shipped rules
//!   whose actions lacked the closing quote, and ModSecurity loads them).

use crate::error::Location;

/// One directive as written: `SecRule ARGS "@rx x" "id:1"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDirective {
    pub name: String,
    pub args: Vec<Arg>,
    pub location: Location,
}

/// One argument and the column where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub text: String,
    /// The argument was written in quotes.
    pub quoted: bool,
    /// The quote was still open at the end of the line.
    pub unclosed: bool,
    pub location: Location,
}

/// Splits `text` (the contents of `file`) into directives.
pub fn lex(file: &std::sync::Arc<str>, text: &str) -> Result<Vec<RawDirective>, crate::LoadError> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let start_line = i + 1;
        let first = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        let trimmed = first.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // Join continuation lines, remembering where each joined piece
        // starts so that an error can point at the right line and column.
        let mut logical = String::new();
        let mut pieces: Vec<(usize, usize)> = Vec::new(); // (offset in logical, line number)
        let mut current = first;
        let mut line_no = start_line;
        loop {
            let body = current.trim_end_matches([' ', '\t']);
            pieces.push((logical.len(), line_no));
            if let Some(stripped) = body.strip_suffix('\\') {
                logical.push_str(stripped);
                if i >= lines.len() {
                    break;
                }
                current = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
                line_no = i + 1;
                i += 1;
            } else {
                logical.push_str(current);
                break;
            }
        }
        let locate = |offset: usize| -> Location {
            let (start, line) = pieces
                .iter()
                .rev()
                .find(|(o, _)| *o <= offset)
                .copied()
                .unwrap_or((0, start_line));
            Location {
                file: file.clone(),
                line: line as u32,
                column: (logical[start..offset].chars().count() + 1) as u32,
            }
        };
        let mut args = split_args(&logical);
        if args.is_empty() {
            continue;
        }
        let (name_off, name, _, unclosed) = args.remove(0);
        if unclosed {
            return Err(crate::LoadError::new(
                locate(name_off),
                "unterminated quote in a directive name",
            ));
        }
        out.push(RawDirective {
            name,
            location: locate(name_off),
            args: args
                .into_iter()
                .map(|(off, text, quoted, unclosed)| Arg {
                    text,
                    quoted,
                    unclosed,
                    location: locate(off),
                })
                .collect(),
        });
    }
    Ok(out)
}

/// Splits one logical line into (offset, text, quoted) arguments.
/// An argument: its column, its text, whether it was quoted and whether
/// its quote was left open at the end of the line.
type RawArg = (usize, String, bool, bool);

fn split_args(line: &str) -> Vec<RawArg> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        while pos < bytes.len() && (bytes[pos] == b' ' || bytes[pos] == b'\t') {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let start = pos;
        let quote = bytes[pos];
        if quote == b'"' || quote == b'\'' {
            pos += 1;
            let mut text = String::new();
            let mut closed = false;
            let mut seg = pos;
            while pos < bytes.len() {
                if bytes[pos] == b'\\' && pos + 1 < bytes.len() && bytes[pos + 1] == quote {
                    text.push_str(&line[seg..pos]);
                    text.push(quote as char);
                    pos += 2;
                    seg = pos;
                    continue;
                }
                if bytes[pos] == quote {
                    text.push_str(&line[seg..pos]);
                    closed = true;
                    pos += 1;
                    break;
                }
                pos += 1;
            }
            if !closed {
                text.push_str(line[seg..].trim_end_matches([' ', '\t']));
            }
            out.push((start, text, true, !closed));
        } else {
            while pos < bytes.len() && bytes[pos] != b' ' && bytes[pos] != b'\t' {
                pos += 1;
            }
            out.push((start, line[start..pos].to_string(), false, false));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex_str(text: &str) -> Vec<RawDirective> {
        lex(&std::sync::Arc::from("t.conf"), text).unwrap()
    }

    #[test]
    fn joins_continuations_and_skips_comments() {
        let d = lex_str("# comment\n  \nSecRule ARGS \"@rx a b\" \\\n    \"id:1,\\\n    pass\"\nSecRuleEngine On\r\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].name, "SecRule");
        assert_eq!(d[0].location.line, 3);
        let texts: Vec<_> = d[0].args.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(texts, ["ARGS", "@rx a b", "id:1,    pass"]);
        assert_eq!(d[0].args[2].location.line, 4);
        assert_eq!(d[0].args[2].location.column, 5);
        assert_eq!(d[1].name, "SecRuleEngine");
        assert_eq!(d[1].args[0].text, "On");
    }

    #[test]
    fn escaped_quotes_only() {
        let d = lex_str(r#"SecRule ARGS "@rx [\"'\\d]" "id:1""#);
        assert_eq!(d[0].args[1].text, r#"@rx ["'\\d]"#);
    }

    #[test]
    fn unterminated_quote_closes_at_end_of_line() {
        let d = lex_str("SecRule ARGS \"@rx a\" \"id:1,\\\n  log\nSecAction \"id:2\"");
        assert_eq!(d.len(), 2);
        let a = &d[0].args[2];
        assert_eq!(a.text, "id:1,  log");
        assert!(a.quoted && a.unclosed);
        assert!(!d[0].args[1].unclosed);
        assert!(!d[1].args[0].unclosed);
    }
}
