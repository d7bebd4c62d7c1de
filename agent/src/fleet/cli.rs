//! `jikimi fleet report`: reads the fleet's findings from Security Hub, builds the report
//! ([`super::build`]), writes it, and delivers it by mail and to the Slack or webhook hooks
//! configured in `[email]` and `[alerts]`.

use super::{build_from, render, Params};
use crate::aws::securityhub_read::{self, Query};
use crate::aws::Session;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(Subcommand, Debug)]
pub enum FleetCmd {
    /// One report for the whole fleet from Security Hub: totals, silent hosts, newly failed
    /// and fixed checks, top failing checks, worst hosts, breakdown by asset tags.
    Report(ReportArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Md,
    Html,
    Json,
    /// KISA form (Markdown): per KISA item, the hosts 양호 / 취약 / N/A, 취약 hosts named.
    Kisa,
    /// The KISA form as one self-contained HTML page.
    KisaHtml,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The window: newly failed and fixed within it, trend against its start (s, m, h, d, w).
    #[arg(long, default_value = "24h")]
    pub since: String,
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Write the report here (atomically) instead of standard output.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Agent configuration (AWS access, `[email]`, `[alerts]`); `ssm:/name` reads Parameter
    /// Store.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Region to read (repeatable; default `aws.region`, else AWS_REGION). Name the
    /// aggregation region to see every linked region and account.
    #[arg(long = "region")]
    pub regions: Vec<String>,
    /// Account whose findings to read (default `aws.account_id`); `all`: every account the
    /// credentials see (an aggregation region's administrator account).
    #[arg(long)]
    pub account: Option<String>,
    /// Read findings updated within this period (hosts quiet for longer drop out).
    #[arg(long, default_value = "30d")]
    pub lookback: String,
    /// A host is silent when its newest LastObservedAt is older than this (default: two
    /// times the longer of `daemon.interval_secs` and `securityhub.refresh_interval_secs`,
    /// since an unchanged finding is only re-sent at the refresh interval).
    #[arg(long)]
    pub silent_after: Option<String>,
    /// Report time (RFC 3339) instead of the clock: reproducible output for tests and for
    /// re-rendering a past report from saved findings.
    #[arg(long)]
    pub now: Option<String>,
    /// Read findings from this JSON file (an array, or GetFindings pages) instead of
    /// Security Hub.
    #[arg(long)]
    pub findings: Option<PathBuf>,
    /// Mail the report (HTML, with the Markdown as its text alternative) with the `[email]`
    /// settings.
    #[arg(long)]
    pub mail: bool,
    /// Post a summary to `[alerts.slack]`.
    #[arg(long)]
    pub slack: bool,
    /// Post the JSON report to `[alerts.webhook]`.
    #[arg(long)]
    pub webhook: bool,
    #[command(flatten)]
    pub lang: crate::i18n::LangArgs,
}

/// Why `jikimi fleet report` failed.
#[derive(thiserror::Error)]
pub enum FleetError {
    /// `--since`, `--lookback` or `--silent-after` is not a period.
    #[error("--{flag}: {message}")]
    Period { flag: &'static str, message: String },
    #[error("--now `{0}` is not an RFC 3339 time")]
    Now(String),
    #[error("--account `{0}` is neither a 12-digit account id nor `all`")]
    Account(String),
    #[error("no region: pass --region or set aws.region")]
    NoRegion,
    /// The configuration could not be loaded (its message names the file or parameter).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The catalog (titles and KISA items of the checks) could not be loaded.
    #[error(transparent)]
    Catalog(#[from] FleetCatalogError),
    /// Reading findings from Security Hub failed (session, credentials, API).
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    #[error("{}: {source}", path.display())]
    ReadFindings {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    ParseFindings {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// `--output` could not be written (the message names the file).
    #[error("{0}")]
    Output(#[source] crate::state::StateError),
    #[error("standard output: {0}")]
    Stdout(#[source] std::io::Error),
    /// `--mail`, `--slack` or `--webhook` delivered nothing: one entry per sink.
    #[error("delivery failed: {}", .0.join(" | "))]
    Delivery(Vec<String>),
}
crate::error_text::debug_as_display!(FleetError);

fn period(s: &str, flag: &'static str) -> Result<Duration, FleetError> {
    crate::sinks::report::parse_since(s).map_err(|e| FleetError::Period {
        flag,
        message: e.to_string(),
    })
}

/// Hands each element of a JSON array to a callback as it is parsed (one element in memory
/// at a time, not the whole file as a `Value`).
struct EachElement<'a>(&'a mut dyn FnMut(serde_json::Value));

impl<'de> serde::de::Visitor<'de> for EachElement<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            (self.0)(v);
        }
        Ok(())
    }
}

/// Findings from a file (an array of findings, or of GetFindings replies) into `each`.
fn from_file(
    p: &std::path::Path,
    each: &mut dyn FnMut(serde_json::Value),
) -> Result<(), FleetError> {
    use serde::Deserializer;
    let b = std::fs::read(p).map_err(|source| FleetError::ReadFindings {
        path: p.to_path_buf(),
        source,
    })?;
    let mut de = serde_json::Deserializer::from_slice(&b);
    de.deserialize_seq(EachElement(&mut |x| match x {
        serde_json::Value::Object(mut m) if m.get("Findings").is_some_and(|f| f.is_array()) => {
            if let Some(serde_json::Value::Array(f)) = m.remove("Findings") {
                f.into_iter().for_each(&mut *each);
            }
        }
        other => each(other),
    }))
    .and_then(|_| de.end())
    .map_err(|source| FleetError::ParseFindings {
        path: p.to_path_buf(),
        source,
    })
}

fn slack_esc(s: &str) -> String {
    crate::sinks::asff::one_line(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Slack message: the headline numbers and the lists, shortened.
pub fn slack_text(r: &super::FleetReport) -> String {
    let mut t = format!("*{}*", slack_esc(&render::subject(r)));
    let names = |v: &[String]| {
        let mut s = v
            .iter()
            .take(10)
            .map(|x| slack_esc(x))
            .collect::<Vec<_>>()
            .join(", ");
        if v.len() > 10 {
            s += &format!(" … and {} more", v.len() - 10);
        }
        s
    };
    if !r.silent_hosts.is_empty() {
        let v: Vec<String> = r.silent_hosts.iter().map(|h| h.hostname.clone()).collect();
        t += &format!(
            "\n:warning: {}: {}",
            r.lang.t().fleet.silent_label,
            names(&v)
        );
    }
    for (mark, groups) in [
        (
            format!(":red_circle: {}", r.lang.t().fleet.new_label),
            &r.newly_failed,
        ),
        (
            format!(":large_green_circle: {}", r.lang.t().fixed),
            &r.fixed,
        ),
    ] {
        for g in groups.iter().take(10) {
            t += &format!(
                "\n{mark} [{}] `{}` {}: {}",
                g.severity.as_str().to_uppercase(),
                slack_esc(&g.check_id).replace('`', "'"),
                slack_esc(&g.title),
                names(&g.hosts)
            );
        }
    }
    t
}

/// A line on standard error (delivery summaries, warnings).
fn say(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// The catalog (embedded and the checks directory): check titles in the report's language
/// and the KISA items of each check (findings carry neither).
fn fleet_catalog(
    cfg: &crate::config::Config,
) -> Result<Vec<crate::catalog::Check>, FleetCatalogError> {
    let mut sources = crate::catalog::embedded_sources();
    sources.extend(crate::catalog::dir_sources(&cfg.checks_dir(), true)?);
    let profile = cfg.profile().map_err(FleetCatalogError::Profile)?;
    Ok(crate::catalog::load(&sources, profile)?.checks)
}

/// Why the fleet report's catalog could not be loaded.
#[derive(thiserror::Error)]
pub enum FleetCatalogError {
    /// The checks directory (the error names it).
    #[error(transparent)]
    ChecksDir(#[from] crate::catalog::CatalogError),
    #[error("agent.profile: {0}")]
    Profile(crate::catalog::UnknownProfile),
    /// The catalog's problems, each with its file and line.
    #[error(transparent)]
    Load(#[from] crate::catalog::CatalogErrors),
}
crate::error_text::debug_as_display!(FleetCatalogError);

/// The fleet's KISA form from the active findings.
fn kisa_form_text(
    input: &super::Input,
    catalog: &[crate::catalog::Check],
    p: &Params,
    a: &ReportArgs,
) -> String {
    use crate::findings::Status;
    use crate::kisa;
    let obs: Vec<kisa::FleetObs> = input
        .observations()
        .filter(|o| o.active)
        .map(|o| kisa::FleetObs {
            hostname: o.hostname.clone(),
            check_id: o.check_id.clone(),
            status: match o.state {
                super::State::Passed => Status::Pass,
                super::State::Failed => Status::Fail,
                super::State::Waived => Status::Waived,
                super::State::NotAvailable => Status::NotApplicable,
            },
        })
        .collect();
    let refs = kisa::refs_of(catalog);
    let rows = kisa::fleet_rows(a.lang.kisa_edition, &obs, &refs);
    let hosts: std::collections::BTreeSet<&str> = obs.iter().map(|o| o.hostname.as_str()).collect();
    let hd = kisa::FleetHeader {
        generated_at: crate::time::rfc3339(std::time::UNIX_EPOCH + Duration::from_millis(p.now_ms)),
        source: p.scope.clone(),
        hosts: hosts.len(),
    };
    if a.format == Format::Kisa {
        kisa::fleet_markdown(&hd, a.lang.kisa_edition, &rows)
    } else {
        kisa::fleet_html(&hd, a.lang.kisa_edition, &rows)
    }
}

pub fn run(cmd: FleetCmd) -> Result<i32, FleetError> {
    match cmd {
        FleetCmd::Report(a) => report(a),
    }
}

fn report(a: ReportArgs) -> Result<i32, FleetError> {
    let since = period(&a.since, "since")?;
    let lookback = period(&a.lookback, "lookback")?.max(since);
    let cfg = crate::config::Config::load_from(a.config.as_deref())?;
    let now = match &a.now {
        Some(s) => crate::time::parse_rfc3339(s).ok_or_else(|| FleetError::Now(s.clone()))?,
        None => SystemTime::now(),
    };
    let silent_after = match &a.silent_after {
        Some(s) => period(s, "silent-after")?,
        None => {
            let scan = Duration::from_secs(cfg.daemon.interval_secs.unwrap_or(3600));
            2 * scan.max(cfg.securityhub.refresh_interval())
        }
    };
    let account = match a.account.as_deref() {
        Some("all") => None,
        Some(x) if x.len() == 12 && x.bytes().all(|b| b.is_ascii_digit()) => Some(x.to_string()),
        Some(x) => return Err(FleetError::Account(x.to_string())),
        None => cfg.aws.account_id.clone(),
    };
    let mut regions = a.regions.clone();
    if regions.is_empty() {
        let r = cfg
            .aws
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .filter(|r| !r.is_empty());
        regions.extend(r);
    }
    regions.sort();
    regions.dedup();
    let mut input = super::Input::default();
    let mut foreign = 0usize;
    let scope = match &a.findings {
        Some(p) => {
            from_file(p, &mut |f| {
                if securityhub_read::is_jikimi(&f, account.as_deref()) {
                    input.add(&f);
                } else {
                    foreign += 1;
                }
            })?;
            if foreign > 0 {
                say(&format!(
                    "jikimi: {}: {foreign} finding(s) that are not Jikimi's were ignored",
                    p.display()
                ));
            }
            format!("findings from {}", p.display())
        }
        None => {
            if regions.is_empty() {
                return Err(FleetError::NoRegion);
            }
            let session = Session::new(&cfg.aws).map_err(FleetError::Aws)?;
            let q = Query {
                account_id: account.clone(),
                updated_from: crate::time::rfc3339(now - lookback),
                updated_to: crate::time::rfc3339(now),
            };
            for r in &regions {
                let pages = securityhub_read::read(&session, r, &q, &mut |f| input.add(&f))
                    .map_err(|e| FleetError::Aws(e.into()))?;
                if pages.foreign > 0 {
                    say(&format!(
                        "jikimi: {r}: {} finding(s) that are not Jikimi's were ignored",
                        pages.foreign
                    ));
                }
            }
            let who = account
                .as_deref()
                .map_or("every visible account".to_string(), |a| {
                    format!("account {a}")
                });
            format!("{who}, {}", regions.join(", "))
        }
    };
    let p = Params {
        now_ms: crate::time::unix_ms(now),
        since_ms: since.as_millis() as u64,
        since_label: a.since.trim().to_string(),
        silent_after_ms: silent_after.as_millis() as u64,
        scope,
    };
    let kisa_form = matches!(a.format, Format::Kisa | Format::KisaHtml);
    let lang = a.lang.resolve(cfg.report.lang, kisa_form);
    let catalog = fleet_catalog(&cfg)?;
    let kisa_text = kisa_form.then(|| kisa_form_text(&input, &catalog, &p, &a));
    let mut rep = build_from(input, &p);
    rep.lang = lang;
    if lang != crate::i18n::Lang::En {
        let texts = crate::i18n::CheckTexts::new(&catalog);
        rep.retitle(&|id| texts.title(id, lang).map(str::to_string));
    }
    let text = match (a.format, kisa_text) {
        (_, Some(k)) => k,
        (Format::Html, _) => render::html(&rep),
        (Format::Json, _) => render::json(&rep),
        _ => render::markdown(&rep),
    };
    match &a.output {
        Some(path) => {
            crate::state::write_atomic(path, text.as_bytes()).map_err(FleetError::Output)?
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(FleetError::Stdout)?;
        }
    }
    let parameter = |name: &str| {
        crate::aws::ssm::read_parameter(&cfg.aws, name).map_err(crate::sinks::ParameterError::aws)
    };
    let mut failed = Vec::new();
    let mut sums = Vec::new();
    if a.mail {
        let s = crate::sinks::email::send_text(
            &cfg.email,
            &parameter,
            &render::subject(&rep),
            &render::markdown(&rep),
            Some(&render::html(&rep)),
        );
        sums.push(("email", s));
    }
    // `post` keeps no state: nothing is written to the state directory.
    let state_dir = cfg.state_dir();
    let roots = crate::sinks::alerts::roots(cfg.aws.ca_bundle.as_deref());
    let opts = crate::sinks::alerts::Options {
        state_dir: &state_dir,
        roots: &roots,
        parameter: &parameter,
        lang: rep.lang,
    };
    let attempts = cfg.alerts.max_attempts.unwrap_or(3);
    for (on, name, hook) in [
        (a.slack, "slack", &cfg.alerts.slack),
        (a.webhook, "webhook", &cfg.alerts.webhook),
    ] {
        if !on {
            continue;
        }
        let Some(hook) = hook else {
            failed.push(format!(
                "{name}: not configured: set [alerts.{name}] url or url_parameter"
            ));
            continue;
        };
        let body = if name == "slack" {
            serde_json::json!({ "text": slack_text(&rep) })
        } else {
            serde_json::json!({
                "source": "jikimi",
                "kind": "fleet_report",
                "agent_version": env!("CARGO_PKG_VERSION"),
                "title": render::subject(&rep),
                "report": rep,
            })
        };
        sums.push((
            name,
            crate::sinks::alerts::post(hook, &body, attempts, &opts),
        ));
    }
    for (name, s) in &sums {
        say(&s.line(name));
        if s.sent == 0 {
            failed.push(format!("{name}: {}", s.errors.join("; ")));
        }
    }
    if failed.is_empty() {
        Ok(0)
    } else {
        Err(FleetError::Delivery(failed))
    }
}
