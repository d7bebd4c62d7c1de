//! The `jikimi` command line: parses arguments, runs, maps errors to exit codes. The only
//! place that prints.
//!
//! Exit codes: 0 every evaluated check passed, 2 at least one check failed, 1 the run itself
//! failed (bad arguments, unreadable catalog or configuration, output not writable).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the CLI's output layer"
)]

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

mod commands;
use jikimi::catalog::{self, Catalog, Profile};
use jikimi::config::Config;
use jikimi::findings::Severity;
use jikimi::fs::Root;
use jikimi::run::{self, Selection};
use jikimi::sinks;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "jikimi",
    version,
    about = "Jikimi (지킴이): on-host Linux security agent — host facts, a declarative check catalog, findings to sinks",
    long_about = None,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Evaluate the check catalog against this host (or an image with --root).
    Check(Box<CheckArgs>),
    /// Print host facts: OS, CPU, memory, filesystems, processes, listening sockets, accounts.
    Facts(FactsArgs),
    /// Inspect, lint and test the check catalog.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Validate the agent configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Run the bounded filesystem walk alone and print what it found and how fast.
    Walk(FactsArgs),
    /// Inspect the SSH daemon's configuration as sshd itself reads it.
    #[command(subcommand)]
    Sshd(SshdCmd),
    /// Summarise the scan history: newly failed, fixed, still failing, errors, host, trend.
    Report(ReportArgs),
    /// Classify this host as an asset (web, WAS, DB...): the tags and why.
    Classify(ClassifyArgs),
    /// List the waivers (accepted risks) of the configuration and the waivers directory.
    #[command(subcommand)]
    Waivers(commands::waivers::WaiversCmd),
    /// Fix failing checks that have a mechanical fix: diff, apply, verify, roll back; undo.
    Fix(Box<commands::fix::FixArgs>),
    /// Reports for the whole fleet, from the findings every host sent to Security Hub.
    #[command(subcommand)]
    Fleet(jikimi::fleet::cli::FleetCmd),
    /// AWS client diagnostics for the test suites (SigV4 signing of raw requests).
    #[command(subcommand, hide = true)]
    Aws(jikimi::aws::cli::AwsCmd),
}

#[derive(Subcommand)]
enum SshdCmd {
    /// Print the effective configuration as `sshd -T [-C spec]` of OpenSSH 9.2 does
    /// (lowercase `keyword value` lines), without running sshd.
    Effective {
        /// Read the configuration from a mounted image or chroot.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// The main configuration file (inside the root).
        #[arg(long, value_name = "PATH", default_value = jikimi::facts::sshd::DEFAULT_CONFIG)]
        config: String,
        /// Connection to evaluate Match blocks for: user=U,host=H,addr=A,laddr=L,lport=P
        /// (as sshd -C).
        #[arg(long = "match", value_name = "SPEC")]
        conn: Option<String>,
    },
}

#[derive(Args)]
struct ReportArgs {
    /// Period to cover, ending now: a number with s, m, h, d or w.
    #[arg(long, value_name = "PERIOD", default_value = "24h")]
    since: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    format: ReportFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// State directory holding history/ (default from the configuration: /var/lib/jikimi).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Agent configuration file.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum ReportFormat {
    /// Markdown.
    Md,
    /// One self-contained HTML file (inline styles, no scripts or external resources).
    Html,
    Json,
}

fn cmd_report(a: ReportArgs) -> Result<i32> {
    use jikimi::sinks::report;
    let since = report::parse_since(&a.since).map_err(|e| anyhow!(e))?;
    let cfg = jikimi::aws::load_config(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let dir = a.state_dir.clone().unwrap_or_else(|| cfg.state_dir());
    let (records, bad) = jikimi::history::load(&dir.join("history")).map_err(|e| anyhow!(e))?;
    let doc = report::build(&records, bad, since, &a.since, std::time::SystemTime::now())
        .map_err(|e| anyhow!("{}: {e}", dir.join("history").display()))?;
    let text = match a.format {
        ReportFormat::Md => report::markdown(&doc),
        ReportFormat::Html => report::html(&doc),
        ReportFormat::Json => report::json(&doc),
    };
    match &a.output {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print_out(&text)?,
    }
    Ok(0)
}

#[derive(Args)]
struct ClassifyArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Classify a mounted image or chroot (instance tags are then not read).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Agent configuration file (the [asset] section).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Extra rules directory (default from the configuration: /etc/jikimi/classify.d).
    #[arg(long, value_name = "DIR")]
    rules_dir: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct CatalogOpts {
    /// Use the checks in DIR instead of the embedded catalog.
    #[arg(long, value_name = "DIR")]
    catalog: Option<PathBuf>,
    /// Extra checks directory (default from the configuration: /etc/jikimi/checks.d).
    #[arg(long, value_name = "DIR")]
    checks_dir: Option<PathBuf>,
    /// Do not load extra checks from the checks directory.
    #[arg(long)]
    no_extra_checks: bool,
    /// Threshold profile: kisa or cis (default from the configuration, else kisa).
    #[arg(long, value_name = "PROFILE")]
    profile: Option<String>,
}

#[derive(Args)]
struct CheckArgs {
    /// Run one scan and exit (the continuous daemon is the default without it).
    #[arg(long)]
    once: bool,
    /// Scan a mounted image or chroot instead of the live host.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write Prometheus metrics to FILE atomically (node_exporter textfile collector).
    #[arg(long, value_name = "FILE")]
    textfile: Option<PathBuf>,
    /// Daemon: address for /metrics and /healthz (default 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Daemon: seconds between scans (default 3600, from the configuration; at least 60).
    #[arg(long, value_name = "SECS", value_parser = parse_interval)]
    interval: Option<u64>,
    /// Run only these check ids (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    only: Vec<String>,
    /// Skip these check ids (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    skip: Vec<String>,
    /// Evaluate only checks of at least this severity.
    #[arg(long, value_name = "SEVERITY")]
    min_severity: Option<String>,
    /// Leave out the filesystem-wide walks (world-writable, SUID/SGID, unowned files).
    #[arg(long)]
    no_walks: bool,
    /// Agent configuration file.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Colour in the table: auto (only on a terminal, unless NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
    #[command(flatten)]
    cat: CatalogOpts,
    /// Send the findings: securityhub, ssm-compliance, ssm-inventory, ec2-tags, email
    /// (comma-separated; the configuration's `enabled` switches of [securityhub],
    /// [ssm_compliance], [ssm_inventory], [ec2_tags] and [email] do the same).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SINK")]
    submit: Vec<Submit>,
    /// State directory: sink state and scan history (default from the configuration:
    /// /var/lib/jikimi).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    /// AWS Security Finding Format: the findings array Security Hub receives.
    Asff,
    /// OCSF Compliance Finding events (class 2003).
    Ocsf,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum Submit {
    /// AWS Security Hub (BatchImportFindings, delta sync).
    Securityhub,
    /// AWS Systems Manager Compliance (PutComplianceItems).
    SsmCompliance,
    /// The asset tags as SSM Inventory type Custom:JikimiAsset (PutInventory).
    SsmInventory,
    /// The asset tags on the EC2 instance itself, under the [ec2_tags] prefix.
    Ec2Tags,
    /// The report by mail ([email] configuration).
    Email,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
struct FactsArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Read facts from a mounted image or chroot.
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
}

#[derive(Subcommand)]
enum CatalogCmd {
    /// List the checks with severity and references.
    List {
        #[arg(long)]
        json: bool,
        /// Print the Markdown table kept in checks/README.md.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        #[command(flatten)]
        cat: CatalogOpts,
    },
    /// Validate the catalog (ids, fields, references, probes); every error is listed.
    Lint {
        #[command(flatten)]
        cat: CatalogOpts,
    },
    /// Run every fixture host (tests/hosts/*/host.toml) and compare each check's status with
    /// the expected one; also require a passing and a failing fixture for every check.
    Test {
        /// Directory of fixture hosts.
        #[arg(long, value_name = "DIR", default_value = "tests/hosts")]
        fixtures: PathBuf,
        /// Print passing assertions too.
        #[arg(long)]
        verbose: bool,
        #[command(flatten)]
        cat: CatalogOpts,
    },
    /// Print the catalog digest (sha256 of the catalog files).
    Digest {
        #[command(flatten)]
        cat: CatalogOpts,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Parse and validate the configuration file; exit 1 with the reason when invalid.
    Validate {
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

fn parse_interval(s: &str) -> std::result::Result<u64, String> {
    let n: u64 = s.parse().map_err(|e| format!("{e}"))?;
    jikimi::config::check_interval(n)
}

fn load_catalog(opts: &CatalogOpts, cfg: &Config) -> Result<Catalog> {
    let profile: Profile = match &opts.profile {
        Some(p) => p.parse().map_err(|e: String| anyhow!(e))?,
        None => cfg.profile().map_err(|e| anyhow!(e))?,
    };
    let mut sources = match &opts.catalog {
        Some(dir) => catalog::dir_sources(dir, false).map_err(|e| anyhow!("{e}"))?,
        None => catalog::embedded_sources(),
    };
    if !opts.no_extra_checks {
        let dir = opts.checks_dir.clone().unwrap_or_else(|| cfg.checks_dir());
        let explicit = opts.checks_dir.is_some();
        sources.extend(catalog::dir_sources(&dir, !explicit).map_err(|e| anyhow!("{e}"))?);
    }
    catalog::load(&sources, profile).map_err(|e| anyhow!("{e}"))
}

fn open_root(root: Option<&Path>) -> Result<Root> {
    let dir = root.unwrap_or(Path::new("/"));
    Root::new(dir).with_context(|| format!("cannot open scan root {}", dir.display()))
}

/// Writes an output file the user named (see `jikimi::state::write_file`: atomic for regular
/// files, never renamed over a device such as /dev/null or a FIFO).
fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    jikimi::state::write_file(path, data, 0o644).map_err(|e| anyhow!(e))
}

/// Configuration, catalog, selection and classification rules for a check run (also rebuilt
/// by the daemon on SIGHUP, so a broken rules file fails the start or keeps the old setup).
fn setup(a: &CheckArgs) -> Result<jikimi::daemon::Setup> {
    let mut cfg = jikimi::aws::load_config(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let catalog = load_catalog(&a.cat, &cfg)?;
    cfg.waivers = jikimi::waivers::load_for(&cfg, &catalog).map_err(|e| anyhow!(e))?;
    let min_severity = match &a.min_severity {
        Some(s) => Some(s.parse::<Severity>().map_err(|e| anyhow!(e))?),
        None => cfg.min_severity().map_err(|e| anyhow!(e))?,
    };
    let mut skip = a.skip.clone();
    skip.extend(cfg.agent.skip.iter().cloned());
    let selection = Selection {
        only: a.only.clone(),
        skip,
        min_severity,
        no_walks: a.no_walks,
    };
    // fail early on unknown ids rather than at the first scan
    run::select(&catalog, &selection).map_err(|e| anyhow!(e))?;
    let rules = jikimi::classify::rules_for(&cfg.asset, None).map_err(|e| anyhow!(e))?;
    Ok(jikimi::daemon::Setup {
        config: cfg,
        catalog,
        selection,
        rules,
    })
}

fn cmd_check(a: CheckArgs) -> Result<i32> {
    let submit = jikimi::daemon::Submit {
        securityhub: a.submit.contains(&Submit::Securityhub),
        ssm_compliance: a.submit.contains(&Submit::SsmCompliance),
        ssm_inventory: a.submit.contains(&Submit::SsmInventory),
        ec2_tags: a.submit.contains(&Submit::Ec2Tags),
        email: a.submit.contains(&Submit::Email),
    };
    if !a.once {
        let opts = jikimi::daemon::Options {
            root: a.root.clone(),
            listen: a.listen.clone(),
            textfile: a.textfile.clone(),
            interval_secs: a.interval,
            state_dir: a.state_dir.clone(),
            submit,
        };
        jikimi::daemon::run(opts, &|| setup(&a).map_err(|e| format!("{e:#}")))
            .map_err(|e| anyhow!(e))?;
        return Ok(0);
    }
    let s = setup(&a)?;
    let root = open_root(a.root.as_deref())?;
    let mut counters = sinks::prometheus::Counters::default();
    let textfile = a.textfile.as_ref().or(s.config.daemon.textfile.as_ref());
    let mut out = run::pipeline::Outputs {
        submit,
        format_needs: match a.format {
            Format::Asff => sinks::remote::IdentityNeed::Required,
            Format::Ocsf => sinks::remote::IdentityNeed::Optional,
            _ => sinks::remote::IdentityNeed::None,
        },
        state_dir: a.state_dir.as_deref(),
        textfile: textfile.map(|p| p.as_path()),
        daemon: false,
        record_deps: false,
        counters: &mut counters,
        extra_metrics: "",
        log: &|m| eprintln!("jikimi: {m}"),
    };
    let scope = run::pipeline::Scope::Full;
    let o = run::pipeline::pipeline(&s, &root, scope, &mut out, &|| false)?;
    let (report, identity) = (o.report, o.identity);
    let text = match a.format {
        Format::Asff => match &identity {
            Some(id) => sinks::asff::render(&sinks::asff::findings(&report, id)),
            None => bail!("--format asff needs the AWS identity"),
        },
        Format::Ocsf => sinks::ocsf::render(&sinks::ocsf::events(&report, identity.as_ref())),
        Format::Json => sinks::json::render(&report),
        Format::Table => {
            let color = match a.color {
                ColorWhen::Always => true,
                ColorWhen::Never => false,
                ColorWhen::Auto => {
                    a.output.is_none()
                        && std::io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none()
                }
            };
            sinks::table::render(&report, color)
        }
    };
    match &a.output {
        Some(p) => write_atomic(p, text.as_bytes())?,
        None => print_out(&text)?,
    }
    Ok(report.exit_code())
}

fn print_out(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // `jikimi ... | head` closes the pipe early: not a failure of the run.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("cannot write to standard output"),
    }
}

fn cmd_facts(a: FactsArgs) -> Result<i32> {
    let root = open_root(a.root.as_deref())?;
    let facts = jikimi::facts::Facts::new(&root);
    let all = jikimi::facts::summary::collect(&facts);
    if a.json {
        print_out(&(serde_json::to_string_pretty(&all)? + "\n"))?;
    } else {
        print_out(&jikimi::facts::summary::render(&all))?;
    }
    Ok(0)
}

fn cmd_walk(a: FactsArgs) -> Result<i32> {
    let root = open_root(a.root.as_deref())?;
    let mut facts = jikimi::facts::Facts::new(&root);
    facts.walk_limits = Config::default().walk_limits();
    let w = facts.walk().map_err(|e| anyhow!("{e}"))?;
    let secs = w.elapsed.as_secs_f64().max(1e-9);
    let cats = [
        ("world_writable", &w.world_writable),
        (
            "world_writable_dirs_no_sticky",
            &w.world_writable_dirs_no_sticky,
        ),
        ("suid_sgid", &w.suid_sgid),
        ("unowned", &w.unowned),
        ("dev_regular_files", &w.dev_regular_files),
    ];
    if a.json {
        let mut found = serde_json::Map::new();
        for (k, f) in cats {
            found.insert(
                k.into(),
                serde_json::json!({
                    "count": f.count,
                    "paths": f.items.iter().map(|i| &i.0).collect::<Vec<_>>(),
                }),
            );
        }
        let v = serde_json::json!({
            "roots": w.roots, "entries": w.entries, "elapsed_ms": secs * 1000.0,
            "entries_per_sec": (w.entries as f64 / secs).round(), "unreadable_dirs": w.unreadable,
            "too_deep_dirs": w.too_deep, "mounts_skipped": w.mounts_skipped_paths,
            "mounts_entered": w.mounts_entered, "incomplete": w.incomplete(),
            "truncated": w.truncated, "found": found,
        });
        print_out(&(serde_json::to_string_pretty(&v)? + "\n"))?;
    } else {
        let mut s = format!(
            "walked {} entries under {} in {:.0} ms ({:.0} entries/s){}\n",
            w.entries,
            w.roots.join(", "),
            secs * 1000.0,
            w.entries as f64 / secs,
            w.incomplete()
                .map(|t| format!(" — {t}"))
                .unwrap_or_default()
        );
        for (k, f) in cats {
            s += &format!("{k:<30} {}\n", f.count);
        }
        print_out(&s)?;
    }
    Ok(0)
}

fn cmd_classify(a: ClassifyArgs) -> Result<i32> {
    let cfg = jikimi::aws::load_config(a.config.as_deref()).map_err(|e| anyhow!(e))?;
    let rules =
        jikimi::classify::rules_for(&cfg.asset, a.rules_dir.as_deref()).map_err(|e| anyhow!(e))?;
    let root = open_root(a.root.as_deref())?;
    let facts = jikimi::facts::Facts::new(&root);
    let prefix = cfg.ec2_tags.prefix();
    let mut asset = jikimi::classify::classify(&rules, &facts, &cfg.asset, prefix);
    // Instance tags describe this host, not an image.
    if a.root.is_none() && cfg.asset.instance_tags != Some(false) {
        let ep =
            jikimi::aws::imds::Imds::endpoint_from(cfg.aws.imds, cfg.aws.imds_endpoint.as_deref());
        if let Some(tags) = jikimi::aws::imds::Imds::new(ep.as_deref())
            .ok()
            .and_then(|i| i.tags().ok())
        {
            asset.apply_instance_tags(&tags, prefix);
        }
    }
    if a.json {
        print_out(&(serde_json::to_string_pretty(&asset)? + "\n"))?;
    } else {
        print_out(&asset.render())?;
    }
    Ok(0)
}

fn cmd_catalog(c: CatalogCmd) -> Result<i32> {
    let cfg = Config::default();
    match c {
        CatalogCmd::List {
            json,
            markdown,
            cat,
        } => {
            let catalog = load_catalog(&cat, &cfg)?;
            if markdown {
                print_out(&catalog::markdown(&catalog))?;
            } else if json {
                let v: Vec<_> = catalog
                    .checks
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "id": c.id, "title": c.title, "area": c.area,
                            "severity": c.severity, "references": c.references,
                            "platforms": c.platforms, "walk": c.walk, "origin": c.origin,
                        })
                    })
                    .collect();
                print_out(&(serde_json::to_string_pretty(&v)? + "\n"))?;
            } else {
                let mut s = String::new();
                for c in &catalog.checks {
                    s += &format!(
                        "{:<12} {:<8} {:<10} {} [{}]\n",
                        c.id,
                        c.severity.as_str(),
                        c.area,
                        c.title,
                        c.references.flat().join(", ")
                    );
                }
                s += &format!(
                    "{} checks, digest {}\n",
                    catalog.checks.len(),
                    catalog.digest
                );
                print_out(&s)?;
            }
        }
        CatalogCmd::Lint { cat } => {
            let mut n = 0;
            for p in [Profile::Kisa, Profile::Cis] {
                let opts = CatalogOpts {
                    profile: Some(p.as_str().into()),
                    ..cat.clone()
                };
                n = load_catalog(&opts, &cfg)?.checks.len();
            }
            print_out(&format!("catalog OK: {n} checks (profiles kisa and cis)\n"))?;
        }
        CatalogCmd::Test {
            fixtures,
            verbose,
            cat,
        } => {
            let fx = catalog::fixtures::load_all(&fixtures).map_err(|e| anyhow!(e))?;
            if fx.is_empty() {
                bail!(
                    "no fixture hosts (*/host.toml) under {}",
                    fixtures.display()
                );
            }
            let work = std::env::temp_dir().join(format!("jikimi-fixtures-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&work);
            let build = |p: Profile| {
                let opts = CatalogOpts {
                    profile: Some(p.as_str().into()),
                    no_extra_checks: true,
                    ..cat.clone()
                };
                load_catalog(&opts, &cfg).map_err(|e| format!("{e:#}"))
            };
            let lines = catalog::fixtures::run_all(&fixtures, &fx, &build, &work);
            let _ = std::fs::remove_dir_all(&work);
            let lines = lines.map_err(|e| anyhow!(e))?;
            let mut out = String::new();
            let (mut pass, mut fail) = (0, 0);
            for l in &lines {
                if l.ok {
                    pass += 1;
                    if verbose {
                        out += &format!("ok   {}\n", l.text);
                    }
                } else {
                    fail += 1;
                    out += &format!("FAIL {}\n", l.text);
                }
            }
            out += &format!(
                "catalog test: {} fixture hosts\n{pass} passed, {fail} failed\n",
                fx.len()
            );
            print_out(&out)?;
            return Ok(if fail == 0 { 0 } else { 1 });
        }
        CatalogCmd::Digest { cat } => {
            print_out(&(load_catalog(&cat, &cfg)?.digest + "\n"))?;
        }
    }
    Ok(0)
}

fn cmd_sshd(c: SshdCmd) -> Result<i32> {
    match c {
        SshdCmd::Effective { root, config, conn } => {
            if !config.starts_with('/') {
                bail!("--config {config}: must be an absolute path inside the root");
            }
            let root = open_root(root.as_deref())?;
            let (text, about) =
                jikimi::facts::sshd::effective_report(&root, &config, conn.as_deref()).map_err(
                    |e| match e {
                        jikimi::facts::sshd::SshdError::Fatal(m) => anyhow!("{config}: {m}"),
                        e => anyhow!("{}", e.located()),
                    },
                )?;
            // Standard output stays byte-compatible with `sshd -T`.
            eprintln!("jikimi: sshd semantics: {about}");
            print_out(&text)?;
        }
    }
    Ok(0)
}

/// With `JIKIMI_STATS=1`, prints wall time and the peak resident set (`VmHWM` of this
/// process's own memory map, which unlike rusage does not count the parent's image before
/// exec) to standard error. Used by the benchmark.
fn print_stats(start: std::time::Instant) {
    if std::env::var_os("JIKIMI_STATS").is_none() {
        return;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next())
            .unwrap_or("0")
            .to_string()
    };
    eprintln!(
        "jikimi-stats: wall_ms={:.3} vm_hwm_kib={} vm_rss_kib={}",
        start.elapsed().as_secs_f64() * 1000.0,
        field("VmHWM:"),
        field("VmRSS:")
    );
}

fn main() {
    let start = std::time::Instant::now();
    let cli = Cli::parse();
    let res = match cli.cmd {
        Cmd::Check(a) => cmd_check(*a),
        Cmd::Facts(a) => cmd_facts(a),
        Cmd::Catalog(c) => cmd_catalog(c),
        Cmd::Walk(a) => cmd_walk(a),
        Cmd::Sshd(c) => cmd_sshd(c),
        Cmd::Report(a) => cmd_report(a),
        Cmd::Classify(a) => cmd_classify(a),
        Cmd::Waivers(c) => commands::waivers::run(c),
        Cmd::Fix(a) => commands::fix::run(*a),
        Cmd::Fleet(c) => jikimi::fleet::cli::run(c).map_err(|e| anyhow!(e)),
        Cmd::Aws(c) => jikimi::aws::cli::run(c).map_err(|e| anyhow!(e)),
        Cmd::Config(ConfigCmd::Validate { config }) => jikimi::aws::load_config(config.as_deref())
            .map_err(|e| anyhow!(e))
            .and_then(|cfg| commands::waivers::validate(&cfg))
            .map(|_| {
                println!(
                    "configuration OK: {}",
                    config
                        .as_deref()
                        .unwrap_or(Path::new(jikimi::config::DEFAULT_PATH))
                        .display()
                );
                0
            }),
    };
    print_stats(start);
    match res {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("jikimi: error: {e:#}");
            std::process::exit(1);
        }
    }
}
