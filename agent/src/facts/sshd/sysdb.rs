//! The account and service databases sshd consults while reading its configuration:
//! `Match Group` (passwd primary group + /etc/group members), `~` expansion (home of uid 0
//! or of a named user) and service names in port numbers (`Port ssh`).

use crate::facts::accounts;
use crate::fs::Root;

/// A group entry (the account facts' parser and type).
pub use accounts::Group;
/// A passwd entry (the account facts' parser and type: one reading of /etc/passwd).
pub use accounts::User;

/// Parsed `/etc/passwd`, `/etc/group` and `/etc/services`. Lookups return the first entry,
/// as the C library does with the `files` NSS backend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemDb {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// `(name or alias, tcp port)`.
    pub tcp_services: Vec<(String, u16)>,
}

impl SystemDb {
    /// Parses the three files' contents. Users and groups are the entries glibc's lookups
    /// find ([`accounts::Parsed::entries`]): a malformed line is skipped, as `getpwnam` and
    /// `getgrgid` skip it, where the account checks report it.
    pub fn parse(passwd: &str, group: &str, services: &str) -> SystemDb {
        let users = accounts::parse_passwd(passwd, "/etc/passwd").entries;
        let groups = accounts::parse_group(group, "/etc/group").entries;
        let mut tcp_services = Vec::new();
        for l in services.lines() {
            let l = l.split('#').next().unwrap_or("");
            let mut it = l.split_whitespace();
            let (Some(name), Some(pp)) = (it.next(), it.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if proto != "tcp" {
                continue;
            }
            tcp_services.push((name.to_string(), port));
            for alias in it {
                tcp_services.push((alias.to_string(), port));
            }
        }
        SystemDb {
            users,
            groups,
            tcp_services,
        }
    }

    /// Reads the databases under a scan root; a missing file counts as empty, an unreadable
    /// one is an error (`Match User`/`Group` and `~` would otherwise be decided on nothing).
    pub fn load(root: &Root) -> Result<SystemDb, crate::fs::FsError> {
        let read = |p: &str| match root.read_text(p) {
            Ok(t) => Ok(t.content),
            Err(e) if e.is_not_found() => Ok(String::new()),
            Err(e) => Err(e),
        };
        Ok(SystemDb::parse(
            &read("/etc/passwd")?,
            &read("/etc/group")?,
            &read("/etc/services")?,
        ))
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&User> {
        self.users.iter().find(|u| u.uid == uid)
    }

    /// Group names of a user as `getgrouplist` + `getgrgid` give them (primary group
    /// first), or None when the user does not exist.
    pub fn groups_of(&self, user: &str) -> Option<Vec<String>> {
        let u = self.user(user)?;
        let mut gids = vec![u.gid];
        for g in &self.groups {
            if g.members.iter().any(|m| m == user) && !gids.contains(&g.gid) {
                gids.push(g.gid);
            }
        }
        Some(
            gids.iter()
                .filter_map(|gid| self.groups.iter().find(|g| g.gid == *gid))
                .map(|g| g.name.clone())
                .collect(),
        )
    }

    /// `getservbyname(name, "tcp")`.
    pub fn tcp_port(&self, name: &str) -> Option<u16> {
        self.tcp_services
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_services() {
        let db = SystemDb::parse(
            "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\nbad\n",
            "root:x:0:\nbob:x:1000:\nwheel:x:10:alice,bob\nstaff:x:50:\n",
            "ssh\t\t22/tcp\t\t\t# SSH\nfoo 99/udp\nhttp 80/tcp www # web\n",
        );
        assert_eq!(db.groups_of("bob").unwrap(), vec!["bob", "wheel"]);
        assert_eq!(db.groups_of("root").unwrap(), vec!["root"]);
        assert!(db.groups_of("nobody").is_none());
        assert_eq!(db.tcp_port("ssh"), Some(22));
        assert_eq!(db.tcp_port("www"), Some(80));
        assert_eq!(db.tcp_port("foo"), None);
        assert_eq!(db.user_by_uid(0).unwrap().home, "/root");
    }

    /// The lookups skip what glibc skips (comments, NIS `+`/`-` lines, ids that are not
    /// numbers) and read what it reads (a member list with blanks after the commas, a line
    /// short of its trailing fields), where the account checks report those lines.
    #[test]
    fn lookups_read_the_files_as_glibc_does() {
        let db = SystemDb::parse(
            "#root:x:0:0::/comment:/bin/sh\n+::0:0::/nis:\nbad:x:0:zero::/bad:/bin/sh\n\
             root:x:0:0:root:/root:/bin/sh\nshort:x:1002:1002\nbob:x:1000:1000::/home/bob:/bin/sh\n",
            "wheel:x:10:alice, bob\nbob:x:1000:\nshort:x:1002\n",
            "",
        );
        assert_eq!(db.user_by_uid(0).unwrap().home, "/root");
        assert_eq!(db.groups_of("bob").unwrap(), vec!["bob", "wheel"]);
        assert_eq!(db.groups_of("short").unwrap(), vec!["short"]);
        assert!(db.user("+").is_none() && db.user("bad").is_none());
    }
}
