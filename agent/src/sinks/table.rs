//! The human table: results grouped by area, then a summary. Colour only when asked (the
//! caller decides from the TTY and `NO_COLOR`).

use crate::findings::{Severity, Status};
use crate::run::Report;
use std::fmt::Write as _;

fn paint(s: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn status_code(s: Status) -> &'static str {
    match s {
        Status::Pass => "32",
        Status::Fail => "31;1",
        Status::NotApplicable => "90",
        Status::Error => "33;1",
        Status::Waived => "36",
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    }
}

pub fn render(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let h = &report.host;
    let _ = writeln!(
        out,
        "jikimi {} on {} ({}){}: {} checks, profile {}, catalog {}",
        report.agent.version,
        if h.hostname.is_empty() {
            "unknown host"
        } else {
            &h.hostname
        },
        if h.os_name.is_empty() {
            &h.os_id
        } else {
            &h.os_name
        },
        if h.live {
            String::new()
        } else {
            format!(" [root {}]", h.root)
        },
        report.results.len(),
        report.catalog.profile.as_str(),
        &report.catalog.digest[..12.min(report.catalog.digest.len())]
    );
    let mut areas: Vec<&str> = Vec::new();
    for r in &report.results {
        if !areas.contains(&r.area.as_str()) {
            areas.push(&r.area);
        }
    }
    let idw = report
        .results
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(8)
        .max(2);
    for area in areas {
        let _ = writeln!(out, "\n{}", paint(&format!("== {area}"), "1", color));
        for r in report.results.iter().filter(|r| r.area == area) {
            let st = format!(
                "{:<6}",
                match r.status {
                    Status::NotApplicable => "N/A",
                    s => s.as_str(),
                }
            );
            let _ = writeln!(
                out,
                "{} {:<8} {:<idw$} {}",
                paint(&st, status_code(r.status), color),
                r.severity.as_str(),
                r.id,
                cut(&r.title, 70),
            );
            if r.status != Status::Pass {
                let line = r.summary_line();
                if !line.is_empty() {
                    let _ = writeln!(out, "       {:<8} {:<idw$} ↳ {}", "", "", cut(&line, 110));
                }
            }
        }
    }
    let s = &report.summary;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} not applicable, {} error(s) of {} checks in {:.0} ms",
        s.passed, s.failed, s.not_applicable, s.errors, s.total, report.duration_ms
    );
    if s.failed > 0 {
        let by: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|sev| s.failed_by_severity.get(sev).map(|n| format!("{n} {sev}")))
            .collect();
        let _ = writeln!(out, "failed by severity: {}", by.join(", "));
    }
    if s.waived > 0 || s.waivers_expired > 0 {
        let _ = writeln!(
            out,
            "{} waived (out of the exit code and score), {} expiring within 14 days, {} waiver(s) expired",
            s.waived, s.waivers_expiring, s.waivers_expired
        );
    }
    let _ = writeln!(out, "score: {:.1}/100", s.score);
    for (name, sink) in &report.sinks {
        let _ = writeln!(out, "{}", sink.line(name));
        for e in &sink.errors {
            let _ = writeln!(out, "  {name}: {e}");
        }
    }
    out
}
