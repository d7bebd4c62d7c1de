//! Evaluating the checks of a scan on two threads.
//!
//! A scan's checks are independent: each reads cached facts ([`Facts`] is shared, its caches
//! are `OnceLock`s and locked maps) and returns its own result. On a host with two or more
//! CPUs a second thread takes checks from the end of the list while this one takes them from
//! the start, so the two work on different areas (and different facts) most of the time, and
//! an expensive check (the socket owners of `FW-006`, the package database of `AUD-001`)
//! overlaps with the rest instead of adding to it. When both need the same fact, the second
//! waits for the first to compute it: a fact is never collected twice.
//!
//! Results come back in catalog order whatever thread produced them, so output is
//! byte-for-byte the same as a sequential run (apart from timings). Recording what each check
//! read (the real-time daemon, [`crate::fs::deps`]) is per thread and stays sequential.

use super::evaluate_check;
use crate::catalog::Check;
use crate::facts::Facts;
use crate::findings::CheckResult;
use std::sync::Mutex;

/// Fewer checks than this are not worth a thread (spawning one costs ~50 µs).
const MIN_PARALLEL: usize = 16;

/// Facts to collect first on the second thread, before it takes checks.
pub type Warm<'a> = &'a (dyn Fn(&Facts) + Sync);

/// Every check's result, in the order of `checks`. `warm`, when given, runs first on the
/// second thread: for facts the caller needs anyway and that are the longest to collect, so
/// that no check taken last has to wait for one while the other thread has nothing left.
pub fn evaluate_all(checks: &[&Check], facts: &Facts, warm: Option<Warm<'_>>) -> Vec<CheckResult> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 || checks.len() < MIN_PARALLEL {
        return checks.iter().map(|c| evaluate_check(c, facts)).collect();
    }
    two_ended(checks, facts, warm)
}

/// The next check index from the front (`front`) or the back, until the ends meet.
fn take(range: &Mutex<(usize, usize)>, front: bool) -> Option<usize> {
    let mut r = range.lock().unwrap_or_else(|e| e.into_inner());
    if r.0 >= r.1 {
        return None;
    }
    if front {
        r.0 += 1;
        Some(r.0 - 1)
    } else {
        r.1 -= 1;
        Some(r.1)
    }
}

fn two_ended(checks: &[&Check], facts: &Facts, warm: Option<Warm<'_>>) -> Vec<CheckResult> {
    let range = Mutex::new((0, checks.len()));
    let work = |front: bool| {
        let mut out = Vec::new();
        while let Some(i) = take(&range, front) {
            out.push((i, evaluate_check(checks[i], facts)));
        }
        out
    };
    let (mut mine, theirs) = std::thread::scope(|s| {
        let other = std::thread::Builder::new()
            .name("evaluate".into())
            .spawn_scoped(s, || {
                if let Some(w) = warm {
                    w(facts);
                }
                work(false)
            });
        let mine = work(true);
        // no thread could be started: this thread has taken every check by now
        let theirs = other.ok().and_then(|h| h.join().ok()).unwrap_or_default();
        (mine, theirs)
    });
    mine.extend(theirs);
    mine.sort_unstable_by_key(|(i, _)| *i);
    debug_assert_eq!(mine.len(), checks.len());
    mine.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_ends_take_every_index_once() {
        let range = Mutex::new((0, 7));
        let mut seen = Vec::new();
        let mut front = true;
        while let Some(i) = take(&range, front) {
            seen.push(i);
            front = !front;
        }
        assert_eq!(seen, vec![0, 6, 1, 5, 2, 4, 3]);
        assert_eq!(take(&range, true), None);
    }

    /// Two threads give the same results, in the same order, as one (every check of the
    /// catalog over a fixture host; timings aside).
    #[test]
    fn parallel_results_equal_sequential_ones() {
        let root_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/hosts/debian-weak/root");
        let root = crate::fs::Root::new(&root_dir).expect("fixture root");
        let catalog = crate::catalog::load(
            &crate::catalog::embedded_sources(),
            crate::catalog::Profile::Kisa,
        )
        .expect("embedded catalog");
        let checks: Vec<&Check> = catalog.checks.iter().filter(|c| !c.walk).collect();
        let key = |r: &CheckResult| {
            serde_json::to_string(&(&r.id, &r.status, &r.reason, &r.evidence)).unwrap()
        };
        let seq: Vec<String> = {
            let facts = Facts::new(&root);
            checks
                .iter()
                .map(|c| key(&evaluate_check(c, &facts)))
                .collect()
        };
        let warm = |f: &Facts| {
            let _ = f.sockets();
        };
        let par: Vec<String> = two_ended(&checks, &Facts::new(&root), Some(&warm))
            .iter()
            .map(key)
            .collect();
        assert_eq!(seq.len(), par.len());
        for (a, b) in seq.iter().zip(&par) {
            assert_eq!(a, b);
        }
    }
}
