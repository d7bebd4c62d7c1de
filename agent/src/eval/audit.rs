//! Evaluation of `probe = "audit_rules"` (see `catalog::probe::AuditProbe`).

use super::Outcome;
use crate::catalog::probe::{AuditProbe, AuditTest};
use crate::facts::audit::{parse_line, Gap, Line, Rules, RULES_DIR, RULES_FILE};
use crate::facts::origin::Origin;
use crate::facts::Facts;
use crate::findings::Evidence;

fn sources(r: &Rules) -> String {
    if r.sources.is_empty() {
        "no rules files".into()
    } else {
        r.sources.join(", ")
    }
}

fn gaps_evidence(gaps: Vec<Gap>) -> Vec<Evidence> {
    gaps.into_iter()
        .map(|g| match &g {
            Gap::Suppressed(_, o) => Evidence::at(g.to_string(), &o.file, Some(o.line as u32)),
            Gap::Missing(_) => Evidence::msg(g.to_string()),
        })
        .collect()
}

fn require(rules: &Rules, reqs: &[crate::facts::audit::Rule]) -> Outcome {
    let mut gaps = Vec::new();
    for r in reqs {
        gaps.extend(rules.covers(r));
    }
    if gaps.is_empty() {
        let mut ev = Vec::new();
        for r in reqs {
            for by in rules.covered_by(r) {
                let (want, have) = (r.show(), by.show());
                let msg = if want == have {
                    format!("recorded: {want}")
                } else {
                    format!("recorded: {want} (by {have})")
                };
                let e = Evidence::at(msg, &by.origin.file, Some(by.origin.line as u32));
                if !ev.contains(&e) {
                    ev.push(e);
                }
            }
        }
        ev.push(Evidence::msg(format!(
            "{} rule(s) required, all loaded from {}",
            reqs.len(),
            sources(rules)
        )));
        Outcome::pass(ev)
    } else {
        let mut ev = gaps_evidence(gaps);
        ev.push(Evidence::msg(format!("rules read from {}", sources(rules))));
        Outcome::fail(ev)
    }
}

pub fn audit_rules(p: &AuditProbe, f: &Facts) -> Outcome {
    let rules = match f.system.audit_rules(f.root) {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Outcome::fail(vec![Evidence::msg(format!(
                "no audit rules: neither {RULES_DIR} nor {RULES_FILE} exists"
            ))])
        }
        Err(e) => return e.into(),
    };
    match &p.test {
        AuditTest::Require(reqs) => require(&rules, reqs),
        AuditTest::SudoLog => {
            let s = match f.sudoers() {
                Ok(Some(s)) => s,
                Ok(None) => return Outcome::na("sudo is not installed (/etc/sudoers is absent)"),
                Err(e) => return e.into(),
            };
            let Some((log, origin)) = s.value("logfile") else {
                return Outcome::fail(vec![Evidence::msg(
                    "sudo writes no log file (no Defaults logfile), so there is nothing to watch",
                )]);
            };
            let req = match parse_line(&format!("-w {log} -p wa"), Origin::new("sudoers", 0)) {
                Ok(Some(Line::Rule(r))) => r,
                _ => {
                    return Outcome::error(format!(
                        "{origin}: sudo's logfile `{log}` is not a path auditctl can watch"
                    ))
                }
            };
            let mut o = require(&rules, std::slice::from_ref(&req));
            o.evidence.push(Evidence::at(
                format!("sudo logs to {log}"),
                &origin.file,
                Some(origin.line as u32),
            ));
            o
        }
        AuditTest::Privileged => privileged(&rules, f),
        AuditTest::Immutable => match (&rules.enabled, &rules.rules_after_enable) {
            (Some((2, o)), None) => Outcome::pass(vec![Evidence::at(
                "-e 2: the loaded configuration is locked until reboot",
                &o.file,
                Some(o.line as u32),
            )]),
            (Some((2, o)), Some(after)) => Outcome::fail(vec![
                Evidence::at(
                    "-e 2 locks the configuration here",
                    &o.file,
                    Some(o.line as u32),
                ),
                Evidence::at(
                    "a rule after -e 2 is refused by the kernel (and later ones too)",
                    &after.file,
                    Some(after.line as u32),
                ),
            ]),
            (Some((n, o)), _) => Outcome::fail(vec![Evidence::at(
                format!("the last -e is -e {n}, not -e 2"),
                &o.file,
                Some(o.line as u32),
            )]),
            (None, _) => Outcome::fail(vec![Evidence::msg(format!(
                "no -e 2 in {}",
                sources(&rules)
            ))]),
        },
    }
}

/// Every setuid/setgid file of the walk has an execution rule.
fn privileged(rules: &Rules, f: &Facts) -> Outcome {
    let w = match f.walk() {
        Ok(w) => w,
        Err(e) => return e.into(),
    };
    let found = &w.suid_sgid;
    if found.count > found.items.len() as u64 {
        return Outcome::error(format!(
            "the walk found {} setuid/setgid files but kept {}: cannot check a rule for each",
            found.count,
            found.items.len()
        ));
    }
    let mut reqs = Vec::new();
    for (path, ..) in &found.items {
        let line = format!("-a always,exit -F path={path} -F perm=x -F auid>=1000 -F auid!=unset");
        match parse_line(&line, Origin::new("walk", 0)) {
            Ok(Some(Line::Rule(r))) => reqs.push(r),
            // a path with white space cannot be written in an auditctl rule line
            _ => {
                return Outcome::error(format!(
                    "{path}: a setuid/setgid file whose path auditctl rules cannot name"
                ))
            }
        }
    }
    let mut o = if reqs.is_empty() {
        Outcome::pass(vec![Evidence::msg(format!(
            "no setuid or setgid file under {}",
            w.roots.join(", ")
        ))])
    } else {
        require(rules, &reqs)
    };
    if o.status == crate::findings::Status::Pass {
        if let Some(t) = &w.truncated {
            return Outcome::error(format!(
                "{t}: the walk is incomplete, so setuid files may be missed"
            ));
        }
    }
    o.evidence.truncate(super::MAX_EVIDENCE);
    o
}
