//! Fixes: what a check's `fix` says to change, as closed, typed actions validated when the
//! catalog loads (like probes). A fix is data, never a command: the remediation engine
//! (`crate::remediate`) turns each action into file edits it can show as a diff, apply
//! atomically, verify and undo.
//!
//! ```toml
//! fix = { action = "file", path = "/etc/passwd", owner = "root", group = "root", mode_max = "0644" }
//! fix = [ { action = "sshd", keyword = "PermitRootLogin", value = "no" } ]
//! ```

use super::pattern::Pattern;
use super::probe::{profiled, scalar_text, Ctx, LocatedError, ProbeError};
use serde::Deserialize;

/// One action of a fix, limited to some platforms (os-release ID / ID_LIKE) when
/// `platforms` is set, like a condition.
#[derive(Debug, Clone)]
pub struct Step {
    pub platforms: Vec<String>,
    pub action: Action,
}

/// One fix action. Each is small and reversible: it changes files (contents, owner, mode,
/// presence) and nothing else, so a byte-for-byte backup undoes it.
#[derive(Debug, Clone)]
pub enum Action {
    /// Owner, group and permission bits of existing paths (globs allowed).
    File {
        paths: Vec<String>,
        owner: Option<String>,
        group: Option<String>,
        /// Clear every permission bit beyond these (`chmod` to `mode & mode_max`).
        mode_max: Option<u32>,
        /// Set these bits (e.g. the sticky bit).
        mode_add: Option<u32>,
    },
    /// `key value` / `key = value` in one configuration file: every active occurrence is
    /// rewritten in place (so first- and last-wins readers agree); appended when absent.
    SetKey {
        path: String,
        key: String,
        value: String,
        separator: KeySep,
        ignore_case: bool,
        /// Create the file (0644 root:root) when it does not exist.
        create: bool,
    },
    /// A global sshd keyword, placed where sshd's first-value-wins rule makes it effective.
    Sshd { keyword: String, value: String },
    /// A kernel parameter in `/etc/sysctl.d/99-jikimi.conf`, with conflicting assignments in
    /// `/etc/sysctl.conf` and `/etc/sysctl.d/*.conf` commented out.
    Sysctl { key: String, value: String },
    /// Comment out active lines matching a pattern.
    CommentLines {
        paths: Vec<String>,
        pattern: Pattern,
        comment: String,
    },
    /// Append a line to a file unless an active line already matches `pattern`.
    EnsureLine {
        path: String,
        line: String,
        pattern: Pattern,
        /// Mode of the file when the fix creates it (default 0644).
        mode: u32,
    },
    /// Disable and mask systemd units; comment out inetd services; `disable = yes` for
    /// xinetd services.
    DisableService {
        units: Vec<String>,
        inetd: Vec<String>,
        /// SysV init scripts whose `/etc/rc?.d/S??NAME` start links are removed.
        sysv: Vec<String>,
    },
    /// Remove files (globs allowed), e.g. `.rhosts` and `hosts.equiv`.
    RemoveFile { paths: Vec<String> },
    /// Add `Defaults` entries in `/etc/sudoers.d/zz-jikimi` (read last, so they win).
    SudoDefaults { add: Vec<String> },
    /// Account changes in passwd/shadow.
    Accounts {
        op: AccountOp,
        select: AccountSelect,
    },
}

/// Separator of a `set_key` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySep {
    /// `KEY VALUE` (login.defs).
    Whitespace,
    /// `key = value` (pwquality.conf, faillock.conf, journald.conf).
    Equals,
    /// `key=value` without spaces (shell-style files such as /etc/default/useradd).
    EqualsTight,
}

/// What to do to the selected accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountOp {
    /// Login shell set to `/usr/sbin/nologin` (or `/sbin/nologin` where that is what exists).
    Nologin,
    /// Password locked (`!` before the hash in shadow).
    Lock,
}

/// Which accounts an account fix touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSelect {
    /// System accounts (UID below 1000, not root, sync, shutdown, halt) with a login shell.
    SystemWithShell,
    /// These names, where they exist.
    Users(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    action: String,
    path: Option<super::probe::OneOrMany>,
    owner: Option<String>,
    group: Option<String>,
    mode_max: Option<String>,
    mode_add: Option<String>,
    mode: Option<String>,
    key: Option<String>,
    keyword: Option<String>,
    value: Option<toml::Value>,
    separator: Option<KeySep>,
    #[serde(default)]
    ignore_case: bool,
    #[serde(default)]
    create: bool,
    pattern: Option<String>,
    comment: Option<String>,
    line: Option<String>,
    #[serde(default)]
    units: Vec<String>,
    #[serde(default)]
    inetd: Vec<String>,
    #[serde(default)]
    sysv: Vec<String>,
    #[serde(default)]
    add: Vec<String>,
    op: Option<AccountOp>,
    select: Option<String>,
    #[serde(default)]
    users: Vec<String>,
}

fn octal(s: &str) -> Result<u32, ProbeError> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| ProbeError::NotA {
            given: s.to_string(),
            expected: "an octal mode such as \"0644\"".into(),
        })
}

fn abs_paths(p: Option<super::probe::OneOrMany>) -> Result<Vec<String>, ProbeError> {
    let v = req(p, "path")?.into_vec();
    if v.is_empty() {
        return Err(ProbeError::Shape {
            field: "`path`".into(),
            rule: "name at least one path",
        });
    }
    for p in &v {
        if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
            return Err(ProbeError::NotA {
                given: p.clone(),
                expected: "an absolute path free of `..`".into(),
            });
        }
    }
    Ok(v)
}

fn one_path(p: Option<super::probe::OneOrMany>) -> Result<String, ProbeError> {
    let v = abs_paths(p)?;
    if v.len() != 1 || crate::fs::has_wildcard(&v[0]) {
        return Err(ProbeError::Shape {
            field: "`path`".into(),
            rule: "be exactly one path, without wildcards",
        });
    }
    Ok(v.into_iter().next().unwrap_or_default())
}

fn req<T>(v: Option<T>, name: &'static str) -> Result<T, ProbeError> {
    v.ok_or_else(|| ProbeError::Shape {
        field: format!("`{name}`").into(),
        rule: "be set",
    })
}

/// A value safe to write into a configuration line: one line, no NUL, not empty.
fn line_value(s: String, what: &'static str) -> Result<String, ProbeError> {
    if s.trim().is_empty() || s.contains(['\n', '\r', '\0']) {
        return Err(ProbeError::Shape {
            field: format!("`{what}`").into(),
            rule: "be one non-empty line",
        });
    }
    Ok(s)
}

fn regex(pattern: String) -> Result<Pattern, ProbeError> {
    Pattern::new(&pattern).map_err(|source| ProbeError::BadRegex {
        role: "pattern",
        pattern,
        source,
    })
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-:$".contains(&b))
}

fn parse_step(t: &toml::Table, ctx: &Ctx) -> Result<Step, ProbeError> {
    let platforms: Vec<String> = match t.get("platforms") {
        None => vec![],
        Some(v) => v.clone().try_into().map_err(|_| ProbeError::Shape {
            field: "`platforms`".into(),
            rule: "be a list of names",
        })?,
    };
    for p in &platforms {
        if !super::PLATFORMS.contains(&p.as_str()) {
            return Err(ProbeError::Unknown {
                what: "platform".into(),
                given: p.clone(),
                expected: format!("one of {}", super::PLATFORMS.join(", ")).into(),
            });
        }
    }
    let mut t = t.clone();
    t.remove("platforms");
    Ok(Step {
        platforms,
        action: parse_action(&t, ctx)?,
    })
}

fn parse_action(t: &toml::Table, ctx: &Ctx) -> Result<Action, ProbeError> {
    let r: RawAction = toml::Value::Table(t.clone())
        .try_into()
        .map_err(|e: toml::de::Error| ProbeError::Schema {
            message: e.message().trim().to_string(),
        })?;
    let value = |v: Option<toml::Value>| -> Result<String, ProbeError> {
        let v = profiled(&req(v, "value")?, ctx)?;
        line_value(scalar_text(&v)?, "value")
    };
    let kind = r.action.as_str();
    // Every field an action does not take is an error, like unknown keys.
    let used: &[&str] = match kind {
        "file" => &["path", "owner", "group", "mode_max", "mode_add"],
        "set_key" => &["path", "key", "value", "separator", "ignore_case", "create"],
        "sshd" => &["keyword", "value"],
        "sysctl" => &["key", "value"],
        "comment_lines" => &["path", "pattern", "comment"],
        "ensure_line" => &["path", "line", "pattern", "mode"],
        "disable_service" => &["units", "inetd", "sysv"],
        "remove_file" => &["path"],
        "sudo_defaults" => &["add"],
        "accounts" => &["op", "select", "users"],
        other => {
            return Err(ProbeError::Unknown {
                what: "fix action".into(),
                given: other.to_string(),
                expected: "file, set_key, sshd, sysctl, comment_lines, ensure_line, \
                           disable_service, remove_file, sudo_defaults or accounts"
                    .into(),
            })
        }
    };
    for k in t.keys() {
        if k != "action" && !used.contains(&k.as_str()) {
            return Err(ProbeError::NotTaken {
                owner: format!("fix action `{kind}`"),
                field: k.clone(),
            });
        }
    }
    Ok(match kind {
        "file" => {
            let a = Action::File {
                paths: abs_paths(r.path)?,
                owner: r.owner,
                group: r.group,
                mode_max: r.mode_max.as_deref().map(octal).transpose()?,
                mode_add: r.mode_add.as_deref().map(octal).transpose()?,
            };
            if let Action::File {
                owner: None,
                group: None,
                mode_max: None,
                mode_add: None,
                ..
            } = a
            {
                return Err(ProbeError::Shape {
                    field: "a `file` fix".into(),
                    rule: "set owner, group, mode_max or mode_add",
                });
            }
            a
        }
        "set_key" => {
            let key = req(r.key, "key")?;
            if !name_ok(&key) {
                return Err(ProbeError::NotA {
                    given: key,
                    expected: "a configuration key (in `key`)".into(),
                });
            }
            Action::SetKey {
                path: one_path(r.path)?,
                key,
                value: value(r.value)?,
                separator: r.separator.unwrap_or(KeySep::Whitespace),
                ignore_case: r.ignore_case,
                create: r.create,
            }
        }
        "sshd" => {
            let keyword = req(r.keyword, "keyword")?;
            if !keyword.bytes().all(|b| b.is_ascii_alphanumeric()) || keyword.is_empty() {
                return Err(ProbeError::NotA {
                    given: keyword,
                    expected: "an sshd keyword (in `keyword`)".into(),
                });
            }
            Action::Sshd {
                keyword,
                value: value(r.value)?,
            }
        }
        "sysctl" => {
            let key = req(r.key, "key")?;
            if !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/*".contains(&b))
            {
                return Err(ProbeError::NotA {
                    given: key,
                    expected: "a sysctl name (in `key`)".into(),
                });
            }
            Action::Sysctl {
                key,
                value: value(r.value)?,
            }
        }
        "comment_lines" => Action::CommentLines {
            paths: abs_paths(r.path)?,
            pattern: regex(req(r.pattern, "pattern")?)?,
            comment: r.comment.unwrap_or_else(|| "#".into()),
        },
        "ensure_line" => Action::EnsureLine {
            path: one_path(r.path)?,
            line: line_value(req(r.line, "line")?, "line")?,
            pattern: regex(req(r.pattern, "pattern")?)?,
            mode: r.mode.as_deref().map(octal).transpose()?.unwrap_or(0o644),
        },
        "disable_service" => {
            if r.units.is_empty() && r.inetd.is_empty() && r.sysv.is_empty() {
                return Err(ProbeError::Missing {
                    subject: "`disable_service`".into(),
                    needs: "`units`, `inetd` or `sysv`",
                });
            }
            for n in r.units.iter().chain(&r.inetd).chain(&r.sysv) {
                if !name_ok(n) {
                    return Err(ProbeError::NotA {
                        given: n.clone(),
                        expected: "a unit or service name".into(),
                    });
                }
            }
            Action::DisableService {
                units: r.units,
                inetd: r.inetd,
                sysv: r.sysv,
            }
        }
        "remove_file" => Action::RemoveFile {
            paths: abs_paths(r.path)?,
        },
        "sudo_defaults" => {
            if r.add.is_empty() {
                return Err(ProbeError::Missing {
                    subject: "`sudo_defaults`".into(),
                    needs: "`add`",
                });
            }
            for d in &r.add {
                line_value(d.clone(), "add")?;
                if d.contains(['#', '\\']) {
                    return Err(ProbeError::NotA {
                        given: d.clone(),
                        expected: "a Defaults entry without # or \\".into(),
                    });
                }
            }
            Action::SudoDefaults { add: r.add }
        }
        "accounts" => {
            let select = match r.select.as_deref() {
                Some("system_with_shell") => AccountSelect::SystemWithShell,
                Some("users") if !r.users.is_empty() => AccountSelect::Users(r.users),
                Some("users") => {
                    return Err(ProbeError::Missing {
                        subject: "`select = \"users\"`".into(),
                        needs: "`users`",
                    })
                }
                Some(o) => {
                    return Err(ProbeError::Unknown {
                        what: "`select`".into(),
                        given: o.to_string(),
                        expected: "system_with_shell or users".into(),
                    })
                }
                None => {
                    return Err(ProbeError::Shape {
                        field: "`select`".into(),
                        rule: "be set",
                    })
                }
            };
            Action::Accounts {
                op: req(r.op, "op")?,
                select,
            }
        }
        _ => unreachable!("kinds are matched above"),
    })
}

/// Parses a check's `fix` (one action table or a list of them). Every error is returned.
pub fn parse_fix(v: &toml::Value, ctx: &Ctx) -> Result<Vec<Step>, Vec<LocatedError>> {
    let shape = |at: String, field: &'static str, rule| {
        vec![ProbeError::Shape {
            field: field.into(),
            rule,
        }
        .at(at)]
    };
    let items: Vec<&toml::Table> = match v {
        toml::Value::Table(t) => vec![t],
        toml::Value::Array(a) => {
            let mut out = Vec::new();
            for (i, x) in a.iter().enumerate() {
                match x {
                    toml::Value::Table(t) => out.push(t),
                    _ => return Err(shape(format!("fix[{i}]"), "a fix step", "be a table")),
                }
            }
            out
        }
        _ => {
            return Err(shape(
                "fix".into(),
                "`fix`",
                "be a table or a list of tables",
            ))
        }
    };
    if items.is_empty() {
        return Err(shape("fix".into(), "`fix`", "not be an empty list"));
    }
    let mut errs = Vec::new();
    let mut out = Vec::new();
    for (i, t) in items.into_iter().enumerate() {
        match parse_step(t, ctx) {
            Ok(a) => out.push(a),
            Err(e) => errs.push(e.at(format!("fix[{i}]"))),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

impl Action {
    /// The action's name as written in the catalog (`action = "..."`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::File { .. } => "file",
            Action::SetKey { .. } => "set_key",
            Action::Sshd { .. } => "sshd",
            Action::Sysctl { .. } => "sysctl",
            Action::CommentLines { .. } => "comment_lines",
            Action::EnsureLine { .. } => "ensure_line",
            Action::DisableService { .. } => "disable_service",
            Action::RemoveFile { .. } => "remove_file",
            Action::SudoDefaults { .. } => "sudo_defaults",
            Action::Accounts { .. } => "accounts",
        }
    }

    /// A short description for listings (`checks/README.md`, `jikimi fix` output).
    pub fn describe(&self) -> String {
        match self {
            Action::File { paths, .. } => format!("owner/mode of {}", paths.join(", ")),
            Action::SetKey {
                path, key, value, ..
            } => format!("{key} {value} in {path}"),
            Action::Sshd { keyword, value } => format!("sshd {keyword} {value}"),
            Action::Sysctl { key, value } => format!("sysctl {key} = {value}"),
            Action::CommentLines { paths, .. } => {
                format!("comment out lines in {}", paths.join(", "))
            }
            Action::EnsureLine { path, line, .. } => format!("`{line}` in {path}"),
            Action::DisableService { units, inetd, sysv } => {
                let mut v: Vec<String> = units.clone();
                v.extend(inetd.iter().map(|s| format!("inetd {s}")));
                v.extend(sysv.iter().map(|s| format!("init script {s}")));
                format!("disable {}", v.join(", "))
            }
            Action::RemoveFile { paths } => format!("remove {}", paths.join(", ")),
            Action::SudoDefaults { add } => format!("sudo Defaults {}", add.join(", ")),
            Action::Accounts { op, select } => format!(
                "{} {}",
                match op {
                    AccountOp::Nologin => "nologin shell for",
                    AccountOp::Lock => "lock",
                },
                match select {
                    AccountSelect::SystemWithShell => "system accounts with a login shell".into(),
                    AccountSelect::Users(u) => u.join(", "),
                }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Profile;

    fn parse(s: &str) -> Result<Vec<Action>, Vec<LocatedError>> {
        let v: toml::Table = toml::from_str(&format!("fix = {s}")).unwrap();
        parse_fix(
            &v["fix"],
            &Ctx {
                profile: Profile::Kisa,
            },
        )
        .map(|v| v.into_iter().map(|s| s.action).collect())
    }

    #[test]
    fn actions_validate() {
        assert!(parse(r#"{ action = "file", path = "/etc/passwd", mode_max = "0644" }"#).is_ok());
        assert!(parse(r#"{ action = "file", path = "/etc/passwd" }"#).is_err());
        assert!(parse(r#"{ action = "file", path = "etc/passwd", owner = "root" }"#).is_err());
        assert!(parse(r#"{ action = "file", path = "/etc/../x", owner = "root" }"#).is_err());
        assert!(parse(r#"{ action = "sshd", keyword = "PermitRootLogin", value = "no" }"#).is_ok());
        assert!(parse(r#"{ action = "sshd", keyword = "Permit Root", value = "no" }"#).is_err());
        assert!(parse(r#"{ action = "sshd", keyword = "X", value = "a\nb" }"#).is_err());
        assert!(parse(r#"{ action = "shell", command = "rm -rf /" }"#).is_err());
        assert!(
            parse(r#"{ action = "sysctl", key = "kernel.x", value = 1, path = "/x" }"#).is_err()
        );
        assert!(parse(r#"{ action = "comment_lines", path = "/etc/x", pattern = "(" }"#).is_err());
        assert!(
            parse(r#"{ action = "set_key", path = "/etc/a*", key = "K", value = 1 }"#).is_err()
        );
        assert!(parse(r#"{ action = "accounts", op = "lock", select = "users" }"#).is_err());
        assert!(parse("[]").is_err());
        assert!(
            parse(r#"{ action = "file", path = "/x", owner = "root", platforms = ["rhel"] }"#)
                .is_ok()
        );
        assert!(
            parse(r#"{ action = "file", path = "/x", owner = "root", platforms = ["beos"] }"#)
                .is_err()
        );
    }

    #[test]
    fn profile_values_resolve_in_fixes() {
        let a = parse(
            r#"{ action = "set_key", path = "/etc/login.defs", key = "PASS_MAX_DAYS", value = { kisa = 90, cis = 365 } }"#,
        )
        .unwrap();
        match &a[0] {
            Action::SetKey { value, .. } => assert_eq!(value, "90"),
            other => panic!("{other:?}"),
        }
    }
}
