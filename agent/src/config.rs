//! The agent configuration file (`/etc/jikimi/jikimi.toml`). Every key is optional; unknown
//! keys are errors so a typo never silently changes behaviour.

use crate::catalog::Profile;
use crate::findings::Severity;
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
    #[serde(default)]
    pub securityhub: crate::aws::config::SecurityHubConfig,
    #[serde(default)]
    pub ssm_compliance: crate::aws::config::SsmComplianceConfig,
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
    /// `[[waiver]]` tables: accepted risks (`crate::waivers`), validated against the catalog
    /// by [`crate::waivers::load`].
    #[serde(default)]
    pub waiver: Vec<toml::Spanned<toml::Table>>,
    /// `origin:line` of each `[[waiver]]` table (set by [`Config::parse`]).
    #[serde(skip)]
    pub waiver_origins: Vec<String>,
    /// The validated waivers of this configuration and the waivers directory (empty until
    /// [`crate::waivers::load`] ran with the catalog).
    #[serde(skip)]
    pub waivers: crate::waivers::Waivers,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Seconds between scans (default 3600).
    pub interval_secs: Option<u64>,
    /// Random spread around the interval (default a tenth of it, at most 300).
    pub jitter_secs: Option<u64>,
    /// Address of the /metrics and /healthz endpoint (default 127.0.0.1:9464).
    pub listen: Option<String>,
    /// Also write the metrics to this file after each scan (node_exporter textfile collector).
    pub textfile: Option<PathBuf>,
    /// One metric series per check (default false: bounded cardinality).
    pub per_check_metrics: Option<bool>,
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
}

impl Config {
    /// Parses and validates configuration text; errors name the line.
    pub fn parse(text: &str, origin: &str) -> Result<Config, String> {
        let mut c: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(l) => format!("{origin}:{l}: {}", e.message().trim()),
                None => format!("{origin}: {}", e.message().trim()),
            }
        })?;
        c.profile()
            .map_err(|e| format!("{origin}: agent.profile: {e}"))?;
        c.min_severity()
            .map_err(|e| format!("{origin}: agent.min_severity: {e}"))?;
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

    /// Loads a file. A missing default file means defaults; a missing explicit file is an error.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let (p, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_PATH), false),
        };
        match std::fs::read_to_string(&p) {
            Ok(t) => Config::parse(&t, &p.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                Ok(Config::default())
            }
            Err(e) => Err(format!("{}: cannot read configuration: {e}", p.display())),
        }
    }

    pub fn profile(&self) -> Result<Profile, String> {
        self.agent
            .profile
            .as_deref()
            .map_or(Ok(Profile::default()), str::parse)
    }

    pub fn min_severity(&self) -> Result<Option<Severity>, String> {
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
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let c = Config::parse(
            "[agent]\nprofile = \"cis\"\nskip = [\"X-1\"]\n[walk]\nmax_secs = 5\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.profile().unwrap(), Profile::Cis);
        assert_eq!(c.walk_limits().max_time.as_secs(), 5);
        let e = Config::parse("[agent]\nprofil = \"cis\"\n", "t.toml").unwrap_err();
        assert!(e.starts_with("t.toml:2:"), "{e}");
        let e = Config::parse("[agent]\nprofile = \"nist\"\n", "t.toml").unwrap_err();
        assert!(e.contains("nist"), "{e}");
        assert!(Config::parse("", "t").is_ok());
    }
}
