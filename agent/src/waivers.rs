//! Waivers: failing checks whose risk someone accepted, with a reason, an approver and an
//! expiry, so that a bastion that must allow TCP forwarding stops failing forever and people
//! keep reading the daily mail.
//!
//! Waivers come from `[[waiver]]` tables of the agent configuration (so Parameter Store hands
//! the same waivers to a fleet) and from `*.toml` files of the waivers directory
//! (`/etc/jikimi/waivers.d`, read like the catalog's `checks.d`):
//!
//! ```toml
//! [[waiver]]
//! check = "SSH-011"                      # required, a known check id
//! hosts = ["bastion-*", "i-0abc*"]       # optional: hostname or instance-id globs
//! tags = { AssetType = "Bastion" }       # optional: asset tags (crate::classify)
//! reason = "jump host: forwarding is its job"   # required
//! approved_by = "kim@example.com"        # required
//! expires = "2027-03-31"                 # required, at most max_waiver_days ahead
//! ```
//!
//! [`apply`] turns a `Fail` with a valid matching waiver into `Waived` (never a `Pass`,
//! `NotApplicable` or `Error`); a waiver that has expired leaves the check `Fail` with a note.
//! The expiry day itself is still covered; the day after, the check fails again.

use crate::findings::{CheckResult, Status, Summary, WaiverNote};
use crate::report::Report;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Default directory of waiver files.
pub const DEFAULT_DIR: &str = "/etc/jikimi/waivers.d";
/// Default furthest expiry, in days from today.
pub const DEFAULT_MAX_DAYS: u32 = 365;
/// A waiver is flagged `expiring` this many days before its expiry.
pub const EXPIRING_DAYS: i64 = 14;
/// Longest reason or approver kept (they go into Security Hub notes and mail).
const TEXT_MAX: usize = 512;

/// One validated waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiver {
    pub check: String,
    /// Hostname or instance-id globs (empty: any host).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Asset tags that must all match (empty: any host).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    pub reason: String,
    pub approved_by: String,
    /// Last day covered, as days since 1970-01-01 (UTC).
    #[serde(serialize_with = "ser_date")]
    pub expires: i64,
    /// `file:line` of its declaration.
    pub origin: String,
}

fn ser_date<S: serde::Serializer>(d: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::date(*d))
}

/// Where a waiver stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Active,
    Expiring,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Expiring => "expiring",
            State::Expired => "expired",
        }
    }
}

impl Waiver {
    pub fn days_left(&self, today: i64) -> i64 {
        self.expires - today
    }

    pub fn state(&self, today: i64) -> State {
        match self.days_left(today) {
            d if d < 0 => State::Expired,
            d if d <= EXPIRING_DAYS => State::Expiring,
            _ => State::Active,
        }
    }

    /// Whether the waiver selects this host: every selector given must hold. `hosts` globs
    /// match the hostname or the instance id; `tags` values match one of the comma-separated
    /// values of the asset tag (classification merges `DB,Web`), as globs.
    pub fn selects(
        &self,
        hostname: &str,
        instance_id: Option<&str>,
        tags: Option<&BTreeMap<String, String>>,
    ) -> bool {
        let host_ok = self.hosts.is_empty()
            || self.hosts.iter().any(|g| {
                (!hostname.is_empty() && crate::fs::fnmatch(g, hostname))
                    || instance_id.is_some_and(|i| !i.is_empty() && crate::fs::fnmatch(g, i))
            });
        let tags_ok = self.tags.iter().all(|(k, want)| {
            tags.and_then(|t| t.get(k)).is_some_and(|have| {
                have.split(crate::classify::VALUE_SEP)
                    .any(|v| crate::fs::fnmatch(want, v.trim()))
            })
        });
        host_ok && tags_ok
    }

    fn note(&self, today: i64) -> WaiverNote {
        let st = self.state(today);
        WaiverNote {
            reason: self.reason.clone(),
            approved_by: self.approved_by.clone(),
            expires: crate::time::date(self.expires),
            days_left: self.days_left(today),
            expiring: st == State::Expiring,
            expired: st == State::Expired,
            origin: self.origin.clone(),
        }
    }
}

/// The validated waivers of a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waivers {
    pub list: Vec<Waiver>,
}

/// One problem of a waiver declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverError {
    /// `file:line` (or the file alone when no line is known).
    pub at: String,
    pub message: String,
}

impl fmt::Display for WaiverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// Every problem of the waiver declarations, reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverErrors(pub Vec<WaiverError>);

impl fmt::Display for WaiverErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the waivers have {} error(s):", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaiverErrors {}

/// A TOML value as written (for messages).
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        other => format!("a {}", other.type_str()),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Validates one `[[waiver]]` table; `today` bounds the expiry.
pub fn validate(
    t: &toml::Table,
    at: &str,
    known: &dyn Fn(&str) -> bool,
    today: i64,
    max_days: u32,
) -> Result<Waiver, Vec<WaiverError>> {
    let mut errs = Vec::new();
    let mut err = |m: String| {
        errs.push(WaiverError {
            at: at.to_string(),
            message: m,
        })
    };
    for k in t.keys() {
        if !["check", "hosts", "tags", "reason", "approved_by", "expires"].contains(&k.as_str()) {
            err(format!(
                "unknown field `{k}` (expected check, hosts, tags, reason, approved_by, expires)"
            ));
        }
    }
    let text = |k: &str, err: &mut dyn FnMut(String)| -> String {
        match t.get(k) {
            None => {
                err(format!("missing required field `{k}`"));
                String::new()
            }
            Some(toml::Value::String(s)) if s.trim().is_empty() => {
                err(format!("`{k}` is empty"));
                String::new()
            }
            Some(toml::Value::String(s)) if s.chars().count() > TEXT_MAX => {
                err(format!("`{k}` is longer than {TEXT_MAX} characters"));
                String::new()
            }
            Some(toml::Value::String(s)) if s.chars().any(char::is_control) => {
                err(format!("`{k}` contains control characters"));
                String::new()
            }
            Some(toml::Value::String(s)) => s.trim().to_string(),
            Some(v) => {
                err(format!("`{k}` must be a string, not {}", v.type_str()));
                String::new()
            }
        }
    };
    let check = text("check", &mut err);
    let reason = text("reason", &mut err);
    let approved_by = text("approved_by", &mut err);
    if !check.is_empty() && !known(&check) {
        err(format!(
            "unknown check id `{check}` (see `jikimi catalog list`)"
        ));
    }
    let mut hosts = Vec::new();
    match t.get("hosts") {
        None => {}
        Some(toml::Value::Array(a)) if !a.is_empty() => {
            for v in a {
                match v.as_str() {
                    Some(s) if !s.is_empty() && s.len() <= 255 => hosts.push(s.to_string()),
                    _ => err(format!(
                        "`hosts` entries must be non-empty strings, not {}",
                        show(v)
                    )),
                }
            }
        }
        Some(toml::Value::String(s)) if !s.is_empty() => hosts.push(s.clone()),
        Some(v) => err(format!(
            "`hosts` must be a non-empty array of globs, not {}",
            show(v)
        )),
    }
    let mut tags = BTreeMap::new();
    match t.get("tags") {
        None => {}
        Some(toml::Value::Table(m)) if !m.is_empty() => {
            for (k, v) in m {
                if !crate::classify::valid_key(k) {
                    err(format!("`tags`: `{k}` is not a valid tag key"));
                }
                match v.as_str() {
                    Some(s) if !s.is_empty() => {
                        tags.insert(k.clone(), s.to_string());
                    }
                    _ => err(format!("`tags.{k}` must be a non-empty string")),
                }
            }
        }
        Some(v) => err(format!(
            "`tags` must be a non-empty table such as {{ AssetType = \"Bastion\" }}, not {}",
            show(v)
        )),
    }
    let expires = match t.get("expires") {
        None => {
            err("missing required field `expires` (a date such as \"2027-03-31\")".into());
            None
        }
        Some(v) => {
            let s = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
                other => show(other),
            };
            match crate::time::parse_date(&s) {
                None => {
                    err(format!(
                        "`expires` = {}: not a date YYYY-MM-DD such as \"2027-03-31\"",
                        show(v)
                    ));
                    None
                }
                Some(d) if d - today > max_days as i64 => {
                    err(format!(
                        "`expires` = {s} is {} days ahead; the longest allowed is {max_days} days \
                         (until {}; agent.max_waiver_days)",
                        d - today,
                        crate::time::date(today + max_days as i64)
                    ));
                    None
                }
                Some(d) => Some(d),
            }
        }
    };
    match expires {
        Some(expires) if errs.is_empty() => Ok(Waiver {
            check,
            hosts,
            tags,
            reason,
            approved_by,
            expires,
            origin: at.to_string(),
        }),
        _ => Err(errs),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    waiver: Vec<toml::Spanned<toml::Table>>,
}

/// Where waivers come from: the configuration's `[[waiver]]` tables and a waivers directory
/// (`Config::waiver_sources` builds it from the configuration).
pub struct Sources<'a> {
    pub tables: &'a [toml::Spanned<toml::Table>],
    /// `origin:line` of each table.
    pub origins: &'a [String],
    pub dir: std::path::PathBuf,
    /// A missing directory is empty (the default one) rather than an error (a named one).
    pub optional: bool,
    /// `agent.max_waiver_days`.
    pub max_days: Option<u32>,
}

/// Validates the configuration's `[[waiver]]` tables and the waiver files of its directory
/// against the catalog's check ids. Every error is collected.
pub fn load(
    src: &Sources<'_>,
    known: &BTreeSet<String>,
    today: i64,
) -> Result<Waivers, WaiverErrors> {
    let known_fn = |id: &str| known.contains(id);
    let max = src.max_days.unwrap_or(DEFAULT_MAX_DAYS);
    let mut list = Vec::new();
    let mut errs = Vec::new();
    let take = |t: &toml::Table, at: &str, list: &mut Vec<Waiver>, errs: &mut Vec<WaiverError>| {
        match validate(t, at, &known_fn, today, max) {
            Ok(w) => list.push(w),
            Err(e) => errs.extend(e),
        }
    };
    for (i, w) in src.tables.iter().enumerate() {
        let at = src
            .origins
            .get(i)
            .cloned()
            .unwrap_or_else(|| "configuration".into());
        take(w.get_ref(), &at, &mut list, &mut errs);
    }
    let path = &src.dir;
    match crate::catalog::dir_sources(path, src.optional) {
        Err(e) => errs.push(WaiverError {
            at: path.display().to_string(),
            message: e.to_string(),
        }),
        Ok(files) => {
            for f in files {
                match toml::from_str::<RawFile>(&f.text) {
                    Err(e) => errs.push(WaiverError {
                        at: match e.span() {
                            Some(s) => format!("{}:{}", f.name, line_of(&f.text, s.start)),
                            None => f.name.clone(),
                        },
                        message: e.message().trim().to_string(),
                    }),
                    Ok(raw) => {
                        for w in &raw.waiver {
                            let at = format!("{}:{}", f.name, line_of(&f.text, w.span().start));
                            take(w.get_ref(), &at, &mut list, &mut errs);
                        }
                    }
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(Waivers { list })
    } else {
        Err(WaiverErrors(errs))
    }
}

/// Applies the waivers to a report's results on `today` (days since 1970-01-01, UTC) and
/// recomputes the summary. Idempotent: a second call with more knowledge (the instance id,
/// the instance's tags) re-decides from the underlying failure.
///
/// Of the waivers selecting a failing check, the valid one that lasts longest wins; when
/// all have expired, the check stays `Fail` with the latest expired one as its note.
pub fn apply(report: &mut Report, waivers: &Waivers, today: i64, instance_id: Option<&str>) {
    let hostname = report.host.hostname.clone();
    let tags = report.asset.as_ref().map(|a| a.tags.clone());
    for r in &mut report.results {
        apply_one(r, waivers, today, &hostname, instance_id, tags.as_ref());
    }
    report.summary = Summary::of(&report.results);
}

fn apply_one(
    r: &mut CheckResult,
    waivers: &Waivers,
    today: i64,
    hostname: &str,
    instance_id: Option<&str>,
    tags: Option<&BTreeMap<String, String>>,
) {
    if !matches!(r.status, Status::Fail | Status::Waived) {
        return;
    }
    let best = waivers
        .list
        .iter()
        .filter(|w| w.check == r.id && w.selects(hostname, instance_id, tags))
        .max_by_key(|w| w.expires);
    match best {
        Some(w) if w.state(today) != State::Expired => {
            r.status = Status::Waived;
            r.waiver = Some(w.note(today));
        }
        Some(w) => {
            r.status = Status::Fail;
            r.waiver = Some(w.note(today));
        }
        None => {
            r.status = Status::Fail;
            r.waiver = None;
        }
    }
}

/// Classifies the host (waivers select by asset tags) and applies the waivers, before the
/// scan is recorded in the history, so that the history knows WAIVED.
pub fn classify_and_apply(
    report: &mut Report,
    rules: &crate::classify::Rules,
    facts: &crate::facts::Facts,
    asset: &crate::classify::AssetConfig,
    tag_prefix: &str,
    waivers: &Waivers,
) {
    report.asset = Some(crate::classify::classify(rules, facts, asset, tag_prefix));
    apply(report, waivers, today(), None);
}

/// Today, as days since 1970-01-01 (UTC).
pub fn today() -> i64 {
    crate::time::unix_day(std::time::SystemTime::now())
}

/// Which waivers `jikimi waivers list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFilter {
    All,
    Expired,
    Expiring,
}

/// `jikimi waivers list`: the declared waivers with their state on `today`, as a table or
/// JSON, sorted by expiry.
pub fn list(w: &Waivers, today: i64, filter: ListFilter, json: bool) -> String {
    let mut rows: Vec<&Waiver> = w
        .list
        .iter()
        .filter(|x| match filter {
            ListFilter::All => true,
            ListFilter::Expired => x.state(today) == State::Expired,
            ListFilter::Expiring => x.state(today) == State::Expiring,
        })
        .collect();
    rows.sort_by(|a, b| (a.expires, &a.check).cmp(&(b.expires, &b.check)));
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|x| {
                let mut v = serde_json::to_value(x).unwrap_or_default();
                v["state"] = x.state(today).as_str().into();
                v["days_left"] = x.days_left(today).into();
                v
            })
            .collect();
        return serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    }
    let mut out = String::new();
    for x in &rows {
        let mut sel: Vec<String> = x.hosts.iter().map(|h| format!("host={h}")).collect();
        sel.extend(x.tags.iter().map(|(k, v)| format!("{k}={v}")));
        out += &format!(
            "{:<12} {:<9} {} ({:>4} d) {:<24} {} — {} [{}]\n",
            x.check,
            x.state(today).as_str(),
            crate::time::date(x.expires),
            x.days_left(today),
            if sel.is_empty() {
                "all hosts".to_string()
            } else {
                sel.join(" ")
            },
            x.approved_by,
            x.reason,
            x.origin
        );
    }
    let count = |s: State| w.list.iter().filter(|x| x.state(today) == s).count();
    out += &format!(
        "{} waiver(s) shown: {} active, {} expiring within {EXPIRING_DAYS} days, {} expired\n",
        rows.len(),
        count(State::Active),
        count(State::Expiring),
        count(State::Expired)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::sinks::asff::tests::{report, result};

    const TODAY: &str = "2026-12-06";

    fn today() -> i64 {
        crate::time::parse_date(TODAY).unwrap()
    }

    fn known() -> BTreeSet<String> {
        ["SSH-011", "ACCT-001", "A-1", "A-2", "A-3"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn cfg(text: &str) -> Config {
        Config::parse(text, "/etc/jikimi/jikimi.toml").unwrap()
    }

    /// Loads the configuration's waivers, with an empty waivers directory (never the host's).
    fn load_text(text: &str) -> Result<Waivers, WaiverErrors> {
        let empty = tempfile::tempdir().unwrap();
        load(
            &cfg(text).waiver_sources(Some(empty.path())),
            &known(),
            today(),
        )
    }

    #[test]
    fn parses_a_valid_waiver_with_selectors() {
        let w = load_text(
            "[agent]\nprofile = \"kisa\"\n\n[[waiver]]\ncheck = \"SSH-011\"\nhosts = [\"bastion-*\"]\n\
             tags = { AssetType = \"Bastion\" }\nreason = \"jump host\"\napproved_by = \"kim\"\n\
             expires = \"2027-03-31\"\n",
        )
        .unwrap();
        assert_eq!(w.list.len(), 1);
        let w = &w.list[0];
        assert_eq!(w.check, "SSH-011");
        assert_eq!(w.origin, "/etc/jikimi/jikimi.toml:4");
        assert_eq!(crate::time::date(w.expires), "2027-03-31");
        assert_eq!(w.tags["AssetType"], "Bastion");
        // a bare TOML date works too
        let w = load_text(
            "[[waiver]]\ncheck = \"A-1\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = 2027-01-01\n",
        )
        .unwrap();
        assert_eq!(crate::time::date(w.list[0].expires), "2027-01-01");
    }

    #[test]
    fn reports_every_error_with_its_line() {
        let e = load_text(
            "[[waiver]]\ncheck = \"NOPE-1\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = \"2027-01-01\"\n\
             \n[[waiver]]\ncheck = \"A-1\"\napproved_by = \"a\"\nexpires = \"2027-01-01\"\n\
             \n[[waiver]]\ncheck = \"A-2\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = \"2028-12-31\"\n\
             \n[[waiver]]\ncheck = \"A-3\"\nreason = \"r\"\napproved_by = \"a\"\nexpires = \"2027-02-30\"\n\
             \n[[waiver]]\ncheck = \"A-3\"\nreason = \"r\"\napproved_by = \"a\"\n",
        )
        .unwrap_err();
        let s = e.to_string();
        assert_eq!(e.0.len(), 5, "{s}");
        assert!(
            s.contains("jikimi.toml:1: unknown check id `NOPE-1`"),
            "{s}"
        );
        assert!(
            s.contains("jikimi.toml:7: missing required field `reason`"),
            "{s}"
        );
        assert!(
            s.contains("jikimi.toml:12: `expires` = 2028-12-31 is 756 days ahead"),
            "{s}"
        );
        assert!(
            s.contains("jikimi.toml:18: `expires` = \"2027-02-30\": not a date"),
            "{s}"
        );
        assert!(
            s.contains("jikimi.toml:24: missing required field `expires`"),
            "{s}"
        );
    }

    #[test]
    fn the_limit_is_configurable_and_expired_waivers_load() {
        let text = "[agent]\nmax_waiver_days = 30\n[[waiver]]\ncheck = \"A-1\"\nreason = \"r\"\n\
                    approved_by = \"a\"\nexpires = \"2027-01-06\"\n";
        assert!(load_text(text).is_err(), "31 days > 30");
        let text = text.replace("2027-01-06", "2027-01-05");
        assert!(load_text(&text).is_ok(), "30 days is allowed");
        // an expired waiver is kept: it turns the check back into a FAIL with a note
        let text = text.replace("2027-01-05", "2026-01-01");
        assert_eq!(
            load_text(&text).unwrap().list[0].state(today()),
            State::Expired
        );
    }

    #[test]
    fn reads_waiver_files_and_rejects_unknown_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("waivers.d");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("10-bastion.toml"),
            "# bastions\n[[waiver]]\ncheck = \"SSH-011\"\nreason = \"r\"\napproved_by = \"a\"\n\
             expires = \"2027-01-01\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("20-bad.toml"),
            "[[waiver]]\ncheck = \"SSH-011\"\nreason = \"r\"\napproved = \"a\"\nexpires = \"2027-01-01\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("ignored.txt"), "not toml").unwrap();
        let e = load(&cfg("").waiver_sources(Some(&dir)), &known(), today()).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("20-bad.toml:1: unknown field `approved`"), "{s}");
        assert!(
            s.contains("20-bad.toml:1: missing required field `approved_by`"),
            "{s}"
        );
        std::fs::remove_file(dir.join("20-bad.toml")).unwrap();
        let w = load(&cfg("").waiver_sources(Some(&dir)), &known(), today()).unwrap();
        assert_eq!(w.list.len(), 1);
        assert!(
            w.list[0].origin.ends_with("10-bastion.toml:2"),
            "{}",
            w.list[0].origin
        );
        std::fs::remove_dir_all(&dir).unwrap();
        // an explicit directory that does not exist is an error
        assert!(load(&cfg("").waiver_sources(Some(&dir)), &known(), today()).is_err());
    }

    fn waiver(check: &str, expires: &str) -> Waiver {
        Waiver {
            check: check.into(),
            hosts: vec![],
            tags: BTreeMap::new(),
            reason: "accepted".into(),
            approved_by: "kim".into(),
            expires: crate::time::parse_date(expires).unwrap(),
            origin: "t:1".into(),
        }
    }

    #[test]
    fn waives_only_failures_and_flags_expiry() {
        let mut rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Pass),
            result("A-3", Status::Error),
            result("SSH-011", Status::Fail),
            result("ACCT-001", Status::Fail),
        ]);
        let ws = Waivers {
            list: vec![
                waiver("A-1", "2027-06-01"),
                waiver("A-2", "2027-06-01"),
                waiver("A-3", "2027-06-01"),
                waiver("SSH-011", "2026-12-20"),
                waiver("ACCT-001", "2026-12-05"),
            ],
        };
        apply(&mut rep, &ws, today(), None);
        let st: Vec<Status> = rep.results.iter().map(|r| r.status).collect();
        assert_eq!(
            st,
            [
                Status::Waived,
                Status::Pass,
                Status::Error,
                Status::Waived,
                Status::Fail
            ]
        );
        assert!(rep.results[1].waiver.is_none() && rep.results[2].waiver.is_none());
        let ssh = rep.results[3].waiver.as_ref().unwrap();
        assert!(
            ssh.expiring && !ssh.expired && ssh.days_left == 14,
            "{ssh:?}"
        );
        let acct = &rep.results[4];
        assert!(acct.waiver.as_ref().unwrap().expired);
        assert!(
            acct.summary_line()
                .starts_with("waiver expired on 2026-12-05"),
            "{}",
            acct.summary_line()
        );
        let s = &rep.summary;
        assert_eq!(
            (s.failed, s.waived, s.waivers_expiring, s.waivers_expired),
            (1, 2, 1, 1)
        );
        assert_eq!(rep.exit_code(), 2, "the expired waiver's failure counts");
        // the expiry day itself is covered, the next day is not
        let w = waiver("A-1", TODAY);
        assert_eq!(w.state(today()), State::Expiring);
        assert_eq!(w.state(today() + 1), State::Expired);
        // idempotent; and removing the waivers restores the failures
        apply(&mut rep, &ws, today(), None);
        assert_eq!(rep.summary.waived, 2);
        apply(&mut rep, &Waivers::default(), today(), None);
        assert_eq!((rep.summary.failed, rep.summary.waived), (3, 0));
        assert!(rep.results.iter().all(|r| r.waiver.is_none()));
    }

    #[test]
    fn waived_checks_leave_the_exit_code_and_score() {
        let mut rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Pass),
        ]);
        assert_eq!(rep.exit_code(), 2);
        let before = rep.summary.score;
        apply(
            &mut rep,
            &Waivers {
                list: vec![waiver("A-1", "2027-06-01")],
            },
            today(),
            None,
        );
        assert_eq!(rep.exit_code(), 0);
        assert_eq!(rep.summary.score, 100.0);
        assert!(before < 100.0);
    }

    #[test]
    fn selectors_match_hostname_instance_id_and_tags() {
        let mut w = waiver("A-1", "2027-06-01");
        w.hosts = vec!["bastion-*".into(), "i-0abc*".into()];
        assert!(w.selects("bastion-1", None, None));
        assert!(!w.selects("web-1", None, None));
        assert!(w.selects("web-1", Some("i-0abc123"), None));
        assert!(!w.selects("web-1", Some("i-0def"), None));
        w.hosts.clear();
        w.tags.insert("AssetType".into(), "Bastion".into());
        let mut t = BTreeMap::new();
        assert!(!w.selects("h", None, None), "tags need a classification");
        assert!(!w.selects("h", None, Some(&t)));
        t.insert("AssetType".into(), "DB,Bastion".into());
        assert!(w.selects("h", None, Some(&t)), "one of the merged values");
        t.insert("AssetType".into(), "Web".into());
        assert!(!w.selects("h", None, Some(&t)));
        // both selectors must hold
        w.hosts = vec!["bastion-*".into()];
        t.insert("AssetType".into(), "Bastion".into());
        assert!(w.selects("bastion-2", None, Some(&t)));
        assert!(!w.selects("web-2", None, Some(&t)));
    }

    #[test]
    fn lists_by_state() {
        let ws = Waivers {
            list: vec![
                waiver("A-1", "2027-06-01"),
                waiver("A-2", "2026-12-10"),
                waiver("A-3", "2026-11-30"),
            ],
        };
        let all = list(&ws, today(), ListFilter::All, false);
        assert!(
            all.ends_with("3 waiver(s) shown: 1 active, 1 expiring within 14 days, 1 expired\n"),
            "{all}"
        );
        let lines: Vec<&str> = all.lines().collect();
        assert!(
            lines[0].starts_with("A-3          expired   2026-11-30 (  -6 d) all hosts"),
            "{all}"
        );
        let expiring = list(&ws, today(), ListFilter::Expiring, true);
        let v: serde_json::Value = serde_json::from_str(&expiring).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 1);
        assert_eq!(v[0]["check"], "A-2");
        assert_eq!(v[0]["state"], "expiring");
        assert_eq!(v[0]["expires"], "2026-12-10");
        assert_eq!(v[0]["days_left"], 4);
        assert!(list(&ws, today(), ListFilter::Expired, false).starts_with("A-3 "));
    }

    #[test]
    fn the_longest_valid_waiver_wins() {
        let mut rep = report(vec![result("A-1", Status::Fail)]);
        let ws = Waivers {
            list: vec![
                waiver("A-1", "2026-01-01"),
                waiver("A-1", "2027-06-01"),
                waiver("A-1", "2026-12-10"),
            ],
        };
        apply(&mut rep, &ws, today(), None);
        assert_eq!(rep.results[0].status, Status::Waived);
        assert_eq!(
            rep.results[0].waiver.as_ref().unwrap().expires,
            "2027-06-01"
        );
    }
}
