//! A compiled rule: targets, operator, transformations and actions, all
//! resolved at load time (the phase's default actions merged in, `block`
//! resolved, `t:none` applied), so evaluation never parses anything.

use crate::actions::{Ctl, Disruptive, ExpireVar, InitCol, SetEnv, SetVar, TargetRef};
use crate::error::Location;
use crate::macros::MacroString;
use crate::operators::Operator;
use crate::parser::targets::TargetSpec;
use crate::transformations::Transformation;

/// When a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Phase {
    RequestHeaders = 1,
    #[default]
    RequestBody = 2,
    ResponseHeaders = 3,
    ResponseBody = 4,
    Logging = 5,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::RequestHeaders,
        Phase::RequestBody,
        Phase::ResponseHeaders,
        Phase::ResponseBody,
        Phase::Logging,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn index(self) -> usize {
        self as usize - 1
    }
}

/// `SecRuleEngine`: whether rules run and whether they may disrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineMode {
    #[default]
    On,
    DetectionOnly,
    Off,
}

impl EngineMode {
    pub fn parse(value: &str) -> Result<EngineMode, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "on" => Ok(EngineMode::On),
            "off" => Ok(EngineMode::Off),
            "detectiononly" => Ok(EngineMode::DetectionOnly),
            other => Err(format!("'{other}' is not On, Off or DetectionOnly")),
        }
    }
}

/// What a rule compares against.
#[derive(Debug)]
pub struct CompiledOperator {
    /// Name as registered (`rx`, `pm`...), for messages.
    pub name: String,
    /// The argument as written.
    pub param: String,
    /// `!@op`.
    pub negated: bool,
    pub op: Box<dyn Operator>,
}

/// Flow after a match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Flow {
    #[default]
    Next,
    Skip(u32),
    SkipAfter(String),
}

/// Metadata that messages and `RULE` read.
#[derive(Debug, Clone, Default)]
pub struct RuleMeta {
    pub id: u32,
    pub phase: Phase,
    pub rev: Option<String>,
    pub ver: Option<String>,
    pub severity: Option<u8>,
    pub maturity: Option<u8>,
    pub accuracy: Option<u8>,
    pub tags: Vec<MacroString>,
    pub msg: Option<MacroString>,
    pub logdata: Option<MacroString>,
}

impl RuleMeta {
    /// True when the rule carries `tag` (static tags compare as written).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.static_text() == Some(tag))
    }
}

/// An action that runs after the whole chain matched.
#[derive(Debug, Clone)]
pub enum MatchAction {
    Ctl(Ctl),
    InitCol(InitCol),
    SetSid(MacroString),
    SetUid(MacroString),
    SetRsc(MacroString),
    ExpireVar(ExpireVar),
    SetEnv(SetEnv),
}

/// A compiled rule (a chain's first rule holds the rest in `chained`).
#[derive(Debug)]
pub struct Rule {
    pub meta: RuleMeta,
    pub location: Location,
    pub targets: Vec<TargetSpec>,
    /// `!VAR:key` targets and `SecRuleUpdateTargetById` exclusions.
    pub exclusions: Vec<TargetRef>,
    /// `None` for `SecAction`: matches unconditionally once.
    pub operator: Option<CompiledOperator>,
    /// The effective transformation chain.
    pub transformations: Vec<Transformation>,
    /// Identifies the chain within the rule set: rules with the same chain
    /// share transformed values.
    pub chain_id: u32,
    /// Literals one of which a value must contain for the operator to be
    /// worth running (never set for a negated operator).
    pub prefilter: Option<crate::prefilter::Prefilter>,
    /// Index of this rule's bit in the prefilter banks (rules with a
    /// prefilter only).
    pub pf_idx: Option<u32>,
    /// Rules with the same targets and chain share a group; a group whose
    /// targets are all request or response data is scanned once per
    /// transaction stage, and a rule none of whose literals occur anywhere
    /// in it is not evaluated.
    pub target_group: Option<u32>,
    pub multi_match: bool,
    pub capture: bool,
    pub setvars: Vec<SetVar>,
    pub match_actions: Vec<MatchAction>,
    /// The effective disruptive action (after `block` and defaults).
    pub disruptive: Option<Disruptive>,
    pub status: Option<u16>,
    pub log: bool,
    pub auditlog: bool,
    pub flow: Flow,
    pub chained: Option<Box<Rule>>,
}

impl Rule {
    /// The id to report: chain children report their chain's id.
    pub fn id(&self) -> u32 {
        self.meta.id
    }
}
