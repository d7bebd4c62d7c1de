//! Filesystems: the mount table (live `/proc/self/mounts`; in an image without one, the
//! configured `/etc/fstab`) and, on a live host, usage from `statvfs(3)`.

use super::{FactError, FactResult};
use crate::fs::Root;
use serde::Serialize;

/// One mounted (or, from fstab, configured) filesystem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: Vec<String>,
    /// `proc/self/mounts` (live) or `etc/fstab` (configured, image scans).
    pub source: &'static str,
    /// Usage (live hosts, real filesystems only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// statvfs numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Usage {
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    /// Available to unprivileged users.
    pub avail_bytes: u64,
    pub inodes: u64,
    pub inodes_free: u64,
}

impl Usage {
    /// Used percentage as `df` computes it: used / (used + avail).
    pub fn used_pct(&self) -> f64 {
        let d = self.used_bytes + self.avail_bytes;
        if d == 0 {
            0.0
        } else {
            self.used_bytes as f64 * 100.0 / d as f64
        }
    }
    pub fn inodes_used_pct(&self) -> f64 {
        if self.inodes == 0 {
            0.0
        } else {
            (self.inodes - self.inodes_free) as f64 * 100.0 / self.inodes as f64
        }
    }
}

/// Pseudo and virtual filesystems: no usage, never walked.
pub const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "tmpfs",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "autofs",
    "binfmt_misc",
    "efivarfs",
    "rpc_pipefs",
    "nsfs",
    "ramfs",
    "selinuxfs",
    "squashfs",
    "overlay",
    "fuse.lxcfs",
    "fuse.portal",
    "rootfs",
    "none",
];

/// Network filesystems: never walked (slow, and not this host's files).
pub const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ncpfs",
    "afs",
    "ceph",
    "glusterfs",
    "9p",
    "fuse.sshfs",
    "fuse.s3fs",
    "lustre",
    "gpfs",
    "efs",
];

impl Mount {
    pub fn is_pseudo(&self) -> bool {
        PSEUDO_FS.contains(&self.fs_type.as_str())
    }
    pub fn is_network(&self) -> bool {
        NETWORK_FS.contains(&self.fs_type.as_str()) || self.fs_type.starts_with("nfs")
    }
    pub fn has_option(&self, o: &str) -> bool {
        self.options.iter().any(|x| x == o)
    }
}

/// Decodes the octal escapes of mount tables (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/mounts` or `/etc/fstab` (same first four columns).
pub fn parse_mounts(text: &str, source: &'static str) -> Vec<Mount> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 {
                return None;
            }
            Some(Mount {
                device: unescape(f[0]),
                mount_point: unescape(f[1]),
                fs_type: f[2].to_string(),
                options: f[3].split(',').map(str::to_string).collect(),
                source,
                usage: None,
            })
        })
        .filter(|m| m.mount_point.starts_with('/'))
        .collect()
}

fn statvfs(path: &str) -> Option<Usage> {
    let s = rustix::fs::statvfs(path).ok()?;
    let f = s.f_frsize;
    Some(Usage {
        size_bytes: s.f_blocks * f,
        used_bytes: (s.f_blocks - s.f_bfree) * f,
        free_bytes: s.f_bfree * f,
        avail_bytes: s.f_bavail * f,
        inodes: s.f_files,
        inodes_free: s.f_ffree,
    })
}

/// The host's mount table. PID 1's view comes first: under the hardened systemd unit
/// (ProtectSystem, PrivateTmp) the agent's own `/proc/self/mounts` shows its private
/// namespace with read-only bind mounts, not the host's options. Falls back to our own view
/// when PID 1's is not readable, and in an image without /proc to `/etc/fstab`.
pub fn collect(root: &Root) -> FactResult<Vec<Mount>> {
    let mut last_err = None;
    for (path, label) in [
        ("/proc/1/mounts", "/proc/1/mounts"),
        ("/proc/self/mounts", "/proc/self/mounts"),
        ("/proc/mounts", "/proc/mounts"),
    ] {
        match root.read_text(path) {
            Ok(t) => {
                let mut v = parse_mounts(&t.content, label);
                if v.is_empty() {
                    continue;
                }
                if root.is_live() {
                    for m in v.iter_mut().filter(|m| !m.is_pseudo() && !m.is_network()) {
                        m.usage = statvfs(&m.mount_point);
                    }
                }
                return Ok(v);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => last_err = Some(e),
        }
    }
    if root.is_live() {
        return Err(last_err.map(FactError::from).unwrap_or_else(|| {
            FactError::Failed("no mount table under /proc: is /proc mounted?".into())
        }));
    }
    match root.read_text("/etc/fstab") {
        Ok(t) => Ok(parse_mounts(&t.content, "/etc/fstab")),
        Err(e2) if e2.is_not_found() => Err(FactError::Unavailable(
            "no mount table: /proc/1/mounts, /proc/self/mounts and /etc/fstab are absent under the scan root".into(),
        )),
        Err(e2) => Err(e2.into()),
    }
}

/// The mount that holds `path` exactly (the last one mounted there wins, as the kernel
/// shows the top of a stack).
pub fn find<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let p = path.trim_end_matches('/');
    let p = if p.is_empty() { "/" } else { p };
    mounts.iter().rev().find(|m| m.mount_point == p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_mounts_with_escapes() {
        let m = parse_mounts(
            "/dev/vda1 / ext4 rw,relatime 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n/dev/x /mnt/my\\040disk xfs ro 0 0\nbad\n",
            "/proc/self/mounts",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(m[2].mount_point, "/mnt/my disk");
        assert!(m[1].has_option("nodev") && !m[1].has_option("noexec"));
        assert!(m[1].is_pseudo() && !m[0].is_pseudo());
        assert_eq!(find(&m, "/tmp/").unwrap().fs_type, "tmpfs");
        assert!(find(&m, "/var").is_none());
    }

    #[test]
    fn usage_percentages() {
        let u = Usage {
            size_bytes: 100,
            used_bytes: 50,
            free_bytes: 50,
            avail_bytes: 45,
            inodes: 10,
            inodes_free: 1,
        };
        assert!((u.used_pct() - 52.63).abs() < 0.01);
        assert!((u.inodes_used_pct() - 90.0).abs() < 1e-9);
    }
}
