//! `@contains`: matches when the argument occurs anywhere in the value.
//!
//! Argument: text (case-sensitive), or a macro expanded per evaluation.
//!
//! Example: `SecRule REQUEST_HEADERS:Content-Type "@contains multipart" "id:100,phase:1,pass"`
//!
//! Edge cases (as ModSecurity v3): an empty argument matches every value,
//! including the empty one. A fixed argument is compiled once into a
//! substring searcher (SIMD `memmem`).
//!
//! Must not: allocate unless the argument is a macro.

use memchr::memmem::{self, Finder};

use crate::macros::MacroString;

use super::argument::Argument;
use super::{BuildContext, OpContext, Operator};

/// A substring to look for: compiled once when fixed, expanded per
/// evaluation when it holds macros. Shared with `@strmatch`.
#[derive(Debug, Clone)]
pub enum Substring {
    /// A fixed needle with its prebuilt searcher.
    Fixed(Box<Finder<'static>>),
    /// A needle built from macros.
    Macro(MacroString),
}

impl Substring {
    /// Compiles `param`.
    pub fn parse(param: &str) -> Self {
        match Argument::parse(param) {
            Argument::Fixed(bytes) => Substring::Fixed(Box::new(Finder::new(&bytes).into_owned())),
            Argument::Macro(text) => Substring::Macro(text),
        }
    }

    /// True when the needle occurs in `input`.
    pub fn is_in(&self, cx: &OpContext<'_>, input: &[u8]) -> bool {
        match self {
            Substring::Fixed(finder) => finder.find(input).is_some(),
            Substring::Macro(text) => memmem::find(input, &text.expand(cx.macros)).is_some(),
        }
    }
}

/// The compiled `@contains` operator.
#[derive(Debug, Clone)]
pub struct Contains {
    needle: Substring,
}

impl Contains {
    /// Compiles the argument (any text is valid).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(Contains {
            needle: Substring::parse(param),
        })
    }
}

impl Operator for Contains {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        self.needle.is_in(cx, input)
    }
}
