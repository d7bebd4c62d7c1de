//! What a piece of evaluation read: the host paths resolved through the [`Root`](super::Root)
//! while a recording scope is open. The real-time daemon (`crate::daemon::realtime`) watches
//! them and re-runs only the checks whose inputs changed.
//!
//! Recording happens here, at the one place every read passes through (path resolution and
//! directory listing), rather than in each collector, so a new collector cannot forget to
//! declare its inputs. Cached facts hide their reads from later checks, so the fact caches
//! ([`cached`], [`cached_in`]) remember what each fact read and replay it into the scope of
//! every check that uses the cached value.
//!
//! The recorder is thread-local and off unless a [`Session`] is open: outside the daemon a
//! read costs one thread-local flag test.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};

/// What a check depended on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deps {
    /// Host paths whose existence, metadata, content or link target was read (normalized,
    /// symlinks inside the root resolved; each symlink passed on the way is listed too).
    pub paths: BTreeSet<Rc<str>>,
    /// Directories whose listing was read (globs, drop-in directories, `read_dir`).
    pub dirs: BTreeSet<Rc<str>>,
    /// A cached fact was used whose reads are unknown (it was collected outside this
    /// session): the check's real-time dependencies are incomplete.
    pub incomplete: bool,
}

impl Deps {
    fn extend(&mut self, o: &Deps) {
        self.paths.extend(o.paths.iter().cloned());
        self.dirs.extend(o.dirs.iter().cloned());
        self.incomplete |= o.incomplete;
    }
}

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static FRAMES: RefCell<Vec<Deps>> = const { RefCell::new(Vec::new()) };
    static FACTS: RefCell<HashMap<String, Rc<Deps>>> = RefCell::new(HashMap::new());
}

/// True while something records on this thread.
#[inline]
pub fn active() -> bool {
    ON.with(|o| o.get())
}

/// A recording session (one scan): fact dependencies are remembered until it ends.
pub struct Session(());

impl Session {
    pub fn start() -> Session {
        FACTS.with(|f| f.borrow_mut().clear());
        FRAMES.with(|f| f.borrow_mut().clear());
        ON.with(|o| o.set(true));
        Session(())
    }

    /// Runs `f` and returns what it read.
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> (T, Deps) {
        scope(f)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        ON.with(|o| o.set(false));
        FACTS.with(|f| f.borrow_mut().clear());
        FRAMES.with(|f| f.borrow_mut().clear());
    }
}

fn scope<T>(f: impl FnOnce() -> T) -> (T, Deps) {
    FRAMES.with(|fr| fr.borrow_mut().push(Deps::default()));
    let v = f();
    let d = FRAMES.with(|fr| fr.borrow_mut().pop()).unwrap_or_default();
    // what an inner scope read, its enclosing scope read too
    merge(&d);
    (v, d)
}

fn merge(d: &Deps) {
    FRAMES.with(|fr| {
        if let Some(top) = fr.borrow_mut().last_mut() {
            top.extend(d);
        }
    });
}

fn note(path: String, dir: bool) {
    FRAMES.with(|fr| {
        if let Some(top) = fr.borrow_mut().last_mut() {
            // shared, not copied, when a cached fact's reads are replayed into each check
            if dir {
                top.dirs.insert(Rc::from(path));
            } else {
                top.paths.insert(Rc::from(path));
            }
        }
    });
}

/// Records that `path` (absolute, normalized) was resolved.
pub fn note_path(path: String) {
    note(path, false);
}

/// Records that the directory `path` was listed.
pub fn note_dir(path: String) {
    note(path, true);
}

fn replay(key: &str) {
    let d = FACTS.with(|f| f.borrow().get(key).cloned());
    match d {
        Some(d) => merge(&d),
        None => merge(&Deps {
            incomplete: true,
            ..Deps::default()
        }),
    }
}

/// `cell.get_or_init(init).clone()`, remembering what `init` read under `key` and replaying
/// it into the current scope on every use.
pub fn cached<T: Clone>(key: &str, cell: &OnceLock<T>, init: impl FnOnce() -> T) -> T {
    if !active() {
        return cell.get_or_init(init).clone();
    }
    if let Some(v) = cell.get() {
        replay(key);
        return v.clone();
    }
    let (v, d) = scope(init);
    FACTS.with(|f| f.borrow_mut().insert(key.to_string(), Rc::new(d)));
    cell.get_or_init(|| v).clone()
}

/// [`cached`] for a cache keyed by name (sshd configurations by path, texts by path).
pub fn cached_in<K, T>(
    kind: &str,
    map: &Mutex<HashMap<K, T>>,
    name: &str,
    init: impl FnOnce() -> T,
) -> T
where
    K: Eq + Hash + std::borrow::Borrow<str> + From<String>,
    T: Clone,
{
    // the lock is never held while `init` runs: it may read other cached facts, and another
    // evaluation thread may want this map meanwhile
    let hit = lock(map).get(name).cloned();
    if let Some(v) = hit {
        if active() {
            replay(&format!("{kind}:{name}"));
        }
        return v;
    }
    let v = if active() {
        let (v, d) = scope(init);
        FACTS.with(|f| f.borrow_mut().insert(format!("{kind}:{name}"), Rc::new(d)));
        v
    } else {
        init()
    };
    // two threads may both have computed it: the first one stored wins, so every caller
    // sees the same value
    lock(map)
        .entry(K::from(name.to_string()))
        .or_insert(v)
        .clone()
}

/// A cache map's lock; a panic elsewhere while it was held leaves a map that is still
/// consistent (entries are inserted whole), so poisoning is ignored.
fn lock<M>(m: &Mutex<M>) -> std::sync::MutexGuard<'_, M> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_facts_replay_their_reads_into_later_scopes() {
        let s = Session::start();
        let cell = OnceLock::new();
        let get = || {
            cached("f", &cell, || {
                note_path("/etc/a".into());
                1
            })
        };
        let (_, first) = s.record(get);
        let (_, second) = s.record(get);
        assert_eq!(first.paths, second.paths);
        assert!(second.paths.contains("/etc/a"));
        let (_, none) = s.record(|| note_dir("/etc/d".into()));
        assert!(none.paths.is_empty() && none.dirs.contains("/etc/d"));
        drop(s);
        assert!(!active());
    }

    #[test]
    fn a_fact_cached_before_the_session_makes_the_deps_incomplete() {
        let cell = OnceLock::new();
        cell.set(5).unwrap();
        let s = Session::start();
        let (v, d) = s.record(|| cached("g", &cell, || 6));
        assert_eq!(v, 5);
        assert!(d.incomplete);
    }
}
