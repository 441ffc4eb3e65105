//! The CRS conformance runner: reads the go-ftw YAML regression suite,
//! builds each request byte for byte the way go-ftw does, plays it, and
//! checks the expectations (status, rule ids in the log, log regexes).
//!
//! Two ways to play a request: in-process through the engine (`engine`),
//! for fast iteration on rule semantics, and over real sockets through the
//! real gateway (the CI conformance test). Both use the same test
//! configuration: the CRS project's own (paranoia 4, detection only, its
//! argument and file-size limits, response bodies for its MIME types).

pub mod albedo;
pub mod engine;
pub mod ftw;
pub mod gateway;
pub mod overrides;
pub mod report;

/// The SecLang the CRS project's test setup adds after `crs-setup.conf`
/// (tests/regression/README.md), plus response body access for the MIME
/// types of its docker-compose configuration.
pub const TEST_SETUP: &str = r#"
SecResponseBodyMimeType text/plain text/html text/xml application/json
SecAction "id:900005,phase:1,nolog,pass,ctl:ruleEngine=DetectionOnly,ctl:ruleRemoveById=910000,setvar:tx.blocking_paranoia_level=4,setvar:tx.crs_validate_utf8_encoding=1,setvar:tx.arg_name_length=100,setvar:tx.arg_length=400,setvar:tx.total_arg_length=64000,setvar:tx.max_num_args=255,setvar:tx.max_file_size=64100,setvar:tx.combined_file_sizes=65535"
"#;
