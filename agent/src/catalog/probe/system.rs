//! Probes over the system-hardening facts: audit rules, the bootloader, kernel modules,
//! systemd daemon configurations, pam_limits and the live MAC state. Validated here, at
//! catalog load, so that a typo in a rule or a parameter name is a load error with the
//! check's `file:line`, never a check that silently passes. Evaluated in
//! `eval/audit.rs`, `eval/boot.rs` and `eval/system.rs`.

use super::{compare, de, profiled, scalar_text, Compare, Ctx, Op, ProbeError};
use serde::Deserialize;

/// `probe = "audit_rules"`: the audit rules the next `augenrules --load` applies (see
/// `facts::audit`). `/etc/audit` without rules: FAIL. A rules file auditctl would stop at:
/// ERROR naming `file:line`.
///
/// Exactly one of:
/// - `require = ["auditctl rule", ...]`: every rule, written in auditctl syntax (`-w PATH
///   -p wa`, `-a always,exit -F arch=b64 -S a,b -F auid>=1000 -F auid!=unset`), is covered
///   by the loaded rules (a broader rule counts; a `never` rule first suppresses). Keys
///   (`-k`) are ignored. Parsed at load.
/// - `sudo_log = true`: a watch with `-p wa` on the file sudo logs to (`Defaults logfile`
///   of the sudoers policy). sudo not installed: NOT_APPLICABLE; no logfile: FAIL.
/// - `immutable = true`: the last `-e` is `-e 2` and no rule comes after it.
/// - `privileged = true`: every setuid or setgid file the filesystem walk finds has an
///   `-a always,exit -F path=FILE -F perm=x -F auid>=1000 -F auid!=unset` rule (or a broader
///   one). The check must be a walk check (`walk = true`); an incomplete walk is an ERROR.
#[derive(Debug, Clone)]
pub struct AuditProbe {
    pub test: AuditTest,
}

#[derive(Debug, Clone)]
pub enum AuditTest {
    Require(Vec<crate::facts::audit::Rule>),
    SudoLog,
    Immutable,
    Privileged,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuditProbe {
    require: Option<Vec<String>>,
    #[serde(default)]
    sudo_log: bool,
    #[serde(default)]
    immutable: bool,
    #[serde(default)]
    privileged: bool,
}

pub(super) fn parse_audit(t: &toml::Table) -> Result<AuditProbe, ProbeError> {
    use crate::facts::audit::{parse_line, Line};
    use crate::facts::origin::Origin;
    let r: RawAuditProbe = de(t)?;
    let n = r.require.is_some() as u8 + r.sudo_log as u8 + r.immutable as u8 + r.privileged as u8;
    if n != 1 {
        return Err(ProbeError::Rule {
            rule: "an audit_rules probe takes exactly one of `require`, `sudo_log = true`, `immutable = true`, `privileged = true`",
        });
    }
    let test = match r.require {
        Some(list) => {
            if list.is_empty() {
                return Err(ProbeError::Shape {
                    field: "`require`".into(),
                    rule: "list at least one rule",
                });
            }
            let mut v = Vec::new();
            for (i, s) in list.iter().enumerate() {
                match parse_line(s, Origin::new("require", i + 1)) {
                    Ok(Some(Line::Rule(rule))) => v.push(rule),
                    Ok(_) => {
                        return Err(ProbeError::AuditRule {
                            index: i,
                            rule: s.clone(),
                            reason: None,
                        })
                    }
                    Err(e) => {
                        return Err(ProbeError::AuditRule {
                            index: i,
                            rule: s.clone(),
                            reason: Some(e.message),
                        })
                    }
                }
            }
            AuditTest::Require(v)
        }
        None if r.sudo_log => AuditTest::SudoLog,
        None if r.privileged => AuditTest::Privileged,
        None => AuditTest::Immutable,
    };
    Ok(AuditProbe { test })
}

/// `probe = "boot"`: the bootloader (see `facts::grub`). No GRUB configuration and no live
/// command line: NOT_APPLICABLE.
///
/// - `test = "password"`: every grub.cfg sets `superusers` and gives one of them a
///   `password_pbkdf2` hash (directly or through RHEL's user.cfg); a plain-text `password`
///   line fails.
/// - `test = "cmdline"`: kernel parameter `param` compared with `op` / `value` on every
///   command line found: `/etc/default/grub` (normal and recovery entries), each grub.cfg
///   `linux` line, each boot loader entry, and `/proc/cmdline` when live. A parameter given
///   without a value reads as the empty string. Absent: `default` when given (the kernel's
///   built-in behaviour), else FAIL (`op = "unset"` passes). A command line that cannot be
///   evaluated without running a shell: ERROR.
#[derive(Debug, Clone)]
pub struct BootProbe {
    pub test: BootTest,
}

#[derive(Debug, Clone)]
pub enum BootTest {
    Password,
    Cmdline {
        param: String,
        compare: Compare,
        default: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBootProbe {
    test: String,
    param: Option<String>,
    op: Option<Op>,
    value: Option<toml::Value>,
    default: Option<toml::Value>,
}

pub(super) fn parse_boot(t: &toml::Table, ctx: &Ctx) -> Result<BootProbe, ProbeError> {
    let r: RawBootProbe = de(t)?;
    let test = match r.test.as_str() {
        "password" => {
            if r.param.is_some() || r.op.is_some() || r.value.is_some() || r.default.is_some() {
                return Err(ProbeError::Misplaced {
                    fields: "boot test password".into(),
                    rule: "takes no `param`, `op`, `value` or `default`",
                });
            }
            BootTest::Password
        }
        "cmdline" => {
            let param = r.param.ok_or(ProbeError::Missing {
                subject: "boot test cmdline".into(),
                needs: "`param`",
            })?;
            if param.is_empty()
                || !param
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            {
                return Err(ProbeError::NotA {
                    given: param,
                    expected: "a kernel parameter name".into(),
                });
            }
            let op = r.op.ok_or(ProbeError::Missing {
                subject: "boot test cmdline".into(),
                needs: "`op`",
            })?;
            BootTest::Cmdline {
                param: param.replace('-', "_"),
                compare: compare(op, r.value.as_ref(), ctx)?,
                default: r
                    .default
                    .map(|d| profiled(&d, ctx).and_then(|v| scalar_text(&v)))
                    .transpose()?,
            }
        }
        other => {
            return Err(ProbeError::Unknown {
                what: "boot test".into(),
                given: other.to_string(),
                expected: "password or cmdline".into(),
            })
        }
    };
    Ok(BootProbe { test })
}

/// `probe = "kmod"`: kernel module `module` is not available: no installed kernel ships it,
/// or modprobe.d makes `modprobe` run `/bin/false` (or `true`) instead of loading it *and*
/// deny-lists it (`blacklist`), and (live) it is not loaded. Built into a kernel: FAIL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmodProbe {
    pub module: String,
}

pub(super) fn parse_kmod(t: &toml::Table) -> Result<KmodProbe, ProbeError> {
    let k: KmodProbe = de(t)?;
    if k.module.is_empty()
        || !k
            .module
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(ProbeError::NotA {
            given: k.module,
            expected: "a module name".into(),
        });
    }
    Ok(k)
}

/// `probe = "systemd_conf"`: `key` of `[section]` in systemd's `config.conf` with its
/// drop-ins (see `facts::sdconf`), compared with `op` / `value`.
///
/// - `config`: `journald`, `coredump`, `journal-upload`, `journal-remote`, `logind`...
/// - `boolean = true`: values are systemd booleans, compared as `yes` / `no` (so `1`,
///   `true` and `on` are `yes`); a value that is not a boolean is an ERROR.
/// - `default`: the compiled-in value when nothing sets the key; without it, unset FAILs.
/// - `only_if_exists`: paths (the daemon's binary); none exists: NOT_APPLICABLE.
#[derive(Debug, Clone)]
pub struct SdConfProbe {
    pub config: String,
    pub section: String,
    pub key: String,
    pub compare: Compare,
    pub boolean: bool,
    pub default: Option<String>,
    pub only_if_exists: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSdConfProbe {
    config: String,
    section: String,
    key: String,
    op: Op,
    value: Option<toml::Value>,
    #[serde(default)]
    boolean: bool,
    default: Option<toml::Value>,
    #[serde(default)]
    only_if_exists: Vec<String>,
}

pub(super) fn parse_sdconf(t: &toml::Table, ctx: &Ctx) -> Result<SdConfProbe, ProbeError> {
    let r: RawSdConfProbe = de(t)?;
    if r.config.is_empty()
        || !r
            .config
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return Err(ProbeError::NotA {
            given: r.config,
            expected: "a systemd configuration name such as journald".into(),
        });
    }
    for p in &r.only_if_exists {
        if !p.starts_with('/') {
            return Err(ProbeError::NotAbsolute {
                field: "only_if_exists",
                path: p.clone(),
            });
        }
    }
    let mut c = compare(r.op, r.value.as_ref(), ctx)?;
    let mut default = r
        .default
        .map(|d| profiled(&d, ctx).and_then(|v| scalar_text(&v)))
        .transpose()?;
    if r.boolean {
        use super::Expected;
        let norm = |s: &str| {
            crate::facts::sdconf::boolean(s)
                .map(str::to_string)
                .ok_or_else(|| ProbeError::NotA {
                    given: s.to_string(),
                    expected: "a systemd boolean".into(),
                })
        };
        match (&c.op, &mut c.value) {
            (Op::Eq | Op::Ne, Expected::Text(t)) => {
                *t = norm(t)?;
                c.shown = t.clone();
            }
            (Op::Set | Op::Unset, _) => {}
            _ => {
                return Err(ProbeError::Rule {
                    rule: "a boolean setting takes op eq or ne with a boolean value",
                })
            }
        }
        if let Some(d) = &mut default {
            *d = norm(d)?;
        }
    }
    Ok(SdConfProbe {
        config: r.config,
        section: r.section,
        key: r.key,
        compare: c,
        boolean: r.boolean,
        default,
        only_if_exists: r.only_if_exists,
    })
}

/// `probe = "limits"`: the hard pam_limits value of `item` (`core`, `nofile`...) for every
/// user: the effective `*` entry and every user or group entry, each compared with `op` /
/// `value` (`unlimited` compares as the largest number). No `*` entry: FAIL (the kernel's
/// own hard limit applies).
#[derive(Debug, Clone)]
pub struct LimitsProbe {
    pub item: String,
    pub compare: Compare,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimitsProbe {
    item: String,
    op: Op,
    value: Option<toml::Value>,
}

pub(super) fn parse_limits(t: &toml::Table, ctx: &Ctx) -> Result<LimitsProbe, ProbeError> {
    let r: RawLimitsProbe = de(t)?;
    const ITEMS: &[&str] = &[
        "core",
        "data",
        "fsize",
        "memlock",
        "nofile",
        "rss",
        "stack",
        "cpu",
        "nproc",
        "as",
        "maxlogins",
        "maxsyslogins",
        "priority",
        "locks",
        "sigpending",
        "msgqueue",
        "nice",
        "rtprio",
    ];
    if !ITEMS.contains(&r.item.as_str()) {
        return Err(ProbeError::NotA {
            given: r.item,
            expected: "a limits.conf item".into(),
        });
    }
    Ok(LimitsProbe {
        item: r.item,
        compare: compare(r.op, r.value.as_ref(), ctx)?,
    })
}

/// `probe = "unit"`: systemd `unit` is installed (a unit file in the search path) and not
/// masked (a link to /dev/null or an empty file in /etc or /run), so it can start. Meant for
/// static units that are pulled in by others and so are never "enabled"
/// (`systemd-journald.service`); use `probe = "service"` for enablement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitProbe {
    pub unit: String,
}

pub(super) fn parse_unit(t: &toml::Table) -> Result<UnitProbe, ProbeError> {
    let u: UnitProbe = de(t)?;
    let ok = u.unit.contains('.')
        && u.unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@\\:".contains(&b));
    if !ok {
        return Err(ProbeError::NotA {
            given: u.unit,
            expected: "a systemd unit name".into(),
        });
    }
    Ok(u)
}

/// `probe = "mac"`: the running kernel's mandatory access control (live hosts only;
/// NOT_APPLICABLE on an image).
///
/// - `test = "apparmor_profiles"`: AppArmor is enabled, at least one profile is loaded, and
///   every profile's mode is one of `modes` (e.g. `["enforce", "complain"]`).
/// - `test = "selinux_mode"`: the running mode (`enforcing`, `permissive`, `disabled`)
///   compared with `op` / `value`.
#[derive(Debug, Clone)]
pub struct MacProbe {
    pub test: MacTest,
}

#[derive(Debug, Clone)]
pub enum MacTest {
    AppArmorProfiles { modes: Vec<String> },
    SelinuxMode(Compare),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMacProbe {
    test: String,
    modes: Option<Vec<String>>,
    op: Option<Op>,
    value: Option<toml::Value>,
}

pub(super) fn parse_mac(t: &toml::Table, ctx: &Ctx) -> Result<MacProbe, ProbeError> {
    let r: RawMacProbe = de(t)?;
    let test = match r.test.as_str() {
        "apparmor_profiles" => {
            if r.op.is_some() || r.value.is_some() {
                return Err(ProbeError::Misplaced {
                    fields: "mac test apparmor_profiles".into(),
                    rule: "takes `modes`, not `op` / `value`",
                });
            }
            let modes = r.modes.ok_or(ProbeError::Missing {
                subject: "mac test apparmor_profiles".into(),
                needs: "`modes`",
            })?;
            for m in &modes {
                if ![
                    "enforce",
                    "complain",
                    "kill",
                    "unconfined",
                    "prompt",
                    "user",
                ]
                .contains(&m.as_str())
                {
                    return Err(ProbeError::NotA {
                        given: m.clone(),
                        expected: "an AppArmor profile mode".into(),
                    });
                }
            }
            if modes.is_empty() {
                return Err(ProbeError::Shape {
                    field: "`modes`".into(),
                    rule: "not be empty",
                });
            }
            MacTest::AppArmorProfiles { modes }
        }
        "selinux_mode" => {
            if r.modes.is_some() {
                return Err(ProbeError::Misplaced {
                    fields: "`modes`".into(),
                    rule: "belongs to mac test apparmor_profiles",
                });
            }
            let op = r.op.ok_or(ProbeError::Missing {
                subject: "mac test selinux_mode".into(),
                needs: "`op`",
            })?;
            MacTest::SelinuxMode(compare(op, r.value.as_ref(), ctx)?)
        }
        other => {
            return Err(ProbeError::Unknown {
                what: "mac test".into(),
                given: other.to_string(),
                expected: "apparmor_profiles or selinux_mode".into(),
            })
        }
    };
    Ok(MacProbe { test })
}

#[cfg(test)]
mod tests {
    use super::super::{chain_text, parse_cond, Ctx};
    use crate::catalog::Profile;

    fn cond(s: &str) -> Result<super::super::Cond, Vec<super::super::LocatedError>> {
        let v: toml::Value = toml::from_str(s).unwrap();
        parse_cond(
            &v,
            &Ctx {
                profile: Profile::Cis,
            },
            "expect",
        )
    }

    #[test]
    fn system_probes_validate_at_load() {
        let ok = [
            "probe = 'audit_rules'\nrequire = ['-w /etc/sudoers -p wa', '-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=unset -k mounts']",
            "probe = 'audit_rules'\nsudo_log = true",
            "probe = 'audit_rules'\nimmutable = true",
            "probe = 'audit_rules'\nprivileged = true",
            "probe = 'boot'\ntest = 'password'",
            "probe = 'boot'\ntest = 'cmdline'\nparam = 'audit_backlog_limit'\nop = 'ge'\nvalue = 8192",
            "probe = 'kmod'\nmodule = 'usb-storage'",
            "probe = 'unit'\nunit = 'systemd-journald.service'",
            "probe = 'systemd_conf'\nconfig = 'journald'\nsection = 'Journal'\nkey = 'Compress'\nop = 'eq'\nvalue = 'true'\nboolean = true\ndefault = 'yes'",
            "probe = 'limits'\nitem = 'core'\nop = 'eq'\nvalue = 0",
            "probe = 'mac'\ntest = 'apparmor_profiles'\nmodes = ['enforce', 'complain']",
            "probe = 'mac'\ntest = 'selinux_mode'\nop = 'eq'\nvalue = 'enforcing'",
        ];
        for t in ok {
            assert!(cond(t).is_ok(), "{t}: {:?}", cond(t).err());
        }
        let bad = [
            ("probe = 'audit_rules'\nrequire = ['-w /etc/sudoers -p wz']", "permission"),
            ("probe = 'audit_rules'\nrequire = ['-e 2']", "not an audit rule"),
            ("probe = 'audit_rules'\nrequire = []", "at least one"),
            ("probe = 'audit_rules'\nimmutable = true\nsudo_log = true", "exactly one"),
            ("probe = 'boot'\ntest = 'cmdline'\nparam = 'a b'\nop = 'set'", "kernel parameter"),
            ("probe = 'boot'\ntest = 'cmdline'\nop = 'set'", "needs `param`"),
            ("probe = 'boot'\ntest = 'password'\nop = 'set'", "takes no"),
            ("probe = 'boot'\ntest = 'grub'", "unknown boot test"),
            ("probe = 'kmod'\nmodule = 'a/b'", "module name"),
            ("probe = 'unit'\nunit = 'journald'", "unit name"),
            ("probe = 'systemd_conf'\nconfig = 'journald'\nsection = 'Journal'\nkey = 'Compress'\nop = 'eq'\nvalue = 'maybe'\nboolean = true", "boolean"),
            ("probe = 'systemd_conf'\nconfig = '../x'\nsection = 'J'\nkey = 'K'\nop = 'set'", "configuration name"),
            ("probe = 'limits'\nitem = 'cores'\nop = 'eq'\nvalue = 0", "limits.conf item"),
            ("probe = 'mac'\ntest = 'apparmor_profiles'\nmodes = ['enforcing']", "profile mode"),
            ("probe = 'mac'\ntest = 'selinux_mode'", "needs `op`"),
        ];
        for (t, want) in bad {
            let e = cond(t).expect_err(t);
            assert!(chain_text(&e[0]).contains(want), "{t}: {e:?}");
        }
    }
}
