//! AWS Security Finding Format (ASFF): one finding per (host, check), for Security Hub's
//! BatchImportFindings. A pure mapping from a [`Report`] and the host's [`Identity`];
//! `jikimi check --once --format asff` prints it and the Security Hub sink sends it.
//!
//! Choices a security team relies on:
//! - **Id** = `jikimi/{account}/{region}/{resource}/{check id}`. It contains no time and no
//!   version, and it must never change: Security Hub keys a finding's history, workflow state
//!   and notes on it, so a new Id format would orphan every existing finding.
//! - **Severity** and **Types** are sent in `FindingProviderFields` only, as AWS asks of
//!   finding providers (Security Hub fills the top-level fields from them, and leaves the
//!   top-level ones to the customer's own updates). A FAILED finding carries the check's
//!   severity; PASSED and NOT_AVAILABLE findings are INFORMATIONAL (as Security Hub's own
//!   controls do), so severity filters show open problems only. `Severity.Original` always
//!   keeps the check's severity.
//! - **FirstObservedAt / LastObservedAt**: when the current status was first and last seen
//!   (the Security Hub sink keeps them across runs; `--format asff` uses the report time).
//! - **SourceUrl / Remediation.Recommendation.Url**: the operator's page for the check
//!   (`securityhub.reference_url`, `{check_id}` replaced), else the CIS benchmark page of
//!   the check's first CIS reference; absent when neither exists.
//! - **Compliance.Status**: PASS → PASSED, FAIL → FAILED, NOT_APPLICABLE and ERROR →
//!   NOT_AVAILABLE with a StatusReason (`NOT_APPLICABLE` / `CHECK_ERROR`) carrying the reason.
//! - Every string is one line (whitespace runs collapse to a space), so it matches the
//!   service model's `.*\S.*` pattern in any regex dialect, and is cut on a character
//!   boundary to the documented limits (Title 256, Description 1024, remediation 512,
//!   ProductFields values 2048); a finding is kept under 240 KB by dropping evidence fields.

use crate::aws::identity::{Identity, ResourceKind};
use crate::findings::{CheckResult, Severity as CheckSeverity, Status};
use crate::report::Report;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: &str = "2018-10-08";
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 1024;
pub const REMEDIATION_MAX: usize = 512;
pub const FIELD_KEY_MAX: usize = 128;
pub const FIELD_VALUE_MAX: usize = 2048;
pub const FIELDS_MAX: usize = 50;
pub const REQUIREMENTS_MAX: usize = 32;
pub const TYPES_MAX: usize = 50;
pub const TAGS_MAX: usize = 50;
/// 240 KB a finding (kept a little under the service's limit).
pub const FINDING_MAX_BYTES: usize = 240_000;
/// Evidence lines carried in ProductFields.
pub const EVIDENCE_FIELDS_MAX: usize = 20;

const TYPE_PREFIX: &str = "Software and Configuration Checks/Industry and Regulatory Standards/";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub product_name: String,
    pub company_name: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub created_at: String,
    pub updated_at: String,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub finding_provider_fields: FindingProviderFields,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    pub compliance: Compliance,
    pub record_state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Severity {
    pub label: String,
    pub original: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingProviderFields {
    pub severity: Severity,
    pub types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Remediation {
    pub recommendation: Recommendation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    pub region: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "ResourceDetails::is_empty")]
    pub details: ResourceDetails,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_ec2_instance: Option<Ec2InstanceDetails>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, String>,
}

impl ResourceDetails {
    fn is_empty(&self) -> bool {
        self.aws_ec2_instance.is_none() && self.other.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ec2InstanceDetails {
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ip_v4_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launched_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Compliance {
    pub status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_requirements: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_reasons: Vec<StatusReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StatusReason {
    pub reason_code: String,
    pub description: String,
}

/// One line: control characters dropped, whitespace runs (newlines too) made one space.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// [`one_line`], then at most `max` characters (cut on a character boundary, ending in `…`
/// when cut).
pub fn clip(s: &str, max: usize) -> String {
    let s = one_line(s);
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

/// `clip`, or `None` when nothing printable is left (the model forbids blank strings).
fn clip_opt(s: &str, max: usize) -> Option<String> {
    Some(clip(s, max)).filter(|v| !v.is_empty())
}

/// The finding Id. **Never change this format** (see the module documentation).
pub fn finding_id(identity: &Identity, check_id: &str) -> String {
    format!(
        "jikimi/{}/{}/{}/{}",
        identity.account_id, identity.region, identity.resource_id, check_id
    )
}

pub fn product_arn(identity: &Identity) -> String {
    format!(
        "arn:{p}:securityhub:{r}:{a}:product/{a}/default",
        p = identity.partition,
        r = identity.region,
        a = identity.account_id
    )
}

pub fn severity_label(s: CheckSeverity) -> &'static str {
    match s {
        CheckSeverity::Info => "INFORMATIONAL",
        CheckSeverity::Low => "LOW",
        CheckSeverity::Medium => "MEDIUM",
        CheckSeverity::High => "HIGH",
        CheckSeverity::Critical => "CRITICAL",
    }
}

/// ASFF `Resource.Partition` spells the ISO partitions differently from ARNs.
fn asff_partition(p: &str) -> Option<String> {
    match p {
        "aws" | "aws-cn" | "aws-us-gov" => Some(p.to_string()),
        "aws-iso" => Some("aws-us-iso".into()),
        "aws-iso-b" => Some("aws-us-iso-b".into()),
        _ => None,
    }
}

/// CIS benchmark pages by the catalog's benchmark keys.
const CIS_PAGES: &[(&str, &str)] = &[
    (
        "al2023",
        "https://www.cisecurity.org/benchmark/amazon_linux",
    ),
    ("rhel", "https://www.cisecurity.org/benchmark/red_hat_linux"),
    (
        "ubuntu",
        "https://www.cisecurity.org/benchmark/ubuntu_linux",
    ),
    (
        "debian",
        "https://www.cisecurity.org/benchmark/debian_linux",
    ),
];

/// The reference page of a check: the operator's template (`{check_id}` replaced), else
/// the CIS benchmark page of its first CIS reference.
pub fn reference_url(r: &CheckResult, template: Option<&str>) -> Option<String> {
    if let Some(t) = template {
        return Some(t.replace("{check_id}", &form_encode(&r.id)));
    }
    r.references.cis.keys().find_map(|bench| {
        CIS_PAGES
            .iter()
            .find(|(k, _)| bench.starts_with(k))
            .map(|(_, u)| u.to_string())
    })
}

fn form_encode(s: &str) -> String {
    crate::aws::form_encode(s)
}

/// Standards-based finding types: one per standard the check references.
fn types(r: &CheckResult) -> Vec<String> {
    let mut t = Vec::new();
    if !r.references.cis.is_empty() {
        t.push(format!("{TYPE_PREFIX}CIS Host Hardening Benchmarks"));
    }
    if !r.references.kisa.is_empty() || !r.references.kisa2026.is_empty() {
        t.push(format!(
            "{TYPE_PREFIX}KISA Unix Server Vulnerability Assessment"
        ));
    }
    if t.is_empty() {
        t.push(format!("{TYPE_PREFIX}Host Hardening"));
    }
    t.truncate(TYPES_MAX);
    t
}

fn resource(identity: &Identity, report: &Report) -> Resource {
    // The instance's tags, then the asset classification's (prefixed) tags over them.
    let mut all = identity.tags.clone();
    if let Some(a) = &report.asset {
        all.extend(a.resource_tags());
    }
    let tags: BTreeMap<String, String> = all
        .iter()
        .filter_map(|(k, v)| Some((clip_opt(k, 128)?, clip_opt(v, 256)?)))
        .take(TAGS_MAX)
        .collect();
    let mut details = ResourceDetails::default();
    match (identity.kind, &identity.ec2) {
        (ResourceKind::Ec2Instance, Some(doc)) => {
            details.aws_ec2_instance = Some(Ec2InstanceDetails {
                instance_type: doc.instance_type.as_deref().and_then(|v| clip_opt(v, 64)),
                image_id: doc.image_id.as_deref().and_then(|v| clip_opt(v, 64)),
                ip_v4_addresses: doc
                    .private_ip
                    .as_deref()
                    .and_then(|v| clip_opt(v, 64))
                    .into_iter()
                    .collect(),
                launched_at: doc
                    .pending_time
                    .as_deref()
                    .and_then(crate::time::parse_rfc3339)
                    .map(crate::time::rfc3339),
            });
        }
        (ResourceKind::Ec2Instance, None) => {}
        _ => {
            let h = &report.host;
            for (k, v) in [
                ("Hostname", h.hostname.as_str()),
                ("MachineId", h.machine_id.as_str()),
                ("OsName", h.os_name.as_str()),
                ("Kernel", h.kernel.as_deref().unwrap_or("")),
            ] {
                if let Some(v) = clip_opt(v, 1024) {
                    details.other.insert(k.to_string(), v);
                }
            }
        }
    }
    Resource {
        kind: match identity.kind {
            ResourceKind::Ec2Instance => "AwsEc2Instance".into(),
            _ => "Other".into(),
        },
        id: identity.resource_arn(),
        partition: asff_partition(&identity.partition),
        region: identity.region.clone(),
        tags,
        details,
    }
}

fn product_fields(r: &CheckResult, report: &Report) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: &str| {
        if let Some(v) = clip_opt(v, FIELD_VALUE_MAX) {
            f.insert(clip(k, FIELD_KEY_MAX), v);
        }
    };
    put("jikimi/CheckId", &r.id);
    put("jikimi/Area", &r.area);
    put("jikimi/Status", r.status.as_str());
    put("jikimi/Severity", r.severity.as_str());
    put("jikimi/Profile", report.catalog.profile.as_str());
    put("jikimi/CatalogDigest", &report.catalog.digest);
    put("jikimi/AgentVersion", report.agent.version);
    put("jikimi/Hostname", &report.host.hostname);
    if let Some(reason) = &r.reason {
        put("jikimi/Reason", reason);
    }
    if let Some(w) = &r.waiver {
        put(
            "jikimi/WaiverState",
            if w.expired { "expired" } else { "valid" },
        );
        put("jikimi/WaiverExpires", &w.expires);
        put("jikimi/WaiverApprovedBy", &w.approved_by);
        put("jikimi/WaiverReason", &w.reason);
    }
    put("jikimi/EvidenceCount", &r.evidence.len().to_string());
    for (i, e) in r.evidence.iter().take(EVIDENCE_FIELDS_MAX).enumerate() {
        put(&format!("jikimi/Evidence/{i:02}"), &e.to_string());
    }
    debug_assert!(f.len() <= FIELDS_MAX);
    f
}

/// Maps one check result. `created_at` / `updated_at` are RFC 3339 (the Security Hub sink
/// supplies first-seen and last-change times; `--format asff` uses the report time), and so
/// are the observation times until the sink sets them. `url_template`: see
/// [`reference_url`].
pub fn finding(
    r: &CheckResult,
    report: &Report,
    identity: &Identity,
    created_at: &str,
    updated_at: &str,
    url_template: Option<&str>,
) -> Finding {
    let label = match r.status {
        // a waiver accepts the risk; it does not lower it
        Status::Fail | Status::Waived => severity_label(r.severity),
        _ => "INFORMATIONAL",
    };
    let severity = Severity {
        label: label.to_string(),
        original: r.severity.as_str().to_string(),
    };
    let types = types(r);
    let title = clip_opt(&r.title, TITLE_MAX).unwrap_or_else(|| r.id.clone());
    let mut description = one_line(&r.description);
    if description.is_empty() {
        description = title.clone();
    }
    if r.status != Status::Pass {
        // the waiver is in ProductFields and the workflow note, not in the description
        // (its "expiring in N days" would change the finding every day)
        let line = r.result_line();
        if !line.trim().is_empty() {
            description = format!("{description} Result: {line}");
        }
    }
    let (status, reasons) = match r.status {
        Status::Pass => ("PASSED", vec![]),
        // A waiver accepts the risk; it does not make the host compliant. The workflow
        // (SUPPRESSED) says it is waived: `crate::sinks::securityhub`.
        Status::Fail | Status::Waived => ("FAILED", vec![]),
        Status::NotApplicable => ("NOT_AVAILABLE", vec!["NOT_APPLICABLE"]),
        Status::Error => ("NOT_AVAILABLE", vec!["CHECK_ERROR"]),
    };
    let url = reference_url(r, url_template).filter(|u| u.len() <= 1024);
    let reason_text = r
        .reason
        .as_deref()
        .and_then(|t| clip_opt(t, DESCRIPTION_MAX))
        .unwrap_or_else(|| r.status.as_str().to_string());
    let mut f = Finding {
        schema_version: SCHEMA_VERSION.into(),
        id: finding_id(identity, &r.id),
        product_arn: product_arn(identity),
        product_name: "Jikimi".into(),
        company_name: "Jikimi".into(),
        generator_id: format!("jikimi/{}", r.id),
        aws_account_id: identity.account_id.clone(),
        created_at: created_at.to_string(),
        updated_at: updated_at.to_string(),
        first_observed_at: updated_at.to_string(),
        last_observed_at: updated_at.to_string(),
        finding_provider_fields: FindingProviderFields { severity, types },
        source_url: url.clone(),
        title,
        description: clip(&description, DESCRIPTION_MAX),
        remediation: clip_opt(&r.remediation, REMEDIATION_MAX).map(|text| Remediation {
            recommendation: Recommendation { text, url },
        }),
        product_fields: product_fields(r, report),
        resources: vec![resource(identity, report)],
        compliance: Compliance {
            status: status.into(),
            related_requirements: r
                .references
                .flat()
                .iter()
                .filter_map(|x| clip_opt(x, 256))
                .take(REQUIREMENTS_MAX)
                .collect(),
            status_reasons: reasons
                .into_iter()
                .map(|code| StatusReason {
                    reason_code: code.into(),
                    description: reason_text.clone(),
                })
                .collect(),
        },
        record_state: "ACTIVE".into(),
    };
    fit(&mut f, FINDING_MAX_BYTES);
    f
}

/// Serialised size of a finding.
pub fn size(f: &Finding) -> usize {
    serde_json::to_vec(f).map(|v| v.len()).unwrap_or(usize::MAX)
}

/// Drops evidence fields (last first), then shortens the description, until the finding
/// fits in `max` bytes.
fn fit(f: &mut Finding, max: usize) {
    while size(f) > max {
        let last_evidence = f
            .product_fields
            .keys()
            .rev()
            .find(|k| k.starts_with("jikimi/Evidence/"))
            .cloned();
        match last_evidence {
            Some(k) => {
                f.product_fields.remove(&k);
            }
            None => {
                let n = f.description.chars().count();
                if n <= 16 {
                    break;
                }
                f.description = clip(&f.description, n / 2);
            }
        }
    }
}

/// Every result of a report, stamped with the report's finish time.
pub fn findings(report: &Report, identity: &Identity) -> Vec<Finding> {
    findings_with(report, identity, None)
}

/// [`findings`] with the operator's reference page template.
pub fn findings_with(
    report: &Report,
    identity: &Identity,
    url_template: Option<&str>,
) -> Vec<Finding> {
    report
        .results
        .iter()
        .map(|r| {
            finding(
                r,
                report,
                identity,
                &report.finished_at,
                &report.finished_at,
                url_template,
            )
        })
        .collect()
}

/// `--format asff`: the findings as a JSON array (the `Findings` of a BatchImportFindings
/// request).
pub fn render(findings: &[Finding]) -> String {
    let mut s = serde_json::to_string_pretty(findings)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise findings: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::aws::imds::IdentityDocument;
    use crate::findings::{Evidence, References, Summary};
    use crate::report::{AgentInfo, CatalogInfo, HostInfo};

    pub fn identity_ec2() -> Identity {
        Identity {
            partition: "aws".into(),
            account_id: "123456789012".into(),
            region: "ap-northeast-2".into(),
            kind: ResourceKind::Ec2Instance,
            resource_id: "i-0123456789abcdef0".into(),
            ec2: Some(IdentityDocument {
                account_id: "123456789012".into(),
                region: "ap-northeast-2".into(),
                instance_id: "i-0123456789abcdef0".into(),
                instance_type: Some("t3.micro".into()),
                image_id: Some("ami-0abc".into()),
                private_ip: Some("10.0.0.5".into()),
                pending_time: Some("2026-01-02T03:04:05Z".into()),
                ..Default::default()
            }),
            tags: BTreeMap::from([
                ("Name".to_string(), "web-1".to_string()),
                ("Empty".to_string(), " ".to_string()),
            ]),
        }
    }

    pub fn result(id: &str, status: Status) -> CheckResult {
        CheckResult {
            id: id.into(),
            title: "/etc/passwd is owned by root".into(),
            area: "files".into(),
            severity: CheckSeverity::High,
            status,
            reason: match status {
                Status::Pass => None,
                _ => Some("mode 0666 is more permissive than 0644".into()),
            },
            evidence: vec![Evidence::at(
                "regular file root:root 0666",
                "/etc/passwd",
                None,
            )],
            references: References {
                kisa: vec!["U-07".into()],
                cis: [("rhel9".to_string(), "7.1.1".to_string())].into(),
                cce: [("rhel9".to_string(), "CCE-83931-6".to_string())].into(),
                ..Default::default()
            },
            remediation: "chown root:root /etc/passwd\nchmod 644 /etc/passwd".into(),
            description: "/etc/passwd maps users to UIDs.".into(),
            duration_ms: 0.1,
            waiver: None,
        }
    }

    pub fn report(results: Vec<CheckResult>) -> Report {
        Report {
            schema_version: 1,
            agent: AgentInfo {
                name: "jikimi",
                version: "0.1.0",
            },
            host: HostInfo {
                hostname: "web-1".into(),
                machine_id: "0123abcd".into(),
                os_id: "debian".into(),
                os_version: "12".into(),
                os_name: "Debian GNU/Linux 12 (bookworm)".into(),
                kernel: Some("6.1.0".into()),
                root: "/".into(),
                live: true,
            },
            catalog: CatalogInfo {
                digest: "ab".repeat(32),
                profile: crate::catalog::Profile::Kisa,
                checks: results.len(),
            },
            started_at: "2026-11-22T16:35:19.123Z".into(),
            finished_at: "2026-11-22T16:35:19.140Z".into(),
            duration_ms: 17.0,
            summary: Summary::of(&results),
            results,
            sinks: Default::default(),
            asset: None,
        }
    }

    #[test]
    fn finding_id_format_is_frozen() {
        // Changing this string orphans every finding already in Security Hub.
        assert_eq!(
            finding_id(&identity_ec2(), "FILE-001"),
            "jikimi/123456789012/ap-northeast-2/i-0123456789abcdef0/FILE-001"
        );
        assert_eq!(
            product_arn(&identity_ec2()),
            "arn:aws:securityhub:ap-northeast-2:123456789012:product/123456789012/default"
        );
    }

    #[test]
    fn failed_finding_fields() {
        let rep = report(vec![result("FILE-001", Status::Fail)]);
        let f = &findings(&rep, &identity_ec2())[0];
        let v = serde_json::to_value(f).unwrap();
        assert_eq!(v["SchemaVersion"], "2018-10-08");
        assert_eq!(v["GeneratorId"], "jikimi/FILE-001");
        assert_eq!(v["AwsAccountId"], "123456789012");
        assert_eq!(v["CreatedAt"], v["UpdatedAt"]);
        assert_eq!(v["FirstObservedAt"], v["UpdatedAt"]);
        assert_eq!(v["LastObservedAt"], v["UpdatedAt"]);
        assert!(
            v.get("Severity").is_none() && v.get("Types").is_none(),
            "provider fields only"
        );
        assert_eq!(v["FindingProviderFields"]["Severity"]["Label"], "HIGH");
        assert_eq!(
            v["SourceUrl"],
            "https://www.cisecurity.org/benchmark/red_hat_linux"
        );
        assert_eq!(v["Remediation"]["Recommendation"]["Url"], v["SourceUrl"]);
        assert_eq!(v["FindingProviderFields"]["Severity"]["Original"], "high");
        assert_eq!(v["Compliance"]["Status"], "FAILED");
        assert_eq!(
            v["Compliance"]["RelatedRequirements"],
            serde_json::json!(["KISA U-07", "CIS rhel9 7.1.1", "CCE-83931-6"])
        );
        assert!(v["Compliance"].get("StatusReasons").is_none());
        assert_eq!(
            v["FindingProviderFields"]["Types"],
            serde_json::json!([
                "Software and Configuration Checks/Industry and Regulatory Standards/CIS Host Hardening Benchmarks",
                "Software and Configuration Checks/Industry and Regulatory Standards/KISA Unix Server Vulnerability Assessment"
            ])
        );
        assert_eq!(
            v["Remediation"]["Recommendation"]["Text"],
            "chown root:root /etc/passwd chmod 644 /etc/passwd"
        );
        assert!(v["Description"]
            .as_str()
            .unwrap()
            .ends_with("Result: mode 0666 is more permissive than 0644"));
        let res = &v["Resources"][0];
        assert_eq!(res["Type"], "AwsEc2Instance");
        assert_eq!(
            res["Id"],
            "arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123456789abcdef0"
        );
        assert_eq!(res["Partition"], "aws");
        assert_eq!(
            res["Tags"],
            serde_json::json!({"Name": "web-1"}),
            "blank tag dropped"
        );
        assert_eq!(res["Details"]["AwsEc2Instance"]["Type"], "t3.micro");
        assert_eq!(
            res["Details"]["AwsEc2Instance"]["IpV4Addresses"],
            serde_json::json!(["10.0.0.5"])
        );
        assert_eq!(
            res["Details"]["AwsEc2Instance"]["LaunchedAt"],
            "2026-01-02T03:04:05.000Z"
        );
        let pf = &v["ProductFields"];
        assert_eq!(pf["jikimi/CatalogDigest"], "ab".repeat(32));
        assert_eq!(pf["jikimi/AgentVersion"], "0.1.0");
        assert_eq!(
            pf["jikimi/Evidence/00"],
            "regular file root:root 0666 (/etc/passwd)"
        );
        assert_eq!(v["RecordState"], "ACTIVE");
    }

    #[test]
    fn waived_finding_stays_failed_at_its_severity_with_the_waiver_in_product_fields() {
        let mut rep = report(vec![result("FILE-001", Status::Fail)]);
        let plain = findings(&rep, &identity_ec2())[0].clone();
        let w = crate::waivers::Waiver {
            check: "FILE-001".into(),
            hosts: vec![],
            tags: Default::default(),
            reason: "legacy".into(),
            approved_by: "kim".into(),
            expires: crate::time::parse_date("2026-12-10").unwrap(),
            origin: "t:1".into(),
        };
        let ws = crate::waivers::Waivers { list: vec![w] };
        let day = |d: &str| crate::time::parse_date(d).unwrap();
        crate::waivers::apply(&mut rep, &ws, day("2026-11-01"), None);
        let f = findings(&rep, &identity_ec2())[0].clone();
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["Compliance"]["Status"], "FAILED");
        assert_eq!(v["FindingProviderFields"]["Severity"]["Label"], "HIGH");
        assert_eq!(v["ProductFields"]["jikimi/Status"], "WAIVED");
        assert_eq!(v["ProductFields"]["jikimi/WaiverExpires"], "2026-12-10");
        assert_eq!(v["ProductFields"]["jikimi/WaiverApprovedBy"], "kim");
        assert_eq!(v["ProductFields"]["jikimi/WaiverState"], "valid");
        assert_eq!(
            f.description, plain.description,
            "no waiver text in the description"
        );
        // entering the last 14 days changes nothing in the finding
        crate::waivers::apply(&mut rep, &ws, day("2026-12-01"), None);
        assert_eq!(findings(&rep, &identity_ec2())[0], f);
    }

    #[test]
    fn statuses_map_to_compliance() {
        for (st, want, code) in [
            (Status::Pass, "PASSED", None),
            (
                Status::NotApplicable,
                "NOT_AVAILABLE",
                Some("NOT_APPLICABLE"),
            ),
            (Status::Error, "NOT_AVAILABLE", Some("CHECK_ERROR")),
        ] {
            let rep = report(vec![result("X-1", st)]);
            let v = serde_json::to_value(&findings(&rep, &identity_ec2())[0]).unwrap();
            assert_eq!(v["Compliance"]["Status"], want);
            let sev = &v["FindingProviderFields"]["Severity"];
            assert_eq!(sev["Label"], "INFORMATIONAL", "{st:?}");
            assert_eq!(sev["Original"], "high");
            match code {
                None => assert!(v["Compliance"].get("StatusReasons").is_none()),
                Some(c) => {
                    assert_eq!(v["Compliance"]["StatusReasons"][0]["ReasonCode"], c);
                    assert_eq!(
                        v["Compliance"]["StatusReasons"][0]["Description"],
                        "mode 0666 is more permissive than 0644"
                    );
                }
            }
        }
    }

    #[test]
    fn other_resource_off_ec2() {
        let id = Identity {
            kind: ResourceKind::ManagedInstance,
            resource_id: "mi-0123456789abcdef0".into(),
            ec2: None,
            tags: BTreeMap::new(),
            ..identity_ec2()
        };
        let rep = report(vec![result("X-1", Status::Pass)]);
        let v = serde_json::to_value(&findings(&rep, &id)[0]).unwrap();
        let res = &v["Resources"][0];
        assert_eq!(res["Type"], "Other");
        assert_eq!(
            res["Id"],
            "arn:aws:ssm:ap-northeast-2:123456789012:managed-instance/mi-0123456789abcdef0"
        );
        assert_eq!(res["Details"]["Other"]["Hostname"], "web-1");
        assert!(res.get("Tags").is_none());
    }

    #[test]
    fn limits_cut_on_char_boundaries() {
        let mut r = result("X-1", Status::Fail);
        r.title = "가".repeat(300);
        r.description = "설명 ".repeat(600);
        r.remediation = "é".repeat(600);
        r.evidence = (0..40)
            .map(|i| Evidence::msg(format!("{i} {}", "ü".repeat(3000))))
            .collect();
        r.references.kisa = (1..=40).map(|i| format!("U-{i:02}")).collect();
        let rep = report(vec![r]);
        let f = &findings(&rep, &identity_ec2())[0];
        assert_eq!(f.title.chars().count(), TITLE_MAX);
        assert!(f.title.ends_with('…'));
        assert!(f.description.chars().count() <= DESCRIPTION_MAX);
        assert_eq!(
            f.remediation
                .as_ref()
                .unwrap()
                .recommendation
                .text
                .chars()
                .count(),
            REMEDIATION_MAX
        );
        assert!(f.product_fields.len() <= FIELDS_MAX);
        assert!(f.product_fields.iter().all(
            |(k, v)| k.chars().count() <= FIELD_KEY_MAX && v.chars().count() <= FIELD_VALUE_MAX
        ));
        assert_eq!(f.compliance.related_requirements.len(), REQUIREMENTS_MAX);
        assert!(size(f) <= FINDING_MAX_BYTES);
        // The size guard drops evidence first.
        let mut g = f.clone();
        let before = g.product_fields.len();
        fit(&mut g, size(f) - 1);
        assert!(g.product_fields.len() < before);
        assert!(size(&g) < size(f));
    }

    #[test]
    fn reference_pages() {
        let mut r = result("X-1", Status::Fail);
        assert_eq!(
            reference_url(&r, Some("https://wiki.example.com/jikimi/{check_id}")).as_deref(),
            Some("https://wiki.example.com/jikimi/X-1")
        );
        r.references.cis = [("ubuntu2404".to_string(), "1.1".to_string())].into();
        assert_eq!(
            reference_url(&r, None).as_deref(),
            Some("https://www.cisecurity.org/benchmark/ubuntu_linux")
        );
        r.references.cis.clear();
        assert_eq!(reference_url(&r, None), None);
        let rep = report(vec![r]);
        let v = serde_json::to_value(&findings(&rep, &identity_ec2())[0]).unwrap();
        assert!(v.get("SourceUrl").is_none());
        assert!(v["Remediation"]["Recommendation"].get("Url").is_none());
    }

    #[test]
    fn blank_strings_never_appear() {
        let mut r = result("X-1", Status::Pass);
        r.title = " \n ".into();
        r.description = "".into();
        r.remediation = "\t".into();
        let rep = report(vec![r]);
        let f = &findings(&rep, &identity_ec2())[0];
        assert_eq!(f.title, "X-1");
        assert_eq!(f.description, "X-1");
        assert!(f.remediation.is_none());
        assert_eq!(clip("a\n\n b\u{7}c", 10), "a b c");
    }
}
