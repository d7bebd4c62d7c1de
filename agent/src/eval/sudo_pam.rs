//! Evaluation of the `sudoers` and `pam` probes (field semantics: `catalog::probe`).
//!
//! Evidence names the `file:line` of the setting that decided, or says that a built-in
//! default decided (pointing at the module line it is the default of). Password hashes are
//! never read here: PAM and sudoers files hold none.

use super::{all, Outcome};
use crate::catalog::probe::{
    Compare, LockSetting, Op, PamProbe, PamTest, PwqSetting, SudoersProbe, SudoersTest,
    PAM_HASH_ALGORITHMS,
};
use crate::facts::origin::Origin;
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
fn judge_value(c: &Compare, v: Option<&str>) -> Result<bool, String> {
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
    stacks: crate::facts::FactResult<std::rc::Rc<Vec<PamStack>>>,
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
    let Some(q) = policy::pwquality(f.root, st) else {
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
    }
}

fn lockout(f: &Facts, st: &PamStack, setting: LockSetting, c: &Compare) -> Outcome {
    let Some(l) = policy::lockout(f.root, st) else {
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
