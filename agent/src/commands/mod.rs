//! Command bodies of the `jikimi` binary, one file per subcommand, and the helpers they share
//! (catalog loading, scan root, output). The clap definitions are in `cli.rs`; main.rs only
//! dispatches.

pub mod catalog;
pub mod check;
pub mod classify;
pub mod config;
pub mod facts;
pub mod fix;
pub mod fixtures;
pub mod report;
pub mod sshd;
pub mod waivers;
pub mod walk;

pub use crate::cli::CatalogOpts;
use anyhow::{anyhow, Context, Result};
use jikimi::catalog::{Catalog, Profile};
use jikimi::config::Config;
use jikimi::fs::Root;
use std::io::Write;
use std::path::Path;

pub fn load_catalog(opts: &CatalogOpts, cfg: &Config) -> Result<Catalog> {
    let profile: Profile = match &opts.profile {
        Some(p) => p.parse::<Profile>()?,
        None => cfg.profile().map_err(|e| anyhow!(e))?,
    };
    let mut sources = match &opts.catalog {
        Some(dir) => jikimi::catalog::dir_sources(dir, false).map_err(|e| anyhow!("{e}"))?,
        None => jikimi::catalog::embedded_sources(),
    };
    if !opts.no_extra_checks {
        let dir = opts.checks_dir.clone().unwrap_or_else(|| cfg.checks_dir());
        let explicit = opts.checks_dir.is_some();
        sources.extend(jikimi::catalog::dir_sources(&dir, !explicit).map_err(|e| anyhow!("{e}"))?);
    }
    jikimi::catalog::load(&sources, profile).map_err(|e| anyhow!("{e}"))
}

pub fn open_root(root: Option<&Path>) -> Result<Root> {
    let dir = root.unwrap_or(Path::new("/"));
    Root::new(dir).with_context(|| format!("cannot open scan root {}", dir.display()))
}

/// Writes an output file the user named (see `jikimi::state::write_file`: atomic for regular
/// files, never renamed over a device such as /dev/null or a FIFO).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    jikimi::state::write_file(path, data, 0o644).map_err(|e| anyhow!(e))
}

pub fn print_out(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // `jikimi ... | head` closes the pipe early: not a failure of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

/// With `JIKIMI_STATS=1`, prints wall time and the peak resident set (`VmHWM` of this
/// process's own memory map, which unlike rusage does not count the parent's image before
/// exec) to standard error. Used by the benchmark.
pub fn print_stats(start: std::time::Instant) {
    if std::env::var_os("JIKIMI_STATS").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next())
            .unwrap_or("0")
            .to_string()
    };
    eprintln!(
        "jikimi-stats: wall_ms={:.3} vm_hwm_kib={} vm_rss_kib={}",
        start.elapsed().as_secs_f64() * 1000.0,
        field("VmHWM:"),
        field("VmRSS:")
    );
}
