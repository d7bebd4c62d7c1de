//! The rpm package database of RHEL 9, Amazon Linux 2023 and Fedora: the SQLite file
//! `rpmdb.sqlite` (in `/var/lib/rpm`, or `/usr/lib/sysimage/rpm` where Fedora moved it), read
//! through the scan root with [`sqlite`], each row of its `Packages` table (`hnum`, `blob`)
//! decoded by [`header`].
//!
//! The Berkeley DB hash `Packages` file of RHEL 8, Amazon Linux 2 and CentOS 7 is read by
//! [`bdb`]. SUSE's ndb `Packages.db` is recognised and refused with a reason, never misread.
//! See docs/platforms.md.

pub mod bdb;
pub mod header;
pub mod sqlite;

use crate::fs::Root;
use header::{HeaderError, RpmIdentity};
use sqlite::{Db, DbError, FileSource, Source};

/// Directories rpm keeps its database in, in the order rpm's macros prefer them.
pub const DB_DIRS: &[&str] = &["/usr/lib/sysimage/rpm", "/var/lib/rpm"];

/// Largest `rpmdb.sqlite` read (a server with 2000 packages has about 100 MiB).
pub const MAX_DB_BYTES: u64 = 512 * 1024 * 1024;
/// Largest `-wal` file read (SQLite checkpoints at 1000 pages, 4 MiB by default).
pub const MAX_WAL_BYTES: u64 = 64 * 1024 * 1024;
/// Most packages accepted.
pub const MAX_PACKAGES: usize = 100_000;
/// Bytes of a header blob read before its identity is parsed: the index of a real header
/// (60 to 100 entries) and the start of its data store, where NAME to ARCH sit after the
/// signature tags; more is read, a kilobyte at a time, only when they do not fit.
const HEADER_WINDOW: usize = 4 * 1024;

/// Which database a root has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `rpmdb.sqlite` at this path.
    Sqlite(String),
    /// Berkeley DB `Packages` (hash) at this path.
    BerkeleyDb(String),
    /// ndb `Packages.db` at this path.
    Ndb(String),
}

/// Finds the rpm database under the root, if any.
pub fn locate(root: &Root) -> Option<Backend> {
    for d in DB_DIRS {
        let sqlite = format!("{d}/rpmdb.sqlite");
        if root.exists(&sqlite) {
            return Some(Backend::Sqlite(sqlite));
        }
    }
    for d in DB_DIRS {
        let ndb = format!("{d}/Packages.db");
        if root.exists(&ndb) {
            return Some(Backend::Ndb(ndb));
        }
        let bdb = format!("{d}/Packages");
        if root.exists(&bdb) {
            return Some(Backend::BerkeleyDb(bdb));
        }
    }
    None
}

/// Why the package list could not be read, naming the database file.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpmDbError {
    #[error("{path}: no such file")]
    Missing { path: String },
    #[error("{path}: {size} bytes, larger than the {limit}-byte bound")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: {reason}")]
    Open { path: String, reason: String },
    #[error("{path}: {problem}")]
    Read {
        path: String,
        problem: PackagesError,
    },
}
crate::error_text::debug_as_display!(RpmDbError);

/// What is wrong inside a database file (the file is named by [`RpmDbError`]).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackagesError {
    #[error("{0}")]
    Open(DbError),
    #[error("reading the schema: {0}")]
    Schema(DbError),
    #[error("no Packages table: not an rpm database")]
    NoPackagesTable,
    #[error("package {hnum}: row has {columns} columns, expected 2")]
    Columns { hnum: i64, columns: usize },
    #[error("package {hnum}: blob column is not a BLOB")]
    NotBlob { hnum: i64 },
    #[error("package {hnum}: {header}")]
    Header { hnum: i64, header: HeaderError },
    #[error("more than {max} packages")]
    TooMany { max: usize },
    #[error("reading the Packages table: {0}")]
    Table(DbError),
    #[error(transparent)]
    Bdb(#[from] bdb::BdbError),
}
crate::error_text::debug_as_display!(PackagesError);

/// Every package in an SQLite rpm database, in installation order (`hnum`).
pub fn read_sqlite(root: &Root, path: &str) -> Result<Vec<RpmIdentity>, RpmDbError> {
    let main = open_bounded(root, path, MAX_DB_BYTES)?.ok_or_else(|| RpmDbError::Missing {
        path: path.to_string(),
    })?;
    let wal = open_bounded(root, &format!("{path}-wal"), MAX_WAL_BYTES)?;
    read_sources(&main, wal.as_ref().map(|w| w as &dyn Source)).map_err(|problem| {
        RpmDbError::Read {
            path: path.to_string(),
            problem,
        }
    })
}

/// Opens `p` under the root for page reads; `Ok(None)` when it does not exist.
fn open_bounded(root: &Root, p: &str, limit: u64) -> Result<Option<FileSource>, RpmDbError> {
    match root.open_file(p) {
        Ok((file, meta)) if meta.size <= limit => Ok(Some(FileSource {
            file,
            len: meta.size,
        })),
        Ok((_, meta)) => Err(RpmDbError::TooLarge {
            path: p.to_string(),
            size: meta.size,
            limit,
        }),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(RpmDbError::Open {
            path: p.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// Every package in a Berkeley DB `Packages` file, in package-number order.
pub fn read_bdb(root: &Root, path: &str) -> Result<Vec<RpmIdentity>, RpmDbError> {
    let main = open_bounded(root, path, MAX_DB_BYTES)?.ok_or_else(|| RpmDbError::Missing {
        path: path.to_string(),
    })?;
    read_bdb_source(&main).map_err(|problem| RpmDbError::Read {
        path: path.to_string(),
        problem,
    })
}

/// [`read_bdb`] on a source (also the fuzzing entry point).
pub fn read_bdb_source(src: &dyn Source) -> Result<Vec<RpmIdentity>, PackagesError> {
    let mut out: Vec<(u32, RpmIdentity)> = Vec::new();
    bdb::scan(src, &mut |hnum, blob| {
        let id = header::parse(&blob).map_err(|header| PackagesError::Header {
            hnum: hnum.into(),
            header,
        })?;
        out.push((hnum, id));
        if out.len() > MAX_PACKAGES {
            return Err(PackagesError::TooMany { max: MAX_PACKAGES });
        }
        Ok(())
    })?;
    out.sort_by_key(|(k, _)| *k);
    Ok(out.into_iter().map(|(_, id)| id).collect())
}

/// Every package of a database given as sources (also the fuzzing entry point).
pub fn read_sources(
    main: &dyn Source,
    wal: Option<&dyn Source>,
) -> Result<Vec<RpmIdentity>, PackagesError> {
    let db = Db::open(main, wal).map_err(PackagesError::Open)?;
    let root = db
        .table_root("Packages")
        .map_err(PackagesError::Schema)?
        .ok_or(PackagesError::NoPackagesTable)?;
    let mut out = Vec::new();
    let mut failure: Option<PackagesError> = None;
    db.scan_table(root, &mut |hnum, p| {
        let cols = p.columns()?;
        let Some(blob_col) = cols.get(1).copied() else {
            failure = Some(PackagesError::Columns {
                hnum,
                columns: cols.len(),
            });
            return Ok(false);
        };
        let total = blob_col.len;
        let mut window = HEADER_WINDOW.min(total);
        let id = loop {
            let Some(b) = p.bytes(&blob_col, window)? else {
                failure = Some(PackagesError::NotBlob { hnum });
                return Ok(false);
            };
            match header::parse_prefix(b, total) {
                Ok(id) => break id,
                Err(HeaderError::NeedMore { needed }) if needed > window => {
                    window = needed.min(total);
                }
                Err(header) => {
                    failure = Some(PackagesError::Header { hnum, header });
                    return Ok(false);
                }
            }
        };
        out.push(id);
        if out.len() > MAX_PACKAGES {
            failure = Some(PackagesError::TooMany { max: MAX_PACKAGES });
            return Ok(false);
        }
        Ok(true)
    })
    .map_err(PackagesError::Table)?;
    match failure {
        Some(f) => Err(f),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_prefers_sqlite_and_recognises_the_others() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        let root = Root::new(d).unwrap();
        assert_eq!(locate(&root), None);
        std::fs::create_dir_all(d.join("var/lib/rpm")).unwrap();
        std::fs::write(d.join("var/lib/rpm/Packages"), b"x").unwrap();
        assert_eq!(
            locate(&root),
            Some(Backend::BerkeleyDb("/var/lib/rpm/Packages".into()))
        );
        std::fs::write(d.join("var/lib/rpm/rpmdb.sqlite"), b"x").unwrap();
        assert_eq!(
            locate(&root),
            Some(Backend::Sqlite("/var/lib/rpm/rpmdb.sqlite".into()))
        );
        let e = read_sqlite(&root, "/var/lib/rpm/rpmdb.sqlite").unwrap_err();
        assert!(e.to_string().contains("too short"), "{e}");
    }

    /// The fuzz seeds are real databases (rpm 4.18 made the SQLite one, then VACUUMed to
    /// 512-byte pages; db5.3_load made the Berkeley DB one with 512-byte pages).
    fn seed(name: &str) -> Vec<u8> {
        let p = format!("{}/fuzz/corpus/rpmdb/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(p).unwrap()[1..].to_vec()
    }

    fn names(ids: &[RpmIdentity]) -> Vec<String> {
        ids.iter()
            .map(|i| format!("{} {:?} {}-{}", i.name, i.epoch, i.version, i.release))
            .collect()
    }

    #[test]
    fn seeds_read_like_rpm() {
        // in installation (hnum) order
        let want = [
            "nginx Some(1) 1.20.1-14.el9_2.1",
            "openssh-server None 8.7p1-38.el9",
            "postgresql-server None 13.14-1.el9_3",
        ];
        assert_eq!(
            names(&read_sources(&seed("sqlite-3-packages"), None).unwrap()),
            want
        );
        assert_eq!(
            names(&read_bdb_source(&seed("bdb-3-packages")).unwrap()),
            want
        );
        let h = header::parse(&seed("header-openssh")).unwrap();
        assert_eq!(h.arch.as_deref(), Some("noarch"));
    }

    #[test]
    fn every_truncation_of_the_seeds_is_an_error_or_a_subset() {
        for (name, bdb) in [("sqlite-3-packages", false), ("bdb-3-packages", true)] {
            let full = seed(name);
            for n in (0..full.len()).step_by(97) {
                let part = full[..n].to_vec();
                let r = if bdb {
                    read_bdb_source(&part)
                } else {
                    read_sources(&part, None)
                };
                assert!(r.is_err(), "{name} truncated to {n} bytes was accepted");
            }
        }
    }
}
