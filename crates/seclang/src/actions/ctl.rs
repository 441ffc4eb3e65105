//! `ctl:name=value`: changes the engine for this transaction only.
//! `ruleEngine=On|Off|DetectionOnly`, `ruleRemoveById=ID|FROM-TO`,
//! `ruleRemoveByTag=TAG`, `ruleRemoveByMsg=MSG`,
//! `ruleRemoveTargetById=ID;TARGET`, `ruleRemoveTargetByTag=TAG;TARGET`,
//! `requestBodyProcessor=URLENCODED|MULTIPART|XML|JSON`,
//! `requestBodyAccess=On|Off`, `forceRequestBodyVariable=On|Off`,
//! `responseBodyAccess=On|Off`, and `auditEngine` / `auditLogParts`
//! (accepted: Rampart's audit log has its own policy).
//! A removal takes effect for rules evaluated after the ctl ran.
//!
//! `SecRule REQUEST_FILENAME "@beginsWith /wp-admin/" "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=942100;ARGS:content"`

use super::{required, Action};
use crate::body::BodyProcessor;
use crate::rule::EngineMode;
use crate::variables::{Selector, Var};

/// A variable, optionally narrowed to members, that an exclusion names:
/// `ARGS`, `ARGS:password`, `REQUEST_COOKIES:/^_ga/`.
#[derive(Debug, Clone)]
pub struct TargetRef {
    pub var: Var,
    pub selector: Selector,
}

impl TargetRef {
    /// True when a value of `var` with `key` is what this names.
    ///
    /// An exclusion of a collection also covers the collections that hold
    /// the same members: `!ARGS:q` excludes `q` from `ARGS_GET`,
    /// `ARGS_POST` and the `_NAMES` variables too, `!REQUEST_COOKIES:c`
    /// from `REQUEST_COOKIES_NAMES` (so an exclusion written once keeps a
    /// field out of every rule that reads it).
    pub fn covers(&self, var: Var, key: Option<&[u8]>) -> bool {
        if self.var != var && !family(self.var).contains(&var) {
            return false;
        }
        match (&self.selector, key) {
            (Selector::All, _) => true,
            (sel, Some(k)) => sel.selects(k),
            (_, None) => false,
        }
    }
}

/// The variables whose members an exclusion of `var` also removes.
fn family(var: Var) -> &'static [Var] {
    match var {
        Var::Args => &[
            Var::ArgsGet,
            Var::ArgsPost,
            Var::ArgsNames,
            Var::ArgsGetNames,
            Var::ArgsPostNames,
        ],
        Var::ArgsGet => &[Var::ArgsGetNames],
        Var::ArgsPost => &[Var::ArgsPostNames],
        Var::RequestCookies => &[Var::RequestCookiesNames],
        Var::RequestHeaders => &[Var::RequestHeadersNames],
        Var::ResponseHeaders => &[Var::ResponseHeadersNames],
        _ => &[],
    }
}

/// Inclusive range of rule ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub first: u32,
    pub last: u32,
}

impl IdRange {
    pub fn contains(&self, id: u32) -> bool {
        (self.first..=self.last).contains(&id)
    }

    /// Parses `N` or `N-M`.
    pub fn parse(text: &str) -> Result<IdRange, String> {
        let text = text.trim();
        let bad = || format!("'{text}' is not a rule id or id range");
        let (a, b) = match text.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (text, text),
        };
        let first: u32 = a.parse().map_err(|_| bad())?;
        let last: u32 = b.parse().map_err(|_| bad())?;
        if first > last {
            return Err(bad());
        }
        Ok(IdRange { first, last })
    }
}

/// A parsed `ctl`.
#[derive(Debug, Clone)]
pub enum Ctl {
    RuleEngine(EngineMode),
    RuleRemoveById(Vec<IdRange>),
    RuleRemoveByTag(String),
    RuleRemoveByMsg(String),
    RuleRemoveTargetById(Vec<IdRange>, TargetRef),
    RuleRemoveTargetByTag(String, TargetRef),
    RequestBodyProcessor(BodyProcessor),
    RequestBodyAccess(bool),
    ForceRequestBodyVariable(bool),
    ResponseBodyAccess(bool),
    /// `auditEngine`, `auditLogParts`: accepted, no effect.
    Audit,
}

fn on_off(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(format!("'{other}' is not On or Off")),
    }
}

fn split_target(value: &str) -> Result<(&str, TargetRef), String> {
    let (head, target) = value
        .split_once(';')
        .ok_or_else(|| format!("'{value}' is not ID;TARGET"))?;
    let target = crate::parser::targets::parse_target_ref(target.trim())?;
    Ok((head.trim(), target))
}

pub(super) fn parse(arg: Option<&str>) -> Result<Action, String> {
    let text = required(arg)?;
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not name=value"))?;
    let name = name.trim();
    let ctl = match name.to_ascii_lowercase().as_str() {
        "ruleengine" => Ctl::RuleEngine(EngineMode::parse(value)?),
        "ruleremovebyid" => Ctl::RuleRemoveById(
            value
                .split([' ', ','])
                .filter(|s| !s.trim().is_empty())
                .map(IdRange::parse)
                .collect::<Result<_, _>>()?,
        ),
        "ruleremovebytag" => Ctl::RuleRemoveByTag(value.trim().to_string()),
        "ruleremovebymsg" => Ctl::RuleRemoveByMsg(value.trim().to_string()),
        "ruleremovetargetbyid" => {
            let (ids, target) = split_target(value)?;
            let ids = ids
                .split([' ', ','])
                .filter(|s| !s.trim().is_empty())
                .map(IdRange::parse)
                .collect::<Result<_, _>>()?;
            Ctl::RuleRemoveTargetById(ids, target)
        }
        "ruleremovetargetbytag" => {
            let (tag, target) = split_target(value)?;
            Ctl::RuleRemoveTargetByTag(tag.to_string(), target)
        }
        "requestbodyprocessor" => Ctl::RequestBodyProcessor(BodyProcessor::parse(value.trim())?),
        "requestbodyaccess" => Ctl::RequestBodyAccess(on_off(value)?),
        "forcerequestbodyvariable" => Ctl::ForceRequestBodyVariable(on_off(value)?),
        "responsebodyaccess" => Ctl::ResponseBodyAccess(on_off(value)?),
        "auditengine" | "auditlogparts" | "debugloglevel" => Ctl::Audit,
        _ => return Err(format!("unknown ctl '{name}'")),
    };
    Ok(Action::Ctl(ctl))
}
