//! `jikimi catalog list|lint|test|digest`: inspect, lint and test the check catalog.

use super::{load_catalog, print_out, CatalogOpts};
use crate::cli::CatalogCmd;
use anyhow::{anyhow, bail, Result};
use jikimi::catalog::{self, Profile};
use jikimi::config::Config;

pub fn run(c: CatalogCmd) -> Result<i32> {
    let cfg = Config::default();
    match c {
        CatalogCmd::List {
            json,
            markdown,
            cat,
        } => {
            let catalog = load_catalog(&cat, &cfg)?;
            if markdown {
                print_out(&catalog::markdown(&catalog))?;
            } else if json {
                let v: Vec<_> = catalog
                    .checks
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "id": c.id, "title": c.title, "area": c.area,
                            "severity": c.severity, "references": c.references,
                            "platforms": c.platforms, "walk": c.walk, "origin": c.origin,
                        })
                    })
                    .collect();
                print_out(&(serde_json::to_string_pretty(&v)? + "\n"))?;
            } else {
                let mut s = String::new();
                for c in &catalog.checks {
                    s += &format!(
                        "{:<12} {:<8} {:<10} {} [{}]\n",
                        c.id,
                        c.severity.as_str(),
                        c.area,
                        c.title,
                        c.references.flat().join(", ")
                    );
                }
                s += &format!(
                    "{} checks, digest {}\n",
                    catalog.checks.len(),
                    catalog.digest
                );
                print_out(&s)?;
            }
        }
        CatalogCmd::Lint { cat } => {
            let mut n = 0;
            for p in [Profile::Kisa, Profile::Cis] {
                let opts = CatalogOpts {
                    profile: Some(p.as_str().into()),
                    ..cat.clone()
                };
                let catalog = load_catalog(&opts, &cfg)?;
                n = catalog.checks.len();
                // every human-facing text exists in Korean too (`--lang ko`, the KISA form)
                let missing = catalog::missing_translations(&catalog.checks);
                if !missing.is_empty() {
                    let list: Vec<String> = missing.iter().map(|e| format!("  {e}")).collect();
                    bail!(
                        "{} check(s) lack Korean text:\n{}",
                        missing.len(),
                        list.join("\n")
                    );
                }
            }
            print_out(&format!("catalog OK: {n} checks (profiles kisa and cis)\n"))?;
        }
        CatalogCmd::Test {
            fixtures,
            verbose,
            cat,
        } => {
            let fx = catalog::fixtures::load_all(&fixtures).map_err(|e| anyhow!(e))?;
            if fx.is_empty() {
                bail!(
                    "no fixture hosts (*/host.toml) under {}",
                    fixtures.display()
                );
            }
            let work = std::env::temp_dir().join(format!("jikimi-fixtures-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&work);
            let build = |p: Profile| {
                let opts = CatalogOpts {
                    profile: Some(p.as_str().into()),
                    no_extra_checks: true,
                    ..cat.clone()
                };
                load_catalog(&opts, &cfg).map_err(|e| format!("{e:#}"))
            };
            let lines = super::fixtures::run_all(&fixtures, &fx, &build, &work);
            let _ = std::fs::remove_dir_all(&work);
            let lines = lines.map_err(|e| anyhow!(e))?;
            let mut out = String::new();
            let (mut pass, mut fail) = (0, 0);
            for l in &lines {
                if l.ok {
                    pass += 1;
                    if verbose {
                        out += &format!("ok   {}\n", l.text);
                    }
                } else {
                    fail += 1;
                    out += &format!("FAIL {}\n", l.text);
                }
            }
            out += &format!(
                "catalog test: {} fixture hosts\n{pass} passed, {fail} failed\n",
                fx.len()
            );
            print_out(&out)?;
            return Ok(if fail == 0 { 0 } else { 1 });
        }
        CatalogCmd::Digest { cat } => {
            print_out(&(load_catalog(&cat, &cfg)?.digest + "\n"))?;
        }
    }
    Ok(0)
}
