//! The effective sshd configuration, computed the way sshd itself computes it (what
//! `sshd -T [-C spec]` prints), for the OpenSSH release and build the scanned root runs
//! ([`version`] detects it, [`Profile`] holds what differs between releases 7.4 to 10.0
//! and between Debian, Red Hat and upstream builds).
//!
//! * [`parse`] tokenises one file with sshd's quoting rules (pure).
//! * [`load`] reads the main file through the scan [`Root`], expands `Include` (globs,
//!   relative to /etc/ssh, nested up to 16 levels) and runs sshd's startup pass, so a
//!   configuration sshd would refuse is an error here too, with file and line.
//! * [`SshdConfig::effective`] re-processes the `Match` blocks for one [`Connection`] and
//!   applies them over the startup values, as sshd does after accepting a connection.
//!
//! sshd semantics worth knowing (all verified against `sshd -T`):
//! * within one pass the first value of a keyword wins (global section, then the Match
//!   blocks that match, in file order), but a matching Match block *overrides* the global
//!   section: Match blocks are evaluated in a second pass whose values replace the first's;
//! * list keywords accumulate (AllowUsers, DenyUsers, AllowGroups, DenyGroups, AcceptEnv,
//!   HostKey, HostCertificate, Port, ListenAddress, Subsystem) and a Match block that sets
//!   one replaces the whole global list;
//! * a few keywords keep their last value (IPQoS, FingerprintHash, StreamLocalBindMask,
//!   PerSourceNetBlockSize, PerSourceMaxStartups, MaxStartups);
//! * without connection data (`sshd -T` alone) only `Match All` blocks apply, and a
//!   `Match LocalPort` makes sshd fail unless a local port is given.

mod algs;
mod cryptopolicy;
mod eval;
mod keywords;
mod lex;
mod matcher;
mod num;
mod options;
mod profile;
mod render;
mod sysdb;
mod version;

use std::collections::BTreeMap;
use std::fmt;

use crate::fs::{FsError, FsErrorKind, Root};

pub use keywords::canonical;
pub use lex::parse;
pub use profile::{release_name, Profile, Release, Vendor, KNOWN as KNOWN_RELEASES};
pub use sysdb::{Group, SystemDb, User};
pub use version::{detect, parse_release, Detected, VersionSource, MAX_SCAN_BYTES, SSHD_BINARY};

/// Where sshd reads its configuration by default.
pub const DEFAULT_CONFIG: &str = "/etc/ssh/sshd_config";
/// Relative `Include` paths are relative to this directory.
pub const SSH_DIR: &str = "/etc/ssh";
/// sshd's include depth limit (`SERVCONF_MAX_DEPTH`).
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Included file instances read for one configuration before giving up.
pub const MAX_INCLUDED_FILES: usize = 2048;

/// One configuration line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The keyword as written (quotes removed).
    pub keyword: String,
    /// The keyword lowercased.
    pub key: String,
    /// The arguments, split and unquoted like sshd's `argv_split`.
    pub args: Vec<String>,
    /// The rest of the line after the keyword, verbatim (for keywords that take it whole,
    /// such as ForceCommand, and for Match criteria).
    pub rest: String,
    pub file: String,
    /// 1-based.
    pub line: usize,
}

/// A file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Why a configuration could not be read or would not be accepted by sshd.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshdError {
    /// The main configuration file does not exist (sshd is probably not installed).
    #[error("{path}: no such file")]
    NotFound { path: String },
    /// A file exists but cannot be read as text (permissions, size, NUL bytes, ...).
    #[error("{0}")]
    Read(FsError),
    /// A line sshd would reject.
    #[error("{file} line {line}: {msg}")]
    Config {
        file: String,
        line: usize,
        msg: String,
    },
    /// A whole-configuration problem sshd would refuse to start with.
    #[error("{0}")]
    Fatal(String),
    /// A malformed `user=..,host=..` connection specification.
    #[error("invalid connection specification: {0}")]
    Connection(String),
    /// The sshd binary exists but its OpenSSH version cannot be read (and no package
    /// database says it): the configuration's meaning is unknown.
    #[error("cannot tell which OpenSSH this is: {0}")]
    Version(String),
}
crate::error_text::debug_as_display!(SshdError);

impl SshdError {
    pub(crate) fn config(file: &str, line: usize, msg: impl Into<String>) -> SshdError {
        SshdError::Config {
            file: file.to_string(),
            line,
            msg: msg.into(),
        }
    }
    /// The main configuration file is missing.
    pub fn is_not_found(&self) -> bool {
        matches!(self, SshdError::NotFound { .. })
    }
    /// The error with its place in `file:line: reason` form (the form evidence and the CLI
    /// use; `Display` keeps sshd's own `file line N:` wording).
    pub fn located(&self) -> String {
        match self {
            SshdError::Config { file, line, msg } => format!("{file}:{line}: {msg}"),
            other => other.to_string(),
        }
    }
}

/// Keywords whose value is a comma-separated list of algorithm names (as `sshd -T` prints
/// it, after `+`, `-` and `^` have been applied to the built-in list).
pub const ALGORITHM_KEYWORDS: &[&str] = &[
    "ciphers",
    "macs",
    "kexalgorithms",
    "hostkeyalgorithms",
    "pubkeyacceptedalgorithms",
    "hostbasedacceptedalgorithms",
    "casignaturealgorithms",
    "gssapikexalgorithms",
];

/// Every keyword name any release or build of the tables knows (aliases and deprecated
/// names included), lowercase and sorted: for tests that ask a real sshd about each.
pub fn keyword_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = keywords::KEYWORDS.iter().map(|k| k.name).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Canonical keywords that `sshd -T` does not print on every release (so no check can
/// read them): `rdomain` is printed only by 7.7 to 8.2, `debianbanner` only by Debian's 10.0.
pub const NOT_PRINTED: &[&str] = &["rdomain", "debianbanner"];

/// Why a catalog value cannot be printed the way `sshd -T` prints it.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintedValueError {
    #[error("`{keyword}` is not an sshd keyword")]
    NotAKeyword { keyword: String },
    #[error("sshd -T does not print `{keyword}`")]
    NotPrinted { keyword: String },
    /// The line does not even parse (the place is `value:1`).
    #[error("{}", parse.located())]
    Syntax { parse: SshdError },
    #[error("`{text}` is not one configuration line")]
    NotOneLine { text: String },
    /// sshd would refuse the line; `reason` is sshd's.
    #[error("sshd would reject `{text}`: {reason}")]
    Rejected { text: String, reason: String },
}
crate::error_text::debug_as_display!(PrintedValueError);

/// `keyword value` as `sshd -T` would print the value (`PermitRootLogin prohibit-password`
/// → `without-password`, `LoginGraceTime 1m` → `60`, `LogLevel info` → `INFO`), one string
/// per printed line. Err with sshd's reason when sshd would reject the line.
pub fn printed_value(keyword: &str, value: &str) -> Result<Vec<String>, PrintedValueError> {
    let key = keyword.to_ascii_lowercase();
    // The newest table with the GSSAPI keywords but without Debian's 10.0 TOS change (which
    // would turn `IPQoS throughput` into `none`): values normalise as most releases print them.
    let newest = Profile::new(1000, Vendor::RedHat);
    let Some(name) = canonical(&key) else {
        return Err(PrintedValueError::NotAKeyword {
            keyword: keyword.to_string(),
        });
    };
    // Not printed by every release (DebianBanner only from Debian's 10.0).
    let not_printed = || PrintedValueError::NotPrinted {
        keyword: keyword.to_string(),
    };
    if NOT_PRINTED.contains(&name) {
        return Err(not_printed());
    }
    let text = format!("{keyword} {value}");
    let ds = parse(&text, "value").map_err(|parse| PrintedValueError::Syntax { parse })?;
    let [d] = ds.as_slice() else {
        return Err(PrintedValueError::NotOneLine { text });
    };
    match eval::normalize_checked(d, &SystemDb::default(), &newest) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(not_printed()),
        Err(SshdError::Config { msg, .. }) => {
            Err(PrintedValueError::Rejected { text, reason: msg })
        }
        Err(e) => Err(PrintedValueError::Rejected {
            text,
            reason: e.to_string(),
        }),
    }
}

/// What sshd knows about a connection when it evaluates `Match` (the fields of
/// `sshd -T -C user=..,host=..,addr=..,laddr=..,lport=..,rdomain=..`). A missing field
/// makes the criteria that need it false.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub user: Option<String>,
    pub host: Option<String>,
    pub addr: Option<String>,
    pub laddr: Option<String>,
    pub lport: Option<u16>,
    pub rdomain: Option<String>,
    /// `invalid-user` in the specification (9.9+): the user does not exist.
    pub invalid_user: bool,
}

impl Connection {
    /// Parses `user=U,host=H,addr=A,laddr=L,lport=P` (numeric ports only).
    pub fn parse(spec: &str) -> Result<Connection, SshdError> {
        Connection::parse_with(spec, &SystemDb::default())
    }

    /// Parses a connection specification as sshd's `-C` does; `lport` may be a service name
    /// from `sys`.
    pub fn parse_with(spec: &str, sys: &SystemDb) -> Result<Connection, SshdError> {
        let mut c = Connection::default();
        for p in spec.split(',') {
            if p.is_empty() {
                break;
            }
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            match k {
                "user" => c.user = Some(v.to_string()),
                "host" => c.host = Some(v.to_string()),
                "addr" => c.addr = Some(v.to_string()),
                "laddr" => c.laddr = Some(v.to_string()),
                "rdomain" => c.rdomain = Some(v.to_string()),
                "invalid-user" if !p.contains('=') => c.invalid_user = true,
                "lport" if p.contains('=') => {
                    let port = eval::a2port(sys, v);
                    if port < 0 {
                        return Err(SshdError::Connection(format!(
                            "invalid port '{v}' in {p}"
                        )));
                    }
                    c.lport = Some(port as u16);
                }
                _ => {
                    return Err(SshdError::Connection(format!(
                        "unknown field '{p}' (expected user=, host=, addr=, laddr=, lport= or rdomain=)"
                    )))
                }
            }
        }
        Ok(c)
    }
}

/// One effective keyword: its value(s) as `sshd -T` prints them and where each was set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Setting {
    /// Lowercase, as printed.
    pub keyword: &'static str,
    /// One entry per printed line (most keywords print one line; Port, ListenAddress,
    /// HostKey, AllowUsers, AcceptEnv, Subsystem... print one per value).
    pub values: Vec<String>,
    /// Parallel to `values`: the directive that set each, None for a built-in default.
    pub origins: Vec<Option<Origin>>,
}

impl Setting {
    /// The first (usually only) value.
    pub fn value(&self) -> &str {
        self.values.first().map(String::as_str).unwrap_or("")
    }
    /// Where the value was set; None when it is sshd's built-in default.
    pub fn origin(&self) -> Option<&Origin> {
        self.origins.iter().flatten().next()
    }
    pub fn is_default(&self) -> bool {
        self.origin().is_none()
    }
}

/// The effective configuration for one connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Effective {
    settings: Vec<Setting>,
}

impl Effective {
    /// A keyword's setting (case-insensitive; aliases such as
    /// `ChallengeResponseAuthentication` find their canonical keyword). None when
    /// `sshd -T` prints no line for it (e.g. AllowUsers when unset).
    pub fn get(&self, keyword: &str) -> Option<&Setting> {
        let k = keyword.to_ascii_lowercase();
        let k = canonical(&k).unwrap_or(&k);
        let old = keywords::printed_names(k);
        self.settings
            .iter()
            .find(|s| s.keyword == k || old.contains(&s.keyword))
    }
    /// The first value of a keyword.
    pub fn value(&self, keyword: &str) -> Option<&str> {
        self.get(keyword).map(Setting::value)
    }
    /// All settings in `sshd -T` order.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }
    /// `keyword value` lines as `sshd -T` prints them.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.settings {
            for v in &s.values {
                out.push_str(s.keyword);
                out.push(' ');
                out.push_str(v);
                out.push('\n');
            }
        }
        out
    }
}

/// A `Match` block: its criteria and the directives under it (Include files expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchBlock {
    /// The `Match` line.
    pub origin: Origin,
    /// The criteria as written, e.g. `Address 10.0.0.0/8 User !root`.
    pub criteria: String,
    pub directives: Vec<Directive>,
}

/// A value set inside a Match block that differs from the default connection's effective
/// value and that the caller's predicate calls weaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weakening {
    /// As `sshd -T` would print it (`prohibit-password` → `without-password`, ...).
    pub value: String,
    pub file: String,
    pub line: usize,
    /// The criteria of the enclosing Match block.
    pub criteria: String,
    /// The enclosing `Match` line.
    pub block: Origin,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Line(Directive),
    Include { dir: Directive, files: Vec<IncFile> },
}

#[derive(Debug, Clone)]
pub(crate) struct IncFile {
    pub path: String,
    pub nodes: Vec<Node>,
}

/// A loaded configuration: every file, with sshd's startup pass already run.
#[derive(Debug, Clone)]
pub struct SshdConfig {
    path: String,
    nodes: Vec<Node>,
    sys: SystemDb,
    base: options::Opts,
    profile: Profile,
    detected: Option<Detected>,
    /// `effective(&Connection::default())`, computed once: every sshd check asks for it (twice,
    /// with its Match weakenings), and assembling it is the bulk of an sshd check's cost.
    default_effective: std::sync::OnceLock<Effective>,
}

/// Where configuration files come from: a scan [`Root`], or a map for tests.
pub trait Source {
    /// The text of a file; [`SshdError::NotFound`] when it does not exist. A directory
    /// reads as empty (sshd opens it and reads nothing).
    fn read(&self, path: &str) -> Result<String, SshdError>;
    /// Existing paths matching a glob, sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<String>, SshdError>;
}

impl Source for Root {
    fn read(&self, path: &str) -> Result<String, SshdError> {
        match self.read_text(path) {
            Ok(t) => Ok(t.content),
            Err(e) if e.kind == FsErrorKind::NotRegular(crate::fs::FileKind::Dir) => {
                Ok(String::new())
            }
            Err(e) if e.is_not_found() => Err(SshdError::NotFound {
                path: path.to_string(),
            }),
            Err(e) => Err(SshdError::Read(e)),
        }
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, SshdError> {
        Root::glob(self, pattern).map_err(SshdError::Read)
    }
}

/// In-memory files (path → content), for tests and fuzzing.
impl Source for BTreeMap<String, String> {
    fn read(&self, path: &str) -> Result<String, SshdError> {
        self.get(path).cloned().ok_or_else(|| SshdError::NotFound {
            path: path.to_string(),
        })
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, SshdError> {
        let pc: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        Ok(self
            .keys()
            .filter(|k| {
                let kc: Vec<&str> = k.split('/').filter(|c| !c.is_empty()).collect();
                kc.len() == pc.len()
                    && pc.iter().zip(&kc).all(|(p, n)| {
                        (!n.starts_with('.') || p.starts_with('.')) && crate::fs::fnmatch(p, n)
                    })
            })
            .cloned()
            .collect())
    }
}

/// Reads the configuration at `path` under a scan root (with the root's /etc/passwd,
/// /etc/group and /etc/services for `Match Group`, `~` and service names).
///
/// The OpenSSH release and build come from the root ([`detect`]); a binary whose version
/// cannot be read is [`SshdError::Version`], never a guess.
pub fn load(root: &Root, path: &str) -> Result<SshdConfig, SshdError> {
    let text = Source::read(root, path)?;
    let det = detect(root).map_err(|e| SshdError::Version(e.0))?;
    let cmdline = cryptopolicy::command_line(root, &det.profile)?;
    let mut cfg = load_text(
        root,
        path,
        text,
        SystemDb::load(root).map_err(SshdError::Read)?,
        det.profile.clone(),
        cmdline,
    )?;
    cfg.detected = Some(det);
    Ok(cfg)
}

/// Reads a configuration from any [`Source`] with OpenSSH 9.2's (Debian 12) semantics.
pub fn load_from(src: &dyn Source, path: &str, sys: SystemDb) -> Result<SshdConfig, SshdError> {
    load_with(src, path, sys, Profile::default())
}

/// Reads a configuration from any [`Source`] with the semantics of one release and build.
pub fn load_with(
    src: &dyn Source,
    path: &str,
    sys: SystemDb,
    profile: Profile,
) -> Result<SshdConfig, SshdError> {
    let text = src.read(path)?;
    load_text(src, path, text, sys, profile, Vec::new())
}

fn load_text(
    src: &dyn Source,
    path: &str,
    text: String,
    sys: SystemDb,
    profile: Profile,
    cmdline: Vec<Directive>,
) -> Result<SshdConfig, SshdError> {
    let mut budget = MAX_INCLUDED_FILES;
    let mut chain = vec![path.to_string()];
    // `-o` options come first: the first value of a keyword wins.
    let mut nodes: Vec<Node> = cmdline.into_iter().map(Node::Line).collect();
    nodes.extend(expand(src, path, &text, &mut budget, &mut chain, &profile)?);
    let base = eval::startup(&nodes, &sys, &profile)?;
    Ok(SshdConfig {
        path: path.to_string(),
        nodes,
        sys,
        base,
        profile,
        detected: None,
        default_effective: std::sync::OnceLock::new(),
    })
}

/// Parses one file and reads what it includes, depth first.
fn expand(
    src: &dyn Source,
    file: &str,
    text: &str,
    budget: &mut usize,
    chain: &mut Vec<String>,
    profile: &Profile,
) -> Result<Vec<Node>, SshdError> {
    let mut out = Vec::new();
    let directives = if profile.ge(807) {
        parse(text, file)?
    } else {
        lex::parse_legacy(text, file)?
    };
    for d in directives {
        if d.key != "include" {
            out.push(Node::Line(d));
            continue;
        }
        let mut files = Vec::new();
        for arg in d.args.iter().filter(|a| !a.is_empty()) {
            let pattern = if arg.starts_with('/') || arg.starts_with('~') {
                arg.clone()
            } else {
                format!("{SSH_DIR}/{arg}")
            };
            for m in src.glob(&pattern)? {
                if chain.len() > MAX_INCLUDE_DEPTH {
                    let loop_hint = if chain.contains(&m) {
                        format!(" (include loop: {} -> {m})", chain.join(" -> "))
                    } else {
                        String::new()
                    };
                    return Err(SshdError::config(
                        &d.file,
                        d.line,
                        format!(
                            "Too many recursive configuration includes: more than {MAX_INCLUDE_DEPTH} levels{loop_hint}"
                        ),
                    ));
                }
                if *budget == 0 {
                    return Err(SshdError::config(
                        &d.file,
                        d.line,
                        format!("more than {MAX_INCLUDED_FILES} included files"),
                    ));
                }
                *budget -= 1;
                let content = match src.read(&m) {
                    Ok(c) => c,
                    Err(SshdError::NotFound { .. }) => {
                        return Err(SshdError::config(
                            &d.file,
                            d.line,
                            format!("included file {m} disappeared"),
                        ))
                    }
                    Err(e) => return Err(e),
                };
                chain.push(m.clone());
                let nodes = expand(src, &m, &content, budget, chain, profile)?;
                chain.pop();
                files.push(IncFile { path: m, nodes });
            }
        }
        out.push(Node::Include { dir: d, files });
    }
    Ok(out)
}

fn flatten<'a>(nodes: &'a [Node], out: &mut Vec<&'a Directive>) {
    for n in nodes {
        match n {
            Node::Line(d) => out.push(d),
            Node::Include { dir, files } => {
                out.push(dir);
                for f in files {
                    flatten(&f.nodes, out);
                }
            }
        }
    }
}

fn collect_files<'a>(nodes: &'a [Node], out: &mut Vec<&'a str>) {
    for n in nodes {
        if let Node::Include { files, .. } = n {
            for f in files {
                out.push(&f.path);
                collect_files(&f.nodes, out);
            }
        }
    }
}

fn collect_blocks(nodes: &[Node], mut cur: Option<usize>, out: &mut Vec<MatchBlock>) {
    for n in nodes {
        match n {
            Node::Line(d) if d.key == "match" => {
                out.push(MatchBlock {
                    origin: eval::origin(d),
                    criteria: d.rest.clone(),
                    directives: Vec::new(),
                });
                cur = Some(out.len() - 1);
            }
            Node::Line(d) => {
                if let Some(i) = cur {
                    out[i].directives.push(d.clone());
                }
            }
            Node::Include { files, .. } => {
                for f in files {
                    collect_blocks(&f.nodes, cur, out);
                }
            }
        }
    }
}

impl SshdConfig {
    /// The main configuration file.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Every file read: the main file first, then included files in processing order.
    pub fn files(&self) -> Vec<&str> {
        let mut v = vec![self.path.as_str()];
        collect_files(&self.nodes, &mut v);
        v
    }

    /// Every directive in processing order (Include lines followed by what they include).
    pub fn directives(&self) -> Vec<&Directive> {
        let mut v = Vec::new();
        flatten(&self.nodes, &mut v);
        v
    }

    /// The accounts and services used for `Match Group`, `~` and port names.
    pub fn system(&self) -> &SystemDb {
        &self.sys
    }

    /// The release and build whose semantics were applied.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// How the OpenSSH version was found (None for [`load_from`] / [`load_with`]).
    pub fn detected(&self) -> Option<&Detected> {
        self.detected.as_ref()
    }

    /// What evidence must add: the version used and how the result degrades, when the
    /// table is not exactly the host's own. None when it is.
    pub fn version_note(&self) -> Option<String> {
        match &self.detected {
            Some(d) if d.degraded() => Some(d.describe()),
            None => self.profile.note.clone(),
            _ => None,
        }
    }

    /// The keyword this release prints for a catalog keyword (`pubkeyacceptedalgorithms`
    /// is `pubkeyacceptedkeytypes` before 8.5).
    fn resolve(&self, keyword: &str) -> Option<&'static str> {
        let key = keyword.to_ascii_lowercase();
        if let Some(n) = keywords::canonical_in(&self.profile, &key) {
            return Some(n);
        }
        let newest = canonical(&key)?;
        keywords::printed_names(newest)
            .iter()
            .find_map(|alt| keywords::canonical_in(&self.profile, alt))
    }

    /// The effective configuration for a connection, exactly as `sshd -T -C` computes it,
    /// including its refusals (a `Match LocalPort` with no local port given).
    pub fn try_effective(&self, conn: &Connection) -> Result<Effective, SshdError> {
        self.effective_impl(conn, false)
    }

    /// The effective configuration for a connection; a `Match LocalPort` without a local
    /// port counts as not matching. `Connection::default()` is what `sshd -T` shows.
    pub fn effective(&self, conn: &Connection) -> Effective {
        if *conn == Connection::default() {
            return self.default_effective().clone();
        }
        self.effective_uncached(conn)
    }

    /// The effective configuration of a connection that matches no criteria (`sshd -T`
    /// without `-C`), computed once per loaded configuration.
    pub fn default_effective(&self) -> &Effective {
        self.default_effective
            .get_or_init(|| self.effective_uncached(&Connection::default()))
    }

    fn effective_uncached(&self, conn: &Connection) -> Effective {
        self.effective_impl(conn, true)
            .unwrap_or_else(|_| Effective {
                settings: render::settings(&self.base, &self.profile),
            })
    }

    fn effective_impl(&self, conn: &Connection, lenient: bool) -> Result<Effective, SshdError> {
        let o = eval::for_connection(
            &self.base,
            &self.nodes,
            &self.sys,
            conn,
            lenient,
            &self.profile,
        )?;
        Ok(Effective {
            settings: render::settings(&o, &self.profile),
        })
    }

    /// Every Match block with its directives, in file order.
    pub fn match_blocks(&self) -> Vec<MatchBlock> {
        let mut v = Vec::new();
        collect_blocks(&self.nodes, None, &mut v);
        v
    }

    /// Values of `keyword` set inside any Match block that differ from the value the
    /// default connection gets (`sshd -T`) and that `is_weaker` calls weaker. Values are
    /// normalised as `sshd -T` prints them before the predicate sees them.
    pub fn weakenings(&self, keyword: &str, is_weaker: impl Fn(&str) -> bool) -> Vec<Weakening> {
        let Some(name) = self.resolve(keyword) else {
            return Vec::new();
        };
        let default = self
            .default_effective()
            .get(name)
            .map(|s| s.values.join(" "))
            .unwrap_or_default();
        let mut out = Vec::new();
        for b in self.match_blocks() {
            for d in &b.directives {
                if keywords::canonical_in(&self.profile, &d.key) != Some(name) {
                    continue;
                }
                let Some(values) = eval::normalize(d, &self.sys, &self.profile) else {
                    continue;
                };
                let value = values.join(" ");
                if value != default && is_weaker(&value) {
                    out.push(Weakening {
                        value,
                        file: d.file.clone(),
                        line: d.line,
                        criteria: b.criteria.clone(),
                        block: b.origin.clone(),
                    });
                }
            }
        }
        out
    }
}

/// `sshd -T [-C spec]` without sshd: the effective configuration as text. `conn_spec` is
/// `user=U,host=H,addr=A,laddr=L,lport=P`.
pub fn effective_text(
    root: &Root,
    config_path: &str,
    conn_spec: Option<&str>,
) -> Result<String, SshdError> {
    Ok(effective_report(root, config_path, conn_spec)?.0)
}

/// [`effective_text`] and the line saying which OpenSSH semantics were applied and how
/// they were found (for standard error: the text itself stays byte-compatible with
/// `sshd -T`).
pub fn effective_report(
    root: &Root,
    config_path: &str,
    conn_spec: Option<&str>,
) -> Result<(String, String), SshdError> {
    let cfg = load(root, config_path)?;
    let conn = match conn_spec {
        Some(s) => Connection::parse_with(s, cfg.system())?,
        None => Connection::default(),
    };
    let about = cfg
        .detected()
        .map(Detected::describe)
        .unwrap_or_else(|| cfg.profile().label());
    Ok((cfg.try_effective(&conn)?.render(), about))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod version_tests;
