//! Kernel parameters: the live value under `/proc/sys`, and the value configured for boot.
//!
//! Configured value, as `systemd-sysctl` and `sysctl --system` apply them (sysctl.d(5)):
//! `*.conf` files from /etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d,
//! /usr/lib/sysctl.d and /lib/sysctl.d; a file name in an earlier directory masks the same
//! name in later ones; the remaining files are applied in lexicographic order of their names,
//! so a later name overrides an earlier one; /etc/sysctl.conf is applied last. Keys use `.`
//! or `/` as separators; a leading `-` only silences errors; globs in keys (systemd) apply to
//! every matching key.

use super::{FactResult, Facts};
use crate::fs::Root;
use std::collections::BTreeMap;

/// One configured assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Key or glob, normalised to dots.
    pub key: String,
    pub value: String,
    pub file: String,
    pub line: u32,
}

/// All assignments in the order they are applied.
#[derive(Debug, Clone, Default)]
pub struct SysctlConfig {
    pub settings: Vec<Setting>,
}

impl SysctlConfig {
    /// The value that wins for `key` at boot, with where it was set.
    pub fn effective(&self, key: &str) -> Option<&Setting> {
        self.settings
            .iter()
            .rev()
            .find(|s| s.key == key || (crate::fs::has_wildcard(&s.key) && glob_key(&s.key, key)))
    }
}

fn glob_key(pattern: &str, key: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = key.split('.').collect();
    p.len() == k.len() && p.iter().zip(&k).all(|(a, b)| crate::fs::fnmatch(a, b))
}

/// Normalises `net/ipv4/ip_forward` and `net.ipv4.ip_forward` to dots.
pub fn normalise(key: &str) -> String {
    key.trim().trim_start_matches('-').replace('/', ".")
}

pub fn parse(text: &str, file: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim_end_matches('\r').trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        out.push(Setting {
            key: normalise(k),
            value: v.trim().to_string(),
            file: file.to_string(),
            line: (i + 1) as u32,
        });
    }
    out
}

const DIRS: &[&str] = &[
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

pub fn collect_config(root: &Root) -> FactResult<SysctlConfig> {
    // basename -> full path (first directory wins)
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_dirs: Vec<u64> = Vec::new();
    for d in DIRS {
        // /lib is often a symlink to /usr/lib: read each real directory once
        let Ok(meta) = root.stat(d) else { continue };
        if seen_dirs.contains(&meta.ino) {
            continue;
        }
        seen_dirs.push(meta.ino);
        let entries = match root.read_dir(d) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        for e in entries {
            if e.name.ends_with(".conf") {
                files
                    .entry(e.name.clone())
                    .or_insert_with(|| crate::fs::join(d, &e.name));
            }
        }
    }
    let mut cfg = SysctlConfig::default();
    let etc_conf_linked = files.values().any(|p| {
        root.read_link(p)
            .is_ok_and(|t| t.ends_with("sysctl.conf") && t.contains("etc"))
    });
    for path in files.values() {
        match root.read_text(path) {
            Ok(t) => cfg.settings.extend(parse(&t.content, path)),
            // a dangling symlink such as 99-sysctl.conf -> ../sysctl.conf is not an error
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    if !etc_conf_linked {
        match root.read_text("/etc/sysctl.conf") {
            Ok(t) => cfg.settings.extend(parse(&t.content, "/etc/sysctl.conf")),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(cfg)
}

/// The live value of a key, `None` when the key does not exist in this kernel.
pub fn live(f: &Facts, key: &str) -> FactResult<Option<String>> {
    f.require_live("live kernel parameters", "/proc/sys/kernel")?;
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    match f.root.read_proc(&path) {
        Ok(b) => Ok(Some(
            String::from_utf8_lossy(&b)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        )),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_precedence() {
        let mut c = SysctlConfig::default();
        c.settings.extend(parse(
            "net/ipv4/ip_forward = 1\n# x\n-kernel.dmesg_restrict=1\n",
            "/usr/lib/sysctl.d/10-a.conf",
        ));
        c.settings.extend(parse(
            "net.ipv4.ip_forward=0\r\nnet.ipv4.conf.*.rp_filter = 1\n",
            "/etc/sysctl.d/99-b.conf",
        ));
        let e = c.effective("net.ipv4.ip_forward").unwrap();
        assert_eq!((e.value.as_str(), e.line), ("0", 1));
        assert_eq!(c.effective("kernel.dmesg_restrict").unwrap().value, "1");
        assert_eq!(
            c.effective("net.ipv4.conf.all.rp_filter").unwrap().value,
            "1"
        );
        assert!(c.effective("net.ipv4.conf.all.rp_filter.x").is_none());
        assert!(c.effective("fs.suid_dumpable").is_none());
    }

    #[test]
    fn masking_and_order_on_disk() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        for dir in ["etc/sysctl.d", "usr/lib/sysctl.d"] {
            std::fs::create_dir_all(d.join(dir)).unwrap();
        }
        std::fs::write(d.join("usr/lib/sysctl.d/50-x.conf"), "kernel.a = 1\n").unwrap();
        std::fs::write(d.join("etc/sysctl.d/50-x.conf"), "kernel.a = 2\n").unwrap(); // masks
        std::fs::write(d.join("usr/lib/sysctl.d/60-y.conf"), "kernel.b = 1\n").unwrap();
        std::fs::write(d.join("etc/sysctl.d/10-y.conf"), "kernel.b = 2\n").unwrap(); // earlier name
        std::fs::write(d.join("etc/sysctl.conf"), "kernel.c = 3\nkernel.a = 9\n").unwrap();
        let root = Root::new(d).unwrap();
        let c = collect_config(&root).unwrap();
        assert_eq!(c.effective("kernel.a").unwrap().value, "9");
        assert_eq!(c.effective("kernel.b").unwrap().value, "1");
        assert_eq!(
            c.effective("kernel.b").unwrap().file,
            "/usr/lib/sysctl.d/60-y.conf"
        );
        assert!(!c
            .settings
            .iter()
            .any(|s| s.value == "1" && s.key == "kernel.a"));
    }
}
