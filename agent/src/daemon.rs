//! The continuous agent (`jikimi check` without `--once`): a scan at start, then one every
//! interval with random jitter (so a fleet does not scan in step), metrics on
//! `/metrics` and `/healthz` (127.0.0.1:9464 by default), SIGHUP reloads the configuration and
//! catalog, SIGTERM/SIGINT stop within 2 s, also in the middle of a scan or a delivery
//! ([`crate::cancel`]). A failed scan is logged and counted; the next one still happens.
//!
//! Between scans the agent holds only the catalog and the last metrics text: facts are
//! collected fresh for every scan and dropped after it, so the idle footprint stays small.
//! The HTTP endpoint is [`http`]: one thread, a `poll(2)` loop with per-request deadlines
//! and a connection cap, so a slow or idle client never delays a scrape.

pub mod http;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::facts::Facts;
use crate::fs::Root;
use crate::run::{scan_facts, Report, Selection};
use crate::sinks::prometheus::{self, Counters};
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Everything a scan needs, rebuilt on SIGHUP.
pub struct Setup {
    pub config: Config,
    pub catalog: Catalog,
    pub selection: Selection,
    /// Asset classification rules (built-in plus the configuration's rules directory).
    pub rules: crate::classify::Rules,
}

/// Daemon options from the command line (they win over the configuration).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub root: Option<PathBuf>,
    pub listen: Option<String>,
    pub textfile: Option<PathBuf>,
    pub interval_secs: Option<u64>,
    /// State directory (scan history); default from the configuration.
    pub state_dir: Option<PathBuf>,
}

enum Event {
    Reload,
    Stop,
}

struct Shared {
    /// The last rendered metrics, shared with the replies being written.
    metrics: Mutex<Arc<String>>,
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
    crate::aws::http::random_u64()
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
                body: self.metrics.lock().map(|m| m.clone()).unwrap_or_default(),
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

/// One scan with fresh facts; returns the report and the rendered metrics.
fn scan_once(
    setup: &Setup,
    root: &Root,
    counters: &mut Counters,
    state_dir: Option<&Path>,
) -> (Option<Report>, String) {
    let mut facts = Facts::new(root);
    facts.walk_limits = setup.config.walk_limits();
    let opts = prometheus::Options {
        per_check: setup.config.daemon.per_check_metrics.unwrap_or(false),
    };
    match scan_facts(&setup.catalog, &facts, &setup.selection) {
        Ok(_) if crate::cancel::requested() => {
            // stopped mid-scan: the results are incomplete (an interrupted walk proves
            // nothing), so they are neither recorded nor sent; queued deliveries stay queued
            log("scan interrupted by the stop request: not recorded, nothing sent");
            (None, prometheus::render(None, Some(&facts), counters, opts))
        }
        Ok(mut report) => {
            counters.scans_ok += 1;
            let cfg = &setup.config;
            crate::waivers::classify_and_apply(
                &mut report,
                &setup.rules,
                &facts,
                &cfg.asset,
                cfg.ec2_tags.prefix(),
                &cfg.waivers,
            );
            // history first: the daily mail reports from it, this scan included
            if let Err(e) = crate::history::record_scan(
                &report,
                Some(&facts),
                setup
                    .config
                    .history_settings(state_dir, report.host.live)
                    .as_ref(),
            ) {
                log(&format!("warning: {e}"));
            }
            submit(setup, &facts, &mut report, state_dir);
            let text = prometheus::render(Some(&report), Some(&facts), counters, opts);
            (Some(report), text)
        }
        Err(e) => {
            counters.scans_failed += 1;
            counters.last_failure_ts = crate::time::now_unix();
            log(&format!("scan failed: {e}"));
            (None, prometheus::render(None, Some(&facts), counters, opts))
        }
    }
}

/// After a scan, what `check --once` does too: classify the host, send the report to the
/// remote sinks switched on in the configuration (`[securityhub]`, `[ssm_compliance]`,
/// `[ssm_inventory]`, `[ec2_tags]`), and alert on new failures and fixes (`[alerts]`). The
/// report mail (`[email]`) goes out once a day, not after every scan. Delivery problems are
/// logged; what was not delivered stays pending in the state directory for the next scan.
fn submit(setup: &Setup, facts: &Facts, report: &mut Report, state_dir: Option<&Path>) {
    let cfg = &setup.config;
    report.asset = Some(crate::classify::classify(
        &setup.rules,
        facts,
        &cfg.asset,
        cfg.ec2_tags.prefix(),
    ));
    let state_dir = state_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cfg.state_dir());
    let remote = crate::sinks::remote::Remote {
        securityhub: cfg.securityhub.enabled,
        ssm_compliance: cfg.ssm_compliance.enabled,
        ssm_inventory: cfg.ssm_inventory.enabled,
        ec2_tags: cfg.ec2_tags.enabled,
        format_needs: crate::sinks::remote::IdentityNeed::None,
        state_dir: state_dir.clone(),
        catalog_ids: setup.catalog.checks.iter().map(|c| c.id.clone()).collect(),
    };
    crate::sinks::remote::first_submission_jitter(&cfg.remote());
    if let Err(e) = crate::sinks::remote::run(report, &cfg.remote(), &remote) {
        log(&format!("remote sinks skipped: {e}"));
    }
    let mail = cfg.email.enabled && mail_due(&state_dir);
    crate::sinks::alerts::run_local(report, &cfg.local(), &state_dir, mail);
    if mail && report.sinks.get("email").is_some_and(|s| s.sent > 0) {
        let _ = write_textfile(
            &state_dir.join(MAIL_STAMP),
            &crate::time::rfc3339(std::time::SystemTime::now()),
        );
    }
    for (name, s) in &report.sinks {
        log(&s.line(name));
        for e in &s.errors {
            log(&format!("{name}: {e}"));
        }
    }
}

/// When the daemon last mailed the report (a timestamp file in the state directory).
const MAIL_STAMP: &str = "email-last-sent";

/// The report mail is due when none was sent in the last 23.5 hours (a little under a day, so
/// hourly scans do not push the mail later every day).
fn mail_due(state_dir: &Path) -> bool {
    let last = std::fs::read_to_string(state_dir.join(MAIL_STAMP))
        .ok()
        .and_then(|t| crate::time::parse_rfc3339(t.trim()));
    match last.and_then(|t| t.elapsed().ok()) {
        Some(age) => age >= Duration::from_secs(23 * 3600 + 1800),
        None => true,
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

/// Runs until SIGTERM/SIGINT. `load` builds the setup (config + catalog), again on SIGHUP.
pub fn run(opts: Options, load: &dyn Fn() -> Result<Setup, String>) -> Result<(), String> {
    let mut setup = load()?;
    let root_dir = opts.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let root = Root::new(&root_dir)
        .map_err(|e| format!("cannot open scan root {}: {e}", root_dir.display()))?;
    let listen = opts
        .listen
        .clone()
        .or_else(|| setup.config.daemon.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:9464".into());
    let listener =
        TcpListener::bind(&listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
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
            .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
    }
    let (tx, rx) = channel();
    install_signals(tx).map_err(|e| format!("cannot install signal handlers: {e}"))?;
    log(&format!(
        "daemon started: {} checks, metrics on http://{local}/metrics",
        setup.catalog.checks.len()
    ));
    let mut counters = Counters::default();
    loop {
        let (report, text) = scan_once(&setup, &root, &mut counters, opts.state_dir.as_deref());
        if report.is_some() {
            if let Ok(mut l) = shared.last_ok.lock() {
                *l = Some(Instant::now());
            }
        }
        if let Some(p) = opts
            .textfile
            .as_ref()
            .or(setup.config.daemon.textfile.as_ref())
        {
            if let Err(e) = write_textfile(p, &text) {
                log(&format!("cannot write textfile {}: {e}", p.display()));
            }
        }
        if let Ok(mut m) = shared.metrics.lock() {
            *m = Arc::new(text);
        }
        // logged once the metrics are published, so a reader of the log sees them
        if let Some(r) = &report {
            let s = &r.summary;
            log(&format!(
                "scan done in {:.0} ms: {} passed, {} failed, {} not applicable, {} errors, score {:.1}",
                r.duration_ms, s.passed, s.failed, s.not_applicable, s.errors, s.score
            ));
        }
        drop(report);
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
        // one wait: a timeout means scan; SIGHUP reloads and rescans; SIGTERM stops
        {
            let wait = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(Event::Reload) => {
                    match load() {
                        Ok(s) => {
                            log(&format!(
                                "configuration reloaded: {} checks",
                                s.catalog.checks.len()
                            ));
                            setup = s;
                        }
                        Err(e) => log(&format!(
                            "reload failed, keeping the previous configuration: {e}"
                        )),
                    }
                    // fall through: scan now with the new setup
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
