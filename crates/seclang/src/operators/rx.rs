//! `@rx`: matches when the regular expression finds a match in the value.
//!
//! Argument: a PCRE pattern, compiled once at load time with ModSecurity
//! v3's options (see [`pcre`](super::pcre): bytes, `DOTALL | MULTILINE`,
//! ASCII classes). It is also SecLang's default operator: `SecRule ARGS
//! "attack"` means `@rx attack`.
//!
//! Example: `SecRule REQUEST_FILENAME "@rx /\.(?:git|svn)/" "id:930130,phase:1,block,t:none,t:lowercase"`
//!
//! Captures (with the `capture` action): group 0 and groups 1-9 of the first
//! match go to `TX.0`..`TX.9`; a group that took no part is stored empty;
//! groups after the last one that took part are not stored.
//!
//! Edge cases (as ModSecurity v3): an empty pattern matches every value,
//! the empty one included, and captures nothing. A pattern holding
//! `%{...}` macros is expanded and compiled at each evaluation, as in
//! ModSecurity (slow: avoid in hot rules); if the expansion does not
//! compile, the rule does not match. A pattern that does not compile at
//! load time is a load error with PCRE's or the engine's message.
//!
//! Must not: compile a fixed pattern after load time, or allocate unless it
//! captures.

use crate::macros::MacroString;

use super::argument::Argument;
use super::pcre::{PcrePattern, Spans};
use super::{BuildContext, Captures, OpContext, Operator};

/// Groups stored by `@rx` (`TX.0`..`TX.9`).
pub const MAX_CAPTURED_GROUPS: usize = 10;

/// The compiled `@rx` operator.
#[derive(Debug)]
pub struct Rx {
    pattern: RxPattern,
}

/// A pattern fixed at load time or built from macros per evaluation.
#[derive(Debug)]
pub(crate) enum RxPattern {
    /// The empty pattern: matches everything, captures nothing.
    Empty,
    /// Compiled once.
    Fixed(PcrePattern),
    /// Expanded and compiled per evaluation.
    Macro(MacroString),
}

impl RxPattern {
    /// Compiles a fixed pattern now; keeps a macro pattern for later.
    pub(crate) fn parse(param: &str) -> Result<Self, String> {
        match Argument::parse(param) {
            Argument::Fixed(bytes) if bytes.is_empty() => Ok(RxPattern::Empty),
            Argument::Fixed(bytes) => Ok(RxPattern::Fixed(PcrePattern::from_bytes(&bytes)?)),
            Argument::Macro(text) => Ok(RxPattern::Macro(text)),
        }
    }

    /// The compiled pattern for this evaluation: borrowed when fixed,
    /// compiled now when built from macros (`None` when that fails).
    pub(crate) fn resolve<'a>(
        &'a self,
        cx: &OpContext<'_>,
        scratch: &'a mut Option<PcrePattern>,
    ) -> Option<&'a PcrePattern> {
        match self {
            RxPattern::Empty => None,
            RxPattern::Fixed(pattern) => Some(pattern),
            RxPattern::Macro(text) => {
                *scratch = PcrePattern::from_bytes(&text.expand(cx.macros)).ok();
                scratch.as_ref()
            }
        }
    }

    /// The pattern text when fixed.
    pub(crate) fn source(&self) -> Option<&str> {
        match self {
            RxPattern::Empty => Some(""),
            RxPattern::Fixed(pattern) => Some(pattern.source()),
            RxPattern::Macro(_) => None,
        }
    }
}

/// Appends the groups in `spans` to `out`: up to the last group that took
/// part, unset ones empty, at most `limit` in total.
pub(crate) fn push_groups(spans: &Spans, subject: &[u8], out: &mut Vec<Vec<u8>>, limit: usize) {
    let last_set = spans.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    for span in spans.iter().take(last_set) {
        if out.len() >= limit {
            return;
        }
        out.push(span.map_or_else(Vec::new, |(start, end)| subject[start..end].to_vec()));
    }
}

impl Rx {
    /// Compiles the pattern (unless it holds macros).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(Rx {
            pattern: RxPattern::parse(param)?,
        })
    }

    /// The pattern as written in the rule; `None` when built from macros.
    pub fn pattern(&self) -> Option<&str> {
        self.pattern.source()
    }

    /// The compiled pattern when fixed and non-empty (for tests and
    /// diagnostics: which engine runs it).
    pub fn compiled(&self) -> Option<&PcrePattern> {
        match &self.pattern {
            RxPattern::Fixed(pattern) => Some(pattern),
            _ => None,
        }
    }
}

impl Operator for Rx {
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
            Some(captures) => capture_first(pattern, input, captures),
        }
    }

    fn regex_source(&self) -> Option<&str> {
        self.pattern()
    }
}

/// Runs `pattern` once and stores the groups of its first match.
fn capture_first(pattern: &PcrePattern, input: &[u8], captures: &mut Captures) -> bool {
    let mut spans = Spans::new();
    if !pattern.captures_at(input, 0, &mut spans) {
        return false;
    }
    captures.groups.clear();
    push_groups(&spans, input, &mut captures.groups, MAX_CAPTURED_GROUPS);
    true
}
