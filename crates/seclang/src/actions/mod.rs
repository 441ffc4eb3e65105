//! Actions (`id:1`, `t:lowercase`, `setvar:tx.x=+1`, `ctl:...`, `deny`...):
//! parsed and validated once at load time into [`Action`] values.
//!
//! Each action family lives in its own file with its parser; the registry
//! below maps every SecLang action name to one parser. What an action does
//! at run time is the transaction's business (`transaction/actions.rs`).

mod collections;
mod ctl;
mod disruptive;
mod flow;
mod logging;
mod metadata;
mod phase;
mod setvar;
mod transformation;

pub use collections::{ExpireVar, InitCol, SetEnv};
pub use ctl::{Ctl, IdRange, TargetRef};
pub use disruptive::{AllowScope, Disruptive};
pub use setvar::{SetVar, SetVarOp};

use crate::macros::MacroString;
use crate::rule::Phase;
use crate::transformations::Transformation;

/// One parsed action.
#[derive(Debug, Clone)]
pub enum Action {
    Id(u32),
    Phase(Phase),
    Msg(MacroString),
    LogData(MacroString),
    Severity(u8),
    Tag(MacroString),
    Ver(String),
    Rev(String),
    Maturity(u8),
    Accuracy(u8),
    Disruptive(Disruptive),
    /// `block`: do what the phase's default action says.
    Block,
    Status(u16),
    Chain,
    Skip(u32),
    SkipAfter(String),
    SetVar(SetVar),
    Ctl(Ctl),
    /// `t:name`; `None` is `t:none`.
    Transform(Option<Transformation>),
    Capture,
    MultiMatch,
    Log,
    NoLog,
    AuditLog,
    NoAuditLog,
    InitCol(InitCol),
    SetSid(MacroString),
    SetUid(MacroString),
    SetRsc(MacroString),
    ExpireVar(ExpireVar),
    SetEnv(SetEnv),
    XmlNs(String),
    /// Accepted and recorded, with no effect on matching
    /// (`sanitiseArg`, `sanitiseMatched`, ...).
    Annotation(&'static str),
}

impl Action {
    /// True for actions a `SecDefaultAction` may carry.
    pub fn allowed_as_default(&self) -> bool {
        !matches!(
            self,
            Action::Id(_)
                | Action::Chain
                | Action::Skip(_)
                | Action::SkipAfter(_)
                | Action::Msg(_)
                | Action::LogData(_)
                | Action::Rev(_)
                | Action::Ver(_)
                | Action::Transform(None)
                | Action::Capture
                | Action::MultiMatch
        )
    }

    /// The name as written in SecLang, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Id(_) => "id",
            Action::Phase(_) => "phase",
            Action::Msg(_) => "msg",
            Action::LogData(_) => "logdata",
            Action::Severity(_) => "severity",
            Action::Tag(_) => "tag",
            Action::Ver(_) => "ver",
            Action::Rev(_) => "rev",
            Action::Maturity(_) => "maturity",
            Action::Accuracy(_) => "accuracy",
            Action::Disruptive(d) => d.name(),
            Action::Block => "block",
            Action::Status(_) => "status",
            Action::Chain => "chain",
            Action::Skip(_) => "skip",
            Action::SkipAfter(_) => "skipAfter",
            Action::SetVar(_) => "setvar",
            Action::Ctl(_) => "ctl",
            Action::Transform(None) => "none",
            Action::Transform(Some(_)) => "t",
            Action::Capture => "capture",
            Action::MultiMatch => "multiMatch",
            Action::Log => "log",
            Action::NoLog => "nolog",
            Action::AuditLog => "auditlog",
            Action::NoAuditLog => "noauditlog",
            Action::InitCol(_) => "initcol",
            Action::SetSid(_) => "setsid",
            Action::SetUid(_) => "setuid",
            Action::SetRsc(_) => "setrsc",
            Action::ExpireVar(_) => "expirevar",
            Action::SetEnv(_) => "setenv",
            Action::XmlNs(_) => "xmlns",
            Action::Annotation(n) => n,
        }
    }
}

/// Parses one action's argument. `None` when the action takes no argument.
type ParseFn = fn(arg: Option<&str>) -> Result<Action, String>;

struct ActionEntry {
    name: &'static str,
    parse: ParseFn,
}

const fn entry(name: &'static str, parse: ParseFn) -> ActionEntry {
    ActionEntry { name, parse }
}

/// Every action, by its SecLang name.
static REGISTRY: &[ActionEntry] = &[
    entry("id", metadata::id),
    entry("msg", metadata::msg),
    entry("logdata", metadata::logdata),
    entry("severity", metadata::severity),
    entry("tag", metadata::tag),
    entry("ver", metadata::ver),
    entry("rev", metadata::rev),
    entry("maturity", metadata::maturity),
    entry("accuracy", metadata::accuracy),
    entry("phase", phase::phase),
    entry("deny", disruptive::deny),
    entry("drop", disruptive::drop),
    entry("pass", disruptive::pass),
    entry("allow", disruptive::allow),
    entry("redirect", disruptive::redirect),
    entry("block", disruptive::block),
    entry("proxy", disruptive::proxy),
    entry("pause", disruptive::pause),
    entry("status", disruptive::status),
    entry("chain", flow::chain),
    entry("skip", flow::skip),
    entry("skipAfter", flow::skip_after),
    entry("setvar", setvar::parse),
    entry("ctl", ctl::parse),
    entry("t", transformation::parse),
    entry("capture", logging::capture),
    entry("multiMatch", logging::multi_match),
    entry("log", logging::log),
    entry("nolog", logging::nolog),
    entry("auditlog", logging::auditlog),
    entry("noauditlog", logging::noauditlog),
    entry("sanitiseArg", logging::sanitise_arg),
    entry("sanitizeArg", logging::sanitise_arg),
    entry("sanitiseMatched", logging::sanitise_matched),
    entry("sanitizeMatched", logging::sanitise_matched),
    entry("sanitiseMatchedBytes", logging::sanitise_matched_bytes),
    entry("sanitizeMatchedBytes", logging::sanitise_matched_bytes),
    entry("sanitiseRequestHeader", logging::sanitise_request_header),
    entry("sanitizeRequestHeader", logging::sanitise_request_header),
    entry("sanitiseResponseHeader", logging::sanitise_response_header),
    entry("sanitizeResponseHeader", logging::sanitise_response_header),
    entry("xmlns", logging::xmlns),
    entry("initcol", collections::initcol),
    entry("setsid", collections::setsid),
    entry("setuid", collections::setuid),
    entry("setrsc", collections::setrsc),
    entry("expirevar", collections::expirevar),
    entry("setenv", collections::setenv),
];

/// Splits an action list (`id:1,msg:'a, b',t:none`) into actions.
pub fn parse_list(text: &str) -> Result<Vec<Action>, String> {
    let mut out = Vec::new();
    for item in split_list(text)? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, arg) = match item.find(':') {
            Some(i) => (item[..i].trim(), Some(unquote(item[i + 1..].trim()))),
            None => (item, None),
        };
        let entry = REGISTRY
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| match name {
                "exec" | "append" | "prepend" | "deprecatevar" => {
                    format!("action '{name}' is not supported by Rampart")
                }
                _ => format!("unknown action '{name}'"),
            })?;
        out.push((entry.parse)(arg).map_err(|e| format!("{name}: {e}"))?);
    }
    Ok(out)
}

/// Splits on commas outside single quotes.
fn split_list(text: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut in_quote = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quote && i + 1 < bytes.len() && bytes[i + 1] == b'\'' => i += 1,
            b'\'' => in_quote = !in_quote,
            b',' if !in_quote => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_quote {
        return Err(format!("unterminated single quote in actions \"{text}\""));
    }
    out.push(&text[start..]);
    Ok(out)
}

/// Removes one pair of surrounding single quotes and unescapes `\'`.
fn unquote(arg: &str) -> &str {
    if arg.len() >= 2 && arg.starts_with('\'') && arg.ends_with('\'') {
        &arg[1..arg.len() - 1]
    } else {
        arg
    }
}

fn required(arg: Option<&str>) -> Result<&str, String> {
    match arg {
        Some(a) => Ok(a),
        None => Err("needs an argument".to_string()),
    }
}

fn no_argument(arg: Option<&str>) -> Result<(), String> {
    match arg {
        None => Ok(()),
        Some(a) => Err(format!("takes no argument, got '{a}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_crs_style_list() {
        let list = parse_list(
            "id:942100,phase:2,block,capture,t:none,t:utf8toUnicode,msg:'SQL Injection, detected',\
             logdata:'Matched Data: %{TX.0} found within %{MATCHED_VAR_NAME}',tag:'attack-sqli',\
             severity:'CRITICAL',setvar:'tx.inbound_anomaly_score_pl1=+%{tx.critical_anomaly_score}'",
        )
        .unwrap();
        assert!(matches!(list[0], Action::Id(942100)));
        assert!(matches!(list[1], Action::Phase(Phase::RequestBody)));
        assert!(matches!(list[2], Action::Block));
        assert!(matches!(list[4], Action::Transform(None)));
        assert!(matches!(list[5], Action::Transform(Some(_))));
        assert!(matches!(list[9], Action::Severity(2)));
        match &list[10] {
            Action::SetVar(s) => assert_eq!(s.op, SetVarOp::Add),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(parse_list("id:x").unwrap_err(), "id: 'x' is not a rule id");
        assert_eq!(
            parse_list("frobnicate").unwrap_err(),
            "unknown action 'frobnicate'"
        );
        assert_eq!(
            parse_list("t:nosuch").unwrap_err(),
            "t: unknown transformation 'nosuch'"
        );
        assert!(parse_list("msg:'open")
            .unwrap_err()
            .contains("unterminated"));
    }
}
