//! Loading an OWASP Core Rule Set directory the way Rampart runs it:
//! Rampart's base configuration, `crs-setup.conf` (or its `.example`), the
//! paranoia level and mode asked for, the site's own files, then the
//! plugins' `*-config.conf` and `*-before.conf`, `rules/*.conf`, and the
//! plugins' `*-after.conf` — the order CRS documents for plugins.
//!
//! The base configuration follows ModSecurity's recommended one (body
//! access, limits, JSON and XML processors chosen by Content-Type, the
//! strict multipart check) with Rampart's own rule ids (440000–440099).

use std::path::{Path, PathBuf};

use crate::error::{LoadError, Location};
use crate::parser::RuleSetBuilder;
use crate::rule::EngineMode;
use crate::ruleset::RuleSet;

/// Rampart's base configuration, loaded before the CRS.
pub const BASE_CONFIG: &str = r#"
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRequestBodyJsonDepthLimit 512
SecArgumentsLimit 1000
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" \
    "id:440000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
    "id:440001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:Content-Type "^application/[a-z0-9.-]+[+]json" \
    "id:440006,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule &ARGS "@ge 1000" \
    "id:440007,phase:2,t:none,log,deny,status:400,msg:'Failed to fully parse request body due to large argument count',severity:2"
SecRule REQBODY_ERROR "!@eq 0" \
    "id:440002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" \
    "id:440003,phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation.'"
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecArgumentSeparator &
"#;

/// How to load a CRS directory.
#[derive(Debug, Clone)]
pub struct CrsOptions {
    /// Holds `crs-setup.conf(.example)`, `rules/` and maybe `plugins/`.
    pub dir: PathBuf,
    /// Blocking paranoia level (1–4); `None` keeps the setup file's.
    pub paranoia: Option<u8>,
    /// Engine mode; `None` keeps the base configuration's (On).
    pub mode: Option<EngineMode>,
    /// Extra SecLang text loaded after the setup file (named for errors).
    pub extra: Vec<(String, String)>,
    /// Extra files loaded after the setup file and before the rules.
    pub includes: Vec<PathBuf>,
    /// Load the base configuration (off only for tests of the CRS alone).
    pub base_config: bool,
    /// The plugins directory (`*-config.conf`, `*-before.conf`,
    /// `*-after.conf`, as CRS documents plugins); `None`: `DIR/plugins`.
    pub plugins: Option<PathBuf>,
}

impl CrsOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CrsOptions {
            dir: dir.into(),
            paranoia: None,
            mode: None,
            extra: Vec::new(),
            includes: Vec::new(),
            base_config: true,
            plugins: None,
        }
    }
}

fn location(path: &Path) -> Location {
    Location {
        file: path.display().to_string().into(),
        line: 0,
        column: 0,
    }
}

/// Loads and compiles the rule set.
pub fn load(opts: &CrsOptions) -> Result<RuleSet, LoadError> {
    let dir = &opts.dir;
    let rules_dir = dir.join("rules");
    if !rules_dir.is_dir() {
        return Err(LoadError::new(
            location(dir),
            format!(
                "not a CRS directory: {} has no rules/ directory",
                dir.display()
            ),
        ));
    }
    let mut b = RuleSetBuilder::new();
    if opts.base_config {
        b.add_text("rampart-base.conf", BASE_CONFIG, dir)?;
    }
    if let Some(mode) = opts.mode {
        let text = match mode {
            EngineMode::On => "SecRuleEngine On",
            EngineMode::DetectionOnly => "SecRuleEngine DetectionOnly",
            EngineMode::Off => "SecRuleEngine Off",
        };
        b.add_text("rampart-mode.conf", text, dir)?;
    }
    let setup = [
        dir.join("crs-setup.conf"),
        dir.join("crs-setup.conf.example"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .ok_or_else(|| {
        LoadError::new(
            location(dir),
            format!(
                "{} has neither crs-setup.conf nor crs-setup.conf.example",
                dir.display()
            ),
        )
    })?;
    b.add_file(&setup)?;
    if let Some(p) = opts.paranoia {
        if !(1..=4).contains(&p) {
            return Err(LoadError::new(
                location(dir),
                format!("paranoia level {p} is not 1-4"),
            ));
        }
        let text = format!(
            "SecAction \"id:440010,phase:1,pass,nolog,t:none,setvar:tx.blocking_paranoia_level={p}\""
        );
        b.add_text("rampart-paranoia.conf", &text, dir)?;
    }
    for (name, text) in &opts.extra {
        b.add_text(name, text, dir)?;
    }
    for inc in &opts.includes {
        b.add_file(inc)?;
    }
    let plugins = opts.plugins.clone().unwrap_or_else(|| dir.join("plugins"));
    for suffix in ["-config.conf", "-before.conf"] {
        for p in sorted_files(&plugins, suffix) {
            b.add_file(&p)?;
        }
    }
    for p in sorted_files(&rules_dir, ".conf") {
        b.add_file(&p)?;
    }
    for p in sorted_files(&plugins, "-after.conf") {
        b.add_file(&p)?;
    }
    b.build()
}

fn sorted_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(suffix))
        })
        .collect();
    v.sort();
    v
}
