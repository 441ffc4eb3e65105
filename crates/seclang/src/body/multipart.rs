//! `multipart/form-data` bodies (RFC 7578) with ModSecurity's strict
//! checks. (Parser under construction: see `parse`.)

/// A file part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilePart {
    /// The form field name (`name=`).
    pub name: Vec<u8>,
    /// The file name as sent (`filename=`).
    pub filename: Vec<u8>,
    /// The part's content.
    pub content: Vec<u8>,
}

/// The `MULTIPART_*` flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MultipartFlags {
    pub boundary_quoted: bool,
    pub boundary_whitespace: bool,
    pub crlf_lf_lines: bool,
    pub data_after: bool,
    pub data_before: bool,
    pub file_limit_exceeded: bool,
    pub header_folding: bool,
    pub invalid_header_folding: bool,
    pub invalid_part: bool,
    pub invalid_quoting: bool,
    pub lf_line: bool,
    pub missing_semicolon: bool,
    pub unmatched_boundary: bool,
    /// Set when the body could not be parsed (also `REQBODY_ERROR`).
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
    /// Most file parts kept; more set `file_limit_exceeded`.
    pub file_limit: usize,
}

/// What a multipart body yielded.
#[derive(Debug, Clone, Default)]
pub struct MultipartOutcome {
    /// Non-file fields, in order (they become `ARGS_POST`).
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    pub files: Vec<FilePart>,
    /// (field name, one header line of that part) in order.
    pub part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub flags: MultipartFlags,
    /// Why parsing failed, when it did (`REQBODY_ERROR_MSG` without the
    /// "Multipart parsing error: " prefix).
    pub error: Option<String>,
}

/// Parses `body` sent with `content_type`.
pub fn parse(content_type: &[u8], body: &[u8], limits: MultipartLimits) -> MultipartOutcome {
    let _ = (content_type, body, limits);
    MultipartOutcome {
        flags: MultipartFlags {
            error: true,
            ..MultipartFlags::default()
        },
        error: Some("multipart parsing is not available in this build".into()),
        ..MultipartOutcome::default()
    }
}
