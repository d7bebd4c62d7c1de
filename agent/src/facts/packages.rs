//! Installed packages. Debian family: `/var/lib/dpkg/status` (a text database; entries whose
//! Status is `install ok installed`). RPM family: the rpm database is binary (SQLite or
//! Berkeley DB) and is not parsed; package facts are then unavailable and checks that need
//! them are NOT_APPLICABLE with that reason.

use super::{FactError, FactResult};
use crate::fs::Root;
use serde::Serialize;
use std::collections::BTreeMap;

/// Installed packages by name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Packages {
    /// `dpkg`.
    pub manager: &'static str,
    /// name -> version.
    pub installed: BTreeMap<String, String>,
}

/// Parses dpkg's status file (RFC 822-style stanzas).
pub fn parse_dpkg_status(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stanza in text.split("\n\n") {
        let (mut name, mut version, mut installed) = (None, None, false);
        for l in stanza.lines() {
            if let Some(v) = l.strip_prefix("Package:") {
                name = Some(v.trim());
            } else if let Some(v) = l.strip_prefix("Version:") {
                version = Some(v.trim());
            } else if let Some(v) = l.strip_prefix("Status:") {
                installed = v.split_whitespace().last() == Some("installed");
            }
        }
        if let (Some(n), true) = (name, installed) {
            out.insert(n.to_string(), version.unwrap_or("").to_string());
        }
    }
    out
}

pub fn collect(root: &Root) -> FactResult<Packages> {
    const STATUS: &str = "/var/lib/dpkg/status";
    match root.read_text_limited(STATUS, 64 * 1024 * 1024) {
        Ok(t) => Ok(Packages {
            manager: "dpkg",
            installed: parse_dpkg_status(&t.content),
        }),
        Err(e) if e.is_not_found() => {
            if root.exists("/var/lib/rpm") || root.exists("/usr/lib/sysimage/rpm") {
                Err(FactError::Unavailable(
                    "the rpm package database is not read by this version (use service, process or file probes)".into(),
                ))
            } else {
                Err(FactError::Unavailable("no package database found".into()))
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status() {
        let p = parse_dpkg_status(
            "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\n\nPackage: telnetd\nStatus: deinstall ok config-files\nVersion: 0.17\n",
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p["openssh-server"], "1:9.2p1-2");
    }
}
