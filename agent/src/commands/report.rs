//! `jikimi report`: the scan history summarised over a period (Markdown, HTML or JSON).

use super::{print_out, write_atomic};
use crate::cli::{ReportArgs, ReportFormat};
use anyhow::{anyhow, Result};

pub fn run(a: ReportArgs) -> Result<i32> {
    use jikimi::sinks::report;
    let since = report::parse_since(&a.since).map_err(|e| anyhow!(e))?;
    let cfg = jikimi::config::Config::load_from(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let dir = a.state_dir.clone().unwrap_or_else(|| cfg.state_dir());
    let (records, bad) = jikimi::history::load(&dir.join("history")).map_err(|e| anyhow!(e))?;
    let doc = report::build(&records, bad, since, &a.since, std::time::SystemTime::now())
        .map_err(|e| anyhow!("{}: {e}", dir.join("history").display()))?;
    let text = match a.format {
        ReportFormat::Md => report::markdown(&doc),
        ReportFormat::Html => report::html(&doc),
        ReportFormat::Json => report::json(&doc),
    };
    match &a.output {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print_out(&text)?,
    }
    Ok(0)
}
