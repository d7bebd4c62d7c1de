//! Evaluation: a condition and the host's facts in, an [`Outcome`] out.
//!
//! The combinator truth table (tested exhaustively below):
//!
//! | combinator | PASS when | FAIL when | ERROR when | NOT_APPLICABLE when |
//! |---|---|---|---|---|
//! | `all` | no child fails or errs, at least one passes | any child fails | no child fails, one errs | every child is N/A |
//! | `any` | any child passes | no child passes or errs, one fails | no child passes, one errs | every child is N/A |
//! | `none` | `all` over the children with PASS and FAIL swapped |||
//!
//! A definite FAIL outranks an ERROR in `all` (one proven weakness is enough), and a PASS
//! outranks an ERROR in `any`. NOT_APPLICABLE children are ignored unless all are.

mod audit;
mod boot;
mod firewall;
mod probes;
mod sshd;
mod sudo_pam;
mod system;

use crate::catalog::probe::{Cond, Node};
use crate::facts::{FactError, Facts};
use crate::findings::{Evidence, Status};

/// Most evidence items kept for one check.
pub const MAX_EVIDENCE: usize = 50;

/// What a condition concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    /// Why N/A or ERROR; a short summary otherwise.
    pub reason: Option<String>,
    pub evidence: Vec<Evidence>,
}

impl Outcome {
    pub fn pass(evidence: Vec<Evidence>) -> Self {
        Outcome {
            status: Status::Pass,
            reason: None,
            evidence,
        }
    }
    pub fn fail(evidence: Vec<Evidence>) -> Self {
        Outcome {
            status: Status::Fail,
            reason: None,
            evidence,
        }
    }
    pub fn na(reason: impl Into<String>) -> Self {
        Outcome {
            status: Status::NotApplicable,
            reason: Some(reason.into()),
            evidence: vec![],
        }
    }
    pub fn error(reason: impl Into<String>) -> Self {
        Outcome {
            status: Status::Error,
            reason: Some(reason.into()),
            evidence: vec![],
        }
    }
    /// Pass or fail depending on `ok`.
    pub fn verdict(ok: bool, evidence: Vec<Evidence>) -> Self {
        if ok {
            Outcome::pass(evidence)
        } else {
            Outcome::fail(evidence)
        }
    }
}

impl From<FactError> for Outcome {
    fn from(e: FactError) -> Self {
        match e {
            FactError::Unavailable(m) => Outcome::na(m),
            FactError::Failed(m) => Outcome::error(m),
        }
    }
}

impl From<crate::fs::FsError> for Outcome {
    fn from(e: crate::fs::FsError) -> Self {
        Outcome::error(e.to_string())
    }
}

/// Evaluates a condition.
pub fn evaluate(cond: &Cond, facts: &Facts) -> Outcome {
    if !cond.platforms.is_empty() && !cond.platforms.iter().any(|p| facts.os().matches(p)) {
        return Outcome::na(format!("applies to {} only", cond.platforms.join(", ")));
    }
    if let Some(r) = &cond.requires {
        let o = evaluate(r, facts);
        match o.status {
            Status::Pass => {}
            Status::Error => return o,
            Status::Fail | Status::NotApplicable => {
                let why = o.reason.clone().unwrap_or_else(|| {
                    o.evidence
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                });
                return Outcome::na(format!("prerequisite not met: {why}"));
            }
        }
    }
    let mut out = match &cond.node {
        Node::Probe(p) => probes::eval_probe(p, facts),
        Node::All(kids) => all(kids.iter().map(|k| evaluate(k, facts)).collect()),
        Node::Any(kids) => any(kids.iter().map(|k| evaluate(k, facts)).collect()),
        Node::None(kids) => all(kids.iter().map(|k| invert(evaluate(k, facts))).collect()),
    };
    out.evidence.truncate(MAX_EVIDENCE);
    out
}

fn invert(mut o: Outcome) -> Outcome {
    o.status = match o.status {
        Status::Pass => Status::Fail,
        Status::Fail => Status::Pass,
        s => s,
    };
    o
}

fn join_reasons(v: &[Outcome], status: Status) -> Option<String> {
    let r: Vec<&str> = v
        .iter()
        .filter(|o| o.status == status)
        .filter_map(|o| o.reason.as_deref())
        .collect();
    let mut uniq: Vec<&str> = Vec::new();
    for x in r {
        if !uniq.contains(&x) {
            uniq.push(x);
        }
    }
    (!uniq.is_empty()).then(|| uniq.join("; "))
}

/// Evidence of the children with `status`, each item once (several conditions on one
/// missing module all say it is missing).
fn gather(v: &[Outcome], status: Status) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = Vec::new();
    for e in v
        .iter()
        .filter(|o| o.status == status)
        .flat_map(|o| o.evidence.iter())
    {
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    out
}

/// `all` of child outcomes.
pub fn all(v: Vec<Outcome>) -> Outcome {
    let has = |s| v.iter().any(|o| o.status == s);
    if has(Status::Fail) {
        return Outcome {
            status: Status::Fail,
            reason: join_reasons(&v, Status::Fail),
            evidence: gather(&v, Status::Fail),
        };
    }
    if has(Status::Error) {
        return Outcome {
            status: Status::Error,
            reason: join_reasons(&v, Status::Error),
            evidence: gather(&v, Status::Pass),
        };
    }
    if has(Status::Pass) {
        return Outcome::pass(gather(&v, Status::Pass));
    }
    Outcome {
        status: Status::NotApplicable,
        reason: join_reasons(&v, Status::NotApplicable),
        evidence: vec![],
    }
}

/// `any` of child outcomes.
pub fn any(v: Vec<Outcome>) -> Outcome {
    let has = |s| v.iter().any(|o| o.status == s);
    if has(Status::Pass) {
        return Outcome::pass(gather(&v, Status::Pass));
    }
    if has(Status::Error) {
        return Outcome {
            status: Status::Error,
            reason: join_reasons(&v, Status::Error),
            evidence: gather(&v, Status::Fail),
        };
    }
    if has(Status::Fail) {
        return Outcome {
            status: Status::Fail,
            reason: join_reasons(&v, Status::Fail),
            evidence: gather(&v, Status::Fail),
        };
    }
    Outcome {
        status: Status::NotApplicable,
        reason: join_reasons(&v, Status::NotApplicable),
        evidence: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    fn o(s: Status) -> Outcome {
        Outcome {
            status: s,
            reason: None,
            evidence: vec![],
        }
    }

    /// Every combination of two children, for each combinator.
    #[test]
    fn truth_table() {
        let st = [Pass, Fail, NotApplicable, Error];
        for a in st {
            for b in st {
                let all_r = all(vec![o(a), o(b)]).status;
                let any_r = any(vec![o(a), o(b)]).status;
                let none_r = all(vec![invert(o(a)), invert(o(b))]).status;
                let has = |s| a == s || b == s;
                let exp_all = if has(Fail) {
                    Fail
                } else if has(Error) {
                    Error
                } else if has(Pass) {
                    Pass
                } else {
                    NotApplicable
                };
                let exp_any = if has(Pass) {
                    Pass
                } else if has(Error) {
                    Error
                } else if has(Fail) {
                    Fail
                } else {
                    NotApplicable
                };
                let exp_none = if has(Pass) {
                    Fail
                } else if has(Error) {
                    Error
                } else if has(Fail) {
                    Pass
                } else {
                    NotApplicable
                };
                assert_eq!(all_r, exp_all, "all({a:?},{b:?})");
                assert_eq!(any_r, exp_any, "any({a:?},{b:?})");
                assert_eq!(none_r, exp_none, "none({a:?},{b:?})");
            }
        }
        // spot checks written out, so the table above is not just restating itself
        assert_eq!(all(vec![o(Pass), o(NotApplicable)]).status, Pass);
        assert_eq!(all(vec![o(Error), o(Fail)]).status, Fail);
        assert_eq!(any(vec![o(Error), o(Pass)]).status, Pass);
        assert_eq!(any(vec![o(Fail), o(Error)]).status, Error);
        assert_eq!(all(vec![o(NotApplicable)]).status, NotApplicable);
    }
}
