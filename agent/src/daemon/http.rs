//! The daemon's HTTP endpoint (`/metrics`, `/healthz`): one thread, one `poll(2)` loop over
//! non-blocking sockets, so no client can hold up another.
//!
//! Why not a crate: the only well-known small blocking server, `tiny_http` 0.12 (last release
//! 2022), hands each connection to a thread pool that grows without a bound and has no header
//! deadline, so a slow client still pins a thread for as long as it trickles bytes; it added
//! 195 KiB to a stripped, fat-LTO release binary in a side-by-side build. The endpoint needs a
//! request line and nothing else, so this loop is smaller than the crate and bounds everything:
//! - at most [`Limits::max_conns`] connections; when full, the oldest one still sending its
//!   request is dropped to make room (a scraper sends its request at once, a slow client never
//!   finishes, so flooding cannot lock out a legitimate scrape);
//! - a whole-request deadline ([`Limits::head_deadline`]) from accept to the end of the
//!   headers, however the bytes trickle in, and one for writing the reply;
//! - at most [`Limits::head_bytes`] of request line and headers (431 past it);
//! - `GET` and `HEAD`; CRLF or bare-LF line ends (RFC 9112 §2.2); one request per connection
//!   (`Connection: close`).

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bounds of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_conns: usize,
    /// Bytes of request line plus headers.
    pub head_bytes: usize,
    /// From accept to the blank line ending the headers.
    pub head_deadline: Duration,
    /// For writing the whole reply.
    pub write_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_conns: 128,
            head_bytes: 8192,
            head_deadline: Duration::from_secs(5),
            write_deadline: Duration::from_secs(10),
        }
    }
}

/// A parsed request head (only what the endpoint uses).
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, without query or fragment (an absolute-form target is reduced to it).
    pub path: &'a str,
}

/// The result of looking at the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Head<'a> {
    /// The headers are not complete yet.
    Partial,
    Done(Request<'a>),
    /// A malformed request: the reason (for the 400 body).
    Bad(&'static str),
}

/// One reason for both, so that a head cut anywhere gives the same verdict as the whole.
const BARE_CR_OR_NUL: &str = "bare CR or NUL byte in the request";

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a request head from the bytes received so far. Lines end in CRLF or a bare LF; a CR
/// anywhere else, a NUL, an obsolete folded header line or a header line without a name is
/// malformed. Nothing past the blank line is looked at (the endpoint takes no bodies).
pub fn parse_head(buf: &[u8]) -> Head<'_> {
    // leading empty lines before the request line are allowed (RFC 9112 §2.2)
    let mut pos = 0;
    while pos < buf.len()
        && (buf[pos] == b'\n' || (buf[pos] == b'\r' && buf.get(pos + 1) == Some(&b'\n')))
    {
        pos += if buf[pos] == b'\r' { 2 } else { 1 };
    }
    let mut lines = Vec::new();
    loop {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else {
            // an incomplete line can already be wrong
            return match buf[pos..].iter().position(|&b| b == b'\r' || b == 0) {
                Some(i) if buf[pos + i] == 0 => Head::Bad(BARE_CR_OR_NUL),
                Some(i) if pos + i + 1 < buf.len() => Head::Bad(BARE_CR_OR_NUL),
                _ => Head::Partial,
            };
        };
        let mut line = &buf[pos..pos + nl];
        pos += nl + 1;
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if line.iter().any(|&b| b == b'\r' || b == 0) {
            return Head::Bad(BARE_CR_OR_NUL);
        }
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let Some((first, headers)) = lines.split_first() else {
        return Head::Bad("no request line");
    };
    for h in headers {
        if h[0] == b' ' || h[0] == b'\t' {
            return Head::Bad("folded header line");
        }
        match h.iter().position(|&b| b == b':') {
            Some(i) if i > 0 && h[..i].iter().all(|&b| is_tchar(b)) => {}
            _ => return Head::Bad("malformed header line"),
        }
    }
    let Ok(first) = std::str::from_utf8(first) else {
        return Head::Bad("request line is not UTF-8");
    };
    let mut parts = first.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Head::Bad("request line is not `METHOD TARGET HTTP/1.x`");
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Head::Bad("malformed method");
    }
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Head::Bad("only HTTP/1.0 and HTTP/1.1");
    }
    // absolute-form (`http://host:port/path`) is reduced to its path
    let target = match target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    if !target.starts_with('/') || !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Head::Bad("malformed request target");
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    Head::Done(Request { method, path })
}

/// A reply. The body is shared, so many clients fetching the metrics do not copy them.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: Arc<String>,
}

impl Response {
    pub fn text(status: &'static str, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Arc::new(body.to_string()),
        }
    }
}

/// The routing contract of the endpoint: what the daemon decides per (method, path).
pub trait Handler {
    /// The reply to a `GET` of `path` (`HEAD` gets the same head without the body).
    fn get(&self, path: &str) -> Response;
}

/// The reply to a parsed (or malformed) request; `bool` is "send the body".
fn answer(head: &Head, h: &dyn Handler) -> (Response, bool) {
    match head {
        Head::Done(r) if r.method == "GET" || r.method == "HEAD" => {
            (h.get(r.path), r.method == "GET")
        }
        Head::Done(_) => (
            Response::text("405 Method Not Allowed", "only GET and HEAD\n"),
            true,
        ),
        Head::Bad(why) => (Response::text("400 Bad Request", &format!("{why}\n")), true),
        Head::Partial => (
            Response::text(
                "431 Request Header Fields Too Large",
                "request head too large\n",
            ),
            true,
        ),
    }
}

fn head_bytes(r: &Response) -> Vec<u8> {
    let allow = if r.status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len()
    )
    .into_bytes()
}

enum Phase {
    Reading(Vec<u8>),
    Writing {
        head: Vec<u8>,
        body: Option<Arc<String>>,
        done: usize,
    },
}

struct Conn {
    stream: TcpStream,
    phase: Phase,
    deadline: Instant,
    accepted: Instant,
}

/// What one readiness event did to a connection.
enum Step {
    Keep,
    Close,
}

impl Conn {
    fn start_reply(&mut self, resp: Response, with_body: bool, limits: &Limits) {
        self.phase = Phase::Writing {
            head: head_bytes(&resp),
            body: with_body.then_some(resp.body),
            done: 0,
        };
        self.deadline = Instant::now() + limits.write_deadline;
    }

    fn on_readable(&mut self, h: &dyn Handler, limits: &Limits) -> Step {
        let Phase::Reading(buf) = &mut self.phase else {
            return Step::Keep;
        };
        let mut chunk = [0u8; 2048];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Step::Close,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    let head = parse_head(buf);
                    let over = buf.len() > limits.head_bytes;
                    if !matches!(head, Head::Partial) || over {
                        // a request complete within the first bytes past the cap is still
                        // too large
                        let head = if over && matches!(head, Head::Done(_)) {
                            Head::Partial
                        } else {
                            head
                        };
                        let (resp, body) = answer(&head, h);
                        self.start_reply(resp, body, limits);
                        return self.on_writable();
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Keep,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Step::Close,
            }
        }
    }

    fn on_writable(&mut self) -> Step {
        let Phase::Writing { head, body, done } = &mut self.phase else {
            return Step::Keep;
        };
        loop {
            let total = head.len() + body.as_ref().map_or(0, |b| b.len());
            if *done >= total {
                let _ = self.stream.shutdown(std::net::Shutdown::Write);
                // unread input (a request body) at close would make the kernel reset the
                // connection, and the client could lose the reply: take what is there
                let mut sink = [0u8; 2048];
                for _ in 0..32 {
                    match self.stream.read(&mut sink) {
                        Ok(n) if n > 0 => {}
                        _ => break,
                    }
                }
                return Step::Close;
            }
            let part = if *done < head.len() {
                &head[*done..]
            } else {
                &body.as_ref().map_or(&[][..], |b| b.as_bytes())[*done - head.len()..]
            };
            match self.stream.write(part) {
                Ok(0) => return Step::Close,
                Ok(n) => *done += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Keep,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return Step::Close,
            }
        }
    }

    fn wants_write(&self) -> bool {
        matches!(self.phase, Phase::Writing { .. })
    }
}

/// Serves `listener` until `stop()` says so (looked at least every 200 ms).
pub fn serve(listener: TcpListener, h: &dyn Handler, limits: Limits, stop: &dyn Fn() -> bool) {
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let mut conns: Vec<Conn> = Vec::new();
    while !stop() {
        let now = Instant::now();
        let wait = conns
            .iter()
            .map(|c| c.deadline.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::MAX)
            .min(Duration::from_millis(200))
            .max(Duration::from_millis(1));
        let timeout = Timespec {
            tv_sec: wait.as_secs() as _,
            tv_nsec: wait.subsec_nanos() as _,
        };
        // The listener first, then one entry per connection (same order as `conns`).
        let revents: Vec<PollFlags> = {
            let mut fds = Vec::with_capacity(conns.len() + 1);
            fds.push(PollFd::new(&listener, PollFlags::IN));
            for c in &conns {
                let ev = if c.wants_write() {
                    PollFlags::OUT
                } else {
                    PollFlags::IN
                };
                fds.push(PollFd::new(&c.stream, ev));
            }
            match poll(&mut fds, Some(&timeout)) {
                Ok(_) => fds.iter().map(PollFd::revents).collect(),
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            }
        };
        // connections first (their indexes match `revents[1..]`), then new ones
        let mut keep = Vec::with_capacity(conns.len());
        for (i, mut c) in std::mem::take(&mut conns).into_iter().enumerate() {
            let rev = revents[i + 1];
            let step = if rev.intersects(PollFlags::ERR | PollFlags::NVAL) {
                Step::Close
            } else if rev.intersects(PollFlags::IN | PollFlags::HUP) && !c.wants_write() {
                c.on_readable(h, &limits)
            } else if rev.intersects(PollFlags::OUT | PollFlags::HUP) && c.wants_write() {
                c.on_writable()
            } else {
                Step::Keep
            };
            if matches!(step, Step::Keep) && Instant::now() >= c.deadline {
                if !c.wants_write() {
                    // best effort: a 408 to a client that stalled, then close
                    let resp =
                        Response::text("408 Request Timeout", "request not complete in time\n");
                    let _ = c.stream.write(&head_bytes(&resp));
                    let _ = c.stream.write(resp.body.as_bytes());
                }
                continue;
            }
            if matches!(step, Step::Keep) {
                keep.push(c);
            }
        }
        conns = keep;
        if revents[0].contains(PollFlags::IN) {
            accept_all(&listener, &mut conns, &limits);
        }
    }
}

/// Accepts every pending connection; when full, drops the oldest one still reading its
/// request (or, when every connection is writing, the new one).
fn accept_all(listener: &TcpListener, conns: &mut Vec<Conn>, limits: &Limits) {
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            // out of descriptors (EMFILE) or memory: the listener stays readable, so pause
            // rather than spin, and try again
            Err(_) => {
                std::thread::sleep(Duration::from_millis(100));
                return;
            }
        };
        if stream.set_nonblocking(true).is_err() {
            continue;
        }
        if conns.len() >= limits.max_conns.max(1) {
            let oldest = conns
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.wants_write())
                .min_by_key(|(_, c)| c.accepted)
                .map(|(i, _)| i);
            match oldest {
                Some(i) => drop(conns.swap_remove(i)),
                None => continue,
            }
        }
        let now = Instant::now();
        conns.push(Conn {
            stream,
            phase: Phase::Reading(Vec::new()),
            deadline: now + limits.head_deadline,
            accepted: now,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(m: &'static str, p: &'static str) -> Head<'static> {
        Head::Done(Request { method: m, path: p })
    }

    #[test]
    fn parses_crlf_bare_lf_and_rejects_the_malformed() {
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            done("GET", "/metrics")
        );
        // defect 15: bare LF line ends
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\nHost: x\n\n"),
            done("GET", "/metrics")
        );
        assert_eq!(
            parse_head(b"HEAD /healthz?x=1 HTTP/1.0\n\n"),
            done("HEAD", "/healthz")
        );
        assert_eq!(
            parse_head(b"\r\nGET http://h:9464/metrics HTTP/1.1\r\n\r\n"),
            done("GET", "/metrics")
        );
        for partial in [
            &b""[..],
            b"GET /met",
            b"GET /metrics HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n\r",
        ] {
            assert_eq!(parse_head(partial), Head::Partial, "{partial:?}");
        }
        for bad in [
            &b"GET /metrics\r\n\r\n"[..],
            b"GET  /metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/2.0\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"G(T /metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\n folded\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\n: empty\r\n\r\n",
            b"GET /me\rtrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nA: b\0\r\n\r\n",
            b"GET /m\0",
            b"GET /m\rx",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert!(matches!(parse_head(bad), Head::Bad(_)), "{bad:?}");
        }
    }

    struct Fixed;
    impl Handler for Fixed {
        fn get(&self, path: &str) -> Response {
            Response::text("200 OK", path)
        }
    }

    #[test]
    fn head_gets_no_body_and_other_methods_405() {
        let (r, body) = answer(&parse_head(b"HEAD /metrics HTTP/1.1\r\n\r\n"), &Fixed);
        assert_eq!((r.status, body), ("200 OK", false));
        let (r, body) = answer(&parse_head(b"POST /metrics HTTP/1.1\r\n\r\n"), &Fixed);
        assert_eq!((r.status, body), ("405 Method Not Allowed", true));
        assert!(String::from_utf8(head_bytes(&r))
            .unwrap()
            .contains("Allow: GET, HEAD\r\n"));
    }
}
