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

/// A malformed passwd, shadow or group line, naming the file and the line.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
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
crate::error_text::debug_as_display!(RecordError);

fn failed(e: RecordError) -> FactError {
    FactError::Failed(e.to_string())
}

fn lines(text: &str) -> impl Iterator<Item = (u32, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| ((i + 1) as u32, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

/// An account file as the C library's `files` backend reads it (`getpwnam`, `getgrgid`,
/// `getgrouplist`: what sshd's `Match User`/`Group` and `~` see), and what the account
/// checks object to in it. The one parser of /etc/passwd, /etc/group and /etc/shadow: the
/// account facts reject a file with any malformed line ([`Parsed::strict`]); the sshd
/// evaluator looks entries up as glibc does, skipping what glibc skips.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    /// What the lookups find, in file order. glibc needs the name, the password field and
    /// numeric ids; fields missing after those read as empty, and extra colons belong to the
    /// last field (the shell, the member list). So a line can be an entry and malformed.
    pub entries: Vec<T>,
    /// Lines that are not well-formed (wrong field count, an id that is not a number), one
    /// error per line, in file order.
    pub malformed: Vec<RecordError>,
    /// Legacy NIS `+`/`-` lines (line numbers): never entries (glibc's lookups skip them).
    pub nis: Vec<u32>,
}

impl<T> Parsed<T> {
    /// The entries and NIS lines of a well-formed file; otherwise the error the account
    /// checks report: the first line with a wrong field count, else the first id that is not
    /// a number.
    pub fn strict(mut self) -> Result<(Vec<T>, Vec<u32>), RecordError> {
        if self.malformed.is_empty() {
            return Ok((self.entries, self.nis));
        }
        let i = self
            .malformed
            .iter()
            .position(|e| matches!(e, RecordError::FieldCount { .. }))
            .unwrap_or(0);
        Err(self.malformed.swap_remove(i))
    }
}

/// The colon-separated records of an account file: (line number, fields), plus the line
/// numbers of legacy NIS `+`/`-` entries. Blank lines and `#` comments are skipped (as glibc
/// does); a trailing carriage return is dropped.
#[allow(
    clippy::type_complexity,
    reason = "a private helper returning two parallel lists"
)]
fn records(text: &str) -> (Vec<(u32, Vec<&str>)>, Vec<u32>) {
    let mut out = Vec::new();
    let mut nis = Vec::new();
    for (n, l) in lines(text) {
        if l.starts_with('+') || l.starts_with('-') {
            nis.push(n);
            continue;
        }
        out.push((n, l.split(':').collect()));
    }
    (out, nis)
}

fn field_count(file: &str, line: u32, expected: usize, found: usize) -> RecordError {
    RecordError::FieldCount {
        file: file.to_string(),
        line,
        expected,
        found,
    }
}

fn number(file: &str, line: u32, what: &'static str, s: &str) -> Result<u32, RecordError> {
    s.parse::<u32>().map_err(|_| RecordError::NotANumber {
        file: file.to_string(),
        line,
        what,
        value: s.to_string(),
    })
}

/// Fields `from..` as one (glibc's last field takes the rest of the line, colons included).
fn rest(f: &[&str], from: usize) -> String {
    f.get(from..).map(|r| r.join(":")).unwrap_or_default()
}

/// The name and ids of a passwd or group record, as glibc requires them: a wrong field count
/// is reported (`expected`), and the entry is kept when the ids are numbers anyway.
fn ids(
    file: &str,
    n: u32,
    f: &[&str],
    expected: usize,
    id_fields: &[(usize, &'static str)],
    malformed: &mut Vec<RecordError>,
) -> Option<Vec<u32>> {
    let mut problem = (f.len() != expected).then(|| field_count(file, n, expected, f.len()));
    let mut out = Vec::with_capacity(id_fields.len());
    for &(i, what) in id_fields {
        match f.get(i).map(|s| number(file, n, what, s)) {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => {
                problem.get_or_insert(e);
            }
            None => {}
        }
    }
    malformed.extend(problem);
    (out.len() == id_fields.len()).then_some(out)
}

/// Parses /etc/passwd.
pub fn parse_passwd(text: &str, file: &str) -> Parsed<User> {
    let (recs, nis) = records(text);
    let mut malformed = Vec::new();
    let mut entries = Vec::with_capacity(recs.len());
    for (n, f) in recs {
        let Some(ids) = ids(file, n, &f, 7, &[(2, "UID"), (3, "GID")], &mut malformed) else {
            continue;
        };
        let field = |i: usize| f.get(i).copied().unwrap_or_default().to_string();
        entries.push(User {
            name: field(0),
            passwd_field: classify_password(f[1]),
            uid: ids[0],
            gid: ids[1],
            gecos: field(4),
            home: field(5),
            shell: rest(&f, 6),
            line: n,
        });
    }
    Parsed {
        entries,
        malformed,
        nis,
    }
}

/// Parses /etc/shadow (8 or 9 fields). The password field is reduced to its kind at once.
pub fn parse_shadow(text: &str, file: &str) -> Parsed<Shadow> {
    let (recs, nis) = records(text);
    let opt = |s: &str| s.trim().parse::<i64>().ok();
    let mut malformed = Vec::new();
    let mut entries = Vec::with_capacity(recs.len());
    for (n, f) in recs {
        if !(8..=9).contains(&f.len()) {
            malformed.push(field_count(file, n, 9, f.len()));
            continue;
        }
        entries.push(Shadow {
            name: f[0].to_string(),
            password: classify_password(f[1]),
            last_change: opt(f[2]),
            min_days: opt(f[3]),
            max_days: opt(f[4]),
            warn_days: opt(f[5]),
            inactive_days: opt(f[6]),
            expire: opt(f[7]),
            line: n,
        });
    }
    Parsed {
        entries,
        malformed,
        nis,
    }
}

/// Parses /etc/group. Members are comma-separated, leading blanks skipped and empty ones
/// dropped (as glibc's list parser does).
pub fn parse_group(text: &str, file: &str) -> Parsed<Group> {
    let (recs, nis) = records(text);
    let mut malformed = Vec::new();
    let mut entries = Vec::with_capacity(recs.len());
    for (n, f) in recs {
        let Some(ids) = ids(file, n, &f, 4, &[(2, "GID")], &mut malformed) else {
            continue;
        };
        entries.push(Group {
            name: f[0].to_string(),
            gid: ids[0],
            members: rest(&f, 3)
                .split(',')
                .map(|m| m.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']))
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
            line: n,
        });
    }
    Parsed {
        entries,
        malformed,
        nis,
    }
}

pub fn collect(f: &Facts) -> FactResult<Accounts> {
    let passwd = f.text("/etc/passwd")?;
    let (users, nis_p) = parse_passwd(&passwd.content, "/etc/passwd")
        .strict()
        .map_err(failed)?;
    let group = f.text("/etc/group")?;
    let (groups, nis_g) = parse_group(&group.content, "/etc/group")
        .strict()
        .map_err(failed)?;
    let (shadow, nis_s) = match f.text("/etc/shadow") {
        Ok(t) => {
            let (s, n) = parse_shadow(&t.content, "/etc/shadow")
                .strict()
                .map_err(failed)?;
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
            parse_shadow("u:$6$salt$secret:1:0:99999:7:::\n", "s")
                .strict()
                .unwrap()
        );
        assert!(!s.contains("secret"), "{s}");
    }

    #[test]
    fn passwd_group_shadow_parse() {
        let (u, nis) = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\r\n# c\n+::::::\nbob:x:1000:1000::/home/bob:/bin/sh",
            "/etc/passwd",
        )
        .strict()
        .unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].line, 4);
        assert_eq!(nis, vec![3]);
        let e = parse_passwd("root:x:0:0\n", "/etc/passwd")
            .strict()
            .unwrap_err();
        assert_eq!(e.to_string(), "/etc/passwd:1: expected 7 fields, found 4");
        let e = parse_passwd("a:x:zero:0:::\n", "/etc/passwd")
            .strict()
            .unwrap_err();
        assert!(e.to_string().contains("UID `zero`"), "{e}");
        let (g, _) = parse_group("sudo:x:27:alice, bob\n", "/etc/group")
            .strict()
            .unwrap();
        assert_eq!(g[0].members, vec!["alice", "bob"]);
        let (s, _) = parse_shadow("root:*:19000:0:99999:7:::\n", "/etc/shadow")
            .strict()
            .unwrap();
        assert_eq!(s[0].max_days, Some(99999));
        assert_eq!(s[0].inactive_days, None);
    }

    /// The strict reading (the account checks) reports the same line as before the parser
    /// was shared: the first wrong field count anywhere, else the first id that is not a
    /// number, with file and line.
    #[test]
    fn strict_reports_the_first_field_count_then_the_first_bad_id() {
        let text = "root:x:0:0:root:/root:/bin/sh\na:x:zero:0:::\nb:x:1:1\nc:x:2:two:::\n";
        let e = parse_passwd(text, "/etc/passwd").strict().unwrap_err();
        assert_eq!(e.to_string(), "/etc/passwd:3: expected 7 fields, found 4");
        let p = parse_passwd(text, "/etc/passwd");
        let shown: Vec<String> = p.malformed.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            shown,
            [
                "/etc/passwd:2: UID `zero` is not a number",
                "/etc/passwd:3: expected 7 fields, found 4",
                "/etc/passwd:4: GID `two` is not a number",
            ]
        );
        let e = parse_passwd("r:x:0:0:::\na:x:1:x:::\n", "/etc/passwd")
            .strict()
            .unwrap_err();
        assert_eq!(e.to_string(), "/etc/passwd:2: GID `x` is not a number");
        let e = parse_group("g:x:1\n", "/etc/group").strict().unwrap_err();
        assert_eq!(e.to_string(), "/etc/group:1: expected 4 fields, found 3");
        let e = parse_shadow("u:*:1\n", "/etc/shadow").strict().unwrap_err();
        assert_eq!(e.to_string(), "/etc/shadow:1: expected 9 fields, found 3");
    }

    /// The entries are what glibc's `files` lookups return (nss_files' passwd and group line
    /// parsers): name, password and numeric ids are required; missing later fields read as
    /// empty; extra colons belong to the last field; `+`/`-` lines and comments are skipped.
    #[test]
    fn entries_are_what_the_c_library_reads() {
        let p = parse_passwd(
            "# comment:x:0:0:::\n+::0:0:::\nshort:x:5:6\nlong:x:7:8:g:/home/long:/bin/sh:extra\n\
             noid:x::0:::\nroot:x:0:0:root:/root:/bin/bash\n",
            "/etc/passwd",
        );
        let names: Vec<&str> = p.entries.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["short", "long", "root"]);
        assert_eq!((p.entries[0].uid, p.entries[0].gid), (5, 6));
        assert_eq!(
            (p.entries[0].home.as_str(), p.entries[0].shell.as_str()),
            ("", "")
        );
        assert_eq!(p.entries[1].home, "/home/long");
        assert_eq!(p.entries[1].shell, "/bin/sh:extra");
        assert_eq!(p.nis, [2]);
        let lines: Vec<String> = p.malformed.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            lines,
            [
                "/etc/passwd:3: expected 7 fields, found 4",
                "/etc/passwd:4: expected 7 fields, found 8",
                "/etc/passwd:5: UID `` is not a number",
            ]
        );
        let g = parse_group(
            "wheel:x:10:alice, bob,,\nextra:x:11:carol:dave\nbad:x:x:\n-nis:x:12:\nnomem:x:13\n",
            "/etc/group",
        );
        let got: Vec<(&str, Vec<&str>)> = g
            .entries
            .iter()
            .map(|g| {
                (
                    g.name.as_str(),
                    g.members.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("wheel", vec!["alice", "bob"]),
                ("extra", vec!["carol:dave"]),
                ("nomem", vec![]),
            ]
        );
        assert_eq!(g.malformed.len(), 3, "{:?}", g.malformed);
        assert_eq!(g.nis, [4]);
    }
}
