//! One scan: select checks, evaluate them against lazily collected facts, produce a
//! [`Report`]. The report is what every sink consumes.

use crate::catalog::{Catalog, Check};
use crate::eval::{evaluate, Outcome};
use crate::facts::Facts;
use crate::findings::{CheckResult, Severity, Status, Summary};
use crate::fs::Root;
use std::time::{Instant, SystemTime};

pub mod parallel;
pub mod pipeline;

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these ids (empty: all).
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub min_severity: Option<Severity>,
    /// Leave out filesystem-wide walks.
    pub no_walks: bool,
}

pub use crate::report::{AgentInfo, CatalogInfo, HostInfo, Report};

/// Why the checks of a run could not be selected.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// An id of `--only`, `--skip` or `agent.skip` that the catalog does not have.
    #[error("unknown check id `{id}` (see `jikimi catalog list`)")]
    UnknownCheck { id: String },
}
crate::error_text::debug_as_display!(SelectError);

/// Picks the checks to run; unknown ids in `only`/`skip` are an error (a typo must not turn
/// into a silently empty, green run).
pub fn select<'c>(catalog: &'c Catalog, sel: &Selection) -> Result<Vec<&'c Check>, SelectError> {
    for id in sel.only.iter().chain(&sel.skip) {
        if !catalog.checks.iter().any(|c| &c.id == id) {
            return Err(SelectError::UnknownCheck { id: id.clone() });
        }
    }
    Ok(catalog
        .checks
        .iter()
        .filter(|c| sel.only.is_empty() || sel.only.contains(&c.id))
        .filter(|c| !sel.skip.contains(&c.id))
        .filter(|c| sel.min_severity.is_none_or(|m| c.severity >= m))
        .filter(|c| !(sel.no_walks && c.walk))
        .collect())
}

pub fn evaluate_check(check: &Check, facts: &Facts) -> CheckResult {
    let t = Instant::now();
    let out =
        if !check.platforms.is_empty() && !check.platforms.iter().any(|p| facts.os().matches(p)) {
            Outcome::na(format!(
                "applies to {} only (this host: {})",
                check.platforms.join(", "),
                if facts.os().id.is_empty() {
                    "unknown"
                } else {
                    &facts.os().id
                }
            ))
        } else {
            evaluate(&check.expect, facts)
        };
    let reason = match out.status {
        Status::Pass => None,
        _ => out.reason,
    };
    CheckResult {
        id: check.id.clone(),
        title: check.title.clone(),
        area: check.area.clone(),
        severity: check.severity,
        status: out.status,
        reason,
        evidence: out.evidence,
        references: check.references.clone(),
        remediation: if check.fix.is_empty() {
            check.remediation.clone()
        } else {
            // first, so that sinks which cut the text (Security Hub: 512) keep it
            format!(
                "Automatic fix: `jikimi fix --only {}` on the host (or the Jikimi-Fix SSM \
                 document, or the Security Hub action \"Jikimi fix on host\"): shown as a diff, \
                 verified, undoable. {}",
                check.id, check.remediation
            )
        },
        description: check.description.clone(),
        duration_ms: t.elapsed().as_secs_f64() * 1000.0,
        waiver: None,
    }
}

/// Runs the selected checks of a catalog on a root.
pub fn scan(
    catalog: &Catalog,
    root: &Root,
    sel: &Selection,
    walk_limits: crate::facts::walk::Limits,
) -> Result<Report, SelectError> {
    let mut facts = Facts::new(root);
    facts.walk_limits = walk_limits;
    scan_facts(catalog, &facts, sel)
}

/// Runs the selected checks against facts the caller keeps (to reuse them, e.g. for metrics).
pub fn scan_facts(
    catalog: &Catalog,
    facts: &Facts,
    sel: &Selection,
) -> Result<Report, SelectError> {
    let checks = select(catalog, sel)?;
    let started = SystemTime::now();
    let t = Instant::now();
    let results = parallel::evaluate_all(&checks, facts, None);
    Ok(assemble(catalog, facts, results, started, t))
}

/// The report around results evaluated since `started` (`t`: the same moment, monotonic).
pub fn assemble(
    catalog: &Catalog,
    facts: &Facts,
    results: Vec<CheckResult>,
    started: SystemTime,
    t: Instant,
) -> Report {
    let root = facts.root;
    let os = facts.os().clone();
    let summary = Summary::of(&results);
    Report {
        schema_version: 1,
        agent: AgentInfo {
            name: "jikimi",
            version: env!("CARGO_PKG_VERSION"),
        },
        host: HostInfo {
            hostname: os.hostname,
            machine_id: os.machine_id,
            os_id: os.id,
            os_version: os.version_id,
            os_name: os.pretty_name,
            kernel: os.kernel,
            root: root.dir().display().to_string(),
            live: root.is_live(),
        },
        catalog: CatalogInfo {
            digest: catalog.digest.clone(),
            profile: catalog.profile,
            checks: catalog.checks.len(),
        },
        started_at: crate::time::rfc3339(started),
        finished_at: crate::time::rfc3339(SystemTime::now()),
        duration_ms: t.elapsed().as_secs_f64() * 1000.0,
        summary,
        results,
        sinks: Default::default(),
        asset: None,
    }
}
