//! AWS Signature Version 4 for the few JSON requests the agent makes (Security Hub, SSM).
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
    /// Absolute path, already URI-encoded (`/findings/import`).
    pub path: &'a str,
    /// Canonical query string (names and values encoded, sorted); empty for none.
    pub query: &'a str,
    /// Other headers to sign, e.g. `content-type`, `x-amz-target`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// Signing name of the service (`securityhub`, `ssm`).
    pub service: &'a str,
    pub region: &'a str,
    pub time: SystemTime,
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

/// Header values are trimmed and inner runs of spaces collapse to one (the canonical form).
fn canonical_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical request, the string to sign and the signed header list (exposed for tests).
fn canonical(req: &Request, amz_date: &str, token: Option<&str>) -> (String, String) {
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), canonical_value(req.host)),
        ("x-amz-date".into(), amz_date.into()),
    ];
    if let Some(t) = token {
        headers.push(("x-amz-security-token".into(), t.into()));
    }
    for (k, v) in req.headers {
        headers.push((k.to_ascii_lowercase(), canonical_value(v)));
    }
    headers.sort();
    let signed = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut creq = format!("{}\n{}\n{}\n", req.method, req.path, req.query);
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

/// Signs a request: returns the headers to add (`x-amz-date`, `x-amz-security-token` when
/// the credentials are temporary, `authorization`). The caller sends `req.headers` as given.
pub fn sign(req: &Request, creds: &Credentials) -> Vec<(&'static str, String)> {
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
    out
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
