//! False-positive tuning (`rampart waf tune`): from what the WAF recorded
//! on the audit log (which rule matched which variable on which path),
//! the noisiest rule/target/route combinations and, for each, the
//! narrowest exclusion that silences it.
//!
//! Owns: reading audit lines, grouping matches, generalising ids in paths
//! and names (`/order/12` becomes `^/order/[0-9]+$`, a session cookie
//! with a hash in its name a regex selector), writing the SecLang, and
//! merging chosen exclusions into a site's exclusion file. Must not:
//! evaluate rules or decide what to apply (the operator does).
//!
//! An exclusion removes one rule from one variable on one route
//! (`ctl:ruleRemoveTargetById`), or from one cookie or header everywhere
//! (browsers send those on every path). A rule matched on something no
//! target names (the request line, a computed variable) is removed on
//! that route only. A rule is removed from the whole site only when the
//! operator asks for it by id.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

/// Rules that add up or report scores rather than detect anything: an
/// exclusion of them would hide every detection, so tuning never proposes
/// one.
fn is_scoring_rule(id: u32) -> bool {
    (949_000..950_000).contains(&id)
        || (959_000..960_000).contains(&id)
        || (980_000..981_000).contains(&id)
        || (900_000..906_000).contains(&id)
}

/// Query arguments that select a handler on platforms that route by
/// argument (`/?wc-ajax=checkout`, `index.php?controller=order`): a route
/// includes them so that an exclusion stays on that handler.
const ROUTING_ARGS: &[&str] = &[
    "wc-ajax",
    "controller",
    "action",
    "rest_route",
    "route",
    "fc",
    "module",
];

/// First id of the rules tuning writes (the presets use 1990000 and up).
pub const FIRST_TUNE_ID: u32 = 1_980_000;
const LAST_TUNE_ID: u32 = 1_989_999;

/// One request the audit log recorded.
#[derive(Debug, Clone)]
pub struct Observation {
    pub site: Option<String>,
    pub method: String,
    pub uri: String,
    pub blocked: bool,
    pub matches: Vec<RuleHit>,
}

/// One rule's match in a recorded request.
#[derive(Debug, Clone)]
pub struct RuleHit {
    pub rule: u32,
    pub msg: String,
    /// The phase the rule runs in (2 when the audit line predates it).
    pub phase: u8,
    /// The variables it matched, each with the characters its value held
    /// when the audit line says (see [`crate::stages::waf::shape`]).
    pub targets: Vec<(String, Option<ByteSet>)>,
}

/// A set of byte values, written and read as a `@validateByteRange`
/// list (`32,39,48-57`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSet([u64; 4]);

impl Serialize for ByteSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.list())
    }
}

impl ByteSet {
    /// Reads a list such as `32,48-57`; `None` when it is not one.
    pub fn parse(list: &str) -> Option<ByteSet> {
        let mut set = ByteSet::default();
        if list.is_empty() {
            return Some(set);
        }
        for part in list.split(',') {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<u8>().ok()?, b.parse::<u8>().ok()?),
                None => {
                    let a = part.parse::<u8>().ok()?;
                    (a, a)
                }
            };
            if a > b {
                return None;
            }
            for x in a..=b {
                set.insert(x);
            }
        }
        Some(set)
    }

    pub fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    pub fn union(&self, other: &ByteSet) -> ByteSet {
        let mut out = *self;
        for (o, x) in out.0.iter_mut().zip(other.0) {
            *o |= x;
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The `@validateByteRange` list: `32,39,48-57`.
    pub fn list(&self) -> String {
        let mut out = String::new();
        let mut b = 0u16;
        while b < 256 {
            if !self.contains(b as u8) {
                b += 1;
                continue;
            }
            let start = b;
            while b < 255 && self.contains((b + 1) as u8) {
                b += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            if start == b {
                let _ = write!(out, "{start}");
            } else {
                let _ = write!(out, "{start}-{b}");
            }
            b += 1;
        }
        out
    }

    /// For people: `letters digits { } " : ,` (the list is exact).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let all = |r: std::ops::RangeInclusive<u8>| r.into_iter().all(|b| self.contains(b));
        let letters = all(b'a'..=b'z') && all(b'A'..=b'Z');
        let digits = all(b'0'..=b'9');
        let high = all(128..=255);
        if letters {
            parts.push("letters".into());
        }
        if digits {
            parts.push("digits".into());
        }
        if high {
            parts.push("non-ASCII".into());
        }
        for b in 0u8..128 {
            if !self.contains(b)
                || (letters && b.is_ascii_alphabetic())
                || (digits && b.is_ascii_digit())
            {
                continue;
            }
            parts.push(match b {
                b' ' => "space".into(),
                0x21..=0x7e => (b as char).to_string(),
                _ => format!("\\x{b:02x}"),
            });
        }
        for b in 128u8..=255 {
            if !high && self.contains(b) {
                parts.push(format!("\\x{b:02x}"));
            }
        }
        parts.join(" ")
    }
}

/// Reads audit lines (`audit.jsonl`) at or after `since`, of `site` when
/// given. Lines that are not request events are skipped; a line that is
/// not JSON is an error naming its number.
pub fn observations(
    input: impl BufRead,
    since: Option<OffsetDateTime>,
    site: Option<&str>,
) -> Result<Vec<Observation>, String> {
    let mut out = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("line {}: not an audit record: {e}", n + 1))?;
        if v["kind"] != "request" {
            continue;
        }
        if let Some(since) = since {
            let t = v["time"].as_str().and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            });
            if t.is_none_or(|t| t < since) {
                continue;
            }
        }
        let s = v["site"].as_str().map(str::to_string);
        if let Some(want) = site {
            if s.as_deref() != Some(want) {
                continue;
            }
        }
        let mut matches = Vec::new();
        for m in v["data"]["matches"].as_array().into_iter().flatten() {
            let Some(id) = m["id"].as_u64().and_then(|i| u32::try_from(i).ok()) else {
                continue;
            };
            let shapes: Vec<Option<ByteSet>> = m["shapes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().and_then(ByteSet::parse))
                .collect();
            let targets = m["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, t)| {
                    t.as_str()
                        .map(|t| (t.to_string(), shapes.get(i).copied().flatten()))
                })
                .collect();
            let msg = m["msg"].as_str().unwrap_or_default().to_string();
            let phase = m["phase"]
                .as_u64()
                .and_then(|p| u8::try_from(p).ok())
                .filter(|p| (1..=5).contains(p))
                .unwrap_or(2);
            matches.push(RuleHit {
                rule: id,
                msg,
                phase,
                targets,
            });
        }
        out.push(Observation {
            site: s,
            method: v["method"].as_str().unwrap_or_default().to_string(),
            uri: v["uri"].as_str().unwrap_or_default().to_string(),
            blocked: v["action"] == "block",
            matches,
        });
    }
    Ok(out)
}

/// Where an exclusion applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Scope {
    /// `REQUEST_FILENAME` test: `@streq /path` or `@rx ^...$`; `None`:
    /// every path.
    pub path: Option<PathTest>,
    /// Routing arguments of the query string the route carries.
    pub args: Vec<(String, String)>,
}

/// How a route's path is recognised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "op", content = "value", rename_all = "lowercase")]
pub enum PathTest {
    Streq(String),
    Rx(String),
}

impl PathTest {
    fn seclang(&self) -> String {
        match self {
            PathTest::Streq(p) => format!("@streq {p}"),
            PathTest::Rx(r) => format!("@rx {r}"),
        }
    }

    /// For people: `/search`, `^/order/[0-9]+$`.
    pub fn display(&self) -> &str {
        match self {
            PathTest::Streq(p) | PathTest::Rx(p) => p,
        }
    }
}

/// One proposed exclusion.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub rule: u32,
    pub msg: String,
    /// The variable as an exclusion names it: `ARGS:q`,
    /// `REQUEST_COOKIES:/^wp_woocommerce_session_[0-9a-f]+$/`; `None`
    /// when the rule matched nothing a target can name (then the rule is
    /// removed on the route).
    pub target: Option<String>,
    pub scope: Scope,
    /// The characters the variable held in every request it matched in:
    /// the exclusion holds only while its value keeps to them, so an
    /// attack placed in the same variable (a quote, a bracket, a space
    /// it never had) still meets the rule. `None`: unconditional (the
    /// audit lines did not say, or the target has no value to test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chars: Option<ByteSet>,
    /// The rule's phase.
    pub phase: u8,
    /// Requests in which it matched.
    pub hits: usize,
    /// Of those, requests that were blocked (or would have been, in
    /// detect mode the audit log says `detect`).
    pub methods: Vec<String>,
    /// One request URI it matched on.
    pub example: String,
}

impl Proposal {
    /// The line that identifies this exclusion in an exclusion file, so
    /// that applying twice adds it once.
    pub fn signature(&self) -> String {
        let mut s = format!(
            "# tune: rule {} target {} path {}",
            self.rule,
            self.target.as_deref().unwrap_or("-"),
            self.scope.path.as_ref().map_or("*", PathTest::display)
        );
        for (k, v) in &self.scope.args {
            let _ = write!(s, " {k}={v}");
        }
        if let Some((_, chars)) = self.condition() {
            let _ = write!(s, " chars {}", chars.list());
        }
        s
    }

    /// The variable and characters the exclusion is conditioned on: a
    /// target with a value of its own (not a name list) whose characters
    /// the audit lines recorded.
    pub fn condition(&self) -> Option<(&str, ByteSet)> {
        let target = self.target.as_deref()?;
        let chars = self.chars.filter(|c| !c.is_empty())?;
        let var = target.split(':').next().unwrap_or(target);
        (!var.ends_with("_NAMES")).then_some((target, chars))
    }

    /// How many rule ids [`Proposal::seclang`] uses, from the one given.
    pub fn ids(&self) -> u32 {
        if self.condition().is_some() {
            2
        } else {
            1
        }
    }

    /// The SecLang rule(s), with rule ids from `id` (see
    /// [`Proposal::ids`]).
    pub fn seclang(&self, id: u32) -> String {
        let ctl = match &self.target {
            Some(t) => format!("ctl:ruleRemoveTargetById={};{t}", self.rule),
            None => format!("ctl:ruleRemoveById={}", self.rule),
        };
        let mut out = String::new();
        let mut links: Vec<(String, String)> = Vec::new();
        if let Some(p) = &self.scope.path {
            links.push(("REQUEST_FILENAME".into(), p.seclang()));
        }
        for (k, v) in &self.scope.args {
            links.push((format!("ARGS_GET:{k}"), format!("@streq {v}")));
        }
        // Routing arguments of the query string are known in phase 1, so
        // an unconditional exclusion is in place before any rule reads
        // the request. A conditional one tests the variable where it is
        // known: cookies, headers and the URI in phase 1, arguments (the
        // body's too) in phase 2, unless the rule itself runs in phase 1.
        let mut phase = 1;
        let mut exclusion_id = id;
        if let Some((target, chars)) = self.condition() {
            let var = target.split(':').next().unwrap_or(target);
            let early = matches!(
                var,
                "REQUEST_COOKIES"
                    | "REQUEST_HEADERS"
                    | "REQUEST_FILENAME"
                    | "REQUEST_BASENAME"
                    | "REQUEST_URI"
                    | "QUERY_STRING"
            );
            if !early && self.phase != 1 {
                phase = 2;
            }
            // First flag a value with a character the real traffic never
            // had (checked once URL-decoded, as the CRS reads it), then
            // exclude only when nothing was flagged.
            let _ = writeln!(
                out,
                "SecRule {target} \"@validateByteRange {}\" \"id:{id},phase:{phase},pass,nolog,t:none,t:urlDecodeUni,setvar:tx.rampart_tune_{id}=1\"",
                chars.list()
            );
            links.push((format!("&TX:rampart_tune_{id}"), "@eq 0".to_string()));
            exclusion_id = id + 1;
        }
        let head = format!("id:{exclusion_id},phase:{phase},pass,nolog,t:none");
        if links.is_empty() {
            let _ = write!(out, "SecAction \"{head},{ctl}\"");
            return out;
        }
        let last = links.len() - 1;
        for (i, (var, op)) in links.iter().enumerate() {
            let actions = match (i, i == last) {
                (0, true) => format!("{head},{ctl}"),
                (0, false) => format!("{head},chain"),
                (_, true) => format!("t:none,{ctl}"),
                (_, false) => "t:none,chain".to_string(),
            };
            if i > 0 {
                out.push_str("\n    ");
            }
            let _ = write!(out, "SecRule {var} \"{op}\" \"{actions}\"");
        }
        out
    }
}

/// Groups the matches of `observations` into proposals, noisiest first;
/// combinations seen in fewer than `min_hits` requests are left out.
pub fn propose(observations: &[Observation], min_hits: usize) -> Vec<Proposal> {
    #[derive(Default)]
    struct Acc {
        msg: String,
        phase: u8,
        requests: BTreeSet<usize>,
        methods: BTreeSet<String>,
        example: String,
        chars: ByteSet,
        /// A match whose characters the audit line did not record.
        unknown_chars: bool,
    }
    let mut groups: BTreeMap<(u32, Option<String>, Scope), Acc> = BTreeMap::new();
    for (n, o) in observations.iter().enumerate() {
        let route = route_of(&o.uri);
        for hit in &o.matches {
            if is_scoring_rule(hit.rule) {
                continue;
            }
            let mut named: Vec<(Option<String>, Option<ByteSet>)> = hit
                .targets
                .iter()
                .filter_map(|(t, chars)| exclusion_target(t).map(|e| (Some(e), *chars)))
                .collect();
            if named.is_empty() {
                if route.is_none() {
                    continue;
                }
                named.push((None, None));
            }
            for (target, chars) in named {
                // Browsers send cookies and most headers on every path:
                // those are excluded everywhere, arguments per route.
                let everywhere = target.as_deref().is_some_and(|t| {
                    t.starts_with("REQUEST_COOKIES") || t.starts_with("REQUEST_HEADERS")
                });
                let scope = if everywhere {
                    Scope {
                        path: None,
                        args: Vec::new(),
                    }
                } else {
                    match &route {
                        Some(r) => r.clone(),
                        None => continue,
                    }
                };
                let acc = groups.entry((hit.rule, target, scope)).or_default();
                if acc.msg.is_empty() {
                    acc.msg = hit.msg.clone();
                    acc.example = o.uri.clone();
                    acc.phase = hit.phase;
                }
                match chars {
                    Some(c) => acc.chars = acc.chars.union(&c),
                    None => acc.unknown_chars = true,
                }
                acc.requests.insert(n);
                acc.methods.insert(o.method.clone());
            }
        }
    }
    let mut out: Vec<Proposal> = groups
        .into_iter()
        .filter(|(_, a)| a.requests.len() >= min_hits.max(1))
        .map(|((rule, target, scope), a)| Proposal {
            rule,
            msg: a.msg,
            chars: (!a.unknown_chars && target.is_some()).then_some(a.chars),
            target,
            scope,
            phase: a.phase,
            hits: a.requests.len(),
            methods: a.methods.into_iter().collect(),
            example: a.example,
        })
        .collect();
    out.sort_by(|a, b| {
        b.hits
            .cmp(&a.hits)
            .then(a.rule.cmp(&b.rule))
            .then(a.target.cmp(&b.target))
    });
    out
}

/// The route of a request URI: its path, generalised where a segment is
/// an id, and its routing arguments. `None` when the path cannot be
/// expressed safely.
fn route_of(uri: &str) -> Option<Scope> {
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, q),
        None => (uri, ""),
    };
    // An absolute-form target: keep only the path.
    let path = match path.find("://") {
        Some(i) => {
            let rest = &path[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        None => path,
    };
    if !path.starts_with('/') {
        return None;
    }
    let mut generalised = false;
    let mut rx = String::from("^");
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            rx.push('/');
        }
        if seg.is_empty() {
            continue;
        }
        if is_id(seg) {
            generalised = true;
            rx.push_str(if seg.bytes().all(|b| b.is_ascii_digit()) {
                "[0-9]+"
            } else {
                "[0-9a-fA-F-]+"
            });
        } else if seg.bytes().all(is_plain) {
            rx.push_str(&escape_regex(seg));
        } else {
            // Encoded or unusual characters: any one segment.
            generalised = true;
            rx.push_str("[^/]+");
        }
    }
    rx.push('$');
    let path = if generalised {
        PathTest::Rx(rx)
    } else {
        PathTest::Streq(path.to_string())
    };
    let mut args = Vec::new();
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            if ROUTING_ARGS.contains(&k)
                && !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(is_plain)
                && !args.iter().any(|(a, _)| a == k)
            {
                args.push((k.to_string(), v.to_string()));
            }
        }
    }
    args.sort();
    Some(Scope {
        path: Some(path),
        args,
    })
}

fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._~-".contains(&b)
}

/// A path segment or name part that is an identifier: a number, a long
/// hex string, a UUID.
fn is_id(s: &str) -> bool {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        || (s.len() >= 16 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
}

fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$/-".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The variable an exclusion names for an engine target (`ARGS_POST:q`
/// becomes `ARGS:q`, which covers the query and the body), a regex
/// selector where the name carries an id (numbers in brackets, hashes).
/// `None` for variables no exclusion should name.
fn exclusion_target(target: &str) -> Option<String> {
    let (var, key) = match target.split_once(':') {
        Some((v, k)) => (v, Some(k)),
        None => (target, None),
    };
    let var = match var {
        "ARGS_GET" | "ARGS_POST" | "ARGS" => "ARGS",
        "ARGS_NAMES" | "ARGS_GET_NAMES" | "ARGS_POST_NAMES" => "ARGS_NAMES",
        "REQUEST_COOKIES"
        | "REQUEST_COOKIES_NAMES"
        | "REQUEST_HEADERS"
        | "FILES"
        | "FILES_NAMES"
        | "XML" => var,
        "REQUEST_BODY" | "REQUEST_FILENAME" | "REQUEST_BASENAME" | "QUERY_STRING"
        | "REQUEST_URI" => return Some(var.to_string()),
        _ => return None,
    };
    let key = key?;
    if key.is_empty() || key.len() > 200 {
        return None;
    }
    // What SecLang can carry inside a quoted ctl value.
    if key
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b"\"';,%\\".contains(&b))
    {
        return None;
    }
    if var == "XML" {
        return None;
    }
    let generalised = generalise_name(key);
    Some(match generalised {
        Some(rx) => format!("{var}:/{rx}/"),
        None if key.starts_with('/') => return None,
        None => format!("{var}:{key}"),
    })
}

/// A regex for `name` with its numeric and hash parts replaced by
/// classes, or `None` when the name has none.
fn generalise_name(name: &str) -> Option<String> {
    let mut out = String::from("^");
    let mut changed = false;
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let run_end = |pred: fn(u8) -> bool| {
            let mut j = i;
            while j < bytes.len() && pred(bytes[j]) {
                j += 1;
            }
            j
        };
        let hex_end = run_end(|b| b.is_ascii_hexdigit());
        let digit_end = run_end(|b| b.is_ascii_digit());
        let at_boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if hex_end - i >= 16 && at_boundary {
            out.push_str("[0-9a-fA-F]+");
            changed = true;
            i = hex_end;
        } else if digit_end > i
            && at_boundary
            && (digit_end - i >= 3 || (i > 0 && b"[.".contains(&bytes[i - 1])))
        {
            // An index (`[0]`, `.3`) or a long number; `address_1` is
            // a field of its own.
            out.push_str("[0-9]+");
            changed = true;
            i = digit_end;
        } else {
            out.push_str(&escape_regex(&name[i..i + 1]));
            i += 1;
        }
    }
    out.push('$');
    changed.then_some(out)
}

/// The next free tuning rule id after those `existing` uses.
fn next_id(existing: &str) -> u32 {
    let mut next = FIRST_TUNE_ID;
    for part in existing.split("id:").skip(1) {
        let n: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(id) = n.parse::<u32>() {
            if (FIRST_TUNE_ID..=LAST_TUNE_ID).contains(&id) && id >= next {
                next = id + 1;
            }
        }
    }
    next
}

/// The text to append to an exclusion file holding `existing` for the
/// chosen proposals and whole-rule removals: one commented block each,
/// leaving out what the file already has.
pub fn additions(
    existing: &str,
    chosen: &[&Proposal],
    remove_rules: &[u32],
    stamp: &str,
) -> Result<String, String> {
    let mut id = next_id(existing);
    let mut out = String::new();
    let mut take_id = || -> Result<u32, String> {
        if id > LAST_TUNE_ID {
            return Err(format!(
                "the exclusion file uses every tuning id up to {LAST_TUNE_ID}"
            ));
        }
        id += 1;
        Ok(id - 1)
    };
    for p in chosen {
        let sig = p.signature();
        if existing.lines().any(|l| l.trim() == sig) || out.lines().any(|l| l.trim() == sig) {
            continue;
        }
        let what = match &p.target {
            Some(t) => format!("rule {} on {t}", p.rule),
            None => format!(
                "rule {} (it matched no variable an exclusion can name)",
                p.rule
            ),
        };
        let place = match &p.scope.path {
            Some(path) => format!("on {}", path.display()),
            None => "everywhere (browsers send it on every path)".to_string(),
        };
        let first = take_id()?;
        for _ in 1..p.ids() {
            take_id()?;
        }
        let only_while = match p.condition() {
            Some((_, chars)) => format!(
                "\n# only while the value holds nothing but: {}",
                chars.describe()
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "\n# {stamp}: {what} {place}; {} request(s), e.g. {} {}{only_while}\n# {}\n{sig}\n{}",
            p.hits,
            p.methods.join("/"),
            p.example,
            p.msg,
            p.seclang(first)
        );
    }
    for rule in remove_rules {
        let sig = format!("# tune: remove rule {rule}");
        if existing.lines().any(|l| l.trim() == sig) || out.lines().any(|l| l.trim() == sig) {
            continue;
        }
        let _ = writeln!(
            out,
            "\n# {stamp}: rule {rule} removed from the whole site, as asked (--remove-rule)\n{sig}\nSecAction \"id:{},phase:1,pass,nolog,t:none,ctl:ruleRemoveById={rule}\"",
            take_id()?
        );
    }
    Ok(out)
}

/// Appends `additions` to the exclusion file at `path` (creating it and
/// its directory), replacing the file atomically so that a gateway
/// reloading it never reads half of it.
pub fn apply(path: &Path, additions: &str) -> std::io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::from(
            "# Exclusions written by `rampart waf tune --apply`. Each one is scoped to\n\
             # one rule, one variable and one route; edit or delete freely.\n",
        ),
        Err(e) => return Err(e),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("conf.tmp");
    std::fs::write(&tmp, format!("{existing}{additions}"))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(uri: &str, matches: &[(u32, &[&str])]) -> Observation {
        Observation {
            site: Some("shop".into()),
            method: "POST".into(),
            uri: uri.into(),
            blocked: true,
            matches: matches
                .iter()
                .map(|(id, t)| RuleHit {
                    rule: *id,
                    msg: "msg".to_string(),
                    phase: 2,
                    targets: t.iter().map(|s| (s.to_string(), None)).collect(),
                })
                .collect(),
        }
    }

    /// As `obs`, with the characters of each target's value.
    fn obs_chars(uri: &str, rule: u32, targets: &[(&str, &str)]) -> Observation {
        Observation {
            site: Some("shop".into()),
            method: "POST".into(),
            uri: uri.into(),
            blocked: false,
            matches: vec![RuleHit {
                rule,
                msg: "msg".to_string(),
                phase: 2,
                targets: targets
                    .iter()
                    .map(|(t, c)| (t.to_string(), ByteSet::parse(c)))
                    .collect(),
            }],
        }
    }

    #[test]
    fn byte_sets_read_and_write_validate_byte_range_lists() {
        let s = ByteSet::parse("32,39,48-57,65-90,97-122").unwrap();
        assert!(s.contains(b' ') && s.contains(b'\'') && s.contains(b'q'));
        assert!(!s.contains(b'"') && !s.contains(200));
        assert_eq!(s.list(), "32,39,48-57,65-90,97-122");
        assert_eq!(s.describe(), "letters digits space '");
        assert_eq!(ByteSet::parse("").unwrap().list(), "");
        assert_eq!(ByteSet::parse("0-255").unwrap().list(), "0-255");
        for bad in ["x", "1-", "300", "9-3", "1,,2"] {
            assert_eq!(ByteSet::parse(bad), None, "{bad}");
        }
        let u = ByteSet::parse("34")
            .unwrap()
            .union(&ByteSet::parse("35-36").unwrap());
        assert_eq!(u.list(), "34-36");
    }

    #[test]
    fn exclusions_hold_only_for_the_characters_real_traffic_used() {
        let o = vec![
            obs_chars("/search", 942100, &[("ARGS:q", "48-57,65-90,97-122")]),
            obs_chars("/search", 942100, &[("ARGS:q", "45,65-90,97-122")]),
            obs_chars(
                "/",
                942200,
                &[("REQUEST_COOKIES:cart", "34,37,48-58,123,125")],
            ),
        ];
        let p = propose(&o, 1);
        let q = p.iter().find(|x| x.rule == 942100).unwrap();
        assert_eq!(q.chars.unwrap().list(), "45,48-57,65-90,97-122");
        assert_eq!(q.ids(), 2);
        let rule = q.seclang(1980000);
        assert_eq!(
            rule,
            "SecRule ARGS:q \"@validateByteRange 45,48-57,65-90,97-122\" \"id:1980000,phase:2,pass,nolog,t:none,t:urlDecodeUni,setvar:tx.rampart_tune_1980000=1\"\n\
             SecRule REQUEST_FILENAME \"@streq /search\" \"id:1980001,phase:2,pass,nolog,t:none,chain\"\n    \
             SecRule &TX:rampart_tune_1980000 \"@eq 0\" \"t:none,ctl:ruleRemoveTargetById=942100;ARGS:q\""
        );
        // Cookies are known in phase 1, and everywhere.
        let c = p.iter().find(|x| x.rule == 942200).unwrap();
        let rule = c.seclang(7);
        assert!(rule.starts_with("SecRule REQUEST_COOKIES:cart \"@validateByteRange 34,37,48-58,123,125\" \"id:7,phase:1,"), "{rule}");
        assert!(rule.ends_with("SecRule &TX:rampart_tune_7 \"@eq 0\" \"id:8,phase:1,pass,nolog,t:none,ctl:ruleRemoveTargetById=942200;REQUEST_COOKIES:cart\""), "{rule}");
        // The characters are part of what identifies it, and the ids
        // after it are free.
        let chosen: Vec<&Proposal> = p.iter().collect();
        let text = additions("", &chosen, &[], "stamp").unwrap();
        assert!(text.contains("chars 45,48-57,65-90,97-122"), "{text}");
        assert!(
            text.contains("# only while the value holds nothing but: letters digits -"),
            "{text}"
        );
        let ids: Vec<&str> = text.split("id:").skip(1).map(|t| &t[..7]).collect();
        let mut sorted = ids.clone();
        sorted.dedup();
        assert_eq!(ids, sorted, "each id once: {text}");
        // One match without recorded characters: unconditional.
        let mut mixed = o.clone();
        mixed.push(obs("/search", &[(942100, &["ARGS:q"])]));
        let q = propose(&mixed, 1)
            .into_iter()
            .find(|x| x.rule == 942100)
            .unwrap();
        assert_eq!(q.chars, None);
        assert_eq!(q.ids(), 1);
        // Names have no value of their own to test.
        let names = propose(&[obs_chars("/f", 942100, &[("ARGS_NAMES:a", "97")])], 1);
        assert_eq!(names[0].condition(), None);
    }

    #[test]
    fn groups_generalises_and_skips_scoring_rules() {
        let o = vec![
            obs(
                "/order/12/review",
                &[
                    (942100, &["ARGS_POST:text"]),
                    (949110, &["TX:blocking_inbound_anomaly_score"]),
                ],
            ),
            obs("/order/13/review", &[(942100, &["ARGS_POST:text"])]),
            obs(
                "/?wc-ajax=checkout&x=1",
                &[(932100, &["ARGS:billing_address_1"])],
            ),
            obs(
                "/shop/",
                &[(
                    942440,
                    &["REQUEST_COOKIES:wp_woocommerce_session_0123456789abcdef0123"],
                )],
            ),
        ];
        let p = propose(&o, 1);
        assert_eq!(p.len(), 3, "{p:#?}");
        assert_eq!(p[0].rule, 942100);
        assert_eq!(p[0].hits, 2);
        assert_eq!(p[0].target.as_deref(), Some("ARGS:text"));
        assert_eq!(
            p[0].scope.path,
            Some(PathTest::Rx("^/order/[0-9]+/review$".into()))
        );
        let wc = p.iter().find(|x| x.rule == 932100).unwrap();
        assert_eq!(wc.scope.path, Some(PathTest::Streq("/".into())));
        assert_eq!(
            wc.scope.args,
            vec![("wc-ajax".to_string(), "checkout".to_string())]
        );
        let rule = wc.seclang(1980000);
        assert!(rule.contains("SecRule REQUEST_FILENAME \"@streq /\" \"id:1980000,phase:1,pass,nolog,t:none,chain\""), "{rule}");
        assert!(rule.contains("SecRule ARGS_GET:wc-ajax \"@streq checkout\" \"t:none,ctl:ruleRemoveTargetById=932100;ARGS:billing_address_1\""), "{rule}");
        let cookie = p.iter().find(|x| x.rule == 942440).unwrap();
        assert_eq!(
            cookie.target.as_deref(),
            Some("REQUEST_COOKIES:/^wp_woocommerce_session_[0-9a-fA-F]+$/")
        );
        assert_eq!(cookie.scope.path, None);
        assert!(cookie.seclang(5).starts_with("SecAction \"id:5,"));
        assert!(propose(&o, 2).len() == 1);
    }

    #[test]
    fn names_with_indexes_become_regexes() {
        assert_eq!(
            exclusion_target("ARGS_POST:items[0][name]").as_deref(),
            Some("ARGS:/^items\\[[0-9]+\\]\\[name\\]$/")
        );
        assert_eq!(exclusion_target("ARGS:q").as_deref(), Some("ARGS:q"));
        assert_eq!(exclusion_target("ARGS:a b"), None);
        assert_eq!(exclusion_target("TX:score"), None);
        assert_eq!(
            exclusion_target("REQUEST_FILENAME").as_deref(),
            Some("REQUEST_FILENAME")
        );
        // A digit inside a word is part of the name.
        assert_eq!(exclusion_target("ARGS:utf8").as_deref(), Some("ARGS:utf8"));
    }

    #[test]
    fn additions_number_rules_and_skip_what_the_file_has() {
        let o = vec![obs("/search", &[(942100, &["ARGS:q"])])];
        let p = propose(&o, 1);
        let chosen: Vec<&Proposal> = p.iter().collect();
        let first = additions("", &chosen, &[], "stamp").unwrap();
        assert!(first.contains("id:1980000,"), "{first}");
        assert!(first.contains("# tune: rule 942100 target ARGS:q path /search"));
        let again = additions(&first, &chosen, &[], "stamp").unwrap();
        assert_eq!(again, "");
        let removal = additions(&first, &[], &[920350], "stamp").unwrap();
        assert!(removal.contains("id:1980001,"), "{removal}");
        assert!(removal.contains("ctl:ruleRemoveById=920350"));
    }

    #[test]
    fn apply_writes_atomically_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("waf/shop.exclusions.conf");
        apply(&f, "\nSecAction \"id:1980000,phase:1,pass,nolog\"\n").unwrap();
        apply(&f, "\nSecAction \"id:1980001,phase:1,pass,nolog\"\n").unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.starts_with("# Exclusions written by"));
        assert!(text.contains("1980000") && text.contains("1980001"));
        assert!(!dir.path().join("waf/shop.exclusions.conf.tmp").exists());
    }

    #[test]
    fn reads_audit_lines() {
        let lines = concat!(
            r#"{"time":"2026-12-06T10:00:00Z","kind":"request","site":"shop","method":"GET","uri":"/search?q=1","action":"detect","rules":[942100],"data":{"matches":[{"id":942100,"msg":"SQLi","targets":["ARGS:q"]}]}}"#,
            "\n",
            r#"{"time":"2026-12-06T09:00:00Z","kind":"request","site":"shop","method":"GET","uri":"/old","action":"detect","rules":[1],"data":{}}"#,
            "\n",
            r#"{"time":"2026-12-06T10:00:00Z","kind":"request","site":"other","method":"GET","uri":"/x","action":"block"}"#,
            "\n",
        );
        let since = OffsetDateTime::parse(
            "2026-12-06T09:30:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let o = observations(lines.as_bytes(), Some(since), Some("shop")).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].matches[0].targets, vec![("ARGS:q".to_string(), None)]);
        let with_shape = r#"{"time":"2026-12-06T10:00:00Z","kind":"request","site":"shop","method":"GET","uri":"/s","action":"detect","data":{"matches":[{"id":921110,"phase":1,"targets":["ARGS:q","ARGS:r"],"shapes":["48-57","bad"]}]}}"#;
        let o = observations(with_shape.as_bytes(), None, None).unwrap();
        assert_eq!(o[0].matches[0].phase, 1);
        assert_eq!(
            o[0].matches[0].targets,
            vec![
                ("ARGS:q".to_string(), ByteSet::parse("48-57")),
                ("ARGS:r".to_string(), None)
            ]
        );
        assert!(observations("not json\n".as_bytes(), None, None)
            .unwrap_err()
            .starts_with("line 1:"));
    }
}
