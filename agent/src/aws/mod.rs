//! AWS access without the SDK: the host's identity (IMDSv2 or configuration), the credential
//! chain (environment, shared-file profiles including assume-role, web identity and
//! `credential_process`, container, instance profile), SigV4 signing, partition-aware
//! endpoints and a small signed client with retries (jittered backoff, a retry quota,
//! clock-skew correction, cancellation). The sinks in [`crate::sinks`] build payloads;
//! this module only moves them. `docs/aws.md` describes the behaviour and its tests.
//!
//! Why not aws-sdk-rust: the agent calls a handful of operations (BatchImportFindings,
//! PutComplianceItems, PutInventory, GetParameter, EC2 tags, STS AssumeRole*). The SDK
//! crates bring a tokio runtime, hyper and generated models of every operation: an
//! aws-config + aws-sdk-securityhub probe alone is 9-10.6 MB stripped against 6.5 MB for
//! the whole agent, and builds 2.5 times slower (issue 13).

pub mod cli;
pub mod config;
pub mod credentials;
pub mod http;
pub mod identity;
pub mod imds;
pub mod partitions;
pub mod securityhub_read;
pub mod sigv4;
pub mod ssm;
pub mod sts;

pub use identity::Identity;

use crate::net::{Client, Endpoint, HttpError, ProxyError, Retry, Roots, RootsError, UrlError};
use config::AwsConfig;
use credentials::{CredentialsError, ProfileProblem, Source};
use http::{api_error, ApiError, RetryQuota};
use identity::IdentityError;
use imds::{Imds, ImdsError};
use securityhub_read::GetFindingsError;
use sigv4::Credentials;
use std::cell::RefCell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Why the AWS layer could not do what it was asked: set up a session, find credentials,
/// learn the host's identity, read a parameter or findings. Each variant names the service,
/// operation, setting or credential source involved; the cause is its `source()`
/// (`crate::error_text::chain` shows it all). Never holds a key, a token or a full URL.
///
/// The calls themselves ([`Session::call`] and friends) return [`ApiError`], which the
/// sinks count (attempts) and classify (retryable) before naming their operation.
#[derive(thiserror::Error)]
pub enum AwsError {
    #[error(transparent)]
    CaBundle(#[from] RootsError),
    #[error("{var}=`{value}` is neither true nor false")]
    EnvNotBool { var: &'static str, value: String },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Imds(#[from] ImdsError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("{service} endpoint")]
    EndpointUrl {
        service: &'static str,
        #[source]
        source: UrlError,
    },
    /// The partition of `region` has no endpoint of the variant configured.
    #[error("{service} endpoint")]
    Partition {
        service: &'static str,
        region: String,
        #[source]
        source: partitions::PartitionError,
    },
    /// `endpoint` is scheme and host only.
    #[error("{service} endpoint {endpoint}")]
    Proxy {
        service: &'static str,
        endpoint: String,
        #[source]
        source: Box<ProxyError>,
    },
    /// `setting` is where the user can name the region.
    #[error("no region (set {setting})")]
    NoRegion {
        setting: &'static str,
        #[source]
        source: Box<ImdsError>,
    },
    #[error("{origin}: not a parameter name")]
    ParameterName { origin: String },
    /// `--config ssm:NAME`: `origin` is `ssm:NAME`.
    #[error("{origin}")]
    ConfigParameter {
        origin: String,
        #[source]
        source: Box<AwsError>,
    },
    #[error("ssm GetParameter {name} in {region}")]
    GetParameter {
        name: String,
        region: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("parameter {name} is a StringList; store the configuration as String or SecureString")]
    StringList { name: String },
    #[error("GetParameter {name} returned no value")]
    NoValue { name: String },
    #[error(transparent)]
    GetFindings(#[from] GetFindingsError),
}
crate::error_text::debug_as_display!(AwsError);

impl AwsError {
    /// The failed API call behind this error, if one is (its status, AWS error code and
    /// whether a later attempt may succeed: `retryable`, `is_throttling()`).
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            AwsError::GetParameter { source, .. } => Some(source),
            AwsError::ConfigParameter { source, .. } => source.api(),
            AwsError::GetFindings(GetFindingsError::Call { source, .. }) => Some(source),
            AwsError::Credentials(
                CredentialsError::AssumeRole { source, .. }
                | CredentialsError::WebIdentity { source, .. },
            ) => Some(source),
            _ => None,
        }
    }
}

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

/// STS speaks the Query protocol too (AssumeRole, AssumeRoleWithWebIdentity).
pub const STS: Service = Service {
    name: "sts",
    env_id: "STS",
    content_type: "application/x-www-form-urlencoded; charset=utf-8",
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

/// Credentials start being refreshed this long before they expire; until they expire, the
/// cached ones keep being used when a refresh fails.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(300);
/// Within the refresh window, a refresh is tried at most this often (the instance profile
/// hands out the same credentials until shortly before they expire).
const REFRESH_RETRY: Duration = Duration::from_secs(60);
/// Credentials this close to expiry are no longer used.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// Error codes that a wrong clock causes; retried once with the server's time.
const SKEW_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
];
/// A difference between the host's and the server's clock below this is not skew.
const MIN_SKEW: Duration = Duration::from_secs(60);

/// Correction of the host's clock learned from AWS `Date` headers, in milliseconds, for
/// every request of the process.
static CLOCK_CORRECTION_MS: AtomicI64 = AtomicI64::new(0);

/// TEST ONLY: `JIKIMI_TEST_CLOCK_SKEW_SECS` shifts the signing clock by that many seconds,
/// to simulate a host whose clock is wrong (tests/aws/test_credentials.py). It only ever
/// makes signatures older or newer; it never touches the system clock.
fn test_clock_skew_ms() -> i64 {
    std::env::var("JIKIMI_TEST_CLOCK_SKEW_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map(|s| s.clamp(-86_400 * 365, 86_400 * 365) * 1000)
        .unwrap_or(0)
}

fn shift(t: SystemTime, ms: i64) -> SystemTime {
    if ms >= 0 {
        t + Duration::from_millis(ms as u64)
    } else {
        t - Duration::from_millis(ms.unsigned_abs())
    }
}

/// The host's clock as the signer sees it (test skew included), without the correction.
fn host_clock() -> SystemTime {
    shift(SystemTime::now(), test_clock_skew_ms())
}

/// The signing time: the host's clock corrected by what AWS `Date` headers taught.
pub fn signing_time() -> SystemTime {
    shift(host_clock(), CLOCK_CORRECTION_MS.load(Ordering::Relaxed))
}

/// The correction in effect, in milliseconds (for messages and tests).
pub fn clock_correction_ms() -> i64 {
    CLOCK_CORRECTION_MS.load(Ordering::Relaxed)
}

/// How a request is authenticated.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// The session's credentials (resolved and refreshed as needed).
    Session,
    /// Given credentials (STS AssumeRole with the source credentials).
    With(&'a Credentials),
    /// Unsigned (STS AssumeRoleWithWebIdentity).
    Unsigned,
}

#[derive(Clone)]
struct Cached {
    creds: Credentials,
    /// When a refresh was last tried within the refresh window.
    tried: Option<Instant>,
}

/// AWS access for one run: configuration, the IMDS session, the HTTP clients; credentials
/// come from a process-wide cache ([`Session::credentials`]).
pub struct Session {
    cfg: AwsConfig,
    pub imds: Imds,
    /// One HTTP client per endpoint URL (each may have its own proxy).
    clients: RefCell<Vec<(String, Client)>>,
    roots: Roots,
    retry: Retry,
    variant: partitions::Variant,
}

/// An environment variable, `None` when unset or blank (the one helper of the AWS client).
pub(crate) fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// A warning on stderr (the daemon's log): credentials kept past a failed refresh, a
/// clock corrected.
fn warn(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "jikimi: warning: {msg}");
}

/// `true` / `false` (any case) of an environment variable; an error for anything else.
fn env_bool(var: &'static str) -> Result<Option<bool>, AwsError> {
    match env(var) {
        None => Ok(None),
        Some(v) if v.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(value) => Err(AwsError::EnvNotBool { var, value }),
    }
}

impl Session {
    pub fn new(cfg: &AwsConfig) -> Result<Session, AwsError> {
        let imds_ep = Imds::endpoint_from(cfg.imds, cfg.imds_endpoint.as_deref());
        let ca = cfg
            .ca_bundle
            .clone()
            .or_else(|| env("AWS_CA_BUNDLE").map(std::path::PathBuf::from));
        let roots = match ca {
            Some(p) => Roots::from_pem_file(&p)?,
            None => Roots::default(),
        };
        // Endpoint variants: the agent's configuration, else the environment, else the
        // selected profile of the shared config file.
        let profile_flag = |key: &str| -> Result<Option<bool>, AwsError> {
            let name = cfg
                .profile
                .clone()
                .or_else(|| env("AWS_PROFILE"))
                .unwrap_or_else(|| "default".into());
            let files = credentials::SharedFiles::load().map_err(CredentialsError::from)?;
            let Some(p) = files.profile(&name) else {
                return Ok(None);
            };
            match p.get(key) {
                None => Ok(None),
                Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
                Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
                Some(value) => Err(CredentialsError::Profile {
                    profile: name,
                    at: p.at(key),
                    problem: ProfileProblem::NotBool {
                        key: key.to_string(),
                        value,
                    },
                }
                .into()),
            }
        };
        let fips = match cfg.use_fips_endpoint {
            Some(b) => b,
            None => match env_bool("AWS_USE_FIPS_ENDPOINT")? {
                Some(b) => b,
                None => profile_flag("use_fips_endpoint")?.unwrap_or(false),
            },
        };
        let dual_stack = match cfg.use_dualstack_endpoint {
            Some(b) => b,
            None => match env_bool("AWS_USE_DUALSTACK_ENDPOINT")? {
                Some(b) => b,
                None => profile_flag("use_dualstack_endpoint")?.unwrap_or(false),
            },
        };
        Ok(Session {
            roots,
            imds: Imds::new(imds_ep.as_deref())?,
            cfg: cfg.clone(),
            clients: RefCell::new(Vec::new()),
            retry: Retry::new(cfg.max_attempts()),
            variant: partitions::Variant { fips, dual_stack },
        })
    }

    pub fn config(&self) -> &AwsConfig {
        &self.cfg
    }

    /// The host's identity (see [`Identity::resolve`]).
    pub fn identity(&self, host: &crate::report::HostInfo) -> Result<Identity, IdentityError> {
        Identity::resolve(&self.cfg, &self.imds, host)
    }

    /// Credentials for the next request. The source is decided afresh (no network: the
    /// environment and the shared files, so rotated static keys are picked up at once);
    /// credentials that expire are cached for the whole process per source: used while
    /// more than [`REFRESH_WINDOW`] remains, refreshed within it at most every minute, and
    /// kept while still valid when the refresh fails. A daemon thus calls STS or IMDS once
    /// per credential lifetime, not once per scan or per request.
    pub fn credentials(&self) -> Result<Credentials, CredentialsError> {
        static CACHE: std::sync::Mutex<Option<(Source, Cached)>> = std::sync::Mutex::new(None);
        let now = SystemTime::now();
        let src = credentials::plan(self.cfg.profile.as_deref())?;
        if let Source::Static(c) = &src {
            return Ok(c.clone());
        }
        let cached = CACHE.lock().ok().and_then(|g| {
            g.as_ref()
                .filter(|(s, _)| *s == src)
                .map(|(_, c)| c.clone())
        });
        let store = |c: Cached| {
            if let Ok(mut g) = CACHE.lock() {
                *g = Some((src.clone(), c));
            }
        };
        if let Some(c) = &cached {
            let left = c
                .creds
                .expires
                .map(|e| e.duration_since(now).unwrap_or_default());
            match left {
                None => return Ok(c.creds.clone()),
                Some(l) if l > REFRESH_WINDOW => return Ok(c.creds.clone()),
                Some(l)
                    if l > EXPIRY_MARGIN
                        && c.tried.is_some_and(|t| t.elapsed() < REFRESH_RETRY) =>
                {
                    return Ok(c.creds.clone())
                }
                _ => {}
            }
        }
        match (self.fetch(&src), cached) {
            (Ok(new), _) => {
                let in_window = new
                    .expires
                    .is_some_and(|e| e.duration_since(now).unwrap_or_default() <= REFRESH_WINDOW);
                store(Cached {
                    creds: new.clone(),
                    tried: in_window.then(Instant::now),
                });
                Ok(new)
            }
            (Err(e), Some(old))
                if old
                    .creds
                    .expires
                    .is_some_and(|x| x.duration_since(now).unwrap_or_default() > EXPIRY_MARGIN) =>
            {
                store(Cached {
                    creds: old.creds.clone(),
                    tried: Some(Instant::now()),
                });
                warn(&format!(
                    "refreshing AWS credentials failed ({}); using the current ones ({}) \
                     until they expire",
                    crate::error_text::chain(&e),
                    old.creds.source
                ));
                Ok(old.creds)
            }
            (Err(e), _) => Err(e),
        }
    }

    /// Fetches the credentials of a source (STS for roles).
    fn fetch(&self, src: &Source) -> Result<Credentials, CredentialsError> {
        if let Some(r) = credentials::fetch_simple(src, &self.imds) {
            return r;
        }
        match src {
            Source::AssumeRole(a) => {
                let base = self.fetch(&a.source)?;
                sts::assume_role(self, a, &base)
            }
            Source::WebIdentity {
                role_arn,
                token_file,
                session_name,
                region,
            } => {
                let token = credentials::read_token_file(token_file)?;
                sts::assume_role_with_web_identity(
                    self,
                    role_arn,
                    session_name,
                    &token,
                    region.as_deref(),
                )
            }
            _ => unreachable!("fetch_simple handles the other sources"),
        }
    }

    /// Endpoint of a service: `aws.endpoint_url`, else `AWS_ENDPOINT_URL_<SERVICE>`, else
    /// `AWS_ENDPOINT_URL`, else the regional endpoint of the region's partition (FIPS and
    /// dual-stack variants as configured).
    pub fn endpoint(&self, svc: Service, region: &str) -> Result<Endpoint, AwsError> {
        let url = match self
            .cfg
            .endpoint_url
            .clone()
            .or_else(|| env(&format!("AWS_ENDPOINT_URL_{}", svc.env_id)))
            .or_else(|| env("AWS_ENDPOINT_URL"))
        {
            Some(u) => u,
            None => partitions::endpoint(svc.name, region, self.variant).map_err(|source| {
                AwsError::Partition {
                    service: svc.name,
                    region: region.to_string(),
                    source,
                }
            })?,
        };
        Endpoint::parse(&url).map_err(|source| AwsError::EndpointUrl {
            service: svc.name,
            source,
        })
    }

    fn client_for(&self, svc: Service, ep: &Endpoint) -> Result<Client, AwsError> {
        let key = ep.url("");
        let mut clients = self.clients.borrow_mut();
        if let Some((_, c)) = clients.iter().find(|(k, _)| *k == key) {
            return Ok(c.clone());
        }
        let c = Client::api(ep, &self.roots).map_err(|source| AwsError::Proxy {
            service: svc.name,
            endpoint: crate::redact::shown(&key),
            source: Box::new(source),
        })?;
        clients.push((key, c.clone()));
        Ok(c)
    }

    /// A signed JSON POST with retries on throttling, 5xx and network errors (full-jitter
    /// exponential backoff, `aws.max_attempts` attempts, within the retry quota). `target`
    /// is the `X-Amz-Target` of JSON-1.1 services.
    pub fn call(
        &self,
        svc: Service,
        region: &str,
        path: &str,
        target: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        let (r, attempts) = self.send(svc, region, path, target, body, Auth::Session)?;
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

    /// [`Session::call`] with the HTTP method PATCH (REST-JSON operations such as Security
    /// Hub's BatchUpdateFindings).
    pub fn call_patch(
        &self,
        svc: Service,
        region: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        let (r, attempts) =
            self.send_method("PATCH", svc, region, path, None, body, Auth::Session)?;
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
        let (r, attempts) = self.send(svc, region, "/", None, body.as_bytes(), Auth::Session)?;
        Ok((String::from_utf8_lossy(&r.body).into_owned(), attempts))
    }

    /// An STS Query-protocol POST signed with `creds`, or unsigned when `None`.
    pub(crate) fn call_sts(
        &self,
        region: &str,
        body: &str,
        creds: Option<&Credentials>,
    ) -> Result<String, ApiError> {
        let auth = match creds {
            Some(c) => Auth::With(c),
            None => Auth::Unsigned,
        };
        let (r, _) = self.send(STS, region, "/", None, body.as_bytes(), auth)?;
        Ok(String::from_utf8_lossy(&r.body).into_owned())
    }

    /// Signs and sends a POST, retrying (see [`Session::send_method`]).
    fn send(
        &self,
        svc: Service,
        region: &str,
        path: &str,
        target: Option<&str>,
        body: &[u8],
        auth_mode: Auth,
    ) -> Result<(crate::net::Response, u32), ApiError> {
        self.send_method("POST", svc, region, path, target, body, auth_mode)
    }

    /// Signs and sends a request, retrying; the 2xx response and the attempts it took.
    ///
    /// Retries: retryable errors, within `aws.max_attempts` and the process's retry quota,
    /// after a full-jitter backoff that a cancellation request cuts short (no retry then).
    /// Clock skew: an authentication error whose answer's `Date` is more than a minute off
    /// the host's clock sets the process's clock correction and is retried once.
    #[allow(clippy::too_many_arguments, reason = "the send of every call shape")]
    fn send_method(
        &self,
        method: &str,
        svc: Service,
        region: &str,
        path: &str,
        target: Option<&str>,
        body: &[u8],
        auth_mode: Auth,
    ) -> Result<(crate::net::Response, u32), ApiError> {
        let fail = |code: &str, message: String| ApiError {
            status: None,
            code: code.into(),
            message,
            retryable: false,
            attempts: 0,
        };
        let configuration = |e: AwsError| fail("Configuration", crate::error_text::chain(&e));
        let ep = self.endpoint(svc, region).map_err(configuration)?;
        let url = ep.url(path);
        let host = ep.host_header();
        let client = self.client_for(svc, &ep).map_err(configuration)?;
        let signed_path = format!("{}{path}", ep.base);
        let quota = RetryQuota::global();
        let mut attempt = 0;
        let mut retry_cost = 0;
        let mut skew_retried = false;
        loop {
            attempt += 1;
            if crate::cancel::requested() {
                return Err(ApiError {
                    attempts: attempt - 1,
                    retryable: true,
                    ..fail("Cancelled", HttpError::Cancelled.to_string())
                });
            }
            let creds = match auth_mode {
                Auth::Session => Some(
                    self.credentials()
                        .map_err(|e| fail("NoCredentials", crate::error_text::chain(&e)))?,
                ),
                Auth::With(c) => Some(c.clone()),
                Auth::Unsigned => None,
            };
            let mut extra: Vec<(&str, &str)> = vec![("content-type", svc.content_type)];
            if let Some(t) = target {
                extra.push(("x-amz-target", t));
            }
            let auth = match &creds {
                Some(creds) => sigv4::sign(
                    &sigv4::Request {
                        method,
                        host: &host,
                        path: &signed_path,
                        query: "",
                        headers: &extra,
                        body,
                        service: svc.name,
                        region,
                        time: signing_time(),
                    },
                    creds,
                ),
                None => Vec::new(),
            };
            let mut headers = extra.clone();
            headers.push(("host", &host));
            for (k, v) in &auth {
                headers.push((k, v));
            }
            let mut timeout = false;
            let err = match client.send_cancellable(method, &url, &headers, Some(body)) {
                Ok(r) if (200..300).contains(&r.status) => {
                    quota.release(if retry_cost > 0 { retry_cost } else { 1 });
                    return Ok((r, attempt));
                }
                Ok(r) => {
                    let e = api_error(&r);
                    if !skew_retried && SKEW_CODES.contains(&e.code.as_str()) {
                        if let Some(server) = r.date {
                            let local = host_clock();
                            let diff_ms = crate::time::unix_ms(server) as i64
                                - crate::time::unix_ms(local) as i64;
                            let current = CLOCK_CORRECTION_MS.load(Ordering::Relaxed);
                            if (diff_ms - current).unsigned_abs() > MIN_SKEW.as_millis() as u64 {
                                CLOCK_CORRECTION_MS.store(diff_ms, Ordering::Relaxed);
                                warn(&format!(
                                    "the host clock is {:+} s off AWS's; signing with the \
                                     corrected time",
                                    -diff_ms / 1000
                                ));
                                skew_retried = true;
                                attempt -= 1;
                                continue;
                            }
                        }
                    }
                    e
                }
                Err(e @ HttpError::Cancelled) => {
                    return Err(ApiError {
                        attempts: attempt,
                        retryable: true,
                        ..fail("Cancelled", e.to_string())
                    })
                }
                Err(e) => {
                    timeout = true;
                    ApiError {
                        status: None,
                        code: "Transport".into(),
                        // the endpoint as scheme and host: which one did not answer
                        message: format!(
                            "{}: {}",
                            crate::redact::shown(&url),
                            crate::error_text::chain(&e)
                        ),
                        retryable: true,
                        attempts: 1,
                    }
                }
            };
            if !err.retryable || attempt >= self.retry.max_attempts {
                return Err(ApiError {
                    attempts: attempt,
                    ..err
                });
            }
            let cost = if timeout {
                http::TIMEOUT_RETRY_COST
            } else {
                http::RETRY_COST
            };
            if !quota.acquire(cost) {
                return Err(ApiError {
                    attempts: attempt,
                    message: format!(
                        "{} (not retried: the retry quota is exhausted)",
                        err.message
                    ),
                    ..err
                });
            }
            retry_cost += cost;
            if !crate::cancel::sleep(self.retry.delay(attempt)) {
                return Err(ApiError {
                    attempts: attempt,
                    message: format!("{} (not retried: the agent is stopping)", err.message),
                    ..err
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// Runs `name` again in a child process with `JIKIMI_TEST_CHILD` set: cancellation is
    /// process-wide, and the other unit tests share this process.
    fn in_child(name: &str) {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads", "1"])
            .env("JIKIMI_TEST_CHILD", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "{text}");
    }

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "secret".into(),
            session_token: None,
            expires: None,
            source: "test".into(),
        }
    }

    fn session(url: &str, attempts: u32) -> Session {
        Session::new(&AwsConfig {
            endpoint_url: Some(url.into()),
            imds: Some(false),
            max_attempts: Some(attempts),
            use_fips_endpoint: Some(false),
            use_dualstack_endpoint: Some(false),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn a_black_holed_call_stops_when_cancelled() {
        if std::env::var_os("JIKIMI_TEST_CHILD").is_none() {
            return in_child("aws::tests::a_black_holed_call_stops_when_cancelled");
        }
        // Accepts and never answers: without cancellation the call waits 60 s.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let s = session(&url, 10);
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            crate::cancel::request();
        });
        let t = Instant::now();
        let e = s.call_sts("us-east-1", "Action=GetCallerIdentity", Some(&creds()));
        let e = e.unwrap_err();
        assert_eq!(e.code, "Cancelled", "{e}");
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        drop(l);
    }

    #[test]
    fn retries_and_backoff_stop_when_cancelled() {
        if std::env::var_os("JIKIMI_TEST_CHILD").is_none() {
            return in_child("aws::tests::retries_and_backoff_stop_when_cancelled");
        }
        // Answers 503 at once, counting requests.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c2 = count.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                c2.fetch_add(1, Ordering::SeqCst);
                let _ = conn.write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        let s = session(&url, 10);
        // The first attempts run; a stop request during the backoff ends the call.
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(250));
            crate::cancel::request();
        });
        let t = Instant::now();
        let e = s
            .call_sts("us-east-1", "Action=GetCallerIdentity", Some(&creds()))
            .unwrap_err();
        let elapsed = t.elapsed();
        assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
        assert!(e.attempts < 10, "{e}");
        let n = count.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            count.load(Ordering::SeqCst),
            n,
            "no attempt after the stop request"
        );
        assert!(
            e.message.contains("stopping") || e.code == "Cancelled",
            "{e}"
        );
    }

    /// A server that answers every request with `status`, counting them.
    fn answering(status: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicU32>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c2 = count.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { return };
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                c2.fetch_add(1, Ordering::SeqCst);
                let _ = conn.write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .as_bytes(),
                );
            }
        });
        (url, count)
    }

    #[test]
    fn the_retry_quota_caps_retries_during_an_outage() {
        if std::env::var_os("JIKIMI_TEST_CHILD").is_none() {
            return in_child("aws::tests::the_retry_quota_caps_retries_during_an_outage");
        }
        let (url, count) = answering("503 Service Unavailable");
        let mut s = session(&url, 10);
        s.retry.base = Duration::from_millis(1);
        s.retry.cap = Duration::from_millis(1);
        let mut attempts = Vec::new();
        for _ in 0..20 {
            let e = s
                .call_sts("us-east-1", "Action=GetCallerIdentity", Some(&creds()))
                .unwrap_err();
            attempts.push(e.attempts);
            if e.attempts == 1 {
                assert!(e.message.contains("retry quota is exhausted"), "{e}");
            }
        }
        // 500 tokens at 5 a retry: 100 retries in all, then one attempt per call.
        let retries: u32 = attempts.iter().map(|a| a - 1).sum();
        assert_eq!(
            retries,
            http::QUOTA_CAPACITY / http::RETRY_COST,
            "{attempts:?}"
        );
        assert_eq!(*attempts.last().unwrap(), 1);
        assert_eq!(count.load(Ordering::SeqCst), 100 + 20);
        // Successes refill the bucket.
        let (ok_url, _) = answering("200 OK");
        let ok = session(&ok_url, 10);
        for _ in 0..5 {
            ok.call_sts("us-east-1", "Action=GetCallerIdentity", Some(&creds()))
                .unwrap();
        }
        assert_eq!(RetryQuota::global().available(), 5);
    }

    #[test]
    fn errors_name_service_operation_and_status_and_keep_their_cause() {
        let denied = ApiError {
            status: Some(400),
            code: "ParameterNotFound".into(),
            message: "Parameter /jikimi/agent not found.".into(),
            retryable: false,
            attempts: 1,
        };
        let e = AwsError::ConfigParameter {
            origin: "ssm:/jikimi/agent".into(),
            source: Box::new(AwsError::GetParameter {
                name: "/jikimi/agent".into(),
                region: "ap-northeast-2".into(),
                source: Box::new(denied.clone()),
            }),
        };
        assert_eq!(e.to_string(), "ssm:/jikimi/agent");
        assert_eq!(
            crate::error_text::chain(&e),
            "ssm:/jikimi/agent: ssm GetParameter /jikimi/agent in ap-northeast-2: \
             HTTP 400 ParameterNotFound: Parameter /jikimi/agent not found."
        );
        // The API error itself is reachable for code that wants its fields.
        assert_eq!(e.api(), Some(&denied));
        assert!(!e.api().unwrap().retryable);
        let e = AwsError::EnvNotBool {
            var: "AWS_USE_FIPS_ENDPOINT",
            value: "yes".into(),
        };
        assert_eq!(
            e.to_string(),
            "AWS_USE_FIPS_ENDPOINT=`yes` is neither true nor false"
        );
    }

    #[test]
    fn a_bad_endpoint_is_a_configuration_error_that_hides_the_url() {
        let s = session("ftp://user:pa55word@example.com/s3cr3t", 1);
        let e = s.endpoint(SECURITY_HUB, "us-east-1").unwrap_err();
        assert!(matches!(
            e,
            AwsError::EndpointUrl {
                service: "securityhub",
                ..
            }
        ));
        let text = crate::error_text::chain(&e);
        assert!(text.starts_with("securityhub endpoint: `ftp://"), "{text}");
        assert!(
            !text.contains("pa55word") && !text.contains("s3cr3t"),
            "{text}"
        );
        // A call fails before signing or sending, and says why.
        let e = s.call(SECURITY_HUB, "us-east-1", "/findings/import", None, b"{}");
        let e = e.unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.retryable, e.attempts),
            ("Configuration", false, 0)
        );
        assert_eq!(e.message, text);
    }

    #[test]
    fn a_transport_error_names_the_endpoint_and_is_retryable() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let s = session(&format!("http://{addr}"), 1);
        let e = s
            .call_sts("us-east-1", "Action=GetCallerIdentity", Some(&creds()))
            .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.retryable, e.attempts),
            ("Transport", true, 1)
        );
        assert!(e.message.starts_with(&format!("http://{addr}/…: ")), "{e}");
        assert!(!e.is_throttling());
    }

    #[test]
    fn signing_time_follows_the_correction() {
        let before = CLOCK_CORRECTION_MS.load(Ordering::Relaxed);
        assert_eq!(before, 0);
        let d = crate::time::unix_ms(signing_time()) as i64
            - crate::time::unix_ms(SystemTime::now()) as i64;
        assert!(d.abs() < 1000);
    }
}
