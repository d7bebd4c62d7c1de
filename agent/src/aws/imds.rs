//! The EC2 instance metadata service, version 2 only: a session token from
//! `PUT /latest/api/token`, then GETs carrying it. Timeouts are short (300 ms to connect,
//! 1 s per request) and a failure marks IMDS unavailable for ten minutes (a one-shot run:
//! for the rest of the process), so a host off EC2 loses at most about a second.

use super::sigv4::JsonCredentialsError;
use crate::net::{Client, Endpoint, HttpError, UrlError};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// Token lifetime requested (the maximum is 6 hours); a token is renewed a minute early.
const TOKEN_TTL_SECS: &str = "300";
const TOKEN_REUSE: Duration = Duration::from_secs(240);
/// After a failure, IMDS is not asked again for this long.
const RETRY_AFTER: Duration = Duration::from_secs(600);
/// Instance tags: key to value.
pub type Tags = BTreeMap<String, String>;

/// EC2 allows at most 50 tags per instance.
const MAX_TAGS: usize = 50;

/// The fields of `/latest/dynamic/instance-identity/document` the agent uses.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct IdentityDocument {
    pub account_id: String,
    pub region: String,
    pub instance_id: String,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub image_id: Option<String>,
    #[serde(default)]
    pub private_ip: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// Launch time, RFC 3339.
    #[serde(default)]
    pub pending_time: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
}

/// Why IMDS gave no answer to use. `path` is the metadata path asked for.
#[derive(thiserror::Error)]
pub enum ImdsError {
    #[error("IMDS endpoint")]
    Endpoint(#[source] UrlError),
    #[error("IMDS is disabled")]
    Disabled,
    #[error("IMDSv2 token request answered HTTP {status} (IMDSv1-only or blocked)")]
    TokenRefused { status: u16 },
    #[error("IMDS not reachable at {host}")]
    Unreachable {
        host: String,
        #[source]
        source: HttpError,
    },
    #[error("IMDS {path}")]
    Request {
        path: String,
        #[source]
        source: HttpError,
    },
    #[error("IMDS {path}: token rejected (HTTP 401)")]
    TokenRejected { path: String },
    #[error("IMDS {path}: HTTP {status}")]
    Status { path: String, status: u16 },
    #[error("IMDS has no instance identity document")]
    NoDocument,
    #[error("instance identity document")]
    Document(#[source] serde_json::Error),
    #[error("IMDS: no credentials for role {role}")]
    NoRoleCredentials { role: String },
    #[error(transparent)]
    RoleCredentials(JsonCredentialsError),
    /// An earlier failure, remembered for ten minutes (for good when IMDS is disabled).
    #[error(transparent)]
    Earlier(Arc<ImdsError>),
}
crate::error_text::debug_as_display!(ImdsError);

#[derive(Debug)]
enum State {
    Unknown,
    Token(String, Instant),
    Unavailable(Arc<ImdsError>, Option<Instant>),
}

/// An IMDSv2 session. Not `Sync`: one per run.
pub struct Imds {
    endpoint: Option<Endpoint>,
    client: Client,
    state: RefCell<State>,
}

impl Imds {
    /// `endpoint` None: IMDS is disabled (configuration or `AWS_EC2_METADATA_DISABLED`).
    pub fn new(endpoint: Option<&str>) -> Result<Imds, ImdsError> {
        let endpoint = endpoint
            .map(|e| Endpoint::parse(e).map_err(ImdsError::Endpoint))
            .transpose()?;
        Ok(Imds {
            state: RefCell::new(match endpoint {
                Some(_) => State::Unknown,
                None => State::Unavailable(Arc::new(ImdsError::Disabled), None),
            }),
            endpoint,
            client: Client::metadata(Duration::from_millis(300), Duration::from_secs(1)),
        })
    }

    /// The endpoint to use: `JIKIMI_IMDS_ENDPOINT`, else the configured one, else
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the link-local default; None when disabled by
    /// configuration or `AWS_EC2_METADATA_DISABLED=true`.
    pub fn endpoint_from(enabled: Option<bool>, configured: Option<&str>) -> Option<String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let disabled_env =
            env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if enabled == Some(false) || disabled_env {
            return None;
        }
        Some(
            env("JIKIMI_IMDS_ENDPOINT")
                .or_else(|| configured.map(String::from))
                .or_else(|| env("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string()),
        )
    }

    /// Why IMDS cannot be used, once a request failed (or it is disabled).
    pub fn unavailable(&self) -> Option<Arc<ImdsError>> {
        match &*self.state.borrow() {
            State::Unavailable(why, _) => Some(why.clone()),
            _ => None,
        }
    }

    fn token(&self) -> Result<String, ImdsError> {
        let mut st = self.state.borrow_mut();
        match &*st {
            State::Token(t, at) if at.elapsed() < TOKEN_REUSE => return Ok(t.clone()),
            State::Unavailable(why, None) => return Err(ImdsError::Earlier(why.clone())),
            State::Unavailable(why, Some(at)) if at.elapsed() < RETRY_AFTER => {
                return Err(ImdsError::Earlier(why.clone()))
            }
            _ => {}
        }
        let ep = self.endpoint.as_ref().ok_or(ImdsError::Disabled)?;
        let res = self.client.send(
            "PUT",
            &ep.url("/latest/api/token"),
            &[("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECS)],
            Some(b""),
        );
        let out = match res {
            Ok(r) if r.status == 200 && !r.body.is_empty() => {
                Ok(String::from_utf8_lossy(&r.body).trim().to_string())
            }
            Ok(r) => Err(ImdsError::TokenRefused { status: r.status }),
            Err(source) => Err(ImdsError::Unreachable {
                host: ep.host_header(),
                source,
            }),
        };
        match out {
            Ok(t) => {
                *st = State::Token(t.clone(), Instant::now());
                Ok(t)
            }
            Err(e) => {
                let e = Arc::new(e);
                *st = State::Unavailable(e.clone(), Some(Instant::now()));
                Err(ImdsError::Earlier(e))
            }
        }
    }

    /// GET a metadata path; `Ok(None)` for 404 (not configured, e.g. tags disabled).
    pub fn get(&self, path: &str) -> Result<Option<String>, ImdsError> {
        let token = self.token()?;
        let ep = self.endpoint.as_ref().ok_or(ImdsError::Disabled)?;
        let r = self
            .client
            .send(
                "GET",
                &ep.url(path),
                &[("x-aws-ec2-metadata-token", &token)],
                None,
            )
            .map_err(|source| {
                let e = Arc::new(ImdsError::Request {
                    path: path.to_string(),
                    source,
                });
                *self.state.borrow_mut() = State::Unavailable(e.clone(), Some(Instant::now()));
                ImdsError::Earlier(e)
            })?;
        match r.status {
            200 => Ok(Some(String::from_utf8_lossy(&r.body).into_owned())),
            404 => Ok(None),
            // The token expired or was revoked: the next call fetches a new one.
            401 => {
                *self.state.borrow_mut() = State::Unknown;
                Err(ImdsError::TokenRejected {
                    path: path.to_string(),
                })
            }
            status => Err(ImdsError::Status {
                path: path.to_string(),
                status,
            }),
        }
    }

    pub fn identity_document(&self) -> Result<IdentityDocument, ImdsError> {
        let text = self
            .get("/latest/dynamic/instance-identity/document")?
            .ok_or(ImdsError::NoDocument)?;
        serde_json::from_str(&text).map_err(ImdsError::Document)
    }

    /// Instance tags, when "instance metadata tags" is enabled on the instance; empty when
    /// it is not (404). Tags with an empty value are kept here; sinks decide.
    pub fn tags(&self) -> Result<Tags, ImdsError> {
        let mut tags = BTreeMap::new();
        let Some(keys) = self.get("/latest/meta-data/tags/instance")? else {
            return Ok(tags);
        };
        for key in keys
            .lines()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .take(MAX_TAGS)
        {
            // IMDS only exposes keys made of URL-safe characters; skip anything else rather
            // than build an odd path.
            if !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:+=@".contains(&b))
            {
                continue;
            }
            if let Some(v) = self.get(&format!("/latest/meta-data/tags/instance/{key}"))? {
                tags.insert(key.to_string(), v);
            }
        }
        Ok(tags)
    }

    /// Role credentials of the instance profile.
    pub fn role_credentials(&self) -> Result<Option<super::sigv4::Credentials>, ImdsError> {
        let Some(list) = self.get("/latest/meta-data/iam/security-credentials/")? else {
            return Ok(None);
        };
        let Some(role) = list.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let body = self
            .get(&format!(
                "/latest/meta-data/iam/security-credentials/{role}"
            ))?
            .ok_or_else(|| ImdsError::NoRoleCredentials {
                role: role.to_string(),
            })?;
        super::sigv4::parse_json_credentials(&body, &format!("instance profile {role}"))
            .map(Some)
            .map_err(ImdsError::RoleCredentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_document_parses() {
        let d: IdentityDocument = serde_json::from_str(
            r#"{"accountId":"123456789012","architecture":"x86_64","availabilityZone":"ap-northeast-2a",
                "imageId":"ami-0abc","instanceId":"i-0123456789abcdef0","instanceType":"t3.micro",
                "pendingTime":"2026-01-02T03:04:05Z","privateIp":"10.0.0.5","region":"ap-northeast-2",
                "version":"2017-09-30","devpayProductCodes":null}"#,
        )
        .unwrap();
        assert_eq!(d.instance_id, "i-0123456789abcdef0");
        assert_eq!(d.private_ip.as_deref(), Some("10.0.0.5"));
    }

    #[test]
    fn disabled_and_unreachable_never_hang() {
        let off = Imds::new(None).unwrap();
        let e = off.identity_document().unwrap_err();
        assert_eq!(e.to_string(), "IMDS is disabled");
        assert!(off.unavailable().is_some());
        // A closed port on loopback: refused at once, and remembered.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let imds = Imds::new(Some(&format!("http://127.0.0.1:{port}"))).unwrap();
        let t = std::time::Instant::now();
        let e = imds.identity_document().unwrap_err();
        let text = crate::error_text::chain(&e);
        assert!(
            text.starts_with(&format!("IMDS not reachable at 127.0.0.1:{port}: ")),
            "the address, then the client's reason: {text}"
        );
        // The remembered failure is the same error, cause included, without a new request.
        let again = imds.tags().unwrap_err();
        assert_eq!(crate::error_text::chain(&again), text);
        assert!(matches!(
            *imds.unavailable().unwrap(),
            ImdsError::Unreachable { .. }
        ));
        assert!(t.elapsed() < Duration::from_secs(3));
    }
}
