//! Alerts to a Slack incoming webhook and to a generic JSON webhook: one message when checks
//! newly fail at or above `alerts.min_severity` (default high), one when they are fixed,
//! nothing while the state is unchanged.
//!
//! `STATE_DIR/alerts-state.json` remembers which checks are failing and, per sink, the
//! messages not delivered yet. Each run:
//! 1. compares the results with the remembered failures: FAIL and not remembered → *failed*;
//!    remembered and now PASS or NOT_APPLICABLE → *fixed*; ERROR changes nothing (it proves
//!    neither); checks not run this time are left alone;
//! 2. queues one message with this run's events for every configured sink and saves the
//!    state (so a crash cannot lose an event);
//! 3. delivers each sink's queue in order, with up to `max_attempts` tries and jittered
//!    backoff on network errors, 429 and 5xx; what still fails stays queued for the next run
//!    (at most `max_pending` messages a sink; the oldest go first). A message the receiver
//!    rejects as malformed (400, 413, 422) is dropped with an error.
//!
//! Webhook URLs are secrets (a Slack URL is its own credential): they are never logged,
//! never written to the state, and every error passes through [`redact`].

use super::state_file::StateFileError;
use super::{ParameterError, SinkSummary, Summaries};
use crate::findings::{Severity, Status};
use crate::net::{Client, Endpoint, Roots};
pub use crate::redact::Secret;
use crate::report::Report;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

pub const STATE_FILE: &str = "alerts-state.json";
pub const LOCK_FILE: &str = "alerts.lock";
const STATE_VERSION: u32 = 1;
/// Events listed in one message; the rest are counted.
const EVENTS_SHOWN: usize = 20;

/// An http(s) URL; the error never repeats the value.
fn webhook_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    let s = String::deserialize(d)?;
    if split_url(&s).is_some() {
        Ok(Some(Secret(s)))
    } else {
        Err(serde::de::Error::custom(
            "not an http:// or https:// URL (the value is not shown: it is a secret)",
        ))
    }
}

/// `(scheme://authority, path-and-query)` of a plain http(s) URL.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() || authority.contains('@') || !url.bytes().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    let split = url.len() - rest.len() + end;
    Some((&url[..split], &url[split..]))
}

/// `[alerts.slack]` / `[alerts.webhook]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// The webhook URL (a secret: prefer `url_parameter`).
    #[serde(default, deserialize_with = "webhook_url")]
    pub url: Option<Secret>,
    /// A Parameter Store SecureString holding the URL (read when there is something to send).
    pub url_parameter: Option<String>,
}

impl HookConfig {
    fn configured(&self) -> bool {
        self.url.is_some() || self.url_parameter.is_some()
    }
}

/// The `[alerts]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Lowest severity that alerts (default `high`).
    pub min_severity: Option<Severity>,
    /// Tries per message in one run (1..=10, default 3).
    pub max_attempts: Option<u32>,
    /// Undelivered messages kept per sink for later runs (default 100).
    pub max_pending: Option<usize>,
    pub slack: Option<HookConfig>,
    pub webhook: Option<HookConfig>,
}

impl AlertsConfig {
    /// The configured sinks by name (`slack`, `webhook`).
    pub fn sinks(&self) -> Vec<(&'static str, &HookConfig)> {
        let mut out = Vec::new();
        if let Some(h) = self.slack.as_ref().filter(|h| h.configured()) {
            out.push(("slack", h));
        }
        if let Some(h) = self.webhook.as_ref().filter(|h| h.configured()) {
            out.push(("webhook", h));
        }
        out
    }
}

/// One change of one check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// `failed` or `fixed`.
    pub event: String,
    pub check_id: String,
    pub title: String,
    pub severity: Severity,
    /// The status now (`FAIL`, `PASS`, `NOT_APPLICABLE`).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What one message says: a run's events on a host.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Notice {
    pub at: String,
    pub hostname: String,
    pub machine_id: String,
    /// The host's asset tags (Env, Owner, AssetType...).
    #[serde(default)]
    pub asset: BTreeMap<String, String>,
    pub events: Vec<Event>,
    /// Failing checks at or above the threshold after this run.
    pub failing: usize,
    /// Language of the text (`crate::i18n`); the JSON keys stay English.
    #[serde(default)]
    pub lang: crate::i18n::Lang,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct State {
    version: u32,
    /// Failing check id → its severity.
    failing: BTreeMap<String, Severity>,
    /// Sink name → undelivered messages, oldest first.
    pending: BTreeMap<String, Vec<Notice>>,
    /// Waived checks whose coming expiry was announced.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    waivers_expiring: std::collections::BTreeSet<String>,
}

/// Reads the state. A missing file is a first run. A file that does not parse is moved aside
/// (`alerts-state.corrupt-MS`, as the Security Hub sink does), the undelivered messages that
/// can still be read from it are kept, and the second value says what happened: the caller
/// then treats the baseline as unknown (no event is announced this run). A state written by a
/// newer agent (another version) is an error and is left alone.
fn load_state(path: &Path) -> Result<(State, Option<String>), StateFileError> {
    let read = crate::state::read(path).map_err(|e| StateFileError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let Some(bytes) = read else {
        return Ok((State::default(), None));
    };
    let err = match serde_json::from_slice::<State>(&bytes) {
        Ok(s) if s.version == STATE_VERSION => return Ok((s, None)),
        Ok(s) if s.version > STATE_VERSION => {
            return Err(StateFileError::Newer {
                path: path.to_path_buf(),
                found: s.version,
                supported: STATE_VERSION,
            })
        }
        Ok(s) => format!("unknown state version {}", s.version),
        Err(e) => e.to_string(),
    };
    let state = State {
        pending: salvage_pending(&bytes),
        ..Default::default()
    };
    let kept: usize = state.pending.values().map(Vec::len).sum();
    let aside = path.with_extension(format!(
        "corrupt-{}",
        crate::time::unix_ms(std::time::SystemTime::now())
    ));
    let moved = match std::fs::rename(path, &aside) {
        Ok(()) => format!("moved to {}", aside.display()),
        Err(e) => format!("could not be moved aside ({e})"),
    };
    Ok((
        state,
        Some(format!(
            "{}: unreadable state ({err}); {moved}; {kept} undelivered message(s) recovered; \
             the failures remembered before are unknown, so this run's failures are taken as \
             the new baseline and not announced",
            path.display()
        )),
    ))
}

/// The undelivered messages that can still be read from a damaged state file: every JSON
/// object that parses as a [`Notice`] (they start with `"at"`), under the last `"slack"` or
/// `"webhook"` queue key before it.
fn salvage_pending(bytes: &[u8]) -> BTreeMap<String, Vec<Notice>> {
    let mut out: BTreeMap<String, Vec<Notice>> = BTreeMap::new();
    let keys: [(&[u8], &str); 2] = [(b"\"slack\"", "slack"), (b"\"webhook\"", "webhook")];
    let mut sink: Option<&str> = None;
    let mut i = 0;
    while i < bytes.len() {
        for (key, name) in keys {
            if bytes[i..].starts_with(key) {
                sink = Some(name);
            }
        }
        if bytes[i] == b'{' {
            let after = bytes[i + 1..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .map_or(&[][..], |k| &bytes[i + 1 + k..]);
            if let (true, Some(name)) = (after.starts_with(b"\"at\""), sink) {
                let mut it =
                    serde_json::Deserializer::from_slice(&bytes[i..]).into_iter::<Notice>();
                if let Some(Ok(n)) = it.next() {
                    out.entry(name.to_string()).or_default().push(n);
                    i += it.byte_offset().max(1);
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// The events of a run against the remembered failures (updated in place).
fn diff(report: &Report, min: Severity, failing: &mut BTreeMap<String, Severity>) -> Vec<Event> {
    let mut out = Vec::new();
    for r in &report.results {
        let was = failing.contains_key(&r.id);
        let event = match r.status {
            Status::Fail if r.severity >= min && !was => {
                failing.insert(r.id.clone(), r.severity);
                if r.waiver.as_ref().is_some_and(|w| w.expired) {
                    "waiver_expired"
                } else {
                    "failed"
                }
            }
            Status::Waived if was => {
                // an accepted risk is not a failure to alert on again
                failing.remove(&r.id);
                "waived"
            }
            Status::Fail if r.severity < min && was => {
                // below the threshold now (configuration changed): forget quietly
                failing.remove(&r.id);
                continue;
            }
            Status::Pass | Status::NotApplicable if was => {
                failing.remove(&r.id);
                "fixed"
            }
            _ => continue,
        };
        out.push(Event {
            event: event.into(),
            check_id: r.id.clone(),
            title: r.title.clone(),
            severity: r.severity,
            status: r.status.as_str().into(),
            reason: r
                .reason
                .clone()
                .or_else(|| r.evidence.first().map(|e| e.to_string()))
                .map(|s| super::asff::clip(&s, 300)),
        });
    }
    out
}

/// Waivers that entered their last 14 days since the last run (`remembered` holds the
/// checks already announced; a check whose waiver is renewed or gone is forgotten).
fn expiring_events(
    report: &Report,
    min: Severity,
    remembered: &mut std::collections::BTreeSet<String>,
) -> Vec<Event> {
    let mut out = Vec::new();
    for r in &report.results {
        let expiring = r.status == Status::Waived && r.waiver.as_ref().is_some_and(|w| w.expiring);
        if !expiring {
            if r.status != Status::Waived || r.waiver.is_some() {
                remembered.remove(&r.id);
            }
            continue;
        }
        if r.severity < min || !remembered.insert(r.id.clone()) {
            continue;
        }
        out.push(Event {
            event: "waiver_expiring".into(),
            check_id: r.id.clone(),
            title: r.title.clone(),
            severity: r.severity,
            status: r.status.as_str().into(),
            reason: r.waiver.as_ref().map(|w| super::asff::clip(&w.line(), 300)),
        });
    }
    out
}

/// Removes every form of `url` from `msg` (see [`super::redact`]).
pub fn redact(msg: &str, url: &str) -> String {
    super::redact::url(msg, url)
}

fn title_of(n: &Notice) -> String {
    let t = n.lang.t();
    let count = |k: &str| n.events.iter().filter(|e| e.event == k).count();
    let (failed, fixed) = (count("failed"), count("fixed"));
    let mut parts = Vec::new();
    for (k, label) in [
        ("waiver_expired", t.alert_waiver_expired),
        ("waiver_expiring", t.alert_waiver_expiring),
        ("waived", t.alert_waived),
    ] {
        if count(k) > 0 {
            parts.push(label(count(k)));
        }
    }
    if failed > 0 {
        parts.push((t.alert_new)(failed));
    }
    if fixed > 0 {
        parts.push((t.alert_fixed)(fixed));
    }
    let env = n
        .asset
        .get(crate::classify::ENV)
        .map(|e| format!(" [{e}]"))
        .unwrap_or_default();
    format!("Jikimi{env} {}: {}", n.hostname, parts.join(", "))
}

/// Slack escaping of `&`, `<`, `>`.
fn slack_esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Slack incoming-webhook payload.
pub fn slack_payload(n: &Notice) -> Value {
    let t = n.lang.t();
    let mut text = format!("*{}*", slack_esc(&title_of(n)));
    for e in n.events.iter().take(EVENTS_SHOWN) {
        let [failed, expired, expiring, waived, fixed] = t.alert_marks;
        let mark = match e.event.as_str() {
            "failed" => format!(":red_circle: {failed}"),
            "waiver_expired" => format!(":red_circle: {expired}"),
            "waiver_expiring" => format!(":hourglass: {expiring}"),
            "waived" => format!(":white_circle: {waived}"),
            _ => format!(":large_green_circle: {fixed}"),
        };
        text += &format!(
            "\n{mark} [{}] `{}` {}",
            e.severity.as_str().to_uppercase(),
            e.check_id,
            slack_esc(&e.title)
        );
        if let (Some(r), "failed" | "waiver_expired" | "waiver_expiring") =
            (&e.reason, e.event.as_str())
        {
            text += &format!(" — {}", slack_esc(r));
        }
    }
    if n.events.len() > EVENTS_SHOWN {
        text += &format!("\n{}", (t.more)(n.events.len() - EVENTS_SHOWN));
    }
    let tags: Vec<String> = n.asset.iter().map(|(k, v)| format!("{k}={v}")).collect();
    text += &format!(
        "\n_{}; {}{}_",
        (t.alert_failing)(n.failing),
        n.at,
        if tags.is_empty() {
            String::new()
        } else {
            format!("; {}", slack_esc(&tags.join(" ")))
        }
    );
    json!({ "text": text })
}

/// The generic webhook payload.
pub fn webhook_payload(n: &Notice) -> Value {
    json!({
        "source": "jikimi",
        "agent_version": env!("CARGO_PKG_VERSION"),
        "title": title_of(n),
        "at": n.at,
        "host": { "hostname": n.hostname, "machine_id": n.machine_id },
        "asset": n.asset,
        "failing": n.failing,
        "events": n.events,
    })
}

/// Where and how to deliver.
pub struct Options<'a> {
    pub state_dir: &'a Path,
    pub roots: &'a Roots,
    /// Resolves `url_parameter` (Parameter Store).
    pub parameter: &'a dyn Fn(&str) -> Result<String, ParameterError>,
    /// Language of the messages (`[report] lang`, `--lang`).
    pub lang: crate::i18n::Lang,
}

fn deliver(client: &Client, url: &str, body: &Value, max: u32, sum: &mut SinkSummary) -> Delivery {
    let retry = crate::net::Retry {
        max_attempts: max,
        base: Duration::from_millis(500),
        cap: Duration::from_secs(4),
    };
    let data = body.to_string();
    let mut attempt = 0;
    loop {
        if crate::cancel::requested() {
            return Delivery::Failed("stopped before delivery (the agent is shutting down)".into());
        }
        attempt += 1;
        sum.calls += 1;
        let Some(res) = send_cancellable(client, url, &data) else {
            return Delivery::Failed(
                "stopped while waiting for the receiver (the agent is shutting down)".into(),
            );
        };
        let (retryable, why) = match res {
            Ok(r) if (200..300).contains(&r.status) => return Delivery::Done,
            Ok(r) => {
                // redacted whole, before and after folding whitespace, and only then cut: a
                // cut first could leave a prefix of the URL that no longer matches
                let body = redact(&String::from_utf8_lossy(&r.body), url);
                let folded = body.split_whitespace().collect::<Vec<_>>().join(" ");
                let text =
                    super::redact::clip(&super::table::escape_controls(&redact(&folded, url)), 120);
                if matches!(r.status, 400 | 413 | 422) {
                    return Delivery::Rejected(format!("HTTP {}: {text}", r.status));
                }
                (
                    matches!(r.status, 408 | 429) || r.status >= 500,
                    format!("HTTP {}: {text}", r.status),
                )
            }
            Err(e) => (true, crate::error_text::chain(&e)),
        };
        if !retryable || attempt >= retry.max_attempts {
            let tries = if attempt > 1 {
                format!(" (after {attempt} attempts)")
            } else {
                String::new()
            };
            return Delivery::Failed(redact(&format!("{why}{tries}"), url));
        }
        if !crate::cancel::sleep(retry.delay(attempt).max(Duration::from_millis(100))) {
            return Delivery::Failed(redact(
                &format!("{why}; stopped before retrying (the agent is shutting down)"),
                url,
            ));
        }
    }
}

/// Why a webhook POST got no HTTP answer. The texts may hold the URL: callers redact.
#[derive(thiserror::Error)]
enum PostError {
    #[error("cannot start the delivery thread")]
    Thread {
        #[source]
        source: std::io::Error,
    },
    #[error("the delivery thread ended without an answer")]
    NoAnswer,
    /// The HTTP client's reason (connection, TLS, timeout).
    #[error("{reason}")]
    Transport { reason: String },
}
crate::error_text::debug_as_display!(PostError);

/// One POST on its own thread, so that a receiver that accepts and never answers (up to the
/// client's 15 s timeout) cannot hold up a stop: `None` when cancellation was requested first
/// (the thread is left to time out; the process is exiting).
fn send_cancellable(
    client: &Client,
    url: &str,
    data: &str,
) -> Option<Result<crate::net::Response, PostError>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (client, url, data) = (client.clone(), url.to_string(), data.to_string());
    let spawned = std::thread::Builder::new()
        .name("webhook".into())
        .spawn(move || {
            let r = client.send(
                "POST",
                &url,
                &[("content-type", "application/json")],
                Some(data.as_bytes()),
            );
            let _ = tx.send(r);
        });
    if let Err(source) = spawned {
        return Some(Err(PostError::Thread { source }));
    }
    loop {
        match rx.recv_timeout(crate::cancel::POLL) {
            Ok(r) => {
                return Some(r.map_err(|e| PostError::Transport {
                    reason: crate::error_text::chain(&e),
                }))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Some(Err(PostError::NoAnswer))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if crate::cancel::requested() => {
                return None
            }
            Err(_) => {}
        }
    }
}

enum Delivery {
    Done,
    Failed(String),
    Rejected(String),
}

/// The name of a hook's summary in `report.sinks`.
fn summary_name(hook: &str) -> &'static str {
    if hook == "slack" {
        "alerts_slack"
    } else {
        "alerts_webhook"
    }
}

/// Runs the alert sinks for one report; one summary per configured hook (`alerts_slack`,
/// `alerts_webhook`). Never fails the run: every problem is in the summaries.
pub fn run(report: &Report, cfg: &AlertsConfig, opts: &Options) -> Summaries {
    // one summary per hook, in the order of `sinks()` (slack, webhook)
    let mut out: Summaries = Vec::new();
    let sinks = cfg.sinks();
    if sinks.is_empty() {
        return out;
    }
    let fail_all = |out: &mut Summaries, e: &dyn std::fmt::Display| {
        for (name, _) in &sinks {
            let mut s = SinkSummary::default();
            s.error(e.to_string());
            out.push((summary_name(name), s));
        }
    };
    let _lock = match crate::state::lock(opts.state_dir, LOCK_FILE, Duration::from_secs(120)) {
        Ok(l) => l,
        Err(e) => {
            fail_all(&mut out, &e);
            return out;
        }
    };
    let path = opts.state_dir.join(STATE_FILE);
    let (mut state, corrupt) = match load_state(&path) {
        Ok(s) => s,
        Err(e) => {
            fail_all(&mut out, &e);
            return out;
        }
    };
    state.version = STATE_VERSION;
    let min = cfg.min_severity.unwrap_or(Severity::High);
    let mut events = diff(report, min, &mut state.failing);
    events.extend(expiring_events(report, min, &mut state.waivers_expiring));
    if corrupt.is_some() {
        // unknown baseline: the failures remembered before are lost, so nothing this run
        // sees can be told new; this run's failures become the baseline, unannounced
        events.clear();
    }
    let max_pending = cfg.max_pending.unwrap_or(100).max(1);
    let mut dropped: BTreeMap<&str, usize> = BTreeMap::new();
    if !events.is_empty() {
        let notice = Notice {
            at: report.finished_at.clone(),
            hostname: report.host.hostname.clone(),
            machine_id: report.host.machine_id.clone(),
            asset: report
                .asset
                .as_ref()
                .map(|a| a.tags.clone())
                .unwrap_or_default(),
            events,
            failing: state.failing.len(),
            lang: opts.lang,
        };
        for (name, _) in &sinks {
            let q = state.pending.entry(name.to_string()).or_default();
            q.push(notice.clone());
            if q.len() > max_pending {
                let n = q.len() - max_pending;
                q.drain(..n);
                dropped.insert(name, n);
            }
        }
    }
    // queues of sinks no longer configured are dropped
    state
        .pending
        .retain(|k, _| sinks.iter().any(|(n, _)| n == k));
    let save = |state: &State| -> Option<String> {
        serde_json::to_vec_pretty(state)
            .map_err(|e| e.to_string())
            .and_then(|b| crate::state::write_atomic(&path, &b).map_err(|e| e.to_string()))
            .err()
    };
    let save_err = save(&state);
    let max_attempts = cfg.max_attempts.unwrap_or(3).clamp(1, 10);
    for (name, hook) in &sinks {
        let mut sum = SinkSummary::default();
        if let Some(e) = &corrupt {
            sum.error(e.clone());
        }
        if let Some(e) = &save_err {
            sum.error(e.clone());
        }
        if let Some(n) = dropped.get(name) {
            sum.error(format!("{n} undelivered message(s) dropped (max_pending)"));
        }
        let queue = state.pending.get(*name).cloned().unwrap_or_default();
        if queue.is_empty() {
            out.push((summary_name(name), sum));
            continue;
        }
        let (client, url) = match hook_client(hook, opts, "no URL") {
            Ok(c) => c,
            Err(e) => {
                sum.pending = queue.len();
                sum.error(crate::error_text::chain(&e));
                out.push((summary_name(name), sum));
                continue;
            }
        };
        let mut delivered = 0;
        for n in &queue {
            let body = if *name == "slack" {
                slack_payload(n)
            } else {
                webhook_payload(n)
            };
            match deliver(&client, &url, &body, max_attempts, &mut sum) {
                Delivery::Done => {
                    delivered += 1;
                    sum.sent += n.events.len();
                }
                Delivery::Rejected(e) => {
                    delivered += 1;
                    sum.failed += n.events.len();
                    sum.error(format!("message rejected and dropped: {e}"));
                }
                Delivery::Failed(e) => {
                    sum.failed += n.events.len();
                    sum.error(format!("delivery failed, kept for the next run: {e}"));
                    break;
                }
            }
        }
        if let Some(q) = state.pending.get_mut(*name) {
            q.drain(..delivered.min(q.len()));
            sum.pending = q.iter().map(|n| n.events.len()).sum();
        }
        out.push((summary_name(name), sum));
    }
    state.pending.retain(|_, q| !q.is_empty());
    if let Some(e) = save(&state) {
        for (_, s) in out.iter_mut() {
            s.error(e.clone());
        }
    }
    out
}

/// The alert sink: Slack and webhook messages on new failures and fixes, one summary per
/// configured hook. Built from `[alerts]`, the CA bundle for the hooks (`aws.ca_bundle`)
/// and the language of the messages.
pub struct Alerts<'a> {
    cfg: &'a AlertsConfig,
    roots: Roots,
    lang: crate::i18n::Lang,
}

impl<'a> Alerts<'a> {
    /// `None` when no hook is configured (nothing to deliver, no CA bundle parsed).
    pub fn new(
        cfg: &'a AlertsConfig,
        ca_bundle: Option<&Path>,
        lang: crate::i18n::Lang,
    ) -> Option<Alerts<'a>> {
        if cfg.sinks().is_empty() {
            return None;
        }
        Some(Alerts {
            cfg,
            // parsed only when a hook may connect (a few ms for the system bundle)
            roots: roots(ca_bundle),
            lang,
        })
    }
}

impl super::Sink for Alerts<'_> {
    fn name(&self) -> &'static str {
        "alerts"
    }

    fn deliver(&self, report: &Report, ctx: &super::Context<'_>) -> Summaries {
        let opts = Options {
            state_dir: ctx.state_dir,
            roots: &self.roots,
            parameter: ctx.parameter,
            lang: self.lang,
        };
        run(report, self.cfg, &opts)
    }
}

/// Why a hook cannot be reached. The texts are redacted: the URL is the secret.
#[derive(thiserror::Error)]
pub enum HookError {
    #[error("{0}")]
    NoUrl(&'static str),
    #[error("the URL from Parameter Store {parameter}")]
    Parameter {
        parameter: String,
        #[source]
        source: ParameterError,
    },
    #[error("parameter {0} does not hold an http(s) URL")]
    NotUrlParameter(String),
    #[error("not an http(s) URL")]
    NotUrl,
    /// The endpoint or the HTTP client could not be built (the reason redacted).
    #[error("{0}")]
    Client(String),
}
crate::error_text::debug_as_display!(HookError);

/// The hook's URL (inline, or from Parameter Store) and an HTTP client for it; errors are
/// redacted (the URL is the secret). `no_url` is the message when neither is configured.
fn hook_client(
    hook: &HookConfig,
    opts: &Options,
    no_url: &'static str,
) -> Result<(Client, String), HookError> {
    let url = match (&hook.url, &hook.url_parameter) {
        (Some(u), _) => u.0.clone(),
        (None, Some(p)) => {
            let u = (opts.parameter)(p)
                .map_err(|source| HookError::Parameter {
                    parameter: p.clone(),
                    source,
                })?
                .trim()
                .to_string();
            if split_url(&u).is_none() {
                return Err(HookError::NotUrlParameter(p.clone()));
            }
            u
        }
        (None, None) => return Err(HookError::NoUrl(no_url)),
    };
    let (base, _) = split_url(&url).ok_or(HookError::NotUrl)?;
    let ep = Endpoint::parse(base)
        .map_err(|e| HookError::Client(redact(&crate::error_text::chain(&e), &url)))?;
    let client = Client::webhook(&ep, opts.roots)
        .map_err(|e| HookError::Client(redact(&crate::error_text::chain(&e), &url)))?;
    Ok((client, url))
}

/// Posts one prepared payload to a configured hook (`jikimi fleet report --slack`), with
/// the URL handling, redaction and retries of the alert sinks; nothing is queued.
pub fn post(hook: &HookConfig, body: &Value, max_attempts: u32, opts: &Options) -> SinkSummary {
    let mut sum = SinkSummary::default();
    match hook_client(hook, opts, "no URL configured") {
        Err(e) => {
            sum.pending = 1;
            sum.error(crate::error_text::chain(&e));
        }
        Ok((client, url)) => {
            match deliver(&client, &url, body, max_attempts.clamp(1, 10), &mut sum) {
                Delivery::Done => sum.sent = 1,
                Delivery::Rejected(e) | Delivery::Failed(e) => {
                    sum.failed = 1;
                    sum.error(e);
                }
            }
        }
    }
    sum
}

/// CA roots for the hooks: `aws.ca_bundle`, else `AWS_CA_BUNDLE`, else the built-in ones.
pub fn roots(ca_bundle: Option<&Path>) -> Roots {
    match ca_bundle
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("AWS_CA_BUNDLE").map(std::path::PathBuf::from))
    {
        Some(p) => Roots::from_pem_file(&p).unwrap_or_default(),
        None => Roots::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::asff::tests::{report, result};

    #[test]
    fn the_sink_reads_its_section_and_the_url_through_the_context() {
        use crate::sinks::{Context, Sink};
        assert!(
            Alerts::new(&AlertsConfig::default(), None, crate::i18n::Lang::En).is_none(),
            "no hook, no sink"
        );
        let cfg = AlertsConfig {
            slack: Some(HookConfig {
                url: None,
                url_parameter: Some("/jikimi/slack-url".into()),
            }),
            ..Default::default()
        };
        let sink = Alerts::new(&cfg, None, crate::i18n::Lang::En).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let parameter = |name: &str| {
            assert_eq!(name, "/jikimi/slack-url");
            Err(ParameterError::aws("AccessDeniedException: not allowed"))
        };
        let ctx = Context {
            state_dir: dir.path(),
            aws: None,
            parameter: &parameter,
        };
        let sums = sink.deliver(&report(vec![result("A-1", Status::Fail)]), &ctx);
        assert_eq!(sums.len(), 1);
        let (name, s) = &sums[0];
        assert_eq!((*name, s.sent, s.pending), ("alerts_slack", 0, 1));
        assert_eq!(
            s.errors,
            ["the URL from Parameter Store /jikimi/slack-url: AccessDeniedException: not allowed"]
        );
        // the message stays queued for the next run
        let saved: State =
            serde_json::from_slice(&std::fs::read(dir.path().join(STATE_FILE)).unwrap()).unwrap();
        assert_eq!(saved.pending["slack"].len(), 1);
    }

    #[test]
    fn events_only_on_change() {
        let mut failing = BTreeMap::new();
        let r1 = report(vec![
            result("A-1", Status::Fail),
            result("A-2", Status::Pass),
        ]);
        let e = diff(&r1, Severity::High, &mut failing);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].event.as_str(), e[0].check_id.as_str()),
            ("failed", "A-1")
        );
        assert!(
            diff(&r1, Severity::High, &mut failing).is_empty(),
            "unchanged"
        );
        let r_err = report(vec![result("A-1", Status::Error)]);
        assert!(
            diff(&r_err, Severity::High, &mut failing).is_empty(),
            "ERROR proves nothing"
        );
        let r2 = report(vec![result("A-1", Status::Pass)]);
        let e = diff(&r2, Severity::High, &mut failing);
        assert_eq!(e[0].event, "fixed");
        assert!(failing.is_empty());
        // below the threshold: no alert
        assert!(diff(&r1, Severity::Critical, &mut failing).is_empty());
    }

    #[test]
    fn waiver_transitions_alert_once() {
        use crate::waivers::{apply, Waiver, Waivers};
        let w = Waiver {
            check: "A-1".into(),
            hosts: vec![],
            tags: Default::default(),
            reason: "bastion".into(),
            approved_by: "kim".into(),
            expires: crate::time::parse_date("2027-01-10").unwrap(),
            origin: "t:1".into(),
        };
        let ws = Waivers { list: vec![w] };
        let day = |s: &str| crate::time::parse_date(s).unwrap();
        let at = |d: &str| {
            let mut r = report(vec![result("A-1", Status::Fail)]);
            apply(&mut r, &ws, day(d), None);
            r
        };
        let (mut failing, mut expiring) = (BTreeMap::new(), Default::default());
        let mut events = |r: &Report| {
            let mut e = diff(r, Severity::High, &mut failing);
            e.extend(expiring_events(r, Severity::High, &mut expiring));
            e.into_iter().map(|e| e.event).collect::<Vec<_>>()
        };
        // a failure that is waived from the start never alerts
        assert!(events(&at("2026-12-01")).is_empty());
        assert_eq!(events(&at("2026-12-27")), ["waiver_expiring"]);
        assert!(events(&at("2026-12-28")).is_empty(), "announced once");
        let expired = at("2027-01-11");
        assert_eq!(events(&expired), ["waiver_expired"]);
        assert!(title_of(&Notice {
            at: String::new(),
            hostname: "h".into(),
            machine_id: String::new(),
            asset: Default::default(),
            failing: 1,
            events: diff(&expired, Severity::High, &mut BTreeMap::new()),
            lang: crate::i18n::Lang::En,
        })
        .contains("1 waiver expired"));
        // waived again (renewed): said once
        let renewed = Waivers {
            list: vec![Waiver {
                expires: day("2027-06-01"),
                ..ws.list[0].clone()
            }],
        };
        let mut r = report(vec![result("A-1", Status::Fail)]);
        apply(&mut r, &renewed, day("2027-01-12"), None);
        assert_eq!(events(&r), ["waived"]);
        assert!(events(&r).is_empty());
    }

    #[test]
    fn urls_are_redacted_everywhere() {
        let url = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        for msg in [
            format!("io: connection refused to {url}"),
            "bad uri hooks.slack.com/services/T000/B000/XXXXSECRET".to_string(),
            "POST /services/T000/B000/XXXXSECRET failed".to_string(),
            "services/T000/B000/XXXXSECRET".to_string(),
        ] {
            let r = redact(&msg, url);
            assert!(!r.contains("XXXXSECRET"), "{r}");
        }
        assert_eq!(
            split_url("http://127.0.0.1:8080/hook?token=abc"),
            Some(("http://127.0.0.1:8080", "/hook?token=abc"))
        );
        assert!(split_url("ftp://x/y").is_none());
        assert!(split_url("https://user:pw@host/x").is_none());
        assert_eq!(format!("{:?}", Secret(url.into())), "<redacted>");
        let e = crate::config::Config::parse(
            &format!("[alerts.slack]\nurl = \"ftp://{}\"\n", &url[8..]),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("t.toml:2:") && !e.contains("XXXXSECRET"),
            "{e}"
        );
    }

    fn notice(id: &str) -> Notice {
        Notice {
            at: "2026-11-22T16:35:19.140Z".into(),
            hostname: "web-1".into(),
            machine_id: "m".into(),
            asset: BTreeMap::new(),
            events: vec![Event {
                event: "fixed".into(),
                check_id: id.into(),
                title: "t".into(),
                severity: Severity::High,
                status: "PASS".into(),
                reason: None,
            }],
            failing: 0,
            lang: crate::i18n::Lang::En,
        }
    }

    #[test]
    fn defect9_corrupt_state_is_moved_aside_keeps_queued_messages_and_announces_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATE_FILE);
        // a state with a queued "fixed" message and 18 known failures, then damaged
        let mut good = State {
            version: STATE_VERSION,
            ..Default::default()
        };
        for i in 0..18 {
            good.failing.insert(format!("K-{i:02}"), Severity::High);
        }
        good.pending.insert("webhook".into(), vec![notice("FIX-1")]);
        let mut bytes = serde_json::to_vec_pretty(&good).unwrap();
        let cut = bytes.len() - 10;
        bytes.truncate(cut);
        std::fs::write(&path, &bytes).unwrap();

        let (state, why) = load_state(&path).unwrap();
        let why = why.expect("corruption is reported");
        assert!(
            why.contains("moved to") && why.contains("1 undelivered message(s) recovered"),
            "{why}"
        );
        assert_eq!(state.pending["webhook"], vec![notice("FIX-1")]);
        assert!(!path.exists(), "moved aside");
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("alerts-state.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");

        // a run over it: the 18 failures are not re-announced, the queued message is kept
        std::fs::write(&path, &bytes).unwrap();
        let results = (0..18)
            .map(|i| result(&format!("K-{i:02}"), Status::Fail))
            .collect();
        let cfg = AlertsConfig {
            max_attempts: Some(1),
            webhook: Some(HookConfig {
                url: Some(Secret("http://127.0.0.1:9/hook/s3cr3t-hook-path".into())),
                url_parameter: None,
            }),
            ..Default::default()
        };
        let no_param = |_: &str| Err(ParameterError::Unavailable("test"));
        let roots = Roots::default();
        let opts = Options {
            state_dir: dir.path(),
            roots: &roots,
            parameter: &no_param,
            lang: crate::i18n::Lang::En,
        };
        let out = run(&report(results), &cfg, &opts);
        assert_eq!(out.len(), 1);
        let (name, s) = &out[0];
        assert_eq!(*name, "alerts_webhook");
        assert_eq!(s.pending, 1, "{s:?}");
        assert!(s.errors[0].contains("unreadable state"), "{s:?}");
        assert!(s.errors.iter().all(|e| !e.contains("s3cr3t")), "{s:?}");
        let saved: State = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            saved.pending["webhook"].len(),
            1,
            "only the recovered message is queued"
        );
        assert_eq!(saved.pending["webhook"][0].events[0].check_id, "FIX-1");
        assert_eq!(saved.failing.len(), 18, "re-baselined");

        // a state from a newer agent is left alone
        std::fs::write(&path, br#"{"version": 9, "failing": {}, "pending": {}}"#).unwrap();
        assert!(matches!(
            load_state(&path).unwrap_err(),
            StateFileError::Newer { found: 9, .. }
        ));
        assert!(path.exists());
    }

    #[test]
    fn payloads() {
        let n = Notice {
            at: "2026-11-22T16:35:19.140Z".into(),
            hostname: "web-1".into(),
            machine_id: "m".into(),
            asset: [("Env".to_string(), "PROD".to_string())].into(),
            events: vec![Event {
                event: "failed".into(),
                check_id: "SSH-001".into(),
                title: "Root <login>".into(),
                severity: Severity::High,
                status: "FAIL".into(),
                reason: Some("PermitRootLogin yes".into()),
            }],
            failing: 1,
            lang: crate::i18n::Lang::En,
        };
        let s = slack_payload(&n)["text"].as_str().unwrap().to_string();
        assert!(s.starts_with("*Jikimi [PROD] web-1: 1 new failure*"), "{s}");
        assert!(s.contains("Root &lt;login&gt;"), "{s}");
        let w = webhook_payload(&n);
        assert_eq!(w["events"][0]["check_id"], "SSH-001");
        assert_eq!(w["events"][0]["severity"], "high");
    }

    #[test]
    fn korean_messages() {
        let mut n = notice("SSH-001");
        n.lang = crate::i18n::Lang::Ko;
        let slack = slack_payload(&n)["text"].as_str().unwrap().to_string();
        assert!(slack.contains("조치 완료 1건"), "{slack}");
        assert!(slack.contains(":large_green_circle: 조치 완료"), "{slack}");
        assert!(slack.contains("기준 이상 취약 0건"), "{slack}");
        let hook = webhook_payload(&n);
        assert!(
            hook["title"].as_str().unwrap().contains("조치 완료"),
            "{hook}"
        );
        // a Notice queued before the language existed reads back as English
        let old = serde_json::to_value(notice("X-1")).unwrap();
        let mut old = old.as_object().unwrap().clone();
        old.remove("lang");
        let back: Notice = serde_json::from_value(serde_json::Value::Object(old)).unwrap();
        assert_eq!(back.lang, crate::i18n::Lang::En);
    }
}
