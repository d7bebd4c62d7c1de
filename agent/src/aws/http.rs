//! The AWS side of HTTP: classification of error answers (the code from
//! `x-amzn-errortype`, a JSON `__type` or an XML `<Code>`; throttling and 5xx are
//! retryable) and the retry quota (a token bucket, as the SDKs' standard retry mode has), so
//! that a fleet facing an outage stops retrying instead of multiplying the load. The HTTP
//! client itself, endpoints and backoff are plain HTTP and live below, in [`crate::net`].

use std::sync::atomic::{AtomicU32, Ordering};

use crate::net::Response;

/// What went wrong with an AWS call, after retries: an error answer, or no answer at all
/// (`code` `Transport`, `Cancelled`), or a call that could not be made (`Configuration`: no
/// usable endpoint; `NoCredentials`). Causes of the last kinds are in `message`, whole
/// (`crate::error_text::chain`); the caller names the operation.
#[derive(Clone, PartialEq, Eq)]
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

impl std::error::Error for ApiError {}
crate::error_text::debug_as_display!(ApiError);

impl ApiError {
    /// Is this the service asking to slow down (as opposed to a 5xx or a network error)?
    pub fn is_throttling(&self) -> bool {
        self.status == Some(429) || THROTTLING_CODES.contains(&self.code.as_str())
    }
}

/// Error codes that mean "too many requests" (retried, and counted as throttling).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
];

/// Error codes besides [`THROTTLING_CODES`] that mean "try again".
const TRANSIENT_CODES: &[&str] = &[
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
        .header("x-amzn-errortype")
        .map(String::from)
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
        || THROTTLING_CODES.contains(&code.as_str())
        || TRANSIENT_CODES.contains(&code.as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn res(status: u16, etype: Option<&str>, body: &str) -> Response {
        Response {
            status,
            headers: etype
                .map(|t| vec![("x-amzn-errortype".to_string(), t.to_string())])
                .unwrap_or_default(),
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
        assert!(e.is_throttling());
        assert_eq!(
            e.to_string(),
            "HTTP 400 ThrottlingException: Rate exceeded",
            "status, code and message"
        );
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
        assert!(!e.is_throttling(), "retryable, but not throttling");
        assert!(e.message.contains("down"));
        let e = api_error(&res(429, None, r#"{"Code":"TooManyRequestsException"}"#));
        assert!(e.retryable && e.is_throttling());
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
}
