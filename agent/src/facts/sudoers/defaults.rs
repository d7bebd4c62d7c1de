//! The Defaults parameters sudo 1.9.13 knows, with their value types, so that a Defaults line
//! `visudo -c` rejects is rejected here too (names and types from sudoers(5); the
//! integration test checks every name against `visudo`).

use super::DefaultsOp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Flag,
    Int,
    UInt,
    Float,
    /// Octal file mode up to 0777.
    Mode,
    Str,
    /// A string that must start with '/'.
    Path,
    /// A directory that must start with '/', '~' or be '*' (runcwd, runchroot, admin_flag).
    ChPath,
    Tuple(&'static [&'static str]),
    LogFac,
    LogPri,
    TimeSpec,
    Rlimit,
    List,
}

/// (name, type, usable in a boolean context: `!name` allowed).
const TABLE: &[(&str, Kind, bool)] = &[
    ("syslog", Kind::LogFac, true),
    ("syslog_goodpri", Kind::LogPri, true),
    ("syslog_badpri", Kind::LogPri, true),
    ("long_otp_prompt", Kind::Flag, true),
    ("ignore_dot", Kind::Flag, true),
    ("mail_always", Kind::Flag, true),
    ("mail_badpass", Kind::Flag, true),
    ("mail_no_user", Kind::Flag, true),
    ("mail_no_host", Kind::Flag, true),
    ("mail_no_perms", Kind::Flag, true),
    ("mail_all_cmnds", Kind::Flag, true),
    ("tty_tickets", Kind::Flag, true),
    ("lecture", Kind::Tuple(&["never", "once", "always"]), true),
    ("lecture_file", Kind::Path, true),
    ("authenticate", Kind::Flag, true),
    ("root_sudo", Kind::Flag, true),
    ("log_host", Kind::Flag, true),
    ("log_year", Kind::Flag, true),
    ("shell_noargs", Kind::Flag, true),
    ("set_home", Kind::Flag, true),
    ("always_set_home", Kind::Flag, true),
    ("path_info", Kind::Flag, true),
    ("fqdn", Kind::Flag, true),
    ("insults", Kind::Flag, true),
    ("requiretty", Kind::Flag, true),
    ("env_editor", Kind::Flag, true),
    ("rootpw", Kind::Flag, true),
    ("runaspw", Kind::Flag, true),
    ("targetpw", Kind::Flag, true),
    ("use_loginclass", Kind::Flag, true),
    ("set_logname", Kind::Flag, true),
    ("stay_setuid", Kind::Flag, true),
    ("preserve_groups", Kind::Flag, true),
    ("loglinelen", Kind::UInt, true),
    ("timestamp_timeout", Kind::Float, true),
    ("passwd_timeout", Kind::Float, true),
    ("passwd_tries", Kind::UInt, false),
    ("umask", Kind::Mode, true),
    ("logfile", Kind::Path, true),
    ("mailerpath", Kind::Path, true),
    ("mailerflags", Kind::Str, true),
    ("mailto", Kind::Str, true),
    ("mailfrom", Kind::Str, true),
    ("mailsub", Kind::Str, false),
    ("badpass_message", Kind::Str, false),
    ("lecture_status_dir", Kind::Path, false),
    ("timestampdir", Kind::Path, false),
    ("timestampowner", Kind::Str, false),
    ("exempt_group", Kind::Str, true),
    ("passprompt", Kind::Str, false),
    ("passprompt_override", Kind::Flag, true),
    ("runas_default", Kind::Str, false),
    ("secure_path", Kind::Str, true),
    ("editor", Kind::Path, false),
    (
        "listpw",
        Kind::Tuple(&["never", "any", "all", "always"]),
        true,
    ),
    (
        "verifypw",
        Kind::Tuple(&["never", "all", "any", "always"]),
        true,
    ),
    ("noexec", Kind::Flag, true),
    ("ignore_local_sudoers", Kind::Flag, true),
    ("closefrom", Kind::Int, false),
    ("closefrom_override", Kind::Flag, true),
    ("setenv", Kind::Flag, true),
    ("env_reset", Kind::Flag, true),
    ("env_check", Kind::List, true),
    ("env_delete", Kind::List, true),
    ("env_keep", Kind::List, true),
    ("role", Kind::Str, false),
    ("type", Kind::Str, false),
    ("env_file", Kind::Path, true),
    ("restricted_env_file", Kind::Path, true),
    ("sudoers_locale", Kind::Str, false),
    ("visiblepw", Kind::Flag, true),
    ("pwfeedback", Kind::Flag, true),
    ("fast_glob", Kind::Flag, true),
    ("umask_override", Kind::Flag, true),
    ("log_input", Kind::Flag, true),
    ("log_output", Kind::Flag, true),
    ("log_stdin", Kind::Flag, true),
    ("log_stdout", Kind::Flag, true),
    ("log_stderr", Kind::Flag, true),
    ("log_ttyin", Kind::Flag, true),
    ("log_ttyout", Kind::Flag, true),
    ("compress_io", Kind::Flag, true),
    ("use_pty", Kind::Flag, true),
    ("group_plugin", Kind::Str, false),
    ("iolog_dir", Kind::Path, false),
    ("iolog_file", Kind::Str, false),
    ("set_utmp", Kind::Flag, true),
    ("utmp_runas", Kind::Flag, true),
    ("privs", Kind::Str, false),
    ("limitprivs", Kind::Str, false),
    ("exec_background", Kind::Flag, true),
    ("pam_service", Kind::Str, false),
    ("pam_login_service", Kind::Str, false),
    ("pam_askpass_service", Kind::Str, false),
    ("pam_setcred", Kind::Flag, true),
    ("pam_session", Kind::Flag, true),
    ("pam_acct_mgmt", Kind::Flag, true),
    ("pam_rhost", Kind::Flag, true),
    ("pam_ruser", Kind::Flag, true),
    ("maxseq", Kind::Str, false),
    ("use_netgroups", Kind::Flag, true),
    ("sudoedit_checkdir", Kind::Flag, true),
    ("sudoedit_follow", Kind::Flag, true),
    ("always_query_group_plugin", Kind::Flag, true),
    ("netgroup_tuple", Kind::Flag, true),
    ("ignore_audit_errors", Kind::Flag, true),
    ("ignore_iolog_errors", Kind::Flag, true),
    ("ignore_logfile_errors", Kind::Flag, true),
    ("match_group_by_gid", Kind::Flag, true),
    ("syslog_maxlen", Kind::UInt, false),
    ("iolog_user", Kind::Str, true),
    ("iolog_group", Kind::Str, true),
    ("iolog_mode", Kind::Mode, false),
    ("iolog_flush", Kind::Flag, true),
    (
        "fdexec",
        Kind::Tuple(&["never", "digest_only", "always"]),
        true,
    ),
    ("ignore_unknown_defaults", Kind::Flag, true),
    ("command_timeout", Kind::TimeSpec, true),
    ("user_command_timeouts", Kind::Flag, true),
    ("case_insensitive_group", Kind::Flag, true),
    ("case_insensitive_user", Kind::Flag, true),
    ("log_servers", Kind::List, true),
    ("log_server_timeout", Kind::TimeSpec, true),
    ("log_server_keepalive", Kind::Flag, true),
    ("log_server_cabundle", Kind::Path, true),
    ("log_server_peer_cert", Kind::Path, true),
    ("log_server_peer_key", Kind::Path, true),
    ("log_server_verify", Kind::Flag, true),
    ("runas_allow_unknown_id", Kind::Flag, true),
    ("runas_check_shell", Kind::Flag, true),
    ("authfail_message", Kind::Str, false),
    ("log_allowed", Kind::Flag, true),
    ("log_denied", Kind::Flag, true),
    ("log_format", Kind::Tuple(&["sudo", "json"]), true),
    ("selinux", Kind::Flag, true),
    ("admin_flag", Kind::ChPath, true),
    ("intercept", Kind::Flag, true),
    ("log_subcmds", Kind::Flag, true),
    ("log_exit_status", Kind::Flag, true),
    ("intercept_type", Kind::Tuple(&["dso", "trace"]), true),
    ("intercept_authenticate", Kind::Flag, true),
    ("intercept_allow_setid", Kind::Flag, true),
    ("intercept_verify", Kind::Flag, true),
    ("noninteractive_auth", Kind::Flag, true),
    ("runcwd", Kind::ChPath, true),
    ("runchroot", Kind::ChPath, true),
    ("log_passwords", Kind::Flag, true),
    ("passprompt_regex", Kind::List, true),
    (
        "timestamp_type",
        Kind::Tuple(&["global", "ppid", "tty", "kernel"]),
        true,
    ),
    ("rlimit_as", Kind::Rlimit, true),
    ("rlimit_core", Kind::Rlimit, true),
    ("rlimit_cpu", Kind::Rlimit, true),
    ("rlimit_data", Kind::Rlimit, true),
    ("rlimit_fsize", Kind::Rlimit, true),
    ("rlimit_locks", Kind::Rlimit, true),
    ("rlimit_memlock", Kind::Rlimit, true),
    ("rlimit_nofile", Kind::Rlimit, true),
    ("rlimit_nproc", Kind::Rlimit, true),
    ("rlimit_rss", Kind::Rlimit, true),
    ("rlimit_stack", Kind::Rlimit, true),
];

/// Non-flag parameters that may also be given bare (`Defaults lecture`): sudo then uses
/// their "on" value. Every other non-flag needs `=value` (or `!` where negatable).
const BARE_OK: &[&str] = &["lecture", "listpw", "verifypw", "fdexec", "syslog"];

pub(crate) fn lookup(name: &str) -> Option<(Kind, bool)> {
    TABLE
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, k, b)| (k, b))
}

/// All known Defaults names.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(n, _, _)| *n)
}

fn valid_uint(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v.parse::<u32>().is_ok()
}

fn valid_int(v: &str) -> bool {
    v.parse::<i32>().is_ok()
}

fn valid_float(v: &str) -> bool {
    let t = v.strip_prefix('-').unwrap_or(v);
    let mut parts = t.splitn(2, '.');
    let a = parts.next().unwrap_or("");
    let b = parts.next().unwrap_or("");
    (!a.is_empty() || !b.is_empty())
        && a.bytes().all(|c| c.is_ascii_digit())
        && b.bytes().all(|c| c.is_ascii_digit())
}

fn valid_mode(v: &str) -> bool {
    !v.is_empty()
        && v.bytes().all(|c| (b'0'..=b'7').contains(&c))
        && u32::from_str_radix(v, 8).is_ok_and(|m| m <= 0o777)
}

fn valid_rlimit_value(v: &str) -> bool {
    v == "infinity" || (!v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
}

fn valid_rlimit(v: &str) -> bool {
    if v == "default" || v == "user" {
        return true;
    }
    match v.split_once(',') {
        Some((a, b)) => valid_rlimit_value(a) && valid_rlimit_value(b),
        None => valid_rlimit_value(v),
    }
}

/// Parses a sudoers time span (`7d8h30m10s`, `600`, `14d`) into seconds. Units must go from
/// largest to smallest, each at most once; a bare number is seconds.
pub(crate) fn parse_timeout(v: &str) -> Result<u64, &'static str> {
    let b = v.as_bytes();
    if b.is_empty() {
        return Err("invalid timeout value");
    }
    let mut i = 0;
    let mut total: u64 = 0;
    let mut last_rank = 5;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err("invalid timeout value");
        }
        let n: u64 = v[start..i].parse().map_err(|_| "timeout value too large")?;
        let (rank, mult) = match b.get(i).map(|c| c.to_ascii_lowercase()) {
            None => (0, 1),
            Some(b'd') => (4, 86400),
            Some(b'h') => (3, 3600),
            Some(b'm') => (2, 60),
            Some(b's') => (1, 1),
            Some(_) => return Err("invalid timeout value"),
        };
        if rank >= last_rank {
            return Err("invalid timeout value");
        }
        last_rank = rank;
        if rank > 0 {
            i += 1;
        }
        total = n
            .checked_mul(mult)
            .and_then(|x| total.checked_add(x))
            .ok_or("timeout value too large")?;
        if total > i32::MAX as u64 {
            return Err("timeout value too large");
        }
    }
    Ok(total)
}

/// Checks an RFC 4517 "Generalized Time" (`yyyymmddHH[MM[SS]][.frac][Z|+-hhmm]`).
pub(crate) fn valid_gentime(v: &str) -> bool {
    let b = v.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if !matches!(digits, 10 | 12 | 14) {
        return false;
    }
    // Out-of-range fields are not rejected: sudo hands them to mktime(3), which normalizes
    // them (`visudo` accepts month 13).
    let mut i = digits;
    if matches!(b.get(i), Some(b'.') | Some(b',')) {
        let f = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if f == 0 {
            return false;
        }
        i += 1 + f;
    }
    match b.get(i) {
        None => true,
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+') | Some(b'-') => {
            let rest = &b[i + 1..];
            (rest.len() == 4 || rest.len() == 2) && rest.iter().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

/// A Defaults entry `visudo` refuses; the texts follow sudo's.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefaultsError {
    #[error("unknown defaults entry \"{name}\"")]
    Unknown { name: String },
    #[error("no value specified for \"{name}\"")]
    NoValue { name: String },
    #[error("invalid operator \"{op}\" for \"{name}\"")]
    NotAList { name: String, op: &'static str },
    #[error("option \"{name}\" does not take a value")]
    TakesNoValue { name: String },
    #[error("value \"{value}\" is invalid for option \"{name}\"")]
    Invalid { name: String, value: String },
    #[error("values for \"{name}\" must start with {starts}")]
    BadPathStart { name: String, starts: &'static str },
}
crate::error_text::debug_as_display!(DefaultsError);

/// Validates one Defaults entry as `visudo` does.
pub(crate) fn validate(name: &str, op: &DefaultsOp) -> Result<(), DefaultsError> {
    let name_ = || name.to_string();
    let Some((kind, boolean)) = lookup(name) else {
        return Err(DefaultsError::Unknown { name: name_() });
    };
    let value = match op {
        DefaultsOp::Flag(on) => {
            return match kind {
                Kind::Flag => Ok(()),
                _ if *on && BARE_OK.contains(&name) => Ok(()),
                _ if !on && boolean => Ok(()),
                _ => Err(DefaultsError::NoValue { name: name_() }),
            };
        }
        DefaultsOp::Set(v) => v,
        DefaultsOp::Add(v) | DefaultsOp::Remove(v) => {
            if kind != Kind::List {
                let o = if matches!(op, DefaultsOp::Add(_)) {
                    "+="
                } else {
                    "-="
                };
                return Err(DefaultsError::NotAList {
                    name: name_(),
                    op: o,
                });
            }
            v
        }
    };
    let invalid = || {
        Err(DefaultsError::Invalid {
            name: name_(),
            value: value.to_string(),
        })
    };
    match kind {
        Kind::Flag => Err(DefaultsError::TakesNoValue { name: name_() }),
        Kind::Int if !valid_int(value) => invalid(),
        Kind::UInt if !valid_uint(value) => invalid(),
        Kind::Float if !valid_float(value) => invalid(),
        Kind::Mode if !valid_mode(value) => invalid(),
        Kind::Rlimit if !valid_rlimit(value) => invalid(),
        Kind::TimeSpec if parse_timeout(value).is_err() => invalid(),
        Kind::Tuple(vals) if !vals.contains(&value.as_str()) => invalid(),
        Kind::LogFac
            if !matches!(
                value.as_str(),
                "authpriv"
                    | "auth"
                    | "daemon"
                    | "user"
                    | "local0"
                    | "local1"
                    | "local2"
                    | "local3"
                    | "local4"
                    | "local5"
                    | "local6"
                    | "local7"
            ) =>
        {
            invalid()
        }
        Kind::LogPri
            if !matches!(
                value.as_str(),
                "alert"
                    | "crit"
                    | "debug"
                    | "emerg"
                    | "err"
                    | "info"
                    | "notice"
                    | "warning"
                    | "none"
            ) =>
        {
            invalid()
        }
        Kind::Path if !value.starts_with('/') => Err(DefaultsError::BadPathStart {
            name: name_(),
            starts: "a '/'",
        }),
        Kind::ChPath if !(value.starts_with('/') || value.starts_with('~') || value == "*") => {
            Err(DefaultsError::BadPathStart {
                name: name_(),
                starts: "a '/', '~', or '*'",
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        for (v, want) in [
            ("7d8h30m10s", Ok(7 * 86400 + 8 * 3600 + 30 * 60 + 10)),
            ("14d", Ok(14 * 86400)),
            ("8h30m", Ok(8 * 3600 + 1800)),
            ("600s", Ok(600)),
            ("3600", Ok(3600)),
            ("12m2w1d", Err("invalid timeout value")),
            ("30s10m4h", Err("invalid timeout value")),
            ("1d2d3h", Err("invalid timeout value")),
            ("", Err("invalid timeout value")),
            ("99999999999999999999999", Err("timeout value too large")),
        ] {
            assert_eq!(parse_timeout(v), want, "{v}");
        }
    }

    #[test]
    fn gentimes() {
        for (v, ok) in [
            ("20170214083000Z", true),
            ("2017021408Z", true),
            ("20160315220000-0500", true),
            ("20151201235900", true),
            ("2017", false),
            ("20171314083000Z", true),
            ("201702140830.5Z", true),
            ("2017021408+05", true),
            ("2017021408Zx", false),
        ] {
            assert_eq!(valid_gentime(v), ok, "{v}");
        }
    }

    #[test]
    fn values() {
        let set = |v: &str| DefaultsOp::Set(v.into());
        assert!(validate("use_pty", &DefaultsOp::Flag(true)).is_ok());
        assert!(validate("use_pty", &set("yes")).is_err());
        assert!(validate("nope", &DefaultsOp::Flag(true)).is_err());
        assert!(validate("logfile", &DefaultsOp::Flag(false)).is_ok());
        assert!(validate("logfile", &DefaultsOp::Flag(true)).is_err());
        assert!(validate("logfile", &set("rel")).is_err());
        assert!(validate("passwd_tries", &DefaultsOp::Flag(false)).is_err());
        assert!(validate("passwd_tries", &set("-1")).is_err());
        assert!(validate("timestamp_timeout", &set("-1")).is_ok());
        assert!(validate("timestamp_timeout", &set("1e3")).is_err());
        assert!(validate("umask", &set("0777")).is_ok());
        assert!(validate("umask", &set("999")).is_err());
        assert!(validate("lecture", &DefaultsOp::Flag(true)).is_ok());
        assert!(validate("lecture", &set("sometimes")).is_err());
        assert!(validate("env_keep", &DefaultsOp::Add("A".into())).is_ok());
        assert!(validate("secure_path", &DefaultsOp::Add("/x".into())).is_err());
        assert!(validate("rlimit_core", &set("1,2")).is_ok());
        assert!(validate("rlimit_core", &set("abc")).is_err());
    }
}
