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

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Largest state file read back (the Security Hub state of a big catalog is well below).
pub const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;
/// Symlinks followed while resolving one path (Linux uses 40 too).
const MAX_SYMLINKS: usize = 40;

fn errno_err() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

fn c(name: &[u8]) -> Result<CString, std::io::Error> {
    CString::new(name).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

fn fstat(fd: &OwnedFd) -> std::io::Result<libc::stat> {
    // SAFETY: zeroed is a valid stat; fd is open.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } < 0 {
        return Err(errno_err());
    }
    Ok(st)
}

fn fstatat(dir: &OwnedFd, name: &[u8]) -> std::io::Result<libc::stat> {
    let n = c(name)?;
    // SAFETY: as above; `n` is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            n.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } < 0
    {
        return Err(errno_err());
    }
    Ok(st)
}

fn openat(dir: Option<&OwnedFd>, name: &[u8], flags: i32, mode: u32) -> std::io::Result<OwnedFd> {
    let n = c(name)?;
    let d = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: valid C string and directory descriptor; we own the returned descriptor.
    let fd = unsafe { libc::openat(d, n.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(errno_err());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn open_dir_at(dir: Option<&OwnedFd>, name: &[u8]) -> std::io::Result<OwnedFd> {
    openat(
        dir,
        name,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
    )
}

fn readlinkat(dir: &OwnedFd, name: &[u8]) -> std::io::Result<Vec<u8>> {
    let n = c(name)?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is valid for its length.
    let r = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            n.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if r < 0 {
        return Err(errno_err());
    }
    buf.truncate(r as usize);
    Ok(buf)
}

fn on_procfs(dir: &OwnedFd) -> bool {
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    // SAFETY: zeroed statfs is valid; dir is open.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(dir.as_raw_fd(), &mut s) } != 0 {
        return false;
    }
    #[allow(
        clippy::unnecessary_cast,
        reason = "f_type's width differs by architecture"
    )]
    let magic = s.f_type as i64;
    magic == PROC_SUPER_MAGIC
}

fn is_type(st: &libc::stat, t: u32) -> bool {
    st.st_mode & libc::S_IFMT == t
}

/// Why someone other than root (or the agent's own user) can add, remove or rename entries
/// of a directory; `None` when nobody else can. A sticky directory protects entries owned by
/// root or us from everyone else (`/tmp`).
pub fn writable_by_others(st: &libc::stat) -> Option<String> {
    let me = euid();
    if st.st_uid != 0 && st.st_uid != me {
        return Some(format!("owned by uid {}", st.st_uid));
    }
    if st.st_mode & libc::S_ISVTX != 0 {
        return None;
    }
    if st.st_mode & 0o002 != 0 {
        return Some("world-writable".into());
    }
    if st.st_mode & 0o020 != 0 && st.st_gid != 0 {
        return Some(format!("writable by group {}", st.st_gid));
    }
    None
}

/// A path resolved to its directory (an open descriptor) and final name.
struct Resolved {
    dir: OwnedFd,
    dir_st: libc::stat,
    /// The directory as a path, for messages.
    dir_shown: PathBuf,
    name: Vec<u8>,
    /// The final entry's `lstat`; `None` when it does not exist. Never a symlink.
    st: Option<libc::stat>,
}

impl Resolved {
    fn shown(&self) -> PathBuf {
        self.dir_shown.join(std::ffi::OsStr::from_bytes(&self.name))
    }
}

/// Resolves `path` one component at a time, following only symlinks nobody else could have
/// planted (see the module documentation); a final symlink is followed under the same rule.
fn resolve(path: &Path) -> Result<Resolved, String> {
    let shown = path.display();
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return Err("empty path".into());
    }
    let mut todo: Vec<Vec<u8>> = bytes
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    todo.reverse();
    let io = |what: &str, e: std::io::Error| format!("cannot write {shown}: {what}: {e}");
    let (mut cur, mut cur_shown) = if bytes[0] == b'/' {
        (
            open_dir_at(None, b"/").map_err(|e| io("/", e))?,
            PathBuf::from("/"),
        )
    } else {
        (
            open_dir_at(None, b".").map_err(|e| io(".", e))?,
            PathBuf::new(),
        )
    };
    let mut cur_st = fstat(&cur).map_err(|e| io("directory", e))?;
    let mut links = 0;
    while let Some(comp) = todo.pop() {
        if comp == b"." {
            continue;
        }
        if comp == b".." {
            cur = open_dir_at(Some(&cur), b"..").map_err(|e| io("..", e))?;
            cur_st = fstat(&cur).map_err(|e| io("..", e))?;
            if !cur_shown.pop() || cur_shown.as_os_str().is_empty() {
                cur_shown.push("..");
            }
            continue;
        }
        let last = todo.is_empty();
        let here = cur_shown.join(std::ffi::OsStr::from_bytes(&comp));
        let st = match fstatat(&cur, &comp) {
            Ok(st) => st,
            Err(e) if last && e.raw_os_error() == Some(libc::ENOENT) => {
                return Ok(Resolved {
                    dir: cur,
                    dir_st: cur_st,
                    dir_shown: cur_shown,
                    name: comp,
                    st: None,
                });
            }
            Err(e) => return Err(io(&here.display().to_string(), e)),
        };
        if is_type(&st, libc::S_IFLNK) {
            if st.st_uid != 0 && st.st_uid != euid() {
                return Err(format!(
                    "refusing to write {shown}: {} is a symlink owned by uid {} (neither root \
                     nor this agent), which could have been planted to redirect the write",
                    here.display(),
                    st.st_uid
                ));
            }
            if let Some(why) = writable_by_others(&cur_st) {
                return Err(format!(
                    "refusing to write {shown}: {} is a symlink in {}, a directory {why}: \
                     someone other than root could have planted it",
                    here.display(),
                    if cur_shown.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        &cur_shown
                    }
                    .display()
                ));
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(format!(
                    "cannot write {shown}: too many levels of symbolic links"
                ));
            }
            let target = readlinkat(&cur, &comp).map_err(|e| io(&here.display().to_string(), e))?;
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
                cur = open_dir_at(None, b"/").map_err(|e| io("/", e))?;
                cur_st = fstat(&cur).map_err(|e| io("/", e))?;
                cur_shown = PathBuf::from("/");
            }
            let mut parts: Vec<Vec<u8>> = target
                .split(|&b| b == b'/')
                .filter(|c| !c.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            if parts.is_empty() && target.first() != Some(&b'/') {
                return Err(format!(
                    "cannot write {shown}: empty symlink {}",
                    here.display()
                ));
            }
            parts.reverse();
            todo.extend(parts);
            if todo.is_empty() {
                return Err(format!("cannot write {shown}: it is a directory"));
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
        if !is_type(&st, libc::S_IFDIR) {
            return Err(format!(
                "cannot write {shown}: {} is not a directory",
                here.display()
            ));
        }
        cur = open_dir_at(Some(&cur), &comp).map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                format!(
                    "cannot write {shown}: {} changed while being resolved",
                    here.display()
                )
            } else {
                io(&here.display().to_string(), e)
            }
        })?;
        cur_st = fstat(&cur).map_err(|e| io(&here.display().to_string(), e))?;
        cur_shown = here;
    }
    Err(format!("cannot write {shown}: it is a directory"))
}

/// Creates the directory (mode 0700: state names the host's findings) if missing, and checks
/// that nobody but root (or this agent's user) can write it or any link on the way to it.
pub fn ensure_dir(dir: &Path) -> Result<(), String> {
    fs_create(dir)?;
    trusted_dir(dir).map(|_| ())
}

fn fs_create(dir: &Path) -> Result<(), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create state directory {}: {e}", dir.display()))
}

/// Opens a state directory that nobody else can write.
fn trusted_dir(dir: &Path) -> Result<OwnedFd, String> {
    let r = resolve(dir)?;
    let shown = r.shown();
    match r.st {
        Some(st) if is_type(&st, libc::S_IFDIR) => {
            if let Some(why) = writable_by_others(&st) {
                return Err(format!(
                    "refusing to use state directory {}: it is {why} (only root may be able to write it)",
                    shown.display()
                ));
            }
            open_dir_at(Some(&r.dir), &r.name)
                .map_err(|e| format!("cannot open state directory {}: {e}", shown.display()))
        }
        Some(_) => Err(format!("{} is not a directory", shown.display())),
        None => Err(format!(
            "state directory {} does not exist",
            shown.display()
        )),
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
pub fn lock(dir: &Path, name: &str, wait: Duration) -> Result<Lock, String> {
    fs_create(dir)?;
    let d = trusted_dir(dir)?;
    let path = dir.join(name);
    let fd = openat(
        Some(&d),
        name.as_bytes(),
        libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_NONBLOCK,
        0o600,
    )
    .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
    let st = fstat(&fd).map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
    if !is_type(&st, libc::S_IFREG) {
        return Err(format!(
            "lock file {} is not a regular file",
            path.display()
        ));
    }
    let file = File::from(fd);
    let start = Instant::now();
    loop {
        // SAFETY: flock on a descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Lock { _file: file, path });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(format!("cannot lock {}: {err}", path.display()));
        }
        if start.elapsed() >= wait {
            return Err(format!(
                "{} is held by another jikimi run for over {} s",
                path.display(),
                wait.as_secs()
            ));
        }
        if !crate::cancel::sleep(Duration::from_millis(50)) {
            return Err(format!(
                "stopped waiting for {}: shutting down",
                path.display()
            ));
        }
    }
}

/// Reads a state file; `Ok(None)` when it does not exist yet. Never follows a link someone
/// else could have planted, never blocks on a FIFO, and reads at most [`MAX_STATE_BYTES`].
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, String> {
    let r = match resolve(path) {
        Ok(r) => r,
        Err(e) => return Err(e.replacen("cannot write", "cannot read", 1)),
    };
    let err = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    if r.st.is_none() {
        return Ok(None);
    }
    let fd = match openat(
        Some(&r.dir),
        &r.name,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
    ) {
        Ok(fd) => fd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    let st = fstat(&fd).map_err(err)?;
    if !is_type(&st, libc::S_IFREG) {
        return Err(format!(
            "cannot read {}: not a regular file",
            path.display()
        ));
    }
    let mut buf = Vec::new();
    File::from(fd)
        .take(MAX_STATE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(err)?;
    if buf.len() as u64 > MAX_STATE_BYTES {
        return Err(format!(
            "cannot read {}: larger than {MAX_STATE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(Some(buf))
}

/// Replaces a state file atomically and durably (mode 0600). Its directory must be writable
/// by nobody but root (or this agent's user).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), String> {
    write_state(path, data, Durability::Durable)
}

/// Like [`write_atomic`] for a new file whose loss in a crash is acceptable (a history
/// record): its data is fsynced before the rename, so after a crash the file is complete or
/// absent, but the directory is not (that fsync waits for the disk, ~3 ms here).
pub fn write_record(path: &Path, data: &[u8]) -> Result<(), String> {
    write_state(path, data, Durability::DataOnly)
}

/// Whether the rename itself is made durable (the directory fsynced).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    Durable,
    DataOnly,
}

fn write_state(path: &Path, data: &[u8], d: Durability) -> Result<(), String> {
    let r = resolve(path)?;
    if let Some(why) = writable_by_others(&r.dir_st) {
        return Err(format!(
            "refusing to write state file {}: its directory is {why}",
            r.shown().display()
        ));
    }
    write_resolved(path, r, data, 0o600, d)
}

/// Writes a file a user named (`--output`, `--textfile`, a report) under the rules of the
/// module documentation: atomically when it is a regular file or does not exist yet (with
/// `mode` for the new file), in place when it is a device or FIFO (`/dev/null`), never
/// through a link someone other than root could have planted.
pub fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), String> {
    let r = resolve(path)?;
    write_resolved(path, r, data, mode, Durability::Durable)
}

fn write_resolved(
    path: &Path,
    r: Resolved,
    data: &[u8],
    mode: u32,
    d: Durability,
) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    match r.st {
        Some(st) if is_type(&st, libc::S_IFDIR) => Err(format!(
            "cannot write {}: it is a directory",
            path.display()
        )),
        Some(st) if !is_type(&st, libc::S_IFREG) => {
            if let Some(why) = writable_by_others(&r.dir_st) {
                return Err(format!(
                    "refusing to write {}: not a regular file, in a directory {why}",
                    path.display()
                ));
            }
            // O_NONBLOCK: a FIFO without a reader is an error, not a hang. A procfs magic link
            // (see `resolve`) is the one link opened by the kernel.
            let follow = if is_type(&st, libc::S_IFLNK) {
                0
            } else {
                libc::O_NOFOLLOW
            };
            let fd = openat(
                Some(&r.dir),
                &r.name,
                libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY | follow,
                0,
            )
            .map_err(err)?;
            let now = fstat(&fd).map_err(err)?;
            if is_type(&now, libc::S_IFREG) {
                return Err(format!(
                    "cannot write {}: it changed while being opened",
                    path.display()
                ));
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
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
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
    let tmp_c = c(&tmp)?;
    let name_c = c(&r.name)?;
    let res = (|| -> std::io::Result<()> {
        let mut f = File::from(fd);
        f.write_all(data)?;
        f.sync_all()?;
        // SAFETY: both names are NUL-terminated and relative to the same directory fd.
        if unsafe {
            libc::renameat(
                r.dir.as_raw_fd(),
                tmp_c.as_ptr(),
                r.dir.as_raw_fd(),
                name_c.as_ptr(),
            )
        } < 0
        {
            return Err(errno_err());
        }
        // SAFETY: fsync of a directory descriptor we own.
        if d == Durability::Durable && unsafe { libc::fsync(r.dir.as_raw_fd()) } < 0 {
            return Err(errno_err());
        }
        Ok(())
    })();
    if res.is_err() {
        // SAFETY: unlink by name relative to the directory fd; harmless if already gone.
        unsafe { libc::unlinkat(r.dir.as_raw_fd(), tmp_c.as_ptr(), 0) };
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
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
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
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
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
        let e = lock(&dir, "s.lock", Duration::from_millis(120)).unwrap_err();
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
        let e = write_file(&prom, b"metrics", 0o644).unwrap_err();
        assert!(e.contains("owned by uid 65534"), "{e}");
        // even a root-owned link is refused in a directory another user can write
        lchown(&prom, 0);
        let e = write_file(&prom, b"metrics", 0o644).unwrap_err();
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
        let e = write_file(&via.join("x.prom"), b"m", 0o644).unwrap_err();
        assert!(e.contains("owned by uid 65534"), "{e}");
        // a plain file in that directory is fine: temp + rename within it cannot be redirected
        fs::remove_file(&prom).unwrap();
        write_file(&prom, b"metrics", 0o644).unwrap();
        assert_eq!(fs::read_to_string(&prom).unwrap(), "metrics");
        // ... but a state file there is refused: another user could feed us our state
        let e = write_atomic(&dir.join("state.json"), b"{}").unwrap_err();
        assert!(e.contains("owned by uid 65534"), "{e}");
        let e = lock(&dir, "x.lock", Duration::from_millis(10)).unwrap_err();
        assert!(e.contains("owned by uid 65534"), "{e}");
        // a world-writable directory without the sticky bit is the same
        let t3 = tempfile::tempdir().unwrap();
        fs::set_permissions(t3.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let l = t3.path().join("out.json");
        symlink(&victim, &l).unwrap();
        let e = write_file(&l, b"x", 0o644).unwrap_err();
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
