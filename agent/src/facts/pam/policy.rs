//! Effective password-quality, lockout and `su` restriction settings: configuration files
//! merged with the arguments on the PAM line (arguments win), over the modules' documented
//! built-in defaults. Each value says where it came from (`None` = built-in default).

use super::{load_stack, PamEntry, PamError, PamStack, PamType};
use crate::facts::origin::Origin;
use crate::fs::Root;

pub const PWQUALITY_CONF: &str = "/etc/security/pwquality.conf";
pub const PWQUALITY_CONF_DIR: &str = "/etc/security/pwquality.conf.d";
pub const FAILLOCK_CONF: &str = "/etc/security/faillock.conf";

/// A `key = value` (or bare `key`) line of pwquality.conf / faillock.conf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfItem {
    pub key: String,
    pub value: Option<String>,
    pub origin: Origin,
}

/// Parses the `name = value` format shared by pwquality.conf(5) and faillock.conf(5): `#`
/// starts a comment, white space around `=` is ignored, a bare name is a flag. Pure; never
/// fails (the libraries skip what they do not understand).
pub fn parse_kv_conf(text: &str, file: &str) -> Vec<ConfItem> {
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = match raw.find('#') {
            Some(p) => &raw[..p],
            None => raw,
        };
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if line.is_empty() {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
            None => (line, None),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        out.push(ConfItem {
            key: key.to_string(),
            value,
            origin: Origin::new(file, i + 1),
        });
    }
    out
}

/// A setting's effective value and where it was set (`None`: the module's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Option<Origin>,
}

impl<T> Setting<T> {
    fn default(value: T) -> Setting<T> {
        Setting {
            value,
            origin: None,
        }
    }
}

fn set_int(s: &mut Setting<i64>, v: Option<&str>, o: &Origin) {
    if let Some(n) = v.and_then(|v| v.trim().parse::<i64>().ok()) {
        *s = Setting {
            value: n,
            origin: Some(o.clone()),
        };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityModule {
    PwQuality,
    Cracklib,
}

/// Effective password quality rules of the `pam_pwquality` (or older `pam_cracklib`) line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwQuality {
    pub module: QualityModule,
    pub entry: PamEntry,
    pub minlen: Setting<i64>,
    pub minclass: Setting<i64>,
    pub dcredit: Setting<i64>,
    pub ucredit: Setting<i64>,
    pub lcredit: Setting<i64>,
    pub ocredit: Setting<i64>,
    pub difok: Setting<i64>,
    pub retry: Setting<i64>,
    pub enforce_for_root: Setting<bool>,
}

impl PwQuality {
    fn defaults(module: QualityModule, entry: PamEntry) -> PwQuality {
        // pwquality.conf(5) (libpwquality 1.4): minlen 8, credits 0, minclass 0, difok 1;
        // pam_pwquality(8): retry 1. pam_cracklib(8): minlen 9, credits 1, difok 5, retry 1.
        let (minlen, credit, difok) = match module {
            QualityModule::PwQuality => (8, 0, 1),
            QualityModule::Cracklib => (9, 1, 5),
        };
        let d = Setting::default;
        PwQuality {
            module,
            entry,
            minlen: d(minlen),
            minclass: d(0),
            dcredit: d(credit),
            ucredit: d(credit),
            lcredit: d(credit),
            ocredit: d(credit),
            difok: d(difok),
            retry: d(1),
            enforce_for_root: Setting::default(false),
        }
    }

    fn apply(&mut self, key: &str, value: Option<&str>, o: &Origin) {
        match key {
            "minlen" => set_int(&mut self.minlen, value, o),
            "minclass" => set_int(&mut self.minclass, value, o),
            "dcredit" => set_int(&mut self.dcredit, value, o),
            "ucredit" => set_int(&mut self.ucredit, value, o),
            "lcredit" => set_int(&mut self.lcredit, value, o),
            "ocredit" => set_int(&mut self.ocredit, value, o),
            "difok" => set_int(&mut self.difok, value, o),
            "retry" => set_int(&mut self.retry, value, o),
            "enforce_for_root" if value.is_none() => {
                self.enforce_for_root = Setting {
                    value: true,
                    origin: Some(o.clone()),
                }
            }
            _ => {}
        }
    }

    /// Pure: the pwquality line, the configuration items (already in reading order), gives the
    /// effective settings. libpwquality never goes below a minlen of 6.
    pub fn compute(entry: &PamEntry, conf: &[ConfItem]) -> PwQuality {
        let module = if entry.module_name() == "pam_cracklib.so" {
            QualityModule::Cracklib
        } else {
            QualityModule::PwQuality
        };
        let mut q = PwQuality::defaults(module, entry.clone());
        if module == QualityModule::PwQuality {
            for c in conf {
                q.apply(&c.key, c.value.as_deref(), &c.origin);
            }
        }
        for (k, v) in entry.args_kv() {
            q.apply(k, v, &entry.origin);
        }
        if module == QualityModule::PwQuality && q.minlen.value < 6 {
            q.minlen.value = 6;
        }
        q
    }
}

/// Reads one `key = value` policy file. A missing file is `Ok(None)` (the module's defaults
/// apply); any other failure (too large, not a regular file, a symlink loop, a NUL byte,
/// permission denied) is an error: the module reads the file, so the defaults would be a guess.
pub fn read_kv_conf(root: &Root, path: &str) -> Result<Option<Vec<ConfItem>>, PamError> {
    match root.read_text(path) {
        Ok(t) => Ok(Some(parse_kv_conf(&t.content, path))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(PamError {
            file: path.to_string(),
            line: 0,
            message: format!("cannot read: {}", e.kind_text()),
        }),
    }
}

/// Reads pwquality's configuration in libpwquality's order: the `pwquality.conf.d/*.conf`
/// files first (ASCII order), then `pwquality.conf`, later values overriding earlier ones.
/// Missing files are fine (defaults apply); an unreadable file or directory is an error.
pub fn load_pwquality_conf(root: &Root) -> Result<Vec<ConfItem>, PamError> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    match root.read_dir(PWQUALITY_CONF_DIR) {
        Ok(entries) => {
            for e in entries {
                if e.name.ends_with(".conf") && !e.name.starts_with('.') {
                    files.push(crate::fs::join(PWQUALITY_CONF_DIR, &e.name));
                }
            }
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            return Err(PamError {
                file: PWQUALITY_CONF_DIR.to_string(),
                line: 0,
                message: format!("cannot list: {}", e.kind_text()),
            })
        }
    }
    files.push(PWQUALITY_CONF.to_string());
    for f in files {
        if let Some(items) = read_kv_conf(root, &f)? {
            out.extend(items);
        }
    }
    Ok(out)
}

/// The effective quality rules of the first `pam_pwquality.so` (else `pam_cracklib.so`) line
/// of a password stack; `None` when the stack has neither.
pub fn pwquality(root: &Root, stack: &PamStack) -> Result<Option<PwQuality>, PamError> {
    let Some(entry) = stack
        .entries
        .iter()
        .filter(|e| e.ptype == PamType::Password)
        .find(|e| matches!(e.module_name(), "pam_pwquality.so" | "pam_cracklib.so"))
    else {
        return Ok(None);
    };
    let conf = if entry.module_name() == "pam_pwquality.so" {
        load_pwquality_conf(root)?
    } else {
        Vec::new()
    };
    Ok(Some(PwQuality::compute(entry, &conf)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockModule {
    Faillock,
    Tally2,
}

/// Effective lockout policy of `pam_faillock` (or the older `pam_tally2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockout {
    pub module: LockModule,
    pub entries: Vec<PamEntry>,
    /// Failures before lock; 0 means never (pam_tally2's default).
    pub deny: Setting<i64>,
    /// Seconds; 0 means the lock does not expire.
    pub unlock_time: Setting<i64>,
    /// Seconds (faillock only).
    pub fail_interval: Setting<i64>,
    pub even_deny_root: Setting<bool>,
}

impl Lockout {
    fn apply(&mut self, key: &str, value: Option<&str>, o: &Origin) {
        match key {
            "deny" => set_int(&mut self.deny, value, o),
            "unlock_time" => {
                if value == Some("never") {
                    self.unlock_time = Setting {
                        value: 0,
                        origin: Some(o.clone()),
                    };
                } else {
                    set_int(&mut self.unlock_time, value, o)
                }
            }
            "fail_interval" => set_int(&mut self.fail_interval, value, o),
            "even_deny_root" | "root_unlock_time" => {
                self.even_deny_root = Setting {
                    value: true,
                    origin: Some(o.clone()),
                }
            }
            _ => {}
        }
    }

    /// Pure: the module lines of an auth stack and faillock.conf's items give the effective
    /// policy. Defaults from faillock.conf(5): deny 3, fail_interval 900, unlock_time 600;
    /// pam_tally2(8): deny 0 (off), unlock_time 0.
    pub fn compute(entries: &[PamEntry], conf: &[ConfItem]) -> Option<Lockout> {
        let first = entries.first()?;
        let module = if first.module_name() == "pam_tally2.so" {
            LockModule::Tally2
        } else {
            LockModule::Faillock
        };
        let d = Setting::default;
        let mut l = match module {
            LockModule::Faillock => Lockout {
                module,
                entries: entries.to_vec(),
                deny: d(3),
                unlock_time: d(600),
                fail_interval: d(900),
                even_deny_root: Setting::default(false),
            },
            LockModule::Tally2 => Lockout {
                module,
                entries: entries.to_vec(),
                deny: d(0),
                unlock_time: d(0),
                fail_interval: d(0),
                even_deny_root: Setting::default(false),
            },
        };
        if module == LockModule::Faillock {
            for c in conf {
                l.apply(&c.key, c.value.as_deref(), &c.origin);
            }
        }
        // Arguments of the lines override the file; the last line's win.
        for e in entries {
            for (k, v) in e.args_kv() {
                l.apply(k, v, &e.origin);
            }
        }
        Some(l)
    }
}

/// The lockout policy of an auth stack: its `pam_faillock.so` lines (else `pam_tally2.so`)
/// plus faillock.conf (or the file named by a `conf=` argument).
pub fn lockout(root: &Root, stack: &PamStack) -> Result<Option<Lockout>, PamError> {
    let pick = |name: &str| -> Vec<PamEntry> {
        stack
            .entries
            .iter()
            .filter(|e| matches!(e.ptype, PamType::Auth | PamType::Account))
            .filter(|e| e.module_name() == name)
            .cloned()
            .collect()
    };
    let mut entries = pick("pam_faillock.so");
    if entries.is_empty() {
        entries = pick("pam_tally2.so");
    }
    let Some(first) = entries.first() else {
        return Ok(None);
    };
    let conf = if first.module_name() == "pam_faillock.so" {
        let path = entries
            .iter()
            .rev()
            .find_map(|e| e.arg("conf"))
            .unwrap_or(FAILLOCK_CONF)
            .to_string();
        read_kv_conf(root, &path)?.unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Lockout::compute(&entries, &conf))
}

/// A `pam_wheel.so` auth line of the `su` service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelRule {
    pub entry: PamEntry,
    /// The group checked: `group=` or pam_wheel's default, `wheel` (the group of gid 0 when no
    /// wheel group exists).
    pub group: String,
    pub use_uid: bool,
    /// required/requisite (or a bracket control defaulting to bad/die), without `deny` or
    /// `trust`: only members of the group may su.
    pub restricts: bool,
}

impl WheelRule {
    pub fn from_entry(e: &PamEntry) -> WheelRule {
        WheelRule {
            entry: e.clone(),
            group: e.arg("group").unwrap_or("wheel").to_string(),
            use_uid: e.has_flag("use_uid"),
            restricts: e.control.is_mandatory() && !e.has_flag("deny") && !e.has_flag("trust"),
        }
    }
}

/// The `pam_wheel.so` auth lines of `/etc/pam.d/su` (commented-out lines are not lines).
pub fn su_wheel(root: &Root) -> Result<Vec<WheelRule>, PamError> {
    let s = load_stack(root, "su")?;
    Ok(s.entries
        .iter()
        .filter(|e| e.ptype == PamType::Auth && e.module_name() == "pam_wheel.so")
        .map(WheelRule::from_entry)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::{parse_service, PamLine};
    use super::*;

    fn entry(line: &str) -> PamEntry {
        match parse_service(line, "/etc/pam.d/common-password")
            .unwrap()
            .remove(0)
        {
            PamLine::Rule(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kv_conf_table() {
        let items = parse_kv_conf(
            "# comment\n minlen = 14 \nenforce_for_root\n\ndcredit=-1 # trailing\nbad key = 1\r\n=5\n",
            "/etc/security/pwquality.conf",
        );
        let v: Vec<(&str, Option<&str>, usize)> = items
            .iter()
            .map(|i| (i.key.as_str(), i.value.as_deref(), i.origin.line))
            .collect();
        assert_eq!(
            v,
            [
                ("minlen", Some("14"), 2),
                ("enforce_for_root", None, 3),
                ("dcredit", Some("-1"), 5)
            ]
        );
    }

    #[test]
    fn pwquality_args_override_conf_over_defaults() {
        let conf = parse_kv_conf(
            "minlen = 14\nucredit = -1\nretry = 5\n",
            "/etc/security/pwquality.conf",
        );
        let e = entry("password requisite pam_pwquality.so retry=3 minlen=12 enforce_for_root");
        let q = PwQuality::compute(&e, &conf);
        assert_eq!(q.minlen.value, 12);
        assert_eq!(
            q.minlen.origin.as_ref().unwrap().file,
            "/etc/pam.d/common-password"
        );
        assert_eq!(q.ucredit.value, -1);
        assert_eq!(q.ucredit.origin.as_ref().unwrap().line, 2);
        assert_eq!(q.retry.value, 3);
        assert!(q.enforce_for_root.value);
        assert_eq!(q.dcredit, Setting::default(0));
        let q = PwQuality::compute(&entry("password requisite pam_pwquality.so minlen=4"), &[]);
        assert_eq!(q.minlen.value, 6, "libpwquality's floor");
        let q = PwQuality::compute(&entry("password requisite pam_cracklib.so retry=3"), &conf);
        assert_eq!(
            (q.module, q.minlen.value, q.dcredit.value),
            (QualityModule::Cracklib, 9, 1)
        );
    }

    #[test]
    fn lockout_defaults_and_overrides() {
        let conf = parse_kv_conf(
            "deny = 5\nunlock_time = never\neven_deny_root\n",
            "/etc/security/faillock.conf",
        );
        let e = [
            entry("auth required pam_faillock.so preauth"),
            entry("auth [default=die] pam_faillock.so authfail deny=4"),
        ];
        let l = Lockout::compute(&e, &conf).unwrap();
        assert_eq!(l.deny.value, 4);
        assert_eq!(l.unlock_time.value, 0);
        assert_eq!(l.fail_interval, Setting::default(900));
        assert!(l.even_deny_root.value);
        let l = Lockout::compute(&[entry("auth required pam_faillock.so preauth")], &[]).unwrap();
        assert_eq!((l.deny.value, l.unlock_time.value), (3, 600));
        let l = Lockout::compute(
            &[entry("auth required pam_tally2.so deny=5 onerr=fail")],
            &[],
        )
        .unwrap();
        assert_eq!((l.module, l.deny.value), (LockModule::Tally2, 5));
        assert!(Lockout::compute(&[], &conf).is_none());
    }

    #[test]
    fn wheel_rules() {
        let w = WheelRule::from_entry(&entry("auth required pam_wheel.so use_uid group=admins"));
        assert!(w.restricts && w.use_uid);
        assert_eq!(w.group, "admins");
        let w = WheelRule::from_entry(&entry("auth sufficient pam_wheel.so trust"));
        assert!(!w.restricts);
        assert_eq!(w.group, "wheel");
    }

    #[test]
    fn loads_through_root() {
        let t = tempfile::tempdir().unwrap();
        let w = |p: &str, c: &str| {
            let f = t.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, c).unwrap();
        };
        w("etc/pam.d/su", "auth sufficient pam_rootok.so\n# auth required pam_wheel.so\nauth required pam_wheel.so use_uid\n@include common-auth\n");
        w("etc/pam.d/common-auth", "auth required pam_faillock.so preauth\nauth [success=1 default=ignore] pam_unix.so nullok\n");
        w(
            "etc/pam.d/common-password",
            "password requisite pam_pwquality.so retry=3\n",
        );
        w("etc/security/pwquality.conf", "minlen = 10\n");
        w(
            "etc/security/pwquality.conf.d/50-local.conf",
            "minlen = 20\nminclass = 3\n",
        );
        w("etc/security/faillock.conf", "deny = 4\n");
        let r = Root::new(t.path()).unwrap();
        let su = su_wheel(&r).unwrap();
        assert_eq!(su.len(), 1);
        assert_eq!(su[0].entry.origin.line, 3);
        let p = load_stack(&r, "common-password").unwrap();
        let q = pwquality(&r, &p).unwrap().unwrap();
        assert_eq!(
            q.minlen.value, 10,
            "pwquality.conf is read after pwquality.conf.d"
        );
        assert_eq!(q.minclass.value, 3);
        let a = load_stack(&r, "su").unwrap();
        assert_eq!(lockout(&r, &a).unwrap().unwrap().deny.value, 4);
        assert_eq!(a.nullok().len(), 1);
    }
}
