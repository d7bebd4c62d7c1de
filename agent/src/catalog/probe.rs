//! Probes: what a check looks at and what it expects, as closed enums.
//!
//! A condition is either one probe (`probe = "file"`, ...) or a combinator (`all`, `any`,
//! `none`) of conditions. Any condition may carry `platforms = [...]` (NOT_APPLICABLE
//! elsewhere) and `requires = { condition }` (NOT_APPLICABLE unless that condition passes:
//! what a check examines must be installed before its settings can be judged). Values that differ between standards are written `{ kisa = 90, cis = 365 }` and
//! resolved for the selected profile when the catalog loads.

use super::pattern::Pattern;
use super::Profile;
use crate::fs::FileKind;
use serde::de::DeserializeOwned;
use serde::Deserialize;

mod error;
mod system;
pub use error::{chain_text, LocatedError, ProbeError};
pub use system::*;

/// Load-time context.
pub struct Ctx {
    pub profile: Profile,
}

/// A condition with an optional platform filter.
#[derive(Debug, Clone)]
pub struct Cond {
    pub platforms: Vec<String>,
    /// `requires`: evaluated first; anything but PASS makes this condition NOT_APPLICABLE
    /// (ERROR stays ERROR).
    pub requires: Option<Box<Cond>>,
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
        if self.requires.as_ref().is_some_and(|r| r.uses_walk()) {
            return true;
        }
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
    Sudoers(SudoersProbe),
    Pam(PamProbe),
    Sshd(SshdProbe),
    // system hardening (probe/system.rs)
    AuditRules(AuditProbe),
    Boot(BootProbe),
    Kmod(KmodProbe),
    SystemdConf(SdConfProbe),
    Limits(LimitsProbe),
    Mac(MacProbe),
    Unit(UnitProbe),
    Firewall(super::firewall::FirewallProbe),
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

fn mode_from_str(s: &str) -> Result<u32, ProbeError> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| ProbeError::NotA {
            given: s.to_string(),
            expected: "an octal mode such as \"0644\"".into(),
        })
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
    pub pattern: Pattern,
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
    Regex(Pattern),
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
    pub fn test(&self, actual: &str) -> Result<bool, ProbeError> {
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
            (Op::Matches, Expected::Regex(r)) => Ok(r.is_match(a)?),
            (Op::NotMatches, Expected::Regex(r)) => Ok(!r.is_match(a)?),
            (Op::BitsSet, Expected::Bits(b)) => u32::from_str_radix(a, 8)
                .map(|x| x & b == *b)
                .map_err(|_| ProbeError::Uncomparable {
                    actual: a.to_string(),
                    expected: "an octal mask",
                }),
            _ => Err(ProbeError::Rule {
                rule: "operator and value do not fit",
            }),
        }
    }
}

fn num(s: &str) -> Result<f64, ProbeError> {
    s.parse::<f64>().map_err(|_| ProbeError::Uncomparable {
        actual: s.to_string(),
        expected: "a number",
    })
}

/// Resolves `{ kisa = .., cis = .. }` to the profile's value.
pub(crate) fn profiled(v: &toml::Value, ctx: &Ctx) -> Result<toml::Value, ProbeError> {
    if let toml::Value::Table(t) = v {
        for k in t.keys() {
            if !["kisa", "cis", "default"].contains(&k.as_str()) {
                return Err(ProbeError::Unknown {
                    what: "profile in a value table".into(),
                    given: k.clone(),
                    expected: "kisa, cis or default".into(),
                });
            }
        }
        return t
            .get(ctx.profile.as_str())
            .or_else(|| t.get("default"))
            .cloned()
            .ok_or(ProbeError::NoProfileValue {
                profile: ctx.profile.as_str(),
            });
    }
    Ok(v.clone())
}

pub(crate) fn scalar_text(v: &toml::Value) -> Result<String, ProbeError> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(ProbeError::Shape {
            field: "a value".into(),
            rule: "be a string or a number",
        }),
    }
}

/// Builds a comparison from `op` and `value`, validating that they fit.
pub fn compare(op: Op, value: Option<&toml::Value>, ctx: &Ctx) -> Result<Compare, ProbeError> {
    let value = value.map(|v| profiled(v, ctx)).transpose()?;
    let operator = || format!("operator `{}`", format!("{op:?}").to_lowercase()).into();
    let need = |v: &Option<toml::Value>| {
        v.clone().ok_or_else(|| ProbeError::Missing {
            subject: operator(),
            needs: "a `value`",
        })
    };
    let (expected, shown) = match op {
        Op::Set | Op::Unset => {
            if value.is_some() {
                return Err(ProbeError::Misplaced {
                    fields: "operators `set` / `unset`".into(),
                    rule: "take no `value`",
                });
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
                _ => {
                    return Err(ProbeError::Missing {
                        subject: operator(),
                        needs: "a number",
                    })
                }
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
            let r = Pattern::new(&s).map_err(|source| ProbeError::BadRegex {
                role: "regex",
                pattern: s.clone(),
                source,
            })?;
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

/// The key/value separator is the parser's own type (facts sit below the catalog).
pub use crate::facts::kv::Separator;

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
    /// The kernel's value when no configuration file sets the key (used only when the
    /// running kernel cannot be read, i.e. when scanning an image).
    pub default: Option<String>,
    /// Verdict when the key does not exist in the running kernel (the feature is not built
    /// in or is disabled): NOT_APPLICABLE unless the check says otherwise.
    pub if_absent: IfMissing,
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
    if_absent: Option<IfMissing>,
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
    /// Group `shadow` (Debian) has no members and is no account's primary group.
    ShadowGroupEmpty,
    /// No shadow entry's last password change (field 3) lies after today.
    LastChangeInPast,
    /// Accounts (other than root) whose shell is not a valid login shell of /etc/shells are
    /// locked in shadow.
    NoShellLocked,
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
    /// Verdict when none of the services is installed (default NOT_APPLICABLE; `fail` when
    /// the service is itself the requirement).
    #[serde(default)]
    pub if_missing: Option<IfMissing>,
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

/// `probe = "sudoers"`: the policy sudo reads, `/etc/sudoers` with its `@include` /
/// `@includedir` files, parsed as `visudo -c` would (see `facts::sudoers`).
///
/// - `/etc/sudoers` absent: NOT_APPLICABLE (sudo is not installed).
/// - Any file that `visudo -c` would reject (syntax, unknown Defaults, bad value, include
///   loop, missing include): ERROR naming `file:line`.
/// - An include directory that is missing or insecure is skipped as sudo skips it, and so
///   are its files; the `file` probe reports its ownership and mode.
///
/// Fields:
/// - `test` (required), one of:
///   - `no_nopasswd`: no command is granted with the `NOPASSWD` tag (carried over along a
///     command list as sudo does; negated commands are restrictions and ignored). FAIL names
///     each grant's `file:line`, its users and its commands with Cmnd_Aliases expanded.
///   - `no_authenticate_disabled`: no `Defaults !authenticate`, in any scope
///     (`Defaults:user`, `Defaults>runas`, `Defaults@host`, `Defaults!cmnd` count too).
///   - `flag_set`: the flag `name` is on in the last global `Defaults` that sets it, and no
///     scoped `Defaults` turns it off. Not set: FAIL (sudo's built-in value differs
///     between versions, so it is never assumed).
///   - `value`: the value of parameter `name` compared with `op` / `value`. The last global
///     `Defaults` decides; `!name` means 0 for a number and "not set" otherwise; a scoped
///     `Defaults` whose value fails the comparison fails the check too. Not set: `default`
///     (sudo's built-in value, evidence says so) when given, else FAIL.
///   - `no_all_grants`: no rule grants the command `ALL` (directly or through a
///     Cmnd_Alias, even with negated exceptions sudo cannot enforce) to a principal outside
///     `admins`. User_Aliases are expanded.
/// - `name`: a Defaults parameter sudo knows (`flag_set`: a flag such as `use_pty`;
///   `value`: a non-flag such as `logfile`, `timestamp_timeout`). Required by those two
///   tests, rejected by the others.
/// - `op`, `value`: the comparison (`value` test only; `op = "set"` for "configured at all").
/// - `default`: the built-in value of `name` when unset (`value` test only).
/// - `admins`: principals in sudoers spelling allowed to hold `ALL` (`no_all_grants` only;
///   default `["root", "%sudo", "%wheel", "%admin"]`).
#[derive(Debug, Clone)]
pub struct SudoersProbe {
    pub test: SudoersTest,
}

#[derive(Debug, Clone)]
pub enum SudoersTest {
    NoNopasswd,
    NoAuthenticateDisabled,
    FlagSet {
        name: String,
    },
    Value {
        name: String,
        compare: Compare,
        default: Option<String>,
    },
    NoAllGrants {
        admins: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SudoersTestKind {
    NoNopasswd,
    NoAuthenticateDisabled,
    FlagSet,
    Value,
    NoAllGrants,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSudoersProbe {
    test: SudoersTestKind,
    name: Option<String>,
    op: Option<Op>,
    value: Option<toml::Value>,
    default: Option<toml::Value>,
    admins: Option<Vec<String>>,
}

/// Principals allowed `ALL` when `admins` is not given.
pub const DEFAULT_SUDO_ADMINS: &[&str] = &["root", "%sudo", "%wheel", "%admin"];

fn parse_sudoers(r: RawSudoersProbe, ctx: &Ctx) -> Result<SudoersProbe, ProbeError> {
    use crate::facts::sudoers::{defaults_type, DefaultsType};
    use SudoersTestKind as K;
    let k = r.test;
    let name_test = matches!(k, K::FlagSet | K::Value);
    if !name_test && r.name.is_some() {
        return Err(ProbeError::Misplaced {
            fields: "`name`".into(),
            rule: "belongs to the sudoers tests `flag_set` and `value` only",
        });
    }
    if k != K::Value && (r.op.is_some() || r.value.is_some() || r.default.is_some()) {
        return Err(ProbeError::Misplaced {
            fields: "`op`, `value` and `default`".into(),
            rule: "belong to the sudoers test `value` only",
        });
    }
    if k != K::NoAllGrants && r.admins.is_some() {
        return Err(ProbeError::Misplaced {
            fields: "`admins`".into(),
            rule: "belongs to the sudoers test `no_all_grants` only",
        });
    }
    let name = || -> Result<(String, DefaultsType), ProbeError> {
        let n = r.name.clone().ok_or(ProbeError::Missing {
            subject: "this sudoers test".into(),
            needs: "`name` (a Defaults parameter)",
        })?;
        let t = defaults_type(&n).ok_or_else(|| ProbeError::NotA {
            given: n.clone(),
            expected: "a Defaults parameter sudo knows".into(),
        })?;
        Ok((n, t))
    };
    let test = match k {
        K::NoNopasswd => SudoersTest::NoNopasswd,
        K::NoAuthenticateDisabled => SudoersTest::NoAuthenticateDisabled,
        K::FlagSet => {
            let (n, t) = name()?;
            if t != DefaultsType::Flag {
                return Err(ProbeError::NotAFlag { name: n });
            }
            SudoersTest::FlagSet { name: n }
        }
        K::Value => {
            let (n, t) = name()?;
            if matches!(t, DefaultsType::Flag | DefaultsType::List) {
                return Err(ProbeError::NotSingleValued {
                    name: n,
                    kind: if t == DefaultsType::Flag {
                        "flag (use test = \"flag_set\")"
                    } else {
                        "list"
                    },
                });
            }
            let op = r.op.ok_or(ProbeError::Missing {
                subject: "sudoers test value".into(),
                needs: "`op`",
            })?;
            SudoersTest::Value {
                compare: compare(op, r.value.as_ref(), ctx)?,
                default: r
                    .default
                    .map(|d| profiled(&d, ctx).and_then(|v| scalar_text(&v)))
                    .transpose()?,
                name: n,
            }
        }
        K::NoAllGrants => {
            let admins = r
                .admins
                .unwrap_or_else(|| DEFAULT_SUDO_ADMINS.iter().map(|s| s.to_string()).collect());
            for a in &admins {
                if a.is_empty() || a.contains(char::is_whitespace) {
                    return Err(ProbeError::NotA {
                        given: a.clone(),
                        expected: "a sudoers principal (in `admins`)".into(),
                    });
                }
            }
            SudoersTest::NoAllGrants { admins }
        }
    };
    Ok(SudoersProbe { test })
}

/// `probe = "pam"`: the platform's shared PAM stacks with includes expanded (see
/// `facts::pam`): the password stack is `/etc/pam.d/common-password` (Debian, Ubuntu) or
/// `system-auth` and `password-auth` (RHEL, Fedora, Amazon Linux); the auth stack is
/// `common-auth` or `system-auth` and `password-auth`. Where two services exist each is
/// judged and all must pass. None of them exists: NOT_APPLICABLE. A stack PAM cannot parse
/// (bad line, include loop, missing include): ERROR naming `file:line`.
///
/// Fields:
/// - `test` (required), one of:
///   - `pwquality`: `setting` of the `pam_pwquality` (or older `pam_cracklib`) password
///     line, merged as the module does: built-in default < `pwquality.conf.d/*.conf` <
///     `pwquality.conf` < arguments on the line. Settings: `minlen`, `minclass`, `dcredit`,
///     `ucredit`, `lcredit`, `ocredit`, `difok`, `retry` (numbers; a negative credit means
///     "at least that many"), `enforce_for_root` (`true` / `false`). Module absent: FAIL
///     ("pam_pwquality is not in the password stack"); module present but not required
///     (`optional`, `sufficient`): FAIL, since a weak password is then not refused.
///   - `lockout`: `setting` of `pam_faillock` (or older `pam_tally2`) on the auth stack,
///     merged as the module does: built-in default < `faillock.conf` (or the `conf=` file) <
///     arguments. Settings: `deny` (0 = never lock), `unlock_time` (seconds, 0 = until an
///     administrator unlocks), `fail_interval` (seconds), `even_deny_root` (`true` /
///     `false`). Module absent, or only on `account` lines: FAIL.
///   - `su_wheel`: `/etc/pam.d/su` has a `pam_wheel` auth line that is required (or
///     requisite, or a bracket control defaulting to bad/die), without `trust` or `deny`,
///     and not preceded by a `sufficient` module other than `pam_rootok` that would skip
///     it. `/etc/pam.d/su` absent: NOT_APPLICABLE.
///   - `no_nullok`: no auth or password line of the shared stacks carries `nullok` (or
///     `nullok_secure`), which lets an account with an empty password log in.
///   - `hash_algorithm`: the algorithm each `pam_unix` password line hashes new passwords
///     with, compared with `op` / `value` (lower case: `yescrypt`, `gost_yescrypt`,
///     `sha512`, `sha256`, `blowfish`, `md5`, `bigcrypt`, `des`). The last algorithm
///     argument on the line wins; with none, pam_unix uses `ENCRYPT_METHOD` of
///     `/etc/login.defs`; with neither, the built-in default `des`. `pam_unix` absent: FAIL.
///   - `pwhistory`: `setting` of the `pam_pwhistory` password line, merged as the module does:
///     built-in default < `/etc/security/pwhistory.conf` (or the `conf=` file) < arguments.
///     Settings: `remember` (number, default 10), `enforce_for_root` and `use_authtok`
///     (`true` / `false`; `use_authtok` is an argument only). Module absent or not required:
///     FAIL. pwquality also knows `maxrepeat`, `maxsequence` (0 = no limit), `dictcheck` and
///     `enforcing` (0 / 1).
///   - `unix_no_remember`: no `pam_unix` line of the shared stacks carries `remember=` (old
///     passwords belong in pam_pwhistory's opasswd handling, not pam_unix's).
///   - `unix_use_authtok`: every `pam_unix` password line carries `use_authtok`, so the
///     password the quality and history modules checked is the one that is set. `pam_unix`
///     absent: FAIL.
///   - `module`: the PAM module `module` (a file name such as `pam_faillock.so`) is on a line
///     of the shared `stack` (`auth` or `password`, default `password`), by any control.
/// - `setting`: required by `pwquality`, `lockout` and `pwhistory`, from their lists above.
/// - `op`, `value`: required by `pwquality`, `lockout` and `hash_algorithm`; rejected by
///   `su_wheel` and `no_nullok` (their expectation is fixed).
#[derive(Debug, Clone)]
pub struct PamProbe {
    pub test: PamTest,
}

#[derive(Debug, Clone)]
pub enum PamTest {
    PwQuality {
        setting: PwqSetting,
        compare: Compare,
    },
    Lockout {
        setting: LockSetting,
        compare: Compare,
    },
    SuWheel,
    NoNullok,
    HashAlgorithm {
        compare: Compare,
    },
    Pwhistory {
        setting: HistSetting,
        compare: Compare,
    },
    UnixNoRemember,
    UnixUseAuthtok,
    Module {
        module: String,
        stack: PamStackKind,
    },
}

/// Settings of pam_pwhistory the `pwhistory` test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistSetting {
    Remember,
    EnforceForRoot,
    UseAuthtok,
}

/// Which shared stack the `module` test looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PamStackKind {
    Auth,
    Password,
}

/// Settings of pam_pwquality / pam_cracklib the `pwquality` test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PwqSetting {
    Minlen,
    Minclass,
    Dcredit,
    Ucredit,
    Lcredit,
    Ocredit,
    Difok,
    Retry,
    EnforceForRoot,
    Maxrepeat,
    Maxsequence,
    Dictcheck,
    Enforcing,
}

/// Settings of pam_faillock / pam_tally2 the `lockout` test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockSetting {
    Deny,
    UnlockTime,
    FailInterval,
    EvenDenyRoot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PamTestKind {
    Pwquality,
    Lockout,
    SuWheel,
    NoNullok,
    HashAlgorithm,
    Pwhistory,
    UnixNoRemember,
    UnixUseAuthtok,
    Module,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPamProbe {
    test: PamTestKind,
    setting: Option<String>,
    op: Option<Op>,
    value: Option<toml::Value>,
    module: Option<String>,
    stack: Option<PamStackKind>,
}

/// Algorithm names of `hash_algorithm` (pam_unix's option names, plus `des` for none).
pub const PAM_HASH_ALGORITHMS: &[&str] = &[
    "yescrypt",
    "gost_yescrypt",
    "sha512",
    "sha256",
    "blowfish",
    "md5",
    "bigcrypt",
    "des",
];

/// A boolean setting takes `eq` / `ne` with `true` or `false`; a numeric one a numeric
/// comparison.
fn setting_compare_fits(c: &Compare, boolean: bool) -> Result<(), ProbeError> {
    let ok = if boolean {
        matches!(c.op, Op::Eq | Op::Ne)
            && matches!(&c.value, Expected::Text(t) if t == "true" || t == "false")
    } else {
        match (&c.op, &c.value) {
            (Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge, Expected::Number(_)) => true,
            (Op::In | Op::NotIn, Expected::List(l)) => l.iter().all(|v| v.parse::<f64>().is_ok()),
            _ => false,
        }
    };
    if ok {
        Ok(())
    } else if boolean {
        Err(ProbeError::Rule {
            rule: "this setting is a boolean: use op = \"eq\" with value = true or false",
        })
    } else {
        Err(ProbeError::Rule {
            rule: "this setting is a number: use eq, ne, lt, le, gt, ge, in or not_in with numbers",
        })
    }
}

fn setting_of<T: DeserializeOwned>(
    s: &str,
    test: &'static str,
    known: &'static str,
) -> Result<T, ProbeError> {
    toml::Value::String(s.to_string())
        .try_into()
        .map_err(|_| ProbeError::Unknown {
            what: "setting".into(),
            given: s.to_string(),
            expected: format!("one of {known} for pam test {test}").into(),
        })
}

fn parse_pam(r: RawPamProbe, ctx: &Ctx) -> Result<PamProbe, ProbeError> {
    use PamTestKind as K;
    let k = r.test;
    let has_setting = matches!(k, K::Pwquality | K::Lockout | K::Pwhistory);
    if !has_setting && r.setting.is_some() {
        return Err(ProbeError::Misplaced {
            fields: "`setting`".into(),
            rule: "belongs to the pam tests `pwquality`, `lockout` and `pwhistory` only",
        });
    }
    let fixed = matches!(
        k,
        K::SuWheel | K::NoNullok | K::UnixNoRemember | K::UnixUseAuthtok | K::Module
    );
    if fixed && (r.op.is_some() || r.value.is_some()) {
        return Err(ProbeError::Misplaced {
            fields: "pam tests su_wheel, no_nullok, unix_no_remember, unix_use_authtok and module"
                .into(),
            rule: "take no `op` / `value`",
        });
    }
    if k != K::Module && (r.module.is_some() || r.stack.is_some()) {
        return Err(ProbeError::Misplaced {
            fields: "`module` and `stack`".into(),
            rule: "belong to the pam test `module` only",
        });
    }
    let cmp = || -> Result<Compare, ProbeError> {
        let op = r.op.ok_or(ProbeError::Missing {
            subject: "this pam test".into(),
            needs: "`op` and `value`",
        })?;
        compare(op, r.value.as_ref(), ctx)
    };
    let setting = || {
        r.setting.clone().ok_or(ProbeError::Missing {
            subject: "this pam test".into(),
            needs: "`setting`",
        })
    };
    let test = match k {
        K::Pwquality => {
            let setting: PwqSetting = setting_of(
                &setting()?,
                "pwquality",
                "minlen, minclass, dcredit, ucredit, lcredit, ocredit, difok, retry, enforce_for_root, maxrepeat, maxsequence, dictcheck, enforcing",
            )?;
            let compare = cmp()?;
            setting_compare_fits(&compare, setting == PwqSetting::EnforceForRoot)?;
            PamTest::PwQuality { setting, compare }
        }
        K::Lockout => {
            let setting: LockSetting = setting_of(
                &setting()?,
                "lockout",
                "deny, unlock_time, fail_interval, even_deny_root",
            )?;
            let compare = cmp()?;
            setting_compare_fits(&compare, setting == LockSetting::EvenDenyRoot)?;
            PamTest::Lockout { setting, compare }
        }
        K::Pwhistory => {
            let setting: HistSetting = setting_of(
                &setting()?,
                "pwhistory",
                "remember, enforce_for_root, use_authtok",
            )?;
            let compare = cmp()?;
            setting_compare_fits(&compare, setting != HistSetting::Remember)?;
            PamTest::Pwhistory { setting, compare }
        }
        K::UnixNoRemember => PamTest::UnixNoRemember,
        K::UnixUseAuthtok => PamTest::UnixUseAuthtok,
        K::Module => {
            let module = r.module.clone().ok_or(ProbeError::Missing {
                subject: "pam test module".into(),
                needs: "`module`",
            })?;
            if !module.starts_with("pam_") || !module.ends_with(".so") || module.contains('/') {
                return Err(ProbeError::NotA {
                    given: module,
                    expected: "a PAM module file name such as pam_pwhistory.so".into(),
                });
            }
            PamTest::Module {
                module,
                stack: r.stack.unwrap_or(PamStackKind::Password),
            }
        }
        K::SuWheel => PamTest::SuWheel,
        K::NoNullok => PamTest::NoNullok,
        K::HashAlgorithm => {
            let compare = cmp()?;
            let named: Vec<&str> = match (&compare.op, &compare.value) {
                (Op::Eq | Op::Ne, Expected::Text(t)) => vec![t.as_str()],
                (Op::In | Op::NotIn, Expected::List(l)) => l.iter().map(String::as_str).collect(),
                (Op::Matches | Op::NotMatches, _) => vec![],
                _ => return Err(ProbeError::Rule {
                    rule: "hash_algorithm compares names: use eq, ne, in, not_in, matches or not_matches",
                }),
            };
            for n in named {
                if !PAM_HASH_ALGORITHMS.contains(&n.to_ascii_lowercase().as_str()) {
                    return Err(ProbeError::NotA {
                        given: n.to_string(),
                        expected: format!(
                            "a pam_unix hashing algorithm (expected one of {})",
                            PAM_HASH_ALGORITHMS.join(", ")
                        )
                        .into(),
                    });
                }
            }
            PamTest::HashAlgorithm { compare }
        }
    };
    Ok(PamProbe { test })
}

/// `probe = "sshd"`: one keyword of the effective sshd configuration, computed as the
/// host's own OpenSSH release computes `sshd -T` (see `facts::sshd`; 7.4 to 10.0, Debian,
/// Red Hat and upstream builds): the main file with its `Include`s
/// expanded (the first value of a keyword wins), built-in defaults for what is not set, and
/// the `Match` blocks.
///
/// - The configuration file absent: NOT_APPLICABLE (openssh-server is not installed).
/// - A configuration sshd would refuse to start with (unknown keyword, bad value, include
///   loop, a keyword not allowed in a Match block...): ERROR naming `file:line`.
/// - The value judged is the one the default connection gets (`sshd -T` without `-C`:
///   global settings and `Match All` blocks). Every other `Match` block that sets the
///   keyword to a value the same test rejects fails the check too, with that line and the
///   block's criteria as evidence: a setting that is safe for most connections but weak for
///   some addresses or users is still a weakness.
///
/// Fields:
/// - `keyword` (required): an sshd keyword or alias, any case (`PermitRootLogin`,
///   `ChallengeResponseAuthentication`); checked against the newest keyword table (10.0)
///   at load.
/// - `config`: the main configuration file (default `/etc/ssh/sshd_config`).
/// - `op`, `value`: a comparison with the value as `sshd -T` prints it (all printed values
///   joined by one space for keywords printed once per value, such as AllowUsers). Text
///   values of `eq`, `ne`, `in`, `not_in` are validated and rewritten at load the way sshd
///   prints them, so `prohibit-password` becomes `without-password` and `1m` becomes `60`;
///   a value sshd would reject is a load error. `op = "set"` means sshd prints the keyword
///   with a value other than `none` (Banner, AllowUsers...); `unset` the opposite.
/// - `forbid`: for algorithm-list keywords (Ciphers, MACs, KexAlgorithms,
///   HostKeyAlgorithms, PubkeyAcceptedAlgorithms, HostbasedAcceptedAlgorithms,
///   CASignatureAlgorithms, GSSAPIKexAlgorithms) a list of regexes: no enabled algorithm
///   may match any of them (unanchored, case-sensitive, as sshd spells names). Exclusive
///   with `op` / `value`.
#[derive(Debug, Clone)]
pub struct SshdProbe {
    pub config: String,
    /// The canonical, lowercase keyword `sshd -T` prints.
    pub keyword: &'static str,
    pub test: SshdTest,
}

#[derive(Debug, Clone)]
pub enum SshdTest {
    Compare(Compare),
    /// No algorithm of the list may match any of these.
    Forbid(Vec<Pattern>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSshdProbe {
    keyword: String,
    config: Option<String>,
    op: Option<Op>,
    value: Option<toml::Value>,
    forbid: Option<Vec<String>>,
}

/// Rewrites the text values of a comparison as `sshd -T` prints them (rejecting values sshd
/// would reject). `keyword` is spelled as in the catalog, for messages.
fn sshd_printed(keyword: &str, c: &mut Compare) -> Result<(), ProbeError> {
    use crate::facts::sshd::printed_value;
    let one = |v: &str| {
        printed_value(keyword, v)
            .map(|p| p.join(" "))
            .map_err(ProbeError::SshdValue)
    };
    match (&c.op, &mut c.value) {
        (Op::Eq | Op::Ne, Expected::Text(t)) => {
            *t = one(t)?;
            c.shown = t.clone();
        }
        (Op::In | Op::NotIn, Expected::List(l)) => {
            for v in l.iter_mut() {
                *v = one(v)?;
            }
            c.shown = format!("[{}]", l.join(", "));
        }
        _ => {}
    }
    Ok(())
}

fn parse_sshd(r: RawSshdProbe, ctx: &Ctx) -> Result<SshdProbe, ProbeError> {
    use crate::facts::sshd::{canonical, ALGORITHM_KEYWORDS, DEFAULT_CONFIG, NOT_PRINTED};
    let keyword = canonical(&r.keyword.to_ascii_lowercase()).ok_or_else(|| ProbeError::NotA {
        given: r.keyword.clone(),
        expected: "a keyword sshd (up to 10.0) uses".into(),
    })?;
    if NOT_PRINTED.contains(&keyword) {
        return Err(ProbeError::NotPrinted { keyword: r.keyword });
    }
    let config = r.config.unwrap_or_else(|| DEFAULT_CONFIG.to_string());
    if !config.starts_with('/') {
        return Err(ProbeError::NotAbsolute {
            field: "config",
            path: config,
        });
    }
    if r.forbid.is_some() && (r.op.is_some() || r.value.is_some()) {
        return Err(ProbeError::Misplaced {
            fields: "`forbid` and `op` / `value`".into(),
            rule: "exclude each other",
        });
    }
    let test = match (r.forbid, r.op) {
        (Some(list), _) => {
            if !ALGORITHM_KEYWORDS.contains(&keyword) {
                return Err(ProbeError::NotAlgorithmList {
                    keyword: r.keyword,
                    allowed: ALGORITHM_KEYWORDS.join(", "),
                });
            }
            if list.is_empty() {
                return Err(ProbeError::Shape {
                    field: "`forbid`".into(),
                    rule: "list at least one pattern",
                });
            }
            let mut v = Vec::new();
            for p in list {
                if p.is_empty() {
                    return Err(ProbeError::Shape {
                        field: "`forbid` patterns".into(),
                        rule: "not be empty",
                    });
                }
                v.push(Pattern::new(&p).map_err(|source| ProbeError::BadRegex {
                    role: "forbid pattern",
                    pattern: p.clone(),
                    source,
                })?);
            }
            SshdTest::Forbid(v)
        }
        (None, Some(op)) => {
            let mut c = compare(op, r.value.as_ref(), ctx)?;
            sshd_printed(&r.keyword, &mut c)?;
            SshdTest::Compare(c)
        }
        (None, None) => {
            return Err(ProbeError::Missing {
                subject: "an sshd probe".into(),
                needs: "`op` (with `value`) or `forbid`",
            })
        }
    };
    Ok(SshdProbe {
        config,
        keyword,
        test,
    })
}

fn de<T: DeserializeOwned>(t: &toml::Table) -> Result<T, ProbeError> {
    toml::Value::Table(t.clone())
        .try_into()
        .map_err(|e: toml::de::Error| ProbeError::Schema {
            message: e.message().trim().to_string(),
        })
}

fn paths(p: OneOrMany) -> Result<Vec<String>, ProbeError> {
    let v = p.into_vec();
    if v.is_empty() {
        return Err(ProbeError::Shape {
            field: "`path`".into(),
            rule: "name at least one path",
        });
    }
    for p in &v {
        if !p.starts_with('/') {
            return Err(ProbeError::NotAbsolute {
                field: "path",
                path: p.clone(),
            });
        }
    }
    Ok(v)
}

fn parse_probe(kind: &str, t: &toml::Table, ctx: &Ctx, at: &str) -> Result<Probe, LocatedError> {
    let e = |m: ProbeError| m.at(at);
    Ok(match kind {
        "file" => {
            let r: RawFileProbe = de(t).map_err(e)?;
            let kind = r
                .kind
                .map(|k| {
                    FileKind::parse(&k).ok_or_else(|| {
                        e(ProbeError::Unknown {
                            what: "file type".into(),
                            given: k.clone(),
                            expected: "file, dir, symlink, char, block, fifo or socket".into(),
                        })
                    })
                })
                .transpose()?;
            Probe::File(FileProbe {
                paths: paths(r.path).map_err(e)?,
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
            let pattern = Pattern::new(&pat).map_err(|source| {
                e(ProbeError::BadRegex {
                    role: "pattern",
                    pattern: r.pattern.clone(),
                    source,
                })
            })?;
            let present = r.expect == Presence::Present;
            Probe::Lines(LinesProbe {
                paths: paths(r.path).map_err(e)?,
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
                paths: paths(r.path).map_err(e)?,
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
                if_absent: r.if_absent.unwrap_or(IfMissing::NotApplicable),
            })
        }
        "mount" => {
            let m: MountProbe = de(t).map_err(e)?;
            if m.options.is_empty() && !m.separate {
                return Err(e(ProbeError::Missing {
                    subject: "a mount probe".into(),
                    needs: "`options` or `separate = true`",
                }));
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
                    _ => {
                        return Err(e(ProbeError::Shape {
                            field: "accounts `value`".into(),
                            rule: "be a number",
                        }))
                    }
                });
            }
            let needs_value = matches!(a.rule, AccountRule::PasswordMaxAge | AccountRule::InactiveLock);
            if needs_value && a.number.is_none() {
                return Err(e(ProbeError::Missing {
                    subject: format!("rule {:?}", a.rule).into(),
                    needs: "a numeric `value`",
                }));
            }
            let needs_users = matches!(a.rule, AccountRule::NoLoginShell);
            if needs_users && a.users.is_empty() {
                return Err(e(ProbeError::Missing {
                    subject: "rule no_login_shell".into(),
                    needs: "`users`",
                }));
            }
            Probe::Accounts(a)
        }
        "socket" => {
            let s: SocketProbe = de(t).map_err(e)?;
            if s.ports.is_empty() && s.processes.is_empty() {
                return Err(e(ProbeError::Missing {
                    subject: "a socket probe".into(),
                    needs: "`ports` or `processes`",
                }));
            }
            Probe::Socket(s)
        }
        "process" => {
            let p: ProcessProbe = de(t).map_err(e)?;
            if p.names.is_empty() {
                return Err(e(ProbeError::Missing {
                    subject: "a process probe".into(),
                    needs: "`names`",
                }));
            }
            Probe::Process(p)
        }
        "service" => {
            let s: ServiceProbe = de(t).map_err(e)?;
            if s.units.is_empty() && s.inetd.is_empty() && s.sysv.is_empty() {
                return Err(e(ProbeError::Missing {
                    subject: "a service probe".into(),
                    needs: "`units`, `inetd` or `sysv`",
                }));
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
                    return Err(e(ProbeError::NotAbsolute {
                        field: "allow pattern",
                        path: a.clone(),
                    }));
                }
            }
            Probe::Walk(w)
        }
        "manual" => Probe::Manual(de(t).map_err(e)?),
        "sudoers" => Probe::Sudoers(parse_sudoers(de(t).map_err(e)?, ctx).map_err(e)?),
        "pam" => Probe::Pam(parse_pam(de(t).map_err(e)?, ctx).map_err(e)?),
        "sshd" => Probe::Sshd(parse_sshd(de(t).map_err(e)?, ctx).map_err(e)?),
        // system hardening (probe/system.rs)
        "audit_rules" => Probe::AuditRules(parse_audit(t).map_err(e)?),
        "boot" => Probe::Boot(parse_boot(t, ctx).map_err(e)?),
        "kmod" => Probe::Kmod(parse_kmod(t).map_err(e)?),
        "systemd_conf" => Probe::SystemdConf(parse_sdconf(t, ctx).map_err(e)?),
        "limits" => Probe::Limits(parse_limits(t, ctx).map_err(e)?),
        "mac" => Probe::Mac(parse_mac(t, ctx).map_err(e)?),
        "unit" => Probe::Unit(parse_unit(t).map_err(e)?),
        "firewall" => Probe::Firewall(super::firewall::parse(de(t).map_err(e)?).map_err(e)?),
        other => {
            return Err(e(ProbeError::Unknown {
                what: "probe".into(),
                given: other.to_string(),
                expected: "one of file, lines, keyvalue, sysctl, mount, accounts, socket, process, service, package, resource, walk, manual, sudoers, pam, sshd, audit_rules, boot, kmod, systemd_conf, limits, mac, unit, firewall".into(),
            }))
        }
    })
}

/// Parses a condition from TOML. `at` names the place for messages (`expect.all[1]`).
pub fn parse_cond(v: &toml::Value, ctx: &Ctx, at: &str) -> Result<Cond, Vec<LocatedError>> {
    let shape = |field: &'static str, rule: &'static str| {
        vec![ProbeError::Shape {
            field: field.into(),
            rule,
        }
        .at(at)]
    };
    let t = match v {
        toml::Value::Table(t) => t,
        _ => return Err(shape("a condition", "be a table")),
    };
    let mut t = t.clone();
    let platforms = match t.remove("platforms") {
        None => vec![],
        Some(toml::Value::Array(a)) => {
            let mut out = vec![];
            for p in a {
                match p.as_str() {
                    Some(s) if super::PLATFORMS.contains(&s) => out.push(s.to_string()),
                    _ => {
                        return Err(vec![ProbeError::Unknown {
                            what: "platform".into(),
                            given: p.as_str().map_or_else(|| format!("{p:?}"), str::to_string),
                            expected: format!("one of {}", super::PLATFORMS.join(", ")).into(),
                        }
                        .at(at)])
                    }
                }
            }
            out
        }
        Some(_) => return Err(shape("`platforms`", "be a list")),
    };
    let requires = match t.remove("requires") {
        None => None,
        Some(r) => Some(Box::new(parse_cond(&r, ctx, &format!("{at}.requires"))?)),
    };
    let combs: Vec<&str> = ["all", "any", "none"]
        .into_iter()
        .filter(|k| t.contains_key(*k))
        .collect();
    if !combs.is_empty() {
        if combs.len() > 1 || t.len() > 1 {
            return Err(vec![ProbeError::Rule {
                rule: "a combinator table holds exactly one of `all`, `any`, `none` (and optionally `platforms`, `requires`)",
            }
            .at(at)]);
        }
        let k = combs[0];
        let items = match t.get(k) {
            Some(toml::Value::Array(a)) if !a.is_empty() => a,
            _ => {
                return Err(vec![ProbeError::Shape {
                    field: format!("`{k}`").into(),
                    rule: "be a non-empty list of conditions",
                }
                .at(at)])
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
        return Ok(Cond {
            platforms,
            requires,
            node,
        });
    }
    let kind = match t.remove("probe") {
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err(shape("`probe`", "be a string")),
        None => {
            return Err(vec![ProbeError::Missing {
                subject: "a condition".into(),
                needs: "`probe = \"...\"` or one of `all`, `any`, `none`",
            }
            .at(at)])
        }
    };
    parse_probe(&kind, &t, ctx, at)
        .map(|p| Cond {
            platforms,
            requires,
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

    fn cond(s: &str) -> Result<Cond, Vec<LocatedError>> {
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
        assert!(chain_text(&e[0]).contains("absolute"), "{e:?}");
        let e = cond("probe = 'file'\npath = '/a'\nmode_max = '999'").unwrap_err();
        assert!(chain_text(&e[0]).contains("octal"), "{e:?}");
        let e = cond("all = []").unwrap_err();
        assert!(chain_text(&e[0]).contains("non-empty"), "{e:?}");
        let e = cond("all = [ { probe = 'x' }, { probe = 'file' } ]").unwrap_err();
        assert_eq!(e.len(), 2, "{e:?}");
        let e =
            cond("probe = 'lines'\npath = '/a'\npattern = '('\nexpect = 'present'").unwrap_err();
        assert!(chain_text(&e[0]).contains("bad pattern"), "{e:?}");
        let e = cond("probe = 'keyvalue'\npath = '/a'\nkey = 'K'\nop = 'bigger'\nvalue = 1")
            .unwrap_err();
        assert!(chain_text(&e[0]).contains("bigger"), "{e:?}");
        let e = cond("probe = 'file'\npath = '/a'\nplatforms = ['windows']").unwrap_err();
        assert!(chain_text(&e[0]).contains("windows"), "{e:?}");
    }
    #[test]
    fn sudoers_and_pam_probes_validate_at_load() {
        let ok = [
            "probe = 'sudoers'\ntest = 'no_nopasswd'",
            "probe = 'sudoers'\ntest = 'no_authenticate_disabled'",
            "probe = 'sudoers'\ntest = 'flag_set'\nname = 'use_pty'",
            "probe = 'sudoers'\ntest = 'value'\nname = 'logfile'\nop = 'set'",
            "probe = 'sudoers'\ntest = 'value'\nname = 'timestamp_timeout'\nop = 'le'\nvalue = 15\ndefault = 15",
            "probe = 'sudoers'\ntest = 'no_all_grants'",
            "probe = 'sudoers'\ntest = 'no_all_grants'\nadmins = ['root', '%admins']",
            "probe = 'pam'\ntest = 'pwquality'\nsetting = 'minlen'\nop = 'ge'\nvalue = { kisa = 8, cis = 14 }",
            "probe = 'pam'\ntest = 'pwquality'\nsetting = 'enforce_for_root'\nop = 'eq'\nvalue = true",
            "probe = 'pam'\ntest = 'lockout'\nsetting = 'unlock_time'\nop = 'in'\nvalue = [0, 900]",
            "probe = 'pam'\ntest = 'su_wheel'",
            "probe = 'pam'\ntest = 'no_nullok'",
            "probe = 'pam'\ntest = 'hash_algorithm'\nop = 'in'\nvalue = ['sha512', 'YESCRYPT']",
            "probe = 'pam'\ntest = 'pwhistory'\nsetting = 'remember'\nop = 'ge'\nvalue = 24",
            "probe = 'pam'\ntest = 'pwhistory'\nsetting = 'use_authtok'\nop = 'eq'\nvalue = true",
            "probe = 'pam'\ntest = 'pwquality'\nsetting = 'maxsequence'\nop = 'le'\nvalue = 3",
            "probe = 'pam'\ntest = 'unix_no_remember'",
            "probe = 'pam'\ntest = 'unix_use_authtok'",
            "probe = 'pam'\ntest = 'module'\nmodule = 'pam_faillock.so'\nstack = 'auth'",
        ];
        for t in ok {
            assert!(cond(t).is_ok(), "{t}: {:?}", cond(t).err());
        }
        let bad = [
            ("probe = 'sudoers'\ntest = 'nopasswd'", "unknown variant"),
            ("probe = 'sudoers'\ntest = 'no_nopasswd'\nname = 'x'", "`name` belongs"),
            ("probe = 'sudoers'\ntest = 'flag_set'", "needs `name`"),
            ("probe = 'sudoers'\ntest = 'flag_set'\nname = 'use_ptty'", "not a Defaults parameter"),
            ("probe = 'sudoers'\ntest = 'flag_set'\nname = 'logfile'", "not a flag"),
            ("probe = 'sudoers'\ntest = 'value'\nname = 'use_pty'\nop = 'set'", "flag"),
            ("probe = 'sudoers'\ntest = 'value'\nname = 'env_keep'\nop = 'set'", "list"),
            ("probe = 'sudoers'\ntest = 'value'\nname = 'logfile'", "needs `op`"),
            ("probe = 'sudoers'\ntest = 'flag_set'\nname = 'use_pty'\nop = 'set'", "`value` only"),
            ("probe = 'sudoers'\ntest = 'no_nopasswd'\nadmins = ['root']", "no_all_grants"),
            ("probe = 'sudoers'\ntest = 'no_all_grants'\nadmins = ['a b']", "principal"),
            ("probe = 'sudoers'\ntest = 'no_nopasswd'\nextra = 1", "unknown field"),
            ("probe = 'pam'\ntest = 'pwquality'\nop = 'ge'\nvalue = 8", "needs `setting`"),
            ("probe = 'pam'\ntest = 'pwquality'\nsetting = 'deny'\nop = 'ge'\nvalue = 8", "unknown setting `deny`"),
            ("probe = 'pam'\ntest = 'lockout'\nsetting = 'minlen'\nop = 'ge'\nvalue = 8", "unknown setting `minlen`"),
            ("probe = 'pam'\ntest = 'pwquality'\nsetting = 'minlen'", "needs `op`"),
            ("probe = 'pam'\ntest = 'pwquality'\nsetting = 'minlen'\nop = 'matches'\nvalue = '1'", "number"),
            ("probe = 'pam'\ntest = 'pwquality'\nsetting = 'enforce_for_root'\nop = 'ge'\nvalue = 1", "boolean"),
            ("probe = 'pam'\ntest = 'su_wheel'\nop = 'set'", "no `op`"),
            ("probe = 'pam'\ntest = 'no_nullok'\nsetting = 'minlen'", "`setting` belongs"),
            ("probe = 'pam'\ntest = 'hash_algorithm'\nop = 'in'\nvalue = ['sha512', 'sha3']", "`sha3`"),
            ("probe = 'pam'\ntest = 'hash_algorithm'\nop = 'ge'\nvalue = 5", "compares names"),
            ("probe = 'pam'\ntest = 'pwhistory'\nsetting = 'minlen'\nop = 'ge'\nvalue = 5", "unknown setting `minlen`"),
            ("probe = 'pam'\ntest = 'pwhistory'\nsetting = 'remember'\nop = 'eq'\nvalue = true", "number"),
            ("probe = 'pam'\ntest = 'module'", "needs `module`"),
            ("probe = 'pam'\ntest = 'module'\nmodule = '/lib/pam_x.so'", "not a PAM module"),
            ("probe = 'pam'\ntest = 'unix_use_authtok'\nmodule = 'pam_unix.so'", "`module` and `stack`"),
            ("probe = 'pam'\ntest = 'unix_no_remember'\nop = 'set'", "no `op`"),
        ];
        for (t, want) in bad {
            let e = cond(t).expect_err(t);
            assert!(chain_text(&e[0]).contains(want), "{t}: {e:?}");
        }
    }
}
