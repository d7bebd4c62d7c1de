//! Filesystem-wide walk for world-writable files, sticky-less world-writable directories,
//! setuid/setgid files and unowned files: one pass shared by every walk check.
//!
//! Safe and polite on a production host:
//! - runs in its own thread at nice 19 with the idle I/O class (both per-thread on Linux);
//! - starts from the scan root's own descriptor (never a path reopened by name) and enters
//!   the filesystems mounted inside it by the [`MountPolicy`]: kernel pseudo filesystems
//!   (proc, sysfs, cgroup, ...) hold no user files and are never entered; `/dev` is listed on
//!   its own for regular files;
//! - never follows a symlink (`fstatat(AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT)`,
//!   `openat(O_NOFOLLOW)`), never triggers an automount;
//! - streams each directory through one fixed `getdents64` buffer ([`DirStream`]), so memory
//!   is O(depth × buffer) however large a directory is (a 5 M-entry spool included);
//! - bounded in entries, depth and time, and stops at the next entry when cancellation is
//!   requested ([`crate::cancel`]).
//!
//! A walk never silently skips part of the tree: directories it did not visit (deeper than
//! the depth bound, on a filesystem the mount policy does not enter, unreadable) are counted,
//! and the checks that depend on the walk report ERROR ("walk incomplete") unless they already
//! found a violation.
//!
//! The system calls are `rustix`'s (no `unsafe` here); only the I/O priority, which `rustix`
//! does not offer, comes from [`crate::fs::set_thread_io_idle`].

use super::{FactResult, Facts};
use crate::fs::FileKind;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, Stat};
use rustix::io::Errno;
use std::collections::HashSet;
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// Which filesystems mounted inside the scan root the walk enters (config `[walk] mounts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountPolicy {
    /// Every local filesystem (disk, tmpfs, overlay, squashfs, ...). Network and FUSE
    /// filesystems are not entered and make the walk incomplete (list them in
    /// `ignore_mounts` to exclude them knowingly).
    #[default]
    Local,
    /// Network and FUSE filesystems too.
    All,
    /// Only the root's own filesystem: every other mount inside makes the walk incomplete.
    None,
}

/// Bounds of one walk.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_entries: u64,
    /// Directories deeper than this (the root is depth 0) are not visited.
    pub max_depth: usize,
    pub max_time: Duration,
    /// Paths kept per category (counts continue beyond).
    pub max_kept: usize,
    pub mounts: MountPolicy,
    /// Mount points (host paths, glob patterns) never entered and not counted as missing.
    pub ignore_mounts: Vec<String>,
}

/// Largest configurable depth: the walk holds one buffer per level.
pub const MAX_DEPTH_LIMIT: usize = 4096;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 5_000_000,
            max_depth: 128,
            max_time: Duration::from_secs(300),
            max_kept: 1000,
            mounts: MountPolicy::Local,
            ignore_mounts: Vec::new(),
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
    /// Why the walk stopped early (a bound, cancellation), if it did.
    pub truncated: Option<String>,
    /// Directories that could not be read (count).
    pub unreadable: u64,
    /// Directories deeper than the depth bound, not visited.
    pub too_deep: u64,
    /// Mount points inside the root the mount policy did not enter (count, first paths).
    pub mounts_skipped: u64,
    pub mounts_skipped_paths: Vec<String>,
    /// Mounts entered (other than the root's own filesystem).
    pub mounts_entered: u64,
    pub world_writable: Found,
    pub world_writable_dirs_no_sticky: Found,
    pub suid_sgid: Found,
    pub unowned: Found,
    pub dev_regular_files: Found,
}

impl WalkReport {
    /// Directories not visited for any reason.
    pub fn not_visited(&self) -> u64 {
        self.unreadable + self.too_deep + self.mounts_skipped
    }

    /// Why the walk is incomplete ("walk incomplete: N directories not visited (...)"), or
    /// `None` when it covered the whole tree.
    pub fn incomplete(&self) -> Option<String> {
        if let Some(t) = &self.truncated {
            return Some(format!("{t} ({} entries visited)", self.entries));
        }
        let n = self.not_visited();
        if n == 0 {
            return None;
        }
        let mut why = Vec::new();
        if self.too_deep > 0 {
            why.push(format!("{} deeper than the depth bound", self.too_deep));
        }
        if self.mounts_skipped > 0 {
            why.push(format!(
                "{} mounts not entered: {}{}",
                self.mounts_skipped,
                self.mounts_skipped_paths.join(", "),
                if self.mounts_skipped > self.mounts_skipped_paths.len() as u64 {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
        if self.unreadable > 0 {
            why.push(format!("{} unreadable", self.unreadable));
        }
        Some(format!(
            "walk incomplete: {n} directories not visited ({})",
            why.join("; ")
        ))
    }
}

/// The `getdents64` buffer of a walk, shared by every directory it reads.
pub struct DirBuf(Vec<MaybeUninit<u8>>);

impl DirBuf {
    pub fn new() -> DirBuf {
        DirBuf(vec![MaybeUninit::uninit(); DIR_BUF])
    }
}

impl Default for DirBuf {
    fn default() -> Self {
        DirBuf::new()
    }
}

/// A directory read entry by entry: one `getdents64` call at a time fills the shared
/// [`DirBuf`], whose names (at most [`DIR_BUF`] bytes) are kept until they are consumed.
pub struct DirStream {
    fd: OwnedFd,
    /// The entries of the last batch: `d_type`, then the NUL-terminated name.
    names: Vec<u8>,
    pos: usize,
    done: bool,
}

/// Bytes of one directory buffer (as glibc's `readdir`; about 600 entries per system call).
pub const DIR_BUF: usize = 32 * 1024;

impl DirStream {
    pub fn new(fd: OwnedFd) -> DirStream {
        DirStream {
            fd,
            names: Vec::new(),
            pos: 0,
            done: false,
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Reads the next batch of entries into `names`: false at the end or on an error.
    fn fill(&mut self, buf: &mut DirBuf) -> Result<bool, Errno> {
        self.names.clear();
        self.pos = 0;
        while self.names.is_empty() && !self.done {
            let mut dir = RawDir::new(&self.fd, &mut buf.0);
            loop {
                match dir.next() {
                    None => self.done = true,
                    Some(Err(e)) => {
                        self.done = true;
                        return Err(e);
                    }
                    Some(Ok(e)) => {
                        let name = e.file_name().to_bytes_with_nul();
                        if name != b".\0" && name != b"..\0" {
                            // d_type again (DT_REG is S_IFREG >> 12, ...; 0 is DT_UNKNOWN)
                            self.names.push(match e.file_type() {
                                FileType::Unknown => 0,
                                t => (t.as_raw_mode() >> 12) as u8,
                            });
                            self.names.extend_from_slice(name);
                        }
                    }
                }
                // one system call per batch: the rest of the buffer is parsed, never refilled
                if self.done || dir.is_buffer_empty() {
                    break;
                }
            }
        }
        Ok(!self.names.is_empty())
    }

    /// The next entry other than `.` and `..`: (name, d_type), or an errno.
    pub fn next_entry(&mut self, buf: &mut DirBuf) -> Option<Result<(&CStr, u8), Errno>> {
        if self.pos >= self.names.len() {
            match self.fill(buf) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        let rec = &self.names[self.pos..];
        let nul = rec.iter().skip(1).position(|&b| b == 0)? + 1;
        self.pos += nul + 1;
        Some(match CStr::from_bytes_with_nul(&rec[1..=nul]) {
            Ok(name) => Ok((name, rec[0])),
            Err(_) => Err(Errno::IO),
        })
    }
}

/// Kernel pseudo filesystems: no user files, never entered, never counted as missing.
fn is_kernel_pseudo(magic: i64) -> bool {
    matches!(
        magic,
        0x9fa0 // proc
            | 0x6265_6572 // sysfs
            | 0x0027_e0eb // cgroup
            | 0x6367_7270 // cgroup2
            | 0x1cd1 // devpts
            | 0x7363_6673 // securityfs
            | 0x6462_6720 // debugfs
            | 0x7472_6163 // tracefs
            | 0x6165_676c // pstore
            | 0xcafe_4a11 // bpf
            | 0x6265_6570 // configfs
            | 0x6573_5543 // fusectl
            | 0x1980_0202 // mqueue
            | 0x4249_4e4d // binfmt_misc
            | 0xde5e_81e4 // efivarfs
            | 0x6e73_6673 // nsfs
            | 0xf97c_ff8c // selinuxfs
            | 0x0187 // autofs (an untriggered automount point)
            | 0x6759_6969 // rpc_pipefs
            | 0x9584_58f6 // hugetlbfs
    )
}

/// Network and FUSE filesystems (entered only with `mounts = "all"`).
fn is_remote(magic: i64) -> bool {
    matches!(
        magic,
        0x6969 // nfs
            | 0xfe53_4d42 // smb2
            | 0xff53_4d42 // cifs
            | 0x517b // smb
            | 0x00c3_6400 // ceph
            | 0x5346_414f // afs
            | 0x6b41_4653 // kafs
            | 0x7375_7245 // coda
            | 0x564c // ncp
            | 0x0102_1997 // 9p
            | 0x6573_5546 // fuse
            | 0x0bd0_0bd0 // lustre
            | 0x4750_4653 // gpfs
            | 0x0116_1970 // gfs2
    )
}

struct Frame {
    stream: DirStream,
    path: String,
    dev: u64,
    depth: usize,
    in_dev: bool,
}

struct Walker<'a> {
    limits: Limits,
    start: Instant,
    uids: &'a HashSet<u32>,
    gids: &'a HashSet<u32>,
    /// Mount roots entered (dev, ino): a bind mount of one already walked is not walked again.
    mount_roots: HashSet<(u64, u64)>,
    report: WalkReport,
}

fn keep(f: &mut Found, max: usize, path: &str, st: &Stat) {
    f.count += 1;
    if f.items.len() < max {
        f.items
            .push((path.to_string(), st.st_mode & 0o7777, st.st_uid, st.st_gid));
    }
}

fn openat_fd(dir: impl AsFd, name: &CStr, flags: OFlags) -> Result<OwnedFd, Errno> {
    rustix::fs::openat(dir, name, flags | OFlags::CLOEXEC, Mode::empty())
}

const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK);

fn fs_magic(fd: &OwnedFd) -> Option<i64> {
    let s = rustix::fs::fstatfs(fd).ok()?;
    #[allow(
        clippy::unnecessary_cast,
        clippy::useless_conversion,
        reason = "f_type's width differs by architecture"
    )]
    Some(s.f_type as i64)
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
        } else if self.report.entries % 1024 == 0 {
            if crate::cancel::requested() {
                self.report.truncated = Some("walk cancelled".into());
            } else if self.start.elapsed() > self.limits.max_time {
                self.report.truncated = Some(format!(
                    "walk stopped at the {}-second bound",
                    self.limits.max_time.as_secs()
                ));
            }
        }
        self.report.truncated.is_some()
    }

    fn skip_mount(&mut self, path: &str) {
        self.report.mounts_skipped += 1;
        if self.report.mounts_skipped_paths.len() < 10 {
            self.report.mounts_skipped_paths.push(path.to_string());
        }
    }

    /// Opens a subdirectory on another filesystem if the mount policy enters it. `None` when
    /// it is not walked (counted as skipped unless it is a kernel pseudo filesystem, an
    /// ignored mount point or a bind mount of a tree already walked).
    fn enter_mount(&mut self, parent: BorrowedFd, name: &CStr, path: &str) -> Option<OwnedFd> {
        let probe = match openat_fd(
            parent,
            name,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW,
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return None,
            Err(_) => {
                self.report.unreadable += 1;
                return None;
            }
        };
        let magic = fs_magic(&probe);
        if magic.is_some_and(is_kernel_pseudo) {
            return None;
        }
        if self
            .limits
            .ignore_mounts
            .iter()
            .any(|g| crate::fs::fnmatch(g, path))
        {
            return None;
        }
        let enter = match self.limits.mounts {
            MountPolicy::None => false,
            MountPolicy::Local => !magic.is_some_and(is_remote),
            MountPolicy::All => true,
        };
        if !enter {
            self.skip_mount(path);
            return None;
        }
        match openat_fd(&probe, c".", DIR_FLAGS) {
            Ok(fd) => {
                let st = fstat(&fd)?;
                if !self.mount_roots.insert((st.st_dev, st.st_ino)) {
                    return None;
                }
                self.report.mounts_entered += 1;
                Some(fd)
            }
            Err(_) => {
                self.report.unreadable += 1;
                None
            }
        }
    }

    /// Walks the tree below `fd` (already opened, at `path`).
    fn walk(&mut self, fd: OwnedFd, path: &str, in_dev: bool) {
        let Some(st) = fstat(&fd) else {
            self.report.unreadable += 1;
            return;
        };
        self.mount_roots.insert((st.st_dev, st.st_ino));
        let mut stack = vec![Frame {
            stream: DirStream::new(fd),
            path: path.to_string(),
            dev: st.st_dev,
            depth: 0,
            in_dev,
        }];
        let max = self.limits.max_kept;
        let mut namebuf: Vec<u8> = Vec::with_capacity(256);
        let mut dirbuf = DirBuf::new();
        while let Some(top) = stack.last_mut() {
            if self.stopped() {
                return;
            }
            let (name, _dtype) = match top.stream.next_entry(&mut dirbuf) {
                None => {
                    stack.pop();
                    continue;
                }
                Some(Err(_)) => {
                    self.report.unreadable += 1;
                    stack.pop();
                    continue;
                }
                Some(Ok(e)) => e,
            };
            // copied into a reused buffer: the name borrows the stream, whose descriptor is
            // needed next
            namebuf.clear();
            namebuf.extend_from_slice(name.to_bytes_with_nul());
            let name = CStr::from_bytes_with_nul(&namebuf).unwrap_or(c".");
            let (dirfd, dev, depth, frame_in_dev) =
                (top.stream.fd(), top.dev, top.depth, top.in_dev);
            self.report.entries += 1;
            let Ok(st) = rustix::fs::statat(
                dirfd,
                name,
                AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT,
            ) else {
                continue; // vanished while walking
            };
            let kind = FileKind::from_mode(st.st_mode);
            let mode = st.st_mode & 0o7777;
            let unowned = !self.uids.contains(&st.st_uid) || !self.gids.contains(&st.st_gid);
            let file_hit =
                kind == FileKind::File && (frame_in_dev || mode & 0o002 != 0 || mode & 0o6000 != 0);
            if !unowned && !file_hit && kind != FileKind::Dir {
                continue; // the common case: nothing to record, no path to build
            }
            let shown = String::from_utf8_lossy(name.to_bytes());
            let child = if top.path == "/" {
                format!("/{shown}")
            } else {
                format!("{}/{shown}", top.path)
            };
            if unowned {
                keep(&mut self.report.unowned, max, &child, &st);
            }
            match kind {
                FileKind::File => {
                    if frame_in_dev {
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
                    if !frame_in_dev && child == "/dev" {
                        continue; // listed on its own (see `run`)
                    }
                    if depth + 1 > self.limits.max_depth {
                        self.report.too_deep += 1;
                        continue;
                    }
                    let (cfd, child_in_dev) = if st.st_dev != dev {
                        match self.enter_mount(dirfd, name, &child) {
                            Some(fd) => (fd, false),
                            None => continue,
                        }
                    } else {
                        match openat_fd(dirfd, name, DIR_FLAGS) {
                            Ok(fd) => (fd, frame_in_dev),
                            Err(Errno::NOENT) => continue,
                            Err(_) => {
                                self.report.unreadable += 1;
                                continue;
                            }
                        }
                    };
                    stack.push(Frame {
                        stream: DirStream::new(cfd),
                        path: child,
                        dev: st.st_dev,
                        depth: depth + 1,
                        in_dev: child_in_dev,
                    });
                }
                _ => {}
            }
        }
    }
}

fn fstat(fd: &OwnedFd) -> Option<Stat> {
    rustix::fs::fstat(fd).ok()
}

/// Nice 19 and the idle I/O class for the calling thread (both are per-thread on Linux).
/// Best effort: a walk at normal priority is still correct.
fn lower_priority() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19);
    let _ = crate::fs::set_thread_io_idle();
}

pub fn run(f: &Facts) -> FactResult<WalkReport> {
    let accounts = f.accounts()?;
    let uids: HashSet<u32> = accounts.users.iter().map(|u| u.uid).collect();
    let gids: HashSet<u32> = accounts.groups.iter().map(|g| g.gid).collect();
    let mut limits = f.walk_limits.clone();
    limits.max_depth = limits.max_depth.min(MAX_DEPTH_LIMIT);
    let rfd = f.root.dup_fd().map_err(|e| {
        super::FactError::Failed(format!("the filesystem walk could not start: {e}"))
    })?;
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            lower_priority();
            let mut w = Walker {
                limits,
                start: Instant::now(),
                uids: &uids,
                gids: &gids,
                mount_roots: HashSet::new(),
                report: WalkReport::default(),
            };
            match openat_fd(&rfd, c".", DIR_FLAGS) {
                Ok(fd) => {
                    w.report.roots.push("/".into());
                    w.walk(fd, "/", false);
                }
                Err(e) => {
                    return Err(format!(
                        "cannot open the scan root: {}",
                        std::io::Error::from(e)
                    ))
                }
            }
            // /dev is a pseudo filesystem on a live host: list it alone for regular files
            // (KISA U-16). Filesystems mounted below it (/dev/shm) are walked normally.
            if let Ok(fd) = openat_fd(&rfd, c"dev", DIR_FLAGS) {
                w.walk(fd, "/dev", true);
            }
            w.report.elapsed = w.start.elapsed();
            Ok(w.report)
        })
        .join()
        .unwrap_or_else(|_| Err("the filesystem walk panicked".into()))
    });
    report.map_err(super::FactError::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Root;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn passwd(d: &std::path::Path) {
        std::fs::create_dir_all(d.join("etc")).unwrap();
        std::fs::write(d.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::write(d.join("etc/group"), "root:x:0:\n").unwrap();
    }

    #[test]
    fn finds_each_category_and_never_follows_links() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        passwd(d);
        std::fs::create_dir_all(d.join("tmp/ok")).unwrap();
        std::fs::create_dir_all(d.join("dev")).unwrap();
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
        // a name that is not UTF-8 is still examined
        let odd =
            d.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"etc/\xff\xfe"));
        std::fs::write(&odd, "").unwrap();
        std::fs::set_permissions(&odd, std::fs::Permissions::from_mode(0o4777)).unwrap();
        let root = Root::new(d).unwrap();
        let f = Facts::new(&root);
        let r = run(&f).unwrap();
        let paths = |x: &Found| {
            let mut v = x.items.iter().map(|i| i.0.clone()).collect::<Vec<_>>();
            v.sort();
            v
        };
        assert_eq!(
            paths(&r.world_writable),
            vec!["/etc/ww", "/etc/\u{fffd}\u{fffd}"]
        );
        assert_eq!(
            paths(&r.suid_sgid),
            vec!["/etc/suid", "/etc/\u{fffd}\u{fffd}"]
        );
        assert_eq!(paths(&r.world_writable_dirs_no_sticky), vec!["/tmp"]);
        assert_eq!(paths(&r.dev_regular_files), vec!["/dev/sda"]);
        assert!(r.truncated.is_none());
        assert_eq!(r.incomplete(), None);
    }

    #[test]
    fn bounds_are_reported() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        passwd(d);
        for i in 0..20 {
            std::fs::write(d.join(format!("f{i}")), "").unwrap();
        }
        let root = Root::new(d).unwrap();
        let mut f = Facts::new(&root);
        f.walk_limits.max_entries = 5;
        let r = run(&f).unwrap();
        assert!(r.truncated.as_deref().unwrap().contains("5-entry"));
        assert!(r.incomplete().unwrap().contains("5-entry"));
    }

    /// Regression (issue 12, defect 3): directories deeper than the bound were only counted as
    /// unreadable; the walk looked complete and the checks said "none found".
    #[test]
    fn defect3_directories_beyond_the_depth_bound_make_the_walk_incomplete() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        passwd(d);
        let mut deep = d.to_path_buf();
        for _ in 0..12 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep).unwrap();
        let bad = deep.join("suid");
        std::fs::write(&bad, "").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o4777)).unwrap();
        let root = Root::new(d).unwrap();
        let mut f = Facts::new(&root);
        f.walk_limits.max_depth = 8;
        let r = run(&f).unwrap();
        assert_eq!(r.suid_sgid.count, 0);
        assert_eq!(r.too_deep, 1);
        let why = r.incomplete().unwrap();
        assert!(
            why.starts_with("walk incomplete: 1 directories not visited (1 deeper than"),
            "{why}"
        );
        // with a larger bound, it is found and the walk is complete
        let mut f = Facts::new(&root);
        f.walk_limits.max_depth = 64;
        let r = run(&f).unwrap();
        assert_eq!(r.suid_sgid.count, 1);
        assert_eq!(r.incomplete(), None);
    }

    #[test]
    fn dir_stream_reads_large_directories_in_fixed_memory() {
        let t = tempfile::tempdir().unwrap();
        for i in 0..3000 {
            std::fs::write(t.path().join(format!("a-fairly-long-file-name-{i:05}")), "").unwrap();
        }
        let c = std::ffi::CString::new(t.path().to_str().unwrap()).unwrap();
        let fd = openat_fd(rustix::fs::CWD, &c, DIR_FLAGS).unwrap();
        let mut s = DirStream::new(fd);
        let mut buf = DirBuf::new();
        let mut n = 0;
        while let Some(e) = s.next_entry(&mut buf) {
            let (name, dtype) = e.unwrap();
            assert!(name.to_bytes().starts_with(b"a-fairly"), "{name:?}");
            assert!(dtype == 8 || dtype == 0, "DT_REG or DT_UNKNOWN: {dtype}");
            n += 1;
        }
        assert_eq!(n, 3000);
        // one batch of names at a time, never the whole directory
        assert!(s.names.capacity() <= DIR_BUF, "{}", s.names.capacity());
        assert_eq!(buf.0.len(), DIR_BUF);
    }

    /// The walk stops at its next poll once cancellation is requested (SIGTERM in the daemon).
    /// The flag is process-wide, so the cancelled walk runs in a child test process.
    #[test]
    fn walk_stops_when_cancelled() {
        const ENV: &str = "JIKIMI_TEST_CANCEL_WALK";
        if std::env::var_os(ENV).is_none() {
            let o = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "facts::walk::tests::walk_stops_when_cancelled"])
                .env(ENV, "1")
                .output()
                .unwrap();
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(o.status.success() && out.contains("1 passed"), "{out}");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        passwd(d);
        for i in 0..3000 {
            std::fs::write(d.join(format!("f{i}")), "").unwrap();
        }
        crate::cancel::request();
        let root = Root::new(d).unwrap();
        let f = Facts::new(&root);
        let r = run(&f).unwrap();
        assert_eq!(r.truncated.as_deref(), Some("walk cancelled"));
        assert!(r.entries <= 1024, "{}", r.entries);
        assert!(r.incomplete().unwrap().contains("walk cancelled"));
    }
}
