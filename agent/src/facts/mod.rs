//! Host facts: one collector per area. Collectors read through the scan [`Root`]; the parsers
//! they call are pure (text in, typed facts out) so they can be tested and fuzzed alone.
//!
//! [`Facts`] collects lazily and caches: a run with `--only SSH-001` reads sshd_config and
//! nothing else, and twenty checks on `/etc/login.defs` read it once.

pub mod accounts;
pub mod audit;
pub mod confdirs;
pub mod firewall;
pub mod grub;
pub mod host;
pub mod kv;
pub mod limits;
pub mod logindefs;
pub mod mac;
pub mod modprobe;
pub mod mounts;
pub mod origin;
pub mod packages;
pub mod pam;
pub mod procs;
pub mod rpmdb;
pub mod sdconf;
pub mod services;
pub mod sockets;
pub mod sshd;
pub mod sudoers;
pub mod summary;
pub mod sysctl;
pub mod system;
pub mod walk;

use crate::fs::{FsError, Root, Text};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// Why a fact is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactError {
    /// Not available here (a live-kernel fact under `--root`, an unsupported package
    /// database): checks needing it are NOT_APPLICABLE.
    Unavailable(String),
    /// Could not be collected (unreadable, malformed): checks needing it are ERROR.
    Failed(String),
}

impl fmt::Display for FactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactError::Unavailable(m) | FactError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<FsError> for FactError {
    fn from(e: FsError) -> Self {
        FactError::Failed(e.to_string())
    }
}

pub type FactResult<T> = Result<T, FactError>;

/// The top sudoers file.
pub const SUDOERS: &str = "/etc/sudoers";

/// Lazily collected, cached facts about one scan root.
pub struct Facts<'r> {
    pub root: &'r Root,
    pub walk_limits: walk::Limits,
    /// Audit, bootloader, modprobe, systemd and limits facts (see [`system`]).
    pub system: system::Cache,
    os: OnceLock<host::OsInfo>,
    accounts: OnceLock<FactResult<Arc<accounts::Accounts>>>,
    mounts: OnceLock<FactResult<Arc<Vec<mounts::Mount>>>>,
    procs: OnceLock<FactResult<Arc<Vec<procs::Process>>>>,
    sockets: OnceLock<FactResult<Arc<Vec<sockets::Socket>>>>,
    sysctl: OnceLock<FactResult<Arc<sysctl::SysctlConfig>>>,
    units: OnceLock<Arc<services::UnitIndex>>,
    packages: OnceLock<FactResult<Arc<packages::Packages>>>,
    walk: OnceLock<FactResult<Arc<walk::WalkReport>>>,
    sudoers: OnceLock<FactResult<Option<Arc<sudoers::Sudoers>>>>,
    pam_auth: OnceLock<FactResult<Arc<Vec<pam::PamStack>>>>,
    pam_password: OnceLock<FactResult<Arc<Vec<pam::PamStack>>>>,
    pam_su: OnceLock<FactResult<Option<Arc<pam::PamStack>>>>,
    login_defs: OnceLock<FactResult<Arc<logindefs::LoginDefs>>>,
    sshd: Mutex<HashMap<String, FactResult<Option<Arc<sshd::SshdConfig>>>>>,
    texts: Mutex<HashMap<String, Result<Arc<Text>, FsError>>>,
    firewall: OnceLock<Arc<firewall::Firewall>>,
}

impl<'r> Facts<'r> {
    pub fn new(root: &'r Root) -> Self {
        Facts {
            root,
            walk_limits: walk::Limits::default(),
            system: system::Cache::default(),
            os: OnceLock::new(),
            accounts: OnceLock::new(),
            mounts: OnceLock::new(),
            procs: OnceLock::new(),
            sockets: OnceLock::new(),
            sysctl: OnceLock::new(),
            units: OnceLock::new(),
            packages: OnceLock::new(),
            walk: OnceLock::new(),
            sudoers: OnceLock::new(),
            pam_auth: OnceLock::new(),
            pam_password: OnceLock::new(),
            pam_su: OnceLock::new(),
            login_defs: OnceLock::new(),
            sshd: Mutex::new(HashMap::new()),
            texts: Mutex::new(HashMap::new()),
            firewall: OnceLock::new(),
        }
    }

    /// A text file, read once per run.
    pub fn text(&self, path: &str) -> Result<Arc<Text>, FsError> {
        crate::fs::deps::cached_in("text", &self.texts, path, || {
            self.root.read_text(path).map(Arc::new)
        })
    }

    /// Expands globs in a list of paths (sorted per pattern, duplicates removed).
    pub fn expand(&self, patterns: &[String]) -> Result<Vec<String>, FsError> {
        let mut out = Vec::new();
        for p in patterns {
            if p.split('/').any(crate::fs::has_wildcard) {
                for m in self.root.glob(p)? {
                    if !out.contains(&m) {
                        out.push(m);
                    }
                }
            } else if !out.contains(p) {
                out.push(p.clone());
            }
        }
        Ok(out)
    }

    /// The host firewall: frameworks enabled at boot and the rules they load (see
    /// [`firewall`]), collected once.
    pub fn firewall(&self) -> Arc<firewall::Firewall> {
        crate::fs::deps::cached("firewall", &self.firewall, || {
            Arc::new(firewall::collect(self))
        })
    }

    pub fn os(&self) -> &host::OsInfo {
        if crate::fs::deps::active() {
            let _ = crate::fs::deps::cached("os", &self.os, || host::os_info(self.root));
        }
        self.os.get_or_init(|| host::os_info(self.root))
    }

    pub fn accounts(&self) -> FactResult<Arc<accounts::Accounts>> {
        crate::fs::deps::cached("accounts", &self.accounts, || {
            accounts::collect(self).map(Arc::new)
        })
    }

    pub fn mounts(&self) -> FactResult<Arc<Vec<mounts::Mount>>> {
        crate::fs::deps::cached("mounts", &self.mounts, || {
            mounts::collect(self.root).map(Arc::new)
        })
    }

    pub fn processes(&self) -> FactResult<Arc<Vec<procs::Process>>> {
        crate::fs::deps::cached("procs", &self.procs, || procs::collect(self).map(Arc::new))
    }

    pub fn sockets(&self) -> FactResult<Arc<Vec<sockets::Socket>>> {
        crate::fs::deps::cached("sockets", &self.sockets, || {
            sockets::collect(self).map(Arc::new)
        })
    }

    pub fn sysctl_config(&self) -> FactResult<Arc<sysctl::SysctlConfig>> {
        crate::fs::deps::cached("sysctl", &self.sysctl, || {
            sysctl::collect_config(self.root).map(Arc::new)
        })
    }

    pub fn units(&self) -> Arc<services::UnitIndex> {
        crate::fs::deps::cached("units", &self.units, || {
            Arc::new(services::index(self.root))
        })
    }

    pub fn packages(&self) -> FactResult<Arc<packages::Packages>> {
        crate::fs::deps::cached("packages", &self.packages, || {
            packages::collect(self.root).map(Arc::new)
        })
    }

    pub fn walk(&self) -> FactResult<Arc<walk::WalkReport>> {
        crate::fs::deps::cached("walk", &self.walk, || walk::run(self).map(Arc::new))
    }

    /// The sudo policy (`/etc/sudoers` and what it includes). `Ok(None)`: `/etc/sudoers` does
    /// not exist (sudo is not installed). A file `visudo -c` would reject is `Failed` with
    /// its `file:line`.
    pub fn sudoers(&self) -> FactResult<Option<Arc<sudoers::Sudoers>>> {
        crate::fs::deps::cached("sudoers", &self.sudoers, || {
            if !self.root.exists(SUDOERS) {
                return Ok(None);
            }
            sudoers::load(self.root, SUDOERS)
                .map(|s| Some(Arc::new(s)))
                .map_err(|e| FactError::Failed(format!("sudoers rejected: {e}")))
        })
    }

    /// The shared auth stacks, one per service that exists among [`pam::AUTH_SERVICES`]
    /// (`common-auth` on Debian; `system-auth` and `password-auth` on RHEL), includes
    /// expanded. Empty when none exists.
    pub fn pam_auth(&self) -> FactResult<Arc<Vec<pam::PamStack>>> {
        crate::fs::deps::cached("pam_auth", &self.pam_auth, || {
            self.pam_services(pam::AUTH_SERVICES)
        })
    }

    /// The shared password stacks ([`pam::PASSWORD_SERVICES`]), like [`Facts::pam_auth`].
    pub fn pam_password(&self) -> FactResult<Arc<Vec<pam::PamStack>>> {
        crate::fs::deps::cached("pam_password", &self.pam_password, || {
            self.pam_services(pam::PASSWORD_SERVICES)
        })
    }

    /// `/etc/pam.d/su` with includes expanded; `Ok(None)` when it does not exist.
    pub fn pam_su(&self) -> FactResult<Option<Arc<pam::PamStack>>> {
        crate::fs::deps::cached("pam_su", &self.pam_su, || {
            if !self.root.exists(&format!("{}/su", pam::PAM_DIR)) {
                return Ok(None);
            }
            pam::load_stack(self.root, "su")
                .map(|s| Some(Arc::new(s)))
                .map_err(|e| FactError::Failed(format!("PAM configuration rejected: {e}")))
        })
    }

    fn pam_services(&self, candidates: &[&str]) -> FactResult<Arc<Vec<pam::PamStack>>> {
        let mut out = Vec::new();
        for c in candidates {
            if !self.root.exists(&format!("{}/{c}", pam::PAM_DIR)) {
                continue;
            }
            let s = pam::load_stack(self.root, c)
                .map_err(|e| FactError::Failed(format!("PAM configuration rejected: {e}")))?;
            out.push(s);
        }
        Ok(Arc::new(out))
    }

    /// `/etc/login.defs` (empty when absent: shadow-utils' built-in defaults apply).
    pub fn login_defs(&self) -> FactResult<Arc<logindefs::LoginDefs>> {
        crate::fs::deps::cached("login_defs", &self.login_defs, || {
            logindefs::load(self.root)
                .map(Arc::new)
                .map_err(FactError::from)
        })
    }

    /// The sshd configuration at `path` (usually [`sshd::DEFAULT_CONFIG`]) with its includes,
    /// loaded once per path and run. `Ok(None)`: the file does not exist (openssh-server is
    /// not installed). A configuration sshd would refuse to start with is `Failed` naming
    /// `file:line`.
    pub fn sshd(&self, path: &str) -> FactResult<Option<Arc<sshd::SshdConfig>>> {
        crate::fs::deps::cached_in("sshd", &self.sshd, path, || self.load_sshd(path))
    }

    fn load_sshd(&self, path: &str) -> FactResult<Option<Arc<sshd::SshdConfig>>> {
        match sshd::load(self.root, path) {
            Ok(c) => Ok(Some(Arc::new(c))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e @ sshd::SshdError::Read(_)) => Err(FactError::Failed(format!(
                "cannot read the sshd configuration: {e}"
            ))),
            Err(e @ sshd::SshdError::Version(_)) => Err(FactError::Failed(e.to_string())),
            Err(sshd::SshdError::Fatal(m)) => Err(FactError::Failed(format!(
                "sshd would refuse this configuration: {path}: {m}"
            ))),
            Err(e) => Err(FactError::Failed(format!(
                "sshd would refuse this configuration: {}",
                e.located()
            ))),
        }
    }

    /// Name of a uid in the scanned system's passwd, if any.
    pub fn user_name(&self, uid: u32) -> Option<String> {
        let a = self.accounts().ok()?;
        a.users
            .iter()
            .find(|u| u.uid == uid)
            .map(|u| u.name.clone())
    }

    /// Name of a gid in the scanned system's group file, if any.
    pub fn group_name(&self, gid: u32) -> Option<String> {
        let a = self.accounts().ok()?;
        a.groups
            .iter()
            .find(|g| g.gid == gid)
            .map(|g| g.name.clone())
    }

    /// Error for a live-only fact when scanning an image.
    pub fn require_live(&self, what: &str, path: &str) -> FactResult<()> {
        if self.root.exists(path) {
            Ok(())
        } else if self.root.is_live() {
            Err(FactError::Failed(format!(
                "{path} is not readable: is /proc mounted?"
            )))
        } else {
            Err(FactError::Unavailable(format!(
                "{what} needs a live kernel ({path} is absent under the scan root)"
            )))
        }
    }
}
