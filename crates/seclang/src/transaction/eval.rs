//! Running the rules of one phase: flow control (markers, skips, allow,
//! disruptions), target collection, transformations, operators, and the
//! order in which ModSecurity runs a rule's actions:
//! - on every match of a value: captures, `MATCHED_VAR*`, `setvar`, and
//!   the message text (`msg`, `logdata`);
//! - after the whole chain matched: `ctl` and the other match actions,
//!   the report, then the disruptive action.
//!
//! A rule whose values all fail clears `MATCHED_VARS`.

use std::borrow::Cow;
use std::sync::Arc;

use super::actions;
use super::{
    Allowed, Disruption, Intervention, RawValue, RequestData, ResponseData, RuleMatch, TxState,
    TxView,
};
use crate::actions::{AllowScope, Disruptive};
use crate::operators::{Captures, OpContext};
use crate::rule::{EngineMode, Flow, Phase, Rule};
use crate::ruleset::{Entry, RuleSet};
use crate::variables::{self, Var, VarValue};

pub(super) fn run_phase(
    rules: &RuleSet,
    phase: Phase,
    req: &RequestData,
    resp: &ResponseData,
    state: &mut TxState,
) {
    let entries = rules.phase(phase);
    if state.debug.is_some() {
        for (id, directive) in rules.removed_in(phase) {
            state.debug(9, || {
                format!("Skipped rule id '{id}'. Removed by {directive}.")
            });
        }
    }
    let mut i = 0;
    let mut skip_n: u32 = 0;
    let mut skip_to: Option<&str> = None;
    while i < entries.len() {
        let rule = match &entries[i] {
            Entry::Marker(name) => {
                if skip_to == Some(name.as_str()) {
                    skip_to = None;
                }
                i += 1;
                continue;
            }
            Entry::Rule(r) => r,
        };
        i += 1;
        if skip_to.is_some() {
            continue;
        }
        if skip_n > 0 {
            skip_n -= 1;
            state.debug(9, || {
                format!("Skipped rule id '{}' due to a `skip' action.", rule.meta.id)
            });
            continue;
        }
        if let Some(why) = removed_by(rule, state) {
            state.debug(9, || match why {
                Removal::Id => format!(
                    "Rule id: {} was skipped due to a ruleRemoveById action...",
                    rule.meta.id
                ),
                Removal::Tag => format!(
                    "Skipped rule id '{}'. Skipped due to a ruleRemoveByTag action.",
                    rule.meta.id
                ),
                Removal::Msg => format!(
                    "Skipped rule id '{}'. Skipped due to a ruleRemoveByMsg action.",
                    rule.meta.id
                ),
            });
            continue;
        }
        let allowed_before = state.allowed;
        if !evaluate(rules, rule, req, resp, state) {
            continue;
        }
        match &rule.flow {
            Flow::Next => {}
            Flow::Skip(n) => skip_n = *n,
            Flow::SkipAfter(marker) => {
                skip_to = Some(marker.as_str());
                if rules.marker_position(phase, marker).is_none_or(|p| p < i) {
                    // No marker ahead: the rest of the phase is skipped.
                    return;
                }
            }
        }
        // A disruption ends the phase; phase 5 (logging) always runs in full.
        if state.intervention.is_some() && phase != Phase::Logging {
            return;
        }
        if state.allowed != allowed_before || std::mem::take(&mut state.phase_allowed) {
            return;
        }
        if state.mode == EngineMode::Off {
            return;
        }
    }
}

/// Why a `ctl` removed a rule for this transaction.
enum Removal {
    Id,
    Tag,
    Msg,
}

fn removed_by(rule: &Rule, state: &TxState) -> Option<Removal> {
    let id = rule.meta.id;
    if state.removed_ids.iter().any(|r| r.contains(id)) {
        return Some(Removal::Id);
    }
    if state.removed_tags.iter().any(|t| rule.meta.has_tag(t)) {
        return Some(Removal::Tag);
    }
    let msg = rule.meta.msg.as_ref().and_then(|m| m.static_text());
    if msg.is_some_and(|m| state.removed_msgs.iter().any(|x| x == m)) {
        return Some(Removal::Msg);
    }
    None
}

/// An operator's name as ModSecurity's messages print it (`Rx`,
/// `PmFromFile`).
pub(super) fn display_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Is this value excluded from `rule` (by `!` targets or `ctl`)?
fn excluded(rule: &Rule, chain_root: &Rule, state: &TxState, var: Var, key: Option<&[u8]>) -> bool {
    if rule.exclusions.iter().any(|t| t.covers(var, key)) {
        return true;
    }
    let id = chain_root.meta.id;
    state
        .removed_targets_by_id
        .iter()
        .any(|(ids, t)| ids.iter().any(|r| r.contains(id)) && t.covers(var, key))
        || state
            .removed_targets_by_tag
            .iter()
            .any(|(tag, t)| chain_root.meta.has_tag(tag) && t.covers(var, key))
}

/// Evaluates a rule and its chain; runs its actions. True on a full match.
pub(super) fn evaluate(
    rules: &RuleSet,
    rule: &Rule,
    req: &RequestData,
    resp: &ResponseData,
    state: &mut TxState,
) -> bool {
    // Each rule starts with no matched variables of earlier rules (a
    // chain's links see the ones their chain collected).
    state.matched.last = None;
    state.matched.clear();
    evaluate_link(rules, rule, rule, req, resp, state)
}

fn evaluate_link(
    rules: &RuleSet,
    rule: &Rule,
    root: &Rule,
    req: &RequestData,
    resp: &ResponseData,
    state: &mut TxState,
) -> bool {
    let matched = match &rule.operator {
        None => {
            // SecAction: matches once, unconditionally.
            state.debug(4, || {
                format!("(Rule: {}) Executing unconditional rule...", root.meta.id)
            });
            actions::on_value_match(rule, root, req, resp, state);
            true
        }
        Some(op) => {
            // A rule none of whose literals occurs in any value of its
            // targets cannot match: skip it without looking further.
            if let (Some(group), Some(pf)) = (rule.target_group, rule.pf_idx) {
                if state.debug.is_none()
                    && !group_may_match(rules, rule, group, pf, req, resp, state)
                {
                    state.matched.last = None;
                    state.matched.clear();
                    return false;
                }
            }
            let mut values: Vec<VarValue<'_>> = Vec::new();
            {
                let view = TxView {
                    req,
                    resp,
                    state,
                    rule: Some(&root.meta),
                    web_app_id: "",
                };
                for t in &rule.targets {
                    let start = values.len();
                    variables::collect(&view, t.var, &t.selector, &mut values);
                    // Exclusions first, then counting.
                    if !rule.exclusions.is_empty()
                        || !state.removed_targets_by_id.is_empty()
                        || !state.removed_targets_by_tag.is_empty()
                    {
                        let mut keep = start;
                        for j in start..values.len() {
                            let v = &values[j];
                            if !excluded(rule, root, state, v.var, v.key.as_deref()) {
                                values.swap(keep, j);
                                keep += 1;
                            }
                        }
                        values.truncate(keep);
                    }
                    if t.count {
                        let n = values.len() - start;
                        values.truncate(start);
                        values.push(VarValue {
                            var: t.var,
                            key: match &t.selector {
                                variables::Selector::All => None,
                                s => Some(Cow::Owned(s.text().into_owned().into_bytes())),
                            },
                            value: Cow::Owned(n.to_string().into_bytes()),
                        });
                    }
                }
            }
            state.debug(9, || {
                format!(
                    "(Rule: {}) Executing operator \"{}\" with param \"{}\" against {}.",
                    root.meta.id,
                    display_name(&op.name),
                    op.param,
                    rule.targets
                        .iter()
                        .map(|t| {
                            let sel = t.selector.text();
                            let prefix = if t.count { "&" } else { "" };
                            if sel.is_empty() {
                                format!("{prefix}{}", t.var.name())
                            } else {
                                format!("{prefix}{}:{sel}", t.var.name())
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                )
            });
            let mut any = false;
            let mut captures = Captures::default();
            let mut candidates: Vec<Candidate<'_>> = Vec::with_capacity(1);
            for v in &values {
                if state.debug.is_some() {
                    trace_transformations(rule, &v.value, state);
                }
                transform(rule, &v.value, state, &mut candidates);
                for candidate in candidates.iter() {
                    state.debug(9, || {
                        format!(
                            "Target value: \"{}\" (Variable: {})",
                            String::from_utf8_lossy(candidate),
                            String::from_utf8_lossy(&v.full_name())
                        )
                    });
                    if let (Some(pf), Some(idx)) = (&rule.prefilter, rule.pf_idx) {
                        let possible = match (&v.value, rule.multi_match) {
                            (Cow::Borrowed(b), false) => {
                                value_bits(rules, rule.chain_id, b, candidate, state)
                                    .is_none_or(|bits| bit(bits, idx))
                            }
                            _ => pf.may_match(candidate),
                        };
                        if !possible {
                            continue;
                        }
                    }
                    captures.groups.clear();
                    let hit = {
                        let view = TxView {
                            req,
                            resp,
                            state,
                            rule: Some(&root.meta),
                            web_app_id: "",
                        };
                        let mut cx = OpContext {
                            macros: &view,
                            captures: if rule.capture {
                                Some(&mut captures)
                            } else {
                                None
                            },
                        };
                        op.op.evaluate(&mut cx, candidate) != op.negated
                    };
                    if hit {
                        any = true;
                        if rule.capture {
                            for (n, g) in captures.groups.iter().enumerate().take(10) {
                                state.tx.set(&n.to_string(), g.clone());
                                if state.debug.is_some() {
                                    let shown = String::from_utf8_lossy(g).into_owned();
                                    let what = if op.name.eq_ignore_ascii_case("rx") {
                                        "regex subexpression".to_string()
                                    } else {
                                        format!("{} match", display_name(&op.name))
                                    };
                                    state.debug(7, || format!("Added {what} TX.{n}: {shown}"));
                                }
                            }
                        }
                        let name = v.full_name();
                        // ModSecurity logs the parameter as the operator
                        // used it: with its `%{...}` macros expanded.
                        let param = if op.param.contains("%{") {
                            let m = crate::macros::MacroString::parse(&op.param);
                            String::from_utf8_lossy(&actions::expand(&m, req, resp, state, root))
                                .into_owned()
                        } else {
                            op.param.clone()
                        };
                        state.last_match = Some(super::MatchDescription {
                            operator: display_name(&op.name),
                            param,
                            variable: String::from_utf8_lossy(&name).into_owned(),
                            value: String::from_utf8_lossy(candidate).into_owned(),
                        });
                        state.matched.last = Some((name.clone(), candidate.to_vec()));
                        if !state.matched.raw.iter().any(|(n, _)| *n == name) {
                            state
                                .matched
                                .raw
                                .push((name.clone(), RawValue(v.value.to_vec())));
                        }
                        state.matched.all.push((name, candidate.to_vec()));
                        actions::on_value_match(rule, root, req, resp, state);
                    }
                }
            }
            state.debug(4, || format!("Rule returned {}.", if any { 1 } else { 0 }));
            any
        }
    };
    if !matched {
        state.matched.last = None;
        state.matched.clear();
        return false;
    }
    if let Some(next) = &rule.chained {
        if !evaluate_link(rules, next, root, req, resp, state) {
            return false;
        }
    }
    actions::on_full_match(rules, rule, root, req, resp, state);
    if std::ptr::eq(rule, root) {
        actions::message(root, req, resp, state);
        finish(rule, req, resp, state);
    }
    true
}

/// Writes ModSecurity's transformation trace: ` T (n) t:name: "value"`.
fn trace_transformations(rule: &Rule, value: &[u8], state: &mut TxState) {
    let mut current = value.to_vec();
    for (n, t) in rule.transformations.iter().enumerate() {
        if let Cow::Owned(next) = (t.apply)(&current) {
            current = next;
        }
        let shown = String::from_utf8_lossy(&current).into_owned();
        state.debug(9, || {
            format!(" T ({n}) t:{}: \"{shown}\"", t.name.to_ascii_lowercase())
        });
    }
}

fn bit(bits: &[u64], idx: u32) -> bool {
    let i = idx as usize;
    bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// Which prefiltered rules of `chain` can match the transformed value of
/// `original` (`transformed`), computed once per value and chain.
fn value_bits<'s>(
    rules: &RuleSet,
    chain: u32,
    original: &[u8],
    transformed: &[u8],
    state: &'s mut TxState,
) -> Option<&'s [u64]> {
    let bank = rules.banks.get(&chain)?;
    let key = (original.as_ptr() as usize, original.len(), chain);
    let words = rules.pf_count.div_ceil(64);
    let entry = state.bank_bits.entry(key).or_insert_with(|| {
        let mut bits = vec![0u64; words].into_boxed_slice();
        bank.scan(transformed, &mut bits);
        bits
    });
    Some(entry)
}

/// True when some value of the group's targets contains one of the
/// rule's literals (after the group's transformations).
fn group_may_match(
    rules: &RuleSet,
    rule: &Rule,
    group: u32,
    pf: u32,
    req: &RequestData,
    resp: &ResponseData,
    state: &mut TxState,
) -> bool {
    let key = (group, state.data_gen);
    if let Some(union) = state.group_bits.get(&key) {
        return bit(union, pf);
    }
    let Some(bank) = rules.banks.get(&rule.chain_id) else {
        return true;
    };
    let words = rules.pf_count.div_ceil(64);
    let mut union = vec![0u64; words].into_boxed_slice();
    let mut values: Vec<VarValue<'_>> = Vec::new();
    {
        let view = TxView {
            req,
            resp,
            state,
            rule: None,
            web_app_id: "",
        };
        for t in &rule.targets {
            variables::collect(&view, t.var, &t.selector, &mut values);
        }
    }
    let mut candidates = Vec::with_capacity(1);
    for v in &values {
        transform(rule, &v.value, state, &mut candidates);
        let Some(c) = candidates.first() else {
            continue;
        };
        match &v.value {
            Cow::Borrowed(b) => {
                if let Some(bits) = value_bits(rules, rule.chain_id, b, c, state) {
                    for (u, w) in union.iter_mut().zip(bits.iter()) {
                        *u |= *w;
                    }
                }
            }
            Cow::Owned(_) => bank.scan(c, &mut union),
        }
    }
    let result = bit(&union, pf);
    state.group_bits.insert(key, union);
    result
}

/// A value as the operator sees it after transformations.
pub(super) enum Candidate<'v> {
    Borrowed(&'v [u8]),
    Shared(Arc<[u8]>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Candidate<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Candidate::Borrowed(b) => b,
            Candidate::Shared(s) => s,
            Candidate::Owned(o) => o,
        }
    }
}

/// Applies a chain of transformations.
fn apply_chain<'v>(rule: &Rule, value: &'v [u8]) -> Cow<'v, [u8]> {
    let mut current: Cow<'v, [u8]> = Cow::Borrowed(value);
    for t in &rule.transformations {
        current = match current {
            Cow::Borrowed(b) => (t.apply)(b),
            Cow::Owned(o) => match (t.apply)(&o) {
                Cow::Borrowed(_) => Cow::Owned(o),
                Cow::Owned(n) => Cow::Owned(n),
            },
        };
    }
    current
}

/// The transformed value(s) the operator sees: the final value, or with
/// `multiMatch` the original and every value a transformation changed.
///
/// Values that live in the request or response for the whole transaction
/// are transformed once per distinct chain and remembered (keyed by where
/// the bytes live, which cannot change while the transaction runs).
// `&Cow` on purpose: a borrowed value's lifetime `'v` carries over into
// the candidates, which `&[u8]` would lose.
#[allow(clippy::ptr_arg)]
fn transform<'v>(
    rule: &Rule,
    value: &Cow<'v, [u8]>,
    state: &mut TxState,
    out: &mut Vec<Candidate<'v>>,
) {
    out.clear();
    if rule.transformations.is_empty() {
        out.push(match value {
            Cow::Borrowed(b) => Candidate::Borrowed(b),
            Cow::Owned(o) => Candidate::Owned(o.clone()),
        });
        return;
    }
    if !rule.multi_match {
        match value {
            Cow::Borrowed(b) => {
                let key = (b.as_ptr() as usize, b.len(), rule.chain_id);
                if let Some(hit) = state.transform_cache.get(&key) {
                    out.push(match hit {
                        None => Candidate::Borrowed(b),
                        Some(arc) => Candidate::Shared(Arc::clone(arc)),
                    });
                    return;
                }
                match apply_chain(rule, b) {
                    Cow::Borrowed(_) => {
                        state.transform_cache.insert(key, None);
                        out.push(Candidate::Borrowed(b));
                    }
                    Cow::Owned(o) => {
                        let arc: Arc<[u8]> = Arc::from(o);
                        state.transform_cache.insert(key, Some(Arc::clone(&arc)));
                        out.push(Candidate::Shared(arc));
                    }
                }
            }
            Cow::Owned(o) => out.push(Candidate::Owned(apply_chain(rule, o).into_owned())),
        }
        return;
    }
    let mut current: Vec<u8> = value.to_vec();
    out.push(Candidate::Owned(current.clone()));
    for t in &rule.transformations {
        if let Cow::Owned(n) = (t.apply)(&current) {
            out.push(Candidate::Owned(n.clone()));
            current = n;
        }
    }
}

/// A chain matched completely: record it and apply its disruptive action.
fn finish(rule: &Rule, req: &RequestData, resp: &ResponseData, state: &mut TxState) {
    let disrupt = state.mode == EngineMode::On;
    let mut status = rule.status;
    let mut link = rule.chained.as_deref();
    while let Some(l) = link {
        status = l.status.or(status);
        link = l.chained.as_deref();
    }
    let mut took_effect = false;
    match &rule.disruptive {
        Some(Disruptive::Deny) if disrupt => {
            state.intervention = Some(Intervention {
                status: status.unwrap_or(403),
                disruption: Disruption::Deny,
                rule_id: rule.meta.id,
                phase: rule.meta.phase,
            });
            took_effect = true;
        }
        Some(Disruptive::Drop) if disrupt => {
            state.intervention = Some(Intervention {
                status: status.unwrap_or(403),
                disruption: Disruption::Drop,
                rule_id: rule.meta.id,
                phase: rule.meta.phase,
            });
            took_effect = true;
        }
        Some(Disruptive::Redirect(url)) if disrupt => {
            let status = status
                .filter(|s| matches!(s, 301 | 302 | 303 | 307 | 308))
                .unwrap_or(302);
            let url =
                String::from_utf8_lossy(&actions::expand(url, req, resp, state, rule)).into_owned();
            state.intervention = Some(Intervention {
                status,
                disruption: Disruption::Redirect(url),
                rule_id: rule.meta.id,
                phase: rule.meta.phase,
            });
            took_effect = true;
        }
        Some(Disruptive::Allow(scope)) if disrupt => {
            match scope {
                AllowScope::All => state.allowed = Some(Allowed::Everything),
                AllowScope::Request => state.allowed = Some(Allowed::Request),
                AllowScope::Phase => state.phase_allowed = true,
            }
            took_effect = true;
        }
        _ => {}
    }
    if took_effect {
        if let Some(d) = &rule.disruptive {
            state.debug(8, || format!("Running action {}", d.name()));
            state.debug(4, || {
                format!("Running (disruptive)     action: {}.", d.name())
            });
        }
    } else if let Some(d) = &rule.disruptive {
        if !matches!(d, Disruptive::Pass) && state.mode != EngineMode::On {
            state.debug(4, || {
                format!(
                    "Not running disruptive action: {}. SecRuleEngine is not On.",
                    d.name()
                )
            });
        }
    }
    // Tags expand their macros like msg does (`tag:'%{tx.x}'`).
    let tags: Vec<String> = rule
        .meta
        .tags
        .iter()
        .map(|t| String::from_utf8_lossy(&actions::expand(t, req, resp, state, rule)).into_owned())
        .collect();
    for tag in &tags {
        state.debug(9, || format!("Rule tag: {tag}"));
    }
    if let Some(s) = rule.meta.severity {
        state.highest_severity = Some(state.highest_severity.map_or(s, |h| h.min(s)));
    }
    let matched_var_name = state
        .matched
        .last
        .as_ref()
        .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let mut matched_var_names: Vec<String> = Vec::new();
    let mut matched_raw: Vec<RawValue> = Vec::new();
    for (n, raw) in &state.matched.raw {
        let n = String::from_utf8_lossy(n);
        if !matched_var_names.iter().any(|m| *m == n) {
            matched_var_names.push(n.into_owned());
            matched_raw.push(raw.clone());
        }
    }
    state.matches.push(RuleMatch {
        id: rule.meta.id,
        phase: rule.meta.phase,
        msg: state.current_msg.clone().unwrap_or_default(),
        logdata: state.current_logdata.clone().unwrap_or_default(),
        severity: rule.meta.severity,
        tags,
        matched_var_name,
        matched_var_names,
        logged: rule.log,
        disruptive: took_effect,
        matched: state.last_match.clone().unwrap_or_default(),
        matched_raw,
    });
    state.current_msg = None;
    state.current_logdata = None;
}
