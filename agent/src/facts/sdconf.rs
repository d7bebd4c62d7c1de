//! systemd daemon configuration files (`journald.conf`, `coredump.conf`,
//! `journal-upload.conf`, ...) with their drop-ins, merged as the daemon merges them.
//!
//! From systemd.syntax(7) and `systemd-analyze cat-config`: the main file is the first of
//! `/etc/systemd/NAME.conf`, `/run/systemd/NAME.conf`, `/usr/local/lib/systemd/NAME.conf`,
//! `/usr/lib/systemd/NAME.conf` that exists (systemd 252 reads only the `/etc` one; later
//! versions ship the file in `/usr/lib` and an `/etc` copy replaces it whole). Then the
//! `NAME.conf.d/*.conf` drop-ins of `/etc/systemd`, `/run/systemd`, `/usr/local/lib/systemd`
//! and `/usr/lib/systemd` are applied in lexicographic order of their file names, whatever
//! their directory; a name in `/etc` masks the same name in `/run`, which masks `/usr`. For
//! a setting taking one value, the last assignment read wins, so drop-ins override the main
//! file and later names override earlier ones.
//!
//! Syntax: `[Section]` headers, `Key=Value` assignments, `#` and `;` comment lines, a
//! trailing `\` continues a line. An assignment outside any section, or a line that is
//! neither, is ignored by systemd with a warning; here it is kept in [`SdConfig::warnings`].

use super::confdirs::{read_dropins, Budget};
use super::origin::Origin;
use super::FactResult;
use crate::fs::Root;

const BASES: &[&str] = &[
    "/etc/systemd",
    "/run/systemd",
    "/usr/local/lib/systemd",
    "/usr/lib/systemd",
];

/// One assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub section: String,
    pub key: String,
    pub value: String,
    pub origin: Origin,
}

/// The merged configuration, assignments in the order they apply.
#[derive(Debug, Clone, Default)]
pub struct SdConfig {
    pub assignments: Vec<Assignment>,
    /// Files read, in order.
    pub files: Vec<String>,
    pub warnings: Vec<String>,
}

/// Parses one file (pure).
pub fn parse(text: &str, file: &str, out: &mut SdConfig) {
    let mut section = String::new();
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.trim_end_matches('\r');
        if pending.is_empty() {
            start = i + 1;
            let t = raw.trim_start();
            if t.starts_with('#') || t.starts_with(';') {
                continue;
            }
        }
        if let Some(head) = raw.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(raw);
        let line = std::mem::take(&mut pending);
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(s) = t.strip_prefix('[') {
            match s.strip_suffix(']') {
                Some(name) => section = name.to_string(),
                None => out
                    .warnings
                    .push(format!("{file}:{start}: unterminated section header")),
            }
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            out.warnings
                .push(format!("{file}:{start}: not an assignment, ignored"));
            continue;
        };
        if section.is_empty() {
            out.warnings.push(format!(
                "{file}:{start}: assignment outside a section, ignored"
            ));
            continue;
        }
        out.assignments.push(Assignment {
            section: section.clone(),
            key: k.trim().to_string(),
            value: v.trim().to_string(),
            origin: Origin::new(file, start),
        });
    }
}

impl SdConfig {
    /// The assignment that wins for `section` / `key` (the last one). An empty value resets
    /// to the built-in default, so it counts as "not set".
    pub fn get(&self, section: &str, key: &str) -> Option<&Assignment> {
        self.assignments
            .iter()
            .rev()
            .find(|a| a.section == section && a.key == key)
            .filter(|a| !a.value.is_empty())
    }
}

/// systemd's boolean spellings, normalised to `yes` / `no`.
pub fn boolean(v: &str) -> Option<&'static str> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some("yes"),
        "0" | "no" | "n" | "false" | "f" | "off" => Some("no"),
        _ => None,
    }
}

/// Loads `NAME.conf` (e.g. `journald`) with its drop-ins.
pub fn load(root: &Root, name: &str) -> FactResult<SdConfig> {
    let mut budget = Budget::default();
    let mut cfg = SdConfig::default();
    for b in BASES {
        let p = format!("{b}/{name}.conf");
        if let Some(f) = budget.read(root, &p)? {
            parse(&f.content, &f.path, &mut cfg);
            cfg.files.push(f.path);
            break;
        }
    }
    let dirs: Vec<String> = BASES.iter().map(|b| format!("{b}/{name}.conf.d")).collect();
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    for f in read_dropins(root, &dirs, ".conf", &mut budget)? {
        parse(&f.content, &f.path, &mut cfg);
        cfg.files.push(f.path);
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_journald_conf_sets_nothing() {
        for t in [
            include_str!("../../../tests/data/debian-stock/bookworm/etc/systemd/journald.conf"),
            include_str!("../../../tests/data/debian-stock/trixie/etc/systemd/journald.conf"),
        ] {
            let mut c = SdConfig::default();
            parse(t, "/etc/systemd/journald.conf", &mut c);
            assert!(c.assignments.is_empty(), "{:?}", c.assignments);
            assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        }
    }

    #[test]
    fn last_assignment_wins_and_empty_resets() {
        let mut c = SdConfig::default();
        parse(
            "[Journal]\nStorage=volatile\n; c\n# Storage=none\nCompress=no\n",
            "/etc/systemd/journald.conf",
            &mut c,
        );
        parse(
            "[Journal]\nStorage=persistent\nCompress=\nForwardToSyslog=\\\n  yes\nstray\n",
            "/etc/systemd/journald.conf.d/50-x.conf",
            &mut c,
        );
        let s = c.get("Journal", "Storage").unwrap();
        assert_eq!((s.value.as_str(), s.origin.line), ("persistent", 2));
        assert!(c.get("Journal", "Compress").is_none());
        let f = c.get("Journal", "ForwardToSyslog").unwrap();
        assert_eq!((f.value.as_str(), f.origin.line), ("yes", 4));
        assert_eq!(c.warnings.len(), 1);
        assert!(c.get("Upload", "Storage").is_none());
        let mut d = SdConfig::default();
        parse("Storage=none\n[Coredump\n", "x", &mut d);
        assert_eq!((d.assignments.len(), d.warnings.len()), (0, 2));
    }

    #[test]
    fn booleans() {
        assert_eq!(boolean("On"), Some("yes"));
        assert_eq!(boolean("0"), Some("no"));
        assert_eq!(boolean("maybe"), None);
    }
}
