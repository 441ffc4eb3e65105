//! `gateway`: the part of Rampart that stands in front of a store. It
//! terminates TLS, redirects plain HTTP to HTTPS, runs the stage pipeline
//! on every request and forwards what passes to the store, streaming.
//!
//! Owns: listeners, TLS and certificates, proxying, the stage pipeline,
//! request ids, security headers, gateway metrics. Must not: know rule
//! semantics (stages bring those) or how events are persisted (the `ops`
//! sinks do).
//!
//! Start here: [`pipeline`] for the order of a request and the [`Stage`]
//! contract; [`serve`] to run a gateway from a [`Config`] until a signal.

mod acme;
pub mod alerts;
pub mod body;
pub mod config;
pub mod crs_install;
pub mod edge;
pub mod h1_repair;
pub mod headers;
pub mod metrics;
pub mod outbound;
pub mod pages;
pub mod pipeline;
pub mod presets;
mod proxy;
mod proxy_protocol;
mod runtime;
pub mod server;
pub mod stages;
pub mod tls;
pub mod tune;
pub mod vault_api;

pub use config::{Config, ConfigError, StateLocation, WafConfig, WafMode};
pub use pipeline::{
    BodyInspection, BufferedBody, Decision, Findings, OverLimit, Pending, Pipeline,
    PipelineBuilder, QuietEvent, RequestContext, RuleReport, Stage,
};
pub use server::{prepare_data_dir, serve, BoundAddresses, ConfigSource, Gateway, StartError};
