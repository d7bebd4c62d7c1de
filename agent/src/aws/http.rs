//! HTTP for AWS: endpoints, one blocking client (ureq over rustls, no OpenSSL, no async
//! runtime), error classification, jittered exponential backoff and the retry quota (a
//! token bucket, as the SDKs' standard retry mode has), so that a fleet facing an outage
//! stops retrying instead of multiplying the load.

use super::env;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

/// A parsed endpoint URL: `scheme://host[:port][/base]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// Host name or address, with `[...]` kept for IPv6.
    pub host: String,
    pub port: Option<u16>,
    /// Path prefix without the trailing slash (usually empty).
    pub base: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        // errors show scheme and host only: a URL may carry credentials (userinfo, a token
        // in its path or query)
        let url_shown = crate::redact::shown(url);
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("`{url_shown}` is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty()
            || authority.contains('@')
            || path.contains(['?', '#'])
            || !authority
                .bytes()
                .chain(path.bytes())
                .all(|b| b.is_ascii_graphic())
        {
            return Err(format!(
                "`{url_shown}` is not a plain endpoint URL (scheme://host[:port][/path])"
            ));
        }
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let p: u16 = authority[i + 1..]
                    .parse()
                    .map_err(|_| format!("`{url_shown}`: bad port"))?;
                (&authority[..i], Some(p))
            }
            _ => (authority, None),
        };
        if host.is_empty() {
            return Err(format!("`{url_shown}`: no host"));
        }
        Ok(Endpoint {
            https,
            host: host.to_ascii_lowercase(),
            port,
            base: path.trim_end_matches('/').to_string(),
        })
    }

    /// The `Host` header: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        match self.port {
            Some(p) if p != if self.https { 443 } else { 80 } => format!("{}:{p}", self.host),
            _ => self.host.clone(),
        }
    }

    /// Full URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}://{}{}{path}",
            if self.https { "https" } else { "http" },
            self.host_header(),
            self.base
        )
    }
}

/// A response, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// `x-amzn-errortype`, when present.
    pub error_type: Option<String>,
    /// The `Date` header (the server's clock), when present and valid.
    pub date: Option<SystemTime>,
    pub body: Vec<u8>,
}

/// Parses an HTTP date in the IMF-fixdate form every AWS endpoint sends
/// (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let rest = s.split_once(", ")?.1;
    let mut it = rest.split(' ');
    let day: u32 = it.next()?.parse().ok()?;
    let mon = it.next()?;
    let year: i64 = it.next()?.parse().ok()?;
    let hms = it.next()?;
    if it.next()? != "GMT" || it.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|x| *x == mon)? + 1;
    let t: Vec<u32> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if t.len() != 3 || t[0] > 23 || t[1] > 59 || t[2] > 60 || !(1..=31).contains(&day) {
        return None;
    }
    crate::time::parse_rfc3339(&format!(
        "{year:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}Z",
        t[0], t[1], t[2]
    ))
}

/// Largest response body read (Security Hub and SSM answers are small).
const MAX_BODY: u64 = 8 << 20;

/// A blocking HTTP client. `Clone` is cheap (shared connection pool).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

/// Does a `NO_PROXY` list (`*`, `host`, `.domain`, `*.domain`, comma-separated) cover `host`?
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    list.split(',').map(str::trim).any(|e| {
        let e = e.trim_start_matches('*').trim_start_matches('.');
        let e = e.trim_start_matches('[').trim_end_matches(']');
        e == "*"
            || (!e.is_empty()
                && (host.eq_ignore_ascii_case(e) || {
                    let suffix = format!(".{}", e.to_ascii_lowercase());
                    host.to_ascii_lowercase().ends_with(&suffix)
                }))
    }) || list.trim() == "*"
}

/// The proxy for an endpoint, read from the environment the way curl does: `https_proxy`
/// for https URLs, `http_proxy` for http ones (either case), `all_proxy` as a fallback,
/// none for hosts in `no_proxy`.
pub fn proxy_for(ep: &Endpoint) -> Option<String> {
    if let Some(list) = env("NO_PROXY").or_else(|| env("no_proxy")) {
        if no_proxy_matches(&list, &ep.host) {
            return None;
        }
    }
    let scheme = if ep.https {
        "HTTPS_PROXY"
    } else {
        "HTTP_PROXY"
    };
    env(&scheme.to_ascii_lowercase())
        .or_else(|| env(scheme))
        .or_else(|| env("all_proxy"))
        .or_else(|| env("ALL_PROXY"))
}

/// Trusted roots for TLS: Mozilla's roots compiled in (the default, as the AWS CLI ships its
/// own bundle), or the certificates of a PEM bundle (`AWS_CA_BUNDLE` / `aws.ca_bundle`) for
/// networks that inspect TLS with their own CA.
#[derive(Clone, Default)]
pub struct Roots(Option<ureq::tls::RootCerts>);

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Roots(bundle)"
        } else {
            "Roots(webpki)"
        })
    }
}

impl Roots {
    pub fn from_pem_file(path: &std::path::Path) -> Result<Roots, String> {
        let pem = std::fs::read(path).map_err(|e| format!("CA bundle {}: {e}", path.display()))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                Ok(_) => {}
                Err(e) => return Err(format!("CA bundle {}: {e}", path.display())),
            }
        }
        if certs.is_empty() {
            return Err(format!("CA bundle {}: no certificate", path.display()));
        }
        Ok(Roots(Some(ureq::tls::RootCerts::new_with_certs(&certs))))
    }
}

impl Client {
    /// For an AWS API endpoint: its proxy ([`proxy_for`]), the given roots, 5 s to connect,
    /// 60 s a call.
    pub fn api(ep: &Endpoint, roots: &Roots) -> Result<Client, String> {
        let proxy = match proxy_for(ep) {
            Some(p) => Some(ureq::Proxy::new(&p).map_err(|e| format!("proxy `{p}`: {e}"))?),
            None => None,
        };
        Ok(Client::build(
            Duration::from_secs(5),
            Duration::from_secs(60),
            proxy,
            roots,
        ))
    }

    /// For a webhook (Slack, generic): its proxy like an API endpoint, 5 s to connect, 15 s
    /// a request.
    pub fn webhook(ep: &Endpoint, roots: &Roots) -> Result<Client, String> {
        let proxy = match proxy_for(ep) {
            Some(p) => Some(ureq::Proxy::new(&p).map_err(|e| format!("proxy: {e}"))?),
            None => None,
        };
        Ok(Client::build(
            Duration::from_secs(5),
            Duration::from_secs(15),
            proxy,
            roots,
        ))
    }

    /// For link-local metadata endpoints (IMDS, ECS): never through a proxy, and short
    /// timeouts so a host without them never hangs.
    pub fn metadata(connect: Duration, total: Duration) -> Client {
        Client::build(connect, total, None, &Roots::default())
    }

    fn build(
        connect: Duration,
        total: Duration,
        proxy: Option<ureq::Proxy>,
        roots: &Roots,
    ) -> Client {
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(r) = &roots.0 {
            tls = tls.root_certs(r.clone());
        }
        let cfg = ureq::Agent::config_builder()
            .tls_config(tls.build())
            .http_status_as_error(false)
            .timeout_connect(Some(connect))
            .timeout_global(Some(total))
            .max_redirects(0)
            .max_idle_connections(4)
            .user_agent(concat!("jikimi/", env!("CARGO_PKG_VERSION")))
            .proxy(proxy)
            .build();
        Client {
            agent: ureq::Agent::new_with_config(cfg),
        }
    }

    /// Sends one request; `Err` only for transport failures (no HTTP response at all).
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, String> {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let res = match body {
            Some(data) => {
                let req = b.body(data).map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
            None => {
                let req = b.body(()).map_err(|e| e.to_string())?;
                self.agent.run(req)
            }
        };
        let mut res = res.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let header = |k: &str| {
            res.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let error_type = header("x-amzn-errortype");
        let date = header("date").and_then(|d| parse_http_date(&d));
        let body = res
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| format!("reading the response: {e}"))?;
        Ok(Response {
            status,
            error_type,
            date,
            body,
        })
    }

    /// [`Client::send`] on a worker thread, so that a cancellation request
    /// ([`crate::cancel::request`]) ends the wait within [`crate::cancel::POLL`] even while
    /// the request hangs on a black-holed endpoint (the abandoned request ends with its
    /// timeout or with the process).
    pub fn send_cancellable(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, String> {
        if crate::cancel::requested() {
            return Err(CANCELLED.into());
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let me = self.clone();
        let (method, url) = (method.to_string(), url.to_string());
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = body.map(<[u8]>::to_vec);
        std::thread::Builder::new()
            .name("aws-http".into())
            .spawn(move || {
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let _ = tx.send(me.send(&method, &url, &h, body.as_deref()));
            })
            .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
        loop {
            match rx.recv_timeout(crate::cancel::POLL) {
                Ok(r) => return r,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if crate::cancel::requested() {
                        return Err(CANCELLED.into());
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err("the HTTP thread ended without an answer".into())
                }
            }
        }
    }
}

/// The transport error of a request abandoned because the process is stopping.
pub const CANCELLED: &str = "cancelled: the agent is stopping";

/// What went wrong with an AWS call, after retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status, or `None` when no response came back.
    pub status: Option<u16>,
    /// AWS error code (`ThrottlingException`, `AccessDeniedException`...) or `Transport`.
    pub code: String,
    pub message: String,
    /// Would another attempt later plausibly succeed (throttling, 5xx, network)?
    pub retryable: bool,
    /// Attempts made.
    pub attempts: u32,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s} {}: {}", self.code, self.message)?,
            None => write!(f, "{}: {}", self.code, self.message)?,
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

/// Error codes that mean "slow down" or "try again".
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Classifies a non-2xx response: the code from `x-amzn-errortype`, else the JSON body's
/// `__type` (`prefix#Code`) or `code`, and the message.
pub fn api_error(res: &Response) -> ApiError {
    let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
    let field = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(|x| x.as_str()))
            .map(String::from)
    };
    // Query-protocol services (EC2) answer errors in XML: <Error><Code>..</Code><Message>..
    let xml = |tag: &str| {
        let text = String::from_utf8_lossy(&res.body);
        let open = format!("<{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(xml_unescape(&text[start..end]))
    };
    let code = res
        .error_type
        .clone()
        .or_else(|| field(&["__type", "code", "Code"]))
        .or_else(|| xml("Code"))
        .map(|c| {
            let c = c.split(':').next().unwrap_or_default();
            c.rsplit('#').next().unwrap_or_default().to_string()
        })
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| format!("HTTP{}", res.status));
    let message = field(&["message", "Message", "errorMessage"])
        .or_else(|| xml("Message"))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&res.body[..res.body.len().min(2000)]).into_owned();
            let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            one.chars().take(200).collect()
        });
    let retryable = matches!(res.status, 429 | 500 | 502 | 503 | 504)
        || RETRYABLE_CODES.contains(&code.as_str());
    ApiError {
        status: Some(res.status),
        code,
        message,
        retryable,
        attempts: 1,
    }
}

/// Decodes the five XML entities and numeric character references.
pub fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let ent = &tail[1..end];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| ent.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Retry policy: full-jitter exponential backoff, bounded attempts and delay.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Retry {
    pub fn new(max_attempts: u32) -> Retry {
        Retry {
            max_attempts: max_attempts.max(1),
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
        }
    }

    /// Delay before attempt `n + 1` after `n` failed attempts: uniform in
    /// `0..=min(cap, base * 2^(n-1))`.
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << failed_attempts.saturating_sub(1).min(16));
        let max_ms = exp.min(self.cap).as_millis() as u64;
        Duration::from_millis(random_u64() % (max_ms + 1))
    }
}

/// The retry quota: a process-wide token bucket like the SDKs' standard retry mode. A
/// retry costs [`RETRY_COST`] tokens ([`TIMEOUT_RETRY_COST`] after a timeout or a network
/// error); a success gives back what its retries cost, or one token when it needed none.
/// An empty bucket means no more retries until successes refill it: when an endpoint is
/// down for everyone, each host makes one attempt per request instead of four.
pub struct RetryQuota {
    tokens: AtomicU32,
}

pub const QUOTA_CAPACITY: u32 = 500;
pub const RETRY_COST: u32 = 5;
pub const TIMEOUT_RETRY_COST: u32 = 10;

impl RetryQuota {
    pub const fn new() -> RetryQuota {
        RetryQuota {
            tokens: AtomicU32::new(QUOTA_CAPACITY),
        }
    }

    /// The process's quota.
    pub fn global() -> &'static RetryQuota {
        static Q: RetryQuota = RetryQuota::new();
        &Q
    }

    /// Takes `cost` tokens for a retry; false (nothing taken) when there are not enough.
    pub fn acquire(&self, cost: u32) -> bool {
        self.tokens
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// Gives tokens back after a success, up to the capacity.
    pub fn release(&self, n: u32) {
        let _ = self
            .tokens
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some((t + n).min(QUOTA_CAPACITY))
            });
    }

    pub fn available(&self) -> u32 {
        self.tokens.load(Ordering::SeqCst)
    }
}

impl Default for RetryQuota {
    fn default() -> Self {
        RetryQuota::new()
    }
}

/// A random number for jitter and retry spreading, from the kernel (`getrandom`, already
/// linked through ring); should the kernel refuse, the clock and pid still keep a fleet's
/// retries apart.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    match getrandom::getrandom(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            nanos ^ (u64::from(std::process::id()) << 32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(e.host_header(), "127.0.0.1:5000");
        assert_eq!(
            e.url("/findings/import"),
            "http://127.0.0.1:5000/findings/import"
        );
        let e = Endpoint::parse("https://SecurityHub.us-east-1.amazonaws.com:443/").unwrap();
        assert_eq!(e.host_header(), "securityhub.us-east-1.amazonaws.com");
        assert_eq!(e.url("/"), "https://securityhub.us-east-1.amazonaws.com/");
        let e = Endpoint::parse("http://[::1]:8080/prefix/").unwrap();
        assert_eq!(e.url("/x"), "http://[::1]:8080/prefix/x");
        for bad in [
            "ftp://x",
            "http://",
            "http://a b",
            "http://u@h",
            "http://h:99999",
            "http://h/?q",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    fn res(status: u16, etype: Option<&str>, body: &str) -> Response {
        Response {
            status,
            error_type: etype.map(String::from),
            date: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn classifies_errors() {
        let e = api_error(&res(
            400,
            None,
            r#"{"__type":"com.amazonaws.ssm#ThrottlingException","message":"Rate exceeded"}"#,
        ));
        assert_eq!(
            (e.code.as_str(), e.retryable),
            ("ThrottlingException", true)
        );
        assert_eq!(e.message, "Rate exceeded");
        let e = api_error(&res(
            403,
            Some("AccessDeniedException:http://internal.amazon.com/coral/"),
            r#"{"Message":"no"}"#,
        ));
        assert_eq!(
            (e.code.as_str(), e.retryable),
            ("AccessDeniedException", false)
        );
        let e = api_error(&res(503, None, "<html>down</html>"));
        assert_eq!((e.code.as_str(), e.retryable), ("HTTP503", true));
        assert!(e.message.contains("down"));
        let e = api_error(&res(429, None, r#"{"Code":"TooManyRequestsException"}"#));
        assert!(e.retryable);
        let e = api_error(&res(
            400,
            None,
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit &amp; more</Message></Error></Errors></Response>",
        ));
        assert_eq!(
            (e.code.as_str(), e.retryable, e.message.as_str()),
            ("RequestLimitExceeded", true, "Request limit & more")
        );
        assert_eq!(xml_unescape("a&lt;b&#x41;&#66;&bogus"), "a<bAB&bogus");
    }

    #[test]
    fn ca_bundles_must_hold_certificates() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ca.pem");
        assert!(Roots::from_pem_file(&p).unwrap_err().contains("ca.pem"));
        std::fs::write(&p, "not a certificate\n").unwrap();
        assert!(Roots::from_pem_file(&p)
            .unwrap_err()
            .contains("no certificate"));
    }

    #[test]
    fn no_proxy_lists() {
        for (list, host, want) in [
            ("*", "securityhub.us-east-1.amazonaws.com", true),
            ("localhost,127.0.0.1", "127.0.0.1", true),
            (".amazonaws.com", "ssm.us-east-1.amazonaws.com", true),
            ("*.amazonaws.com", "ssm.us-east-1.amazonaws.com", true),
            ("amazonaws.com", "ssm.us-east-1.amazonaws.com", true),
            ("amazonaws.com", "notamazonaws.com", false),
            ("example.com", "127.0.0.1", false),
            ("::1", "[::1]", true),
        ] {
            assert_eq!(no_proxy_matches(list, host), want, "{list} {host}");
        }
    }

    #[test]
    fn http_dates() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(crate::time::rfc3339(t), "1994-11-06T08:49:37.000Z");
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "x, 1 Foo 2000 00:00:00 GMT",
        ] {
            assert!(parse_http_date(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn retry_quota_drains_and_refills() {
        let q = RetryQuota::new();
        let mut n = 0;
        while q.acquire(RETRY_COST) {
            n += 1;
        }
        assert_eq!(n, QUOTA_CAPACITY / RETRY_COST);
        assert!(!q.acquire(1));
        q.release(RETRY_COST);
        assert!(q.acquire(RETRY_COST));
        q.release(10 * QUOTA_CAPACITY);
        assert_eq!(q.available(), QUOTA_CAPACITY);
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let r = Retry::new(5);
        for n in 1..20 {
            assert!(r.delay(n) <= r.cap);
        }
        assert!(r.delay(1) <= Duration::from_millis(200));
        let ds: std::collections::BTreeSet<_> = (0..20).map(|_| r.delay(5)).collect();
        assert!(ds.len() > 1, "jitter varies");
    }
}
