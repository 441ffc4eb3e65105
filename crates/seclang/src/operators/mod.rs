//! Operators (`@name param`): registered by name, compiled once at load time.
//!
//! Each operator lives in its own file: a doc comment (what it does, its
//! argument, a SecRule example), a constructor that validates and compiles
//! the argument once, and an `evaluate`.

use std::path::PathBuf;

use crate::macros::MacroSource;

/// Up to ten capture groups (`TX.0`..`TX.9`) set by operators when the rule
/// has the `capture` action.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Captures {
    pub groups: Vec<Vec<u8>>,
}

/// What an operator may use while it evaluates one value.
pub struct OpContext<'a> {
    /// Expands `%{...}` in arguments that hold macros.
    pub macros: &'a dyn MacroSource,
    /// `Some` when the rule asks for `capture`: the operator fills it.
    pub captures: Option<&'a mut Captures>,
}

/// What an operator constructor may use at load time.
#[derive(Debug, Clone, Default)]
pub struct BuildContext {
    /// Directory of the rule file being loaded: relative data file paths
    /// (`@pmFromFile`, `@ipMatchFromFile`) resolve against it.
    pub base_dir: PathBuf,
}

/// A compiled operator.
pub trait Operator: Send + Sync + std::fmt::Debug {
    /// True when `input` matches. Negation (`!@op`) is the engine's job.
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool;
}

/// Builds an operator from its name (without `@`) and its raw argument.
pub type BuildFn = fn(param: &str, cx: &BuildContext) -> Result<Box<dyn Operator>, String>;

/// A named operator constructor.
pub struct OperatorEntry {
    pub name: &'static str,
    pub build: BuildFn,
}

/// Compiles `@name param`. Errors are one line, fit for `file:line: …`.
pub fn build(name: &str, param: &str, cx: &BuildContext) -> Result<Box<dyn Operator>, String> {
    let entry = REGISTRY
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("unknown operator @{name}"))?;
    (entry.build)(param, cx).map_err(|e| format!("@{name}: {e}"))
}

/// Every registered operator.
pub static REGISTRY: &[OperatorEntry] = &[];
