//! AWS Signature Version 4 for the requests the agent makes (Security Hub, SSM, EC2, STS).
//! The signer owns canonicalization (path normalization and encoding, query sorting and
//! encoding, header folding), so callers pass requests as they go on the wire; the AWS
//! test suite (`tests/aws/test_sigv4.py`) checks it against all 34 official vectors.
//!
//! Written from the published algorithm (canonical request → string to sign → HMAC chain of
//! date, region, service) rather than pulled in through the SDK's signing crates: it is ~150
//! lines, has no dependencies beyond `sha2`, and the Python test suite checks every signature
//! the agent sends against botocore's own signer.

use sha2::{Digest, Sha256};
use std::fmt;
use std::time::SystemTime;

/// AWS credentials. `Debug` never shows the secret or the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    /// When temporary credentials stop working.
    pub expires: Option<SystemTime>,
    /// Where they came from, for messages (`environment`, `instance profile`...).
    pub source: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires", &self.expires)
            .field("source", &self.source)
            .finish()
    }
}

/// One request to sign.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The `Host` header exactly as sent (with the port when it is not the scheme's default).
    pub host: &'a str,
    /// The path exactly as it goes on the wire (percent-encoded as the URL has it). The
    /// signer canonicalizes it: dot segments and empty segments removed and every byte but
    /// the unreserved ones and `/` percent-encoded (so an encoded wire path is encoded a
    /// second time), except for S3, whose paths are signed as sent.
    pub path: &'a str,
    /// The query string as on the wire, without `?`; empty for none. The signer decodes
    /// each name and value, encodes them canonically and sorts the pairs.
    pub query: &'a str,
    /// Other headers to sign, in the order sent, e.g. `content-type`, `x-amz-target`. A
    /// repeated name is signed as one line, values comma-joined in this order.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// Signing name of the service (`securityhub`, `ssm`).
    pub service: &'a str,
    pub region: &'a str,
    pub time: SystemTime,
}

/// The intermediate results of signing (exposed for the AWS test suite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    /// The headers to add to the request: `x-amz-date`, `x-amz-security-token` when the
    /// credentials are temporary, `authorization`.
    pub headers: Vec<(&'static str, String)>,
}

/// HMAC-SHA256 (RFC 2104) over `sha2`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(data)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Header values are trimmed and inner runs of whitespace (folded lines too) collapse to one
/// space (the canonical form).
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RFC 3986 unreserved characters: never percent-encoded.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes every byte but the unreserved ones (and `/` when `keep_slash`), with
/// upper-case hex digits.
pub fn uri_encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (a malformed escape is kept as is; `+` stays `+`).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// RFC 3986 section 5.2.4 dot-segment removal, plus the removal of empty segments that AWS
/// services expect (`//a//` is `/a/`). The leading slash stays; a trailing slash stays when
/// something is left.
pub fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len());
    if path.starts_with('/') {
        s.push('/');
    }
    s.push_str(&out.join("/"));
    if path.ends_with('/') && !out.is_empty() {
        s.push('/');
    }
    s
}

/// The canonical URI of a wire path: S3 signs the path as sent; every other service signs
/// the normalized path encoded once more.
pub fn canonical_path(path: &str, service: &str) -> String {
    if service == "s3" {
        return if path.is_empty() {
            "/".into()
        } else {
            path.into()
        };
    }
    uri_encode(normalize_path(path).as_bytes(), true)
}

/// The canonical query string: each name and value decoded then encoded canonically, pairs
/// sorted by name then value (repeated names are kept), `name=` for empty values.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request and the signed header list.
fn canonical(req: &Request, amz_date: &str, token: Option<&str>) -> (String, String) {
    // Every header in order of appearance; repeated names merge into one, values joined
    // with commas in the order sent.
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: &str| {
        let k = k.trim().to_ascii_lowercase();
        let v = canonical_value(v);
        match headers.iter_mut().find(|(n, _)| *n == k) {
            Some((_, old)) => {
                old.push(',');
                old.push_str(&v);
            }
            None => headers.push((k, v)),
        }
    };
    add("host", req.host);
    add("x-amz-date", amz_date);
    if let Some(t) = token {
        add("x-amz-security-token", t);
    }
    for (k, v) in req.headers {
        add(k, v);
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let signed = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut creq = format!(
        "{}\n{}\n{}\n",
        req.method.to_ascii_uppercase(),
        canonical_path(req.path, req.service),
        canonical_query(req.query)
    );
    for (k, v) in &headers {
        creq.push_str(k);
        creq.push(':');
        creq.push_str(v);
        creq.push('\n');
    }
    creq.push('\n');
    creq.push_str(&signed);
    creq.push('\n');
    creq.push_str(&sha256_hex(req.body));
    (creq, signed)
}

/// Signs a request: the canonical request, the string to sign and the headers to add. The
/// caller sends `req.headers` as given.
pub fn sign_detailed(req: &Request, creds: &Credentials) -> Signed {
    let (amz_date, date) = crate::time::amz_date(req.time);
    let token = creds.session_token.as_deref();
    let (creq, signed) = canonical(req, &amz_date, token);
    let scope = format!("{date}/{}/{}/aws4_request", req.region, req.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(creq.as_bytes())
    );
    let k_date = hmac_sha256(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, req.region.as_bytes());
    let k_service = hmac_sha256(&k_region, req.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    let signature = hex(&hmac_sha256(&k_signing, to_sign.as_bytes()));
    let mut out = vec![("x-amz-date", amz_date)];
    if let Some(t) = token {
        out.push(("x-amz-security-token", t.to_string()));
    }
    out.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    Signed {
        canonical_request: creq,
        string_to_sign: to_sign,
        signed_headers: signed,
        headers: out,
    }
}

/// Signs a request: returns the headers to add (`x-amz-date`, `x-amz-security-token` when
/// the credentials are temporary, `authorization`). The caller sends `req.headers` as given.
pub fn sign(req: &Request, creds: &Credentials) -> Vec<(&'static str, String)> {
    sign_detailed(req, creds).headers
}

/// Why the JSON credentials of IMDS or a container endpoint cannot be used; `from` names the
/// source (`instance profile ROLE`, `container credentials`). Never holds a key.
#[derive(thiserror::Error)]
pub enum JsonCredentialsError {
    #[error("{from}: credentials")]
    NotJson {
        from: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{from}: credentials not available ({code})")]
    NotAvailable { from: String, code: String },
    #[error("{from}: no {field}")]
    Missing { from: String, field: &'static str },
}
crate::error_text::debug_as_display!(JsonCredentialsError);

/// Parses the JSON of IMDS role credentials and the container credentials endpoint.
pub fn parse_json_credentials(
    body: &str,
    source: &str,
) -> Result<Credentials, JsonCredentialsError> {
    let v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| JsonCredentialsError::NotJson {
            from: source.to_string(),
            source: e,
        })?;
    if let Some(code) = v.get("Code").and_then(|c| c.as_str()) {
        if code != "Success" {
            return Err(JsonCredentialsError::NotAvailable {
                from: source.to_string(),
                code: code.to_string(),
            });
        }
    }
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    let missing = |field| JsonCredentialsError::Missing {
        from: source.to_string(),
        field,
    };
    Ok(Credentials {
        access_key_id: s("AccessKeyId").ok_or_else(|| missing("AccessKeyId"))?,
        secret_access_key: s("SecretAccessKey").ok_or_else(|| missing("SecretAccessKey"))?,
        session_token: s("Token"),
        expires: s("Expiration").and_then(|e| crate::time::parse_rfc3339(&e)),
        source: source.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn hmac_rfc4231_vectors() {
        // RFC 4231 test cases 2 and 6 (key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: token.map(String::from),
            expires: None,
            source: "test".into(),
        }
    }

    #[test]
    fn aws_documented_example() {
        // The IAM ListUsers example of the AWS General Reference (signature v4 walkthrough).
        let t = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        let req = Request {
            method: "GET",
            host: "iam.amazonaws.com",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &[(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body: b"",
            service: "iam",
            region: "us-east-1",
            time: t,
        };
        let h = sign(&req, &creds(None));
        assert_eq!(h[0], ("x-amz-date", "20150830T123600Z".to_string()));
        assert_eq!(
            h[1].1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn session_token_is_signed_and_sent() {
        let req = Request {
            method: "POST",
            host: "ssm.ap-northeast-2.amazonaws.com",
            path: "/",
            query: "",
            headers: &[("x-amz-target", "AmazonSSM.GetParameter")],
            body: b"{}",
            service: "ssm",
            region: "ap-northeast-2",
            time: UNIX_EPOCH,
        };
        let h = sign(&req, &creds(Some("TOKEN")));
        assert_eq!(h[1], ("x-amz-security-token", "TOKEN".to_string()));
        assert!(h[2]
            .1
            .contains("SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target,"));
        assert!(!format!("{:?}", creds(Some("TOKEN"))).contains("TOKEN"));
        assert!(!format!("{:?}", creds(None)).contains("EXAMPLEKEY"));
    }
}
