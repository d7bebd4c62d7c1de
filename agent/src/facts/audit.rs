//! Linux audit rules as `auditctl -R` loads them, and the question CIS asks of them: is a
//! given event recorded?
//!
//! Which file is loaded: Debian's and RHEL's `auditd.service` run `augenrules --load`, which
//! rebuilds `/etc/audit/audit.rules` from `/etc/audit/rules.d/*.rules` whenever that directory
//! exists. [`load`] does the same: with `rules.d` present, its `*.rules` files are
//! concatenated in `ls -v` order and rearranged as augenrules' awk script does (blank and
//! comment lines dropped; the last `-D`, `-b` and `-f` first; the last `-e` at the end; the
//! other lines in order). Without `rules.d`, `/etc/audit/audit.rules` is read as written.
//!
//! Each line is one `auditctl` command, split on white space (auditctl does not honour
//! quotes): `-w PATH [-p rwxa] [-k KEY]` watches; `-a|-A LIST,ACTION` (either order) with
//! `-S` (repeatable, comma-separated), `-F name OP value` (`=`, `!=`, `<`, `>`, `<=`, `>=`,
//! `&`, `&=`), `-C` comparisons and `-k`; `-d` and `-W` delete an identical earlier rule;
//! controls `-D`, `-e`, `-b`, `-f`, `-r`, `--backlog_wait_time`, `--loginuid-immutable`,
//! `--reset-lost`, `-c` and `-i`. An option auditctl does not know, or an option missing
//! its argument, is a [`LineError`]: `auditctl -R` stops at that line (unless `-c` or `-i`
//! came first, in which case the line is skipped), so nothing after it would be loaded.
//!
//! [`Rules::covers`] answers "does the loaded set record every event this rule describes",
//! taking the first matching rule of the list, as the kernel does (a `never` rule first
//! suppresses). A rule covers when it is at least as broad as the required one: same list,
//! same architecture (`-F arch` absent means the native 64-bit one), the syscall listed
//! (or `all`), and every filter it adds implied by the required filters (`auid>=500` is
//! implied by `auid>=1000`; `auid!=unset`, `auid!=-1` and `auid!=4294967295` are the same).
//! A watch covers a path when it names the path or a directory above it with at least the
//! required permissions; `-F path=` / `-F dir=` with `-F perm=` rules count as watches.

use super::confdirs::{version_cmp, Budget};
use super::origin::{LineError, Origin};
use super::{FactError, FactResult};
use crate::fs::Root;

pub const RULES_DIR: &str = "/etc/audit/rules.d";
pub const RULES_FILE: &str = "/etc/audit/audit.rules";
pub const AUDITD_CONF: &str = "/etc/audit/auditd.conf";

/// Filter lists of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Exit,
    Task,
    User,
    Exclude,
    Filesystem,
    IoUring,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Always,
    Never,
}

/// Permission bits of a watch (`-p`): r, w, x, a.
pub type Perms = u8;
const PERM_ALL: Perms = 0b1111;

fn parse_perms(s: &str) -> Option<Perms> {
    let mut p = 0;
    if s.is_empty() {
        return None;
    }
    for c in s.chars() {
        p |= match c {
            'r' => 1,
            'w' => 2,
            'x' => 4,
            'a' => 8,
            _ => return None,
        };
    }
    Some(p)
}

fn show_perms(p: Perms) -> String {
    "rwxa"
        .chars()
        .enumerate()
        .filter(|(i, _)| p & (1 << i) != 0)
        .map(|(_, c)| c)
        .collect()
}

/// A `-F` comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    BitMask,
    BitTest,
}

impl FieldOp {
    fn as_str(self) -> &'static str {
        match self {
            FieldOp::Eq => "=",
            FieldOp::Ne => "!=",
            FieldOp::Lt => "<",
            FieldOp::Gt => ">",
            FieldOp::Le => "<=",
            FieldOp::Ge => ">=",
            FieldOp::BitMask => "&",
            FieldOp::BitTest => "&=",
        }
    }
}

/// One `-F` filter (or `-C` comparison, with `compare = true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub op: FieldOp,
    pub value: String,
    pub compare: bool,
}

impl Field {
    fn parse(s: &str, compare: bool) -> Option<Field> {
        let pos = s.find(['=', '!', '<', '>', '&'])?;
        let (name, rest) = s.split_at(pos);
        let (op, value) = [
            ("!=", FieldOp::Ne),
            ("<=", FieldOp::Le),
            (">=", FieldOp::Ge),
            ("&=", FieldOp::BitTest),
            ("=", FieldOp::Eq),
            ("<", FieldOp::Lt),
            (">", FieldOp::Gt),
            ("&", FieldOp::BitMask),
        ]
        .iter()
        .find_map(|(t, op)| rest.strip_prefix(t).map(|v| (*op, v)))?;
        if name.is_empty() || value.is_empty() {
            return None;
        }
        Some(Field {
            name: name.to_ascii_lowercase(),
            op,
            value: value.to_string(),
            compare,
        })
    }

    fn show(&self) -> String {
        format!(
            "{} {}{}{}",
            if self.compare { "-C" } else { "-F" },
            self.name,
            self.op.as_str(),
            self.value
        )
    }

    /// The value as a number where it is one (`unset` and `-1` are 4294967295, as auditctl
    /// stores them for the id fields).
    fn number(&self) -> Option<i128> {
        let v = self.value.as_str();
        if v == "unset" || v == "-1" {
            return Some(4294967295);
        }
        if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            return i128::from_str_radix(h, 16).ok();
        }
        v.parse().ok()
    }

    fn same_value(&self, o: &Field) -> bool {
        match (self.number(), o.number()) {
            (Some(a), Some(b)) => a == b,
            _ => self.value == o.value,
        }
    }

    /// Whether every event satisfying `req` also satisfies `self` (same field).
    fn implied_by(&self, req: &Field) -> bool {
        if self.name != req.name || self.compare != req.compare {
            return false;
        }
        if self.op == req.op && self.same_value(req) {
            return true;
        }
        let (Some(a), Some(b)) = (self.number(), req.number()) else {
            return false;
        };
        use FieldOp::*;
        match (self.op, req.op) {
            (Ge, Ge) | (Gt, Gt) => b >= a,
            (Ge, Gt) => b + 1 >= a,
            (Gt, Ge) => b > a,
            (Le, Le) | (Lt, Lt) => b <= a,
            (Le, Lt) => b <= a + 1,
            (Lt, Le) => b < a,
            (Ne, Ge) => a < b,
            (Ne, Gt) => a <= b,
            (Ne, Le) => a > b,
            (Ne, Lt) => a >= b,
            (Ne, Eq) => a != b,
            (Ge, Eq) => b >= a,
            (Gt, Eq) => b > a,
            (Le, Eq) => b <= a,
            (Lt, Eq) => b < a,
            _ => false,
        }
    }
}

/// Architecture of a syscall rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    B64,
    B32,
}

fn parse_arch(v: &str) -> Option<Arch> {
    match v {
        "b64" | "x86_64" | "aarch64" | "ppc64" | "ppc64le" | "s390x" => Some(Arch::B64),
        "b32" | "i386" | "i486" | "i586" | "i686" | "arm" | "armeb" | "armv7l" | "ppc" | "s390" => {
            Some(Arch::B32)
        }
        _ => None,
    }
}

/// One rule (`-a`, `-A`, `-w`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub list: List,
    pub action: Action,
    /// `None`: no `-F arch` (the native 64-bit ABI).
    pub arch: Option<Arch>,
    /// `-S` names or numbers; `all` for every syscall. Empty: no `-S`.
    pub syscalls: Vec<String>,
    /// Filters other than arch, key, path/dir and perm.
    pub fields: Vec<Field>,
    /// A watched path (`-w`, `-F path=`, `-F dir=`), without trailing `/`, `/var/run`
    /// written `/run`; with its permissions (all four when not given).
    pub watch: Option<(String, Perms)>,
    pub keys: Vec<String>,
    /// `-A`: inserted at the head of its list.
    pub prepend: bool,
    pub origin: Origin,
}

impl Rule {
    /// The rule in auditctl syntax, without keys.
    pub fn show(&self) -> String {
        if self.list == List::Exit && self.syscalls.is_empty() && self.fields.is_empty() {
            if let Some((p, perms)) = &self.watch {
                return format!("-w {p} -p {}", show_perms(*perms));
            }
        }
        let mut s = format!(
            "-a {},{}",
            match self.action {
                Action::Always => "always",
                Action::Never => "never",
            },
            match self.list {
                List::Exit => "exit",
                List::Task => "task",
                List::User => "user",
                List::Exclude => "exclude",
                List::Filesystem => "filesystem",
                List::IoUring => "io_uring",
            }
        );
        if let Some(a) = self.arch {
            s.push_str(match a {
                Arch::B64 => " -F arch=b64",
                Arch::B32 => " -F arch=b32",
            });
        }
        if !self.syscalls.is_empty() {
            s.push_str(" -S ");
            s.push_str(&self.syscalls.join(","));
        }
        if let Some((p, perms)) = &self.watch {
            s.push_str(&format!(" -F path={p} -F perm={}", show_perms(*perms)));
        }
        for f in &self.fields {
            s.push(' ');
            s.push_str(&f.show());
        }
        s
    }

    /// Same rule for `-d` / `-W` (keys and origin aside).
    fn same(&self, o: &Rule) -> bool {
        self.list == o.list
            && self.action == o.action
            && self.arch == o.arch
            && self.syscalls == o.syscalls
            && self.fields == o.fields
            && self.watch == o.watch
    }
}

/// A control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// `-D`: delete every rule loaded so far.
    DeleteAll,
    /// `-e 0|1|2`.
    Enabled(u8),
    /// `-b N`.
    Backlog(u64),
    /// `-f 0|1|2`.
    Failure(u8),
    /// `-c` / `-i`: continue past bad lines.
    ContinueOnError,
    /// Accepted and irrelevant here (`-r`, `--backlog_wait_time`, `--loginuid-immutable`...).
    Other(String),
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Rule(Rule),
    Delete(Rule),
    Control(Control, Origin),
}

fn normalise_path(p: &str) -> String {
    let mut s = p.trim_end_matches('/').to_string();
    if s.is_empty() {
        s = "/".into();
    }
    if s == "/var/run" || s.starts_with("/var/run/") {
        s = s["/var".len()..].to_string();
    }
    s
}

/// Parses one auditctl command line. `Ok(None)`: blank or comment.
pub fn parse_line(text: &str, origin: Origin) -> Result<Option<Line>, LineError> {
    let err = |m: String| LineError {
        file: origin.file.clone(),
        line: origin.line,
        message: m,
    };
    let t = text.trim();
    if t.is_empty() || t.starts_with('#') {
        return Ok(None);
    }
    let toks: Vec<&str> = t.split_whitespace().collect();
    let mut i = 0;
    let mut list_action: Option<(List, Action, bool, bool)> = None; // (list, action, prepend, delete)
    let mut watch: Option<String> = None;
    let mut watch_delete = false;
    let mut perms: Option<Perms> = None;
    let mut syscalls: Vec<String> = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut arch: Option<Arch> = None;
    let mut path_field: Option<String> = None;
    let mut perm_field: Option<Perms> = None;
    let mut control: Option<Control> = None;
    while i < toks.len() {
        let opt = toks[i];
        let mut arg = || -> Result<&str, LineError> {
            i += 1;
            toks.get(i)
                .copied()
                .ok_or_else(|| err(format!("option {opt} needs an argument")))
        };
        match opt {
            "-a" | "-A" | "-d" => {
                let v = arg()?;
                let (x, y) = v
                    .split_once(',')
                    .ok_or_else(|| err(format!("`{v}` is not LIST,ACTION")))?;
                let la = |a: &str, b: &str| -> Option<(List, Action)> {
                    let list = match a {
                        "exit" => List::Exit,
                        "task" => List::Task,
                        "user" => List::User,
                        "exclude" => List::Exclude,
                        "filesystem" => List::Filesystem,
                        "io_uring" => List::IoUring,
                        _ => return None,
                    };
                    let action = match b {
                        "always" => Action::Always,
                        "never" => Action::Never,
                        _ => return None,
                    };
                    Some((list, action))
                };
                let (l, a) = la(x, y)
                    .or_else(|| la(y, x))
                    .ok_or_else(|| err(format!("`{v}` is not a known LIST,ACTION pair")))?;
                list_action = Some((l, a, opt == "-A", opt == "-d"));
            }
            "-w" | "-W" => {
                watch = Some(arg()?.to_string());
                watch_delete = opt == "-W";
            }
            "-p" => {
                let v = arg()?;
                perms =
                    Some(parse_perms(v).ok_or_else(|| {
                        err(format!("`{v}` is not a permission set of r, w, x, a"))
                    })?);
            }
            "-k" => keys.push(arg()?.to_string()),
            "-S" => {
                let v = arg()?;
                for s in v.split(',') {
                    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                        return Err(err(format!("`{s}` is not a syscall name or number")));
                    }
                    syscalls.push(s.to_string());
                }
            }
            "-F" | "-C" => {
                let v = arg()?;
                let f = Field::parse(v, opt == "-C")
                    .ok_or_else(|| err(format!("`{v}` is not a field comparison")))?;
                if f.compare {
                    fields.push(f);
                    i += 1;
                    continue;
                }
                match (f.name.as_str(), f.op) {
                    ("arch", FieldOp::Eq) => {
                        arch =
                            Some(parse_arch(&f.value).ok_or_else(|| {
                                err(format!("`{}` is not an architecture", f.value))
                            })?)
                    }
                    ("key", FieldOp::Eq) => keys.push(f.value),
                    ("path" | "dir", FieldOp::Eq) => path_field = Some(f.value),
                    ("perm", FieldOp::Eq) => {
                        perm_field =
                            Some(parse_perms(&f.value).ok_or_else(|| {
                                err(format!("`{}` is not a permission set", f.value))
                            })?)
                    }
                    _ => fields.push(f),
                }
            }
            "-D" => control = Some(Control::DeleteAll),
            "-e" => {
                let v = arg()?;
                let n = v
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= 2)
                    .ok_or_else(|| err(format!("-e takes 0, 1 or 2, not `{v}`")))?;
                control = Some(Control::Enabled(n));
            }
            "-b" => {
                let v = arg()?;
                let n = v
                    .parse::<u64>()
                    .map_err(|_| err(format!("-b takes a number, not `{v}`")))?;
                control = Some(Control::Backlog(n));
            }
            "-f" => {
                let v = arg()?;
                let n = v
                    .parse::<u8>()
                    .ok()
                    .filter(|n| *n <= 2)
                    .ok_or_else(|| err(format!("-f takes 0, 1 or 2, not `{v}`")))?;
                control = Some(Control::Failure(n));
            }
            "-r" | "--backlog_wait_time" => {
                let v = arg()?;
                if v.parse::<u64>().is_err() {
                    return Err(err(format!("{opt} takes a number, not `{v}`")));
                }
                control = Some(Control::Other(format!("{opt} {v}")));
            }
            "-c" | "-i" => control = Some(Control::ContinueOnError),
            "--loginuid-immutable" | "--reset-lost" | "--reset_backlog_wait_time_actual" => {
                control = Some(Control::Other(opt.to_string()))
            }
            _ => return Err(err(format!("auditctl does not know the option `{opt}`"))),
        }
        i += 1;
    }
    if let Some(c) = control {
        if list_action.is_some() || watch.is_some() {
            return Err(err("a control option cannot be mixed with a rule".into()));
        }
        return Ok(Some(Line::Control(c, origin)));
    }
    if let Some(w) = watch {
        if list_action.is_some() || !syscalls.is_empty() || !fields.is_empty() {
            return Err(err("-w cannot be combined with -a, -S or -F".into()));
        }
        if !w.starts_with('/') {
            return Err(err(format!("watch `{w}` is not an absolute path")));
        }
        let r = Rule {
            list: List::Exit,
            action: Action::Always,
            arch: None,
            syscalls: vec![],
            fields: vec![],
            watch: Some((normalise_path(&w), perms.unwrap_or(PERM_ALL))),
            keys,
            prepend: false,
            origin,
        };
        return Ok(Some(if watch_delete {
            Line::Delete(r)
        } else {
            Line::Rule(r)
        }));
    }
    let Some((list, action, prepend, delete)) = list_action else {
        return Err(err("a rule needs -a, -A, -d or -w".into()));
    };
    if perms.is_some() {
        return Err(err("-p belongs to a -w watch (use -F perm= with -a)".into()));
    }
    if list == List::Exit && syscalls.is_empty() && path_field.is_none() && fields.is_empty() {
        return Err(err(
            "an exit rule needs -S, -F path/dir or another field".into()
        ));
    }
    let watch = path_field.map(|p| (normalise_path(&p), perm_field.unwrap_or(PERM_ALL)));
    if watch.is_none() {
        if let Some(p) = perm_field {
            fields.push(Field {
                name: "perm".into(),
                op: FieldOp::Eq,
                value: show_perms(p),
                compare: false,
            });
        }
    }
    let r = Rule {
        list,
        action,
        arch,
        syscalls,
        fields,
        watch,
        keys,
        prepend,
        origin,
    };
    Ok(Some(if delete {
        Line::Delete(r)
    } else {
        Line::Rule(r)
    }))
}

/// The rules a kernel ends up with, and the controls that came with them.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Rules in kernel evaluation order (after `-A`, `-d`, `-D`).
    pub rules: Vec<Rule>,
    /// The last `-e`, and whether a rule line came after it.
    pub enabled: Option<(u8, Origin)>,
    pub rules_after_enable: Option<Origin>,
    pub backlog: Option<(u64, Origin)>,
    pub failure: Option<(u8, Origin)>,
    /// Files read, in order (for evidence).
    pub sources: Vec<String>,
    /// Lines skipped because `-c`/`-i` was in effect.
    pub skipped: Vec<LineError>,
}

/// Applies parsed lines in order, as `auditctl -R`.
pub fn apply(lines: &[(String, Origin)]) -> Result<Rules, LineError> {
    let mut r = Rules::default();
    let mut cont = false;
    for (text, origin) in lines {
        let parsed = match parse_line(text, origin.clone()) {
            Ok(p) => p,
            Err(e) if cont => {
                r.skipped.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let Some(l) = parsed else { continue };
        if r.enabled.as_ref().is_some_and(|(n, _)| *n == 2) {
            // auditctl refuses every change once the configuration is locked
            if !matches!(l, Line::Control(Control::Enabled(2), _)) {
                r.rules_after_enable.get_or_insert(origin.clone());
                continue;
            }
        }
        match l {
            Line::Rule(rule) => {
                if rule.prepend {
                    r.rules.insert(0, rule);
                } else {
                    r.rules.push(rule);
                }
            }
            Line::Delete(rule) => {
                if let Some(pos) = r.rules.iter().position(|x| x.same(&rule)) {
                    r.rules.remove(pos);
                }
            }
            Line::Control(c, o) => match c {
                Control::DeleteAll => r.rules.clear(),
                Control::Enabled(n) => r.enabled = Some((n, o)),
                Control::Backlog(n) => r.backlog = Some((n, o)),
                Control::Failure(n) => r.failure = Some((n, o)),
                Control::ContinueOnError => cont = true,
                Control::Other(_) => {}
            },
        }
    }
    Ok(r)
}

/// Rearranges the concatenated `rules.d` lines as augenrules does.
pub fn augenrules(lines: Vec<(String, Origin)>) -> Vec<(String, Origin)> {
    let mut minus_e = None;
    let mut minus_d = None;
    let mut minus_f = None;
    let mut minus_b = None;
    let mut rest = Vec::new();
    for (t, o) in lines {
        let s = t.trim_start();
        if t.is_empty() || s.starts_with('#') {
            continue;
        }
        if s.starts_with("-e") {
            minus_e = Some((t, o));
        } else if s.trim_end() == "-D" {
            minus_d = Some((t, o));
        } else if s.starts_with("-f") {
            minus_f = Some((t, o));
        } else if s.starts_with("-b") {
            minus_b = Some((t, o));
        } else {
            rest.push((t, o));
        }
    }
    let mut out: Vec<(String, Origin)> =
        [minus_d, minus_b, minus_f].into_iter().flatten().collect();
    out.extend(rest);
    out.extend(minus_e);
    out
}

fn split_lines(text: &str, file: &str) -> Vec<(String, Origin)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| {
            (
                l.trim_end_matches('\r').to_string(),
                Origin::new(file, i + 1),
            )
        })
        .collect()
}

/// Parses one rules text as `auditctl -R` would load it (pure; for tests and fuzzing).
pub fn parse(text: &str, file: &str) -> Result<Rules, LineError> {
    let mut r = apply(&split_lines(text, file))?;
    r.sources.push(file.to_string());
    Ok(r)
}

/// The rules the next `augenrules --load` (or `auditctl -R audit.rules`) loads. `Ok(None)`:
/// neither `rules.d` nor `audit.rules` exists.
pub fn load(root: &Root) -> FactResult<Option<Rules>> {
    let mut budget = Budget::default();
    let fail = |e: LineError| {
        FactError::Failed(format!(
            "auditctl would stop loading the audit rules at {e}"
        ))
    };
    match root.stat(RULES_DIR) {
        Ok(m) if m.kind == crate::fs::FileKind::Dir => {
            let mut names: Vec<String> = root
                .read_dir(RULES_DIR)?
                .into_iter()
                .map(|e| e.name)
                .filter(|n| n.ends_with(".rules"))
                .collect();
            if names.len() > super::confdirs::MAX_FILES {
                return Err(FactError::Failed(format!(
                    "more than {} files in {RULES_DIR}: refusing a partial read",
                    super::confdirs::MAX_FILES
                )));
            }
            names.sort_by(|a, b| version_cmp(a, b));
            let mut lines = Vec::new();
            let mut sources = Vec::new();
            for n in names {
                let p = crate::fs::join(RULES_DIR, &n);
                if let Some(f) = budget.read(root, &p)? {
                    lines.extend(split_lines(&f.content, &p));
                    sources.push(p);
                }
            }
            let mut r = apply(&augenrules(lines)).map_err(fail)?;
            r.sources = sources;
            Ok(Some(r))
        }
        Ok(_) => Err(FactError::Failed(format!("{RULES_DIR} is not a directory"))),
        Err(e) if e.is_not_found() => match budget.read(root, RULES_FILE)? {
            Some(f) => parse(&f.content, RULES_FILE).map(Some).map_err(fail),
            None => Ok(None),
        },
        Err(e) => Err(e.into()),
    }
}

/// Why a required rule is not covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// No rule records it.
    Missing(String),
    /// A `never` rule earlier in the list suppresses it.
    Suppressed(String, Origin),
}

impl std::fmt::Display for Gap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gap::Missing(what) => write!(f, "not recorded: {what}"),
            Gap::Suppressed(what, o) => write!(f, "{what} is suppressed by the never rule at {o}"),
        }
    }
}

impl Rules {
    /// The first rule of the list that sees every event of `req` for one syscall (or the
    /// watch), with whether it records.
    fn first_match(&self, req: &Rule, syscall: Option<&str>) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            if r.list != req.list {
                return false;
            }
            let arch_ok = match req.arch {
                Some(a) => r.arch.unwrap_or(Arch::B64) == a,
                None => true,
            };
            arch_ok
                && match syscall {
                    Some(s) => r.syscalls.iter().any(|x| x == s || x == "all"),
                    None => r.syscalls.is_empty() || r.syscalls.iter().any(|x| x == "all"),
                }
                && match (&req.watch, &r.watch) {
                    (Some((rp, rperm)), Some((p, perm))) => {
                        (rp == p || p == "/" || rp.starts_with(&format!("{p}/")))
                            && perm & rperm == *rperm
                    }
                    (Some(_), None) => false,
                    (None, Some(_)) => false,
                    (None, None) => true,
                }
                && r.fields
                    .iter()
                    .all(|f| req.fields.iter().any(|q| f.implied_by(q)))
        })
    }

    /// The rules that record `req` (one per syscall, duplicates removed), in list order.
    pub fn covered_by(&self, req: &Rule) -> Vec<&Rule> {
        let syscalls: Vec<Option<&str>> = if req.syscalls.is_empty() {
            vec![None]
        } else {
            req.syscalls.iter().map(|s| Some(s.as_str())).collect()
        };
        let mut out: Vec<&Rule> = Vec::new();
        for s in syscalls {
            if let Some(r) = self.first_match(req, s) {
                if r.action == Action::Always && !out.iter().any(|x| std::ptr::eq(*x, r)) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// Gaps between the loaded rules and `req` (empty: covered).
    pub fn covers(&self, req: &Rule) -> Vec<Gap> {
        let mut gaps = Vec::new();
        let syscalls: Vec<Option<&str>> = if req.syscalls.is_empty() {
            vec![None]
        } else {
            req.syscalls.iter().map(|s| Some(s.as_str())).collect()
        };
        for s in syscalls {
            let what = match s {
                Some(s) => {
                    let mut one = req.clone();
                    one.syscalls = vec![s.to_string()];
                    one.show()
                }
                None => req.show(),
            };
            match self.first_match(req, s) {
                Some(r) if r.action == Action::Always => {}
                Some(r) => gaps.push(Gap::Suppressed(what, r.origin.clone())),
                None => gaps.push(Gap::Missing(what)),
            }
        }
        gaps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Rule {
        match parse_line(s, Origin::new("req", 1)).unwrap().unwrap() {
            Line::Rule(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stock_debian_rules_parse() {
        let t =
            include_str!("../../../tests/data/debian-stock/bookworm/etc/audit/rules.d/audit.rules");
        let r = parse(t, RULES_DIR).unwrap();
        assert!(r.rules.is_empty());
        assert_eq!(r.backlog.as_ref().map(|b| b.0), Some(8192));
        assert_eq!(r.failure.as_ref().map(|b| b.0), Some(1));
        assert!(r.enabled.is_none());
        let t = include_str!("../../../tests/data/debian-stock/trixie/etc/audit/audit.rules");
        assert!(parse(t, RULES_FILE).unwrap().rules.is_empty());
    }

    #[test]
    fn watches_and_syscalls_cover() {
        let r = parse(
            "-D\n-w /etc/sudoers -p wa -k scope\n-w /etc/sudoers.d/ -p wa\n\
             -a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change\n\
             exit,always -F arch=b32 -S adjtimex\n",
            "t",
        );
        assert!(r.is_err(), "a line without an option is an error");
        let r = parse(
            "-D\n-w /etc/sudoers -p wa -k scope\n-w /etc/sudoers.d/ -p rwa\n\
             -a always,exit -F arch=b64 -S adjtimex,settimeofday -k time-change\n\
             -a exit,always -F arch=b32 -S adjtimex\n-w /etc -p wa\n",
            "t",
        )
        .unwrap();
        assert!(r.covers(&req("-w /etc/sudoers -p wa")).is_empty());
        assert!(r.covers(&req("-w /etc/sudoers.d -p wa")).is_empty());
        let by = r.covered_by(&req("-w /etc/sudoers.d -p wa"));
        assert_eq!(by.len(), 1);
        assert_eq!(by[0].origin.line, 3);
        assert!(
            r.covers(&req("-w /etc/hosts -p wa")).is_empty(),
            "under -w /etc"
        );
        assert_eq!(r.covers(&req("-w /var/log/wtmp -p wa")).len(), 1);
        assert!(r
            .covers(&req("-a always,exit -F arch=b64 -S adjtimex,settimeofday"))
            .is_empty());
        let g = r.covers(&req("-a always,exit -F arch=b32 -S adjtimex,settimeofday"));
        assert_eq!(g.len(), 1, "{g:?}");
        assert!(g[0].to_string().contains("-S settimeofday"), "{g:?}");
    }

    #[test]
    fn filters_must_be_implied_and_never_suppresses() {
        let r = parse(
            "-a always,exit -F arch=b64 -S chmod -F auid>=500 -F auid!=-1 -k perm\n\
             -a always,exit -F arch=b64 -S mount -F auid>=1000 -F uid=0\n\
             -a never,exit -F arch=b64 -S unlink\n\
             -a always,exit -F arch=b64 -S unlink,rename -F auid>=1000 -F auid!=unset\n\
             -a always,exit -S creat -F exit=-EACCES\n",
            "t",
        )
        .unwrap();
        assert!(r
            .covers(&req(
                "-a always,exit -F arch=b64 -S chmod -F auid>=1000 -F auid!=unset"
            ))
            .is_empty());
        assert_eq!(
            r.covers(&req(
                "-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=unset"
            ))
            .len(),
            1,
            "uid=0 narrows the rule"
        );
        let g = r.covers(&req(
            "-a always,exit -F arch=b64 -S unlink,rename -F auid>=1000 -F auid!=unset",
        ));
        assert!(
            matches!(&g[..], [Gap::Suppressed(_, o)] if o.line == 3),
            "{g:?}"
        );
        assert!(r
            .covers(&req(
                "-a always,exit -F arch=b64 -S creat -F exit=-EACCES -F auid>=1000"
            ))
            .is_empty());
        assert_eq!(
            r.covers(&req("-a always,exit -F arch=b32 -S creat -F exit=-EACCES"))
                .len(),
            1
        );
    }

    #[test]
    fn path_rules_and_prepend_and_delete() {
        let r = parse(
            "-a always,exit -F path=/usr/bin/chcon -F perm=x -F auid>=1000 -F auid!=unset -k c\n\
             -a always,exit -F dir=/var/run/faillock/ -F perm=wa\n\
             -w /etc/passwd -p wa\n-W /etc/passwd -p wa\n\
             -a always,exit -F arch=b64 -S mount\n-A never,exit -F arch=b64 -S mount\n",
            "t",
        )
        .unwrap();
        assert!(r
            .covers(&req(
                "-a always,exit -F path=/usr/bin/chcon -F perm=x -F auid>=1000 -F auid!=unset"
            ))
            .is_empty());
        assert!(r.covers(&req("-w /run/faillock -p wa")).is_empty());
        assert_eq!(
            r.covers(&req("-w /etc/passwd -p wa")).len(),
            1,
            "deleted by -W"
        );
        assert!(matches!(
            &r.covers(&req("-a always,exit -F arch=b64 -S mount"))[..],
            [Gap::Suppressed(..)]
        ));
    }

    #[test]
    fn immutable_and_errors() {
        let r = parse("-w /etc/shadow -p wa\n-e 2\n-w /etc/passwd -p wa\n", "t").unwrap();
        assert_eq!(r.enabled.as_ref().map(|e| e.0), Some(2));
        assert_eq!(r.rules_after_enable.as_ref().map(|o| o.line), Some(3));
        assert_eq!(r.rules.len(), 1);
        let e = parse("-w /etc/shadow -p wa\n-x nonsense\n", "f").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("f", 2));
        assert!(e.message.contains("-x"), "{e}");
        for bad in [
            "-w",
            "-a always",
            "-a sometimes,exit -S x",
            "-e 3",
            "-w rel -p wa",
            "-w /x -p q",
            "-a always,exit",
            "-S open",
        ] {
            assert!(parse(bad, "f").is_err(), "{bad}");
        }
        let r = parse("-c\n-x nonsense\n-w /etc/shadow -p wa\n", "t").unwrap();
        assert_eq!((r.skipped.len(), r.rules.len()), (1, 1));
    }

    #[test]
    fn augenrules_moves_controls() {
        let lines = split_lines(
            "-w /a -p wa\n-e 2\n# c\n\n-D\n-b 8192\n-w /b -p wa\n-e 1\n",
            "f",
        );
        let out: Vec<String> = augenrules(lines).into_iter().map(|(t, _)| t).collect();
        assert_eq!(out, ["-D", "-b 8192", "-w /a -p wa", "-w /b -p wa", "-e 1"]);
    }

    #[test]
    fn implication_table() {
        let f = |s: &str| Field::parse(s, false).unwrap();
        assert!(f("auid>=500").implied_by(&f("auid>=1000")));
        assert!(!f("auid>=1000").implied_by(&f("auid>=500")));
        assert!(f("auid!=unset").implied_by(&f("auid!=4294967295")));
        assert!(f("auid!=-1").implied_by(&f("auid!=unset")));
        assert!(!f("auid!=unset").implied_by(&f("auid>=1000")));
        assert!(f("exit=-EACCES").implied_by(&f("exit=-EACCES")));
        assert!(!f("exit=-EPERM").implied_by(&f("exit=-EACCES")));
        assert!(f("a0=0").implied_by(&f("a0=0x0")));
    }
}
