//! Every file the agent reads goes through [`Root`]: host paths such as `/etc/shadow` are
//! resolved under the scan root (`/` on a live host, a mounted image with `--root DIR`).
//!
//! Why not `std::fs` with `root.join(path)`? Because an image (or a user on a live host) may
//! contain symlinks such as `/etc/shadow -> /host/etc/shadow` or `../../../etc/shadow`. The
//! resolver here walks the path one component at a time with `openat(O_PATH|O_NOFOLLOW)`,
//! reads every symlink itself and re-anchors it at the scan root, as `chroot(2)` would. `..`
//! stops at the root. The kernel never follows a link for us, so nothing outside the root is
//! ever opened, and swapping a component for a link between two steps makes the read fail
//! instead of escaping.
//!
//! Reads are bounded ([`MAX_READ_BYTES`] by default), never block on FIFOs or devices
//! (`O_NONBLOCK` and a regular-file check), reject binary content (a NUL byte) and decode
//! text lossily so a stray Latin-1 byte in a comment does not hide the rest of a file.
//!
//! This crate (`jikimi-fs`, re-exported by the agent as `jikimi::fs`) is the only one of the
//! workspace with `unsafe` code and raw `libc` calls: the rooted resolution's system calls,
//! `getpwuid_r`, `ioprio_set` and glibc's allocator tuning. Every other system call of the
//! agent goes through `rustix`, and the agent's crate is `#![forbid(unsafe_code)]`. Each
//! `unsafe` block here carries a `SAFETY:` comment.

#![warn(missing_docs)]

pub mod deps;

use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Largest file the agent reads into memory unless a caller asks for another bound.
pub const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;
/// Symlinks followed while resolving one path before giving up (Linux uses 40 too).
const MAX_SYMLINKS: usize = 40;

/// Why a path could not be read. `Display` names the path and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError {
    /// The host path as the catalog names it (not prefixed with the scan root).
    pub path: String,
    /// What went wrong.
    pub kind: FsErrorKind,
}

/// The reasons a read can fail, as checks report them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsErrorKind {
    /// The file (or a directory on its way) does not exist.
    NotFound,
    /// `EACCES` or `EPERM`.
    PermissionDenied,
    /// Larger than the read bound.
    TooLarge {
        /// The bound, in bytes.
        limit: u64,
    },
    /// Contains a NUL byte: not a text file.
    Binary {
        /// Where the first NUL byte is.
        offset: usize,
    },
    /// Not a regular file (directory, FIFO, device, socket).
    NotRegular(FileKind),
    /// Too many symlinks (a loop).
    SymlinkLoop,
    /// A path component that must be a directory is not one.
    NotADirectory,
    /// The file changed between two steps of one read (e.g. became a symlink).
    Changed,
    /// Any other error, as the system describes it.
    Other(String),
}

impl FsError {
    /// An error about the host path `path`.
    pub fn new(path: &str, kind: FsErrorKind) -> Self {
        FsError {
            path: path.to_string(),
            kind,
        }
    }
    fn from_errno(path: &str, errno: i32) -> Self {
        let kind = match errno {
            libc::ENOENT => FsErrorKind::NotFound,
            libc::EACCES | libc::EPERM => FsErrorKind::PermissionDenied,
            libc::ELOOP => FsErrorKind::SymlinkLoop,
            libc::ENOTDIR => FsErrorKind::NotADirectory,
            e => FsErrorKind::Other(std::io::Error::from_raw_os_error(e).to_string()),
        };
        FsError::new(path, kind)
    }
    /// The file (or a directory on its way) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.kind,
            FsErrorKind::NotFound | FsErrorKind::NotADirectory
        )
    }
}

impl FsError {
    /// Why the path could not be read, without the path (for errors that name it already).
    pub fn kind_text(&self) -> String {
        match &self.kind {
            FsErrorKind::NotFound => "no such file".into(),
            FsErrorKind::PermissionDenied => "permission denied".into(),
            FsErrorKind::TooLarge { limit } => format!("larger than the {limit}-byte read limit"),
            FsErrorKind::Binary { offset } => {
                format!("binary content (NUL byte at offset {offset})")
            }
            FsErrorKind::NotRegular(k) => format!("not a regular file ({k})"),
            FsErrorKind::SymlinkLoop => "too many levels of symbolic links".into(),
            FsErrorKind::NotADirectory => "a path component is not a directory".into(),
            FsErrorKind::Changed => "file changed while being read".into(),
            FsErrorKind::Other(m) => m.clone(),
        }
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.kind_text())
    }
}

impl std::error::Error for FsError {}

/// The type of a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A character device.
    Char,
    /// A block device.
    Block,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
}

impl FileKind {
    /// The kind from `st_mode`'s `S_IFMT` bits (anything unknown counts as a regular file).
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileKind::Dir,
            libc::S_IFLNK => FileKind::Symlink,
            libc::S_IFCHR => FileKind::Char,
            libc::S_IFBLK => FileKind::Block,
            libc::S_IFIFO => FileKind::Fifo,
            libc::S_IFSOCK => FileKind::Socket,
            _ => FileKind::File,
        }
    }

    /// The kind a catalog names: `file`, `dir` (or `directory`), `symlink`, `char`, `block`,
    /// `fifo`, `socket`.
    pub fn parse(s: &str) -> Option<FileKind> {
        Some(match s {
            "file" => FileKind::File,
            "dir" | "directory" => FileKind::Dir,
            "symlink" => FileKind::Symlink,
            "char" => FileKind::Char,
            "block" => FileKind::Block,
            "fifo" => FileKind::Fifo,
            "socket" => FileKind::Socket,
            _ => return None,
        })
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::File => "regular file",
            FileKind::Dir => "directory",
            FileKind::Symlink => "symlink",
            FileKind::Char => "character device",
            FileKind::Block => "block device",
            FileKind::Fifo => "FIFO",
            FileKind::Socket => "socket",
        })
    }
}

/// What `stat(2)` says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// The file's type.
    pub kind: FileKind,
    /// Permission bits including setuid, setgid and sticky (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Device of the filesystem holding it.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Hard links.
    pub nlink: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
}

impl Meta {
    #[allow(
        clippy::useless_conversion,
        reason = "st_nlink is u64 on x86_64 but u32 on aarch64"
    )]
    fn from_stat(st: &libc::stat) -> Meta {
        Meta {
            kind: FileKind::from_mode(st.st_mode),
            mode: st.st_mode & 0o7777,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size as u64,
            dev: st.st_dev,
            ino: st.st_ino,
            nlink: u64::from(st.st_nlink),
            mtime: st.st_mtime,
        }
    }
}

/// A text file read through the root: the content is lossily decoded UTF-8.
#[derive(Debug, Clone)]
pub struct Text {
    /// Host path (as requested, after nothing: symlinks are not reflected here).
    pub path: String,
    /// The text, with invalid UTF-8 replaced.
    pub content: String,
    /// The file's metadata, from the descriptor that was read.
    pub meta: Meta,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name (lossily decoded when not UTF-8).
    pub name: String,
    /// From `d_type`; `None` where the filesystem does not report it.
    pub kind: Option<FileKind>,
}

/// The scan root. Cheap to share by reference; holds one directory descriptor.
pub struct Root {
    fd: OwnedFd,
    dir: PathBuf,
    live: bool,
}

impl fmt::Debug for Root {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Root").field("dir", &self.dir).finish()
    }
}

fn cstr(s: &[u8]) -> CString {
    // Path components never contain NUL: they come from splitting on '/' of a Rust string
    // or from readdir/readlink, none of which can hold a NUL byte.
    CString::new(s).unwrap_or_default()
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn openat_raw(dir: RawFd, name: &[u8], flags: i32) -> Result<OwnedFd, i32> {
    let c = cstr(name);
    // SAFETY: `c` is a valid NUL-terminated string and `dir` a descriptor we own.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC, 0) };
    if fd < 0 {
        Err(errno())
    } else {
        // SAFETY: `fd` was just returned by openat and is owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

fn fstatat_raw(dir: RawFd, name: &[u8], flags: i32) -> Result<libc::stat, i32> {
    let c = cstr(name);
    // SAFETY: zeroed is a valid bit pattern for `stat`; pointers are valid for the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, flags) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(st)
    }
}

fn fstat_raw(fd: RawFd) -> Result<libc::stat, i32> {
    // SAFETY: as above.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        Err(errno())
    } else {
        Ok(st)
    }
}

fn readlinkat_raw(dir: RawFd, name: &[u8]) -> Result<Vec<u8>, i32> {
    let c = cstr(name);
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::readlinkat(dir, c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(errno());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// Reads a directory from a descriptor (which is consumed).
pub(crate) fn list_dir_fd(fd: OwnedFd) -> Result<Vec<Entry>, i32> {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // SAFETY: `raw` is an open directory descriptor; fdopendir takes ownership of it.
    let dirp = unsafe { libc::fdopendir(raw) };
    if dirp.is_null() {
        let e = errno();
        // SAFETY: fdopendir failed, so we still own `raw`.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    let mut out = Vec::new();
    loop {
        // SAFETY: dirp is a valid DIR* until closedir below.
        let ent = unsafe { libc::readdir64(dirp) };
        if ent.is_null() {
            break;
        }
        // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated.
        let (name, dtype) = unsafe {
            (
                CStr::from_ptr((*ent).d_name.as_ptr()).to_bytes().to_vec(),
                (*ent).d_type,
            )
        };
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match dtype {
            libc::DT_REG => Some(FileKind::File),
            libc::DT_DIR => Some(FileKind::Dir),
            libc::DT_LNK => Some(FileKind::Symlink),
            libc::DT_CHR => Some(FileKind::Char),
            libc::DT_BLK => Some(FileKind::Block),
            libc::DT_FIFO => Some(FileKind::Fifo),
            libc::DT_SOCK => Some(FileKind::Socket),
            _ => None,
        };
        out.push(Entry {
            name: String::from_utf8_lossy(&name).into_owned(),
            kind,
        });
    }
    // SAFETY: dirp came from fdopendir and is closed once.
    unsafe { libc::closedir(dirp) };
    Ok(out)
}

/// Where a resolved path ended: its parent directory and final name (never `.`/`..`).
struct Resolved {
    parent: OwnedFd,
    /// Empty when the path is the root itself.
    name: Vec<u8>,
}

impl Root {
    /// Opens a scan root: the directory `dir` names, itself. The descriptor is opened from the
    /// path as given (`O_PATH|O_DIRECTORY`, following links on the way) and kept; the path
    /// is never canonicalized and reopened by name. `/proc/PID/root` of a process in another
    /// mount namespace resolves (through the kernel's magic link) to that process's root,
    /// while `readlink` of it says `/` or a path that means something else here (issue 12,
    /// defect 4).
    ///
    /// Only the literal path `/` is the live host (kernel facts from /proc and /sys describe
    /// it); any other path, even one that leads to `/`, is scanned as an image.
    pub fn new(dir: &Path) -> std::io::Result<Root> {
        let c = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: valid C string; we take ownership of the returned descriptor.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let live = dir.as_os_str().as_bytes() == b"/";
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()?.join(dir)
        };
        Ok(Root {
            // SAFETY: fresh descriptor.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            dir,
            live,
        })
    }

    /// A new descriptor of the root directory (`O_PATH`), for walks that start from it.
    pub fn dup_fd(&self) -> std::io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// True when the root is `/`: live kernel facts (/proc, /sys) describe this host.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The root directory on the machine running the agent.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a host path lives on the machine running the agent (for messages only: never
    /// open this path, it does not resolve symlinks inside the root).
    pub fn real_path(&self, path: &str) -> PathBuf {
        self.dir.join(path.trim_start_matches('/'))
    }

    fn dup_root(&self) -> Result<OwnedFd, i32> {
        self.fd
            .try_clone()
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
    }

    /// Resolves `path` under the root. Intermediate symlinks are always followed (inside the
    /// root); the last component is followed when `follow_last`.
    fn resolve(&self, path: &str, follow_last: bool) -> Result<Resolved, FsError> {
        if !deps::active() {
            if let Some(r) = self.resolve_fast(path, follow_last) {
                return r;
            }
            return self.resolve_impl(path, follow_last, &mut None);
        }
        // the real-time daemon's dependency recording (see [`deps`])
        let mut logical = Some(Vec::new());
        let r = self.resolve_impl(path, follow_last, &mut logical);
        let mut comps = logical.unwrap_or_default();
        if let Ok(r) = &r {
            if !r.name.is_empty() {
                comps.push(r.name.clone());
            }
        }
        deps::note_path(logical_path(&comps));
        r
    }

    /// The common case of [`Root::resolve`] in two system calls instead of two or three per
    /// component: one `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` opens the parent
    /// directory, the kernel following symlinks inside the root and stopping `..` at it
    /// exactly as the component walk does, then an `lstat` of the last component. A scan
    /// resolves thousands of paths, and the walk's `fstatat`/`openat`/`close` per component
    /// were most of its system time. `None` hands the path to the walk, which decides every
    /// case this does not: `.` or `..` in the path, the root itself, a final symlink to
    /// follow, a magic link (`/proc/PID/root`, whose text the walk follows instead), a kernel
    /// without `openat2` (before 5.6) or a seccomp filter refusing it, and every error but
    /// "does not exist" / "not a directory", so that errors read as the walk's. The real-time
    /// daemon's dependency recording always walks: it must see every symlink on the way.
    fn resolve_fast(&self, path: &str, follow_last: bool) -> Option<Result<Resolved, FsError>> {
        use rustix::fs::{Mode, OFlags, ResolveFlags};
        let comps = split(path.as_bytes());
        if comps.iter().any(|c| c == b"." || c == b"..") {
            return None;
        }
        let (last, dirs) = comps.split_last()?;
        let parent = if dirs.is_empty() {
            self.fd.try_clone().ok()?
        } else {
            match rustix::fs::openat2(
                &self.fd,
                dirs.join(&b'/'),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            ) {
                Ok(fd) => fd,
                Err(e) if e == rustix::io::Errno::NOENT || e == rustix::io::Errno::NOTDIR => {
                    return Some(Err(FsError::from_errno(path, e.raw_os_error())));
                }
                Err(_) => return None,
            }
        };
        match fstatat_raw(parent.as_raw_fd(), last, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if follow_last && FileKind::from_mode(st.st_mode) == FileKind::Symlink => None,
            Ok(_) => Some(Ok(Resolved {
                parent,
                name: last.clone(),
            })),
            Err(libc::ENOENT) => Some(Err(FsError::new(path, FsErrorKind::NotFound))),
            Err(_) => None,
        }
    }

    /// [`Root::resolve`]; `logical`, when given, tracks the components of the resolved
    /// location (and on failure the path that was being looked for), and every symlink
    /// passed is recorded.
    fn resolve_impl(
        &self,
        path: &str,
        follow_last: bool,
        logical: &mut Option<Vec<Vec<u8>>>,
    ) -> Result<Resolved, FsError> {
        let err = |e: i32| FsError::from_errno(path, e);
        let mut todo: Vec<Vec<u8>> = split(path.as_bytes());
        todo.reverse(); // a stack: next component at the end
        let mut stack: Vec<OwnedFd> = Vec::new(); // ancestors of `cur`
        let mut cur = self.dup_root().map_err(err)?;
        let mut links = 0usize;
        while let Some(comp) = todo.pop() {
            if comp == b"." {
                continue;
            }
            if comp == b".." {
                if let Some(parent) = stack.pop() {
                    cur = parent;
                    if let Some(l) = logical.as_mut() {
                        l.pop();
                    }
                }
                continue;
            }
            let last = todo.is_empty();
            let st = match fstatat_raw(cur.as_raw_fd(), &comp, libc::AT_SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(e) => {
                    if let Some(l) = logical.as_mut() {
                        // what was looked for: a later create of it must be seen
                        l.push(comp);
                        l.extend(todo.drain(..).rev().filter(|c| c != b"." && c != b".."));
                    }
                    return Err(if last && e == libc::ENOENT {
                        FsError::new(path, FsErrorKind::NotFound)
                    } else {
                        err(e)
                    });
                }
            };
            let kind = FileKind::from_mode(st.st_mode);
            if kind == FileKind::Symlink && (!last || follow_last) {
                if let Some(l) = logical.as_ref() {
                    let mut link = l.clone();
                    link.push(comp.clone());
                    deps::note_path(logical_path(&link));
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(FsError::new(path, FsErrorKind::SymlinkLoop));
                }
                let target = readlinkat_raw(cur.as_raw_fd(), &comp).map_err(err)?;
                let mut parts = split(&target);
                parts.reverse();
                todo.extend(parts);
                if target.first() == Some(&b'/') {
                    stack.clear();
                    cur = self.dup_root().map_err(err)?;
                    if let Some(l) = logical.as_mut() {
                        l.clear();
                    }
                }
                continue;
            }
            if last {
                return Ok(Resolved {
                    parent: cur,
                    name: comp,
                });
            }
            if kind != FileKind::Dir {
                return Err(FsError::new(path, FsErrorKind::NotADirectory));
            }
            let next = openat_raw(
                cur.as_raw_fd(),
                &comp,
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY,
            )
            .map_err(|e| {
                if e == libc::ELOOP {
                    FsError::new(path, FsErrorKind::Changed)
                } else {
                    err(e)
                }
            })?;
            if let Some(l) = logical.as_mut() {
                l.push(comp);
            }
            stack.push(std::mem::replace(&mut cur, next));
        }
        Ok(Resolved {
            parent: cur,
            name: Vec::new(),
        })
    }

    fn stat_impl(&self, path: &str, follow: bool) -> Result<Meta, FsError> {
        let r = self.resolve(path, follow)?;
        let st = if r.name.is_empty() {
            fstat_raw(r.parent.as_raw_fd())
        } else {
            fstatat_raw(r.parent.as_raw_fd(), &r.name, libc::AT_SYMLINK_NOFOLLOW)
        }
        .map_err(|e| FsError::from_errno(path, e))?;
        Ok(Meta::from_stat(&st))
    }

    /// Opens a directory under the root (symlinks resolved inside the root) as an `O_PATH`
    /// descriptor. The remediation engine creates, replaces and removes entries relative to
    /// it, so its writes can never leave the root.
    pub fn open_dir(&self, path: &str) -> Result<OwnedFd, FsError> {
        let r = self.resolve(path, true)?;
        if r.name.is_empty() {
            return Ok(r.parent);
        }
        openat_raw(
            r.parent.as_raw_fd(),
            &r.name,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        )
        .map_err(|e| FsError::from_errno(path, e))
    }

    /// `stat(2)` under the root: symlinks are followed (inside the root).
    pub fn stat(&self, path: &str) -> Result<Meta, FsError> {
        self.stat_impl(path, true)
    }

    /// `lstat(2)` under the root: the last component is not followed.
    pub fn lstat(&self, path: &str) -> Result<Meta, FsError> {
        self.stat_impl(path, false)
    }

    /// Whether a path exists (following symlinks inside the root). Errors other than
    /// "not found" count as existing: the caller will meet them on the read.
    pub fn exists(&self, path: &str) -> bool {
        match self.stat(path) {
            Ok(_) => true,
            Err(e) => !e.is_not_found(),
        }
    }

    /// Target of a symlink, as stored (not resolved).
    pub fn read_link(&self, path: &str) -> Result<String, FsError> {
        let r = self.resolve(path, false)?;
        let t = readlinkat_raw(r.parent.as_raw_fd(), &r.name)
            .map_err(|e| FsError::from_errno(path, e))?;
        Ok(String::from_utf8_lossy(&t).into_owned())
    }

    /// Opens a regular file for reading without following a final symlink out of the root
    /// and without blocking on FIFOs.
    pub fn open_regular(&self, path: &str) -> Result<(std::fs::File, Meta), FsError> {
        let r = self.resolve(path, true)?;
        let name: &[u8] = if r.name.is_empty() { b"." } else { &r.name };
        let fd = openat_raw(
            r.parent.as_raw_fd(),
            name,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        )
        .map_err(|e| {
            if e == libc::ELOOP {
                FsError::new(path, FsErrorKind::Changed)
            } else {
                FsError::from_errno(path, e)
            }
        })?;
        let st = fstat_raw(fd.as_raw_fd()).map_err(|e| FsError::from_errno(path, e))?;
        let meta = Meta::from_stat(&st);
        if meta.kind != FileKind::File {
            return Err(FsError::new(path, FsErrorKind::NotRegular(meta.kind)));
        }
        Ok((std::fs::File::from(fd), meta))
    }

    /// Opens a regular file for random access (binary databases read page by page, such as
    /// the rpm database), with the same confinement to the root as the other reads. The
    /// caller bounds what it reads.
    pub fn open_file(&self, path: &str) -> Result<(std::fs::File, Meta), FsError> {
        self.open_regular(path)
    }

    /// Reads at most `limit` bytes of a regular file; more is an error (never a silent
    /// truncation: a check must not pass on half a file).
    pub fn read_bytes_limited(&self, path: &str, limit: u64) -> Result<(Vec<u8>, Meta), FsError> {
        let (file, meta) = self.open_regular(path)?;
        if meta.size > limit {
            return Err(FsError::new(path, FsErrorKind::TooLarge { limit }));
        }
        let mut buf = Vec::with_capacity(meta.size.min(limit) as usize);
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| FsError::new(path, FsErrorKind::Other(e.to_string())))?;
        if buf.len() as u64 > limit {
            return Err(FsError::new(path, FsErrorKind::TooLarge { limit }));
        }
        Ok((buf, meta))
    }

    /// Reads a text file (bounded by [`MAX_READ_BYTES`]). A NUL byte makes it binary (an
    /// error); invalid UTF-8 is replaced, so keywords around it are still seen.
    pub fn read_text(&self, path: &str) -> Result<Text, FsError> {
        self.read_text_limited(path, MAX_READ_BYTES)
    }

    /// [`Root::read_text`] with another bound than [`MAX_READ_BYTES`].
    pub fn read_text_limited(&self, path: &str, limit: u64) -> Result<Text, FsError> {
        let (bytes, meta) = self.read_bytes_limited(path, limit)?;
        if let Some(offset) = bytes.iter().position(|&b| b == 0) {
            return Err(FsError::new(path, FsErrorKind::Binary { offset }));
        }
        let content = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        Ok(Text {
            path: path.to_string(),
            content,
            meta,
        })
    }

    /// Reads a small kernel file (under /proc or /sys) where NUL separators are expected
    /// (e.g. `/proc/PID/cmdline`).
    pub fn read_proc(&self, path: &str) -> Result<Vec<u8>, FsError> {
        Ok(self.read_bytes_limited(path, 1024 * 1024)?.0)
    }

    /// Lists a directory (following symlinks inside the root), sorted by name.
    pub fn read_dir(&self, path: &str) -> Result<Vec<Entry>, FsError> {
        let r = self.resolve(path, true)?;
        let name: &[u8] = if r.name.is_empty() { b"." } else { &r.name };
        let fd = openat_raw(
            r.parent.as_raw_fd(),
            name,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        )
        .map_err(|e| FsError::from_errno(path, e))?;
        let mut v = list_dir_fd(fd).map_err(|e| FsError::from_errno(path, e))?;
        if deps::active() {
            deps::note_dir(normalize(path));
        }
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    /// Expands a glob (`*`, `?`, `[...]` in any component) to the sorted host paths that
    /// exist. A pattern without wildcards yields itself when it exists. Directories that
    /// cannot be read are skipped, as the shell does.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>, FsError> {
        let comps: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        let mut found = vec![String::new()];
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            let mut next = Vec::new();
            for base in &found {
                if has_wildcard(comp) {
                    let dir = if base.is_empty() { "/" } else { base.as_str() };
                    let entries = match self.read_dir(dir) {
                        Ok(e) => e,
                        Err(_) => continue,
                    };
                    for e in entries {
                        if e.name.starts_with('.') && !comp.starts_with('.') {
                            continue;
                        }
                        if fnmatch(comp, &e.name) {
                            next.push(format!("{base}/{}", e.name));
                        }
                    }
                } else {
                    let p = format!("{base}/{comp}");
                    if !last || self.exists(&p) {
                        next.push(p);
                    }
                }
            }
            found = next;
        }
        if comps.is_empty() {
            return Ok(vec!["/".into()]);
        }
        found.retain(|p| self.exists(p));
        found.sort();
        found.dedup();
        Ok(found)
    }
}

/// `/a/b` from components.
fn logical_path(comps: &[Vec<u8>]) -> String {
    let mut s = String::new();
    for c in comps {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(c));
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// A host path without `.`, `..` (lexically) and repeated slashes.
pub fn normalize(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// A directory opened once under the root, whose entries are then read by name relative to
/// its descriptor: reading `stat`, `status`, `cmdline` and `exe` of one `/proc/PID` (and the
/// links of its `fd/`) resolves `/proc/PID` once instead of component by component for every
/// file. Names are single components, never followed when they are links (`O_NOFOLLOW`), so
/// nothing outside the directory is opened.
pub struct Dir {
    fd: OwnedFd,
    /// Host path, for messages.
    path: String,
}

impl Root {
    /// Opens a directory under the root (symlinks resolved inside the root) as a [`Dir`].
    pub fn dir_handle(&self, path: &str) -> Result<Dir, FsError> {
        Ok(Dir {
            fd: self.open_dir(path)?,
            path: path.to_string(),
        })
    }
}

impl Dir {
    /// Host path of the directory.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn child(&self, name: &str) -> Result<Vec<u8>, FsError> {
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(FsError::new(
                &join(&self.path, name),
                FsErrorKind::Other("not a single path component".into()),
            ));
        }
        Ok(name.as_bytes().to_vec())
    }

    /// A subdirectory (never through a link) as a [`Dir`].
    pub fn subdir(&self, name: &str) -> Result<Dir, FsError> {
        let path = join(&self.path, name);
        let fd = openat_raw(
            self.fd.as_raw_fd(),
            &self.child(name)?,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        )
        .map_err(|e| FsError::from_errno(&path, e))?;
        Ok(Dir { fd, path })
    }

    /// Reads at most `limit` bytes of a regular file in this directory (more is an error, as
    /// in [`Root::read_bytes_limited`]); a link is not followed. Kernel files (`/proc`),
    /// which report size 0, are read to their end.
    pub fn read_bytes_limited(&self, name: &str, limit: u64) -> Result<Vec<u8>, FsError> {
        let c = self.child(name)?;
        let path = || join(&self.path, name);
        let fd = openat_raw(
            self.fd.as_raw_fd(),
            &c,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        )
        .map_err(|e| FsError::from_errno(&path(), e))?;
        let st = fstat_raw(fd.as_raw_fd()).map_err(|e| FsError::from_errno(&path(), e))?;
        let meta = Meta::from_stat(&st);
        if meta.kind != FileKind::File {
            return Err(FsError::new(&path(), FsErrorKind::NotRegular(meta.kind)));
        }
        if meta.size > limit {
            return Err(FsError::new(&path(), FsErrorKind::TooLarge { limit }));
        }
        let mut buf = Vec::with_capacity(if meta.size == 0 {
            1024
        } else {
            meta.size as usize + 1
        });
        std::fs::File::from(fd)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| FsError::new(&path(), FsErrorKind::Other(e.to_string())))?;
        if buf.len() as u64 > limit {
            return Err(FsError::new(&path(), FsErrorKind::TooLarge { limit }));
        }
        Ok(buf)
    }

    /// `lstat(2)` of an entry of this directory.
    pub fn lstat(&self, name: &str) -> Result<Meta, FsError> {
        fstatat_raw(
            self.fd.as_raw_fd(),
            &self.child(name)?,
            libc::AT_SYMLINK_NOFOLLOW,
        )
        .map(|st| Meta::from_stat(&st))
        .map_err(|e| FsError::from_errno(&join(&self.path, name), e))
    }

    /// Target of a symlink in this directory, as stored.
    pub fn read_link(&self, name: &str) -> Result<String, FsError> {
        let t = readlinkat_raw(self.fd.as_raw_fd(), &self.child(name)?)
            .map_err(|e| FsError::from_errno(&join(&self.path, name), e))?;
        Ok(String::from_utf8_lossy(&t).into_owned())
    }

    /// Calls `each` with the name and target of every symlink in the subdirectory `name`
    /// (e.g. `/proc/PID/fd`), reading them relative to one descriptor, until `each` returns
    /// false. Entries that vanish while being read (a descriptor closed meanwhile) are
    /// skipped.
    pub fn for_each_link(
        &self,
        name: &str,
        mut each: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), FsError> {
        let path = || join(&self.path, name);
        let fd = openat_raw(
            self.fd.as_raw_fd(),
            &self.child(name)?,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        )
        .map_err(|e| FsError::from_errno(&path(), e))?;
        let listing = fd
            .try_clone()
            .map_err(|e| FsError::new(&path(), FsErrorKind::Other(e.to_string())))?;
        let entries = list_dir_fd(listing).map_err(|e| FsError::from_errno(&path(), e))?;
        let mut buf = [0u8; 4096]; // PATH_MAX: a link target is never longer
        for e in entries {
            if e.kind.is_some_and(|k| k != FileKind::Symlink) {
                continue;
            }
            let c = cstr(e.name.as_bytes());
            // SAFETY: `c` is NUL-terminated, `buf` is valid for its length, `fd` is open.
            let n = unsafe {
                libc::readlinkat(
                    fd.as_raw_fd(),
                    c.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                continue;
            }
            if !each(e.name.as_bytes(), &buf[..n as usize]) {
                break;
            }
        }
        Ok(())
    }
}

fn split(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(|c| c.to_vec())
        .collect()
}

/// True when a glob component has a wildcard.
pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Shell-style matching of one name: `*`, `?`, `[abc]`, `[a-z]`, `[!x]` / `[^x]`.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    // Up to the first wildcard the pattern is literal: most names fail there, without the
    // character vectors below (classification matches every package against every glob).
    let lit = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    if !name.starts_with(&pattern[..lit]) {
        return false;
    }
    if lit == pattern.len() {
        return pattern == name;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // returns (matched, length of the class in p) or None if unterminated
        let mut i = 1;
        let neg = matches!(p.get(1), Some('!') | Some('^'));
        if neg {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == ']' && !first {
                return Some((matched != neg, i + 1));
            }
            first = false;
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                if p[i] <= c && c <= p[i + 2] {
                    matched = true;
                }
                i += 3;
            } else {
                if p[i] == c {
                    matched = true;
                }
                i += 1;
            }
        }
        None
    }
    // iterative matcher with backtracking on the last '*'
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, len)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Joins a directory and a name into a host path.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Makes every thread allocate from glibc's main arena (`mallopt(M_ARENA_MAX, 1)`). The
/// daemon allocates little outside its main thread, but a second thread (the catalog
/// parser, the HTTP thread) would otherwise get an arena of its own whose freed chunks stay
/// resident between scans. Call before starting threads. A no-op on other C libraries.
pub fn single_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; M_ARENA_MAX takes a count.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Gives the heap memory freed by a scan back to the kernel (`malloc_trim(3)`): glibc keeps
/// freed chunks of its main arena mapped, so without this the daemon would idle at the
/// scan's high-water mark until the next scan. A no-op on other C libraries. (Here, beside
/// the other raw system calls, so `libc` stays in one module.)
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; no pointer is passed.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Puts the calling thread in the idle I/O scheduling class (`ioprio_set(2)` with
/// `IOPRIO_WHO_PROCESS`, who 0 = the calling thread, `IOPRIO_CLASS_IDLE`): it then gets disk
/// time only when no other process wants it. Used by the filesystem walk. Here because
/// `rustix` has no `ioprio_set`.
pub fn set_thread_io_idle() -> std::io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_IDLE: libc::c_long = 3;
    const IOPRIO_CLASS_SHIFT: libc::c_long = 13;
    // SAFETY: ioprio_set takes three integers; no memory is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Reads a configuration file of the machine running the agent (`--config`, catalog and
/// `checks.d` files, classification rules) with the guarantees of scanned files: regular files
/// only (a FIFO or `/dev/zero` is an error, never a hang or an endless read: the open is
/// `O_NONBLOCK`), at most `limit` bytes, no NUL byte, UTF-8. Links in the path are followed:
/// the administrator names these paths.
pub fn read_local_text(path: &Path, limit: u64) -> Result<String, FsError> {
    let shown = path.display().to_string();
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| FsError::new(&shown, FsErrorKind::Other("NUL byte in the path".into())))?;
    // SAFETY: valid C string; we own the returned descriptor.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(FsError::from_errno(&shown, errno()));
    }
    // SAFETY: fresh descriptor.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = fstat_raw(fd.as_raw_fd()).map_err(|e| FsError::from_errno(&shown, e))?;
    let meta = Meta::from_stat(&st);
    if meta.kind != FileKind::File {
        return Err(FsError::new(&shown, FsErrorKind::NotRegular(meta.kind)));
    }
    if meta.size > limit {
        return Err(FsError::new(&shown, FsErrorKind::TooLarge { limit }));
    }
    let mut buf = Vec::with_capacity(meta.size as usize);
    std::fs::File::from(fd)
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| FsError::new(&shown, FsErrorKind::Other(e.to_string())))?;
    if buf.len() as u64 > limit {
        return Err(FsError::new(&shown, FsErrorKind::TooLarge { limit }));
    }
    if let Some(offset) = buf.iter().position(|&b| b == 0) {
        return Err(FsError::new(&shown, FsErrorKind::Binary { offset }));
    }
    String::from_utf8(buf).map_err(|e| {
        FsError::new(
            &shown,
            FsErrorKind::Other(format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            )),
        )
    })
}

/// Lossy conversion for paths in messages.
pub fn display_os(s: &OsStr) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

/// The effective user's home directory from the passwd database (`getpwuid_r`, bounded
/// buffer); `None` when the user has no entry or the entry is not an absolute path.
pub fn passwd_home() -> Option<PathBuf> {
    use std::ffi::CStr;
    let uid = rustix::process::geteuid().as_raw();
    let mut size = 1024usize;
    while size <= 1 << 20 {
        let mut buf = vec![0 as libc::c_char; size];
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; the strings it fills point into
        // `buf`, which outlives their use below.
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), size, &mut out) };
        if rc == libc::ERANGE {
            size *= 4;
            continue;
        }
        if rc != 0 || out.is_null() || pwd.pw_dir.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded, so pw_dir is a NUL-terminated string inside `buf`.
        let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
        let dir = std::str::from_utf8(dir.to_bytes()).ok()?;
        let p = PathBuf::from(dir);
        return (p.is_absolute() && dir.len() < 4096).then_some(p);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn tree() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("etc/ssh")).unwrap();
        std::fs::write(d.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::write(d.join("etc/ssh/sshd_config"), "PermitRootLogin no").unwrap();
        let root = Root::new(d).unwrap();
        (t, root)
    }

    #[test]
    fn reads_plain_files() {
        let (_t, r) = tree();
        assert_eq!(
            r.read_text("/etc/passwd").unwrap().content,
            "root:x:0:0::/root:/bin/sh\n"
        );
        assert!(r.read_text("/etc/nope").unwrap_err().is_not_found());
        assert!(r.read_text("/etc/passwd/x").unwrap_err().is_not_found());
        assert!(!r.is_live());
    }

    #[test]
    fn absolute_symlink_is_reanchored_inside_root() {
        let (t, r) = tree();
        // /etc/link -> /etc/passwd must read the root's passwd, not the host's.
        symlink("/etc/passwd", t.path().join("etc/link")).unwrap();
        assert!(r
            .read_text("/etc/link")
            .unwrap()
            .content
            .starts_with("root:x:0:0::/root"));
        // ../../../../etc/passwd stops at the root too.
        symlink("../../../../../etc/passwd", t.path().join("etc/ssh/rel")).unwrap();
        assert!(r
            .read_text("/etc/ssh/rel")
            .unwrap()
            .content
            .starts_with("root:x:0:0::/root"));
    }

    /// `openat2(RESOLVE_IN_ROOT)` and the component walk agree on every path: same parent
    /// directory (by inode) and name, or the same error kind.
    #[test]
    fn fast_resolution_agrees_with_the_walk() {
        let (t, r) = tree();
        let d = t.path();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("ssh")).unwrap();
        std::fs::write(outside.path().join("ssh/sshd_config"), "outside").unwrap();
        symlink("/etc/ssh", d.join("abs-dir")).unwrap(); // absolute, re-anchored
        symlink("../../../../etc", d.join("etc/up")).unwrap(); // `..` stops at the root
        symlink(outside.path(), d.join("out")).unwrap(); // absolute outside: not found inside
        symlink("/nowhere/x", d.join("dangling")).unwrap();
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        symlink("/proc/self/root/etc", d.join("magic")).unwrap();
        let inode = |fd: &OwnedFd| fstat_raw(fd.as_raw_fd()).unwrap().st_ino;
        for path in [
            "/etc/passwd",
            "/etc/ssh/sshd_config",
            "/abs-dir/sshd_config",
            "/etc/up/ssh/sshd_config",
            "/etc/up/up/up/passwd",
            "/out/ssh/sshd_config",
            "/dangling/file",
            "/loop1/file",
            "/etc/passwd/file",
            "/etc/missing/file",
            "/etc/ssh/missing",
            "/magic/passwd",
            "passwd",
        ] {
            for follow in [true, false] {
                let walk = r.resolve_impl(path, follow, &mut None);
                let Some(fast) = r.resolve_fast(path, follow) else {
                    continue;
                };
                match (fast, walk) {
                    (Ok(a), Ok(b)) => {
                        assert_eq!(a.name, b.name, "{path}");
                        assert_eq!(inode(&a.parent), inode(&b.parent), "{path}");
                    }
                    (Err(a), Err(b)) => assert_eq!(a.kind, b.kind, "{path}"),
                    (a, b) => panic!("{path}: fast {:?} walk {:?}", a.err(), b.err()),
                }
            }
        }
        // the common case does take the fast path
        assert!(r.resolve_fast("/abs-dir/sshd_config", true).is_some());
        assert!(r.resolve_fast("/etc/missing/file", true).is_some());
    }

    #[test]
    fn symlink_to_outside_file_never_escapes() {
        let (t, r) = tree();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "outside").unwrap();
        symlink(outside.path().join("secret"), t.path().join("etc/escape")).unwrap();
        // The absolute target is looked up under the root, where it does not exist.
        let e = r.read_text("/etc/escape").unwrap_err();
        assert!(e.is_not_found(), "{e}");
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let (t, r) = tree();
        symlink("b", t.path().join("etc/a")).unwrap();
        symlink("a", t.path().join("etc/b")).unwrap();
        assert_eq!(
            r.read_text("/etc/a").unwrap_err().kind,
            FsErrorKind::SymlinkLoop
        );
    }

    #[test]
    fn binary_large_fifo_and_directories_are_errors() {
        let (t, r) = tree();
        std::fs::write(t.path().join("etc/bin"), b"abc\0def").unwrap();
        assert_eq!(
            r.read_text("/etc/bin").unwrap_err().kind,
            FsErrorKind::Binary { offset: 3 }
        );
        let f = std::fs::File::create(t.path().join("etc/sparse")).unwrap();
        f.set_len(1 << 30).unwrap();
        assert!(matches!(
            r.read_text("/etc/sparse").unwrap_err().kind,
            FsErrorKind::TooLarge { .. }
        ));
        let fifo = cstr(t.path().join("etc/fifo").as_os_str().as_bytes());
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(
            r.read_text("/etc/fifo").unwrap_err().kind,
            FsErrorKind::NotRegular(FileKind::Fifo)
        );
        assert_eq!(
            r.read_text("/etc").unwrap_err().kind,
            FsErrorKind::NotRegular(FileKind::Dir)
        );
    }

    #[test]
    fn non_utf8_is_decoded_lossily() {
        let (t, r) = tree();
        std::fs::write(
            t.path().join("etc/latin"),
            b"# caf\xe9\nPermitRootLogin no\n",
        )
        .unwrap();
        let text = r.read_text("/etc/latin").unwrap();
        assert!(text.content.contains("PermitRootLogin no"));
    }

    #[test]
    fn unreadable_file_is_permission_denied_for_non_root() {
        let (t, r) = tree();
        let p = t.path().join("etc/locked");
        std::fs::write(&p, "x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        let res = r.read_text("/etc/locked");
        // root bypasses modes (CAP_DAC_OVERRIDE); anyone else is refused.
        if unsafe { libc::geteuid() } == 0 {
            assert!(res.is_ok());
        } else {
            assert_eq!(res.unwrap_err().kind, FsErrorKind::PermissionDenied);
        }
    }

    #[test]
    fn stat_and_lstat() {
        let (t, r) = tree();
        symlink("passwd", t.path().join("etc/pl")).unwrap();
        assert_eq!(r.stat("/etc/pl").unwrap().kind, FileKind::File);
        assert_eq!(r.lstat("/etc/pl").unwrap().kind, FileKind::Symlink);
        assert_eq!(r.read_link("/etc/pl").unwrap(), "passwd");
        assert_eq!(r.stat("/").unwrap().kind, FileKind::Dir);
    }

    #[test]
    fn glob_expands_sorted() {
        let (t, r) = tree();
        for n in ["b.conf", "a.conf", "c.txt", ".hidden.conf"] {
            std::fs::write(t.path().join("etc/ssh").join(n), "").unwrap();
        }
        assert_eq!(
            r.glob("/etc/ssh/*.conf").unwrap(),
            vec!["/etc/ssh/a.conf", "/etc/ssh/b.conf"]
        );
        assert_eq!(
            r.glob("/etc/*/sshd_config").unwrap(),
            vec!["/etc/ssh/sshd_config"]
        );
        assert!(r.glob("/nope/*").unwrap().is_empty());
        assert_eq!(r.glob("/etc/passwd").unwrap(), vec!["/etc/passwd"]);
    }

    #[test]
    fn fnmatch_table() {
        for (p, n, ok) in [
            ("*", "abc", true),
            ("*.conf", "a.conf", true),
            ("*.conf", "a.conf~", false),
            ("a?c", "abc", true),
            ("[ab]x", "bx", true),
            ("[!ab]x", "bx", false),
            ("[a-c]*", "cat", true),
            ("*a*b", "xxaxxb", true),
            ("*a*b", "xxaxxbc", false),
            ("", "", true),
            ("[", "[", true),
        ] {
            assert_eq!(fnmatch(p, n), ok, "{p} vs {n}");
        }
    }
}
