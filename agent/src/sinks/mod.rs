//! Sinks: where findings go. Each sink is a pure mapping from a [`crate::run::Report`] to a
//! payload, plus (for remote sinks) a separate transport.

pub mod alerts;
pub mod asff;
pub mod ec2_tags;
pub mod email;
pub mod json;
pub mod ocsf;
pub mod prometheus;
pub mod redact;
pub mod remote;
pub mod report;
pub mod securityhub;
pub mod securityhub_workflow;
pub mod ssm_compliance;
pub mod ssm_inventory;
pub mod state_file;
pub mod table;

use serde::Serialize;

/// What a remote sink did in one run. It lands in [`crate::run::Report::sinks`] under the
/// sink's name (`securityhub`, `ssm_compliance`): the JSON document's `sinks` section and the
/// table's footer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SinkSummary {
    /// Findings (Security Hub) or compliance items (SSM) delivered in this run.
    pub sent: usize,
    /// API requests made, retries included.
    pub calls: usize,
    /// Findings the service rejected in this run (BatchImportFindings `FailedFindings`, or
    /// every item of a failed PutComplianceItems); retried by the next run.
    pub failed: usize,
    /// Findings still to deliver after this run (rejected, or not attempted because the
    /// service was unreachable or throttling); the next run sends them.
    pub pending: usize,
    /// Findings unchanged since they were last delivered and not due for a refresh.
    pub unchanged: usize,
    /// Of the findings sent or pending, those being archived because their check left the
    /// catalog.
    pub archived: usize,
    /// Problems, at most ten; an empty list means a clean delivery.
    pub errors: Vec<String>,
}

impl SinkSummary {
    /// Records a problem (keeps the first ten).
    pub fn error(&mut self, msg: impl Into<String>) {
        if self.errors.len() < 10 {
            self.errors.push(msg.into());
        }
    }

    /// One line for the table footer.
    pub fn line(&self, name: &str) -> String {
        let mut s = format!(
            "{name}: {} sent in {} call{}, {} failed, {} pending",
            self.sent,
            self.calls,
            if self.calls == 1 { "" } else { "s" },
            self.failed,
            self.pending
        );
        if self.unchanged > 0 {
            s += &format!(", {} unchanged", self.unchanged);
        }
        if self.archived > 0 {
            s += &format!(", {} archived", self.archived);
        }
        s
    }
}
