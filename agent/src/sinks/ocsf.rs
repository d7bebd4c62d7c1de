//! OCSF 1.1 Compliance Finding events (class_uid 2003, category Findings), one per check,
//! for Amazon Security Lake custom sources and OCSF-based pipelines: `--format ocsf`.
//!
//! The event carries the same facts as the ASFF finding ([`super::asff`]): the finding uid is
//! the ASFF Id (so both views of a check on a host join), `compliance` holds the control
//! (check id), the standards and requirements it implements and the status, `resources[0]`
//! the host, `remediation.desc` the fix. Severity follows the ASFF rule: a failed check
//! carries its severity, anything else is Informational. Without an AWS identity (off EC2,
//! nothing configured) `cloud` is left out and the resource is named by the machine id.
//!
//! The event is a typed struct ([`Event`]), as the ASFF finding is: a misspelt member is a
//! compile error, not a silently different event. `testdata/ocsf-golden.json` pins the output
//! byte for byte.

use super::asff;
use crate::aws::identity::{Identity, ResourceKind};
use crate::findings::{CheckResult, Severity, Status};
use crate::report::Report;
use serde::Serialize;

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

/// One OCSF Compliance Finding. Members are declared in the order of their names: the
/// output is sorted as it was when the events were built as `serde_json::Value` maps
/// (`testdata/ocsf-golden.json` holds it).
#[derive(Debug, Serialize)]
pub struct Event {
    pub activity_id: u32,
    pub activity_name: &'static str,
    pub category_name: &'static str,
    pub category_uid: u32,
    pub class_name: &'static str,
    pub class_uid: u32,
    /// Only with an AWS identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    pub compliance: Compliance,
    pub finding_info: FindingInfo,
    pub message: String,
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// The host: always one.
    pub resources: [Resource; 1],
    pub severity: &'static str,
    pub severity_id: u32,
    pub status: &'static str,
    pub status_id: u32,
    /// Epoch milliseconds (the report's finish).
    pub time: u64,
    pub type_name: &'static str,
    pub type_uid: u32,
    pub unmapped: Unmapped,
}

#[derive(Debug, Serialize)]
pub struct Cloud {
    pub account: Account,
    pub provider: &'static str,
    pub region: String,
}

#[derive(Debug, Serialize)]
pub struct Account {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub type_id: u32,
    pub uid: String,
}

#[derive(Debug, Serialize)]
pub struct Compliance {
    /// The check id.
    pub control: String,
    pub requirements: Vec<String>,
    pub standards: Vec<String>,
    pub status: &'static str,
    /// The reason of a result other than PASS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    pub status_id: u32,
}

#[derive(Debug, Serialize)]
pub struct FindingInfo {
    pub analytic: Analytic,
    pub desc: String,
    /// The Security Hub product ARN (with an AWS identity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_uid: Option<String>,
    pub title: String,
    pub types: Vec<String>,
    /// The ASFF finding Id (or `jikimi/MACHINE_ID/CHECK_ID` without an identity).
    pub uid: String,
}

#[derive(Debug, Serialize)]
pub struct Analytic {
    pub category: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub type_id: u32,
    pub uid: String,
}

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub product: Product,
    pub profiles: Vec<&'static str>,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Product {
    pub name: &'static str,
    pub vendor_name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Remediation {
    pub desc: String,
}

#[derive(Debug, Serialize)]
pub struct Resource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_partition: Option<String>,
    pub data: ResourceData,
    /// The instance's tags as `key:value` (with an identity that has tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: String,
}

#[derive(Debug, Serialize)]
pub struct ResourceData {
    pub kernel: Option<String>,
    pub machine_id: String,
    pub os_id: String,
    pub os_name: String,
    pub os_version: String,
    pub scan_root: String,
}

#[derive(Debug, Serialize)]
pub struct Owner {
    pub account: OwnerAccount,
}

#[derive(Debug, Serialize)]
pub struct OwnerAccount {
    pub uid: String,
}

#[derive(Debug, Serialize)]
pub struct Unmapped {
    pub catalog_digest: String,
    pub check_severity: &'static str,
    pub check_status: &'static str,
    pub evidence: Vec<String>,
    pub profile: &'static str,
}

fn event(r: &CheckResult, report: &Report, identity: Option<&Identity>, time_ms: u64) -> Event {
    let (severity_id, severity) = match r.status {
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
    let resource = Resource {
        cloud_partition: identity.map(|id| id.partition.clone()),
        data: ResourceData {
            kernel: h.kernel.clone(),
            machine_id: h.machine_id.clone(),
            os_id: h.os_id.clone(),
            os_name: h.os_name.clone(),
            os_version: h.os_version.clone(),
            scan_root: h.root.clone(),
        },
        labels: identity
            .filter(|id| !id.tags.is_empty())
            .map(|id| id.tags.iter().map(|(k, v)| format!("{k}:{v}")).collect()),
        name: h.hostname.clone(),
        owner: identity.map(|id| Owner {
            account: OwnerAccount {
                uid: id.account_id.clone(),
            },
        }),
        region: identity.map(|id| id.region.clone()),
        kind: match identity.map(|i| i.kind) {
            Some(ResourceKind::Ec2Instance) => "AwsEc2Instance",
            _ => "Other",
        },
        uid: identity
            .map(|i| i.resource_arn())
            .unwrap_or_else(|| h.machine_id.clone()),
    };
    Event {
        activity_id: ACTIVITY_ID,
        activity_name: "Create",
        category_name: "Findings",
        category_uid: CATEGORY_UID,
        class_name: "Compliance Finding",
        class_uid: CLASS_UID,
        cloud: identity.map(|id| Cloud {
            account: Account {
                kind: "AWS Account",
                type_id: 10,
                uid: id.account_id.clone(),
            },
            provider: "AWS",
            region: id.region.clone(),
        }),
        compliance: Compliance {
            control: r.id.clone(),
            requirements: r.references.flat(),
            standards: standards(r),
            status: comp,
            status_detail: r.reason.clone(),
            status_id: comp_id,
        },
        finding_info: FindingInfo {
            analytic: Analytic {
                category: r.area.clone(),
                name: r.title.clone(),
                kind: "Rule",
                type_id: 1,
                uid: r.id.clone(),
            },
            desc: r.description.clone(),
            product_uid: identity.map(asff::product_arn),
            title: r.title.clone(),
            types: vec![format!("Software and Configuration Checks/{}", r.area)],
            uid,
        },
        message: r.title.clone(),
        metadata: Metadata {
            product: Product {
                name: "Jikimi",
                vendor_name: "Jikimi",
                version: report.agent.version,
            },
            profiles: if identity.is_some() {
                vec!["cloud"]
            } else {
                Vec::new()
            },
            version: OCSF_VERSION,
        },
        remediation: (!r.remediation.trim().is_empty()).then(|| Remediation {
            desc: r.remediation.clone(),
        }),
        resources: [resource],
        severity,
        severity_id,
        status,
        status_id,
        time: time_ms,
        type_name: "Compliance Finding: Create",
        type_uid: CLASS_UID * 100 + ACTIVITY_ID,
        unmapped: Unmapped {
            catalog_digest: report.catalog.digest.clone(),
            check_severity: r.severity.as_str(),
            check_status: r.status.as_str(),
            evidence: r.evidence.iter().map(|e| e.to_string()).collect(),
            profile: report.catalog.profile.as_str(),
        },
    }
}

/// One event per result, timed at the report's finish.
pub fn events(report: &Report, identity: Option<&Identity>) -> Vec<Event> {
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
pub fn render(events: &[Event]) -> String {
    let mut s = serde_json::to_string_pretty(events)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise events: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::asff::tests::{identity_ec2, report, result};
    use serde_json::json;

    #[test]
    fn compliance_finding_events() {
        let rep = report(vec![
            result("FILE-001", Status::Fail),
            result("FILE-002", Status::Pass),
            result("FILE-003", Status::Error),
        ]);
        let id = identity_ec2();
        let ev = serde_json::to_value(events(&rep, Some(&id))).unwrap();
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
        let off = serde_json::to_value(events(&rep, None)).unwrap();
        assert!(off[0].get("cloud").is_none());
        assert_eq!(off[0]["resources"][0]["uid"], "0123abcd");
    }

    /// A report with every status, a check without remediation, one with KISA 2026 and no
    /// CIS reference, one with none at all, and odd text: what the golden file was made from.
    pub(crate) fn golden_report() -> Report {
        let mut waived = result("FILE-004", Status::Waived);
        waived.severity = Severity::Critical;
        let mut na = result("FILE-005", Status::NotApplicable);
        na.remediation = "  ".into();
        na.references = Default::default();
        let mut k26 = result("KISA-U-01", Status::Fail);
        k26.severity = Severity::Low;
        k26.references = crate::findings::References {
            kisa2026: vec!["U-01".into()],
            ..Default::default()
        };
        k26.title = "quote \" backslash \\ tab\t ctrl \u{1b} 한글 \u{2028}".into();
        k26.evidence.clear();
        k26.reason = None;
        let mut rep = report(vec![
            result("FILE-001", Status::Fail),
            result("FILE-002", Status::Pass),
            result("FILE-003", Status::Error),
            waived,
            na,
            k26,
        ]);
        rep.host.kernel = None;
        rep
    }

    /// `--format ocsf` must stay byte for byte what it was when the events were built with
    /// `json!` (the regression test of the move to typed structs): with an EC2 identity, a
    /// managed instance without tags, and no identity.
    #[test]
    fn output_is_byte_identical_to_the_golden_file() {
        let rep = golden_report();
        let mut mi = identity_ec2();
        mi.kind = ResourceKind::ManagedInstance;
        mi.resource_id = "mi-0123456789abcdef0".into();
        mi.partition = "aws-cn".into();
        mi.ec2 = None;
        mi.tags.clear();
        let mut out = String::new();
        for id in [Some(identity_ec2()), Some(mi), None] {
            out.push_str(&render(&events(&rep, id.as_ref())));
        }
        let golden = include_str!("testdata/ocsf-golden.json");
        assert!(
            out == golden,
            "OCSF output differs from src/sinks/testdata/ocsf-golden.json"
        );
    }
}
