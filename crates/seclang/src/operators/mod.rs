//! Operators (`@name param`): registered by name, compiled once at load time.
//!
//! Owns every SecLang operator the OWASP CRS and ModSecurity's own tests use,
//! each in its own file: a doc comment (what it does, its argument, a SecRule
//! example, the ModSecurity v3 edge cases it reproduces or deliberately
//! does not), a constructor that validates and compiles the argument once,
//! and an `evaluate`. Shared machinery lives beside them: [`argument`]
//! (arguments that may hold `%{macros}`), [`pcre`] (ModSecurity-compatible
//! regular expressions), [`phrases`] (case-insensitive phrase sets),
//! [`ip_set`] (address and CIDR sets), [`data_file`] (reading `*FromFile`
//! lists), [`number`] (ModSecurity's integer parsing) and [`injection`] (the
//! libinjection binding).
//!
//! Must not: evaluate rules, apply transformations, negate results (`!@op` is
//! the engine's job), touch the network, or read files after load time.
//! `evaluate` does not allocate unless it captures or expands a macro.

use std::path::PathBuf;

use crate::macros::MacroSource;

pub mod argument;
pub mod data_file;
pub mod injection;
pub mod ip_set;
pub mod number;
pub mod pcre;
pub mod phrases;

pub mod begins_with;
pub mod contains;
pub mod contains_word;
pub mod detect_sqli;
pub mod detect_xss;
pub mod ends_with;
pub mod eq;
pub mod ge;
pub mod gt;
pub mod ip_match;
pub mod ip_match_from_file;
pub mod le;
pub mod lt;
pub mod no_match;
pub mod pm;
pub mod pm_from_file;
pub mod rx;
pub mod rx_global;
pub mod streq;
pub mod strmatch;
pub mod unconditional_match;
pub mod validate_byte_range;
pub mod validate_url_encoding;
pub mod validate_utf8_encoding;
pub mod verify_cc;
pub mod verify_cpf;
pub mod verify_ssn;
pub mod verify_svnr;
pub mod within;

/// Up to ten capture groups (`TX.0`..`TX.9`) set by operators when the rule
/// has the `capture` action.
///
/// An operator that matches replaces the whole content (group 0 first); an
/// operator that does not match leaves it untouched, so the engine copies
/// `groups` into `TX.0`.. only after a match. A regex group that took no
/// part in the match is stored empty. `@rxGlobal` is the one operator that
/// may store more than ten groups (every group of every match, in order).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Captures {
    pub groups: Vec<Vec<u8>>,
}

impl Captures {
    /// Replaces the content with one value in `TX.0`, as `@pm`, `@detectSQLi`
    /// and the `@verify*` operators do.
    pub fn set_single(&mut self, value: &[u8]) {
        self.groups.clear();
        self.groups.push(value.to_vec());
    }
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

    /// The regular expression as written in the rule, for operators that are
    /// one regular expression with a fixed text (`@rx`, `@rxGlobal`); `None`
    /// for every other operator and for patterns built from macros. Added so
    /// that the engine's literal prefilter can read a pattern without
    /// knowing the operator's concrete type.
    fn regex_source(&self) -> Option<&str> {
        None
    }
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

/// Boxes a constructor's result, so that each registry line stays one line.
fn boxed<T: Operator + 'static>(built: Result<T, String>) -> Result<Box<dyn Operator>, String> {
    built.map(|op| Box::new(op) as Box<dyn Operator>)
}

/// Every registered operator (names compare case-insensitively).
#[rustfmt::skip]
pub static REGISTRY: &[OperatorEntry] = &[
    OperatorEntry { name: "beginsWith", build: |p, cx| boxed(begins_with::BeginsWith::new(p, cx)) },
    OperatorEntry { name: "contains", build: |p, cx| boxed(contains::Contains::new(p, cx)) },
    OperatorEntry { name: "containsWord", build: |p, cx| boxed(contains_word::ContainsWord::new(p, cx)) },
    OperatorEntry { name: "detectSQLi", build: |p, cx| boxed(detect_sqli::DetectSqli::new(p, cx)) },
    OperatorEntry { name: "detectXSS", build: |p, cx| boxed(detect_xss::DetectXss::new(p, cx)) },
    OperatorEntry { name: "endsWith", build: |p, cx| boxed(ends_with::EndsWith::new(p, cx)) },
    OperatorEntry { name: "eq", build: |p, cx| boxed(eq::Eq::new(p, cx)) },
    OperatorEntry { name: "ge", build: |p, cx| boxed(ge::Ge::new(p, cx)) },
    OperatorEntry { name: "gt", build: |p, cx| boxed(gt::Gt::new(p, cx)) },
    OperatorEntry { name: "ipMatch", build: |p, cx| boxed(ip_match::IpMatch::new(p, cx)) },
    OperatorEntry { name: "ipMatchFromFile", build: |p, cx| boxed(ip_match_from_file::IpMatchFromFile::new(p, cx)) },
    OperatorEntry { name: "ipMatchF", build: |p, cx| boxed(ip_match_from_file::IpMatchFromFile::new(p, cx)) },
    OperatorEntry { name: "le", build: |p, cx| boxed(le::Le::new(p, cx)) },
    OperatorEntry { name: "lt", build: |p, cx| boxed(lt::Lt::new(p, cx)) },
    OperatorEntry { name: "noMatch", build: |p, cx| boxed(no_match::NoMatch::new(p, cx)) },
    OperatorEntry { name: "pm", build: |p, cx| boxed(pm::Pm::new(p, cx)) },
    OperatorEntry { name: "pmFromFile", build: |p, cx| boxed(pm_from_file::PmFromFile::new(p, cx)) },
    OperatorEntry { name: "pmf", build: |p, cx| boxed(pm_from_file::PmFromFile::new(p, cx)) },
    OperatorEntry { name: "rx", build: |p, cx| boxed(rx::Rx::new(p, cx)) },
    OperatorEntry { name: "rxGlobal", build: |p, cx| boxed(rx_global::RxGlobal::new(p, cx)) },
    OperatorEntry { name: "streq", build: |p, cx| boxed(streq::StrEq::new(p, cx)) },
    OperatorEntry { name: "strmatch", build: |p, cx| boxed(strmatch::StrMatch::new(p, cx)) },
    OperatorEntry { name: "unconditionalMatch", build: |p, cx| boxed(unconditional_match::UnconditionalMatch::new(p, cx)) },
    OperatorEntry { name: "validateByteRange", build: |p, cx| boxed(validate_byte_range::ValidateByteRange::new(p, cx)) },
    OperatorEntry { name: "validateUrlEncoding", build: |p, cx| boxed(validate_url_encoding::ValidateUrlEncoding::new(p, cx)) },
    OperatorEntry { name: "validateUtf8Encoding", build: |p, cx| boxed(validate_utf8_encoding::ValidateUtf8Encoding::new(p, cx)) },
    OperatorEntry { name: "verifyCC", build: |p, cx| boxed(verify_cc::VerifyCc::new(p, cx)) },
    OperatorEntry { name: "verifyCPF", build: |p, cx| boxed(verify_cpf::VerifyCpf::new(p, cx)) },
    OperatorEntry { name: "verifySSN", build: |p, cx| boxed(verify_ssn::VerifySsn::new(p, cx)) },
    OperatorEntry { name: "verifySVNR", build: |p, cx| boxed(verify_svnr::VerifySvnr::new(p, cx)) },
    OperatorEntry { name: "within", build: |p, cx| boxed(within::Within::new(p, cx)) },
];
