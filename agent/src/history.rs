//! Scan history: one compact record per scan under `STATE_DIR/history/`, read back by
//! `jikimi report`.
//!
//! - One file per scan, named `<unix ms, 13 digits>-<pid>-<seq>.json`, so names sort by time
//!   and two runs never write the same file. Each file is written atomically (temporary file,
//!   fsync, rename): a reader never sees half a record. The directory is not fsynced (that
//!   wait was ~3 ms of a 25 ms scan): after a power loss the newest record may be missing,
//!   never half there; the next scan writes a new one.
//! - Bounded: after each write, records older than `keep_days` (default 31) and the oldest
//!   beyond `max_records` (default 200) are removed, under an exclusive lock on
//!   `history/.lock`; a run that cannot take the lock quickly leaves pruning to the other.
//! - A record keeps, per check, id, status, severity and title; for failed and errored checks
//!   also references, remediation, the reason and at most three evidence lines. Plus the
//!   summary, and a summary of the host facts (CPU, memory, filesystems, exposed sockets).
//! - Writing history never fails a scan: the caller turns an error into a warning.

use crate::facts::{host, Facts};
use crate::findings::{References, Severity, Status, Summary};
use crate::report::Report;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Default retention.
pub const KEEP_DAYS: u64 = 31;
pub const MAX_RECORDS: usize = 200;
/// Evidence lines kept per check, and characters per line.
const EVIDENCE_LINES: usize = 3;
const EVIDENCE_CHARS: usize = 240;
/// Filesystems and exposed sockets kept in the facts summary.
const MAX_FILESYSTEMS: usize = 24;
const MAX_EXPOSED: usize = 32;

/// `[history]` in the configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryConfig {
    /// Keep a scan history (default true).
    pub enabled: Option<bool>,
    /// Records older than this many days are removed (default 31).
    pub keep_days: Option<u64>,
    /// At most this many records are kept (default 200).
    pub max_records: Option<usize>,
}

/// One scan, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub schema_version: u32,
    pub agent_version: String,
    pub host: RecordHost,
    pub catalog_digest: String,
    pub profile: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: f64,
    pub summary: Summary,
    pub checks: Vec<CheckRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<FactsSummary>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecordHost {
    pub hostname: String,
    pub machine_id: String,
    pub os_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// The scan root (`/` on a live host).
    pub root: String,
    pub live: bool,
}

/// One check's result, reduced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRecord {
    pub id: String,
    pub status: Status,
    pub severity: Severity,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Failed and errored checks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<References>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// At most three lines, each shortened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Evidence items the check had in all.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evidence_total: usize,
    /// The waiver of a WAIVED check, or the expired one of a FAIL (`crate::waivers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<crate::findings::WaiverNote>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Host facts, summarised. Every part is optional: an image has no live facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FactsSummary {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Busy share since boot, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_busy_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<[f64; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemorySummary>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filesystems: Vec<FsSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zombies: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listening: Option<usize>,
    /// Listening sockets bound beyond loopback, `tcp/22 sshd`, at most 32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposed: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MemorySummary {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_free_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FsSummary {
    pub mount_point: String,
    pub fs_type: String,
    pub size_bytes: u64,
    pub used_pct: f64,
    pub inodes_used_pct: f64,
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

impl FactsSummary {
    /// Summarises what can be collected (facts already collected by the scan are reused).
    pub fn collect(f: &Facts) -> FactsSummary {
        let mut s = FactsSummary {
            uptime_secs: f.os().uptime_secs,
            ..Default::default()
        };
        if let Ok(c) = host::cpu(f) {
            s.cpus = Some(c.count);
            s.cpu_model = Some(c.model.clone()).filter(|m| !m.is_empty());
            s.cpu_busy_pct = Some(round1(c.usage_pct));
            s.load = Some(c.load);
        }
        if let Ok(m) = host::memory(f) {
            s.memory = Some(MemorySummary {
                total_bytes: m.total,
                available_bytes: m.available,
                swap_total_bytes: m.swap_total,
                swap_free_bytes: m.swap_free,
            });
        }
        if let Ok(ms) = f.mounts() {
            let mut seen = std::collections::HashSet::new();
            for m in ms.iter().filter(|m| !m.is_pseudo() || m.fs_type == "tmpfs") {
                let Some(u) = m.usage else { continue };
                if u.size_bytes == 0 || !seen.insert(m.mount_point.clone()) {
                    continue;
                }
                s.filesystems.push(FsSummary {
                    mount_point: m.mount_point.clone(),
                    fs_type: m.fs_type.clone(),
                    size_bytes: u.size_bytes,
                    used_pct: round1(u.used_pct()),
                    inodes_used_pct: round1(u.inodes_used_pct()),
                });
            }
            // the fullest first, so truncation keeps what matters
            s.filesystems
                .sort_by(|a, b| b.used_pct.total_cmp(&a.used_pct));
            s.filesystems.truncate(MAX_FILESYSTEMS);
        }
        if let Ok(ps) = f.processes() {
            s.processes = Some(ps.len());
            s.zombies = Some(ps.iter().filter(|p| p.state == 'Z').count());
        }
        if let Ok(ss) = f.sockets() {
            s.listening = Some(ss.len());
            let mut exp: Vec<String> = ss
                .iter()
                .filter(|x| !x.is_loopback())
                .map(|x| {
                    format!(
                        "{}/{} {}",
                        x.protocol,
                        x.port,
                        x.process.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            exp.sort();
            exp.dedup();
            exp.truncate(MAX_EXPOSED);
            s.exposed = exp;
        }
        s
    }
}

impl Record {
    /// Reduces a report (and the facts of its scan, when there are any) to a record.
    pub fn of(report: &Report, facts: Option<&Facts>) -> Record {
        let checks = report
            .results
            .iter()
            .map(|r| {
                let detailed = matches!(r.status, Status::Fail | Status::Error);
                CheckRecord {
                    id: r.id.clone(),
                    status: r.status,
                    severity: r.severity,
                    title: r.title.clone(),
                    reason: r
                        .reason
                        .as_deref()
                        .filter(|_| r.status != Status::Pass)
                        .map(|x| shorten(x, EVIDENCE_CHARS)),
                    references: Some(r.references.clone()).filter(|_| detailed),
                    remediation: Some(r.remediation.clone()).filter(|x| detailed && !x.is_empty()),
                    evidence: if detailed {
                        r.evidence
                            .iter()
                            .take(EVIDENCE_LINES)
                            .map(|e| shorten(&e.to_string(), EVIDENCE_CHARS))
                            .collect()
                    } else {
                        Vec::new()
                    },
                    evidence_total: if detailed { r.evidence.len() } else { 0 },
                    waiver: r.waiver.clone(),
                }
            })
            .collect();
        Record {
            schema_version: 1,
            agent_version: report.agent.version.to_string(),
            host: RecordHost {
                hostname: report.host.hostname.clone(),
                machine_id: report.host.machine_id.clone(),
                os_name: report.host.os_name.clone(),
                kernel: report.host.kernel.clone(),
                root: report.host.root.clone(),
                live: report.host.live,
            },
            catalog_digest: report.catalog.digest.clone(),
            profile: report.catalog.profile.as_str().to_string(),
            started_at: report.started_at.clone(),
            finished_at: report.finished_at.clone(),
            duration_ms: (report.duration_ms * 10.0).round() / 10.0,
            summary: report.summary.clone(),
            checks,
            facts: facts.map(FactsSummary::collect),
        }
    }

    /// When the scan finished (the Unix epoch if the stored time is malformed).
    pub fn time(&self) -> SystemTime {
        crate::time::parse_rfc3339(&self.finished_at).unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// Where and how much history to keep.
#[derive(Debug, Clone)]
pub struct Settings {
    pub dir: PathBuf,
    pub keep: Duration,
    pub max_records: usize,
}

impl Settings {
    /// `STATE_DIR/history` with the configured bounds.
    pub fn new(state_dir: &Path, cfg: &HistoryConfig) -> Settings {
        Settings {
            dir: state_dir.join("history"),
            keep: Duration::from_secs(cfg.keep_days.unwrap_or(KEEP_DAYS).max(1) * 86_400),
            max_records: cfg.max_records.unwrap_or(MAX_RECORDS).max(1),
        }
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn file_name(t: SystemTime) -> String {
    format!(
        "{:013}-{}-{}.json",
        crate::time::unix_ms(t),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// The time encoded in a record's file name.
fn name_ms(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    let (ms, rest) = stem.split_once('-')?;
    if ms.len() != 13 || !rest.contains('-') {
        return None;
    }
    ms.parse().ok()
}

/// Why the history could not be written or read.
#[derive(thiserror::Error)]
pub enum HistoryError {
    /// The state layer (directory, lock, atomic write) failed; its message names the path.
    #[error("{0}")]
    State(#[source] crate::state::StateError),
    #[error("cannot encode record: {0}")]
    Encode(#[source] serde_json::Error),
    #[error("cannot list {}: {source}", dir.display())]
    List {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove {name}: {source}")]
    Remove {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// A scan's record was not stored.
    #[error("scan history not written: {0}")]
    NotWritten(#[source] Box<HistoryError>),
}
crate::error_text::debug_as_display!(HistoryError);

/// Stores a record and prunes the history; returns the record's path.
pub fn store(s: &Settings, rec: &Record) -> Result<PathBuf, HistoryError> {
    crate::state::ensure_dir(&s.dir).map_err(HistoryError::State)?;
    let path = s.dir.join(file_name(rec.time()));
    let data = serde_json::to_vec(rec).map_err(HistoryError::Encode)?;
    crate::state::write_record(&path, &data).map_err(HistoryError::State)?;
    // Pruning is best effort: if another run holds the lock, it prunes.
    if let Ok(_lock) = crate::state::lock(&s.dir, ".lock", Duration::from_secs(2)) {
        prune(s, SystemTime::now())?;
    }
    Ok(path)
}

/// Record file names, oldest first.
fn list(dir: &Path) -> Result<Vec<(u64, String)>, HistoryError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(HistoryError::List {
                dir: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut v: Vec<(u64, String)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            name_ms(&n).map(|ms| (ms, n))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Removes records older than the retention and the oldest beyond the count; also
/// temporary files a crashed run left behind (older than an hour).
pub fn prune(s: &Settings, now: SystemTime) -> Result<usize, HistoryError> {
    let names = list(&s.dir)?;
    let cutoff = crate::time::unix_ms(now).saturating_sub(s.keep.as_millis() as u64);
    let excess = names.len().saturating_sub(s.max_records);
    let mut removed = 0;
    for (i, (ms, name)) in names.iter().enumerate() {
        if i < excess || *ms < cutoff {
            match std::fs::remove_file(s.dir.join(name)) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(HistoryError::Remove {
                        name: name.clone(),
                        source,
                    })
                }
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(&s.dir) {
        for e in rd.filter_map(|e| e.ok()) {
            let n = e.file_name().to_string_lossy().into_owned();
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
            if n.starts_with('.') && n.contains(".tmp.") && old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(removed)
}

/// Every readable record, oldest first, and how many files could not be read.
pub fn load(dir: &Path) -> Result<(Vec<Record>, usize), HistoryError> {
    let mut out = Vec::new();
    let mut bad = 0;
    for (_, name) in list(dir)? {
        let rec = crate::state::read(&dir.join(&name))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok());
        match rec {
            Some(r) => out.push(r),
            None => bad += 1,
        }
    }
    out.sort_by_key(|r| r.time());
    Ok((out, bad))
}

/// Stores the record of a scan when history is kept for it (`settings`, from
/// `Config::history_settings`). `Ok(None)`: not kept.
pub fn record_scan(
    report: &Report,
    facts: Option<&Facts>,
    settings: Option<&Settings>,
) -> Result<Option<PathBuf>, HistoryError> {
    let Some(s) = settings else {
        return Ok(None);
    };
    store(s, &Record::of(report, facts))
        .map(Some)
        .map_err(|e| HistoryError::NotWritten(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ms: u64, score: f64) -> Record {
        Record {
            schema_version: 1,
            agent_version: "0".into(),
            host: RecordHost::default(),
            catalog_digest: String::new(),
            profile: "kisa".into(),
            started_at: crate::time::rfc3339(crate::time::from_unix_ms(ms)),
            finished_at: crate::time::rfc3339(crate::time::from_unix_ms(ms)),
            duration_ms: 1.0,
            summary: Summary {
                score,
                ..Default::default()
            },
            checks: vec![],
            facts: None,
        }
    }

    #[test]
    fn names_sort_by_time_and_parse_back() {
        let n = file_name(crate::time::from_unix_ms(1_795_365_319_123));
        assert!(n.starts_with("1795365319123-"), "{n}");
        assert_eq!(name_ms(&n), Some(1_795_365_319_123));
        assert_eq!(name_ms(".lock"), None);
        assert_eq!(name_ms("x.json"), None);
        assert_ne!(n, file_name(crate::time::from_unix_ms(1_795_365_319_123)));
    }

    #[test]
    fn store_load_and_bounds() {
        let d = tempfile::tempdir().unwrap();
        let day = 86_400_000u64;
        let now = crate::time::unix_ms(SystemTime::now());
        let s = Settings {
            dir: d.path().join("history"),
            keep: Duration::from_secs(2 * 86_400),
            max_records: 3,
        };
        // two too old, then five recent: the three newest stay
        for (i, ms) in [now - 5 * day, now - 3 * day]
            .into_iter()
            .chain((0..5).map(|i| now - 60_000 * (5 - i)))
            .enumerate()
        {
            store(&s, &record(ms, i as f64)).unwrap();
        }
        let (recs, bad) = load(&s.dir).unwrap();
        assert_eq!(bad, 0);
        let scores: Vec<f64> = recs.iter().map(|r| r.summary.score).collect();
        assert_eq!(scores, vec![4.0, 5.0, 6.0]);
        // a broken file is counted, not fatal; no temporary file is left
        std::fs::write(s.dir.join(format!("{now:013}-1-1.json")), b"{").unwrap();
        let (recs, bad) = load(&s.dir).unwrap();
        assert_eq!((recs.len(), bad), (3, 1));
        assert!(std::fs::read_dir(&s.dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp.")));
        // only the age bound
        let s2 = Settings {
            max_records: 100,
            ..s.clone()
        };
        assert_eq!(
            prune(&s2, SystemTime::now() + Duration::from_secs(3 * 86_400)).unwrap(),
            4
        );
        assert_eq!(load(&s.dir).unwrap().0.len(), 0);
        // a missing directory is an empty history
        assert_eq!(load(&d.path().join("nope")).unwrap().0.len(), 0);
    }

    #[test]
    fn concurrent_writers_keep_every_record() {
        let d = tempfile::tempdir().unwrap();
        let s = Settings {
            dir: d.path().join("history"),
            keep: Duration::from_secs(86_400),
            max_records: 1000,
        };
        let now = crate::time::unix_ms(SystemTime::now());
        std::thread::scope(|sc| {
            for t in 0..4 {
                let s = &s;
                sc.spawn(move || {
                    for i in 0..10 {
                        // same millisecond on purpose
                        store(s, &record(now, (t * 10 + i) as f64)).unwrap();
                    }
                });
            }
        });
        assert_eq!(load(&s.dir).unwrap().0.len(), 40);
    }

    #[test]
    fn shorten_counts_characters() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("가나다라", 3), "가나…");
    }
}
