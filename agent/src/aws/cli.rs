//! `jikimi aws ...`: hidden diagnostic entry points of the AWS client, for the test suites
//! that compare it with AWS's own artefacts (`tests/aws/test_sigv4.py` feeds the official
//! SigV4 test vectors and random requests through `jikimi aws sign` and compares with
//! botocore). Nothing here talks to the network.

use super::sigv4::{self, Credentials};
use clap::Subcommand;
use std::io::Read;

#[derive(Subcommand, Debug)]
pub enum AwsCmd {
    /// Sign a raw HTTP request read from stdin as JSON {"request", "service", "region",
    /// "access_key", "secret_key", "token"?}: prints the canonical request, the string to
    /// sign and the Authorization header as JSON. The request's X-Amz-Date is the signing
    /// time.
    Sign,
}

/// Why `jikimi aws sign` cannot sign its input.
#[derive(thiserror::Error)]
pub enum SignError {
    #[error("empty request")]
    EmptyRequest,
    #[error("no request target")]
    NoTarget,
    #[error("no HTTP version")]
    NoVersion,
    #[error("continuation before any header")]
    ContinuationFirst,
    #[error("bad header line `{0}`")]
    BadHeader(String),
    #[error("missing `{0}`")]
    Missing(&'static str),
    #[error("no Host header")]
    NoHost,
    #[error("no valid X-Amz-Date header")]
    NoDate,
    #[error("stdin")]
    Stdin(#[source] std::io::Error),
    #[error("stdin is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("stdout")]
    Stdout(#[source] std::io::Error),
}
crate::error_text::debug_as_display!(SignError);

/// A raw HTTP/1.1 request split into its parts.
#[derive(Debug, PartialEq)]
pub struct RawRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// In order; folded continuation lines are joined to their header with a newline.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub fn parse_raw(raw: &str) -> Result<RawRequest, SignError> {
    let (head, body) = match raw.find("\r\n\r\n") {
        Some(i) => (&raw[..i], &raw[i + 4..]),
        None => match raw.find("\n\n") {
            Some(i) => (&raw[..i], &raw[i + 2..]),
            None => (raw, ""),
        },
    };
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().ok_or(SignError::EmptyRequest)?;
    let (method, rest) = first.split_once(' ').ok_or(SignError::NoTarget)?;
    let target = rest
        .rsplit_once(" HTTP/")
        .map(|(t, _)| t)
        .ok_or(SignError::NoVersion)?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in lines {
        if l.is_empty() {
            continue;
        }
        if l.starts_with([' ', '\t']) {
            let (_, v) = headers.last_mut().ok_or(SignError::ContinuationFirst)?;
            v.push('\n');
            v.push_str(l);
            continue;
        }
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| SignError::BadHeader(l.to_string()))?;
        headers.push((k.to_string(), v.to_string()));
    }
    Ok(RawRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.as_bytes().to_vec(),
    })
}

fn amz_time(s: &str) -> Option<std::time::SystemTime> {
    let s = s.trim();
    if s.len() != 16 || !s.ends_with('Z') || s.as_bytes()[8] != b'T' {
        return None;
    }
    crate::time::parse_rfc3339(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    ))
}

/// Signs one request description (the JSON of `jikimi aws sign`).
pub fn sign_json(input: &serde_json::Value) -> Result<serde_json::Value, SignError> {
    let s = |k: &'static str| {
        input[k]
            .as_str()
            .map(String::from)
            .ok_or(SignError::Missing(k))
    };
    let raw = parse_raw(&s("request")?)?;
    let mut host = None;
    let mut time = None;
    let token = input["token"].as_str().map(String::from);
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for (k, v) in &raw.headers {
        match k.to_ascii_lowercase().as_str() {
            "host" => host = Some(v.trim()),
            "x-amz-date" => time = amz_time(v),
            // The signer adds the credentials' token itself.
            "x-amz-security-token" if token.is_some() => {}
            _ => headers.push((k, v)),
        }
    }
    let creds = Credentials {
        access_key_id: s("access_key")?,
        secret_access_key: s("secret_key")?,
        session_token: token,
        expires: None,
        source: "stdin".into(),
    };
    let (service, region) = (s("service")?, s("region")?);
    let signed = sigv4::sign_detailed(
        &sigv4::Request {
            method: &raw.method,
            host: host.ok_or(SignError::NoHost)?,
            path: &raw.path,
            query: &raw.query,
            headers: &headers,
            body: &raw.body,
            service: &service,
            region: &region,
            time: time.ok_or(SignError::NoDate)?,
        },
        &creds,
    );
    let auth = signed
        .headers
        .iter()
        .find(|(k, _)| *k == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    Ok(serde_json::json!({
        "canonical_request": signed.canonical_request,
        "string_to_sign": signed.string_to_sign,
        "authorization": auth,
    }))
}

pub fn run(cmd: AwsCmd) -> Result<i32, SignError> {
    match cmd {
        AwsCmd::Sign => {
            let mut text = String::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut text)
                .map_err(SignError::Stdin)?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(SignError::NotJson)?;
            // One object, or an array of them (the test suites sign hundreds at once).
            let out = match &v {
                serde_json::Value::Array(items) => serde_json::Value::Array(
                    items
                        .iter()
                        .map(|i| {
                            sign_json(i).unwrap_or_else(
                                |e| serde_json::json!({"error": crate::error_text::chain(&e)}),
                            )
                        })
                        .collect(),
                ),
                one => sign_json(one)?,
            };
            use std::io::Write;
            writeln!(std::io::stdout(), "{out}").map_err(SignError::Stdout)?;
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_requests_parse() {
        let r = parse_raw(
            "GET /example space/?a=b HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value1\n  value2\nX-Amz-Date:20150830T123600Z\n\nbody",
        )
        .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_str()),
            ("GET", "/example space/", "a=b")
        );
        assert_eq!(r.headers[1].1, "value1\n  value2");
        assert_eq!(r.body, b"body");
        assert_eq!(
            amz_time("20150830T123600Z").map(crate::time::unix_ms),
            Some(1_440_938_160_000)
        );
        assert!(matches!(parse_raw(""), Err(SignError::NoTarget)));
        assert!(matches!(
            parse_raw("GET / HTTP/1.1\nnocolon\n"),
            Err(SignError::BadHeader(l)) if l == "nocolon"
        ));
        let e = sign_json(&serde_json::json!({"request": "GET / HTTP/1.1\n\n"})).unwrap_err();
        assert_eq!(e.to_string(), "missing `access_key`");
    }
}
