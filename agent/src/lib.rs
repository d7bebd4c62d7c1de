//! Jikimi: an on-host Linux security agent.
//!
//! The flow is visible in the modules: [`facts`] are collected from the host (through the
//! scan [`fs::Root`]), the [`catalog`] of declarative checks is [`eval`]uated against them by
//! [`run`] into [`findings`], and [`sinks`] render or ship those findings.

pub mod aws;
pub mod cancel;
pub mod catalog;
pub mod classify;
pub mod config;
pub mod daemon;
pub mod error_text;
pub mod eval;
pub mod facts;
pub mod findings;
pub mod fleet;
pub mod fs;
pub mod history;
pub mod html;
pub mod i18n;
pub mod kisa;
pub mod net;
pub mod redact;
pub mod remediate;
pub mod report;
pub mod run;
pub mod sinks;
pub mod state;
pub mod time;
pub mod waivers;
