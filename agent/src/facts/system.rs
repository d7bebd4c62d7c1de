//! The per-run cache of the system-hardening facts (audit rules, bootloader, modprobe,
//! systemd daemon configurations, pam_limits, kernel modules): each collected on first use
//! and shared by every check that asks, kept apart from [`super::Facts`]' own fields so that
//! the collectors stay in their modules.

use super::{audit, grub, limits, modprobe, sdconf, FactResult};
use crate::fs::Root;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Default)]
pub struct Cache {
    audit: OnceLock<FactResult<Option<Arc<audit::Rules>>>>,
    boot: OnceLock<FactResult<Arc<grub::Boot>>>,
    modprobe: OnceLock<FactResult<Arc<modprobe::ModprobeConfig>>>,
    kernel_modules: OnceLock<FactResult<Arc<modprobe::KernelModules>>>,
    loaded_modules: OnceLock<FactResult<Option<Arc<Vec<String>>>>>,
    limits: OnceLock<FactResult<Arc<limits::Limits>>>,
    sdconf: Mutex<HashMap<String, FactResult<Arc<sdconf::SdConfig>>>>,
}

impl Cache {
    /// The audit rules the next load applies; `None` when no rules file exists.
    pub fn audit_rules(&self, root: &Root) -> FactResult<Option<Arc<audit::Rules>>> {
        crate::fs::deps::cached("audit", &self.audit, || {
            audit::load(root).map(|o| o.map(Arc::new))
        })
    }

    pub fn boot(&self, root: &Root) -> FactResult<Arc<grub::Boot>> {
        crate::fs::deps::cached("boot", &self.boot, || grub::load(root).map(Arc::new))
    }

    pub fn modprobe(&self, root: &Root) -> FactResult<Arc<modprobe::ModprobeConfig>> {
        crate::fs::deps::cached("modprobe", &self.modprobe, || {
            modprobe::load(root).map(Arc::new)
        })
    }

    pub fn kernel_modules(&self, root: &Root) -> FactResult<Arc<modprobe::KernelModules>> {
        crate::fs::deps::cached("kernel_modules", &self.kernel_modules, || {
            modprobe::kernel_modules(root).map(Arc::new)
        })
    }

    /// Loaded modules from `/proc/modules`; `None` when not scanning a live host.
    pub fn loaded_modules(&self, root: &Root) -> FactResult<Option<Arc<Vec<String>>>> {
        crate::fs::deps::cached("loaded_modules", &self.loaded_modules, || {
            if !root.is_live() {
                return Ok(None);
            }
            match root.read_proc("/proc/modules") {
                Ok(b) => Ok(Some(Arc::new(modprobe::parse_proc_modules(
                    &String::from_utf8_lossy(&b),
                )))),
                // a kernel built without module support
                Err(e) if e.is_not_found() => Ok(Some(Arc::new(Vec::new()))),
                Err(e) => Err(e.into()),
            }
        })
    }

    pub fn limits(&self, root: &Root) -> FactResult<Arc<limits::Limits>> {
        crate::fs::deps::cached("limits", &self.limits, || limits::load(root).map(Arc::new))
    }

    /// `NAME.conf` of systemd (`journald`, `coredump`, `journal-upload`) with drop-ins.
    pub fn sdconf(&self, root: &Root, name: &str) -> FactResult<Arc<sdconf::SdConfig>> {
        crate::fs::deps::cached_in("sdconf", &self.sdconf, name, || {
            sdconf::load(root, name).map(Arc::new)
        })
    }
}
