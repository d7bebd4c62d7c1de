//! Host identity (os-release, hostname, machine-id, kernel) and live resources (CPU, memory,
//! load, uptime) from /proc.

use super::{FactError, FactResult, Facts};
use crate::fs::Root;
use serde::Serialize;

/// Operating system identity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OsInfo {
    /// os-release `ID` (e.g. `debian`, `rhel`, `amzn`); empty when unknown.
    pub id: String,
    /// os-release `ID_LIKE`, split on whitespace.
    pub id_like: Vec<String>,
    /// os-release `VERSION_ID`.
    pub version_id: String,
    /// os-release `PRETTY_NAME`.
    pub pretty_name: String,
    /// /etc/hostname, else the live kernel hostname.
    pub hostname: String,
    /// /etc/machine-id.
    pub machine_id: String,
    /// Running kernel release (live hosts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Seconds since boot (live hosts only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime_secs: Option<f64>,
}

impl OsInfo {
    /// Whether the host belongs to a platform name used in the catalog. An unknown OS
    /// matches everything (we cannot tell).
    pub fn matches(&self, platform: &str) -> bool {
        if self.id.is_empty() {
            return true;
        }
        let is = |x: &str| self.id == x || self.id_like.iter().any(|l| l == x);
        match platform {
            "debian" => is("debian") || is("ubuntu"),
            "ubuntu" => self.id == "ubuntu",
            "rhel" => {
                is("rhel")
                    || is("centos")
                    || is("fedora")
                    || is("amzn")
                    || ["rocky", "almalinux", "ol"].contains(&self.id.as_str())
            }
            "amzn" => self.id == "amzn",
            "fedora" => self.id == "fedora",
            "suse" => is("suse") || self.id.starts_with("opensuse") || self.id == "sles",
            _ => false,
        }
    }
}

/// Parses os-release: `KEY=value` with optional shell quoting.
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.replace("\\\"", "\"")))
        })
        .collect()
}

fn first_line(root: &Root, path: &str) -> Option<String> {
    let t = root.read_text_limited(path, 64 * 1024).ok()?;
    let l = t.content.lines().next()?.trim().to_string();
    (!l.is_empty()).then_some(l)
}

pub fn os_info(root: &Root) -> OsInfo {
    let mut info = OsInfo::default();
    let rel = root
        .read_text("/etc/os-release")
        .or_else(|_| root.read_text("/usr/lib/os-release"));
    if let Ok(t) = rel {
        for (k, v) in parse_os_release(&t.content) {
            match k.as_str() {
                "ID" => info.id = v,
                "ID_LIKE" => info.id_like = v.split_whitespace().map(str::to_string).collect(),
                "VERSION_ID" => info.version_id = v,
                "PRETTY_NAME" => info.pretty_name = v,
                _ => {}
            }
        }
    }
    info.hostname = first_line(root, "/etc/hostname")
        .or_else(|| first_line(root, "/proc/sys/kernel/hostname"))
        .unwrap_or_default();
    info.machine_id = first_line(root, "/etc/machine-id").unwrap_or_default();
    info.kernel = first_line(root, "/proc/sys/kernel/osrelease");
    info.uptime_secs =
        first_line(root, "/proc/uptime").and_then(|l| l.split_whitespace().next()?.parse().ok());
    info
}

/// CPU facts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cpu {
    /// Logical CPUs.
    pub count: usize,
    /// `model name` of the first CPU.
    pub model: String,
    /// 1, 5 and 15 minute load averages.
    pub load: [f64; 3],
    /// Busy percentage since boot (from /proc/stat; a scan is too short to sample).
    pub usage_pct: f64,
}

pub fn cpu(f: &Facts) -> FactResult<Cpu> {
    f.require_live("CPU facts", "/proc/stat")?;
    let stat = f.root.read_text("/proc/stat")?;
    let mut c = Cpu::default();
    for l in stat.content.lines() {
        if l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit) {
            c.count += 1;
        } else if let Some(rest) = l.strip_prefix("cpu ") {
            let v: Vec<f64> = rest
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: f64 = v.iter().sum();
            let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
            if total > 0.0 {
                c.usage_pct = ((total - idle) / total * 1000.0).round() / 10.0;
            }
        }
    }
    if let Ok(info) = f.root.read_text("/proc/cpuinfo") {
        c.model = info
            .content
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_default();
    }
    c.load = loadavg(f)?;
    Ok(c)
}

pub fn loadavg(f: &Facts) -> FactResult<[f64; 3]> {
    f.require_live("the load average", "/proc/loadavg")?;
    let t = f.root.read_text("/proc/loadavg")?;
    let v: Vec<f64> = t
        .content
        .split_whitespace()
        .take(3)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() != 3 {
        return Err(FactError::Failed(format!(
            "/proc/loadavg: expected three load averages, found `{}`",
            t.content.trim()
        )));
    }
    Ok([v[0], v[1], v[2]])
}

/// Memory facts, in bytes.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Memory {
    pub total: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// /proc/meminfo without the lines the memory facts need.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no MemTotal/MemAvailable lines ({found} of MemTotal, MemAvailable, SwapTotal, SwapFree found)"
)]
pub struct MeminfoError {
    /// How many of the four lines were found.
    pub found: usize,
}
crate::error_text::debug_as_display!(MeminfoError);

pub fn parse_meminfo(text: &str) -> Result<Memory, MeminfoError> {
    let mut m = Memory::default();
    let mut seen = 0;
    for l in text.lines() {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let kb: u64 = match v.split_whitespace().next().and_then(|x| x.parse().ok()) {
            Some(n) => n,
            None => continue,
        };
        let slot = match k {
            "MemTotal" => &mut m.total,
            "MemAvailable" => &mut m.available,
            "SwapTotal" => &mut m.swap_total,
            "SwapFree" => &mut m.swap_free,
            _ => continue,
        };
        *slot = kb * 1024;
        seen += 1;
    }
    if m.total == 0 || seen < 2 {
        return Err(MeminfoError { found: seen });
    }
    Ok(m)
}

pub fn memory(f: &Facts) -> FactResult<Memory> {
    f.require_live("memory facts", "/proc/meminfo")?;
    let t = f.root.read_text("/proc/meminfo")?;
    parse_meminfo(&t.content).map_err(|e| FactError::Failed(format!("/proc/meminfo: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_and_platforms() {
        let kv =
            parse_os_release("ID=amzn\nID_LIKE=\"centos rhel fedora\"\nVERSION_ID='2023'\n# c\n");
        let mut o = OsInfo::default();
        for (k, v) in kv {
            match k.as_str() {
                "ID" => o.id = v,
                "ID_LIKE" => o.id_like = v.split_whitespace().map(Into::into).collect(),
                "VERSION_ID" => o.version_id = v,
                _ => {}
            }
        }
        assert_eq!(o.version_id, "2023");
        assert!(o.matches("rhel") && o.matches("amzn") && !o.matches("debian"));
        let u = OsInfo {
            id: "ubuntu".into(),
            id_like: vec!["debian".into()],
            ..Default::default()
        };
        assert!(u.matches("debian") && u.matches("ubuntu") && !u.matches("rhel"));
        assert!(OsInfo::default().matches("suse"));
    }

    #[test]
    fn meminfo() {
        let m = parse_meminfo("MemTotal: 1000 kB\nMemFree: 1 kB\nMemAvailable: 250 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n").unwrap();
        assert_eq!(m.total, 1_024_000);
        assert_eq!(m.available, 256_000);
        assert!(parse_meminfo("garbage").is_err());
    }
}
