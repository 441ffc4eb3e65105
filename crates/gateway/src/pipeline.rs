//! The stage pipeline: the contract every inspection stage (WAF, rate
//! limit, access gate, tokenization, DLP, ...) follows, and the
//! per-request context they share.
//!
//! Owns: the order of phases and what a stage may do in each. Must not:
//! know any particular stage, or do I/O itself (`proxy` drives it).
//!
//! # Order of one request (HTTPS listener)
//!
//! 1. The gateway resolves the site from the Host, assigns the request id
//!    and builds a [`RequestContext`].
//! 2. **Request headers**: [`Stage::request_headers`] of every stage, in
//!    list order. A stage may rewrite the request head in place (add or
//!    remove headers, change the path) and return [`Decision::Continue`],
//!    or answer with [`Decision::Respond`] (block, challenge, redirect):
//!    later stages are skipped and nothing reaches the store.
//! 3. **Request body**: each stage says, through
//!    [`Stage::request_body_inspection`], whether it needs the body. Only
//!    if one does is the body buffered, up to the smallest limit asked for
//!    (and never beyond `server.inspection_buffer_bytes`). Over the limit,
//!    [`OverLimit::Reject`] from any stage answers 413; otherwise the
//!    stages see the first bytes (`complete == false`) and the rest
//!    streams to the store untouched. Then [`Stage::request_body`] runs for
//!    the stages that asked, and [`Stage::request_body_absent`] for the
//!    others (or for all, when the request has no body): every stage gets
//!    exactly one phase 2. The store is contacted **only after** this
//!    phase decided: a blocked POST never reaches it. When no stage asks,
//!    the body streams through without being buffered.
//! 4. The request goes to the store (hop-by-hop headers removed,
//!    `X-Forwarded-*`, `Forwarded` and `X-Request-Id` set).
//! 5. **Response headers**: [`Stage::response_headers`] of every stage,
//!    before any byte of the response leaves. `Respond` replaces the
//!    store's response.
//! 6. **Response body**: as for requests, through
//!    [`Stage::response_body_inspection`] (which sees the response head,
//!    so it can ask only for, say, `text/html`) and
//!    [`Stage::response_body`]. Buffering happens before the response
//!    headers are sent, so a late block is still a clean response.
//! 7. The gateway adds the security headers and `X-Request-Id`, and emits a
//!    `request` event if the request is notable (a rule matched, it was
//!    blocked, or the gateway itself answered with an error).
//!
//! A stage records what it found in [`RequestContext::findings`] (rule ids,
//! anomaly score, action): that is what the audit log line says. A stage
//! keeps its own per-request state in [`RequestContext::state`], keyed by a
//! type of its own.
//!
//! Phases are plain functions, not `async`: they run on the request's task
//! and must not block (no file or network I/O). That keeps the hot path
//! free of allocations for futures. A stage that must wait for I/O before
//! it can decide (the card vault, a session store, a shared counter)
//! returns [`Decision::Wait`] with a future that may borrow the phase's
//! arguments; the gateway awaits it in place and takes its outcome, so
//! only the stages that wait pay for a boxed future, and only when they
//! wait.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{request, response, HeaderValue, Response};
use ops::Action;

use crate::config::SiteConfig;

/// What a stage decided in one phase.
pub enum Decision<'a> {
    /// Go on (the stage may have rewritten the message in place).
    Continue,
    /// Answer the client with this response now; the store is not
    /// contacted (or, in response phases, its response is discarded). The
    /// gateway adds the security headers and `X-Request-Id`.
    Respond(Response<Bytes>),
    /// Not decided yet: the stage waits for I/O. The gateway awaits the
    /// future (which may use the phase's borrowed context, message and
    /// body) and takes the decision it yields, before any later stage runs.
    Wait(Pending<'a>),
}

/// A decision that needs I/O first; see [`Decision::Wait`].
pub type Pending<'a> = Pin<Box<dyn Future<Output = Decision<'a>> + Send + 'a>>;

impl Decision<'_> {
    /// A decision that waits for `future`.
    pub fn wait<'a>(future: impl Future<Output = Decision<'a>> + Send + 'a) -> Decision<'a> {
        Decision::Wait(Box::pin(future))
    }

    /// Awaits until the decision is made: the response if the stage
    /// answered, `None` to go on.
    pub async fn settle(self) -> Option<Response<Bytes>> {
        let mut d = self;
        loop {
            match d {
                Decision::Continue => return None,
                Decision::Respond(r) => return Some(r),
                Decision::Wait(f) => d = f.await,
            }
        }
    }
}

/// Settles `decision`, without making a future for one already made
/// (most decisions, on every phase of every request).
macro_rules! settled {
    ($decision:expr) => {
        match $decision {
            Decision::Continue => None,
            Decision::Respond(r) => Some(r),
            wait => wait.settle().await,
        }
    };
}

impl std::fmt::Debug for Decision<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Decision::Continue => f.write_str("Continue"),
            Decision::Respond(r) => f.debug_tuple("Respond").field(&r.status()).finish(),
            Decision::Wait(_) => f.write_str("Wait"),
        }
    }
}

/// Whether a stage needs a body in hand before it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyInspection {
    /// Stream the body; the body phase is not called for this stage.
    Skip,
    /// Buffer up to `limit` bytes before calling the body phase.
    Buffer { limit: usize, over_limit: OverLimit },
}

/// What to do with a body longer than the buffering limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// Refuse the request with 413 (for responses: 502, the store sent
    /// something that cannot be inspected).
    Reject,
    /// Inspect the first bytes and pass the rest untouched.
    InspectPrefix,
}

/// A buffered body handed to a body phase.
#[derive(Debug)]
pub struct BufferedBody {
    /// The bytes read so far. A stage may replace them (the gateway fixes
    /// `Content-Length`).
    pub bytes: Bytes,
    /// False when the body was longer than the limit and only its
    /// beginning is here ([`OverLimit::InspectPrefix`]); rewriting is then
    /// not allowed.
    pub complete: bool,
}

/// What the stages found, as the audit log reports it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Findings {
    /// Ids of the rules that matched.
    pub rules: Vec<u32>,
    /// Anomaly score, when the stage scores.
    pub anomaly_score: Option<i64>,
    /// The action taken; filled in by the gateway when a stage responds
    /// without setting it (3xx: redirect, otherwise block).
    pub action: Option<Action>,
    /// A sentence for the audit trail (which stage, why).
    pub message: String,
    /// What each matched rule reported, for the audit line's `matches`.
    pub reports: Vec<RuleReport>,
}

/// One matched rule's report: its message and the data it logged.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct RuleReport {
    pub id: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub msg: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<u8>,
    /// The phase the rule runs in (1 to 5).
    pub phase: u8,
    /// The variables it matched (`ARGS:q`, `REQUEST_COOKIES:sid`): what
    /// `rampart waf tune` scopes an exclusion to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// For each target, the characters its value held, as a
    /// `@validateByteRange` list (see [`crate::stages::waf::shape`]):
    /// letters, digits and non-ASCII as whole classes, every other byte
    /// itself; never the value. Tuning makes an exclusion hold only while
    /// the variable keeps to the characters its real traffic used.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shapes: Vec<String>,
}

/// Put in [`RequestContext::state`] by a stage that answered and already
/// reported the decision in an event of its own (sampled under a flood):
/// the gateway then emits no `request` event for it.
#[derive(Debug, Clone, Copy)]
pub struct QuietEvent;

/// Everything about one request that outlives a single phase.
pub struct RequestContext {
    /// `X-Request-Id`: the client's when well-formed, else generated.
    pub request_id: HeaderValue,
    pub client_addr: SocketAddr,
    pub server_addr: SocketAddr,
    /// True on the HTTPS listener.
    pub tls: bool,
    /// The site the Host named.
    pub site: Arc<SiteConfig>,
    /// When the gateway received the request head.
    pub started: Instant,
    pub findings: Findings,
    /// Per-stage state, keyed by a type private to each stage.
    pub state: http::Extensions,
    /// The edge stage's record of the request: a slot of its own rather
    /// than an entry in `state`, which would cost a map per request.
    pub(crate) edge: Option<crate::edge::EdgeRequest>,
    /// The gateway's event bus, for a stage whose decision is an event of
    /// its own (see [`RequestContext::event`]).
    pub events: ops::bus::EventBus,
}

impl RequestContext {
    /// The request id as text.
    pub fn request_id(&self) -> &str {
        self.request_id.to_str().unwrap_or("")
    }

    /// An event about this request (site, request id, client address,
    /// method and path filled in), for a stage to emit on [`Self::events`].
    pub fn event(
        &self,
        kind: &'static str,
        severity: ops::Severity,
        req: &request::Parts,
    ) -> ops::Event {
        let mut e = ops::Event::new(kind, severity);
        e.site = Some(self.site.name.clone());
        e.request_id = Some(self.request_id().to_string());
        e.client_ip = Some(self.client_addr.ip());
        e.method = Some(req.method.as_str().to_string());
        e.uri = Some(req.uri.path().to_string());
        e
    }
}

/// One inspection stage. Every method has a do-nothing default, so a stage
/// implements only the phases it cares about.
pub trait Stage: Send + Sync + 'static {
    /// Short name for events and logs, e.g. `waf`.
    fn name(&self) -> &'static str;

    /// Phase 1, after the request head arrived and before anything else.
    fn request_headers<'a>(
        &'a self,
        _ctx: &'a mut RequestContext,
        _req: &'a mut request::Parts,
    ) -> Decision<'a> {
        Decision::Continue
    }

    /// Whether this stage needs the request body buffered (called once per
    /// request with a body, after phase 1).
    fn request_body_inspection(
        &self,
        _ctx: &RequestContext,
        _req: &request::Parts,
    ) -> BodyInspection {
        BodyInspection::Skip
    }

    /// Phase 2, with the buffered body; only for stages that asked. The
    /// request has not reached the store yet.
    fn request_body<'a>(
        &'a self,
        _ctx: &'a mut RequestContext,
        _req: &'a mut request::Parts,
        _body: &'a mut BufferedBody,
    ) -> Decision<'a> {
        Decision::Continue
    }

    /// Phase 2 for a stage that received no body: the request had none,
    /// or the stage did not ask for it. Runs just before the request goes
    /// to the store, so a stage always gets exactly one phase 2.
    fn request_body_absent<'a>(
        &'a self,
        _ctx: &'a mut RequestContext,
        _req: &'a mut request::Parts,
    ) -> Decision<'a> {
        Decision::Continue
    }

    /// Phase 3, after the store's response head arrived and before any of
    /// it is sent to the client.
    fn response_headers<'a>(
        &'a self,
        _ctx: &'a mut RequestContext,
        _resp: &'a mut response::Parts,
    ) -> Decision<'a> {
        Decision::Continue
    }

    /// Whether this stage needs the response body buffered (e.g. only for
    /// `text/html`).
    fn response_body_inspection(
        &self,
        _ctx: &RequestContext,
        _resp: &response::Parts,
    ) -> BodyInspection {
        BodyInspection::Skip
    }

    /// Phase 4, with the buffered response body; only for stages that
    /// asked. Nothing of the response has been sent yet.
    fn response_body<'a>(
        &'a self,
        _ctx: &'a mut RequestContext,
        _resp: &'a mut response::Parts,
        _body: &'a mut BufferedBody,
    ) -> Decision<'a> {
        Decision::Continue
    }

    /// Phase 4 for a stage that received no response body (none, or not
    /// asked for), just before the response head leaves.
    fn response_body_absent<'a>(
        &'a self,
        _ctx: &'a mut RequestContext,
        _resp: &'a mut response::Parts,
    ) -> Decision<'a> {
        Decision::Continue
    }
}

/// The ordered list of stages a gateway runs.
#[derive(Clone, Default)]
pub struct Pipeline {
    stages: Vec<Arc<dyn Stage>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.stages.iter().map(|s| s.name()))
            .finish()
    }
}

/// Builds the pipeline from the configuration, at start and on each
/// reload (so a stage such as the WAF can reload its rules).
pub type PipelineBuilder =
    Arc<dyn Fn(&crate::config::Config) -> Result<Pipeline, String> + Send + Sync>;

impl Pipeline {
    pub fn new(stages: Vec<Arc<dyn Stage>>) -> Self {
        Pipeline { stages }
    }

    pub fn stages(&self) -> &[Arc<dyn Stage>] {
        &self.stages
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// A builder that always yields this pipeline.
    pub fn fixed(self) -> PipelineBuilder {
        Arc::new(move |_| Ok(self.clone()))
    }

    /// Phase 1 of every stage; `Some` when one answered.
    pub(crate) async fn request_headers(
        &self,
        ctx: &mut RequestContext,
        req: &mut request::Parts,
    ) -> Option<Response<Bytes>> {
        for stage in &self.stages {
            if let Some(r) = settled!(stage.request_headers(ctx, req)) {
                return Some(r);
            }
        }
        None
    }

    /// Phase 3 of every stage.
    pub(crate) async fn response_headers(
        &self,
        ctx: &mut RequestContext,
        resp: &mut response::Parts,
    ) -> Option<Response<Bytes>> {
        for stage in &self.stages {
            if let Some(r) = settled!(stage.response_headers(ctx, resp)) {
                return Some(r);
            }
        }
        None
    }

    /// The combined body need of all stages: which stages asked (bit set
    /// by index), the smallest limit, and whether any rejects over it.
    pub(crate) fn body_need<F>(&self, ask: F) -> Option<BodyNeed>
    where
        F: Fn(&dyn Stage) -> BodyInspection,
    {
        let mut need: Option<BodyNeed> = None;
        for (i, stage) in self.stages.iter().enumerate() {
            if let BodyInspection::Buffer { limit, over_limit } = ask(stage.as_ref()) {
                let n = need.get_or_insert(BodyNeed {
                    stages: Vec::new(),
                    limit,
                    reject_over_limit: false,
                });
                n.stages.push(i);
                n.limit = n.limit.min(limit);
                n.reject_over_limit |= over_limit == OverLimit::Reject;
            }
        }
        need
    }

    /// Phase 2 of the stages that asked for the body.
    pub(crate) async fn request_body(
        &self,
        need: &BodyNeed,
        ctx: &mut RequestContext,
        req: &mut request::Parts,
        body: &mut BufferedBody,
    ) -> Option<Response<Bytes>> {
        for &i in &need.stages {
            if let Some(r) = settled!(self.stages[i].request_body(ctx, req, body)) {
                return Some(r);
            }
        }
        None
    }

    /// Phase 2 for every stage not in `served` (those that had the body).
    pub(crate) async fn request_body_absent(
        &self,
        served: &[usize],
        ctx: &mut RequestContext,
        req: &mut request::Parts,
    ) -> Option<Response<Bytes>> {
        for (i, stage) in self.stages.iter().enumerate() {
            if served.contains(&i) {
                continue;
            }
            if let Some(r) = settled!(stage.request_body_absent(ctx, req)) {
                return Some(r);
            }
        }
        None
    }

    /// Phase 4 for every stage not in `served`.
    pub(crate) async fn response_body_absent(
        &self,
        served: &[usize],
        ctx: &mut RequestContext,
        resp: &mut response::Parts,
    ) -> Option<Response<Bytes>> {
        for (i, stage) in self.stages.iter().enumerate() {
            if served.contains(&i) {
                continue;
            }
            if let Some(r) = settled!(stage.response_body_absent(ctx, resp)) {
                return Some(r);
            }
        }
        None
    }

    /// Phase 4 of the stages that asked for the response body.
    pub(crate) async fn response_body(
        &self,
        need: &BodyNeed,
        ctx: &mut RequestContext,
        resp: &mut response::Parts,
        body: &mut BufferedBody,
    ) -> Option<Response<Bytes>> {
        for &i in &need.stages {
            if let Some(r) = settled!(self.stages[i].response_body(ctx, resp, body)) {
                return Some(r);
            }
        }
        None
    }
}

/// The stages that asked for a body and on what terms.
#[derive(Debug)]
pub(crate) struct BodyNeed {
    pub stages: Vec<usize>,
    pub limit: usize,
    pub reject_over_limit: bool,
}
