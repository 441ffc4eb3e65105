//! `@within`: matches when the value occurs inside the argument.
//!
//! Argument: the text searched in (case-sensitive), usually a macro such as
//! `%{tx.allowed_methods}`, expanded per evaluation.
//!
//! Example: `SecRule REQUEST_METHOD "!@within %{tx.allowed_methods}" "id:911100,phase:1,block"`
//!
//! Edge cases (as ModSecurity v3): this is a substring test, not a token
//! test: `GE` is within `GET POST`. The CRS guards against that by wrapping
//! both sides in delimiters (`/content-type/` within `/content-type/ /x/`).
//! An empty value is within anything, even an empty argument; a non-empty
//! value is never within an empty argument.
//!
//! Deliberate difference: ModSecurity searches for the value only up to its
//! first NUL byte (`std::string::find(const char *)`), so `GET\0junk` is
//! within `GET POST` there; here the whole value must occur.
//!
//! Must not: allocate unless the argument is a macro.

use memchr::memmem;

use super::argument::Argument;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@within` operator.
#[derive(Debug, Clone)]
pub struct Within {
    haystack: Argument,
}

impl Within {
    /// Keeps the argument (any text is valid).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(Within {
            haystack: Argument::parse(param),
        })
    }
}

impl Operator for Within {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        if input.is_empty() {
            return true;
        }
        memmem::find(&self.haystack.value(cx.macros), input).is_some()
    }
}
