//! The Security Hub sink: BatchImportFindings with delta sync.
//!
//! A state file (`securityhub-state.json` in the state directory) remembers, per finding
//! Id: a hash of its content (the ASFF finding without timestamps, agent version and
//! catalog digest), CreatedAt (first seen,
//! never changes), the UpdatedAt of the last version sent or to send, when it was delivered,
//! and whether it is still pending. Each run:
//!
//! 1. a finding is sent when its content changed, when its last delivery is older than the
//!    refresh interval (Security Hub deletes findings not updated for 90 days), or when an
//!    earlier send did not succeed (pending); nothing else is sent, so an unchanged host
//!    makes no call at all;
//! 2. a new version gets `UpdatedAt = max(now, previous UpdatedAt + 1 ms)`: never backwards,
//!    even if the clock is. A pending version is re-sent unchanged, with the same UpdatedAt,
//!    so a request that reached Security Hub before a timeout is not applied twice;
//! 3. a finding whose check left the catalog, or was dropped by the configuration
//!    (`agent.skip`, `agent.min_severity`), is sent once more with RecordState ARCHIVED
//!    (checks merely not selected in this run, by `--only` or `--skip`, are left alone);
//! 4. a NOT_APPLICABLE result is never a new finding: an existing finding whose check
//!    became not applicable is sent once as ARCHIVED (as Security Hub archives its own
//!    not-applicable control results), and it comes back ACTIVE when the check applies
//!    again; archived findings are not refreshed;
//! 5. FirstObservedAt is when the current compliance status was first seen, LastObservedAt
//!    the scan that produced the version sent (neither counts as a change);
//! 6. batches hold at most 100 findings and 6 MB; `FailedFindings` stay pending and are
//!    reported; a reply whose `SuccessCount + FailedCount` is not the batch size (an empty
//!    2xx from a broken proxy) leaves the whole batch pending; throttling and 5xx are
//!    retried with jittered backoff, and after a batch still fails the run stops sending
//!    (everything left stays pending for the next run).
//!
//! The state is written before sending (so a crash cannot lose an UpdatedAt) and after each
//! batch, atomically, under an exclusive lock held for the whole sync.

use super::asff::{self, Finding};
use super::state_file::StateFileError;
use super::SinkSummary;
use crate::aws::http::ApiError;
use crate::aws::{Identity, Reply, Session, SECURITY_HUB};
use crate::findings::Severity;
use crate::report::Report;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

pub const STATE_FILE: &str = "securityhub-state.json";
pub const LOCK_FILE: &str = "securityhub.lock";
const STATE_VERSION: u32 = 1;
pub const BATCH_MAX_FINDINGS: usize = 100;
/// 6 MB a request, less room for the envelope.
pub const BATCH_MAX_BYTES: usize = 6 * 1024 * 1024 - 16 * 1024;
/// Archived findings are forgotten this long after the archive was delivered (Security Hub
/// deletes archived findings after 30 days).
const TOMBSTONE_KEEP_MS: u64 = 90 * 86_400_000;
/// How long to wait for another run holding the lock.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// Default interval after which an unchanged finding is sent again: 7 days. Security Hub
/// deletes active findings 90 days after their last update, and bills every imported
/// finding version (docs/aws.md has the arithmetic: about 900 ingestion events per
/// 210-check host and month at 7 days, against 6,300 at one day).
pub const DEFAULT_REFRESH_INTERVAL_SECS: u64 = 7 * 86_400;
/// The longest refresh interval accepted: well inside the 90-day expiry.
pub const MAX_REFRESH_INTERVAL_SECS: u64 = 30 * 86_400;

/// The `[securityhub]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityHubConfig {
    /// Submit findings on every run (as `--submit securityhub` does for one run).
    #[serde(default)]
    pub enabled: bool,
    /// Send an unchanged finding again after this many seconds (default 604800 = 7 days, at most
    /// 2592000 = 30 days, so findings never reach Security Hub's 90-day expiry).
    #[serde(default, deserialize_with = "refresh_interval")]
    pub refresh_interval_secs: Option<u64>,
    /// The page of a check for SourceUrl and Remediation.Recommendation.Url, `{check_id}`
    /// replaced (e.g. `https://wiki.example.com/jikimi/{check_id}`); default the CIS
    /// benchmark page of checks with a CIS reference.
    #[serde(default, deserialize_with = "url_template")]
    pub reference_url: Option<String>,
}

impl SecurityHubConfig {
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(
            self.refresh_interval_secs
                .unwrap_or(DEFAULT_REFRESH_INTERVAL_SECS),
        )
    }
}

fn url_template<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if s.starts_with("https://") && s.len() <= 900 && s.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(Some(s))
    } else {
        Err(serde::de::Error::custom(format!(
            "reference_url `{s}` must be an https:// URL (printable ASCII, no spaces)"
        )))
    }
}

fn refresh_interval<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = u64::deserialize(d)?;
    if (1..=MAX_REFRESH_INTERVAL_SECS).contains(&n) {
        Ok(Some(n))
    } else {
        Err(serde::de::Error::custom(format!(
            "refresh_interval_secs {n} is not within 1..={MAX_REFRESH_INTERVAL_SECS} \
             (Security Hub deletes findings not updated for 90 days)"
        )))
    }
}

/// The Security Hub sink: the findings, delta-synced. The pipeline delivers the workflow of
/// waived findings right after it (`super::securityhub_workflow::Workflow`).
pub struct SecurityHub<'a> {
    cfg: &'a SecurityHubConfig,
    /// Every check id of the loaded catalog: a finding whose check is not here is archived.
    catalog_ids: BTreeSet<String>,
    /// `agent.skip`: checks the configuration drops, archived like removed ones (what the
    /// command line leaves out of one run, `--only` or `--skip`, is not).
    dropped: BTreeSet<String>,
    /// `agent.min_severity`: checks below it are archived like removed ones.
    min_severity: Option<Severity>,
}

impl<'a> SecurityHub<'a> {
    pub fn new(
        cfg: &'a SecurityHubConfig,
        catalog_ids: BTreeSet<String>,
        dropped: BTreeSet<String>,
        min_severity: Option<Severity>,
    ) -> SecurityHub<'a> {
        SecurityHub {
            cfg,
            catalog_ids,
            dropped,
            min_severity,
        }
    }
}

impl super::Sink for SecurityHub<'_> {
    fn name(&self) -> &'static str {
        "securityhub"
    }

    fn remote(&self) -> bool {
        true
    }

    fn deliver(&self, report: &Report, ctx: &super::Context<'_>) -> super::Summaries {
        let aws = match ctx.aws("Security Hub") {
            Ok(a) => a,
            Err(s) => return vec![(self.name(), s)],
        };
        let opts = Options {
            state_dir: ctx.state_dir,
            refresh: self.cfg.refresh_interval(),
            catalog_ids: &self.catalog_ids,
            dropped: &self.dropped,
            min_severity: self.min_severity,
            reference_url: self.cfg.reference_url.as_deref(),
        };
        vec![(
            self.name(),
            submit(report, aws.identity, aws.session, &opts),
        )]
    }
}

/// Sink options.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    pub state_dir: &'a Path,
    /// Re-send an unchanged finding after this long.
    pub refresh: Duration,
    /// Every check id of the loaded catalog: a finding whose check is not here is archived.
    pub catalog_ids: &'a BTreeSet<String>,
    /// Checks the configuration drops (`agent.skip`): archived like removed checks.
    pub dropped: &'a BTreeSet<String>,
    /// `agent.min_severity`: checks below it are archived like removed checks.
    pub min_severity: Option<Severity>,
    /// `securityhub.reference_url` (see [`asff::reference_url`]).
    pub reference_url: Option<&'a str>,
}

impl Options<'_> {
    /// Is a check that did not run this time gone for good (removed or dropped by the
    /// configuration), rather than merely not selected for this run?
    fn gone(&self, check_id: &str, finding: &Value) -> bool {
        if !self.catalog_ids.contains(check_id) || self.dropped.contains(check_id) {
            return true;
        }
        let sev = finding["ProductFields"]["jikimi/Severity"]
            .as_str()
            .and_then(|s| serde_json::from_value::<Severity>(Value::String(s.into())).ok());
        matches!((self.min_severity, sev), (Some(min), Some(s)) if s < min)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct State {
    version: u32,
    account_id: String,
    region: String,
    resource_id: String,
    findings: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Entry {
    check_id: String,
    /// sha256 of the finding without CreatedAt/UpdatedAt.
    hash: String,
    /// First seen; CreatedAt of every version.
    created_at: String,
    /// UpdatedAt of the last version sent or to send.
    updated_at: String,
    updated_ms: u64,
    /// When that version was delivered; None while it is pending.
    sent_ms: Option<u64>,
    pending: bool,
    archived: bool,
    /// That version, whole (archiving a finding re-sends all of it).
    finding: Value,
    /// When the current compliance status was first seen (FirstObservedAt).
    #[serde(default)]
    first_observed: Option<String>,
}

impl State {
    fn new(identity: &Identity) -> State {
        State {
            version: STATE_VERSION,
            account_id: identity.account_id.clone(),
            region: identity.region.clone(),
            resource_id: identity.resource_id.clone(),
            findings: BTreeMap::new(),
        }
    }

    fn belongs_to(&self, identity: &Identity) -> bool {
        self.account_id == identity.account_id
            && self.region == identity.region
            && self.resource_id == identity.resource_id
    }
}

/// ProductFields that describe the agent rather than the host: a new agent version or
/// catalog alone does not make every finding of the fleet "changed" (they are refreshed
/// with the next real change or refresh).
const UNHASHED_FIELDS: &[&str] = &["jikimi/CatalogDigest", "jikimi/AgentVersion", STATUS_CHANGE];

/// ProductFields key saying whether this version's compliance status is new: `NEW` (first
/// version of the finding), `CHANGED` (the status differs from the previous version sent)
/// or `NONE` (a refresh, or a change of details only). The shipped EventBridge rule alerts
/// on NEW and CHANGED only, so an unchanged re-import never re-alerts.
pub const STATUS_CHANGE: &str = "jikimi/StatusChange";

fn mark(finding: &mut Value, change: &str) {
    if let Some(pf) = finding
        .get_mut("ProductFields")
        .and_then(Value::as_object_mut)
    {
        pf.insert(STATUS_CHANGE.into(), Value::String(change.into()));
    }
}

/// Content hash: the finding without its timestamps and [`UNHASHED_FIELDS`].
fn content_hash(finding: &Value) -> String {
    let mut v = finding.clone();
    if let Some(o) = v.as_object_mut() {
        for k in [
            "CreatedAt",
            "UpdatedAt",
            "FirstObservedAt",
            "LastObservedAt",
        ] {
            o.remove(k);
        }
        if let Some(pf) = o.get_mut("ProductFields").and_then(Value::as_object_mut) {
            for k in UNHASHED_FIELDS {
                pf.remove(*k);
            }
        }
    }
    crate::aws::sigv4::sha256_hex(v.to_string().as_bytes())
}

fn stamp(finding: &mut Value, created_at: &str, updated_at: &str) {
    finding["CreatedAt"] = Value::String(created_at.to_string());
    finding["UpdatedAt"] = Value::String(updated_at.to_string());
}

/// Sets the observation times: `first` when known, `last` = the scan time.
fn observed(finding: &mut Value, first: Option<&str>, last: &str) {
    finding["FirstObservedAt"] = Value::String(first.unwrap_or(last).to_string());
    finding["LastObservedAt"] = Value::String(last.to_string());
}

fn compliance_status(finding: &Value) -> &str {
    finding["Compliance"]["Status"].as_str().unwrap_or("")
}

fn not_applicable(finding: &Value) -> bool {
    finding["ProductFields"]["jikimi/Status"].as_str() == Some("NOT_APPLICABLE")
}

/// What one run decided.
#[derive(Debug, Default, PartialEq)]
struct Plan {
    /// Ids to send, in order.
    send: Vec<String>,
    unchanged: usize,
}

/// Decides what to send and updates the state accordingly (pure: no I/O, time is given).
fn plan(
    state: &mut State,
    current: Vec<Finding>,
    opts: &Options,
    now_ms: u64,
    refresh_ms: u64,
) -> Plan {
    let mut p = Plan::default();
    let next_time = |prev: u64| now_ms.max(prev + 1);
    let now_s = crate::time::rfc3339(crate::time::from_unix_ms(now_ms));
    let mut seen = BTreeSet::new();
    for f in current {
        let check_id = f
            .product_fields
            .get("jikimi/CheckId")
            .cloned()
            .unwrap_or_default();
        let mut value = serde_json::to_value(&f).unwrap_or_default();
        let na = not_applicable(&value);
        if na {
            value["RecordState"] = Value::String("ARCHIVED".into());
        }
        let hash = content_hash(&value);
        seen.insert(f.id.clone());
        match state.findings.get_mut(&f.id) {
            // Not applicable and never reported: nothing to say.
            None if na => {}
            None => {
                stamp(&mut value, &now_s, &now_s);
                observed(&mut value, None, &now_s);
                mark(&mut value, "NEW");
                state.findings.insert(
                    f.id.clone(),
                    Entry {
                        check_id,
                        hash,
                        created_at: now_s.clone(),
                        updated_at: now_s.clone(),
                        updated_ms: now_ms,
                        sent_ms: None,
                        pending: true,
                        archived: false,
                        finding: value,
                        first_observed: Some(now_s.clone()),
                    },
                );
            }
            Some(e) if e.hash == hash => {
                let due = e
                    .sent_ms
                    .is_some_and(|s| now_ms.saturating_sub(s) >= refresh_ms);
                // Archived findings need no refresh: Security Hub keeps them 90 days and
                // nothing is lost when they go.
                if !e.pending && due && !e.archived {
                    e.updated_ms = next_time(e.updated_ms);
                    e.updated_at = crate::time::rfc3339(crate::time::from_unix_ms(e.updated_ms));
                    stamp(&mut e.finding, &e.created_at, &e.updated_at);
                    observed(&mut e.finding, e.first_observed.as_deref(), &now_s);
                    mark(&mut e.finding, "NONE");
                    e.pending = true;
                    e.sent_ms = None;
                } else if !e.pending {
                    p.unchanged += 1;
                }
            }
            Some(e) => {
                e.updated_ms = next_time(e.updated_ms);
                e.updated_at = crate::time::rfc3339(crate::time::from_unix_ms(e.updated_ms));
                stamp(&mut value, &e.created_at, &e.updated_at);
                let changed =
                    compliance_status(&e.finding) != compliance_status(&value) || e.archived != na;
                if changed || e.first_observed.is_none() {
                    e.first_observed = Some(now_s.clone());
                }
                mark(&mut value, if changed { "CHANGED" } else { "NONE" });
                observed(&mut value, e.first_observed.as_deref(), &now_s);
                e.check_id = check_id;
                e.hash = hash;
                e.finding = value;
                e.pending = true;
                e.archived = na;
                e.sent_ms = None;
            }
        }
    }
    let mut forget = Vec::new();
    for (id, e) in state.findings.iter_mut() {
        if seen.contains(id) || !opts.gone(&e.check_id, &e.finding) {
            continue;
        }
        if !e.archived {
            e.updated_ms = next_time(e.updated_ms);
            e.updated_at = crate::time::rfc3339(crate::time::from_unix_ms(e.updated_ms));
            e.finding["RecordState"] = Value::String("ARCHIVED".into());
            stamp(&mut e.finding, &e.created_at, &e.updated_at);
            mark(&mut e.finding, "NONE");
            e.hash = content_hash(&e.finding);
            e.archived = true;
            e.pending = true;
            e.sent_ms = None;
        } else if e
            .sent_ms
            .is_some_and(|s| now_ms.saturating_sub(s) > TOMBSTONE_KEEP_MS)
        {
            forget.push(id.clone());
        }
    }
    for id in forget {
        state.findings.remove(&id);
    }
    p.send = state
        .findings
        .iter()
        .filter(|(_, e)| e.pending)
        .map(|(id, _)| id.clone())
        .collect();
    p
}

/// A 2xx Security Hub reply that does not account for what was sent: nothing in it can be
/// taken as imported or updated, so the findings stay pending.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyMismatch {
    #[error("the reply to a batch of {batch} has no SuccessCount/FailedCount; kept pending")]
    NoCounts { batch: usize },
    #[error("the reply counts {imported} imported + {failed} failed for a batch of {batch}; kept pending")]
    Counts {
        imported: u64,
        failed: u64,
        batch: usize,
    },
    #[error("the reply's FailedFindings ({listed}) do not match its FailedCount {failed} or the batch; kept pending")]
    FailedList { listed: usize, failed: u64 },
    #[error("the reply accounts for {accounted} of {sent} findings")]
    Accounted { accounted: usize, sent: usize },
}
crate::error_text::debug_as_display!(ReplyMismatch);

/// Checks a BatchImportFindings reply: `SuccessCount + FailedCount` must be the batch size
/// (an empty or foreign 2xx answer proves nothing was imported). The failed ids and their
/// errors on success.
fn check_counts(reply: &Value, batch: &[String]) -> Result<Vec<(String, String)>, ReplyMismatch> {
    let count = |k: &str| reply.get(k).and_then(Value::as_u64);
    let (Some(ok), Some(failed)) = (count("SuccessCount"), count("FailedCount")) else {
        return Err(ReplyMismatch::NoCounts { batch: batch.len() });
    };
    if ok + failed != batch.len() as u64 {
        return Err(ReplyMismatch::Counts {
            imported: ok,
            failed,
            batch: batch.len(),
        });
    }
    let list: Vec<(String, String)> = reply["FailedFindings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["Id"].as_str().unwrap_or_default().to_string(),
                format!(
                    "{} {}",
                    f["ErrorCode"].as_str().unwrap_or("?"),
                    f["ErrorMessage"].as_str().unwrap_or("")
                ),
            )
        })
        .collect();
    if list.len() as u64 != failed || list.iter().any(|(id, _)| !batch.contains(id)) {
        return Err(ReplyMismatch::FailedList {
            listed: list.len(),
            failed,
        });
    }
    Ok(list)
}

/// Splits ids into batches of at most 100 findings and [`BATCH_MAX_BYTES`].
fn batches(ids: &[String], state: &State) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut bytes = 0;
    for id in ids {
        let n = state.findings[id].finding.to_string().len() + 1;
        let full = out
            .last()
            .is_none_or(|b| b.len() >= BATCH_MAX_FINDINGS || bytes + n > BATCH_MAX_BYTES);
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        out.last_mut().expect("pushed").push(id.clone());
        bytes += n;
    }
    out
}

fn load_state(
    path: &Path,
    identity: &Identity,
    sum: &mut SinkSummary,
) -> Result<State, StateFileError> {
    let read = crate::state::read(path).map_err(|e| StateFileError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let Some(bytes) = read else {
        return Ok(State::new(identity));
    };
    match serde_json::from_slice::<State>(&bytes) {
        Ok(s) if s.version == STATE_VERSION && s.belongs_to(identity) => Ok(s),
        // State of another resource (an image cloned into a new instance): those findings
        // belong to the other host, which may still run. Start afresh.
        Ok(s) if s.version == STATE_VERSION => Ok(State::new(identity)),
        Ok(s) => Err(StateFileError::Unsupported {
            path: path.to_path_buf(),
            found: s.version,
        }),
        Err(e) => {
            let aside = path.with_extension(format!(
                "corrupt-{}",
                crate::time::unix_ms(std::time::SystemTime::now())
            ));
            let _ = std::fs::rename(path, &aside);
            sum.error(format!(
                "{}: unreadable state ({e}); moved to {} and starting afresh",
                path.display(),
                aside.display()
            ));
            Ok(State::new(identity))
        }
    }
}

fn save(path: &Path, state: &State) -> Result<(), StateFileError> {
    let data = serde_json::to_vec(state).map_err(|source| StateFileError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    crate::state::write_atomic(path, &data).map_err(|e| StateFileError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The sync with an injectable importer (`body` → BatchImportFindings response), so the
/// decision logic is tested without a network.
fn sync(
    findings: Vec<Finding>,
    identity: &Identity,
    opts: &Options,
    now_ms: u64,
    import: &mut dyn FnMut(&[u8]) -> Result<Reply, ApiError>,
) -> SinkSummary {
    let mut sum = SinkSummary::default();
    let _lock = match crate::state::lock(opts.state_dir, LOCK_FILE, LOCK_WAIT) {
        Ok(l) => l,
        Err(e) => {
            sum.error(e.to_string());
            sum.pending = findings.len();
            return sum;
        }
    };
    let path = opts.state_dir.join(STATE_FILE);
    let mut state = match load_state(&path, identity, &mut sum) {
        Ok(s) => s,
        Err(e) => {
            sum.error(crate::error_text::chain(&e));
            sum.pending = findings.len();
            return sum;
        }
    };
    let p = plan(
        &mut state,
        findings,
        opts,
        now_ms,
        opts.refresh.as_millis() as u64,
    );
    sum.unchanged = p.unchanged;
    if let Err(e) = save(&path, &state) {
        // Without a durable record of the UpdatedAt we would send, sending could later
        // repeat an older one: do not send.
        sum.error(crate::error_text::chain(&e));
        sum.pending = p.send.len();
        return sum;
    }
    for batch in batches(&p.send, &state) {
        let body = {
            let items: Vec<&Value> = batch.iter().map(|id| &state.findings[id].finding).collect();
            serde_json::json!({ "Findings": items }).to_string()
        };
        match import(body.as_bytes()) {
            Ok(reply) => {
                sum.calls += reply.attempts as usize;
                let list = match check_counts(&reply.body, &batch) {
                    Ok(l) => l,
                    Err(e) => {
                        sum.error(format!("BatchImportFindings: {e}"));
                        break;
                    }
                };
                let mut failed = BTreeSet::new();
                for (id, why) in list {
                    sum.error(format!("{id}: {why}"));
                    failed.insert(id);
                }
                let sent_at = now_ms;
                for id in &batch {
                    if failed.contains(id) {
                        sum.failed += 1;
                        continue;
                    }
                    let e = state.findings.get_mut(id).expect("planned id");
                    e.pending = false;
                    e.sent_ms = Some(sent_at);
                    sum.sent += 1;
                }
                if let Err(e) = save(&path, &state) {
                    sum.error(crate::error_text::chain(&e));
                }
            }
            Err(e) => {
                sum.calls += e.attempts as usize;
                sum.error(format!("BatchImportFindings: {e}"));
                break;
            }
        }
    }
    sum.pending = state.findings.values().filter(|e| e.pending).count();
    sum.archived = state
        .findings
        .iter()
        .filter(|(id, e)| e.archived && (e.pending || p.send.contains(id)))
        .count();
    sum
}

/// Sends the report's findings to Security Hub in the identity's region.
pub fn submit(
    report: &Report,
    identity: &Identity,
    session: &Session,
    opts: &Options,
) -> SinkSummary {
    let findings = asff::findings_with(report, identity, opts.reference_url);
    let now_ms = crate::time::unix_ms(std::time::SystemTime::now());
    sync(findings, identity, opts, now_ms, &mut |body| {
        session.call(
            SECURITY_HUB,
            &identity.region,
            "/findings/import",
            None,
            body,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Status;
    use crate::sinks::asff::tests::{identity_ec2, report, result};
    use std::cell::RefCell;

    /// A fake Security Hub: records requests; `mode` decides the answer.
    struct Fake {
        requests: RefCell<Vec<Value>>,
        mode: RefCell<&'static str>,
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                requests: RefCell::new(vec![]),
                mode: RefCell::new("ok"),
            }
        }
        fn import(&self, body: &[u8]) -> Result<Reply, ApiError> {
            let v: Value = serde_json::from_slice(body).unwrap();
            self.requests.borrow_mut().push(v.clone());
            match *self.mode.borrow() {
                "down" => Err(ApiError {
                    status: Some(503),
                    code: "HTTP503".into(),
                    message: "down".into(),
                    retryable: true,
                    attempts: 4,
                }),
                "reject-first" => {
                    let id = v["Findings"][0]["Id"].clone();
                    let n = v["Findings"].as_array().unwrap().len();
                    Ok(Reply {
                        body: serde_json::json!({"FailedCount": 1, "SuccessCount": n - 1,
                            "FailedFindings": [{"Id": id, "ErrorCode": "InvalidInput", "ErrorMessage": "bad"}]}),
                        attempts: 1,
                    })
                }
                "empty" => Ok(Reply {
                    body: serde_json::json!({}),
                    attempts: 1,
                }),
                "miscount" => Ok(Reply {
                    body: serde_json::json!({"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []}),
                    attempts: 1,
                }),
                _ => {
                    let n = v["Findings"].as_array().unwrap().len();
                    Ok(Reply {
                        body: serde_json::json!({"FailedCount": 0, "SuccessCount": n, "FailedFindings": []}),
                        attempts: 1,
                    })
                }
            }
        }
        fn sent(&self) -> Vec<Value> {
            self.requests
                .borrow()
                .iter()
                .flat_map(|r| r["Findings"].as_array().unwrap().clone())
                .collect()
        }
    }

    fn run(
        dir: &Path,
        results: Vec<crate::findings::CheckResult>,
        catalog: &[&str],
        now_ms: u64,
        fake: &Fake,
    ) -> SinkSummary {
        run_cfg(dir, results, catalog, &[], None, now_ms, fake)
    }

    fn run_cfg(
        dir: &Path,
        results: Vec<crate::findings::CheckResult>,
        catalog: &[&str],
        skip: &[&str],
        min_severity: Option<Severity>,
        now_ms: u64,
        fake: &Fake,
    ) -> SinkSummary {
        let ids: BTreeSet<String> = catalog.iter().map(|s| s.to_string()).collect();
        let dropped: BTreeSet<String> = skip.iter().map(|s| s.to_string()).collect();
        let rep = report(results);
        let opts = Options {
            state_dir: dir,
            refresh: Duration::from_secs(86_400),
            catalog_ids: &ids,
            dropped: &dropped,
            min_severity,
            reference_url: None,
        };
        let id = identity_ec2();
        sync(asff::findings(&rep, &id), &id, &opts, now_ms, &mut |b| {
            fake.import(b)
        })
    }

    const T0: u64 = 1_795_365_319_000;

    #[test]
    fn delta_sync_lifecycle() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        let cat = ["A-1", "A-2"];
        // First run: both sent, CreatedAt == UpdatedAt.
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail), result("A-2", Status::Pass)],
            &cat,
            T0,
            &fake,
        );
        assert_eq!((s.sent, s.calls, s.pending, s.unchanged), (2, 1, 0, 0));
        let first = fake.sent();
        assert_eq!(first[0]["CreatedAt"], first[0]["UpdatedAt"]);
        // Unchanged: no call.
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail), result("A-2", Status::Pass)],
            &cat,
            T0 + 1000,
            &fake,
        );
        assert_eq!((s.sent, s.calls, s.unchanged), (0, 0, 2));
        assert_eq!(fake.requests.borrow().len(), 1);
        // Fixed: PASSED, later UpdatedAt, same CreatedAt; the clock went backwards meanwhile.
        let s = run(
            d.path(),
            vec![result("A-1", Status::Pass), result("A-2", Status::Pass)],
            &cat,
            T0 - 5000,
            &fake,
        );
        assert_eq!((s.sent, s.unchanged), (1, 1));
        let fixed = fake.sent().pop().unwrap();
        assert_eq!(fixed["Compliance"]["Status"], "PASSED");
        assert_eq!(fixed["CreatedAt"], first[0]["CreatedAt"]);
        assert!(fixed["UpdatedAt"].as_str() > first[0]["UpdatedAt"].as_str());
        // Refresh after the interval.
        let s = run(
            d.path(),
            vec![result("A-1", Status::Pass), result("A-2", Status::Pass)],
            &cat,
            T0 + 86_400_000 + 5000,
            &fake,
        );
        assert_eq!(s.sent, 2);
        // A-2 leaves the catalog: archived once; not selected (still in catalog) is left alone.
        let s = run(d.path(), vec![], &["A-1"], T0 + 86_400_000 + 6000, &fake);
        assert_eq!((s.sent, s.archived), (1, 1));
        let archived = fake.sent().pop().unwrap();
        assert_eq!(archived["RecordState"], "ARCHIVED");
        assert_eq!(archived["Id"], first[1]["Id"]);
        let s = run(d.path(), vec![], &["A-1"], T0 + 86_400_000 + 7000, &fake);
        assert_eq!((s.sent, s.calls, s.archived), (0, 0, 0));
    }

    #[test]
    fn outage_keeps_everything_pending_and_delivers_once() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        let cat = ["A-1"];
        *fake.mode.borrow_mut() = "down";
        let s = run(d.path(), vec![result("A-1", Status::Fail)], &cat, T0, &fake);
        assert_eq!((s.sent, s.calls, s.pending), (0, 4, 1));
        assert!(s.errors[0].contains("503"));
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &cat,
            T0 + 10,
            &fake,
        );
        assert_eq!(s.pending, 1);
        *fake.mode.borrow_mut() = "ok";
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &cat,
            T0 + 20,
            &fake,
        );
        assert_eq!((s.sent, s.pending), (1, 0));
        // Every attempt carried the same version (same UpdatedAt): applied once.
        let all = fake.sent();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|f| f["UpdatedAt"] == all[0]["UpdatedAt"]));
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &cat,
            T0 + 30,
            &fake,
        );
        assert_eq!((s.sent, s.calls), (0, 0));
    }

    #[test]
    fn failed_findings_are_retried() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        let cat = ["A-1", "A-2"];
        *fake.mode.borrow_mut() = "reject-first";
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail), result("A-2", Status::Fail)],
            &cat,
            T0,
            &fake,
        );
        assert_eq!((s.sent, s.failed, s.pending), (1, 1, 1));
        assert!(s.errors[0].contains("InvalidInput"));
        *fake.mode.borrow_mut() = "ok";
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail), result("A-2", Status::Fail)],
            &cat,
            T0 + 10,
            &fake,
        );
        assert_eq!((s.sent, s.failed, s.pending, s.unchanged), (1, 0, 0, 1));
    }

    #[test]
    fn batches_by_count_and_bytes() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        let ids: Vec<String> = (0..250).map(|i| format!("B-{i:03}")).collect();
        let cat: Vec<&str> = ids.iter().map(String::as_str).collect();
        let results = ids.iter().map(|i| result(i, Status::Fail)).collect();
        let s = run(d.path(), results, &cat, T0, &fake);
        assert_eq!((s.sent, s.calls), (250, 3));
        let sizes: Vec<usize> = fake
            .requests
            .borrow()
            .iter()
            .map(|r| r["Findings"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        // Byte bound: big findings split earlier.
        let mut st = State::new(&identity_ec2());
        for i in 0..10 {
            st.findings.insert(
                format!("{i}"),
                Entry {
                    check_id: "X".into(),
                    hash: String::new(),
                    created_at: String::new(),
                    updated_at: String::new(),
                    updated_ms: 0,
                    sent_ms: None,
                    pending: true,
                    archived: false,
                    finding: Value::String("x".repeat(1_000_000)),
                    first_observed: None,
                },
            );
        }
        let ids: Vec<String> = st.findings.keys().cloned().collect();
        let b = batches(&ids, &st);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![6, 4]);
    }

    #[test]
    fn empty_or_miscounted_replies_keep_findings_pending() {
        for mode in ["empty", "miscount"] {
            let d = tempfile::tempdir().unwrap();
            let fake = Fake::new();
            let cat = ["A-1", "A-2"];
            let both = || vec![result("A-1", Status::Fail), result("A-2", Status::Pass)];
            *fake.mode.borrow_mut() = mode;
            let s = run(d.path(), both(), &cat, T0, &fake);
            assert_eq!((s.sent, s.pending), (0, 2), "{mode}: {s:?}");
            assert!(s.errors[0].contains("kept pending"), "{:?}", s.errors);
            *fake.mode.borrow_mut() = "ok";
            let s = run(d.path(), both(), &cat, T0 + 10, &fake);
            assert_eq!((s.sent, s.pending), (2, 0), "{mode}");
        }
    }

    #[test]
    fn not_applicable_is_archived_never_created() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        let cat = ["A-1", "A-2"];
        // A-2 not applicable from the start: no finding at all.
        let s = run(
            d.path(),
            vec![
                result("A-1", Status::Fail),
                result("A-2", Status::NotApplicable),
            ],
            &cat,
            T0,
            &fake,
        );
        assert_eq!((s.sent, s.archived), (1, 0));
        assert!(fake
            .sent()
            .iter()
            .all(|f| f["ProductFields"]["jikimi/CheckId"] == "A-1"));
        // A-1 becomes not applicable: archived once, with its new content.
        let s = run(
            d.path(),
            vec![
                result("A-1", Status::NotApplicable),
                result("A-2", Status::NotApplicable),
            ],
            &cat,
            T0 + 1000,
            &fake,
        );
        assert_eq!((s.sent, s.archived), (1, 1));
        let a = fake.sent().pop().unwrap();
        assert_eq!(a["RecordState"], "ARCHIVED");
        assert_eq!(a["Compliance"]["Status"], "NOT_AVAILABLE");
        // Still not applicable, even after the refresh interval: nothing.
        let s = run(
            d.path(),
            vec![
                result("A-1", Status::NotApplicable),
                result("A-2", Status::NotApplicable),
            ],
            &cat,
            T0 + 3 * 86_400_000,
            &fake,
        );
        assert_eq!((s.sent, s.calls), (0, 0));
        // Applies again and fails: ACTIVE, same CreatedAt, newly observed.
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &cat,
            T0 + 4 * 86_400_000,
            &fake,
        );
        assert_eq!(s.sent, 1);
        let back = fake.sent().pop().unwrap();
        assert_eq!(back["RecordState"], "ACTIVE");
        assert_eq!(back["CreatedAt"], fake.sent()[0]["CreatedAt"]);
        assert_eq!(back["FirstObservedAt"], back["LastObservedAt"]);
        assert!(back["FirstObservedAt"].as_str() > back["CreatedAt"].as_str());
    }

    #[test]
    fn checks_dropped_by_configuration_are_archived() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        let cat = ["A-1", "A-2", "A-3"];
        let mut low = result("A-3", Status::Fail);
        low.severity = Severity::Low;
        let s = run(
            d.path(),
            vec![
                result("A-1", Status::Fail),
                result("A-2", Status::Fail),
                low,
            ],
            &cat,
            T0,
            &fake,
        );
        assert_eq!(s.sent, 3);
        // agent.skip = [A-2], agent.min_severity = medium: are archived.
        let s = run_cfg(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &cat,
            &["A-2"],
            Some(Severity::Medium),
            T0 + 1000,
            &fake,
        );
        assert_eq!((s.sent, s.archived, s.unchanged), (2, 2, 1), "{s:?}");
        assert!(fake.sent()[3..]
            .iter()
            .all(|f| f["RecordState"] == "ARCHIVED"));
        // Not selected on the command line only (not dropped): left alone.
        let s = run(d.path(), vec![], &cat, T0 + 2000, &fake);
        assert_eq!((s.sent, s.calls), (0, 0));
    }

    #[test]
    fn status_change_marks_only_new_statuses() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        let mark = |f: &Value| {
            f["ProductFields"][STATUS_CHANGE]
                .as_str()
                .unwrap()
                .to_string()
        };
        let mut r = result("A-1", Status::Fail);
        run(d.path(), vec![r.clone()], &["A-1"], T0, &fake);
        // Same status, other evidence: a new version, but no new status.
        r.reason = Some("mode 0777 is more permissive than 0644".into());
        run(d.path(), vec![r.clone()], &["A-1"], T0 + 10, &fake);
        // Refreshed unchanged.
        run(
            d.path(),
            vec![r.clone()],
            &["A-1"],
            T0 + 86_400_000 + 10,
            &fake,
        );
        // Fixed, then failing again.
        run(
            d.path(),
            vec![result("A-1", Status::Pass)],
            &["A-1"],
            T0 + 86_400_000 + 20,
            &fake,
        );
        run(d.path(), vec![r], &["A-1"], T0 + 86_400_000 + 30, &fake);
        let marks: Vec<String> = fake.sent().iter().map(mark).collect();
        assert_eq!(marks, ["NEW", "NONE", "NONE", "CHANGED", "CHANGED"]);
    }

    #[test]
    fn observation_times() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &["A-1"],
            T0,
            &fake,
        );
        // Refreshed unchanged: LastObservedAt moves, FirstObservedAt stays.
        run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &["A-1"],
            T0 + 86_400_000,
            &fake,
        );
        let all = fake.sent();
        assert_eq!(all[1]["FirstObservedAt"], all[0]["FirstObservedAt"]);
        assert!(all[1]["LastObservedAt"].as_str() > all[0]["LastObservedAt"].as_str());
        // The status changes: FirstObservedAt is the time of the change.
        run(
            d.path(),
            vec![result("A-1", Status::Pass)],
            &["A-1"],
            T0 + 86_400_000 + 5,
            &fake,
        );
        let p = fake.sent().pop().unwrap();
        assert_eq!(p["FirstObservedAt"], p["LastObservedAt"]);
        assert!(p["FirstObservedAt"].as_str() > all[0]["FirstObservedAt"].as_str());
    }

    #[test]
    fn agent_version_or_catalog_digest_alone_is_no_change() {
        let a = serde_json::json!({"Id": "x", "UpdatedAt": "1", "ProductFields":
            {"jikimi/CatalogDigest": "aa", "jikimi/AgentVersion": "0.1.0", "jikimi/Status": "FAIL"}});
        let mut b = a.clone();
        b["UpdatedAt"] = "2".into();
        b["ProductFields"]["jikimi/CatalogDigest"] = "bb".into();
        b["ProductFields"]["jikimi/AgentVersion"] = "0.2.0".into();
        assert_eq!(content_hash(&a), content_hash(&b));
        b["ProductFields"]["jikimi/Status"] = "PASS".into();
        assert_ne!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn foreign_or_corrupt_state_starts_afresh() {
        let d = tempfile::tempdir().unwrap();
        let fake = Fake::new();
        std::fs::write(d.path().join(STATE_FILE), b"{not json").unwrap();
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &["A-1"],
            T0,
            &fake,
        );
        assert_eq!(s.sent, 1);
        assert!(s.errors[0].contains("unreadable state"), "{:?}", s.errors);
        let mut st: State =
            serde_json::from_slice(&std::fs::read(d.path().join(STATE_FILE)).unwrap()).unwrap();
        st.resource_id = "i-other".into();
        std::fs::write(d.path().join(STATE_FILE), serde_json::to_vec(&st).unwrap()).unwrap();
        let s = run(
            d.path(),
            vec![result("A-1", Status::Fail)],
            &["A-1"],
            T0 + 10,
            &fake,
        );
        assert_eq!(s.sent, 1, "another resource's state is not ours");
    }
}
