//! Reading findings back from Security Hub (`GetFindings`, REST-JSON `POST /findings`) for the
//! fleet report (`crate::fleet`). The agent otherwise only writes findings; this is the one
//! read path, so it lives apart from the BatchImportFindings sink.
//!
//! The request filters to Jikimi's own findings (ProductName `Jikimi`, GeneratorId prefix
//! `jikimi/`, the account when known, UpdatedAt within a lookback) and pages with
//! `NextToken` at `MaxResults` 100, the service's maximum. The filter is not trusted: a
//! server that ignores it (moto does) or a finding another product forged with our name is
//! caught again by [`is_jikimi`] before the report sees it.

use super::http::ApiError;
use super::{Session, SECURITY_HUB};
use serde_json::{json, Value};

/// Why reading findings back stopped.
#[derive(thiserror::Error)]
pub enum GetFindingsError {
    #[error("securityhub GetFindings in {region}")]
    Call {
        region: String,
        #[source]
        source: ApiError,
    },
    #[error("GetFindings reply without a Findings array")]
    NoFindings,
    /// `found` is the JSON the token field held (cut to 40 characters).
    #[error("GetFindings reply: NextToken is {found}, not a string")]
    BadNextToken { found: String },
    #[error("GetFindings: more than {max} pages; narrow --lookback or --region")]
    TooManyPages { max: usize },
    #[error("GetFindings: the server repeated a NextToken")]
    RepeatedToken,
}
crate::error_text::debug_as_display!(GetFindingsError);

/// The service's page size limit.
pub const PAGE_SIZE: u32 = 100;
/// Pages read at most in one region (100 000 findings: a few hundred hosts × a few hundred
/// checks); more is an error rather than an endless loop on a server that repeats itself.
pub const MAX_PAGES: usize = 1000;

/// What to ask for.
#[derive(Debug, Clone)]
pub struct Query {
    /// Findings of this account only (`AwsAccountId`); `None`: whatever the caller sees.
    pub account_id: Option<String>,
    /// RFC 3339 bounds of `UpdatedAt`.
    pub updated_from: String,
    pub updated_to: String,
}

/// The GetFindings request body of one page.
pub fn request_body(q: &Query, next_token: Option<&str>) -> Value {
    let mut filters = json!({
        "ProductName": [{"Value": "Jikimi", "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": "jikimi/", "Comparison": "PREFIX"}],
        "UpdatedAt": [{"Start": q.updated_from, "End": q.updated_to}],
    });
    if let Some(a) = &q.account_id {
        filters["AwsAccountId"] = json!([{"Value": a, "Comparison": "EQUALS"}]);
    }
    let mut body = json!({"Filters": filters, "MaxResults": PAGE_SIZE});
    if let Some(t) = next_token {
        body["NextToken"] = Value::String(t.to_string());
    }
    body
}

/// Is this one of the agent's findings (as `sinks::asff` writes them)?
pub fn is_jikimi(f: &Value, account_id: Option<&str>) -> bool {
    f["ProductName"] == "Jikimi"
        && f["GeneratorId"]
            .as_str()
            .is_some_and(|g| g.starts_with("jikimi/"))
        && account_id.is_none_or(|a| f["AwsAccountId"] == a)
}

/// One page of a reply: its findings and the next token (absent or empty: the last page).
pub fn parse_page(reply: &Value) -> Result<(Vec<Value>, Option<String>), GetFindingsError> {
    let findings = reply["Findings"]
        .as_array()
        .ok_or(GetFindingsError::NoFindings)?
        .clone();
    let next = match &reply["NextToken"] {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => {
            return Err(GetFindingsError::BadNextToken {
                found: crate::redact::clip(&other.to_string(), 40),
            })
        }
    };
    Ok((findings, next))
}

/// Result of reading one region.
#[derive(Debug, Default)]
pub struct Pages {
    /// Jikimi findings handed to the caller.
    pub findings: usize,
    /// Requests made (pages).
    pub calls: usize,
    /// Findings the filter let through that are not Jikimi's (dropped).
    pub foreign: usize,
}

/// Pages through GetFindings with an injectable transport (`body` → reply), so the paging
/// logic is tested without a network. Each Jikimi finding goes to `each` as its page
/// arrives, so only one page is held at a time.
pub fn read_with(
    q: &Query,
    call: &mut dyn FnMut(&[u8]) -> Result<Value, GetFindingsError>,
    each: &mut dyn FnMut(Value),
) -> Result<Pages, GetFindingsError> {
    let mut out = Pages::default();
    let mut token: Option<String> = None;
    let mut seen = std::collections::BTreeSet::new();
    loop {
        if out.calls >= MAX_PAGES {
            return Err(GetFindingsError::TooManyPages { max: MAX_PAGES });
        }
        let body = request_body(q, token.as_deref()).to_string();
        out.calls += 1;
        let reply = call(body.as_bytes())?;
        let (page, next) = parse_page(&reply)?;
        for f in page {
            if is_jikimi(&f, q.account_id.as_deref()) {
                out.findings += 1;
                each(f);
            } else {
                out.foreign += 1;
            }
        }
        match next {
            None => return Ok(out),
            Some(t) => {
                if !seen.insert(t.clone()) {
                    return Err(GetFindingsError::RepeatedToken);
                }
                token = Some(t);
            }
        }
    }
}

/// Reads every Jikimi finding of `q` in `region`, handing each to `each`.
pub fn read(
    session: &Session,
    region: &str,
    q: &Query,
    each: &mut dyn FnMut(Value),
) -> Result<Pages, GetFindingsError> {
    read_with(
        q,
        &mut |body| {
            session
                .call(SECURITY_HUB, region, "/findings", None, body)
                .map(|r| r.body)
                .map_err(|source| GetFindingsError::Call {
                    region: region.to_string(),
                    source,
                })
        },
        each,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> Query {
        Query {
            account_id: Some("123456789012".into()),
            updated_from: "2026-11-01T00:00:00.000Z".into(),
            updated_to: "2026-12-01T00:00:00.000Z".into(),
        }
    }

    fn finding(i: usize) -> Value {
        json!({"Id": format!("f{i}"), "ProductName": "Jikimi", "GeneratorId": "jikimi/X",
               "AwsAccountId": "123456789012"})
    }

    #[test]
    fn pages_until_no_token_and_drops_foreign_findings() {
        let all: Vec<Value> = (0..250).map(finding).collect();
        let mut bodies = Vec::new();
        let mut got = Vec::new();
        let pages = read_with(
            &q(),
            &mut |b| {
                let v: Value = serde_json::from_slice(b).unwrap();
                bodies.push(v.clone());
                let start: usize = v["NextToken"].as_str().map_or(0, |t| t.parse().unwrap());
                let end = (start + 100).min(all.len());
                let mut page: Vec<Value> = all[start..end].to_vec();
                if start == 0 {
                    page.push(
                        json!({"Id": "x", "ProductName": "Other", "GeneratorId": "jikimi/X",
                                 "AwsAccountId": "123456789012"}),
                    );
                    page.push(
                        json!({"Id": "y", "ProductName": "Jikimi", "GeneratorId": "jikimi/X",
                                 "AwsAccountId": "999999999999"}),
                    );
                }
                let next = if end < all.len() {
                    json!(end.to_string())
                } else {
                    json!("")
                };
                Ok(json!({"Findings": page, "NextToken": next}))
            },
            &mut |f| got.push(f),
        )
        .unwrap();
        assert_eq!((pages.findings, pages.calls, pages.foreign), (250, 3, 2));
        assert_eq!(got, all);
        assert_eq!(bodies[0]["MaxResults"], 100);
        assert!(bodies[0].get("NextToken").is_none());
        assert_eq!(bodies[1]["NextToken"], "100");
        assert_eq!(
            bodies[0]["Filters"]["GeneratorId"][0]["Comparison"],
            "PREFIX"
        );
        assert_eq!(
            bodies[0]["Filters"]["AwsAccountId"][0]["Value"],
            "123456789012"
        );
    }

    #[test]
    fn a_repeated_token_or_a_bad_reply_is_an_error() {
        let e = read_with(
            &q(),
            &mut |_| Ok(json!({"Findings": [], "NextToken": "same"})),
            &mut drop,
        );
        assert!(matches!(e, Err(GetFindingsError::RepeatedToken)));
        let e = read_with(&q(), &mut |_| Ok(json!({"NextToken": "x"})), &mut drop);
        assert!(e.unwrap_err().to_string().contains("Findings array"));
        let e = read_with(
            &q(),
            &mut |_| Ok(json!({"Findings": [], "NextToken": 5})),
            &mut drop,
        );
        assert!(e.unwrap_err().to_string().contains("not a string"));
        let denied = || GetFindingsError::Call {
            region: "eu-west-1".into(),
            source: ApiError {
                status: Some(403),
                code: "AccessDeniedException".into(),
                message: "no".into(),
                retryable: false,
                attempts: 1,
            },
        };
        let e = read_with(&q(), &mut |_| Err(denied()), &mut drop).unwrap_err();
        assert_eq!(e.to_string(), "securityhub GetFindings in eu-west-1");
        assert_eq!(
            crate::error_text::chain(&e),
            "securityhub GetFindings in eu-west-1: HTTP 403 AccessDeniedException: no",
            "service, operation, region, then status, code and message"
        );
    }
}
