//! Sinks: where findings go. Each sink is a pure mapping from a [`crate::report::Report`] to a
//! payload, plus (for remote sinks) a separate transport.

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
