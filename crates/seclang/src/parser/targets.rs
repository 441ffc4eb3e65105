//! Target lists: `ARGS|!ARGS:pass|&TX:score|REQUEST_HEADERS:/^x-/|XML:/*`.
//!
//! A target is a variable name, optionally `:selector`; `&` counts the
//! values instead of yielding them; `!` excludes members from the other
//! targets of the rule. A selector is a key (compared without case), a
//! `/regex/`, a quoted `'key'` or `'/regex/'`; for `XML` it is an XPath
//! expression taken as written.

use crate::actions::TargetRef;
use crate::variables::{lookup, Selector, Var};

/// One parsed target.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub var: Var,
    pub selector: Selector,
    /// `&VAR`: yields the number of values.
    pub count: bool,
    /// `!VAR:key`: an exclusion.
    pub exclude: bool,
}

impl TargetSpec {
    pub fn as_ref(&self) -> TargetRef {
        TargetRef {
            var: self.var,
            selector: self.selector.clone(),
        }
    }
}

/// Parses a whole target list.
pub fn parse_targets(text: &str) -> Result<Vec<TargetSpec>, String> {
    let text = text.trim();
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut pos = 0;
    if text.is_empty() {
        return Err("no target".into());
    }
    loop {
        let (spec, next) = parse_one(text, pos)?;
        out.push(spec);
        pos = next;
        while pos < bytes.len() && bytes[pos] == b' ' {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        if bytes[pos] != b'|' {
            return Err(format!(
                "unexpected '{}' in targets \"{text}\"",
                &text[pos..]
            ));
        }
        pos += 1;
        while pos < bytes.len() && bytes[pos] == b' ' {
            pos += 1;
        }
    }
    Ok(out)
}

/// Parses a single target such as `ARGS:foo` (no `&`/`!`), as `ctl`
/// exclusions name them.
pub fn parse_target_ref(text: &str) -> Result<TargetRef, String> {
    let specs = parse_targets(text)?;
    match specs.as_slice() {
        [one] if !one.count && !one.exclude => Ok(one.as_ref()),
        _ => Err(format!("'{text}' is not a single target")),
    }
}

fn parse_one(text: &str, mut pos: usize) -> Result<(TargetSpec, usize), String> {
    let bytes = text.as_bytes();
    let mut count = false;
    let mut exclude = false;
    loop {
        match bytes.get(pos) {
            Some(b'&') => count = true,
            Some(b'!') => exclude = true,
            _ => break,
        }
        pos += 1;
    }
    let start = pos;
    while pos < bytes.len() && (bytes[pos].is_ascii_alphanumeric() || bytes[pos] == b'_') {
        pos += 1;
    }
    let name = &text[start..pos];
    if name.is_empty() {
        return Err(format!("expected a variable name in \"{text}\""));
    }
    let entry = lookup(name).ok_or_else(|| format!("unknown variable '{name}'"))?;
    let mut selector = Selector::All;
    if bytes.get(pos) == Some(&b':') || bytes.get(pos) == Some(&b'.') {
        pos += 1;
        let (sel, next) = parse_selector(text, pos, entry.var)?;
        pos = next;
        if !entry.collection {
            return Err(format!(
                "variable '{name}' is not a collection and takes no selector"
            ));
        }
        selector = sel;
    }
    Ok((
        TargetSpec {
            var: entry.var,
            selector,
            count,
            exclude,
        },
        pos,
    ))
}

fn parse_selector(text: &str, mut pos: usize, var: Var) -> Result<(Selector, usize), String> {
    let bytes = text.as_bytes();
    if var == Var::Xml {
        let start = pos;
        while pos < bytes.len() && bytes[pos] != b'|' {
            pos += 1;
        }
        return Ok((Selector::Key(text[start..pos].trim().to_string()), pos));
    }
    let quoted = bytes.get(pos) == Some(&b'\'');
    if quoted {
        pos += 1;
    }
    if bytes.get(pos) == Some(&b'/') {
        pos += 1;
        let start = pos;
        while pos < bytes.len() && bytes[pos] != b'/' {
            if bytes[pos] == b'\\' {
                pos += 1;
            }
            pos += 1;
        }
        if pos >= bytes.len() {
            return Err(format!("unterminated /regex/ selector in \"{text}\""));
        }
        let pattern = &text[start..pos];
        pos += 1;
        if quoted {
            if bytes.get(pos) != Some(&b'\'') {
                return Err(format!("unterminated quoted selector in \"{text}\""));
            }
            pos += 1;
        }
        let re = crate::operators::pcre::PcrePattern::new(&format!("(?i){pattern}"))
            .map_err(|e| format!("bad selector regex /{pattern}/: {}", first_line(&e)))?;
        return Ok((Selector::Regex(std::sync::Arc::new(re)), pos));
    }
    let start = pos;
    if quoted {
        while pos < bytes.len() && bytes[pos] != b'\'' {
            pos += 1;
        }
        if pos >= bytes.len() {
            return Err(format!("unterminated quoted selector in \"{text}\""));
        }
        let key = text[start..pos].to_string();
        return Ok((Selector::Key(key), pos + 1));
    }
    while pos < bytes.len() && bytes[pos] != b'|' {
        pos += 1;
    }
    let key = text[start..pos].trim_end();
    if key.is_empty() {
        return Err(format!("empty selector in \"{text}\""));
    }
    Ok((Selector::Key(key.to_string()), pos))
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crs_target_lists() {
        let t = parse_targets(
            "REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/|REQUEST_COOKIES_NAMES|ARGS_NAMES|ARGS|XML:/*",
        )
        .unwrap();
        assert_eq!(t.len(), 6);
        assert!(t[1].exclude);
        assert!(matches!(t[1].selector, Selector::Regex(_)));
        assert!(matches!(&t[5].selector, Selector::Key(k) if k == "/*"));
        let t = parse_targets("&TX:crs_setup_version").unwrap();
        assert!(t[0].count);
        assert_eq!(t[0].var, Var::Tx);
        let t =
            parse_targets("TX:/^(?:a|b)$/|REQUEST_HEADERS:'/^x-(a|b)/'|ARGS:'foo bar'").unwrap();
        assert_eq!(t.len(), 3);
        assert!(t[0].selector.selects(b"B"));
        assert!(t[1].selector.selects(b"X-A"));
        assert!(matches!(&t[2].selector, Selector::Key(k) if k == "foo bar"));
    }

    #[test]
    fn rejects_bad_targets() {
        assert_eq!(
            parse_targets("ARGZ").unwrap_err(),
            "unknown variable 'ARGZ'"
        );
        assert!(parse_targets("REQUEST_URI:x")
            .unwrap_err()
            .contains("not a collection"));
        assert!(parse_targets("ARGS:/abc")
            .unwrap_err()
            .contains("unterminated"));
        assert!(parse_targets("").is_err());
    }
}
