//! The scan report: what one scan produced (host, catalog, results, summary, asset tags) and
//! what the sinks did with it. It sits next to [`crate::findings`], below everything that
//! produces it (`run`) or consumes it (`sinks`, `history`, `waivers`, `aws`), so those layers
//! point down to it instead of at each other.

use crate::findings::{CheckResult, Summary};
use serde::Serialize;

/// The agent that produced a report.
#[derive(Debug, Clone, Serialize)]
pub struct AgentInfo {
    pub name: &'static str,
    pub version: &'static str,
}

/// The host a report is about.
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    pub hostname: String,
    pub machine_id: String,
    pub os_id: String,
    pub os_version: String,
    pub os_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// The scan root (`/` on a live host).
    pub root: String,
    pub live: bool,
}

/// The catalog a report was produced with.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogInfo {
    /// sha256 of the catalog files.
    pub digest: String,
    pub profile: crate::catalog::Profile,
    /// Checks in the catalog (before selection).
    pub checks: usize,
}

/// The JSON document of `jikimi check --once --format json` (schema_version 1).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub agent: AgentInfo,
    pub host: HostInfo,
    pub catalog: CatalogInfo,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: f64,
    pub summary: Summary,
    pub results: Vec<CheckResult>,
    /// What remote sinks (`--submit`) did, by sink name; absent when none ran. Added in
    /// schema_version 1 as an optional member.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sinks: std::collections::BTreeMap<String, SinkSummary>,
    /// The host's asset classification (`crate::classify`), when it was run. Added in
    /// schema_version 1 as an optional member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<crate::classify::Asset>,
}

impl Report {
    /// Process exit code: 2 when any check failed, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.summary.failed > 0 {
            2
        } else {
            0
        }
    }
}

/// What a remote sink did in one run. It lands in [`Report::sinks`] under the
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
