//! Evaluation of `probe = "boot"` and `probe = "mac"` (see `catalog::probe::BootProbe` and
//! `MacProbe`).

use super::{all, Outcome};
use crate::catalog::probe::{BootProbe, BootTest, Compare, MacProbe, MacTest, Op};
use crate::facts::grub::param;
use crate::facts::{mac, Facts};
use crate::findings::Evidence;

fn at(msg: String, file: &str, line: Option<usize>) -> Evidence {
    Evidence::at(msg, file, line.map(|l| l as u32))
}

pub fn boot(p: &BootProbe, f: &Facts) -> Outcome {
    let b = match f.system.boot(f.root) {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    match &p.test {
        BootTest::Password => {
            let cfgs: Vec<_> = b.cfgs.iter().filter(|c| !c.is_stub()).collect();
            if cfgs.is_empty() {
                return Outcome::na(
                    "no grub.cfg under /boot: the host does not boot with GRUB (or /boot is not mounted)",
                );
            }
            let mut outs = Vec::new();
            for c in cfgs {
                let mut bad = Vec::new();
                let mut good = Vec::new();
                let supers: &[String] = c.superusers.as_ref().map(|s| &s.0[..]).unwrap_or(&[]);
                match &c.superusers {
                    Some((u, o)) if !u.is_empty() => good.push(at(
                        format!("superusers: {}", u.join(", ")),
                        &o.file,
                        Some(o.line),
                    )),
                    _ => bad.push(Evidence::at(
                        "no `set superusers`: anyone at the console can edit boot entries",
                        &c.file,
                        None,
                    )),
                }
                let mut hashed = false;
                for (u, ok, o) in &c.pbkdf2 {
                    if *ok && supers.contains(u) {
                        hashed = true;
                        good.push(at(
                            format!("password_pbkdf2 for {u}"),
                            &o.file,
                            Some(o.line),
                        ));
                    }
                }
                if let Some((u, o)) = &c.uses_user_cfg {
                    let dir = c.file.rsplit_once('/').map(|x| x.0).unwrap_or("");
                    let uc = format!("{dir}/user.cfg");
                    match b.user_cfgs.iter().find(|(p, _)| *p == uc) {
                        Some((_, true)) if supers.contains(u) => {
                            hashed = true;
                            good.push(at(
                                format!("password_pbkdf2 for {u} from GRUB2_PASSWORD in {uc}"),
                                &o.file,
                                Some(o.line),
                            ));
                        }
                        Some((_, true)) => {}
                        Some((_, false)) => bad.push(Evidence::at(
                            "GRUB2_PASSWORD is not a grub.pbkdf2 hash",
                            &uc,
                            None,
                        )),
                        None => bad.push(at(
                            format!("the password comes from {uc}, which does not exist"),
                            &o.file,
                            Some(o.line),
                        )),
                    }
                }
                for (u, o) in &c.plain {
                    bad.push(at(
                        format!("plain-text password for {u} (use grub-mkpasswd-pbkdf2)"),
                        &o.file,
                        Some(o.line),
                    ));
                }
                if !hashed && bad.is_empty() {
                    bad.push(Evidence::at(
                        "no password_pbkdf2 line for a superuser",
                        &c.file,
                        None,
                    ));
                } else if !hashed {
                    bad.push(Evidence::at(
                        "no superuser has a password_pbkdf2 hash",
                        &c.file,
                        None,
                    ));
                }
                outs.push(if bad.is_empty() {
                    Outcome::pass(good)
                } else {
                    Outcome::fail(bad)
                });
            }
            all(outs)
        }
        BootTest::Cmdline {
            param: name,
            compare,
            default,
        } => {
            if b.cmdlines.is_empty() {
                return Outcome::na(
                    "no kernel command line to judge: no /etc/default/grub, grub.cfg or boot loader entry, and not a live host",
                );
            }
            let want = compare.describe();
            let mut outs = Vec::new();
            for c in &b.cmdlines {
                let params = match &c.params {
                    Ok(p) => p,
                    Err(why) => {
                        outs.push(Outcome::error(format!("{}: {why}", c.file)));
                        continue;
                    }
                };
                outs.push(judge_param(
                    name,
                    compare,
                    default.as_deref(),
                    params,
                    c,
                    &want,
                ));
            }
            all(outs)
        }
    }
}

fn judge_param(
    name: &str,
    compare: &Compare,
    default: Option<&str>,
    params: &[(String, Option<String>)],
    c: &crate::facts::grub::Cmdline,
    want: &str,
) -> Outcome {
    let (value, shown) = match param(params, name) {
        Some(v) => {
            let v = v.unwrap_or("");
            if compare.op == Op::Unset {
                return Outcome::fail(vec![at(
                    format!("{}: {name}={v} is set (expected not set)", c.what),
                    &c.file,
                    c.line,
                )]);
            }
            (
                v.to_string(),
                format!("{}: {name}={v} (expected {want})", c.what),
            )
        }
        None => match default {
            _ if compare.op == Op::Unset => {
                return Outcome::pass(vec![at(
                    format!("{}: {name} is not set", c.what),
                    &c.file,
                    c.line,
                )])
            }
            Some(d) => (
                d.to_string(),
                format!(
                    "{}: {name} not given, the kernel's default {d} applies (expected {want})",
                    c.what
                ),
            ),
            None => {
                return Outcome::fail(vec![at(
                    format!("{}: {name} is not set (expected {want})", c.what),
                    &c.file,
                    c.line,
                )])
            }
        },
    };
    match compare.test(&value) {
        Ok(ok) => Outcome::verdict(ok, vec![at(shown, &c.file, c.line)]),
        Err(e) => Outcome::error(format!("{}: {name}: {e}", c.file)),
    }
}

pub fn mac_probe(p: &MacProbe, f: &Facts) -> Outcome {
    match &p.test {
        MacTest::AppArmorProfiles { modes } => match mac::apparmor(f) {
            Err(e) => e.into(),
            Ok(mac::AppArmor::Disabled(why)) => Outcome::fail(vec![Evidence::msg(format!(
                "AppArmor is not enabled: {why}"
            ))]),
            Ok(mac::AppArmor::Enabled(profiles)) => {
                if profiles.is_empty() {
                    return Outcome::fail(vec![Evidence::at(
                        "AppArmor is enabled but no profile is loaded",
                        mac::AA_PROFILES,
                        None,
                    )]);
                }
                let bad: Vec<Evidence> = profiles
                    .iter()
                    .filter(|p| !modes.contains(&p.mode))
                    .map(|p| Evidence::msg(format!("profile {} is in {} mode", p.name, p.mode)))
                    .collect();
                if bad.is_empty() {
                    let mut counts: Vec<(String, usize)> = Vec::new();
                    for p in profiles.iter() {
                        match counts.iter_mut().find(|(m, _)| *m == p.mode) {
                            Some(c) => c.1 += 1,
                            None => counts.push((p.mode.clone(), 1)),
                        }
                    }
                    let s: Vec<String> = counts.iter().map(|(m, n)| format!("{n} {m}")).collect();
                    Outcome::pass(vec![Evidence::at(
                        format!("{} profiles loaded: {}", profiles.len(), s.join(", ")),
                        mac::AA_PROFILES,
                        None,
                    )])
                } else {
                    Outcome::fail(bad)
                }
            }
        },
        MacTest::SelinuxMode(c) => match mac::selinux_mode(f) {
            Err(e) => e.into(),
            Ok(m) => match c.test(m) {
                Ok(ok) => Outcome::verdict(
                    ok,
                    vec![Evidence::at(
                        format!("running SELinux mode {m} (expected {})", c.describe()),
                        mac::SELINUX_ENFORCE,
                        None,
                    )],
                ),
                Err(e) => Outcome::error(e.to_string()),
            },
        },
    }
}
