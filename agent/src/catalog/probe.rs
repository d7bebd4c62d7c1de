//! Probes: what a check looks at and what it expects, as closed enums.
//!
//! A condition is either one probe (`probe = "file"`, ...) or a combinator (`all`, `any`,
//! `none`) of conditions. Any condition may carry `platforms = [...]` (NOT_APPLICABLE
//! elsewhere). Values that differ between standards are written `{ kisa = 90, cis = 365 }` and
//! resolved for the selected profile when the catalog loads.

use super::Profile;
use crate::fs::FileKind;
use regex::Regex;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Load-time context.
pub struct Ctx {
    pub profile: Profile,
}

/// A condition with an optional platform filter.
#[derive(Debug, Clone)]
pub struct Cond {
    pub platforms: Vec<String>,
    pub node: Node,
}

#[derive(Debug, Clone)]
pub enum Node {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    None(Vec<Cond>),
    Probe(Box<Probe>),
}

impl Cond {
    /// Whether evaluating this condition walks the filesystem.
    pub fn uses_walk(&self) -> bool {
        match &self.node {
            Node::All(v) | Node::Any(v) | Node::None(v) => v.iter().any(Cond::uses_walk),
            Node::Probe(p) => matches!(**p, Probe::Walk(_)),
        }
    }
}

/// Every probe kind the engine knows.
#[derive(Debug, Clone)]
pub enum Probe {
    File(FileProbe),
    Lines(LinesProbe),
    KeyValue(KeyValueProbe),
    Sysctl(SysctlProbe),
    Mount(MountProbe),
    Accounts(AccountsProbe),
    Socket(SocketProbe),
    Process(ProcessProbe),
    Service(ServiceProbe),
    Package(PackageProbe),
    Resource(ResourceProbe),
    Walk(WalkProbe),
    Manual(ManualProbe),
}

/// What to conclude when the file a probe needs does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfMissing {
    Pass,
    Fail,
    NotApplicable,
}

/// One string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

fn mode_from_str(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("`{s}` is not an octal mode such as \"0644\""))
}

/// `probe = "file"`: metadata of one path or of every path a glob matches.
#[derive(Debug, Clone)]
pub struct FileProbe {
    pub paths: Vec<String>,
    /// `Some(false)`: the path must not exist.
    pub exists: Option<bool>,
    pub kind: Option<FileKind>,
    pub owner: Vec<String>,
    pub group: Vec<String>,
    /// No permission bits beyond these (e.g. 0o644).
    pub mode_max: Option<u32>,
    /// These bits must be set (e.g. 0o1000 sticky).
    pub mode_has: Option<u32>,
    /// lstat instead of stat.
    pub no_follow: bool,
    pub if_missing: IfMissing,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileProbe {
    path: OneOrMany,
    exists: Option<bool>,
    #[serde(rename = "type")]
    kind: Option<String>,
    owner: Option<OneOrMany>,
    group: Option<OneOrMany>,
    mode_max: Option<String>,
    mode_has: Option<String>,
    #[serde(default)]
    no_follow: bool,
    if_missing: Option<IfMissing>,
}

/// `probe = "lines"`: a line matching a pattern must be present / absent.
#[derive(Debug, Clone)]
pub struct LinesProbe {
    pub paths: Vec<String>,
    pub pattern: Regex,
    pub present: bool,
    /// Comment leader stripped before matching (None: no comment handling).
    pub comment: Option<String>,
    pub if_missing: IfMissing,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLinesProbe {
    path: OneOrMany,
    pattern: String,
    expect: Presence,
    #[serde(default = "default_comment")]
    comment: String,
    #[serde(default)]
    ignore_case: bool,
    if_missing: Option<IfMissing>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Presence {
    Present,
    Absent,
}

fn default_comment() -> String {
    "#".into()
}

/// Comparison operators for values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    NotMatches,
    /// Octal: every bit of the value is set in the actual (umask 027 includes 022).
    BitsSet,
    /// The key must be present, whatever its value.
    Set,
    /// The key must be absent.
    Unset,
}

/// An expected value, resolved for the profile.
#[derive(Debug, Clone)]
pub enum Expected {
    None,
    Text(String),
    Number(f64),
    List(Vec<String>),
    Regex(Regex),
    Bits(u32),
}

/// A comparison: `op` against `value`.
#[derive(Debug, Clone)]
pub struct Compare {
    pub op: Op,
    pub value: Expected,
    /// As written, for messages.
    pub shown: String,
}

impl Compare {
    /// Human form such as `<= 90` or `one of [no, prohibit-password]`.
    pub fn describe(&self) -> String {
        let v = &self.shown;
        match self.op {
            Op::Eq => format!("= {v}"),
            Op::Ne => format!("!= {v}"),
            Op::Lt => format!("< {v}"),
            Op::Le => format!("<= {v}"),
            Op::Gt => format!("> {v}"),
            Op::Ge => format!(">= {v}"),
            Op::In => format!("one of {v}"),
            Op::NotIn => format!("none of {v}"),
            Op::Matches => format!("matching /{v}/"),
            Op::NotMatches => format!("not matching /{v}/"),
            Op::BitsSet => format!("with bits {v} set"),
            Op::Set => "set".into(),
            Op::Unset => "not set".into(),
        }
    }

    /// Evaluates against an actual value. `Err` when the actual value cannot be compared
    /// (e.g. not a number).
    pub fn test(&self, actual: &str) -> Result<bool, String> {
        let a = actual.trim();
        match (&self.op, &self.value) {
            (Op::Set, _) => Ok(true),
            (Op::Unset, _) => Ok(false),
            (Op::Eq, Expected::Number(n)) => num(a).map(|x| x == *n),
            (Op::Ne, Expected::Number(n)) => num(a).map(|x| x != *n),
            (Op::Eq, Expected::Text(t)) => Ok(a.eq_ignore_ascii_case(t)),
            (Op::Ne, Expected::Text(t)) => Ok(!a.eq_ignore_ascii_case(t)),
            (Op::Lt, Expected::Number(n)) => num(a).map(|x| x < *n),
            (Op::Le, Expected::Number(n)) => num(a).map(|x| x <= *n),
            (Op::Gt, Expected::Number(n)) => num(a).map(|x| x > *n),
            (Op::Ge, Expected::Number(n)) => num(a).map(|x| x >= *n),
            (Op::In, Expected::List(l)) => Ok(l.iter().any(|v| v.eq_ignore_ascii_case(a))),
            (Op::NotIn, Expected::List(l)) => Ok(!l.iter().any(|v| v.eq_ignore_ascii_case(a))),
            (Op::Matches, Expected::Regex(r)) => Ok(r.is_match(a)),
            (Op::NotMatches, Expected::Regex(r)) => Ok(!r.is_match(a)),
            (Op::BitsSet, Expected::Bits(b)) => u32::from_str_radix(a, 8)
                .map(|x| x & b == *b)
                .map_err(|_| format!("`{a}` is not an octal mask")),
            _ => Err("operator and value do not fit".into()),
        }
    }
}

fn num(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .map_err(|_| format!("`{s}` is not a number"))
}

/// Resolves `{ kisa = .., cis = .. }` to the profile's value.
fn profiled(v: &toml::Value, ctx: &Ctx) -> Result<toml::Value, String> {
    if let toml::Value::Table(t) = v {
        for k in t.keys() {
            if !["kisa", "cis", "default"].contains(&k.as_str()) {
                return Err(format!(
                    "value table key `{k}` is not a profile (expected kisa, cis or default)"
                ));
            }
        }
        return t
            .get(ctx.profile.as_str())
            .or_else(|| t.get("default"))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no value for profile `{}` (and no `default`)",
                    ctx.profile.as_str()
                )
            });
    }
    Ok(v.clone())
}

fn scalar_text(v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err("expected a string or a number".into()),
    }
}

/// Builds a comparison from `op` and `value`, validating that they fit.
pub fn compare(op: Op, value: Option<&toml::Value>, ctx: &Ctx) -> Result<Compare, String> {
    let value = value.map(|v| profiled(v, ctx)).transpose()?;
    let need = |v: &Option<toml::Value>| {
        v.clone()
            .ok_or_else(|| format!("operator `{op:?}` needs a `value`").to_lowercase())
    };
    let (expected, shown) = match op {
        Op::Set | Op::Unset => {
            if value.is_some() {
                return Err("operators `set` / `unset` take no `value`".into());
            }
            (Expected::None, String::new())
        }
        Op::Eq | Op::Ne => {
            let v = need(&value)?;
            match v {
                toml::Value::Integer(i) => (Expected::Number(i as f64), i.to_string()),
                toml::Value::Float(f) => (Expected::Number(f), f.to_string()),
                other => {
                    let s = scalar_text(&other)?;
                    (Expected::Text(s.clone()), s)
                }
            }
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let v = need(&value)?;
            let n = match v {
                toml::Value::Integer(i) => i as f64,
                toml::Value::Float(f) => f,
                _ => return Err(format!("operator `{op:?}` needs a number").to_lowercase()),
            };
            (Expected::Number(n), n.to_string())
        }
        Op::In | Op::NotIn => {
            let v = need(&value)?;
            let list = match v {
                toml::Value::Array(a) => {
                    a.iter().map(scalar_text).collect::<Result<Vec<_>, _>>()?
                }
                other => vec![scalar_text(&other)?],
            };
            let shown = format!("[{}]", list.join(", "));
            (Expected::List(list), shown)
        }
        Op::Matches | Op::NotMatches => {
            let s = scalar_text(&need(&value)?)?;
            let r = Regex::new(&s).map_err(|e| format!("bad regex `{s}`: {e}"))?;
            (Expected::Regex(r), s)
        }
        Op::BitsSet => {
            let s = scalar_text(&need(&value)?)?;
            (Expected::Bits(mode_from_str(&s)?), s)
        }
    };
    Ok(Compare {
        op,
        value: expected,
        shown,
    })
}

/// `probe = "keyvalue"`: a key in a `key value` / `key=value` file.
#[derive(Debug, Clone)]
pub struct KeyValueProbe {
    pub paths: Vec<String>,
    pub key: String,
    pub separator: Separator,
    pub comment: Option<String>,
    pub ignore_case: bool,
    pub first: bool,
    pub compare: Compare,
    /// The program's built-in value when the key is absent.
    pub default: Option<String>,
    pub if_missing: IfMissing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Separator {
    Whitespace,
    Equals,
    Colon,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyValueProbe {
    path: OneOrMany,
    key: String,
    #[serde(default = "default_sep")]
    separator: Separator,
    #[serde(default = "default_comment")]
    comment: String,
    #[serde(default)]
    ignore_case: bool,
    #[serde(default)]
    occurrence: Occurrence,
    op: Op,
    value: Option<toml::Value>,
    default: Option<toml::Value>,
    if_missing: Option<IfMissing>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Occurrence {
    First,
    #[default]
    Last,
}

fn default_sep() -> Separator {
    Separator::Whitespace
}

/// `probe = "sysctl"`: a kernel parameter, live and/or as configured for boot.
#[derive(Debug, Clone)]
pub struct SysctlProbe {
    pub key: String,
    pub compare: Compare,
    pub live: bool,
    pub config: bool,
    /// The kernel's value when no configuration file sets the key.
    pub default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSysctlProbe {
    key: String,
    op: Op,
    value: Option<toml::Value>,
    #[serde(default)]
    source: SysctlSource,
    default: Option<toml::Value>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SysctlSource {
    #[default]
    Both,
    Live,
    Config,
}

/// `probe = "mount"`: options of a mount point, or that it is a separate mount.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountProbe {
    pub mount_point: String,
    #[serde(default)]
    pub options: Vec<String>,
    /// The mount point must be its own filesystem.
    #[serde(default)]
    pub separate: bool,
    /// When the path is not a separate mount (default: not applicable).
    pub if_not_mounted: Option<IfMissing>,
}

/// `probe = "accounts"`: a named rule over passwd/shadow/group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsProbe {
    pub rule: AccountRule,
    /// Names exempt from the rule.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Accounts the rule is about (e.g. `unneeded_accounts`, `no_login_shell`).
    #[serde(default)]
    pub users: Vec<String>,
    /// Numeric parameter (e.g. maximum password age for `password_max_age`).
    pub value: Option<toml::Value>,
    #[serde(skip)]
    pub number: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountRule {
    /// Only root has UID 0.
    Uid0OnlyRoot,
    /// No account has an empty password field in shadow.
    NoEmptyPasswords,
    /// Every passwd entry keeps its password in shadow (`x`).
    PasswordsShadowed,
    UniqueUids,
    UniqueGids,
    UniqueUserNames,
    UniqueGroupNames,
    /// Accounts below UID_MIN (other than root) have a non-login shell.
    SystemAccountsNoLogin,
    /// The listed accounts have no login shell (or do not exist).
    NoLoginShell,
    /// Interactive users' home directories exist.
    HomeDirsExist,
    /// Interactive users own their home directory.
    HomeDirsOwned,
    /// Home directories are not writable by group or others.
    HomeDirsNotWritable,
    /// Users' dot files are not writable by group or others.
    DotFilesNotWritable,
    /// No `.rhosts`, `.netrc` or `.shosts` in home directories.
    NoTrustFiles,
    /// Every GID in passwd exists in group.
    GroupsExist,
    /// Group 0 holds only root (plus `allow`).
    RootGroupOnlyRoot,
    /// Accounts such as lp, uucp, games do not have a login shell.
    UnneededAccounts,
    /// Password hashes use a strong algorithm (SHA-512, yescrypt, bcrypt...).
    StrongHashes,
    /// Every password-holding account has a maximum age (shadow field 5) <= value.
    PasswordMaxAge,
    /// No legacy `+` NIS entries in passwd/shadow/group.
    NoLegacyPlus,
    /// Root's primary group is GID 0.
    RootGid0,
    /// Accounts with a password have the inactivity lock (shadow field 7) <= value days.
    InactiveLock,
}

/// `probe = "socket"`: listening sockets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketProbe {
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub processes: Vec<String>,
    #[serde(default = "default_proto")]
    pub protocol: Proto,
    pub expect: SocketExpect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    Tcp,
    Udp,
    Any,
}

fn default_proto() -> Proto {
    Proto::Any
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketExpect {
    NotListening,
    LoopbackOnly,
}

/// `probe = "process"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessProbe {
    pub names: Vec<String>,
    pub expect: ProcessExpect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessExpect {
    NotRunning,
    NotRoot,
    Running,
}

/// `probe = "service"`: boot-time enablement from systemd unit files and `.wants` links,
/// SysV rc links, xinetd and inetd configuration. No D-Bus.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceProbe {
    /// systemd units (`telnet.socket`, `rsh.socket`, `nfs-server.service`).
    #[serde(default)]
    pub units: Vec<String>,
    /// xinetd service names / inetd.conf service names.
    #[serde(default)]
    pub inetd: Vec<String>,
    /// SysV init script names.
    #[serde(default)]
    pub sysv: Vec<String>,
    pub expect: ServiceExpect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceExpect {
    Disabled,
    Enabled,
}

/// `probe = "package"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageProbe {
    pub names: Vec<String>,
    pub expect: PackageExpect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageExpect {
    Absent,
    Present,
}

/// `probe = "resource"`: a health threshold.
#[derive(Debug, Clone)]
pub struct ResourceProbe {
    pub metric: Metric,
    pub compare: Compare,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Highest used percentage over local filesystems.
    FsUsedPct,
    /// Highest inode used percentage over local filesystems.
    InodesUsedPct,
    MemAvailablePct,
    SwapUsedPct,
    /// 5-minute load average divided by the CPU count.
    LoadPerCpu,
    Zombies,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResourceProbe {
    metric: Metric,
    op: Op,
    value: Option<toml::Value>,
}

/// `probe = "walk"`: a bounded walk of local filesystems.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalkProbe {
    pub find: WalkFind,
    /// Glob patterns of paths that are expected and exempt.
    #[serde(default)]
    pub allow: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalkFind {
    /// Regular files writable by others.
    WorldWritable,
    /// World-writable directories without the sticky bit.
    WorldWritableDirsNoSticky,
    /// setuid / setgid regular files.
    SuidSgid,
    /// Files whose owner or group does not exist.
    Unowned,
    /// Regular files under /dev (KISA U-16).
    DevRegularFiles,
}

/// `probe = "manual"`: a process item, not a host state. Always NOT_APPLICABLE, with the
/// reason, never PASS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualProbe {
    pub reason: String,
}

fn de<T: DeserializeOwned>(t: &toml::Table) -> Result<T, String> {
    toml::Value::Table(t.clone())
        .try_into()
        .map_err(|e: toml::de::Error| e.message().trim().to_string())
}

fn paths(p: OneOrMany, where_: &str) -> Result<Vec<String>, String> {
    let v = p.into_vec();
    if v.is_empty() {
        return Err(format!("{where_}: `path` must name at least one path"));
    }
    for p in &v {
        if !p.starts_with('/') {
            return Err(format!("{where_}: path `{p}` must be absolute"));
        }
    }
    Ok(v)
}

fn parse_probe(kind: &str, t: &toml::Table, ctx: &Ctx, at: &str) -> Result<Probe, String> {
    let e = |m: String| format!("{at}: {m}");
    Ok(match kind {
        "file" => {
            let r: RawFileProbe = de(t).map_err(e)?;
            let kind = r
                .kind
                .map(|k| {
                    FileKind::parse(&k).ok_or_else(|| e(format!("unknown file type `{k}`")))
                })
                .transpose()?;
            Probe::File(FileProbe {
                paths: paths(r.path, at)?,
                exists: r.exists,
                kind,
                owner: r.owner.map(OneOrMany::into_vec).unwrap_or_default(),
                group: r.group.map(OneOrMany::into_vec).unwrap_or_default(),
                mode_max: r.mode_max.as_deref().map(mode_from_str).transpose().map_err(e)?,
                mode_has: r.mode_has.as_deref().map(mode_from_str).transpose().map_err(e)?,
                no_follow: r.no_follow,
                if_missing: r.if_missing.unwrap_or(IfMissing::NotApplicable),
            })
        }
        "lines" => {
            let r: RawLinesProbe = de(t).map_err(e)?;
            let pat = if r.ignore_case {
                format!("(?i){}", r.pattern)
            } else {
                r.pattern.clone()
            };
            let pattern =
                Regex::new(&pat).map_err(|x| e(format!("bad pattern `{}`: {x}", r.pattern)))?;
            let present = r.expect == Presence::Present;
            Probe::Lines(LinesProbe {
                paths: paths(r.path, at)?,
                pattern,
                present,
                comment: (!r.comment.is_empty()).then_some(r.comment),
                if_missing: r.if_missing.unwrap_or(if present {
                    IfMissing::Fail
                } else {
                    IfMissing::Pass
                }),
            })
        }
        "keyvalue" => {
            let r: RawKeyValueProbe = de(t).map_err(e)?;
            let compare = compare(r.op, r.value.as_ref(), ctx).map_err(e)?;
            let default = r
                .default
                .map(|d| profiled(&d, ctx).and_then(|v| scalar_text(&v)))
                .transpose()
                .map_err(e)?;
            Probe::KeyValue(KeyValueProbe {
                paths: paths(r.path, at)?,
                key: r.key,
                separator: r.separator,
                comment: (!r.comment.is_empty()).then_some(r.comment),
                ignore_case: r.ignore_case,
                first: matches!(r.occurrence, Occurrence::First),
                compare,
                default,
                if_missing: r.if_missing.unwrap_or(IfMissing::Fail),
            })
        }
        "sysctl" => {
            let r: RawSysctlProbe = de(t).map_err(e)?;
            let compare = compare(r.op, r.value.as_ref(), ctx).map_err(e)?;
            Probe::Sysctl(SysctlProbe {
                key: r.key.replace('/', "."),
                compare,
                live: !matches!(r.source, SysctlSource::Config),
                config: !matches!(r.source, SysctlSource::Live),
                default: r.default.as_ref().map(scalar_text).transpose().map_err(e)?,
            })
        }
        "mount" => {
            let m: MountProbe = de(t).map_err(e)?;
            if m.options.is_empty() && !m.separate {
                return Err(e("a mount probe needs `options` or `separate = true`".into()));
            }
            Probe::Mount(m)
        }
        "accounts" => {
            let mut a: AccountsProbe = de(t).map_err(e)?;
            if let Some(v) = &a.value {
                let v = profiled(v, ctx).map_err(e)?;
                a.number = Some(match v {
                    toml::Value::Integer(i) => i as f64,
                    toml::Value::Float(f) => f,
                    _ => return Err(e("accounts `value` must be a number".into())),
                });
            }
            let needs_value = matches!(a.rule, AccountRule::PasswordMaxAge | AccountRule::InactiveLock);
            if needs_value && a.number.is_none() {
                return Err(e(format!("rule {:?} needs a numeric `value`", a.rule)));
            }
            let needs_users = matches!(a.rule, AccountRule::NoLoginShell);
            if needs_users && a.users.is_empty() {
                return Err(e("rule no_login_shell needs `users`".into()));
            }
            Probe::Accounts(a)
        }
        "socket" => {
            let s: SocketProbe = de(t).map_err(e)?;
            if s.ports.is_empty() && s.processes.is_empty() {
                return Err(e("a socket probe needs `ports` or `processes`".into()));
            }
            Probe::Socket(s)
        }
        "process" => {
            let p: ProcessProbe = de(t).map_err(e)?;
            if p.names.is_empty() {
                return Err(e("a process probe needs `names`".into()));
            }
            Probe::Process(p)
        }
        "service" => {
            let s: ServiceProbe = de(t).map_err(e)?;
            if s.units.is_empty() && s.inetd.is_empty() && s.sysv.is_empty() {
                return Err(e("a service probe needs `units`, `inetd` or `sysv`".into()));
            }
            Probe::Service(s)
        }
        "package" => Probe::Package(de(t).map_err(e)?),
        "resource" => {
            let r: RawResourceProbe = de(t).map_err(e)?;
            Probe::Resource(ResourceProbe {
                metric: r.metric,
                compare: compare(r.op, r.value.as_ref(), ctx).map_err(e)?,
            })
        }
        "walk" => {
            let w: WalkProbe = de(t).map_err(e)?;
            for a in &w.allow {
                if !a.starts_with('/') {
                    return Err(e(format!("allow pattern `{a}` must be absolute")));
                }
            }
            Probe::Walk(w)
        }
        "manual" => Probe::Manual(de(t).map_err(e)?),
        other => {
            return Err(e(format!(
                "unknown probe `{other}` (expected one of file, lines, keyvalue, sysctl, mount, accounts, socket, process, service, package, resource, walk, manual)"
            )))
        }
    })
}

/// Parses a condition from TOML. `at` names the place for messages (`expect.all[1]`).
pub fn parse_cond(v: &toml::Value, ctx: &Ctx, at: &str) -> Result<Cond, Vec<String>> {
    let t = match v {
        toml::Value::Table(t) => t,
        _ => return Err(vec![format!("{at}: a condition must be a table")]),
    };
    let mut t = t.clone();
    let platforms = match t.remove("platforms") {
        None => vec![],
        Some(toml::Value::Array(a)) => {
            let mut out = vec![];
            for p in a {
                match p.as_str() {
                    Some(s) if super::PLATFORMS.contains(&s) => out.push(s.to_string()),
                    _ => return Err(vec![format!("{at}: unknown platform {p:?}")]),
                }
            }
            out
        }
        Some(_) => return Err(vec![format!("{at}: `platforms` must be a list")]),
    };
    let combs: Vec<&str> = ["all", "any", "none"]
        .into_iter()
        .filter(|k| t.contains_key(*k))
        .collect();
    if !combs.is_empty() {
        if combs.len() > 1 || t.len() > 1 {
            return Err(vec![format!(
                "{at}: a combinator table holds exactly one of `all`, `any`, `none` (and optionally `platforms`)"
            )]);
        }
        let k = combs[0];
        let items = match t.get(k) {
            Some(toml::Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(vec![format!(
                    "{at}.{k}: must be a non-empty list of conditions"
                )])
            }
        };
        let mut errs = vec![];
        let mut kids = vec![];
        for (i, item) in items.iter().enumerate() {
            match parse_cond(item, ctx, &format!("{at}.{k}[{i}]")) {
                Ok(c) => kids.push(c),
                Err(e) => errs.extend(e),
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let node = match k {
            "all" => Node::All(kids),
            "any" => Node::Any(kids),
            _ => Node::None(kids),
        };
        return Ok(Cond { platforms, node });
    }
    let kind = match t.remove("probe") {
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err(vec![format!("{at}: `probe` must be a string")]),
        None => {
            return Err(vec![format!(
                "{at}: a condition needs `probe = \"...\"` or one of `all`, `any`, `none`"
            )])
        }
    };
    parse_probe(&kind, &t, ctx, at)
        .map(|p| Cond {
            platforms,
            node: Node::Probe(Box::new(p)),
        })
        .map_err(|e| vec![e])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx {
            profile: Profile::Kisa,
        }
    }

    fn cond(s: &str) -> Result<Cond, Vec<String>> {
        let v: toml::Value = toml::from_str(s).unwrap();
        parse_cond(&v, &ctx(), "expect")
    }

    #[test]
    fn compare_table() {
        let c = |op, v: toml::Value| compare(op, Some(&v), &ctx()).unwrap();
        let n = |i: i64| toml::Value::Integer(i);
        assert!(c(Op::Le, n(90)).test("90").unwrap());
        assert!(!c(Op::Le, n(90)).test("99999").unwrap());
        assert!(c(Op::Ge, n(8)).test(" 14 ").unwrap());
        assert!(c(Op::Le, n(90)).test("abc").is_err());
        assert!(c(Op::Eq, toml::Value::String("no".into()))
            .test("No")
            .unwrap());
        let l = toml::Value::Array(vec!["no".into(), "prohibit-password".into()]);
        assert!(c(Op::In, l.clone()).test("prohibit-password").unwrap());
        assert!(!c(Op::NotIn, l).test("no").unwrap());
        assert!(c(Op::BitsSet, "022".into()).test("027").unwrap());
        assert!(!c(Op::BitsSet, "027".into()).test("022").unwrap());
        assert!(c(Op::Matches, "^yes$".into()).test("yes").unwrap());
        assert!(compare(Op::Set, Some(&n(1)), &ctx()).is_err());
        assert!(compare(Op::Le, None, &ctx()).is_err());
        assert!(compare(Op::Le, Some(&"x".into()), &ctx()).is_err());
        assert!(compare(Op::Matches, Some(&"(".into()), &ctx()).is_err());
    }

    #[test]
    fn profile_values_resolve() {
        let v: toml::Value = toml::from_str("v = { kisa = 90, cis = 365 }").unwrap();
        let v = &v["v"];
        let kisa = compare(Op::Le, Some(v), &ctx()).unwrap();
        let cis = compare(
            Op::Le,
            Some(v),
            &Ctx {
                profile: Profile::Cis,
            },
        )
        .unwrap();
        assert!(!kisa.test("180").unwrap());
        assert!(cis.test("180").unwrap());
        let bad: toml::Value = toml::from_str("v = { nist = 1 }").unwrap();
        assert!(compare(Op::Le, Some(&bad["v"]), &ctx()).is_err());
    }

    #[test]
    fn conditions_parse_and_reject() {
        assert!(cond("probe = 'file'\npath = '/etc/passwd'\nmode_max = '0644'").is_ok());
        let c = cond("all = [ { probe = 'file', path = '/a' }, { any = [ { probe = 'manual', reason = 'x' } ] } ]").unwrap();
        assert!(matches!(c.node, Node::All(ref v) if v.len() == 2));
        let e = cond("probe = 'file'\npath = 'relative'").unwrap_err();
        assert!(e[0].contains("absolute"), "{e:?}");
        let e = cond("probe = 'file'\npath = '/a'\nmode_max = '999'").unwrap_err();
        assert!(e[0].contains("octal"), "{e:?}");
        let e = cond("all = []").unwrap_err();
        assert!(e[0].contains("non-empty"), "{e:?}");
        let e = cond("all = [ { probe = 'x' }, { probe = 'file' } ]").unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        let e =
            cond("probe = 'lines'\npath = '/a'\npattern = '('\nexpect = 'present'").unwrap_err();
        assert!(e[0].contains("bad pattern"), "{e:?}");
        let e = cond("probe = 'keyvalue'\npath = '/a'\nkey = 'K'\nop = 'bigger'\nvalue = 1")
            .unwrap_err();
        assert!(e[0].contains("bigger"), "{e:?}");
        let e = cond("probe = 'file'\npath = '/a'\nplatforms = ['windows']").unwrap_err();
        assert!(e[0].contains("windows"), "{e:?}");
    }
}
