//! Accounts: /etc/passwd, /etc/shadow, /etc/group, parsed. A shadow entry is reduced to its
//! *kind* (locked, empty, hash algorithm) at parse time: the hash itself is never kept, so it
//! can never reach a log, a finding or a sink.

use super::{FactError, FactResult, Facts};
use serde::Serialize;

/// One /etc/passwd entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    /// The password field of passwd: `x` when shadowed. A hash here is reported by kind only.
    pub passwd_field: PasswordState,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
    /// 1-based line in /etc/passwd.
    pub line: u32,
}

/// What a password field holds, never the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// `x` in passwd (the password is in shadow).
    Shadowed,
    /// Empty: anyone can log in without a password.
    Empty,
    /// `!`, `*`, `!!` or a `!`-prefixed hash: no password login.
    Locked,
    Hash(HashAlgo),
}

/// Password hash algorithm, from the crypt(5) prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashAlgo {
    Des,
    Md5,
    Bcrypt,
    Sha256,
    Sha512,
    Yescrypt,
    GostYescrypt,
    Scrypt,
    Unknown,
}

impl HashAlgo {
    /// SHA-2 family or a memory-hard / adaptive scheme (KISA 2026 U-13, CIS).
    pub fn is_strong(self) -> bool {
        matches!(
            self,
            HashAlgo::Sha256
                | HashAlgo::Sha512
                | HashAlgo::Yescrypt
                | HashAlgo::GostYescrypt
                | HashAlgo::Bcrypt
                | HashAlgo::Scrypt
        )
    }
}

pub fn classify_password(field: &str) -> PasswordState {
    if field.is_empty() {
        return PasswordState::Empty;
    }
    if field == "x" {
        return PasswordState::Shadowed;
    }
    if field.starts_with('!') || field.starts_with('*') {
        return PasswordState::Locked;
    }
    let algo = if let Some(rest) = field.strip_prefix('$') {
        match rest.split('$').next().unwrap_or("") {
            "1" => HashAlgo::Md5,
            "2a" | "2b" | "2y" | "2x" => HashAlgo::Bcrypt,
            "5" => HashAlgo::Sha256,
            "6" => HashAlgo::Sha512,
            "y" => HashAlgo::Yescrypt,
            "gy" => HashAlgo::GostYescrypt,
            "7" => HashAlgo::Scrypt,
            _ => HashAlgo::Unknown,
        }
    } else if field.len() == 13 {
        HashAlgo::Des
    } else {
        // Anything else cannot be a valid crypt hash: no password can match it.
        return PasswordState::Locked;
    };
    PasswordState::Hash(algo)
}

/// One /etc/shadow entry (no hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shadow {
    pub name: String,
    pub password: PasswordState,
    pub last_change: Option<i64>,
    pub min_days: Option<i64>,
    pub max_days: Option<i64>,
    pub warn_days: Option<i64>,
    pub inactive_days: Option<i64>,
    pub expire: Option<i64>,
    pub line: u32,
}

/// One /etc/group entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
    pub line: u32,
}

/// Parsed account databases.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Accounts {
    pub users: Vec<User>,
    /// None when /etc/shadow is absent.
    pub shadow: Option<Vec<Shadow>>,
    pub groups: Vec<Group>,
    /// Legacy NIS `+`/`-` lines (path, line).
    pub nis_lines: Vec<(String, u32)>,
    /// UID_MIN from login.defs (1000 when unset).
    pub uid_min: u32,
}

/// A line that could not be parsed: file, line, reason.
/// A malformed passwd, shadow or group line, naming the file and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("{file}:{line}: expected {expected} fields, found {found}")]
    FieldCount {
        file: String,
        line: u32,
        expected: usize,
        found: usize,
    },
    #[error("{file}:{line}: {what} `{value}` is not a number")]
    NotANumber {
        file: String,
        line: u32,
        what: &'static str,
        value: String,
    },
}

fn failed(e: RecordError) -> FactError {
    FactError::Failed(e.to_string())
}

fn lines(text: &str) -> impl Iterator<Item = (u32, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| ((i + 1) as u32, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

/// The colon-separated records of an account file: (line number, fields), plus the line
/// numbers of legacy NIS `+`/`-` entries. A record with a field count outside `min..=max` is
/// an error naming the line (`expected` is what the message says was expected).
#[allow(
    clippy::type_complexity,
    reason = "a private helper returning two parallel lists"
)]
fn records<'a>(
    text: &'a str,
    file: &str,
    min: usize,
    max: usize,
    expected: usize,
) -> Result<(Vec<(u32, Vec<&'a str>)>, Vec<u32>), RecordError> {
    let mut out = Vec::new();
    let mut nis = Vec::new();
    for (n, l) in lines(text) {
        if l.starts_with('+') || l.starts_with('-') {
            nis.push(n);
            continue;
        }
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < min || f.len() > max {
            return Err(RecordError::FieldCount {
                file: file.to_string(),
                line: n,
                expected,
                found: f.len(),
            });
        }
        out.push((n, f));
    }
    Ok((out, nis))
}

fn number(file: &str, line: u32, what: &'static str, s: &str) -> Result<u32, RecordError> {
    s.parse::<u32>().map_err(|_| RecordError::NotANumber {
        file: file.to_string(),
        line,
        what,
        value: s.to_string(),
    })
}

/// Parses /etc/passwd. Malformed lines are errors naming the line.
pub fn parse_passwd(text: &str, file: &str) -> Result<(Vec<User>, Vec<u32>), RecordError> {
    let (recs, nis) = records(text, file, 7, 7, 7)?;
    let mut users = Vec::with_capacity(recs.len());
    for (n, f) in recs {
        users.push(User {
            name: f[0].to_string(),
            passwd_field: classify_password(f[1]),
            uid: number(file, n, "UID", f[2])?,
            gid: number(file, n, "GID", f[3])?,
            gecos: f[4].to_string(),
            home: f[5].to_string(),
            shell: f[6].to_string(),
            line: n,
        });
    }
    Ok((users, nis))
}

/// Parses /etc/shadow (8 or 9 fields). The password field is reduced to its kind at once.
pub fn parse_shadow(text: &str, file: &str) -> Result<(Vec<Shadow>, Vec<u32>), RecordError> {
    let (recs, nis) = records(text, file, 8, 9, 9)?;
    let opt = |s: &str| s.trim().parse::<i64>().ok();
    let out = recs
        .into_iter()
        .map(|(n, f)| Shadow {
            name: f[0].to_string(),
            password: classify_password(f[1]),
            last_change: opt(f[2]),
            min_days: opt(f[3]),
            max_days: opt(f[4]),
            warn_days: opt(f[5]),
            inactive_days: opt(f[6]),
            expire: opt(f[7]),
            line: n,
        })
        .collect();
    Ok((out, nis))
}

/// Parses /etc/group.
pub fn parse_group(text: &str, file: &str) -> Result<(Vec<Group>, Vec<u32>), RecordError> {
    let (recs, nis) = records(text, file, 4, 4, 4)?;
    let mut out = Vec::with_capacity(recs.len());
    for (n, f) in recs {
        out.push(Group {
            name: f[0].to_string(),
            gid: number(file, n, "GID", f[2])?,
            members: f[3]
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            line: n,
        });
    }
    Ok((out, nis))
}

pub fn collect(f: &Facts) -> FactResult<Accounts> {
    let passwd = f.text("/etc/passwd")?;
    let (users, nis_p) = parse_passwd(&passwd.content, "/etc/passwd").map_err(failed)?;
    let group = f.text("/etc/group")?;
    let (groups, nis_g) = parse_group(&group.content, "/etc/group").map_err(failed)?;
    let (shadow, nis_s) = match f.text("/etc/shadow") {
        Ok(t) => {
            let (s, n) = parse_shadow(&t.content, "/etc/shadow").map_err(failed)?;
            (Some(s), n)
        }
        Err(e) if e.is_not_found() => (None, vec![]),
        Err(e) => return Err(e.into()),
    };
    let mut nis_lines = Vec::new();
    nis_lines.extend(nis_p.into_iter().map(|n| ("/etc/passwd".to_string(), n)));
    nis_lines.extend(nis_s.into_iter().map(|n| ("/etc/shadow".to_string(), n)));
    nis_lines.extend(nis_g.into_iter().map(|n| ("/etc/group".to_string(), n)));
    // A missing login.defs means shadow-utils' default; an unreadable one is an error, not
    // the default (issue 12, defect 2: which accounts are "human" depends on it).
    let uid_min = match f.text("/etc/login.defs") {
        Ok(t) => super::kv::parse(&t.content, super::kv::Syntax::whitespace())
            .into_iter()
            .rev()
            .find(|e| e.key == "UID_MIN")
            .and_then(|e| e.value.parse().ok()),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e.into()),
    }
    .unwrap_or(1000);
    Ok(Accounts {
        users,
        shadow,
        groups,
        nis_lines,
        uid_min,
    })
}

/// Shells that do not allow an interactive login.
pub fn is_nologin_shell(shell: &str) -> bool {
    shell.is_empty()
        || shell.ends_with("/nologin")
        || shell.ends_with("/false")
        || shell == "/bin/sync"
        || shell == "/sbin/shutdown"
        || shell == "/sbin/halt"
        || shell == "/usr/bin/true"
        || shell == "/bin/true"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_kinds_never_keep_the_hash() {
        assert_eq!(classify_password(""), PasswordState::Empty);
        assert_eq!(classify_password("x"), PasswordState::Shadowed);
        assert_eq!(classify_password("!"), PasswordState::Locked);
        assert_eq!(classify_password("!$6$abc$def"), PasswordState::Locked);
        assert_eq!(classify_password("*"), PasswordState::Locked);
        assert_eq!(
            classify_password("$6$salt$hash"),
            PasswordState::Hash(HashAlgo::Sha512)
        );
        assert_eq!(
            classify_password("$y$j9T$salt$hash"),
            PasswordState::Hash(HashAlgo::Yescrypt)
        );
        assert_eq!(
            classify_password("$1$a$b"),
            PasswordState::Hash(HashAlgo::Md5)
        );
        assert_eq!(
            classify_password("abcdefghijklm"),
            PasswordState::Hash(HashAlgo::Des)
        );
        assert!(!HashAlgo::Md5.is_strong() && HashAlgo::Yescrypt.is_strong());
        let s = format!(
            "{:?}",
            parse_shadow("u:$6$salt$secret:1:0:99999:7:::\n", "s").unwrap()
        );
        assert!(!s.contains("secret"), "{s}");
    }

    #[test]
    fn passwd_group_shadow_parse() {
        let (u, nis) = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\r\n# c\n+::::::\nbob:x:1000:1000::/home/bob:/bin/sh",
            "/etc/passwd",
        )
        .unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].line, 4);
        assert_eq!(nis, vec![3]);
        let e = parse_passwd("root:x:0:0\n", "/etc/passwd").unwrap_err();
        assert_eq!(e.to_string(), "/etc/passwd:1: expected 7 fields, found 4");
        let e = parse_passwd("a:x:zero:0:::\n", "/etc/passwd").unwrap_err();
        assert!(e.to_string().contains("UID `zero`"), "{e}");
        let (g, _) = parse_group("sudo:x:27:alice, bob\n", "/etc/group").unwrap();
        assert_eq!(g[0].members, vec!["alice", "bob"]);
        let (s, _) = parse_shadow("root:*:19000:0:99999:7:::\n", "/etc/shadow").unwrap();
        assert_eq!(s[0].max_days, Some(99999));
        assert_eq!(s[0].inactive_days, None);
    }
}
