//! The remote (AWS) part of one scan: resolve the host's identity once, run each enabled
//! sink, and record what they did in [`Report::sinks`]. Used by `check --once` and by each
//! daemon scan.
//!
//! A configuration problem (no account or region known, no credentials) is an error of
//! the run ([`crate::aws::AwsError`]: which setting, profile or credential source, and
//! why). A delivery problem (network, throttling, rejected findings) is not: the sink's
//! summary says what is pending, and the next run delivers it.

use super::securityhub::SecurityHubConfig;
use super::{securityhub, ssm_compliance};
use crate::aws::config::AwsConfig;
use crate::aws::{Identity, Session};
use crate::findings::Severity;
use crate::report::Report;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The configuration the remote sinks read (`Config::remote` picks it out of the whole
/// configuration, so the sinks never see it).
#[derive(Debug, Clone, Copy)]
pub struct RemoteConfig<'a> {
    pub aws: &'a AwsConfig,
    pub securityhub: &'a SecurityHubConfig,
    /// Some remote sink is switched on in the configuration (for the first-submission pause).
    pub any_enabled: bool,
    /// `asset.instance_tags`: merge the instance's own tags into the classification.
    pub instance_tags: bool,
    pub waivers: &'a crate::waivers::Waivers,
    /// `agent.skip`: checks the configuration drops (archived like removed ones).
    pub skip: &'a [String],
    /// `agent.min_severity`.
    pub min_severity: Option<Severity>,
    /// `ec2_tags.prefix`.
    pub tag_prefix: &'a str,
}

/// How much an output needs the AWS identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IdentityNeed {
    None,
    /// Used when known (OCSF).
    Optional,
    /// An error when unknown (ASFF, any sink).
    Required,
}

/// What to run after a scan.
#[derive(Debug, Clone)]
pub struct Remote {
    pub securityhub: bool,
    pub ssm_compliance: bool,
    /// SSM Inventory `Custom:JikimiAsset` and the instance's own tags (need `report.asset`).
    pub ssm_inventory: bool,
    pub ec2_tags: bool,
    /// What the chosen output format needs.
    pub format_needs: IdentityNeed,
    pub state_dir: PathBuf,
    /// Every check id of the loaded catalog (for archiving).
    pub catalog_ids: BTreeSet<String>,
}

impl Remote {
    fn sends(&self) -> bool {
        self.securityhub || self.ssm_compliance || self.ssm_inventory || self.ec2_tags
    }

    fn need(&self) -> IdentityNeed {
        if self.sends() {
            IdentityNeed::Required
        } else {
            self.format_needs
        }
    }
}

/// The daemon's pause before its first submission: a random 0..=`aws.first_submission_jitter_secs`
/// (default 120 s), once per process and only when a remote sink is switched on, so a fleet
/// started at once spreads its first BatchImportFindings calls. Cut short by a stop
/// request ([`crate::cancel`]). `check --once` never calls it.
pub fn first_submission_jitter(cfg: &RemoteConfig<'_>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    if !cfg.any_enabled || DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let max = cfg.aws.first_submission_jitter().as_millis() as u64;
    if max > 0 {
        let wait = crate::net::random_u64() % (max + 1);
        crate::cancel::sleep(std::time::Duration::from_millis(wait));
    }
}

/// Runs the enabled sinks with a session of its own; returns the identity when it was
/// resolved.
pub fn run(
    report: &mut Report,
    cfg: &RemoteConfig<'_>,
    remote: &Remote,
) -> Result<Option<Identity>, crate::aws::AwsError> {
    if remote.need() == IdentityNeed::None {
        return Ok(None);
    }
    run_with(&Session::new(cfg.aws)?, report, cfg, remote)
}

/// [`run`] with a caller's session (a long-running process keeps one: IMDS answers and
/// credentials are reused until they expire).
pub fn run_with(
    session: &Session,
    report: &mut Report,
    cfg: &RemoteConfig<'_>,
    remote: &Remote,
) -> Result<Option<Identity>, crate::aws::AwsError> {
    let need = remote.need();
    if need == IdentityNeed::None {
        return Ok(None);
    }
    let identity = match (session.identity(&report.host), need) {
        (Ok(id), _) => id,
        (Err(_), IdentityNeed::Optional) => return Ok(None),
        (Err(e), _) => return Err(e.into()),
    };
    if let Some(a) = report.asset.as_mut() {
        if cfg.instance_tags {
            let prefix = a.key_prefix.clone();
            a.apply_instance_tags(&identity.tags, &prefix);
        }
    }
    // Again with the instance id and the instance's tags, which only now are known.
    crate::waivers::apply(
        report,
        cfg.waivers,
        crate::waivers::today(),
        Some(&identity.resource_id),
    );
    if remote.sends() {
        // Fail before sending anything when no credentials can be found at all.
        session.credentials()?;
    }
    if remote.securityhub {
        // Checks the configuration drops are archived like removed ones; what the command
        // line leaves out of one run (`--only`, `--skip`) is not.
        let dropped: BTreeSet<String> = cfg.skip.iter().cloned().collect();
        let opts = securityhub::Options {
            state_dir: &remote.state_dir,
            refresh: cfg.securityhub.refresh_interval(),
            catalog_ids: &remote.catalog_ids,
            dropped: &dropped,
            min_severity: cfg.min_severity,
            reference_url: cfg.securityhub.reference_url.as_deref(),
        };
        let s = securityhub::submit(report, &identity, session, &opts);
        report.sinks.insert("securityhub".into(), s);
        // Waived findings: workflow SUPPRESSED / NEW (after the import, so they exist).
        let w = super::securityhub_workflow::submit(report, &identity, session, &remote.state_dir);
        if w.calls > 0 || !w.errors.is_empty() {
            report.sinks.insert("securityhub_workflow".into(), w);
        }
    }
    if remote.ssm_compliance {
        let s = ssm_compliance::submit(report, &identity, session);
        report.sinks.insert("ssm_compliance".into(), s);
    }
    for (on, name) in [
        (remote.ssm_inventory, "ssm_inventory"),
        (remote.ec2_tags, "ec2_tags"),
    ] {
        if !on {
            continue;
        }
        let s = match &report.asset {
            None => {
                let mut s = super::SinkSummary::default();
                s.error("no asset classification in this run");
                s
            }
            Some(a) if name == "ssm_inventory" => {
                super::ssm_inventory::submit(a, &identity, session, &report.finished_at)
            }
            Some(a) => {
                super::ec2_tags::sync(a, &identity, session, &remote.state_dir, cfg.tag_prefix)
            }
        };
        report.sinks.insert(name.into(), s);
    }
    Ok(Some(identity))
}
