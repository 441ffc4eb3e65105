//! `multipart/form-data` request bodies (RFC 7578), read the way
//! libmodsecurity 3 (`request_body_processor/multipart.cc`) reads them,
//! strict checks and quirks included.
//!
//! Owns: the boundary taken from the `Content-Type`, the line-by-line walk
//! through the body, each part's headers and `Content-Disposition`, and
//! what the walk yields: form fields (they become `ARGS_POST`), file parts
//! (`FILES*`, kept in memory), part header lines (`MULTIPART_PART_HEADERS`),
//! every `name=` / `filename=` value (`MULTIPART_NAME`,
//! `MULTIPART_FILENAME`), the `MULTIPART_*` flags and the one message that
//! becomes `REQBODY_ERROR_MSG`.
//!
//! Must not: touch files or the network, log, or panic on any input. Work
//! stays linear in the body: lines are found with `memchr`, boundaries
//! with `memmem`, and the places where libmodsecurity repeats work on
//! hostile input (re-reading a broken part's headers, recording the same
//! folded header again) draw on a budget proportional to the body.
//!
//! How libmodsecurity walks a body, and so how this module does: the body
//! is cut into pieces, each a line up to and including its `\n`, or
//! [`LINE_BUFFER`] bytes of a longer line (one byte less when that byte
//! would be a `\r`, so that a `\r\n` is never split). Only a piece that
//! starts a line can be a boundary. A part's header lines must each fit in
//! one piece. Before the first boundary a piece is "data before"; after
//! the closing one, anything left is "data after". A part's content is
//! its pieces joined, minus the line break just before the next boundary.
//! Most errors inside a part do not stop the walk: the part's later lines
//! keep being read as headers, and a part without a name is dropped
//! (`MULTIPART_INVALID_PART`).
//!
//! Where this module deliberately differs from libmodsecurity 3.0.x:
//! - A field's value keeps the line breaks inside it (`"a\r\nb"`), as
//!   ModSecurity 2 and the application see it; libmodsecurity 3 drops
//!   them (`"ab"`), and also from `FILES_TMP_CONTENT`.
//! - The error message is the first one met; libmodsecurity keeps the last
//!   one, usually a follow-on error of the first (a part without
//!   `Content-Disposition` then reports "colon missing" for its content).
//! - An empty boundary (`boundary=`, `boundary=""`) is the error "Invalid
//!   boundary in C-T (empty)."; libmodsecurity gives up silently without
//!   an error and lets the body through unread.
//! - Parts completed before a missing final boundary are still reported
//!   (fields and files); libmodsecurity reports none of them.
//! - `file_limit` counts files: later files are reported with their size
//!   but without content; libmodsecurity also stops storing the last
//!   allowed file after its first line, and flags it as over the limit.
//! - An unterminated quoted `Content-Disposition` value ends where the
//!   header ends; libmodsecurity reads past the end of its buffer there.
//! - `MULTIPART_STRICT_ERROR` ([`MultipartFlags::strict_error`]) is set
//!   whenever `REQBODY_ERROR` is; libmodsecurity's includes only the
//!   errors of the `Content-Type` and of boundary lines, not those of part
//!   headers, the file limit or a missing final boundary.
//! - Hostile header folding, or empty lines repeated after a broken
//!   `Content-Disposition`, can exhaust the work budget, which ends the
//!   walk with "Multipart: Part headers exceed the processing limit."

use std::collections::HashMap;
use std::fmt;

use memchr::{memchr, memmem, memrchr};

/// libmodsecurity's line buffer (`MULTIPART_BUF_SIZE`): a long line is
/// handled in pieces of at most this many bytes, and a part header line
/// must fit in one piece.
pub const LINE_BUFFER: usize = 4096;

/// The longest `Content-Type` value accepted.
const MAX_CONTENT_TYPE: usize = 1024;

/// What a `Content-Type` must start with (compared without case).
const MEDIA_TYPE: &[u8] = b"multipart/form-data";

/// Besides letters and digits, what a `filename*` charset may hold.
const MIME_CHARSET_SPECIAL: &[u8] = b"!#$%&+-^_`{}~";

/// Besides letters, digits and `%XX`, what a `filename*` value may hold.
const ATTR_CHAR_SPECIAL: &[u8] = b"!#$&+-.^_`~";

/// Reported when hostile header folding exhausts the work budget.
const BUDGET_EXHAUSTED: &str = "Multipart: Part headers exceed the processing limit.";

/// A file part: one with a non-empty `filename=` parameter.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FilePart {
    /// The form field name (`name=`).
    pub name: Vec<u8>,
    /// The file name as sent (`filename=`).
    pub filename: Vec<u8>,
    /// The part's content; empty when the file came after `file_limit`
    /// others (its `size` is still counted).
    pub content: Vec<u8>,
    /// How many bytes of content the part carried (`FILES_SIZES`,
    /// `FILES_COMBINED_SIZE`), whether or not `content` kept them.
    pub size: usize,
}

impl fmt::Debug for FilePart {
    // Uploaded content may be anything a customer sent; it is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilePart")
            .field("name", &String::from_utf8_lossy(&self.name))
            .field("filename", &String::from_utf8_lossy(&self.filename))
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .field("size", &self.size)
            .finish()
    }
}

/// The `MULTIPART_*` flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultipartFlags {
    /// The boundary was quoted in the `Content-Type`.
    pub boundary_quoted: bool,
    /// Whitespace around the `=` of the boundary parameter.
    pub boundary_whitespace: bool,
    /// Both CRLF and bare LF line endings were used.
    pub crlf_lf_lines: bool,
    /// Bytes followed the closing boundary.
    pub data_after: bool,
    /// Bytes preceded the first boundary.
    pub data_before: bool,
    /// A file part came after `file_limit` others.
    pub file_limit_exceeded: bool,
    /// A part header was folded onto a following line.
    pub header_folding: bool,
    /// Folding used whitespace other than space and tab.
    pub invalid_header_folding: bool,
    /// A part was dropped for lack of a name, or our boundary appeared
    /// where a part's content should have begun.
    pub invalid_part: bool,
    /// Single quotes, or a quote in an unquoted `Content-Disposition` value.
    pub invalid_quoting: bool,
    /// A line ended with a bare LF.
    pub lf_line: bool,
    /// No `;` between the media type and the boundary parameter.
    pub missing_semicolon: bool,
    /// A line started like a boundary (`--…`) or held `--` and our
    /// boundary, without being one of ours: ModSecurity 2's meaning.
    pub unmatched_boundary: bool,
    /// The value libmodsecurity 3 gives `MULTIPART_UNMATCHED_BOUNDARY`:
    /// 0 nothing seen; 1 the last event was a line like
    /// `unmatched_boundary` describes; 2 the last event was one of our
    /// boundaries after the first (libmodsecurity overwrites an earlier 1
    /// with it, so rules test `@eq 1` for a foreign boundary and `!@eq 0`
    /// for "strict").
    pub unmatched_boundary_value: u8,
    /// Set whenever `error` is (`REQBODY_ERROR`).
    pub error: bool,
}

impl MultipartFlags {
    /// `MULTIPART_STRICT_ERROR`: any of the strict flags.
    pub fn strict_error(&self) -> bool {
        self.error
            || self.boundary_quoted
            || self.boundary_whitespace
            || self.data_before
            || self.data_after
            || self.header_folding
            || self.lf_line
            || self.missing_semicolon
            || self.invalid_quoting
            || self.invalid_part
            || self.invalid_header_folding
            || self.file_limit_exceeded
    }
}

/// Limits the parser enforces.
#[derive(Debug, Clone, Copy)]
pub struct MultipartLimits {
    /// Most file parts whose content is kept (`SecUploadFileLimit`); later
    /// files set `file_limit_exceeded` and the error. 0 means no limit.
    pub file_limit: usize,
}

/// What a multipart body yielded.
#[derive(Clone, Default)]
pub struct MultipartOutcome {
    /// Non-file fields, in order (they become `ARGS_POST`).
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// File parts, in order.
    pub files: Vec<FilePart>,
    /// (part name, one header line of that part without its line ending),
    /// in order (`MULTIPART_PART_HEADERS`). A folded header is one line,
    /// `Name: value continued`. A part without a name has an empty one.
    pub part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Every `name=` value met in a `Content-Disposition`, in order,
    /// repeats included (`MULTIPART_NAME`).
    pub names: Vec<Vec<u8>>,
    /// Every `filename=` value met, in order (`MULTIPART_FILENAME`).
    pub filenames: Vec<Vec<u8>>,
    pub flags: MultipartFlags,
    /// Bytes of the body that `SecRequestBodyNoFilesLimit` counts: every
    /// part header line and the content of the parts that are not files
    /// (boundary lines, data outside the parts and file contents are not
    /// counted), as ModSecurity counts them.
    pub no_files_bytes: usize,
    /// Why parsing failed, when it did (`REQBODY_ERROR_MSG` without the
    /// "Multipart parsing error: " prefix).
    pub error: Option<String>,
}

impl fmt::Debug for MultipartOutcome {
    // Field values and file contents can hold card numbers or passwords;
    // only their names and sizes are printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|(name, value)| {
                format!("{}: <{} bytes>", String::from_utf8_lossy(name), value.len())
            })
            .collect();
        f.debug_struct("MultipartOutcome")
            .field("fields", &fields)
            .field("files", &self.files)
            .field("part_headers", &self.part_headers.len())
            .field("names", &self.names.len())
            .field("filenames", &self.filenames.len())
            .field("flags", &self.flags)
            .field("error", &self.error)
            .finish()
    }
}

/// Parses `body` sent with `content_type`.
pub fn parse(content_type: &[u8], body: &[u8], limits: MultipartLimits) -> MultipartOutcome {
    let mut flags = MultipartFlags::default();
    match boundary_from_content_type(content_type, &mut flags) {
        Err(message) => MultipartOutcome {
            flags: MultipartFlags {
                error: true,
                ..flags
            },
            error: Some(message.to_owned()),
            ..MultipartOutcome::default()
        },
        Ok(boundary) => {
            let mut walk = Walk::new(boundary, flags, limits, body.len());
            let tail = walk.walk(body);
            walk.complete(!body.is_empty(), tail);
            walk.finish()
        }
    }
}

/// The boundary named by a `Content-Type` value, with the flags its
/// spelling sets, or libmodsecurity's message for a value it refuses.
fn boundary_from_content_type(
    content_type: &[u8],
    flags: &mut MultipartFlags,
) -> Result<Vec<u8>, &'static str> {
    if content_type.is_empty() {
        return Err("Multipart: Content-Type header not available.");
    }
    if content_type.len() > MAX_CONTENT_TYPE {
        return Err("Multipart: Invalid boundary in C-T (length).");
    }
    // libmodsecurity reads the header as a C string.
    let header = until_nul(content_type);
    if header.len() < MEDIA_TYPE.len()
        || !header[..MEDIA_TYPE.len()].eq_ignore_ascii_case(MEDIA_TYPE)
    {
        return Err("Multipart: Invalid MIME type.");
    }
    if count_boundary_params(header) > 1 {
        return Err("Multipart: Multiple boundary parameters in C-T.");
    }
    let Some(param) = memmem::find(header, b"boundary") else {
        if count_boundary_params(header) > 0 {
            return Err("Multipart: Invalid boundary in C-T (case sensitivity).");
        }
        return Err("Multipart: Boundary not found in C-T.");
    };

    // One `;` (and any whitespace) may stand between type and parameter.
    let mut seen_semicolon = false;
    for &c in header.get(MEDIA_TYPE.len()..param).unwrap_or_default() {
        if is_c_space(c) {
            continue;
        }
        if c == b';' && !seen_semicolon {
            seen_semicolon = true;
        } else {
            return Err("Multipart: Invalid boundary in C-T (malformed).");
        }
    }
    if !seen_semicolon {
        flags.missing_semicolon = true;
    }

    let name_end = param + b"boundary".len();
    let Some(eq) = memchr(b'=', &header[name_end..]).map(|i| name_end + i) else {
        return Err("Multipart: Invalid boundary in C-T (malformed).");
    };
    for &c in &header[name_end..eq] {
        if is_c_space(c) {
            flags.boundary_whitespace = true;
        } else {
            return Err("Multipart: Invalid boundary in C-T (parameter name).");
        }
    }

    let raw = &header[eq + 1..];
    if raw.first().copied().is_some_and(is_c_space) {
        flags.boundary_whitespace = true;
    }
    let quoted = raw.len() >= 2 && raw[0] == b'"' && raw[raw.len() - 1] == b'"';
    let value = if quoted {
        &raw[1..raw.len() - 1]
    } else {
        if raw.first() == Some(&b'"') || (raw.len() >= 2 && raw[raw.len() - 1] == b'"') {
            return Err("Multipart: Invalid boundary in C-T (quote).");
        }
        raw
    };
    if value.is_empty() {
        return Err("Multipart: Invalid boundary in C-T (empty).");
    }
    if quoted {
        flags.boundary_quoted = true;
    }
    if count_boundary_params(value) != 0 {
        return Err("Multipart: Invalid boundary in C-T (content).");
    }
    // Some frameworks add `; charset=…` after the boundary: tolerated.
    let mut boundary = value.to_vec();
    if !boundary_characters_valid(&boundary) {
        if let Some(semicolon) = memchr(b';', &boundary) {
            boundary.truncate(semicolon);
        }
    }
    if !boundary_characters_valid(&boundary) {
        return Err("Multipart: Invalid boundary in C-T (characters).");
    }
    if boundary.is_empty() {
        return Err("Multipart: Invalid boundary in C-T (empty).");
    }
    Ok(boundary)
}

/// How many times `boundary` (without case) appears with an `=` somewhere
/// after it.
fn count_boundary_params(text: &[u8]) -> usize {
    let lower = text.to_ascii_lowercase();
    let Some(last_eq) = memrchr(b'=', &lower) else {
        return 0;
    };
    memmem::find_iter(&lower, b"boundary")
        .filter(|&at| at + b"boundary".len() <= last_eq)
        .count()
}

/// RFC 2046's boundary characters (a space, but not at the end).
fn boundary_characters_valid(boundary: &[u8]) -> bool {
    boundary.iter().enumerate().all(|(i, &c)| {
        c.is_ascii_alphanumeric()
            || (c == b' ' && i + 1 < boundary.len())
            || b"'()+_,-./:=?".contains(&c)
    })
}

/// C's `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// RFC 2616 token characters, as libmodsecurity lists them.
fn is_token_char(c: u8) -> bool {
    c > 32 && c < 127 && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

/// The bytes before the first NUL: what C string functions see.
fn until_nul(bytes: &[u8]) -> &[u8] {
    &bytes[..memchr(0, bytes).unwrap_or(bytes.len())]
}

/// Trailing `\r` and `\n` removed, unless that would leave nothing
/// (libmodsecurity's `chomp`).
fn chomp(bytes: &[u8]) -> &[u8] {
    match bytes.iter().rposition(|&b| b != b'\n' && b != b'\r') {
        Some(last) => &bytes[..=last],
        None => bytes,
    }
}

/// Received bytes for an error message, without their line ending.
fn shown(bytes: &[u8]) -> String {
    String::from_utf8_lossy(chomp(bytes)).into_owned()
}

/// What ended the input just before the current position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    Other,
    Cr,
    Lf,
    CrLf,
}

/// Why a piece of the body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PieceEnd {
    /// At a `\n`.
    Newline,
    /// The line buffer filled up.
    Full,
    /// The buffer had one byte left and the next byte is a `\r`: the `\r`
    /// starts the next piece.
    HeldCr,
}

/// Bytes of a body left after the last whole piece.
struct Tail<'b> {
    bytes: &'b [u8],
    starts_line: bool,
}

/// A part header line waiting to be recorded in `MULTIPART_PART_HEADERS`:
/// it is recorded when the next header or the end of the headers comes.
#[derive(Debug, Default)]
enum PendingLine {
    #[default]
    Nothing,
    /// The line as received, without its line ending.
    Received(Vec<u8>),
    /// A folded header: `name: ` and the first `value_len` bytes of its
    /// value (later folds that made it too long are not part of it).
    Folded { header: usize, value_len: usize },
}

/// A part while its lines arrive.
#[derive(Debug, Default)]
struct PartInProgress {
    name: Vec<u8>,
    filename: Vec<u8>,
    is_file: bool,
    /// (name as sent, value) in arrival order.
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Lower-cased header name → index in `headers`.
    header_index: HashMap<Vec<u8>, usize>,
    /// The header a folded line continues.
    last_header: Option<usize>,
    pending_line: PendingLine,
    header_lines: Vec<Vec<u8>>,
    /// The headers ended; lines are content now.
    reading_content: bool,
    /// A content line was read since the headers ended.
    content_read: bool,
    /// The line break ending the previous content line: it belongs to the
    /// content unless a boundary follows.
    held_back: &'static [u8],
    content: Vec<u8>,
    size: usize,
    /// The file's first content line was seen (and counted).
    file_started: bool,
    keep_content: bool,
}

/// Where a `Content-Disposition` reading leaves what it finds.
struct Disposition<'a> {
    name: &'a mut Vec<u8>,
    filename: &'a mut Vec<u8>,
    names: &'a mut Vec<Vec<u8>>,
    filenames: &'a mut Vec<Vec<u8>>,
    invalid_quoting: &'a mut bool,
}

/// One walk through a body.
struct Walk {
    boundary: Vec<u8>,
    /// Finds `--boundary` anywhere in a piece.
    delimiter: memmem::Finder<'static>,
    limits: MultipartLimits,
    flags: MultipartFlags,
    crlf_line: bool,
    error: Option<String>,
    part: Option<PartInProgress>,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
    files: Vec<FilePart>,
    part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    names: Vec<Vec<u8>>,
    filenames: Vec<Vec<u8>>,
    boundaries_seen: usize,
    no_files_bytes: usize,
    complete: bool,
    files_kept: usize,
    line_end: LineEnd,
    /// `line_end` when the previous piece was handed over.
    line_end_at_piece_end: LineEnd,
    /// Bytes of repeated header work still allowed.
    budget: usize,
    exhausted: bool,
}

impl Walk {
    fn new(
        boundary: Vec<u8>,
        flags: MultipartFlags,
        limits: MultipartLimits,
        body_len: usize,
    ) -> Walk {
        let mut delimiter = Vec::with_capacity(boundary.len() + 2);
        delimiter.extend_from_slice(b"--");
        delimiter.extend_from_slice(&boundary);
        Walk {
            boundary,
            delimiter: memmem::Finder::new(&delimiter).into_owned(),
            limits,
            flags,
            crlf_line: false,
            error: None,
            part: None,
            fields: Vec::new(),
            files: Vec::new(),
            part_headers: Vec::new(),
            names: Vec::new(),
            filenames: Vec::new(),
            boundaries_seen: 0,
            no_files_bytes: 0,
            complete: false,
            files_kept: 0,
            line_end: LineEnd::Other,
            line_end_at_piece_end: LineEnd::Other,
            // An honest body costs about twice its size (header lines
            // recorded once and keyed by the part name, dispositions read
            // once); hostile folding can ask for far more.
            budget: body_len.saturating_mul(8).saturating_add(1 << 16),
            exhausted: false,
        }
    }

    /// Records an error; the first one stays.
    fn fail(&mut self, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(message.into());
        }
    }

    /// Takes `bytes` of work from the budget; false (and the walk ends)
    /// when it runs out.
    fn charge(&mut self, bytes: usize) -> bool {
        if self.exhausted {
            return false;
        }
        if bytes > self.budget {
            self.exhausted = true;
            self.fail(BUDGET_EXHAUSTED);
            return false;
        }
        self.budget -= bytes;
        true
    }

    /// Walks the body piece by piece; returns what is left after the last
    /// whole piece when the walk reached the end.
    fn walk<'b>(&mut self, body: &'b [u8]) -> Option<Tail<'b>> {
        let mut pos = 0;
        let mut starts_line = true;
        while pos < body.len() {
            let window = &body[pos..body.len().min(pos + LINE_BUFFER)];
            let (len, end) = match memchr(b'\n', window) {
                Some(i) => (i + 1, PieceEnd::Newline),
                None if window.len() < LINE_BUFFER => {
                    return Some(Tail {
                        bytes: window,
                        starts_line,
                    })
                }
                None if window[LINE_BUFFER - 1] == b'\r' => (LINE_BUFFER - 1, PieceEnd::HeldCr),
                None => (LINE_BUFFER, PieceEnd::Full),
            };
            let piece = &body[pos..pos + len];
            let buffer_full = len == LINE_BUFFER || end == PieceEnd::HeldCr;
            if let Err(message) = self.piece(piece, starts_line, buffer_full) {
                self.fail(message);
                return None;
            }
            if self.exhausted {
                return None;
            }
            self.track_line_end(piece, end);
            pos += len;
            starts_line = end == PieceEnd::Newline;
            if self.complete && pos < body.len() {
                self.flags.data_after = true;
                return None;
            }
        }
        None
    }

    /// Follows line endings across pieces: libmodsecurity flags a bare LF
    /// before a boundary by what ended the piece before it.
    fn track_line_end(&mut self, piece: &[u8], end: PieceEnd) {
        let after = |b: u8| {
            if b == b'\r' {
                LineEnd::Cr
            } else {
                LineEnd::Other
            }
        };
        let Some((&last, rest)) = piece.split_last() else {
            return;
        };
        let before_last = match end {
            // The held `\r` is not in the piece: every byte was consumed.
            PieceEnd::HeldCr => after(last),
            _ => rest.last().map_or(self.line_end, |&b| after(b)),
        };
        let at_end = match end {
            PieceEnd::Newline if before_last == LineEnd::Cr => LineEnd::CrLf,
            PieceEnd::Newline => LineEnd::Lf,
            _ => before_last,
        };
        self.line_end_at_piece_end = at_end;
        self.line_end = match end {
            PieceEnd::Newline => at_end,
            PieceEnd::HeldCr => LineEnd::Cr,
            PieceEnd::Full => after(last),
        };
    }

    /// One piece; `Err` ends the walk.
    fn piece(&mut self, piece: &[u8], starts_line: bool, buffer_full: bool) -> Result<(), String> {
        let text = until_nul(piece);
        let mut was_boundary = false;
        if starts_line && text.len() > 3 && text.starts_with(b"--") {
            if text.len() >= self.boundary.len() + 2 && text[2..].starts_with(&self.boundary) {
                was_boundary = self.boundary_line(text)?;
            } else {
                self.foreign_boundary(text)?;
            }
        } else if starts_line && self.delimiter.find(piece).is_some() {
            self.mark_unmatched();
        }
        if !was_boundary {
            self.part_line(piece, buffer_full)?;
        }
        Ok(())
    }

    fn mark_unmatched(&mut self) {
        self.flags.unmatched_boundary = true;
        self.flags.unmatched_boundary_value = 1;
    }

    /// A line starting with `--` and our boundary. Returns whether it was
    /// taken as a boundary (it is not where a part's content should begin).
    fn boundary_line(&mut self, text: &[u8]) -> Result<bool, String> {
        if self.line_end_at_piece_end == LineEnd::Lf {
            self.flags.lf_line = true;
        }
        let content_read = self.part.as_ref().is_some_and(|p| p.content_read);
        if !content_read && self.boundaries_seen > 0 {
            self.flags.invalid_part = true;
            return Ok(false);
        }
        if self.boundaries_seen > 0 {
            self.flags.unmatched_boundary_value = 2;
        }
        let at = |i: usize| text.get(i).copied().unwrap_or(0);
        let mut end = 2 + self.boundary.len();
        let last = at(end) == b'-' && at(end + 1) == b'-';
        if last {
            end += 2;
            if self.complete {
                return Err("Multipart: Invalid boundary (final duplicate).".into());
            }
        }
        if at(end) == b'\r' && at(end + 1) == b'\n' && at(end + 2) == 0 {
            self.crlf_line = true;
        } else if at(end) == b'\n' && at(end + 1) == 0 {
            self.flags.lf_line = true;
        } else {
            return Err(format!("Multipart: Invalid boundary: {}", shown(text)));
        }
        self.finish_part(last);
        if last {
            self.complete = true;
        }
        self.boundaries_seen += 1;
        Ok(true)
    }

    /// A line starting with `--` that is not our boundary.
    fn foreign_boundary(&mut self, text: &[u8]) -> Result<(), String> {
        let boundary = &self.boundary;
        if self.flags.boundary_quoted
            && text.len() >= boundary.len() + 3
            && text[2] == b'"'
            && text[3..].starts_with(boundary)
        {
            return Err("Multipart: Invalid boundary (quotes).".into());
        }
        let spaces = text[2..].iter().take_while(|&&b| is_c_space(b)).count();
        if spaces > 0 && text[2 + spaces..].starts_with(boundary) {
            return Err("Multipart: Invalid boundary (whitespace).".into());
        }
        self.mark_unmatched();
        Ok(())
    }

    /// A piece that is not a boundary: data before the first boundary, a
    /// part header line or part content.
    fn part_line(&mut self, piece: &[u8], buffer_full: bool) -> Result<(), String> {
        let Some(mut part) = self.part.take() else {
            self.flags.data_before = true;
            return Ok(());
        };
        if !(part.reading_content && part.is_file) {
            self.no_files_bytes += piece.len();
        }
        let result = if part.reading_content {
            self.content_piece(&mut part, piece);
            Ok(())
        } else if buffer_full {
            Err(format!(
                "Multipart: Part header line over {LINE_BUFFER} bytes long"
            ))
        } else {
            self.header_line(&mut part, piece);
            Ok(())
        };
        self.part = Some(part);
        result
    }

    /// One part header line, ending with its `\n`.
    fn header_line(&mut self, part: &mut PartInProgress, line: &[u8]) {
        if memchr(0, line).is_some() {
            self.fail("Multipart: Nul byte in part headers.");
            return;
        }
        let mut content_len = line.len().saturating_sub(1);
        if line.len() > 1 && line[line.len() - 2] == b'\r' {
            self.crlf_line = true;
            content_len -= 1;
        } else {
            self.flags.lf_line = true;
        }
        if line == b"\r\n" || line == b"\n" {
            self.end_of_headers(part);
        } else if line.first().copied().is_some_and(is_c_space) {
            self.folded_line(part, line);
        } else {
            self.record_pending_line(part);
            self.new_header(part, line, content_len);
        }
    }

    /// A header line that does not start with whitespace.
    fn new_header(&mut self, part: &mut PartInProgress, line: &[u8], content_len: usize) {
        let Some(colon) = memchr(b':', line) else {
            self.fail(format!(
                "Multipart: Invalid part header (colon missing): {}",
                shown(line)
            ));
            return;
        };
        if colon == 0 {
            self.fail("Multipart: Invalid part header (header name missing).");
            return;
        }
        let name = &line[..colon];
        if name.iter().any(|b| !(33..=126).contains(b)) {
            self.fail("Multipart: Invalid part header (contains invalid character).");
            return;
        }
        let spaces = line[colon + 1..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let value = chomp(&line[colon + 1 + spaces..]);
        let key = name.to_ascii_lowercase();
        if part.header_index.contains_key(&key) {
            // A repeated header is ignored; libmodsecurity only logs it.
            return;
        }
        let index = part.headers.len();
        part.headers.push((name.to_vec(), value.to_vec()));
        part.header_index.insert(key, index);
        part.last_header = Some(index);
        part.pending_line = if content_len > 0 {
            PendingLine::Received(line[..content_len].to_vec())
        } else {
            PendingLine::Nothing
        };
    }

    /// A header line starting with whitespace continues the last header.
    fn folded_line(&mut self, part: &mut PartInProgress, line: &[u8]) {
        self.flags.header_folding = true;
        // RFC 2557 folds with a space or a tab; PHP and others take any
        // whitespace, so it is accepted and flagged.
        if line.first().is_some_and(|&b| b != b' ' && b != b'\t') {
            self.flags.invalid_header_folding = true;
        }
        let Some(header) = part.last_header else {
            self.fail("Multipart: Invalid part header (folding error).");
            return;
        };
        let spaces = line.iter().take_while(|&&b| is_c_space(b)).count();
        if line[..spaces].iter().any(|&b| b != b' ' && b != b'\t') {
            self.flags.invalid_header_folding = true;
        }
        let Some((_, value)) = part.headers.get_mut(header) else {
            return;
        };
        value.push(b' ');
        value.extend_from_slice(chomp(&line[spaces..]));
        if value.len() > LINE_BUFFER {
            self.fail("Multipart: Part header too long.");
            return;
        }
        part.pending_line = PendingLine::Folded {
            header,
            value_len: value.len(),
        };
    }

    /// Moves the pending header line into the part's recorded lines.
    fn record_pending_line(&mut self, part: &mut PartInProgress) {
        let line = match std::mem::take(&mut part.pending_line) {
            PendingLine::Nothing => return,
            PendingLine::Received(line) => line,
            PendingLine::Folded { header, value_len } => {
                let Some((name, value)) = part.headers.get(header) else {
                    return;
                };
                let value = &value[..value_len.min(value.len())];
                if !self.charge(name.len() + 2 + value.len()) {
                    return;
                }
                let mut line = Vec::with_capacity(name.len() + 2 + value.len());
                line.extend_from_slice(name);
                line.extend_from_slice(b": ");
                line.extend_from_slice(value);
                line
            }
        };
        part.header_lines.push(line);
    }

    /// The empty line after a part's headers.
    fn end_of_headers(&mut self, part: &mut PartInProgress) {
        self.record_pending_line(part);
        let Some(&index) = part.header_index.get(&b"content-disposition"[..]) else {
            self.fail("Multipart: Part missing Content-Disposition header.");
            return;
        };
        let value = match part.headers.get(index) {
            Some((_, value)) => value,
            None => return,
        };
        if !self.charge(value.len()) {
            return;
        }
        let read = read_content_disposition(
            value,
            Disposition {
                name: &mut part.name,
                filename: &mut part.filename,
                names: &mut self.names,
                filenames: &mut self.filenames,
                invalid_quoting: &mut self.flags.invalid_quoting,
            },
        );
        if let Err(code) = read {
            let message = format!(
                "Multipart: Invalid Content-Disposition header ({code}): {}",
                shown(value)
            );
            self.fail(message);
            return;
        }
        if part.name.is_empty() {
            self.fail("Multipart: Content-Disposition header missing name field.");
            return;
        }
        if !part.filename.is_empty() {
            // A parser that misread the header would miss the file.
            if memmem::find(value, b"filename=").is_none() {
                self.fail("Multipart: Invalid Content-Disposition header (filename).");
                return;
            }
            part.is_file = true;
        } else {
            part.is_file = false;
        }
        part.reading_content = true;
        part.content_read = false;
        part.last_header = None;
    }

    /// A piece of a part's content.
    fn content_piece(&mut self, part: &mut PartInProgress, piece: &[u8]) {
        part.content_read = true;
        let (data, held): (&[u8], &'static [u8]) = if let Some(d) = piece.strip_suffix(b"\r\n") {
            (d, b"\r\n")
        } else if let Some(d) = piece.strip_suffix(b"\n") {
            (d, b"\n")
        } else {
            (piece, b"")
        };
        let before = std::mem::replace(&mut part.held_back, held);
        if part.is_file {
            if !part.file_started {
                part.file_started = true;
                let limit = self.limits.file_limit;
                if limit != 0 && self.files_kept >= limit {
                    self.flags.file_limit_exceeded = true;
                    self.fail(format!(
                        "Multipart: Upload file limit exceeded {limit}. \
                         Use SecUploadFileLimit to change the limit."
                    ));
                    part.keep_content = false;
                } else {
                    self.files_kept += 1;
                    part.keep_content = true;
                }
            }
            part.size += before.len() + data.len();
            if !part.keep_content {
                return;
            }
        }
        part.content.extend_from_slice(before);
        part.content.extend_from_slice(data);
    }

    /// Closes the part being built (at a boundary) and, unless `last`,
    /// opens the next.
    fn finish_part(&mut self, last: bool) {
        if let Some(mut part) = self.part.take() {
            let lines = std::mem::take(&mut part.header_lines);
            if self.charge(lines.len().saturating_mul(part.name.len())) {
                for line in lines {
                    self.part_headers.push((part.name.clone(), line));
                }
            }
            if part.name.is_empty() {
                self.flags.invalid_part = true;
            } else if part.is_file {
                self.files.push(FilePart {
                    name: part.name,
                    filename: part.filename,
                    content: part.content,
                    size: part.size,
                });
            } else {
                self.fields.push((part.name, part.content));
            }
        }
        if !last {
            self.part = Some(PartInProgress::default());
        }
    }

    /// The end of the body: a closing boundary without a line ending is
    /// accepted; a missing one is an error.
    fn complete(&mut self, seen_data: bool, tail: Option<Tail<'_>>) {
        if !seen_data || self.complete {
            return;
        }
        if self.boundaries_seen == 0 {
            self.fail("Multipart: No boundaries found in payload.");
            return;
        }
        if let Some(tail) = tail {
            if tail.starts_line && self.is_closing_delimiter(tail.bytes) {
                if self.line_end_at_piece_end == LineEnd::Lf {
                    self.flags.lf_line = true;
                }
                let content_read = self.part.as_ref().is_some_and(|p| p.content_read);
                if !content_read {
                    self.flags.invalid_part = true;
                }
                self.finish_part(true);
                self.complete = true;
            }
        }
        if !self.complete {
            self.fail("Multipart: Final boundary missing.");
        }
    }

    /// `--boundary--` exactly.
    fn is_closing_delimiter(&self, bytes: &[u8]) -> bool {
        bytes.len() == self.boundary.len() + 4
            && bytes.starts_with(b"--")
            && bytes.ends_with(b"--")
            && &bytes[2..2 + self.boundary.len()] == self.boundary.as_slice()
    }

    fn finish(mut self) -> MultipartOutcome {
        self.flags.crlf_lf_lines = self.crlf_line && self.flags.lf_line;
        self.flags.error = self.error.is_some();
        MultipartOutcome {
            fields: self.fields,
            files: self.files,
            part_headers: self.part_headers,
            names: self.names,
            filenames: self.filenames,
            flags: self.flags,
            no_files_bytes: self.no_files_bytes,
            error: self.error,
        }
    }
}

/// Reads a `Content-Disposition` value (`form-data; name="a";
/// filename="b"`), filling in the part's name and file name. The error is
/// libmodsecurity's code, shown in its message.
fn read_content_disposition(value: &[u8], found: Disposition<'_>) -> Result<(), i32> {
    let v = value;
    let len = v.len();
    let skip_blanks = |mut p: usize| {
        while p < len && (v[p] == b' ' || v[p] == b'\t') {
            p += 1;
        }
        p
    };
    if !v.starts_with(b"form-data") {
        return Err(-1);
    }
    let mut p = skip_blanks(b"form-data".len());
    if p == len {
        return Ok(());
    }
    if v[p] != b';' {
        return Err(-2);
    }
    p += 1;

    let mut filename_star: Vec<u8> = Vec::new();
    while p < len {
        p = skip_blanks(p);
        if p == len {
            return Err(-3);
        }
        let start = p;
        while p < len && !matches!(v[p], b'=' | b'\t' | b' ') {
            p += 1;
        }
        if p == len {
            return Err(-4);
        }
        let param = &v[start..p];
        p = skip_blanks(p);
        if p == len {
            return Err(-5);
        }
        if v[p] != b'=' {
            return Err(-13);
        }
        p = skip_blanks(p + 1);
        if p == len {
            return Err(-6);
        }

        let mut quote = 0u8;
        let mut param_value = Vec::new();
        if param == b"filename*" {
            // filename*=charset'[language]'percent-encoded-name
            let charset = p;
            while p < len && (v[p].is_ascii_alphanumeric() || MIME_CHARSET_SPECIAL.contains(&v[p]))
            {
                p += 1;
            }
            if p == len || v[p] != b'\'' || p == charset {
                return Err(-16);
            }
            p += 1;
            while p < len && v[p] != b'\'' {
                p += 1;
            }
            if p == len {
                return Err(-17);
            }
            p += 1;
            let name_start = p;
            while p < len && v[p] != b';' {
                if v[p] == b'%' {
                    let hex = |i: usize| v.get(i).is_some_and(|b| b.is_ascii_hexdigit());
                    if !hex(p + 1) || !hex(p + 2) {
                        return Err(-18);
                    }
                    p += 3;
                } else if v[p].is_ascii_alphanumeric() || ATTR_CHAR_SPECIAL.contains(&v[p]) {
                    p += 1;
                } else {
                    return Err(-19);
                }
            }
            param_value.extend_from_slice(&v[name_start..p]);
        } else if v[p] == b'"' || v[p] == b'\'' {
            // Both quotes are accepted, as some applications accept them;
            // the single quote is flagged.
            quote = v[p];
            if quote == b'\'' {
                *found.invalid_quoting = true;
            }
            p += 1;
            if p == len {
                return Err(-7);
            }
            let mut closed = false;
            while p < len {
                if v[p] == b'\\' {
                    if p + 1 == len {
                        return Err(-8);
                    }
                    // Only the quote and `\` are escaped; another `\` is
                    // kept as sent (browsers send those).
                    if v[p + 1] == quote || v[p + 1] == b'\\' {
                        p += 1;
                    }
                } else if v[p] == quote {
                    closed = true;
                    break;
                }
                param_value.push(v[p]);
                p += 1;
            }
            if closed {
                p += 1;
            }
        } else {
            let start = p;
            while p < len && is_token_char(v[p]) {
                p += 1;
            }
            param_value.extend_from_slice(&v[start..p]);
        }

        match param {
            b"name" => {
                flag_single_quotes(&param_value, quote, found.invalid_quoting);
                found.names.push(param_value.clone());
                if !found.name.is_empty() {
                    return Err(-14);
                }
                *found.name = param_value;
            }
            b"filename" => {
                flag_single_quotes(&param_value, quote, found.invalid_quoting);
                found.filenames.push(param_value.clone());
                if !found.filename.is_empty() {
                    return Err(-15);
                }
                *found.filename = param_value;
            }
            b"filename*" => {
                if !filename_star.is_empty() {
                    return Err(-20);
                }
                filename_star = param_value;
            }
            _ => return Err(-11),
        }

        if p < len {
            p = skip_blanks(p);
            if p < len {
                if v[p] != b';' {
                    if p > 0 && (v[p - 1] == b'\'' || v[p - 1] == b'"') {
                        *found.invalid_quoting = true;
                    }
                    return Err(-12);
                }
                p += 1;
            }
        }
    }
    if !filename_star.is_empty() && found.filename.is_empty() {
        return Err(-21);
    }
    Ok(())
}

/// A single quote inside a value not enclosed in double quotes.
fn flag_single_quotes(value: &[u8], quote: u8, invalid_quoting: &mut bool) {
    if quote != b'"' && value.contains(&b'\'') {
        *invalid_quoting = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &[u8] = b"multipart/form-data; boundary=XyZ";

    fn limits() -> MultipartLimits {
        MultipartLimits { file_limit: 100 }
    }

    /// Lines joined with CRLF, and a CRLF after the last.
    fn crlf(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in lines {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn run(content_type: &[u8], body: &[u8]) -> MultipartOutcome {
        parse(content_type, body, limits())
    }

    fn field<'a>(out: &'a MultipartOutcome, name: &str) -> Option<&'a [u8]> {
        out.fields
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    fn simple_form() -> Vec<u8> {
        crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZ",
            "Content-Disposition: form-data; name=\"b\"",
            "",
            "2",
            "--XyZ--",
        ])
    }

    fn ct_error(content_type: &str) -> (Option<String>, MultipartFlags) {
        let out = run(content_type.as_bytes(), &simple_form());
        (out.error, out.flags)
    }

    #[test]
    fn clean_form_has_fields_and_no_flags() {
        let out = run(CT, &simple_form());
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "a"), Some(&b"1"[..]));
        assert_eq!(field(&out, "b"), Some(&b"2"[..]));
        assert!(!out.flags.strict_error(), "{:?}", out.flags);
        assert!(!out.flags.unmatched_boundary);
        assert_eq!(out.flags.unmatched_boundary_value, 2);
        assert_eq!(out.names, vec![b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn value_keeps_inner_line_breaks_and_drops_the_delimiter_break() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"t\"",
            "",
            "line one",
            "line two",
            "",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(field(&out, "t"), Some(&b"line one\r\nline two\r\n"[..]));
    }

    #[test]
    fn empty_value_needs_an_empty_line() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"e\"",
            "",
            "",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "e"), Some(&b""[..]));
        assert!(!out.flags.invalid_part);
    }

    #[test]
    fn boundary_right_after_headers_is_an_invalid_part() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"e\"",
            "",
            "--XyZ",
            "Content-Disposition: form-data; name=\"f\"",
            "",
            "v",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert!(out.flags.invalid_part);
        // The boundary line became content of the first part.
        let e = field(&out, "e").unwrap_or_default();
        assert!(e.starts_with(b"--XyZ\r\nContent-Disposition"), "{e:?}");
    }

    #[test]
    fn no_files_bytes_count_part_headers_and_field_content() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZ",
            "Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\"",
            "",
            "0123456789",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        // Header lines and the blank lines after them, and "1\r\n";
        // neither the boundaries nor the file's content.
        let headers = "Content-Disposition: form-data; name=\"a\"\r\n\r\n".len()
            + "Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\n\r\n".len();
        assert_eq!(out.no_files_bytes, headers + 3);
    }

    #[test]
    fn file_part_is_kept_in_memory() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\"",
            "Content-Type: text/plain",
            "",
            "hello",
            "world",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        assert!(out.fields.is_empty());
        assert_eq!(out.files.len(), 1);
        let f = &out.files[0];
        assert_eq!(f.name, b"up");
        assert_eq!(f.filename, b"a.txt");
        assert_eq!(f.content, b"hello\r\nworld");
        assert_eq!(f.size, 12);
        assert_eq!(out.filenames, vec![b"a.txt".to_vec()]);
        assert_eq!(
            out.part_headers,
            vec![
                (
                    b"up".to_vec(),
                    b"Content-Disposition: form-data; name=\"up\"; filename=\"a.txt\"".to_vec()
                ),
                (b"up".to_vec(), b"Content-Type: text/plain".to_vec()),
            ]
        );
        let shown = format!("{out:?}");
        assert!(!shown.contains("hello"), "{shown}");
    }

    #[test]
    fn empty_filename_is_a_field() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"up\"; filename=\"\"",
            "",
            "x",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert!(out.files.is_empty());
        assert_eq!(field(&out, "up"), Some(&b"x"[..]));
    }

    #[test]
    fn files_over_the_limit_keep_size_but_not_content() {
        let mut lines = vec!["--XyZ"];
        let parts = [
            "Content-Disposition: form-data; name=\"f1\"; filename=\"1\"",
            "Content-Disposition: form-data; name=\"f2\"; filename=\"2\"",
            "Content-Disposition: form-data; name=\"f3\"; filename=\"3\"",
        ];
        for (i, cd) in parts.iter().enumerate() {
            lines.push(cd);
            lines.push("");
            lines.push("abc");
            lines.push("def");
            lines.push(if i == 2 { "--XyZ--" } else { "--XyZ" });
        }
        let out = parse(CT, &crlf(&lines), MultipartLimits { file_limit: 2 });
        assert!(out.flags.file_limit_exceeded);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Upload file limit exceeded 2. Use SecUploadFileLimit to change the limit.")
        );
        assert_eq!(out.files.len(), 3);
        assert_eq!(out.files[1].content, b"abc\r\ndef");
        assert!(out.files[2].content.is_empty());
        assert_eq!(out.files[2].size, 8);
        assert!(out.flags.strict_error());

        let unlimited = parse(CT, &crlf(&lines), MultipartLimits { file_limit: 0 });
        assert!(!unlimited.flags.file_limit_exceeded);
        assert_eq!(unlimited.error, None);
    }

    #[test]
    fn content_type_errors() {
        let cases = [
            ("", "Multipart: Content-Type header not available."),
            ("text/plain; boundary=XyZ", "Multipart: Invalid MIME type."),
            (
                "multipart/form-data",
                "Multipart: Boundary not found in C-T.",
            ),
            (
                "multipart/form-data; BOUNDARY=XyZ",
                "Multipart: Invalid boundary in C-T (case sensitivity).",
            ),
            (
                "multipart/form-data; boundary=XyZ; boundary=abc",
                "Multipart: Multiple boundary parameters in C-T.",
            ),
            (
                "multipart/form-data, boundary=XyZ",
                "Multipart: Invalid boundary in C-T (malformed).",
            ),
            (
                "multipart/form-data; boundary",
                "Multipart: Invalid boundary in C-T (malformed).",
            ),
            (
                "multipart/form-data; boundaryx=XyZ",
                "Multipart: Invalid boundary in C-T (parameter name).",
            ),
            (
                "multipart/form-data; boundary=\"XyZ",
                "Multipart: Invalid boundary in C-T (quote).",
            ),
            (
                "multipart/form-data; boundary=XyZ\"",
                "Multipart: Invalid boundary in C-T (quote).",
            ),
            (
                "multipart/form-data; boundary=Xy!Z",
                "Multipart: Invalid boundary in C-T (characters).",
            ),
            (
                "multipart/form-data; boundary=XyZ ",
                "Multipart: Invalid boundary in C-T (characters).",
            ),
            (
                "multipart/form-data; boundary=",
                "Multipart: Invalid boundary in C-T (empty).",
            ),
            (
                "multipart/form-data; boundary=\"\"",
                "Multipart: Invalid boundary in C-T (empty).",
            ),
            (
                "multipart/form-data; boundary=;x",
                "Multipart: Invalid boundary in C-T (empty).",
            ),
        ];
        for (ct, want) in cases {
            let (error, flags) = ct_error(ct);
            assert_eq!(error.as_deref(), Some(want), "{ct:?}");
            assert!(flags.error && flags.strict_error(), "{ct:?}");
        }
        let long = format!("multipart/form-data; boundary={}", "a".repeat(1100));
        assert_eq!(
            ct_error(&long).0.as_deref(),
            Some("Multipart: Invalid boundary in C-T (length).")
        );
    }

    #[test]
    fn content_type_spellings_that_set_flags() {
        let out = run(b"multipart/form-data; boundary=\"XyZ\"", &simple_form());
        assert!(out.flags.boundary_quoted && out.error.is_none());
        assert_eq!(field(&out, "b"), Some(&b"2"[..]));

        let out = run(b"multipart/form-data; boundary =XyZ", &simple_form());
        assert!(out.flags.boundary_whitespace && out.error.is_none());

        let out = run(b"multipart/form-data boundary=XyZ", &simple_form());
        assert!(out.flags.missing_semicolon && out.error.is_none());
        assert!(out.flags.strict_error());

        let out = run(
            b"Multipart/Form-Data; boundary=XyZ; charset=UTF-8",
            &simple_form(),
        );
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "a"), Some(&b"1"[..]));

        // A leading space is part of the boundary, which then never matches.
        let out = run(b"multipart/form-data; boundary= XyZ", &simple_form());
        assert!(out.flags.boundary_whitespace);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: No boundaries found in payload.")
        );
    }

    #[test]
    fn data_before_and_after() {
        let mut body = b"preamble\r\n".to_vec();
        body.extend(simple_form());
        body.extend_from_slice(b"epilogue\r\n");
        let out = run(CT, &body);
        assert!(out.flags.data_before && out.flags.data_after);
        assert_eq!(out.error, None);
        assert!(out.flags.strict_error());
        assert_eq!(out.fields.len(), 2);
    }

    #[test]
    fn data_after_a_closing_boundary_is_not_read() {
        let mut body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZ--",
        ]);
        body.extend(simple_form());
        let out = run(CT, &body);
        assert!(out.flags.data_after);
        assert_eq!(out.fields, vec![(b"a".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn closing_boundary_first_ends_the_body() {
        // PHP skips a leading closing boundary and reads the parts after
        // it; ModSecurity stops there, so the rest is "data after", which
        // MULTIPART_STRICT_ERROR reports.
        let mut body = b"--XyZ--\r\n".to_vec();
        body.extend(simple_form());
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        assert!(out.fields.is_empty());
        assert!(out.flags.data_after && out.flags.strict_error());
    }

    #[test]
    fn missing_final_boundary() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZ",
            "Content-Disposition: form-data; name=\"b\"",
            "",
            "2",
        ]);
        let out = run(CT, &body);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Final boundary missing.")
        );
        assert!(out.flags.error);
        // The completed part is still reported; the unfinished one is not.
        assert_eq!(out.fields, vec![(b"a".to_vec(), b"1".to_vec())]);
    }

    #[test]
    fn closing_boundary_without_line_ending_is_accepted() {
        let mut body = simple_form();
        body.truncate(body.len() - 2);
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "b"), Some(&b"2"[..]));
        assert!(!out.flags.strict_error());
    }

    #[test]
    fn no_boundary_in_body() {
        let out = run(CT, b"just some text\r\n");
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: No boundaries found in payload.")
        );
        assert!(out.flags.data_before);
        let empty = run(CT, b"");
        assert_eq!(empty.error, None);
        assert!(!empty.flags.strict_error());
    }

    #[test]
    fn unmatched_boundary_then_ours() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "--other",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert!(out.flags.unmatched_boundary);
        // libmodsecurity overwrites 1 with 2 at our next boundary.
        assert_eq!(out.flags.unmatched_boundary_value, 2);
        assert_eq!(field(&out, "a"), Some(&b"--other"[..]));
        assert!(!out.flags.strict_error());
    }

    #[test]
    fn unmatched_boundary_last() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "x --XyZ inside",
            "--nope--",
        ]);
        let out = run(CT, &body);
        assert!(out.flags.unmatched_boundary);
        assert_eq!(out.flags.unmatched_boundary_value, 1);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Final boundary missing.")
        );
    }

    #[test]
    fn our_boundary_followed_by_junk_stops_the_walk() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZjunk",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Invalid boundary: --XyZjunk")
        );
    }

    #[test]
    fn whitespace_or_quotes_before_boundary() {
        let body = crlf(&["-- XyZ", "--XyZ--"]);
        assert_eq!(
            run(CT, &body).error.as_deref(),
            Some("Multipart: Invalid boundary (whitespace).")
        );
        let body = crlf(&["--\"XyZ\"", "--XyZ--"]);
        let out = run(b"multipart/form-data; boundary=\"XyZ\"", &body);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Invalid boundary (quotes).")
        );
    }

    #[test]
    fn line_endings() {
        let lf: Vec<u8> = simple_form()
            .split(|&b| b == b'\r')
            .flatten()
            .copied()
            .collect();
        let out = run(CT, &lf);
        assert!(out.flags.lf_line && !out.flags.crlf_lf_lines);
        assert!(out.flags.strict_error());
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "a"), Some(&b"1"[..]));

        let mut mixed = b"--XyZ\n".to_vec();
        mixed.extend_from_slice(&simple_form()[7..]);
        let out = run(CT, &mixed);
        assert!(out.flags.lf_line && out.flags.crlf_lf_lines);
    }

    #[test]
    fn missing_content_disposition() {
        let body = crlf(&["--XyZ", "Content-Type: text/plain", "", "1", "--XyZ--"]);
        let out = run(CT, &body);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Part missing Content-Disposition header.")
        );
        assert!(out.fields.is_empty());
        // The broken part reads every later line as a header, our closing
        // boundary included (where content should have begun), so it never
        // ends and its header lines are never recorded.
        assert!(out.flags.invalid_part);
        assert!(out.part_headers.is_empty());
    }

    #[test]
    fn content_disposition_errors() {
        let cases = [
            ("attachment", "Multipart: Invalid Content-Disposition header (-1): attachment"),
            (
                "form-data name=\"a\"",
                "Multipart: Invalid Content-Disposition header (-2): form-data name=\"a\"",
            ),
            (
                "form-data; name=\"a\"; ",
                "Multipart: Invalid Content-Disposition header (-3): form-data; name=\"a\"; ",
            ),
            (
                "form-data; name",
                "Multipart: Invalid Content-Disposition header (-4): form-data; name",
            ),
            (
                "form-data; name x",
                "Multipart: Invalid Content-Disposition header (-13): form-data; name x",
            ),
            (
                "form-data; name=\"a\"; size=3",
                "Multipart: Invalid Content-Disposition header (-11): form-data; name=\"a\"; size=3",
            ),
            (
                "form-data; name=\"a\" x",
                "Multipart: Invalid Content-Disposition header (-12): form-data; name=\"a\" x",
            ),
            (
                "form-data; name=\"a\"; name=\"b\"",
                "Multipart: Invalid Content-Disposition header (-14): form-data; name=\"a\"; name=\"b\"",
            ),
            (
                "form-data; name=a; filename=x; filename=y",
                "Multipart: Invalid Content-Disposition header (-15): form-data; name=a; filename=x; filename=y",
            ),
            (
                "form-data; name=a; filename*=utf-8''x",
                "Multipart: Invalid Content-Disposition header (-21): form-data; name=a; filename*=utf-8''x",
            ),
            (
                "form-data; name=a; filename=x; filename*=utf-8''%zz",
                "Multipart: Invalid Content-Disposition header (-18): form-data; name=a; filename=x; filename*=utf-8''%zz",
            ),
            ("form-data", "Multipart: Content-Disposition header missing name field."),
            (
                "form-data; name=a; filename = \"x\"",
                "Multipart: Invalid Content-Disposition header (filename).",
            ),
        ];
        for (cd, want) in cases {
            let header = format!("Content-Disposition: {cd}");
            let body = crlf(&["--XyZ", &header, "", "1", "--XyZ--"]);
            let out = run(CT, &body);
            assert_eq!(out.error.as_deref(), Some(want), "{cd:?}");
            assert!(out.flags.error, "{cd:?}");
        }
    }

    #[test]
    fn filename_star_with_filename() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=a; filename=\"x.txt\"; filename*=UTF-8''x%C3%A9.txt",
            "",
            "data",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        assert_eq!(out.files.len(), 1);
        assert_eq!(out.files[0].filename, b"x.txt");
    }

    #[test]
    fn quoting() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name='a'",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert!(out.flags.invalid_quoting && out.flags.strict_error());
        assert_eq!(field(&out, "a"), Some(&b"1"[..]));

        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"it's\"",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert!(!out.flags.invalid_quoting);

        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=it's",
            "",
            "1",
            "--XyZ--",
        ]);
        assert!(run(CT, &body).flags.invalid_quoting);

        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\\\"b\\\\c\\d\"",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(out.fields[0].0, b"a\"b\\c\\d");
    }

    #[test]
    fn header_folding() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data;",
            "\tname=\"a\"",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert!(out.flags.header_folding && !out.flags.invalid_header_folding);
        assert!(out.flags.strict_error());
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "a"), Some(&b"1"[..]));
        assert_eq!(
            out.part_headers,
            vec![(
                b"a".to_vec(),
                b"Content-Disposition: form-data; name=\"a\"".to_vec()
            )]
        );

        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data;",
            "\x0bname=\"a\"",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert!(out.flags.header_folding && out.flags.invalid_header_folding);
        assert_eq!(out.error, None);
    }

    #[test]
    fn folding_without_a_header() {
        let body = crlf(&[
            "--XyZ",
            " Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Invalid part header (folding error).")
        );
    }

    #[test]
    fn part_header_errors() {
        let cases: [(&[u8], &str); 5] = [
            (
                b"no colon here",
                "Multipart: Invalid part header (colon missing): no colon here",
            ),
            (
                b": value",
                "Multipart: Invalid part header (header name missing).",
            ),
            (
                b"Bad Name: x",
                "Multipart: Invalid part header (contains invalid character).",
            ),
            (b"X-A: a\0b", "Multipart: Nul byte in part headers."),
            (
                b"X-Long: ",
                "Multipart: Part header line over 4096 bytes long",
            ),
        ];
        for (line, want) in cases {
            let mut line = line.to_vec();
            if line == b"X-Long: " {
                line.extend(std::iter::repeat_n(b'a', 5000));
            }
            let mut body = b"--XyZ\r\n".to_vec();
            body.extend_from_slice(&line);
            body.extend_from_slice(b"\r\n");
            body.extend(crlf(&[
                "Content-Disposition: form-data; name=\"a\"",
                "",
                "1",
                "--XyZ--",
            ]));
            let out = run(CT, &body);
            assert_eq!(out.error.as_deref(), Some(want));
            assert!(out.flags.error);
        }
    }

    #[test]
    fn folded_header_too_long() {
        let long = format!(" {}", "a".repeat(3000));
        let body = crlf(&[
            "--XyZ",
            "X-Big: start",
            &long,
            &long,
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(
            out.error.as_deref(),
            Some("Multipart: Part header too long.")
        );
        // The line recorded is the header as it was before it grew too long.
        let recorded = &out.part_headers[0].1;
        assert_eq!(recorded.len(), "X-Big: start ".len() + 3000);
    }

    #[test]
    fn duplicate_part_header_is_ignored_without_error() {
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "content-disposition: form-data; name=\"b\"",
            "",
            "1",
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "a"), Some(&b"1"[..]));
        assert_eq!(out.part_headers.len(), 1);
    }

    #[test]
    fn long_lines_are_split_into_pieces() {
        let long = "x".repeat(10_000);
        let body = crlf(&[
            "--XyZ",
            "Content-Disposition: form-data; name=\"a\"",
            "",
            &long,
            "--XyZ--",
        ]);
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        assert_eq!(field(&out, "a").map(<[u8]>::len), Some(10_000));

        // A `\r` that would end a full buffer starts the next piece, so a
        // CRLF at that position is not split.
        let mut body = crlf(&["--XyZ", "Content-Disposition: form-data; name=\"a\"", ""]);
        body.extend(std::iter::repeat_n(b'y', LINE_BUFFER - 1));
        body.extend(crlf(&["", "z", "--XyZ--"]));
        let out = run(CT, &body);
        assert_eq!(out.error, None);
        let mut want = vec![b'y'; LINE_BUFFER - 1];
        want.extend_from_slice(b"\r\nz");
        assert_eq!(field(&out, "a"), Some(want.as_slice()));
    }

    #[test]
    fn hostile_folding_hits_the_budget_not_the_clock() {
        // Each repeated header records the folded header again; the budget
        // stops the amplification.
        let mut body = b"--XyZ\r\nA: ".to_vec();
        body.extend(std::iter::repeat_n(b'v', 3000));
        body.extend_from_slice(b"\r\n");
        for _ in 0..2000 {
            body.extend_from_slice(b" x\r\nA: again\r\n");
        }
        body.extend(crlf(&[
            "Content-Disposition: form-data; name=\"a\"",
            "",
            "1",
            "--XyZ--",
        ]));
        let started = std::time::Instant::now();
        let out = run(CT, &body);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(out.error.as_deref(), Some(BUDGET_EXHAUSTED));
        let recorded: usize = out
            .part_headers
            .iter()
            .map(|(n, l)| n.len() + l.len())
            .sum();
        assert!(recorded <= body.len() * 8 + (1 << 16));
    }

    #[test]
    fn token_and_boundary_character_tables() {
        assert!(boundary_characters_valid(b"0aZ'()+_,-./:=? x"));
        assert!(!boundary_characters_valid(b"ab "));
        assert!(!boundary_characters_valid(b"a\"b"));
        assert!(is_token_char(b'a') && !is_token_char(b';') && !is_token_char(b' '));
        assert_eq!(count_boundary_params(b"boundary=a; BOUNDARY=b"), 2);
        assert_eq!(count_boundary_params(b"xboundary"), 0);
        assert_eq!(chomp(b"a\r\n"), b"a");
        assert_eq!(chomp(b"\r\n"), b"\r\n");
    }
}
