//! OCSF 1.1 Compliance Finding events (class_uid 2003, category Findings), one per check,
//! for Amazon Security Lake custom sources and OCSF-based pipelines: `--format ocsf`.
//!
//! The event carries the same facts as the ASFF finding ([`super::asff`]): the finding uid is
//! the ASFF Id (so both views of a check on a host join), `compliance` holds the control
//! (check id), the standards and requirements it implements and the status, `resources[0]`
//! the host, `remediation.desc` the fix. Severity follows the ASFF rule: a failed check
//! carries its severity, anything else is Informational. Without an AWS identity (off EC2,
//! nothing configured) `cloud` is left out and the resource is named by the machine id.

use super::asff;
use crate::aws::identity::{Identity, ResourceKind};
use crate::findings::{CheckResult, Severity, Status};
use crate::report::Report;
use serde_json::{json, Value};

pub const OCSF_VERSION: &str = "1.1.0";
const CLASS_UID: u32 = 2003;
const CATEGORY_UID: u32 = 2;
/// Activity 1 (Create): every scan reports its observation afresh.
const ACTIVITY_ID: u32 = 1;

fn severity_id(s: Severity) -> (u32, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// The standards a check implements, as OCSF `compliance.standards` (required, never empty).
fn standards(r: &CheckResult) -> Vec<String> {
    let mut s = Vec::new();
    if !r.references.kisa.is_empty() {
        s.push("KISA Unix Server Vulnerability Assessment (2021)".to_string());
    }
    if !r.references.kisa2026.is_empty() {
        s.push("KISA Unix Server Vulnerability Assessment (2026)".to_string());
    }
    for bench in r.references.cis.keys() {
        s.push(format!("CIS Benchmark {bench}"));
    }
    if s.is_empty() {
        s.push("Jikimi host hardening".to_string());
    }
    s
}

fn event(r: &CheckResult, report: &Report, identity: Option<&Identity>, time_ms: u64) -> Value {
    let (sev_id, sev) = match r.status {
        Status::Fail | Status::Waived => severity_id(r.severity),
        _ => (1, "Informational"),
    };
    let (comp_id, comp) = match r.status {
        Status::Pass => (1, "Pass"),
        Status::Fail | Status::Waived => (3, "Fail"),
        Status::NotApplicable => (99, "Not Applicable"),
        // "Warning: the compliance check did not yield a result due to missing information."
        Status::Error => (2, "Warning"),
    };
    let (status_id, status) = match r.status {
        Status::Fail => (1, "New"),
        Status::Waived => (3, "Suppressed"),
        Status::Pass => (4, "Resolved"),
        Status::NotApplicable => (99, "Not Applicable"),
        Status::Error => (99, "Error"),
    };
    let h = &report.host;
    let uid = match identity {
        Some(id) => asff::finding_id(id, &r.id),
        None => format!("jikimi/{}/{}", h.machine_id, r.id),
    };
    let mut resource = json!({
        "uid": identity.map(|i| i.resource_arn()).unwrap_or_else(|| h.machine_id.clone()),
        "name": h.hostname,
        "type": match identity.map(|i| i.kind) {
            Some(ResourceKind::Ec2Instance) => "AwsEc2Instance",
            _ => "Other",
        },
        "data": {
            "os_name": h.os_name, "os_id": h.os_id, "os_version": h.os_version,
            "kernel": h.kernel, "machine_id": h.machine_id, "scan_root": h.root,
        },
    });
    let mut ev = json!({
        "activity_id": ACTIVITY_ID,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_ID,
        "type_name": "Compliance Finding: Create",
        "time": time_ms,
        "severity_id": sev_id,
        "severity": sev,
        "status_id": status_id,
        "status": status,
        "message": r.title,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "Jikimi",
                "vendor_name": "Jikimi",
                "version": report.agent.version,
            },
            "profiles": if identity.is_some() { json!(["cloud"]) } else { json!([]) },
        },
        "finding_info": {
            "uid": uid,
            "title": r.title,
            "desc": r.description,
            "types": [format!("Software and Configuration Checks/{}", r.area)],
            "analytic": {
                "uid": r.id, "name": r.title, "category": r.area,
                "type_id": 1, "type": "Rule",
            },
        },
        "compliance": {
            "control": r.id,
            "standards": standards(r),
            "requirements": r.references.flat(),
            "status_id": comp_id,
            "status": comp,
        },
        "unmapped": {
            "check_severity": r.severity.as_str(),
            "check_status": r.status.as_str(),
            "catalog_digest": report.catalog.digest,
            "profile": report.catalog.profile.as_str(),
            "evidence": r.evidence.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        },
    });
    if let Some(reason) = &r.reason {
        ev["compliance"]["status_detail"] = json!(reason);
    }
    if !r.remediation.trim().is_empty() {
        ev["remediation"] = json!({ "desc": r.remediation });
    }
    if let Some(id) = identity {
        resource["region"] = json!(id.region);
        resource["cloud_partition"] = json!(id.partition);
        resource["owner"] = json!({ "account": { "uid": id.account_id } });
        if !id.tags.is_empty() {
            resource["labels"] = json!(id
                .tags
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>());
        }
        ev["cloud"] = json!({
            "provider": "AWS",
            "region": id.region,
            "account": { "uid": id.account_id, "type": "AWS Account", "type_id": 10 },
        });
        ev["finding_info"]["product_uid"] = json!(asff::product_arn(id));
    }
    ev["resources"] = json!([resource]);
    ev
}

/// One event per result, timed at the report's finish.
pub fn events(report: &Report, identity: Option<&Identity>) -> Vec<Value> {
    let time_ms = crate::time::parse_rfc3339(&report.finished_at)
        .map(crate::time::unix_ms)
        .unwrap_or(0);
    report
        .results
        .iter()
        .map(|r| event(r, report, identity, time_ms))
        .collect()
}

/// `--format ocsf`: the events as a JSON array.
pub fn render(events: &[Value]) -> String {
    let mut s = serde_json::to_string_pretty(events)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise events: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::asff::tests::{identity_ec2, report, result};

    #[test]
    fn compliance_finding_events() {
        let rep = report(vec![
            result("FILE-001", Status::Fail),
            result("FILE-002", Status::Pass),
            result("FILE-003", Status::Error),
        ]);
        let id = identity_ec2();
        let ev = events(&rep, Some(&id));
        let f = &ev[0];
        assert_eq!(f["class_uid"], 2003);
        assert_eq!(f["category_uid"], 2);
        assert_eq!(f["type_uid"], 200301);
        assert_eq!(f["time"], 1_795_365_319_140u64);
        assert_eq!(f["severity_id"], 4);
        assert_eq!(f["compliance"]["status_id"], 3);
        assert_eq!(f["compliance"]["control"], "FILE-001");
        assert_eq!(
            f["compliance"]["standards"],
            json!([
                "KISA Unix Server Vulnerability Assessment (2021)",
                "CIS Benchmark rhel9"
            ])
        );
        assert_eq!(
            f["finding_info"]["uid"],
            "jikimi/123456789012/ap-northeast-2/i-0123456789abcdef0/FILE-001"
        );
        assert_eq!(f["cloud"]["account"]["uid"], "123456789012");
        assert_eq!(
            f["resources"][0]["uid"],
            "arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123456789abcdef0"
        );
        assert!(f["remediation"]["desc"]
            .as_str()
            .unwrap()
            .contains("chmod 644"));
        assert_eq!(ev[1]["compliance"]["status_id"], 1);
        assert_eq!(ev[1]["severity_id"], 1);
        assert_eq!(ev[2]["compliance"]["status"], "Warning");
        let off = events(&rep, None);
        assert!(off[0].get("cloud").is_none());
        assert_eq!(off[0]["resources"][0]["uid"], "0123abcd");
    }
}
