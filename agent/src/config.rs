//! The agent configuration file (`/etc/jikimi/jikimi.toml`). Every key is optional; unknown
//! keys are errors so a typo never silently changes behaviour.

use crate::catalog::{Profile, UnknownProfile};
use crate::findings::{Severity, UnknownSeverity};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the packaged configuration lives.
pub const DEFAULT_PATH: &str = "/etc/jikimi/jikimi.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub agent: AgentConfig,
    #[serde(default)]
    pub walk: WalkConfig,
    /// AWS identity and endpoints (`crate::aws::config`).
    #[serde(default)]
    pub aws: crate::aws::config::AwsConfig,
    /// The Security Hub sink (`crate::sinks::securityhub`).
    #[serde(default)]
    pub securityhub: crate::sinks::securityhub::SecurityHubConfig,
    /// The SSM Compliance sink (`crate::sinks::ssm_compliance`).
    #[serde(default)]
    pub ssm_compliance: crate::sinks::ssm_compliance::SsmComplianceConfig,
    #[serde(default)]
    pub daemon: DaemonConfig,
    /// Scan history bounds (`crate::history`).
    #[serde(default)]
    pub history: crate::history::HistoryConfig,
    /// Asset classification and its tags (`crate::classify`).
    #[serde(default)]
    pub asset: crate::classify::AssetConfig,
    #[serde(default)]
    pub ec2_tags: crate::sinks::ec2_tags::Ec2TagsConfig,
    #[serde(default)]
    pub ssm_inventory: crate::sinks::ssm_inventory::SsmInventoryConfig,
    /// Slack and webhook alerts on new failures and fixes (`crate::sinks::alerts`).
    #[serde(default)]
    pub alerts: crate::sinks::alerts::AlertsConfig,
    /// The report by mail over SMTP (`crate::sinks::email`).
    #[serde(default)]
    pub email: crate::sinks::email::EmailConfig,
    /// Language of human-facing output (`crate::i18n`).
    #[serde(default)]
    pub report: crate::i18n::ReportConfig,
    /// `[[waiver]]` tables: accepted risks (`crate::waivers`), validated against the catalog
    /// by [`Config::load_waivers`].
    #[serde(default)]
    pub waiver: Vec<toml::Spanned<toml::Table>>,
    /// `origin:line` of each `[[waiver]]` table (set by [`Config::parse`]).
    #[serde(skip)]
    pub waiver_origins: Vec<String>,
    /// The validated waivers of this configuration and the waivers directory (empty until
    /// [`Config::load_waivers`] ran with the catalog).
    #[serde(skip)]
    pub waivers: crate::waivers::Waivers,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Seconds between scans (default 3600, at least [`MIN_INTERVAL_SECS`]).
    #[serde(default, deserialize_with = "interval_secs")]
    pub interval_secs: Option<u64>,
    /// Random spread around the interval (default a tenth of it, at most 300).
    pub jitter_secs: Option<u64>,
    /// Address of the /metrics and /healthz endpoint (default 127.0.0.1:9464).
    pub listen: Option<String>,
    /// Also write the metrics to this file after each scan (node_exporter textfile collector).
    pub textfile: Option<PathBuf>,
    /// One metric series per check (default false: bounded cardinality).
    pub per_check_metrics: Option<bool>,
    /// Real-time re-evaluation of the checks a file change affects (default true; see
    /// docs/realtime.md).
    pub realtime: Option<bool>,
    /// Quiet time after a change before re-evaluating (default 100 ms).
    pub realtime_debounce_ms: Option<u64>,
    /// Re-evaluations a second at most (default 4); changes in between coalesce.
    pub realtime_max_per_sec: Option<f64>,
    /// inotify events read a second at most (default 20000); beyond, the reader pauses.
    pub realtime_max_events_per_sec: Option<u64>,
    /// Directories watched at most (default: the kernel's `max_user_watches`).
    pub realtime_max_watches: Option<usize>,
    /// How often checks that could not be watched are re-evaluated (default 60 s).
    pub realtime_fallback_secs: Option<u64>,
}

/// The shortest interval between daemon scans. Shorter ones are refused: a scan every few
/// seconds would evict all real history (200 records by default) within minutes and keep a
/// core busy with walks.
pub const MIN_INTERVAL_SECS: u64 = 60;

/// An interval between scans below [`MIN_INTERVAL_SECS`].
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("interval {secs} s is below the minimum of {MIN_INTERVAL_SECS} s between scans")]
pub struct IntervalTooShort {
    pub secs: u64,
}
crate::error_text::debug_as_display!(IntervalTooShort);

/// `daemon.interval_secs` and `--interval`: whole seconds, at least [`MIN_INTERVAL_SECS`].
pub fn check_interval(secs: u64) -> Result<u64, IntervalTooShort> {
    if secs >= MIN_INTERVAL_SECS {
        Ok(secs)
    } else {
        Err(IntervalTooShort { secs })
    }
}

/// Why a configuration could not be loaded. Each message starts with where: the file or
/// `ssm:NAME`, and the line when it is known (`/etc/jikimi/jikimi.toml:7: ...`).
#[derive(thiserror::Error)]
pub enum ConfigError {
    /// The TOML does not parse, a key is unknown, or a value is invalid, at this line.
    #[error("{origin}:{line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
    /// The same, where the parser knows no position.
    #[error("{origin}: {message}")]
    InvalidDocument { origin: String, message: String },
    #[error("{origin}: agent.profile: {reason}")]
    Profile {
        origin: String,
        reason: UnknownProfile,
    },
    #[error("{origin}: agent.min_severity: {reason}")]
    MinSeverity {
        origin: String,
        reason: UnknownSeverity,
    },
    /// The file could not be read (the error names it).
    #[error("cannot read configuration {0}")]
    Read(crate::fs::FsError),
    /// `--config ssm:NAME`: the parameter could not be fetched.
    #[error(transparent)]
    Parameter(crate::aws::AwsError),
}

/// The `Display` text: the derived `Debug` would add ~2.8 KB to the binary (cargo bloat) for
/// an error that is only ever shown to a user.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn interval_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    check_interval(u64::deserialize(d)?)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Threshold profile (`kisa` or `cis`); default kisa.
    pub profile: Option<String>,
    /// State directory (default `/var/lib/jikimi`).
    pub state_dir: Option<PathBuf>,
    /// Extra user checks (default `/etc/jikimi/checks.d`).
    pub checks_dir: Option<PathBuf>,
    /// Lowest severity to evaluate.
    pub min_severity: Option<String>,
    /// Check ids never run.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Directory of `*.toml` files with `[[waiver]]` tables (default `/etc/jikimi/waivers.d`).
    pub waivers_dir: Option<PathBuf>,
    /// The furthest a waiver may expire, in days from today (default 365).
    pub max_waiver_days: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkConfig {
    /// Entries visited at most by the filesystem walk (default 5,000,000).
    pub max_entries: Option<u64>,
    /// Seconds the walk may take at most (default 300).
    pub max_secs: Option<u64>,
    /// Deepest directory level visited (default 128, at most 4096); deeper ones make the walk
    /// incomplete (`crate::facts::walk`).
    pub max_depth: Option<usize>,
    /// Filesystems mounted inside the root that the walk enters: "local" (default), "all",
    /// "none" (`crate::facts::walk::MountPolicy`).
    pub mounts: Option<crate::facts::walk::MountPolicy>,
    /// Mount points (globs) never entered and not counted as missing, e.g. NFS home dirs.
    #[serde(default)]
    pub ignore_mounts: Vec<String>,
}

impl Config {
    /// Parses and validates configuration text; errors name the line.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut c: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let (origin, message) = (origin.to_string(), e.message().trim().to_string());
            match line {
                Some(line) => ConfigError::Invalid {
                    origin,
                    line,
                    message,
                },
                None => ConfigError::InvalidDocument { origin, message },
            }
        })?;
        c.profile().map_err(|reason| ConfigError::Profile {
            origin: origin.into(),
            reason,
        })?;
        c.min_severity()
            .map_err(|reason| ConfigError::MinSeverity {
                origin: origin.into(),
                reason,
            })?;
        c.waiver_origins = c
            .waiver
            .iter()
            .map(|w| {
                let at = w.span().start.min(text.len());
                format!("{origin}:{}", text[..at].matches('\n').count() + 1)
            })
            .collect();
        Ok(c)
    }

    /// Loads the configuration `--config` names: from Parameter Store for `ssm:NAME`
    /// (`crate::aws::ssm::config_parameter` fetches the text), else from the file (see
    /// [`Config::load`]).
    pub fn load_from(path: Option<&Path>) -> Result<Config, ConfigError> {
        match path
            .and_then(|p| p.to_str())
            .and_then(|s| s.strip_prefix(crate::aws::ssm::PREFIX))
        {
            Some(name) => {
                let text =
                    crate::aws::ssm::config_parameter(name).map_err(ConfigError::Parameter)?;
                Config::parse(&text, &format!("{}{name}", crate::aws::ssm::PREFIX))
            }
            None => Config::load(path),
        }
    }

    /// Loads a file. A missing default file means defaults; a missing explicit file is an error.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (p, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_PATH), false),
        };
        // Regular files only, bounded, never blocking on a FIFO (issue 12, defect 11).
        match crate::fs::read_local_text(&p, crate::fs::MAX_READ_BYTES) {
            Ok(t) => Config::parse(&t, &p.display().to_string()),
            Err(e) if e.kind == crate::fs::FsErrorKind::NotFound && !explicit => {
                Ok(Config::default())
            }
            Err(e) => Err(ConfigError::Read(e)),
        }
    }

    /// The history directory of a scan, or `None` when no history is kept for it: history is
    /// switched off, or the scan was of an image (`--root`) and no state directory was named
    /// explicitly (`--state-dir` or `agent.state_dir`), so auditing images never mixes into
    /// the host's own history.
    pub fn history_settings(
        &self,
        state_dir_flag: Option<&Path>,
        live: bool,
    ) -> Option<crate::history::Settings> {
        if self.history.enabled == Some(false) {
            return None;
        }
        let explicit = state_dir_flag.is_some() || self.agent.state_dir.is_some();
        if !live && !explicit {
            return None;
        }
        let dir = state_dir_flag
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.state_dir());
        Some(crate::history::Settings::new(&dir, &self.history))
    }

    /// Where this configuration's waivers come from: its `[[waiver]]` tables and the waivers
    /// directory (`dir` overrides it; a missing default directory is empty, a missing named
    /// one an error).
    pub fn waiver_sources(&self, dir: Option<&Path>) -> crate::waivers::Sources<'_> {
        let (dir, optional) = match dir {
            Some(d) => (d.to_path_buf(), false),
            None => (self.waivers_dir(), self.agent.waivers_dir.is_none()),
        };
        crate::waivers::Sources {
            tables: &self.waiver,
            origins: &self.waiver_origins,
            dir,
            optional,
            max_days: self.agent.max_waiver_days,
        }
    }

    /// The waivers of this configuration and its waivers directory, validated against a
    /// catalog's check ids, today.
    pub fn load_waivers(
        &self,
        catalog: &crate::catalog::Catalog,
    ) -> Result<crate::waivers::Waivers, crate::waivers::WaiverErrors> {
        let known = catalog.checks.iter().map(|c| c.id.clone()).collect();
        crate::waivers::load(&self.waiver_sources(None), &known, crate::waivers::today())
    }

    /// What the identity step of the remote sinks reads of this configuration.
    pub fn remote(&self) -> crate::sinks::remote::RemoteConfig<'_> {
        crate::sinks::remote::RemoteConfig {
            aws: &self.aws,
            any_enabled: self.securityhub.enabled
                || self.ssm_compliance.enabled
                || self.ssm_inventory.enabled
                || self.ec2_tags.enabled,
            instance_tags: self.asset.instance_tags != Some(false),
            waivers: &self.waivers,
        }
    }

    pub fn profile(&self) -> Result<Profile, UnknownProfile> {
        self.agent
            .profile
            .as_deref()
            .map_or(Ok(Profile::default()), str::parse)
    }

    pub fn min_severity(&self) -> Result<Option<Severity>, UnknownSeverity> {
        self.agent
            .min_severity
            .as_deref()
            .map(str::parse)
            .transpose()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.agent
            .state_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/var/lib/jikimi"))
    }

    pub fn checks_dir(&self) -> PathBuf {
        self.agent
            .checks_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/jikimi/checks.d"))
    }

    pub fn waivers_dir(&self) -> PathBuf {
        self.agent
            .waivers_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::waivers::DEFAULT_DIR))
    }

    pub fn walk_limits(&self) -> crate::facts::walk::Limits {
        let mut l = crate::facts::walk::Limits::default();
        if let Some(n) = self.walk.max_entries {
            l.max_entries = n;
        }
        if let Some(s) = self.walk.max_secs {
            l.max_time = std::time::Duration::from_secs(s);
        }
        if let Some(d) = self.walk.max_depth {
            l.max_depth = d.min(crate::facts::walk::MAX_DEPTH_LIMIT);
        }
        if let Some(m) = self.walk.mounts {
            l.mounts = m;
        }
        l.ignore_mounts = self.walk.ignore_mounts.clone();
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_scans_need_an_explicit_state_dir() {
        let cfg = Config::default();
        assert!(cfg.history_settings(None, false).is_none());
        assert_eq!(
            cfg.history_settings(None, true).unwrap().dir,
            Path::new("/var/lib/jikimi/history")
        );
        let s = cfg
            .history_settings(Some(Path::new("/tmp/x")), false)
            .unwrap();
        assert_eq!(s.dir, Path::new("/tmp/x/history"));
        assert_eq!((s.keep.as_secs(), s.max_records), (31 * 86_400, 200));
        let off = Config::parse("[history]\nenabled = false\n", "t").unwrap();
        assert!(off
            .history_settings(Some(Path::new("/tmp/x")), true)
            .is_none());
    }

    #[test]
    fn parses_and_rejects() {
        let c = Config::parse(
            "[agent]\nprofile = \"cis\"\nskip = [\"X-1\"]\n[walk]\nmax_secs = 5\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.profile().unwrap(), Profile::Cis);
        assert_eq!(c.walk_limits().max_time.as_secs(), 5);
        let e = Config::parse("[agent]\nprofil = \"cis\"\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:2:"), "{e}");
        let e = Config::parse("[agent]\nprofile = \"nist\"\n", "t.toml").unwrap_err();
        assert!(matches!(&e, ConfigError::Profile { reason, .. } if reason.given == "nist"));
        assert_eq!(
            e.to_string(),
            "t.toml: agent.profile: unknown profile `nist` (expected kisa or cis)"
        );
        assert!(Config::parse("", "t").is_ok());
    }

    #[test]
    fn defect14_interval_below_the_minimum_is_refused() {
        for bad in ["0", "1", "59"] {
            let e = Config::parse(&format!("[daemon]\ninterval_secs = {bad}\n"), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("t.toml:2:") && e.contains("minimum of 60 s"),
                "{e}"
            );
        }
        let c = Config::parse("[daemon]\ninterval_secs = 60\n", "t").unwrap();
        assert_eq!(c.daemon.interval_secs, Some(60));
        assert!(check_interval(0).is_err() && check_interval(3600).is_ok());
    }
}
