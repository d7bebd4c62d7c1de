//! Security Hub workflow for waived checks: a waived finding stays `Compliance.Status
//! FAILED` (the risk is accepted, not gone); BatchUpdateFindings sets its workflow to
//! `SUPPRESSED` with a note (reason, approver, expiry), and back to `NEW` when the waiver
//! expires or is removed while the check still fails (`RESOLVED` when it passes by then).
//!
//! Workflow states people set by hand are never touched:
//! - before any change, GetFindings reads the findings' current workflow and note;
//! - a finding is suppressed only while its workflow is `NEW` or `NOTIFIED` (one a person
//!   already suppressed or resolved is left as it is, and never becomes the agent's);
//! - a state file (`securityhub-workflow.json`) records the findings this agent suppressed,
//!   and only those are restored or have their note updated, and only while they are still
//!   `SUPPRESSED` with the agent's note (`Note.UpdatedBy = jikimi`); once a person changed
//!   the workflow or the note, the agent forgets the finding.
//!
//! When a waiver changes (renewed, new reason) only the note is updated, never the
//! workflow. Updates that fail (the finding not imported yet, throttling) stay to do for the
//! next run: the wanted state is recomputed from the report every run.

use super::asff;
use super::SinkSummary;
use crate::aws::http::ApiError;
use crate::aws::{Identity, Reply, Session, SECURITY_HUB};
use crate::findings::Status;
use crate::report::Report;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub const STATE_FILE: &str = "securityhub-workflow.json";
const STATE_VERSION: u32 = 1;
/// BatchUpdateFindings takes at most 100 findings a request.
const BATCH_MAX: usize = 100;
/// Finding ids per GetFindings request (values of one filter field).
const GET_IDS_MAX: usize = 20;
/// GetFindings pages read per request at most.
const GET_PAGES_MAX: usize = 10;
/// `Note.Text` and `Note.UpdatedBy` are at most 512 characters.
const NOTE_MAX: usize = 512;
/// `Note.UpdatedBy` of the agent's notes.
pub const UPDATED_BY: &str = "jikimi";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct State {
    version: u32,
    account_id: String,
    region: String,
    resource_id: String,
    /// Finding Id → the note the agent set when it suppressed it.
    suppressed: BTreeMap<String, Suppressed>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Suppressed {
    check_id: String,
    note: String,
}

/// One BatchUpdateFindings request to make.
#[derive(Debug, Clone, PartialEq)]
struct Update {
    /// `SUPPRESSED`, `NEW`, `RESOLVED`, or `None` for a note alone.
    workflow: Option<&'static str>,
    note: String,
    ids: Vec<String>,
}

/// The note of a waived finding.
pub fn suppress_note(w: &crate::findings::WaiverNote) -> String {
    asff::clip(
        &format!(
            "Waived until {} (approved by {}): {} [{}]",
            w.expires, w.approved_by, w.reason, w.origin
        ),
        NOTE_MAX,
    )
}

/// What changes: suppress newly waived findings, update the note of re-waived ones,
/// restore the ones the agent suppressed whose waiver is gone.
fn plan(report: &Report, identity: &Identity, state: &State) -> Vec<Update> {
    let mut groups: BTreeMap<(Option<&'static str>, String), Vec<String>> = BTreeMap::new();
    for r in &report.results {
        let id = asff::finding_id(identity, &r.id);
        let mine = state.suppressed.get(&id);
        let (workflow, note) = match (&r.waiver, r.status, mine) {
            (Some(w), Status::Waived, None) => (Some("SUPPRESSED"), suppress_note(w)),
            (Some(w), Status::Waived, Some(m)) if m.note != suppress_note(w) => {
                (None, suppress_note(w))
            }
            (_, Status::Waived, Some(_)) => continue,
            (_, _, None) => continue,
            (w, st, Some(_)) => {
                let why = match w {
                    Some(w) if w.expired => format!("Waiver expired on {}", w.expires),
                    _ => "Waiver removed".to_string(),
                };
                match st {
                    Status::Pass | Status::NotApplicable => (
                        Some("RESOLVED"),
                        format!("{why}; the check no longer fails."),
                    ),
                    _ => (
                        Some("NEW"),
                        format!("{why}; the check fails again ({}).", r.status),
                    ),
                }
            }
        };
        groups.entry((workflow, note)).or_default().push(id);
    }
    let mut out = Vec::new();
    for ((workflow, note), ids) in groups {
        for chunk in ids.chunks(BATCH_MAX) {
            out.push(Update {
                workflow,
                note: note.clone(),
                ids: chunk.to_vec(),
            });
        }
    }
    out
}

fn body(u: &Update, identity: &Identity) -> Value {
    let arn = asff::product_arn(identity);
    let ids: Vec<Value> = u
        .ids
        .iter()
        .map(|id| json!({ "Id": id, "ProductArn": arn }))
        .collect();
    let mut b = json!({
        "FindingIdentifiers": ids,
        "Note": { "Text": u.note, "UpdatedBy": UPDATED_BY },
    });
    if let Some(w) = u.workflow {
        b["Workflow"] = json!({ "Status": w });
    }
    b
}

/// The finding Ids the reply did not process (with the reason), or an error when the reply
/// accounts for fewer findings than were sent.
fn unprocessed(
    reply: &Value,
    sent: &[String],
) -> Result<BTreeMap<String, String>, super::securityhub::ReplyMismatch> {
    let mut out = BTreeMap::new();
    for u in reply["UnprocessedFindings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = u["FindingIdentifier"]["Id"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let why = format!(
            "{}: {}",
            u["ErrorCode"].as_str().unwrap_or("?"),
            u["ErrorMessage"].as_str().unwrap_or("")
        );
        out.insert(id, why);
    }
    let processed = reply["ProcessedFindings"].as_array().map_or(0, Vec::len);
    if processed + out.len() != sent.len() {
        return Err(super::securityhub::ReplyMismatch::Accounted {
            accounted: processed + out.len(),
            sent: sent.len(),
        });
    }
    Ok(out)
}

fn load(path: &Path, identity: &Identity) -> State {
    let fresh = State {
        version: STATE_VERSION,
        account_id: identity.account_id.clone(),
        region: identity.region.clone(),
        resource_id: identity.resource_id.clone(),
        suppressed: BTreeMap::new(),
    };
    let Ok(data) = std::fs::read(path) else {
        return fresh;
    };
    match serde_json::from_slice::<State>(&data) {
        Ok(s)
            if s.version == STATE_VERSION
                && s.account_id == identity.account_id
                && s.region == identity.region
                && s.resource_id == identity.resource_id =>
        {
            s
        }
        _ => fresh,
    }
}

/// A finding's workflow status and who last wrote its note, as Security Hub has them.
#[derive(Debug, Clone, PartialEq)]
struct Current {
    workflow: String,
    note_by: Option<String>,
}

/// GetFindings for these ids: what Security Hub holds now (absent: not imported yet).
fn current(
    ids: &[String],
    get: &mut dyn FnMut(&[u8]) -> Result<Reply, ApiError>,
    sum: &mut SinkSummary,
) -> Result<BTreeMap<String, Current>, ApiError> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(GET_IDS_MAX) {
        let filter: Vec<Value> = chunk
            .iter()
            .map(|id| json!({ "Value": id, "Comparison": "EQUALS" }))
            .collect();
        let mut token: Option<String> = None;
        for _ in 0..GET_PAGES_MAX {
            let mut body = json!({ "Filters": { "Id": filter }, "MaxResults": 100 });
            if let Some(t) = &token {
                body["NextToken"] = json!(t);
            }
            let reply = get(body.to_string().as_bytes()).inspect_err(|e| {
                sum.calls += e.attempts as usize;
            })?;
            sum.calls += reply.attempts as usize;
            for f in reply.body["Findings"].as_array().into_iter().flatten() {
                let Some(id) = f["Id"].as_str() else { continue };
                if !chunk.iter().any(|c| c == id) {
                    continue;
                }
                out.insert(
                    id.to_string(),
                    Current {
                        workflow: f["Workflow"]["Status"]
                            .as_str()
                            .unwrap_or("NEW")
                            .to_string(),
                        note_by: f["Note"]["UpdatedBy"].as_str().map(str::to_string),
                    },
                );
            }
            token = reply.body["NextToken"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

/// Keeps the part of the plan that touches no hand-set state; forgets the findings a person
/// took over.
fn guard(
    plan: Vec<Update>,
    now: &BTreeMap<String, Current>,
    state: &mut State,
    sum: &mut SinkSummary,
) -> Vec<Update> {
    let mut out = Vec::new();
    for mut u in plan {
        u.ids.retain(|id| match (u.workflow, now.get(id)) {
            (Some("SUPPRESSED"), None) => {
                // not imported yet: the next run tries again
                sum.pending += 1;
                false
            }
            (Some("SUPPRESSED"), Some(c)) => {
                let untouched = c.workflow == "NEW" || c.workflow == "NOTIFIED";
                if !untouched {
                    sum.unchanged += 1;
                }
                untouched
            }
            (_, Some(c))
                if c.workflow == "SUPPRESSED" && c.note_by.as_deref() == Some(UPDATED_BY) =>
            {
                true
            }
            _ => {
                // gone, or a person changed the workflow or the note: theirs now
                state.suppressed.remove(id);
                sum.unchanged += 1;
                false
            }
        });
        if !u.ids.is_empty() {
            out.push(u);
        }
    }
    out
}

/// The sync with injectable transports (`body` → BatchUpdateFindings / GetFindings
/// response).
fn sync(
    report: &Report,
    identity: &Identity,
    state_dir: &Path,
    update: &mut dyn FnMut(&[u8]) -> Result<Reply, ApiError>,
    get: &mut dyn FnMut(&[u8]) -> Result<Reply, ApiError>,
) -> SinkSummary {
    let mut sum = SinkSummary::default();
    let _lock = match crate::state::lock(
        state_dir,
        super::securityhub::LOCK_FILE,
        std::time::Duration::from_secs(120),
    ) {
        Ok(l) => l,
        Err(e) => {
            sum.error(e.to_string());
            return sum;
        }
    };
    let path = state_dir.join(STATE_FILE);
    let mut state = load(&path, identity);
    let plan = plan(report, identity, &state);
    if plan.is_empty() {
        return sum;
    }
    let ids: Vec<String> = plan.iter().flat_map(|u| u.ids.iter().cloned()).collect();
    let now = match current(&ids, get, &mut sum) {
        Ok(n) => n,
        Err(e) => {
            sum.error(format!("GetFindings: {e}"));
            sum.pending += ids.len();
            return sum;
        }
    };
    let before = state.clone();
    let plan = guard(plan, &now, &mut state, &mut sum);
    if state != before {
        if let Err(e) =
            crate::state::write_atomic(&path, &serde_json::to_vec(&state).unwrap_or_default())
        {
            sum.error(e.to_string());
        }
    }
    let check_of: BTreeMap<String, String> = report
        .results
        .iter()
        .map(|r| (asff::finding_id(identity, &r.id), r.id.clone()))
        .collect();
    let mut stop = false;
    for u in &plan {
        if stop {
            sum.pending += u.ids.len();
            continue;
        }
        let b = body(u, identity).to_string();
        match update(b.as_bytes()) {
            Ok(reply) => {
                sum.calls += reply.attempts as usize;
                let failed = match unprocessed(&reply.body, &u.ids) {
                    Ok(f) => f,
                    Err(e) => {
                        sum.error(format!("BatchUpdateFindings: {e}"));
                        sum.pending += u.ids.len();
                        continue;
                    }
                };
                for id in &u.ids {
                    if let Some(why) = failed.get(id) {
                        sum.failed += 1;
                        sum.pending += 1;
                        sum.error(format!("{id}: {why}"));
                        continue;
                    }
                    sum.sent += 1;
                    match u.workflow {
                        Some("SUPPRESSED") | None => {
                            state.suppressed.insert(
                                id.clone(),
                                Suppressed {
                                    check_id: check_of.get(id).cloned().unwrap_or_default(),
                                    note: u.note.clone(),
                                },
                            );
                        }
                        Some(_) => {
                            state.suppressed.remove(id);
                        }
                    }
                }
                if let Err(e) = crate::state::write_atomic(
                    &path,
                    &serde_json::to_vec(&state).unwrap_or_default(),
                ) {
                    sum.error(e.to_string());
                }
            }
            Err(e) => {
                sum.calls += e.attempts as usize;
                sum.pending += u.ids.len();
                sum.error(format!("BatchUpdateFindings: {e}"));
                stop = true;
            }
        }
    }
    sum
}

/// The workflow follow-up of the Security Hub sink: waived findings SUPPRESSED, findings
/// whose waiver is gone back to NEW. Delivered right after the findings (so they exist);
/// recorded as `securityhub_workflow` only when it made a call or met a problem.
pub struct Workflow;

impl super::Sink for Workflow {
    fn name(&self) -> &'static str {
        "securityhub_workflow"
    }

    fn remote(&self) -> bool {
        true
    }

    fn deliver(&self, report: &Report, ctx: &super::Context<'_>) -> super::Summaries {
        let w = match ctx.aws("Security Hub workflow") {
            Ok(aws) => submit(report, aws.identity, aws.session, ctx.state_dir),
            Err(s) => s,
        };
        if w.calls > 0 || !w.errors.is_empty() {
            vec![(self.name(), w)]
        } else {
            Vec::new()
        }
    }
}

/// Suppresses waived findings and restores those whose waiver is gone.
pub fn submit(
    report: &Report,
    identity: &Identity,
    session: &Session,
    state_dir: &Path,
) -> SinkSummary {
    sync(
        report,
        identity,
        state_dir,
        &mut |body| {
            session.call_patch(
                SECURITY_HUB,
                &identity.region,
                "/findings/batchupdate",
                body,
            )
        },
        &mut |body| session.call(SECURITY_HUB, &identity.region, "/findings", None, body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::asff::tests::{identity_ec2, report, result};
    use crate::waivers::{apply, Waiver, Waivers};
    use std::cell::RefCell;

    fn waiver(check: &str, expires: &str, reason: &str) -> Waiver {
        Waiver {
            check: check.into(),
            hosts: vec![],
            tags: Default::default(),
            reason: reason.into(),
            approved_by: "kim".into(),
            expires: crate::time::parse_date(expires).unwrap(),
            origin: "w.toml:1".into(),
        }
    }

    /// A fake Security Hub holding each finding's workflow and note.
    struct Fake {
        requests: RefCell<Vec<Value>>,
        /// Ids the fake does not know (not imported yet).
        unknown: RefCell<Vec<String>>,
        /// Finding id -> {"Workflow": {...}, "Note": {...}}.
        held: RefCell<BTreeMap<String, Value>>,
    }

    impl Fake {
        fn new(unknown: Vec<String>) -> Fake {
            Fake {
                requests: RefCell::new(vec![]),
                unknown: RefCell::new(unknown),
                held: RefCell::new(BTreeMap::new()),
            }
        }
        fn update(&self, body: &[u8]) -> Result<Reply, ApiError> {
            let v: Value = serde_json::from_slice(body).unwrap();
            self.requests.borrow_mut().push(v.clone());
            let (mut ok, mut bad) = (vec![], vec![]);
            for f in v["FindingIdentifiers"].as_array().unwrap() {
                if self.unknown.borrow().iter().any(|u| f["Id"] == **u) {
                    bad.push(
                        json!({"FindingIdentifier": f, "ErrorCode": "FindingNotFound",
                        "ErrorMessage": "not found"}),
                    );
                } else {
                    let id = f["Id"].as_str().unwrap().to_string();
                    self.set(
                        &id,
                        v.get("Workflow").map(|w| w["Status"].as_str().unwrap()),
                        Some(&v["Note"]),
                    );
                    ok.push(f.clone());
                }
            }
            Ok(Reply {
                body: json!({"ProcessedFindings": ok, "UnprocessedFindings": bad}),
                attempts: 1,
            })
        }
        fn get(&self, body: &[u8]) -> Result<Reply, ApiError> {
            let v: Value = serde_json::from_slice(body).unwrap();
            let mut out = vec![];
            for f in v["Filters"]["Id"].as_array().unwrap() {
                let id = f["Value"].as_str().unwrap();
                if self.unknown.borrow().iter().any(|u| u == id) {
                    continue;
                }
                let mut finding = self.held.borrow().get(id).cloned().unwrap_or(json!({}));
                finding["Id"] = json!(id);
                if finding.get("Workflow").is_none() {
                    finding["Workflow"] = json!({"Status": "NEW"});
                }
                out.push(finding);
            }
            Ok(Reply {
                body: json!({ "Findings": out }),
                attempts: 1,
            })
        }
        /// What a person (or the agent) sets.
        fn set(&self, id: &str, workflow: Option<&str>, note: Option<&Value>) {
            let mut held = self.held.borrow_mut();
            let e = held.entry(id.to_string()).or_insert(json!({}));
            if let Some(w) = workflow {
                e["Workflow"] = json!({ "Status": w });
            }
            if let Some(n) = note {
                e["Note"] = n.clone();
            }
        }
        fn workflow(&self, id: &str) -> String {
            self.held.borrow().get(id).map_or("NEW".into(), |v| {
                v["Workflow"]["Status"].as_str().unwrap().to_string()
            })
        }
        fn take(&self) -> Vec<Value> {
            std::mem::take(&mut *self.requests.borrow_mut())
        }
    }

    fn day(s: &str) -> i64 {
        crate::time::parse_date(s).unwrap()
    }

    #[test]
    fn suppress_renew_expire_and_leave_hand_set_states_alone() {
        let d = tempfile::tempdir().unwrap();
        let id = identity_ec2();
        let fake = Fake::new(vec![]);
        let fresh = || {
            report(vec![
                result("A-1", Status::Fail),
                result("A-2", Status::Fail),
                result("A-3", Status::Fail),
            ])
        };
        let ws = Waivers {
            list: vec![
                waiver("A-1", "2027-01-10", "bastion"),
                waiver("A-2", "2027-06-01", "legacy"),
            ],
        };
        let mut rep = fresh();
        apply(&mut rep, &ws, day("2026-12-06"), None);
        let s = sync(&rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
            fake.get(b)
        });
        assert_eq!(
            (s.sent, s.calls, s.pending),
            (2, 3, 0),
            "one GetFindings, two updates: {s:?}"
        );
        let reqs = fake.take();
        assert!(reqs.iter().all(|r| r["Workflow"]["Status"] == "SUPPRESSED"));
        assert_eq!(
            reqs[0]["Note"]["Text"],
            "Waived until 2027-01-10 (approved by kim): bastion [w.toml:1]"
        );
        assert_eq!(reqs[0]["Note"]["UpdatedBy"], "jikimi");
        assert_eq!(
            reqs[0]["FindingIdentifiers"][0]["ProductArn"],
            asff::product_arn(&id)
        );
        // unchanged: nothing to do
        let s = sync(&rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
            fake.get(b)
        });
        assert_eq!((s.sent, s.calls), (0, 0));
        // renewed waiver: the note only, the workflow is not touched
        let ws2 = Waivers {
            list: vec![
                waiver("A-1", "2027-03-31", "bastion"),
                waiver("A-2", "2027-06-01", "legacy"),
            ],
        };
        let mut rep = fresh();
        apply(&mut rep, &ws2, day("2026-12-06"), None);
        sync(&rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
            fake.get(b)
        });
        let reqs = fake.take();
        assert_eq!(reqs.len(), 1);
        assert!(reqs[0].get("Workflow").is_none(), "{}", reqs[0]);
        assert!(reqs[0]["Note"]["Text"]
            .as_str()
            .unwrap()
            .contains("2027-03-31"));
        // A-1's waiver expires (A-1 still fails) and A-2 passes after its waiver is removed:
        // NEW and RESOLVED. A-3 was never suppressed by the agent (a person may have set its
        // workflow): never touched.
        let mut rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Pass),
            result("A-3", Status::Fail),
        ]);
        apply(&mut rep, &ws2, day("2027-04-01"), None);
        let rep_ws = Waivers {
            list: vec![ws2.list[0].clone()],
        };
        apply(&mut rep, &rep_ws, day("2027-04-01"), None);
        sync(&rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
            fake.get(b)
        });
        let reqs = fake.take();
        let by: BTreeMap<String, (String, String)> = reqs
            .iter()
            .map(|r| {
                let fid = r["FindingIdentifiers"][0]["Id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                let check = fid.rsplit('/').next().unwrap().to_string();
                (
                    check,
                    (
                        r["Workflow"]["Status"].as_str().unwrap().to_string(),
                        r["Note"]["Text"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
        assert_eq!(by.len(), 2, "{by:?}");
        assert_eq!(by["A-1"].0, "NEW");
        assert!(
            by["A-1"].1.starts_with("Waiver expired on 2027-03-31"),
            "{by:?}"
        );
        assert_eq!(by["A-2"].0, "RESOLVED");
        assert!(!by.contains_key("A-3"));
        // nothing left that the agent suppressed: later runs touch nothing
        sync(&rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
            fake.get(b)
        });
        assert!(fake.take().is_empty());
    }

    #[test]
    fn workflows_a_person_set_are_never_touched() {
        let d = tempfile::tempdir().unwrap();
        let id = identity_ec2();
        let fake = Fake::new(vec![]);
        let (a1, a2) = (asff::finding_id(&id, "A-1"), asff::finding_id(&id, "A-2"));
        let by_alice = json!({"Text": "risk accepted in the console", "UpdatedBy": "alice"});
        // A-1 was resolved by a person before any waiver: the agent does not suppress it
        fake.set(&a1, Some("RESOLVED"), Some(&by_alice));
        let ws = Waivers {
            list: vec![
                waiver("A-1", "2027-01-10", "r"),
                waiver("A-2", "2027-01-10", "r"),
            ],
        };
        let run = |rep: &Report| {
            sync(rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
                fake.get(b)
            })
        };
        let mut rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Fail),
        ]);
        apply(&mut rep, &ws, day("2026-12-06"), None);
        let s = run(&rep);
        assert_eq!((s.sent, s.unchanged), (1, 1), "{s:?}");
        assert_eq!(fake.workflow(&a1), "RESOLVED");
        assert_eq!(fake.workflow(&a2), "SUPPRESSED");
        // a person takes A-2 over (their own note); then the waivers end
        fake.set(&a2, None, Some(&by_alice));
        fake.take();
        let mut rep = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Fail),
        ]);
        apply(&mut rep, &Waivers::default(), day("2026-12-06"), None);
        run(&rep);
        assert!(
            fake.take().is_empty(),
            "neither finding is the agent's to restore"
        );
        assert_eq!(
            (fake.workflow(&a1), fake.workflow(&a2)),
            ("RESOLVED".into(), "SUPPRESSED".into())
        );
        // and A-2 is forgotten: nothing is ever planned for it again
        let st = load(&d.path().join(STATE_FILE), &id);
        assert!(st.suppressed.is_empty(), "{st:?}");
    }

    #[test]
    fn a_finding_not_imported_yet_is_retried() {
        let d = tempfile::tempdir().unwrap();
        let id = identity_ec2();
        let fake = Fake::new(vec![asff::finding_id(&id, "A-1")]);
        let mut rep = report(vec![result("A-1", Status::Fail)]);
        let ws = Waivers {
            list: vec![waiver("A-1", "2027-01-10", "r")],
        };
        apply(&mut rep, &ws, day("2026-12-06"), None);
        let s = sync(&rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
            fake.get(b)
        });
        assert_eq!((s.sent, s.pending), (0, 1), "{s:?}");
        assert!(
            fake.take().is_empty(),
            "no update for a finding Security Hub does not hold"
        );
        fake.unknown.borrow_mut().clear();
        let s = sync(&rep, &id, d.path(), &mut |b| fake.update(b), &mut |b| {
            fake.get(b)
        });
        assert_eq!((s.sent, s.pending), (1, 0));
        assert_eq!(fake.take().len(), 1);
    }
}
