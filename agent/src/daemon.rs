//! The continuous agent (`jikimi check` without `--once`): a scan at start, then one every
//! interval with random jitter (so a fleet does not scan in step), metrics on
//! `/metrics` and `/healthz` (127.0.0.1:9464 by default), SIGHUP reloads the configuration and
//! catalog, SIGTERM/SIGINT stop within 2 s, also in the middle of a scan or a delivery
//! ([`crate::cancel`]). A failed scan is logged and counted; the next one still happens.
//!
//! Every scan and re-evaluation runs through [`crate::run::pipeline`]. With `[daemon]
//! realtime` (the default), [`realtime`] watches what the checks read and re-evaluates only
//! the checks a change affects, between scans.
//!
//! Between scans the agent holds the catalog, the last metrics text and, with realtime, the
//! last report (to merge re-evaluations into) and the interned dependency index: facts are
//! collected fresh for every scan and dropped after it, so the idle footprint stays small.
//! The HTTP endpoint is [`http`]: one thread, a `poll(2)` loop with per-request deadlines
//! and a connection cap, so a slow or idle client never delays a scrape.

pub mod http;
pub mod realtime;

use crate::fs::Root;
use crate::run::pipeline::{pipeline, Outputs, PipelineError, Scope};
pub use crate::run::pipeline::{Setup, Submit};
use crate::run::Report;
use crate::sinks::prometheus::{self, Counters};
use std::collections::BTreeSet;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Daemon options from the command line (they win over the configuration).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub root: Option<PathBuf>,
    pub listen: Option<String>,
    pub textfile: Option<PathBuf>,
    pub interval_secs: Option<u64>,
    /// State directory (scan history); default from the configuration.
    pub state_dir: Option<PathBuf>,
    /// Remote sinks switched on by `--submit`.
    pub submit: Submit,
}

impl Options {
    /// `--textfile`, else `[daemon] textfile`.
    fn textfile<'a>(&'a self, setup: &'a Setup) -> Option<&'a std::path::Path> {
        self.textfile
            .as_deref()
            .or(setup.config.daemon.textfile.as_deref())
    }

    /// What a daemon pipeline run (full scan or re-evaluation) writes to: `--textfile`, else
    /// `[daemon] textfile`; failures logged rather than ending the daemon.
    fn outputs<'a>(
        &'a self,
        setup: &'a Setup,
        record_deps: bool,
        counters: &'a mut Counters,
        extra_metrics: &'a str,
    ) -> Outputs<'a> {
        Outputs {
            submit: self.submit,
            format_needs: crate::sinks::remote::IdentityNeed::None,
            state_dir: self.state_dir.as_deref(),
            textfile: self.textfile(setup),
            daemon: true,
            record_deps,
            counters,
            extra_metrics,
            log: &log,
        }
    }
}

enum Event {
    Reload,
    Stop,
    /// A watched file changed (see [`realtime`]).
    Changed,
}

struct Shared {
    /// The last rendered metrics, shared with the replies being written.
    metrics: Mutex<Arc<String>>,
    /// The real-time counters, rendered live on each scrape.
    realtime: Mutex<Option<Arc<realtime::Metrics>>>,
    last_ok: Mutex<Option<Instant>>,
    stopping: AtomicBool,
}

fn log(msg: &str) {
    // journald adds its own timestamp; keep a UTC one for plain files.
    let line = format!(
        "{} jikimi: {msg}\n",
        crate::time::rfc3339(std::time::SystemTime::now())
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

fn random_u64() -> u64 {
    crate::net::random_u64()
}

/// Interval ± jitter, never below one second.
pub fn next_delay(interval: Duration, jitter: Duration, r: u64) -> Duration {
    let j = jitter.as_millis() as u64;
    if j == 0 {
        return interval.max(Duration::from_secs(1));
    }
    let off = r % (2 * j + 1);
    let ms = interval.as_millis() as i128 + off as i128 - j as i128;
    Duration::from_millis(ms.max(1000) as u64)
}

/// Writes metrics for node_exporter's textfile collector atomically.
pub fn write_textfile(path: &Path, text: &str) -> std::io::Result<()> {
    // 0644: node_exporter reads it without root
    crate::state::write_file(path, text.as_bytes(), 0o644).map_err(std::io::Error::other)
}

impl http::Handler for Shared {
    fn get(&self, path: &str) -> http::Response {
        match path {
            "/metrics" => http::Response {
                status: "200 OK",
                content_type: "text/plain; version=0.0.4; charset=utf-8",
                body: {
                    let base = self.metrics.lock().map(|m| m.clone()).unwrap_or_default();
                    match self.realtime.lock().ok().and_then(|r| r.clone()) {
                        Some(rt) => Arc::new(format!("{base}{}", rt.render())),
                        None => base,
                    }
                },
            },
            "/healthz" => {
                let last = self.last_ok.lock().ok().and_then(|l| *l);
                http::Response::text(
                    "200 OK",
                    &match last {
                        Some(t) => {
                            format!("ok: last successful scan {}s ago\n", t.elapsed().as_secs())
                        }
                        None => "ok: no successful scan yet\n".to_string(),
                    },
                )
            }
            _ => http::Response::text("404 Not Found", "not found: try /metrics or /healthz\n"),
        }
    }
}

/// How long after SIGTERM/SIGINT the daemon waits for the work in progress to stop by itself
/// before exiting anyway (the promise is: gone within 2 s).
const STOP_GRACE: Duration = Duration::from_millis(1500);

fn install_signals(tx: Sender<Event>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGHUP, SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            for sig in signals.forever() {
                let ev = if sig == SIGHUP {
                    Event::Reload
                } else {
                    // at once, from this thread: a scan or a delivery in progress on the main
                    // thread stops at its next poll instead of running to its end
                    crate::cancel::request();
                    Event::Stop
                };
                let stop = matches!(ev, Event::Stop);
                if tx.send(ev).is_err() || stop {
                    break;
                }
            }
            // The main thread returns (and the process exits) as soon as what it was doing
            // noticed the request. Should a step not poll in time (a blocking call deep in a
            // sink), the process ends here anyway, before systemd's SIGKILL: every state file
            // is written atomically and saved before its delivery, so what was not sent stays
            // pending for the next run.
            std::thread::sleep(STOP_GRACE);
            log(&format!(
                "stopping: still busy {} ms after the stop request; exiting now (what was not sent stays pending)",
                STOP_GRACE.as_millis()
            ));
            std::process::exit(0);
        })?;
    Ok(())
}

/// Why the setup (configuration, catalog, waivers) could not be built: the caller's error,
/// whole (the command line's error chain).
pub type LoadError = Box<dyn std::error::Error + Send + Sync>;

/// Why the daemon could not start.
#[derive(thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Load(LoadError),
    #[error("cannot open scan root {}", root.display())]
    Root {
        root: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {listen}")]
    Listen {
        listen: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the HTTP thread")]
    HttpThread(#[source] std::io::Error),
    #[error("cannot install signal handlers")]
    Signals(#[source] std::io::Error),
}

/// The `Display` text: the derived `Debug` would add ~1.5 KB to the binary (cargo bloat) for
/// an error that is only ever shown to a user.
impl std::fmt::Debug for DaemonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Runs until SIGTERM/SIGINT. `load` builds the setup (config + catalog), again on SIGHUP.
pub fn run(opts: Options, load: &dyn Fn() -> Result<Setup, LoadError>) -> Result<(), DaemonError> {
    // long-lived: one malloc arena, so what other threads free can be trimmed after a scan
    crate::fs::single_malloc_arena();
    let mut setup = load().map_err(DaemonError::Load)?;
    let root_dir = opts.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let root = Root::new(&root_dir).map_err(|source| DaemonError::Root {
        root: root_dir.clone(),
        source,
    })?;
    let listen = opts
        .listen
        .clone()
        .or_else(|| setup.config.daemon.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:9464".into());
    let listener = TcpListener::bind(&listen).map_err(|source| DaemonError::Listen {
        listen: listen.clone(),
        source,
    })?;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(listen);
    let shared = Arc::new(Shared {
        metrics: Mutex::new(Arc::new(prometheus::render(
            None,
            None,
            &Counters::default(),
            Default::default(),
        ))),
        last_ok: Mutex::new(None),
        stopping: AtomicBool::new(false),
        realtime: Mutex::new(None),
    });
    {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("http".into())
            .stack_size(128 * 1024)
            .spawn(move || {
                let stop = || shared.stopping.load(Ordering::Relaxed) || crate::cancel::requested();
                http::serve(listener, &*shared, http::Limits::default(), &stop)
            })
            .map_err(DaemonError::HttpThread)?;
    }
    let (tx, rx) = channel();
    install_signals(tx.clone()).map_err(DaemonError::Signals)?;
    log(&format!(
        "daemon started: {} checks, metrics on http://{local}/metrics",
        setup.catalog.checks.len()
    ));
    let mut counters = Counters::default();
    let mut current: Option<Report> = None;
    let mut rt = start_realtime(&setup, &root, &tx);
    let share_rt = |rt: &Option<realtime::Realtime>| {
        if let Ok(mut s) = shared.realtime.lock() {
            *s = rt.as_ref().map(|r| r.metrics.clone());
        }
    };
    share_rt(&rt);
    loop {
        // a full scan: every selected check, dependencies recorded for the watcher
        let walks = walk_checks(&setup);
        let extra = rt.as_ref().map(|r| r.render()).unwrap_or_default();
        let mut out = opts.outputs(&setup, rt.is_some(), &mut counters, &extra);
        let text = match pipeline(
            &setup,
            &root,
            Scope::Full,
            &mut out,
            &crate::cancel::requested,
        ) {
            Ok(o) => {
                if let Ok(mut l) = shared.last_ok.lock() {
                    *l = Some(Instant::now());
                }
                if let Some(rt) = rt.as_mut() {
                    if let Some(msg) = rt.update(&root, o.deps, true, &walks) {
                        log(&msg);
                    }
                }
                let s = &o.report.summary;
                let line = format!(
                    "scan done in {:.0} ms: {} passed, {} failed, {} not applicable, {} errors, score {:.1}{}",
                    o.report.duration_ms, s.passed, s.failed, s.not_applicable, s.errors, s.score,
                    match &rt {
                        Some(rt) => format!("; realtime: {} directories watched", rt.watches()),
                        None => String::new(),
                    }
                );
                current = Some(o.report);
                let text = match rt.as_ref() {
                    Some(rt) => with_realtime(o.metrics, rt, opts.textfile(&setup)),
                    None => o.metrics,
                };
                Some((text, line))
            }
            Err(e) => {
                log(&match e {
                    PipelineError::Interrupted => e.to_string(),
                    e => format!("scan failed: {e}"),
                });
                None
            }
        };
        let text = match text {
            Some((metrics, line)) => {
                publish(&shared, metrics);
                // logged once the metrics are published, so a reader of the log sees them
                log(&line);
                true
            }
            None => {
                let m = prometheus::render(None, None, &counters, Default::default());
                if let Some(p) = opts
                    .textfile
                    .as_ref()
                    .or(setup.config.daemon.textfile.as_ref())
                {
                    if let Err(e) = write_textfile(p, &format!("{m}{extra}")) {
                        log(&format!("cannot write textfile {}: {e}", p.display()));
                    }
                }
                publish(&shared, m);
                false
            }
        };
        let _ = text;
        // the scan's facts are gone: hand the freed heap back before idling
        crate::fs::release_free_memory();
        if crate::cancel::requested() {
            // SIGTERM during the scan: what it produced is saved above; stop now
            shared.stopping.store(true, Ordering::Relaxed);
            log("stopping");
            return Ok(());
        }
        let interval = Duration::from_secs(
            opts.interval_secs
                .or(setup.config.daemon.interval_secs)
                .unwrap_or(3600),
        );
        let jitter = Duration::from_secs(
            setup
                .config
                .daemon
                .jitter_secs
                .unwrap_or((interval.as_secs() / 10).min(300)),
        );
        let deadline = Instant::now() + next_delay(interval, jitter, random_u64());
        // wait: the deadline means scan; a change re-evaluates what it affects; SIGHUP
        // reloads and rescans; SIGTERM stops
        loop {
            let now = Instant::now();
            let wake = rt
                .as_ref()
                .and_then(|r| r.due())
                .map_or(deadline, |d| d.min(deadline));
            match rx.recv_timeout(wake.saturating_duration_since(now)) {
                Err(RecvTimeoutError::Timeout) => {
                    if Instant::now() >= deadline {
                        break;
                    }
                    if let (Some(r), Some(base)) = (rt.as_mut(), current.as_ref()) {
                        if let Some(report) = recheck(
                            &setup,
                            &root,
                            r,
                            base,
                            &opts,
                            &mut counters,
                            &shared,
                            &walks,
                        ) {
                            current = Some(report);
                        }
                    }
                }
                Ok(Event::Changed) => {} // due() now says when
                Ok(Event::Reload) => {
                    match load() {
                        Ok(s) => {
                            log(&format!(
                                "configuration reloaded: {} checks",
                                s.catalog.checks.len()
                            ));
                            let was = setup.config.daemon.realtime != Some(false);
                            setup = s;
                            if was != (setup.config.daemon.realtime != Some(false)) {
                                rt = start_realtime(&setup, &root, &tx);
                                share_rt(&rt);
                            }
                        }
                        Err(e) => log(&format!(
                            "reload failed, keeping the previous configuration: {}",
                            crate::error_text::chain(&*e)
                        )),
                    }
                    break; // scan now with the new setup
                }
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    shared.stopping.store(true, Ordering::Relaxed);
                    log("stopping");
                    return Ok(());
                }
            }
        }
    }
}

/// The metrics text with the real-time part as it is now (the watches and timings are
/// updated after the pipeline rendered it), rewritten to the textfile too.
fn with_realtime(mut text: String, rt: &realtime::Realtime, textfile: Option<&Path>) -> String {
    if let Some(i) = text.find(realtime::FIRST_FAMILY) {
        text.truncate(i);
    }
    if let Some(p) = textfile {
        if let Err(e) = write_textfile(p, &format!("{text}{}", rt.render())) {
            log(&format!("cannot write textfile {}: {e}", p.display()));
        }
    }
    // `/metrics` appends the live real-time part itself
    text
}

fn publish(shared: &Shared, text: String) {
    if let Ok(mut m) = shared.metrics.lock() {
        *m = Arc::new(text);
    }
}

/// Checks that walk the filesystem: left to the periodic scan.
fn walk_checks(setup: &Setup) -> BTreeSet<String> {
    setup
        .catalog
        .checks
        .iter()
        .filter(|c| c.walk)
        .map(|c| c.id.clone())
        .collect()
}

/// The watcher, when `[daemon] realtime` is on (the default).
fn start_realtime(setup: &Setup, _root: &Root, tx: &Sender<Event>) -> Option<realtime::Realtime> {
    if setup.config.daemon.realtime == Some(false) {
        return None;
    }
    let tx = Mutex::new(tx.clone());
    let notify = Box::new(move || {
        if let Ok(t) = tx.lock() {
            let _ = t.send(Event::Changed);
        }
    });
    match realtime::Realtime::start(realtime::Settings::of(&setup.config.daemon), notify) {
        Ok(r) => Some(r),
        Err(e) => {
            log(&format!(
                "realtime: inotify unavailable ({e}): changes are seen at the next scan only"
            ));
            None
        }
    }
}

/// One incremental re-evaluation of the checks changes affected, through the pipeline;
/// the merged report when one ran.
#[allow(clippy::too_many_arguments)]
fn recheck(
    setup: &Setup,
    root: &Root,
    rt: &mut realtime::Realtime,
    base: &Report,
    opts: &Options,
    counters: &mut Counters,
    shared: &Shared,
    walks: &BTreeSet<String>,
) -> Option<Report> {
    let (ids, first) = rt.take(Instant::now());
    if ids.is_empty() {
        return None;
    }
    let extra = rt.render();
    let mut out = opts.outputs(setup, true, counters, &extra);
    let scope = Scope::Recheck { ids: &ids, base };
    match pipeline(setup, root, scope, &mut out, &crate::cancel::requested) {
        Ok(o) => {
            let n = o.deps.len();
            if let Some(msg) = rt.update(root, o.deps, false, walks) {
                log(&msg);
            }
            rt.done(n, o.eval_time, first);
            publish(shared, with_realtime(o.metrics, rt, opts.textfile(setup)));
            let s = &o.report.summary;
            log(&format!(
                "realtime: {n} checks re-evaluated in {:.1} ms{}: {} changed{}; {} failed, score {:.1}",
                o.eval_time.as_secs_f64() * 1000.0,
                first.map_or(String::new(), |f| format!(
                    " ({:.0} ms after the change)",
                    f.elapsed().as_secs_f64() * 1000.0
                )),
                o.changed.len(),
                if o.changed.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", o.changed.join(", "))
                },
                s.failed,
                s.score
            ));
            Some(o.report)
        }
        Err(e) => {
            log(&format!("realtime: re-evaluation failed: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_range() {
        let i = Duration::from_secs(3600);
        let j = Duration::from_secs(300);
        for r in [0, 1, 299_999, 300_000, 600_000, u64::MAX] {
            let d = next_delay(i, j, r);
            assert!(
                d >= Duration::from_secs(3300) && d <= Duration::from_secs(3900),
                "{d:?}"
            );
        }
        assert_eq!(
            next_delay(Duration::ZERO, Duration::ZERO, 5),
            Duration::from_secs(1)
        );
        assert!(
            next_delay(Duration::from_secs(1), Duration::from_secs(10), 0)
                >= Duration::from_secs(1)
        );
    }
}
