//! The one place that orders a scan's steps, for `check --once`, for the daemon's scans and
//! for its real-time re-evaluations (`crate::daemon::realtime`):
//!
//! 1. evaluate the checks (all selected ones, or only those a file change affects) against
//!    fresh facts, optionally recording what each read ([`crate::fs::deps`]);
//! 2. classify the host and apply waivers (a re-evaluation keeps the last classification);
//! 3. remote sinks (`[securityhub]`, `[ssm_compliance]`, `[ssm_inventory]`, `[ec2_tags]`, or
//!    `--submit`), after the AWS session and the host's identity are resolved once for
//!    all of them: Security Hub's own delta sync sends only findings that changed;
//! 4. scan history (before the mail, which reports from it);
//! 5. alerts (new failures, fixes) and the report mail;
//! 6. metrics, and the node_exporter textfile.
//!
//! Steps 3 and 5 deliver through [`crate::sinks::Sink`]: [`enabled_sinks`] builds the list
//! from the configuration and `--submit`, each sink from its own section only, and every
//! summary lands in `report.sinks` under the sink's name.
//!
//! A re-evaluation merges its results into the last report and runs steps 3-5 only when a
//! result changed (the *delta*); metrics and the textfile are always refreshed.

use super::{assemble, evaluate_check, select, Report, SelectError, Selection};
use crate::aws::Identity;
use crate::catalog::{Catalog, Check};
use crate::config::Config;
use crate::facts::Facts;
use crate::findings::{CheckResult, Summary};
use crate::fs::deps::{Deps, Session};
use crate::fs::Root;
use crate::sinks::prometheus::{self, Counters};
use crate::sinks::remote::IdentityNeed;
use crate::sinks::{Aws, Context, ParameterError, Sink};
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
    #[error(transparent)]
    Scan(#[from] SelectError),
    #[error("scan interrupted by the stop request: not recorded, nothing sent")]
    Interrupted,
    /// The remote sinks cannot run: no AWS session, identity or credentials.
    #[error(transparent)]
    Remote(#[from] crate::aws::AwsError),
    #[error("cannot write {}: {source}", path.display())]
    Textfile {
        path: PathBuf,
        source: std::io::Error,
    },
}
crate::error_text::debug_as_display!(PipelineError);

/// The delivering sinks of a run, in delivery order: the remote ones (Security Hub, then
/// the workflow of its waived findings, SSM Compliance, SSM Inventory, EC2 tags), then the
/// alerts and the report mail.
/// A sink is on when its section enables it or `--submit` names it (alerts: when a hook is
/// configured); each is built from its own section and the few shared values it needs.
/// The mail is the daily report: `full` scans only, at most daily for the `daemon`.
pub fn enabled_sinks<'a>(
    cfg: &'a Config,
    catalog: &Catalog,
    submit: Submit,
    full: bool,
    daemon: bool,
) -> Vec<Box<dyn Sink + 'a>> {
    use crate::sinks::*;
    let mut out: Vec<Box<dyn Sink + 'a>> = Vec::new();
    if submit.securityhub || cfg.securityhub.enabled {
        out.push(Box::new(securityhub::SecurityHub::new(
            &cfg.securityhub,
            catalog.checks.iter().map(|c| c.id.clone()).collect(),
            cfg.agent.skip.iter().cloned().collect(),
            cfg.min_severity().unwrap_or(None),
        )));
        out.push(Box::new(securityhub_workflow::Workflow));
    }
    if submit.ssm_compliance || cfg.ssm_compliance.enabled {
        out.push(Box::new(ssm_compliance::SsmCompliance));
    }
    if submit.ssm_inventory || cfg.ssm_inventory.enabled {
        out.push(Box::new(ssm_inventory::SsmInventory));
    }
    if submit.ec2_tags || cfg.ec2_tags.enabled {
        out.push(Box::new(ec2_tags::Ec2Tags::new(&cfg.ec2_tags)));
    }
    if let Some(a) = alerts::Alerts::new(&cfg.alerts, cfg.aws.ca_bundle.as_deref(), cfg.report.lang)
    {
        out.push(Box::new(a));
    }
    if (submit.email || cfg.email.enabled) && full {
        out.push(Box::new(email::Email::new(
            &cfg.email,
            cfg.report.lang,
            daemon,
        )));
    }
    out
}

/// The AWS session and the host's identity, when a remote sink or the output format needs
/// them. Resolving the identity also merges the instance's own tags into the classification
/// (`asset.instance_tags`) and applies the waivers again with the instance id
/// ([`crate::sinks::remote::identity`]); with a remote sink, a
/// host without any credentials is an error before anything is sent.
fn aws_access(
    report: &mut Report,
    cfg: &Config,
    remote_sinks: bool,
    format_needs: IdentityNeed,
) -> Result<Option<(crate::aws::Session, Identity)>, crate::aws::AwsError> {
    let need = if remote_sinks {
        IdentityNeed::Required
    } else {
        format_needs
    };
    if need == IdentityNeed::None {
        return Ok(None);
    }
    let session = crate::aws::Session::new(&cfg.aws)?;
    let Some(identity) = crate::sinks::remote::identity(&session, report, &cfg.remote(), need)?
    else {
        return Ok(None);
    };
    if remote_sinks {
        // fail before sending anything when no credentials can be found at all
        session.credentials()?;
    }
    Ok(Some((session, identity)))
}

/// Delivers the remote (or the local) sinks in their order, each summary into
/// `report.sinks` before the next sink runs (the mail shows the alerts' delivery). Remote
/// sinks are left out when the run has no AWS access (the daemon goes on without them).
fn deliver_sinks(
    report: &mut Report,
    sinks: &[Box<dyn Sink + '_>],
    ctx: &Context<'_>,
    remote: bool,
) {
    for sink in sinks.iter().filter(|s| s.remote() == remote) {
        if remote && ctx.aws.is_none() {
            continue;
        }
        let sums = sink.deliver(report, ctx);
        report
            .sinks
            .extend(sums.into_iter().map(|(name, s)| (name.to_string(), s)));
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
        // A full scan classifies the host and records a summary of its facts afterwards,
        // which reads the process table, the listening sockets with their owners and the
        // package database in any case: the slowest facts to collect (~4 ms for the socket
        // owners on a busy host), so they are collected first, beside the first checks.
        let warm = |f: &Facts| {
            let _ = f.sockets();
            let _ = f.packages();
        };
        let warm: Option<super::parallel::Warm<'_>> = match scope {
            Scope::Full => Some(&warm),
            Scope::Recheck { .. } => None,
        };
        super::parallel::evaluate_all(&checks, &facts, warm)
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
        let full = matches!(scope, Scope::Full);
        let sinks = enabled_sinks(cfg, &setup.catalog, out.submit, full, out.daemon);
        // 3. remote sinks
        if out.daemon {
            crate::sinks::remote::first_submission_jitter(&cfg.remote());
        }
        let remote = sinks.iter().any(|s| s.remote());
        let aws = match aws_access(&mut report, cfg, remote, out.format_needs) {
            Ok(a) => a,
            Err(e) if out.daemon => {
                (out.log)(&format!(
                    "remote sinks skipped: {}",
                    crate::error_text::chain(&e)
                ));
                None
            }
            Err(e) => return Err(PipelineError::Remote(e)),
        };
        let parameter = |name: &str| {
            crate::aws::ssm::read_parameter(&cfg.aws, name).map_err(ParameterError::aws)
        };
        let ctx = Context {
            state_dir: &state_dir,
            aws: aws
                .as_ref()
                .map(|(session, identity)| Aws { session, identity }),
            parameter: &parameter,
        };
        deliver_sinks(&mut report, &sinks, &ctx, true);
        // 4. history, first: the daily mail reports from it, this scan included
        let history = cfg.history_settings(out.state_dir, report.host.live);
        if let Err(e) = crate::history::record_scan(&report, Some(&facts), history.as_ref()) {
            (out.log)(&format!("warning: {e}"));
        }
        // 5. alerts, then the mail (which shows the alerts' delivery)
        deliver_sinks(&mut report, &sinks, &ctx, false);
        for (name, s) in &report.sinks {
            if out.daemon {
                (out.log)(&s.line(name));
            }
            for e in &s.errors {
                (out.log)(&format!("warning: {name}: {e}"));
            }
        }
        identity = aws.map(|(_, id)| id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::{SinkSummary, Summaries};

    fn catalog() -> Catalog {
        crate::catalog::load(&crate::catalog::embedded_sources(), Default::default()).unwrap()
    }

    fn names(sinks: &[Box<dyn Sink + '_>]) -> Vec<(&'static str, bool)> {
        sinks.iter().map(|s| (s.name(), s.remote())).collect()
    }

    #[test]
    fn enabled_sinks_come_from_the_sections_and_submit_in_delivery_order() {
        let cat = catalog();
        let none = Config::default();
        assert!(enabled_sinks(&none, &cat, Submit::default(), true, false).is_empty());
        let cfg = Config::parse(
            "[securityhub]\nenabled = true\n[ec2_tags]\nenabled = true\n\
             [alerts.webhook]\nurl = \"http://127.0.0.1:9/hook\"\n\
             [email]\nenabled = true\n",
            "t",
        )
        .unwrap();
        let on = enabled_sinks(&cfg, &cat, Submit::default(), true, false);
        assert_eq!(
            names(&on),
            [
                ("securityhub", true),
                ("securityhub_workflow", true),
                ("ec2_tags", true),
                ("alerts", false),
                ("email", false)
            ]
        );
        // a re-evaluation never mails (the mail is the daily report)
        let re = enabled_sinks(&cfg, &cat, Submit::default(), false, true);
        assert_eq!(names(&re).last(), Some(&("alerts", false)));
        // --submit adds to the configuration, never removes
        let submit = Submit {
            ssm_compliance: true,
            ssm_inventory: true,
            email: true,
            ..Default::default()
        };
        assert_eq!(
            names(&enabled_sinks(&none, &cat, submit, true, false)),
            [
                ("ssm_compliance", true),
                ("ssm_inventory", true),
                ("email", false)
            ]
        );
        let all = Submit {
            securityhub: true,
            ssm_compliance: true,
            ssm_inventory: true,
            ec2_tags: true,
            email: true,
        };
        assert_eq!(
            names(&enabled_sinks(&cfg, &cat, all, true, false)),
            [
                ("securityhub", true),
                ("securityhub_workflow", true),
                ("ssm_compliance", true),
                ("ssm_inventory", true),
                ("ec2_tags", true),
                ("alerts", false),
                ("email", false)
            ]
        );
        // an [alerts] section without a hook delivers nothing
        let no_hook = Config::parse("[alerts]\nmin_severity = \"low\"\n", "t").unwrap();
        assert!(enabled_sinks(&no_hook, &cat, Submit::default(), true, false).is_empty());
    }

    /// Says what it saw: the summaries already recorded (`calls`), the results (`sent`) and
    /// the state directory (`errors`).
    struct Probe {
        name: &'static str,
        remote: bool,
    }

    impl Sink for Probe {
        fn name(&self) -> &'static str {
            self.name
        }
        fn remote(&self) -> bool {
            self.remote
        }
        fn deliver(&self, report: &Report, ctx: &Context<'_>) -> Summaries {
            let mut s = SinkSummary {
                calls: report.sinks.len(),
                sent: report.results.len(),
                ..Default::default()
            };
            s.error(ctx.state_dir.display().to_string());
            vec![(self.name, s)]
        }
    }

    #[test]
    fn delivery_records_each_summary_before_the_next_sink_and_skips_remote_without_aws() {
        use crate::sinks::asff::tests::{report, result};
        let probe = |name, remote| Probe { name, remote };
        let sinks: Vec<Box<dyn Sink>> = vec![
            Box::new(probe("remote_one", true)),
            Box::new(probe("first", false)),
            Box::new(probe("second", false)),
        ];
        let parameter = |_: &str| Err(ParameterError::Unavailable("test"));
        let ctx = Context {
            state_dir: Path::new("/state"),
            aws: None,
            parameter: &parameter,
        };
        let mut rep = report(vec![result("A-1", crate::findings::Status::Fail)]);
        deliver_sinks(&mut rep, &sinks, &ctx, true);
        assert!(rep.sinks.is_empty(), "no AWS access: remote sinks skipped");
        deliver_sinks(&mut rep, &sinks, &ctx, false);
        assert_eq!(rep.sinks.keys().collect::<Vec<_>>(), ["first", "second"]);
        assert_eq!(
            (rep.sinks["first"].calls, rep.sinks["second"].calls),
            (0, 1)
        );
        assert_eq!(rep.sinks["second"].sent, 1);
        assert_eq!(rep.sinks["second"].errors, ["/state"]);
    }
}
