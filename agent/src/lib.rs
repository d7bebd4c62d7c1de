//! Jikimi: an on-host Linux security agent.
//!
//! The flow is visible in the modules: [`facts`] are collected from the host (through the
//! scan [`fs::Root`]), the [`catalog`] of declarative checks is [`eval`]uated against them by
//! [`run`] into [`findings`], and [`sinks`] render or ship those findings.
//!
//! No `unsafe` here: system calls go through `rustix`. The rooted file access and the few calls
//! `rustix` lacks (`getpwuid_r`, `ioprio_set`, glibc's `mallopt`/`malloc_trim`) live in [`fs`],
//! the `jikimi-fs` crate, the only one with `unsafe` code and raw `libc`.

#![forbid(unsafe_code)]

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
/// File access confined to the scan root: the `jikimi-fs` crate (`agent/fs`), the only one
/// with `unsafe` code and raw `libc` calls.
pub use jikimi_fs as fs;
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
