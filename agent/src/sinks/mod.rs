//! Sinks: where findings go. Output formats (table, JSON, ASFF, OCSF, metrics) are pure
//! mappings from a [`crate::report::Report`]; every *delivering* sink (Security Hub, SSM
//! Compliance, SSM Inventory, EC2 tags, Slack/webhook alerts, the report mail) implements
//! [`Sink`]. A sink is built from its own configuration section (its struct lives in its own
//! module, as Vector's components keep theirs) plus the few shared values it needs, passed
//! explicitly; no sink sees the whole `crate::config::Config`. The scan pipeline
//! (`crate::run::pipeline`) picks the enabled sinks, delivers through [`Sink::deliver`] in
//! its fixed order and records the summaries in `report.sinks`.

pub mod alerts;
pub mod asff;
pub mod ec2_tags;
pub mod email;
pub mod json;
pub mod ocsf;
pub mod prometheus;
pub mod remote;
pub mod report;
pub mod securityhub;
pub mod securityhub_workflow;
pub mod ssm_compliance;
pub mod ssm_inventory;
pub mod state_file;
pub mod table;

/// Redaction sits below both the sinks and the AWS client (which redacts URLs in its errors).
pub use crate::redact;
pub use crate::report::SinkSummary;

use crate::aws::{Identity, Session};
use crate::report::Report;
use std::path::Path;

/// A destination the pipeline delivers a report to.
///
/// Delivery never fails the run: what went wrong (unreachable service, rejected findings,
/// a state file that cannot be written) is in the summaries, and what was not delivered
/// stays pending for the next run.
pub trait Sink {
    /// The sink's name (`securityhub`, `alerts`, `email`...): the key of its summary in
    /// `report.sinks`. A sink with several summaries names them after itself
    /// (`securityhub_workflow`, `alerts_slack`).
    fn name(&self) -> &'static str;

    /// Whether the sink calls AWS: the pipeline then resolves the session and the host's
    /// identity before delivering, and a run without them does not deliver it.
    fn remote(&self) -> bool {
        false
    }

    /// Delivers one report; the summaries to record in `report.sinks`, in order (none when
    /// the sink had nothing to do this run, e.g. the daily mail not yet due).
    fn deliver(&self, report: &Report, ctx: &Context<'_>) -> Summaries;
}

/// What one delivery produced: `(name in report.sinks, summary)`, in order.
pub type Summaries = Vec<(&'static str, SinkSummary)>;

/// What delivery needs besides the report and the sink's own configuration.
pub struct Context<'a> {
    /// The state directory: delta-sync state, queues and locks of the sinks.
    pub state_dir: &'a Path,
    /// The AWS session and the host's identity, resolved once per run for the remote sinks
    /// (`None` for a run without them).
    pub aws: Option<Aws<'a>>,
    /// Reads a secret from Parameter Store (`url_parameter`, `password_parameter`).
    pub parameter: &'a dyn Fn(&str) -> Result<String, ParameterError>,
}

/// The AWS access of a remote sink.
#[derive(Clone, Copy)]
pub struct Aws<'a> {
    pub session: &'a Session,
    pub identity: &'a Identity,
}

impl Context<'_> {
    /// The AWS access, or the summary of a sink that cannot deliver without it.
    fn aws(&self, what: &str) -> Result<Aws<'_>, SinkSummary> {
        self.aws.ok_or_else(|| {
            let mut s = SinkSummary::default();
            s.error(format!("{what}: no AWS session in this run"));
            s
        })
    }
}

/// What an asset sink (SSM Inventory, EC2 tags) delivers: `send` with the run's asset
/// classification and AWS access, or the summary of why it could not (`what` names the sink).
fn deliver_asset(
    report: &Report,
    ctx: &Context<'_>,
    what: &str,
    send: impl FnOnce(&crate::classify::Asset, Aws<'_>) -> SinkSummary,
) -> SinkSummary {
    match (ctx.aws(what), &report.asset) {
        (Err(s), _) => s,
        (Ok(_), None) => {
            let mut s = SinkSummary::default();
            s.error("no asset classification in this run");
            s
        }
        (Ok(aws), Some(a)) => send(a, aws),
    }
}

/// Why a secret could not be read from Parameter Store. The AWS layer's error crosses the
/// layer boundary whole (its text and chain), wrapped here so the sinks do not depend on
/// its type.
#[derive(thiserror::Error)]
pub enum ParameterError {
    /// No AWS access is set up to read Parameter Store.
    #[error("Parameter Store is not available: {0}")]
    Unavailable(&'static str),
    /// The AWS call failed (credentials, network, access denied, no such parameter).
    #[error(transparent)]
    Aws(Box<dyn std::error::Error + Send + Sync>),
}
crate::error_text::debug_as_display!(ParameterError);

impl ParameterError {
    /// Wraps the AWS layer's error (any error type, or its text).
    pub fn aws(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ParameterError {
        ParameterError::Aws(e.into())
    }
}

#[cfg(test)]
mod tests {
    /// No sink sees the whole configuration: nothing under `sinks/` names `crate::config`
    /// (each sink is built from its own section, passed by the pipeline).
    #[test]
    fn no_sink_depends_on_the_whole_configuration() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sinks");
        let mut files = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rs") {
                files += 1;
                let text = std::fs::read_to_string(&p).unwrap();
                let code: String = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                // tests may parse a whole configuration to check a section
                let lib = code.split("#[cfg(test)]").next().unwrap_or_default();
                assert!(
                    !lib.contains("crate::config") && !lib.contains("config::Config"),
                    "{} uses the whole configuration",
                    p.display()
                );
            }
        }
        assert!(files >= 15, "{files} files read from {}", dir.display());
    }
}
