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

/// Replaces `path` atomically and durably.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
