//! The command line of `jikimi`: every clap definition. Parsing only: the bodies are in
//! `commands/`, dispatch is in main.rs.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "jikimi",
    version,
    about = "Jikimi (지킴이): on-host Linux security agent — host facts, a declarative check catalog, findings to sinks",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
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
    Waivers(WaiversCmd),
    /// Fix failing checks that have a mechanical fix: diff, apply, verify, roll back; undo.
    Fix(Box<FixArgs>),
    /// Reports for the whole fleet, from the findings every host sent to Security Hub.
    #[command(subcommand)]
    Fleet(jikimi::fleet::cli::FleetCmd),
    /// AWS client diagnostics for the test suites (SigV4 signing of raw requests).
    #[command(subcommand, hide = true)]
    Aws(jikimi::aws::cli::AwsCmd),
}

#[derive(Subcommand)]
pub enum SshdCmd {
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
pub struct ReportArgs {
    /// Period to cover, ending now: a number with s, m, h, d or w.
    #[arg(long, value_name = "PERIOD", default_value = "24h")]
    pub since: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Md)]
    pub format: ReportFormat,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// State directory holding history/ (default from the configuration: /var/lib/jikimi).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Agent configuration file.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub lang: jikimi::i18n::LangArgs,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    /// Markdown.
    Md,
    /// One self-contained HTML file (inline styles, no scripts or external resources).
    Html,
    Json,
    /// The latest scan in KISA form (Markdown): one row per KISA item, 양호/취약/N/A.
    Kisa,
    /// The KISA form as one self-contained HTML file.
    KisaHtml,
}

#[derive(Args)]
pub struct ClassifyArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Classify a mounted image or chroot (instance tags are then not read).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Agent configuration file (the [asset] section).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Extra rules directory (default from the configuration: /etc/jikimi/classify.d).
    #[arg(long, value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub struct CatalogOpts {
    /// Use the checks in DIR instead of the embedded catalog.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Extra checks directory (default from the configuration: /etc/jikimi/checks.d).
    #[arg(long, value_name = "DIR")]
    pub checks_dir: Option<PathBuf>,
    /// Do not load extra checks from the checks directory.
    #[arg(long)]
    pub no_extra_checks: bool,
    /// Threshold profile: kisa or cis (default from the configuration, else kisa).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Run one scan and exit (the continuous daemon is the default without it).
    #[arg(long)]
    pub once: bool,
    /// Scan a mounted image or chroot instead of the live host.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the output to FILE (atomically) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write Prometheus metrics to FILE atomically (node_exporter textfile collector).
    #[arg(long, value_name = "FILE")]
    pub textfile: Option<PathBuf>,
    /// Daemon: address for /metrics and /healthz (default 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Daemon: seconds between scans (default 3600, from the configuration; at least 60).
    #[arg(long, value_name = "SECS", value_parser = parse_interval)]
    pub interval: Option<u64>,
    /// Run only these check ids (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub only: Vec<String>,
    /// Skip these check ids (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub skip: Vec<String>,
    /// Evaluate only checks of at least this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<String>,
    /// Leave out the filesystem-wide walks (world-writable, SUID/SGID, unowned files).
    #[arg(long)]
    pub no_walks: bool,
    /// Agent configuration file.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Colour in the table: auto (only on a terminal, unless NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    #[command(flatten)]
    pub cat: CatalogOpts,
    /// Send the findings: securityhub, ssm-compliance, ssm-inventory, ec2-tags, email
    /// (comma-separated; the configuration's `enabled` switches of [securityhub],
    /// [ssm_compliance], [ssm_inventory], [ec2_tags] and [email] do the same).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "SINK")]
    pub submit: Vec<Submit>,
    /// State directory: sink state and scan history (default from the configuration:
    /// /var/lib/jikimi).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(flatten)]
    pub lang: jikimi::i18n::LangArgs,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    /// AWS Security Finding Format: the findings array Security Hub receives.
    Asff,
    /// OCSF Compliance Finding events (class 2003).
    Ocsf,
    /// KISA form (Markdown): one row per KISA item, 양호/취약/N/A, checks and evidence.
    Kisa,
    /// KISA form as one self-contained HTML file.
    KisaHtml,
}

#[derive(Copy, Clone, ValueEnum, PartialEq, Eq)]
pub enum Submit {
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
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Args)]
pub struct FactsArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Read facts from a mounted image or chroot.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum CatalogCmd {
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
pub enum ConfigCmd {
    /// Parse and validate the configuration file; exit 1 with the reason when invalid.
    Validate {
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum WaiversCmd {
    /// Each waiver with its state (active, expiring within 14 days, expired), by expiry.
    List(WaiversListArgs),
}

#[derive(Args)]
pub struct WaiversListArgs {
    /// Only expired waivers.
    #[arg(long, conflicts_with = "expiring")]
    pub expired: bool,
    /// Only waivers expiring within 14 days.
    #[arg(long)]
    pub expiring: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Agent configuration file (or ssm:/parameter).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Waivers directory (default from the configuration: /etc/jikimi/waivers.d).
    #[arg(long, value_name = "DIR")]
    pub waivers_dir: Option<PathBuf>,
    #[command(flatten)]
    pub cat: CatalogOpts,
}

#[derive(Args)]
pub struct FixArgs {
    /// Fix only these check ids (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub only: Vec<String>,
    /// Fix only checks of at least this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<String>,
    /// Fix a mounted image or chroot instead of the live host.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Show what would change and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking (needed when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Restore the files a past run changed, byte for byte.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["list", "dry_run", "only"])]
    pub undo: Option<String>,
    /// List past runs.
    #[arg(long, conflicts_with_all = ["dry_run", "only"])]
    pub list: bool,
    /// State directory holding fixes/ (default from the configuration: /var/lib/jikimi).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Agent configuration file.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub cat: CatalogOpts,
}

/// Why `--interval` was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntervalError {
    #[error("`{text}` is not a whole number of seconds")]
    NotANumber {
        text: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("interval {secs} s is below the minimum of {min} s between scans")]
    BelowMinimum { secs: u64, min: u64 },
}

pub fn parse_interval(s: &str) -> std::result::Result<u64, IntervalError> {
    let secs: u64 = s.parse().map_err(|source| IntervalError::NotANumber {
        text: s.to_string(),
        source,
    })?;
    jikimi::config::check_interval(secs).map_err(|_| IntervalError::BelowMinimum {
        secs,
        min: jikimi::config::MIN_INTERVAL_SECS,
    })
}
