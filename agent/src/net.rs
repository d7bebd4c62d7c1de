//! Plain HTTP for every part of the agent that talks to a server: endpoint URLs, one
//! blocking client (ureq over rustls, no OpenSSL, no async runtime) with its proxy, trusted
//! roots and timeouts, jittered exponential backoff and a random source for spreading a
//! fleet's retries. It knows nothing about AWS: the AWS client (`crate::aws`), the webhook
//! and Slack alerts (`crate::sinks::alerts`) and the mail (`crate::sinks::email`) build on
//! it, so a webhook does not depend on the AWS layer for its HTTP.
//!
//! Errors are typed ([`UrlError`], [`RootsError`], [`ProxyError`], [`HttpError`]) and never
//! show more of a URL than its scheme and host (`crate::redact::shown`): a URL may carry
//! credentials in its userinfo, path or query.

use std::time::{Duration, SystemTime};

/// An environment variable, `None` when unset or blank.
fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// Why a URL is not a usable endpoint. `url` is the redacted form (scheme and host only).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{url}` is not an http:// or https:// URL")]
    NotHttp { url: String },
    #[error("`{url}` is not a plain endpoint URL (scheme://host[:port][/path])")]
    NotPlain { url: String },
    #[error("`{url}`: bad port")]
    BadPort { url: String },
    #[error("`{url}`: no host")]
    NoHost { url: String },
}
crate::error_text::debug_as_display!(UrlError);

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
    pub fn parse(url: &str) -> Result<Endpoint, UrlError> {
        // errors show scheme and host only: a URL may carry credentials (userinfo, a token
        // in its path or query)
        let shown = || crate::redact::shown(url);
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(UrlError::NotHttp { url: shown() });
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
            return Err(UrlError::NotPlain { url: shown() });
        }
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let p: u16 = authority[i + 1..]
                    .parse()
                    .map_err(|_| UrlError::BadPort { url: shown() })?;
                (&authority[..i], Some(p))
            }
            _ => (authority, None),
        };
        if host.is_empty() {
            return Err(UrlError::NoHost { url: shown() });
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
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    /// The headers the callers read ([`KEPT_HEADERS`]), names in lower case.
    pub headers: Vec<(String, String)>,
    /// The `Date` header (the server's clock), when present and valid.
    pub date: Option<SystemTime>,
    pub body: Vec<u8>,
}

/// Response headers kept in [`Response::headers`] (the rest are dropped unread).
pub const KEPT_HEADERS: &[&str] = &["x-amzn-errortype", "retry-after", "content-type"];

impl Response {
    /// A kept header's value (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses an HTTP date in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`).
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

/// Largest response body read (API answers and webhook replies are small).
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

/// Why a CA bundle cannot be used.
#[derive(thiserror::Error)]
pub enum RootsError {
    #[error("CA bundle {}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA bundle {}", path.display())]
    Pem {
        path: std::path::PathBuf,
        #[source]
        source: ureq::Error,
    },
    #[error("CA bundle {}: no certificate", path.display())]
    NoCertificate { path: std::path::PathBuf },
}
crate::error_text::debug_as_display!(RootsError);

/// Trusted roots for TLS: Mozilla's roots compiled in (the default), or the certificates of
/// a PEM bundle (`AWS_CA_BUNDLE` / `aws.ca_bundle`) for networks that inspect TLS with their
/// own CA.
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
    pub fn from_pem_file(path: &std::path::Path) -> Result<Roots, RootsError> {
        let pem = std::fs::read(path).map_err(|source| RootsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                Ok(_) => {}
                Err(source) => {
                    return Err(RootsError::Pem {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            }
        }
        if certs.is_empty() {
            return Err(RootsError::NoCertificate {
                path: path.to_path_buf(),
            });
        }
        Ok(Roots(Some(ureq::tls::RootCerts::new_with_certs(&certs))))
    }
}

/// A proxy URL from the environment that the client cannot use. `proxy` is the redacted
/// form: a proxy URL may carry a user and password.
#[derive(thiserror::Error)]
#[error("proxy `{proxy}`")]
pub struct ProxyError {
    pub proxy: String,
    #[source]
    pub source: ureq::Error,
}
crate::error_text::debug_as_display!(ProxyError);

/// Why a request got no HTTP answer (any answer, whatever its status, is a [`Response`]).
#[derive(thiserror::Error)]
pub enum HttpError {
    /// The method, URL or a header cannot be sent.
    #[error("invalid request")]
    Request(#[source] ureq::http::Error),
    /// Connection, TLS, timeout: the client's own words.
    #[error(transparent)]
    Transport(ureq::Error),
    #[error("reading the response")]
    Body(#[source] ureq::Error),
    #[error("cannot start the HTTP thread")]
    Thread(#[source] std::io::Error),
    #[error("the HTTP thread ended without an answer")]
    NoAnswer,
    /// Abandoned because the process is stopping ([`crate::cancel`]).
    #[error("cancelled: the agent is stopping")]
    Cancelled,
}
crate::error_text::debug_as_display!(HttpError);

impl Client {
    /// For an API endpoint: its proxy ([`proxy_for`]), the given roots, 5 s to connect,
    /// 60 s a call.
    pub fn api(ep: &Endpoint, roots: &Roots) -> Result<Client, ProxyError> {
        Client::with_proxy(ep, roots, Duration::from_secs(60))
    }

    /// For a webhook (Slack, generic): its proxy like an API endpoint, 5 s to connect, 15 s
    /// a request.
    pub fn webhook(ep: &Endpoint, roots: &Roots) -> Result<Client, ProxyError> {
        Client::with_proxy(ep, roots, Duration::from_secs(15))
    }

    fn with_proxy(ep: &Endpoint, roots: &Roots, total: Duration) -> Result<Client, ProxyError> {
        let proxy = match proxy_for(ep) {
            Some(p) => Some(ureq::Proxy::new(&p).map_err(|source| ProxyError {
                proxy: crate::redact::shown(&p),
                source,
            })?),
            None => None,
        };
        Ok(Client::build(Duration::from_secs(5), total, proxy, roots))
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

    /// Sends one request; `Err` only when no HTTP response came back at all.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, HttpError> {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let res = match body {
            Some(data) => {
                let req = b.body(data).map_err(HttpError::Request)?;
                self.agent.run(req)
            }
            None => {
                let req = b.body(()).map_err(HttpError::Request)?;
                self.agent.run(req)
            }
        };
        let mut res = res.map_err(HttpError::Transport)?;
        let status = res.status().as_u16();
        let headers: Vec<(String, String)> = KEPT_HEADERS
            .iter()
            .filter_map(|k| {
                let v = res.headers().get(*k)?.to_str().ok()?;
                Some((k.to_string(), v.to_string()))
            })
            .collect();
        let date = res
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date);
        let body = res
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(HttpError::Body)?;
        Ok(Response {
            status,
            headers,
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
    ) -> Result<Response, HttpError> {
        if crate::cancel::requested() {
            return Err(HttpError::Cancelled);
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
            .name("http".into())
            .spawn(move || {
                let h: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let _ = tx.send(me.send(&method, &url, &h, body.as_deref()));
            })
            .map_err(HttpError::Thread)?;
        loop {
            match rx.recv_timeout(crate::cancel::POLL) {
                Ok(r) => return r,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if crate::cancel::requested() {
                        return Err(HttpError::Cancelled);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(HttpError::NoAnswer)
                }
            }
        }
    }
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
        for (bad, want) in [
            ("ftp://x", "not an http:// or https:// URL"),
            ("http://", "not a plain endpoint URL"),
            ("http://a b", "not a plain endpoint URL"),
            ("http://u@h", "not a plain endpoint URL"),
            ("http://h:99999", "bad port"),
            ("http://h/?q", "not a plain endpoint URL"),
            ("http://:80", "no host"),
        ] {
            let e = Endpoint::parse(bad).unwrap_err();
            assert!(e.to_string().contains(want), "{bad}: {e}");
        }
    }

    #[test]
    fn url_errors_never_show_credentials() {
        for url in [
            "http://user:hunter2@h/x",
            "http://h/hooks/hunter2?q",
            "http://h:9x/hunter2",
            "gopher://h/hunter2",
        ] {
            let e = Endpoint::parse(url).unwrap_err();
            assert!(!e.to_string().contains("hunter2"), "{url}: {e}");
        }
    }

    #[test]
    fn ca_bundles_must_hold_certificates() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ca.pem");
        let e = Roots::from_pem_file(&p).unwrap_err();
        assert!(matches!(e, RootsError::Read { .. }), "{e:?}");
        assert!(crate::error_text::chain(&e).contains("ca.pem: "), "{e}");
        assert!(
            std::error::Error::source(&e).is_some(),
            "the io error is kept"
        );
        std::fs::write(&p, "not a certificate\n").unwrap();
        assert!(Roots::from_pem_file(&p)
            .unwrap_err()
            .to_string()
            .contains("no certificate"));
    }

    #[test]
    fn transport_errors_keep_the_clients_reason() {
        // A closed port on loopback: refused at once, and the reason is the client's.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", l.local_addr().unwrap());
        drop(l);
        let c = Client::metadata(Duration::from_millis(300), Duration::from_secs(1));
        let e = c.send("GET", &url, &[], None).unwrap_err();
        assert!(matches!(e, HttpError::Transport(_)), "{e:?}");
        assert!(e.to_string().to_lowercase().contains("refused"), "{e}");
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
