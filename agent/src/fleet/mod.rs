//! One report for the whole fleet, built from the findings every host sent to Security Hub
//! (`jikimi fleet report`). Each host's own daily report shows one host; this module shows
//! which hosts stopped reporting, what failed or was fixed across the fleet, the checks that
//! fail everywhere, the worst hosts, and how asset classes (AssetType, Env, Owner,
//! PersonalData) compare.
//!
//! [`build`] is a pure function of the findings (as GetFindings returns them), the report
//! time and the window, so the report is tested without a network and is byte-stable: every
//! list is sorted with full tie-breaks and the time is a parameter. The renderers are in
//! [`render`]; the command in [`cli`].
//!
//! What the findings allow to derive (the agent's delta sync shapes them; see
//! `sinks::securityhub`): a finding holds one version per (host, check), the current one.
//! `FirstObservedAt` is when its current status began and `CreatedAt` when the (host,
//! check) pair was first sent, so a status that began inside the window and a finding
//! created before it means the status changed inside the window. The previous window's
//! score is derived from that: a FAILED↔PASSED change is undone, a finding created inside
//! the window did not exist before, an archived finding is counted with its last status.
//! A check that went FAIL → PASS → FAIL within the window shows as newly failed once.

pub mod cli;
pub mod render;

use crate::findings::Severity;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Hosts listed as the worst, and checks listed as the top failing.
pub const WORST_HOSTS: usize = 10;
pub const TOP_CHECKS: usize = 10;
/// Hosts named per check in the top failing checks (the rest are counted).
pub const HOSTS_NAMED: usize = 20;
/// Classification tags broken down, in this order, with the instance tag names that stand
/// for them (the agent sends `jikimi:AssetType`; Env, Owner and PersonalData may come from
/// the instance's own tags, as `classify` reads them).
pub const TAG_KEYS: &[(&str, &[&str])] = &[
    ("AssetType", &[]),
    ("Env", &["Env", "Environment"]),
    ("Owner", &["Owner"]),
    ("PersonalData", &["PersonalData", "Personal-Data", "PII"]),
];
/// Prefix of the classification's tag keys in `Resources[].Tags` (`classify::DEFAULT_PREFIX`).
pub const TAG_PREFIX: &str = crate::classify::DEFAULT_PREFIX;

/// Compliance state of one finding, as the report counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    Passed,
    Failed,
    /// FAILED with workflow `SUPPRESSED`: an accepted risk (waiver); not in the score.
    Waived,
    /// NOT_AVAILABLE (not applicable, or the check erred).
    NotAvailable,
}

/// One finding, reduced to what the report uses.
#[derive(Debug, Clone)]
pub struct Obs {
    pub id: String,
    /// `Resources[0].Id` (the host's ARN).
    pub host: String,
    pub hostname: String,
    pub check_id: String,
    pub title: String,
    pub severity: Severity,
    pub state: State,
    pub active: bool,
    pub created_ms: u64,
    pub first_observed_ms: u64,
    pub last_observed_ms: u64,
    pub updated_ms: u64,
    /// The classification tags ([`class_tags`]).
    pub tags: BTreeMap<String, String>,
}

/// A finding that cannot be read: which one (its Id, cut to 200 characters, when it has
/// one) and what is wrong.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", id.as_ref().map(|i| format!("finding {i}: ")).unwrap_or_default())]
pub struct FindingError {
    pub id: Option<String>,
    pub problem: FindingProblem,
}
crate::error_text::debug_as_display!(FindingError);

/// What is wrong with a finding (the reason findings are grouped by in the report).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindingProblem {
    /// A member is missing or empty (`Id`, `Resources[0].Id`, `check id`, `CreatedAt`...).
    #[error("no {0}")]
    Missing(&'static str),
    #[error("{0}")]
    Severity(crate::findings::UnknownSeverity),
    #[error("Compliance.Status {0:?}")]
    ComplianceStatus(Option<String>),
    #[error("RecordState {0:?}")]
    RecordState(Option<String>),
    /// A timestamp (the value cut to 40 characters).
    #[error("{field} `{value}` is not RFC 3339")]
    Time { field: &'static str, value: String },
}
crate::error_text::debug_as_display!(FindingProblem);

fn ms(v: &Value, field: &'static str) -> Result<u64, FindingProblem> {
    let s = v[field].as_str().ok_or(FindingProblem::Missing(field))?;
    crate::time::parse_rfc3339(s)
        .map(crate::time::unix_ms)
        .ok_or_else(|| FindingProblem::Time {
            field,
            value: crate::sinks::asff::clip(s, 40),
        })
}

/// Parses one GetFindings finding; the error says what is missing.
pub fn parse(f: &Value) -> Result<Obs, FindingError> {
    let id = f["Id"]
        .as_str()
        .ok_or(FindingError {
            id: None,
            problem: FindingProblem::Missing("Id"),
        })?
        .to_string();
    let at = |problem: FindingProblem| FindingError {
        id: Some(crate::sinks::asff::clip(&id, 200)),
        problem,
    };
    let pf = &f["ProductFields"];
    let res = &f["Resources"][0];
    let host = res["Id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| at(FindingProblem::Missing("Resources[0].Id")))?
        .to_string();
    let check_id = pf["jikimi/CheckId"]
        .as_str()
        .or_else(|| {
            f["GeneratorId"]
                .as_str()
                .and_then(|g| g.strip_prefix("jikimi/"))
        })
        .filter(|s| !s.is_empty())
        .ok_or_else(|| at(FindingProblem::Missing("check id")))?
        .to_string();
    let sev_text = pf["jikimi/Severity"]
        .as_str()
        .or_else(|| f["FindingProviderFields"]["Severity"]["Original"].as_str())
        .or_else(|| f["Severity"]["Original"].as_str())
        .ok_or_else(|| at(FindingProblem::Missing("severity")))?;
    let severity: Severity = sev_text
        .parse()
        .map_err(|e| at(FindingProblem::Severity(e)))?;
    let suppressed = f["Workflow"]["Status"] == "SUPPRESSED";
    let state = match f["Compliance"]["Status"].as_str() {
        Some("PASSED") => State::Passed,
        Some("FAILED") if suppressed => State::Waived,
        Some("FAILED") => State::Failed,
        Some("NOT_AVAILABLE") | Some("WARNING") => State::NotAvailable,
        other => {
            return Err(at(FindingProblem::ComplianceStatus(
                other.map(str::to_string),
            )))
        }
    };
    let active = match f["RecordState"].as_str() {
        Some("ACTIVE") => true,
        Some("ARCHIVED") => false,
        other => return Err(at(FindingProblem::RecordState(other.map(str::to_string)))),
    };
    let all_tags: BTreeMap<String, String> = res["Tags"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let tags = class_tags(&all_tags);
    Ok(Obs {
        hostname: pf["jikimi/Hostname"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or(&host)
            .to_string(),
        title: f["Title"].as_str().unwrap_or(&check_id).to_string(),
        created_ms: ms(f, "CreatedAt").map_err(at)?,
        first_observed_ms: ms(f, "FirstObservedAt").map_err(at)?,
        last_observed_ms: ms(f, "LastObservedAt").map_err(at)?,
        updated_ms: ms(f, "UpdatedAt").map_err(at)?,
        id,
        host,
        check_id,
        severity,
        state,
        active,
        tags,
    })
}

/// The parameters of one report.
#[derive(Debug, Clone)]
pub struct Params {
    /// Report time (Unix ms).
    pub now_ms: u64,
    /// The window: `now - since .. now`.
    pub since_ms: u64,
    /// Its label (`24h`).
    pub since_label: String,
    /// A host is silent when its newest LastObservedAt is older than this.
    pub silent_after_ms: u64,
    /// Where the findings came from (account, regions), for the header.
    pub scope: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

impl Counts {
    fn add(&mut self, s: Severity) {
        match s {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
            Severity::Info => self.info += 1,
        }
    }
    pub fn total(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Totals {
    /// Hosts with at least one active finding.
    pub hosts: usize,
    /// Hosts heard from within the silence threshold.
    pub hosts_reporting: usize,
    pub hosts_silent: usize,
    /// Hosts whose first finding was created inside the window.
    pub hosts_new: usize,
    /// Active findings by state.
    pub passed: usize,
    pub failed: usize,
    pub waived: usize,
    pub not_available: usize,
    pub failed_by_severity: Counts,
    pub waived_by_severity: Counts,
    /// Severity-weighted, as the per-host score (`findings::Summary`): passed weight over
    /// passed + failed weight, 0..100, one decimal; waived checks are outside it.
    pub score: f64,
    /// The same score at the start of the window, when derivable (see the module doc).
    pub previous_score: Option<f64>,
    /// `score - previous_score`, one decimal.
    pub score_change: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Host {
    pub hostname: String,
    pub resource: String,
    pub last_observed_at: String,
    pub silent: bool,
    pub failed: usize,
    pub failed_by_severity: Counts,
    pub waived: usize,
    pub score: f64,
    /// Classification tags (key without the prefix) → value.
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckGroup {
    pub check_id: String,
    pub title: String,
    pub severity: Severity,
    /// Host names, sorted.
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopCheck {
    pub check_id: String,
    pub title: String,
    pub severity: Severity,
    pub hosts_failing: usize,
    /// Share of the hosts that run the check (active finding) and fail it, in percent.
    pub percent: f64,
    /// The first [`HOSTS_NAMED`] host names.
    pub hosts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TagValue {
    pub value: String,
    pub hosts: usize,
    pub failed: usize,
    pub failed_by_severity: Counts,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TagGroup {
    pub key: String,
    /// Sorted by value; hosts without the tag are under `(none)`.
    pub values: Vec<TagValue>,
}

/// The fleet report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FleetReport {
    pub generated_at: String,
    pub window: String,
    pub window_start: String,
    pub scope: String,
    pub silent_after_secs: u64,
    pub totals: Totals,
    /// Silent hosts, longest silent first.
    pub silent_hosts: Vec<Host>,
    pub newly_failed: Vec<CheckGroup>,
    pub fixed: Vec<CheckGroup>,
    /// Fixed by archiving: the check no longer applies to the host or was dropped from its
    /// catalog (the agent archives those findings).
    pub archived: Vec<CheckGroup>,
    pub top_failing_checks: Vec<TopCheck>,
    pub worst_hosts: Vec<Host>,
    pub by_tag: Vec<TagGroup>,
    /// Findings read, and findings left out with the reason.
    pub findings_read: usize,
    pub notes: Vec<String>,
    /// Language of the Markdown, HTML, mail and Slack text (`crate::i18n`); JSON keys stay
    /// English.
    #[serde(skip)]
    pub lang: crate::i18n::Lang,
}

impl FleetReport {
    /// Replaces check titles (as the hosts sent them) with `title(check_id)` where it
    /// answers: the titles in the report's language from the local catalog.
    pub fn retitle(&mut self, title: &dyn Fn(&str) -> Option<String>) {
        for g in self
            .newly_failed
            .iter_mut()
            .chain(self.fixed.iter_mut())
            .chain(self.archived.iter_mut())
        {
            if let Some(t) = title(&g.check_id) {
                g.title = t;
            }
        }
        for c in &mut self.top_failing_checks {
            if let Some(t) = title(&c.check_id) {
                c.title = t;
            }
        }
    }
}

fn score(ok_w: u64, all_w: u64) -> f64 {
    if all_w == 0 {
        100.0
    } else {
        ((ok_w as f64 / all_w as f64) * 1000.0).round() / 10.0
    }
}

#[derive(Default)]
struct Weights {
    ok: u64,
    all: u64,
}

impl Weights {
    fn add(&mut self, s: Severity, passed: bool) {
        let w = s.weight() as u64;
        self.all += w;
        if passed {
            self.ok += w;
        }
    }
    fn score(&self) -> f64 {
        score(self.ok, self.all)
    }
}

/// The classification tags of a host: `jikimi:Key`, else an instance tag standing for it.
pub fn class_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, aliases) in TAG_KEYS {
        let prefixed = tags.get(&format!("{TAG_PREFIX}{key}"));
        let alias = || {
            aliases.iter().find_map(|a| {
                tags.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(a))
                    .map(|(_, v)| v)
            })
        };
        if let Some(v) = prefixed.or_else(alias) {
            out.insert(key.to_string(), v.clone());
        }
    }
    out
}

fn group(map: BTreeMap<(String, String), (String, Severity, BTreeSet<String>)>) -> Vec<CheckGroup> {
    let mut v: Vec<CheckGroup> = map
        .into_iter()
        .map(|((check_id, _), (title, severity, hosts))| CheckGroup {
            check_id,
            title,
            severity,
            hosts: hosts.into_iter().collect(),
        })
        .collect();
    // Most severe first, then most hosts, then check id.
    v.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.hosts.len().cmp(&a.hosts.len()))
            .then(a.check_id.cmp(&b.check_id))
    });
    v
}

/// Findings as they arrive, reduced to [`Obs`] at once (a page of JSON is dropped as soon
/// as it is read): duplicates of an Id keep the newest UpdatedAt; unparseable findings are
/// counted by reason.
#[derive(Debug, Default)]
pub struct Input {
    by_id: BTreeMap<String, Obs>,
    bad: BTreeMap<String, usize>,
    read: usize,
}

impl Input {
    /// The findings kept so far (the newest version of each), by finding id.
    pub fn observations(&self) -> impl Iterator<Item = &Obs> {
        self.by_id.values()
    }

    pub fn add(&mut self, f: &Value) {
        self.read += 1;
        match parse(f) {
            Ok(o) => match self.by_id.get(&o.id) {
                Some(old) if old.updated_ms >= o.updated_ms => {}
                _ => {
                    self.by_id.insert(o.id.clone(), o);
                }
            },
            Err(e) => {
                // Grouped by reason, without the finding id.
                *self.bad.entry(e.problem.to_string()).or_default() += 1;
            }
        }
    }
}

/// Builds the report from GetFindings findings (any order).
pub fn build(findings: &[Value], p: &Params) -> FleetReport {
    let mut input = Input::default();
    for f in findings {
        input.add(f);
    }
    build_from(input, p)
}

/// Builds the report from the findings collected in `input`.
pub fn build_from(input: Input, p: &Params) -> FleetReport {
    let Input { by_id, bad, read } = input;
    let mut notes = Vec::new();
    for (why, n) in &bad {
        notes.push(format!("{n} finding(s) left out: {why}"));
    }
    let start = p.now_ms.saturating_sub(p.since_ms);
    let in_window = |t: u64| t >= start && t <= p.now_ms;
    let silent_before = p.now_ms.saturating_sub(p.silent_after_ms);

    // Hosts: from active findings.
    struct H {
        hostname: String,
        last: u64,
        first_created: u64,
        weights: Weights,
        failed: Counts,
        waived: usize,
        tags: BTreeMap<String, String>,
        tags_at: u64,
    }
    let mut hosts: BTreeMap<String, H> = BTreeMap::new();
    let mut t_failed = Counts::default();
    let mut t_waived = Counts::default();
    let (mut passed, mut na) = (0, 0);
    let mut now_w = Weights::default();
    let mut prev_w = Weights::default();
    let mut prev_known = false;
    let mut newly: BTreeMap<(String, String), (String, Severity, BTreeSet<String>)> =
        BTreeMap::new();
    let mut fixed = newly.clone();
    let mut archived = newly.clone();
    // check → (title, severity, hosts running it, hosts failing it)
    type CheckStat = (String, Severity, BTreeSet<String>, BTreeSet<String>);
    let mut checks: BTreeMap<String, CheckStat> = BTreeMap::new();
    for o in by_id.values() {
        if o.created_ms < start {
            prev_known = true;
        }
        let key = (o.check_id.clone(), o.title.clone());
        if !o.active {
            // Archived inside the window: it left the fleet's open findings.
            if in_window(o.updated_ms) {
                if o.state != State::Passed {
                    archived
                        .entry(key)
                        .or_insert_with(|| (o.title.clone(), o.severity, BTreeSet::new()))
                        .2
                        .insert(o.hostname.clone());
                }
                if o.created_ms < start {
                    match o.state {
                        State::Passed => prev_w.add(o.severity, true),
                        State::Failed => prev_w.add(o.severity, false),
                        _ => {}
                    }
                }
            }
            continue;
        }
        let h = hosts.entry(o.host.clone()).or_insert_with(|| H {
            hostname: o.hostname.clone(),
            last: 0,
            first_created: u64::MAX,
            weights: Weights::default(),
            failed: Counts::default(),
            waived: 0,
            tags: BTreeMap::new(),
            tags_at: 0,
        });
        // The newest finding names the host and carries its current tags.
        if o.last_observed_ms >= h.tags_at {
            h.tags_at = o.last_observed_ms;
            h.tags = o.tags.clone();
            h.hostname = o.hostname.clone();
        }
        h.last = h.last.max(o.last_observed_ms);
        h.first_created = h.first_created.min(o.created_ms);
        let c = checks.entry(o.check_id.clone()).or_insert_with(|| {
            (
                o.title.clone(),
                o.severity,
                BTreeSet::new(),
                BTreeSet::new(),
            )
        });
        let changed = in_window(o.first_observed_ms) && o.created_ms < o.first_observed_ms;
        match o.state {
            State::Passed => {
                passed += 1;
                h.weights.add(o.severity, true);
                now_w.add(o.severity, true);
                c.2.insert(o.host.clone());
                if changed {
                    fixed
                        .entry(key)
                        .or_insert_with(|| (o.title.clone(), o.severity, BTreeSet::new()))
                        .2
                        .insert(o.hostname.clone());
                }
            }
            State::Failed => {
                t_failed.add(o.severity);
                h.failed.add(o.severity);
                h.weights.add(o.severity, false);
                now_w.add(o.severity, false);
                c.2.insert(o.host.clone());
                c.3.insert(o.host.clone());
                if in_window(o.first_observed_ms) {
                    newly
                        .entry(key)
                        .or_insert_with(|| (o.title.clone(), o.severity, BTreeSet::new()))
                        .2
                        .insert(o.hostname.clone());
                }
            }
            State::Waived => {
                t_waived.add(o.severity);
                h.waived += 1;
            }
            State::NotAvailable => na += 1,
        }
        // The state at the window's start.
        if o.created_ms < start {
            let was = match (o.state, in_window(o.first_observed_ms)) {
                (State::Passed, false) => Some(true),
                (State::Failed, false) => Some(false),
                (State::Passed, true) => Some(false),
                (State::Failed, true) => Some(true),
                _ => None,
            };
            if let Some(ok) = was {
                prev_w.add(o.severity, ok);
            }
        }
    }
    if by_id
        .values()
        .any(|o| in_window(o.first_observed_ms) && o.state == State::NotAvailable)
    {
        notes.push(
            "the previous score assumes a changed finding was PASSED or FAILED before; \
             changes from or to NOT_AVAILABLE are not counted"
                .into(),
        );
    }
    let host_row = |key: &String, h: &H| Host {
        hostname: h.hostname.clone(),
        resource: key.clone(),
        last_observed_at: crate::time::rfc3339(crate::time::from_unix_ms(h.last)),
        silent: h.last < silent_before,
        failed: h.failed.total(),
        failed_by_severity: h.failed.clone(),
        waived: h.waived,
        score: h.weights.score(),
        tags: h.tags.clone(),
    };
    let rows: Vec<Host> = hosts.iter().map(|(k, h)| host_row(k, h)).collect();
    let mut silent: Vec<Host> = rows.iter().filter(|h| h.silent).cloned().collect();
    silent.sort_by(|a, b| {
        a.last_observed_at
            .cmp(&b.last_observed_at)
            .then(a.hostname.cmp(&b.hostname))
            .then(a.resource.cmp(&b.resource))
    });
    let mut worst: Vec<Host> = rows.iter().filter(|h| h.failed > 0).cloned().collect();
    let sev_key = |c: &Counts| (c.critical, c.high, c.medium, c.low, c.info);
    worst.sort_by(|a, b| {
        a.score
            .total_cmp(&b.score)
            .then(sev_key(&b.failed_by_severity).cmp(&sev_key(&a.failed_by_severity)))
            .then(a.hostname.cmp(&b.hostname))
            .then(a.resource.cmp(&b.resource))
    });
    worst.truncate(WORST_HOSTS);

    let mut top: Vec<TopCheck> = checks
        .into_iter()
        .filter(|(_, c)| !c.3.is_empty())
        .map(|(id, (title, severity, running, failing))| {
            let mut names: Vec<String> = failing
                .iter()
                .map(|k| hosts.get(k).map_or(k.clone(), |h| h.hostname.clone()))
                .collect();
            names.sort();
            names.truncate(HOSTS_NAMED);
            TopCheck {
                check_id: id,
                title,
                severity,
                hosts_failing: failing.len(),
                percent: ((failing.len() as f64 / running.len().max(1) as f64) * 1000.0).round()
                    / 10.0,
                hosts: names,
            }
        })
        .collect();
    top.sort_by(|a, b| {
        b.hosts_failing
            .cmp(&a.hosts_failing)
            .then(b.severity.cmp(&a.severity))
            .then(a.check_id.cmp(&b.check_id))
    });
    top.truncate(TOP_CHECKS);

    let mut by_tag = Vec::new();
    for (key, _) in TAG_KEYS {
        let mut vals: BTreeMap<String, (usize, Counts, Weights)> = BTreeMap::new();
        for h in hosts.values() {
            let v = h.tags.get(*key).cloned().unwrap_or_else(|| "(none)".into());
            let e = vals
                .entry(v)
                .or_insert_with(|| (0, Counts::default(), Weights::default()));
            e.0 += 1;
            for s in Severity::ALL {
                for _ in 0..count_of(&h.failed, s) {
                    e.1.add(s);
                }
            }
            e.2.ok += h.weights.ok;
            e.2.all += h.weights.all;
        }
        if vals.keys().all(|v| v == "(none)") {
            continue;
        }
        by_tag.push(TagGroup {
            key: key.to_string(),
            values: vals
                .into_iter()
                .map(|(value, (n, c, w))| TagValue {
                    value,
                    hosts: n,
                    failed: c.total(),
                    failed_by_severity: c,
                    score: w.score(),
                })
                .collect(),
        });
    }

    let score_now = now_w.score();
    let previous = prev_known.then(|| prev_w.score());
    if !prev_known {
        notes.push("no finding predates the window: no previous score to compare".into());
    }
    let totals = Totals {
        hosts: rows.len(),
        hosts_reporting: rows.iter().filter(|h| !h.silent).count(),
        hosts_silent: silent.len(),
        hosts_new: hosts
            .values()
            .filter(|h| in_window(h.first_created))
            .count(),
        passed,
        failed: t_failed.total(),
        waived: t_waived.total(),
        not_available: na,
        failed_by_severity: t_failed,
        waived_by_severity: t_waived,
        score: score_now,
        previous_score: previous,
        score_change: previous.map(|p| ((score_now - p) * 10.0).round() / 10.0),
    };
    FleetReport {
        generated_at: crate::time::rfc3339(crate::time::from_unix_ms(p.now_ms)),
        window: p.since_label.clone(),
        window_start: crate::time::rfc3339(crate::time::from_unix_ms(start)),
        scope: p.scope.clone(),
        silent_after_secs: p.silent_after_ms / 1000,
        totals,
        silent_hosts: silent,
        newly_failed: group(newly),
        fixed: group(fixed),
        archived: group(archived),
        top_failing_checks: top,
        worst_hosts: worst,
        by_tag,
        findings_read: read,
        notes,
        lang: crate::i18n::Lang::En,
    }
}

fn count_of(c: &Counts, s: Severity) -> usize {
    match s {
        Severity::Critical => c.critical,
        Severity::High => c.high,
        Severity::Medium => c.medium,
        Severity::Low => c.low,
        Severity::Info => c.info,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub const NOW: u64 = 1_796_000_000_000; // 2026-11-30
    const H: u64 = 3_600_000;

    pub fn t(ms: u64) -> String {
        crate::time::rfc3339(crate::time::from_unix_ms(ms))
    }

    /// A finding as the agent sends it. `created`, `first`, `last` are ms before NOW.
    #[allow(clippy::too_many_arguments)]
    pub fn f(
        host: &str,
        check: &str,
        sev: &str,
        status: &str,
        created: u64,
        first: u64,
        last: u64,
        tags: Value,
    ) -> Value {
        json!({
            "Id": format!("jikimi/123456789012/ap-northeast-2/{host}/{check}"),
            "ProductName": "Jikimi",
            "GeneratorId": format!("jikimi/{check}"),
            "AwsAccountId": "123456789012",
            "Title": format!("Title of {check}"),
            "CreatedAt": t(NOW - created),
            "FirstObservedAt": t(NOW - first),
            "LastObservedAt": t(NOW - last),
            "UpdatedAt": t(NOW - last),
            "Compliance": {"Status": status},
            "RecordState": "ACTIVE",
            "ProductFields": {"jikimi/CheckId": check, "jikimi/Severity": sev,
                              "jikimi/Hostname": format!("{host}.example")},
            "Resources": [{"Id": format!("arn:aws:ec2:ap-northeast-2:123456789012:instance/{host}"),
                           "Tags": tags}],
        })
    }

    pub fn params() -> Params {
        Params {
            now_ms: NOW,
            since_ms: 24 * H,
            since_label: "24h".into(),
            silent_after_ms: 2 * 24 * H,
            scope: "account 123456789012, ap-northeast-2".into(),
        }
    }

    pub fn sample() -> Vec<Value> {
        let db = json!({"jikimi:AssetType": "DB", "Environment": "PROD"});
        let web = json!({"jikimi:AssetType": "Web", "jikimi:Env": "DEV"});
        let d = 10 * 24 * H;
        let mut archived = f("web1", "C-3", "medium", "FAILED", d, d, 2 * H, web.clone());
        archived["RecordState"] = json!("ARCHIVED");
        let mut waived = f("db1", "C-4", "high", "FAILED", d, d, 3 * H, db.clone());
        waived["Workflow"] = json!({"Status": "SUPPRESSED"});
        vec![
            // db1: C-1 failing for days, C-2 newly failed.
            f("db1", "C-1", "critical", "FAILED", d, d, 3 * H, db.clone()),
            f("db1", "C-2", "high", "FAILED", d, 5 * H, 3 * H, db.clone()),
            waived,
            // web1: C-1 fixed in the window, C-2 passing; C-3 archived while failing.
            f(
                "web1",
                "C-1",
                "critical",
                "PASSED",
                d,
                4 * H,
                2 * H,
                web.clone(),
            ),
            f("web1", "C-2", "high", "PASSED", d, d, 2 * H, web.clone()),
            archived,
            // old1: silent for 5 days, failing C-1.
            f(
                "old1",
                "C-1",
                "critical",
                "FAILED",
                d,
                d,
                5 * 24 * H,
                db.clone(),
            ),
            // new1: joined in the window, failing C-2.
            f("new1", "C-2", "high", "FAILED", 6 * H, 6 * H, H, json!({})),
            // Not ours (a filter the server ignored) and broken ones.
            json!({"Id": "x", "ProductName": "Jikimi"}),
        ]
    }

    #[test]
    fn totals_changes_and_trend() {
        let r = build(&sample(), &params());
        let t = &r.totals;
        assert_eq!(
            (t.hosts, t.hosts_reporting, t.hosts_silent, t.hosts_new),
            (4, 3, 1, 1)
        );
        assert_eq!((t.passed, t.failed, t.waived), (2, 4, 1));
        assert_eq!(
            (t.failed_by_severity.critical, t.failed_by_severity.high),
            (2, 2)
        );
        assert_eq!(t.waived_by_severity.high, 1);
        // now: passed C-1 (10) + C-2 (6) over + failed 10+6+10+6 = 16/48.
        assert_eq!(t.score, 33.3);
        // before: db1 C-1 F, C-2 P; web1 C-1 F, C-2 P; old1 C-1 F; web1 C-3 F (archived
        // in the window) → 12 / (12 + 33).
        assert_eq!(t.previous_score, Some(26.7));
        assert_eq!(t.score_change, Some(6.6));
        assert_eq!(r.silent_hosts.len(), 1);
        assert_eq!(r.silent_hosts[0].hostname, "old1.example");
        let nf: Vec<(&str, Vec<&str>)> = r
            .newly_failed
            .iter()
            .map(|g| {
                (
                    g.check_id.as_str(),
                    g.hosts.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(nf, vec![("C-2", vec!["db1.example", "new1.example"])]);
        assert_eq!(r.fixed.len(), 1);
        assert_eq!(
            (r.fixed[0].check_id.as_str(), r.fixed[0].hosts.len()),
            ("C-1", 1)
        );
        assert_eq!(r.archived[0].hosts, vec!["web1.example"]);
        assert_eq!(r.top_failing_checks[0].check_id, "C-1");
        assert_eq!(r.top_failing_checks[0].hosts_failing, 2);
        assert_eq!(r.top_failing_checks[0].percent, 66.7);
        // All three score 0: the most severe failures first.
        assert_eq!(r.worst_hosts[0].hostname, "db1.example");
        assert_eq!(r.worst_hosts.len(), 3);
        assert!(
            r.notes.iter().any(|n| n.contains("1 finding(s) left out")),
            "{:?}",
            r.notes
        );
        let asset = &r.by_tag[0];
        assert_eq!(asset.key, "AssetType");
        let vals: Vec<(&str, usize)> = asset
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.hosts))
            .collect();
        assert_eq!(vals, vec![("(none)", 1), ("DB", 2), ("Web", 1)]);
        let env = r.by_tag.iter().find(|g| g.key == "Env").unwrap();
        assert_eq!(
            env.values
                .iter()
                .map(|v| v.value.as_str())
                .collect::<Vec<_>>(),
            vec!["(none)", "DEV", "PROD"]
        );
    }

    #[test]
    fn order_of_the_input_does_not_matter_and_the_newest_version_wins() {
        let mut a = sample();
        let r1 = build(&a, &params());
        a.reverse();
        // An older copy of a finding (pagination overlap) does not override the newer one.
        let mut old = a[1].clone();
        old["UpdatedAt"] = json!(t(NOW - 50 * 24 * H));
        old["Compliance"]["Status"] = json!("PASSED");
        a.push(old);
        let mut r2 = build(&a, &params());
        r2.findings_read = r1.findings_read;
        assert_eq!(r1, r2);
    }

    #[test]
    fn without_history_there_is_no_trend() {
        let v = vec![f("n", "C-1", "low", "FAILED", H, H, H, json!({}))];
        let r = build(&v, &params());
        assert_eq!(r.totals.previous_score, None);
        assert_eq!(r.totals.score, 0.0);
        assert!(r.notes.iter().any(|n| n.contains("no previous score")));
        let r = build(&[], &params());
        assert_eq!((r.totals.hosts, r.totals.score), (0, 100.0));
    }
}
