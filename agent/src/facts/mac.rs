//! Mandatory access control state of the running kernel: AppArmor profiles and modes from
//! securityfs, and the SELinux mode from selinuxfs. Live hosts only: an image has no
//! running kernel, and the configuration side (kernel command line, `/etc/selinux/config`)
//! is read by the boot facts and the keyvalue probe.
//!
//! `/sys/kernel/security/apparmor/profiles` lists one loaded profile per line as
//! `NAME (MODE)`, the mode being `enforce`, `complain`, `kill`, `unconfined`, `prompt` or
//! `user`; a name may contain spaces, the mode is the last parenthesised word.
//! `/sys/module/apparmor/parameters/enabled` says `Y` when the LSM is active.
//! `/sys/fs/selinux/enforce` is `1` (enforcing) or `0` (permissive); no selinuxfs means SELinux
//! is disabled.

use super::{FactError, FactResult, Facts};

pub const AA_PROFILES: &str = "/sys/kernel/security/apparmor/profiles";
pub const AA_ENABLED: &str = "/sys/module/apparmor/parameters/enabled";
pub const SELINUX_ENFORCE: &str = "/sys/fs/selinux/enforce";

/// One loaded AppArmor profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub mode: String,
}

/// Parses the securityfs profile list (pure). Lines without a `(mode)` are returned in the
/// second value.
pub fn parse_profiles(text: &str) -> (Vec<Profile>, Vec<String>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match l
            .strip_suffix(')')
            .and_then(|x| x.rsplit_once(" ("))
            .filter(|(n, m)| !n.is_empty() && !m.is_empty() && !m.contains(' '))
        {
            Some((n, m)) => out.push(Profile {
                name: n.to_string(),
                mode: m.to_string(),
            }),
            None => bad.push(l.to_string()),
        }
    }
    (out, bad)
}

/// AppArmor state of the running kernel.
#[derive(Debug, Clone)]
pub enum AppArmor {
    /// The LSM is not active (module parameter not `Y`, or no securityfs entry).
    Disabled(String),
    Enabled(Vec<Profile>),
}

fn live(f: &Facts, what: &str) -> FactResult<()> {
    if f.root.is_live() {
        Ok(())
    } else {
        Err(FactError::Unavailable(format!(
            "{what} needs a live kernel (scanning an image)"
        )))
    }
}

pub fn apparmor(f: &Facts) -> FactResult<AppArmor> {
    live(f, "the AppArmor state")?;
    match f.root.read_proc(AA_ENABLED) {
        Ok(b) if String::from_utf8_lossy(&b).trim() == "Y" => {}
        Ok(b) => {
            return Ok(AppArmor::Disabled(format!(
                "{AA_ENABLED} is `{}`",
                String::from_utf8_lossy(&b).trim()
            )))
        }
        Err(e) if e.is_not_found() => {
            return Ok(AppArmor::Disabled(
                "the kernel has no AppArmor module".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    match f.root.read_proc(AA_PROFILES) {
        Ok(b) => {
            let (p, bad) = parse_profiles(&String::from_utf8_lossy(&b));
            if let Some(l) = bad.first() {
                return Err(FactError::Failed(format!(
                    "{AA_PROFILES}: cannot read the line `{l}`"
                )));
            }
            Ok(AppArmor::Enabled(p))
        }
        Err(e) if e.is_not_found() => Err(FactError::Failed(format!(
            "AppArmor is enabled but {AA_PROFILES} is absent: is securityfs mounted?"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The running SELinux mode: `enforcing`, `permissive` or `disabled`.
pub fn selinux_mode(f: &Facts) -> FactResult<&'static str> {
    live(f, "the running SELinux mode")?;
    match f.root.read_proc(SELINUX_ENFORCE) {
        Ok(b) => match String::from_utf8_lossy(&b).trim() {
            "1" => Ok("enforcing"),
            "0" => Ok("permissive"),
            v => Err(FactError::Failed(format!(
                "{SELINUX_ENFORCE} holds `{v}`, expected 0 or 1"
            ))),
        },
        Err(e) if e.is_not_found() => Ok("disabled"),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse() {
        let (p, bad) = parse_profiles(
            "/usr/sbin/cupsd (enforce)\nnvidia_modprobe//kmod (complain)\nweird name (unconfined)\nbroken\n",
        );
        assert_eq!(p.len(), 3);
        assert_eq!(p[2].name, "weird name");
        assert_eq!(p[1].mode, "complain");
        assert_eq!(bad, ["broken"]);
    }
}
