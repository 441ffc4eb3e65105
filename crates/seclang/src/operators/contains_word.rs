//! `@containsWord`: matches when the argument occurs in the value as a whole
//! word.
//!
//! Argument: text (case-sensitive), or a macro expanded per evaluation.
//!
//! Example: `SecRule ARGS "@containsWord select" "id:100,phase:2,block"`
//!
//! Edge cases (as ModSecurity v3): only ASCII letters are word characters,
//! so digits, `_` and every byte >= 0x80 count as boundaries (`select1` and
//! `_select_` both contain the word `select`). Each occurrence is tried in
//! turn, overlapping ones included, until one has a boundary (or the end of
//! the value) on both sides. An empty argument matches every value; a
//! non-empty argument never matches an empty value.
//!
//! Must not: allocate unless the argument is a macro.

use memchr::memmem::Finder;

use super::argument::Argument;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@containsWord` operator.
#[derive(Debug, Clone)]
pub struct ContainsWord {
    word: Argument,
}

impl ContainsWord {
    /// Keeps the argument (any text is valid).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(ContainsWord {
            word: Argument::parse(param),
        })
    }
}

impl Operator for ContainsWord {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        contains_word(input, &self.word.value(cx.macros))
    }
}

/// True when `word` occurs in `input` bounded by non-letters or the ends.
fn contains_word(input: &[u8], word: &[u8]) -> bool {
    if word.is_empty() {
        return true;
    }
    let finder = Finder::new(word);
    let is_boundary = |at: Option<&u8>| at.is_none_or(|b| !b.is_ascii_alphabetic());
    let mut from = 0;
    while let Some(found) = finder.find(&input[from..]) {
        let start = from + found;
        let end = start + word.len();
        let before = start.checked_sub(1).map(|i| &input[i]);
        if is_boundary(before) && is_boundary(input.get(end)) {
            return true;
        }
        from = start + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::contains_word;

    #[test]
    fn letters_only_make_words() {
        assert!(contains_word(b"abc def", b"def"));
        assert!(contains_word(b"select1", b"select"));
        assert!(contains_word(b"_select_", b"select"));
        assert!(!contains_word(b"selection", b"select"));
        assert!(contains_word(b"selection select", b"select"));
        assert!(!contains_word(b"aaa a", b"aa"));
        assert!(contains_word(b"x\xc3\xa9select", b"select"));
    }
}
