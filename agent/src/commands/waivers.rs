//! `jikimi waivers list` and the waiver part of `jikimi config validate`: the command-line
//! side of `jikimi::waivers`.

use super::{load_catalog, print_out, CatalogOpts};
use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use jikimi::config::Config;
use std::path::PathBuf;

/// Runs a `waivers` subcommand.
pub fn run(c: WaiversCmd) -> Result<i32> {
    match c {
        WaiversCmd::List(a) => list(a),
    }
}

#[derive(Subcommand)]
pub enum WaiversCmd {
    /// Each waiver with its state (active, expiring within 14 days, expired), by expiry.
    List(WaiversListArgs),
}

#[derive(Args)]
pub struct WaiversListArgs {
    /// Only expired waivers.
    #[arg(long, conflicts_with = "expiring")]
    expired: bool,
    /// Only waivers expiring within 14 days.
    #[arg(long)]
    expiring: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Agent configuration file (or ssm:/parameter).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Waivers directory (default from the configuration: /etc/jikimi/waivers.d).
    #[arg(long, value_name = "DIR")]
    waivers_dir: Option<PathBuf>,
    #[command(flatten)]
    cat: CatalogOpts,
}

/// `config validate` also checks the waivers against the catalog the agent would load.
pub fn validate(cfg: &Config) -> Result<()> {
    let opts = CatalogOpts {
        catalog: None,
        checks_dir: None,
        no_extra_checks: false,
        profile: None,
    };
    let catalog = load_catalog(&opts, cfg)?;
    jikimi::waivers::load_for(cfg, &catalog).map_err(|e| anyhow!(e))?;
    Ok(())
}

fn list(a: WaiversListArgs) -> Result<i32> {
    use jikimi::waivers::{self, ListFilter};
    let cfg = jikimi::aws::load_config(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let catalog = load_catalog(&a.cat, &cfg)?;
    let known = catalog.checks.iter().map(|c| c.id.clone()).collect();
    let w = waivers::load(&cfg, a.waivers_dir.as_deref(), &known, waivers::today())
        .map_err(|e| anyhow!(e))?;
    let filter = match (a.expired, a.expiring) {
        (true, _) => ListFilter::Expired,
        (_, true) => ListFilter::Expiring,
        _ => ListFilter::All,
    };
    print_out(&waivers::list(&w, waivers::today(), filter, a.json))?;
    Ok(0)
}
