//! Systems Manager calls: the agent configuration from Parameter Store (`--config ssm:/path`)
//! and PutComplianceItems (payload built by [`crate::sinks::ssm_compliance`]).

use super::{AwsError, Reply, Session, SSM};

/// The prefix of a `--config` value that names a Parameter Store parameter.
pub const PREFIX: &str = "ssm:";

/// The text of the configuration parameter `NAME` of `--config ssm:NAME` (String or
/// SecureString, decrypted); `crate::config::load` parses it.
///
/// The region comes from `AWS_REGION` / `AWS_DEFAULT_REGION`, else from IMDSv2; the endpoint
/// from `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL`; credentials from the usual chain. (The
/// `[aws]` section cannot apply: it is inside the configuration being fetched.)
pub fn config_parameter(name: &str) -> Result<String, AwsError> {
    let origin = format!("{PREFIX}{name}");
    if name.is_empty() || name.len() > 2048 {
        return Err(AwsError::ParameterName { origin });
    }
    fetch_config(name).map_err(|e| AwsError::ConfigParameter {
        origin,
        source: Box::new(e),
    })
}

fn fetch_config(name: &str) -> Result<String, AwsError> {
    let session = Session::new(&Default::default())?;
    let region = std::env::var("AWS_REGION")
        .ok()
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
        .map(Ok)
        .unwrap_or_else(|| {
            session
                .imds
                .identity_document()
                .map(|d| d.region)
                .map_err(|source| AwsError::NoRegion {
                    setting: "AWS_REGION",
                    source: Box::new(source),
                })
        })?;
    get_parameter(&session, &region, name)
}

/// A (SecureString) parameter's value for a secret the configuration names (a webhook URL,
/// an SMTP password): region `aws.region`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else
/// IMDSv2; endpoint and credentials as for every call.
pub fn read_parameter(cfg: &super::config::AwsConfig, name: &str) -> Result<String, AwsError> {
    let session = Session::new(cfg)?;
    let region = cfg
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
        .map(Ok)
        .unwrap_or_else(|| {
            session
                .imds
                .identity_document()
                .map(|d| d.region)
                .map_err(|source| AwsError::NoRegion {
                    setting: "aws.region",
                    source: Box::new(source),
                })
        })?;
    get_parameter(&session, &region, name)
}

/// GetParameter WithDecryption: the parameter's value.
pub fn get_parameter(session: &Session, region: &str, name: &str) -> Result<String, AwsError> {
    let body = serde_json::json!({ "Name": name, "WithDecryption": true }).to_string();
    let Reply { body, .. } = session
        .call(
            SSM,
            region,
            "/",
            Some("AmazonSSM.GetParameter"),
            body.as_bytes(),
        )
        .map_err(|source| AwsError::GetParameter {
            name: name.to_string(),
            region: region.to_string(),
            source: Box::new(source),
        })?;
    let p = &body["Parameter"];
    let name = name.to_string();
    match (p["Type"].as_str(), p["Value"].as_str()) {
        (Some("StringList"), _) => Err(AwsError::StringList { name }),
        (_, Some(v)) => Ok(v.to_string()),
        _ => Err(AwsError::NoValue { name }),
    }
}
