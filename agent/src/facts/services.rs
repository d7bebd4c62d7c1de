//! Boot-time service enablement read from disk, without D-Bus or `systemctl`: systemd unit
//! files and their `.wants`/`.requires` links (systemd.unit(5) search path), masks (links to
//! /dev/null), SysV `rcN.d/S??name` links, xinetd service blocks and inetd.conf lines.

use super::Facts;
use crate::fs::{FileKind, Root};
use std::collections::BTreeMap;

/// systemd system unit search path, highest priority first.
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// What the unit directories say about units.
#[derive(Debug, Clone, Default)]
pub struct UnitIndex {
    /// unit name -> file that defines it (first in the search path).
    pub files: BTreeMap<String, String>,
    /// unit name -> where it is masked.
    pub masked: BTreeMap<String, String>,
    /// unit name -> `.wants`/`.requires` links that pull it in at boot.
    pub wanted_by: BTreeMap<String, Vec<String>>,
    /// Unit directories that exist but could not be read, with the reason: what they would
    /// have said is unknown, so "not enabled" cannot be concluded.
    pub unreadable: Vec<String>,
}

pub fn index(root: &Root) -> UnitIndex {
    let mut idx = UnitIndex::default();
    let mut seen_dirs = Vec::new();
    for d in UNIT_DIRS {
        let meta = match root.stat(d) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                idx.unreadable.push(e.to_string());
                continue;
            }
        };
        if seen_dirs.contains(&meta.ino) {
            continue;
        }
        seen_dirs.push(meta.ino);
        // entries are examined relative to one descriptor of the directory
        let (dir, entries) = match root.dir_handle(d).and_then(|h| Ok((h, root.read_dir(d)?))) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                idx.unreadable.push(e.to_string());
                continue;
            }
        };
        for e in entries {
            let path = crate::fs::join(d, &e.name);
            let is_dir = e.kind == Some(FileKind::Dir)
                || (e.kind.is_none() || e.kind == Some(FileKind::Symlink))
                    && root.stat(&path).is_ok_and(|m| m.kind == FileKind::Dir);
            if is_dir && (e.name.ends_with(".wants") || e.name.ends_with(".requires")) {
                match root.read_dir(&path) {
                    Ok(links) => {
                        for l in links {
                            idx.wanted_by
                                .entry(l.name.clone())
                                .or_default()
                                .push(crate::fs::join(&path, &l.name));
                        }
                    }
                    Err(e) if e.is_not_found() => {}
                    Err(e) => idx.unreadable.push(e.to_string()),
                }
                continue;
            }
            if is_dir || !e.name.contains('.') {
                continue;
            }
            // a link to /dev/null, or an empty regular file under /etc: masked (a name that
            // `d_type` says is a regular file cannot be a link, so it is not read as one)
            let maybe_link = matches!(e.kind, None | Some(FileKind::Symlink));
            let maybe_file = matches!(e.kind, None | Some(FileKind::File));
            if maybe_link && dir.read_link(&e.name).is_ok_and(|t| t == "/dev/null")
                || maybe_file
                    && d.starts_with("/etc")
                    && dir
                        .lstat(&e.name)
                        .is_ok_and(|m| m.kind == FileKind::File && m.size == 0)
            {
                idx.masked.entry(e.name.clone()).or_insert(path.clone());
            }
            idx.files.entry(e.name.clone()).or_insert(path);
        }
    }
    idx
}

/// What is known about one named service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceState {
    /// Places that define it (unit file, init script, xinetd block, inetd line).
    pub installed: Vec<String>,
    /// Places that enable it at boot (with file:line where known).
    pub enabled: Vec<(String, Option<u32>)>,
    /// Places that mask it.
    pub masked: Vec<String>,
    /// Files or directories that could have enabled it but could not be read (path: reason).
    pub unreadable: Vec<String>,
}

impl UnitIndex {
    pub fn unit(&self, name: &str) -> ServiceState {
        let mut st = ServiceState {
            unreadable: self.unreadable.clone(),
            ..ServiceState::default()
        };
        if let Some(f) = self.files.get(name) {
            st.installed.push(f.clone());
        }
        // a template instance `foo@bar.service` is defined by `foo@.service`
        if let Some((base, rest)) = name.split_once('@') {
            if let Some(ext) = rest.rsplit_once('.').map(|x| x.1) {
                if let Some(f) = self.files.get(&format!("{base}@.{ext}")) {
                    st.installed.push(f.clone());
                }
            }
        }
        if let Some(m) = self.masked.get(name) {
            st.masked.push(m.clone());
            return st;
        }
        if let Some(w) = self.wanted_by.get(name) {
            st.enabled.extend(w.iter().map(|p| (p.clone(), None)));
        }
        st
    }
}

/// xinetd: `service NAME { ... disable = yes|no }` in /etc/xinetd.conf and /etc/xinetd.d/*.
/// A service without `disable = yes` is enabled.
pub fn xinetd(f: &Facts, name: &str, st: &mut ServiceState) {
    let mut files = vec!["/etc/xinetd.conf".to_string()];
    match f.root.read_dir("/etc/xinetd.d") {
        Ok(e) => files.extend(
            e.into_iter()
                .filter(|e| !e.name.contains('.') && !e.name.ends_with('~'))
                .map(|e| format!("/etc/xinetd.d/{}", e.name)),
        ),
        Err(e) if e.is_not_found() => {}
        Err(e) => st.unreadable.push(e.to_string()),
    }
    for path in files {
        let t = match f.text(&path) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                st.unreadable.push(e.to_string());
                continue;
            }
        };
        let mut current: Option<(u32, bool)> = None; // (line, disabled)
        for (i, l) in t.content.lines().enumerate() {
            let l = l.split('#').next().unwrap_or("").trim();
            let n = (i + 1) as u32;
            let mut words = l.split_whitespace();
            if words.next() == Some("service") && words.next() == Some(name) {
                current = Some((n, false));
                st.installed.push(format!("{path}:{n}"));
            } else if let Some((_, dis)) = current.as_mut() {
                if let Some((k, v)) = l.split_once('=') {
                    if k.trim() == "disable" {
                        *dis = v.trim() == "yes";
                    }
                }
                if l.starts_with('}') {
                    let (line, disabled) = current.take().unwrap_or((n, true));
                    if !disabled {
                        st.enabled.push((path.clone(), Some(line)));
                    }
                }
            }
        }
    }
}

/// inetd: an uncommented /etc/inetd.conf line whose first field is the service name.
pub fn inetd(f: &Facts, name: &str, st: &mut ServiceState) {
    let t = match f.text("/etc/inetd.conf") {
        Ok(t) => t,
        Err(e) if e.is_not_found() => return,
        Err(e) => {
            st.unreadable.push(e.to_string());
            return;
        }
    };
    for (i, l) in t.content.lines().enumerate() {
        let l = l.trim();
        let n = (i + 1) as u32;
        if let Some(rest) = l.strip_prefix('#') {
            if rest.split_whitespace().next() == Some(name) {
                st.installed.push(format!("/etc/inetd.conf:{n}"));
            }
            continue;
        }
        if l.split_whitespace().next() == Some(name) {
            st.installed.push(format!("/etc/inetd.conf:{n}"));
            st.enabled.push(("/etc/inetd.conf".into(), Some(n)));
        }
    }
}

/// SysV init: `/etc/init.d/NAME` installed; `S??NAME` links in runlevels 2-5 enable it.
pub fn sysv(f: &Facts, name: &str, st: &mut ServiceState) {
    for d in ["/etc/init.d", "/etc/rc.d/init.d"] {
        let p = format!("{d}/{name}");
        if f.root.exists(&p) {
            st.installed.push(p);
        }
    }
    for base in ["/etc", "/etc/rc.d"] {
        for lvl in 2..=5 {
            let d = format!("{base}/rc{lvl}.d");
            let entries = match f.root.read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    st.unreadable.push(e.to_string());
                    continue;
                }
            };
            for e in entries {
                if e.name.starts_with('S') && e.name.len() > 3 && &e.name[3..] == name {
                    st.enabled.push((format!("{d}/{}", e.name), None));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn units_wants_masks() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("lib/systemd/system")).unwrap();
        std::fs::create_dir_all(d.join("etc/systemd/system/multi-user.target.wants")).unwrap();
        std::fs::create_dir_all(d.join("etc/systemd/system/sockets.target.wants")).unwrap();
        for u in [
            "ssh.service",
            "telnet.socket",
            "telnet@.service",
            "rpcbind.service",
        ] {
            std::fs::write(d.join("lib/systemd/system").join(u), "[Unit]\n").unwrap();
        }
        symlink(
            "/lib/systemd/system/telnet.socket",
            d.join("etc/systemd/system/sockets.target.wants/telnet.socket"),
        )
        .unwrap();
        symlink("/dev/null", d.join("etc/systemd/system/rpcbind.service")).unwrap();
        let root = Root::new(d).unwrap();
        let idx = index(&root);
        let telnet = idx.unit("telnet.socket");
        assert_eq!(telnet.installed.len(), 1);
        assert_eq!(telnet.enabled.len(), 1);
        assert!(idx.unit("ssh.service").enabled.is_empty());
        let rpc = idx.unit("rpcbind.service");
        assert_eq!(rpc.masked.len(), 1);
        assert!(rpc.enabled.is_empty());
        assert!(idx.unit("nope.service").installed.is_empty());
        assert_eq!(idx.unit("telnet@0.service").installed.len(), 1);
    }

    #[test]
    fn xinetd_and_inetd() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir_all(d.join("etc/xinetd.d")).unwrap();
        std::fs::write(
            d.join("etc/xinetd.d/telnet"),
            "service telnet\n{\n  disable = no\n  server = /usr/sbin/in.telnetd\n}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("etc/xinetd.d/tftp"),
            "service tftp\n{\n disable = yes\n}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("etc/inetd.conf"),
            "#finger stream tcp nowait nobody /usr/sbin/in.fingerd\nshell stream tcp nowait root /usr/sbin/in.rshd\n",
        )
        .unwrap();
        let root = Root::new(d).unwrap();
        let f = Facts::new(&root);
        let mut s = ServiceState::default();
        xinetd(&f, "telnet", &mut s);
        assert_eq!(
            s.enabled,
            vec![("/etc/xinetd.d/telnet".to_string(), Some(1))]
        );
        let mut s = ServiceState::default();
        xinetd(&f, "tftp", &mut s);
        assert!(s.enabled.is_empty() && !s.installed.is_empty());
        let mut s = ServiceState::default();
        inetd(&f, "finger", &mut s);
        assert!(s.enabled.is_empty() && s.installed.len() == 1);
        let mut s = ServiceState::default();
        inetd(&f, "shell", &mut s);
        assert_eq!(s.enabled.len(), 1);
    }
}
