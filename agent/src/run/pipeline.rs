//! The one place that orders a scan's steps, for `check --once`, for the daemon's scans and
//! for its real-time re-evaluations (`crate::daemon::realtime`):
//!
//! 1. evaluate the checks (all selected ones, or only those a file change affects) against
//!    fresh facts, optionally recording what each read ([`crate::fs::deps`]);
//! 2. classify the host and apply waivers (a re-evaluation keeps the last classification);
//! 3. remote sinks (`[securityhub]`, `[ssm_compliance]`, `[ssm_inventory]`, `[ec2_tags]`, or
//!    `--submit`): Security Hub's own delta sync sends only findings that changed;
//! 4. scan history (before the mail, which reports from it);
//! 5. alerts (new failures, fixes) and the report mail;
//! 6. metrics, and the node_exporter textfile.
//!
//! A re-evaluation merges its results into the last report and runs steps 3-5 only when a
//! result changed (the *delta*); metrics and the textfile are always refreshed.

use super::{assemble, evaluate_check, select, Report, Selection};
use crate::aws::Identity;
use crate::catalog::{Catalog, Check};
use crate::config::Config;
use crate::facts::Facts;
use crate::findings::{CheckResult, Summary};
use crate::fs::deps::{Deps, Session};
use crate::fs::Root;
use crate::sinks::prometheus::{self, Counters};
use crate::sinks::remote::{IdentityNeed, Remote};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Everything a scan needs (the daemon rebuilds it on SIGHUP).
pub struct Setup {
    pub config: Config,
    pub catalog: Catalog,
    pub selection: Selection,
    /// Asset classification rules (built-in plus the configuration's rules directory).
    pub rules: crate::classify::Rules,
}

/// Sinks switched on from the command line (`--submit`), in addition to the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Submit {
    pub securityhub: bool,
    pub ssm_compliance: bool,
    pub ssm_inventory: bool,
    pub ec2_tags: bool,
    pub email: bool,
}

/// Where a run's results go and how failures are treated.
pub struct Outputs<'a> {
    pub submit: Submit,
    /// What the output format of `--once` needs from AWS (ASFF: the identity).
    pub format_needs: IdentityNeed,
    /// `--state-dir` (default: the configuration's).
    pub state_dir: Option<&'a Path>,
    pub textfile: Option<&'a Path>,
    /// The daemon: jitter before the first submission, the report mail at most daily, each
    /// sink's summary logged, and failures of sinks or the textfile logged rather than
    /// ending the run.
    pub daemon: bool,
    /// Record what each check read (the real-time daemon).
    pub record_deps: bool,
    /// Scan counters shown in the metrics; a full scan counts itself.
    pub counters: &'a mut Counters,
    /// Appended to the metrics text (the daemon's real-time metrics).
    pub extra_metrics: &'a str,
    pub log: &'a dyn Fn(&str),
}

/// Which checks to evaluate.
pub enum Scope<'a> {
    /// Every selected check.
    Full,
    /// These checks (those not selected are ignored), merged into `base`.
    Recheck {
        ids: &'a BTreeSet<String>,
        base: &'a Report,
    },
}

/// What a run produced.
pub struct Outcome {
    pub report: Report,
    /// The AWS identity, when a remote sink or the output format needed it.
    pub identity: Option<Identity>,
    /// The rendered metrics (also written to the textfile).
    pub metrics: String,
    /// Per evaluated check: what it read (empty unless `record_deps`).
    pub deps: Vec<(String, Deps)>,
    /// The checks whose result changed (a re-evaluation) or every check (a full scan).
    pub changed: Vec<String>,
    /// Time spent evaluating.
    pub eval_time: Duration,
}

#[derive(thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Scan(String),
    #[error("scan interrupted by the stop request: not recorded, nothing sent")]
    Interrupted,
    #[error(transparent)]
    Remote(#[from] crate::aws::AwsError),
    #[error("cannot write {}: {source}", path.display())]
    Textfile {
        path: PathBuf,
        source: std::io::Error,
    },
}
crate::error_text::debug_as_display!(PipelineError);

/// When the daemon last mailed the report (a timestamp file in the state directory).
const MAIL_STAMP: &str = "email-last-sent";

/// The report mail is due when none was sent in the last 23.5 hours (a little under a day, so
/// hourly scans do not push the mail later every day).
fn mail_due(state_dir: &Path) -> bool {
    let last = std::fs::read_to_string(state_dir.join(MAIL_STAMP))
        .ok()
        .and_then(|t| crate::time::parse_rfc3339(t.trim()));
    match last.and_then(|t| t.elapsed().ok()) {
        Some(age) => age >= Duration::from_secs(23 * 3600 + 1800),
        None => true,
    }
}

/// What a sink compares: a result's verdict, not its timing.
fn same_verdict(a: &CheckResult, b: &CheckResult) -> bool {
    let key = |r: &CheckResult| {
        serde_json::to_string(&(&r.status, &r.reason, &r.evidence, &r.waiver)).unwrap_or_default()
    };
    a.status == b.status && key(a) == key(b)
}

/// Runs one scan (or re-evaluation) through every step, in the one order.
pub fn pipeline(
    setup: &Setup,
    root: &Root,
    scope: Scope<'_>,
    out: &mut Outputs<'_>,
    cancel: &dyn Fn() -> bool,
) -> Result<Outcome, PipelineError> {
    let cfg = &setup.config;
    let mut facts = Facts::new(root);
    facts.walk_limits = cfg.walk_limits();
    let selected = match select(&setup.catalog, &setup.selection) {
        Ok(s) => s,
        Err(e) => {
            out.counters.scans_failed += 1;
            out.counters.last_failure_ts = crate::time::now_unix();
            return Err(PipelineError::Scan(e));
        }
    };
    let checks: Vec<&Check> = match &scope {
        Scope::Full => selected,
        Scope::Recheck { ids, .. } => selected
            .into_iter()
            .filter(|c| ids.contains(&c.id))
            .collect(),
    };
    // 1. evaluate
    let started = SystemTime::now();
    let t = Instant::now();
    let mut deps = Vec::new();
    let results: Vec<CheckResult> = if out.record_deps {
        let session = Session::start();
        checks
            .iter()
            .map(|c| {
                let (r, d) = session.record(|| evaluate_check(c, &facts));
                deps.push((c.id.clone(), d));
                r
            })
            .collect()
    } else {
        super::parallel::evaluate_all(&checks, &facts)
    };
    let eval_time = t.elapsed();
    let mut report = assemble(&setup.catalog, &facts, results, started, t);
    if cancel() {
        // stopped mid-scan: an interrupted walk proves nothing, so nothing is recorded or
        // sent; queued deliveries stay queued
        return Err(PipelineError::Interrupted);
    }
    // 2. classification and waivers
    let changed: Vec<String> = match &scope {
        Scope::Full => {
            crate::waivers::classify_and_apply(
                &mut report,
                &setup.rules,
                &facts,
                &cfg.asset,
                cfg.ec2_tags.prefix(),
                &cfg.waivers,
            );
            out.counters.scans_ok += 1;
            report.results.iter().map(|r| r.id.clone()).collect()
        }
        Scope::Recheck { base, .. } => {
            crate::waivers::apply(&mut report, &cfg.waivers, crate::waivers::today(), None);
            let mut merged = (*base).clone();
            merged.sinks.clear();
            let mut changed = Vec::new();
            for r in report.results {
                match merged.results.iter_mut().find(|m| m.id == r.id) {
                    Some(m) => {
                        if !same_verdict(m, &r) {
                            changed.push(r.id.clone());
                        }
                        *m = r;
                    }
                    None => {
                        changed.push(r.id.clone());
                        merged.results.push(r);
                    }
                }
            }
            merged.summary = Summary::of(&merged.results);
            merged.started_at = report.started_at;
            merged.finished_at = report.finished_at;
            merged.duration_ms = report.duration_ms;
            report = merged;
            changed
        }
    };
    let deliver = matches!(scope, Scope::Full) || !changed.is_empty();
    let state_dir = out
        .state_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cfg.state_dir());
    let mut identity = None;
    if deliver {
        // 3. remote sinks
        let s = out.submit;
        let remote = Remote {
            securityhub: s.securityhub || cfg.securityhub.enabled,
            ssm_compliance: s.ssm_compliance || cfg.ssm_compliance.enabled,
            ssm_inventory: s.ssm_inventory || cfg.ssm_inventory.enabled,
            ec2_tags: s.ec2_tags || cfg.ec2_tags.enabled,
            format_needs: out.format_needs,
            state_dir: state_dir.clone(),
            catalog_ids: setup.catalog.checks.iter().map(|c| c.id.clone()).collect(),
        };
        if out.daemon {
            crate::sinks::remote::first_submission_jitter(&cfg.remote());
        }
        match crate::sinks::remote::run(&mut report, &cfg.remote(), &remote) {
            Ok(id) => identity = id,
            Err(e) if out.daemon => (out.log)(&format!(
                "remote sinks skipped: {}",
                crate::error_text::chain(&e)
            )),
            Err(e) => return Err(PipelineError::Remote(e)),
        }
        // 4. history, first: the daily mail reports from it, this scan included
        let history = cfg.history_settings(out.state_dir, report.host.live);
        if let Err(e) = crate::history::record_scan(&report, Some(&facts), history.as_ref()) {
            (out.log)(&format!("warning: {e}"));
        }
        // 5. alerts and the mail (a re-evaluation never mails: the mail is the daily report)
        let mail = (s.email || cfg.email.enabled)
            && matches!(scope, Scope::Full)
            && (!out.daemon || mail_due(&state_dir));
        crate::sinks::alerts::run_local(&mut report, &cfg.local(), &state_dir, mail);
        if out.daemon && mail && report.sinks.get("email").is_some_and(|s| s.sent > 0) {
            let _ = crate::state::write_file(
                &state_dir.join(MAIL_STAMP),
                crate::time::rfc3339(SystemTime::now()).as_bytes(),
                0o644,
            );
        }
        for (name, s) in &report.sinks {
            if out.daemon {
                (out.log)(&s.line(name));
            }
            for e in &s.errors {
                (out.log)(&format!("warning: {name}: {e}"));
            }
        }
    }
    // 6. metrics and the textfile
    let opts = prometheus::Options {
        per_check: cfg.daemon.per_check_metrics.unwrap_or(false),
    };
    let mut metrics = prometheus::render(Some(&report), Some(&facts), out.counters, opts);
    metrics.push_str(out.extra_metrics);
    if let Some(p) = out.textfile {
        // 0644: node_exporter reads it without root
        if let Err(e) = crate::state::write_file(p, metrics.as_bytes(), 0o644) {
            let source = std::io::Error::other(e);
            if out.daemon {
                (out.log)(&format!("cannot write textfile {}: {source}", p.display()));
            } else {
                return Err(PipelineError::Textfile {
                    path: p.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(Outcome {
        report,
        identity,
        metrics,
        deps,
        changed,
        eval_time,
    })
}
