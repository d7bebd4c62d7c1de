//! Findings: what one check concluded on one host. Everything a sink needs is here, so sinks
//! never reach back into facts or the catalog.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a failure of the check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// Weight in the score: a critical failure costs more than eight low ones.
    pub fn weight(self) -> u32 {
        match self {
            Severity::Info => 0,
            Severity::Low => 1,
            Severity::Medium => 3,
            Severity::High => 6,
            Severity::Critical => 10,
        }
    }
}

/// A severity name that is none of the five levels.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{given}` (expected info, low, medium, high or critical)")]
pub struct UnknownSeverity {
    /// The text as given (command line, waiver file...).
    pub given: String,
}
crate::error_text::debug_as_display!(UnknownSeverity);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, UnknownSeverity> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "info" | "informational" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => {
                return Err(UnknownSeverity {
                    given: s.to_string(),
                })
            }
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The five outcomes of a check. Only `Pass`, `Fail` and `Waived` are verdicts about the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pass,
    Fail,
    /// The check does not apply here (service not installed, live-only fact in an image,
    /// other platform). Never counted as passed.
    NotApplicable,
    /// The facts could not be collected (unreadable, malformed, too large...).
    Error,
    /// The check failed, and a valid waiver (`crate::waivers`) accepts the risk: out of the
    /// exit code and the score, counted on its own. Only a `Fail` ever becomes `Waived`.
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotApplicable => "NOT_APPLICABLE",
            Status::Error => "ERROR",
            Status::Waived => "WAIVED",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One observation supporting a verdict: what was found and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Human-readable statement, e.g. `PermitRootLogin yes`.
    pub message: String,
    /// Host path of the file it came from, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    /// 1-based line in `file`, if known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u32>,
}

impl Evidence {
    pub fn msg(message: impl Into<String>) -> Self {
        Evidence {
            message: message.into(),
            file: None,
            line: None,
        }
    }
    pub fn at(message: impl Into<String>, file: &str, line: Option<u32>) -> Self {
        Evidence {
            message: message.into(),
            file: Some(file.to_string()),
            line,
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "{} ({file}:{line})", self.message),
            (Some(file), None) => write!(f, "{} ({file})", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// References to the standards a check implements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct References {
    /// KISA Unix items, 2021 edition (`U-01`..`U-72`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kisa: Vec<String>,
    /// KISA Unix items, 2026 edition (`U-01`..`U-67`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kisa2026: Vec<String>,
    /// CIS benchmark sections by benchmark (`rhel9`, `al2023`, `ubuntu2404`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub cis: std::collections::BTreeMap<String, String>,
    /// CCE identifiers by platform (CCEs exist for RHEL only: `rhel9`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub cce: std::collections::BTreeMap<String, String>,
}

impl References {
    /// Flat list such as `KISA U-01`, `KISA-2026 U-01`, `CIS rhel9 5.1.20`, `CCE-90800-4`.
    pub fn flat(&self) -> Vec<String> {
        let mut v = Vec::new();
        v.extend(self.kisa.iter().map(|k| format!("KISA {k}")));
        v.extend(self.kisa2026.iter().map(|k| format!("KISA-2026 {k}")));
        v.extend(self.cis.iter().map(|(b, s)| format!("CIS {b} {s}")));
        v.extend(self.cce.values().cloned());
        v
    }
}

/// The result of one check on one host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    /// Catalog area (file), e.g. `sshd`, `accounts`.
    pub area: String,
    pub severity: Severity,
    pub status: Status,
    /// Why NOT_APPLICABLE or ERROR (and a one-line summary for FAIL).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    pub evidence: Vec<Evidence>,
    pub references: References,
    pub remediation: String,
    pub description: String,
    /// Milliseconds spent evaluating (facts shared with other checks are counted once, by
    /// the first check that needed them).
    pub duration_ms: f64,
    /// The waiver behind a `Waived` status, or the expired one of a `Fail`
    /// (`crate::waivers::apply`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub waiver: Option<WaiverNote>,
}

/// The waiver applied to a result: who accepted the risk, why, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverNote {
    pub reason: String,
    pub approved_by: String,
    /// Last day (UTC) the waiver holds, `YYYY-MM-DD`.
    pub expires: String,
    /// Days from the scan's day to `expires` (negative once expired).
    pub days_left: i64,
    /// Valid, and expires within [`crate::waivers::EXPIRING_DAYS`] days.
    pub expiring: bool,
    /// Past its expiry: the check is `Fail` again.
    pub expired: bool,
    /// Where the waiver is declared (`file:line`).
    pub origin: String,
}

impl WaiverNote {
    /// One line: `waived until 2027-03-31 by alice: bastion needs forwarding`, with
    /// `(expiring in 9 days)` or `waiver expired on 2027-03-31`.
    pub fn line(&self) -> String {
        if self.expired {
            format!(
                "waiver expired on {} (approved by {}: {})",
                self.expires, self.approved_by, self.reason
            )
        } else {
            format!(
                "waived until {}{} by {}: {}",
                self.expires,
                if self.expiring {
                    format!(" (expiring in {} day(s))", self.days_left)
                } else {
                    String::new()
                },
                self.approved_by,
                self.reason
            )
        }
    }
}

impl CheckResult {
    /// The reason, else the first evidence; without the waiver (stable from day to day,
    /// for payloads whose changes cost a re-import).
    pub fn result_line(&self) -> String {
        match &self.reason {
            Some(r) => r.clone(),
            None => self
                .evidence
                .first()
                .map(|e| e.to_string())
                .unwrap_or_default(),
        }
    }

    /// One line for a table: the waiver (when there is one), then the reason, else the first
    /// evidence.
    pub fn summary_line(&self) -> String {
        let base = self.result_line();
        match &self.waiver {
            Some(w) if base.is_empty() => w.line(),
            Some(w) => format!("{} — {base}", w.line()),
            None => base,
        }
    }
}

/// Counts by status and severity, and the score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub not_applicable: usize,
    pub errors: usize,
    /// Failed checks a valid waiver accepts: neither in `failed`, the exit code nor the score.
    #[serde(default)]
    pub waived: usize,
    /// Waivers that expire within 14 days (their checks are among `waived`).
    #[serde(default)]
    pub waivers_expiring: usize,
    /// Failed checks whose waiver has expired (they are among `failed`).
    #[serde(default)]
    pub waivers_expired: usize,
    /// Failed checks by severity.
    pub failed_by_severity: std::collections::BTreeMap<Severity, usize>,
    /// 0..100: passed weight over passed + failed weight (severity-weighted); 100 when nothing
    /// was judged.
    pub score: f64,
}

impl Summary {
    pub fn of(results: &[CheckResult]) -> Summary {
        let mut s = Summary {
            total: results.len(),
            ..Default::default()
        };
        let (mut ok_w, mut all_w) = (0u64, 0u64);
        for r in results {
            let w = r.severity.weight() as u64;
            match r.status {
                Status::Pass => {
                    s.passed += 1;
                    ok_w += w;
                    all_w += w;
                }
                Status::Fail => {
                    s.failed += 1;
                    all_w += w;
                    *s.failed_by_severity.entry(r.severity).or_default() += 1;
                }
                Status::NotApplicable => s.not_applicable += 1,
                Status::Error => s.errors += 1,
                Status::Waived => s.waived += 1,
            }
            if let Some(w) = &r.waiver {
                s.waivers_expiring += usize::from(w.expiring && r.status == Status::Waived);
                s.waivers_expired += usize::from(w.expired && r.status == Status::Fail);
            }
        }
        s.score = if all_w == 0 {
            100.0
        } else {
            ((ok_w as f64 / all_w as f64) * 1000.0).round() / 10.0
        };
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(sev: Severity, status: Status) -> CheckResult {
        CheckResult {
            id: "X".into(),
            title: "t".into(),
            area: "a".into(),
            severity: sev,
            status,
            reason: None,
            evidence: vec![],
            references: References::default(),
            remediation: String::new(),
            description: String::new(),
            duration_ms: 0.0,
            waiver: None,
        }
    }

    #[test]
    fn summary_counts_and_weights() {
        let s = Summary::of(&[
            r(Severity::High, Status::Pass),
            r(Severity::High, Status::Fail),
            r(Severity::Low, Status::NotApplicable),
            r(Severity::Critical, Status::Error),
            r(Severity::Critical, Status::Waived),
        ]);
        assert_eq!(s.waived, 1, "counted on its own");
        assert_eq!(
            (s.passed, s.failed, s.not_applicable, s.errors),
            (1, 1, 1, 1)
        );
        assert_eq!(s.score, 50.0);
        assert_eq!(s.failed_by_severity[&Severity::High], 1);
        assert_eq!(Summary::of(&[]).score, 100.0);
    }

    #[test]
    fn severity_parses_and_orders() {
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert!("urgent".parse::<Severity>().is_err());
        assert!(Severity::Critical > Severity::Info);
    }
}
