//! Processes from `/proc/PID/{stat,status,cmdline,exe}`. A process that exits while being
//! read is skipped, not an error.

use super::{FactResult, Facts};
use serde::Serialize;

/// One process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    /// Real UID (from `Uid:` in status).
    pub uid: u32,
    /// User name from the scanned system's passwd, or the number.
    pub user: String,
    /// Kernel `comm` (15 characters at most).
    pub name: String,
    /// Executable path (`readlink /proc/PID/exe`; empty for kernel threads or when denied).
    pub exe: String,
    pub cmdline: Vec<String>,
    /// State letter (R, S, D, Z, T, I...).
    pub state: char,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

impl Process {
    /// Whether the process is known by `name`: its comm, or the basename of its executable
    /// or of argv[0].
    pub fn is_named(&self, name: &str) -> bool {
        let base = |s: &str| s.rsplit('/').next().unwrap_or("").to_string();
        self.name == name
            || base(&self.exe) == name
            || self.cmdline.first().is_some_and(|a| base(a) == name)
    }
    pub fn is_kernel_thread(&self) -> bool {
        self.cmdline.is_empty() && self.exe.is_empty()
    }
}

/// Parses `/proc/PID/stat`: `pid (comm) state ppid ...`; comm may contain spaces and ')'.
pub fn parse_stat(text: &str) -> Option<(String, char, u32, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let state = rest.first()?.chars().next()?;
    let ppid = rest.get(1)?.parse().ok()?;
    let rss_pages: u64 = rest.get(21).and_then(|x| x.parse().ok()).unwrap_or(0);
    Some((name, state, ppid, rss_pages))
}

fn page_size() -> u64 {
    rustix::param::page_size() as u64
}

/// Bound of one `/proc/PID` file (as [`crate::fs::Root::read_proc`]).
const PROC_LIMIT: u64 = 1024 * 1024;

pub fn collect(f: &Facts) -> FactResult<Vec<Process>> {
    f.require_live("the process table", "/proc/1")
        .or_else(|_| f.require_live("the process table", "/proc/self"))?;
    let page = page_size();
    let mut out = Vec::new();
    // `/proc` is opened once and every `/proc/PID` once: its files are read relative to that
    // descriptor (one open per file instead of resolving `/proc/PID/...` for each).
    let proc_dir = f.root.dir_handle("/proc")?;
    for e in f.root.read_dir("/proc")? {
        let Ok(pid) = e.name.parse::<u32>() else {
            continue;
        };
        let Ok(dir) = proc_dir.subdir(&e.name) else {
            continue;
        };
        let Ok(stat) = dir.read_bytes_limited("stat", PROC_LIMIT) else {
            continue;
        };
        let Some((name, state, ppid, rss_pages)) = parse_stat(&String::from_utf8_lossy(&stat))
        else {
            continue;
        };
        let uid = dir
            .read_bytes_limited("status", PROC_LIMIT)
            .ok()
            .and_then(|s| {
                String::from_utf8_lossy(&s).lines().find_map(|l| {
                    l.strip_prefix("Uid:")?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                })
            })
            .unwrap_or(u32::MAX);
        let cmdline = dir
            .read_bytes_limited("cmdline", PROC_LIMIT)
            .map(|b| {
                b.split(|&c| c == 0)
                    .filter(|a| !a.is_empty())
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let exe = dir
            .read_link("exe")
            .unwrap_or_default()
            .trim_end_matches(" (deleted)")
            .to_string();
        let user = f.user_name(uid).unwrap_or_else(|| uid.to_string());
        out.push(Process {
            pid,
            ppid,
            uid,
            user,
            name,
            exe,
            cmdline,
            state,
            rss_bytes: rss_pages * page,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_comm() {
        let s = "42 (my (odd) prog) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 100 1000000 256 18446744073709551615";
        let (name, state, ppid, rss) = parse_stat(s).unwrap();
        assert_eq!(
            (name.as_str(), state, ppid, rss),
            ("my (odd) prog", 'S', 1, 256)
        );
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn naming() {
        let p = Process {
            pid: 1,
            ppid: 0,
            uid: 0,
            user: "root".into(),
            name: "in.telnetd".into(),
            exe: "/usr/sbin/in.telnetd".into(),
            cmdline: vec!["/usr/sbin/in.telnetd".into()],
            state: 'S',
            rss_bytes: 0,
        };
        assert!(p.is_named("in.telnetd"));
        assert!(!p.is_named("telnetd"));
    }
}
