//! The language of everything a person reads: the table, the per-host and fleet reports, the
//! mail, the Slack and webhook text, and the check text in Security Hub findings.
//!
//! One [`Lang`] (`[report] lang` in the configuration, `--lang` on the command line) selects
//! one [`Texts`] table: every UI string lives here, typed, so a renderer asks `lang.t().fixed`
//! instead of comparing languages itself, and the compiler refuses a table with a missing
//! string. Check text (title, description, rationale, remediation) comes from the catalog:
//! [`localize_catalog`] puts the Korean text of each check (`title_ko`, ...) in place of the
//! English once, right after the catalog is loaded, so every result, finding and report built
//! from it carries the chosen language without any renderer knowing. A Korean field that is
//! empty keeps the English one (the catalog lint makes the Korean text mandatory).
//!
//! Machine fields stay English whatever the language: JSON keys and status codes, ASFF
//! enumerations, metric names and labels, check ids, evidence (it quotes the host).

use crate::catalog::{Check, Localized};
use crate::findings::{Severity, Status};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The language of human-facing output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    /// The message table of this language.
    pub fn t(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Ko => &KO,
        }
    }
}

/// A language other than en or ko.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{given}` (expected en or ko)")]
pub struct UnknownLang {
    pub given: String,
}
crate::error_text::debug_as_display!(UnknownLang);

impl std::str::FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, UnknownLang> {
        match s {
            "en" => Ok(Lang::En),
            "ko" => Ok(Lang::Ko),
            _ => Err(UnknownLang {
                given: s.to_string(),
            }),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// `[report]` in the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Language of the table, reports, mail, alerts and finding text (default en).
    #[serde(default)]
    pub lang: Lang,
}

/// Which KISA numbering a report follows (the items themselves: `kisa::items`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Edition {
    /// 2021 guide, U-01..U-72 (the one most audit checklists still use).
    #[default]
    K2021,
    /// 2026 guide, U-01..U-67.
    K2026,
}

impl Edition {
    pub fn label(self) -> &'static str {
        match self {
            Edition::K2021 => "2021",
            Edition::K2026 => "2026",
        }
    }
}

/// `--kisa-edition` named neither 2021 nor 2026.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown KISA edition `{given}` (expected 2021 or 2026)")]
pub struct UnknownEdition {
    pub given: String,
}
crate::error_text::debug_as_display!(UnknownEdition);

impl std::str::FromStr for Edition {
    type Err = UnknownEdition;
    fn from_str(s: &str) -> Result<Self, UnknownEdition> {
        match s {
            "2021" => Ok(Edition::K2021),
            "2026" => Ok(Edition::K2026),
            _ => Err(UnknownEdition {
                given: s.to_string(),
            }),
        }
    }
}

/// `--lang` and `--kisa-edition`, shared by `check`, `report` and `fleet report`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LangArgs {
    /// Language of human-facing output: en or ko (default `[report] lang`, else en; ko with
    /// --format kisa or kisa-html).
    #[arg(long, value_name = "LANG")]
    pub lang: Option<Lang>,
    /// KISA numbering of --format kisa and kisa-html: 2021 (U-01..U-72) or 2026 (U-01..U-67).
    #[arg(long, value_name = "YEAR", default_value = "2021")]
    pub kisa_edition: Edition,
}

impl LangArgs {
    /// The language: `--lang`, else Korean for the KISA form, else the configuration's.
    pub fn resolve(&self, configured: Lang, kisa_form: bool) -> Lang {
        match (self.lang, kisa_form) {
            (Some(l), _) => l,
            (None, true) => Lang::Ko,
            (None, false) => configured,
        }
    }
}

/// Every UI string of one language. Functions format the strings with numbers in them.
pub struct Texts {
    // statuses and severities (human words; JSON keeps PASS/FAIL/... and critical/high/...)
    pub pass: &'static str,
    pub fail: &'static str,
    pub not_applicable: &'static str,
    pub error: &'static str,
    pub waived: &'static str,
    pub sev_critical: &'static str,
    pub sev_high: &'static str,
    pub sev_medium: &'static str,
    pub sev_low: &'static str,
    pub sev_info: &'static str,
    /// A count of a severity: `2 high` / `높음 2`.
    pub sev_count: fn(usize, &str) -> String,
    // the table
    pub unknown_host: &'static str,
    /// version, `host (os) [root R]`, checks, profile, digest
    pub table_header: fn(&str, &str, usize, &str, &str) -> String,
    pub table_summary: fn(usize, usize, usize, usize, usize, f64) -> String,
    pub failed_by_severity: &'static str,
    pub waived_line: fn(usize, usize, usize) -> String,
    pub score: &'static str,
    // the per-host report
    pub report_title: &'static str,
    pub report_kicker: &'static str,
    pub newly_failed: &'static str,
    pub newly_failed_note: &'static str,
    pub fixed: &'static str,
    pub fixed_note: &'static str,
    pub still_failing: &'static str,
    pub errors: &'static str,
    pub errors_note: &'static str,
    pub waived_section: &'static str,
    pub waived_note: &'static str,
    pub none: &'static str,
    pub reason: &'static str,
    pub evidence: &'static str,
    pub remediation: &'static str,
    pub more: fn(usize) -> String,
    pub failing_since: &'static str,
    pub host: &'static str,
    pub no_live_facts: &'static str,
    pub no_facts: &'static str,
    pub score_trend: &'static str,
    pub no_baseline: &'static str,
    pub scans: fn(usize) -> String,
    pub n_failed: fn(usize) -> String,
    pub n_passed: fn(usize) -> String,
    pub n_not_applicable: fn(usize) -> String,
    pub n_errors: fn(usize) -> String,
    pub since: &'static str,
    pub fs_header: [&'static str; 5],
    pub trend_header: [&'static str; 4],
    pub footer: fn(&str, &str, &str, &str) -> String,
    pub unreadable: fn(usize) -> String,
    pub tile_score: &'static str,
    pub tile_failing: &'static str,
    // mail
    /// `prefix[env]`, host, failed, score
    pub mail_subject: fn(&str, &str, usize, f64) -> String,
    pub mail_heading: &'static str,
    pub mail_summary: fn(usize, usize, usize, usize, usize, f64) -> String,
    pub mail_failed: &'static str,
    pub mail_errors: &'static str,
    pub mail_delivery: &'static str,
    // alerts
    pub alert_new: fn(usize) -> String,
    pub alert_fixed: fn(usize) -> String,
    pub alert_waived: fn(usize) -> String,
    pub alert_waiver_expired: fn(usize) -> String,
    pub alert_waiver_expiring: fn(usize) -> String,
    /// Slack marks: failed, waiver expired, waiver expiring, waived, fixed
    pub alert_marks: [&'static str; 5],
    pub alert_failing: fn(usize) -> String,
    // the KISA form
    pub kisa_title: &'static str,
    pub kisa_fleet_title: &'static str,
    pub kisa_columns: [&'static str; 6],
    pub kisa_fleet_columns: [&'static str; 7],
    pub kisa_summary: &'static str,
    pub kisa_manual_note: &'static str,
    /// The fleet report (`crate::fleet::render`).
    pub fleet: FleetTexts,
    /// The host facts block of the per-host report.
    pub facts: FactTexts,
}

/// The per-host report's host facts: labels, and the words inside the values.
pub struct FactTexts {
    /// CPU, Load, Memory, Uptime, Processes, Sockets
    pub labels: [&'static str; 6],
    pub cpu_busy: fn(f64) -> String,
    /// total, available, used %
    pub memory: fn(&str, &str, f64) -> String,
    /// used, total
    pub swap: fn(&str, &str) -> String,
    pub zombies: fn(usize, usize) -> String,
    pub listening_local: fn(usize) -> String,
    pub listening_exposed: fn(usize, &str) -> String,
    /// minutes, hours, days
    pub uptime: [fn(u64) -> String; 3],
    /// score caption of a trend bar; `first score → last score (n scans shown)`
    pub trend_point: fn(&str, f64) -> String,
    pub trend_shown: fn(usize) -> String,
}

/// The fleet report's strings.
pub struct FleetTexts {
    pub title: fn(&str) -> String,
    pub range: fn(&str, &str, &str) -> String,
    pub fleet: &'static str,
    pub fleet_score: &'static str,
    /// hosts, reporting, silent, silent-after period, new
    pub hosts_line: fn(usize, usize, usize, &str, usize) -> String,
    pub failing: &'static str,
    pub waived: &'static str,
    pub passing_line: fn(usize, usize) -> String,
    pub silent_hosts: &'static str,
    pub last_seen: &'static str,
    pub archived: &'static str,
    pub top_failing: &'static str,
    pub worst_hosts: &'static str,
    pub by: fn(&str) -> String,
    pub notes: &'static str,
    pub findings_read: fn(usize) -> String,
    /// window, score, failing, silent, hosts
    pub subject: fn(&str, f64, usize, usize, usize) -> String,
    pub trend: fn(f64, f64) -> String,
    pub no_trend: &'static str,
    pub n_hosts: fn(usize) -> String,
    pub host_cols: [&'static str; 6],
    pub top_cols: [&'static str; 5],
    pub tag_cols: [&'static str; 6],
    pub tile_hosts: &'static str,
    pub tile_hosts_note: fn(usize, usize) -> String,
    pub tile_silent: &'static str,
    pub tile_silent_note: fn(&str) -> String,
    pub resource: &'static str,
    pub silent_label: &'static str,
    pub new_label: &'static str,
}

impl Texts {
    pub fn status(&self, s: Status) -> &'static str {
        match s {
            Status::Pass => self.pass,
            Status::Fail => self.fail,
            Status::NotApplicable => self.not_applicable,
            Status::Error => self.error,
            Status::Waived => self.waived,
        }
    }

    pub fn severity(&self, s: Severity) -> &'static str {
        match s {
            Severity::Critical => self.sev_critical,
            Severity::High => self.sev_high,
            Severity::Medium => self.sev_medium,
            Severity::Low => self.sev_low,
            Severity::Info => self.sev_info,
        }
    }
}

pub static EN: Texts = Texts {
    pass: "PASS",
    fail: "FAIL",
    not_applicable: "N/A",
    error: "ERROR",
    waived: "WAIVED",
    sev_critical: "critical",
    sev_high: "high",
    sev_medium: "medium",
    sev_low: "low",
    sev_info: "info",
    sev_count: |n, sev| format!("{n} {sev}"),
    unknown_host: "unknown host",
    table_header: |ver, place, n, profile, digest| {
        format!("jikimi {ver} on {place}: {n} checks, profile {profile}, catalog {digest}")
    },
    table_summary: |p, f, na, e, total, ms| {
        format!("{p} passed, {f} failed, {na} not applicable, {e} error(s) of {total} checks in {ms:.0} ms")
    },
    failed_by_severity: "failed by severity",
    waived_line: |w, soon, exp| {
        format!("{w} waived (out of the exit code and score), {soon} expiring within 14 days, {exp} waiver(s) expired")
    },
    score: "score",
    report_title: "Jikimi report",
    report_kicker: "Jikimi security report",
    newly_failed: "Newly failed",
    newly_failed_note: "fail now, did not in the baseline",
    fixed: "Fixed",
    fixed_note: "failed in the baseline, pass now",
    still_failing: "Still failing",
    errors: "Errors",
    errors_note: "could not be evaluated",
    waived_section: "Waived",
    waived_note: "accepted risks, out of the score; expiring waivers first",
    none: "None.",
    reason: "Reason",
    evidence: "Evidence",
    remediation: "Remediation",
    more: |n| format!("… {n} more"),
    failing_since: "Failing since",
    host: "Host",
    no_live_facts: "No live facts (an image scan).",
    no_facts: "No facts recorded.",
    score_trend: "Score trend",
    no_baseline: "No earlier scan to compare with: every failure is listed as still failing.",
    scans: |n| format!("{n} scan{}", if n == 1 { "" } else { "s" }),
    n_failed: |n| format!("{n} failed"),
    n_passed: |n| format!("{n} passed"),
    n_not_applicable: |n| format!("{n} not applicable"),
    n_errors: |n| format!("{n} errors"),
    since: "since",
    fs_header: ["Filesystem", "Type", "Size", "Used", "Inodes used"],
    trend_header: ["Scan", "Score", "Failed", "Errors"],
    footer: |ver, profile, digest, at| {
        format!("Jikimi {ver} · profile {profile} · catalog {digest} · generated {at}")
    },
    unreadable: |n| format!("{n} history record(s) could not be read and were skipped."),
    tile_score: "score",
    tile_failing: "failing",
    mail_subject: |prefix, host, failed, score| {
        format!("{prefix} {host}: {failed} failed, score {score:.1}")
    },
    mail_heading: "Jikimi report for",
    mail_summary: |total, p, f, na, e, score| {
        format!("Summary: {total} checks, {p} passed, {f} failed, {na} not applicable, {e} errors; score {score:.1}/100")
    },
    mail_failed: "Failed checks (most severe first):",
    mail_errors: "Checks that could not be evaluated:",
    mail_delivery: "Delivery:",
    alert_new: |n| format!("{n} new failure{}", if n == 1 { "" } else { "s" }),
    alert_fixed: |n| format!("{n} fixed"),
    alert_waived: |n| format!("{n} waived"),
    alert_waiver_expired: |n| format!("{n} waiver expired"),
    alert_waiver_expiring: |n| format!("{n} waiver expiring"),
    alert_marks: [
        "FAILED",
        "WAIVER EXPIRED",
        "WAIVER EXPIRING",
        "WAIVED",
        "FIXED",
    ],
    alert_failing: |n| format!("{n} failing at or above the threshold"),
    kisa_title: "KISA Unix assessment",
    kisa_fleet_title: "KISA Unix assessment: fleet",
    kisa_columns: [
        "Item",
        "Title",
        "Importance",
        "Verdict",
        "Checks",
        "Evidence",
    ],
    kisa_fleet_columns: [
        "Item",
        "Title",
        "Importance",
        "Good",
        "Vulnerable",
        "N/A",
        "Vulnerable hosts",
    ],
    kisa_summary: "Summary",
    kisa_manual_note: "a process, not host state: assessed by interview and documents",
    facts: FactTexts {
        labels: ["CPU", "Load", "Memory", "Uptime", "Processes", "Sockets"],
        cpu_busy: |b| format!(", {b:.1}% busy since boot"),
        memory: |t, a, u| format!("{t} total, {a} available ({u:.0}% used)"),
        swap: |u, t| format!("; swap {u} of {t} used"),
        zombies: |p, z| format!("{p} ({z} zombie)"),
        listening_local: |l| format!("{l} listening, none beyond loopback"),
        listening_exposed: |l, x| format!("{l} listening; beyond loopback: {x}"),
        uptime: [
            |m| format!("{m} min"),
            |h| format!("{h} h"),
            |d| format!("{d} days"),
        ],
        trend_point: |at, s| format!("{at} score {s:.1}"),
        trend_shown: |n| format!("{n} scan{} shown", if n == 1 { "" } else { "s" }),
    },
    fleet: FleetTexts {
        title: |w| format!("Jikimi fleet report, last {w}"),
        range: |a, b, scope| format!("{a} to {b} · {scope}"),
        fleet: "Fleet",
        fleet_score: "Fleet score",
        hosts_line: |h, rep, sil, per, new| {
            format!("Hosts: {h} ({rep} reporting, {sil} silent for more than {per}, {new} new)")
        },
        failing: "Failing",
        waived: "Waived",
        passing_line: |p, na| format!("Passing: {p} · not available: {na}"),
        silent_hosts: "Silent hosts",
        last_seen: "last seen",
        archived: "No longer checked (archived)",
        top_failing: "Top failing checks",
        worst_hosts: "Worst hosts",
        by: |k| format!("By {k}"),
        notes: "Notes",
        findings_read: |n| format!("{n} findings read."),
        subject: |w, score, failing, silent, hosts| {
            format!("Jikimi fleet report ({w}): score {score:.1}, {failing} failing, {silent} of {hosts} hosts silent")
        },
        trend: |prev, d| format!("{d:+.1} against {prev:.1} at the window's start"),
        no_trend: "no earlier findings to compare",
        n_hosts: |n| format!("{n} host{}", if n == 1 { "" } else { "s" }),
        host_cols: ["Host", "Score", "Failing", "Critical", "High", "Last seen"],
        top_cols: ["Check", "Severity", "Hosts", "Share", "Title"],
        tag_cols: ["Value", "Hosts", "Failing", "Critical", "High", "Score"],
        tile_hosts: "Hosts",
        tile_hosts_note: |rep, new| format!("{rep} reporting, {new} new"),
        tile_silent: "Silent",
        tile_silent_note: |p| format!("no report for {p}"),
        resource: "Resource",
        silent_label: "Silent",
        new_label: "New",
    },
};

pub static KO: Texts = Texts {
    pass: "양호",
    fail: "취약",
    not_applicable: "N/A",
    error: "오류",
    waived: "예외",
    sev_critical: "긴급",
    sev_high: "높음",
    sev_medium: "보통",
    sev_low: "낮음",
    sev_info: "정보",
    sev_count: |n, sev| format!("{sev} {n}"),
    unknown_host: "알 수 없는 호스트",
    table_header: |ver, place, n, profile, digest| {
        format!("jikimi {ver} · {place}: 점검 {n}개, 프로파일 {profile}, 카탈로그 {digest}")
    },
    table_summary: |p, f, na, e, total, ms| {
        format!("점검 {total}개 중 양호 {p}, 취약 {f}, 해당 없음 {na}, 오류 {e} ({ms:.0} ms)")
    },
    failed_by_severity: "심각도별 취약",
    waived_line: |w, soon, exp| {
        format!("예외 {w}개 (종료 코드와 점수에서 제외), 14일 이내 만료 예정 {soon}개, 만료된 예외 {exp}개")
    },
    score: "점수",
    report_title: "Jikimi 보고서",
    report_kicker: "Jikimi 보안 점검 보고서",
    newly_failed: "신규 취약",
    newly_failed_note: "기준 점검에서는 양호, 지금은 취약",
    fixed: "조치 완료",
    fixed_note: "기준 점검에서는 취약, 지금은 양호",
    still_failing: "계속 취약",
    errors: "오류",
    errors_note: "점검할 수 없었음",
    waived_section: "예외 승인",
    waived_note: "승인된 위험, 점수에서 제외; 만료 임박 순",
    none: "없음.",
    reason: "사유",
    evidence: "근거",
    remediation: "조치 방법",
    more: |n| format!("… 외 {n}건"),
    failing_since: "취약 시작",
    host: "호스트",
    no_live_facts: "실시간 정보 없음 (이미지 점검).",
    no_facts: "기록된 호스트 정보 없음.",
    score_trend: "점수 추이",
    no_baseline: "비교할 이전 점검이 없어 모든 취약 항목을 계속 취약으로 표시합니다.",
    scans: |n| format!("점검 {n}회"),
    n_failed: |n| format!("취약 {n}"),
    n_passed: |n| format!("양호 {n}"),
    n_not_applicable: |n| format!("해당 없음 {n}"),
    n_errors: |n| format!("오류 {n}"),
    since: "이후",
    fs_header: ["파일시스템", "유형", "크기", "사용률", "inode 사용률"],
    trend_header: ["점검 시각", "점수", "취약", "오류"],
    footer: |ver, profile, digest, at| {
        format!("Jikimi {ver} · 프로파일 {profile} · 카탈로그 {digest} · 생성 {at}")
    },
    unreadable: |n| format!("읽을 수 없는 점검 기록 {n}건을 건너뛰었습니다."),
    tile_score: "점수",
    tile_failing: "취약",
    mail_subject: |prefix, host, failed, score| {
        format!("{prefix} {host}: 취약 {failed}건, 점수 {score:.1}")
    },
    mail_heading: "Jikimi 보고서:",
    mail_summary: |total, p, f, na, e, score| {
        format!("요약: 점검 {total}개, 양호 {p}, 취약 {f}, 해당 없음 {na}, 오류 {e}; 점수 {score:.1}/100")
    },
    mail_failed: "취약 점검 항목 (심각도 높은 순):",
    mail_errors: "점검할 수 없었던 항목:",
    mail_delivery: "전송:",
    alert_new: |n| format!("신규 취약 {n}건"),
    alert_fixed: |n| format!("조치 완료 {n}건"),
    alert_waived: |n| format!("예외 승인 {n}건"),
    alert_waiver_expired: |n| format!("예외 만료 {n}건"),
    alert_waiver_expiring: |n| format!("예외 만료 임박 {n}건"),
    alert_marks: [
        "취약",
        "예외 만료",
        "예외 만료 임박",
        "예외 승인",
        "조치 완료",
    ],
    alert_failing: |n| format!("기준 이상 취약 {n}건"),
    kisa_title: "KISA 주요정보통신기반시설 Unix 서버 취약점 점검 결과",
    kisa_fleet_title: "KISA 주요정보통신기반시설 Unix 서버 취약점 점검 결과: 전체 서버",
    kisa_columns: [
        "항목 코드",
        "점검 항목",
        "중요도",
        "결과",
        "점검 내역",
        "근거",
    ],
    kisa_fleet_columns: [
        "항목 코드",
        "점검 항목",
        "중요도",
        "양호",
        "취약",
        "N/A",
        "취약 서버",
    ],
    kisa_summary: "요약",
    kisa_manual_note: "호스트 상태가 아닌 관리 절차: 담당자 인터뷰와 문서로 점검",
    facts: FactTexts {
        labels: ["CPU", "부하", "메모리", "가동 시간", "프로세스", "소켓"],
        cpu_busy: |b| format!(", 부팅 이후 사용률 {b:.1}%"),
        memory: |t, a, u| format!("전체 {t}, 가용 {a} (사용률 {u:.0}%)"),
        swap: |u, t| format!("; 스왑 {t} 중 {u} 사용"),
        zombies: |p, z| format!("{p} (좀비 {z})"),
        listening_local: |l| format!("수신 대기 {l}, 루프백 외 없음"),
        listening_exposed: |l, x| format!("수신 대기 {l}; 루프백 외: {x}"),
        uptime: [
            |m| format!("{m}분"),
            |h| format!("{h}시간"),
            |d| format!("{d}일"),
        ],
        trend_point: |at, s| format!("{at} 점수 {s:.1}"),
        trend_shown: |n| format!("점검 {n}회 표시"),
    },
    fleet: FleetTexts {
        title: |w| format!("Jikimi 전체 서버 보고서, 최근 {w}"),
        range: |a, b, scope| format!("{a} ~ {b} · {scope}"),
        fleet: "전체 현황",
        fleet_score: "전체 점수",
        hosts_line: |h, rep, sil, per, new| {
            format!("서버: {h}대 (보고 {rep}대, {per} 넘게 보고 없음 {sil}대, 신규 {new}대)")
        },
        failing: "취약",
        waived: "예외",
        passing_line: |p, na| format!("양호: {p} · 확인 불가: {na}"),
        silent_hosts: "보고 없는 서버",
        last_seen: "마지막 보고",
        archived: "더 이상 점검하지 않음 (보관됨)",
        top_failing: "취약 서버가 많은 점검 항목",
        worst_hosts: "점수가 낮은 서버",
        by: |k| format!("{k}별"),
        notes: "참고",
        findings_read: |n| format!("결과 {n}건을 읽었습니다."),
        subject: |w, score, failing, silent, hosts| {
            format!("Jikimi 전체 서버 보고서 ({w}): 점수 {score:.1}, 취약 {failing}건, 서버 {hosts}대 중 {silent}대 보고 없음")
        },
        trend: |prev, d| format!("기간 시작 시점 {prev:.1} 대비 {d:+.1}"),
        no_trend: "비교할 이전 결과 없음",
        n_hosts: |n| format!("서버 {n}대"),
        host_cols: ["서버", "점수", "취약", "긴급", "높음", "마지막 보고"],
        top_cols: ["점검 항목", "심각도", "서버", "비율", "제목"],
        tag_cols: ["값", "서버", "취약", "긴급", "높음", "점수"],
        tile_hosts: "서버",
        tile_hosts_note: |rep, new| format!("보고 {rep}대, 신규 {new}대"),
        tile_silent: "보고 없음",
        tile_silent_note: |p| format!("{p} 동안 보고 없음"),
        resource: "리소스",
        silent_label: "보고 없음",
        new_label: "신규 취약",
    },
};

/// The text of one check in one language: the Korean field when present, else the English.
pub fn pick<'a>(english: &'a str, korean: &'a str, lang: Lang) -> &'a str {
    match lang {
        Lang::Ko if !korean.trim().is_empty() => korean,
        _ => english,
    }
}

/// Puts each check's text of `lang` in its `title`, `description`, `rationale` and
/// `remediation` (per field; an empty Korean field keeps the English). English: unchanged.
pub fn localize_catalog(checks: &mut [Check], lang: Lang) {
    if lang == Lang::En {
        return;
    }
    for c in checks {
        let ko = &c.ko;
        let t = pick(&c.title, &ko.title, lang).to_string();
        let d = pick(&c.description, &ko.description, lang).to_string();
        let r = pick(&c.rationale, &ko.rationale, lang).to_string();
        let m = pick(&c.remediation, &ko.remediation, lang).to_string();
        (c.title, c.description, c.rationale, c.remediation) = (t, d, r, m);
    }
}

/// Check text by id in both languages, for outputs built from stored results (the history,
/// Security Hub findings) rather than from a fresh scan.
#[derive(Debug, Clone, Default)]
pub struct CheckTexts(BTreeMap<String, (Localized, Localized)>);

impl CheckTexts {
    /// From an unlocalized catalog.
    pub fn new(checks: &[Check]) -> CheckTexts {
        CheckTexts(
            checks
                .iter()
                .map(|c| {
                    let en = Localized {
                        title: c.title.clone(),
                        description: c.description.clone(),
                        rationale: c.rationale.clone(),
                        remediation: c.remediation.clone(),
                    };
                    (c.id.clone(), (en, c.ko.clone()))
                })
                .collect(),
        )
    }

    /// The title of a check in `lang`; `None` for a check the catalog does not know (the
    /// caller keeps the stored text).
    pub fn title(&self, id: &str, lang: Lang) -> Option<&str> {
        self.0
            .get(id)
            .map(|(en, ko)| pick(&en.title, &ko.title, lang))
    }

    pub fn remediation(&self, id: &str, lang: Lang) -> Option<&str> {
        self.0
            .get(id)
            .map(|(en, ko)| pick(&en.remediation, &ko.remediation, lang))
    }
}

/// Titles and remediations of stored scans (`crate::history`) in `lang`, by check id; checks
/// the catalog does not know keep their stored text.
pub fn localize_records(records: &mut [crate::history::Record], texts: &CheckTexts, lang: Lang) {
    for r in records {
        for c in &mut r.checks {
            if let Some(t) = texts.title(&c.id, lang) {
                c.title = t.to_string();
            }
            if let (Some(m), Some(rm)) = (texts.remediation(&c.id, lang), c.remediation.as_mut()) {
                *rm = m.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hangul(s: &str) -> bool {
        s.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c))
    }

    #[test]
    fn parses_and_rejects_languages() {
        assert_eq!("ko".parse::<Lang>(), Ok(Lang::Ko));
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert!("KO"
            .parse::<Lang>()
            .unwrap_err()
            .to_string()
            .contains("expected en or ko"));
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::default(), Lang::En);
        for l in Lang::ALL {
            assert_eq!(l.as_str().parse::<Lang>(), Ok(l));
        }
    }

    #[test]
    fn tables_differ_and_korean_is_korean() {
        let (en, ko) = (Lang::En.t(), Lang::Ko.t());
        for s in [
            Status::Pass,
            Status::Fail,
            Status::NotApplicable,
            Status::Error,
            Status::Waived,
        ] {
            assert!(!en.status(s).is_empty() && !ko.status(s).is_empty());
        }
        assert_eq!(ko.status(Status::Pass), "양호");
        assert_eq!(ko.status(Status::Fail), "취약");
        assert_eq!(en.status(Status::Fail), "FAIL");
        for s in Severity::ALL {
            assert!(hangul(ko.severity(s)), "{s}");
            assert_eq!(en.severity(s), s.as_str());
        }
        let words = [
            ko.newly_failed,
            ko.fixed,
            ko.still_failing,
            ko.errors,
            ko.waived_section,
            ko.remediation,
            ko.evidence,
            ko.host,
            ko.score_trend,
            ko.report_title,
            ko.kisa_title,
        ];
        for w in words {
            assert!(hangul(w), "{w}");
        }
        assert!(hangul(&(ko.table_summary)(1, 2, 3, 4, 10, 5.0)));
        assert_eq!(
            (en.table_summary)(1, 2, 3, 4, 10, 5.0),
            "1 passed, 2 failed, 3 not applicable, 4 error(s) of 10 checks in 5 ms"
        );
        assert_eq!((en.scans)(1), "1 scan");
        assert_eq!((en.scans)(2), "2 scans");
        assert_eq!((ko.scans)(2), "점검 2회");
    }

    fn check(title_ko: &str) -> Check {
        let src = crate::catalog::SourceFile {
            name: "t.toml".into(),
            text: format!(
                "area = 't'\n[[check]]\nid = 'T-001'\ntitle = 'English title'\nseverity = 'low'\n\
                 description = 'English description'\nremediation = 'English fix'\n{title_ko}\
                 expect = {{ probe = 'file', path = '/etc/passwd', exists = true }}\n"
            ),
            pre: None,
        };
        crate::catalog::load(&[src], crate::catalog::Profile::Kisa)
            .unwrap()
            .checks
            .remove(0)
    }

    #[test]
    fn localizes_per_field_with_english_fallback() {
        let c = check("title_ko = '한국어 제목'\nremediation_ko = '한국어 조치'\n");
        let texts = CheckTexts::new(std::slice::from_ref(&c));
        let mut v = vec![c.clone()];
        localize_catalog(&mut v, Lang::En);
        assert_eq!(v[0].title, "English title");
        localize_catalog(&mut v, Lang::Ko);
        assert_eq!(v[0].title, "한국어 제목");
        assert_eq!(v[0].remediation, "한국어 조치");
        assert_eq!(v[0].description, "English description");
        assert_eq!(texts.title("T-001", Lang::Ko), Some("한국어 제목"));
        assert_eq!(texts.title("T-001", Lang::En), Some("English title"));
        assert_eq!(texts.remediation("T-001", Lang::Ko), Some("한국어 조치"));
        assert_eq!(texts.title("X-1", Lang::Ko), None);
    }

    #[test]
    fn config_section_rejects_unknown_language_with_line() {
        let e = crate::config::Config::parse("[agent]\n\n[report]\nlang = \"fr\"\n", "/etc/j.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/etc/j.toml:4:"), "{e}");
        assert!(e.contains("expected en or ko"), "{e}");
        let c = crate::config::Config::parse("[report]\nlang = \"ko\"\n", "x").unwrap();
        assert_eq!(c.report.lang, Lang::Ko);
        assert_eq!(crate::config::Config::default().report.lang, Lang::En);
    }
}
