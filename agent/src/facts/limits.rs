//! Resource limits that pam_limits sets at login (limits.conf(5)).
//!
//! `/etc/security/limits.conf` is read first, then `/etc/security/limits.d/*.conf` in C
//! sort order, as if concatenated. A line is `DOMAIN TYPE ITEM VALUE`: the domain is a user,
//! `@group`, `%group`, `*`, or a uid/gid range (`1000:`, `@100:200`); the type `soft`, `hard`
//! or `-` (both); `unlimited`, `infinity` and `-1` mean no limit. For one user, an entry
//! naming the user outranks a group entry, which outranks `*`; among entries of the same
//! rank the last one read wins. So "every user gets hard core 0" needs the last `*` hard
//! entry to say 0 and no user or group entry to raise it.

use super::origin::Origin;
use super::FactResult;
use crate::fs::Root;

pub const LIMITS_CONF: &str = "/etc/security/limits.conf";
pub const LIMITS_DIR: &str = "/etc/security/limits.d";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub domain: String,
    /// `soft`, `hard` or `-`.
    pub kind: String,
    pub item: String,
    /// As written, except `unlimited`/`infinity`/`-1` read as `unlimited`.
    pub value: String,
    pub origin: Origin,
}

impl Limit {
    pub fn is_hard(&self) -> bool {
        self.kind == "hard" || self.kind == "-"
    }
    pub fn is_wildcard(&self) -> bool {
        self.domain == "*"
    }
}

/// Parses one file (pure). Malformed lines are skipped, as pam_limits skips them (with a
/// log message), and returned as the second value.
pub fn parse(text: &str, file: &str) -> (Vec<Limit>, Vec<Origin>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let origin = Origin::new(file, i + 1);
        if w.len() != 4 || !["soft", "hard", "-"].contains(&w[1]) {
            bad.push(origin);
            continue;
        }
        let value = match w[3].to_ascii_lowercase().as_str() {
            "unlimited" | "infinity" | "-1" => "unlimited".to_string(),
            v => v.to_string(),
        };
        out.push(Limit {
            domain: w[0].to_string(),
            kind: w[1].to_string(),
            item: w[2].to_ascii_lowercase(),
            value,
            origin,
        });
    }
    (out, bad)
}

/// Every limit line of limits.conf and limits.d, in reading order.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub entries: Vec<Limit>,
    pub malformed: Vec<Origin>,
    pub files: Vec<String>,
}

impl Limits {
    /// The hard limits on `item`: the effective `*` entry (last), and every entry for a
    /// narrower domain.
    pub fn hard(&self, item: &str) -> (Option<&Limit>, Vec<&Limit>) {
        let all: Vec<&Limit> = self
            .entries
            .iter()
            .filter(|l| l.item == item && l.is_hard())
            .collect();
        let wild = all.iter().rev().find(|l| l.is_wildcard()).copied();
        let narrow = all.into_iter().filter(|l| !l.is_wildcard()).collect();
        (wild, narrow)
    }
}

pub fn load(root: &Root) -> FactResult<Limits> {
    let mut budget = super::confdirs::Budget::default();
    let mut l = Limits::default();
    let mut paths = vec![LIMITS_CONF.to_string()];
    match root.read_dir(LIMITS_DIR) {
        Ok(es) => {
            if es.len() > super::confdirs::MAX_FILES {
                return Err(super::FactError::Failed(format!(
                    "more than {} files in {LIMITS_DIR}: refusing a partial read",
                    super::confdirs::MAX_FILES
                )));
            }
            paths.extend(
                es.into_iter()
                    .filter(|e| e.name.ends_with(".conf"))
                    .map(|e| crate::fs::join(LIMITS_DIR, &e.name)),
            )
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    for p in paths {
        if let Some(f) = budget.read(root, &p)? {
            let (e, b) = parse(&f.content, &f.path);
            l.entries.extend(e);
            l.malformed.extend(b);
            l.files.push(f.path);
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_limits_conf_sets_nothing() {
        let t = include_str!("../../../tests/data/debian-stock/bookworm/etc/security/limits.conf");
        let (e, b) = parse(t, LIMITS_CONF);
        assert!(e.is_empty() && b.is_empty(), "{e:?} {b:?}");
    }

    #[test]
    fn wildcard_last_wins_and_narrow_entries_are_listed() {
        let (mut e, bad) = parse(
            "*   hard core 0\n* soft core 0 # c\n@dev - core unlimited\nbroken line\n",
            LIMITS_CONF,
        );
        assert_eq!(bad.len(), 1);
        e.extend(parse("*\thard\tcore\t1024\n", "/etc/security/limits.d/x.conf").0);
        let l = Limits {
            entries: e,
            ..Default::default()
        };
        let (w, n) = l.hard("core");
        assert_eq!(w.unwrap().value, "1024");
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].value, "unlimited");
        assert!(l.hard("nofile").0.is_none());
    }
}
