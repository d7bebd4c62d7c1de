//! `jikimi waivers list` and the waiver part of `jikimi config validate`: the command-line
//! side of `jikimi::waivers`.

use super::{load_catalog, print_out};
use crate::cli::{CatalogOpts, WaiversCmd, WaiversListArgs};
use anyhow::{anyhow, Result};
use jikimi::config::Config;

/// Runs a `waivers` subcommand.
pub fn run(c: WaiversCmd) -> Result<i32> {
    match c {
        WaiversCmd::List(a) => list(a),
    }
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
    cfg.load_waivers(&catalog).map_err(|e| anyhow!(e))?;
    Ok(())
}

fn list(a: WaiversListArgs) -> Result<i32> {
    use jikimi::waivers::{self, ListFilter};
    let cfg = jikimi::config::Config::load_from(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let catalog = load_catalog(&a.cat, &cfg)?;
    let known = catalog.checks.iter().map(|c| c.id.clone()).collect();
    let w = waivers::load(
        &cfg.waiver_sources(a.waivers_dir.as_deref()),
        &known,
        waivers::today(),
    )
    .map_err(|e| anyhow!(e))?;
    let filter = match (a.expired, a.expiring) {
        (true, _) => ListFilter::Expired,
        (_, true) => ListFilter::Expiring,
        _ => ListFilter::All,
    };
    print_out(&waivers::list(&w, waivers::today(), filter, a.json))?;
    Ok(0)
}
