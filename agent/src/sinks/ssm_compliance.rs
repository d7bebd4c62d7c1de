//! The SSM Compliance sink: PutComplianceItems with one item per check under
//! `Custom:Jikimi`, UploadType COMPLETE (each run replaces the host's previous items), so
//! results show in Systems Manager Compliance and AWS Config next to patch compliance.
//!
//! Status: PASS → COMPLIANT; FAIL → NON_COMPLIANT; ERROR → NON_COMPLIANT (a check that could
//! not be verified is not shown as compliant); NOT_APPLICABLE → COMPLIANT (nothing to
//! violate here: the service is not installed, the platform differs). `Details` keeps the
//! agent's own status and reason, so the two cases stay distinguishable. WAIVED → COMPLIANT
//! with `Status: WAIVED` and the waiver (`WaiverReason`, `WaiverApprovedBy`, `WaiverExpires`)
//! in `Details`: SSM Compliance has no exception status, the agent's exit code and score
//! already leave a waived check out, and a NON_COMPLIANT that can never be cleared is what
//! waivers exist to stop (docs/waivers.md). An expired waiver is NON_COMPLIANT again, with
//! `WaiverExpired` in `Details`. Severity maps
//! one to one (info → INFORMATIONAL). `ItemContentHash` lets SSM ignore an unchanged upload.

use super::SinkSummary;
use crate::aws::identity::{Identity, ResourceKind};
use crate::aws::{Session, SSM};
use crate::findings::{CheckResult, Severity, Status};
use crate::report::Report;
use serde_json::{json, Map, Value};

pub const COMPLIANCE_TYPE: &str = "Custom:Jikimi";
const ITEMS_MAX: usize = 10_000;
const TITLE_MAX: usize = 500;
const DETAIL_VALUE_MAX: usize = 4096;

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Pass | Status::NotApplicable | Status::Waived => "COMPLIANT",
        Status::Fail | Status::Error => "NON_COMPLIANT",
    }
}

fn item(r: &CheckResult) -> Value {
    let mut details = Map::new();
    let mut put = |k: &str, v: &str| {
        let v = super::asff::clip(v, DETAIL_VALUE_MAX);
        if !v.is_empty() {
            details.insert(k.to_string(), Value::String(v));
        }
    };
    put("Status", r.status.as_str());
    put("Area", &r.area);
    if let Some(reason) = &r.reason {
        put("Reason", reason);
    }
    if let Some(e) = r.evidence.first() {
        put("Evidence", &e.to_string());
    }
    put("References", &r.references.flat().join(", "));
    if let Some(w) = &r.waiver {
        if w.expired {
            put("WaiverExpired", &w.expires);
        } else {
            put("WaiverExpires", &w.expires);
        }
        put("WaiverReason", &w.reason);
        put("WaiverApprovedBy", &w.approved_by);
    }
    json!({
        "Id": r.id,
        "Title": super::asff::clip(&r.title, TITLE_MAX),
        "Severity": severity(r.severity),
        "Status": status(r.status),
        "Details": details,
    })
}

/// The `[ssm_compliance]` section.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsmComplianceConfig {
    /// Put compliance items on every run (as `--submit ssm-compliance` does for one run).
    #[serde(default)]
    pub enabled: bool,
}

/// The SSM Compliance sink (its section holds nothing but `enabled`).
pub struct SsmCompliance;

impl super::Sink for SsmCompliance {
    fn name(&self) -> &'static str {
        "ssm_compliance"
    }

    fn remote(&self) -> bool {
        true
    }

    fn deliver(&self, report: &Report, ctx: &super::Context<'_>) -> super::Summaries {
        let s = match ctx.aws("SSM Compliance") {
            Ok(aws) => submit(report, aws.identity, aws.session),
            Err(s) => s,
        };
        vec![(self.name(), s)]
    }
}

/// An SSM sink on a resource that is not a managed instance: Systems Manager would refuse
/// every call, so the sink does not make one.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} needs a managed instance id (i-... or mi-...), not `{resource_id}`: set aws.resource_id")]
pub struct NotAManagedInstance {
    /// `SSM Compliance`, `SSM Inventory`.
    pub service: &'static str,
    pub resource_id: String,
}
crate::error_text::debug_as_display!(NotAManagedInstance);

/// The PutComplianceItems request. Needs a managed instance id (`i-...` or `mi-...`).
pub fn payload(
    report: &Report,
    identity: &Identity,
    execution_time_ms: u64,
) -> Result<Value, NotAManagedInstance> {
    if identity.kind == ResourceKind::Other {
        return Err(NotAManagedInstance {
            service: "SSM Compliance",
            resource_id: identity.resource_id.clone(),
        });
    }
    let items: Vec<Value> = report.results.iter().take(ITEMS_MAX).map(item).collect();
    let hash = crate::aws::sigv4::sha256_hex(Value::Array(items.clone()).to_string().as_bytes());
    Ok(json!({
        "ResourceId": identity.resource_id,
        "ResourceType": "ManagedInstance",
        "ComplianceType": COMPLIANCE_TYPE,
        "ExecutionSummary": {
            // awsJson timestamps are epoch seconds.
            "ExecutionTime": execution_time_ms as f64 / 1000.0,
            "ExecutionId": format!("jikimi-{execution_time_ms}"),
            "ExecutionType": "Jikimi",
        },
        "Items": items,
        "ItemContentHash": hash,
        "UploadType": "COMPLETE",
    }))
}

/// Puts the report's items; one call (retried on throttling and 5xx).
pub fn submit(report: &Report, identity: &Identity, session: &Session) -> SinkSummary {
    let mut sum = SinkSummary::default();
    let at = crate::time::parse_rfc3339(&report.finished_at)
        .map(crate::time::unix_ms)
        .unwrap_or(0);
    let body = match payload(report, identity, at) {
        Ok(b) => b.to_string(),
        Err(e) => {
            sum.error(e.to_string());
            sum.pending = report.results.len();
            return sum;
        }
    };
    match session.call(
        SSM,
        &identity.region,
        "/",
        Some("AmazonSSM.PutComplianceItems"),
        body.as_bytes(),
    ) {
        Ok(r) => {
            sum.calls = r.attempts as usize;
            sum.sent = report.results.len().min(ITEMS_MAX);
        }
        Err(e) => {
            sum.calls = e.attempts as usize;
            sum.failed = report.results.len();
            sum.pending = report.results.len();
            sum.error(format!("PutComplianceItems: {e}"));
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::asff::tests::{identity_ec2, report, result};

    #[test]
    fn items_and_request() {
        let rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Pass),
            result("A-3", Status::NotApplicable),
            result("A-4", Status::Error),
        ]);
        let p = payload(&rep, &identity_ec2(), 1_795_365_319_140).unwrap();
        assert_eq!(p["ResourceId"], "i-0123456789abcdef0");
        assert_eq!(p["ResourceType"], "ManagedInstance");
        assert_eq!(p["ComplianceType"], "Custom:Jikimi");
        assert_eq!(p["UploadType"], "COMPLETE");
        assert_eq!(p["ExecutionSummary"]["ExecutionTime"], 1_795_365_319.14);
        let st: Vec<&str> = p["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["Status"].as_str().unwrap())
            .collect();
        assert_eq!(
            st,
            ["NON_COMPLIANT", "COMPLIANT", "COMPLIANT", "NON_COMPLIANT"]
        );
        assert_eq!(p["Items"][0]["Severity"], "HIGH");
        assert_eq!(p["Items"][2]["Details"]["Status"], "NOT_APPLICABLE");
        assert_eq!(p["ItemContentHash"].as_str().unwrap().len(), 64);
        let other = Identity {
            kind: ResourceKind::Other,
            resource_id: "web-1".into(),
            ..identity_ec2()
        };
        assert!(payload(&rep, &other, 0)
            .unwrap_err()
            .to_string()
            .contains("managed instance"));
    }

    #[test]
    fn waived_is_compliant_with_the_waiver_in_details() {
        let mut rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Fail),
        ]);
        let w = |expires: &str| crate::waivers::Waiver {
            check: String::new(),
            hosts: vec![],
            tags: Default::default(),
            reason: "bastion".into(),
            approved_by: "kim".into(),
            expires: crate::time::parse_date(expires).unwrap(),
            origin: "t:1".into(),
        };
        let ws = crate::waivers::Waivers {
            list: vec![
                crate::waivers::Waiver {
                    check: "A-1".into(),
                    ..w("2027-03-31")
                },
                crate::waivers::Waiver {
                    check: "A-2".into(),
                    ..w("2026-01-01")
                },
            ],
        };
        let today = crate::time::parse_date("2026-12-06").unwrap();
        crate::waivers::apply(&mut rep, &ws, today, None);
        let p = payload(&rep, &identity_ec2(), 0).unwrap();
        let (a, b) = (&p["Items"][0], &p["Items"][1]);
        assert_eq!(a["Status"], "COMPLIANT");
        assert_eq!(a["Details"]["Status"], "WAIVED");
        assert_eq!(a["Details"]["WaiverExpires"], "2027-03-31");
        assert_eq!(a["Details"]["WaiverApprovedBy"], "kim");
        assert_eq!(a["Details"]["WaiverReason"], "bastion");
        assert_eq!(b["Status"], "NON_COMPLIANT");
        assert_eq!(b["Details"]["WaiverExpired"], "2026-01-01");
    }
}
