//! `@eq`: matches when the value, read as an integer, is equal to the
//! argument.
//!
//! Argument: an integer, or a macro that expands to one
//! (`%{tx.max_num_args}`), read per evaluation.
//!
//! Example: `SecRule &REQUEST_HEADERS:Host "@eq 0" "id:920280,phase:1,block,t:none,msg:'Request Missing a Host Header'"`
//!
//! Edge cases: the value is read like C's `atoll`: leading white space and a
//! sign are accepted, reading stops at the first non-digit, and a value with
//! no leading digits (the empty string, `abc`) is 0. A macro argument is read
//! the same way. A fixed argument that is not an integer is a load error
//! (ModSecurity silently treats it as 0).
//!
//! ModSecurity v3 reads both sides with `std::stoi` (32 bits; out of range
//! or no digits gives 0); here both sides use the 64-bit `atoll` reading of
//! [`number`](super::number), so `4294967296` is not equal to 0.
//!
//! Must not: allocate unless the argument is a macro.

use super::number::{leading_integer, Operand};
use super::{BuildContext, OpContext, Operator};

/// The compiled `@eq` operator.
#[derive(Debug, Clone)]
pub struct Eq {
    operand: Operand,
}

impl Eq {
    /// Reads the argument once; a fixed one must be an integer.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(Eq {
            operand: Operand::parse(param)?,
        })
    }
}

impl Operator for Eq {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        leading_integer(input) == self.operand.value(cx.macros)
    }
}
