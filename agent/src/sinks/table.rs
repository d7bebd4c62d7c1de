//! The human table: results grouped by area, then a summary. Colour only when asked (the
//! caller decides from the TTY and `NO_COLOR`). Every string that comes from the scanned
//! host, the catalog or a sink passes through [`escape_controls`], so only the table's own
//! colour codes reach the terminal.

use crate::findings::{Severity, Status};
use crate::i18n::Lang;
use crate::report::Report;
use std::fmt::Write as _;

/// Control characters shown, never sent to the terminal: C0 (newline and tab included: a
/// table cell is one line), DEL, C1 (U+0080–U+009F, 8-bit CSI among them) and the Unicode
/// bidirectional overrides and isolates, which can reorder what a line seems to say. Each
/// becomes `\xHH` or `\u{HHHH}`. Text from a scanned image or a process name (an
/// unprivileged user can name a listener `\e[1A\e[2K`) would otherwise reach the terminal raw
/// and could erase or rewrite the lines above it.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            o.push(c);
        } else if (c as u32) < 0x100 {
            let _ = write!(o, "\\x{:02x}", c as u32);
        } else {
            let _ = write!(o, "\\u{{{:04x}}}", c as u32);
        }
    }
    o
}

/// Whether [`escape_controls`] rewrites `c`.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

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

/// Display columns of `s` on a terminal: Hangul and other East Asian wide characters take
/// two (enough for the table's own words and check titles; not a full UAX #11).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115f
            | 0x2e80..=0xa4cf
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xff00..=0xff60 => 2,
            _ => 1,
        })
        .sum()
}

/// `s` padded with spaces to `w` display columns.
fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

/// The table in `lang` (status words, header and summary; check text is already in the
/// report's language, see `crate::i18n`).
pub fn render(report: &Report, color: bool, lang: Lang) -> String {
    let t = lang.t();
    let mut out = String::new();
    let h = &report.host;
    let e = escape_controls;
    let host = if h.hostname.is_empty() {
        t.unknown_host.to_string()
    } else {
        e(&h.hostname)
    };
    let os = e(if h.os_name.is_empty() {
        &h.os_id
    } else {
        &h.os_name
    });
    let place = if h.live {
        format!("{host} ({os})")
    } else {
        format!("{host} ({os}) [root {}]", e(&h.root))
    };
    let _ = writeln!(
        out,
        "{}",
        (t.table_header)(
            report.agent.version,
            &place,
            report.results.len(),
            report.catalog.profile.as_str(),
            &e(&report.catalog.digest.chars().take(12).collect::<String>())
        )
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
        .map(|r| e(&r.id).chars().count())
        .max()
        .unwrap_or(8)
        .max(2);
    let stw = [
        Status::Pass,
        Status::Fail,
        Status::NotApplicable,
        Status::Error,
        Status::Waived,
    ]
    .iter()
    .map(|s| width(t.status(*s)))
    .max()
    .unwrap_or(6);
    let sevw = Severity::ALL
        .iter()
        .map(|s| width(t.severity(*s)))
        .max()
        .unwrap_or(8);
    for area in areas {
        let _ = writeln!(out, "\n{}", paint(&format!("== {}", e(area)), "1", color));
        for r in report.results.iter().filter(|r| r.area == area) {
            let st = pad(t.status(r.status), stw);
            let _ = writeln!(
                out,
                "{} {} {:<idw$} {}",
                paint(&st, status_code(r.status), color),
                pad(t.severity(r.severity), sevw),
                e(&r.id),
                cut(&e(&r.title), 70),
            );
            if r.status != Status::Pass {
                let line = e(&r.summary_line());
                if !line.is_empty() {
                    let _ = writeln!(
                        out,
                        "{} {} {:<idw$} ↳ {}",
                        " ".repeat(stw),
                        " ".repeat(sevw),
                        "",
                        cut(&line, 110)
                    );
                }
            }
        }
    }
    let s = &report.summary;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{}",
        (t.table_summary)(
            s.passed,
            s.failed,
            s.not_applicable,
            s.errors,
            s.total,
            report.duration_ms
        )
    );
    if s.failed > 0 {
        let by: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|sev| {
                s.failed_by_severity
                    .get(sev)
                    .map(|n| (t.sev_count)(*n, t.severity(*sev)))
            })
            .collect();
        let _ = writeln!(out, "{}: {}", t.failed_by_severity, by.join(", "));
    }
    if s.waived > 0 || s.waivers_expired > 0 {
        let _ = writeln!(
            out,
            "{}",
            (t.waived_line)(s.waived, s.waivers_expiring, s.waivers_expired)
        );
    }
    let _ = writeln!(out, "{}: {:.1}/100", t.score, s.score);
    for (name, sink) in &report.sinks {
        let _ = writeln!(out, "{}", e(&sink.line(name)));
        for err in &sink.errors {
            let _ = writeln!(out, "  {}: {}", e(name), e(err));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Status;
    use crate::sinks::asff::tests::{report, result};

    #[test]
    fn defect8_control_characters_never_reach_the_terminal() {
        let hostile = "\x1b[1A\x1b[2Kroot\u{9b}31m\u{202e}x\u{7f}\n";
        assert_eq!(
            escape_controls(hostile),
            "\\x1b[1A\\x1b[2Kroot\\x9b31m\\u{202e}x\\x7f\\x0a"
        );
        assert_eq!(escape_controls("plain 지킴이 text"), "plain 지킴이 text");
        let mut r = result("A-1", Status::Fail);
        r.reason = Some(format!("listener {hostile} on 0.0.0.0:22"));
        r.title = format!("title {hostile}");
        let mut rep = report(vec![r]);
        rep.host.hostname = hostile.into();
        rep.host.live = false;
        rep.host.root = hostile.into();
        let mut sink = crate::sinks::SinkSummary::default();
        sink.error(hostile);
        rep.sinks.insert("alerts_slack".into(), sink);
        for color in [false, true] {
            let out = render(&rep, color, Lang::En);
            let stripped = out
                .replace("\x1b[0m", "")
                .replace("\x1b[1m", "")
                .replace("\x1b[31;1m", "");
            assert!(
                !stripped.chars().any(|c| needs_escape(c) && c != '\n'),
                "{out:?}"
            );
            assert!(out.contains("\\x1b[1A"), "{out}");
        }
    }

    #[test]
    fn korean_table_uses_korean_words_and_aligns_by_width() {
        let mut rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Pass),
            result("A-3", Status::NotApplicable),
        ]);
        rep.summary.failed = 1;
        rep.summary.passed = 1;
        rep.summary.not_applicable = 1;
        rep.summary.total = 3;
        let ko = render(&rep, false, Lang::Ko);
        assert!(ko.contains("취약"), "{ko}");
        assert!(ko.contains("양호"), "{ko}");
        assert!(
            ko.contains("점검 3개 중 양호 1, 취약 1, 해당 없음 1, 오류 0"),
            "{ko}"
        );
        assert!(ko.contains("점수: "), "{ko}");
        assert!(!ko.contains("passed"), "{ko}");
        // the id column starts at the same display column on every result line
        let cols: Vec<usize> = ko
            .lines()
            .filter(|l| l.contains("A-"))
            .map(|l| width(&l[..l.find("A-").unwrap()]))
            .collect();
        assert_eq!(cols.len(), 3, "{ko}");
        assert!(cols.iter().all(|c| *c == cols[0]), "{cols:?}\n{ko}");
        let en = render(&rep, false, Lang::En);
        assert!(en.contains("1 passed, 1 failed, 1 not applicable"), "{en}");
        assert!(en.contains("FAIL "), "{en}");
    }
}
