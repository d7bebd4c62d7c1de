//! The fleet report as Markdown (mail text, chat), HTML (mail clients and phones: inline
//! styles, one column under 600 px, no scripts, no external resources) and JSON.
//!
//! Every string in a finding comes from a host that may be compromised (hostnames, titles,
//! tags), so the HTML escapes every value and the Markdown neutralises its markup characters
//! and line breaks. Output depends on the [`FleetReport`] only: the same findings and time
//! give the same bytes.

use super::{CheckGroup, Counts, FleetReport, Host};
use crate::i18n::Texts;
use std::fmt::Write;

/// HTML text and attribute escaping; control characters are dropped.
pub fn h(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Markdown: one line, markup characters backslash-escaped, `<` and `>` as entities.
pub fn m(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in crate::sinks::asff::one_line(s).chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o
}

fn sev_line(c: &Counts, t: &Texts) -> String {
    use crate::findings::Severity as S;
    format!(
        "{} {} · {} {} · {} {} · {} {} · {} {}",
        t.severity(S::Critical),
        c.critical,
        t.severity(S::High),
        c.high,
        t.severity(S::Medium),
        c.medium,
        t.severity(S::Low),
        c.low,
        t.severity(S::Info),
        c.info
    )
}

fn trend(r: &FleetReport) -> String {
    let f = &r.lang.t().fleet;
    match (r.totals.previous_score, r.totals.score_change) {
        (Some(p), Some(d)) => (f.trend)(p, d),
        _ => f.no_trend.into(),
    }
}

/// A period for people: days when whole, else hours, else minutes.
pub fn period(secs: u64) -> String {
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s => format!("{} min", s.div_ceil(60)),
    }
}

fn host_list(hosts: &[String]) -> String {
    hosts.join(", ")
}

/// The JSON report (pretty, ending in a newline).
pub fn json(r: &FleetReport) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}

/// Subject line for mail and chat.
pub fn subject(r: &FleetReport) -> String {
    (r.lang.t().fleet.subject)(
        &r.window,
        r.totals.score,
        r.totals.failed,
        r.totals.hosts_silent,
        r.totals.hosts,
    )
}

fn md_groups(o: &mut String, title: &str, groups: &[CheckGroup], t: &Texts) {
    let _ = writeln!(o, "## {title}\n");
    if groups.is_empty() {
        let _ = writeln!(o, "{}\n", t.none);
        return;
    }
    for g in groups {
        let _ = writeln!(
            o,
            "- **{}** [{}] {} ({}): {}",
            m(&g.check_id),
            t.severity(g.severity),
            m(&g.title),
            (t.fleet.n_hosts)(g.hosts.len()),
            m(&host_list(&g.hosts))
        );
    }
    o.push('\n');
}

fn md_hosts(o: &mut String, hosts: &[Host], t: &Texts) {
    let _ = writeln!(o, "| {} |", t.fleet.host_cols.join(" | "));
    o.push_str("|---|---:|---:|---:|---:|---|\n");
    for h in hosts {
        let _ = writeln!(
            o,
            "| {} | {:.1} | {} | {} | {} | {} |",
            m(&h.hostname),
            h.score,
            h.failed,
            h.failed_by_severity.critical,
            h.failed_by_severity.high,
            h.last_observed_at
        );
    }
    o.push('\n');
}

/// The Markdown report.
pub fn markdown(r: &FleetReport) -> String {
    let tx = r.lang.t();
    let f = &tx.fleet;
    let t = &r.totals;
    let mut o = String::with_capacity(8 * 1024);
    let _ = writeln!(o, "# {}\n", m(&(f.title)(&r.window)));
    let _ = writeln!(
        o,
        "{}\n",
        (f.range)(&r.window_start, &r.generated_at, &m(&r.scope))
    );
    let _ = writeln!(o, "## {}\n", f.fleet);
    let _ = writeln!(o, "- {}: **{:.1}** ({})", f.fleet_score, t.score, trend(r));
    let _ = writeln!(
        o,
        "- {}",
        (f.hosts_line)(
            t.hosts,
            t.hosts_reporting,
            t.hosts_silent,
            &period(r.silent_after_secs),
            t.hosts_new
        )
    );
    let _ = writeln!(
        o,
        "- {}: {} ({})",
        f.failing,
        t.failed,
        sev_line(&t.failed_by_severity, tx)
    );
    let _ = writeln!(
        o,
        "- {}: {} ({})",
        f.waived,
        t.waived,
        sev_line(&t.waived_by_severity, tx)
    );
    let _ = writeln!(o, "- {}\n", (f.passing_line)(t.passed, t.not_available));
    if !r.silent_hosts.is_empty() {
        let _ = writeln!(o, "## {}\n", f.silent_hosts);
        for h in &r.silent_hosts {
            let _ = writeln!(
                o,
                "- {} ({} {}; {})",
                m(&h.hostname),
                f.last_seen,
                h.last_observed_at,
                m(&h.resource)
            );
        }
        o.push('\n');
    }
    md_groups(&mut o, tx.newly_failed, &r.newly_failed, tx);
    md_groups(&mut o, tx.fixed, &r.fixed, tx);
    if !r.archived.is_empty() {
        md_groups(&mut o, f.archived, &r.archived, tx);
    }
    let _ = writeln!(o, "## {}\n", f.top_failing);
    if r.top_failing_checks.is_empty() {
        let _ = writeln!(o, "{}\n", tx.none);
    } else {
        let _ = writeln!(o, "| {} |\n|---|---|---:|---:|---|", f.top_cols.join(" | "));
        for c in &r.top_failing_checks {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {:.1}% | {} |",
                m(&c.check_id),
                tx.severity(c.severity),
                c.hosts_failing,
                c.percent,
                m(&c.title)
            );
        }
        o.push('\n');
    }
    let _ = writeln!(o, "## {}\n", f.worst_hosts);
    if r.worst_hosts.is_empty() {
        let _ = writeln!(o, "{}\n", tx.none);
    } else {
        md_hosts(&mut o, &r.worst_hosts, tx);
    }
    for g in &r.by_tag {
        let _ = writeln!(o, "## {}\n", m(&(f.by)(&g.key)));
        let _ = writeln!(o, "| {} |", f.tag_cols.join(" | "));
        o.push_str("|---|---:|---:|---:|---:|---:|\n");
        for v in &g.values {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {:.1} |",
                m(&v.value),
                v.hosts,
                v.failed,
                v.failed_by_severity.critical,
                v.failed_by_severity.high,
                v.score
            );
        }
        o.push('\n');
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o, "## {}\n", f.notes);
        for n in &r.notes {
            let _ = writeln!(o, "- {}", m(n));
        }
        o.push('\n');
    }
    let _ = writeln!(o, "_{}_", (f.findings_read)(r.findings_read));
    o
}

const CSS: &str = "body{margin:0;padding:0;background:#f1f5f9;color:#0f172a;\
font:15px/1.45 -apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans KR',sans-serif}\
.w{max-width:760px;margin:0 auto;padding:12px}\
header{background:#0f172a;color:#fff;padding:16px;border-radius:8px}\
header h1{margin:0 0 4px;font-size:20px}header p{margin:0;color:#cbd5e1;font-size:13px}\
section{background:#fff;border-radius:8px;padding:12px 16px;margin-top:12px}\
h2{font-size:17px;margin:0 0 8px}\
.k{display:flex;flex-wrap:wrap;gap:8px}.k div{flex:1 1 140px;background:#f8fafc;\
border:1px solid #e2e8f0;border-radius:6px;padding:8px}.k b{display:block;font-size:22px}\
.bad{color:#b91c1c}.ok{color:#15803d}\
table{border-collapse:collapse;width:100%;font-size:14px}\
th,td{text-align:left;padding:6px 4px;border-bottom:1px solid #e2e8f0;vertical-align:top;\
overflow-wrap:anywhere}td.n,th.n{text-align:right;white-space:nowrap}\
ul{margin:0;padding-left:18px}li{margin:4px 0;overflow-wrap:anywhere}\
.s{font-size:12px;font-weight:600;text-transform:uppercase}\
.s.critical{color:#7f1d1d}.s.high{color:#b91c1c}.s.medium{color:#b45309}\
.s.low{color:#1d4ed8}.s.info{color:#475569}\
.muted{color:#64748b;font-size:13px}\
@media (max-width:600px){.w{padding:6px}th.o,td.o{display:none}.k div{flex-basis:40%}}";

fn html_groups(o: &mut String, title: &str, groups: &[CheckGroup], t: &Texts) {
    let _ = write!(o, "<section><h2>{}</h2>", h(title));
    if groups.is_empty() {
        let _ = writeln!(o, "<p class=\"muted\">{}</p></section>", h(t.none));
        return;
    }
    o.push_str("<ul>");
    for g in groups {
        let _ = write!(
            o,
            "<li><b>{}</b> <span class=\"s {sev}\">{}</span> {}<br><span class=\"muted\">{}: {}</span></li>",
            h(&g.check_id),
            h(t.severity(g.severity)),
            h(&g.title),
            h(&(t.fleet.n_hosts)(g.hosts.len())),
            h(&host_list(&g.hosts)),
            sev = g.severity.as_str(),
        );
    }
    o.push_str("</ul></section>\n");
}

/// The HTML report: one self-contained page.
pub fn html(r: &FleetReport) -> String {
    let tx = r.lang.t();
    let f = &tx.fleet;
    let t = &r.totals;
    let mut o = String::with_capacity(16 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{CSS}</style></head>\n<body><div class=\"w\">\n",
        r.lang.as_str(),
        h(&(f.title)(&r.window))
    );
    let _ = writeln!(
        o,
        "<header><h1>{}</h1><p>{}</p></header>",
        h(&(f.title)(&r.window)),
        h(&(f.range)(&r.window_start, &r.generated_at, &r.scope))
    );
    let cls = |bad: bool| if bad { "bad" } else { "ok" };
    let _ = writeln!(
        o,
        "<section><h2>{}</h2><div class=\"k\">\
<div>{}<b>{:.1}</b><span class=\"muted\">{}</span></div>\
<div>{}<b>{}</b><span class=\"muted\">{}</span></div>\
<div>{}<b class=\"{}\">{}</b><span class=\"muted\">{}</span></div>\
<div>{}<b class=\"{}\">{}</b><span class=\"muted\">{}</span></div>\
<div>{}<b>{}</b><span class=\"muted\">{}</span></div>\
</div></section>",
        h(f.fleet),
        h(tx.tile_score),
        t.score,
        h(&trend(r)),
        h(f.tile_hosts),
        t.hosts,
        h(&(f.tile_hosts_note)(t.hosts_reporting, t.hosts_new)),
        h(f.tile_silent),
        cls(t.hosts_silent > 0),
        t.hosts_silent,
        h(&(f.tile_silent_note)(&period(r.silent_after_secs))),
        h(f.failing),
        cls(t.failed > 0),
        t.failed,
        h(&sev_line(&t.failed_by_severity, tx)),
        h(f.waived),
        t.waived,
        h(&sev_line(&t.waived_by_severity, tx)),
    );
    if !r.silent_hosts.is_empty() {
        let _ = write!(
            o,
            "<section><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th class=\"o\">{}</th></tr>",
            h(f.silent_hosts),
            h(f.host_cols[0]),
            h(f.host_cols[5]),
            h(f.resource)
        );
        for x in &r.silent_hosts {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"o\">{}</td></tr>",
                h(&x.hostname),
                h(&x.last_observed_at),
                h(&x.resource)
            );
        }
        o.push_str("</table></section>\n");
    }
    html_groups(&mut o, tx.newly_failed, &r.newly_failed, tx);
    html_groups(&mut o, tx.fixed, &r.fixed, tx);
    if !r.archived.is_empty() {
        html_groups(&mut o, f.archived, &r.archived, tx);
    }
    let _ = write!(o, "<section><h2>{}</h2>", h(f.top_failing));
    if r.top_failing_checks.is_empty() {
        let _ = write!(o, "<p class=\"muted\">{}</p>", h(tx.none));
    } else {
        let _ = write!(
            o,
            "<table><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n o\">{}</th><th>{}</th></tr>",
            h(f.top_cols[0]),
            h(f.top_cols[2]),
            h(f.top_cols[3]),
            h(f.top_cols[4])
        );
        for c in &r.top_failing_checks {
            let _ = write!(
                o,
                "<tr><td><b>{}</b><br><span class=\"s {sev}\">{}</span></td><td class=\"n\">{}</td><td class=\"n o\">{:.1}%</td><td>{}</td></tr>",
                h(&c.check_id),
                h(tx.severity(c.severity)),
                c.hosts_failing,
                c.percent,
                h(&c.title),
                sev = c.severity.as_str()
            );
        }
        o.push_str("</table>");
    }
    let _ = write!(o, "</section>\n<section><h2>{}</h2>", h(f.worst_hosts));
    if r.worst_hosts.is_empty() {
        let _ = write!(o, "<p class=\"muted\">{}</p>", h(tx.none));
    } else {
        let c = &f.host_cols;
        let _ = write!(
            o,
            "<table><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n o\">{}</th><th class=\"n o\">{}</th><th class=\"o\">{}</th></tr>",
            h(c[0]),
            h(c[1]),
            h(c[2]),
            h(c[3]),
            h(c[4]),
            h(c[5])
        );
        for x in &r.worst_hosts {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{}</td><td class=\"n o\">{}</td><td class=\"n o\">{}</td><td class=\"o\">{}</td></tr>",
                h(&x.hostname),
                x.score,
                x.failed,
                x.failed_by_severity.critical,
                x.failed_by_severity.high,
                h(&x.last_observed_at)
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</section>\n");
    for g in &r.by_tag {
        let _ = write!(
            o,
            "<section><h2>{}</h2><table><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n o\">{}</th><th class=\"n\">{}</th></tr>",
            h(&(f.by)(&g.key)),
            h(f.tag_cols[0]),
            h(f.tag_cols[1]),
            h(f.tag_cols[2]),
            h(f.tag_cols[3]),
            h(f.tag_cols[5])
        );
        for v in &g.values {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n o\">{}</td><td class=\"n\">{:.1}</td></tr>",
                h(&v.value),
                v.hosts,
                v.failed,
                v.failed_by_severity.critical,
                v.score
            );
        }
        o.push_str("</table></section>\n");
    }
    if !r.notes.is_empty() {
        let _ = write!(o, "<section><h2>{}</h2><ul>", h(f.notes));
        for n in &r.notes {
            let _ = write!(o, "<li>{}</li>", h(n));
        }
        o.push_str("</ul></section>\n");
    }
    let _ = writeln!(
        o,
        "<p class=\"muted\">{}</p></div></body></html>",
        h(&(f.findings_read)(r.findings_read))
    );
    o
}

#[cfg(test)]
mod tests {
    use super::super::tests::{f, params, sample, NOW};
    use super::*;
    use serde_json::json;

    #[test]
    fn hostile_values_are_escaped_everywhere() {
        let evil = "<script>alert(1)</script>\"'&\n| `x` *y*";
        let mut v = sample();
        let mut x = f(
            "evil",
            "C-9",
            "high",
            "FAILED",
            3_600_000,
            3_600_000,
            3_600_000,
            json!({"jikimi:AssetType": evil}),
        );
        x["ProductFields"]["jikimi/Hostname"] = json!(evil);
        x["Title"] = json!(evil);
        x["ProductFields"]["jikimi/CheckId"] = json!(evil);
        v.push(x);
        let r = crate::fleet::build(&v, &params());
        let page = html(&r);
        assert!(!page.contains("<script"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        let md = markdown(&r);
        assert!(!md.contains("<script"));
        assert!(md.contains("\\| \\`x\\` \\*y\\*"), "{md}");
        // No raw line break from the value: every line of the Markdown is ours.
        assert!(!md.lines().any(|l| l.starts_with("| `x`")));
        let j: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(j["newly_failed"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn output_is_byte_stable() {
        let a = crate::fleet::build(&sample(), &params());
        let mut rev = sample();
        rev.reverse();
        let b = crate::fleet::build(&rev, &params());
        assert_eq!(html(&a), html(&b));
        assert_eq!(markdown(&a), markdown(&b));
        assert_eq!(json(&a), json(&b));
        assert!(json(&a).contains(&crate::fleet::tests::t(NOW)));
        assert!(subject(&a).contains("score 33.3"));
        assert!(markdown(&a).contains("1 silent for more than 2 d,"));
        assert_eq!(
            (period(5400), period(7200), period(90)),
            ("90 min".into(), "2 h".into(), "2 min".into())
        );
    }

    #[test]
    fn korean_report() {
        let mut r = crate::fleet::build(&sample(), &params());
        r.lang = crate::i18n::Lang::Ko;
        let md = markdown(&r);
        assert!(md.starts_with("# Jikimi 전체 서버 보고서, 최근 "), "{md}");
        assert!(md.contains("## 전체 현황"), "{md}");
        assert!(md.contains("## 신규 취약"), "{md}");
        assert!(!md.contains("Worst hosts"), "{md}");
        let page = html(&r);
        assert!(page.contains("<html lang=\"ko\">"));
        assert!(page.contains("점수가 낮은 서버"));
        assert!(subject(&r).starts_with("Jikimi 전체 서버 보고서"));
        // JSON keys stay English
        assert!(json(&r).contains("\"newly_failed\""));
    }
}
