//! A compiled rule set: the rules of each phase in order, their markers,
//! and the engine settings. Built once by
//! [`RuleSetBuilder`](crate::RuleSetBuilder), shared read-only by every
//! transaction (`Arc<RuleSet>`).
//!
//! Compilation merges each phase's `SecDefaultAction` into its rules,
//! applies `SecRuleRemove*` and `SecRuleUpdate*` to every rule wherever
//! it was defined (as ModSecurity v3 does), checks ids are unique and
//! resolves markers to positions.

use std::collections::{HashMap, HashSet};

use crate::actions::{Action, Disruptive, IdRange, TargetRef};
use crate::collection::PersistentStore;
use crate::config::EngineConfig;
use crate::error::{LoadError, Location};
use crate::parser::targets::TargetSpec;
use crate::parser::RuleSetBuilder;
use crate::rule::{CompiledOperator, Flow, MatchAction, Phase, Rule, RuleMeta};
use crate::transformations::Transformation;

/// A rule or marker as parsed, before compilation.
pub(crate) struct Draft {
    pub location: Location,
    kind: DraftKind,
}

enum DraftKind {
    Marker(String),
    Rule {
        targets: Vec<TargetSpec>,
        operator: Option<CompiledOperator>,
        actions: Vec<Action>,
        /// The rest of the chain, in order.
        links: Vec<Draft>,
    },
}

impl Draft {
    pub fn marker(name: String, location: Location) -> Draft {
        Draft {
            location,
            kind: DraftKind::Marker(name),
        }
    }

    pub fn rule(
        location: Location,
        targets: Vec<TargetSpec>,
        operator: Option<CompiledOperator>,
        actions: Vec<Action>,
    ) -> Draft {
        Draft {
            location,
            kind: DraftKind::Rule {
                targets,
                operator,
                actions,
                links: Vec::new(),
            },
        }
    }

    fn actions(&self) -> &[Action] {
        match &self.kind {
            DraftKind::Rule { actions, .. } => actions,
            DraftKind::Marker(_) => &[],
        }
    }

    pub fn check_chain_start(&self) -> Result<(), String> {
        let acts = self.actions();
        // ModSecurity lets a SecAction go without an id (it reports as 0).
        let is_action = matches!(&self.kind, DraftKind::Rule { operator: None, .. });
        if !is_action && !acts.iter().any(|a| matches!(a, Action::Id(_))) {
            return Err("rule has no id (every rule needs id:N)".into());
        }
        Ok(())
    }

    pub fn check_chain_child(&self) -> Result<(), String> {
        for a in self.actions() {
            match a {
                Action::Phase(_) => return Err("a chained rule cannot have a phase".into()),
                Action::Disruptive(d) if !matches!(d, Disruptive::Pass) => {
                    return Err(format!(
                        "a chained rule cannot have the disruptive action '{}'",
                        d.name()
                    ))
                }
                Action::Skip(_) | Action::SkipAfter(_) => {
                    return Err(
                        "a chained rule cannot skip; put skip/skipAfter on the chain's first rule"
                            .into(),
                    )
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn push_chain_link(&mut self, link: Draft) {
        if let DraftKind::Rule { links, .. } = &mut self.kind {
            links.push(link);
        }
    }

    fn id(&self) -> u32 {
        self.actions()
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Id(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(0)
    }

    fn phase(&self) -> Phase {
        self.actions()
            .iter()
            .rev()
            .find_map(|a| match a {
                Action::Phase(p) => Some(*p),
                _ => None,
            })
            .unwrap_or(Phase::RequestBody)
    }

    fn tags(&self) -> impl Iterator<Item = &str> {
        self.actions().iter().filter_map(|a| match a {
            Action::Tag(t) => t.static_text(),
            _ => None,
        })
    }

    fn msg(&self) -> Option<&str> {
        self.actions().iter().rev().find_map(|a| match a {
            Action::Msg(m) => m.static_text(),
            _ => None,
        })
    }

    fn matches(&self, sel: &RuleSelector) -> bool {
        match sel {
            RuleSelector::Ids(ranges) => {
                let id = self.id();
                ranges.iter().any(|r| r.contains(id))
            }
            RuleSelector::Tag(t) => self.tags().any(|x| x == t),
            RuleSelector::Msg(m) => self.msg() == Some(m.as_str()),
        }
    }
}

/// Which rules an exception applies to.
#[derive(Debug, Clone)]
pub(crate) enum RuleSelector {
    Ids(Vec<IdRange>),
    Tag(String),
    Msg(String),
}

/// `SecRuleRemove*` and `SecRuleUpdate*`.
pub(crate) enum Exception {
    RemoveById(Vec<IdRange>),
    RemoveByTag(String),
    RemoveByMsg(String),
    UpdateTarget {
        selector: RuleSelector,
        targets: Vec<TargetSpec>,
        replaced: Option<TargetRef>,
    },
    UpdateAction {
        ids: Vec<IdRange>,
        actions: Vec<Action>,
    },
}

/// One slot in a phase's list.
// Rules are most of the entries and are walked on every request: kept
// inline rather than boxed (the list is built once, at load).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Entry {
    Rule(Rule),
    Marker(String),
}

/// A compiled, immutable rule set.
#[derive(Debug)]
pub struct RuleSet {
    pub config: EngineConfig,
    /// Persistent collections (`IP`, `GLOBAL`...) of this rule set.
    pub store: PersistentStore,
    phases: [Vec<Entry>; 5],
    markers: [HashMap<String, usize>; 5],
    rule_count: usize,
    /// Rules that `SecRuleRemove*` took out: (id, phase, directive), for
    /// the debug trace.
    removed: Vec<(u32, Phase, &'static str)>,
    /// Prefilter banks by transformation chain id.
    pub(crate) banks: rustc_hash::FxHashMap<u32, crate::prefilter::Bank>,
    /// Number of rules with a prefilter (bits per bank scan).
    pub(crate) pf_count: usize,
}

impl RuleSet {
    /// The entries of a phase, in order.
    pub fn phase(&self, phase: Phase) -> &[Entry] {
        &self.phases[phase.index()]
    }

    /// The position of marker `name` in `phase`.
    pub fn marker_position(&self, phase: Phase, name: &str) -> Option<usize> {
        self.markers[phase.index()].get(name).copied()
    }

    /// Rules removed by configuration in `phase`, with the directive.
    pub fn removed_in(&self, phase: Phase) -> impl Iterator<Item = (u32, &'static str)> + '_ {
        self.removed
            .iter()
            .filter(move |r| r.1 == phase)
            .map(|r| (r.0, r.2))
    }

    /// Number of rules (chains count once).
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }

    /// Every rule, phase by phase.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.phases.iter().flatten().filter_map(|e| match e {
            Entry::Rule(r) => Some(r),
            Entry::Marker(_) => None,
        })
    }

    /// Finds a rule by id.
    pub fn rule(&self, id: u32) -> Option<&Rule> {
        self.rules().find(|r| r.meta.id == id)
    }

    pub(crate) fn compile(builder: RuleSetBuilder) -> Result<RuleSet, LoadError> {
        let RuleSetBuilder {
            config,
            mut drafts,
            exceptions,
            defaults,
            ..
        } = builder;

        // Removals first, then updates on what remains.
        let mut removed = Vec::new();
        for ex in &exceptions {
            let directive = match ex {
                Exception::RemoveById(_) => "an SecRuleRemove directive",
                Exception::RemoveByTag(_) => "a SecRuleRemoveByTag directive",
                _ => "a SecRuleRemoveByMsg directive",
            };
            let remove: Box<dyn Fn(&Draft) -> bool> = match ex {
                Exception::RemoveById(ranges) => Box::new(move |d: &Draft| {
                    let id = d.id();
                    id != 0 && ranges.iter().any(|r| r.contains(id))
                }),
                Exception::RemoveByTag(tag) => {
                    Box::new(move |d: &Draft| d.tags().any(|t| t == tag))
                }
                Exception::RemoveByMsg(msg) => {
                    Box::new(move |d: &Draft| d.msg() == Some(msg.as_str()))
                }
                _ => continue,
            };
            drafts.retain(|d| {
                let gone = !matches!(d.kind, DraftKind::Marker(_)) && remove(d);
                if gone {
                    removed.push((d.id(), d.phase(), directive));
                }
                !gone
            });
        }
        for ex in exceptions {
            match ex {
                Exception::UpdateTarget {
                    selector,
                    targets,
                    replaced,
                } => {
                    for d in drafts.iter_mut().filter(|d| d.matches(&selector)) {
                        if let DraftKind::Rule { targets: ts, .. } = &mut d.kind {
                            if let Some(rep) = &replaced {
                                ts.retain(|t| {
                                    !(t.var == rep.var && t.selector.text() == rep.selector.text())
                                });
                            }
                            ts.extend(targets.iter().cloned());
                        }
                    }
                }
                Exception::UpdateAction { ids, actions } => {
                    let sel = RuleSelector::Ids(ids);
                    for d in drafts.iter_mut().filter(|d| d.matches(&sel)) {
                        if let DraftKind::Rule { actions: acts, .. } = &mut d.kind {
                            merge_update(acts, &actions);
                        }
                    }
                }
                _ => {}
            }
        }

        let mut phases: [Vec<Entry>; 5] = Default::default();
        let mut seen = HashSet::new();
        let mut chains: HashMap<Vec<&'static str>, u32> = HashMap::new();
        let mut rule_count = 0;
        for d in drafts {
            match d.kind {
                DraftKind::Marker(name) => {
                    for p in phases.iter_mut() {
                        p.push(Entry::Marker(name.clone()));
                    }
                }
                DraftKind::Rule { .. } => {
                    let id = d.id();
                    if id != 0 && !seen.insert(id) {
                        return Err(LoadError::new(
                            d.location,
                            format!("rule id {id} is duplicated"),
                        ));
                    }
                    let phase = d.phase();
                    let rule = compile_rule(
                        &mut chains,
                        d,
                        phase,
                        defaults[phase.index()].as_deref(),
                        id,
                        false,
                    )?;
                    rule_count += 1;
                    phases[phase.index()].push(Entry::Rule(rule));
                }
            }
        }
        let (banks, pf_count) = build_prefilters(&mut phases);
        let markers = std::array::from_fn(|i| {
            let mut m = HashMap::new();
            for (pos, e) in phases[i].iter().enumerate() {
                if let Entry::Marker(name) = e {
                    m.entry(name.clone()).or_insert(pos);
                }
            }
            m
        });
        Ok(RuleSet {
            config,
            store: PersistentStore::default(),
            phases,
            markers,
            rule_count,
            removed,
            banks,
            pf_count,
        })
    }
}

/// Numbers every rule that has a prefilter, builds one bank per
/// transformation chain, and sorts rules into target groups.
fn build_prefilters(
    phases: &mut [Vec<Entry>; 5],
) -> (rustc_hash::FxHashMap<u32, crate::prefilter::Bank>, usize) {
    use crate::variables::Var;
    let mut next: u32 = 0;
    // chain id -> (rule id, literals) of the rules sharing that chain.
    type ByChain = HashMap<u32, Vec<(u32, Vec<Vec<u8>>)>>;
    let mut by_chain: ByChain = HashMap::new();
    let mut groups: HashMap<String, u32> = HashMap::new();
    fn number(rule: &mut Rule, next: &mut u32, by_chain: &mut ByChain) {
        if let Some(pf) = &rule.prefilter {
            rule.pf_idx = Some(*next);
            by_chain
                .entry(rule.chain_id)
                .or_default()
                .push((*next, pf.literals().to_vec()));
            *next += 1;
        }
        if let Some(child) = rule.chained.as_deref_mut() {
            number(child, next, by_chain);
        }
    }
    for phase in phases.iter_mut() {
        for e in phase.iter_mut() {
            let Entry::Rule(rule) = e else { continue };
            number(rule, &mut next, &mut by_chain);
            let stable = |v: Var| {
                !matches!(
                    v,
                    Var::Tx
                        | Var::Ip
                        | Var::Global
                        | Var::Session
                        | Var::User
                        | Var::Resource
                        | Var::Env
                        | Var::MatchedVar
                        | Var::MatchedVarName
                        | Var::MatchedVars
                        | Var::MatchedVarsNames
                        | Var::Rule
                        | Var::Duration
                        | Var::HighestSeverity
                        | Var::Time
                        | Var::TimeDay
                        | Var::TimeEpoch
                        | Var::TimeHour
                        | Var::TimeMin
                        | Var::TimeMon
                        | Var::TimeSec
                        | Var::TimeWday
                        | Var::TimeYear
                        | Var::SessionId
                        | Var::UserId
                )
            };
            if rule.pf_idx.is_some()
                && !rule.multi_match
                && rule.targets.iter().all(|t| !t.count && stable(t.var))
            {
                let signature = format!(
                    "{:?}|{}",
                    rule.targets
                        .iter()
                        .map(|t| (t.var, t.selector.text().into_owned()))
                        .collect::<Vec<_>>(),
                    rule.chain_id
                );
                let n = groups.len() as u32;
                rule.target_group = Some(*groups.entry(signature).or_insert(n));
            }
        }
    }
    let mut banks = rustc_hash::FxHashMap::default();
    for (chain, rules) in by_chain {
        let refs: Vec<(u32, &[Vec<u8>])> = rules.iter().map(|(i, l)| (*i, l.as_slice())).collect();
        if let Some(bank) = crate::prefilter::Bank::new(&refs) {
            banks.insert(chain, bank);
        }
    }
    (banks, next as usize)
}

/// `SecRuleUpdateActionById`: new transformations, disruptive actions,
/// status and metadata replace or extend the rule's.
fn merge_update(acts: &mut Vec<Action>, update: &[Action]) {
    for a in update {
        match a {
            Action::Disruptive(_) | Action::Block => {
                acts.retain(|x| !matches!(x, Action::Disruptive(_) | Action::Block));
            }
            Action::Msg(_) => acts.retain(|x| !matches!(x, Action::Msg(_))),
            Action::LogData(_) => acts.retain(|x| !matches!(x, Action::LogData(_))),
            Action::Severity(_) => acts.retain(|x| !matches!(x, Action::Severity(_))),
            Action::Status(_) => acts.retain(|x| !matches!(x, Action::Status(_))),
            _ => {}
        }
        acts.push(a.clone());
    }
}

fn compile_rule(
    chains: &mut HashMap<Vec<&'static str>, u32>,
    draft: Draft,
    phase: Phase,
    defaults: Option<&[Action]>,
    id: u32,
    is_child: bool,
) -> Result<Rule, LoadError> {
    let location = draft.location;
    let DraftKind::Rule {
        targets,
        operator,
        actions,
        links,
    } = draft.kind
    else {
        unreachable!("markers are not compiled as rules")
    };
    let defaults = defaults.unwrap_or(&[]);

    let mut meta = RuleMeta {
        id,
        phase,
        ..RuleMeta::default()
    };
    let mut transformations: Vec<Option<Transformation>> = Vec::new();
    let mut disruptive: Option<Disruptive> = None;
    let mut block = false;
    let mut default_disruptive: Option<Disruptive> = None;
    let mut default_block = false;
    let mut status = None;
    let mut default_status = None;
    let mut log = true;
    let mut auditlog = true;
    let mut capture = false;
    let mut multi_match = false;
    let mut setvars = Vec::new();
    let mut match_actions = Vec::new();
    let mut flow = Flow::Next;

    for a in defaults {
        match a {
            Action::Transform(t) => transformations.push(*t),
            Action::Tag(t) => meta.tags.push(t.clone()),
            Action::Disruptive(d) => default_disruptive = Some(d.clone()),
            Action::Block => default_block = true,
            Action::Status(s) => default_status = Some(*s),
            Action::Log => log = true,
            Action::NoLog => log = false,
            Action::AuditLog => auditlog = true,
            Action::NoAuditLog => auditlog = false,
            Action::Severity(s) => meta.severity = Some(*s),
            Action::Maturity(m) => meta.maturity = Some(*m),
            Action::Accuracy(m) => meta.accuracy = Some(*m),
            Action::SetVar(s) => setvars.push(s.clone()),
            other => {
                if let Some(m) = match_action(other) {
                    match_actions.push(m)
                }
            }
        }
    }
    for a in &actions {
        match a {
            Action::Id(_) | Action::Phase(_) | Action::Chain => {}
            Action::Msg(m) => meta.msg = Some(m.clone()),
            Action::LogData(m) => meta.logdata = Some(m.clone()),
            Action::Severity(s) => meta.severity = Some(*s),
            Action::Tag(t) => meta.tags.push(t.clone()),
            Action::Ver(v) => meta.ver = Some(v.clone()),
            Action::Rev(v) => meta.rev = Some(v.clone()),
            Action::Maturity(m) => meta.maturity = Some(*m),
            Action::Accuracy(m) => meta.accuracy = Some(*m),
            Action::Disruptive(d) => {
                disruptive = Some(d.clone());
                block = false;
            }
            Action::Block => {
                block = true;
                disruptive = None;
            }
            Action::Status(s) => status = Some(*s),
            Action::Skip(n) => flow = Flow::Skip(*n),
            Action::SkipAfter(m) => flow = Flow::SkipAfter(m.clone()),
            Action::SetVar(s) => setvars.push(s.clone()),
            Action::Transform(t) => transformations.push(*t),
            Action::Capture => capture = true,
            Action::MultiMatch => multi_match = true,
            Action::Log => log = true,
            Action::NoLog => log = false,
            Action::AuditLog => auditlog = true,
            Action::NoAuditLog => auditlog = false,
            Action::XmlNs(_) | Action::Annotation(_) => {}
            other => {
                if let Some(m) = match_action(other) {
                    match_actions.push(m)
                }
            }
        }
    }
    // `t:none` drops everything before the last `none`.
    let start = transformations
        .iter()
        .rposition(|t| t.is_none())
        .map_or(0, |p| p + 1);
    let transformations: Vec<Transformation> =
        transformations[start..].iter().flatten().copied().collect();

    let effective_disruptive = if is_child {
        None
    } else if block || (disruptive.is_none() && default_block) {
        default_disruptive.clone()
    } else {
        disruptive
    };

    let mut exclusions = Vec::new();
    let mut positive = Vec::new();
    for t in targets {
        if t.exclude {
            exclusions.push(t.as_ref());
        } else {
            positive.push(t);
        }
    }

    let mut chained: Option<Box<Rule>> = None;
    for link in links.into_iter().rev() {
        let mut child = compile_rule(chains, link, phase, Some(defaults), id, true)?;
        child.chained = chained;
        chained = Some(Box::new(child));
    }

    let prefilter = operator
        .as_ref()
        .filter(|o| !o.negated)
        .and_then(|o| o.op.regex_source())
        .filter(|src| !src.contains("%{"))
        .and_then(crate::prefilter::Prefilter::for_regex);
    Ok(Rule {
        meta,
        location,
        targets: positive,
        exclusions,
        operator,
        chain_id: if transformations.is_empty() {
            0
        } else {
            let names: Vec<&'static str> = transformations.iter().map(|t| t.name).collect();
            let next = chains.len() as u32 + 1;
            *chains.entry(names).or_insert(next)
        },
        prefilter,
        pf_idx: None,
        target_group: None,
        transformations,
        multi_match,
        capture,
        setvars,
        match_actions,
        disruptive: effective_disruptive,
        // A chain link's own `status` overrides its chain's (ModSecurity
        // runs `status` when the link matches); defaults apply to the start.
        status: if is_child {
            status
        } else {
            status.or(default_status)
        },
        log,
        auditlog,
        flow,
        chained,
    })
}

fn match_action(a: &Action) -> Option<MatchAction> {
    Some(match a {
        Action::Ctl(c) => MatchAction::Ctl(c.clone()),
        Action::InitCol(i) => MatchAction::InitCol(i.clone()),
        Action::SetSid(s) => MatchAction::SetSid(s.clone()),
        Action::SetUid(s) => MatchAction::SetUid(s.clone()),
        Action::SetRsc(s) => MatchAction::SetRsc(s.clone()),
        Action::ExpireVar(e) => MatchAction::ExpireVar(e.clone()),
        Action::SetEnv(e) => MatchAction::SetEnv(e.clone()),
        _ => return None,
    })
}
