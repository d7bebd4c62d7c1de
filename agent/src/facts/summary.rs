//! `jikimi facts`: every fact area collected at once, for people and for JSON consumers.
//! An area that cannot be collected is reported with its reason instead of failing the rest.

use super::{accounts, host, mounts, procs, sockets, Facts};
use serde::Serialize;

/// A collected area, or why it is missing.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Area<T> {
    Ok(T),
    Missing { unavailable: String },
}

impl<T> Area<T> {
    fn of(r: super::FactResult<T>) -> Self {
        match r {
            Ok(v) => Area::Ok(v),
            Err(e) => Area::Missing {
                unavailable: e.to_string(),
            },
        }
    }
}

/// Everything `jikimi facts --json` prints.
#[derive(Debug, Serialize)]
pub struct AllFacts {
    pub os: host::OsInfo,
    pub cpu: Area<host::Cpu>,
    pub memory: Area<host::Memory>,
    pub filesystems: Area<Vec<mounts::Mount>>,
    pub processes: Area<Vec<procs::Process>>,
    pub listening: Area<Vec<sockets::Socket>>,
    pub accounts: Area<accounts::Accounts>,
    /// Installed package count and manager.
    pub packages: Area<PackageSummary>,
}

#[derive(Debug, Serialize)]
pub struct PackageSummary {
    pub manager: &'static str,
    pub count: usize,
}

pub fn collect(f: &Facts) -> AllFacts {
    AllFacts {
        os: f.os().clone(),
        cpu: Area::of(host::cpu(f)),
        memory: Area::of(host::memory(f)),
        filesystems: Area::of(f.mounts().map(|m| (*m).clone())),
        processes: Area::of(f.processes().map(|p| (*p).clone())),
        listening: Area::of(f.sockets().map(|s| (*s).clone())),
        accounts: Area::of(f.accounts().map(|a| (*a).clone())),
        packages: Area::of(f.packages().map(|p| PackageSummary {
            manager: p.manager,
            count: p.installed.len(),
        })),
    }
}

fn gib(b: u64) -> String {
    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
}

/// Human-readable rendering.
pub fn render(a: &AllFacts) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let _ = writeln!(o, "host        {} ({})", a.os.hostname, a.os.pretty_name);
    let _ = writeln!(o, "machine-id  {}", a.os.machine_id);
    if let Some(k) = &a.os.kernel {
        let _ = writeln!(o, "kernel      {k}");
    }
    if let Some(u) = a.os.uptime_secs {
        let _ = writeln!(o, "uptime      {:.1} h", u / 3600.0);
    }
    match &a.cpu {
        Area::Ok(c) => {
            let _ = writeln!(
                o,
                "cpu         {} x {} (busy {:.1}% since boot, load {:.2} {:.2} {:.2})",
                c.count, c.model, c.usage_pct, c.load[0], c.load[1], c.load[2]
            );
        }
        Area::Missing { unavailable } => {
            let _ = writeln!(o, "cpu         unavailable: {unavailable}");
        }
    }
    match &a.memory {
        Area::Ok(m) => {
            let _ = writeln!(
                o,
                "memory      {} total, {} available; swap {} total, {} free",
                gib(m.total),
                gib(m.available),
                gib(m.swap_total),
                gib(m.swap_free)
            );
        }
        Area::Missing { unavailable } => {
            let _ = writeln!(o, "memory      unavailable: {unavailable}");
        }
    }
    let _ = writeln!(o, "\nfilesystems");
    match &a.filesystems {
        Area::Ok(ms) => {
            for m in ms.iter().filter(|m| !m.is_pseudo() || m.fs_type == "tmpfs") {
                match m.usage {
                    Some(u) => {
                        let _ = writeln!(
                            o,
                            "  {:<24} {:<8} {:>10} used {:>5.1}%  inodes {:>5.1}%  {}",
                            m.mount_point,
                            m.fs_type,
                            gib(u.size_bytes),
                            u.used_pct(),
                            u.inodes_used_pct(),
                            m.options.join(",")
                        );
                    }
                    None => {
                        let _ = writeln!(
                            o,
                            "  {:<24} {:<8} {}",
                            m.mount_point,
                            m.fs_type,
                            m.options.join(",")
                        );
                    }
                }
            }
        }
        Area::Missing { unavailable } => {
            let _ = writeln!(o, "  unavailable: {unavailable}");
        }
    }
    let _ = writeln!(o, "\nlistening sockets");
    match &a.listening {
        Area::Ok(ss) => {
            for s in ss {
                let _ = writeln!(
                    o,
                    "  {}{} {:<40} {}",
                    s.protocol,
                    s.family,
                    format!("{}:{}", s.address, s.port),
                    s.process
                        .as_deref()
                        .map(|p| format!("{p} ({})", s.pid.unwrap_or(0)))
                        .unwrap_or_default()
                );
            }
        }
        Area::Missing { unavailable } => {
            let _ = writeln!(o, "  unavailable: {unavailable}");
        }
    }
    match &a.processes {
        Area::Ok(ps) => {
            let _ = writeln!(
                o,
                "\nprocesses   {} ({} zombie)",
                ps.len(),
                ps.iter().filter(|p| p.state == 'Z').count()
            );
        }
        Area::Missing { unavailable } => {
            let _ = writeln!(o, "\nprocesses   unavailable: {unavailable}");
        }
    }
    match &a.accounts {
        Area::Ok(ac) => {
            let login = ac
                .users
                .iter()
                .filter(|u| !accounts::is_nologin_shell(&u.shell))
                .count();
            let _ = writeln!(
                o,
                "accounts    {} users ({} with a login shell), {} groups",
                ac.users.len(),
                login,
                ac.groups.len()
            );
        }
        Area::Missing { unavailable } => {
            let _ = writeln!(o, "accounts    unavailable: {unavailable}");
        }
    }
    match &a.packages {
        Area::Ok(p) => {
            let _ = writeln!(o, "packages    {} ({})", p.count, p.manager);
        }
        Area::Missing { unavailable } => {
            let _ = writeln!(o, "packages    unavailable: {unavailable}");
        }
    }
    o
}
