//! `jikimi report`: one host's scan history over a period (default the last 24 hours) as
//! Markdown, HTML or JSON. Pure: history records in, a document out.
//!
//! The latest scan of the period is compared with a *baseline*: the newest scan before the
//! period began, else the oldest scan in it.
//! - newly failed: fails now, did not fail in the baseline (passed, was not applicable,
//!   errored or was not evaluated);
//! - fixed: failed in the baseline, passes now;
//! - still failing: fails in both (every failure when there is no baseline yet);
//! - errors: could not be evaluated in the latest scan.
//!
//! Lists are ordered by severity (critical first), then id. The HTML is one self-contained
//! file for mail clients: inline styles and layout tables only, no scripts, no images, no
//! external resources.

use crate::findings::{Severity, Status, Summary};
use crate::history::{CheckRecord, FactsSummary, Record, RecordHost};
use crate::i18n::{Lang, Texts};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// A period that is not a positive number with a unit.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid period `{given}`: use a number with s, m, h, d or w (like 24h or 7d)")]
pub struct InvalidPeriod {
    pub given: String,
}
crate::error_text::debug_as_display!(InvalidPeriod);

/// Why no report can be built from the history.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("no scan history yet: run `jikimi check` first")]
    NoHistory,
    #[error("no scan in the last {since}: the newest record is from {newest}")]
    NoScanInPeriod { since: String, newest: String },
}
crate::error_text::debug_as_display!(ReportError);

/// Parses `24h`, `7d`, `90m`, `2w`, `3600s`.
pub fn parse_since(s: &str) -> Result<Duration, InvalidPeriod> {
    let t = s.trim();
    let bad = || InvalidPeriod {
        given: s.to_string(),
    };
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mul = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    if n == 0 {
        return Err(bad());
    }
    n.checked_mul(mul).map(Duration::from_secs).ok_or_else(bad)
}

/// The report document (`--format json` prints it as is; schema_version 1).
#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub schema_version: u32,
    pub generated_at: String,
    pub period: Period,
    pub host: RecordHost,
    pub agent_version: String,
    pub catalog_digest: String,
    pub profile: String,
    /// Scans in the period.
    pub scans: usize,
    /// History files that could not be read.
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable_records: usize,
    /// The scan the latest one is compared with; absent for a first scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Point>,
    pub latest: Point,
    /// Counts of the latest scan.
    pub summary: Summary,
    pub newly_failed: Vec<Item>,
    pub fixed: Vec<Item>,
    pub still_failing: Vec<Item>,
    pub errors: Vec<Item>,
    /// Failing checks a valid waiver accepts (`crate::waivers`), expiring ones first.
    #[serde(default)]
    pub waived: Vec<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<FactsSummary>,
    /// The baseline (when before the period) and every scan of the period, oldest first.
    pub trend: Vec<Point>,
    /// Language of the Markdown and HTML (`crate::i18n`); JSON keys stay English.
    #[serde(skip)]
    pub lang: Lang,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct Period {
    /// As asked, e.g. `24h`.
    pub since: String,
    pub from: String,
    pub to: String,
}

/// One scan in the trend.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub at: String,
    pub score: f64,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
}

/// One check in a list.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Status in the latest scan (`NOT_EVALUATED` is never used: fixed items pass).
    pub status: Status,
    /// Status in the baseline, when there is one and the check was in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Status>,
    /// `KISA U-01`, `CIS rhel9 5.1.20`, ...
    pub references: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub evidence_total: usize,
    /// First scan of the uninterrupted run of failures that reaches the latest scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    /// The waiver of a waived check, or the expired one of a failing check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<crate::findings::WaiverNote>,
}

fn point(r: &Record) -> Point {
    Point {
        at: r.finished_at.clone(),
        score: r.summary.score,
        passed: r.summary.passed,
        failed: r.summary.failed,
        errors: r.summary.errors,
    }
}

fn item(c: &CheckRecord, previous: Option<Status>) -> Item {
    Item {
        id: c.id.clone(),
        title: c.title.clone(),
        severity: c.severity,
        status: c.status,
        previous,
        references: c.references.as_ref().map(|r| r.flat()).unwrap_or_default(),
        remediation: c.remediation.clone(),
        // the waiver (or its expiry) first: it is why the check is listed where it is
        reason: match (&c.waiver, &c.reason) {
            (Some(w), Some(r)) => Some(format!("{} — {r}", w.line())),
            (Some(w), None) => Some(w.line()),
            (None, r) => r.clone(),
        },
        evidence: c.evidence.clone(),
        evidence_total: c.evidence_total,
        failing_since: None,
        waiver: c.waiver.clone(),
    }
}

fn sort(v: &mut [Item]) {
    v.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
}

/// Builds the report of the host of the newest record over `since` before `now`.
/// `records` are oldest first (as [`crate::history::load`] returns them).
pub fn build(
    records: &[Record],
    unreadable: usize,
    since: Duration,
    since_text: &str,
    now: SystemTime,
) -> Result<Document, ReportError> {
    let newest = records.last().ok_or(ReportError::NoHistory)?;
    // one subject: the host (and scan root) of the newest record
    let subject: Vec<&Record> = records
        .iter()
        .filter(|r| r.host.root == newest.host.root && r.host.machine_id == newest.host.machine_id)
        .collect();
    let from = now.checked_sub(since).unwrap_or(SystemTime::UNIX_EPOCH);
    let split = subject.partition_point(|r| r.time() < from);
    let (before, within) = subject.split_at(split);
    let Some(latest) = within.last() else {
        return Err(ReportError::NoScanInPeriod {
            since: since_text.to_string(),
            newest: newest.finished_at.clone(),
        });
    };
    let baseline = before
        .last()
        .or(within.first().filter(|_| within.len() > 1));
    let base: BTreeMap<&str, &CheckRecord> = baseline
        .map(|b| b.checks.iter().map(|c| (c.id.as_str(), c)).collect())
        .unwrap_or_default();
    let (mut newly, mut fixed, mut still, mut errors) = (vec![], vec![], vec![], vec![]);
    let mut waived = vec![];
    for c in &latest.checks {
        let prev = base.get(c.id.as_str()).map(|p| p.status);
        match c.status {
            Status::Fail => {
                let mut it = item(c, prev);
                it.failing_since = failing_since(&subject, &c.id);
                if baseline.is_some() && prev != Some(Status::Fail) {
                    newly.push(it);
                } else {
                    still.push(it);
                }
            }
            Status::Error => errors.push(item(c, prev)),
            Status::Waived => waived.push(item(c, prev)),
            Status::Pass if prev == Some(Status::Fail) => {
                // details (references, remediation) were kept with the failure
                let mut it = item(base[c.id.as_str()], prev);
                it.status = Status::Pass;
                it.evidence.clear();
                it.evidence_total = 0;
                it.reason = None;
                fixed.push(it);
            }
            _ => {}
        }
    }
    for v in [&mut newly, &mut fixed, &mut still, &mut errors, &mut waived] {
        sort(v);
    }
    // expiring waivers first
    waived.sort_by_key(|i| !i.waiver.as_ref().is_some_and(|w| w.expiring));
    let mut trend: Vec<Point> = before.last().map(|b| point(b)).into_iter().collect();
    trend.extend(within.iter().map(|r| point(r)));
    Ok(Document {
        schema_version: 1,
        generated_at: crate::time::rfc3339(now),
        period: Period {
            since: since_text.to_string(),
            from: crate::time::rfc3339(from),
            to: crate::time::rfc3339(now),
        },
        host: latest.host.clone(),
        agent_version: latest.agent_version.clone(),
        catalog_digest: latest.catalog_digest.clone(),
        profile: latest.profile.clone(),
        scans: within.len(),
        unreadable_records: unreadable,
        baseline: baseline.map(|b| point(b)),
        latest: point(latest),
        summary: latest.summary.clone(),
        newly_failed: newly,
        fixed,
        still_failing: still,
        waived,
        errors,
        facts: latest.facts.clone(),
        trend,
        lang: Lang::En,
    })
}

fn failing_since(subject: &[&Record], id: &str) -> Option<String> {
    let mut since = None;
    for r in subject.iter().rev() {
        match r.checks.iter().find(|c| c.id == id) {
            Some(c) if c.status == Status::Fail => since = Some(r.finished_at.clone()),
            _ => break,
        }
    }
    since
}

/// `2026-11-22 16:35 UTC`.
/// `2026-11-22 16:35 UTC` from an RFC 3339 time (a history record's, so control characters
/// are escaped: a damaged record cannot put them in the report).
fn human_time(rfc: &str) -> String {
    super::table::escape_controls(&match (rfc.get(..10), rfc.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => rfc.to_string(),
    })
}

fn gib(b: u64) -> String {
    let g = b as f64 / (1u64 << 30) as f64;
    if g >= 10.0 {
        format!("{g:.0} GiB")
    } else {
        format!("{g:.1} GiB")
    }
}

fn uptime(secs: f64, t: &Texts) -> String {
    let [min, hours, days] = t.facts.uptime;
    let h = (secs / 3600.0) as u64;
    if h == 0 {
        min((secs / 60.0) as u64)
    } else if h >= 48 {
        days(h / 24)
    } else {
        hours(h)
    }
}

/// At most `n` points, evenly spaced, always keeping the first and the last.
fn sample(points: &[Point], n: usize) -> Vec<&Point> {
    if points.len() <= n || n < 2 {
        return points.iter().collect();
    }
    (0..n)
        .map(|i| &points[i * (points.len() - 1) / (n - 1)])
        .collect()
}

fn sparkline(points: &[Point]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    sample(points, 48)
        .iter()
        .map(|p| BARS[((p.score.clamp(0.0, 100.0) / 100.0) * 7.0).round() as usize])
        .collect()
}

/// The host's name, else its machine id, else the scan root.
fn host_name(h: &RecordHost) -> &str {
    [&h.hostname, &h.machine_id, &h.root]
        .into_iter()
        .find(|s| !s.is_empty())
        .map(String::as_str)
        .unwrap_or("unknown host")
}

/// OS, kernel and (for an image) the scan root, the parts that are known.
fn host_parts(h: &RecordHost, code: fn(&str) -> String) -> Vec<String> {
    let mut v: Vec<String> = [
        Some(h.os_name.clone()),
        h.kernel.as_ref().map(|k| format!("kernel {k}")),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect();
    if !h.live {
        v.push(format!("image {}", code(&h.root)));
    }
    v
}

fn change(d: &Document) -> Option<f64> {
    d.baseline
        .as_ref()
        .map(|b| ((d.latest.score - b.score) * 10.0).round() / 10.0)
}

/// Facts as (label, value) lines, shared by the renderers.
fn fact_lines(f: &FactsSummary, t: &Texts) -> Vec<(String, String)> {
    let ft = &t.facts;
    let [l_cpu, l_load, l_mem, l_up, l_proc, l_sock] = ft.labels;
    let mut v = Vec::new();
    if let Some(n) = f.cpus {
        let mut s = format!("{n}");
        if let Some(m) = &f.cpu_model {
            s += &format!(" × {m}");
        }
        if let Some(b) = f.cpu_busy_pct {
            s += &(ft.cpu_busy)(b);
        }
        v.push((l_cpu.into(), s));
    }
    if let Some(l) = f.load {
        v.push((
            l_load.into(),
            format!("{:.2} {:.2} {:.2}", l[0], l[1], l[2]),
        ));
    }
    if let Some(m) = f.memory {
        let used = 100.0 - 100.0 * m.available_bytes as f64 / m.total_bytes.max(1) as f64;
        let mut s = (ft.memory)(&gib(m.total_bytes), &gib(m.available_bytes), used);
        if m.swap_total_bytes > 0 {
            s += &(ft.swap)(
                &gib(m.swap_total_bytes.saturating_sub(m.swap_free_bytes)),
                &gib(m.swap_total_bytes),
            );
        }
        v.push((l_mem.into(), s));
    }
    if let Some(u) = f.uptime_secs {
        v.push((l_up.into(), uptime(u, t)));
    }
    if let Some(p) = f.processes {
        let z = f.zombies.unwrap_or(0);
        v.push((
            l_proc.into(),
            if z > 0 {
                (ft.zombies)(p, z)
            } else {
                p.to_string()
            },
        ));
    }
    if let Some(l) = f.listening {
        let s = if f.exposed.is_empty() {
            (ft.listening_local)(l)
        } else {
            (ft.listening_exposed)(l, &f.exposed.join(", "))
        };
        v.push((l_sock.into(), s));
    }
    v
}

fn severity_groups(items: &[Item]) -> Vec<(Severity, Vec<&Item>)> {
    Severity::ALL
        .iter()
        .map(|s| {
            (
                *s,
                items
                    .iter()
                    .filter(|i| i.severity == *s)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn sections(d: &Document) -> [(&'static str, &'static str, &[Item]); 5] {
    let t = d.lang.t();
    [
        (t.newly_failed, t.newly_failed_note, &d.newly_failed),
        (t.fixed, t.fixed_note, &d.fixed),
        (t.still_failing, "", &d.still_failing),
        (t.errors, t.errors_note, &d.errors),
        (t.waived_section, t.waived_note, &d.waived),
    ]
}

/// Markdown punctuation escaped; control characters shown as `\xHH` (see
/// [`super::table::escape_controls`]): the Markdown goes to terminals and mail readers too.
fn md_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if super::table::needs_escape(c) {
            o.push_str(&super::table::escape_controls(c.encode_utf8(&mut [0; 4])));
            continue;
        }
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#'
        ) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

fn md_code(s: &str) -> String {
    let ticks = if s.contains('`') { "`` " } else { "`" };
    let close = if s.contains('`') { " ``" } else { "`" };
    format!(
        "{ticks}{}{close}",
        super::table::escape_controls(&s.replace('\n', " "))
    )
}

fn period_line(d: &Document) -> String {
    format!(
        "{} → {} ({}), {}",
        human_time(&d.period.from),
        human_time(&d.period.to),
        d.period.since,
        (d.lang.t().scans)(d.scans)
    )
}

fn failed_line(s: &Summary, t: &Texts) -> String {
    let by: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| {
            s.failed_by_severity
                .get(sev)
                .filter(|n| **n > 0)
                .map(|n| (t.sev_count)(*n, t.severity(*sev)))
        })
        .collect();
    if by.is_empty() {
        (t.n_failed)(s.failed)
    } else {
        format!("{} ({})", (t.n_failed)(s.failed), by.join(", "))
    }
}

/// The Markdown report.
pub fn markdown(d: &Document) -> String {
    let t = d.lang.t();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# {}: {}\n",
        t.report_title,
        md_escape(host_name(&d.host))
    );
    let host: Vec<String> = host_parts(&d.host, md_code)
        .iter()
        .map(|p| {
            if p.starts_with("image ") {
                p.clone()
            } else {
                md_escape(p)
            }
        })
        .collect();
    if !host.is_empty() {
        let _ = writeln!(o, "{}  ", host.join(" · "));
    }
    let _ = writeln!(o, "{}\n", period_line(d));
    let s = &d.summary;
    let score = match change(d) {
        Some(c) => format!(
            "**{} {:.1}** ({c:+.1} {} {})",
            t.score,
            s.score,
            t.since,
            human_time(
                &d.baseline
                    .as_ref()
                    .map(|b| b.at.clone())
                    .unwrap_or_default()
            )
        ),
        None => format!("**{} {:.1}**", t.score, s.score),
    };
    let _ = writeln!(
        o,
        "{score} · {} · {} · {} · {}\n",
        failed_line(s, t),
        (t.n_passed)(s.passed),
        (t.n_not_applicable)(s.not_applicable),
        (t.n_errors)(s.errors)
    );
    let _ = writeln!(
        o,
        "{}: **{}** · {}: **{}** · {}: **{}** · {}: **{}**\n",
        t.newly_failed,
        d.newly_failed.len(),
        t.fixed,
        d.fixed.len(),
        t.still_failing,
        d.still_failing.len(),
        t.errors,
        d.errors.len()
    );
    if d.baseline.is_none() {
        let _ = writeln!(o, "_{}_\n", t.no_baseline);
    }
    for (name, note, items) in sections(d) {
        let _ = write!(o, "## {name} ({})", items.len());
        if !note.is_empty() {
            let _ = write!(o, " — {note}");
        }
        let _ = writeln!(o, "\n");
        if items.is_empty() {
            let _ = writeln!(o, "{}\n", t.none);
            continue;
        }
        for (sev, group) in severity_groups(items) {
            let _ = writeln!(o, "### {} ({})\n", t.severity(sev), group.len());
            for it in group {
                let _ = write!(o, "- **{}** {}", md_escape(&it.id), md_escape(&it.title));
                if !it.references.is_empty() {
                    let _ = write!(o, " — {}", md_escape(&it.references.join(", ")));
                }
                let _ = writeln!(o);
                if let Some(r) = &it.reason {
                    let _ = writeln!(o, "  - {}: {}", t.reason, md_escape(r));
                }
                for e in &it.evidence {
                    let _ = writeln!(o, "  - {}: {}", t.evidence, md_code(e));
                }
                if it.evidence_total > it.evidence.len() {
                    let _ = writeln!(o, "  - {}", (t.more)(it.evidence_total - it.evidence.len()));
                }
                if let Some(at) = &it.failing_since {
                    let _ = writeln!(o, "  - {} {}", t.failing_since, human_time(at));
                }
                if let (Some(r), true) = (&it.remediation, it.status != Status::Pass) {
                    let _ = writeln!(o, "  - {}: {}", t.remediation, md_code(r));
                }
            }
            let _ = writeln!(o);
        }
    }
    let _ = writeln!(o, "## {}\n", t.host);
    match &d.facts {
        Some(f) => {
            let lines = fact_lines(f, t);
            if lines.is_empty() && f.filesystems.is_empty() {
                let _ = writeln!(o, "{}\n", t.no_live_facts);
            }
            if !lines.is_empty() {
                let _ = writeln!(o, "| | |\n|---|---|");
                for (k, v) in lines {
                    let _ = writeln!(o, "| {k} | {} |", md_escape(&v));
                }
                let _ = writeln!(o);
            }
            if !f.filesystems.is_empty() {
                let _ = writeln!(
                    o,
                    "| {} |\n|---|---|---:|---:|---:|",
                    t.fs_header.join(" | ")
                );
                for fs in &f.filesystems {
                    let _ = writeln!(
                        o,
                        "| {} | {} | {} | {:.1}% | {:.1}% |",
                        md_escape(&fs.mount_point),
                        md_escape(&fs.fs_type),
                        gib(fs.size_bytes),
                        fs.used_pct,
                        fs.inodes_used_pct
                    );
                }
                let _ = writeln!(o);
            }
        }
        None => {
            let _ = writeln!(o, "{}\n", t.no_facts);
        }
    }
    let _ = writeln!(o, "## {}\n", t.score_trend);
    let _ = writeln!(o, "{}\n", md_code(&sparkline(&d.trend)));
    let _ = writeln!(
        o,
        "| {} |\n|---|---:|---:|---:|",
        t.trend_header.join(" | ")
    );
    for p in sample(&d.trend, 12) {
        let _ = writeln!(
            o,
            "| {} | {:.1} | {} | {} |",
            human_time(&p.at),
            p.score,
            p.failed,
            p.errors
        );
    }
    let _ = writeln!(
        o,
        "\n{}",
        (t.footer)(
            &d.agent_version,
            &d.profile,
            &d.catalog_digest[..d.catalog_digest.len().min(12)],
            &human_time(&d.generated_at)
        )
    );
    if d.unreadable_records > 0 {
        let _ = writeln!(o, "\n_{}_", (t.unreadable)(d.unreadable_records));
    }
    o
}

/// The JSON report.
pub fn json(d: &Document) -> String {
    serde_json::to_string_pretty(d).unwrap_or_default() + "\n"
}

use crate::html::h;

/// Background of the page header (also what the rendering test looks for).
pub const HEADER_BG: &str = "#1e293b";
const FONT: &str =
    "-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans KR',Helvetica,Arial,sans-serif";
const MONO: &str = "ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',monospace";

fn sev_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "#b91c1c",
        Severity::High => "#ea580c",
        Severity::Medium => "#ca8a04",
        Severity::Low => "#2563eb",
        Severity::Info => "#64748b",
    }
}

fn badge(text: &str, bg: &str) -> String {
    format!(
        "<span style=\"display:inline-block;padding:1px 7px;border-radius:3px;background:{bg};color:#ffffff;font-size:11px;font-weight:bold;letter-spacing:.3px;text-transform:uppercase\">{}</span>",
        h(text)
    )
}

fn tile(label: &str, value: &str, color: &str) -> String {
    format!(
        "<td width=\"20%\" style=\"padding:10px 8px;border:1px solid #e2e8f0;text-align:center\">\
<div style=\"font-size:24px;font-weight:bold;color:{color}\">{}</div>\
<div style=\"font-size:11px;color:#64748b;text-transform:uppercase;letter-spacing:.4px\">{}</div></td>",
        h(value),
        h(label)
    )
}

fn html_items(o: &mut String, items: &[Item], t: &Texts) {
    for (sev, group) in severity_groups(items) {
        let _ = write!(
            o,
            "<div style=\"margin:12px 0 6px\">{} <span style=\"color:#64748b;font-size:12px\">{}</span></div>",
            badge(t.severity(sev), sev_color(sev)),
            group.len()
        );
        let _ = write!(
            o,
            "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse\">"
        );
        for it in group {
            let _ = write!(
                o,
                "<tr><td style=\"padding:8px 10px;border-left:4px solid {};border-bottom:1px solid #e2e8f0;background:#f8fafc\">",
                sev_color(it.severity)
            );
            let _ = write!(
                o,
                "<div><b style=\"font-family:{MONO};font-size:13px\">{}</b> {}</div>",
                h(&it.id),
                h(&it.title)
            );
            if !it.references.is_empty() {
                let _ = write!(
                    o,
                    "<div style=\"font-size:12px;color:#475569;margin-top:2px\">{}</div>",
                    h(&it.references.join(" · "))
                );
            }
            if let Some(r) = &it.reason {
                let _ = write!(
                    o,
                    "<div style=\"font-size:12px;margin-top:4px\">{}</div>",
                    h(r)
                );
            }
            for e in &it.evidence {
                let _ = write!(
                    o,
                    "<div style=\"font-family:{MONO};font-size:12px;color:#334155;margin-top:3px;word-break:break-word\">{}</div>",
                    h(e)
                );
            }
            if it.evidence_total > it.evidence.len() {
                let _ = write!(
                    o,
                    "<div style=\"font-size:12px;color:#64748b\">{}</div>",
                    h(&(t.more)(it.evidence_total - it.evidence.len()))
                );
            }
            if let Some(at) = &it.failing_since {
                let _ = write!(
                    o,
                    "<div style=\"font-size:12px;color:#64748b;margin-top:3px\">{} {}</div>",
                    h(t.failing_since),
                    h(&human_time(at))
                );
            }
            if let (Some(r), true) = (&it.remediation, it.status != Status::Pass) {
                let _ = write!(
                    o,
                    "<div style=\"margin-top:6px;padding:6px 8px;background:#ecfdf5;border:1px solid #a7f3d0;font-size:12px\"><b>{}</b><br><span style=\"font-family:{MONO};word-break:break-word\">{}</span></div>",
                    h(t.remediation),
                    h(r)
                );
            }
            let _ = write!(o, "</td></tr>");
        }
        let _ = write!(o, "</table>");
    }
}

fn html_trend(o: &mut String, points: &[Point], t: &Texts) {
    let pts = sample(points, 48);
    let _ = write!(
        o,
        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;margin:8px 0\"><tr>"
    );
    for p in &pts {
        let hgt = (p.score.clamp(0.0, 100.0) * 0.6).round().max(2.0) as u32;
        let color = if p.score >= 90.0 {
            "#16a34a"
        } else if p.score >= 70.0 {
            "#ca8a04"
        } else {
            "#dc2626"
        };
        let _ = write!(
            o,
            "<td valign=\"bottom\" style=\"height:62px;padding:0 1px;vertical-align:bottom\" title=\"{}\"><div style=\"width:9px;height:{hgt}px;background:{color};font-size:1px;line-height:1px\">&nbsp;</div></td>",
            h(&(t.facts.trend_point)(&human_time(&p.at), p.score))
        );
    }
    let _ = write!(o, "</tr></table>");
    if let (Some(f), Some(l)) = (pts.first(), pts.last()) {
        let _ = write!(
            o,
            "<div style=\"font-size:12px;color:#64748b\">{} → {} ({})</div>",
            h(&(t.facts.trend_point)(&human_time(&f.at), f.score)),
            h(&(t.facts.trend_point)(&human_time(&l.at), l.score)),
            h(&(t.facts.trend_shown)(pts.len()))
        );
    }
}

fn h2(o: &mut String, title: &str, count: Option<usize>, note: &str) {
    let _ = write!(
        o,
        "<tr><td style=\"padding:18px 24px 4px\"><div style=\"font-size:17px;font-weight:bold;border-bottom:2px solid #e2e8f0;padding-bottom:4px\">{}",
        h(title)
    );
    if let Some(n) = count {
        let _ = write!(
            o,
            " <span style=\"color:#64748b;font-weight:normal\">({n})</span>"
        );
    }
    if !note.is_empty() {
        let _ = write!(
            o,
            " <span style=\"color:#64748b;font-weight:normal;font-size:12px\">{}</span>",
            h(note)
        );
    }
    let _ = write!(o, "</div>");
}

/// The HTML report: one self-contained document for mail clients.
pub fn html(d: &Document) -> String {
    let t = d.lang.t();
    let mut o = String::with_capacity(32 * 1024);
    let s = &d.summary;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}: {}</title></head>\n",
        d.lang.as_str(),
        h(t.report_title),
        h(host_name(&d.host))
    );
    let _ = writeln!(
        o,
        "<body style=\"margin:0;padding:0;background:#f1f5f9\"><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f1f5f9\"><tr><td align=\"center\" style=\"padding:16px 8px\">"
    );
    let _ = writeln!(
        o,
        "<table role=\"presentation\" width=\"720\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;max-width:720px;background:#ffffff;border:1px solid #e2e8f0;font-family:{FONT};font-size:14px;line-height:1.45;color:#0f172a;text-align:left\">"
    );
    // header
    let host = host_parts(&d.host, |s| s.to_string());
    let _ = writeln!(
        o,
        "<tr><td style=\"background:{HEADER_BG};color:#ffffff;padding:20px 24px\">\
<div style=\"font-size:12px;color:#cbd5e1;letter-spacing:1px;text-transform:uppercase\">{}</div>\
<div style=\"font-size:24px;font-weight:bold;margin:2px 0\">{}</div>\
<div style=\"font-size:12px;color:#cbd5e1\">{}</div><div style=\"font-size:12px;color:#cbd5e1\">{}</div></td></tr>",
        h(t.report_kicker),
        h(host_name(&d.host)),
        h(&host.join(" · ")),
        h(&period_line(d))
    );
    // tiles
    let score_color = if s.score >= 90.0 {
        "#16a34a"
    } else if s.score >= 70.0 {
        "#ca8a04"
    } else {
        "#dc2626"
    };
    let _ = write!(
        o,
        "<tr><td style=\"padding:16px 24px 0\"><table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse\"><tr>"
    );
    o += &tile(t.tile_score, &format!("{:.1}", s.score), score_color);
    o += &tile(
        t.newly_failed,
        &d.newly_failed.len().to_string(),
        if d.newly_failed.is_empty() {
            "#0f172a"
        } else {
            "#dc2626"
        },
    );
    o += &tile(
        t.fixed,
        &d.fixed.len().to_string(),
        if d.fixed.is_empty() {
            "#0f172a"
        } else {
            "#16a34a"
        },
    );
    o += &tile(t.tile_failing, &s.failed.to_string(), "#0f172a");
    o += &tile(
        t.errors,
        &s.errors.to_string(),
        if s.errors == 0 { "#0f172a" } else { "#9333ea" },
    );
    let _ = write!(o, "</tr></table>");
    let mut line = format!(
        "{} · {} · {}",
        failed_line(s, t),
        (t.n_passed)(s.passed),
        (t.n_not_applicable)(s.not_applicable)
    );
    if let (Some(c), Some(b)) = (change(d), &d.baseline) {
        line += &format!(" · {} {c:+.1} {} {}", t.score, t.since, human_time(&b.at));
    }
    let _ = write!(
        o,
        "<div style=\"font-size:12px;color:#475569;margin-top:6px\">{}</div>",
        h(&line)
    );
    if d.baseline.is_none() {
        let _ = write!(
            o,
            "<div style=\"font-size:12px;color:#64748b;margin-top:4px\">{}</div>",
            h(t.no_baseline)
        );
    }
    let _ = writeln!(o, "</td></tr>");
    for (name, note, items) in sections(d) {
        h2(&mut o, name, Some(items.len()), note);
        if items.is_empty() {
            let _ = write!(
                o,
                "<div style=\"color:#64748b;margin-top:6px\">{}</div>",
                h(t.none)
            );
        } else {
            html_items(&mut o, items, t);
        }
        let _ = writeln!(o, "</td></tr>");
    }
    // host
    h2(&mut o, t.host, None, "");
    match &d.facts {
        Some(f) => {
            let lines = fact_lines(f, t);
            if !lines.is_empty() {
                let _ = write!(
                    o,
                    "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;margin-top:6px;font-size:13px\">"
                );
                for (k, v) in lines {
                    let _ = write!(
                        o,
                        "<tr><td width=\"110\" style=\"padding:3px 8px 3px 0;color:#64748b;vertical-align:top\">{}</td><td style=\"padding:3px 0;word-break:break-word\">{}</td></tr>",
                        h(&k),
                        h(&v)
                    );
                }
                let _ = write!(o, "</table>");
            }
            if !f.filesystems.is_empty() {
                let _ = write!(
                    o,
                    "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"border-collapse:collapse;margin-top:10px;font-size:13px\">\
<tr style=\"color:#64748b;text-align:left\"><th style=\"padding:3px 0;font-weight:normal\">{}</th><th style=\"font-weight:normal\">{}</th><th style=\"font-weight:normal;text-align:right\">{}</th><th style=\"font-weight:normal;padding-left:12px\">{}</th><th style=\"font-weight:normal;text-align:right\">{}</th></tr>",
                    h(t.fs_header[0]),
                    h(t.fs_header[1]),
                    h(t.fs_header[2]),
                    h(t.fs_header[3]),
                    h(t.fs_header[4])
                );
                for fs in &f.filesystems {
                    let color = if fs.used_pct >= 90.0 {
                        "#dc2626"
                    } else if fs.used_pct >= 75.0 {
                        "#ca8a04"
                    } else {
                        "#16a34a"
                    };
                    let w = (fs.used_pct.clamp(0.0, 100.0) * 1.2).round().max(1.0) as u32;
                    let _ = write!(
                        o,
                        "<tr><td style=\"padding:3px 8px 3px 0;font-family:{MONO};font-size:12px;word-break:break-all\">{}</td><td style=\"font-size:12px;color:#475569\">{}</td><td style=\"text-align:right;white-space:nowrap\">{}</td>\
<td style=\"padding-left:12px;white-space:nowrap\"><table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"display:inline-table;vertical-align:middle;border-collapse:collapse\"><tr><td style=\"width:120px;background:#e2e8f0\"><div style=\"width:{w}px;height:8px;background:{color};font-size:1px;line-height:1px\">&nbsp;</div></td></tr></table> {:.1}%</td>\
<td style=\"text-align:right;white-space:nowrap\">{:.1}%</td></tr>",
                        h(&fs.mount_point),
                        h(&fs.fs_type),
                        gib(fs.size_bytes),
                        fs.used_pct,
                        fs.inodes_used_pct
                    );
                }
                let _ = write!(o, "</table>");
            }
            if fact_lines(f, t).is_empty() && f.filesystems.is_empty() {
                let _ = write!(
                    o,
                    "<div style=\"color:#64748b;margin-top:6px\">{}</div>",
                    h(t.no_live_facts)
                );
            }
        }
        None => {
            let _ = write!(
                o,
                "<div style=\"color:#64748b;margin-top:6px\">{}</div>",
                h(t.no_facts)
            );
        }
    }
    let _ = writeln!(o, "</td></tr>");
    h2(&mut o, t.score_trend, None, "");
    html_trend(&mut o, &d.trend, t);
    let _ = writeln!(o, "</td></tr>");
    // footer
    let mut foot = (t.footer)(
        &d.agent_version,
        &d.profile,
        &d.catalog_digest[..d.catalog_digest.len().min(12)],
        &human_time(&d.generated_at),
    );
    if d.unreadable_records > 0 {
        foot += &format!(" · {}", (t.unreadable)(d.unreadable_records));
    }
    let _ = writeln!(
        o,
        "<tr><td style=\"padding:16px 24px;margin-top:12px;border-top:1px solid #e2e8f0;font-size:11px;color:#94a3b8\">{}</td></tr>",
        h(&foot)
    );
    let _ = write!(o, "</table>\n</td></tr></table></body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::References;
    use crate::history::RecordHost;

    fn check(id: &str, sev: Severity, st: Status) -> CheckRecord {
        let detailed = matches!(st, Status::Fail | Status::Error);
        CheckRecord {
            id: id.into(),
            status: st,
            severity: sev,
            title: format!("title of {id} <b>"),
            reason: (st == Status::Error).then(|| "unreadable".to_string()),
            references: detailed.then(|| References {
                kisa: vec!["U-01".into()],
                ..Default::default()
            }),
            remediation: detailed.then(|| format!("fix {id}")),
            evidence: if st == Status::Fail {
                vec![format!("{id} evidence")]
            } else {
                vec![]
            },
            evidence_total: usize::from(st == Status::Fail) * 4,
            waiver: None,
        }
    }

    fn rec(ms: u64, checks: Vec<CheckRecord>) -> Record {
        let results: Vec<crate::findings::CheckResult> = vec![];
        let mut summary = Summary::of(&results);
        for c in &checks {
            summary.total += 1;
            match c.status {
                Status::Pass => summary.passed += 1,
                Status::Fail => {
                    summary.failed += 1;
                    *summary.failed_by_severity.entry(c.severity).or_default() += 1;
                }
                Status::Error => summary.errors += 1,
                Status::NotApplicable => summary.not_applicable += 1,
                Status::Waived => summary.waived += 1,
            }
        }
        summary.score =
            100.0 * summary.passed as f64 / (summary.passed + summary.failed).max(1) as f64;
        Record {
            schema_version: 1,
            agent_version: "0.1.0".into(),
            host: RecordHost {
                hostname: "web-1".into(),
                machine_id: "m".into(),
                os_name: "Debian GNU/Linux 12 (bookworm)".into(),
                kernel: Some("6.1.0".into()),
                root: "/".into(),
                live: true,
            },
            catalog_digest: "abcdef0123456789".into(),
            profile: "kisa".into(),
            started_at: crate::time::rfc3339(crate::time::from_unix_ms(ms)),
            finished_at: crate::time::rfc3339(crate::time::from_unix_ms(ms)),
            duration_ms: 1.0,
            summary,
            checks,
            facts: None,
        }
    }

    const H: u64 = 3_600_000;
    const NOW: u64 = 1_795_365_319_000;

    fn history() -> Vec<Record> {
        use Severity::*;
        use Status::*;
        vec![
            // before the period: the baseline
            rec(
                NOW - 30 * H,
                vec![
                    check("A-1", High, Fail),
                    check("B-1", Critical, Pass),
                    check("C-1", Medium, Fail),
                    check("D-1", Low, Pass),
                ],
            ),
            rec(
                NOW - 10 * H,
                vec![
                    check("A-1", High, Fail),
                    check("B-1", Critical, Pass),
                    check("C-1", Medium, Fail),
                    check("D-1", Low, Error),
                ],
            ),
            rec(
                NOW - H,
                vec![
                    check("A-1", High, Pass),
                    check("B-1", Critical, Fail),
                    check("C-1", Medium, Fail),
                    check("D-1", Low, Error),
                ],
            ),
        ]
    }

    #[test]
    fn korean_report() {
        let mut d = build(
            &history(),
            0,
            Duration::from_secs(86_400),
            "24h",
            crate::time::from_unix_ms(NOW),
        )
        .unwrap();
        let en = markdown(&d);
        d.lang = Lang::Ko;
        let md = markdown(&d);
        for want in [
            "# Jikimi 보고서: ",
            "## 신규 취약 (1)",
            "## 조치 완료 (1)",
            "## 오류 (1)",
            "## 점수 추이",
        ] {
            assert!(md.contains(want), "{want}\n{md}");
        }
        for gone in ["Newly failed", "Score trend", "passed"] {
            assert!(!md.contains(gone), "{gone}\n{md}");
        }
        let page = html(&d);
        assert!(page.contains("<html lang=\"ko\">"), "{page}");
        assert!(page.contains("Jikimi 보안 점검 보고서"), "{page}");
        // the JSON does not change with the language
        let mut e = d.clone();
        e.lang = Lang::En;
        assert_eq!(json(&d), json(&e));
        assert!(en.contains("## Newly failed (1)"), "{en}");
    }

    #[test]
    fn waived_checks_have_their_own_section_and_an_expired_waiver_fails_anew() {
        use Severity::*;
        use Status::*;
        let note = |expires: &str, days_left: i64, expiring: bool, expired: bool| {
            crate::findings::WaiverNote {
                reason: "bastion".into(),
                approved_by: "kim".into(),
                expires: expires.into(),
                days_left,
                expiring,
                expired,
                origin: "w.toml:1".into(),
            }
        };
        let waived = |id: &str, n| CheckRecord {
            waiver: Some(n),
            ..check(id, High, Waived)
        };
        let recs = vec![
            rec(
                NOW - 10 * H,
                vec![
                    waived("A-1", note("2027-01-01", 40, false, false)),
                    waived("B-1", note("2026-12-01", 3, true, false)),
                ],
            ),
            rec(
                NOW - H,
                vec![
                    waived("A-1", note("2027-01-01", 40, false, false)),
                    CheckRecord {
                        waiver: Some(note("2026-12-01", -1, false, true)),
                        ..check("B-1", High, Fail)
                    },
                    waived("C-1", note("2026-12-05", 5, true, false)),
                ],
            ),
        ];
        let d = build(
            &recs,
            0,
            Duration::from_secs(86_400),
            "24h",
            crate::time::from_unix_ms(NOW),
        )
        .unwrap();
        let ids = |v: &[Item]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.waived), ["C-1", "A-1"], "expiring first");
        assert_eq!(ids(&d.newly_failed), ["B-1"]);
        assert_eq!(d.summary.waived, 2);
        let md = markdown(&d);
        for want in [
            "## Waived (2) — accepted risks",
            "waived until 2026-12-05 (expiring in 5 day(s)) by kim: bastion",
            "waived until 2027-01-01 by kim: bastion",
            "waiver expired on 2026-12-01",
        ] {
            assert!(md.contains(want), "{want}\n{md}");
        }
        let html = html(&d);
        assert!(html.contains("Waived"), "{html}");
        assert_eq!(json(&d).matches("\"expiring\": true").count(), 1);
    }

    #[test]
    fn classifies_against_the_baseline() {
        let d = build(
            &history(),
            0,
            Duration::from_secs(86_400),
            "24h",
            crate::time::from_unix_ms(NOW),
        )
        .unwrap();
        let ids = |v: &[Item]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&d.newly_failed), ["B-1"]);
        assert_eq!(ids(&d.fixed), ["A-1"]);
        assert_eq!(ids(&d.still_failing), ["C-1"]);
        assert_eq!(ids(&d.errors), ["D-1"]);
        assert_eq!(d.scans, 2);
        assert_eq!(d.trend.len(), 3, "baseline before the period + 2 scans");
        assert_eq!(d.fixed[0].remediation.as_deref(), Some("fix A-1"));
        assert_eq!(d.fixed[0].status, Status::Pass);
        assert_eq!(
            d.still_failing[0].failing_since.as_deref(),
            Some(d.trend[0].at.as_str())
        );
        assert_eq!(d.newly_failed[0].previous, Some(Status::Pass));
        let md = markdown(&d);
        for want in [
            "# Jikimi report: web-1",
            "## Newly failed (1)",
            "### critical (1)\n\n- **B-1** title of B-1 \\<b\\> — KISA U-01",
            "  - Remediation: `fix B-1`",
            "## Fixed (1)",
            "## Still failing (1)",
            "## Errors (1)",
            "  - Reason: unreadable",
            "  - … 3 more",
            "## Score trend",
        ] {
            assert!(md.contains(want), "missing {want:?} in\n{md}");
        }
        let html = html(&d);
        assert!(html.contains("title of B-1 &lt;b&gt;"));
        for banned in [
            "<script", "<link", "src=", "url(", "@import", "http://", "https://",
        ] {
            assert!(!html.contains(banned), "{banned} in html");
        }
        let v: serde_json::Value = serde_json::from_str(&json(&d)).unwrap();
        assert_eq!(v["newly_failed"][0]["severity"], "critical");
        assert_eq!(v["fixed"][0]["references"][0], "KISA U-01");
    }

    #[test]
    fn first_scan_and_empty_and_stale_history() {
        let h = history();
        let d = build(
            &h[2..],
            0,
            Duration::from_secs(86_400),
            "24h",
            crate::time::from_unix_ms(NOW),
        )
        .unwrap();
        assert!(d.baseline.is_none());
        assert!(d.newly_failed.is_empty());
        assert_eq!(d.still_failing.len(), 2);
        assert!(markdown(&d).contains("No earlier scan"));
        assert!(
            build(&[], 0, Duration::from_secs(60), "1m", SystemTime::now()).unwrap_err()
                == ReportError::NoHistory
        );
        let e = build(
            &h,
            0,
            Duration::from_secs(60),
            "1m",
            crate::time::from_unix_ms(NOW),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("no scan in the last 1m: the newest record is from 20"),
            "{e}"
        );
    }

    #[test]
    fn only_the_newest_records_host() {
        let mut h = history();
        h[2].host.root = "/mnt/image".into();
        h[2].host.live = false;
        let d = build(
            &h,
            0,
            Duration::from_secs(86_400),
            "24h",
            crate::time::from_unix_ms(NOW),
        )
        .unwrap();
        assert_eq!(d.scans, 1);
        assert!(d.baseline.is_none());
        assert!(markdown(&d).contains("image `/mnt/image`"));
    }

    #[test]
    fn defect8_markdown_escapes_control_characters() {
        let hostile = "\x1b[1A\x1b[2K\u{202e}";
        assert_eq!(md_escape(hostile), "\\x1b\\[1A\\x1b\\[2K\\u{202e}");
        assert_eq!(md_code(hostile), "`\\x1b[1A\\x1b[2K\\u{202e}`");
        assert_eq!(human_time("\x1b[2K"), "\\x1b[2K");
    }

    #[test]
    fn periods_parse() {
        assert_eq!(parse_since("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_since("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_since("90m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_since("2w").unwrap(), Duration::from_secs(14 * 86_400));
        for bad in ["", "h", "24", "0h", "1y", "-1h", "99999999999999999999d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trend_sampling_keeps_the_ends() {
        let pts: Vec<Point> = (0..100)
            .map(|i| Point {
                at: i.to_string(),
                score: i as f64,
                passed: 0,
                failed: 0,
                errors: 0,
            })
            .collect();
        let s = sample(&pts, 12);
        assert_eq!(s.len(), 12);
        assert_eq!((s[0].at.as_str(), s[11].at.as_str()), ("0", "99"));
        assert_eq!(sparkline(&pts[..2]), "▁▁");
        assert_eq!(sparkline(&pts[99..]), "█");
    }
}
