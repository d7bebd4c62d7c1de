//! The `[aws]` section of the agent configuration (the AWS sinks keep theirs beside them:
//! `crate::sinks::securityhub::SecurityHubConfig`, `crate::sinks::ssm_compliance`).
//!
//! Values are validated while the TOML is deserialised, so a bad account id or URL is reported
//! with the file and line like any other configuration error.

use serde::{Deserialize, Deserializer};

/// Default upper bound of the random delay before a daemon's first submission, so a fleet
/// started at once (an AMI rollout, a reboot wave) spreads its first BatchImportFindings
/// calls instead of throttling itself (10 TPS, burst 30 per account and region).
pub const DEFAULT_FIRST_SUBMISSION_JITTER_SECS: u64 = 120;
pub const MAX_FIRST_SUBMISSION_JITTER_SECS: u64 = 3600;
/// Attempts per AWS request (the first try plus retries on throttling, 5xx, network errors).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// 12-digit account id; default from the instance identity document.
    #[serde(default, deserialize_with = "account_id")]
    pub account_id: Option<String>,
    /// Region, e.g. `ap-northeast-2`; default from the instance identity document, then
    /// `AWS_REGION` / `AWS_DEFAULT_REGION`.
    #[serde(default, deserialize_with = "region")]
    pub region: Option<String>,
    /// The resource the findings are about: an EC2 instance id (`i-...`), an SSM hybrid
    /// managed instance id (`mi-...`) or any stable name; default the EC2 instance id.
    #[serde(default, deserialize_with = "resource_id")]
    pub resource_id: Option<String>,
    /// Endpoint for every AWS API call (a VPC endpoint, a test server). The per-service
    /// `AWS_ENDPOINT_URL_<SERVICE>` and `AWS_ENDPOINT_URL` environment variables apply when
    /// this is unset.
    #[serde(default, deserialize_with = "url")]
    pub endpoint_url: Option<String>,
    /// Ask the EC2 instance metadata service (IMDSv2) for identity and credentials
    /// (default true; `AWS_EC2_METADATA_DISABLED=true` also turns it off).
    pub imds: Option<bool>,
    /// IMDS endpoint (default `http://169.254.169.254`; `JIKIMI_IMDS_ENDPOINT` overrides).
    #[serde(default, deserialize_with = "url")]
    pub imds_endpoint: Option<String>,
    /// Profile of the shared credentials file (default `AWS_PROFILE`, else `default`).
    pub profile: Option<String>,
    /// PEM bundle of the CAs to trust for AWS endpoints instead of the compiled-in Mozilla
    /// roots (a TLS-inspecting proxy's CA); `AWS_CA_BUNDLE` applies when unset.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Attempts per request, 1..=10 (default 4).
    #[serde(default, deserialize_with = "max_attempts")]
    pub max_attempts: Option<u32>,
    /// FIPS endpoints (`service-fips.region...`); default `AWS_USE_FIPS_ENDPOINT`, else the
    /// profile's `use_fips_endpoint`, else false.
    pub use_fips_endpoint: Option<bool>,
    /// Dual-stack (IPv6) endpoints; default `AWS_USE_DUALSTACK_ENDPOINT`, else the
    /// profile's `use_dualstack_endpoint`, else false.
    pub use_dualstack_endpoint: Option<bool>,
    /// The daemon waits a random 0..=N seconds before its first submission (default 120,
    /// at most 3600; 0 turns it off). `check --once` never waits.
    #[serde(default, deserialize_with = "jitter")]
    pub first_submission_jitter_secs: Option<u64>,
}

impl AwsConfig {
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)
    }

    pub fn first_submission_jitter(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.first_submission_jitter_secs
                .unwrap_or(DEFAULT_FIRST_SUBMISSION_JITTER_SECS),
        )
    }
}

fn jitter<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = u64::deserialize(d)?;
    if n <= MAX_FIRST_SUBMISSION_JITTER_SECS {
        Ok(Some(n))
    } else {
        Err(invalid(format!(
            "first_submission_jitter_secs {n} is above {MAX_FIRST_SUBMISSION_JITTER_SECS}"
        )))
    }
}

fn invalid<E: serde::de::Error>(msg: String) -> E {
    E::custom(msg)
}

fn account_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(Some(s))
    } else {
        Err(invalid(format!(
            "account_id `{s}` is not a 12-digit AWS account id"
        )))
    }
}

/// `af-south-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`...
pub fn valid_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && s.len() <= 32
}

fn region<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if valid_region(&s) {
        Ok(Some(s))
    } else {
        Err(invalid(format!(
            "region `{s}` is not an AWS region (like ap-northeast-2)"
        )))
    }
}

/// Resource ids go into finding ids and ARNs: printable ASCII without spaces, 1..=128.
pub fn valid_resource_id(s: &str) -> bool {
    (1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

fn resource_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if valid_resource_id(&s) {
        Ok(Some(s))
    } else {
        Err(invalid(format!(
            "resource_id `{s}` must be 1 to 128 printable ASCII characters without spaces"
        )))
    }
}

fn url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    match crate::net::Endpoint::parse(&s) {
        Ok(_) => Ok(Some(s)),
        Err(e) => Err(invalid(e.to_string())),
    }
}

fn max_attempts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let n = u32::deserialize(d)?;
    if (1..=10).contains(&n) {
        Ok(Some(n))
    } else {
        Err(invalid(format!("max_attempts {n} is not within 1..=10")))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn aws_sections_parse_and_validate_with_lines() {
        let c = Config::parse(
            "[aws]\naccount_id = \"123456789012\"\nregion = \"ap-northeast-2\"\n\
             resource_id = \"mi-0123456789abcdef0\"\nendpoint_url = \"http://127.0.0.1:5000\"\n\
             [securityhub]\nenabled = true\nrefresh_interval_secs = 3600\n\
             [ssm_compliance]\nenabled = true\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.aws.region.as_deref(), Some("ap-northeast-2"));
        assert!(c.securityhub.enabled && c.ssm_compliance.enabled);
        assert_eq!(c.securityhub.refresh_interval().as_secs(), 3600);
        assert_eq!(c.aws.first_submission_jitter().as_secs(), 120, "default");
        let d = Config::parse("", "t").unwrap();
        assert_eq!(d.securityhub.refresh_interval().as_secs(), 7 * 86_400);
        for (text, line, needle) in [
            ("[aws]\naccount_id = \"1234\"\n", 2, "12-digit"),
            ("[aws]\nregion = \"Seoul\"\n", 2, "not an AWS region"),
            ("[aws]\n\nresource_id = \"a b\"\n", 3, "printable"),
            ("[aws]\nendpoint_url = \"ftp://x\"\n", 2, "http"),
            ("[aws]\nmax_attempts = 0\n", 2, "1..=10"),
            (
                "[securityhub]\nrefresh_interval_secs = 7776000\n",
                2,
                "90 days",
            ),
            ("[securityhub]\nenable = true\n", 2, "unknown field"),
            (
                "[aws]\nfirst_submission_jitter_secs = 7200\n",
                2,
                "above 3600",
            ),
            (
                "[securityhub]\nreference_url = \"http://x/{check_id}\"\n",
                2,
                "https://",
            ),
        ] {
            let e = Config::parse(text, "t.toml").unwrap_err().to_string();
            assert!(e.starts_with(&format!("t.toml:{line}:")), "{text}: {e}");
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn regions() {
        for ok in ["us-east-1", "ap-northeast-2", "us-gov-west-1", "cn-north-1"] {
            assert!(super::valid_region(ok), "{ok}");
        }
        for bad in ["", "us-east", "US-EAST-1", "us--1", "useast1"] {
            assert!(!super::valid_region(bad), "{bad}");
        }
    }
}
