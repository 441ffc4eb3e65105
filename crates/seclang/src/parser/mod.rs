//! The SecLang parser: reads configuration files (following `Include`),
//! checks every directive and builds a [`RuleSet`](crate::RuleSet).
//!
//! Parsing and evaluation are separate (STYLE.md): this module produces
//! compiled rules and settings; the transaction never reads text.
//! Every error names file, line and column; nothing is silently ignored:
//! a directive Rampart does not implement is an error unless it only
//! configures something Rampart does itself (audit and debug logs, temp
//! directories), which is listed in [`ACCEPTED_WITHOUT_EFFECT`].

pub mod lexer;
pub mod targets;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::actions::{self, Action, IdRange};
use crate::config::{EngineConfig, LimitAction};
use crate::error::{LoadError, Location};
use crate::operators::{self, BuildContext};
use crate::rule::{CompiledOperator, EngineMode, Phase};
use crate::ruleset::{Draft, Exception, RuleSet};
use lexer::{Arg, RawDirective};
use targets::parse_targets;

/// Directives that configure what Rampart handles on its own (audit log,
/// debug log, temporary files, persistent-collection files): accepted so
/// that ModSecurity's recommended configuration loads, with no effect.
pub const ACCEPTED_WITHOUT_EFFECT: &[&str] = &[
    "SecAuditEngine",
    "SecAuditLog",
    "SecAuditLog2",
    "SecAuditLogDirMode",
    "SecAuditLogFileMode",
    "SecAuditLogFormat",
    "SecAuditLogParts",
    "SecAuditLogRelevantStatus",
    "SecAuditLogStorageDir",
    "SecAuditLogType",
    "SecDebugLog",
    "SecDebugLogLevel",
    "SecTmpDir",
    "SecDataDir",
    "SecUploadDir",
    "SecUploadKeepFiles",
    "SecUploadFileMode",
    "SecTmpSaveUploadedFiles",
    "SecRequestBodyInMemoryLimit",
    "SecPcreMatchLimit",
    "SecPcreMatchLimitRecursion",
    "SecStatusEngine",
    "SecCollectionTimeout",
    "SecCookieFormat",
    "SecUnicodeMapFile",
    "SecXmlExternalEntity",
    "SecServerSignature",
    "SecConnEngine",
    "SecHashEngine",
    "SecGeoLookupDb",
];

/// Collects directives into a rule set.
#[derive(Default)]
pub struct RuleSetBuilder {
    pub(crate) config: EngineConfig,
    pub(crate) drafts: Vec<Draft>,
    pub(crate) exceptions: Vec<Exception>,
    pub(crate) defaults: [Option<Vec<Action>>; 5],
    /// A rule with `chain` waits here for its next link.
    open_chain: bool,
    include_depth: usize,
    /// Directory of the first text or file loaded: a relative `Include`
    /// that does not resolve next to its file resolves here (ModSecurity
    /// resolves against the working directory of the configuration).
    root_dir: Option<PathBuf>,
    /// A `SecResponseBodyMimeType` (or `...TypesClear`) was read: the
    /// default list (text/plain, text/html) has been replaced.
    mime_types_written: bool,
}

impl RuleSetBuilder {
    pub fn new() -> Self {
        RuleSetBuilder::default()
    }

    /// Loads a file (and what it includes).
    pub fn add_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let name: Arc<str> = Arc::from(path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|e| {
            LoadError::new(
                Location {
                    file: name.clone(),
                    line: 0,
                    column: 0,
                },
                format!("cannot read: {e}"),
            )
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.add_text_named(name, &text, &base)
    }

    /// Loads rules from text; `name` labels errors and `base_dir` resolves
    /// relative paths (Include, data files).
    pub fn add_text(&mut self, name: &str, text: &str, base_dir: &Path) -> Result<(), LoadError> {
        self.add_text_named(Arc::from(name), text, base_dir)
    }

    fn add_text_named(
        &mut self,
        name: Arc<str>,
        text: &str,
        base_dir: &Path,
    ) -> Result<(), LoadError> {
        if self.root_dir.is_none() {
            self.root_dir = Some(base_dir.to_path_buf());
        }
        for d in lexer::lex(&name, text)? {
            self.directive(d, base_dir)?;
        }
        Ok(())
    }

    /// Checks the whole set and compiles it.
    pub fn build(self) -> Result<RuleSet, LoadError> {
        if self.open_chain {
            if let Some(last) = self.drafts.last() {
                return Err(LoadError::new(
                    last.location.clone(),
                    "rule has 'chain' but no rule follows it",
                ));
            }
        }
        RuleSet::compile(self)
    }

    fn directive(&mut self, d: RawDirective, base_dir: &Path) -> Result<(), LoadError> {
        let at = |msg: String| LoadError::new(d.location.clone(), msg);
        let name = d.name.to_ascii_lowercase();
        // Only a rule's list of actions may miss its closing quote at the
        // end of the line (ModSecurity ends it there); anywhere else the
        // open quote is an error.
        let actions_at = match name.as_str() {
            "secrule" => Some(2),
            "secaction" => Some(0),
            _ => None,
        };
        if let Some((i, a)) = d.args.iter().enumerate().find(|(_, a)| a.unclosed) {
            if Some(i) != actions_at || i + 1 != d.args.len() {
                return Err(LoadError::new(
                    a.location.clone(),
                    "unterminated quote".to_string(),
                ));
            }
        }
        let one = |d: &RawDirective| -> Result<String, LoadError> {
            match d.args.as_slice() {
                [a] => Ok(a.text.clone()),
                _ => Err(LoadError::new(
                    d.location.clone(),
                    format!("{} takes exactly one argument", d.name),
                )),
            }
        };
        match name.as_str() {
            "secrule" => self.sec_rule(&d, base_dir)?,
            "secaction" => self.sec_action(&d)?,
            "secmarker" => {
                let m = one(&d)?;
                self.check_chain_closed(&d)?;
                self.drafts.push(Draft::marker(m, d.location.clone()));
            }
            "secdefaultaction" => {
                let text = one(&d)?;
                let list = actions::parse_list(&text).map_err(at)?;
                let mut phase = Phase::RequestBody;
                for a in &list {
                    if !a.allowed_as_default() {
                        return Err(at(format!(
                            "the action '{}' is not suitable to be part of the SecDefaultActions",
                            a.name()
                        )));
                    }
                    if let Action::Phase(p) = a {
                        phase = *p;
                    }
                }
                if !list.iter().any(|a| matches!(a, Action::Disruptive(_))) {
                    return Err(at(
                        "SecDefaultAction must specify a disruptive action.".into()
                    ));
                }
                let slot = &mut self.defaults[phase.index()];
                if slot.is_some() {
                    return Err(at(format!(
                        "SecDefaultActions can only be placed once per phase and configuration context. Phase {} was informed already.",
                        phase.number()
                    )));
                }
                *slot = Some(list);
            }
            "secruleengine" => {
                self.config.rule_engine = EngineMode::parse(&one(&d)?).map_err(at)?
            }
            "secrequestbodyaccess" => {
                self.config.request_body_access = on_off(&one(&d)?).map_err(at)?
            }
            "secresponsebodyaccess" => {
                self.config.response_body_access = on_off(&one(&d)?).map_err(at)?
            }
            "secrequestbodylimit" => {
                self.config.request_body_limit = number(&one(&d)?).map_err(at)?
            }
            "secrequestbodynofileslimit" => {
                self.config.request_body_no_files_limit = number(&one(&d)?).map_err(at)?
            }
            "secrequestbodylimitaction" => {
                self.config.request_body_limit_action = LimitAction::parse(&one(&d)?).map_err(at)?
            }
            "secresponsebodylimit" => {
                self.config.response_body_limit = number(&one(&d)?).map_err(at)?
            }
            "secresponsebodylimitaction" => {
                self.config.response_body_limit_action =
                    LimitAction::parse(&one(&d)?).map_err(at)?
            }
            "secresponsebodymimetype" => {
                if d.args.is_empty() {
                    return Err(at(
                        "SecResponseBodyMimeType needs at least one MIME type".into()
                    ));
                }
                // The first one replaces the default list (ModSecurity v3
                // applies its defaults only when no type is configured);
                // later ones add to it.
                if !self.mime_types_written {
                    self.mime_types_written = true;
                    self.config.response_body_mime_types.clear();
                }
                for a in &d.args {
                    for t in a.text.split_whitespace() {
                        let t = t.to_ascii_lowercase();
                        if !self.config.response_body_mime_types.contains(&t) {
                            self.config.response_body_mime_types.push(t);
                        }
                    }
                }
            }
            "secresponsebodymimetypesclear" => {
                self.mime_types_written = true;
                self.config.response_body_mime_types.clear()
            }
            "secargumentseparator" => {
                let s = one(&d)?;
                match s.as_bytes() {
                    [b] => self.config.argument_separator = *b,
                    _ => return Err(at(format!("'{s}' is not a single-character separator"))),
                }
            }
            "secargumentslimit" => {
                self.config.arguments_limit = Some(number(&one(&d)?).map_err(at)?)
            }
            "secrequestbodyjsondepthlimit" => {
                self.config.json_depth_limit = number(&one(&d)?).map_err(at)?
            }
            "secuploadfilelimit" => {
                self.config.upload_file_limit = number(&one(&d)?).map_err(at)?
            }
            "secwebappid" => self.config.web_app_id = one(&d)?,
            "seccomponentsignature" => self.config.component_signatures.push(one(&d)?),
            "secruleremovebyid" => {
                if d.args.is_empty() {
                    return Err(at("SecRuleRemoveById needs rule ids".into()));
                }
                let mut ranges = Vec::new();
                for a in &d.args {
                    for part in a.text.split([' ', ',']).filter(|p| !p.is_empty()) {
                        ranges.push(
                            IdRange::parse(part)
                                .map_err(|e| LoadError::new(a.location.clone(), e))?,
                        );
                    }
                }
                self.exceptions.push(Exception::RemoveById(ranges));
            }
            "secruleremovebytag" => self.exceptions.push(Exception::RemoveByTag(one(&d)?)),
            "secruleremovebymsg" => self.exceptions.push(Exception::RemoveByMsg(one(&d)?)),
            "secruleupdatetargetbyid" | "secruleupdatetargetbytag" | "secruleupdatetargetbymsg" => {
                let (key, targets, replaced) = match d.args.as_slice() {
                    [k, t] => (k, t, None),
                    [k, t, r] => (k, t, Some(r)),
                    _ => {
                        return Err(at(format!(
                            "{} takes a rule selector, targets and optionally a target to replace",
                            d.name
                        )))
                    }
                };
                let targets = parse_targets(&targets.text)
                    .map_err(|e| LoadError::new(targets.location.clone(), e))?;
                let replaced = match replaced {
                    Some(r) => Some(
                        targets::parse_target_ref(&r.text)
                            .map_err(|e| LoadError::new(r.location.clone(), e))?,
                    ),
                    None => None,
                };
                let selector = match name.as_str() {
                    "secruleupdatetargetbyid" => crate::ruleset::RuleSelector::Ids(parse_ids(key)?),
                    "secruleupdatetargetbytag" => {
                        crate::ruleset::RuleSelector::Tag(key.text.clone())
                    }
                    _ => crate::ruleset::RuleSelector::Msg(key.text.clone()),
                };
                self.exceptions.push(Exception::UpdateTarget {
                    selector,
                    targets,
                    replaced,
                });
            }
            "secruleupdateactionbyid" => {
                let (key, list) = match d.args.as_slice() {
                    [k, l] => (k, l),
                    _ => {
                        return Err(at(
                            "SecRuleUpdateActionById takes a rule id and actions".into()
                        ))
                    }
                };
                let ids = parse_ids(key)?;
                let list = actions::parse_list(&list.text)
                    .map_err(|e| LoadError::new(list.location.clone(), e))?;
                for a in &list {
                    if matches!(a, Action::Id(_) | Action::Phase(_) | Action::Chain) {
                        return Err(at(format!(
                            "SecRuleUpdateActionById cannot change '{}'",
                            a.name()
                        )));
                    }
                }
                self.exceptions
                    .push(Exception::UpdateAction { ids, actions: list });
            }
            "include" => {
                let pattern = one(&d)?;
                self.include(&pattern, base_dir, &d.location)?;
            }
            _ => {
                if let Some(known) = ACCEPTED_WITHOUT_EFFECT
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(&d.name))
                {
                    let _ = known;
                } else if name.starts_with("sec") || name == "include" {
                    return Err(at(format!("unsupported directive '{}'", d.name)));
                } else {
                    return Err(at(format!("unknown directive '{}'", d.name)));
                }
            }
        }
        Ok(())
    }

    fn include(
        &mut self,
        pattern: &str,
        base_dir: &Path,
        location: &Location,
    ) -> Result<(), LoadError> {
        if self.include_depth > 32 {
            return Err(LoadError::new(
                location.clone(),
                "Include nested too deeply (a loop?)",
            ));
        }
        let full: PathBuf = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            let here = base_dir.join(pattern);
            let exists = |p: &Path| {
                let t = p.to_string_lossy();
                if t.contains(['*', '?', '[']) {
                    glob::glob(&t).is_ok_and(|mut g| g.next().is_some())
                } else {
                    p.exists()
                }
            };
            match &self.root_dir {
                Some(root) if !exists(&here) && exists(&root.join(pattern)) => root.join(pattern),
                _ => here,
            }
        };
        let text = full.to_string_lossy().to_string();
        let mut paths: Vec<PathBuf> = if text.contains(['*', '?', '[']) {
            glob::glob(&text)
                .map_err(|e| {
                    LoadError::new(
                        location.clone(),
                        format!("bad Include pattern '{pattern}': {e}"),
                    )
                })?
                .filter_map(Result::ok)
                .collect()
        } else {
            if !full.exists() {
                return Err(LoadError::new(
                    location.clone(),
                    format!("Include: {} does not exist", full.display()),
                ));
            }
            vec![full]
        };
        paths.sort();
        self.include_depth += 1;
        for p in paths {
            if p.is_file() {
                self.add_file(&p)?;
            }
        }
        self.include_depth -= 1;
        Ok(())
    }

    fn check_chain_closed(&self, d: &RawDirective) -> Result<(), LoadError> {
        if self.open_chain {
            return Err(LoadError::new(
                d.location.clone(),
                format!("{} cannot follow a rule that has 'chain'", d.name),
            ));
        }
        Ok(())
    }

    fn sec_action(&mut self, d: &RawDirective) -> Result<(), LoadError> {
        self.check_chain_closed(d)?;
        let text = match d.args.as_slice() {
            [a] => a,
            _ => {
                return Err(LoadError::new(
                    d.location.clone(),
                    "SecAction takes one quoted list of actions",
                ))
            }
        };
        let list = actions::parse_list(&text.text)
            .map_err(|e| LoadError::new(text.location.clone(), e))?;
        self.push_rule(d, Vec::new(), None, list)
    }

    fn sec_rule(&mut self, d: &RawDirective, base_dir: &Path) -> Result<(), LoadError> {
        let (targets, op, acts): (&Arg, &Arg, Option<&Arg>) = match d.args.as_slice() {
            [t, o] => (t, o, None),
            [t, o, a] => (t, o, Some(a)),
            _ => {
                return Err(LoadError::new(
                    d.location.clone(),
                    "SecRule takes targets, an operator and optionally actions",
                ))
            }
        };
        let target_list = parse_targets(&targets.text)
            .map_err(|e| LoadError::new(targets.location.clone(), e))?;
        let operator = compile_operator(&op.text, base_dir)
            .map_err(|e| LoadError::new(op.location.clone(), e))?;
        let list = match acts {
            Some(a) => {
                actions::parse_list(&a.text).map_err(|e| LoadError::new(a.location.clone(), e))?
            }
            None => Vec::new(),
        };
        self.push_rule(d, target_list, Some(operator), list)
    }

    fn push_rule(
        &mut self,
        d: &RawDirective,
        targets: Vec<targets::TargetSpec>,
        operator: Option<CompiledOperator>,
        list: Vec<Action>,
    ) -> Result<(), LoadError> {
        let chains = list.iter().any(|a| matches!(a, Action::Chain));
        let draft = Draft::rule(d.location.clone(), targets, operator, list);
        if self.open_chain {
            let parent = self
                .drafts
                .last_mut()
                .expect("an open chain always has a rule before it");
            draft
                .check_chain_child()
                .map_err(|e| LoadError::new(d.location.clone(), e))?;
            parent.push_chain_link(draft);
        } else {
            draft
                .check_chain_start()
                .map_err(|e| LoadError::new(d.location.clone(), e))?;
            self.drafts.push(draft);
        }
        self.open_chain = chains;
        Ok(())
    }
}

fn parse_ids(arg: &Arg) -> Result<Vec<IdRange>, LoadError> {
    arg.text
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(|p| IdRange::parse(p).map_err(|e| LoadError::new(arg.location.clone(), e)))
        .collect()
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("'{other}' is not On or Off")),
    }
}

fn number(v: &str) -> Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .map_err(|_| format!("'{}' is not a number", v.trim()))
}

/// Compiles `@name param`, `!@name param` or a bare regex.
pub(crate) fn compile_operator(text: &str, base_dir: &Path) -> Result<CompiledOperator, String> {
    let (negated, rest) = match text.strip_prefix('!') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (name, param) = match rest.strip_prefix('@') {
        Some(r) => {
            let end = r.find([' ', '\t']).unwrap_or(r.len());
            let param = r[end..].strip_prefix([' ', '\t']).unwrap_or(&r[end..]);
            (&r[..end], param)
        }
        None => ("rx", rest),
    };
    let cx = BuildContext {
        base_dir: base_dir.to_path_buf(),
    };
    let op = operators::build(name, param, &cx)?;
    let canonical = operators::REGISTRY
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
        .map_or(name, |e| e.name);
    Ok(CompiledOperator {
        name: canonical.to_string(),
        param: param.to_string(),
        negated,
        op,
    })
}

#[cfg(test)]
mod tests {
    use crate::RuleSetBuilder;
    use std::path::Path;

    fn load(text: &str) -> Result<(), crate::LoadError> {
        let mut b = RuleSetBuilder::new();
        b.add_text("t.conf", text, Path::new("."))?;
        b.build().map(|_| ())
    }

    #[test]
    fn first_mime_type_directive_replaces_the_defaults() {
        let types = |text: &str| {
            let mut b = RuleSetBuilder::new();
            b.add_text("t.conf", text, Path::new(".")).unwrap();
            b.config.response_body_mime_types.clone()
        };
        assert_eq!(types(""), ["text/plain", "text/html"]);
        assert_eq!(
            types("SecResponseBodyMimeType application/x\nSecResponseBodyMimeType text/xml\n"),
            ["application/x", "text/xml"]
        );
        assert_eq!(
            types("SecResponseBodyMimeTypesClear\nSecResponseBodyMimeType text/xml\n"),
            ["text/xml"]
        );
    }

    #[test]
    fn actions_may_miss_their_closing_quote_at_end_of_line() {
        load("SecRule ARGS \"@rx a\" \"id:1,phase:1,block\nSecAction \"id:2,pass\n").unwrap();
        load("SecRule ARGS \"@rx a\" \"id:1,chain\nSecRule ARGS \"b\" \"t:none\"\n").unwrap();
        let e = load("SecRule ARGS \"@rx a\n").unwrap_err();
        assert!(e.to_string().contains("unterminated quote"), "{e}");
        let e = load("SecRuleEngine \"On\n").unwrap_err();
        assert!(e.to_string().contains("unterminated quote"), "{e}");
    }
}
