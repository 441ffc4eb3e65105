//! `@validateByteRange`: matches (reports a violation) when the value holds
//! a byte outside the allowed set.
//!
//! Argument: comma-separated byte values and inclusive ranges, each 0-255:
//! `1-255`, `9,10,13,32-126,128-255`. White space around items is allowed.
//!
//! Example: `SecRule ARGS "@validateByteRange 1-255" "id:920270,phase:2,block,t:none,t:urlDecodeUni"`
//!
//! Edge cases: the empty value never violates. The allowed set is a 256-bit
//! table built once, so evaluation is one lookup per byte.
//!
//! Deliberate difference: ModSecurity v3 ignores an item it cannot read
//! (`xxx`, an empty argument, `300`, `20-10`) and goes on with an incomplete
//! table, so a typo silently makes the rule flag almost everything (or
//! indexes out of its table for a single value above 255). Here any such
//! item is a load error naming the item.
//!
//! Must not: allocate during evaluation.

use super::{BuildContext, OpContext, Operator};

/// The compiled `@validateByteRange` operator.
#[derive(Clone)]
pub struct ValidateByteRange {
    allowed: [bool; 256],
    spec: String,
}

impl std::fmt::Debug for ValidateByteRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValidateByteRange({})", self.spec)
    }
}

impl ValidateByteRange {
    /// Builds the allowed-byte table from `param`.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        let mut allowed = [false; 256];
        for item in param.split(',') {
            let item = item.trim();
            let (low, high) = match item.split_once('-') {
                Some((low, high)) => (byte_value(low, item)?, byte_value(high, item)?),
                None => {
                    let value = byte_value(item, item)?;
                    (value, value)
                }
            };
            if low > high {
                return Err(format!("range `{item}` runs backwards"));
            }
            for byte in low..=high {
                allowed[usize::from(byte)] = true;
            }
        }
        Ok(ValidateByteRange {
            allowed,
            spec: param.to_string(),
        })
    }
}

/// Reads one byte value (0-255) out of `item`.
fn byte_value(text: &str, item: &str) -> Result<u8, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "expected a byte value or range such as `32-126`, found `{item}`"
        ));
    }
    text.parse::<u8>()
        .map_err(|_| format!("byte value `{text}` is above 255"))
}

impl Operator for ValidateByteRange {
    fn evaluate(&self, _cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        input.iter().any(|&b| !self.allowed[usize::from(b)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(spec: &str) -> ValidateByteRange {
        ValidateByteRange::new(spec, &BuildContext::default()).expect(spec)
    }

    #[test]
    fn reads_lists_and_ranges() {
        let crs = op("9,10,13,32-126,128-255");
        assert!(crs.allowed[9] && !crs.allowed[0] && !crs.allowed[127]);
        assert!(crs.allowed[b'a' as usize] && crs.allowed[255] && crs.allowed[13]);
        assert!(op(" 0 - 255 ").allowed.iter().all(|&a| a));
    }

    #[test]
    fn rejects_bad_items() {
        for bad in ["", "xxx", "1,,2", "256", "10-5", "1-", "-1", "1-300", "a-b"] {
            assert!(
                ValidateByteRange::new(bad, &BuildContext::default()).is_err(),
                "{bad}"
            );
        }
    }
}
