//! The state directory (`/var/lib/jikimi`): what remote sinks remember between runs.
//!
//! Two guarantees: a state file is never seen half-written (temporary file in the same
//! directory, fsync, rename, fsync of the directory), and two runs never interleave their
//! read-modify-write (an exclusive `flock` on a lock file, held for the whole sync).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Creates the directory (mode 0700: state names the host's findings) if missing.
pub fn ensure_dir(dir: &Path) -> Result<(), String> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create state directory {}: {e}", dir.display()))
}

/// An exclusive lock; released when dropped (the descriptor closes).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    pub path: PathBuf,
}

/// Takes the exclusive lock `dir/name`, waiting up to `wait` for another run to finish.
pub fn lock(dir: &Path, name: &str, wait: Duration) -> Result<Lock, String> {
    ensure_dir(dir)?;
    let path = dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot open lock file {}: {e}", path.display()))?;
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
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads a state file; `Ok(None)` when it does not exist yet.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Replaces `path` atomically and durably (mode 0600: state files).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), String> {
    write_file(path, data, 0o600)
}

/// Writes a file a user named (`--output`, `--textfile`): atomically (temporary file in the
/// same directory, fsync, rename) when it is a regular file or does not exist yet, with
/// `mode` for a new file.
///
/// Never renames over anything else: `--output /dev/null` run as root must not replace the
/// device with a regular file, and a FIFO must stay a FIFO. Such targets are opened and
/// written in place (`O_NONBLOCK`, so a FIFO without a reader is an error, not a hang). A
/// symlink is followed, so the link itself survives and its target is replaced.
pub fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match fs::canonicalize(path) {
            Ok(t) => t,
            // a dangling link: create its target
            Err(_) => match fs::read_link(path) {
                Ok(t) if t.is_absolute() => t,
                Ok(t) => path.parent().unwrap_or(Path::new(".")).join(t),
                Err(e) => return Err(err(e)),
            },
        },
        _ => path.to_path_buf(),
    };
    match fs::metadata(&target) {
        Ok(m) if m.is_dir() => {
            return Err(format!(
                "cannot write {}: it is a directory",
                path.display()
            ))
        }
        Ok(m) if !m.is_file() => {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
                .open(&target)
                .map_err(err)?;
            return f.write_all(data).map_err(err);
        }
        _ => {}
    }
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, &target)?;
        File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: `--output /dev/null` as root replaced the device with a regular file.
    #[test]
    fn never_renames_over_a_device_or_fifo_and_follows_symlinks() {
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
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_file(&link, b"new", 0o644).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert!(write_file(t.path(), b"x", 0o644).is_err());
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
}
