//! Remediation (`jikimi fix`): the catalog's declarative fixes, planned in memory, shown as a
//! diff, applied atomically with a byte-for-byte journal, validated the way each daemon would
//! read its configuration, verified by re-running the checks, and rolled back on any doubt.
//!
//! One run:
//! 1. scan (without walks); the targets are the failing checks with a `fix`;
//! 2. refuse fixes that could lock people out ([`guard`]); plan the rest ([`plan`]);
//! 3. show the diff; stop here for `--dry-run`;
//! 4. back up and apply ([`journal`]); validate sshd, sudoers and PAM; re-scan;
//! 5. a target still failing is dropped and the run re-planned without it (at most three
//!    rounds); a validation error or any check that got worse rolls the whole run back.

pub mod diff;
pub mod edit;
pub mod guard;
pub mod io;
pub mod journal;
pub mod plan;

use crate::catalog::{Catalog, Check};
use crate::facts::Facts;
use crate::findings::{Severity, Status};
use crate::fs::Root;
use crate::run::{scan_facts, Report, Selection};
use plan::{Node, Workspace};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What to fix.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these check ids (empty: every failing check with a fix).
    pub only: Vec<String>,
    pub min_severity: Option<Severity>,
    /// Checks never touched (`agent.skip`).
    pub skip: Vec<String>,
    /// Where the journals live (`STATE_DIR/fixes`).
    pub state_dir: PathBuf,
}

/// Why a run could not be made.
#[derive(thiserror::Error)]
pub enum FixError {
    #[error("{0}")]
    Select(String),
    #[error("{0}")]
    Journal(#[from] journal::JournalError),
}
crate::error_text::debug_as_display!(FixError);

/// One targeted check.
#[derive(Debug, Clone)]
pub struct CheckFix {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// What its actions do.
    pub actions: Vec<String>,
    pub notes: Vec<String>,
    /// Why it was not planned (lock-out guard, unreadable file...).
    pub refused: Option<String>,
    /// Its planning changed something.
    pub changes: bool,
}

/// A planned run.
pub struct Plan<'r> {
    pub fixes: Vec<CheckFix>,
    pub ws: Workspace<'r>,
    /// The scan the plan was made from.
    pub before: Report,
}

fn selection() -> Selection {
    Selection {
        no_walks: true,
        ..Default::default()
    }
}

fn targets<'c>(
    catalog: &'c Catalog,
    before: &Report,
    o: &Options,
) -> Result<Vec<&'c Check>, FixError> {
    for id in &o.only {
        match catalog.checks.iter().find(|c| &c.id == id) {
            None => return Err(FixError::Select(format!("unknown check id `{id}`"))),
            Some(c) if c.fix.is_empty() => {
                return Err(FixError::Select(format!(
                    "check `{id}` has no mechanical fix (see checks/README.md)"
                )))
            }
            Some(_) => {}
        }
    }
    let failing: Vec<&str> = before
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| r.id.as_str())
        .collect();
    Ok(catalog
        .checks
        .iter()
        .filter(|c| !c.fix.is_empty() && failing.contains(&c.id.as_str()))
        .filter(|c| o.only.is_empty() || o.only.contains(&c.id))
        .filter(|c| !o.skip.contains(&c.id))
        .filter(|c| o.min_severity.is_none_or(|m| c.severity >= m))
        .collect())
}

/// Scans and plans every selected fix, leaving out `exclude`.
pub fn plan<'r>(
    catalog: &Catalog,
    root: &'r Root,
    o: &Options,
    exclude: &[String],
) -> Result<Plan<'r>, FixError> {
    let facts = Facts::new(root);
    let before =
        scan_facts(catalog, &facts, &selection()).map_err(|e| FixError::Select(e.to_string()))?;
    let mut ws = Workspace::new(root);
    let mut fixes = Vec::new();
    for c in targets(catalog, &before, o)? {
        let mut f = CheckFix {
            id: c.id.clone(),
            title: c.title.clone(),
            severity: c.severity,
            actions: c.fix.iter().map(|s| s.action.describe()).collect(),
            notes: vec![],
            refused: None,
            changes: false,
        };
        if exclude.contains(&c.id) {
            f.refused = Some("its fix did not make the check pass: rolled back".into());
            fixes.push(f);
            continue;
        }
        let steps: Vec<&crate::catalog::fix::Action> = c
            .fix
            .iter()
            .filter(|s| s.platforms.is_empty() || s.platforms.iter().any(|p| facts.os().matches(p)))
            .map(|s| &s.action)
            .collect();
        if let Some(r) = steps.iter().find_map(|a| guard::refusal(a, &facts)) {
            f.refused = Some(r);
            fixes.push(f);
            continue;
        }
        let saved = ws.snapshot();
        let mut failed = None;
        for a in steps {
            match plan::plan_action(&mut ws, &facts, a) {
                Ok(p) => f.notes.extend(p.notes),
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        match failed {
            Some(e) => {
                ws.restore(saved);
                f.refused = Some(e);
            }
            None => f.changes = ws.changed_since(&saved),
        }
        fixes.push(f);
    }
    Ok(Plan { fixes, ws, before })
}

fn redacted(path: &str, bytes: &[u8]) -> String {
    let t = String::from_utf8_lossy(bytes);
    if path.ends_with("shadow") || path.ends_with("shadow-") {
        edit::redact_shadow(&t)
    } else {
        t.into_owned()
    }
}

fn meta_of(n: &Node) -> Option<(u32, u32, u32)> {
    match n {
        Node::File { uid, gid, mode, .. } | Node::Dir { uid, gid, mode } => {
            Some((*uid, *gid, *mode))
        }
        _ => None,
    }
}

/// The plan as a person reviews it: a unified diff per changed file, and one line per
/// owner/mode change, removal and symlink. Password hashes never appear.
pub fn render_diff(p: &Plan) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    for d in &p.ws.mkdirs {
        let _ = writeln!(o, "mkdir {d} (root:root 0755)");
    }
    for (path, before, after) in p.ws.changes() {
        let old_text = match before {
            Node::File { bytes, .. } => Some(redacted(path, bytes)),
            _ => None,
        };
        match after {
            Node::File { bytes, .. } => {
                let new = redacted(path, bytes);
                let old = old_text.clone().unwrap_or_default();
                if old != new || old_text.is_none() {
                    let from = if old_text.is_some() {
                        format!("a{path}")
                    } else {
                        "/dev/null".into()
                    };
                    o.push_str(&diff::unified(&old, &new, &from, &format!("b{path}"), 2));
                }
            }
            Node::Absent => {
                let _ = writeln!(o, "remove {path} ({})", before.kind_name());
            }
            Node::Symlink { target, .. } => {
                let _ = writeln!(o, "symlink {path} -> {target}");
            }
            _ => {}
        }
        if let (Some((u0, g0, m0)), Some((u1, g1, m1))) = (meta_of(before), meta_of(after)) {
            if (u0, g0) != (u1, g1) {
                let _ = writeln!(o, "chown {path}: {u0}:{g0} -> {u1}:{g1}");
            }
            if m0 != m1 {
                let _ = writeln!(o, "chmod {path}: {m0:04o} -> {m1:04o}");
            }
        }
    }
    o
}

/// What an applied run ended as.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_id: Option<String>,
    /// Checks that pass now.
    pub fixed: Vec<String>,
    /// Checks whose fix was rolled back, refused or had nothing to change, with the reason.
    pub not_fixed: Vec<(String, String)>,
    /// Set when the whole run was rolled back.
    pub rolled_back: Option<String>,
    /// The scan after the run (the tree as it is now).
    pub after: Option<Report>,
}

/// Whether a check got worse: a pass lost, or a check that could be evaluated no longer can.
/// A check that was not applicable and now applies and fails (audit rules appear, so the
/// "rules are immutable" check starts to apply) surfaces a finding; it does not weaken the
/// host, so it is reported, not rolled back.
fn got_worse(before: Status, after: Status) -> bool {
    (before == Status::Pass && after != Status::Pass)
        || (after == Status::Error && before != Status::Error)
}

/// Why an applied run is rolled back: a daemon would no longer accept its configuration, the
/// re-scan failed, or a check got worse. Its text is the run's `rolled_back` reason.
#[derive(thiserror::Error)]
pub enum Rejected {
    /// The agent's own parser no longer loads what was written.
    #[error("{what} no longer {verb}: {reason}")]
    Parse {
        what: &'static str,
        verb: &'static str,
        reason: crate::facts::FactError,
    },
    /// The daemon's own validator could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: &'static str,
        source: std::io::Error,
    },
    /// The daemon's own validator rejects the result (its output, trimmed).
    #[error("{program} rejects the result: {output}")]
    Validator {
        program: &'static str,
        output: String,
    },
    #[error("re-scan failed: {0}")]
    Rescan(#[from] crate::run::SelectError),
    /// Checks that passed (or could be evaluated) before and no longer do.
    #[error("checks got worse: {}", .0.join(", "))]
    Regressed(Vec<String>),
}
crate::error_text::debug_as_display!(Rejected);

/// Runs a daemon's validator (`sshd -t`, `visudo -c`) on the live host.
fn run_validator(
    program: &'static str,
    cmd: &str,
    args: &[&str],
    stderr: bool,
) -> Result<(), Rejected> {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .map_err(|source| Rejected::Spawn { program, source })?;
    if out.status.success() {
        return Ok(());
    }
    let text = if stderr { &out.stderr } else { &out.stdout };
    Err(Rejected::Validator {
        program,
        output: String::from_utf8_lossy(text).trim().to_string(),
    })
}

/// Paths whose change needs their daemon's own validation.
fn validate(root: &Root, changed: &[String]) -> Result<(), Rejected> {
    let parse = |what, verb| move |reason| Rejected::Parse { what, verb, reason };
    let facts = Facts::new(root);
    if changed.iter().any(|p| p.starts_with("/etc/ssh/")) {
        facts
            .sshd(crate::facts::sshd::DEFAULT_CONFIG)
            .map_err(parse("sshd configuration", "loads"))?;
        if root.is_live() && std::path::Path::new("/usr/sbin/sshd").exists() {
            run_validator("sshd -t", "/usr/sbin/sshd", &["-t"], true)?;
        }
    }
    if changed.iter().any(|p| p.starts_with("/etc/sudoers")) {
        facts.sudoers().map_err(parse("sudoers", "parses"))?;
        if root.is_live() && std::path::Path::new("/usr/sbin/visudo").exists() {
            run_validator("visudo -c", "/usr/sbin/visudo", &["-c", "-q"], false)?;
        }
    }
    if changed
        .iter()
        .any(|p| p.starts_with("/etc/pam.d/") || p.starts_with("/etc/security/"))
    {
        facts.pam_auth().map_err(parse("PAM stacks", "parse"))?;
        facts.pam_password().map_err(parse("PAM stacks", "parse"))?;
    }
    Ok(())
}

enum Round {
    Done(Box<Outcome>),
    /// These targets still fail: re-plan without them.
    Retry(Vec<String>),
}

fn one_round(catalog: &Catalog, root: &Root, o: &Options, p: &Plan) -> Result<Round, FixError> {
    let planned: Vec<String> = p
        .fixes
        .iter()
        .filter(|f| f.refused.is_none() && f.changes)
        .map(|f| f.id.clone())
        .collect();
    // targets whose own actions changed nothing may still pass through another check's fix
    // (ACCT-016 and PAM-009 both set ENCRYPT_METHOD): they are judged by the re-scan
    let unchanged: Vec<(String, String)> = p
        .fixes
        .iter()
        .filter(|f| f.refused.is_none() && !f.changes)
        .map(|f| {
            let why = if f.notes.is_empty() {
                "nothing to change".to_string()
            } else {
                f.notes.join("; ")
            };
            (f.id.clone(), why)
        })
        .collect();
    let mut not_fixed: Vec<(String, String)> = p
        .fixes
        .iter()
        .filter_map(|f| f.refused.as_ref().map(|r| (f.id.clone(), r.clone())))
        .collect();
    let changes: Vec<journal::Change> =
        p.ws.changes()
            .into_iter()
            .map(|(path, before, after)| journal::Change {
                path,
                before,
                after,
            })
            .collect();
    if changes.is_empty() {
        not_fixed.extend(unchanged);
        return Ok(Round::Done(Box::new(Outcome {
            run_id: None,
            fixed: vec![],
            not_fixed,
            rolled_back: None,
            after: None,
        })));
    }
    let run_id = journal::new_run_id();
    let mut j = journal::apply(
        root,
        &o.state_dir,
        &run_id,
        &planned,
        &p.ws.mkdirs,
        &changes,
    )?;
    let dir = journal::fixes_dir(&o.state_dir).join(&run_id);
    let changed: Vec<String> = changes.iter().map(|c| c.path.to_string()).collect();
    let facts = Facts::new(root);
    let was: BTreeMap<&str, Status> = p
        .before
        .results
        .iter()
        .map(|r| (r.id.as_str(), r.status))
        .collect();
    // a validation error, a failed re-scan or a check that got worse: the whole run goes
    let verdict = validate(root, &changed)
        .and_then(|()| scan_facts(catalog, &facts, &selection()).map_err(Rejected::Rescan))
        .and_then(|after| {
            let regressed: Vec<String> = after
                .results
                .iter()
                .filter(|r| {
                    was.get(r.id.as_str())
                        .is_some_and(|s| got_worse(*s, r.status))
                })
                .map(|r| format!("{} {:?} -> {:?}", r.id, was[r.id.as_str()], r.status))
                .collect();
            if regressed.is_empty() {
                Ok(after)
            } else {
                Err(Rejected::Regressed(regressed))
            }
        });
    let after = match verdict {
        Ok(a) => a,
        Err(rejected) => {
            let reason = rejected.to_string();
            journal::restore(root, &dir, &mut j)?;
            journal::finish(
                &o.state_dir,
                &mut j,
                journal::RunStatus::RolledBack,
                Some(reason.clone()),
            )?;
            not_fixed.extend(planned.iter().map(|id| (id.clone(), reason.clone())));
            not_fixed.extend(unchanged);
            return Ok(Round::Done(Box::new(Outcome {
                run_id: Some(run_id),
                fixed: vec![],
                not_fixed,
                rolled_back: Some(reason),
                after: None,
            })));
        }
    };
    let status_after: BTreeMap<&str, Status> = after
        .results
        .iter()
        .map(|r| (r.id.as_str(), r.status))
        .collect();
    let still: Vec<String> = planned
        .iter()
        .filter(|id| status_after.get(id.as_str()) != Some(&Status::Pass))
        .cloned()
        .collect();
    if !still.is_empty() {
        let reason = format!("still failing after its fix: {}", still.join(", "));
        journal::restore(root, &dir, &mut j)?;
        journal::finish(
            &o.state_dir,
            &mut j,
            journal::RunStatus::RolledBack,
            Some(reason),
        )?;
        return Ok(Round::Retry(still));
    }
    journal::finish(&o.state_dir, &mut j, journal::RunStatus::Applied, None)?;
    let mut fixed = planned;
    for (id, why) in unchanged {
        if status_after.get(id.as_str()) == Some(&Status::Pass) {
            fixed.push(id);
        } else {
            not_fixed.push((id, why));
        }
    }
    Ok(Round::Done(Box::new(Outcome {
        run_id: Some(run_id),
        fixed,
        not_fixed,
        rolled_back: None,
        after: Some(after),
    })))
}

/// Applies a plan (from [`plan`], already shown), verifying and rolling back as described in
/// the module documentation. Re-plans at most twice without targets that did not pass.
pub fn apply(
    catalog: &Catalog,
    root: &Root,
    o: &Options,
    first: Plan,
) -> Result<Outcome, FixError> {
    let mut p = first;
    let mut excluded: Vec<String> = Vec::new();
    for _ in 0..3 {
        match one_round(catalog, root, o, &p)? {
            Round::Done(out) => {
                let mut out = *out;
                for id in &excluded {
                    if !out.not_fixed.iter().any(|(x, _)| x == id) {
                        out.not_fixed.push((
                            id.clone(),
                            "its fix did not make the check pass: rolled back".into(),
                        ));
                    }
                }
                return Ok(out);
            }
            Round::Retry(still) => {
                excluded.extend(still);
                p = plan(catalog, root, o, &excluded)?;
            }
        }
    }
    Ok(Outcome {
        run_id: None,
        fixed: vec![],
        not_fixed: excluded
            .into_iter()
            .map(|id| {
                (
                    id,
                    "its fix did not make the check pass: rolled back".into(),
                )
            })
            .collect(),
        rolled_back: Some("fixes kept failing verification after three rounds".into()),
        after: None,
    })
}
