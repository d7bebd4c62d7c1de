//! Evaluation of the `sudoers` and `pam` probes (field semantics: `catalog::probe`).
//!
//! Evidence names the `file:line` of the setting that decided, or says that a built-in
//! default decided (pointing at the module line it is the default of). Password hashes are
//! never read here: PAM and sudoers files hold none.

use super::{all, Outcome};
use crate::catalog::probe::{
    Compare, HistSetting, LockSetting, Op, PamProbe, PamStackKind, PamTest, ProbeError, PwqSetting,
    SudoersProbe, SudoersTest, PAM_HASH_ALGORITHMS,
};
use crate::facts::origin::Origin;
use crate::facts::pam::history;
use crate::facts::pam::policy::{self, LockModule, QualityModule, Setting, WheelRule};
use crate::facts::pam::{Control, PamEntry, PamStack, PamType};
use crate::facts::sudoers::{
    defaults_type, DefaultsEntry, DefaultsOp, DefaultsScope, DefaultsType, Grant, Member,
    Principal, Runas, Sudoers,
};
use crate::facts::Facts;
use crate::findings::Evidence;

fn at(message: impl Into<String>, o: &Origin) -> Evidence {
    Evidence::at(message, &o.file, Some(o.line as u32))
}

fn joined<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

// ------------------------------------------------------------------------------ sudoers

pub(super) fn sudoers(p: &SudoersProbe, f: &Facts) -> Outcome {
    match f.sudoers() {
        Ok(Some(s)) => eval_sudoers(&p.test, &s),
        Ok(None) => Outcome::na("sudo is not installed (/etc/sudoers is absent)"),
        Err(e) => e.into(),
    }
}

/// How a Defaults entry is written (`Defaults:bob !authenticate`).
fn spelling(d: &DefaultsEntry) -> String {
    let scope = match &d.scope {
        DefaultsScope::Global => String::new(),
        DefaultsScope::User(l) => format!(":{}", joined(l)),
        DefaultsScope::Runas(l) => format!(">{}", joined(l)),
        DefaultsScope::Host(l) => format!("@{}", joined(l)),
        DefaultsScope::Cmnd(l) => format!("!{}", joined(l)),
    };
    let n = &d.name;
    let op = match &d.op {
        DefaultsOp::Flag(true) => n.clone(),
        DefaultsOp::Flag(false) => format!("!{n}"),
        DefaultsOp::Set(v) => format!("{n}={v}"),
        DefaultsOp::Add(v) => format!("{n}+={v}"),
        DefaultsOp::Remove(v) => format!("{n}-={v}"),
    };
    format!("Defaults{scope} {op}")
}

fn runas(r: &Option<Runas>) -> String {
    let Some(r) = r else {
        return String::new();
    };
    let list = |l: &Option<Vec<Member<Principal>>>| l.as_deref().map(joined).unwrap_or_default();
    match (&r.users, &r.groups) {
        (_, None) => format!(" as ({})", list(&r.users)),
        _ => format!(" as ({} : {})", list(&r.users), list(&r.groups)),
    }
}

/// Grants merged per line and users, so one rule listing five commands is one item.
fn merged(grants: &[Grant]) -> Vec<(String, String, Origin)> {
    let mut out: Vec<(String, String, Origin)> = Vec::new();
    for g in grants {
        let who = format!("{}{}", joined(&g.users), runas(&g.runas));
        let what = g.expanded.join(", ");
        match out.last_mut() {
            Some((w, cmds, o)) if *w == who && *o == g.origin => {
                cmds.push_str(", ");
                cmds.push_str(&what);
            }
            _ => out.push((who, what, g.origin.clone())),
        }
    }
    out
}

fn files_read(s: &Sudoers) -> String {
    let v: Vec<&str> = s
        .files
        .iter()
        .filter(|f| f.meta.kind == crate::fs::FileKind::File)
        .map(|f| f.path.as_str())
        .collect();
    if v.is_empty() {
        return "sudoers".into();
    }
    v.join(", ")
}

/// What sudo skipped (an insecure include directory), told alongside a PASS so a reader knows
/// those rules were not judged.
fn skipped(s: &Sudoers) -> Vec<Evidence> {
    s.skipped
        .iter()
        .map(|k| {
            at(
                format!("not read by sudo, so not judged: {} ({})", k.path, k.reason),
                &k.origin,
            )
        })
        .collect()
}

fn pass_with(s: &Sudoers, mut ev: Vec<Evidence>) -> Outcome {
    ev.extend(skipped(s));
    Outcome::pass(ev)
}

/// The value a Defaults entry gives a single-valued parameter: `None` when it unsets it.
fn entry_value(d: &DefaultsEntry) -> Option<String> {
    match &d.op {
        DefaultsOp::Set(v) | DefaultsOp::Add(v) | DefaultsOp::Remove(v) => Some(v.clone()),
        DefaultsOp::Flag(true) => Some(String::new()),
        DefaultsOp::Flag(false) => match defaults_type(&d.name) {
            Some(DefaultsType::Number) => Some("0".into()),
            _ => None,
        },
    }
}

/// Judges one entry's value: `Ok(true)` passes.
fn judge_value(c: &Compare, v: Option<&str>) -> Result<bool, ProbeError> {
    match (c.op, v) {
        (Op::Unset, v) => Ok(v.is_none()),
        (_, None) => Ok(false),
        (_, Some(v)) => c.test(v),
    }
}

/// Pure: a test over a loaded policy.
pub fn eval_sudoers(t: &SudoersTest, s: &Sudoers) -> Outcome {
    match t {
        SudoersTest::NoNopasswd => {
            let g = s.nopasswd_grants();
            if g.is_empty() {
                return pass_with(
                    s,
                    vec![Evidence::msg(format!(
                        "no command is granted with NOPASSWD in {}",
                        files_read(s)
                    ))],
                );
            }
            Outcome::fail(
                merged(&g)
                    .iter()
                    .map(|(who, what, o)| {
                        at(
                            format!("{who} may run {what} without a password (NOPASSWD)"),
                            o,
                        )
                    })
                    .collect(),
            )
        }
        SudoersTest::NoAuthenticateDisabled => {
            let bad: Vec<Evidence> = s
                .defaults
                .iter()
                .filter(|d| d.name == "authenticate" && d.op == DefaultsOp::Flag(false))
                .map(|d| {
                    at(
                        format!("{}: sudo asks no password where it applies", spelling(d)),
                        &d.origin,
                    )
                })
                .collect();
            if bad.is_empty() {
                pass_with(
                    s,
                    vec![Evidence::msg(format!(
                        "no Defaults !authenticate in {}",
                        files_read(s)
                    ))],
                )
            } else {
                Outcome::fail(bad)
            }
        }
        SudoersTest::FlagSet { name } => {
            let off_scoped: Vec<Evidence> = s
                .defaults
                .iter()
                .filter(|d| {
                    d.name == *name
                        && d.scope != DefaultsScope::Global
                        && d.op == DefaultsOp::Flag(false)
                })
                .map(|d| {
                    at(
                        format!("{}: turns {name} off where it applies", spelling(d)),
                        &d.origin,
                    )
                })
                .collect();
            match s.flag(name) {
                Some((true, o)) if off_scoped.is_empty() => {
                    pass_with(s, vec![at(format!("Defaults {name}"), &o)])
                }
                Some((true, _)) => Outcome::fail(off_scoped),
                Some((false, o)) => {
                    let mut ev = vec![at(format!("Defaults !{name}: {name} is off"), &o)];
                    ev.extend(off_scoped);
                    Outcome::fail(ev)
                }
                None => {
                    let mut ev = vec![Evidence::msg(format!(
                        "{name} is not set by any global Defaults in {}",
                        files_read(s)
                    ))];
                    ev.extend(off_scoped);
                    Outcome::fail(ev)
                }
            }
        }
        SudoersTest::Value {
            name,
            compare,
            default,
        } => {
            let want = compare.describe();
            let mut fails = Vec::new();
            let mut passes = Vec::new();
            let global = s
                .defaults
                .iter()
                .rev()
                .find(|d| d.name == *name && d.scope == DefaultsScope::Global);
            let (value, ev) = match global {
                Some(d) => {
                    let v = entry_value(d);
                    let shown = match &v {
                        Some(v) if matches!(d.op, DefaultsOp::Flag(false)) => {
                            format!("{}: {name} is {v}", spelling(d))
                        }
                        Some(_) => spelling(d),
                        None => format!("{}: {name} is not set", spelling(d)),
                    };
                    (v, at(format!("{shown} (expected {want})"), &d.origin))
                }
                None => match default {
                    Some(dv) if compare.op != Op::Unset => (
                        Some(dv.clone()),
                        Evidence::msg(format!(
                            "{name} is not set in {}: sudo's built-in default {dv} applies (expected {want})",
                            files_read(s)
                        )),
                    ),
                    _ => (
                        None,
                        Evidence::msg(format!(
                            "{name} is not set in {} (expected {want})",
                            files_read(s)
                        )),
                    ),
                },
            };
            match judge_value(compare, value.as_deref()) {
                Ok(true) => passes.push(ev),
                Ok(false) => fails.push(ev),
                Err(e) => return Outcome::error(format!("{name}: {e} ({ev})")),
            }
            for d in s
                .defaults
                .iter()
                .filter(|d| d.name == *name && d.scope != DefaultsScope::Global)
            {
                let v = entry_value(d);
                let ev = at(
                    format!(
                        "{} applies to some users, hosts or commands (expected {want})",
                        spelling(d)
                    ),
                    &d.origin,
                );
                match judge_value(compare, v.as_deref()) {
                    Ok(true) => {}
                    Ok(false) => fails.push(ev),
                    Err(e) => return Outcome::error(format!("{name}: {e} ({ev})")),
                }
            }
            if fails.is_empty() {
                pass_with(s, passes)
            } else {
                Outcome::fail(fails)
            }
        }
        SudoersTest::NoAllGrants { admins } => {
            let a: Vec<&str> = admins.iter().map(String::as_str).collect();
            let g = s.grants_all_to(&a);
            if g.is_empty() {
                return pass_with(
                    s,
                    vec![Evidence::msg(format!(
                        "only {} may run ALL commands ({})",
                        admins.join(", "),
                        files_read(s)
                    ))],
                );
            }
            Outcome::fail(
                g.iter()
                    .map(|g| {
                        at(
                            format!(
                                "{}{} may run ALL commands ({} outside {})",
                                joined(&g.users),
                                runas(&g.runas),
                                if g.expanded.iter().any(|c| c != "ALL") {
                                    g.expanded.join(", ")
                                } else {
                                    "ALL".into()
                                },
                                admins.join(", ")
                            ),
                            &g.origin,
                        )
                    })
                    .collect(),
            )
        }
    }
}

// ------------------------------------------------------------------------------ PAM

pub(super) fn pam(p: &PamProbe, f: &Facts) -> Outcome {
    match &p.test {
        PamTest::PwQuality { setting, compare } => per_stack(f.pam_password(), "password", |st| {
            pwquality(f, st, *setting, compare)
        }),
        PamTest::Lockout { setting, compare } => {
            per_stack(f.pam_auth(), "auth", |st| lockout(f, st, *setting, compare))
        }
        PamTest::SuWheel => match f.pam_su() {
            Ok(Some(st)) => su_wheel(&st),
            Ok(None) => Outcome::na("/etc/pam.d/su is absent (su is not installed)"),
            Err(e) => e.into(),
        },
        PamTest::NoNullok => no_nullok(f),
        PamTest::HashAlgorithm { compare } => per_stack(f.pam_password(), "password", |st| {
            hash_algorithm(f, st, compare)
        }),
        PamTest::Pwhistory { setting, compare } => per_stack(f.pam_password(), "password", |st| {
            pwhistory(f, st, *setting, compare)
        }),
        PamTest::UnixNoRemember => unix_no_remember(f),
        PamTest::UnixUseAuthtok => per_stack(f.pam_password(), "password", unix_use_authtok),
        PamTest::Module { module, stack } => {
            let (stacks, kind, ptype) = match stack {
                PamStackKind::Auth => (f.pam_auth(), "auth", PamType::Auth),
                PamStackKind::Password => (f.pam_password(), "password", PamType::Password),
            };
            per_stack(stacks, kind, |st| module_enabled(st, module, ptype))
        }
    }
}

/// The service file a stack starts from (`/etc/pam.d/common-password`).
fn top(st: &PamStack) -> String {
    st.files
        .first()
        .cloned()
        .unwrap_or_else(|| format!("/etc/pam.d/{}", st.service))
}

fn per_stack(
    stacks: crate::facts::FactResult<std::sync::Arc<Vec<PamStack>>>,
    kind: &str,
    each: impl Fn(&PamStack) -> Outcome,
) -> Outcome {
    let stacks = match stacks {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    if stacks.is_empty() {
        let names = if kind == "auth" {
            crate::facts::pam::AUTH_SERVICES
        } else {
            crate::facts::pam::PASSWORD_SERVICES
        };
        return Outcome::na(format!(
            "no shared PAM {kind} stack (/etc/pam.d/{} absent)",
            names.join(", /etc/pam.d/")
        ));
    }
    all(stacks.iter().map(each).collect())
}

fn control(c: &Control) -> String {
    match c {
        Control::Required => "required".into(),
        Control::Requisite => "requisite".into(),
        Control::Sufficient => "sufficient".into(),
        Control::Optional => "optional".into(),
        Control::Complex(p) => format!(
            "[{}]",
            p.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// Compares a setting and says where it came from: its `file:line`, or the module's
/// built-in default (pointing at the module line).
fn judge_setting<T: ToString>(
    name: &str,
    s: &Setting<T>,
    module: &str,
    module_line: &Origin,
    c: &Compare,
) -> Outcome {
    let v = s.value.to_string();
    let want = c.describe();
    let ev = match &s.origin {
        Some(o) => at(format!("{module} {name} {v} (expected {want})"), o),
        None => at(
            format!("{module} {name} not set: built-in default {v} applies (expected {want})"),
            module_line,
        ),
    };
    match c.test(&v) {
        Ok(ok) => Outcome::verdict(ok, vec![ev]),
        Err(e) => Outcome::error(format!("{name}: {e} ({ev})")),
    }
}

fn pwquality(f: &Facts, st: &PamStack, setting: PwqSetting, c: &Compare) -> Outcome {
    let q = match policy::pwquality(f.root, st) {
        Ok(q) => q,
        Err(e) => return Outcome::error(e.to_string()),
    };
    let Some(q) = q else {
        return Outcome::fail(vec![Evidence::at(
            format!(
                "pam_pwquality is not in the password stack of {}: password quality is not checked",
                top(st)
            ),
            &top(st),
            None,
        )]);
    };
    let module = match q.module {
        QualityModule::PwQuality => "pam_pwquality",
        QualityModule::Cracklib => "pam_cracklib",
    };
    if !q.entry.control.is_mandatory() {
        return Outcome::fail(vec![at(
            format!(
                "{module} is {}: a password it rejects is still accepted",
                control(&q.entry.control)
            ),
            &q.entry.origin,
        )]);
    }
    let o = &q.entry.origin;
    let n = |s: &Setting<i64>, name: &str| judge_setting(name, s, module, o, c);
    match setting {
        PwqSetting::Minlen => n(&q.minlen, "minlen"),
        PwqSetting::Minclass => n(&q.minclass, "minclass"),
        PwqSetting::Dcredit => n(&q.dcredit, "dcredit"),
        PwqSetting::Ucredit => n(&q.ucredit, "ucredit"),
        PwqSetting::Lcredit => n(&q.lcredit, "lcredit"),
        PwqSetting::Ocredit => n(&q.ocredit, "ocredit"),
        PwqSetting::Difok => n(&q.difok, "difok"),
        PwqSetting::Retry => n(&q.retry, "retry"),
        PwqSetting::EnforceForRoot => {
            judge_setting("enforce_for_root", &q.enforce_for_root, module, o, c)
        }
        PwqSetting::Maxrepeat
        | PwqSetting::Maxsequence
        | PwqSetting::Dictcheck
        | PwqSetting::Enforcing => {
            let key = match setting {
                PwqSetting::Maxrepeat => "maxrepeat",
                PwqSetting::Maxsequence => "maxsequence",
                PwqSetting::Dictcheck => "dictcheck",
                _ => "enforcing",
            };
            let conf = if q.module == QualityModule::PwQuality {
                match policy::load_pwquality_conf(f.root) {
                    Ok(c) => c,
                    Err(e) => return Outcome::error(format!("pwquality configuration: {e}")),
                }
            } else {
                Vec::new()
            };
            let s = history::pwquality_extra(&q.entry, &conf, key);
            if q.module == QualityModule::Cracklib && s.origin.is_none() && key != "maxrepeat" {
                return Outcome::verdict(
                    c.test(&s.value.to_string()).unwrap_or(false),
                    vec![at(
                        format!("pam_cracklib has no {key} setting: it behaves as {key}={} (expected {})", s.value, c.describe()),
                        o,
                    )],
                );
            }
            n(&s, key)
        }
    }
}

fn pwhistory(f: &Facts, st: &PamStack, setting: HistSetting, c: &Compare) -> Outcome {
    let h = match history::pwhistory(f.root, st) {
        Ok(Some(h)) => h,
        Ok(None) => {
            return Outcome::fail(vec![Evidence::at(
                format!(
                    "pam_pwhistory is not in the password stack of {}: old passwords can be reused",
                    top(st)
                ),
                &top(st),
                None,
            )])
        }
        Err(e) => return Outcome::error(format!("pam_pwhistory configuration: {e}")),
    };
    if !h.entry.control.is_mandatory() {
        return Outcome::fail(vec![at(
            format!(
                "pam_pwhistory is {}: a reused password is still accepted",
                control(&h.entry.control)
            ),
            &h.entry.origin,
        )]);
    }
    let o = &h.entry.origin;
    match setting {
        HistSetting::Remember => judge_setting("remember", &h.remember, "pam_pwhistory", o, c),
        HistSetting::EnforceForRoot => judge_setting(
            "enforce_for_root",
            &h.enforce_for_root,
            "pam_pwhistory",
            o,
            c,
        ),
        HistSetting::UseAuthtok => {
            let v = h.use_authtok.to_string();
            let ev = at(
                format!(
                    "pam_pwhistory {} use_authtok (expected {})",
                    if h.use_authtok { "has" } else { "lacks" },
                    c.describe()
                ),
                o,
            );
            match c.test(&v) {
                Ok(ok) => Outcome::verdict(ok, vec![ev]),
                Err(e) => Outcome::error(e.to_string()),
            }
        }
    }
}

/// No pam_unix line of the shared auth and password stacks carries `remember=`.
fn unix_no_remember(f: &Facts) -> Outcome {
    let mut outs = Vec::new();
    for (stacks, kind) in [(f.pam_auth(), "auth"), (f.pam_password(), "password")] {
        outs.push(per_stack(stacks, kind, |st| {
            let unix = st.modules("pam_unix.so");
            let bad: Vec<Evidence> = unix
                .iter()
                .filter(|e| e.arg("remember").is_some())
                .map(|e| {
                    at(
                        format!(
                            "pam_unix remember={}: use pam_pwhistory instead",
                            e.arg("remember").unwrap_or("")
                        ),
                        &e.origin,
                    )
                })
                .collect();
            if !bad.is_empty() {
                return Outcome::fail(bad);
            }
            Outcome::pass(vec![Evidence::at(
                format!("{} pam_unix line(s) without remember=", unix.len()),
                &top(st),
                None,
            )])
        }));
    }
    all(outs)
}

/// Every pam_unix password line carries use_authtok.
fn unix_use_authtok(st: &PamStack) -> Outcome {
    let unix: Vec<&PamEntry> = st
        .modules("pam_unix.so")
        .into_iter()
        .filter(|e| e.ptype == PamType::Password)
        .collect();
    if unix.is_empty() {
        return Outcome::fail(vec![Evidence::at(
            format!("pam_unix is not in the password stack of {}", top(st)),
            &top(st),
            None,
        )]);
    }
    let (good, bad): (Vec<&PamEntry>, Vec<&PamEntry>) =
        unix.into_iter().partition(|e| e.has_flag("use_authtok"));
    if bad.is_empty() {
        Outcome::pass(
            good.iter()
                .map(|e| at("pam_unix password line has use_authtok", &e.origin))
                .collect(),
        )
    } else {
        Outcome::fail(
            bad.iter()
                .map(|e| at("pam_unix password line lacks use_authtok: it may set a password the modules before it never checked", &e.origin))
                .collect(),
        )
    }
}

/// The module is on a line of type `ptype` of the stack.
fn module_enabled(st: &PamStack, module: &str, ptype: PamType) -> Outcome {
    let lines: Vec<Evidence> = st
        .modules(module)
        .into_iter()
        .filter(|e| e.ptype == ptype)
        .map(|e| at(format!("{module} ({})", control(&e.control)), &e.origin))
        .collect();
    if lines.is_empty() {
        Outcome::fail(vec![Evidence::at(
            format!(
                "{module} is not in the {} stack of {}",
                format!("{ptype:?}").to_lowercase(),
                top(st)
            ),
            &top(st),
            None,
        )])
    } else {
        Outcome::pass(lines)
    }
}

fn lockout(f: &Facts, st: &PamStack, setting: LockSetting, c: &Compare) -> Outcome {
    let l = match policy::lockout(f.root, st) {
        Ok(l) => l,
        Err(e) => return Outcome::error(e.to_string()),
    };
    let Some(l) = l else {
        return Outcome::fail(vec![Evidence::at(
            format!(
                "pam_faillock is not in the auth stack of {}: accounts are never locked",
                top(st)
            ),
            &top(st),
            None,
        )]);
    };
    let module = match l.module {
        LockModule::Faillock => "pam_faillock",
        LockModule::Tally2 => "pam_tally2",
    };
    let first = &l.entries[0].origin;
    if !l.entries.iter().any(|e| e.ptype == PamType::Auth) {
        return Outcome::fail(vec![at(
            format!(
                "{module} is only on account lines of {}: failed logins are never counted",
                top(st)
            ),
            first,
        )]);
    }
    match setting {
        LockSetting::Deny => judge_setting("deny", &l.deny, module, first, c),
        LockSetting::UnlockTime => judge_setting("unlock_time", &l.unlock_time, module, first, c),
        LockSetting::FailInterval => {
            judge_setting("fail_interval", &l.fail_interval, module, first, c)
        }
        LockSetting::EvenDenyRoot => {
            judge_setting("even_deny_root", &l.even_deny_root, module, first, c)
        }
    }
}

fn su_wheel(st: &PamStack) -> Outcome {
    let auth: Vec<&PamEntry> = st.of_type(PamType::Auth);
    let mut fails = Vec::new();
    for (i, e) in auth.iter().enumerate() {
        if e.module_name() != "pam_wheel.so" {
            continue;
        }
        let w = WheelRule::from_entry(e);
        let group = if e.arg("group").is_some() {
            format!("group {}", w.group)
        } else {
            "group wheel (pam_wheel's default; the group of GID 0 when there is no wheel)".into()
        };
        if !w.restricts {
            let why = if e.has_flag("trust") {
                "`trust` lets the group in without a password but refuses no one".to_string()
            } else if e.has_flag("deny") {
                "`deny` refuses the group instead of admitting only it".to_string()
            } else {
                format!("it is {}: other users can still su", control(&e.control))
            };
            fails.push(at(
                format!("pam_wheel does not restrict su: {why}"),
                &e.origin,
            ));
            continue;
        }
        let bypass: Vec<&&PamEntry> = auth[..i]
            .iter()
            .filter(|b| b.control == Control::Sufficient && b.module_name() != "pam_rootok.so")
            .collect();
        if let Some(b) = bypass.first() {
            fails.push(at(
                format!(
                    "pam_wheel comes after `sufficient {}` at {}, which can admit a user before it runs",
                    b.module_name(),
                    b.origin
                ),
                &e.origin,
            ));
            continue;
        }
        return Outcome::pass(vec![at(
            format!(
                "pam_wheel is {}: only members of {group} may su",
                control(&e.control)
            ),
            &e.origin,
        )]);
    }
    if fails.is_empty() {
        fails.push(Evidence::at(
            format!(
                "pam_wheel is not in the auth stack of {} (commented out or absent): any user who knows root's password can su",
                top(st)
            ),
            &top(st),
            None,
        ));
    }
    Outcome::fail(fails)
}

fn no_nullok(f: &Facts) -> Outcome {
    let (auth, pw) = match (f.pam_auth(), f.pam_password()) {
        (Ok(a), Ok(p)) => (a, p),
        (Err(e), _) | (_, Err(e)) => return e.into(),
    };
    if auth.is_empty() && pw.is_empty() {
        return Outcome::na("no shared PAM auth or password stack in /etc/pam.d");
    }
    let mut seen: Vec<&Origin> = Vec::new();
    let mut files: Vec<&str> = Vec::new();
    let mut bad = Vec::new();
    for st in auth.iter().chain(pw.iter()) {
        for f in &st.files {
            if !files.contains(&f.as_str()) {
                files.push(f);
            }
        }
        for e in st.nullok() {
            if seen.contains(&&e.origin) {
                continue;
            }
            seen.push(&e.origin);
            let flag = if e.has_flag("nullok") {
                "nullok"
            } else {
                "nullok_secure"
            };
            let t = if e.ptype == PamType::Auth {
                "auth"
            } else {
                "password"
            };
            bad.push(at(
                format!(
                    "{t} {} {flag}: an account with an empty password is accepted",
                    e.module_name()
                ),
                &e.origin,
            ));
        }
    }
    if bad.is_empty() {
        Outcome::pass(vec![Evidence::msg(format!(
            "no nullok on the auth or password lines of {}",
            files.join(", ")
        ))])
    } else {
        Outcome::fail(bad)
    }
}

/// The algorithm pam_unix hashes with: the last algorithm argument on the line.
fn unix_algorithm(e: &PamEntry) -> Option<&'static str> {
    e.args
        .iter()
        .rev()
        .find_map(|a| {
            PAM_HASH_ALGORITHMS
                .iter()
                .find(|x| **x != "des" && *a == **x)
        })
        .copied()
}

fn hash_algorithm(f: &Facts, st: &PamStack, c: &Compare) -> Outcome {
    let want = c.describe();
    let unix: Vec<&PamEntry> = st
        .of_type(PamType::Password)
        .into_iter()
        .filter(|e| e.module_name() == "pam_unix.so")
        .collect();
    if unix.is_empty() {
        return Outcome::fail(vec![Evidence::at(
            format!("pam_unix is not in the password stack of {}", top(st)),
            &top(st),
            None,
        )]);
    }
    let mut outs = Vec::new();
    for e in unix {
        let (algo, ev) = match unix_algorithm(e) {
            Some(a) => (
                a.to_string(),
                at(
                    format!("pam_unix hashes new passwords with {a} (expected {want})"),
                    &e.origin,
                ),
            ),
            None => {
                let defs = match f.login_defs() {
                    Ok(d) => d,
                    Err(err) => return err.into(),
                };
                match defs.encrypt_method() {
                    Some((v, o)) => {
                        let lower = v.to_ascii_lowercase();
                        // pam_unix matches the value against its own option names.
                        let known = PAM_HASH_ALGORITHMS
                            .iter()
                            .find(|x| **x != "des" && lower.starts_with(**x))
                            .copied();
                        match known {
                            Some(a) => (
                                a.to_string(),
                                at(
                                    format!(
                                        "no algorithm on the pam_unix line ({}): ENCRYPT_METHOD {v} applies, so {a} (expected {want})",
                                        e.origin
                                    ),
                                    o,
                                ),
                            ),
                            None => (
                                "des".to_string(),
                                at(
                                    format!(
                                        "no algorithm on the pam_unix line ({}) and pam_unix does not recognise ENCRYPT_METHOD {v}: built-in default des applies (expected {want})",
                                        e.origin
                                    ),
                                    o,
                                ),
                            ),
                        }
                    }
                    None => (
                        "des".to_string(),
                        at(
                            format!(
                                "no algorithm on the pam_unix line and no ENCRYPT_METHOD in /etc/login.defs: built-in default des applies (expected {want})"
                            ),
                            &e.origin,
                        ),
                    ),
                }
            }
        };
        outs.push(match c.test(&algo) {
            Ok(ok) => Outcome::verdict(ok, vec![ev]),
            Err(err) => Outcome::error(format!("{err} ({ev})")),
        });
    }
    all(outs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::probe::{parse_cond, Ctx, Node, Probe};
    use crate::catalog::Profile;
    use crate::findings::Status::{self, *};
    use crate::fs::Root;

    fn probe(toml_text: &str, profile: Profile) -> Probe {
        let v: toml::Value = toml::from_str(toml_text).unwrap();
        match parse_cond(&v, &Ctx { profile }, "expect").unwrap().node {
            Node::Probe(p) => *p,
            _ => unreachable!(),
        }
    }

    fn sudo_test(toml_text: &str) -> SudoersTest {
        match probe(&format!("probe = 'sudoers'\n{toml_text}"), Profile::Kisa) {
            Probe::Sudoers(p) => p.test,
            _ => unreachable!(),
        }
    }

    /// Every evidence item rendered `message (file:line)`, one per line.
    fn shown(o: &Outcome) -> String {
        let mut s: Vec<String> = o.evidence.iter().map(|e| e.to_string()).collect();
        s.extend(o.reason.clone());
        s.join("\n")
    }

    #[test]
    fn sudoers_table() {
        const BASE: &str = "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n";
        // (sudoers text, test, expected status, text the evidence must contain)
        let cases: &[(&str, &str, Status, &str)] = &[
            (BASE, "test = 'no_nopasswd'", Pass, "no command is granted with NOPASSWD"),
            (
                "Cmnd_Alias WEB = /bin/systemctl restart nginx\nbob ALL = NOPASSWD: WEB, /bin/ls\n",
                "test = 'no_nopasswd'",
                Fail,
                "bob may run /bin/systemctl restart nginx, /bin/ls without a password (NOPASSWD) (/etc/sudoers:2)",
            ),
            ("bob ALL = NOPASSWD: /bin/a, PASSWD: /bin/b, !/bin/c\n", "test = 'no_nopasswd'", Fail, "bob may run /bin/a without"),
            ("bob ALL = PASSWD: /bin/a\n", "test = 'no_nopasswd'", Pass, "no command"),
            (BASE, "test = 'no_authenticate_disabled'", Pass, "no Defaults !authenticate"),
            (
                "Defaults authenticate\nDefaults:bob !authenticate\n",
                "test = 'no_authenticate_disabled'",
                Fail,
                "Defaults:bob !authenticate: sudo asks no password where it applies (/etc/sudoers:2)",
            ),
            ("Defaults>root !authenticate\n", "test = 'no_authenticate_disabled'", Fail, "Defaults>root !authenticate"),
            ("Defaults use_pty\n", "test = 'flag_set'\nname = 'use_pty'", Pass, "Defaults use_pty (/etc/sudoers:1)"),
            ("Defaults use_pty\nDefaults !use_pty\n", "test = 'flag_set'\nname = 'use_pty'", Fail, "Defaults !use_pty: use_pty is off (/etc/sudoers:2)"),
            ("Defaults !use_pty\nDefaults use_pty\n", "test = 'flag_set'\nname = 'use_pty'", Pass, "(/etc/sudoers:2)"),
            (BASE, "test = 'flag_set'\nname = 'use_pty'", Fail, "use_pty is not set by any global Defaults"),
            ("Defaults use_pty\nDefaults:bob !use_pty\n", "test = 'flag_set'\nname = 'use_pty'", Fail, "Defaults:bob !use_pty: turns use_pty off"),
            ("Defaults logfile=\"/var/log/sudo.log\"\n", "test = 'value'\nname = 'logfile'\nop = 'set'", Pass, "Defaults logfile=/var/log/sudo.log (expected set) (/etc/sudoers:1)"),
            (BASE, "test = 'value'\nname = 'logfile'\nop = 'set'", Fail, "logfile is not set in sudoers (expected set)"),
            ("Defaults logfile=/var/log/s\nDefaults !logfile\n", "test = 'value'\nname = 'logfile'\nop = 'set'", Fail, "Defaults !logfile: logfile is not set (expected set) (/etc/sudoers:2)"),
            ("Defaults logfile=/var/log/s\nDefaults:bob !logfile\n", "test = 'value'\nname = 'logfile'\nop = 'set'", Fail, "Defaults:bob !logfile applies to some users"),
            (BASE, "test = 'value'\nname = 'timestamp_timeout'\nop = 'le'\nvalue = 15\ndefault = 15", Pass, "sudo's built-in default 15 applies"),
            ("Defaults timestamp_timeout=5\n", "test = 'value'\nname = 'timestamp_timeout'\nop = 'le'\nvalue = 15", Pass, "Defaults timestamp_timeout=5 (expected <= 15) (/etc/sudoers:1)"),
            ("Defaults timestamp_timeout=30\n", "test = 'value'\nname = 'timestamp_timeout'\nop = 'le'\nvalue = 15\ndefault = 15", Fail, "timestamp_timeout=30"),
            ("Defaults timestamp_timeout=-1\n", "test = 'value'\nname = 'timestamp_timeout'\nop = 'ge'\nvalue = 0", Fail, "timestamp_timeout=-1"),
            ("Defaults !timestamp_timeout\n", "test = 'value'\nname = 'timestamp_timeout'\nop = 'le'\nvalue = 15", Pass, "Defaults !timestamp_timeout: timestamp_timeout is 0"),
            ("Defaults timestamp_timeout=5\nDefaults:ops timestamp_timeout=60\n", "test = 'value'\nname = 'timestamp_timeout'\nop = 'le'\nvalue = 15", Fail, "Defaults:ops timestamp_timeout=60 applies"),
            ("Defaults logfile=/var/log/s\n", "test = 'value'\nname = 'logfile'\nop = 'unset'", Fail, "logfile=/var/log/s"),
            (BASE, "test = 'no_all_grants'", Pass, "only root, %sudo, %wheel, %admin may run ALL"),
            (
                "User_Alias OPS = alice, %ops\nOPS ALL=(ALL) ALL\n",
                "test = 'no_all_grants'",
                Fail,
                "alice, %ops as (ALL) may run ALL commands (ALL outside root, %sudo, %wheel, %admin) (/etc/sudoers:2)",
            ),
            ("Cmnd_Alias EVERY = ALL\nbob ALL = EVERY, !/bin/su\n", "test = 'no_all_grants'", Fail, "bob may run ALL"),
            ("bob ALL = /bin/ls\n%ops ALL = ALL\n", "test = 'no_all_grants'\nadmins = ['root', '%ops']", Pass, "only root, %ops"),
            ("ALL ALL = ALL\n", "test = 'no_all_grants'", Fail, "ALL may run ALL"),
        ];
        for (text, test, want, needle) in cases {
            let s = crate::facts::sudoers::parse(text, "/etc/sudoers").unwrap();
            let o = eval_sudoers(&sudo_test(test), &s);
            let ev = shown(&o);
            assert_eq!(o.status, *want, "{test} on {text:?}: {ev}");
            assert!(ev.contains(needle), "{test} on {text:?}: {ev}");
        }
    }

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let full = t.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, c).unwrap();
        }
        let r = Root::new(t.path()).unwrap();
        (t, r)
    }

    fn run(root: &Root, toml_text: &str, profile: Profile) -> Outcome {
        let f = Facts::new(root);
        match probe(toml_text, profile) {
            Probe::Sudoers(p) => sudoers(&p, &f),
            Probe::Pam(p) => pam(&p, &f),
            _ => unreachable!(),
        }
    }

    #[test]
    fn sudoers_absent_or_invalid() {
        let (_t, r) = tree(&[("/etc/os-release", "ID=debian\n")]);
        let o = run(&r, "probe = 'sudoers'\ntest = 'no_nopasswd'", Profile::Kisa);
        assert_eq!(o.status, NotApplicable, "{o:?}");
        let (_t, r) = tree(&[(
            "/etc/sudoers",
            "Defaults use_pty\nbob ALL = (root /bin/ls\n",
        )]);
        let o = run(
            &r,
            "probe = 'sudoers'\ntest = 'flag_set'\nname = 'use_pty'",
            Profile::Kisa,
        );
        assert_eq!(o.status, Error, "{o:?}");
        assert!(shown(&o).contains("/etc/sudoers:2"), "{}", shown(&o));
    }

    const DEB_AUTH: &str = "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\nauth required pam_permit.so\n";
    const FAILLOCK_AUTH: &str = "auth required pam_faillock.so preauth\nauth [success=1 default=ignore] pam_unix.so\nauth [default=die] pam_faillock.so authfail\nauth requisite pam_deny.so\nauth required pam_permit.so\n";
    const DEB_PW: &str = "password requisite pam_pwquality.so retry=3\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok yescrypt\npassword requisite pam_deny.so\n";

    #[test]
    fn pam_table() {
        let pwq = "probe = 'pam'\ntest = 'pwquality'\n";
        let lock = "probe = 'pam'\ntest = 'lockout'\n";
        let hash = "probe = 'pam'\ntest = 'hash_algorithm'\nop = 'in'\nvalue = { kisa = ['sha256', 'sha512', 'yescrypt'], cis = ['sha512', 'yescrypt'] }";
        type Case<'a> = (&'a [(&'a str, &'a str)], String, Profile, Status, &'a str);
        let cases: Vec<Case> = vec![
            // pwquality: defaults, conf, arguments, module absent, not enforced, cracklib
            (&[("/etc/pam.d/common-password", DEB_PW)], format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 8"), Profile::Kisa, Pass,
             "pam_pwquality minlen not set: built-in default 8 applies (expected >= 8) (/etc/pam.d/common-password:1)"),
            (&[("/etc/pam.d/common-password", DEB_PW)], format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = {{ kisa = 8, cis = 14 }}"), Profile::Cis, Fail, "expected >= 14"),
            (&[("/etc/pam.d/common-password", DEB_PW), ("/etc/security/pwquality.conf", "# x\nminlen = 14\n")],
             format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 14"), Profile::Kisa, Pass, "pam_pwquality minlen 14 (expected >= 14) (/etc/security/pwquality.conf:2)"),
            (&[("/etc/pam.d/common-password", "password requisite pam_pwquality.so minlen=9\n"), ("/etc/security/pwquality.conf", "minlen = 14\n")],
             format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 14"), Profile::Kisa, Fail, "minlen 9 (expected >= 14) (/etc/pam.d/common-password:1)"),
            (&[("/etc/pam.d/common-password", "password required pam_unix.so sha512\n")], format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 8"), Profile::Kisa, Fail,
             "pam_pwquality is not in the password stack of /etc/pam.d/common-password"),
            (&[("/etc/pam.d/common-password", "password optional pam_pwquality.so minlen=20\n")], format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 8"), Profile::Kisa, Fail,
             "pam_pwquality is optional: a password it rejects is still accepted"),
            (&[("/etc/pam.d/common-password", "password requisite pam_cracklib.so\n")], format!("{pwq}setting = 'dcredit'\nop = 'le'\nvalue = -1"), Profile::Kisa, Fail,
             "pam_cracklib dcredit not set: built-in default 1 applies"),
            (&[("/etc/pam.d/common-password", DEB_PW), ("/etc/security/pwquality.conf.d/50.conf", "enforce_for_root\n")],
             format!("{pwq}setting = 'enforce_for_root'\nop = 'eq'\nvalue = true"), Profile::Kisa, Pass, "enforce_for_root true (expected = true) (/etc/security/pwquality.conf.d/50.conf:1)"),
            (&[("/etc/pam.d/common-password", DEB_PW)], format!("{pwq}setting = 'enforce_for_root'\nop = 'eq'\nvalue = true"), Profile::Kisa, Fail, "built-in default false"),
            // RHEL: both stacks judged; the weaker one decides
            (&[("/etc/pam.d/system-auth", "password requisite pam_pwquality.so minlen=14\n"), ("/etc/pam.d/password-auth", "password requisite pam_pwquality.so minlen=10\n")],
             format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 14"), Profile::Kisa, Fail, "minlen 10 (expected >= 14) (/etc/pam.d/password-auth:1)"),
            (&[("/etc/os-release", "ID=debian\n")], format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 8"), Profile::Kisa, NotApplicable, "no shared PAM password stack"),
            (&[("/etc/pam.d/common-password", "password bogus pam_pwquality.so\n")], format!("{pwq}setting = 'minlen'\nop = 'ge'\nvalue = 8"), Profile::Kisa, Error, "/etc/pam.d/common-password:1"),
            // lockout
            (&[("/etc/pam.d/common-auth", DEB_AUTH)], format!("{lock}setting = 'deny'\nop = 'le'\nvalue = 10"), Profile::Kisa, Fail,
             "pam_faillock is not in the auth stack of /etc/pam.d/common-auth"),
            (&[("/etc/pam.d/common-auth", FAILLOCK_AUTH)], format!("{lock}setting = 'deny'\nop = 'le'\nvalue = 5"), Profile::Kisa, Pass,
             "pam_faillock deny not set: built-in default 3 applies (expected <= 5) (/etc/pam.d/common-auth:1)"),
            (&[("/etc/pam.d/common-auth", FAILLOCK_AUTH), ("/etc/security/faillock.conf", "deny = 8\n")],
             format!("{lock}setting = 'deny'\nop = 'le'\nvalue = {{ kisa = 10, cis = 5 }}"), Profile::Cis, Fail, "pam_faillock deny 8 (expected <= 5) (/etc/security/faillock.conf:1)"),
            (&[("/etc/pam.d/common-auth", FAILLOCK_AUTH), ("/etc/security/faillock.conf", "deny = 8\n")],
             format!("{lock}setting = 'deny'\nop = 'le'\nvalue = {{ kisa = 10, cis = 5 }}"), Profile::Kisa, Pass, "deny 8 (expected <= 10)"),
            (&[("/etc/pam.d/common-auth", DEB_AUTH), ("/etc/pam.d/common-account", "account required pam_faillock.so\n")],
             format!("{lock}setting = 'deny'\nop = 'le'\nvalue = 5"), Profile::Kisa, Fail, "pam_faillock is not in the auth stack"),
            (&[("/etc/pam.d/common-auth", "auth required pam_unix.so\naccount required pam_faillock.so\n")],
             format!("{lock}setting = 'deny'\nop = 'le'\nvalue = 5"), Profile::Kisa, Fail, "only on account lines"),
            (&[("/etc/pam.d/common-auth", "auth required pam_faillock.so preauth unlock_time=never\n")],
             format!("{lock}setting = 'unlock_time'\nop = 'in'\nvalue = [0]"), Profile::Kisa, Pass, "unlock_time 0"),
            (&[("/etc/pam.d/common-auth", "auth required pam_tally2.so onerr=fail\n")], format!("{lock}setting = 'deny'\nop = 'ge'\nvalue = 1"), Profile::Kisa, Fail,
             "pam_tally2 deny not set: built-in default 0 applies"),
            (&[("/etc/pam.d/system-auth", FAILLOCK_AUTH), ("/etc/security/faillock.conf", "even_deny_root\n")],
             format!("{lock}setting = 'even_deny_root'\nop = 'eq'\nvalue = true"), Profile::Kisa, Pass, "(/etc/security/faillock.conf:1)"),
            // su
            (&[("/etc/pam.d/su", "auth sufficient pam_rootok.so\nauth required pam_wheel.so use_uid\n")], "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, Pass,
             "pam_wheel is required: only members of group wheel (pam_wheel's default; the group of GID 0 when there is no wheel) may su (/etc/pam.d/su:2)"),
            (&[("/etc/pam.d/su", "auth sufficient pam_rootok.so\nauth [default=die] pam_wheel.so group=admins\n")], "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, Pass, "group admins"),
            (&[("/etc/pam.d/su", "auth sufficient pam_rootok.so\n# auth required pam_wheel.so\n@include common-auth\n"), ("/etc/pam.d/common-auth", DEB_AUTH)],
             "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, Fail, "pam_wheel is not in the auth stack of /etc/pam.d/su"),
            (&[("/etc/pam.d/su", "auth sufficient pam_wheel.so trust use_uid\n")], "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, Fail, "`trust`"),
            (&[("/etc/pam.d/su", "auth required pam_wheel.so deny group=staff\n")], "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, Fail, "`deny`"),
            (&[("/etc/pam.d/su", "auth optional pam_wheel.so\n")], "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, Fail, "it is optional"),
            (&[("/etc/pam.d/su", "auth sufficient pam_unix.so\nauth required pam_wheel.so\n")], "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, Fail,
             "comes after `sufficient pam_unix.so` at /etc/pam.d/su:1"),
            (&[("/etc/os-release", "ID=debian\n")], "probe = 'pam'\ntest = 'su_wheel'".into(), Profile::Kisa, NotApplicable, "su is not installed"),
            // nullok
            (&[("/etc/pam.d/common-auth", DEB_AUTH), ("/etc/pam.d/common-password", DEB_PW)], "probe = 'pam'\ntest = 'no_nullok'".into(), Profile::Kisa, Pass, "no nullok"),
            (&[("/etc/pam.d/common-auth", "auth [success=1 default=ignore] pam_unix.so nullok\n"), ("/etc/pam.d/common-password", DEB_PW)],
             "probe = 'pam'\ntest = 'no_nullok'".into(), Profile::Kisa, Fail, "auth pam_unix.so nullok: an account with an empty password is accepted (/etc/pam.d/common-auth:1)"),
            (&[("/etc/pam.d/system-auth", "auth sufficient pam_unix.so nullok_secure\npassword sufficient pam_unix.so sha512 nullok\n")],
             "probe = 'pam'\ntest = 'no_nullok'".into(), Profile::Kisa, Fail, "password pam_unix.so nullok"),
            // hash algorithm: argument, last one wins, login.defs fallback, built-in default
            (&[("/etc/pam.d/common-password", DEB_PW)], hash.into(), Profile::Cis, Pass, "pam_unix hashes new passwords with yescrypt"),
            (&[("/etc/pam.d/common-password", "password required pam_unix.so yescrypt md5\n")], hash.into(), Profile::Kisa, Fail, "with md5"),
            (&[("/etc/pam.d/system-auth", "password sufficient pam_unix.so sha256\n")], hash.into(), Profile::Kisa, Pass, "sha256"),
            (&[("/etc/pam.d/system-auth", "password sufficient pam_unix.so sha256\n")], hash.into(), Profile::Cis, Fail, "sha256"),
            (&[("/etc/pam.d/common-password", "password required pam_unix.so\n"), ("/etc/login.defs", "ENCRYPT_METHOD SHA512\n")], hash.into(), Profile::Cis, Pass,
             "no algorithm on the pam_unix line (/etc/pam.d/common-password:1): ENCRYPT_METHOD SHA512 applies, so sha512 (expected one of [sha512, yescrypt]) (/etc/login.defs:1)"),
            (&[("/etc/pam.d/common-password", "password required pam_unix.so\n"), ("/etc/login.defs", "ENCRYPT_METHOD BCRYPT\n")], hash.into(), Profile::Cis, Fail, "does not recognise ENCRYPT_METHOD BCRYPT"),
            (&[("/etc/pam.d/common-password", "password required pam_unix.so\n")], hash.into(), Profile::Kisa, Fail, "built-in default des applies"),
            (&[("/etc/pam.d/common-password", "password requisite pam_pwquality.so\n")], hash.into(), Profile::Kisa, Fail, "pam_unix is not in the password stack"),
        ];
        for (files, t, profile, want, needle) in &cases {
            let (_t, r) = tree(files);
            let o = run(&r, t, *profile);
            let ev = shown(&o);
            assert_eq!(o.status, *want, "{t} on {files:?}: {ev}");
            assert!(
                ev.contains(needle),
                "{t} on {files:?}:\n{ev}\n(wanted {needle})"
            );
        }
    }
}
