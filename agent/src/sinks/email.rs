//! The report by mail: SMTP with STARTTLS over rustls (the TLS stack already in the binary
//! for AWS), AUTH PLAIN or LOGIN only after TLS, a UTF-8 plain-text body.
//!
//! Why not lettre: the agent needs one message a day to one relay. A client for exactly
//! that (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT) is ~300 lines on top of rustls,
//! which ureq already links; lettre would add its own MIME, encoding and transport crates.
//!
//! The body is [`report_text`] (the current run's summary) followed by [`daily_report`], the
//! `jikimi report --since 24h` Markdown built from the scan history.

use super::{ParameterError, SinkSummary};
use crate::findings::Status;
use crate::i18n::Lang;
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
pub fn daily_report(history_dir: &std::path::Path, lang: Lang) -> Option<String> {
    let (records, bad) = crate::history::load(history_dir).ok()?;
    let day = std::time::Duration::from_secs(24 * 3600);
    let mut doc =
        super::report::build(&records, bad, day, "24h", std::time::SystemTime::now()).ok()?;
    doc.lang = lang;
    Some(super::report::markdown(&doc))
}

/// Subject and body of the mail: the current run's summary. (`jikimi report`, when it
/// exists, can produce this text instead.)
pub fn report_text(report: &Report, prefix: &str, lang: Lang) -> (String, String) {
    let t = lang.t();
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
    let subject = (t.mail_subject)(
        &format!("{prefix}{env}"),
        &e(&report.host.hostname),
        s.failed,
        s.score,
    );
    let mut b = String::new();
    b += &format!("{} {}\n", t.mail_heading, e(&report.host.hostname));
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
        "\n{}\n",
        (t.mail_summary)(
            s.total,
            s.passed,
            s.failed,
            s.not_applicable,
            s.errors,
            s.score
        )
    );
    let mut failed: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .collect();
    failed.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    if !failed.is_empty() {
        b += &format!("\n{}\n", t.mail_failed);
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
        b += &format!("\n{}\n", t.mail_errors);
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
        b += &format!("\n{}\n", t.mail_delivery);
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
        return one;
    }
    // RFC 2047: an encoded word is at most 75 characters, so a long (Korean) subject is
    // several words of at most 45 bytes each (never splitting a character), folded.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in one.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", b64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", b64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// The whole message (CRLF line ends; the body base64 in 76-column lines).
pub fn message(from: &str, to: &[String], subject: &str, body: &str, host: &str) -> String {
    let now = std::time::SystemTime::now();
    let id = format!(
        "<jikimi.{}.{}@{}>",
        crate::time::unix_ms(now),
        crate::net::random_u64() % 1_000_000_000,
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

/// Why one SMTP transaction failed. No variant ever holds the password: server replies are
/// quoted through `Smtp::quote` (redacted, clipped) before they get here.
#[derive(thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP reply line too long")]
    LineTooLong,
    #[error("stopped while waiting for the SMTP server (the agent is shutting down)")]
    Stopped,
    #[error("no SMTP reply within {secs} s")]
    NoReply { secs: u64 },
    #[error("reading the SMTP reply")]
    Read {
        #[source]
        source: std::io::Error,
    },
    #[error("the SMTP server closed the connection")]
    Closed,
    #[error("SMTP reply longer than {max} lines")]
    TooManyLines { max: usize },
    #[error("malformed SMTP reply `{quoted}`")]
    Malformed { quoted: String },
    #[error("writing to the SMTP server")]
    Write {
        #[source]
        source: std::io::Error,
    },
    /// The server answered a command with a code it was not expected to.
    #[error("{command}: server answered {reply}{}", if *code >= 500 { " (permanent)" } else { "" })]
    Refused {
        /// The command as errors may show it (never the credentials).
        command: String,
        code: u16,
        /// The reply, redacted and clipped.
        reply: String,
    },
    #[error("SMTP greeting: {reply}")]
    Greeting { reply: String },
    #[error("CA bundle {}", path.display())]
    CaBundleRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("CA bundle {}: {reason}", path.display())]
    CaBundle { path: PathBuf, reason: String },
    #[error("CA bundle {}: no certificate", path.display())]
    CaBundleEmpty { path: PathBuf },
    #[error("TLS")]
    Tls {
        #[source]
        source: rustls::Error,
    },
    #[error("TLS server name {host}")]
    ServerName {
        host: String,
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },
    #[error("{host}:{port}")]
    Resolve {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("{host}: no address")]
    NoAddress { host: String },
    #[error("cannot connect to {host}:{port}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("{host}:{port} does not offer STARTTLS (required; set email.starttls = false only for a loopback relay)")]
    NoStartTls { host: String, port: u16 },
    #[error("data after the STARTTLS reply (possible injection); giving up")]
    DataAfterStartTls,
    #[error("TLS already active")]
    TlsActive,
    #[error("TLS handshake or EHLO failed")]
    Handshake {
        #[source]
        source: Box<SmtpError>,
    },
    #[error("refusing to send SMTP credentials without TLS")]
    CredentialsWithoutTls,
    #[error("the server offers no PLAIN or LOGIN authentication (offers: {offers})")]
    NoAuthMechanism { offers: String },
}
crate::error_text::debug_as_display!(SmtpError);

impl SmtpError {
    /// Retrying cannot help: a 5xx answer, or a refusal of this agent's own.
    pub fn is_permanent(&self) -> bool {
        match self {
            SmtpError::Refused { code, .. } => *code >= 500,
            SmtpError::CredentialsWithoutTls => true,
            SmtpError::Handshake { source } => source.is_permanent(),
            _ => false,
        }
    }
}

impl Smtp {
    fn line(&mut self) -> Result<String, SmtpError> {
        let started = std::time::Instant::now();
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let l: Vec<u8> = self.buf.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&l).trim_end().to_string());
            }
            if self.buf.len() > 64 * 1024 {
                return Err(SmtpError::LineTooLong);
            }
            let mut chunk = [0u8; 4096];
            let n = match self.conn.read(&mut chunk) {
                Ok(n) => n,
                // the socket's read timeout is a short slice: look at the stop flag and the
                // reply deadline, then wait again
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if crate::cancel::requested() {
                        return Err(SmtpError::Stopped);
                    }
                    if started.elapsed() >= REPLY_WAIT {
                        return Err(SmtpError::NoReply {
                            secs: REPLY_WAIT.as_secs(),
                        });
                    }
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => return Err(SmtpError::Read { source }),
            };
            if n == 0 {
                return Err(SmtpError::Closed);
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
    fn reply(&mut self) -> Result<(u16, Vec<String>), SmtpError> {
        let mut lines = Vec::new();
        loop {
            if lines.len() >= MAX_REPLY_LINES {
                return Err(SmtpError::TooManyLines {
                    max: MAX_REPLY_LINES,
                });
            }
            let l = self.line()?;
            let code: Option<u16> = l.get(..3).and_then(|c| c.parse().ok());
            let Some(code) = code else {
                return Err(SmtpError::Malformed {
                    quoted: self.quote(&l, 80),
                });
            };
            let more = l.as_bytes().get(3) == Some(&b'-');
            lines.push(l.get(4..).unwrap_or("").to_string());
            if !more {
                self.last = format!("{code} {}", lines.join(" / "));
                return Ok((code, lines));
            }
        }
    }

    fn send(&mut self, cmd: &str) -> Result<(), SmtpError> {
        self.conn
            .write_all(cmd.as_bytes())
            .and_then(|_| self.conn.write_all(b"\r\n"))
            .and_then(|_| self.conn.flush())
            .map_err(|source| SmtpError::Write { source })
    }

    /// Sends a command and expects a reply code in `ok`. `shown` is what errors quote.
    fn cmd(&mut self, cmd: &str, shown: &str, ok: &[u16]) -> Result<Vec<String>, SmtpError> {
        self.send(cmd)?;
        let (code, lines) = self.reply()?;
        if ok.contains(&code) {
            return Ok(lines);
        }
        Err(SmtpError::Refused {
            command: shown.to_string(),
            code,
            reply: self.quote(&self.last, 200),
        })
    }
}

fn tls_config(ca_bundle: Option<&PathBuf>) -> Result<Arc<rustls::ClientConfig>, SmtpError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_bundle {
        Some(p) => {
            let pem = std::fs::read(p).map_err(|source| SmtpError::CaBundleRead {
                path: p.clone(),
                source,
            })?;
            let bad = |reason: String| SmtpError::CaBundle {
                path: p.clone(),
                reason,
            };
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => roots
                        .add(rustls::pki_types::CertificateDer::from(c.der().to_vec()))
                        .map_err(|e| bad(e.to_string()))?,
                    Ok(_) => {}
                    Err(e) => return Err(bad(e.to_string())),
                }
            }
            if roots.is_empty() {
                return Err(SmtpError::CaBundleEmpty { path: p.clone() });
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| SmtpError::Tls { source })?
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
pub fn deliver(m: &Mail) -> Result<(), SmtpError> {
    let addr = (m.host, m.port)
        .to_socket_addrs()
        .map_err(|source| SmtpError::Resolve {
            host: m.host.to_string(),
            port: m.port,
            source,
        })?
        .next()
        .ok_or_else(|| SmtpError::NoAddress {
            host: m.host.to_string(),
        })?;
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(|source| {
        SmtpError::Connect {
            host: m.host.to_string(),
            port: m.port,
            source,
        }
    })?;
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
        return Err(SmtpError::Greeting {
            reply: s.quote(&s.last, 200),
        });
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
            return Err(SmtpError::NoStartTls {
                host: m.host.to_string(),
                port: m.port,
            });
        }
        s.cmd("STARTTLS", "STARTTLS", &[220])?;
        if !s.buf.is_empty() {
            return Err(SmtpError::DataAfterStartTls);
        }
        let cfg = tls_config(m.ca_bundle)?;
        let name =
            rustls::pki_types::ServerName::try_from(m.host.to_string()).map_err(|source| {
                SmtpError::ServerName {
                    host: m.host.to_string(),
                    source,
                }
            })?;
        let conn =
            rustls::ClientConnection::new(cfg, name).map_err(|source| SmtpError::Tls { source })?;
        let tcp = match std::mem::replace(&mut s.conn, Conn::Gone) {
            Conn::Plain(t) => t,
            _ => return Err(SmtpError::TlsActive),
        };
        s.conn = Conn::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
        tls = true;
        ext = s
            .cmd(&format!("EHLO {helo}"), "EHLO after STARTTLS", &[250])
            .map_err(|e| SmtpError::Handshake {
                source: Box::new(e),
            })?;
    }
    if let Some((user, pass)) = m.auth {
        if !tls {
            return Err(SmtpError::CredentialsWithoutTls);
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
            return Err(SmtpError::NoAuthMechanism { offers: mechs });
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

/// When the daemon last mailed the report (a timestamp file in the state directory).
pub const MAIL_STAMP: &str = "email-last-sent";

/// The report mail is due when none was sent in the last 23.5 hours (a little under a day, so
/// hourly scans do not push the mail later every day).
fn mail_due(state_dir: &std::path::Path) -> bool {
    let last = std::fs::read_to_string(state_dir.join(MAIL_STAMP))
        .ok()
        .and_then(|t| crate::time::parse_rfc3339(t.trim()));
    match last.and_then(|t| t.elapsed().ok()) {
        Some(age) => age >= Duration::from_secs(23 * 3600 + 1800),
        None => true,
    }
}

/// The report mail sink: built from `[email]` and the language of the mail.
pub struct Email<'a> {
    cfg: &'a EmailConfig,
    lang: Lang,
    /// At most one mail a day (the daemon): skipped while the last one is recent, the time
    /// of each mail sent remembered in the state directory ([`MAIL_STAMP`]).
    daily: bool,
}

impl<'a> Email<'a> {
    pub fn new(cfg: &'a EmailConfig, lang: Lang, daily: bool) -> Email<'a> {
        Email { cfg, lang, daily }
    }
}

impl super::Sink for Email<'_> {
    fn name(&self) -> &'static str {
        "email"
    }

    fn deliver(&self, report: &Report, ctx: &super::Context<'_>) -> super::Summaries {
        if self.daily && !mail_due(ctx.state_dir) {
            return Vec::new();
        }
        let history = ctx.state_dir.join("history");
        let s = submit(report, self.cfg, self.lang, ctx.parameter, Some(&history));
        if self.daily && s.sent > 0 {
            let _ = crate::state::write_file(
                &ctx.state_dir.join(MAIL_STAMP),
                crate::time::rfc3339(std::time::SystemTime::now()).as_bytes(),
                0o644,
            );
        }
        vec![(self.name(), s)]
    }
}

/// Sends the report mail (up to three tries, backoff); never fails the run.
pub fn submit(
    report: &Report,
    cfg: &EmailConfig,
    lang: Lang,
    parameter: &dyn Fn(&str) -> Result<String, ParameterError>,
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
                sum.error(format!(
                    "email password from {name}: {}",
                    crate::error_text::chain(&e)
                ));
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
    let (subject, mut body) = report_text(report, prefix, lang);
    if let Some(daily) = history_dir.and_then(|d| daily_report(d, lang)) {
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
    let retry = crate::net::Retry {
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
            Err(err) => {
                let permanent = err.is_permanent();
                let e = crate::error_text::chain(&err);
                // replies are redacted where they are quoted; this catches any other echo
                let e = match password {
                    Some(p) if !p.is_empty() => super::redact::secret(&e, p, &[]),
                    _ => e,
                };
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
    let rnd = crate::net::random_u64();
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
    parameter: &dyn Fn(&str) -> Result<String, ParameterError>,
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
                sum.error(format!(
                    "email password from {name}: {}",
                    crate::error_text::chain(&e)
                ));
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
    fn the_sink_mails_from_its_section_and_the_daemon_at_most_daily() {
        use crate::sinks::asff::tests::{report, result};
        use crate::sinks::{Context, ParameterError, Sink};
        let dir = tempfile::tempdir().unwrap();
        let asked = std::cell::Cell::new(0);
        let parameter = |name: &str| {
            asked.set(asked.get() + 1);
            assert_eq!(name, "/jikimi/smtp");
            Err(ParameterError::Unavailable("test"))
        };
        let ctx = Context {
            state_dir: dir.path(),
            aws: None,
            parameter: &parameter,
        };
        let rep = report(vec![result("A-1", Status::Fail)]);
        let cfg = EmailConfig {
            smtp_host: Some("127.0.0.1".into()),
            from: Some("jikimi@example.com".into()),
            to: vec!["ops@example.com".into()],
            username: Some("u".into()),
            password_parameter: Some("/jikimi/smtp".into()),
            ..Default::default()
        };
        let sums = Email::new(&cfg, Lang::En, true).deliver(&rep, &ctx);
        assert_eq!(sums.len(), 1);
        let (name, s) = &sums[0];
        assert_eq!(*name, "email");
        assert_eq!((s.sent, s.pending, asked.get()), (0, 1, 1));
        assert!(
            s.errors[0].starts_with("email password from /jikimi/smtp: Parameter Store"),
            "{s:?}"
        );
        assert!(
            !dir.path().join(MAIL_STAMP).exists(),
            "nothing sent, no stamp"
        );
        // a mail sent within the day: the daemon's sink skips, `check --once` does not
        std::fs::write(
            dir.path().join(MAIL_STAMP),
            crate::time::rfc3339(std::time::SystemTime::now()),
        )
        .unwrap();
        assert!(Email::new(&cfg, Lang::En, true)
            .deliver(&rep, &ctx)
            .is_empty());
        assert_eq!(asked.get(), 1);
        assert_eq!(
            Email::new(&cfg, Lang::En, false).deliver(&rep, &ctx).len(),
            1
        );
    }

    #[test]
    fn defect8_mail_body_escapes_control_characters() {
        use crate::sinks::asff::tests::{report, result};
        let mut r = result("A-1", Status::Fail);
        r.title = "\x1b[1A\x1b[2Kfake PASS".into();
        let mut rep = report(vec![r, result("B-1", Status::Error)]);
        rep.host.hostname = "h\x1b]0;x\x07".into();
        let (subject, body) = report_text(&rep, "[J]", Lang::En);
        assert!(
            !body.chars().any(|c| c.is_control() && c != '\n'),
            "{body:?}"
        );
        assert!(body.contains("\\x1b[1A"), "{body}");
        assert!(!header_value(&subject).chars().any(char::is_control));
    }

    fn unb64(s: &str) -> Vec<u8> {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let v: Vec<u32> = s
            .bytes()
            .filter(|b| *b != b'=')
            .map(|b| A.iter().position(|a| *a == b).unwrap() as u32)
            .collect();
        let mut out = Vec::new();
        for c in v.chunks(4) {
            let n = c
                .iter()
                .enumerate()
                .fold(0, |n, (i, x)| n | x << (18 - 6 * i));
            out.extend(&n.to_be_bytes()[1..c.len()]);
        }
        out
    }

    #[test]
    fn korean_subject_and_body() {
        use crate::sinks::asff::tests::{report, result};
        let mut rep = report(vec![result("A-1", Status::Fail)]);
        rep.summary.failed = 1;
        let (subject, body) = report_text(&rep, "[지킴이]", Lang::Ko);
        assert!(subject.contains("취약 1건, 점수"), "{subject}");
        assert!(body.contains("취약 점검 항목 (심각도 높은 순):"), "{body}");
        let h = header_value(&format!("{subject} {}", "가".repeat(40)));
        for w in h.split("\r\n ") {
            assert!(w.len() <= 75 && w.starts_with("=?UTF-8?B?"), "{w}");
        }
        let decoded: Vec<u8> = h
            .split("\r\n ")
            .flat_map(|w| {
                let b = w.trim_start_matches("=?UTF-8?B?").trim_end_matches("?=");
                unb64(b)
            })
            .collect();
        assert!(String::from_utf8(decoded)
            .unwrap()
            .ends_with(&"가".repeat(40)));
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

    #[test]
    fn smtp_errors_say_when_a_retry_cannot_help() {
        let refused = |code| SmtpError::Refused {
            command: "RCPT TO a@b".into(),
            code,
            reply: format!("{code} no"),
        };
        assert!(refused(550).is_permanent());
        assert_eq!(
            refused(550).to_string(),
            "RCPT TO a@b: server answered 550 no (permanent)"
        );
        assert!(!refused(451).is_permanent());
        assert_eq!(
            refused(451).to_string(),
            "RCPT TO a@b: server answered 451 no"
        );
        assert!(SmtpError::CredentialsWithoutTls.is_permanent());
        assert!(!SmtpError::Closed.is_permanent());
        let inner = SmtpError::Handshake {
            source: Box::new(refused(554)),
        };
        assert!(inner.is_permanent());
        assert_eq!(
            crate::error_text::chain(&inner),
            "TLS handshake or EHLO failed: RCPT TO a@b: server answered 554 no (permanent)"
        );
        let io = SmtpError::Connect {
            host: "mail".into(),
            port: 25,
            source: std::io::Error::other("refused"),
        };
        assert_eq!(
            crate::error_text::chain(&io),
            "cannot connect to mail:25: refused"
        );
        assert!(!io.is_permanent());
    }
}
