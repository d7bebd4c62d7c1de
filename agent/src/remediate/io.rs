//! Rooted writes for the remediation engine. Every operation works on a directory descriptor
//! opened through the scan root ([`Root::open_dir`]) and a single final name, never on a path
//! string, so no symlink can redirect a write out of the root. New content is written to a
//! temporary file created with `O_EXCL|O_NOFOLLOW` under an unpredictable name, given its
//! owner, mode and extended attributes, synced, and renamed over the old entry. The system
//! calls are `rustix`'s (no `unsafe` here).

use crate::fs::{FileKind, Root};
use rustix::fs::{AtFlags, Gid, Mode, OFlags, Uid};
use rustix::io::Errno;
use std::os::fd::{AsFd, OwnedFd};

/// What could not be done, with the path.
#[derive(thiserror::Error)]
#[error("{path}: {what}: {source}")]
pub struct IoError {
    pub path: String,
    pub what: &'static str,
    pub source: std::io::Error,
}
crate::error_text::debug_as_display!(IoError);

fn err<'a, E: Into<std::io::Error>>(
    path: &'a str,
    what: &'static str,
) -> impl FnOnce(E) -> IoError + 'a {
    move |source| IoError {
        path: path.to_string(),
        what,
        source: source.into(),
    }
}

/// Splits `/a/b/c` into (`/a/b`, `c`).
pub fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// `openat(2)` relative to `dir`, always `O_CLOEXEC`.
fn openat(dir: impl AsFd, name: &[u8], flags: OFlags, mode: u32) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        dir,
        name,
        flags | OFlags::CLOEXEC,
        Mode::from_raw_mode(mode),
    )
}

/// `fchown(2)` arguments as the kernel takes them (`-1` leaves an id unchanged, as with libc).
fn ids(uid: u32, gid: u32) -> (Option<Uid>, Option<Gid>) {
    (
        Some(Uid::from_raw_unchecked(uid)),
        Some(Gid::from_raw_unchecked(gid)),
    )
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
pub fn xattrs_of(fd: impl AsFd) -> std::io::Result<Vec<Xattr>> {
    let fd = fd.as_fd();
    let n = match rustix::fs::flistxattr_query(fd) {
        Ok(n) => n,
        // Filesystems without xattr support have none to keep.
        Err(Errno::NOTSUP) => return Ok(vec![]),
        Err(e) => return Err(e.into()),
    };
    let mut names = vec![0u8; n];
    if n > 0 {
        let m = rustix::fs::flistxattr(fd, &mut names[..])?;
        names.truncate(m);
    }
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let len = rustix::fs::fgetxattr_query(fd, name)?;
        let mut v = vec![0u8; len];
        let got = rustix::fs::fgetxattr(fd, name, &mut v[..])?;
        v.truncate(got);
        out.push((name.to_vec(), v));
    }
    Ok(out)
}

fn set_xattrs(fd: impl AsFd, xs: &[Xattr]) -> std::io::Result<()> {
    for (name, value) in xs {
        rustix::fs::fsetxattr(&fd, name.as_slice(), value, rustix::fs::XattrFlags::empty())?;
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
    if let Ok(d) = openat(dir, b".", OFlags::RDONLY | OFlags::DIRECTORY, 0) {
        // A failed directory sync is not worth failing the fix for.
        let _ = rustix::fs::fsync(&d);
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
        &dir,
        tmp.as_bytes(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
        0o600,
    )
    .map_err(err(path, "cannot create a temporary file"))?;
    let fail = |e: IoError| {
        // removes our own temporary file
        let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
        e
    };
    let mut file = std::fs::File::from(fd);
    use std::io::Write as _;
    file.write_all(bytes)
        .map_err(err(path, "cannot write"))
        .map_err(fail)?;
    let (uid, gid) = ids(meta.uid, meta.gid);
    rustix::fs::fchown(&file, uid, gid)
        .map_err(err(path, "cannot set the owner"))
        .map_err(fail)?;
    rustix::fs::fchmod(&file, Mode::from_raw_mode(meta.mode))
        .map_err(err(path, "cannot set the mode"))
        .map_err(fail)?;
    set_xattrs(&file, xattrs)
        .map_err(err(path, "cannot set extended attributes"))
        .map_err(fail)?;
    file.sync_all()
        .map_err(err(path, "cannot sync"))
        .map_err(fail)?;
    rustix::fs::renameat(&dir, tmp.as_str(), &dir, name)
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
        FileKind::Dir => OFlags::RDONLY | OFlags::DIRECTORY,
        _ => OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
    } | OFlags::NOFOLLOW;
    let fd = openat(&dir, name.as_bytes(), flags, 0).map_err(err(path, "cannot open"))?;
    let st = rustix::fs::fstat(&fd).map_err(err(path, "cannot stat"))?;
    if FileKind::from_mode(st.st_mode) != kind {
        return Err(err(path, "changed type since it was planned")(Errno::STALE));
    }
    if st.st_uid != meta.uid || st.st_gid != meta.gid {
        let (uid, gid) = ids(meta.uid, meta.gid);
        rustix::fs::fchown(&fd, uid, gid).map_err(err(path, "cannot set the owner"))?;
    }
    if st.st_mode & 0o7777 != meta.mode {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(meta.mode))
            .map_err(err(path, "cannot set the mode"))?;
    }
    Ok(())
}

/// Removes a file or symlink (not a directory).
pub fn remove(root: &Root, path: &str) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(err(path, "cannot remove")(e)),
    }
    dir_sync(&dir);
    Ok(())
}

/// Replaces (or creates) `path` with a symlink to `target`, atomically.
pub fn symlink(root: &Root, path: &str, target: &str, uid: u32, gid: u32) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let tmp = temp_name(name).map_err(err(path, "no random name"))?;
    rustix::fs::symlinkat(target, &dir, tmp.as_str())
        .map_err(err(path, "cannot create a symlink"))?;
    let (uid, gid) = ids(uid, gid);
    let r = rustix::fs::chownat(&dir, tmp.as_str(), uid, gid, AtFlags::SYMLINK_NOFOLLOW)
        .and_then(|()| rustix::fs::renameat(&dir, tmp.as_str(), &dir, name));
    if let Err(e) = r {
        // removes our own temporary link
        let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
        return Err(err(path, "cannot put the symlink in place")(e));
    }
    dir_sync(&dir);
    Ok(())
}

/// Creates a directory (`root:root 0755` unless told otherwise); an existing one is fine.
pub fn mkdir(root: &Root, path: &str, mode: u32) -> Result<bool, IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    match rustix::fs::mkdirat(&dir, name, Mode::from_raw_mode(mode)) {
        Ok(()) => Ok(true),
        Err(Errno::EXIST) => Ok(false),
        Err(e) => Err(err(path, "cannot create the directory")(e)),
    }
}

/// Removes an empty directory created by a fix (undo).
pub fn rmdir(root: &Root, path: &str) -> Result<(), IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    match rustix::fs::unlinkat(&dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(err(path, "cannot remove the directory")(e)),
    }
}

/// Extended attributes of a regular file under the root (empty for other kinds).
pub fn xattrs(root: &Root, path: &str) -> Result<Vec<Xattr>, IoError> {
    let dir = parent_of(root, path)?;
    let (_, name) = split(path);
    let fd = openat(
        &dir,
        name.as_bytes(),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY,
        0,
    )
    .map_err(err(path, "cannot open"))?;
    xattrs_of(&fd).map_err(err(path, "cannot read extended attributes"))
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
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
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

    /// Extended attributes survive a replacement: the journal reads them from the old file and
    /// the write gives them to the new one (SELinux labels, `user.*` metadata). The temporary
    /// directory must support `user.*` attributes (ext4, xfs, btrfs and tmpfs do).
    #[test]
    fn extended_attributes_are_read_and_written() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/plain"), "x").unwrap();
        let root = Root::new(t.path()).unwrap();
        assert_eq!(xattrs(&root, "/etc/plain").unwrap(), vec![]);
        let me = Owner {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            mode: 0o600,
        };
        let xs: Vec<Xattr> = vec![
            (b"user.jikimi.a".to_vec(), b"one".to_vec()),
            (b"user.jikimi.b".to_vec(), vec![0, 1, 2, 255]),
            (b"user.jikimi.empty".to_vec(), vec![]),
        ];
        write(&root, "/etc/labelled", b"content", me, &xs).unwrap();
        let mut got = xattrs(&root, "/etc/labelled").unwrap();
        got.sort();
        assert_eq!(got, xs);
        // a missing file: the error names it and the step
        let e = xattrs(&root, "/etc/none").unwrap_err().to_string();
        assert!(e.starts_with("/etc/none: cannot open"), "{e}");
    }
}
