//! Evaluation of `probe = "kmod"`, `probe = "systemd_conf"` and `probe = "limits"` (see
//! `catalog::probe::KmodProbe`, `SdConfProbe`, `LimitsProbe`).

use super::Outcome;
use crate::catalog::probe::{KmodProbe, LimitsProbe, Op, SdConfProbe, UnitProbe};
use crate::facts::modprobe::{install_blocks, normalise};
use crate::facts::{sdconf, Facts};
use crate::findings::Evidence;

fn at(msg: String, o: &crate::facts::origin::Origin) -> Evidence {
    Evidence::at(msg, &o.file, Some(o.line as u32))
}

pub fn kmod(p: &KmodProbe, f: &Facts) -> Outcome {
    let m = normalise(&p.module);
    let name = &p.module;
    let km = match f.system.kernel_modules(f.root) {
        Ok(k) => k,
        Err(e) => return e.into(),
    };
    if !km.kernels.is_empty() {
        let builtin: Vec<&str> = km
            .modules
            .iter()
            .filter(|(_, x, b)| *b && *x == m)
            .map(|(k, _, _)| k.as_str())
            .collect();
        if !builtin.is_empty() {
            return Outcome::fail(vec![Evidence::msg(format!(
                "{name} is built into kernel {} (modprobe.d cannot keep it out)",
                builtin.join(", ")
            ))]);
        }
        if !km.modules.iter().any(|(_, x, _)| *x == m) {
            return Outcome::pass(vec![Evidence::msg(format!(
                "no installed kernel ships {name} (/lib/modules/{{{}}})",
                km.kernels.join(",")
            ))]);
        }
    }
    let cfg = match f.system.modprobe(f.root) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let mut good = Vec::new();
    let mut bad = Vec::new();
    match cfg.install(&m) {
        Some((cmd, o)) if install_blocks(cmd) => good.push(at(
            format!("install {name} {cmd}: modprobe refuses to load it"),
            o,
        )),
        Some((cmd, o)) => bad.push(at(
            format!(
                "install {name} runs `{cmd}`, which does not refuse loading (expected /bin/false)"
            ),
            o,
        )),
        None => bad.push(Evidence::msg(format!(
            "no `install {name} /bin/false` in modprobe.d: `modprobe {name}` loads it"
        ))),
    }
    match cfg.blacklist(&m) {
        Some(o) => good.push(at(format!("blacklist {name}"), o)),
        None => bad.push(Evidence::msg(format!(
            "no `blacklist {name}` in modprobe.d: the kernel may auto-load it"
        ))),
    }
    match f.system.loaded_modules(f.root) {
        Ok(Some(l)) if l.contains(&m) => bad.push(Evidence::at(
            format!("{name} is loaded"),
            "/proc/modules",
            None,
        )),
        Ok(Some(_)) => good.push(Evidence::at(
            format!("{name} is not loaded"),
            "/proc/modules",
            None,
        )),
        Ok(None) => {}
        Err(e) => return e.into(),
    }
    if bad.is_empty() {
        Outcome::pass(good)
    } else {
        Outcome::fail(bad)
    }
}

pub fn systemd_conf(p: &SdConfProbe, f: &Facts) -> Outcome {
    if !p.only_if_exists.is_empty() && !p.only_if_exists.iter().any(|x| f.root.exists(x)) {
        return Outcome::na(format!("not installed ({})", p.only_if_exists.join(", ")));
    }
    let cfg = match f.system.sdconf(f.root, &p.config) {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    let key = &p.key;
    let want = p.compare.describe();
    let files = if cfg.files.is_empty() {
        format!("no {}.conf or drop-in exists", p.config)
    } else {
        format!("read {}", cfg.files.join(", "))
    };
    let (value, ev) = match cfg.get(&p.section, key) {
        Some(a) => {
            if p.compare.op == Op::Unset {
                return Outcome::fail(vec![at(
                    format!("{key}={} (expected not set)", a.value),
                    &a.origin,
                )]);
            }
            let v = if p.boolean {
                match sdconf::boolean(&a.value) {
                    Some(b) => b.to_string(),
                    None => {
                        return Outcome::error(format!(
                            "{}: {key}=`{}` is not a boolean",
                            a.origin, a.value
                        ))
                    }
                }
            } else {
                a.value.clone()
            };
            (
                v,
                at(format!("{key}={} (expected {want})", a.value), &a.origin),
            )
        }
        None => {
            if p.compare.op == Op::Unset {
                return Outcome::pass(vec![Evidence::msg(format!("{key} is not set ({files})"))]);
            }
            match &p.default {
                Some(d) => (
                    d.clone(),
                    Evidence::msg(format!(
                        "{key} is not set ({files}): the built-in default {d} applies (expected {want})"
                    )),
                ),
                None => {
                    return Outcome::fail(vec![Evidence::msg(format!(
                        "[{}] {key} is not set ({files}; expected {want})",
                        p.section
                    ))])
                }
            }
        }
    };
    match p.compare.test(&value) {
        Ok(ok) => Outcome::verdict(ok, vec![ev]),
        Err(e) => Outcome::error(format!("{key}: {e} ({ev})")),
    }
}

pub fn limits(p: &LimitsProbe, f: &Facts) -> Outcome {
    let l = match f.system.limits(f.root) {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    let item = &p.item;
    let want = p.compare.describe();
    let num = |v: &str| {
        if v == "unlimited" {
            u64::MAX.to_string()
        } else {
            v.to_string()
        }
    };
    let (wild, narrow) = l.hard(item);
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let mut judge = |e: &crate::facts::limits::Limit, who: &str| -> Result<(), Outcome> {
        let ev = at(
            format!(
                "{who}: {} {} {item} {} (expected hard {want})",
                e.domain, e.kind, e.value
            ),
            &e.origin,
        );
        match p.compare.test(&num(&e.value)) {
            Ok(true) => good.push(ev),
            Ok(false) => bad.push(ev),
            Err(x) => return Err(Outcome::error(format!("{}: {x}", e.origin))),
        }
        Ok(())
    };
    let missing = wild.is_none().then(|| {
        Evidence::msg(format!(
            "no `* hard {item}` entry in /etc/security/limits.conf or limits.d (expected {want})"
        ))
    });
    for (e, who) in wild
        .into_iter()
        .map(|w| (w, "every user"))
        .chain(narrow.into_iter().map(|n| (n, "overrides `*`")))
    {
        if let Err(o) = judge(e, who) {
            return o;
        }
    }
    bad.extend(missing);
    if bad.is_empty() {
        Outcome::pass(good)
    } else {
        Outcome::fail(bad)
    }
}

pub fn unit(p: &UnitProbe, f: &Facts) -> Outcome {
    let idx = f.units();
    let u = &p.unit;
    if let Some(m) = idx.masked.get(u) {
        return Outcome::fail(vec![Evidence::at(
            format!("{u} is masked: it cannot start"),
            m,
            None,
        )]);
    }
    match idx.files.get(u) {
        Some(path) => Outcome::pass(vec![Evidence::at(
            format!("{u} is installed and not masked"),
            path,
            None,
        )]),
        None => Outcome::fail(vec![Evidence::msg(format!(
            "{u} is not installed (no unit file in the systemd search path)"
        ))]),
    }
}
