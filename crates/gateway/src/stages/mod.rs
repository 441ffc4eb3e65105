//! The stages Rampart puts in a site's pipeline, one file each, in the
//! order a request meets them (ARCHITECTURE.md "The request path"):
//! edge limits and bans, the access gate, the WAF, card tokenization, and
//! on the way back the page-integrity observer and leak prevention.
//! `rampart` builds each site's [`Pipeline`](crate::Pipeline) from these.

pub mod access;
pub(crate) mod card_fields;
pub mod leaks;
pub mod tokenize;
pub mod waf;
