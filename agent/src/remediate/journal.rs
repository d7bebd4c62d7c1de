//! The fix journal: before a run changes anything, every original is backed up byte for byte
//! (content, owner, mode, extended attributes, symlink target, or its absence) under
//! `STATE_DIR/fixes/RUN_ID/`, and `journal.json` says what the run is doing. Rollback and
//! `jikimi fix --undo RUN_ID` restore from it, so a run interrupted half-way can still be
//! undone.

use super::io::{self, Owner};
use super::plan::{read_node, Node};
use crate::fs::{FileKind, Root};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Changes are being written (a crash leaves this: `--undo` still works).
    Applying,
    /// Applied and verified.
    Applied,
    /// Undone by the run itself (validation, verification or a write failed).
    RolledBack,
    /// Undone later by `jikimi fix --undo`.
    Undone,
}

/// A path's state before the run, enough to restore it exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saved {
    /// absent, file, directory or symlink.
    pub kind: String,
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    /// Permission bits (files and directories).
    #[serde(default)]
    pub mode: u32,
    /// sha256 of the content (files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Backup file name inside the run directory (files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// Symlink target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Extended attributes as hex (name, value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xattrs: Vec<(String, String)>,
}

/// One changed path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub before: Saved,
    /// What the run made of it (absent, file, directory, symlink).
    pub after_kind: String,
}

/// `journal.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub schema_version: u32,
    pub run_id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The scan root the run changed.
    pub root: String,
    pub status: RunStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Checks the run fixed (or tried to).
    pub checks: Vec<String>,
    pub entries: Vec<Entry>,
    /// Directories the run created (removed again on undo when empty).
    #[serde(default)]
    pub created_dirs: Vec<String>,
}

/// Why the journal or a restore failed.
#[derive(thiserror::Error)]
pub enum JournalError {
    #[error("{0}")]
    Io(#[from] io::IoError),
    #[error("{path}: {msg}")]
    State { path: PathBuf, msg: String },
    #[error("{0}")]
    Read(#[from] crate::fs::FsError),
    #[error("{path}: changed since it was planned: nothing was applied")]
    Changed { path: String },
    #[error("no fix run `{0}` (see `jikimi fix --list`)")]
    NoRun(String),
}
crate::error_text::debug_as_display!(JournalError);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

pub fn sha256(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

fn state_err(path: &Path, msg: impl std::fmt::Display) -> JournalError {
    JournalError::State {
        path: path.to_path_buf(),
        msg: msg.to_string(),
    }
}

/// `STATE_DIR/fixes`.
pub fn fixes_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("fixes")
}

/// A run id: UTC time plus randomness, sortable.
pub fn new_run_id() -> String {
    let now = crate::time::rfc3339(std::time::SystemTime::now());
    let compact: String = now
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let mut r = [0u8; 3];
    let _ = getrandom::getrandom(&mut r);
    format!("{}T{}Z-{}", &compact[..8], &compact[8..], hex(&r))
}

fn valid_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn write_journal(dir: &Path, j: &Journal) -> Result<(), JournalError> {
    let p = dir.join("journal.json");
    let text = serde_json::to_vec_pretty(j).map_err(|e| state_err(&p, e))?;
    crate::state::write_file(&p, &text, 0o600).map_err(|e| state_err(&p, e))
}

fn save(root: &Root, dir: &Path, n: usize, path: &str, node: &Node) -> Result<Saved, JournalError> {
    let mut s = Saved {
        kind: node.kind_name().into(),
        uid: 0,
        gid: 0,
        mode: 0,
        sha256: None,
        backup: None,
        target: None,
        xattrs: vec![],
    };
    match node {
        Node::Absent => {}
        Node::File {
            bytes,
            uid,
            gid,
            mode,
        } => {
            let name = format!("{n:04}.orig");
            let p = dir.join(&name);
            crate::state::write_file(&p, bytes, 0o600).map_err(|e| state_err(&p, e))?;
            s.uid = *uid;
            s.gid = *gid;
            s.mode = *mode;
            s.sha256 = Some(sha256(bytes));
            s.backup = Some(name);
            s.xattrs = io::xattrs(root, path)?
                .into_iter()
                .map(|(k, v)| (hex(&k), hex(&v)))
                .collect();
        }
        Node::Dir { uid, gid, mode } => {
            s.uid = *uid;
            s.gid = *gid;
            s.mode = *mode;
        }
        Node::Symlink { target, uid, gid } => {
            s.uid = *uid;
            s.gid = *gid;
            s.target = Some(target.clone());
        }
        Node::Other(_) => {}
    }
    Ok(s)
}

fn put(root: &Root, path: &str, before: &Node, after: &Node) -> Result<(), io::IoError> {
    match after {
        Node::File {
            bytes,
            uid,
            gid,
            mode,
        } => {
            let meta = Owner {
                uid: *uid,
                gid: *gid,
                mode: *mode,
            };
            match before {
                Node::File { bytes: old, .. } if old == bytes => {
                    io::set_meta(root, path, FileKind::File, meta)
                }
                Node::File { .. } => {
                    let x = io::xattrs(root, path)?;
                    io::write(root, path, bytes, meta, &x)
                }
                _ => io::write(root, path, bytes, meta, &[]),
            }
        }
        Node::Dir { uid, gid, mode } => io::set_meta(
            root,
            path,
            FileKind::Dir,
            Owner {
                uid: *uid,
                gid: *gid,
                mode: *mode,
            },
        ),
        Node::Symlink { target, uid, gid } => io::symlink(root, path, target, *uid, *gid),
        Node::Absent => io::remove(root, path),
        Node::Other(_) => Ok(()),
    }
}

/// What an apply was asked to do.
pub struct Change<'a> {
    pub path: &'a str,
    pub before: &'a Node,
    pub after: &'a Node,
}

/// Backs up, journals and applies `changes`. On a write failure everything applied so far is
/// restored and the error returned (the journal then says `rolled_back`).
pub fn apply(
    root: &Root,
    state_dir: &Path,
    run_id: &str,
    checks: &[String],
    mkdirs: &[String],
    changes: &[Change],
) -> Result<Journal, JournalError> {
    let base = fixes_dir(state_dir);
    crate::state::ensure_dir(&base).map_err(|e| state_err(&base, e))?;
    let dir = base.join(run_id);
    std::fs::create_dir(&dir).map_err(|e| state_err(&dir, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| state_err(&dir, e))?;
    }
    let mut j = Journal {
        schema_version: 1,
        run_id: run_id.into(),
        started_at: crate::time::rfc3339(std::time::SystemTime::now()),
        root: root.dir().display().to_string(),
        status: RunStatus::Applying,
        reason: None,
        checks: checks.to_vec(),
        entries: vec![],
        created_dirs: vec![],
    };
    for (n, c) in changes.iter().enumerate() {
        // the tree must still be what was planned (and shown)
        if &read_node(root, c.path)? != c.before {
            return Err(JournalError::Changed {
                path: c.path.into(),
            });
        }
        j.entries.push(Entry {
            path: c.path.into(),
            before: save(root, &dir, n, c.path, c.before)?,
            after_kind: c.after.kind_name().into(),
        });
    }
    write_journal(&dir, &j)?;
    let mut result = Ok(());
    for d in mkdirs {
        match io::mkdir(root, d, 0o755) {
            Ok(true) => j.created_dirs.push(d.clone()),
            Ok(false) => {}
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        write_journal(&dir, &j)?;
        for c in changes {
            if let Err(e) = put(root, c.path, c.before, c.after) {
                result = Err(e);
                break;
            }
        }
    }
    match result {
        Ok(()) => Ok(j),
        Err(e) => {
            let reason = format!("write failed: {e}");
            restore(root, &dir, &mut j)?;
            j.status = RunStatus::RolledBack;
            j.reason = Some(reason);
            write_journal(&dir, &j)?;
            Err(JournalError::Io(e))
        }
    }
}

/// Restores every entry of a journal (in reverse order) and removes the directories the run
/// created. Paths whose current state already is the saved one are left alone.
pub fn restore(root: &Root, dir: &Path, j: &mut Journal) -> Result<(), JournalError> {
    for e in j.entries.iter().rev() {
        let b = &e.before;
        let node = match b.kind.as_str() {
            "file" => {
                let name = b.backup.as_deref().unwrap_or_default();
                let p = dir.join(name);
                let bytes = crate::state::read(&p)
                    .map_err(|m| state_err(&p, m))?
                    .ok_or_else(|| state_err(&p, "backup missing"))?;
                if Some(sha256(&bytes)) != b.sha256 {
                    return Err(state_err(&p, "backup does not match its recorded sha256"));
                }
                Node::File {
                    bytes,
                    uid: b.uid,
                    gid: b.gid,
                    mode: b.mode,
                }
            }
            "directory" => Node::Dir {
                uid: b.uid,
                gid: b.gid,
                mode: b.mode,
            },
            "symlink" => Node::Symlink {
                target: b.target.clone().unwrap_or_default(),
                uid: b.uid,
                gid: b.gid,
            },
            _ => Node::Absent,
        };
        let now = read_node(root, &e.path)?;
        if now == node {
            continue;
        }
        match &node {
            Node::File {
                bytes,
                uid,
                gid,
                mode,
            } => {
                let x: Vec<io::Xattr> =
                    b.xattrs.iter().map(|(k, v)| (unhex(k), unhex(v))).collect();
                io::write(
                    root,
                    &e.path,
                    bytes,
                    Owner {
                        uid: *uid,
                        gid: *gid,
                        mode: *mode,
                    },
                    &x,
                )?;
            }
            other => put(root, &e.path, &now, other)?,
        }
    }
    for d in j.created_dirs.iter().rev() {
        // a directory someone filled since is left in place
        let _ = io::rmdir(root, d);
    }
    Ok(())
}

/// Marks a run's final status.
pub fn finish(
    state_dir: &Path,
    j: &mut Journal,
    status: RunStatus,
    reason: Option<String>,
) -> Result<(), JournalError> {
    j.status = status;
    j.reason = reason;
    write_journal(&fixes_dir(state_dir).join(&j.run_id), j)
}

/// Loads one run's journal.
pub fn load(state_dir: &Path, run_id: &str) -> Result<(PathBuf, Journal), JournalError> {
    if !valid_run_id(run_id) {
        return Err(JournalError::NoRun(run_id.into()));
    }
    let dir = fixes_dir(state_dir).join(run_id);
    let p = dir.join("journal.json");
    let bytes = crate::state::read(&p)
        .map_err(|m| state_err(&p, m))?
        .ok_or_else(|| JournalError::NoRun(run_id.into()))?;
    let j: Journal = serde_json::from_slice(&bytes).map_err(|e| state_err(&p, e))?;
    Ok((dir, j))
}

/// `jikimi fix --undo RUN_ID`: restores the tree as it was before that run.
pub fn undo(root: &Root, state_dir: &Path, run_id: &str) -> Result<Journal, JournalError> {
    let (dir, mut j) = load(state_dir, run_id)?;
    if j.root != root.dir().display().to_string() {
        return Err(state_err(
            &dir,
            format!(
                "run {run_id} changed root {}, not {}",
                j.root,
                root.dir().display()
            ),
        ));
    }
    if matches!(j.status, RunStatus::RolledBack | RunStatus::Undone) {
        return Err(state_err(
            &dir,
            format!("run {run_id} is already {:?}", j.status),
        ));
    }
    restore(root, &dir, &mut j)?;
    finish(
        state_dir,
        &mut j,
        RunStatus::Undone,
        Some("jikimi fix --undo".into()),
    )?;
    Ok(j)
}

/// Every run, oldest first.
pub fn list(state_dir: &Path) -> Result<Vec<Journal>, JournalError> {
    let base = fixes_dir(state_dir);
    let rd = match std::fs::read_dir(&base) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(state_err(&base, e)),
    };
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| valid_run_id(n))
        .collect();
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        if let Ok((_, j)) = load(state_dir, &id) {
            out.push(j);
        }
    }
    Ok(out)
}
