//! Prometheus text exposition (format 0.0.4) of scan results, host facts and agent health.
//!
//! Label cardinality is bounded by default: results are counted by status and severity, host
//! series are per mount point / listening port (a host has tens, not thousands). Per-check
//! series (`jikimi_check_status`) are opt-in, because 10k hosts × 150 checks is 1.5 M series.

use crate::facts::{host, Facts};
use crate::findings::{Severity, Status};
use crate::report::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Process-lifetime counters kept by the daemon (one-shot runs start at zero).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub scans_ok: u64,
    pub scans_failed: u64,
    /// Unix time of the last failed scan (0: none).
    pub last_failure_ts: f64,
}

/// What to include.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// One series per check (`jikimi_check_status`): opt-in.
    pub per_check: bool,
}

/// Escapes a label value.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, val)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{k}=\"{}\"", esc(val));
            }
            self.0.push('}');
        }
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
            let _ = writeln!(self.0, " {}", v as i64);
        } else {
            let _ = writeln!(self.0, " {v}");
        }
    }
}

fn unix_seconds(rfc3339: &str) -> f64 {
    crate::time::parse_rfc3339(rfc3339)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Renders all metrics for the latest report (if any scan succeeded yet).
pub fn render(
    report: Option<&Report>,
    facts: Option<&Facts>,
    counters: &Counters,
    opts: Options,
) -> String {
    let mut o = Out(String::with_capacity(8 * 1024));
    o.family(
        "jikimi_build_info",
        "gauge",
        "Agent version and the catalog it evaluates (always 1).",
    );
    let (digest, profile) = report
        .map(|r| (r.catalog.digest.as_str(), r.catalog.profile.as_str()))
        .unwrap_or(("", ""));
    o.sample(
        "jikimi_build_info",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("catalog_digest", digest),
            ("profile", profile),
        ],
        1.0,
    );
    o.family(
        "jikimi_scans_total",
        "counter",
        "Scans since the agent started, by result.",
    );
    o.sample(
        "jikimi_scans_total",
        &[("result", "ok")],
        counters.scans_ok as f64,
    );
    o.sample(
        "jikimi_scans_total",
        &[("result", "error")],
        counters.scans_failed as f64,
    );
    o.family(
        "jikimi_last_scan_failure_timestamp_seconds",
        "gauge",
        "Unix time of the last failed scan (0 if none).",
    );
    o.sample(
        "jikimi_last_scan_failure_timestamp_seconds",
        &[],
        counters.last_failure_ts,
    );
    if let Some(r) = report {
        o.family(
            "jikimi_last_scan_timestamp_seconds",
            "gauge",
            "Unix time when the last successful scan finished.",
        );
        o.sample(
            "jikimi_last_scan_timestamp_seconds",
            &[],
            unix_seconds(&r.finished_at),
        );
        o.family(
            "jikimi_scan_duration_seconds",
            "gauge",
            "Wall time of the last scan.",
        );
        o.sample(
            "jikimi_scan_duration_seconds",
            &[],
            (r.duration_ms * 1000.0).round() / 1e6,
        );
        o.family(
            "jikimi_score",
            "gauge",
            "Severity-weighted share of passed checks, 0 to 100.",
        );
        o.sample("jikimi_score", &[], r.summary.score);
        o.family(
            "jikimi_checks",
            "gauge",
            "Checks of the last scan by status and severity.",
        );
        let mut counts: BTreeMap<(Status, Severity), u64> = BTreeMap::new();
        for st in [
            Status::Pass,
            Status::Fail,
            Status::NotApplicable,
            Status::Error,
            Status::Waived,
        ] {
            for sev in Severity::ALL {
                counts.insert((st, sev), 0);
            }
        }
        for res in &r.results {
            *counts.entry((res.status, res.severity)).or_default() += 1;
        }
        for ((st, sev), n) in counts {
            o.sample(
                "jikimi_checks",
                &[("status", st.as_str()), ("severity", sev.as_str())],
                n as f64,
            );
        }
        o.family(
            "jikimi_waived_checks",
            "gauge",
            "Failing checks of the last scan under a waiver: active, expiring (within 14 days) or expired (failing again).",
        );
        for state in ["active", "expiring", "expired"] {
            let n = r
                .results
                .iter()
                .filter_map(|x| x.waiver.as_ref().map(|w| (x.status, w)))
                .filter(|(st, w)| match state {
                    "expired" => w.expired && *st == Status::Fail,
                    "expiring" => w.expiring && *st == Status::Waived,
                    _ => !w.expiring && *st == Status::Waived,
                })
                .count();
            o.sample("jikimi_waived_checks", &[("state", state)], n as f64);
        }
        sink_metrics(&mut o, r);
        if let Some(a) = &r.asset {
            asset_metrics(&mut o, a);
        }
        if opts.per_check {
            o.family(
                "jikimi_check_status",
                "gauge",
                "One series per check (opt-in): 1 for its current status.",
            );
            for res in &r.results {
                o.sample(
                    "jikimi_check_status",
                    &[
                        ("check", &res.id),
                        ("severity", res.severity.as_str()),
                        ("status", res.status.as_str()),
                        ("area", &res.area),
                    ],
                    1.0,
                );
            }
        }
    }
    if let Some(f) = facts {
        host_metrics(&mut o, f);
    }
    o.0
}

/// What each remote sink did in the scan (`Report::sinks`): one series per sink name (a
/// closed set: `securityhub`, `ssm_compliance`), only for sinks that ran.
fn sink_metrics(o: &mut Out, r: &Report) {
    if r.sinks.is_empty() {
        return;
    }
    type Getter = fn(&crate::sinks::SinkSummary) -> usize;
    let fams: [(&str, &str, Getter); 5] = [
        (
            "jikimi_sink_findings_sent",
            "Findings delivered by the sink after the last scan.",
            |s| s.sent,
        ),
        (
            "jikimi_sink_calls",
            "API requests the sink made after the last scan, retries included.",
            |s| s.calls,
        ),
        (
            "jikimi_sink_findings_failed",
            "Findings the service rejected after the last scan (retried by the next).",
            |s| s.failed,
        ),
        (
            "jikimi_sink_findings_pending",
            "Findings still to deliver after the last scan (rejected or not attempted).",
            |s| s.pending,
        ),
        (
            "jikimi_sink_errors",
            "Problems the sink reported after the last scan (0: clean delivery).",
            |s| s.errors.len(),
        ),
    ];
    for (name, help, get) in fams {
        o.family(name, "gauge", help);
        for (sink, s) in &r.sinks {
            o.sample(name, &[("sink", sink)], get(s) as f64);
        }
    }
}

/// Longest asset label value (tag values can reach 256 characters).
const ASSET_LABEL_MAX: usize = 128;

/// `jikimi_asset_info` (one series: the host's asset tags as a fixed label set) and
/// `jikimi_asset_product` (one series per matched rule; bounded by the rule count).
fn asset_metrics(o: &mut Out, a: &crate::classify::Asset) {
    use crate::classify as c;
    let tag = |k: &str| -> String {
        a.tags
            .get(k)
            .map(|v| v.chars().take(ASSET_LABEL_MAX).collect())
            .unwrap_or_default()
    };
    o.family(
        "jikimi_asset_info",
        "gauge",
        "Asset classification of the host (always 1): type, product, environment, owner, personal data.",
    );
    let (t, p, e, w, pd) = (
        tag(c::ASSET_TYPE),
        tag(c::PRODUCT),
        tag(c::ENV),
        tag(c::OWNER),
        tag(c::PERSONAL_DATA),
    );
    o.sample(
        "jikimi_asset_info",
        &[
            ("asset_type", &t),
            ("product", &p),
            ("env", &e),
            ("owner", &w),
            ("personal_data", &pd),
        ],
        1.0,
    );
    o.family(
        "jikimi_asset_product",
        "gauge",
        "One series per classification rule that matched (always 1).",
    );
    for m in &a.matches {
        let get = |k: &str| m.tags.get(k).map(String::as_str).unwrap_or("");
        o.sample(
            "jikimi_asset_product",
            &[
                ("rule", &m.rule),
                ("asset_type", get(c::ASSET_TYPE)),
                ("product", get(c::PRODUCT)),
            ],
            1.0,
        );
    }
}

fn host_metrics(o: &mut Out, f: &Facts) {
    if let Ok(c) = host::cpu(f) {
        o.family("jikimi_host_cpus", "gauge", "Logical CPUs.");
        o.sample("jikimi_host_cpus", &[], c.count as f64);
        o.family(
            "jikimi_host_cpu_busy_ratio",
            "gauge",
            "Share of CPU time not idle since boot (0..1).",
        );
        o.sample("jikimi_host_cpu_busy_ratio", &[], c.usage_pct / 100.0);
        o.family(
            "jikimi_host_load_average",
            "gauge",
            "Load average by period.",
        );
        for (p, v) in ["1m", "5m", "15m"].iter().zip(c.load) {
            o.sample("jikimi_host_load_average", &[("period", p)], v);
        }
    }
    if let Ok(m) = host::memory(f) {
        o.family(
            "jikimi_host_memory_bytes",
            "gauge",
            "Memory by kind (total, available).",
        );
        o.sample(
            "jikimi_host_memory_bytes",
            &[("kind", "total")],
            m.total as f64,
        );
        o.sample(
            "jikimi_host_memory_bytes",
            &[("kind", "available")],
            m.available as f64,
        );
        o.family(
            "jikimi_host_swap_bytes",
            "gauge",
            "Swap by kind (total, free).",
        );
        o.sample(
            "jikimi_host_swap_bytes",
            &[("kind", "total")],
            m.swap_total as f64,
        );
        o.sample(
            "jikimi_host_swap_bytes",
            &[("kind", "free")],
            m.swap_free as f64,
        );
    }
    if let Ok(ms) = f.mounts() {
        let with: Vec<_> = ms.iter().filter_map(|m| m.usage.map(|u| (m, u))).collect();
        if !with.is_empty() {
            type Getter = fn(&crate::facts::mounts::Usage) -> u64;
            let fams: [(&str, &str, Getter); 5] = [
                ("jikimi_filesystem_size_bytes", "Filesystem size.", |u| {
                    u.size_bytes
                }),
                (
                    "jikimi_filesystem_free_bytes",
                    "Free bytes (including root-reserved).",
                    |u| u.free_bytes,
                ),
                (
                    "jikimi_filesystem_avail_bytes",
                    "Bytes available to unprivileged users.",
                    |u| u.avail_bytes,
                ),
                ("jikimi_filesystem_files", "Inodes.", |u| u.inodes),
                ("jikimi_filesystem_files_free", "Free inodes.", |u| {
                    u.inodes_free
                }),
            ];
            let mut seen = std::collections::HashSet::new();
            let uniq: Vec<_> = with
                .into_iter()
                .filter(|(m, _)| seen.insert(m.mount_point.clone()))
                .collect();
            for (name, help, get) in fams {
                o.family(name, "gauge", help);
                for (m, u) in &uniq {
                    o.sample(
                        name,
                        &[("mountpoint", &m.mount_point), ("fstype", &m.fs_type)],
                        get(u) as f64,
                    );
                }
            }
        }
    }
    if let Ok(ps) = f.processes() {
        o.family(
            "jikimi_host_processes",
            "gauge",
            "Processes by state letter (R, S, D, Z, T, I...).",
        );
        let mut by: BTreeMap<String, u64> = BTreeMap::new();
        for p in ps.iter() {
            *by.entry(p.state.to_string()).or_default() += 1;
        }
        for (s, n) in by {
            o.sample("jikimi_host_processes", &[("state", &s)], n as f64);
        }
    }
    if let Ok(ss) = f.sockets() {
        o.family(
            "jikimi_host_listening_sockets",
            "gauge",
            "Listening sockets by protocol, port, process and whether bound beyond loopback.",
        );
        let mut by: BTreeMap<(String, u16, String, bool), u64> = BTreeMap::new();
        for s in ss.iter() {
            let key = (
                s.protocol.to_string(),
                s.port,
                s.process.clone().unwrap_or_default(),
                !s.is_loopback(),
            );
            *by.entry(key).or_default() += 1;
        }
        for ((proto, port, proc_, exposed), n) in by {
            let port = port.to_string();
            o.sample(
                "jikimi_host_listening_sockets",
                &[
                    ("protocol", &proto),
                    ("port", &port),
                    ("process", &proc_),
                    ("exposed", if exposed { "true" } else { "false" }),
                ],
                n as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_shape() {
        let text = render(
            None,
            None,
            &Counters {
                scans_ok: 2,
                ..Default::default()
            },
            Options::default(),
        );
        assert!(text.contains("# TYPE jikimi_scans_total counter\n"));
        assert!(text.contains("jikimi_scans_total{result=\"ok\"} 2\n"));
        assert!(!text.contains("jikimi_checks"), "no scan yet: no results");
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn waived_checks_are_counted_without_check_labels() {
        use crate::findings::Status;
        use crate::sinks::asff::tests::{report, result};
        use crate::waivers::{apply, Waiver, Waivers};
        let mut r = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Fail),
            result("A-3", Status::Fail),
        ]);
        let w = |check: &str, expires: &str| Waiver {
            check: check.into(),
            hosts: vec![],
            tags: Default::default(),
            reason: "r".into(),
            approved_by: "a".into(),
            expires: crate::time::parse_date(expires).unwrap(),
            origin: "t:1".into(),
        };
        let ws = Waivers {
            list: vec![
                w("A-1", "2027-06-01"),
                w("A-2", "2026-12-10"),
                w("A-3", "2026-12-01"),
            ],
        };
        apply(
            &mut r,
            &ws,
            crate::time::parse_date("2026-12-06").unwrap(),
            None,
        );
        let text = render(Some(&r), None, &Counters::default(), Options::default());
        for want in [
            "jikimi_waived_checks{state=\"active\"} 1\n",
            "jikimi_waived_checks{state=\"expiring\"} 1\n",
            "jikimi_waived_checks{state=\"expired\"} 1\n",
            "jikimi_checks{status=\"WAIVED\",severity=\"high\"} 2\n",
            "jikimi_checks{status=\"FAIL\",severity=\"high\"} 1\n",
        ] {
            assert!(text.contains(want), "{want}\n{text}");
        }
        assert!(!text.contains("A-1"), "no check ids in the default series");
    }

    #[test]
    fn sink_health_per_sink() {
        use crate::report::{AgentInfo, CatalogInfo, HostInfo};
        let mut r = Report {
            schema_version: 1,
            agent: AgentInfo {
                name: "jikimi",
                version: "0",
            },
            host: HostInfo {
                hostname: "h".into(),
                machine_id: "m".into(),
                os_id: "debian".into(),
                os_version: "12".into(),
                os_name: "Debian".into(),
                kernel: None,
                root: "/".into(),
                live: true,
            },
            catalog: CatalogInfo {
                digest: "d".into(),
                profile: Default::default(),
                checks: 0,
            },
            started_at: "2026-11-22T16:35:19.000Z".into(),
            finished_at: "2026-11-22T16:35:19.000Z".into(),
            duration_ms: 1.0,
            summary: Default::default(),
            results: vec![],
            sinks: Default::default(),
            asset: None,
        };
        let text = render(Some(&r), None, &Counters::default(), Options::default());
        assert!(
            !text.contains("jikimi_sink_"),
            "no sink ran: no sink series"
        );
        let mut s = crate::sinks::SinkSummary {
            sent: 7,
            calls: 2,
            failed: 1,
            pending: 3,
            ..Default::default()
        };
        s.error("throttled");
        r.sinks.insert("securityhub".into(), s);
        r.sinks.insert("ssm_compliance".into(), Default::default());
        let text = render(Some(&r), None, &Counters::default(), Options::default());
        for want in [
            "# TYPE jikimi_sink_findings_sent gauge\n",
            "jikimi_sink_findings_sent{sink=\"securityhub\"} 7\n",
            "jikimi_sink_calls{sink=\"securityhub\"} 2\n",
            "jikimi_sink_findings_failed{sink=\"securityhub\"} 1\n",
            "jikimi_sink_findings_pending{sink=\"securityhub\"} 3\n",
            "jikimi_sink_errors{sink=\"securityhub\"} 1\n",
            "jikimi_sink_findings_pending{sink=\"ssm_compliance\"} 0\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
