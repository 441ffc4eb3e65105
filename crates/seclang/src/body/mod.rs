//! Request body processors: turn a body into arguments, files and flags.
//!
//! `URLENCODED` (`urlencoded.rs`), `MULTIPART` (`multipart.rs`), `JSON`
//! (`json.rs`) and `XML` (`xml.rs`). The processor is chosen from the
//! request's `Content-Type` (urlencoded and multipart) or by
//! `ctl:requestBodyProcessor` (any). A processor never fails the
//! transaction: it reports an error message, which becomes
//! `REQBODY_ERROR` / `REQBODY_ERROR_MSG` for rules to act on.

/// Argument name/value pairs, in order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

pub mod json;
pub mod multipart;
pub mod urlencoded;
pub mod xml;

/// A request body processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProcessor {
    UrlEncoded,
    Multipart,
    Json,
    Xml,
}

impl BodyProcessor {
    /// The name `REQBODY_PROCESSOR` reports.
    pub fn name(self) -> &'static str {
        match self {
            BodyProcessor::UrlEncoded => "URLENCODED",
            BodyProcessor::Multipart => "MULTIPART",
            BodyProcessor::Json => "JSON",
            BodyProcessor::Xml => "XML",
        }
    }

    pub fn parse(name: &str) -> Result<BodyProcessor, String> {
        match name.to_ascii_uppercase().as_str() {
            "URLENCODED" => Ok(BodyProcessor::UrlEncoded),
            "MULTIPART" => Ok(BodyProcessor::Multipart),
            "JSON" => Ok(BodyProcessor::Json),
            "XML" => Ok(BodyProcessor::Xml),
            other => Err(format!("unknown request body processor '{other}'")),
        }
    }

    /// The processor a `Content-Type` selects by itself (only urlencoded
    /// and multipart; JSON and XML need a rule's `ctl`).
    pub fn from_content_type(value: &[u8]) -> Option<BodyProcessor> {
        let v = value.to_ascii_lowercase();
        if v.starts_with(b"multipart/form-data") {
            Some(BodyProcessor::Multipart)
        } else if v.starts_with(b"application/x-www-form-urlencoded") {
            Some(BodyProcessor::UrlEncoded)
        } else {
            None
        }
    }
}
