//! A transaction: one request and its response, fed to the engine part by
//! part (the way libmodsecurity's API works), with the rules of each phase
//! run as soon as its data is complete.
//!
//! ```text
//! process_uri → add_request_header… → process_request_headers   (phase 1)
//! append_request_body… → process_request_body                    (phase 2)
//! add_response_header… → process_response_headers                (phase 3)
//! append_response_body… → process_response_body                  (phase 4)
//! process_logging                                                (phase 5)
//! ```
//!
//! After each `process_*`, [`Transaction::intervention`] says whether the
//! request must be refused. The transaction does no I/O.

mod actions;
mod eval;
mod macros;

use std::sync::Arc;
use std::time::Instant;

use crate::actions::{IdRange, TargetRef};
use crate::body::multipart::{self, MultipartFlags};
use crate::body::{json, urlencoded, xml, BodyProcessor};
use crate::collection::Collection;
use crate::config::LimitAction;
use crate::rule::{EngineMode, Phase};
use crate::ruleset::RuleSet;
use crate::variables::Var;

pub(crate) use macros::TxView;

/// Who is talking to whom.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    /// `UNIQUE_ID`: the request id.
    pub unique_id: String,
}

/// What the multipart processor found.
#[derive(Debug, Clone, Default)]
pub struct MultipartData {
    pub files: Vec<multipart::FilePart>,
    pub part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Every `name=` met, in order.
    pub names: Vec<Vec<u8>>,
    /// Every `filename=` met, in order.
    pub filenames: Vec<Vec<u8>>,
    pub flags: MultipartFlags,
}

/// What processing the request body produced.
#[derive(Debug, Clone, Default)]
pub struct BodyOutcome {
    /// A processor ran (the body phase happened).
    pub processed: bool,
    /// `REQUEST_BODY` is populated.
    pub body_variable: bool,
    /// `REQBODY_ERROR_MSG`.
    pub error: Option<String>,
}

/// The request as the engine sees it.
#[derive(Debug, Default)]
pub struct RequestData {
    pub connection: Connection,
    pub line_seen: bool,
    pub method: Vec<u8>,
    pub uri_raw: Vec<u8>,
    pub protocol: Vec<u8>,
    pub line: Vec<u8>,
    pub uri: Vec<u8>,
    pub filename: Vec<u8>,
    pub basename: Option<Vec<u8>>,
    pub query: Option<Vec<u8>>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub cookies: Vec<(Vec<u8>, Vec<u8>)>,
    pub args_get: Vec<(Vec<u8>, Vec<u8>)>,
    pub args_post: Vec<(Vec<u8>, Vec<u8>)>,
    pub server_name: Option<Vec<u8>>,
    pub auth_type: Option<Vec<u8>>,
    pub remote_user: Option<Vec<u8>>,
    pub content_type: Option<Vec<u8>>,
    pub body: Vec<u8>,
    pub body_outcome: BodyOutcome,
    pub multipart: Option<MultipartData>,
    pub xml: Option<xml::XmlDocument>,
    pub urlencoded_error: bool,
    pub inbound_data_error: bool,
}

/// The response as the engine sees it.
#[derive(Debug, Default)]
pub struct ResponseData {
    pub status: Option<u16>,
    pub protocol: Vec<u8>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub content_type: Option<Vec<u8>>,
    pub body: Vec<u8>,
    pub body_inspected: bool,
    pub outbound_data_error: bool,
}

/// How the transaction must end when a rule disrupted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disruption {
    /// Answer with the status (403 unless the rule said otherwise).
    Deny,
    /// Close the connection without an answer.
    Drop,
    /// Answer with a redirect to this URL.
    Redirect(String),
}

/// A rule's decision to stop the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intervention {
    pub status: u16,
    pub disruption: Disruption,
    /// The rule that decided (0 for a body limit).
    pub rule_id: u32,
    pub phase: Phase,
}

/// What the last match of a rule compared: for messages such as
/// ModSecurity's `Matched "Operator `Rx' with parameter `x' against
/// variable `ARGS:q' (Value: `x' )"`. The value may be sensitive: it is
/// for tests and debugging, never for logs that leave the process.
#[derive(Debug, Clone, Default)]
pub struct MatchDescription {
    pub operator: String,
    pub param: String,
    pub variable: String,
    pub value: String,
}

/// A rule (chain) that matched completely.
#[derive(Debug, Clone)]
pub struct RuleMatch {
    pub id: u32,
    pub phase: Phase,
    pub msg: String,
    pub logdata: String,
    pub severity: Option<u8>,
    pub tags: Vec<String>,
    /// The variable of the last match, e.g. `ARGS:q`.
    pub matched_var_name: String,
    /// Every distinct variable the rule (and its chain) matched, in match
    /// order, e.g. `ARGS:q`, `REQUEST_COOKIES:sid`: what an exclusion
    /// would name.
    pub matched_var_names: Vec<String>,
    /// The rule reports its matches (`log`, the default; not `nolog`).
    pub logged: bool,
    /// The rule's disruptive action took effect.
    pub disruptive: bool,
    /// What its last match compared.
    pub matched: MatchDescription,
    /// The untransformed value of each of `matched_var_names`, in the same
    /// order (what false-positive tuning characterises).
    pub matched_raw: Vec<RawValue>,
}

/// A variable's value as the client sent it. It may hold anything, a
/// password included: `Debug` shows only its length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawValue(pub Vec<u8>);

impl std::fmt::Debug for RawValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawValue({} bytes)", self.0.len())
    }
}

/// How far `allow` reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allowed {
    Everything,
    Request,
}

/// Matches since the last rule that did not match.
#[derive(Debug, Default)]
pub(crate) struct Matched {
    pub last: Option<(Vec<u8>, Vec<u8>)>,
    pub all: Vec<(Vec<u8>, Vec<u8>)>,
    /// Each distinct matched variable's untransformed value.
    pub raw: Vec<(Vec<u8>, RawValue)>,
}

impl Matched {
    pub fn clear(&mut self) {
        self.all.clear();
        self.raw.clear();
    }
}

/// A transformed value shared by the rules of one transformation chain.
pub(crate) type Transformed = std::sync::Arc<[u8]>;

/// Everything that rules change while they run.
#[derive(Debug)]
pub(crate) struct TxState {
    pub started: Instant,
    pub mode: EngineMode,
    pub tx: Collection,
    pub env: Collection,
    pub persistent: Vec<(Var, String, Collection)>,
    pub matched: Matched,
    pub highest_severity: Option<u8>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub body_processor: Option<BodyProcessor>,
    pub request_body_access: Option<bool>,
    pub response_body_access: Option<bool>,
    pub force_body_variable: bool,
    pub removed_ids: Vec<IdRange>,
    pub removed_tags: Vec<String>,
    pub removed_msgs: Vec<String>,
    pub removed_targets_by_id: Vec<(Vec<IdRange>, TargetRef)>,
    pub removed_targets_by_tag: Vec<(String, TargetRef)>,
    /// `RULE:msg` / `RULE:logdata` of the rule being evaluated.
    pub current_msg: Option<String>,
    pub current_logdata: Option<String>,
    /// What the latest successful operator call compared.
    pub last_match: Option<MatchDescription>,
    pub matches: Vec<RuleMatch>,
    pub intervention: Option<Intervention>,
    pub allowed: Option<Allowed>,
    /// `allow:phase` matched: the rest of the current phase is skipped.
    pub phase_allowed: bool,
    pub debug: Option<Vec<String>>,
    /// Transformed values, by (address, length, chain id) of the original.
    pub transform_cache: rustc_hash::FxHashMap<(usize, usize, u32), Option<Transformed>>,
    /// Prefilter bank hits, by (address, length, chain id) of the original.
    pub bank_bits: rustc_hash::FxHashMap<(usize, usize, u32), Box<[u64]>>,
    /// Bank hits over a whole target group, by (group, data generation).
    pub group_bits: rustc_hash::FxHashMap<(u32, u32), Box<[u64]>>,
    /// Bumped whenever request or response data grows (body processed,
    /// response headers, response body), so group hits are recomputed.
    pub data_gen: u32,
}

impl TxState {
    /// A stored collection by variable.
    pub fn collection(&self, var: Var) -> Option<&Collection> {
        match var {
            Var::Tx => Some(&self.tx),
            Var::Env => Some(&self.env),
            other => self
                .persistent
                .iter()
                .find(|(v, _, _)| *v == other)
                .map(|(_, _, c)| c),
        }
    }

    pub fn collection_mut(&mut self, var: Var) -> Option<&mut Collection> {
        match var {
            Var::Tx => Some(&mut self.tx),
            Var::Env => Some(&mut self.env),
            other => self
                .persistent
                .iter_mut()
                .find(|(v, _, _)| *v == other)
                .map(|(_, _, c)| c),
        }
    }

    /// Adds a line to the debug trace (`[level] message`, as ModSecurity
    /// writes it) when tracing is on; `message` is only built then.
    pub fn debug(&mut self, level: u8, message: impl FnOnce() -> String) {
        if let Some(log) = &mut self.debug {
            log.push(format!("[{level}] {}", message()));
        }
    }
}

/// One request/response through the rules.
pub struct Transaction {
    rules: Arc<RuleSet>,
    req: RequestData,
    resp: ResponseData,
    state: TxState,
    phases_done: u8,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("unique_id", &self.req.connection.unique_id)
            .field("phases_done", &self.phases_done)
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// Starts a transaction for a connection.
    pub fn new(rules: Arc<RuleSet>, connection: Connection) -> Transaction {
        let mode = rules.config.rule_engine;
        Transaction {
            req: RequestData {
                connection,
                ..RequestData::default()
            },
            resp: ResponseData::default(),
            state: TxState {
                started: Instant::now(),
                mode,
                tx: Collection::default(),
                env: Collection::default(),
                persistent: Vec::new(),
                matched: Matched::default(),
                highest_severity: None,
                session_id: None,
                user_id: None,
                body_processor: None,
                request_body_access: None,
                response_body_access: None,
                force_body_variable: false,
                removed_ids: Vec::new(),
                removed_tags: Vec::new(),
                removed_msgs: Vec::new(),
                removed_targets_by_id: Vec::new(),
                removed_targets_by_tag: Vec::new(),
                current_msg: None,
                current_logdata: None,
                last_match: None,
                matches: Vec::new(),
                intervention: None,
                allowed: None,
                phase_allowed: false,
                debug: None,
                transform_cache: Default::default(),
                bank_bits: Default::default(),
                group_bits: Default::default(),
                data_gen: 0,
            },
            rules,
            phases_done: 0,
        }
    }

    /// Records a ModSecurity-style debug trace (for tests and `waf eval
    /// --debug`); off by default, costing nothing then.
    pub fn enable_debug_log(&mut self) {
        self.state.debug = Some(Vec::new());
    }

    /// The debug trace so far.
    pub fn debug_log(&self) -> &[String] {
        self.state.debug.as_deref().unwrap_or(&[])
    }

    /// The request line: method, URI as sent, and the HTTP version
    /// (`1.1`, `2.0`...).
    pub fn process_uri(&mut self, method: &[u8], uri: &[u8], http_version: &[u8]) {
        let req = &mut self.req;
        req.line_seen = true;
        req.method = method.to_vec();
        req.uri_raw = uri.to_vec();
        req.protocol = [b"HTTP/".as_slice(), http_version].concat();
        req.line = [method, b" ", uri, b" ", &req.protocol].concat();
        // The fragment is not part of what the server resolves; the raw
        // URI and the request line keep it (rules look for it there).
        let target = match uri.iter().position(|b| *b == b'#') {
            Some(h) => &uri[..h],
            None => uri,
        };
        let (raw_path, query) = match target.iter().position(|b| *b == b'?') {
            Some(q) => (&target[..q], Some(&target[q + 1..])),
            None => (target, None),
        };
        // The path is decoded after the query is split off, so that an
        // encoded `%3F` stays part of the file name.
        let path = urlencoded::decode_uri(raw_path);
        req.basename = path
            .iter()
            .rposition(|b| *b == b'/' || *b == b'\\')
            .filter(|i| i + 1 < path.len())
            .map(|i| path[i + 1..].to_vec());
        req.filename = path;
        let decoded = urlencoded::decode_uri(target);
        req.uri = absolute_form_path(&decoded).to_vec();
        if let Some(query) = query {
            let (pairs, invalid) = urlencoded::parse(query, self.rules.config.argument_separator);
            req.urlencoded_error |= invalid;
            let limit = self.rules.config.arguments_limit.unwrap_or(usize::MAX);
            for p in pairs {
                if req.args_get.len() + req.args_post.len() >= limit {
                    break;
                }
                trace_argument(&mut self.state, "GET", &p);
                req.args_get.push(p);
            }
            req.query = Some(query.to_vec());
        }
    }

    /// One request header line, in the order received.
    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        let req = &mut self.req;
        if name.eq_ignore_ascii_case(b"cookie") {
            parse_cookies(value, &mut req.cookies);
        } else if name.eq_ignore_ascii_case(b"content-type") {
            req.content_type = Some(value.to_vec());
            if let Some(p) = BodyProcessor::from_content_type(value) {
                self.state.body_processor = Some(p);
            }
        } else if name.eq_ignore_ascii_case(b"host") {
            let host = value.split(|b| *b == b':').next().unwrap_or(value);
            req.server_name = Some(host.to_vec());
        } else if name.eq_ignore_ascii_case(b"authorization") {
            let kind = value.split(|b| *b == b' ').next().unwrap_or(value);
            req.auth_type = Some(kind.to_vec());
        }
        req.headers.push((name.to_vec(), value.to_vec()));
    }

    /// Runs phase 1.
    pub fn process_request_headers(&mut self) -> Option<&Intervention> {
        self.run_phase(Phase::RequestHeaders);
        self.state.intervention.as_ref()
    }

    /// True when the rules want to see the request body (body access on,
    /// possibly switched by `ctl:requestBodyAccess`).
    pub fn wants_request_body(&self) -> bool {
        self.state.mode != EngineMode::Off
            && self
                .state
                .request_body_access
                .unwrap_or(self.rules.config.request_body_access)
    }

    /// How much request body the rules inspect, and whether a longer one
    /// is refused (`SecRequestBodyLimit`, `SecRequestBodyLimitAction`).
    pub fn request_body_limit(&self) -> (usize, bool) {
        let c = &self.rules.config;
        (
            c.request_body_limit,
            c.request_body_limit_action == LimitAction::Reject,
        )
    }

    /// How much response body the rules inspect, and whether a longer one
    /// is refused (`SecResponseBodyLimit`, `SecResponseBodyLimitAction`).
    pub fn response_body_limit(&self) -> (usize, bool) {
        let c = &self.rules.config;
        (
            c.response_body_limit,
            c.response_body_limit_action == LimitAction::Reject,
        )
    }

    /// Adds body bytes. Returns `false` once the inspection limit is
    /// reached (further bytes are not inspected; with
    /// `SecRequestBodyLimitAction Reject` an intervention is set).
    pub fn append_request_body(&mut self, chunk: &[u8]) -> bool {
        let cfg = &self.rules.config;
        let limit = cfg.request_body_limit;
        let room = limit.saturating_sub(self.req.body.len());
        if chunk.len() <= room {
            self.req.body.extend_from_slice(chunk);
            return true;
        }
        self.req.body.extend_from_slice(&chunk[..room]);
        self.req.inbound_data_error = true;
        if cfg.request_body_limit_action == LimitAction::Reject && self.state.mode == EngineMode::On
        {
            self.state.debug(5, || {
                "Request body is bigger than the maximum expected.".into()
            });
            self.state.intervention.get_or_insert(Intervention {
                status: 403,
                disruption: Disruption::Deny,
                rule_id: 0,
                phase: Phase::RequestBody,
            });
        }
        false
    }

    /// Processes the body (when wanted) and runs phase 2.
    ///
    /// The body is processed when body access is on, or when the caller
    /// fed one anyway (ModSecurity v3 parses whatever it was given); the
    /// gateway only feeds bodies the rules want.
    pub fn process_request_body(&mut self) -> Option<&Intervention> {
        let configured = self.rules.config.request_body_access;
        if configured && self.state.request_body_access == Some(false) {
            self.state.debug(4, || {
                "Request body processing is enabled, but disabled to this transaction due to ctl:requestBodyAccess action".into()
            });
        }
        if self.state.intervention.is_none()
            && self.state.mode != EngineMode::Off
            && (self.wants_request_body() || !self.req.body.is_empty())
        {
            self.run_body_processor();
        }
        self.state.data_gen += 1;
        self.run_phase(Phase::RequestBody);
        self.state.intervention.as_ref()
    }

    fn run_body_processor(&mut self) {
        let cfg = &self.rules.config;
        let req = &mut self.req;
        let processor = self.state.body_processor;
        let mut outcome = BodyOutcome {
            processed: true,
            ..BodyOutcome::default()
        };
        let limit = cfg.arguments_limit.unwrap_or(usize::MAX);
        // Bodies without files have their own, smaller limit; going over it
        // is a body error for rules to act on (not an interruption).
        if processor != Some(BodyProcessor::Multipart)
            && req.body.len() > cfg.request_body_no_files_limit
        {
            let msg = "Request body excluding files is bigger than the maximum expected.";
            outcome.error = Some(msg.into());
            self.state.debug(4, || msg.into());
            req.body_outcome = outcome;
            return;
        }
        let state = &mut self.state;
        let mut over_limit = false;
        let mut add_post = |req: &mut RequestData, origin: &str, pairs: Vec<(Vec<u8>, Vec<u8>)>| {
            for p in pairs {
                if req.args_get.len() + req.args_post.len() >= limit {
                    state.debug(4, || {
                        format!("Skipping request argument, over limit ({limit})")
                    });
                    over_limit = true;
                    break;
                }
                trace_argument(state, origin, &p);
                req.args_post.push(p);
            }
        };
        match processor {
            Some(BodyProcessor::UrlEncoded) => {
                let (pairs, invalid) = urlencoded::parse(&req.body, cfg.argument_separator);
                req.urlencoded_error |= invalid;
                add_post(req, "POST", pairs);
                outcome.body_variable = true;
            }
            Some(BodyProcessor::Multipart) => {
                let ct = req.content_type.clone().unwrap_or_default();
                let m = multipart::parse(
                    &ct,
                    &req.body,
                    multipart::MultipartLimits {
                        file_limit: cfg.upload_file_limit,
                    },
                );
                let field_bytes = m.no_files_bytes;
                add_post(req, "BODY", m.fields);
                if let Some(e) = m.error {
                    self.state
                        .debug(4, || format!("Multipart parsing error: {e}"));
                    outcome.error = Some(format!("Multipart parsing error: {e}"));
                } else if field_bytes > cfg.request_body_no_files_limit {
                    let msg = "Request body excluding files is bigger than the maximum expected.";
                    self.state.debug(4, || msg.into());
                    outcome.error = Some(msg.into());
                }
                req.multipart = Some(MultipartData {
                    files: m.files,
                    part_headers: m.part_headers,
                    names: m.names,
                    filenames: m.filenames,
                    flags: m.flags,
                });
            }
            Some(BodyProcessor::Json) if !req.body.is_empty() => {
                match json::parse(&req.body, cfg.json_depth_limit) {
                    Ok(pairs) => add_post(req, "JSON", pairs),
                    Err((e, pairs)) => {
                        add_post(req, "JSON", pairs);
                        outcome.error = Some(format!("JSON parsing error: {e}"));
                    }
                }
            }
            Some(BodyProcessor::Xml) => match xml::parse(&req.body) {
                Ok(doc) => req.xml = Some(doc),
                Err(e) => outcome.error = Some(format!("XML parsing error: {e}")),
            },
            Some(BodyProcessor::Json) | None => {}
        }
        if over_limit && outcome.error.is_none() {
            outcome.error = Some(format!(
                "Request body holds more than {limit} arguments (SecArgumentsLimit)"
            ));
        }
        if self.state.force_body_variable && processor.is_none() {
            outcome.body_variable = true;
        }
        req.body_outcome = outcome;
    }

    /// One response header line.
    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        if name.eq_ignore_ascii_case(b"content-type") {
            let main = value.split(|b| *b == b';').next().unwrap_or(value);
            self.resp.content_type = Some(main.trim_ascii().to_ascii_lowercase());
        }
        self.resp.headers.push((name.to_vec(), value.to_vec()));
    }

    /// Runs phase 3 with the response status and protocol (`HTTP/1.1`).
    pub fn process_response_headers(
        &mut self,
        status: u16,
        protocol: &[u8],
    ) -> Option<&Intervention> {
        self.resp.status = Some(status);
        self.resp.protocol = protocol.to_vec();
        self.state.data_gen += 1;
        self.run_phase(Phase::ResponseHeaders);
        self.state.intervention.as_ref()
    }

    /// True when the rules want to see this response's body: body access
    /// on and its content type listed in `SecResponseBodyMimeType`.
    pub fn wants_response_body(&self) -> bool {
        self.state.mode != EngineMode::Off
            && self
                .state
                .response_body_access
                .unwrap_or(self.rules.config.response_body_access)
            && self.response_type_inspected()
    }

    fn response_type_inspected(&self) -> bool {
        let ct = self.resp.content_type.as_deref().unwrap_or(b"");
        self.rules
            .config
            .response_body_mime_types
            .iter()
            .any(|t| t.as_bytes() == ct)
    }

    /// Adds response body bytes; `false` once the limit is reached.
    /// Bodies of content types not listed in `SecResponseBodyMimeType`
    /// are not kept.
    pub fn append_response_body(&mut self, chunk: &[u8]) -> bool {
        if !self.response_type_inspected() {
            return true;
        }
        let cfg = &self.rules.config;
        let room = cfg.response_body_limit.saturating_sub(self.resp.body.len());
        if chunk.len() <= room {
            self.resp.body.extend_from_slice(chunk);
            return true;
        }
        self.resp.body.extend_from_slice(&chunk[..room]);
        self.resp.outbound_data_error = true;
        if cfg.response_body_limit_action == LimitAction::Reject
            && self.state.mode == EngineMode::On
        {
            self.state.debug(5, || {
                "Response body is bigger than the maximum expected.".into()
            });
            self.state.intervention.get_or_insert(Intervention {
                status: 403,
                disruption: Disruption::Deny,
                rule_id: 0,
                phase: Phase::ResponseBody,
            });
        }
        false
    }

    /// Runs phase 4 (over the body when it was wanted).
    pub fn process_response_body(&mut self) -> Option<&Intervention> {
        self.resp.body_inspected = self.wants_response_body();
        self.state.data_gen += 1;
        if !self.response_type_inspected() {
            let ct = String::from_utf8_lossy(self.resp.content_type.as_deref().unwrap_or(b""))
                .into_owned();
            self.state.debug(5, || {
                format!("Response Content-Type is {ct}. It is not marked to be inspected.")
            });
        }
        self.run_phase(Phase::ResponseBody);
        self.state.intervention.as_ref()
    }

    /// Runs phase 5 and writes persistent collections back.
    pub fn process_logging(&mut self) {
        // A transaction a rule stopped before the response answers with
        // the intervention's status, and phase 5 sees that as
        // RESPONSE_STATUS (as in ModSecurity).
        if self.resp.status.is_none() {
            if let Some(i) = &self.state.intervention {
                self.resp.status = Some(i.status);
                self.state.data_gen += 1;
            }
        }
        self.run_phase(Phase::Logging);
        for (var, key, col) in self.state.persistent.drain(..) {
            self.rules.store.store(var, &key, col);
        }
    }

    /// The decision to stop, if any rule took one.
    pub fn intervention(&self) -> Option<&Intervention> {
        self.state.intervention.as_ref()
    }

    /// Every rule (chain) that matched completely, in order.
    pub fn matches(&self) -> &[RuleMatch] {
        &self.state.matches
    }

    /// Ids of matched rules that report (`log`), each once, in order.
    pub fn matched_rule_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = Vec::new();
        for m in self.state.matches.iter().filter(|m| m.logged) {
            if !ids.contains(&m.id) {
                ids.push(m.id);
            }
        }
        ids
    }

    /// A `TX` variable.
    pub fn tx_value(&self, name: &str) -> Option<&[u8]> {
        self.state.tx.get(name)
    }

    /// Expands the `%{...}` macros of `text` against the transaction as it
    /// stands, as `msg` would (`%{MULTIPART_LF_LINE}`, `%{FILES.image}`):
    /// what a variable holds, for tests and diagnostics.
    pub fn expand(&self, text: &str) -> Vec<u8> {
        let view = TxView {
            req: &self.req,
            resp: &self.resp,
            state: &self.state,
            rule: None,
            web_app_id: "",
        };
        crate::macros::MacroString::parse(text)
            .expand(&view)
            .into_owned()
    }

    /// The inbound anomaly score that CRS blocks on
    /// (`TX:blocking_inbound_anomaly_score`, else `TX:anomaly_score`).
    pub fn anomaly_score(&self) -> i64 {
        [
            "blocking_inbound_anomaly_score",
            "anomaly_score",
            "inbound_anomaly_score",
        ]
        .iter()
        .find_map(|k| self.state.tx.get(k))
        .map(actions::to_int)
        .unwrap_or(0)
    }

    /// The rule engine mode in force (after any `ctl:ruleEngine`).
    pub fn engine_mode(&self) -> EngineMode {
        self.state.mode
    }

    /// Runs a phase once; phases run in order and never twice.
    fn run_phase(&mut self, phase: Phase) {
        let n = phase.number();
        if self.phases_done >= n {
            return;
        }
        self.phases_done = n;
        if self.state.mode == EngineMode::Off {
            self.state
                .debug(4, || "Rule engine disabled, returning...".into());
            return;
        }
        // After a disruptive decision, only logging runs.
        if self.state.intervention.is_some() && phase != Phase::Logging {
            return;
        }
        match self.state.allowed {
            Some(Allowed::Everything) if phase != Phase::Logging => return,
            Some(Allowed::Request) if phase <= Phase::RequestBody => return,
            _ => {}
        }
        let rules = Arc::clone(&self.rules);
        eval::run_phase(&rules, phase, &self.req, &self.resp, &mut self.state);
    }
}

/// ModSecurity's trace line for each argument added.
fn trace_argument(state: &mut TxState, origin: &str, (k, v): &(Vec<u8>, Vec<u8>)) {
    state.debug(4, || {
        format!(
            "Adding request argument ({origin}): name \"{}\", value \"{}\"",
            String::from_utf8_lossy(k),
            String::from_utf8_lossy(v)
        )
    });
}

/// The path of an absolute-form URI (`http://host/path` → `/path`).
fn absolute_form_path(decoded: &[u8]) -> &[u8] {
    if decoded.first() == Some(&b'/') || decoded.is_empty() {
        return decoded;
    }
    let Some(colon) = decoded.iter().position(|b| *b == b':') else {
        return decoded;
    };
    if decoded.get(colon + 1..colon + 3) != Some(b"//") {
        return decoded;
    }
    let netloc = colon + 3;
    match decoded[netloc..].iter().position(|b| *b == b'/') {
        Some(p) => &decoded[netloc + p..],
        None => decoded,
    }
}

/// ModSecurity's cookie parsing: split on `;`, then on the first `=`;
/// keys left-trimmed; empty keys dropped.
fn parse_cookies(value: &[u8], out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
    let value = value.trim_ascii_end();
    for piece in value.split(|b| *b == b';') {
        if piece.is_empty() {
            continue;
        }
        let (k, v) = match piece.iter().position(|b| *b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &piece[piece.len()..]),
        };
        let k = k.trim_ascii_start();
        if k.is_empty() {
            continue;
        }
        out.push((k.to_vec(), v.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_paths() {
        let mut c = Vec::new();
        parse_cookies(b" a=1; b=x=y;;  =z; c ", &mut c);
        assert_eq!(
            c,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"x=y".to_vec()),
                (b"c".to_vec(), b"".to_vec())
            ]
        );
        assert_eq!(absolute_form_path(b"http://h/x?y"), b"/x?y");
        assert_eq!(absolute_form_path(b"/p"), b"/p");
        assert_eq!(absolute_form_path(b"*"), b"*");
    }
}
