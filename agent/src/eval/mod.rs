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
            // (evaluation never yields Waived: waivers apply to results afterwards)
            Status::Fail | Status::NotApplicable | Status::Waived => {
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
    let r = v
        .iter()
        .filter(|o| o.status == status)
        .filter_map(|o| o.reason.as_deref());
    let uniq = first_of_each(r, |x| *x);
    (!uniq.is_empty()).then(|| uniq.join("; "))
}

/// The first of each group of equal items, in input order, in linear time (a hash set of the
/// keys seen). `Vec::contains` here made a check with 100k evidence items take 38 s.
fn first_of_each<T, K: std::hash::Hash + Eq>(
    items: impl Iterator<Item = T>,
    key: impl Fn(&T) -> K,
) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    items.filter(|x| seen.insert(key(x))).collect()
}

/// Evidence of the children with `status`, each item once (several conditions on one
/// missing module all say it is missing).
fn gather(v: &[Outcome], status: Status) -> Vec<Evidence> {
    let all = v
        .iter()
        .filter(|o| o.status == status)
        .flat_map(|o| o.evidence.iter());
    first_of_each(all, |e| (e.message.as_str(), e.file.as_deref(), e.line))
        .into_iter()
        .cloned()
        .collect()
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

    /// Regression (issue 12, defect 13): evidence de-duplication was quadratic.
    #[test]
    fn defect13_evidence_dedup_is_linear() {
        use std::cell::Cell;
        use std::hash::{Hash, Hasher};
        thread_local!(static EQ: Cell<u64> = const { Cell::new(0) });
        struct K(u64);
        impl PartialEq for K {
            fn eq(&self, o: &K) -> bool {
                EQ.with(|c| c.set(c.get() + 1));
                self.0 == o.0
            }
        }
        impl Eq for K {}
        impl Hash for K {
            fn hash<H: Hasher>(&self, h: &mut H) {
                self.0.hash(h)
            }
        }
        let n = 100_000u64;
        // every item twice: the second copy is dropped, order kept
        let items = (0..n).chain(0..n);
        let out = first_of_each(items, |&i| K(i));
        assert_eq!(out, (0..n).collect::<Vec<_>>());
        let eqs = EQ.with(Cell::get);
        assert!(eqs <= 3 * n, "{eqs} comparisons for {n} items: not linear");
        // and through the combinators: 50k outcomes, one duplicate each, stable order
        let ev = |i: usize| Evidence::at(format!("bad {i}"), "/etc/sudoers.d/x", Some(i as u32));
        let kids: Vec<Outcome> = (0..50_000)
            .chain(0..50_000)
            .map(|i| Outcome::fail(vec![ev(i)]))
            .collect();
        let t = std::time::Instant::now();
        let r = all(kids);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(r.evidence.len(), 50_000);
        assert_eq!(r.evidence[0], ev(0));
        assert_eq!(r.evidence[49_999], ev(49_999));
    }
}
