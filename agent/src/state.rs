//! Every file the agent writes: state files under the state directory (`/var/lib/jikimi`),
//! history records, and the outputs a user names (`--output`, `--textfile`, reports).
//!
//! The agent runs as root, so a write must never be redirectable by anyone else (issue 12,
//! defect 1: a `jikimi.prom -> /etc/somefile` link planted in a textfile directory owned by
//! `prometheus` made root overwrite `/etc/somefile`). The rules, enforced here for every write:
//! - paths are resolved one component at a time (`openat(O_NOFOLLOW)`); a symlink is followed
//!   only when someone other than root (or the agent's own user) could not have planted it:
//!   it must be owned by root or the effective uid, in a directory that nobody else can write
//!   (owned by root or us, not group- or world-writable unless the sticky bit protects it);
//! - a regular file is replaced atomically: a new temporary file with an unpredictable name
//!   (`getrandom`), created `O_CREAT|O_EXCL|O_NOFOLLOW` by `openat` on the directory's
//!   descriptor, written, fsynced, then `renameat` over the target within that same
//!   directory. `rename` never follows a link at the target, so even in a directory others
//!   can write (the textfile collector's) the write lands in that directory and nowhere else;
//! - a device, FIFO or socket (`--output /dev/null`) is written in place, never renamed over,
//!   and only in a directory nobody else can write;
//! - state files additionally require their directory to be writable by nobody but root (or
//!   us): another user must not be able to feed the agent its own state.
//!
//! Two runs at once never corrupt a file (each writes its own temporary file; the last rename
//! wins) and never interleave a read-modify-write (an exclusive `flock`, [`lock`]).
//!
//! Every system call goes through `rustix` (no `unsafe` here). Errors are [`StateError`]:
//! which path, which step, and why.

use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, Stat, CWD};
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest state file read back (the Security Hub state of a big catalog is well below).
pub const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;
/// Symlinks followed while resolving one path (Linux uses 40 too).
const MAX_SYMLINKS: usize = 40;

/// Whether a path was being resolved to be read or written (messages say which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// Why someone other than root (or the agent's own user) can add, remove or rename entries
/// of a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Owned by another user.
    Owner(u32),
    /// World-writable without the sticky bit.
    WorldWritable,
    /// Writable by a group other than root's, without the sticky bit.
    Group(u32),
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exposure::Owner(uid) => write!(f, "owned by uid {uid}"),
            Exposure::WorldWritable => f.write_str("world-writable"),
            Exposure::Group(gid) => write!(f, "writable by group {gid}"),
        }
    }
}

/// Why a state file, lock or output could not be used. Every variant names the path.
/// `Debug` prints the message (a derived one cost 10 KB of binary for 27 variants).
#[derive(thiserror::Error)]
pub enum StateError {
    #[error("cannot {access} an empty path")]
    EmptyPath { access: Access },
    /// A system call failed while resolving `path`; `at` is the component it was on.
    #[error("cannot {access} {}: {at}: {source}", path.display())]
    Resolve {
        access: Access,
        path: PathBuf,
        at: String,
        source: std::io::Error,
    },
    #[error(
        "refusing to {access} {}: {} is a symlink owned by uid {uid} (neither root nor this \
         agent), which could have been planted to redirect the {access}",
        path.display(),
        link.display()
    )]
    ForeignSymlink {
        access: Access,
        path: PathBuf,
        link: PathBuf,
        uid: u32,
    },
    #[error(
        "refusing to {access} {}: {} is a symlink in {}, a directory {why}: someone other than \
         root could have planted it",
        path.display(),
        link.display(),
        dir.display()
    )]
    ExposedSymlink {
        access: Access,
        path: PathBuf,
        link: PathBuf,
        dir: PathBuf,
        why: Exposure,
    },
    #[error("cannot {access} {}: too many levels of symbolic links", path.display())]
    SymlinkLoop { access: Access, path: PathBuf },
    #[error("cannot {access} {}: empty symlink {}", path.display(), link.display())]
    EmptySymlink {
        access: Access,
        path: PathBuf,
        link: PathBuf,
    },
    #[error("cannot {access} {}: it is a directory", path.display())]
    IsDirectory { access: Access, path: PathBuf },
    #[error("cannot {access} {}: {} is not a directory", path.display(), component.display())]
    NotADirectory {
        access: Access,
        path: PathBuf,
        component: PathBuf,
    },
    #[error(
        "cannot {access} {}: {} changed while being resolved",
        path.display(),
        component.display()
    )]
    Changed {
        access: Access,
        path: PathBuf,
        component: PathBuf,
    },
    #[error("cannot create state directory {}: {source}", dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "refusing to use state directory {}: it is {why} (only root may be able to write it)",
        dir.display()
    )]
    UntrustedDir { dir: PathBuf, why: Exposure },
    #[error("cannot open state directory {}: {source}", dir.display())]
    OpenDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("state directory {} is not a directory", dir.display())]
    DirNotADirectory { dir: PathBuf },
    #[error("state directory {} does not exist", dir.display())]
    NoDir { dir: PathBuf },
    #[error("cannot open lock file {}: {source}", path.display())]
    OpenLock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("lock file {} is not a regular file", path.display())]
    LockNotRegular { path: PathBuf },
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is held by another jikimi run for over {secs} s", path.display())]
    Held { path: PathBuf, secs: u64 },
    #[error("stopped waiting for {}: shutting down", path.display())]
    Cancelled { path: PathBuf },
    /// Opening, reading or writing the final file failed.
    #[error("cannot {access} {}: {source}", path.display())]
    File {
        access: Access,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: not a regular file", path.display())]
    NotRegular { path: PathBuf },
    #[error("cannot read {}: larger than {limit} bytes", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("refusing to write state file {}: its directory is {why}", path.display())]
    ExposedStateFile { path: PathBuf, why: Exposure },
    #[error(
        "refusing to write {}: not a regular file, in a directory {why}",
        path.display()
    )]
    ExposedSpecial { path: PathBuf, why: Exposure },
    #[error("cannot write {}: it changed while being opened", path.display())]
    ChangedWhileOpening { path: PathBuf },
}

impl fmt::Debug for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn fstat(fd: &OwnedFd) -> std::io::Result<Stat> {
    Ok(rustix::fs::fstat(fd)?)
}

fn fstatat(dir: &OwnedFd, name: &[u8]) -> std::io::Result<Stat> {
    Ok(rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// `openat(2)` relative to `dir` (the working directory when `None`), always `O_CLOEXEC`.
fn openat(
    dir: Option<&OwnedFd>,
    name: &[u8],
    flags: OFlags,
    mode: u32,
) -> std::io::Result<OwnedFd> {
    let (flags, mode) = (flags | OFlags::CLOEXEC, Mode::from_raw_mode(mode));
    Ok(match dir {
        Some(d) => rustix::fs::openat(d, name, flags, mode)?,
        None => rustix::fs::openat(CWD, name, flags, mode)?,
    })
}

fn open_dir_at(dir: Option<&OwnedFd>, name: &[u8]) -> std::io::Result<OwnedFd> {
    openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW,
        0,
    )
}

fn readlinkat(dir: &OwnedFd, name: &[u8]) -> std::io::Result<Vec<u8>> {
    Ok(rustix::fs::readlinkat(dir, name, Vec::new())?.into_bytes())
}

fn on_procfs(dir: &OwnedFd) -> bool {
    rustix::fs::fstatfs(dir).is_ok_and(|s| s.f_type == rustix::fs::PROC_SUPER_MAGIC)
}

fn is_type(st: &Stat, t: FileType) -> bool {
    FileType::from_raw_mode(st.st_mode) == t
}

/// Why someone other than root (or the agent's own user) can add, remove or rename entries
/// of a directory; `None` when nobody else can. A sticky directory protects entries owned by
/// root or us from everyone else (`/tmp`).
fn writable_by_others(st: &Stat) -> Option<Exposure> {
    let me = euid();
    if st.st_uid != 0 && st.st_uid != me {
        return Some(Exposure::Owner(st.st_uid));
    }
    if st.st_mode & 0o1000 != 0 {
        return None;
    }
    if st.st_mode & 0o002 != 0 {
        return Some(Exposure::WorldWritable);
    }
    if st.st_mode & 0o020 != 0 && st.st_gid != 0 {
        return Some(Exposure::Group(st.st_gid));
    }
    None
}

/// A path resolved to its directory (an open descriptor) and final name.
struct Resolved {
    dir: OwnedFd,
    dir_st: Stat,
    /// The directory as a path, for messages.
    dir_shown: PathBuf,
    name: Vec<u8>,
    /// The final entry's `lstat`; `None` when it does not exist. Never a symlink.
    st: Option<Stat>,
}

impl Resolved {
    fn shown(&self) -> PathBuf {
        self.dir_shown.join(std::ffi::OsStr::from_bytes(&self.name))
    }
}

/// Resolves `path` one component at a time, following only symlinks nobody else could have
/// planted (see the module documentation); a final symlink is followed under the same rule.
fn resolve(path: &Path, access: Access) -> Result<Resolved, StateError> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err(StateError::EmptyPath { access });
    }
    let mut todo: Vec<Vec<u8>> = bytes
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    todo.reverse();
    let io = |at: &dyn fmt::Display, source: std::io::Error| StateError::Resolve {
        access,
        path: path.to_path_buf(),
        at: at.to_string(),
        source,
    };
    let (mut cur, mut cur_shown) = if bytes[0] == b'/' {
        (
            open_dir_at(None, b"/").map_err(|e| io(&"/", e))?,
            PathBuf::from("/"),
        )
    } else {
        (
            open_dir_at(None, b".").map_err(|e| io(&".", e))?,
            PathBuf::new(),
        )
    };
    let mut cur_st = fstat(&cur).map_err(|e| io(&"directory", e))?;
    let mut links = 0;
    while let Some(comp) = todo.pop() {
        if comp == b"." {
            continue;
        }
        if comp == b".." {
            cur = open_dir_at(Some(&cur), b"..").map_err(|e| io(&"..", e))?;
            cur_st = fstat(&cur).map_err(|e| io(&"..", e))?;
            if !cur_shown.pop() || cur_shown.as_os_str().is_empty() {
                cur_shown.push("..");
            }
            continue;
        }
        let last = todo.is_empty();
        let here = cur_shown.join(std::ffi::OsStr::from_bytes(&comp));
        let st = match fstatat(&cur, &comp) {
            Ok(st) => st,
            Err(e) if last && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Resolved {
                    dir: cur,
                    dir_st: cur_st,
                    dir_shown: cur_shown,
                    name: comp,
                    st: None,
                });
            }
            Err(e) => return Err(io(&here.display(), e)),
        };
        if is_type(&st, FileType::Symlink) {
            if st.st_uid != 0 && st.st_uid != euid() {
                return Err(StateError::ForeignSymlink {
                    access,
                    path: path.to_path_buf(),
                    link: here,
                    uid: st.st_uid,
                });
            }
            if let Some(why) = writable_by_others(&cur_st) {
                return Err(StateError::ExposedSymlink {
                    access,
                    path: path.to_path_buf(),
                    link: here,
                    dir: if cur_shown.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        cur_shown
                    },
                    why,
                });
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(StateError::SymlinkLoop {
                    access,
                    path: path.to_path_buf(),
                });
            }
            let target = readlinkat(&cur, &comp).map_err(|e| io(&here.display(), e))?;
            // `/dev/stdout` -> `/proc/self/fd/1` -> `pipe:[123]`: a kernel "magic" link to an
            // open file that no path names. Only the kernel can follow it; it is trusted by
            // the checks above (procfs, owned by us) and written in place (no rename).
            if last && target.first() != Some(&b'/') && target.contains(&b':') && on_procfs(&cur) {
                return Ok(Resolved {
                    dir: cur,
                    dir_st: cur_st,
                    dir_shown: cur_shown,
                    name: comp,
                    st: Some(st),
                });
            }
            if target.first() == Some(&b'/') {
                cur = open_dir_at(None, b"/").map_err(|e| io(&"/", e))?;
                cur_st = fstat(&cur).map_err(|e| io(&"/", e))?;
                cur_shown = PathBuf::from("/");
            }
            let mut parts: Vec<Vec<u8>> = target
                .split(|&b| b == b'/')
                .filter(|c| !c.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            if parts.is_empty() && target.first() != Some(&b'/') {
                return Err(StateError::EmptySymlink {
                    access,
                    path: path.to_path_buf(),
                    link: here,
                });
            }
            parts.reverse();
            todo.extend(parts);
            if todo.is_empty() {
                return Err(StateError::IsDirectory {
                    access,
                    path: path.to_path_buf(),
                });
            }
            continue;
        }
        if last {
            return Ok(Resolved {
                dir: cur,
                dir_st: cur_st,
                dir_shown: cur_shown,
                name: comp,
                st: Some(st),
            });
        }
        if !is_type(&st, FileType::Directory) {
            return Err(StateError::NotADirectory {
                access,
                path: path.to_path_buf(),
                component: here,
            });
        }
        cur = open_dir_at(Some(&cur), &comp).map_err(|e| {
            if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                StateError::Changed {
                    access,
                    path: path.to_path_buf(),
                    component: here.clone(),
                }
            } else {
                io(&here.display(), e)
            }
        })?;
        cur_st = fstat(&cur).map_err(|e| io(&here.display(), e))?;
        cur_shown = here;
    }
    Err(StateError::IsDirectory {
        access,
        path: path.to_path_buf(),
    })
}

/// Creates the directory (mode 0700: state names the host's findings) if missing, and checks
/// that nobody but root (or this agent's user) can write it or any link on the way to it.
pub fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    fs_create(dir)?;
    trusted_dir(dir).map(|_| ())
}

fn fs_create(dir: &Path) -> Result<(), StateError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| StateError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        })
}

/// Opens a state directory that nobody else can write.
fn trusted_dir(dir: &Path) -> Result<OwnedFd, StateError> {
    let r = resolve(dir, Access::Write)?;
    let shown = r.shown();
    match r.st {
        Some(st) if is_type(&st, FileType::Directory) => {
            if let Some(why) = writable_by_others(&st) {
                return Err(StateError::UntrustedDir { dir: shown, why });
            }
            open_dir_at(Some(&r.dir), &r.name)
                .map_err(|source| StateError::OpenDir { dir: shown, source })
        }
        Some(_) => Err(StateError::DirNotADirectory { dir: shown }),
        None => Err(StateError::NoDir { dir: shown }),
    }
}

/// An exclusive lock; released when dropped (the descriptor closes).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the exclusive lock `dir/name`, waiting up to `wait` for another run to finish (or
/// until cancellation is requested, [`crate::cancel`]).
pub fn lock(dir: &Path, name: &str, wait: Duration) -> Result<Lock, StateError> {
    fs_create(dir)?;
    let d = trusted_dir(dir)?;
    let path = dir.join(name);
    let open_err = |source| StateError::OpenLock {
        path: path.clone(),
        source,
    };
    let fd = openat(
        Some(&d),
        name.as_bytes(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK,
        0o600,
    )
    .map_err(open_err)?;
    let st = fstat(&fd).map_err(open_err)?;
    if !is_type(&st, FileType::RegularFile) {
        return Err(StateError::LockNotRegular { path });
    }
    let file = File::from(fd);
    let start = Instant::now();
    loop {
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(Lock { _file: file, path }),
            Err(rustix::io::Errno::WOULDBLOCK) => {}
            Err(e) => {
                return Err(StateError::Lock {
                    path,
                    source: e.into(),
                })
            }
        }
        if start.elapsed() >= wait {
            return Err(StateError::Held {
                path,
                secs: wait.as_secs(),
            });
        }
        if !crate::cancel::sleep(Duration::from_millis(50)) {
            return Err(StateError::Cancelled { path });
        }
    }
}

/// Reads a state file; `Ok(None)` when it does not exist yet. Never follows a link someone
/// else could have planted, never blocks on a FIFO, and reads at most [`MAX_STATE_BYTES`].
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    let r = resolve(path, Access::Read)?;
    let err = |source| StateError::File {
        access: Access::Read,
        path: path.to_path_buf(),
        source,
    };
    if r.st.is_none() {
        return Ok(None);
    }
    let fd = match openat(
        Some(&r.dir),
        &r.name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY,
        0,
    ) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    let st = fstat(&fd).map_err(err)?;
    if !is_type(&st, FileType::RegularFile) {
        return Err(StateError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let mut buf = Vec::new();
    File::from(fd)
        .take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(err)?;
    if buf.len() as u64 > MAX_STATE_BYTES {
        return Err(StateError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_STATE_BYTES,
        });
    }
    Ok(Some(buf))
}

/// Replaces a state file atomically and durably (mode 0600). Its directory must be writable
/// by nobody but root (or this agent's user).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), StateError> {
    write_state(path, data, Durability::Durable)
}

/// Like [`write_atomic`] for a new file whose loss in a crash is acceptable (a history
/// record): its data is fsynced before the rename, so after a crash the file is complete or
/// absent, but the directory is not (that fsync waits for the disk, ~3 ms here).
pub fn write_record(path: &Path, data: &[u8]) -> Result<(), StateError> {
    write_state(path, data, Durability::DataOnly)
}

/// Whether the rename itself is made durable (the directory fsynced).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    Durable,
    DataOnly,
}

fn write_state(path: &Path, data: &[u8], d: Durability) -> Result<(), StateError> {
    let r = resolve(path, Access::Write)?;
    if let Some(why) = writable_by_others(&r.dir_st) {
        return Err(StateError::ExposedStateFile {
            path: r.shown(),
            why,
        });
    }
    write_resolved(path, r, data, 0o600, d)
}

/// Writes a file a user named (`--output`, `--textfile`, a report) under the rules of the
/// module documentation: atomically when it is a regular file or does not exist yet (with
/// `mode` for the new file), in place when it is a device or FIFO (`/dev/null`), never
/// through a link someone other than root could have planted.
pub fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), StateError> {
    let r = resolve(path, Access::Write)?;
    write_resolved(path, r, data, mode, Durability::Durable)
}

fn write_resolved(
    path: &Path,
    r: Resolved,
    data: &[u8],
    mode: u32,
    d: Durability,
) -> Result<(), StateError> {
    let err = |source| StateError::File {
        access: Access::Write,
        path: path.to_path_buf(),
        source,
    };
    match r.st {
        Some(st) if is_type(&st, FileType::Directory) => Err(StateError::IsDirectory {
            access: Access::Write,
            path: path.to_path_buf(),
        }),
        Some(st) if !is_type(&st, FileType::RegularFile) => {
            if let Some(why) = writable_by_others(&r.dir_st) {
                return Err(StateError::ExposedSpecial {
                    path: path.to_path_buf(),
                    why,
                });
            }
            // O_NONBLOCK: a FIFO without a reader is an error, not a hang. A procfs magic link
            // (see `resolve`) is the one link opened by the kernel.
            let follow = if is_type(&st, FileType::Symlink) {
                OFlags::empty()
            } else {
                OFlags::NOFOLLOW
            };
            let fd = openat(
                Some(&r.dir),
                &r.name,
                OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOCTTY | follow,
                0,
            )
            .map_err(err)?;
            let now = fstat(&fd).map_err(err)?;
            if is_type(&now, FileType::RegularFile) {
                return Err(StateError::ChangedWhileOpening {
                    path: path.to_path_buf(),
                });
            }
            File::from(fd).write_all(data).map_err(err)
        }
        _ => replace(&r, data, mode, d).map_err(err),
    }
}

fn random_hex() -> std::io::Result<String> {
    let mut b = [0u8; 12];
    getrandom::getrandom(&mut b).map_err(|e| match e.raw_os_error() {
        Some(n) => std::io::Error::from_raw_os_error(n),
        None => std::io::Error::other(e.to_string()),
    })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Temporary file in the directory, written and fsynced, renamed over the name, then the
/// directory fsynced (unless `d` says otherwise). Nothing here opens or renames by a path
/// outside the directory's fd.
fn replace(r: &Resolved, data: &[u8], mode: u32, d: Durability) -> std::io::Result<()> {
    let base = &r.name[..r.name.len().min(200)];
    let (fd, tmp) = {
        let mut attempt = 0;
        loop {
            let mut tmp = b".".to_vec();
            tmp.extend_from_slice(base);
            tmp.extend_from_slice(b".tmp.");
            tmp.extend_from_slice(random_hex()?.as_bytes());
            match openat(
                Some(&r.dir),
                &tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
                mode,
            ) {
                Ok(fd) => break (fd, tmp),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    };
    let res = (|| -> std::io::Result<()> {
        let mut f = File::from(fd);
        f.write_all(data)?;
        f.sync_all()?;
        // both names relative to the same directory descriptor
        rustix::fs::renameat(&r.dir, &tmp, &r.dir, &r.name)?;
        if d == Durability::Durable {
            rustix::fs::fsync(&r.dir)?;
        }
        Ok(())
    })();
    if res.is_err() {
        // harmless if already gone (renamed)
        let _ = rustix::fs::unlinkat(&r.dir, &tmp, AtFlags::empty());
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    /// Regression: `--output /dev/null` as root replaced the device with a regular file.
    #[test]
    fn never_renames_over_a_device_or_fifo_and_follows_trusted_symlinks() {
        use std::os::unix::fs::FileTypeExt;
        write_file(Path::new("/dev/null"), b"x", 0o644).unwrap();
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("fifo");
        rustix::fs::mknodat(CWD, &fifo, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        // no reader: an error, never a hang, and the FIFO stays a FIFO
        assert!(write_file(&fifo, b"x", 0o644).is_err());
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
        let real = t.path().join("real.json");
        fs::write(&real, "old").unwrap();
        let link = t.path().join("link.json");
        symlink(&real, &link).unwrap();
        // our own link in our own directory: followed, the link survives
        write_file(&link, b"new", 0o644).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert!(write_file(t.path(), b"x", 0o644).is_err());
        // a relative path and a dangling trusted link (its target is created)
        let dang = t.path().join("dangling");
        symlink("created.txt", &dang).unwrap();
        write_file(&dang, b"made", 0o644).unwrap();
        assert_eq!(
            fs::read_to_string(t.path().join("created.txt")).unwrap(),
            "made"
        );
    }

    /// `--output /dev/stdout` into a pipe: /dev/stdout -> /proc/self/fd/1 -> pipe:[N].
    #[test]
    fn writes_through_proc_fd_magic_links_to_a_pipe() {
        use std::os::fd::AsRawFd;
        let (r, w) = rustix::pipe::pipe().unwrap();
        let p = PathBuf::from(format!("/proc/self/fd/{}", w.as_raw_fd()));
        write_file(&p, b"through the pipe", 0o644).unwrap();
        drop(w);
        let mut got = String::new();
        File::from(r).read_to_string(&mut got).unwrap();
        assert_eq!(got, "through the pipe");
    }

    #[test]
    fn atomic_write_and_exclusive_lock() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("state");
        let p = dir.join("s.json");
        let l = lock(&dir, "s.lock", Duration::from_secs(1)).unwrap();
        assert_eq!(read(&p).unwrap(), None);
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(read(&p).unwrap().unwrap(), b"two");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            2,
            "no temporary file left"
        );
        // flock locks belong to the open file description: a second open in the same
        // process conflicts like another process would.
        let e = lock(&dir, "s.lock", Duration::from_millis(120))
            .unwrap_err()
            .to_string();
        assert!(e.contains("held by another"), "{e}");
        drop(l);
        lock(&dir, "s.lock", Duration::from_millis(120)).unwrap();
    }

    /// A directory owned by another user (as the textfile directory owned by `prometheus`)
    /// holding a victim and whatever that user planted.
    fn hostile_dir() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();
        let dir = t.path().join("textfile");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        (t, dir, victim)
    }

    fn lchown(p: &Path, uid: u32) {
        std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
    }

    /// Regression (issue 12, defect 1): `jikimi.prom -> victim` planted by the owner of the
    /// textfile directory made root overwrite the victim.
    #[test]
    fn defect1_planted_symlinks_are_refused() {
        if euid() != 0 {
            panic!("this test plants files owned by another user: run it as root");
        }
        let (_t, dir, victim) = hostile_dir();
        let prom = dir.join("jikimi.prom");
        symlink(&victim, &prom).unwrap();
        lchown(&prom, 65534);
        let e = write_file(&prom, b"metrics", 0o644)
            .unwrap_err()
            .to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        // even a root-owned link is refused in a directory another user can write
        lchown(&prom, 0);
        let e = write_file(&prom, b"metrics", 0o644)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("symlink") && e.contains("owned by uid 65534"),
            "{e}"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            fs::metadata(&victim).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // a link to the directory itself, owned by the other user, on the way
        let t2 = tempfile::tempdir().unwrap();
        let via = t2.path().join("via");
        symlink(&dir, &via).unwrap();
        lchown(&via, 65534);
        let e = write_file(&via.join("x.prom"), b"m", 0o644)
            .unwrap_err()
            .to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        // a plain file in that directory is fine: temp + rename within it cannot be redirected
        fs::remove_file(&prom).unwrap();
        write_file(&prom, b"metrics", 0o644).unwrap();
        assert_eq!(fs::read_to_string(&prom).unwrap(), "metrics");
        // ... but a state file there is refused: another user could feed us our state
        let e = write_atomic(&dir.join("state.json"), b"{}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        let e = lock(&dir, "x.lock", Duration::from_millis(10))
            .unwrap_err()
            .to_string();
        assert!(e.contains("owned by uid 65534"), "{e}");
        // a world-writable directory without the sticky bit is the same
        let t3 = tempfile::tempdir().unwrap();
        fs::set_permissions(t3.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let l = t3.path().join("out.json");
        symlink(&victim, &l).unwrap();
        let e = write_file(&l, b"x", 0o644).unwrap_err().to_string();
        assert!(e.contains("world-writable"), "{e}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }

    /// Regression (issue 12, defect 1): the temporary name was `.NAME.tmp.PID`, opened without
    /// O_EXCL|O_NOFOLLOW, so links planted at the next PIDs' names redirected the write.
    #[test]
    fn defect1_predictable_temp_name_links_are_never_followed() {
        let (_t, dir, victim) = hostile_dir();
        let me = std::process::id();
        for pid in me..me + 64 {
            let l = dir.join(format!(".jikimi.prom.tmp.{pid}"));
            symlink(&victim, &l).unwrap();
            lchown(&l, 65534);
        }
        let prom = dir.join("jikimi.prom");
        for _ in 0..3 {
            write_file(&prom, b"metrics", 0o644).unwrap();
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read_to_string(&prom).unwrap(), "metrics");
        assert!(!fs::symlink_metadata(&prom)
            .unwrap()
            .file_type()
            .is_symlink());
        // only the planted links and the output remain: no temporary file left behind
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 65);
    }

    /// Two writers at once: every read sees one whole version, nothing is left behind.
    #[test]
    fn defect1_concurrent_writes_never_corrupt() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("out.json");
        let a = vec![b'a'; 256 * 1024];
        let b = vec![b'b'; 128 * 1024];
        std::thread::scope(|s| {
            for data in [&a, &b] {
                let p = &p;
                s.spawn(move || {
                    for _ in 0..40 {
                        write_file(p, data, 0o644).unwrap();
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..200 {
                    if let Ok(got) = fs::read(&p) {
                        assert!(got == a || got == b, "torn read of {} bytes", got.len());
                    }
                }
            });
        });
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }
}
