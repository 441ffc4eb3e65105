//! `@rxGlobal`: like `@rx`, but with `capture` it collects the groups of
//! every match, not only the first.
//!
//! Argument: a PCRE pattern, compiled once (see [`rx`](super::rx)).
//!
//! Example: `SecRule ARGS "@rxGlobal (\d{3})-(\d{4})" "id:100,phase:2,pass,capture,log,logdata:'%{TX.0} %{TX.3}'"`
//!
//! Captures: the groups of each successive non-overlapping match are
//! appended in order, numbering on (`(a)(b)` over `abab` stores `ab`, `a`,
//! `b`, `ab`, `a`, `b` as `TX.0`..`TX.5`), at most
//! [`MAX_GLOBAL_GROUPS`] in all. Without `capture` it is exactly `@rx`.
//!
//! Edge cases: an empty match directly after the previous match is skipped
//! and the search moves on one byte (the `regex` crate's iteration rule);
//! ModSecurity v3's `searchGlobal` instead retries such a position asking
//! PCRE for a non-empty match, so the two can store different empty
//! groups; whether the rule matches is the same. An empty pattern matches
//! everything and captures nothing.
//!
//! Must not: compile a fixed pattern after load time, or allocate unless it
//! captures.

use super::pcre::{PcrePattern, Spans};
use super::rx::{push_groups, RxPattern};
use super::{BuildContext, Captures, OpContext, Operator};

/// Upper bound on the groups one evaluation stores, so that a pattern
/// matching every byte of a large body cannot exhaust memory.
pub const MAX_GLOBAL_GROUPS: usize = 1000;

/// The compiled `@rxGlobal` operator.
#[derive(Debug)]
pub struct RxGlobal {
    pattern: RxPattern,
}

impl RxGlobal {
    /// Compiles the pattern (unless it holds macros).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(RxGlobal {
            pattern: RxPattern::parse(param)?,
        })
    }

    /// The pattern as written in the rule; `None` when built from macros.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.source()
    }
}

impl Operator for RxGlobal {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        if matches!(self.pattern, RxPattern::Empty) {
            return true;
        }
        let mut scratch = None;
        let Some(pattern) = self.pattern.resolve(cx, &mut scratch) else {
            return false;
        };
        match cx.captures.as_deref_mut() {
            None => pattern.is_match(input),
            Some(captures) => capture_all(pattern, input, captures),
        }
    }

    fn regex_source(&self) -> Option<&str> {
        self.pattern()
    }
}

/// Stores the groups of every match; true when there was at least one.
fn capture_all(pattern: &PcrePattern, input: &[u8], captures: &mut Captures) -> bool {
    let mut spans = Spans::new();
    let mut groups = Vec::new();
    let mut matched = false;
    let mut start = 0;
    let mut previous_end = None;
    while start <= input.len() && groups.len() < MAX_GLOBAL_GROUPS {
        if !pattern.captures_at(input, start, &mut spans) {
            break;
        }
        let Some((begin, end)) = spans.first().copied().flatten() else {
            break;
        };
        if begin == end && previous_end == Some(end) {
            start = end + 1;
            continue;
        }
        matched = true;
        push_groups(&spans, input, &mut groups, MAX_GLOBAL_GROUPS);
        previous_end = Some(end);
        start = if end == begin { end + 1 } else { end };
    }
    if matched {
        captures.groups = groups;
    }
    matched
}
