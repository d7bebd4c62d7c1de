//! Fixture hosts: directory trees scanned with `--root`, each with the statuses its checks
//! must produce. `jikimi catalog test` runs them all and also requires that every check has
//! at least one passing and one failing fixture (a `manual` check: one NOT_APPLICABLE).
//!
//! Layout of one fixture host `DIR/NAME/`:
//! - `root/`: the tree (git keeps neither owners nor most modes, nor empty directories);
//! - `host.toml`: `description`, optional `profile`, `dirs = [...]` to create, `modes = [
//!   "PATH MODE OWNER GROUP", ...]` applied after copying (names resolve through the
//!   fixture's own passwd/group), and `[expect]` mapping check ids to PASS / FAIL /
//!   NOT_APPLICABLE / ERROR.

use super::Profile;
use crate::findings::Status;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostSpec {
    #[serde(default)]
    description: String,
    profile: Option<String>,
    #[serde(default)]
    dirs: Vec<String>,
    #[serde(default)]
    modes: Vec<String>,
    #[serde(default)]
    expect: BTreeMap<String, Status>,
}

/// One fixture host, loaded.
pub struct Fixture {
    pub name: String,
    pub description: String,
    pub profile: Option<Profile>,
    pub dir: PathBuf,
    dirs: Vec<String>,
    modes: Vec<String>,
    pub expect: BTreeMap<String, Status>,
}

/// `DIR/coverage.toml`: checks whose verdict depends on a live kernel interface that a
/// directory tree cannot fake (statvfs of mounted filesystems). Each needs a reason and must
/// still show NOT_APPLICABLE in some fixture (the image case).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    #[serde(default)]
    pub live_only: BTreeMap<String, String>,
}

/// Why the fixture hosts could not be loaded or set up; each names the file, or the fixture
/// and the `host.toml` entry.
#[derive(thiserror::Error)]
pub enum FixtureError {
    #[error("{}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `host.toml` or `coverage.toml` does not parse (line 0: unknown).
    #[error("{}:{line}: {message}", path.display())]
    Spec {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {reason}", path.display())]
    Profile {
        path: PathBuf,
        reason: super::UnknownProfile,
    },
    /// Copying the tree or creating a `dirs` entry failed.
    #[error("{fixture}: {what}")]
    Setup {
        fixture: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A `modes` entry is malformed or cannot be applied.
    #[error("{fixture}: host.toml modes entry `{entry}`: {why}")]
    Mode {
        fixture: String,
        entry: String,
        why: String,
    },
}

/// The `Display` text: the derived `Debug` would add ~3.5 KB to the binary (cargo bloat) for
/// an error that is only ever shown to a user.
impl std::fmt::Debug for FixtureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

fn spec_error(path: &Path, text: &str, e: toml::de::Error) -> FixtureError {
    FixtureError::Spec {
        path: path.to_path_buf(),
        line: e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        }),
        message: e.message().trim().to_string(),
    }
}

pub fn load_coverage(dir: &Path) -> Result<Coverage, FixtureError> {
    let p = dir.join("coverage.toml");
    match std::fs::read_to_string(&p) {
        Ok(t) => toml::from_str(&t).map_err(|e| spec_error(&p, &t, e)),
        Err(_) => Ok(Coverage::default()),
    }
}

/// Loads every `*/host.toml` under `dir`, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<Fixture>, FixtureError> {
    let mut out = Vec::new();
    let read = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FixtureError::Read { path, source }
    };
    let rd = std::fs::read_dir(dir).map_err(read(dir))?;
    let mut dirs: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    dirs.sort();
    for d in dirs {
        let spec_path = d.join("host.toml");
        if !spec_path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&spec_path).map_err(read(&spec_path))?;
        let spec: HostSpec = toml::from_str(&text).map_err(|e| spec_error(&spec_path, &text, e))?;
        let profile = spec
            .profile
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|reason| FixtureError::Profile {
                path: spec_path.clone(),
                reason,
            })?;
        out.push(Fixture {
            name: d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            description: spec.description,
            profile,
            dir: d,
            dirs: spec.dirs,
            modes: spec.modes,
            expect: spec.expect,
        });
    }
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let ft = e.file_type()?;
        let dest = to.join(e.file_name());
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &dest)?;
        } else if ft.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

fn id_of(db: &str, name: &str) -> Option<u32> {
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    db.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[0] == name)
            .then(|| f[2].parse().ok())
            .flatten()
    })
}

impl Fixture {
    /// Copies the tree into `into` and applies `dirs` and `modes`.
    pub fn materialise(&self, into: &Path) -> Result<PathBuf, FixtureError> {
        let root = into.join(&self.name);
        let src = self.dir.join("root");
        let setup = |what: String| {
            let fixture = self.name.clone();
            move |source| FixtureError::Setup {
                fixture,
                what,
                source,
            }
        };
        copy_tree(&src, &root).map_err(setup(format!("copying {}", src.display())))?;
        for d in &self.dirs {
            std::fs::create_dir_all(root.join(d.trim_start_matches('/')))
                .map_err(setup(format!("creating {d}")))?;
        }
        let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap_or_default();
        let group = std::fs::read_to_string(root.join("etc/group")).unwrap_or_default();
        for m in &self.modes {
            let f: Vec<&str> = m.split_whitespace().collect();
            let bad = |why: &str| FixtureError::Mode {
                fixture: self.name.clone(),
                entry: m.clone(),
                why: why.to_string(),
            };
            if f.len() != 4 {
                return Err(bad("expected `PATH MODE OWNER GROUP`"));
            }
            let path = root.join(f[0].trim_start_matches('/'));
            let mode = u32::from_str_radix(f[1], 8).map_err(|_| bad("mode is not octal"))?;
            let uid = id_of(&passwd, f[2])
                .ok_or_else(|| bad("owner not in the fixture's /etc/passwd"))?;
            let gid =
                id_of(&group, f[3]).ok_or_else(|| bad("group not in the fixture's /etc/group"))?;
            std::os::unix::fs::lchown(&path, Some(uid), Some(gid))
                .map_err(|e| bad(&format!("chown: {e} (fixture tests need root)")))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| bad(&format!("chmod: {e}")))?;
        }
        Ok(root)
    }
}
