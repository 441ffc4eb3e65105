//! Engine settings that configuration directives set
//! (`SecRuleEngine`, `SecRequestBodyAccess`, limits, MIME types...).

use crate::rule::EngineMode;

/// What to do when a body is larger than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitAction {
    /// Refuse the request (413 from the gateway, 403 intervention here).
    #[default]
    Reject,
    /// Inspect the first bytes up to the limit and let the rest through.
    ProcessPartial,
}

impl LimitAction {
    pub fn parse(value: &str) -> Result<LimitAction, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "reject" => Ok(LimitAction::Reject),
            "processpartial" => Ok(LimitAction::ProcessPartial),
            other => Err(format!("'{other}' is not Reject or ProcessPartial")),
        }
    }
}

/// The engine settings of a rule set.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub rule_engine: EngineMode,
    pub request_body_access: bool,
    /// Largest request body inspected, files included.
    pub request_body_limit: usize,
    /// Largest request body inspected, files excluded.
    pub request_body_no_files_limit: usize,
    pub request_body_limit_action: LimitAction,
    pub response_body_access: bool,
    /// Response MIME types whose bodies are inspected.
    pub response_body_mime_types: Vec<String>,
    pub response_body_limit: usize,
    pub response_body_limit_action: LimitAction,
    /// `SecArgumentSeparator`.
    pub argument_separator: u8,
    /// `SecArgumentsLimit`: arguments beyond it are not added.
    pub arguments_limit: Option<usize>,
    /// `SecRequestBodyJsonDepthLimit`.
    pub json_depth_limit: usize,
    pub web_app_id: String,
    pub component_signatures: Vec<String>,
    /// `SecUploadFileLimit`: most files a multipart body may carry.
    pub upload_file_limit: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            rule_engine: EngineMode::On,
            request_body_access: false,
            request_body_limit: 134_217_728,
            request_body_no_files_limit: 1_048_576,
            request_body_limit_action: LimitAction::Reject,
            response_body_access: false,
            response_body_mime_types: vec!["text/plain".into(), "text/html".into()],
            response_body_limit: 524_288,
            response_body_limit_action: LimitAction::Reject,
            argument_separator: b'&',
            arguments_limit: None,
            json_depth_limit: 10_000,
            web_app_id: "default".into(),
            component_signatures: Vec::new(),
            upload_file_limit: 100,
        }
    }
}
