//! Password history (`pam_pwhistory`) and the pwquality settings CIS adds to the classic
//! length and credit rules (`maxrepeat`, `maxsequence`, `dictcheck`, `enforcing`), merged the
//! way the modules merge them: built-in default < configuration file < arguments on the PAM
//! line. Each value says where it came from (`None`: the module's default).
//!
//! Why a separate module: these settings are read only by the CIS-oriented PAM tests, and
//! keeping them apart leaves the shared quality/lockout code in [`super::policy`] untouched.

use super::policy::{parse_kv_conf, ConfItem, Setting};
use super::{PamEntry, PamStack, PamType};
use crate::facts::origin::LineError;
use crate::fs::Root;

/// pwhistory.conf(5), read by pam_pwhistory since Linux-PAM 1.5.
pub const PWHISTORY_CONF: &str = "/etc/security/pwhistory.conf";

/// Effective pam_pwhistory settings of one password line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwHistory {
    pub entry: PamEntry,
    /// Old passwords remembered (pam_pwhistory default 10; 0 turns the check off).
    pub remember: Setting<i64>,
    /// Also refuse root a reused password (default off).
    pub enforce_for_root: Setting<bool>,
    /// Take the new password from the module before it (an argument only).
    pub use_authtok: bool,
}

fn set<T>(s: &mut Setting<T>, v: T, o: &crate::facts::origin::Origin) {
    *s = Setting {
        value: v,
        origin: Some(o.clone()),
    };
}

impl PwHistory {
    /// Pure: the line and the configuration items give the effective settings.
    pub fn compute(entry: &PamEntry, conf: &[ConfItem]) -> PwHistory {
        let mut h = PwHistory {
            entry: entry.clone(),
            remember: Setting {
                value: 10,
                origin: None,
            },
            enforce_for_root: Setting {
                value: false,
                origin: None,
            },
            use_authtok: entry.has_flag("use_authtok"),
        };
        let items = conf
            .iter()
            .map(|c| (c.key.as_str(), c.value.as_deref(), &c.origin))
            .chain(
                entry
                    .args_kv()
                    .into_iter()
                    .map(|(k, v)| (k, v, &entry.origin)),
            );
        for (k, v, o) in items {
            match (k, v) {
                ("remember", Some(n)) => {
                    if let Ok(n) = n.trim().parse() {
                        set(&mut h.remember, n, o);
                    }
                }
                ("enforce_for_root", None) => set(&mut h.enforce_for_root, true, o),
                _ => {}
            }
        }
        h
    }
}

/// The first `pam_pwhistory.so` password line of a stack with its configuration (the
/// `conf=` file, else [`PWHISTORY_CONF`]); `Ok(None)` when the stack has none. A
/// configuration file that exists but cannot be read is an error.
pub fn pwhistory(root: &Root, stack: &PamStack) -> Result<Option<PwHistory>, LineError> {
    let Some(entry) = stack
        .entries
        .iter()
        .filter(|e| e.ptype == PamType::Password)
        .find(|e| e.module_name() == "pam_pwhistory.so")
    else {
        return Ok(None);
    };
    let file = entry.arg("conf").unwrap_or(PWHISTORY_CONF);
    let conf = match root.read_text(file) {
        Ok(t) => parse_kv_conf(&t.content, file),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            return Err(LineError {
                file: file.to_string(),
                line: 0,
                message: e.to_string(),
            })
        }
    };
    Ok(Some(PwHistory::compute(entry, &conf)))
}

/// pwquality settings beyond [`super::policy::PwQuality`]: `maxrepeat`, `maxsequence`
/// (0 = no limit), `dictcheck`, `enforcing` (nonzero = on). `conf` is pwquality's
/// configuration in reading order (ignored for pam_cracklib, which has no file).
pub fn pwquality_extra(entry: &PamEntry, conf: &[ConfItem], key: &str) -> Setting<i64> {
    let cracklib = entry.module_name() == "pam_cracklib.so";
    // pwquality.conf(5): maxrepeat 0, maxsequence 0, dictcheck 1, enforcing 1. pam_cracklib
    // always checks its dictionary and always enforces, and has no maxsequence.
    let mut s = Setting {
        value: match key {
            "dictcheck" | "enforcing" => 1,
            _ => 0,
        },
        origin: None,
    };
    if cracklib && matches!(key, "dictcheck" | "enforcing" | "maxsequence") {
        return s;
    }
    let file_items = if cracklib { &[][..] } else { conf };
    for c in file_items {
        if c.key == key {
            if let Some(n) = c.value.as_deref().and_then(|v| v.trim().parse().ok()) {
                set(&mut s, n, &c.origin);
            }
        }
    }
    for (k, v) in entry.args_kv() {
        if k == key {
            if let Some(n) = v.and_then(|v| v.trim().parse().ok()) {
                set(&mut s, n, &entry.origin);
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::pam::parse_service;

    fn entry(line: &str) -> PamEntry {
        let lines = parse_service(line, "/etc/pam.d/common-password").unwrap();
        match &lines[0] {
            crate::facts::pam::PamLine::Rule(e) => e.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pwhistory_merges_defaults_file_and_arguments() {
        let e = entry("password required pam_pwhistory.so use_authtok\n");
        let h = PwHistory::compute(&e, &[]);
        assert_eq!(h.remember.value, 10);
        assert!(h.remember.origin.is_none());
        assert!(!h.enforce_for_root.value);
        assert!(h.use_authtok);
        let conf = parse_kv_conf(
            "# history\nremember = 24\nenforce_for_root\n",
            PWHISTORY_CONF,
        );
        let h = PwHistory::compute(&e, &conf);
        assert_eq!(h.remember.value, 24);
        assert_eq!(h.remember.origin.as_ref().unwrap().line, 2);
        assert!(h.enforce_for_root.value);
        let e = entry("password requisite pam_pwhistory.so remember=5\n");
        let h = PwHistory::compute(&e, &conf);
        assert_eq!(h.remember.value, 5);
        assert_eq!(
            h.remember.origin.as_ref().unwrap().file,
            "/etc/pam.d/common-password"
        );
        assert!(!h.use_authtok);
    }

    #[test]
    fn pwquality_extras() {
        let e = entry("password requisite pam_pwquality.so retry=3 maxrepeat=3\n");
        let conf = parse_kv_conf(
            "maxrepeat = 2\nmaxsequence = 3\ndictcheck = 0\n",
            "/etc/security/pwquality.conf",
        );
        assert_eq!(pwquality_extra(&e, &conf, "maxrepeat").value, 3);
        assert_eq!(pwquality_extra(&e, &conf, "maxsequence").value, 3);
        assert_eq!(pwquality_extra(&e, &conf, "dictcheck").value, 0);
        let en = pwquality_extra(&e, &conf, "enforcing");
        assert_eq!((en.value, en.origin), (1, None));
        let c = entry("password requisite pam_cracklib.so maxrepeat=2\n");
        assert_eq!(pwquality_extra(&c, &conf, "maxrepeat").value, 2);
        assert_eq!(pwquality_extra(&c, &conf, "dictcheck").value, 1);
    }
}
