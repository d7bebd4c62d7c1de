//! The fixture runner of `jikimi catalog test`: scans every fixture host
//! (`jikimi::catalog::fixtures`) with the catalog of its profile, compares each check's status
//! with the expected one, and requires a passing and a failing fixture for every check. It
//! lives in the CLI layer because it needs both the catalog and the scan (`jikimi::run`).

use jikimi::catalog::fixtures::{load_coverage, Fixture};
use jikimi::catalog::{Catalog, Profile};
use jikimi::findings::Status;
use jikimi::fs::Root;
use jikimi::run::{scan, Selection};
use std::collections::BTreeMap;
use std::path::Path;

/// One assertion's outcome.
pub struct Line {
    pub ok: bool,
    pub text: String,
}

/// Runs all fixtures against catalogs built per profile by `catalog_for`, returns the lines
/// of the report (failures and coverage gaps have `ok == false`).
pub fn run_all(
    fixtures_dir: &Path,
    fixtures: &[Fixture],
    catalog_for: &dyn Fn(Profile) -> Result<Catalog, String>,
    work: &Path,
) -> Result<Vec<Line>, String> {
    let coverage = load_coverage(fixtures_dir)?;
    let mut lines = Vec::new();
    let mut seen: BTreeMap<String, Vec<Status>> = BTreeMap::new();
    let default_catalog = catalog_for(Profile::default())?;
    for fx in fixtures {
        let catalog = match fx.profile {
            Some(p) if p != default_catalog.profile => catalog_for(p)?,
            _ => default_catalog.clone(),
        };
        let dir = fx.materialise(work)?;
        let root = Root::new(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for id in fx.expect.keys() {
            if !catalog.checks.iter().any(|c| &c.id == id) {
                lines.push(Line {
                    ok: false,
                    text: format!("{}: expects unknown check {id}", fx.name),
                });
            }
        }
        let sel = Selection {
            only: fx
                .expect
                .keys()
                .filter(|id| catalog.checks.iter().any(|c| &c.id == *id))
                .cloned()
                .collect(),
            ..Default::default()
        };
        if sel.only.is_empty() {
            continue;
        }
        let report = scan(&catalog, &root, &sel, Default::default())?;
        for r in &report.results {
            let want = fx.expect[&r.id];
            seen.entry(r.id.clone()).or_default().push(r.status);
            let ok = r.status == want;
            let detail = if ok {
                String::new()
            } else {
                format!(
                    " (got {}: {})",
                    r.status,
                    r.reason.clone().unwrap_or_else(|| r
                        .evidence
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; "))
                )
            };
            lines.push(Line {
                ok,
                text: format!("{}: {} expected {want}{detail}", fx.name, r.id),
            });
        }
    }
    for c in &default_catalog.checks {
        let got = seen.get(&c.id).cloned().unwrap_or_default();
        let manual = matches!(&c.expect.node, jikimi::catalog::probe::Node::Probe(p) if matches!(**p, jikimi::catalog::probe::Probe::Manual(_)));
        let live_only = coverage.live_only.contains_key(&c.id);
        let missing: Vec<&str> = if manual || live_only {
            if got.contains(&Status::NotApplicable) {
                vec![]
            } else {
                vec!["NOT_APPLICABLE"]
            }
        } else {
            [(Status::Pass, "PASS"), (Status::Fail, "FAIL")]
                .iter()
                .filter(|(s, _)| !got.contains(s))
                .map(|(_, n)| *n)
                .collect()
        };
        if !missing.is_empty() {
            lines.push(Line {
                ok: false,
                text: format!("coverage: {} has no {} fixture", c.id, missing.join(" or ")),
            });
        }
    }
    Ok(lines)
}
