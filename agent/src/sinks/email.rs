//! The report by mail: SMTP with STARTTLS over rustls (the TLS stack already in the binary
//! for AWS), AUTH PLAIN or LOGIN only after TLS, a UTF-8 plain-text body.
//!
//! Why not lettre: the agent needs one message a day to one relay. A client for exactly
//! that (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT) is ~300 lines on top of rustls,
//! which ureq already links; lettre would add its own MIME, encoding and transport crates.
//!
//! The body is [`report_text`] (the current run's summary) followed by [`daily_report`], the
//! `jikimi report --since 24h` Markdown built from the scan history.

use super::SinkSummary;
use crate::findings::Status;
use crate::redact::Secret;
use crate::report::Report;
use serde::Deserialize;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The `[email]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Mail the report after every `check --once` run (as `--submit email` does for one);
    /// the daily timer or State Manager association makes it a daily mail.
    #[serde(default)]
    pub enabled: bool,
    /// SMTP relay host name (or address).
    pub smtp_host: Option<String>,
    /// Port (default 587, submission).
    pub smtp_port: Option<u16>,
    /// Require STARTTLS (default true). `false` is for a relay on loopback only: no AUTH is
    /// then ever sent.
    pub starttls: Option<bool>,
    /// AUTH user name; the password comes from `password` or `password_parameter`.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// A Parameter Store SecureString holding the password.
    pub password_parameter: Option<String>,
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    /// Subject prefix (default `[Jikimi]`).
    pub subject_prefix: Option<String>,
    /// PEM bundle of CAs to trust instead of the built-in Mozilla roots.
    pub ca_bundle: Option<PathBuf>,
}

/// The daily report (`jikimi report --since 24h`, Markdown) from the scan history, when
/// there is one: what newly failed, was fixed, still fails, with references and remediation.
pub fn daily_report(history_dir: &std::path::Path) -> Option<String> {
    let (records, bad) = crate::history::load(history_dir).ok()?;
    let day = std::time::Duration::from_secs(24 * 3600);
    let doc = super::report::build(&records, bad, day, "24h", std::time::SystemTime::now()).ok()?;
    Some(super::report::markdown(&doc))
}

/// Subject and body of the mail: the current run's summary. (`jikimi report`, when it
/// exists, can produce this text instead.)
pub fn report_text(report: &Report, prefix: &str) -> (String, String) {
    // text from the scanned host (names, titles, evidence) is shown, never interpreted by the
    // terminal a mail may be read in
    let e = super::table::escape_controls;
    let s = &report.summary;
    let env = report
        .asset
        .as_ref()
        .and_then(|a| a.tags.get(crate::classify::ENV))
        .map(|e| format!(" [{e}]"))
        .unwrap_or_default();
    let subject = format!(
        "{prefix}{env} {}: {} failed, score {:.1}",
        e(&report.host.hostname),
        s.failed,
        s.score
    );
    let mut b = String::new();
    b += &format!("Jikimi report for {}\n", e(&report.host.hostname));
    b += &format!(
        "Host: {} ({}), machine id {}\n",
        e(&report.host.hostname),
        e(&report.host.os_name),
        e(&report.host.machine_id)
    );
    b += &format!(
        "Scan: {} ({:.0} ms)\n",
        report.finished_at, report.duration_ms
    );
    b += &format!(
        "Catalog: {} profile, digest {}\n",
        report.catalog.profile.as_str(),
        report.catalog.digest
    );
    if let Some(a) = &report.asset {
        if !a.tags.is_empty() {
            let tags: Vec<String> = a
                .tags
                .iter()
                .map(|(k, v)| format!("{}={}", e(k), e(v)))
                .collect();
            b += &format!("Asset: {}\n", tags.join(", "));
        }
    }
    b += &format!(
        "\nSummary: {} checks, {} passed, {} failed, {} not applicable, {} errors; score {:.1}/100\n",
        s.total, s.passed, s.failed, s.not_applicable, s.errors, s.score
    );
    let mut failed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .collect();
    failed.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    if !failed.is_empty() {
        b += "\nFailed checks (most severe first):\n";
        for r in failed {
            b += &format!(
                "  [{}] {} {}\n",
                r.severity.as_str().to_uppercase(),
                e(&r.id),
                e(&r.title)
            );
            if let Some(why) = r
                .reason
                .clone()
                .or_else(|| r.evidence.first().map(|ev| ev.to_string()))
            {
                b += &format!("      {}\n", e(&super::asff::clip(&why, 300)));
            }
        }
    }
    let errors: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Error)
        .collect();
    if !errors.is_empty() {
        b += "\nChecks that could not be evaluated:\n";
        for r in errors {
            b += &format!(
                "  {} {}: {}\n",
                e(&r.id),
                e(&r.title),
                e(r.reason.as_deref().unwrap_or(""))
            );
        }
    }
    if !report.sinks.is_empty() {
        b += "\nDelivery:\n";
        for (name, s) in &report.sinks {
            b += &format!("  {}\n", e(&s.line(name)));
        }
    }
    (subject, b)
}

fn b64(data: &[u8]) -> String {
    super::redact::base64(data)
}

/// An address for a header or an envelope: `local@domain`, printable, no brackets.
fn valid_address(a: &str) -> bool {
    let Some((l, d)) = a.rsplit_once('@') else {
        return false;
    };
    !l.is_empty()
        && !d.is_empty()
        && a.len() <= 254
        && a.bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>(),;:\"[]\\".contains(&b))
}

/// A header value: ASCII as is, anything else as an RFC 2047 encoded word.
fn header_value(s: &str) -> String {
    let one: String = s.chars().filter(|c| !c.is_control()).collect();
    if one.is_ascii() {
        one
    } else {
        format!("=?UTF-8?B?{}?=", b64(one.as_bytes()))
    }
}

/// The whole message (CRLF line ends; the body base64 in 76-column lines).
pub fn message(from: &str, to: &[String], subject: &str, body: &str, host: &str) -> String {
    let now = std::time::SystemTime::now();
    let id = format!(
        "<jikimi.{}.{}@{}>",
        crate::time::unix_ms(now),
        crate::aws::http::random_u64() % 1_000_000_000,
        if host.is_empty() { "localhost" } else { host }
    );
    let mut m = String::new();
    m += &format!("From: {from}\r\n");
    m += &format!("To: {}\r\n", to.join(", "));
    m += &format!("Subject: {}\r\n", header_value(subject));
    m += &format!("Date: {}\r\n", crate::time::rfc5322(now));
    m += &format!("Message-ID: {id}\r\n");
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: text/plain; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: base64\r\n";
    m += "Auto-Submitted: auto-generated\r\n";
    m += "\r\n";
    let enc = b64(body.replace("\r\n", "\n").replace('\n', "\r\n").as_bytes());
    for chunk in enc.as_bytes().chunks(76) {
        m += std::str::from_utf8(chunk).unwrap_or_default();
        m += "\r\n";
    }
    m
}

enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
    Gone,
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
            Conn::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
            Conn::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
            Conn::Gone => Ok(()),
        }
    }
}

/// One SMTP session.
struct Smtp {
    conn: Conn,
    buf: Vec<u8>,
    /// A transcript of commands and replies for errors (AUTH lines left out).
    last: String,
    /// The password and the AUTH tokens made from it: removed from every quoted reply
    /// (a server may echo them), before the quote is cut to length.
    secret: Option<(String, Vec<String>)>,
}

/// How long one reply line may take.
const REPLY_WAIT: Duration = Duration::from_secs(30);
/// The socket read timeout: how often a wait for the server looks at the stop flag.
const READ_SLICE: Duration = Duration::from_millis(250);

/// Lines of one (multi-line) reply read at most: a server cannot make the agent buffer more.
const MAX_REPLY_LINES: usize = 256;

impl Smtp {
    fn line(&mut self) -> Result<String, String> {
        let started = std::time::Instant::now();
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.buf.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&l).trim_end().to_string());
            }
            if self.buf.len() > 64 * 1024 {
                return Err("SMTP reply line too long".into());
            }
            let mut chunk = [0u8; 4096];
            let n = match self.conn.read(&mut chunk) {
                Ok(n) => n,
                // the socket's read timeout is a short slice: look at the stop flag and the
                // reply deadline, then wait again
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if crate::cancel::requested() {
                        return Err("stopped while waiting for the SMTP server (the agent is shutting down)".into());
                    }
                    if started.elapsed() >= REPLY_WAIT {
                        return Err(format!("no SMTP reply within {} s", REPLY_WAIT.as_secs()));
                    }
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("reading the SMTP reply: {e}")),
            };
            if n == 0 {
                return Err("the SMTP server closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Server text fit to quote in an error: secrets removed first, then cut to `n`
    /// characters, control characters escaped.
    fn quote(&self, text: &str, n: usize) -> String {
        let t = match &self.secret {
            Some((p, ctx)) => super::redact::secret(text, p, ctx),
            None => text.to_string(),
        };
        super::redact::clip(&crate::sinks::table::escape_controls(&t), n)
    }

    /// Reads one (multi-line) reply: its code and text lines.
    fn reply(&mut self) -> Result<(u16, Vec<String>), String> {
        let mut lines = Vec::new();
        loop {
            if lines.len() >= MAX_REPLY_LINES {
                return Err(format!("SMTP reply longer than {MAX_REPLY_LINES} lines"));
            }
            let l = self.line()?;
            let code: Option<u16> = l.get(..3).and_then(|c| c.parse().ok());
            let Some(code) = code else {
                return Err(format!("malformed SMTP reply `{}`", self.quote(&l, 80)));
            };
            let more = l.as_bytes().get(3) == Some(&b'-');
            lines.push(l.get(4..).unwrap_or("").to_string());
            if !more {
                self.last = format!("{code} {}", lines.join(" / "));
                return Ok((code, lines));
            }
        }
    }

    fn send(&mut self, cmd: &str) -> Result<(), String> {
        self.conn
            .write_all(cmd.as_bytes())
            .and_then(|_| self.conn.write_all(b"\r\n"))
            .and_then(|_| self.conn.flush())
            .map_err(|e| format!("writing to the SMTP server: {e}"))
    }

    /// Sends a command and expects a reply code in `ok`. `shown` is what errors quote.
    fn cmd(&mut self, cmd: &str, shown: &str, ok: &[u16]) -> Result<Vec<String>, String> {
        self.send(cmd)?;
        let (code, lines) = self.reply()?;
        if ok.contains(&code) {
            return Ok(lines);
        }
        let mut e = format!("{shown}: server answered {}", self.quote(&self.last, 200));
        if code >= 500 {
            e += " (permanent)";
        }
        Err(e)
    }
}

fn tls_config(ca_bundle: Option<&PathBuf>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_bundle {
        Some(p) => {
            let pem = std::fs::read(p).map_err(|e| format!("CA bundle {}: {e}", p.display()))?;
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => roots
                        .add(rustls::pki_types::CertificateDer::from(c.der().to_vec()))
                        .map_err(|e| format!("CA bundle {}: {e}", p.display()))?,
                    Ok(_) => {}
                    Err(e) => return Err(format!("CA bundle {}: {e}", p.display())),
                }
            }
            if roots.is_empty() {
                return Err(format!("CA bundle {}: no certificate", p.display()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// What a delivery needs, resolved.
pub struct Mail<'a> {
    pub host: &'a str,
    pub port: u16,
    pub starttls: bool,
    pub auth: Option<(&'a str, &'a str)>,
    pub from: &'a str,
    pub to: &'a [String],
    pub data: &'a str,
    pub ca_bundle: Option<&'a PathBuf>,
}

/// One SMTP transaction. Errors never contain the password.
pub fn deliver(m: &Mail) -> Result<(), String> {
    let addr = (m.host, m.port)
        .to_socket_addrs()
        .map_err(|e| format!("{}:{}: {e}", m.host, m.port))?
        .next()
        .ok_or_else(|| format!("{}: no address", m.host))?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
        .map_err(|e| format!("cannot connect to {}:{}: {e}", m.host, m.port))?;
    let _ = tcp.set_read_timeout(Some(READ_SLICE));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(30)));
    let mut s = Smtp {
        conn: Conn::Plain(tcp),
        buf: Vec::new(),
        last: String::new(),
        secret: m.auth.filter(|(_, p)| !p.is_empty()).map(|(u, p)| {
            (
                p.to_string(),
                vec![format!("\0{u}\0{p}"), format!("{u}\0{p}")],
            )
        }),
    };
    let (code, _) = s.reply()?;
    if code != 220 {
        return Err(format!("SMTP greeting: {}", s.quote(&s.last, 200)));
    }
    let helo = {
        let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let h = h.trim();
        if !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
        {
            h.to_string()
        } else {
            "localhost".to_string()
        }
    };
    let mut ext = s.cmd(&format!("EHLO {helo}"), "EHLO", &[250])?;
    let has = |ext: &[String], name: &str| {
        ext.iter().any(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(name))
        })
    };
    let mut tls = false;
    if m.starttls {
        if !has(&ext, "STARTTLS") {
            return Err(format!(
                "{}:{} does not offer STARTTLS (required; set email.starttls = false only for a loopback relay)",
                m.host, m.port
            ));
        }
        s.cmd("STARTTLS", "STARTTLS", &[220])?;
        if !s.buf.is_empty() {
            return Err("data after the STARTTLS reply (possible injection); giving up".into());
        }
        let cfg = tls_config(m.ca_bundle)?;
        let name = rustls::pki_types::ServerName::try_from(m.host.to_string())
            .map_err(|e| format!("TLS server name {}: {e}", m.host))?;
        let conn = rustls::ClientConnection::new(cfg, name).map_err(|e| format!("TLS: {e}"))?;
        let tcp = match std::mem::replace(&mut s.conn, Conn::Gone) {
            Conn::Plain(t) => t,
            _ => return Err("TLS already active".into()),
        };
        s.conn = Conn::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
        tls = true;
        ext = s
            .cmd(&format!("EHLO {helo}"), "EHLO after STARTTLS", &[250])
            .map_err(|e| format!("TLS handshake or EHLO failed: {e}"))?;
    }
    if let Some((user, pass)) = m.auth {
        if !tls {
            return Err("refusing to send SMTP credentials without TLS".into());
        }
        let mechs: Vec<String> = ext
            .iter()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                w.next()
                    .filter(|x| x.eq_ignore_ascii_case("AUTH"))
                    .map(|_| w.map(str::to_ascii_uppercase).collect::<Vec<_>>().join(" "))
            })
            .collect();
        let mechs = mechs.join(" ");
        if mechs.split(' ').any(|x| x == "PLAIN") {
            let token = b64(format!("\0{user}\0{pass}").as_bytes());
            s.cmd(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", &[235])?;
        } else if mechs.split(' ').any(|x| x == "LOGIN") {
            s.cmd("AUTH LOGIN", "AUTH LOGIN", &[334])?;
            s.cmd(&b64(user.as_bytes()), "AUTH LOGIN user", &[334])?;
            s.cmd(&b64(pass.as_bytes()), "AUTH LOGIN password", &[235])?;
        } else {
            return Err(format!(
                "the server offers no PLAIN or LOGIN authentication (offers: {mechs})"
            ));
        }
    }
    s.cmd(&format!("MAIL FROM:<{}>", m.from), "MAIL FROM", &[250])?;
    for r in m.to {
        s.cmd(
            &format!("RCPT TO:<{r}>"),
            &format!("RCPT TO {r}"),
            &[250, 251],
        )?;
    }
    s.cmd("DATA", "DATA", &[354])?;
    // dot-stuffing: a line starting with '.' gets another (the base64 body never does)
    let mut data = String::with_capacity(m.data.len() + 8);
    for l in m.data.split_inclusive("\r\n") {
        if l.starts_with('.') {
            data.push('.');
        }
        data.push_str(l);
    }
    if !data.ends_with("\r\n") {
        data.push_str("\r\n");
    }
    data.push('.');
    s.cmd(&data, "message", &[250])?;
    let _ = s.cmd("QUIT", "QUIT", &[221]);
    Ok(())
}

/// Sends the report mail (up to three tries, backoff); never fails the run.
pub fn submit(
    report: &Report,
    cfg: &EmailConfig,
    parameter: &dyn Fn(&str) -> Result<String, String>,
    history_dir: Option<&std::path::Path>,
) -> SinkSummary {
    let mut sum = SinkSummary::default();
    let missing: Vec<&str> = [
        ("email.smtp_host", cfg.smtp_host.is_none()),
        ("email.from", cfg.from.is_none()),
        ("email.to", cfg.to.is_empty()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(k, _)| *k)
    .collect();
    if !missing.is_empty() {
        sum.error(format!("not configured: set {}", missing.join(", ")));
        sum.pending = 1;
        return sum;
    }
    let from = cfg.from.clone().unwrap_or_default();
    for a in std::iter::once(&from).chain(&cfg.to) {
        if !valid_address(a) {
            sum.error(format!("`{a}` is not a plain mail address (local@domain)"));
            sum.pending = 1;
            return sum;
        }
    }
    let password = match (&cfg.password, &cfg.password_parameter) {
        (Some(p), _) => Some(p.0.clone()),
        (None, Some(name)) => match parameter(name) {
            Ok(p) => Some(p.trim_end_matches(['\r', '\n']).to_string()),
            Err(e) => {
                sum.error(format!("email password from {name}: {e}"));
                sum.pending = 1;
                return sum;
            }
        },
        (None, None) => None,
    };
    if cfg.username.is_some() != password.is_some() {
        sum.error("email.username and a password (password or password_parameter) go together");
        sum.pending = 1;
        return sum;
    }
    let prefix = cfg.subject_prefix.as_deref().unwrap_or("[Jikimi]");
    let (subject, mut body) = report_text(report, prefix);
    if let Some(daily) = history_dir.and_then(daily_report) {
        body.push_str("\n\n");
        body.push_str(&daily);
    }
    let data = message(&from, &cfg.to, &subject, &body, &report.host.hostname);
    let host = cfg.smtp_host.clone().unwrap_or_default();
    let mail = Mail {
        host: &host,
        port: cfg.smtp_port.unwrap_or(587),
        starttls: cfg.starttls.unwrap_or(true),
        auth: cfg.username.as_deref().zip(password.as_deref()),
        from: &from,
        to: &cfg.to,
        data: &data,
        ca_bundle: cfg.ca_bundle.as_ref(),
    };
    deliver_with_retry(&mail, password.as_deref(), &mut sum);
    sum
}

/// Sends one message with up to three tries on temporary failures (jittered backoff that
/// stops when the agent is asked to stop), recording the outcome in `sum`. Errors never
/// carry the password, in any form.
fn deliver_with_retry(mail: &Mail, password: Option<&str>, sum: &mut SinkSummary) {
    let retry = crate::aws::http::Retry {
        max_attempts: 3,
        base: Duration::from_millis(500),
        cap: Duration::from_secs(4),
    };
    for attempt in 1..=retry.max_attempts {
        sum.calls += 1;
        match deliver(mail) {
            Ok(()) => {
                sum.sent = 1;
                return;
            }
            Err(e) => {
                // replies are redacted where they are quoted; this catches any other echo
                let e = match password {
                    Some(p) if !p.is_empty() => super::redact::secret(&e, p, &[]),
                    _ => e,
                };
                let permanent = e.contains("(permanent)") || e.contains("refusing");
                if permanent || attempt == retry.max_attempts {
                    sum.failed = 1;
                    sum.error(format!("SMTP {}: {e}", mail.host));
                    return;
                }
                if !crate::cancel::sleep(retry.delay(attempt).max(Duration::from_millis(200))) {
                    sum.failed = 1;
                    sum.pending = 1;
                    sum.error(format!(
                        "SMTP {}: {e}; stopped before retrying (the agent is shutting down)",
                        mail.host
                    ));
                    return;
                }
            }
        }
    }
}

/// A multipart/alternative message: the text, and the same content as HTML (mail clients
/// show the HTML, plain-text readers the text). Both parts base64 in 76-column lines.
pub fn message_alternative(
    from: &str,
    to: &[String],
    subject: &str,
    text: &str,
    html: &str,
) -> String {
    let now = std::time::SystemTime::now();
    let rnd = crate::aws::http::random_u64();
    // base64 never contains `-`, so the boundary cannot occur in a part.
    let boundary = format!("--jikimi-{rnd:016x}");
    let mut m = String::new();
    m += &format!("From: {from}\r\n");
    m += &format!("To: {}\r\n", to.join(", "));
    m += &format!("Subject: {}\r\n", header_value(subject));
    m += &format!("Date: {}\r\n", crate::time::rfc5322(now));
    m += &format!(
        "Message-ID: <jikimi.{}.{}@localhost>\r\n",
        crate::time::unix_ms(now),
        rnd % 1_000_000_000
    );
    m += "MIME-Version: 1.0\r\n";
    m += &format!("Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n");
    m += "Auto-Submitted: auto-generated\r\n\r\n";
    for (kind, part) in [("plain", text), ("html", html)] {
        m += &format!("--{boundary}\r\n");
        m += &format!("Content-Type: text/{kind}; charset=utf-8\r\n");
        m += "Content-Transfer-Encoding: base64\r\n\r\n";
        let enc = b64(part.replace("\r\n", "\n").replace('\n', "\r\n").as_bytes());
        for chunk in enc.as_bytes().chunks(76) {
            m += std::str::from_utf8(chunk).unwrap_or_default();
            m += "\r\n";
        }
    }
    m += &format!("--{boundary}--\r\n");
    m
}

/// Mails a prepared text (`jikimi fleet report --mail`), with an HTML alternative when
/// given: the `[email]` settings, checks, password lookup and retries of [`submit`], with
/// the caller's subject and body instead of a host's report.
pub fn send_text(
    cfg: &EmailConfig,
    parameter: &dyn Fn(&str) -> Result<String, String>,
    subject: &str,
    body: &str,
    html: Option<&str>,
) -> SinkSummary {
    let mut sum = SinkSummary::default();
    let (Some(host), Some(from)) = (&cfg.smtp_host, &cfg.from) else {
        sum.error("not configured: set email.smtp_host, email.from and email.to");
        sum.pending = 1;
        return sum;
    };
    if cfg.to.is_empty()
        || !std::iter::once(from)
            .chain(&cfg.to)
            .all(|a| valid_address(a))
    {
        sum.error("email.from and email.to must be plain mail addresses (local@domain)");
        sum.pending = 1;
        return sum;
    }
    let password = match (&cfg.password, &cfg.password_parameter) {
        (Some(p), _) => Some(p.0.clone()),
        (None, Some(name)) => match parameter(name) {
            Ok(p) => Some(p.trim_end_matches(['\r', '\n']).to_string()),
            Err(e) => {
                sum.error(format!("email password from {name}: {e}"));
                sum.pending = 1;
                return sum;
            }
        },
        (None, None) => None,
    };
    let prefix = cfg.subject_prefix.as_deref().unwrap_or("[Jikimi]");
    let subject = format!("{prefix} {subject}");
    let data = match html {
        Some(h) => message_alternative(from, &cfg.to, &subject, body, h),
        None => message(from, &cfg.to, &subject, body, ""),
    };
    let mail = Mail {
        host,
        port: cfg.smtp_port.unwrap_or(587),
        starttls: cfg.starttls.unwrap_or(true),
        auth: cfg.username.as_deref().zip(password.as_deref()),
        from,
        to: &cfg.to,
        data: &data,
        ca_bundle: cfg.ca_bundle.as_ref(),
    };
    deliver_with_retry(&mail, password.as_deref(), &mut sum);
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defect8_mail_body_escapes_control_characters() {
        use crate::sinks::asff::tests::{report, result};
        let mut r = result("A-1", Status::Fail);
        r.title = "\x1b[1A\x1b[2Kfake PASS".into();
        let mut rep = report(vec![r, result("B-1", Status::Error)]);
        rep.host.hostname = "h\x1b]0;x\x07".into();
        let (subject, body) = report_text(&rep, "[J]");
        assert!(
            !body.chars().any(|c| c.is_control() && c != '\n'),
            "{body:?}"
        );
        assert!(body.contains("\\x1b[1A"), "{body}");
        assert!(!header_value(&subject).chars().any(char::is_control));
    }

    #[test]
    fn base64_and_headers() {
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64(b"\0u\0p"), "AHUAcA==");
        assert_eq!(header_value("plain"), "plain");
        assert_eq!(
            header_value("지킴이"),
            format!("=?UTF-8?B?{}?=", b64("지킴이".as_bytes()))
        );
        assert!(valid_address("ops@example.com"));
        assert!(!valid_address("Ops <ops@example.com>"));
        assert!(!valid_address("ops@example.com\r\nRCPT TO:<x@y>"));
        let m = message("a@b.c", &["d@e.f".into()], "s", "line1\nline2\n", "h");
        assert!(m.contains(
            "Content-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n"
        ));
        assert!(m.lines().all(|l| l.len() <= 998));
    }
}
