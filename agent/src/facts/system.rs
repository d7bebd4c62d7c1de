//! The per-run cache of the system-hardening facts (audit rules, bootloader, modprobe,
//! systemd daemon configurations, pam_limits, kernel modules): each collected on first use
//! and shared by every check that asks, kept apart from [`super::Facts`]' own fields so that
//! the collectors stay in their modules.

use super::{audit, grub, limits, modprobe, sdconf, FactResult};
use crate::fs::Root;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Default)]
pub struct Cache {
    audit: OnceCell<FactResult<Option<Rc<audit::Rules>>>>,
    boot: OnceCell<FactResult<Rc<grub::Boot>>>,
    modprobe: OnceCell<FactResult<Rc<modprobe::ModprobeConfig>>>,
    kernel_modules: OnceCell<FactResult<Rc<modprobe::KernelModules>>>,
    loaded_modules: OnceCell<FactResult<Option<Rc<Vec<String>>>>>,
    limits: OnceCell<FactResult<Rc<limits::Limits>>>,
    sdconf: RefCell<HashMap<String, FactResult<Rc<sdconf::SdConfig>>>>,
}

impl Cache {
    /// The audit rules the next load applies; `None` when no rules file exists.
    pub fn audit_rules(&self, root: &Root) -> FactResult<Option<Rc<audit::Rules>>> {
        self.audit
            .get_or_init(|| audit::load(root).map(|o| o.map(Rc::new)))
            .clone()
    }

    pub fn boot(&self, root: &Root) -> FactResult<Rc<grub::Boot>> {
        self.boot
            .get_or_init(|| grub::load(root).map(Rc::new))
            .clone()
    }

    pub fn modprobe(&self, root: &Root) -> FactResult<Rc<modprobe::ModprobeConfig>> {
        self.modprobe
            .get_or_init(|| modprobe::load(root).map(Rc::new))
            .clone()
    }

    pub fn kernel_modules(&self, root: &Root) -> FactResult<Rc<modprobe::KernelModules>> {
        self.kernel_modules
            .get_or_init(|| modprobe::kernel_modules(root).map(Rc::new))
            .clone()
    }

    /// Loaded modules from `/proc/modules`; `None` when not scanning a live host.
    pub fn loaded_modules(&self, root: &Root) -> FactResult<Option<Rc<Vec<String>>>> {
        self.loaded_modules
            .get_or_init(|| {
                if !root.is_live() {
                    return Ok(None);
                }
                match root.read_proc("/proc/modules") {
                    Ok(b) => Ok(Some(Rc::new(modprobe::parse_proc_modules(
                        &String::from_utf8_lossy(&b),
                    )))),
                    // a kernel built without module support
                    Err(e) if e.is_not_found() => Ok(Some(Rc::new(Vec::new()))),
                    Err(e) => Err(e.into()),
                }
            })
            .clone()
    }

    pub fn limits(&self, root: &Root) -> FactResult<Rc<limits::Limits>> {
        self.limits
            .get_or_init(|| limits::load(root).map(Rc::new))
            .clone()
    }

    /// `NAME.conf` of systemd (`journald`, `coredump`, `journal-upload`) with drop-ins.
    pub fn sdconf(&self, root: &Root, name: &str) -> FactResult<Rc<sdconf::SdConfig>> {
        if let Some(r) = self.sdconf.borrow().get(name) {
            return r.clone();
        }
        let r = sdconf::load(root, name).map(Rc::new);
        self.sdconf.borrow_mut().insert(name.to_string(), r.clone());
        r
    }
}
