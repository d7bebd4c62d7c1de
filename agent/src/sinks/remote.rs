//! The AWS identity of one run, resolved once for every remote sink
//! (`crate::sinks::Sink::remote`) and for the output formats that name the host in AWS
//! terms (ASFF, OCSF): the account, region and resource, the instance's own tags merged into
//! the classification, and the waivers applied again with the instance id. The pipeline
//! (`crate::run::pipeline`) then delivers the sinks with it.
//!
//! A configuration problem (no account or region known, no credentials) is an error of
//! the run ([`crate::aws::AwsError`]: which setting, profile or credential source, and
//! why). A delivery problem (network, throttling, rejected findings) is not: the sink's
//! summary says what is pending, and the next run delivers it.

use crate::aws::config::AwsConfig;
use crate::aws::{Identity, Session};
use crate::report::Report;

/// The configuration the identity step reads (`Config::remote` picks it out of the whole
/// configuration).
#[derive(Debug, Clone, Copy)]
pub struct RemoteConfig<'a> {
    pub aws: &'a AwsConfig,
    /// Some remote sink is switched on in the configuration (for the first-submission pause).
    pub any_enabled: bool,
    /// `asset.instance_tags`: merge the instance's own tags into the classification.
    pub instance_tags: bool,
    pub waivers: &'a crate::waivers::Waivers,
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

/// The host's identity, when `need` asks for it (`Optional`: `None` when it cannot be
/// resolved); merges the instance's tags into the classification and applies the waivers
/// again with the instance id.
pub fn identity(
    session: &Session,
    report: &mut Report,
    cfg: &RemoteConfig<'_>,
    need: IdentityNeed,
) -> Result<Option<Identity>, crate::aws::AwsError> {
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
    Ok(Some(identity))
}
