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

pub mod macros;
pub mod operators;
pub mod transformations;
