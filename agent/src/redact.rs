//! Keeps secrets out of error messages. A Slack or webhook URL is its own credential, and a
//! receiver, a proxy or the HTTP client can echo any piece of it, in any encoding: the whole
//! URL, the URL without its scheme, the path with or without its query, the path without its
//! leading slash, one path segment, one query value, the userinfo, each of these
//! percent-encoded or percent-decoded. [`url`] removes all of them; [`secret`] does the same
//! for a password and its base64 and percent-encoded forms.
//!
//! Callers redact the *whole* text first and cut it to length afterwards: a cut made first
//! can leave a prefix of a secret that no longer matches.

/// A secret string (webhook URL, password): `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Secret(<String as serde::Deserialize>::deserialize(d)?))
    }
}

/// Path segments at least this long are redacted on their own (shorter ones, such as `v1`
/// or `hooks`, are too common to be secret and would mangle unrelated text); whole paths are
/// redacted whatever their length.
pub const MIN_SEGMENT: usize = 6;
/// Path segments that name a kind of endpoint, never a secret (Slack's `services`, the
/// `webhooks` of many services): left alone on their own, so errors stay readable.
const PUBLIC_SEGMENTS: &[&str] = &["services", "webhook", "webhooks", "triggers", "workflows"];
/// Query values and userinfo parts at least this long are redacted on their own.
pub const MIN_VALUE: usize = 4;

const URL_LABEL: &str = "<webhook URL>";
const LABEL: &str = "<redacted>";

fn hex(b: u8, upper: bool) -> String {
    if upper {
        format!("%{b:02X}")
    } else {
        format!("%{b:02x}")
    }
}

/// Every byte outside RFC 3986's unreserved set as `%XX`.
fn encode(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                hex(b, upper)
            }
        })
        .collect()
}

/// `%XX` decoded (invalid escapes kept as they are); `+` is kept (it is a space only in
/// forms, and both forms are covered because the raw text is a needle too).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = h {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Adds `s` and its encoded and decoded forms.
fn push_forms(out: &mut Vec<(String, &'static str)>, s: &str, label: &'static str) {
    if s.is_empty() {
        return;
    }
    for form in [
        s.to_string(),
        decode(s),
        encode(s, true),
        encode(s, false),
        encode(&decode(s), true),
        encode(&decode(s), false),
    ] {
        out.push((form, label));
    }
}

/// The pieces of `url` that can reveal it, each with its replacement, longest first.
pub fn url_needles(url: &str) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let url = url.trim();
    if url.is_empty() {
        return out;
    }
    push_forms(&mut out, url, URL_LABEL);
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    push_forms(&mut out, rest, URL_LABEL);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if let Some((userinfo, hostport)) = authority.rsplit_once('@') {
        push_forms(&mut out, userinfo, LABEL);
        for part in userinfo.split(':') {
            if part.len() >= MIN_VALUE {
                push_forms(&mut out, part, LABEL);
            }
        }
        // the URL as shown without its userinfo still leads to the secret path
        if tail.len() > 1 {
            push_forms(&mut out, &format!("{hostport}{tail}"), URL_LABEL);
        }
    }
    if tail.len() > 1 {
        push_forms(&mut out, tail, LABEL);
        let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
        let (path, query) = tail.split_at(path_end);
        if path.len() > 1 {
            push_forms(&mut out, path, LABEL);
            let bare = path.trim_matches('/');
            push_forms(&mut out, bare, LABEL);
            for seg in bare.split('/') {
                let long = seg.len() >= MIN_SEGMENT || decode(seg).len() >= MIN_SEGMENT;
                if long && !PUBLIC_SEGMENTS.contains(&seg.to_ascii_lowercase().as_str()) {
                    push_forms(&mut out, seg, LABEL);
                }
            }
        }
        let query = query.trim_start_matches(['?', '#']);
        if !query.is_empty() {
            push_forms(&mut out, query, LABEL);
            for pair in query.split(['&', ';', '#']) {
                let value = pair.split_once('=').map_or(pair, |(_, v)| v);
                if value.len() >= MIN_VALUE {
                    push_forms(&mut out, value, LABEL);
                }
            }
        }
    }
    finish(out)
}

fn finish(mut out: Vec<(String, &'static str)>) -> Vec<(String, &'static str)> {
    out.retain(|(s, _)| !s.is_empty());
    out.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// Replaces every needle, ignoring ASCII case (a receiver may change it).
fn replace_all(msg: &str, needles: &[(String, &'static str)]) -> String {
    let mut m = msg.to_string();
    for (n, label) in needles {
        let needle = n.to_ascii_lowercase();
        let mut lower = m.to_ascii_lowercase();
        let mut from = 0;
        while let Some(i) = lower[from..].find(&needle).map(|i| i + from) {
            // ASCII lowercasing keeps byte offsets, so `i` is valid in `m` too
            m.replace_range(i..i + needle.len(), label);
            lower.replace_range(i..i + needle.len(), label);
            from = i + label.len();
        }
    }
    m
}

/// The needles replaced in the text as it is, then in its percent-decoded forms (up to three
/// rounds: a receiver may encode every byte, or encode twice): when a secret shows only once
/// decoded, the decoded, redacted text is what is kept.
fn apply(msg: &str, needles: &[(String, &'static str)]) -> String {
    let mut out = replace_all(msg, needles);
    let mut cur = out.clone();
    for _ in 0..3 {
        let d = decode(&cur);
        if d == cur {
            break;
        }
        let r = replace_all(&d, needles);
        if r != d {
            out = r.clone();
        }
        cur = r;
    }
    out
}

/// `msg` without any form of `url` (see the module doc).
pub fn url(msg: &str, url: &str) -> String {
    apply(msg, &url_needles(url))
}

/// `msg` without `secret` in any of its forms: as is, percent-encoded, base64 (alone, and
/// inside each of `contexts`, e.g. the SMTP `AUTH PLAIN` token `\0user\0password`).
pub fn secret(msg: &str, secret: &str, contexts: &[String]) -> String {
    if secret.is_empty() {
        return msg.to_string();
    }
    let mut out = Vec::new();
    push_forms(&mut out, secret, LABEL);
    for s in std::iter::once(secret).chain(contexts.iter().map(String::as_str)) {
        let b = base64(s.as_bytes());
        out.push((b.trim_end_matches('=').to_string(), LABEL));
    }
    for c in contexts {
        push_forms(&mut out, c, LABEL);
    }
    apply(msg, &finish(out))
}

/// Standard base64 with padding (the `base64` crate, already linked through ureq).
pub fn base64(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A URL safe to show: scheme, host and port only (`https://host:443/…`); userinfo, path,
/// query and fragment left out. For errors about endpoint URLs that may carry credentials.
pub fn shown(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) if s.len() <= 10 && s.bytes().all(|b| b.is_ascii_alphanumeric()) => (s, r),
        _ => return "<URL not shown>".to_string(),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((_, h)) => ("<redacted>@", h),
        None => ("", authority),
    };
    let hostport: String = hostport
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    let more = if end < rest.len() { "/…" } else { "" };
    format!("{scheme}://{userinfo}{hostport}{more}")
}

/// Cuts `s` to at most `n` characters (after redaction, never before).
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n).collect();
        c.push('…');
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str =
        "https://hooks.slack.com/services/T0AB12CD3/B0EF45GH6/abcXYZsecret0123456789";

    #[test]
    fn every_form_of_a_webhook_url_is_removed() {
        let forms = [
            SLACK.to_string(),
            "hooks.slack.com/services/T0AB12CD3/B0EF45GH6/abcXYZsecret0123456789".into(),
            "/services/T0AB12CD3/B0EF45GH6/abcXYZsecret0123456789".into(),
            "services/T0AB12CD3/B0EF45GH6/abcXYZsecret0123456789".into(),
            "invalid token abcXYZsecret0123456789".into(),
            "channel B0EF45GH6 team T0AB12CD3".into(),
            encode(SLACK, true),
            encode(SLACK, false),
            "https:\\/\\/hooks.slack.com\\/services\\/T0AB12CD3\\/B0EF45GH6\\/abcXYZsecret0123456789"
                .into(),
        ];
        for f in forms {
            let r = url(&format!("error: {f} (x)"), SLACK);
            for secret in ["abcXYZsecret", "T0AB12CD3", "B0EF45GH6"] {
                assert!(!r.contains(secret), "{f} -> {r}");
            }
            assert!(r.starts_with("error: ") && r.ends_with(" (x)"), "{r}");
        }
    }

    #[test]
    fn query_userinfo_and_encoded_segments() {
        let u = "http://bot:pa55word@127.0.0.1:8080/hook/s%2Bcr3t-path?token=tok-123456&x=1";
        for f in [
            "pa55word",
            "bot:pa55word",
            "127.0.0.1:8080/hook/s%2Bcr3t-path?token=tok-123456&x=1",
            "/hook/s%2Bcr3t-path",
            "s+cr3t-path",
            "s%2bcr3t-path",
            "token=tok-123456",
            "tok%2D123456",
            "%74%6f%6b%2d%31%32%33%34%35%36",
            "TOK-123456",
            "hook%252Fs%25252Bcr3t-path",
        ] {
            let r = url(&format!("POST {f} failed"), u);
            for s in ["pa55word", "cr3t-path", "tok-123456", "tok%2D123456"] {
                assert!(!r.contains(s), "{f} -> {r}");
            }
        }
        // common words are left alone
        assert_eq!(url("connection refused", u), "connection refused");
        assert_eq!(url("no such services", SLACK), "no such services");
    }

    #[test]
    fn passwords_in_plain_base64_and_tokens() {
        let ctx = vec!["\0ops\0hunter2!x".to_string()];
        for f in [
            "hunter2!x".to_string(),
            base64(b"hunter2!x"),
            base64(b"\0ops\0hunter2!x"),
            "hunter2%21x".to_string(),
        ] {
            let r = secret(&format!("535 bad {f}"), "hunter2!x", &ctx);
            assert!(!r.contains(&f), "{r}");
        }
    }

    #[test]
    fn shown_keeps_only_scheme_and_host() {
        assert_eq!(
            shown("https://AKIA:s3cr3t@sh.example:8443/p?q=1"),
            "https://<redacted>@sh.example:8443/…"
        );
        assert_eq!(shown("http://127.0.0.1:1"), "http://127.0.0.1:1");
        assert_eq!(shown("no scheme s3cr3t"), "<URL not shown>");
        assert_eq!(clip("abcdef", 3), "abc…");
    }
}
