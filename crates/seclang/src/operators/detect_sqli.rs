//! `@detectSQLi`: matches when libinjection recognises SQL injection in the
//! value.
//!
//! Argument: none (anything given is ignored, as in ModSecurity).
//!
//! Example: `SecRule ARGS "@detectSQLi" "id:942100,phase:2,block,t:none,t:utf8toUnicode,t:urlDecodeUni,t:removeNulls,capture"`
//!
//! Captures: `TX.0` is libinjection's fingerprint of the value (`s&sos` for
//! `1' OR '1'='1`), as ModSecurity stores it.
//!
//! Edge cases: the empty value never matches. The detector is behind
//! [`injection`] so it can be swapped.
//!
//! Must not: allocate unless it captures.

use super::injection;
use super::{BuildContext, OpContext, Operator};

/// The `@detectSQLi` operator.
#[derive(Debug, Clone, Default)]
pub struct DetectSqli;

impl DetectSqli {
    /// Accepts any argument.
    pub fn new(_param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(DetectSqli)
    }
}

impl Operator for DetectSqli {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        let Some(fingerprint) = injection::detect_sqli(input) else {
            return false;
        };
        if let Some(captures) = cx.captures.as_deref_mut() {
            captures.set_single(fingerprint.as_bytes());
        }
        true
    }
}
