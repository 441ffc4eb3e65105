//! `@le`: matches when the value, read as an integer, is less than or equal to the
//! argument.
//!
//! Argument: an integer, or a macro that expands to one
//! (`%{tx.max_num_args}`), read per evaluation.
//!
//! Example: `SecRule REQUEST_HEADERS:Content-Length "@le 1024" "id:100,phase:1,pass,nolog"`
//!
//! Edge cases: the value is read like C's `atoll`: leading white space and a
//! sign are accepted, reading stops at the first non-digit, and a value with
//! no leading digits (the empty string, `abc`) is 0. A macro argument is read
//! the same way. A fixed argument that is not an integer is a load error
//! (ModSecurity silently treats it as 0). ModSecurity v3 reads both sides
//! with `atoll`, which is what [`number`](super::number) reproduces.
//!
//! Must not: allocate unless the argument is a macro.

use super::number::{leading_integer, Operand};
use super::{BuildContext, OpContext, Operator};

/// The compiled `@le` operator.
#[derive(Debug, Clone)]
pub struct Le {
    operand: Operand,
}

impl Le {
    /// Reads the argument once; a fixed one must be an integer.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(Le {
            operand: Operand::parse(param)?,
        })
    }
}

impl Operator for Le {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        leading_integer(input) <= self.operand.value(cx.macros)
    }
}
