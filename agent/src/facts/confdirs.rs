//! Configuration directories with drop-in precedence, shared by the modprobe.d, systemd
//! `*.conf.d` and audit `rules.d` readers.
//!
//! The rule most of these follow (modprobe.d(5), systemd.unit drop-ins, sysctl.d(5)): files
//! from several directories are merged and applied in lexicographic order of their *names*,
//! whatever directory holds them; a file in an earlier directory of the list masks a file of
//! the same name in a later one (so `/etc` masks `/run` masks `/usr/lib`). A name that is a
//! symlink to `/dev/null` (or an empty file) masks without adding anything.
//!
//! Reading is bounded: at most [`MAX_FILES`] names per merge and [`MAX_TOTAL_BYTES`] over all
//! the files one merge reads, so a directory filled by an attacker costs a bounded amount and
//! ends in an error (never a silent partial read).

use super::{FactError, FactResult};
use crate::fs::{FsError, Root};
use std::collections::BTreeMap;

/// Most file names one merge considers.
pub const MAX_FILES: usize = 512;
/// Most bytes one merge reads over all its files.
pub const MAX_TOTAL_BYTES: u64 = 8 * 1024 * 1024;

/// One file of a merge, read.
#[derive(Debug, Clone)]
pub struct ConfFile {
    /// Host path.
    pub path: String,
    pub content: String,
}

/// The paths a merge applies, in application order (later overrides earlier): the winning
/// file for each name ending in `suffix`, sorted by name. Directories that do not exist are
/// skipped; an unreadable one is an error.
pub fn dropin_paths(root: &Root, dirs: &[&str], suffix: &str) -> FactResult<Vec<String>> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for d in dirs {
        let meta = match root.stat(d) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        // /lib is often a symlink to /usr/lib: read each real directory once
        if seen.contains(&(meta.dev, meta.ino)) {
            continue;
        }
        seen.push((meta.dev, meta.ino));
        let entries = match root.read_dir(d) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        for e in entries {
            if !e.name.ends_with(suffix)
                || e.name.starts_with('.')
                || e.kind == Some(crate::fs::FileKind::Dir)
            {
                continue;
            }
            if !files.contains_key(&e.name) && files.len() >= MAX_FILES {
                return Err(FactError::Failed(format!(
                    "more than {MAX_FILES} configuration files in {}: refusing a partial read",
                    dirs.join(", ")
                )));
            }
            files
                .entry(e.name.clone())
                .or_insert_with(|| crate::fs::join(d, &e.name));
        }
    }
    Ok(files.into_values().collect())
}

/// A byte budget shared by the reads of one merge.
pub struct Budget(u64);

impl Default for Budget {
    fn default() -> Self {
        Budget(MAX_TOTAL_BYTES)
    }
}

impl Budget {
    /// Reads one text file against the budget. `Ok(None)`: it does not exist (or is a
    /// dangling symlink, or a mask pointing at /dev/null).
    pub fn read(&mut self, root: &Root, path: &str) -> FactResult<Option<ConfFile>> {
        if let Ok(target) = root.read_link(path) {
            if target == "/dev/null" {
                return Ok(None);
            }
        }
        match root.read_text_limited(path, self.0) {
            Ok(t) => {
                self.0 = self.0.saturating_sub(t.content.len() as u64);
                Ok(Some(ConfFile {
                    path: path.to_string(),
                    content: t.content,
                }))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(read_error(e)),
        }
    }
}

fn read_error(e: FsError) -> FactError {
    FactError::Failed(format!("cannot read configuration: {e}"))
}

/// Reads the winning drop-ins of `dirs` (see [`dropin_paths`]) in application order.
pub fn read_dropins(
    root: &Root,
    dirs: &[&str],
    suffix: &str,
    budget: &mut Budget,
) -> FactResult<Vec<ConfFile>> {
    let mut out = Vec::new();
    for p in dropin_paths(root, dirs, suffix)? {
        if let Some(f) = budget.read(root, &p)? {
            out.push(f);
        }
    }
    Ok(out)
}

/// Compares names as `ls -v` does (runs of digits by value), for augenrules' file order.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (&x[..nx], &y[..ny]);
                let tx: &[u8] = {
                    let z = dx.iter().take_while(|c| **c == b'0').count();
                    &dx[z..]
                };
                let ty: &[u8] = {
                    let z = dy.iter().take_while(|c| **c == b'0').count();
                    &dy[z..]
                };
                let o = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order_is_numeric() {
        let mut v = vec!["10-b.rules", "9-a.rules", "99-finalize.rules", "a.rules"];
        v.sort_by(|a, b| version_cmp(a, b));
        assert_eq!(
            v,
            ["9-a.rules", "10-b.rules", "99-finalize.rules", "a.rules"]
        );
    }

    #[test]
    fn etc_masks_usr_lib_and_order_is_by_name() {
        let d = std::env::temp_dir().join(format!("jikimi-confdirs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for (p, t) in [
            ("usr/lib/x.d/10-a.conf", "usr a"),
            ("usr/lib/x.d/30-c.conf", "usr c"),
            ("etc/x.d/10-a.conf", "etc a"),
            ("etc/x.d/20-b.conf", "etc b"),
            ("etc/x.d/ignored.txt", "no"),
        ] {
            let f = d.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, t).unwrap();
        }
        let root = Root::new(&d).unwrap();
        let mut b = Budget::default();
        let got = read_dropins(
            &root,
            &["/etc/x.d", "/run/x.d", "/usr/lib/x.d"],
            ".conf",
            &mut b,
        )
        .unwrap();
        let got: Vec<(&str, &str)> = got
            .iter()
            .map(|f| (f.path.as_str(), f.content.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("/etc/x.d/10-a.conf", "etc a"),
                ("/etc/x.d/20-b.conf", "etc b"),
                ("/usr/lib/x.d/30-c.conf", "usr c")
            ]
        );
        let mut small = Budget(8);
        assert!(read_dropins(&root, &["/etc/x.d"], ".conf", &mut small).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
