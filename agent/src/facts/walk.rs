//! Filesystem-wide walk for world-writable files, sticky-less world-writable directories,
//! setuid/setgid files and unowned files: one pass shared by every walk check.
//!
//! Safe and polite on a production host:
//! - runs in its own thread at nice 19 with the idle I/O class (both per-thread on Linux);
//! - visits only local disk filesystems: each start point stays on its own device, pseudo
//!   (proc, sysfs, tmpfs...) and network (nfs, cifs...) filesystems are never entered;
//! - never follows a symlink (`fstatat(AT_SYMLINK_NOFOLLOW)`, `openat(O_NOFOLLOW)`);
//! - bounded in entries, depth and time; a walk that hits a bound says so, and the checks
//!   that depend on it report ERROR (incomplete) unless they already found a violation.

use super::{FactResult, Facts};
use crate::fs::{list_dir_fd, FileKind};
use std::collections::HashSet;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// Bounds of one walk.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub max_depth: usize,
    pub max_time: Duration,
    /// Paths kept per category (counts continue beyond).
    pub max_kept: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 5_000_000,
            max_depth: 128,
            max_time: Duration::from_secs(300),
            max_kept: 1000,
        }
    }
}

/// Paths found in one category.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub count: u64,
    /// (path, mode, uid, gid), at most `max_kept`.
    pub items: Vec<(String, u32, u32, u32)>,
}

/// Results of the walk.
#[derive(Debug, Clone, Default)]
pub struct WalkReport {
    pub entries: u64,
    pub elapsed: Duration,
    /// Start points walked.
    pub roots: Vec<String>,
    /// Why the walk is incomplete, if it is.
    pub truncated: Option<String>,
    /// Directories that could not be read (count).
    pub unreadable: u64,
    pub world_writable: Found,
    pub world_writable_dirs_no_sticky: Found,
    pub suid_sgid: Found,
    pub unowned: Found,
    pub dev_regular_files: Found,
}

struct Walker<'a> {
    limits: Limits,
    start: Instant,
    uids: &'a HashSet<u32>,
    gids: &'a HashSet<u32>,
    report: WalkReport,
}

fn keep(f: &mut Found, max: usize, path: &str, st: &libc::stat) {
    f.count += 1;
    if f.items.len() < max {
        f.items
            .push((path.to_string(), st.st_mode & 0o7777, st.st_uid, st.st_gid));
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

impl Walker<'_> {
    fn stopped(&mut self) -> bool {
        if self.report.truncated.is_some() {
            return true;
        }
        if self.report.entries >= self.limits.max_entries {
            self.report.truncated = Some(format!(
                "walk stopped at the {}-entry bound",
                self.limits.max_entries
            ));
        } else if self.report.entries % 4096 == 0 && self.start.elapsed() > self.limits.max_time {
            self.report.truncated = Some(format!(
                "walk stopped at the {}-second bound",
                self.limits.max_time.as_secs()
            ));
        }
        self.report.truncated.is_some()
    }

    fn dir(&mut self, fd: OwnedFd, path: &str, dev: u64, depth: usize, in_dev: bool) {
        if depth > self.limits.max_depth {
            self.report.unreadable += 1;
            return;
        }
        let dup = match fd.try_clone() {
            Ok(d) => d,
            Err(_) => {
                self.report.unreadable += 1;
                return;
            }
        };
        let entries = match list_dir_fd(dup) {
            Ok(e) => e,
            Err(_) => {
                self.report.unreadable += 1;
                return;
            }
        };
        for e in entries {
            if self.stopped() {
                return;
            }
            self.report.entries += 1;
            let name = cstr(&e.name);
            // SAFETY: zeroed stat is valid; fd and name are valid for the call.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe {
                libc::fstatat(
                    fd.as_raw_fd(),
                    name.as_ptr(),
                    &mut st,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            } != 0
            {
                continue; // vanished while walking
            }
            let child = if path == "/" {
                format!("/{}", e.name)
            } else {
                format!("{path}/{}", e.name)
            };
            let kind = FileKind::from_mode(st.st_mode);
            let mode = st.st_mode & 0o7777;
            let max = self.limits.max_kept;
            if !self.uids.contains(&st.st_uid) || !self.gids.contains(&st.st_gid) {
                keep(&mut self.report.unowned, max, &child, &st);
            }
            match kind {
                FileKind::File => {
                    if in_dev {
                        keep(&mut self.report.dev_regular_files, max, &child, &st);
                    }
                    if mode & 0o002 != 0 {
                        keep(&mut self.report.world_writable, max, &child, &st);
                    }
                    if mode & 0o6000 != 0 {
                        keep(&mut self.report.suid_sgid, max, &child, &st);
                    }
                }
                FileKind::Dir => {
                    if mode & 0o002 != 0 && mode & 0o1000 == 0 {
                        keep(
                            &mut self.report.world_writable_dirs_no_sticky,
                            max,
                            &child,
                            &st,
                        );
                    }
                    if !in_dev && child == "/dev" {
                        continue; // listed on its own below
                    }
                    if st.st_dev != dev {
                        continue; // another filesystem: walked from its own start point, or skipped
                    }
                    // SAFETY: valid fd and name; the returned fd is owned below.
                    let cfd = unsafe {
                        libc::openat(
                            fd.as_raw_fd(),
                            name.as_ptr(),
                            libc::O_RDONLY
                                | libc::O_DIRECTORY
                                | libc::O_NOFOLLOW
                                | libc::O_CLOEXEC
                                | libc::O_NONBLOCK,
                        )
                    };
                    if cfd < 0 {
                        self.report.unreadable += 1;
                        continue;
                    }
                    // SAFETY: fresh descriptor.
                    let cfd = unsafe { OwnedFd::from_raw_fd(cfd) };
                    self.dir(cfd, &child, dev, depth + 1, in_dev);
                }
                _ => {}
            }
        }
    }
}

fn open_dir_in_root(root_fd: RawFd, rel: &str) -> Option<OwnedFd> {
    let c = cstr(if rel.is_empty() { "." } else { rel });
    // SAFETY: valid fd and C string. Start points are mount points we list ourselves; they
    // are opened without following a final symlink.
    let fd = unsafe {
        libc::openat(
            root_fd,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    // SAFETY: fresh descriptor when non-negative.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
        const IOPRIO_WHO_PROCESS: libc::c_long = 1;
        const IOPRIO_CLASS_IDLE: libc::c_long = 3;
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            tid as libc::c_long,
            IOPRIO_CLASS_IDLE << 13,
        );
    }
}

pub fn run(f: &Facts) -> FactResult<WalkReport> {
    let accounts = f.accounts()?;
    let uids: HashSet<u32> = accounts.users.iter().map(|u| u.uid).collect();
    let gids: HashSet<u32> = accounts.groups.iter().map(|g| g.gid).collect();
    // Start points: "/" and every other local disk filesystem (live host).
    let mut starts = vec!["/".to_string()];
    if f.root.is_live() {
        if let Ok(m) = f.mounts() {
            for m in m.iter() {
                if !m.is_pseudo()
                    && !m.is_network()
                    && m.mount_point != "/"
                    && !starts.contains(&m.mount_point)
                {
                    starts.push(m.mount_point.clone());
                }
            }
        }
    }
    let limits = f.walk_limits;
    let root_dir = f.root.dir().to_path_buf();
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            lower_priority();
            let rc = cstr(&root_dir.to_string_lossy());
            // SAFETY: valid C string.
            let rfd = unsafe {
                libc::open(
                    rc.as_ptr(),
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                )
            };
            if rfd < 0 {
                return None;
            }
            // SAFETY: fresh descriptor.
            let rfd = unsafe { OwnedFd::from_raw_fd(rfd) };
            let mut w = Walker {
                limits,
                start: Instant::now(),
                uids: &uids,
                gids: &gids,
                report: WalkReport::default(),
            };
            for sp in &starts {
                let Some(fd) = open_dir_in_root(rfd.as_raw_fd(), sp.trim_start_matches('/')) else {
                    continue;
                };
                let Ok(st) = nix_fstat(&fd) else { continue };
                w.report.roots.push(sp.clone());
                w.dir(fd, sp, st.st_dev, 0, false);
            }
            // /dev is a pseudo filesystem: list it alone for regular files (KISA U-16).
            if let Some(fd) = open_dir_in_root(rfd.as_raw_fd(), "dev") {
                if let Ok(st) = nix_fstat(&fd) {
                    w.dir(fd, "/dev", st.st_dev, 0, true);
                }
            }
            w.report.elapsed = w.start.elapsed();
            Some(w.report)
        })
        .join()
        .ok()
        .flatten()
    });
    report.ok_or_else(|| super::FactError::Failed("the filesystem walk could not start".into()))
}

fn nix_fstat(fd: &OwnedFd) -> Result<libc::stat, ()> {
    // SAFETY: zeroed stat is valid; fd is open.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == 0 {
        Ok(st)
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Root;
    use std::os::unix::fs::{symlink, PermissionsExt};

    #[test]
    fn finds_each_category_and_never_follows_links() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::create_dir_all(d.join("tmp/ok")).unwrap();
        std::fs::create_dir_all(d.join("dev")).unwrap();
        std::fs::write(d.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::write(d.join("etc/group"), "root:x:0:\n").unwrap();
        let ww = d.join("etc/ww");
        std::fs::write(&ww, "").unwrap();
        std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o666)).unwrap();
        let suid = d.join("etc/suid");
        std::fs::write(&suid, "").unwrap();
        std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::fs::set_permissions(d.join("tmp"), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::set_permissions(d.join("tmp/ok"), std::fs::Permissions::from_mode(0o1777))
            .unwrap();
        std::fs::write(d.join("dev/sda"), "").unwrap();
        let outside = tempfile::tempdir().unwrap();
        let o = outside.path().join("x");
        std::fs::write(&o, "").unwrap();
        std::fs::set_permissions(&o, std::fs::Permissions::from_mode(0o666)).unwrap();
        symlink(outside.path(), d.join("etc/link")).unwrap();
        let root = Root::new(d).unwrap();
        let f = Facts::new(&root);
        let r = run(&f).unwrap();
        let paths = |x: &Found| x.items.iter().map(|i| i.0.clone()).collect::<Vec<_>>();
        assert_eq!(paths(&r.world_writable), vec!["/etc/ww"]);
        assert_eq!(paths(&r.suid_sgid), vec!["/etc/suid"]);
        assert_eq!(paths(&r.world_writable_dirs_no_sticky), vec!["/tmp"]);
        assert_eq!(paths(&r.dev_regular_files), vec!["/dev/sda"]);
        // files created by the test user: owned by a uid not in this passwd (unless root)
        assert!(r.truncated.is_none());
    }

    #[test]
    fn bounds_are_reported() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::write(d.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::write(d.join("etc/group"), "root:x:0:\n").unwrap();
        for i in 0..20 {
            std::fs::write(d.join(format!("f{i}")), "").unwrap();
        }
        let root = Root::new(d).unwrap();
        let mut f = Facts::new(&root);
        f.walk_limits.max_entries = 5;
        let r = run(&f).unwrap();
        assert!(r.truncated.as_deref().unwrap().contains("5-entry"));
    }
}
