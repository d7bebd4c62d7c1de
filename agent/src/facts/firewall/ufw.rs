//! ufw's on-disk state: whether it starts at boot (`ENABLED` in `/etc/ufw/ufw.conf`; the
//! `ufw.service` unit only runs `ufw-init`, which does nothing unless it is `yes`), its
//! default policies (`DEFAULT_*_POLICY` in `/etc/default/ufw`), and the rule files it loads
//! (`before.rules`, `user.rules`, `after.rules` and their IPv6 twins, `iptables-save` syntax,
//! parsed by [`super::ipt`]).
//!
//! [`parse_settings`] is pure: shell-style `KEY=value` lines (quotes stripped) with `file:line`.

use super::ipt;
use crate::facts::kv;
use crate::facts::kv::Separator;
use crate::facts::origin::{LineError, Origin};

pub const UFW_CONF: &str = "/etc/ufw/ufw.conf";
pub const DEFAULTS: &str = "/etc/default/ufw";
/// Rule files, IPv4 then IPv6, in the order ufw-init loads them.
pub const RULES_V4: &[&str] = &[
    "/etc/ufw/before.rules",
    "/etc/ufw/user.rules",
    "/etc/ufw/after.rules",
];
pub const RULES_V6: &[&str] = &[
    "/etc/ufw/before6.rules",
    "/etc/ufw/user6.rules",
    "/etc/ufw/after6.rules",
];
/// The chains ufw's traffic in direction `dir` (`input`, `output`) passes through, in
/// order: `ufw-before-input`, `ufw-user-input`, `ufw-after-input` (`ufw6-...` for IPv6).
pub fn chains(v6: bool, dir: &str) -> Vec<String> {
    let p = if v6 { "ufw6" } else { "ufw" };
    ["before", "user", "after"]
        .iter()
        .map(|s| format!("{p}-{s}-{dir}"))
        .collect()
}

/// One `KEY=value` setting with where it is set (the last one wins, as the shell reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub origin: Origin,
}

/// Parses shell-style `KEY=value` lines; the last assignment of a key wins.
pub fn parse_settings(text: &str, file: &str) -> Vec<(String, Setting)> {
    let syntax = kv::Syntax {
        separator: Separator::Equals,
        comment: Some("#"),
    };
    let mut out: Vec<(String, Setting)> = Vec::new();
    for e in kv::parse(text, syntax) {
        let s = Setting {
            value: e.value.trim().to_string(),
            origin: Origin::new(file, e.line as usize),
        };
        out.retain(|(k, _)| *k != e.key);
        out.push((e.key, s));
    }
    out
}

fn get<'a>(v: &'a [(String, Setting)], key: &str) -> Option<&'a Setting> {
    v.iter().find(|(k, _)| k == key).map(|(_, s)| s)
}

/// ufw's configuration as read from disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ufw {
    /// `ENABLED` of ufw.conf (`None`: not set, which ufw-init treats as no).
    pub enabled: Option<Setting>,
    /// `IPV6` of /etc/default/ufw (ufw's default is yes).
    pub ipv6: bool,
    /// `DEFAULT_INPUT_POLICY`, `DEFAULT_OUTPUT_POLICY`, `DEFAULT_FORWARD_POLICY`.
    pub defaults: Vec<(String, Setting)>,
    pub v4: Vec<ipt::Rules>,
    pub v6: Vec<ipt::Rules>,
}

impl Ufw {
    pub fn is_enabled(&self) -> bool {
        self.enabled
            .as_ref()
            .is_some_and(|s| s.value.eq_ignore_ascii_case("yes"))
    }

    /// The default policy for `input`, `output` or `forward` (upper case), where it is set.
    pub fn policy(&self, hook: &str) -> Option<&Setting> {
        get(
            &self.defaults,
            &format!("DEFAULT_{}_POLICY", hook.to_ascii_uppercase()),
        )
    }
}

/// Builds [`Ufw`] from file contents: `read(path)` returns `Ok(None)` for a missing file.
pub fn load(
    read: &dyn Fn(&str) -> Result<Option<String>, LineError>,
) -> Result<Option<Ufw>, LineError> {
    let Some(conf) = read(UFW_CONF)? else {
        return Ok(None);
    };
    let conf = parse_settings(&conf, UFW_CONF);
    let defaults = read(DEFAULTS)?
        .map(|t| parse_settings(&t, DEFAULTS))
        .unwrap_or_default();
    let ipv6 = get(&defaults, "IPV6").is_none_or(|s| s.value.eq_ignore_ascii_case("yes"));
    let mut u = Ufw {
        enabled: get(&conf, "ENABLED").cloned(),
        ipv6,
        defaults: defaults
            .into_iter()
            .filter(|(k, _)| k.starts_with("DEFAULT_") && k.ends_with("_POLICY"))
            .collect(),
        ..Ufw::default()
    };
    for (list, out) in [(RULES_V4, &mut u.v4), (RULES_V6, &mut u.v6)] {
        for p in list {
            if let Some(t) = read(p)? {
                out.push(ipt::parse(&t, p)?);
            }
        }
    }
    Ok(Some(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(extra: &[(&str, &str)]) -> impl Fn(&str) -> Result<Option<String>, LineError> {
        let mut m: Vec<(String, String)> = vec![
            (
                UFW_CONF.into(),
                include_str!("testdata/debian12-ufw.conf").into(),
            ),
            (
                DEFAULTS.into(),
                include_str!("testdata/debian12-default-ufw").into(),
            ),
            (
                "/etc/ufw/before.rules".into(),
                include_str!("testdata/debian12-ufw-before.rules").into(),
            ),
            (
                "/etc/ufw/user.rules".into(),
                include_str!("testdata/debian12-ufw-user.rules").into(),
            ),
            (
                "/etc/ufw/user6.rules".into(),
                include_str!("testdata/debian12-ufw-user6.rules").into(),
            ),
        ];
        for (k, v) in extra {
            m.retain(|(a, _)| a != k);
            m.push((k.to_string(), v.to_string()));
        }
        move |p: &str| Ok(m.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone()))
    }

    #[test]
    fn debian_stock_ufw_is_installed_but_not_enabled() {
        let u = load(&files(&[])).unwrap().unwrap();
        assert!(!u.is_enabled());
        let e = u.enabled.as_ref().unwrap();
        assert_eq!((e.value.as_str(), e.origin.line), ("no", 6));
        let p = u.policy("input").unwrap();
        assert_eq!(p.value, "DROP");
        assert_eq!(p.origin.file, DEFAULTS);
        assert_eq!(u.policy("output").unwrap().value, "ACCEPT");
        assert!(u.ipv6);
        assert_eq!(u.v4.len(), 2);
        assert_eq!(u.v6.len(), 1);
    }

    #[test]
    fn enabled_and_errors() {
        let u = load(&files(&[(UFW_CONF, "ENABLED=yes\n")]))
            .unwrap()
            .unwrap();
        assert!(u.is_enabled());
        let e = load(&files(&[(
            "/etc/ufw/user.rules",
            "*filter\n-A x -j ACCEPT\nCOMMIT\n",
        )]))
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("/etc/ufw/user.rules", 2));
        let none = |_: &str| Ok(None);
        assert!(load(&none).unwrap().is_none());
    }
}
