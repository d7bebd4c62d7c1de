//! Kernel module policy: can `modprobe` load a module, is it on the deny list, is it loaded.
//!
//! Configuration as kmod reads it (modprobe.d(5)): `*.conf` files of `/etc/modprobe.d`,
//! `/run/modprobe.d`, `/usr/local/lib/modprobe.d`, `/usr/lib/modprobe.d` and `/lib/modprobe.d`,
//! merged by file name (an earlier directory masks the same name in a later one) and read in
//! name order. A line is a command and its arguments; `#` starts a comment line and a
//! trailing `\` continues a line. Module names treat `-` and `_` alike. For `install`, the
//! first matching command in reading order is the one modprobe runs (kmod and
//! module-init-tools both stop at the first); its pattern may be a shell glob. `blacklist`
//! stops loading through aliases (hardware and filesystem auto-loading) but not an explicit
//! `modprobe NAME`, which is why CIS asks for both an `install NAME /bin/false` and a
//! `blacklist NAME`. A `modprobe.blacklist=` kernel parameter also deny-lists.
//!
//! Whether a module exists at all comes from `modules.dep` and `modules.builtin` of each
//! kernel under `/lib/modules`; whether it is loaded from `/proc/modules` on a live host.

use super::confdirs::{read_dropins, Budget};
use super::origin::Origin;
use super::FactResult;
use crate::fs::Root;

pub const DIRS: &[&str] = &[
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
];

/// One command of interest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `install PATTERN COMMAND...`
    Install { pattern: String, command: String },
    /// `blacklist NAME`
    Blacklist(String),
    /// Any other command (alias, options, remove, softdep...).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub command: Command,
    pub origin: Origin,
}

/// `-` and `_` are the same in module names.
pub fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

/// Parses one modprobe.d file (pure; kmod skips lines it does not understand, so this
/// never fails).
pub fn parse(text: &str, file: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.trim_end_matches('\r');
        if pending.is_empty() {
            start = i + 1;
        }
        if let Some(head) = raw.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(raw);
        let line = std::mem::take(&mut pending);
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut words = t.split_whitespace();
        let cmd = words.next().unwrap_or_default();
        let origin = Origin::new(file, start);
        let command = match cmd {
            "install" => {
                let Some(pattern) = words.next() else {
                    continue;
                };
                let rest = t
                    .splitn(3, char::is_whitespace)
                    .nth(2)
                    .unwrap_or("")
                    .trim()
                    .to_string();
                Command::Install {
                    pattern: normalise(pattern),
                    command: rest,
                }
            }
            "blacklist" => match words.next() {
                Some(n) => Command::Blacklist(normalise(n)),
                None => continue,
            },
            other => Command::Other(other.to_string()),
        };
        out.push(Entry { command, origin });
    }
    out
}

/// Whether an install command refuses to load (`/bin/false`, `/bin/true`, `false`...).
pub fn install_blocks(command: &str) -> bool {
    let first = command.split_whitespace().next().unwrap_or("");
    let base = first.rsplit('/').next().unwrap_or("");
    matches!(base, "false" | "true") && command.split_whitespace().count() == 1
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct ModprobeConfig {
    pub entries: Vec<Entry>,
    pub files: Vec<String>,
}

impl ModprobeConfig {
    /// The install command modprobe runs for `module` (the first match).
    pub fn install(&self, module: &str) -> Option<(&str, &Origin)> {
        let m = normalise(module);
        self.entries.iter().find_map(|e| match &e.command {
            Command::Install { pattern, command } if crate::fs::fnmatch(pattern, &m) => {
                Some((command.as_str(), &e.origin))
            }
            _ => None,
        })
    }

    /// The first `blacklist` line for `module`.
    pub fn blacklist(&self, module: &str) -> Option<&Origin> {
        let m = normalise(module);
        self.entries.iter().find_map(|e| match &e.command {
            Command::Blacklist(n) if *n == m => Some(&e.origin),
            _ => None,
        })
    }
}

pub fn load(root: &Root) -> FactResult<ModprobeConfig> {
    let mut budget = Budget::default();
    let mut cfg = ModprobeConfig::default();
    for f in read_dropins(root, DIRS, ".conf", &mut budget)? {
        cfg.entries.extend(parse(&f.content, &f.path));
        cfg.files.push(f.path);
    }
    Ok(cfg)
}

/// Modules of the installed kernels.
#[derive(Debug, Clone, Default)]
pub struct KernelModules {
    /// Kernel versions whose module lists were read.
    pub kernels: Vec<String>,
    /// (kernel, normalised module name, built in).
    pub modules: Vec<(String, String, bool)>,
}

/// The module name of a `modules.dep` / `modules.builtin` path (`kernel/fs/udf/udf.ko.xz`).
fn module_of(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let name = base.split(".ko").next()?;
    (!name.is_empty() && base.contains(".ko")).then(|| normalise(name))
}

/// Parses `modules.dep` (`path: deps...`) or `modules.builtin` (`path`).
pub fn parse_module_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| module_of(l.split(':').next().unwrap_or("").trim()))
        .collect()
}

/// Most kernel directories read under `/lib/modules`.
pub const MAX_KERNELS: usize = 64;

/// Reads `/lib/modules/*/modules.dep` and `modules.builtin` (more than [`MAX_KERNELS`]
/// entries is an error, never a partial answer).
pub fn kernel_modules(root: &Root) -> FactResult<KernelModules> {
    let mut km = KernelModules::default();
    let dir = "/lib/modules";
    let entries = match root.read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.is_not_found() => return Ok(km),
        Err(e) => return Err(e.into()),
    };
    if entries.len() > MAX_KERNELS {
        return Err(super::FactError::Failed(format!(
            "more than {MAX_KERNELS} entries in {dir}: refusing a partial read"
        )));
    }
    for e in entries {
        let base = crate::fs::join(dir, &e.name);
        let mut read_any = false;
        for (file, builtin) in [("modules.dep", false), ("modules.builtin", true)] {
            let p = crate::fs::join(&base, file);
            match root.read_text_limited(&p, 16 * 1024 * 1024) {
                Ok(t) => {
                    read_any = true;
                    km.modules.extend(
                        parse_module_list(&t.content)
                            .into_iter()
                            .map(|m| (e.name.clone(), m, builtin)),
                    );
                }
                Err(x) if x.is_not_found() => {}
                Err(x) => return Err(x.into()),
            }
        }
        if read_any {
            km.kernels.push(e.name);
        }
    }
    Ok(km)
}

/// Loaded module names from `/proc/modules` text.
pub fn parse_proc_modules(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(normalise)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_systemd_file_has_only_options() {
        let t = include_str!(
            "../../../tests/data/debian-stock/bookworm/usr/lib/modprobe.d/systemd.conf"
        );
        let e = parse(t, "/usr/lib/modprobe.d/systemd.conf");
        assert_eq!(e.len(), 3);
        assert!(e
            .iter()
            .all(|e| matches!(&e.command, Command::Other(c) if c == "options")));
        assert_eq!(e[0].origin.line, 16);
    }

    #[test]
    fn install_first_match_and_blacklist() {
        let cfg = ModprobeConfig {
            entries: [
                parse("# x\ninstall usb-storage /bin/false\nblacklist usb_storage\n", "/etc/modprobe.d/a.conf"),
                parse("install usb_storage /sbin/modprobe --ignore-install usb-storage\ninstall cram* /usr/bin/true\nblacklist \\\n  udf\n", "/etc/modprobe.d/b.conf"),
            ]
            .concat(),
            files: vec![],
        };
        let (c, o) = cfg.install("usb-storage").unwrap();
        assert_eq!((c, o.line), ("/bin/false", 2));
        assert!(install_blocks(c));
        assert_eq!(cfg.blacklist("usb-storage").unwrap().line, 3);
        assert!(install_blocks(cfg.install("cramfs").unwrap().0));
        assert_eq!(
            cfg.blacklist("udf").unwrap().line,
            3,
            "continued line starts at 3"
        );
        assert!(cfg.install("udf").is_none());
        assert!(!install_blocks("/sbin/modprobe --ignore-install x"));
        assert!(!install_blocks("/bin/false; /sbin/modprobe x"));
        assert!(install_blocks("false"));
    }

    #[test]
    fn module_lists() {
        assert_eq!(
            parse_module_list("kernel/fs/udf/udf.ko.xz: kernel/lib/crc-itu-t.ko.xz\nkernel/drivers/usb/storage/usb-storage.ko: x\n"),
            ["udf", "usb_storage"]
        );
        assert_eq!(parse_module_list("kernel/fs/ext4/ext4.ko\n"), ["ext4"]);
        assert_eq!(
            parse_proc_modules(
                "sctp 434176 2 - Live 0x0000000000000000\nudf 118784 0 - Live 0x0\n"
            ),
            ["sctp", "udf"]
        );
    }
}
