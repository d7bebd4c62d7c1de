//! Installed packages, from the package manager's own database read through the scan root.
//!
//! - Debian family: `/var/lib/dpkg/status` (a text database; entries whose Status is
//!   `install ok installed`).
//! - RPM family: `rpmdb.sqlite` (RHEL 9, Amazon Linux 2023, Fedora) and the Berkeley DB
//!   `Packages` file (RHEL 8, Amazon Linux 2), read by [`super::rpmdb`] without SQLite or
//!   libdb. A database that cannot be read completely is an error (checks that need packages
//!   are ERROR with the reason), never an empty list.
//! - SUSE's ndb rpm database is recognised but not read: package facts are then unavailable
//!   and checks that need them NOT_APPLICABLE with that reason (docs/platforms.md).
//!
//! [`Packages::version_of`] gives the version of one package for code that needs it (the
//! OpenSSH version, for instance).

use super::rpmdb::{self, Backend};
use super::{FactError, FactResult, Facts};
use crate::fs::Root;
use serde::Serialize;
use std::collections::BTreeMap;

/// Largest dpkg status file read.
const MAX_DPKG_STATUS: u64 = 64 * 1024 * 1024;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    /// dpkg epoch (`1:`) or rpm EPOCH.
    pub epoch: Option<u32>,
    /// Upstream version: `9.2p1` (dpkg `1:9.2p1-2`), `8.7p1` (rpm `8.7p1-38.el9`).
    pub version: String,
    /// Debian revision or rpm RELEASE (empty for a Debian-native version).
    pub release: String,
    pub arch: Option<String>,
}

impl Package {
    /// `[epoch:]version[-release]`, as the package manager prints it (a zero epoch omitted).
    pub fn evr(&self) -> String {
        let mut s = String::new();
        if let Some(e) = self.epoch.filter(|e| *e != 0) {
            s.push_str(&format!("{e}:"));
        }
        s.push_str(&self.version);
        if !self.release.is_empty() {
            s.push('-');
            s.push_str(&self.release);
        }
        s
    }
}

/// Installed packages by name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Packages {
    /// `dpkg` or `rpm`.
    pub manager: &'static str,
    /// name -> version (`[epoch:]version-release`; several installed versions of one name,
    /// such as kernels, joined with ", ").
    pub installed: BTreeMap<String, String>,
    /// Every package in database order (rpm: installation order).
    #[serde(skip)]
    pub list: Vec<Package>,
}

impl Packages {
    fn from_list(manager: &'static str, list: Vec<Package>) -> Packages {
        let mut installed: BTreeMap<String, String> = BTreeMap::new();
        for p in &list {
            let v = p.evr();
            installed
                .entry(p.name.clone())
                .and_modify(|cur| {
                    if !cur.split(", ").any(|x| x == v) {
                        cur.push_str(", ");
                        cur.push_str(&v);
                    }
                })
                .or_insert(v);
        }
        Packages {
            manager,
            installed,
            list,
        }
    }

    /// Every installed package called `name` (several for kernels or multilib pairs).
    pub fn versions_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Package> + 'a {
        self.list.iter().filter(move |p| p.name == name)
    }

    /// The package called `name`; when several are installed, the most recently installed
    /// one (the last in database order).
    pub fn version_of(&self, name: &str) -> Option<&Package> {
        self.list.iter().rfind(|p| p.name == name)
    }
}

/// The installed package `name` on the scanned host: `Ok(None)` when it is not installed,
/// an error when the package database is unavailable or unreadable.
pub fn version_of(f: &Facts, name: &str) -> FactResult<Option<Package>> {
    Ok(f.packages()?.version_of(name).cloned())
}

/// Splits a Debian version `[epoch:]upstream[-revision]`.
pub fn split_debian_version(v: &str) -> (Option<u32>, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().ok(), r)
        }
        _ => (None, v),
    };
    match rest.rsplit_once('-') {
        Some((u, r)) => (epoch, u, r),
        None => (epoch, rest, ""),
    }
}

/// Parses dpkg's status file (RFC 822-style stanzas): name -> version.
pub fn parse_dpkg_status(text: &str) -> BTreeMap<String, String> {
    parse_dpkg_packages(text)
        .into_iter()
        .map(|(name, version, _)| (name, version))
        .collect()
}

/// `(name, version, architecture)` of each installed stanza.
fn parse_dpkg_packages(text: &str) -> Vec<(String, String, Option<String>)> {
    // One pass over the lines (a 700 KB status file has ~25k of them), looking only at the
    // first byte of each: stanzas end at an empty line, and continuation lines (` ...`)
    // and the other fields are skipped without a comparison.
    let mut out = Vec::new();
    let (mut name, mut version, mut arch, mut installed) = (None, None, None, false);
    let mut end = |name: &mut Option<&str>,
                   version: &mut Option<&str>,
                   arch: &mut Option<&str>,
                   installed: &mut bool| {
        if let (Some(n), true) = (name.take(), *installed) {
            out.push((
                n.to_string(),
                version.unwrap_or("").to_string(),
                arch.map(str::to_string),
            ));
        }
        (*version, *arch, *installed) = (None, None, false);
    };
    for l in text.lines() {
        match l.as_bytes().first() {
            None => end(&mut name, &mut version, &mut arch, &mut installed),
            Some(b'P') => {
                if let Some(v) = l.strip_prefix("Package:") {
                    name = Some(v.trim());
                }
            }
            Some(b'V') => {
                if let Some(v) = l.strip_prefix("Version:") {
                    version = Some(v.trim());
                }
            }
            Some(b'A') => {
                if let Some(v) = l.strip_prefix("Architecture:") {
                    arch = Some(v.trim());
                }
            }
            Some(b'S') => {
                if let Some(v) = l.strip_prefix("Status:") {
                    installed = v.split_whitespace().last() == Some("installed");
                }
            }
            _ => {}
        }
    }
    end(&mut name, &mut version, &mut arch, &mut installed);
    out
}

pub fn collect(root: &Root) -> FactResult<Packages> {
    const STATUS: &str = "/var/lib/dpkg/status";
    match root.read_text_limited(STATUS, MAX_DPKG_STATUS) {
        Ok(t) => {
            let list = parse_dpkg_packages(&t.content)
                .into_iter()
                .map(|(name, v, arch)| {
                    let (epoch, version, release) = split_debian_version(&v);
                    Package {
                        name,
                        epoch,
                        version: version.to_string(),
                        release: release.to_string(),
                        arch,
                    }
                })
                .collect();
            Ok(Packages::from_list("dpkg", list))
        }
        Err(e) if e.is_not_found() => collect_rpm(root),
        Err(e) => Err(e.into()),
    }
}

fn rpm_list(r: Result<Vec<rpmdb::header::RpmIdentity>, rpmdb::RpmDbError>) -> FactResult<Packages> {
    let ids = r.map_err(|e| FactError::Failed(format!("rpm database unreadable: {e}")))?;
    let list = ids
        .into_iter()
        .map(|i| Package {
            name: i.name,
            epoch: i.epoch,
            version: i.version,
            release: i.release,
            arch: i.arch,
        })
        .collect();
    Ok(Packages::from_list("rpm", list))
}

fn collect_rpm(root: &Root) -> FactResult<Packages> {
    match rpmdb::locate(root) {
        Some(Backend::Sqlite(path)) => rpm_list(rpmdb::read_sqlite(root, &path)),
        Some(Backend::BerkeleyDb(path)) => rpm_list(rpmdb::read_bdb(root, &path)),
        Some(Backend::Ndb(path)) => Err(FactError::Unavailable(format!(
            "{path} is an ndb rpm database (SUSE): not read by this version (rpmdb.sqlite and Berkeley DB Packages are)"
        ))),
        None => Err(FactError::Unavailable("no package database found".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line-by-line parser lists what a plain split into stanzas lists, on every
    /// fixture host's status file and this machine's own (a real Debian database).
    #[test]
    fn dpkg_single_pass_equals_stanza_split() {
        fn by_stanza(text: &str) -> Vec<(String, String, Option<String>)> {
            let mut out = Vec::new();
            for stanza in text.split("\n\n") {
                let field = |k: &str| {
                    stanza
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix(k))
                        .map(str::trim)
                };
                let installed = field("Status:")
                    .is_some_and(|v| v.split_whitespace().last() == Some("installed"));
                if let (Some(n), true) = (field("Package:"), installed) {
                    let v = field("Version:").unwrap_or("").to_string();
                    out.push((n.to_string(), v, field("Architecture:").map(str::to_string)));
                }
            }
            out
        }
        let hosts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hosts");
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&hosts)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("root/var/lib/dpkg/status"))
            .filter(|p| p.exists())
            .collect();
        files.push("/var/lib/dpkg/status".into());
        let mut compared = 0;
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            assert_eq!(
                parse_dpkg_packages(&text),
                by_stanza(&text),
                "{}",
                f.display()
            );
            compared += 1;
        }
        assert!(compared >= 10, "only {compared} status files");
    }

    #[test]
    fn dpkg_status() {
        let p = parse_dpkg_status(
            "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\n\nPackage: telnetd\nStatus: deinstall ok config-files\nVersion: 0.17\n",
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p["openssh-server"], "1:9.2p1-2");
    }

    #[test]
    fn debian_versions() {
        assert_eq!(split_debian_version("1:9.2p1-2"), (Some(1), "9.2p1", "2"));
        assert_eq!(
            split_debian_version("1:8.4p1-5+deb11u3"),
            (Some(1), "8.4p1", "5+deb11u3")
        );
        assert_eq!(split_debian_version("2.36-9"), (None, "2.36", "9"));
        assert_eq!(split_debian_version("1.2-3-4"), (None, "1.2-3", "4"));
        assert_eq!(split_debian_version("20230311"), (None, "20230311", ""));
    }

    #[test]
    fn version_of_and_duplicates() {
        let pk = |n: &str, v: &str, r: &str| Package {
            name: n.into(),
            epoch: None,
            version: v.into(),
            release: r.into(),
            arch: Some("x86_64".into()),
        };
        let p = Packages::from_list(
            "rpm",
            vec![
                pk("kernel", "5.14.0", "1.el9"),
                pk("openssh-server", "8.7p1", "38.el9"),
                pk("kernel", "5.14.0", "2.el9"),
            ],
        );
        assert_eq!(p.installed["kernel"], "5.14.0-1.el9, 5.14.0-2.el9");
        assert_eq!(p.version_of("kernel").unwrap().release, "2.el9");
        assert_eq!(p.version_of("openssh-server").unwrap().version, "8.7p1");
        assert!(p.version_of("telnet").is_none());
        assert_eq!(p.versions_of("kernel").count(), 2);
    }

    #[test]
    fn dpkg_root_gives_split_versions() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("var/lib/dpkg")).unwrap();
        std::fs::write(
            t.path().join("var/lib/dpkg/status"),
            "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2+deb12u3\n",
        )
        .unwrap();
        let root = Root::new(t.path()).unwrap();
        let p = collect(&root).unwrap();
        let s = p.version_of("openssh-server").unwrap();
        assert_eq!((s.epoch, s.version.as_str()), (Some(1), "9.2p1"));
        assert_eq!(s.evr(), "1:9.2p1-2+deb12u3");
        assert_eq!(p.installed["openssh-server"], "1:9.2p1-2+deb12u3");
    }
}
