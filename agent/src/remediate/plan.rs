//! Planning: turns fix actions into the exact new state of each path, in memory, through a
//! [`Workspace`] that reads the scan root once per path and keeps what every planned action
//! made of it. Nothing is written here; the plan is what `jikimi fix` shows as a diff, applies,
//! verifies and undoes.

use super::edit;
use crate::catalog::fix::{AccountOp, AccountSelect, Action, KeySep};
use crate::facts::Facts;
use crate::fs::{FileKind, FsError, Root};
use regex::Regex;
use std::collections::BTreeMap;

/// What a path is (or will be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Absent,
    File {
        bytes: Vec<u8>,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    Dir {
        uid: u32,
        gid: u32,
        mode: u32,
    },
    Symlink {
        target: String,
        uid: u32,
        gid: u32,
    },
    /// A device, FIFO or socket: never touched.
    Other(FileKind),
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Node::Absent => "absent",
            Node::File { .. } => "file",
            Node::Dir { .. } => "directory",
            Node::Symlink { .. } => "symlink",
            Node::Other(_) => "special file",
        }
    }
}

/// Why a path could not be planned.
#[derive(thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Read(#[from] FsError),
    #[error("{path}: is a {kind}, not a regular file: not changed")]
    NotAFile { path: String, kind: &'static str },
    #[error("{path}: not UTF-8 text: not changed")]
    NotText { path: String },
    /// A catalog pattern that parses but cannot be compiled (see `catalog::pattern`).
    #[error(transparent)]
    Pattern(#[from] crate::catalog::pattern::PatternError),
    #[error("unknown {what} `{name}` in this root's passwd/group")]
    UnknownName { what: &'static str, name: String },
}
crate::error_text::debug_as_display!(PlanError);

/// The root as it is, plus every planned change.
pub struct Workspace<'r> {
    pub root: &'r Root,
    /// path -> (as found, as planned).
    nodes: BTreeMap<String, (Node, Node)>,
    /// Directories to create first (parents of new files), in creation order.
    pub mkdirs: Vec<String>,
}

pub fn read_node(root: &Root, path: &str) -> Result<Node, FsError> {
    let m = match root.lstat(path) {
        Ok(m) => m,
        Err(e) if e.is_not_found() => return Ok(Node::Absent),
        Err(e) => return Err(e),
    };
    Ok(match m.kind {
        FileKind::File => {
            let (bytes, m) = root.read_bytes_limited(path, crate::fs::MAX_READ_BYTES)?;
            Node::File {
                bytes,
                uid: m.uid,
                gid: m.gid,
                mode: m.mode,
            }
        }
        FileKind::Dir => Node::Dir {
            uid: m.uid,
            gid: m.gid,
            mode: m.mode,
        },
        FileKind::Symlink => Node::Symlink {
            target: root.read_link(path)?,
            uid: m.uid,
            gid: m.gid,
        },
        k => Node::Other(k),
    })
}

impl<'r> Workspace<'r> {
    pub fn new(root: &'r Root) -> Self {
        Workspace {
            root,
            nodes: BTreeMap::new(),
            mkdirs: Vec::new(),
        }
    }

    /// The planned state of `path`.
    pub fn get(&mut self, path: &str) -> Result<Node, PlanError> {
        if let Some((_, now)) = self.nodes.get(path) {
            return Ok(now.clone());
        }
        let n = read_node(self.root, path)?;
        self.nodes.insert(path.to_string(), (n.clone(), n.clone()));
        Ok(n)
    }

    pub fn set(&mut self, path: &str, n: Node) -> Result<(), PlanError> {
        self.get(path)?;
        if let Some(e) = self.nodes.get_mut(path) {
            e.1 = n;
        }
        Ok(())
    }

    /// The planned text of a regular file (`None`: absent).
    pub fn text(&mut self, path: &str) -> Result<Option<String>, PlanError> {
        match self.get(path)? {
            Node::Absent => Ok(None),
            Node::File { bytes, .. } => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| PlanError::NotText { path: path.into() }),
            other => Err(PlanError::NotAFile {
                path: path.into(),
                kind: other.kind_name(),
            }),
        }
    }

    /// Plans new text for a file: metadata kept, or `root:root` with `new_mode` when the file
    /// is created (its missing parent directories too).
    pub fn put_text(&mut self, path: &str, text: String, new_mode: u32) -> Result<(), PlanError> {
        let n = match self.get(path)? {
            Node::File { uid, gid, mode, .. } => Node::File {
                bytes: text.into_bytes(),
                uid,
                gid,
                mode,
            },
            Node::Absent => {
                self.need_parents(path)?;
                Node::File {
                    bytes: text.into_bytes(),
                    uid: 0,
                    gid: 0,
                    mode: new_mode,
                }
            }
            other => {
                return Err(PlanError::NotAFile {
                    path: path.into(),
                    kind: other.kind_name(),
                })
            }
        };
        self.set(path, n)
    }

    fn need_parents(&mut self, path: &str) -> Result<(), PlanError> {
        let (dir, _) = super::io::split(path);
        if dir == "/" || self.mkdirs.iter().any(|d| d == dir) {
            return Ok(());
        }
        match read_node(self.root, dir)? {
            Node::Absent => {
                self.need_parents(dir)?;
                self.mkdirs.push(dir.to_string());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Every path whose planned state differs from what was found: (path, before, after).
    pub fn changes(&self) -> Vec<(&str, &Node, &Node)> {
        self.nodes
            .iter()
            .filter(|(_, (a, b))| a != b)
            .map(|(p, (a, b))| (p.as_str(), a, b))
            .collect()
    }

    /// The planned state, to go back to when a check's fix cannot be planned whole.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            nodes: self.nodes.clone(),
            mkdirs: self.mkdirs.clone(),
        }
    }

    pub fn restore(&mut self, s: Snapshot) {
        self.nodes = s.nodes;
        self.mkdirs = s.mkdirs;
    }

    /// Whether anything was planned since `s` (reads alone do not count).
    pub fn changed_since(&self, s: &Snapshot) -> bool {
        let then: Vec<(&String, &Node)> = s
            .nodes
            .iter()
            .filter(|(_, (a, b))| a != b)
            .map(|(p, (_, b))| (p, b))
            .collect();
        let now: Vec<(&String, &Node)> = self
            .nodes
            .iter()
            .filter(|(_, (a, b))| a != b)
            .map(|(p, (_, b))| (p, b))
            .collect();
        then != now || s.mkdirs != self.mkdirs
    }
}

/// A saved [`Workspace`] state.
pub struct Snapshot {
    nodes: BTreeMap<String, (Node, Node)>,
    mkdirs: Vec<String>,
}

/// What one action did to the plan, for the person reading it.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    /// Remarks: paths skipped and why.
    pub notes: Vec<String>,
}

fn uid_of(f: &Facts, name: &str) -> Result<u32, PlanError> {
    if let Ok(n) = name.parse() {
        return Ok(n);
    }
    let a = f.accounts().map_err(|e| {
        PlanError::Read(FsError::new(
            "/etc/passwd",
            crate::fs::FsErrorKind::Other(e.to_string()),
        ))
    })?;
    a.users
        .iter()
        .find(|u| u.name == name)
        .map(|u| u.uid)
        .ok_or_else(|| PlanError::UnknownName {
            what: "user",
            name: name.into(),
        })
}

fn gid_of(f: &Facts, name: &str) -> Result<u32, PlanError> {
    if let Ok(n) = name.parse() {
        return Ok(n);
    }
    let a = f.accounts().map_err(|e| {
        PlanError::Read(FsError::new(
            "/etc/group",
            crate::fs::FsErrorKind::Other(e.to_string()),
        ))
    })?;
    a.groups
        .iter()
        .find(|g| g.name == name)
        .map(|g| g.gid)
        .ok_or_else(|| PlanError::UnknownName {
            what: "group",
            name: name.into(),
        })
}

/// Where systemd-sysctl reads the fix's kernel parameters: `zz-` sorts after the
/// distribution's and the administrator's `NN-*.conf` files, so this file wins among them.
pub const SYSCTL_FILE: &str = "/etc/sysctl.d/zz-jikimi.conf";
/// The sudoers drop-in for `Defaults` (sudo reads `sudoers.d` in lexical order; later wins).
pub const SUDOERS_DROPIN: &str = "/etc/sudoers.d/zz-jikimi";

fn expand(ws: &Workspace, patterns: &[String]) -> Result<Vec<String>, PlanError> {
    let mut out = Vec::new();
    for p in patterns {
        if crate::fs::has_wildcard(p) {
            out.extend(ws.root.glob(p)?);
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Plans one action.
pub fn plan_action(ws: &mut Workspace, facts: &Facts, a: &Action) -> Result<Planned, PlanError> {
    let mut out = Planned::default();
    match a {
        Action::File {
            paths,
            owner,
            group,
            mode_max,
            mode_add,
        } => {
            let uid = owner.as_deref().map(|o| uid_of(facts, o)).transpose()?;
            let gid = group.as_deref().map(|g| gid_of(facts, g)).transpose()?;
            let newmode = |m: u32| (m & mode_max.unwrap_or(0o7777)) | mode_add.unwrap_or(0);
            for p in expand(ws, paths)? {
                let n = match ws.get(&p)? {
                    Node::File {
                        bytes,
                        uid: u,
                        gid: g,
                        mode,
                    } => Node::File {
                        bytes,
                        uid: uid.unwrap_or(u),
                        gid: gid.unwrap_or(g),
                        mode: newmode(mode),
                    },
                    Node::Dir {
                        uid: u,
                        gid: g,
                        mode,
                    } => Node::Dir {
                        uid: uid.unwrap_or(u),
                        gid: gid.unwrap_or(g),
                        mode: newmode(mode),
                    },
                    // paths a check lists for other distributions are simply absent here
                    Node::Absent => continue,
                    other => {
                        out.notes
                            .push(format!("{p}: is a {}: not changed", other.kind_name()));
                        continue;
                    }
                };
                ws.set(&p, n)?;
            }
        }
        Action::SetKey {
            path,
            key,
            value,
            separator,
            ignore_case,
            create,
        } => match ws.text(path)? {
            None if !create => out
                .notes
                .push(format!("{path}: does not exist: not created")),
            t => {
                let t = t.unwrap_or_default();
                let new = edit::set_key(&t, key, value, *separator, *ignore_case);
                ws.put_text(path, new, 0o644)?;
            }
        },
        Action::Sshd { keyword, value } => plan_sshd(ws, keyword, value, &mut out)?,
        Action::Sysctl { key, value } => {
            let t = ws.text(SYSCTL_FILE)?.unwrap_or_else(|| {
                "# Written by `jikimi fix`; `zz-` sorts after other sysctl.d files.\n".into()
            });
            let new = edit::set_key(&t, key, value, KeySep::Equals, false);
            ws.put_text(SYSCTL_FILE, new, 0o644)?;
            // /etc/sysctl.conf is applied after every sysctl.d file: a conflicting value there
            // would win, so it is commented out.
            let alt = key.replace('.', "/");
            let re = Regex::new(&format!(
                r"^\s*-?\s*({}|{})\s*=",
                regex::escape(key),
                regex::escape(&alt)
            ))
            .map_err(|e| PlanError::NotText {
                path: e.to_string(),
            })?;
            if let Some(t) = ws.text("/etc/sysctl.conf")? {
                let (new, n) = edit::comment_lines(&t, &re, "#");
                if n > 0 {
                    ws.put_text("/etc/sysctl.conf", new, 0o644)?;
                }
            }
        }
        Action::CommentLines {
            paths,
            pattern,
            comment,
        } => {
            let pattern = pattern.regex().map_err(PlanError::Pattern)?;
            for p in expand(ws, paths)? {
                if let Some(t) = ws.text(&p)? {
                    let (new, n) = edit::comment_lines(&t, pattern, comment);
                    if n > 0 {
                        ws.put_text(&p, new, 0o644)?;
                    }
                }
            }
        }
        Action::EnsureLine {
            path,
            line,
            pattern,
            mode,
        } => {
            let t = ws.text(path)?.unwrap_or_default();
            let new = edit::ensure_line(&t, line, pattern.regex().map_err(PlanError::Pattern)?);
            if new != t {
                ws.put_text(path, new, *mode)?;
            }
        }
        Action::DisableService { units, inetd, sysv } => {
            let idx = facts.units();
            for u in units {
                let st = idx.unit(u);
                if st.installed.is_empty() {
                    continue;
                }
                if !st.masked.is_empty() {
                    continue;
                }
                for link in st.enabled.iter().map(|(p, _)| p) {
                    if link.starts_with("/etc/") {
                        ws.set(link, Node::Absent)?;
                    }
                }
                ws.set(
                    &format!("/etc/systemd/system/{u}"),
                    Node::Symlink {
                        target: "/dev/null".into(),
                        uid: 0,
                        gid: 0,
                    },
                )?;
            }
            for s in inetd {
                if let Some(t) = ws.text("/etc/inetd.conf")? {
                    let re = Regex::new(&format!(r"^\s*{}\s", regex::escape(s))).map_err(|e| {
                        PlanError::NotText {
                            path: e.to_string(),
                        }
                    })?;
                    let (new, n) = edit::comment_lines(&t, &re, "#");
                    if n > 0 {
                        ws.put_text("/etc/inetd.conf", new, 0o644)?;
                    }
                }
                let x = format!("/etc/xinetd.d/{s}");
                if let Some(t) = ws.text(&x)? {
                    let new = edit::xinetd_disable(&t);
                    if new != t {
                        ws.put_text(&x, new, 0o644)?;
                    }
                }
            }
            for s in sysv {
                for p in ws.root.glob(&format!("/etc/rc[0-6S].d/S[0-9][0-9]{s}"))? {
                    ws.set(&p, Node::Absent)?;
                }
            }
        }
        Action::RemoveFile { paths } => {
            for p in expand(ws, paths)? {
                match ws.get(&p)? {
                    Node::File { .. } | Node::Symlink { .. } => ws.set(&p, Node::Absent)?,
                    Node::Absent => {}
                    other => out
                        .notes
                        .push(format!("{p}: is a {}: not removed", other.kind_name())),
                }
            }
        }
        Action::SudoDefaults { add } => {
            let main = ws.text(crate::facts::SUDOERS)?.unwrap_or_default();
            // sudo ignores an include directory (or file) it finds insecure: then the
            // drop-in would never be read
            let dropin_read = matches!(facts.sudoers(), Ok(Some(s))
                if !s.skipped.iter().any(|k| k.path.starts_with("/etc/sudoers.d")));
            let target = if dropin_read && sudoers_dropin_wins(&main) {
                SUDOERS_DROPIN
            } else {
                crate::facts::SUDOERS
            };
            let mut t = ws.text(target)?.unwrap_or_default();
            for d in add {
                let re = Regex::new(&format!(r"^\s*Defaults\s+{}\s*$", regex::escape(d))).map_err(
                    |e| PlanError::NotText {
                        path: e.to_string(),
                    },
                )?;
                t = edit::ensure_line(&t, &format!("Defaults {d}"), &re);
            }
            ws.put_text(target, t, 0o440)?;
        }
        Action::Accounts { op, select } => plan_accounts(ws, facts, *op, select, &mut out)?,
    }
    Ok(out)
}

/// `@includedir /etc/sudoers.d` (or `#includedir`) with no `Defaults` after it in the main
/// file: a drop-in's Defaults are read last and win.
fn sudoers_dropin_wins(main: &str) -> bool {
    let mut after_include = None;
    for (i, l) in main.lines().enumerate() {
        let t = l.trim();
        if t.starts_with("@includedir /etc/sudoers.d")
            || t.starts_with("#includedir /etc/sudoers.d")
        {
            after_include = Some(i);
        }
    }
    match after_include {
        None => false,
        Some(i) => !main
            .lines()
            .skip(i + 1)
            .any(|l| l.trim_start().starts_with("Defaults")),
    }
}

fn plan_sshd(
    ws: &mut Workspace,
    keyword: &str,
    value: &str,
    out: &mut Planned,
) -> Result<(), PlanError> {
    let main_path = crate::facts::sshd::DEFAULT_CONFIG;
    let Some(main) = ws.text(main_path)? else {
        out.notes
            .push(format!("{main_path}: does not exist (sshd not installed)"));
        return Ok(());
    };
    let kw_re = Regex::new(&format!(r"(?i)^\s*{}(\s|=)", regex::escape(keyword))).map_err(|e| {
        PlanError::NotText {
            path: e.to_string(),
        }
    })?;
    // Every other global setting of the keyword goes, in the main file and every drop-in:
    // most keywords are first-value-wins, but some (MaxStartups, for one) take the last
    // value, and a single setting is right under both rules.
    for p in ws.root.glob("/etc/ssh/sshd_config.d/*.conf")? {
        if p == edit::SSHD_DROPIN {
            continue;
        }
        if let Some(t) = ws.text(&p)? {
            let (new, n) = edit::sshd_comment_global(&t, &kw_re);
            if n > 0 {
                ws.put_text(&p, new, 0o600)?;
            }
        }
    }
    let (main_new, _) = edit::sshd_comment_global(&main, &kw_re);
    match edit::sshd_placement(&main, keyword) {
        edit::SshdPlacement::DropIn => {
            if main_new != main {
                ws.put_text(main_path, main_new, 0o600)?;
            }
            let t = ws.text(edit::SSHD_DROPIN)?.unwrap_or_default();
            let new = edit::sshd_set_top(&t, keyword, value, true);
            // 0600: drop-ins are held to the main file's mode (SSH-025)
            ws.put_text(edit::SSHD_DROPIN, new, 0o600)?;
        }
        edit::SshdPlacement::MainFileTop => {
            let new = edit::sshd_set_top(&main_new, keyword, value, false);
            ws.put_text(main_path, new, 0o600)?;
        }
    }
    Ok(())
}

fn plan_accounts(
    ws: &mut Workspace,
    facts: &Facts,
    op: AccountOp,
    select: &AccountSelect,
    out: &mut Planned,
) -> Result<(), PlanError> {
    let acc = facts.accounts().map_err(|e| {
        PlanError::Read(FsError::new(
            "/etc/passwd",
            crate::fs::FsErrorKind::Other(e.to_string()),
        ))
    })?;
    let users: Vec<String> = match select {
        AccountSelect::SystemWithShell => acc
            .users
            .iter()
            .filter(|u| {
                u.uid != 0
                    && u.uid < acc.uid_min
                    && !["sync", "shutdown", "halt"].contains(&u.name.as_str())
                    && !crate::facts::accounts::is_nologin_shell(&u.shell)
            })
            .map(|u| u.name.clone())
            .collect(),
        AccountSelect::Users(names) => names
            .iter()
            .filter(|n| acc.users.iter().any(|u| &u.name == *n))
            .cloned()
            .collect(),
    };
    if users.is_empty() {
        return Ok(());
    }
    match op {
        AccountOp::Nologin => {
            let shell = if ws.root.exists("/usr/sbin/nologin") {
                "/usr/sbin/nologin"
            } else {
                "/sbin/nologin"
            };
            if let Some(t) = ws.text("/etc/passwd")? {
                let (new, changed) = edit::passwd_set_shell(&t, &users, shell);
                if !changed.is_empty() {
                    out.notes
                        .push(format!("login shell {shell} for {}", changed.join(", ")));
                    ws.put_text("/etc/passwd", new, 0o644)?;
                }
            }
        }
        AccountOp::Lock => {
            if let Some(t) = ws.text("/etc/shadow")? {
                let (new, changed) = edit::shadow_lock(&t, &users);
                if !changed.is_empty() {
                    out.notes.push(format!("locked {}", changed.join(", ")));
                    ws.put_text("/etc/shadow", new, 0o640)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudoers_dropin_placement() {
        assert!(sudoers_dropin_wins(
            "Defaults env_reset\n@includedir /etc/sudoers.d\n"
        ));
        assert!(!sudoers_dropin_wins(
            "@includedir /etc/sudoers.d\nDefaults !use_pty\n"
        ));
        assert!(!sudoers_dropin_wins("Defaults env_reset\n"));
    }
}
