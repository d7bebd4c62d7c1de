//! Rooted writes for the remediation engine. Every operation works on a directory descriptor
//! opened through the scan root ([`Root::open_dir`]) and a single final name, never on a path
//! string, so no symlink can redirect a write out of the root. New content is written to a
//! temporary file created with `O_EXCL|O_NOFOLLOW` under an unpredictable name, given its
//! owner, mode and extended attributes, synced, and renamed over the old entry.

use crate::fs::{FileKind, Root};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// What could not be done, with the path.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {what}: {source}")]
pub struct IoError {
    pub path: String,
    pub what: &'static str,
    pub source: std::io::Error,
}

fn err<'a>(path: &'a str, what: &'static str) -> impl FnOnce(std::io::Error) -> IoError + 'a {
    move |source| IoError {
        path: path.to_string(),
        what,
        source,
    }
}

fn last() -> std::io::Error {
    std::io::Error::last_os_error()
}

fn cstr(b: &[u8]) -> std::io::Result<CString> {
    CString::new(b).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// Splits `/a/b/c` into (`/a/b`, `c`).
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

fn openat(dir: RawFd, name: &[u8], flags: i32, mode: u32) -> std::io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: valid C string; the descriptor returned is owned by nobody else.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(last());
    }
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn check(r: libc::c_int) -> std::io::Result<()> {
    if r < 0 {
        Err(last())
    } else {
        Ok(())
    }
}

fn temp_name(name: &str) -> std::io::Result<String> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(".{name}.jikimi-{hex}"))
}

/// An extended attribute (name, value), e.g. `security.selinux`.
pub type Xattr = (Vec<u8>, Vec<u8>);

/// Reads the extended attributes of an open file.
pub fn xattrs_of(fd: RawFd) -> std::io::Result<Vec<Xattr>> {
    // SAFETY: a null buffer with size 0 asks for the needed size.
    let n = unsafe { libc::flistxattr(fd, std::ptr::null_mut(), 0) };
    if n < 0 {
        let e = last();
        // Filesystems without xattr support have none to keep.
        if e.raw_os_error() == Some(libc::ENOTSUP) {
            return Ok(vec![]);
        }
        return Err(e);
    }
    let mut names = vec![0u8; n as usize];
    if n > 0 {
        // SAFETY: names is valid for names.len() bytes.
        let m = unsafe { libc::flistxattr(fd, names.as_mut_ptr().cast(), names.len()) };
        if m < 0 {
            return Err(last());
        }
        names.truncate(m as usize);
    }
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let c = cstr(name)?;
        // SAFETY: size query as above.
        let len = unsafe { libc::fgetxattr(fd, c.as_ptr(), std::ptr::null_mut(), 0) };
        if len < 0 {
            return Err(last());
        }
        let mut v = vec![0u8; len as usize];
        // SAFETY: v is valid for v.len() bytes.
        let got = unsafe { libc::fgetxattr(fd, c.as_ptr(), v.as_mut_ptr().cast(), v.len()) };
        if got < 0 {
            return Err(last());
        }
        v.truncate(got as usize);
        out.push((name.to_vec(), v));
    }
    Ok(out)
}

fn set_xattrs(fd: RawFd, xs: &[Xattr]) -> std::io::Result<()> {
    for (name, value) in xs {
        let c = cstr(name)?;
        // SAFETY: pointers valid for the given lengths.
        check(unsafe { libc::fsetxattr(fd, c.as_ptr(), value.as_ptr().cast(), value.len(), 0) })?;
    }
    Ok(())
}

/// Opens the directory holding `path` inside the root.
pub fn parent_of(root: &Root, path: &str) -> Result<OwnedFd, IoError> {
    let (dir, _) = split(path);
    root.open_dir(dir)
        .map_err(|e| err(path, "cannot open its directory")(std::io::Error::other(e.to_string())))
}

fn dir_sync(dir: &OwnedFd) {
    // An O_PATH descriptor cannot be synced: reopen the directory itself for it.
    if let Ok(d) = openat(dir.as_raw_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY, 0) {
        // SAFETY: valid descriptor. A failed directory sync is not worth failing the fix for.
        unsafe { libc::fsync(d.as_raw_fd()) };
    }
}

/// Metadata a write gives its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// Replaces (or creates) `path` with `bytes` atomically.
pub fn write(
    root: &Root,
    path: &str,
    bytes: &[u8],
    meta: Owner,
    xattrs: &[Xattr],
) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let tmp = temp_name(name).map_err(err(path, "no random name"))?;
    let fd = openat(
        dir.as_raw_fd(),
        tmp.as_bytes(),
        libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
        0o600,
    )
    .map_err(err(path, "cannot create a temporary file"))?;
    let fail = |e: IoError| {
        if let Ok(c) = cstr(tmp.as_bytes()) {
            // SAFETY: valid C string; removes our own temporary file.
            unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) };
        }
        e
    };
    let mut file = std::fs::File::from(fd);
    use std::io::Write as _;
    file.write_all(bytes)
        .map_err(err(path, "cannot write"))
        .map_err(fail)?;
    let raw = file.as_raw_fd();
    // SAFETY: raw is our open descriptor.
    check(unsafe { libc::fchown(raw, meta.uid, meta.gid) })
        .map_err(err(path, "cannot set the owner"))
        .map_err(fail)?;
    check(unsafe { libc::fchmod(raw, meta.mode) })
        .map_err(err(path, "cannot set the mode"))
        .map_err(fail)?;
    set_xattrs(raw, xattrs)
        .map_err(err(path, "cannot set extended attributes"))
        .map_err(fail)?;
    file.sync_all()
        .map_err(err(path, "cannot sync"))
        .map_err(fail)?;
    let (a, b) = (
        cstr(tmp.as_bytes()).map_err(err(path, "bad name"))?,
        cstr(name.as_bytes()).map_err(err(path, "bad name"))?,
    );
    // SAFETY: valid C strings and descriptors.
    check(unsafe { libc::renameat(dir.as_raw_fd(), a.as_ptr(), dir.as_raw_fd(), b.as_ptr()) })
        .map_err(err(path, "cannot rename into place"))
        .map_err(fail)?;
    dir_sync(&dir);
    Ok(())
}

/// Sets owner and mode of an existing regular file or directory (never through a symlink).
pub fn set_meta(root: &Root, path: &str, kind: FileKind, meta: Owner) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let flags = match kind {
        FileKind::Dir => libc::O_RDONLY | libc::O_DIRECTORY,
        _ => libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
    } | libc::O_NOFOLLOW;
    let fd =
        openat(dir.as_raw_fd(), name.as_bytes(), flags, 0).map_err(err(path, "cannot open"))?;
    // SAFETY: zeroed stat is valid; fd is ours.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }).map_err(err(path, "cannot stat"))?;
    if FileKind::from_mode(st.st_mode) != kind {
        return Err(err(path, "changed type since it was planned")(
            std::io::Error::from_raw_os_error(libc::ESTALE),
        ));
    }
    if st.st_uid != meta.uid || st.st_gid != meta.gid {
        check(unsafe { libc::fchown(fd.as_raw_fd(), meta.uid, meta.gid) })
            .map_err(err(path, "cannot set the owner"))?;
    }
    if st.st_mode & 0o7777 != meta.mode {
        check(unsafe { libc::fchmod(fd.as_raw_fd(), meta.mode) })
            .map_err(err(path, "cannot set the mode"))?;
    }
    Ok(())
}

/// Removes a file or symlink (not a directory).
pub fn remove(root: &Root, path: &str) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let c = cstr(name.as_bytes()).map_err(err(path, "bad name"))?;
    // SAFETY: valid C string and descriptor.
    match check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r.map_err(err(path, "cannot remove")),
    }?;
    dir_sync(&dir);
    Ok(())
}

/// Replaces (or creates) `path` with a symlink to `target`, atomically.
pub fn symlink(root: &Root, path: &str, target: &str, uid: u32, gid: u32) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let tmp = temp_name(name).map_err(err(path, "no random name"))?;
    let (t, tmpc, namec) = (
        cstr(target.as_bytes()).map_err(err(path, "bad target"))?,
        cstr(tmp.as_bytes()).map_err(err(path, "bad name"))?,
        cstr(name.as_bytes()).map_err(err(path, "bad name"))?,
    );
    // SAFETY: valid C strings and descriptor.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), tmpc.as_ptr()) })
        .map_err(err(path, "cannot create a symlink"))?;
    let r = check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            tmpc.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .and_then(|_| {
        check(unsafe {
            libc::renameat(
                dir.as_raw_fd(),
                tmpc.as_ptr(),
                dir.as_raw_fd(),
                namec.as_ptr(),
            )
        })
    });
    if let Err(e) = r {
        // SAFETY: removes our own temporary link.
        unsafe { libc::unlinkat(dir.as_raw_fd(), tmpc.as_ptr(), 0) };
        return Err(err(path, "cannot put the symlink in place")(e));
    }
    dir_sync(&dir);
    Ok(())
}

/// Creates a directory (`root:root 0755` unless told otherwise); an existing one is fine.
pub fn mkdir(root: &Root, path: &str, mode: u32) -> Result<bool, IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let c = cstr(name.as_bytes()).map_err(err(path, "bad name"))?;
    // SAFETY: valid C string and descriptor.
    match check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) }) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
        Err(e) => Err(err(path, "cannot create the directory")(e)),
    }
}

/// Removes an empty directory created by a fix (undo).
pub fn rmdir(root: &Root, path: &str) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let c = cstr(name.as_bytes()).map_err(err(path, "bad name"))?;
    // SAFETY: valid C string and descriptor.
    match check(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), libc::AT_REMOVEDIR) }) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r.map_err(err(path, "cannot remove the directory")),
    }
}

/// Extended attributes of a regular file under the root (empty for other kinds).
pub fn xattrs(root: &Root, path: &str) -> Result<Vec<Xattr>, IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let fd = openat(
        dir.as_raw_fd(),
        name.as_bytes(),
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
    )
    .map_err(err(path, "cannot open"))?;
    xattrs_of(fd.as_raw_fd()).map_err(err(path, "cannot read extended attributes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_stay_in_the_root_and_replace_atomically() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        // a planted link inside the root pointing at an absolute path: re-anchored in the root
        std::os::unix::fs::symlink(outside.path(), t.path().join("escape")).unwrap();
        let root = Root::new(t.path()).unwrap();
        let me = Owner {
            uid: unsafe { libc::geteuid() },
            gid: unsafe { libc::getegid() },
            mode: 0o640,
        };
        write(&root, "/etc/a.conf", b"x = 1\n", me, &[]).unwrap();
        assert_eq!(
            std::fs::read(t.path().join("etc/a.conf")).unwrap(),
            b"x = 1\n"
        );
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(t.path().join("etc/a.conf")).unwrap();
        assert_eq!(m.permissions().mode() & 0o7777, 0o640);
        // the escape link resolves inside the root, where there is no such directory
        assert!(write(&root, "/escape/x", b"no", me, &[]).is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        // a symlink at the final name is replaced, never followed
        std::os::unix::fs::symlink(outside.path().join("victim"), t.path().join("etc/b")).unwrap();
        write(&root, "/etc/b", b"new", me, &[]).unwrap();
        assert!(!outside.path().join("victim").exists());
        assert!(!std::fs::symlink_metadata(t.path().join("etc/b"))
            .unwrap()
            .file_type()
            .is_symlink());
        symlink(&root, "/etc/m.service", "/dev/null", me.uid, me.gid).unwrap();
        assert_eq!(
            std::fs::read_link(t.path().join("etc/m.service")).unwrap(),
            std::path::Path::new("/dev/null")
        );
        remove(&root, "/etc/m.service").unwrap();
        assert!(mkdir(&root, "/etc/d", 0o755).unwrap());
        assert!(!mkdir(&root, "/etc/d", 0o755).unwrap());
        rmdir(&root, "/etc/d").unwrap();
        // no temporary files left behind
        let left: Vec<_> = std::fs::read_dir(t.path().join("etc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(left.iter().all(|n| !n.contains("jikimi-")), "{left:?}");
    }
}
