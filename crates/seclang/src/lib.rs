//! `seclang`: a ModSecurity-compatible rule engine.
//!
//! Owns the SecLang parser, the rule compiler and transaction evaluation:
//! variables, operators, transformations, actions, body processors and
//! collections. It performs no I/O of its own beyond reading rule and data
//! files at load time, and it knows nothing of networking: the gateway
//! feeds it request and response parts and acts on its verdicts.
//!
//! Layout (after OWASP Coraza, see STYLE.md): one file per operator,
//! transformation, action and variable family, each registered by name in
//! its family's `mod.rs`.
//!
//! ```
//! use std::sync::Arc;
//! use seclang::{RuleSetBuilder, Transaction, Connection};
//! let mut b = RuleSetBuilder::new();
//! b.add_text("inline", r#"SecRule ARGS:q "@contains <script" "id:1,phase:1,deny,status:403""#, std::path::Path::new(".")).unwrap();
//! let rules = Arc::new(b.build().unwrap());
//! let mut tx = Transaction::new(rules, Connection::default());
//! tx.process_uri(b"GET", b"/search?q=<script>", b"1.1");
//! assert_eq!(tx.process_request_headers().map(|i| i.status), Some(403));
//! ```

pub mod actions;
pub mod body;
pub mod collection;
pub mod config;
pub mod crs;
pub mod error;
pub mod http1;
pub mod macros;
pub mod operators;
pub mod parser;
pub mod prefilter;
pub mod rule;
pub mod ruleset;
pub mod transaction;
pub mod transformations;
pub mod variables;
pub mod verdict;

pub use config::EngineConfig;
pub use error::{LoadError, Location};
pub use parser::RuleSetBuilder;
pub use rule::{EngineMode, Phase};
pub use ruleset::RuleSet;
pub use transaction::{Connection, Disruption, Intervention, RawValue, RuleMatch, Transaction};
