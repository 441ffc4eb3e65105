//! Variables: where a rule's targets take their values from.
//!
//! Each variable family lives in its own file (`args.rs`, `headers.rs`,
//! ...) with a `collect` function; this file holds the registry that maps a
//! SecLang name to a [`Var`], and the dispatch. A family reads the
//! transaction through [`TxView`] and never changes it.

mod args;
mod body;
mod connection;
mod cookies;
mod files;
mod headers;
mod matched;
mod misc;
mod request_line;
mod response;
mod rule;
mod stored;
mod time;
mod xml;

use std::borrow::Cow;

use crate::transaction::TxView;

/// Every variable the engine knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Var {
    Args,
    ArgsGet,
    ArgsPost,
    ArgsNames,
    ArgsGetNames,
    ArgsPostNames,
    ArgsCombinedSize,
    AuthType,
    Duration,
    Env,
    Files,
    FilesCombinedSize,
    FilesNames,
    FilesSizes,
    FilesTmpNames,
    FilesTmpContent,
    FullRequest,
    FullRequestLength,
    Global,
    HighestSeverity,
    InboundDataError,
    Ip,
    MatchedVar,
    MatchedVarName,
    MatchedVars,
    MatchedVarsNames,
    ModsecBuild,
    MultipartBoundaryQuoted,
    MultipartBoundaryWhitespace,
    MultipartCrlfLfLines,
    MultipartDataAfter,
    MultipartDataBefore,
    MultipartFileLimitExceeded,
    MultipartFilename,
    MultipartHeaderFolding,
    MultipartInvalidHeaderFolding,
    MultipartInvalidPart,
    MultipartInvalidQuoting,
    MultipartLfLine,
    MultipartMissingSemicolon,
    MultipartName,
    MultipartPartHeaders,
    MultipartStrictError,
    MultipartUnmatchedBoundary,
    OutboundDataError,
    PathInfo,
    QueryString,
    RemoteAddr,
    RemoteHost,
    RemotePort,
    RemoteUser,
    ReqbodyError,
    ReqbodyErrorMsg,
    ReqbodyProcessor,
    ReqbodyProcessorError,
    ReqbodyProcessorErrorMsg,
    RequestBasename,
    RequestBody,
    RequestBodyLength,
    RequestCookies,
    RequestCookiesNames,
    RequestFilename,
    RequestHeaders,
    RequestHeadersNames,
    RequestLine,
    RequestMethod,
    RequestProtocol,
    RequestUri,
    RequestUriRaw,
    Resource,
    ResponseBody,
    ResponseContentLength,
    ResponseContentType,
    ResponseHeaders,
    ResponseHeadersNames,
    ResponseProtocol,
    ResponseStatus,
    Rule,
    ServerAddr,
    ServerName,
    ServerPort,
    Session,
    SessionId,
    StatusLine,
    Time,
    TimeDay,
    TimeEpoch,
    TimeHour,
    TimeMin,
    TimeMon,
    TimeSec,
    TimeWday,
    TimeYear,
    Tx,
    UniqueId,
    UrlencodedError,
    User,
    UserId,
    WebAppId,
    WebserverErrorLog,
    Xml,
}

/// A registered variable name.
pub struct VariableEntry {
    pub name: &'static str,
    pub var: Var,
    /// True for collections (`ARGS:key` selects members); false for
    /// single values, which ignore a selector.
    pub collection: bool,
}

const fn single(name: &'static str, var: Var) -> VariableEntry {
    VariableEntry {
        name,
        var,
        collection: false,
    }
}

const fn collection(name: &'static str, var: Var) -> VariableEntry {
    VariableEntry {
        name,
        var,
        collection: true,
    }
}

/// Every variable, by its SecLang name.
pub static REGISTRY: &[VariableEntry] = &[
    collection("ARGS", Var::Args),
    collection("ARGS_GET", Var::ArgsGet),
    collection("ARGS_POST", Var::ArgsPost),
    collection("ARGS_NAMES", Var::ArgsNames),
    collection("ARGS_GET_NAMES", Var::ArgsGetNames),
    collection("ARGS_POST_NAMES", Var::ArgsPostNames),
    single("ARGS_COMBINED_SIZE", Var::ArgsCombinedSize),
    single("AUTH_TYPE", Var::AuthType),
    single("DURATION", Var::Duration),
    collection("ENV", Var::Env),
    collection("FILES", Var::Files),
    single("FILES_COMBINED_SIZE", Var::FilesCombinedSize),
    collection("FILES_NAMES", Var::FilesNames),
    collection("FILES_SIZES", Var::FilesSizes),
    collection("FILES_TMPNAMES", Var::FilesTmpNames),
    collection("FILES_TMP_CONTENT", Var::FilesTmpContent),
    single("FULL_REQUEST", Var::FullRequest),
    single("FULL_REQUEST_LENGTH", Var::FullRequestLength),
    collection("GLOBAL", Var::Global),
    single("HIGHEST_SEVERITY", Var::HighestSeverity),
    single("INBOUND_DATA_ERROR", Var::InboundDataError),
    collection("IP", Var::Ip),
    single("MATCHED_VAR", Var::MatchedVar),
    single("MATCHED_VAR_NAME", Var::MatchedVarName),
    collection("MATCHED_VARS", Var::MatchedVars),
    collection("MATCHED_VARS_NAMES", Var::MatchedVarsNames),
    single("MODSEC_BUILD", Var::ModsecBuild),
    single("MULTIPART_BOUNDARY_QUOTED", Var::MultipartBoundaryQuoted),
    single(
        "MULTIPART_BOUNDARY_WHITESPACE",
        Var::MultipartBoundaryWhitespace,
    ),
    single("MULTIPART_CRLF_LF_LINES", Var::MultipartCrlfLfLines),
    single("MULTIPART_DATA_AFTER", Var::MultipartDataAfter),
    single("MULTIPART_DATA_BEFORE", Var::MultipartDataBefore),
    single(
        "MULTIPART_FILE_LIMIT_EXCEEDED",
        Var::MultipartFileLimitExceeded,
    ),
    collection("MULTIPART_FILENAME", Var::MultipartFilename),
    single("MULTIPART_HEADER_FOLDING", Var::MultipartHeaderFolding),
    single(
        "MULTIPART_INVALID_HEADER_FOLDING",
        Var::MultipartInvalidHeaderFolding,
    ),
    single("MULTIPART_INVALID_PART", Var::MultipartInvalidPart),
    single("MULTIPART_INVALID_QUOTING", Var::MultipartInvalidQuoting),
    single("MULTIPART_LF_LINE", Var::MultipartLfLine),
    single(
        "MULTIPART_MISSING_SEMICOLON",
        Var::MultipartMissingSemicolon,
    ),
    single(
        "MULTIPART_SEMICOLON_MISSING",
        Var::MultipartMissingSemicolon,
    ),
    collection("MULTIPART_NAME", Var::MultipartName),
    collection("MULTIPART_PART_HEADERS", Var::MultipartPartHeaders),
    single("MULTIPART_STRICT_ERROR", Var::MultipartStrictError),
    single(
        "MULTIPART_UNMATCHED_BOUNDARY",
        Var::MultipartUnmatchedBoundary,
    ),
    single("OUTBOUND_DATA_ERROR", Var::OutboundDataError),
    single("PATH_INFO", Var::PathInfo),
    single("QUERY_STRING", Var::QueryString),
    single("REMOTE_ADDR", Var::RemoteAddr),
    single("REMOTE_HOST", Var::RemoteHost),
    single("REMOTE_PORT", Var::RemotePort),
    single("REMOTE_USER", Var::RemoteUser),
    single("REQBODY_ERROR", Var::ReqbodyError),
    single("REQBODY_ERROR_MSG", Var::ReqbodyErrorMsg),
    single("REQBODY_PROCESSOR", Var::ReqbodyProcessor),
    single("REQBODY_PROCESSOR_ERROR", Var::ReqbodyProcessorError),
    single("REQBODY_PROCESSOR_ERROR_MSG", Var::ReqbodyProcessorErrorMsg),
    single("REQUEST_BASENAME", Var::RequestBasename),
    single("REQUEST_BODY", Var::RequestBody),
    single("REQUEST_BODY_LENGTH", Var::RequestBodyLength),
    collection("REQUEST_COOKIES", Var::RequestCookies),
    collection("REQUEST_COOKIES_NAMES", Var::RequestCookiesNames),
    single("REQUEST_FILENAME", Var::RequestFilename),
    collection("REQUEST_HEADERS", Var::RequestHeaders),
    collection("REQUEST_HEADERS_NAMES", Var::RequestHeadersNames),
    single("REQUEST_LINE", Var::RequestLine),
    single("REQUEST_METHOD", Var::RequestMethod),
    single("REQUEST_PROTOCOL", Var::RequestProtocol),
    single("REQUEST_URI", Var::RequestUri),
    single("REQUEST_URI_RAW", Var::RequestUriRaw),
    collection("RESOURCE", Var::Resource),
    single("RESPONSE_BODY", Var::ResponseBody),
    single("RESPONSE_CONTENT_LENGTH", Var::ResponseContentLength),
    single("RESPONSE_CONTENT_TYPE", Var::ResponseContentType),
    collection("RESPONSE_HEADERS", Var::ResponseHeaders),
    collection("RESPONSE_HEADERS_NAMES", Var::ResponseHeadersNames),
    single("RESPONSE_PROTOCOL", Var::ResponseProtocol),
    single("RESPONSE_STATUS", Var::ResponseStatus),
    collection("RULE", Var::Rule),
    single("SERVER_ADDR", Var::ServerAddr),
    single("SERVER_NAME", Var::ServerName),
    single("SERVER_PORT", Var::ServerPort),
    collection("SESSION", Var::Session),
    single("SESSIONID", Var::SessionId),
    single("STATUS", Var::ResponseStatus),
    single("STATUS_LINE", Var::StatusLine),
    single("TIME", Var::Time),
    single("TIME_DAY", Var::TimeDay),
    single("TIME_EPOCH", Var::TimeEpoch),
    single("TIME_HOUR", Var::TimeHour),
    single("TIME_MIN", Var::TimeMin),
    single("TIME_MON", Var::TimeMon),
    single("TIME_SEC", Var::TimeSec),
    single("TIME_WDAY", Var::TimeWday),
    single("TIME_YEAR", Var::TimeYear),
    collection("TX", Var::Tx),
    single("UNIQUE_ID", Var::UniqueId),
    single("URLENCODED_ERROR", Var::UrlencodedError),
    collection("USER", Var::User),
    single("USERID", Var::UserId),
    single("WEBAPPID", Var::WebAppId),
    single("WEBSERVER_ERROR_LOG", Var::WebserverErrorLog),
    collection("XML", Var::Xml),
];

/// Looks a variable up by name (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static VariableEntry> {
    REGISTRY.iter().find(|e| e.name.eq_ignore_ascii_case(name))
}

impl Var {
    /// The canonical SecLang name.
    pub fn name(self) -> &'static str {
        REGISTRY
            .iter()
            .find(|e| e.var == self)
            .map(|e| e.name)
            .unwrap_or("UNKNOWN")
    }

    /// True for the variables whose members come from the stored
    /// collections that `setvar` writes (TX, IP, ...).
    pub fn is_stored_collection(self) -> bool {
        matches!(
            self,
            Var::Tx | Var::Ip | Var::Global | Var::Session | Var::User | Var::Resource
        )
    }
}

/// How a target picks members of a collection.
#[derive(Debug, Clone)]
pub enum Selector {
    /// Every member.
    All,
    /// Members whose key equals this, ignoring ASCII case.
    Key(String),
    /// Members whose key matches this expression (PCRE semantics,
    /// case-insensitive, as ModSecurity compiles selector expressions).
    Regex(std::sync::Arc<crate::operators::pcre::PcrePattern>),
}

impl Selector {
    /// True when a member with `key` is selected.
    pub fn selects(&self, key: &[u8]) -> bool {
        match self {
            Selector::All => true,
            Selector::Key(k) => k.as_bytes().eq_ignore_ascii_case(key),
            Selector::Regex(r) => r.is_match(key),
        }
    }

    /// The selector as written after the colon (empty for `All`).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Selector::All => Cow::Borrowed(""),
            Selector::Key(k) => Cow::Borrowed(k),
            Selector::Regex(r) => {
                Cow::Owned(format!("/{}/", r.source().trim_start_matches("(?i)")))
            }
        }
    }
}

/// One value a variable yields: its collection, its key within the
/// collection (if any) and the value itself.
#[derive(Debug, Clone)]
pub struct VarValue<'a> {
    pub var: Var,
    pub key: Option<Cow<'a, [u8]>>,
    pub value: Cow<'a, [u8]>,
}

impl VarValue<'_> {
    /// `ARGS:foo`, or `REQUEST_URI` for a single value.
    pub fn full_name(&self) -> Vec<u8> {
        let name = self.var.name();
        let mut out = Vec::with_capacity(name.len() + 1 + self.key.as_ref().map_or(0, |k| k.len()));
        out.extend_from_slice(name.as_bytes());
        if let Some(k) = &self.key {
            out.push(b':');
            out.extend_from_slice(k);
        }
        out
    }
}

/// Pushes onto `out` every value of `var` that `selector` picks.
///
/// A single-value variable always yields one value, empty when the
/// transaction has not set it (as ModSecurity v3's anchored variables do:
/// `SecRule REQBODY_PROCESSOR "!@rx JSON"` matches a request without one).
pub(crate) fn collect<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    let start = out.len();
    collect_family(view, var, selector, out);
    if out.len() == start && !is_collection(var) {
        push_single(var, Cow::Borrowed(b""), out);
    }
}

fn is_collection(var: Var) -> bool {
    REGISTRY
        .iter()
        .find(|e| e.var == var)
        .is_some_and(|e| e.collection)
}

fn collect_family<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    use Var::*;
    match var {
        Args | ArgsGet | ArgsPost | ArgsNames | ArgsGetNames | ArgsPostNames | ArgsCombinedSize => {
            args::collect(view, var, selector, out)
        }
        RequestHeaders | RequestHeadersNames | ResponseHeaders | ResponseHeadersNames => {
            headers::collect(view, var, selector, out)
        }
        RequestCookies | RequestCookiesNames => cookies::collect(view, var, selector, out),
        RequestLine | RequestMethod | RequestProtocol | RequestUri | RequestUriRaw
        | RequestFilename | RequestBasename | QueryString | PathInfo => {
            request_line::collect(view, var, out)
        }
        RequestBody
        | RequestBodyLength
        | FullRequest
        | FullRequestLength
        | ReqbodyError
        | ReqbodyErrorMsg
        | ReqbodyProcessor
        | ReqbodyProcessorError
        | ReqbodyProcessorErrorMsg
        | UrlencodedError
        | InboundDataError => body::collect(view, var, out),
        Files
        | FilesCombinedSize
        | FilesNames
        | FilesSizes
        | FilesTmpNames
        | FilesTmpContent
        | MultipartBoundaryQuoted
        | MultipartBoundaryWhitespace
        | MultipartCrlfLfLines
        | MultipartDataAfter
        | MultipartDataBefore
        | MultipartFileLimitExceeded
        | MultipartFilename
        | MultipartHeaderFolding
        | MultipartInvalidHeaderFolding
        | MultipartInvalidPart
        | MultipartInvalidQuoting
        | MultipartLfLine
        | MultipartMissingSemicolon
        | MultipartName
        | MultipartPartHeaders
        | MultipartStrictError
        | MultipartUnmatchedBoundary => files::collect(view, var, selector, out),
        ResponseBody
        | ResponseContentLength
        | ResponseContentType
        | ResponseProtocol
        | ResponseStatus
        | StatusLine
        | OutboundDataError => response::collect(view, var, out),
        RemoteAddr | RemoteHost | RemotePort | RemoteUser | ServerAddr | ServerName
        | ServerPort | AuthType | UniqueId => connection::collect(view, var, out),
        Time | TimeDay | TimeEpoch | TimeHour | TimeMin | TimeMon | TimeSec | TimeWday
        | TimeYear => time::collect(var, out),
        Tx | Ip | Global | Session | User | Resource | Env => {
            stored::collect(view, var, selector, out)
        }
        MatchedVar | MatchedVarName | MatchedVars | MatchedVarsNames => {
            matched::collect(view, var, selector, out)
        }
        Rule => rule::collect(view, selector, out),
        Xml => xml::collect(view, selector, out),
        Duration | HighestSeverity | ModsecBuild | SessionId | UserId | WebAppId
        | WebserverErrorLog => misc::collect(view, var, out),
    }
}

/// Pushes the members of a key/value list that `selector` picks.
pub(crate) fn push_pairs<'a>(
    var: Var,
    pairs: &'a [(Vec<u8>, Vec<u8>)],
    selector: &Selector,
    names: bool,
    out: &mut Vec<VarValue<'a>>,
) {
    for (k, v) in pairs {
        if selector.selects(k) {
            out.push(VarValue {
                var,
                key: Some(Cow::Borrowed(k.as_slice())),
                value: Cow::Borrowed(if names { k.as_slice() } else { v.as_slice() }),
            });
        }
    }
}

/// Pushes one single value.
pub(crate) fn push_single<'a>(var: Var, value: Cow<'a, [u8]>, out: &mut Vec<VarValue<'a>>) {
    out.push(VarValue {
        var,
        key: None,
        value,
    });
}
