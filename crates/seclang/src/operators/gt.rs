//! `@gt`: matches when the value, read as an integer, is greater than the
//! argument.
//!
//! Argument: an integer, or a macro that expands to one
//! (`%{tx.max_num_args}`), read per evaluation.
//!
//! Example: `SecRule &ARGS "@gt %{tx.max_num_args}" "id:920380,phase:2,block"`
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

/// The compiled `@gt` operator.
#[derive(Debug, Clone)]
pub struct Gt {
    operand: Operand,
}

impl Gt {
    /// Reads the argument once; a fixed one must be an integer.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(Gt {
            operand: Operand::parse(param)?,
        })
    }
}

impl Operator for Gt {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        leading_integer(input) > self.operand.value(cx.macros)
    }
}
