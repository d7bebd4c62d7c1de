//! The credential chain, in the order AWS SDKs use: environment variables, the shared
//! credentials and config files (static keys of one profile; the SSM agent writes a hybrid
//! instance's credentials there), ECS/EKS container credentials, then the EC2 instance
//! profile through IMDSv2. The first source that has credentials wins.

use super::http::Client;
use super::imds::Imds;
use super::sigv4::Credentials;
use std::path::PathBuf;
use std::time::Duration;

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// Parses the JSON of IMDS role credentials and the container credentials endpoint.
pub fn parse_json_credentials(body: &str, source: &str) -> Result<Credentials, String> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("{source}: credentials: {e}"))?;
    if let Some(code) = v.get("Code").and_then(|c| c.as_str()) {
        if code != "Success" {
            return Err(format!("{source}: credentials not available ({code})"));
        }
    }
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    Ok(Credentials {
        access_key_id: s("AccessKeyId").ok_or(format!("{source}: no AccessKeyId"))?,
        secret_access_key: s("SecretAccessKey").ok_or(format!("{source}: no SecretAccessKey"))?,
        session_token: s("Token"),
        expires: s("Expiration").and_then(|e| crate::time::parse_rfc3339(&e)),
        source: source.to_string(),
    })
}

fn from_env() -> Option<Credentials> {
    Some(Credentials {
        access_key_id: env("AWS_ACCESS_KEY_ID")?,
        secret_access_key: env("AWS_SECRET_ACCESS_KEY")?,
        session_token: env("AWS_SESSION_TOKEN"),
        expires: None,
        source: "environment".into(),
    })
}

/// The key/value pairs of one section of an INI file (`#` and `;` comments).
fn ini_section(text: &str, section: &str) -> Option<Vec<(String, String)>> {
    let mut found = None;
    let mut current: Option<&str> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim());
            if current == Some(section) {
                found.get_or_insert_with(Vec::new);
            }
            continue;
        }
        if current == Some(section) {
            if let Some((k, v)) = line.split_once('=') {
                found
                    .get_or_insert_with(Vec::new)
                    .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
    }
    found
}

fn static_keys(pairs: &[(String, String)], source: String) -> Option<Credentials> {
    let get = |k: &str| {
        pairs
            .iter()
            .rev()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    Some(Credentials {
        access_key_id: get("aws_access_key_id")?,
        secret_access_key: get("aws_secret_access_key")?,
        session_token: get("aws_session_token"),
        expires: None,
        source,
    })
}

fn from_shared_files(profile: &str) -> Option<Credentials> {
    let home = env("HOME").map(PathBuf::from);
    let creds_file = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    if let Some(p) = creds_file {
        if let Ok(text) = std::fs::read_to_string(&p) {
            if let Some(pairs) = ini_section(&text, profile) {
                if let Some(c) = static_keys(&pairs, format!("{} [{profile}]", p.display())) {
                    return Some(c);
                }
            }
        }
    }
    let config_file = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let section = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    let p = config_file?;
    let text = std::fs::read_to_string(&p).ok()?;
    static_keys(
        &ini_section(&text, &section)?,
        format!("{} [{section}]", p.display()),
    )
}

/// ECS task role / EKS pod identity: `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (on the ECS
/// agent address) or `AWS_CONTAINER_CREDENTIALS_FULL_URI` with an optional authorization
/// token (`AWS_CONTAINER_AUTHORIZATION_TOKEN` or `..._TOKEN_FILE`).
fn from_container() -> Option<Result<Credentials, String>> {
    let url = match (
        env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(rel), _) => format!("http://169.254.170.2{rel}"),
        (None, Some(full)) => full,
        (None, None) => return None,
    };
    let token = match env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(f) => match std::fs::read_to_string(&f) {
            Ok(t) => Some(t.trim().to_string()),
            Err(e) => return Some(Err(format!("{f}: {e}"))),
        },
        None => env("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    };
    let client = Client::metadata(Duration::from_secs(1), Duration::from_secs(3));
    let headers: Vec<(&str, &str)> = token
        .as_deref()
        .map(|t| vec![("authorization", t)])
        .unwrap_or_default();
    Some(match client.send("GET", &url, &headers, None) {
        Ok(r) if r.status == 200 => {
            parse_json_credentials(&String::from_utf8_lossy(&r.body), "container credentials")
        }
        Ok(r) => Err(format!("container credentials {url}: HTTP {}", r.status)),
        Err(e) => Err(format!("container credentials {url}: {e}")),
    })
}

/// Resolves credentials; the error lists what was tried.
pub fn resolve(profile: Option<&str>, imds: &Imds) -> Result<Credentials, String> {
    if let Some(c) = from_env() {
        return Ok(c);
    }
    let profile = profile
        .map(String::from)
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    if let Some(c) = from_shared_files(&profile) {
        return Ok(c);
    }
    if let Some(c) = from_container() {
        return c;
    }
    match imds.role_credentials() {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(
            "no AWS credentials: none in the environment, in the shared credentials \
                         file, from a container endpoint, and the instance has no instance profile"
                .into(),
        ),
        Err(e) => Err(format!(
            "no AWS credentials: none in the environment (AWS_ACCESS_KEY_ID), in the shared \
             credentials file (profile {profile}), from a container endpoint, nor from the \
             instance profile ({e})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_and_static_keys() {
        let text = "# c\n[default]\naws_access_key_id = AK1\naws_secret_access_key=S1\n\
                    [prod] \n[profile prod]\naws_access_key_id = AK2\n; x\naws_secret_access_key = S2\n\
                    aws_session_token = T2\n";
        let d = ini_section(text, "default").unwrap();
        let c = static_keys(&d, "f".into()).unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), c.secret_access_key.as_str()),
            ("AK1", "S1")
        );
        assert!(c.session_token.is_none());
        let p = ini_section(text, "profile prod").unwrap();
        assert_eq!(
            static_keys(&p, "f".into())
                .unwrap()
                .session_token
                .as_deref(),
            Some("T2")
        );
        assert!(static_keys(&ini_section(text, "prod").unwrap(), "f".into()).is_none());
        assert!(ini_section(text, "nope").is_none());
    }

    #[test]
    fn json_credentials() {
        let c = parse_json_credentials(
            r#"{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t",
                "Expiration":"2026-11-22T16:35:19Z"}"#,
            "imds",
        )
        .unwrap();
        assert_eq!(c.session_token.as_deref(), Some("t"));
        assert!(c.expires.is_some());
        assert!(parse_json_credentials(r#"{"Code":"Failure"}"#, "imds").is_err());
        assert!(parse_json_credentials("{", "imds").is_err());
    }
}
