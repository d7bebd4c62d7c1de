//! `jikimi fix`: plan, show, confirm, apply and verify the catalog's fixes; `--undo` and
//! `--list` over the fix journals. The engine is `jikimi::remediate`; this is its terminal.

use super::{load_catalog, open_root};
use crate::cli::FixArgs;
use anyhow::{anyhow, bail, Result};
use jikimi::findings::Severity;
use jikimi::remediate::{self, journal};
use std::io::{BufRead, IsTerminal, Write};

fn confirm() -> Result<bool> {
    let mut out = std::io::stderr();
    write!(out, "Apply these changes? [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

pub fn run(a: FixArgs) -> Result<i32> {
    let cfg = jikimi::config::Config::load_from(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let state_dir = a.state_dir.clone().unwrap_or_else(|| cfg.state_dir());
    let mut stdout = std::io::stdout().lock();
    if a.list {
        for j in journal::list(&state_dir)? {
            writeln!(
                stdout,
                "{}  {:<11}  {} file(s)  root {}  {}{}",
                j.run_id,
                format!("{:?}", j.status).to_lowercase(),
                j.entries.len(),
                j.root,
                j.checks.join(","),
                j.reason.map(|r| format!("  ({r})")).unwrap_or_default()
            )?;
        }
        return Ok(0);
    }
    let root = open_root(a.root.as_deref())?;
    if let Some(id) = &a.undo {
        let j = journal::undo(&root, &state_dir, id)?;
        writeln!(
            stdout,
            "undid run {}: {} path(s) restored as they were before it",
            j.run_id,
            j.entries.len()
        )?;
        return Ok(0);
    }
    let catalog = load_catalog(&a.cat, &cfg)?;
    let min_severity = match &a.min_severity {
        Some(s) => Some(s.parse::<Severity>().map_err(|e| anyhow!(e))?),
        None => None,
    };
    let opts = remediate::Options {
        only: a.only.clone(),
        min_severity,
        skip: cfg.agent.skip.clone(),
        state_dir: state_dir.clone(),
    };
    let plan = remediate::plan(&catalog, &root, &opts, &[])?;
    if plan.fixes.is_empty() {
        writeln!(
            stdout,
            "nothing to fix: no failing check with a fix was selected"
        )?;
        return Ok(0);
    }
    writeln!(
        stdout,
        "{} failing check(s) with a fix on {}:",
        plan.fixes.len(),
        root.dir().display()
    )?;
    for f in &plan.fixes {
        let state = match (&f.refused, f.changes) {
            (Some(r), _) => format!("REFUSED: {r}"),
            (None, false) => "nothing to change".to_string(),
            (None, true) => f.actions.join("; "),
        };
        writeln!(
            stdout,
            "  {:<9} [{}] {} — {state}",
            f.id, f.severity, f.title
        )?;
        for n in &f.notes {
            writeln!(stdout, "            note: {n}")?;
        }
    }
    let diff = remediate::render_diff(&plan);
    if diff.is_empty() {
        // the selected checks stay failing
        writeln!(stdout, "\nno file would change")?;
        return Ok(2);
    }
    writeln!(stdout, "\n{diff}")?;
    if a.dry_run {
        writeln!(stdout, "dry run: nothing was changed")?;
        return Ok(0);
    }
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            bail!("not applying without confirmation: pass --yes (or --dry-run) when standard input is not a terminal");
        }
        drop(stdout);
        if !confirm()? {
            println!("nothing was changed");
            return Ok(0);
        }
        stdout = std::io::stdout().lock();
    }
    let out = remediate::apply(&catalog, &root, &opts, plan)?;
    if let Some(r) = &out.rolled_back {
        writeln!(stdout, "ROLLED BACK: {r}")?;
    }
    if let Some(id) = &out.run_id {
        if out.rolled_back.is_none() {
            writeln!(
                stdout,
                "applied run {id}: {} check(s) fixed and verified: {}",
                out.fixed.len(),
                out.fixed.join(", ")
            )?;
            let root_arg = a
                .root
                .as_ref()
                .map(|r| format!(" --root {}", r.display()))
                .unwrap_or_default();
            writeln!(stdout, "undo with: jikimi fix --undo {id}{root_arg}")?;
            eprintln!("jikimi: fix run {id} applied: {}", out.fixed.join(","));
        }
    }
    for (id, why) in &out.not_fixed {
        writeln!(stdout, "not fixed: {id}: {why}")?;
    }
    Ok(if out.not_fixed.is_empty() && out.rolled_back.is_none() {
        0
    } else {
        2
    })
}
