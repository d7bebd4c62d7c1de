//! Real-time drift: the daemon watches, with inotify, the directories holding what each check
//! read in its last evaluation ([`crate::fs::deps`]), and after a short debounce re-evaluates
//! only the checks a change affects, through the same pipeline as a scan
//! ([`crate::run::pipeline`]).
//!
//! Only directories are watched (a watch on a directory reports creates, deletes, renames,
//! writes and attribute changes of its entries), so one watch covers every file a check reads
//! there, atomic replaces (`mv tmp sshd_config`) included; a missing directory is covered by
//! its nearest existing ancestor, so a drop-in directory created later is seen too.
//!
//! Events carry no trust: an event only names a path, the path only selects checks, and the
//! checks re-read everything through the scan [`Root`]. A flood (a tight rename loop in a
//! watched directory) is bounded twice: the reader thread handles at most
//! `max_events_per_sec` events a second and then sleeps (the kernel queue overflows, which
//! means "re-evaluate everything", at most once per [`OVERFLOW_MIN_GAP`]); and the
//! re-evaluations run at most `max_per_sec` times a second, events in between coalesce.
//!
//! When a watch cannot be added (the `max_user_watches` limit, ENOSPC, or the configured
//! `realtime_max_watches`), the checks that needed it are re-evaluated every
//! `realtime_fallback_secs` instead, and a metric and the log say so.

use crate::fs::deps::Deps;
use crate::fs::Root;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the real-time metrics start in the metrics text.
pub const FIRST_FAMILY: &str = "# HELP jikimi_realtime_watches ";

/// A full re-evaluation after a queue overflow happens at most this often.
pub const OVERFLOW_MIN_GAP: Duration = Duration::from_secs(10);

/// `[daemon]` settings of the real-time mode.
#[derive(Debug, Clone)]
pub struct Settings {
    pub debounce: Duration,
    pub max_per_sec: f64,
    pub max_events_per_sec: u64,
    pub max_watches: Option<usize>,
    pub fallback: Duration,
}

impl Settings {
    pub fn of(d: &crate::config::DaemonConfig) -> Settings {
        Settings {
            debounce: Duration::from_millis(d.realtime_debounce_ms.unwrap_or(100)),
            max_per_sec: d.realtime_max_per_sec.unwrap_or(4.0).max(0.01),
            max_events_per_sec: d.realtime_max_events_per_sec.unwrap_or(20_000).max(100),
            max_watches: d.realtime_max_watches,
            fallback: Duration::from_secs(d.realtime_fallback_secs.unwrap_or(60).max(1)),
        }
    }
}

/// Counters shown on `/metrics` (updated by the reader thread and the main thread).
#[derive(Default)]
pub struct Metrics {
    pub events: AtomicU64,
    pub relevant: AtomicU64,
    pub coalesced: AtomicU64,
    pub rate_limited: AtomicU64,
    pub overflows: AtomicU64,
    pub reevaluations: AtomicU64,
    pub reevaluated_checks: AtomicU64,
    pub watch_failures: AtomicU64,
    pub fallback_polls: AtomicU64,
    watches: AtomicU64,
    watched_paths: AtomicU64,
    fallback_checks: AtomicU64,
    eval_last_ns: AtomicU64,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

/// Latency buckets (seconds) from the first event to the sinks done.
const BUCKETS: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0];

/// Changes seen and not yet re-evaluated.
#[derive(Default)]
struct Pending {
    ids: BTreeSet<String>,
    all: bool,
    first: Option<Instant>,
}

/// Which checks read which paths.
#[derive(Default)]
struct Index {
    /// Path → checks that read it (file deps) or listed it (dir deps, with `listed`).
    paths: BTreeMap<Arc<str>, Vec<u16>>,
    listed: BTreeMap<Arc<str>, Vec<u16>>,
    /// Check index → id.
    checks: Vec<Arc<str>>,
}

impl Index {
    /// Checks affected by a change of `path` (itself, what lies under it, a listing of its
    /// directory).
    fn affected(&self, path: &str, parent: &str, out: &mut BTreeSet<String>) {
        let mut add = |ids: &Vec<u16>| {
            for &i in ids {
                if let Some(c) = self.checks.get(i as usize) {
                    if !out.contains(&**c) {
                        out.insert(c.to_string());
                    }
                }
            }
        };
        for map in [&self.paths, &self.listed] {
            if let Some(ids) = map.get(path) {
                add(ids);
            }
            let prefix = format!("{}/", path.trim_end_matches('/'));
            for (_, ids) in map
                .range::<str, _>((
                    std::ops::Bound::Included(prefix.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(k, _)| k.starts_with(&prefix))
            {
                add(ids);
            }
        }
        if let Some(ids) = self.listed.get(parent) {
            add(ids);
        }
    }
}

/// What a check read, as indices into [`Realtime`]'s path table (a host's checks read tens
/// of thousands of paths in all, but only a few hundred distinct ones).
struct Compact {
    paths: Box<[u32]>,
    dirs: Box<[u32]>,
    incomplete: bool,
}

struct State {
    wds: HashMap<i32, String>,
    index: Index,
    pending: Pending,
}

/// The watcher: an inotify descriptor, its reader thread, and the dependency index.
pub struct Realtime {
    fd: Arc<OwnedFd>,
    state: Arc<Mutex<State>>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    /// Check id → what it read in its last evaluation.
    deps: BTreeMap<String, Compact>,
    /// Interned paths: `table[i]`, and a path's index.
    table: Vec<Arc<str>>,
    interned: HashMap<Arc<str>, u32>,
    /// Watched directory → watch descriptor.
    dirs: BTreeMap<String, i32>,
    /// Checks some of whose inputs are not watched (watch limit, incomplete recording).
    unwatched: BTreeSet<String>,
    last_run: Option<Instant>,
    last_all: Option<Instant>,
    last_poll: Instant,
}

/// Paths inotify cannot report changes of (kernel files), left to the periodic scan.
fn unwatchable(p: &str) -> bool {
    ["/proc", "/sys", "/dev", "/run"]
        .iter()
        .any(|d| p == *d || p.starts_with(&format!("{d}/")))
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

fn mask() -> WatchFlags {
    WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::ATTRIB
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::ONLYDIR
}

impl Realtime {
    /// Creates the inotify instance and its reader thread; `notify` is called (from that
    /// thread) when changes become pending.
    pub fn start(settings: Settings, notify: Box<dyn Fn() + Send>) -> std::io::Result<Realtime> {
        let fd = Arc::new(inotify::init(CreateFlags::CLOEXEC)?);
        let state = Arc::new(Mutex::new(State {
            wds: HashMap::new(),
            index: Index::default(),
            pending: Pending::default(),
        }));
        let metrics = Arc::new(Metrics::default());
        {
            let (fd, state, metrics) = (fd.clone(), state.clone(), metrics.clone());
            let budget = settings.max_events_per_sec;
            std::thread::Builder::new()
                .name("inotify".into())
                .stack_size(128 * 1024)
                .spawn(move || read_loop(&fd, &state, &metrics, budget, &*notify))?;
        }
        Ok(Realtime {
            fd,
            state,
            metrics,
            settings,
            deps: BTreeMap::new(),
            table: Vec::new(),
            interned: HashMap::new(),
            dirs: BTreeMap::new(),
            unwatched: BTreeSet::new(),
            last_run: None,
            last_all: None,
            last_poll: Instant::now(),
        })
    }

    /// Takes the dependencies of the checks just evaluated (a full scan: all of them), and
    /// brings the watches and the index in line. Returns a log line when watches failed.
    pub fn update(
        &mut self,
        root: &Root,
        evaluated: Vec<(String, Deps)>,
        full: bool,
        walk_checks: &BTreeSet<String>,
    ) -> Option<String> {
        if full {
            self.deps.clear();
            self.table.clear();
            self.interned.clear();
        }
        for (id, d) in evaluated {
            if walk_checks.contains(&id) {
                continue; // filesystem walks: the periodic scan
            }
            let mut intern = |set: &BTreeSet<std::rc::Rc<str>>| -> Box<[u32]> {
                set.iter()
                    .filter(|p| !unwatchable(p))
                    .map(|p| {
                        if let Some(&i) = self.interned.get(&**p) {
                            return i;
                        }
                        let a: Arc<str> = Arc::from(&**p);
                        let i = self.table.len() as u32;
                        self.table.push(a.clone());
                        self.interned.insert(a, i);
                        i
                    })
                    .collect()
            };
            let c = Compact {
                paths: intern(&d.paths),
                dirs: intern(&d.dirs),
                incomplete: d.incomplete,
            };
            self.deps.insert(id, c);
        }
        // directories to watch, and the checks that need each
        let mut want: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        let mut index = Index::default();
        for (n, (id, d)) in self.deps.iter().enumerate() {
            let n = n as u16;
            index.checks.push(Arc::from(id.as_str()));
            for &p in d.paths.iter() {
                let p = &self.table[p as usize];
                index.paths.entry(p.clone()).or_default().push(n);
                want.entry(parent(p).to_string()).or_default().insert(id);
            }
            for &p in d.dirs.iter() {
                let p = &self.table[p as usize];
                index.listed.entry(p.clone()).or_default().push(n);
                want.entry(p.to_string()).or_default().insert(id);
                want.entry(parent(p).to_string()).or_default().insert(id);
            }
        }
        // a missing directory is watched through its nearest existing ancestor
        let mut resolved: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for (dir, ids) in want {
            let mut d = dir.as_str();
            while d != "/" && !self.dirs.contains_key(d) && root.lstat(d).is_err() {
                d = parent(d);
            }
            resolved.entry(d.to_string()).or_default().extend(ids);
        }
        // remove what is no longer needed
        let stale: Vec<String> = self
            .dirs
            .keys()
            .filter(|d| !resolved.contains_key(*d))
            .cloned()
            .collect();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // watches the reader dropped (the directory was deleted or moved away)
        self.dirs.retain(|_, wd| st.wds.contains_key(wd));
        for d in stale {
            if let Some(wd) = self.dirs.remove(&d) {
                let _ = inotify::remove_watch(self.fd.as_fd(), wd);
                st.wds.remove(&wd);
            }
        }
        let mut unwatched = BTreeSet::new();
        let mut failures = 0usize;
        let mut limit_hit = None;
        for (dir, ids) in &resolved {
            if self.dirs.contains_key(dir) {
                continue;
            }
            let capped = self
                .settings
                .max_watches
                .is_some_and(|m| self.dirs.len() >= m);
            let r = if capped {
                Err(rustix::io::Errno::NOSPC)
            } else {
                add_watch(root, &self.fd, dir)
            };
            match r {
                Ok(wd) => {
                    self.dirs.insert(dir.clone(), wd);
                    st.wds.insert(wd, dir.clone());
                }
                Err(e) => {
                    failures += 1;
                    if e == rustix::io::Errno::NOSPC {
                        limit_hit = Some(self.dirs.len());
                    }
                    unwatched.extend(ids.iter().map(|s| s.to_string()));
                }
            }
        }
        for (id, d) in &self.deps {
            if d.incomplete {
                unwatched.insert(id.clone());
            }
        }
        st.index = index;
        drop(st);
        self.metrics
            .watch_failures
            .fetch_add(failures as u64, Ordering::Relaxed);
        let newly = unwatched != self.unwatched;
        self.unwatched = unwatched;
        let m = &self.metrics;
        m.watches.store(self.dirs.len() as u64, Ordering::Relaxed);
        m.fallback_checks
            .store(self.unwatched.len() as u64, Ordering::Relaxed);
        let paths: BTreeSet<u32> = self
            .deps
            .values()
            .flat_map(|d| d.paths.iter().chain(d.dirs.iter()).copied())
            .collect();
        m.watched_paths.store(paths.len() as u64, Ordering::Relaxed);
        if failures > 0 && newly {
            return Some(format!(
                "realtime: {failures} director{} could not be watched{}: {} checks fall back to re-evaluation every {} s",
                if failures == 1 { "y" } else { "ies" },
                match limit_hit {
                    Some(n) => format!(" (watch limit reached at {n} watches)"),
                    None => String::new(),
                },
                self.unwatched.len(),
                self.settings.fallback.as_secs()
            ));
        }
        None
    }

    /// When the next re-evaluation may run (`None`: nothing pending, no fallback due).
    pub fn due(&self) -> Option<Instant> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let gap = Duration::from_secs_f64(1.0 / self.settings.max_per_sec);
        let pending = st.pending.first.map(|first| {
            let mut at = first + self.settings.debounce;
            if let Some(l) = self.last_run {
                at = at.max(l + gap);
            }
            if st.pending.all && st.pending.ids.is_empty() {
                if let Some(l) = self.last_all {
                    at = at.max(l + OVERFLOW_MIN_GAP);
                }
            }
            at
        });
        let poll = (!self.unwatched.is_empty()).then(|| self.last_poll + self.settings.fallback);
        match (pending, poll) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The checks to re-evaluate now and when their first change was seen; empty when
    /// nothing is due.
    pub fn take(&mut self, now: Instant) -> (BTreeSet<String>, Option<Instant>) {
        let mut ids = BTreeSet::new();
        let mut first = None;
        let gap = Duration::from_secs_f64(1.0 / self.settings.max_per_sec);
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let ready = st.pending.first.is_some_and(|f| {
                now >= f + self.settings.debounce && self.last_run.is_none_or(|l| now >= l + gap)
            });
            if ready {
                let all_ok = self.last_all.is_none_or(|l| now >= l + OVERFLOW_MIN_GAP);
                if st.pending.all && all_ok {
                    ids.extend(self.deps.keys().cloned());
                    st.pending.all = false;
                    self.last_all = Some(now);
                }
                ids.append(&mut st.pending.ids);
                first = st.pending.first.take();
                if st.pending.all {
                    // the full re-evaluation waits for its own gap
                    st.pending.first = Some(now);
                }
            }
        }
        if !self.unwatched.is_empty() && now >= self.last_poll + self.settings.fallback {
            self.last_poll = now;
            self.metrics.fallback_polls.fetch_add(1, Ordering::Relaxed);
            ids.extend(self.unwatched.iter().cloned());
        }
        if !ids.is_empty() {
            self.last_run = Some(now);
        }
        (ids, first)
    }

    /// Records one re-evaluation.
    pub fn done(&mut self, checks: usize, eval: Duration, first_event: Option<Instant>) {
        self.metrics.reevaluations.fetch_add(1, Ordering::Relaxed);
        self.metrics
            .reevaluated_checks
            .fetch_add(checks as u64, Ordering::Relaxed);
        let m = &self.metrics;
        m.eval_last_ns
            .store(eval.as_nanos() as u64, Ordering::Relaxed);
        if let Some(f) = first_event {
            let l = f.elapsed().as_secs_f64();
            m.latency_count.fetch_add(1, Ordering::Relaxed);
            m.latency_sum_us
                .fetch_add((l * 1e6) as u64, Ordering::Relaxed);
            for (i, b) in BUCKETS.iter().enumerate() {
                if l <= *b {
                    m.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Number of watched directories.
    pub fn watches(&self) -> usize {
        self.dirs.len()
    }

    /// The Prometheus text of the real-time metrics.
    pub fn render(&self) -> String {
        self.metrics.render()
    }
}

impl Metrics {
    /// The Prometheus text of the real-time metrics (read live by `/metrics`).
    pub fn render(&self) -> String {
        let m = self;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut o = String::with_capacity(2048);
        let mut fam = |name: &str, kind: &str, help: &str, v: String| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}\n{v}");
        };
        fam(
            "jikimi_realtime_watches",
            "gauge",
            "Directories watched with inotify for real-time re-evaluation.",
            format!("jikimi_realtime_watches {}", get(&m.watches)),
        );
        fam(
            "jikimi_realtime_watched_paths",
            "gauge",
            "Distinct paths the watched checks read.",
            format!("jikimi_realtime_watched_paths {}", get(&m.watched_paths)),
        );
        fam(
            "jikimi_realtime_events_total",
            "counter",
            "inotify events read, by whether a check depends on the path.",
            format!(
                "jikimi_realtime_events_total{{relevant=\"true\"}} {}\njikimi_realtime_events_total{{relevant=\"false\"}} {}",
                get(&m.relevant),
                get(&m.events).saturating_sub(get(&m.relevant))
            ),
        );
        fam(
            "jikimi_realtime_events_coalesced_total",
            "counter",
            "Relevant events merged into a re-evaluation already pending.",
            format!(
                "jikimi_realtime_events_coalesced_total {}",
                get(&m.coalesced)
            ),
        );
        fam(
            "jikimi_realtime_rate_limited_total",
            "counter",
            "Times the event reader paused because more than realtime_max_events_per_sec events arrived.",
            format!("jikimi_realtime_rate_limited_total {}", get(&m.rate_limited)),
        );
        fam(
            "jikimi_realtime_queue_overflows_total",
            "counter",
            "inotify queue overflows (each means: re-evaluate every watched check).",
            format!(
                "jikimi_realtime_queue_overflows_total {}",
                get(&m.overflows)
            ),
        );
        fam(
            "jikimi_realtime_reevaluations_total",
            "counter",
            "Incremental re-evaluations run.",
            format!(
                "jikimi_realtime_reevaluations_total {}",
                get(&m.reevaluations)
            ),
        );
        fam(
            "jikimi_realtime_reevaluated_checks_total",
            "counter",
            "Checks evaluated by incremental re-evaluations.",
            format!(
                "jikimi_realtime_reevaluated_checks_total {}",
                get(&m.reevaluated_checks)
            ),
        );
        fam(
            "jikimi_realtime_reevaluation_eval_seconds",
            "gauge",
            "Evaluation time of the last re-evaluation (checks only, without sinks).",
            format!(
                "jikimi_realtime_reevaluation_eval_seconds {}",
                get(&m.eval_last_ns) as f64 / 1e9
            ),
        );
        let mut h = String::new();
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                h,
                "jikimi_realtime_latency_seconds_bucket{{le=\"{b}\"}} {}",
                get(&m.latency_buckets[i])
            );
        }
        let _ = write!(
            h,
            "jikimi_realtime_latency_seconds_bucket{{le=\"+Inf\"}} {}\njikimi_realtime_latency_seconds_sum {}\njikimi_realtime_latency_seconds_count {}",
            get(&m.latency_count),
            get(&m.latency_sum_us) as f64 / 1e6,
            get(&m.latency_count)
        );
        fam(
            "jikimi_realtime_latency_seconds",
            "histogram",
            "From the first file event to the re-evaluated results delivered to the sinks.",
            h,
        );
        fam(
            "jikimi_realtime_watch_failures_total",
            "counter",
            "Watches that could not be added (watch limit): their checks are polled instead.",
            format!(
                "jikimi_realtime_watch_failures_total {}",
                get(&m.watch_failures)
            ),
        );
        fam(
            "jikimi_realtime_fallback_checks",
            "gauge",
            "Checks re-evaluated by interval polling because their inputs are not all watched.",
            format!(
                "jikimi_realtime_fallback_checks {}",
                get(&m.fallback_checks)
            ),
        );
        fam(
            "jikimi_realtime_fallback_polls_total",
            "counter",
            "Interval re-evaluations of the checks that are not watched.",
            format!(
                "jikimi_realtime_fallback_polls_total {}",
                get(&m.fallback_polls)
            ),
        );
        o
    }
}

/// Adds a watch on a directory opened through the root (its symlinks resolved inside the
/// root), by its descriptor: a path outside the root is never watched.
fn add_watch(root: &Root, fd: &OwnedFd, dir: &str) -> Result<i32, rustix::io::Errno> {
    let d = root.open_dir(dir).map_err(|_| rustix::io::Errno::NOENT)?;
    inotify::add_watch(
        fd.as_fd(),
        format!("/proc/self/fd/{}", d.as_raw_fd()),
        mask(),
    )
}

fn read_loop(fd: &OwnedFd, state: &Mutex<State>, m: &Metrics, budget: u64, notify: &dyn Fn()) {
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 64 * 1024];
    let mut window = Instant::now();
    let mut in_window = 0u64;
    loop {
        let mut reader = inotify::Reader::new(fd.as_fd(), &mut buf);
        // one read(2), then everything it returned
        let mut batch: Vec<(i32, ReadFlags, Option<String>)> = Vec::new();
        loop {
            match reader.next() {
                Ok(ev) => {
                    batch.push((
                        ev.wd(),
                        ev.events(),
                        ev.file_name()
                            .map(|n| String::from_utf8_lossy(n.to_bytes()).into_owned()),
                    ));
                    if reader.is_buffer_empty() {
                        break;
                    }
                }
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return,
            }
        }
        let n = batch.len() as u64;
        m.events.fetch_add(n, Ordering::Relaxed);
        let mut wake = false;
        {
            let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
            let was_empty = st.pending.first.is_none();
            let mut ids = BTreeSet::new();
            for (wd, flags, name) in batch {
                if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                    m.overflows.fetch_add(1, Ordering::Relaxed);
                    st.pending.all = true;
                    st.pending.first.get_or_insert_with(Instant::now);
                    continue;
                }
                if flags.contains(ReadFlags::IGNORED) {
                    st.wds.remove(&wd);
                    continue;
                }
                let Some(dir) = st.wds.get(&wd).cloned() else {
                    continue;
                };
                if flags.intersects(ReadFlags::MOVE_SELF | ReadFlags::DELETE_SELF) {
                    // the watch followed the inode away: forget it, so that the update after
                    // the re-evaluation watches whatever is at that path now
                    st.wds.remove(&wd);
                    let _ = inotify::remove_watch(fd.as_fd(), wd);
                }
                let dir = &dir;
                let (path, par) = match &name {
                    Some(n) => (crate::fs::join(dir, n), dir.clone()),
                    None => (dir.clone(), parent(dir).to_string()),
                };
                let before = ids.len();
                st.index.affected(&path, &par, &mut ids);
                if ids.len() > before || st.index.paths.contains_key(path.as_str()) {
                    m.relevant.fetch_add(1, Ordering::Relaxed);
                }
            }
            if !ids.is_empty() {
                let fresh = ids.iter().filter(|i| !st.pending.ids.contains(*i)).count();
                if fresh == 0 {
                    m.coalesced.fetch_add(1, Ordering::Relaxed);
                } else {
                    // the main thread may be waiting on an earlier due time (an overflow's
                    // full re-evaluation waits longer than checks named by an event)
                    wake = true;
                }
                st.pending.ids.extend(ids);
                st.pending.first.get_or_insert_with(Instant::now);
            }
            if was_empty && st.pending.first.is_some() {
                wake = true;
            }
        }
        if wake {
            notify();
        }
        // the flood budget: beyond it, stop reading for the rest of the second (the kernel
        // queue may overflow meanwhile: that is reported as an overflow, handled above)
        in_window += n;
        let now = Instant::now();
        if now >= window + Duration::from_secs(1) {
            window = now;
            in_window = n;
        }
        if in_window > budget {
            m.rate_limited.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep((window + Duration::from_secs(1)).saturating_duration_since(now));
            window = Instant::now();
            in_window = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_and_unit_keep_realtime_on() {
        let cfg: crate::config::Config =
            toml::from_str(include_str!("../../../packaging/jikimi.toml")).unwrap();
        assert_ne!(cfg.daemon.realtime, Some(false));
        let unit = include_str!("../../../packaging/systemd/jikimi.service");
        let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        assert_eq!(exec, "ExecStart=/usr/bin/jikimi check");
        // inotify_* are in @file-system, part of @system-service
        assert!(unit.contains("SystemCallFilter=@system-service"));
        assert!(!unit.contains("inotify"));
    }

    #[test]
    fn index_matches_the_file_what_is_under_it_and_the_listed_parent() {
        let mut i = Index {
            checks: vec![Arc::from("SSH"), Arc::from("SUDO"), Arc::from("SUDO2")],
            ..Index::default()
        };
        i.paths.insert(Arc::from("/etc/ssh/sshd_config"), vec![0]);
        i.paths.insert(Arc::from("/etc/sudoers.d/x"), vec![1]);
        i.listed.insert(Arc::from("/etc/sudoers.d"), vec![2]);
        let hit = |p: &str| {
            let mut o = BTreeSet::new();
            i.affected(p, parent(p), &mut o);
            o.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(hit("/etc/ssh/sshd_config"), ["SSH"]);
        assert!(hit("/etc/ssh/other").is_empty());
        assert_eq!(hit("/etc/sudoers.d/new"), ["SUDO2"]);
        // the directory itself created or renamed
        assert_eq!(hit("/etc/sudoers.d"), ["SUDO", "SUDO2"]);
        assert!(hit("/etc/motd").is_empty());
        assert!(unwatchable("/proc/sys/kernel/x") && !unwatchable("/procfoo"));
        assert_eq!(parent("/etc"), "/");
    }
}
