//! Operator arguments that may hold macros (`@within %{tx.allowed_methods}`,
//! `@gt %{tx.max_num_args}`, `@streq %{REQUEST_HEADERS.host}`).
//!
//! Owns the choice between a fixed argument (kept as bytes, used as is) and
//! one with `%{...}` references (expanded per evaluation through the
//! transaction's [`MacroSource`]). Must not: know what a collection holds, or
//! allocate for a fixed argument.

use std::borrow::Cow;

use crate::macros::{MacroSource, MacroString, Part};

/// An operator argument: fixed text, or text with `%{...}` references.
#[derive(Debug, Clone)]
pub enum Argument {
    /// No reference: the bytes are the argument.
    Fixed(Vec<u8>),
    /// At least one reference: expanded at evaluation time.
    Macro(MacroString),
}

impl Argument {
    /// Parses `param`. A reference counts only when its collection name
    /// starts with a letter (`%{tx.x}`, `%{REQUEST_HEADERS.host}`); anything
    /// else, such as the regex quantifier in `a%{2}`, leaves the whole
    /// argument fixed text, because no SecLang collection is named that way.
    pub fn parse(param: &str) -> Self {
        let parsed = MacroString::parse(param);
        let names_collections = parsed.parts().iter().all(|part| match part {
            Part::Literal(_) => true,
            Part::Reference { collection, .. } => {
                collection.starts_with(|c: char| c.is_ascii_alphabetic())
            }
        });
        if parsed.is_static() || !names_collections {
            Argument::Fixed(param.as_bytes().to_vec())
        } else {
            Argument::Macro(parsed)
        }
    }

    /// The fixed bytes, or `None` when the argument holds macros.
    pub fn fixed(&self) -> Option<&[u8]> {
        match self {
            Argument::Fixed(bytes) => Some(bytes),
            Argument::Macro(_) => None,
        }
    }

    /// The argument's value for this evaluation; borrowed when fixed.
    pub fn value<'a>(&'a self, macros: &dyn MacroSource) -> Cow<'a, [u8]> {
        match self {
            Argument::Fixed(bytes) => Cow::Borrowed(bytes),
            Argument::Macro(text) => text.expand(macros),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tx;
    impl MacroSource for Tx {
        fn lookup(&self, collection: &str, key: Option<&str>) -> Option<Cow<'_, [u8]>> {
            (collection == "TX" && key == Some("m")).then_some(Cow::Borrowed(b"GET POST"))
        }
    }

    #[test]
    fn fixed_text_stays_borrowed() {
        let arg = Argument::parse("abc");
        assert_eq!(arg.fixed(), Some(&b"abc"[..]));
        assert!(matches!(arg.value(&Tx), Cow::Borrowed(b"abc")));
    }

    #[test]
    fn macro_expands_per_evaluation() {
        let arg = Argument::parse(" %{tx.m} ");
        assert_eq!(arg.fixed(), None);
        assert_eq!(&*arg.value(&Tx), b" GET POST ");
    }

    #[test]
    fn regex_quantifier_is_not_a_macro() {
        assert_eq!(Argument::parse("a%{2}").fixed(), Some(&b"a%{2}"[..]));
    }
}
