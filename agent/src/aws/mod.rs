//! AWS access without the SDK: the host's identity (IMDSv2 or configuration), the credential
//! chain, SigV4 signing and a small signed-JSON client with retries. The sinks in
//! [`crate::sinks`] build payloads; this module only moves them.
//!
//! Why not aws-sdk-rust: the agent calls three operations (BatchImportFindings,
//! PutComplianceItems, GetParameter). The SDK crates bring a tokio runtime, hyper and
//! generated models of every operation, which costs minutes of build time and megabytes of
//! binary and resident memory for an agent that must idle under 12 MB.

pub mod config;
pub mod credentials;
pub mod http;
pub mod identity;
pub mod imds;
pub mod sigv4;
pub mod ssm;

pub use identity::Identity;
pub use ssm::load_config;

use config::AwsConfig;
use http::{api_error, ApiError, Client, Endpoint, Retry, Roots};
use imds::Imds;
use sigv4::Credentials;
use std::cell::RefCell;
use std::time::{Duration, SystemTime};

/// An AWS service the agent calls.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// Endpoint prefix and SigV4 signing name.
    pub name: &'static str,
    /// Suffix of `AWS_ENDPOINT_URL_<SUFFIX>`.
    pub env_id: &'static str,
    /// `application/json` (REST-JSON) or `application/x-amz-json-1.1`.
    pub content_type: &'static str,
}

pub const SECURITY_HUB: Service = Service {
    name: "securityhub",
    env_id: "SECURITYHUB",
    content_type: "application/json",
};

pub const SSM: Service = Service {
    name: "ssm",
    env_id: "SSM",
    content_type: "application/x-amz-json-1.1",
};

/// EC2 speaks the Query protocol: a form-encoded POST, XML answers ([`Session::call_query`]).
pub const EC2: Service = Service {
    name: "ec2",
    env_id: "EC2",
    content_type: "application/x-www-form-urlencoded; charset=utf-8",
};

/// Percent-encodes a form value or name: everything but RFC 3986 unreserved characters.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A Query-protocol body: `Action=...&Version=...&k=v...`, each part form-encoded.
pub fn query_body(action: &str, version: &str, params: &[(String, String)]) -> String {
    let mut out = format!(
        "Action={}&Version={}",
        form_encode(action),
        form_encode(version)
    );
    for (k, v) in params {
        out.push('&');
        out.push_str(&form_encode(k));
        out.push('=');
        out.push_str(&form_encode(v));
    }
    out
}

/// A successful call.
#[derive(Debug, Clone)]
pub struct Reply {
    pub body: serde_json::Value,
    /// HTTP attempts it took.
    pub attempts: u32,
}

/// AWS access for one run: configuration, the IMDS session, credentials (resolved on first
/// use, refreshed when they expire within five minutes) and the HTTP client.
pub struct Session {
    cfg: AwsConfig,
    pub imds: Imds,
    creds: RefCell<Option<Credentials>>,
    /// One HTTP client per endpoint URL (each may have its own proxy).
    clients: RefCell<Vec<(String, Client)>>,
    roots: Roots,
    retry: Retry,
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

impl Session {
    pub fn new(cfg: &AwsConfig) -> Result<Session, String> {
        let imds_ep = Imds::endpoint_from(cfg.imds, cfg.imds_endpoint.as_deref());
        let ca = cfg
            .ca_bundle
            .clone()
            .or_else(|| env("AWS_CA_BUNDLE").map(std::path::PathBuf::from));
        let roots = match ca {
            Some(p) => Roots::from_pem_file(&p)?,
            None => Roots::default(),
        };
        Ok(Session {
            roots,
            imds: Imds::new(imds_ep.as_deref())?,
            cfg: cfg.clone(),
            creds: RefCell::new(None),
            clients: RefCell::new(Vec::new()),
            retry: Retry::new(cfg.max_attempts()),
        })
    }

    pub fn config(&self) -> &AwsConfig {
        &self.cfg
    }

    /// The host's identity (see [`Identity::resolve`]).
    pub fn identity(&self, host: &crate::run::HostInfo) -> Result<Identity, String> {
        Identity::resolve(&self.cfg, &self.imds, host)
    }

    pub fn credentials(&self) -> Result<Credentials, String> {
        let mut c = self.creds.borrow_mut();
        let fresh = c.as_ref().is_some_and(|c| {
            c.expires.is_none_or(|e| {
                e.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > Duration::from_secs(300))
            })
        });
        if !fresh {
            *c = Some(credentials::resolve(
                self.cfg.profile.as_deref(),
                &self.imds,
            )?);
        }
        Ok(c.clone().expect("set above"))
    }

    /// Endpoint of a service: `aws.endpoint_url`, else `AWS_ENDPOINT_URL_<SERVICE>`, else
    /// `AWS_ENDPOINT_URL`, else the regional AWS endpoint.
    pub fn endpoint(&self, svc: Service, region: &str) -> Result<Endpoint, String> {
        let url = self
            .cfg
            .endpoint_url
            .clone()
            .or_else(|| env(&format!("AWS_ENDPOINT_URL_{}", svc.env_id)))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| {
                format!(
                    "https://{}.{region}.{}",
                    svc.name,
                    identity::dns_suffix(identity::partition(region))
                )
            });
        Endpoint::parse(&url).map_err(|e| format!("{} endpoint: {e}", svc.name))
    }

    fn client_for(&self, ep: &Endpoint) -> Result<Client, String> {
        let key = ep.url("");
        let mut clients = self.clients.borrow_mut();
        if let Some((_, c)) = clients.iter().find(|(k, _)| *k == key) {
            return Ok(c.clone());
        }
        let c = Client::api(ep, &self.roots)?;
        clients.push((key, c.clone()));
        Ok(c)
    }

    /// A signed JSON POST with retries on throttling, 5xx and network errors (full-jitter
    /// exponential backoff, `aws.max_attempts` attempts). `target` is the `X-Amz-Target` of
    /// JSON-1.1 services.
    pub fn call(
        &self,
        svc: Service,
        region: &str,
        path: &str,
        target: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        let (r, attempts) = self.send_signed(svc, region, path, target, body)?;
        let body = if r.body.is_empty() {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(&r.body).map_err(|e| ApiError {
                status: Some(r.status),
                code: "InvalidResponse".into(),
                message: format!("response is not JSON: {e}"),
                retryable: false,
                attempts,
            })?
        };
        Ok(Reply { body, attempts })
    }

    /// A signed Query-protocol POST (EC2): `body` from [`query_body`]; returns the XML
    /// answer and the attempts it took. Retries like [`Session::call`].
    pub fn call_query(
        &self,
        svc: Service,
        region: &str,
        body: &str,
    ) -> Result<(String, u32), ApiError> {
        let (r, attempts) = self.send_signed(svc, region, "/", None, body.as_bytes())?;
        Ok((String::from_utf8_lossy(&r.body).into_owned(), attempts))
    }

    /// Signs and sends a POST, retrying; the 2xx response and the attempts it took.
    fn send_signed(
        &self,
        svc: Service,
        region: &str,
        path: &str,
        target: Option<&str>,
        body: &[u8],
    ) -> Result<(http::Response, u32), ApiError> {
        let fail = |code: &str, message: String| ApiError {
            status: None,
            code: code.into(),
            message,
            retryable: false,
            attempts: 0,
        };
        let ep = self
            .endpoint(svc, region)
            .map_err(|e| fail("Configuration", e))?;
        let url = ep.url(path);
        let host = ep.host_header();
        let client = self.client_for(&ep).map_err(|e| fail("Configuration", e))?;
        let signed_path = format!("{}{path}", ep.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let creds = self.credentials().map_err(|e| fail("NoCredentials", e))?;
            let mut extra: Vec<(&str, &str)> = vec![("content-type", svc.content_type)];
            if let Some(t) = target {
                extra.push(("x-amz-target", t));
            }
            let auth = sigv4::sign(
                &sigv4::Request {
                    method: "POST",
                    host: &host,
                    path: &signed_path,
                    query: "",
                    headers: &extra,
                    body,
                    service: svc.name,
                    region,
                    time: SystemTime::now(),
                },
                &creds,
            );
            let mut headers = extra.clone();
            headers.push(("host", &host));
            for (k, v) in &auth {
                headers.push((k, v));
            }
            let err = match client.send("POST", &url, &headers, Some(body)) {
                Ok(r) if (200..300).contains(&r.status) => return Ok((r, attempt)),
                Ok(r) => api_error(&r),
                Err(e) => ApiError {
                    status: None,
                    code: "Transport".into(),
                    message: e,
                    retryable: true,
                    attempts: 1,
                },
            };
            if !err.retryable || attempt >= self.retry.max_attempts {
                return Err(ApiError {
                    attempts: attempt,
                    ..err
                });
            }
            std::thread::sleep(self.retry.delay(attempt));
        }
    }
}
