//! The `jikimi` command line: parses arguments (`cli`), dispatches to the command bodies
//! (`commands/`), maps the result to an exit code. Only the binary prints.
//!
//! Exit codes: 0 every evaluated check passed, 2 at least one check failed, 1 the run itself
//! failed (bad arguments, unreadable catalog or configuration, output not writable).

#![forbid(unsafe_code)]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI's output layer"
)]

mod cli;
mod commands;
mod logger;

use anyhow::anyhow;
use clap::Parser;
use cli::{Cli, Cmd};
use std::process::ExitCode;

fn main() -> ExitCode {
    let start = std::time::Instant::now();
    logger::init();
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Check(a) => commands::check::run(*a),
        Cmd::Facts(a) => commands::facts::run(a),
        Cmd::Catalog(c) => commands::catalog::run(c),
        Cmd::Walk(a) => commands::walk::run(a),
        Cmd::Sshd(c) => commands::sshd::run(c),
        Cmd::Report(a) => commands::report::run(a),
        Cmd::Classify(a) => commands::classify::run(a),
        Cmd::Waivers(c) => commands::waivers::run(c),
        Cmd::Fix(a) => commands::fix::run(*a),
        Cmd::Fleet(c) => jikimi::fleet::cli::run(c).map_err(Into::into),
        Cmd::Aws(c) => jikimi::aws::cli::run(c).map_err(|e| anyhow!(e)),
        Cmd::Config(c) => commands::config::run(c),
    };
    commands::print_stats(start);
    match res {
        // Exit codes are 0, 1 and 2; anything outside a byte is a failed run.
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("jikimi: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
