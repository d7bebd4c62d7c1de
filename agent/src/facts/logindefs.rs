//! `/etc/login.defs` (login.defs(5)): `NAME value` lines read by shadow-utils.
//!
//! Semantics follow shadow-utils' `getdef.c`: a line is a name and a value separated by white
//! space (a value may be in double quotes); `#` lines and blank lines are skipped; when a name
//! appears twice the later line replaces the earlier value (each line overwrites the stored
//! setting), so the last occurrence wins. Numbers are read like `strtol(.., 0)`: a leading `0`
//! means octal (`UMASK 022`), `0x` hexadecimal.

pub use crate::facts::origin::Origin;
use crate::fs::Root;

pub const LOGIN_DEFS: &str = "/etc/login.defs";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginDef {
    pub name: String,
    pub value: String,
    pub origin: Origin,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginDefs {
    /// Every setting line in file order (duplicates kept).
    pub entries: Vec<LoginDef>,
}

/// Parses login.defs text (pure; never fails: shadow-utils skips lines it cannot use).
pub fn parse(text: &str, file: &str) -> LoginDefs {
    let mut entries = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches(|c: char| c.is_whitespace() || c == '\0');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.split_once(|c: char| c.is_whitespace()) {
            Some((n, r)) => (n, r.trim()),
            None => (line, ""),
        };
        let value = rest
            .strip_prefix('"')
            .map(|v| v.split('"').next().unwrap_or(""))
            .unwrap_or(rest);
        entries.push(LoginDef {
            name: name.to_string(),
            value: value.to_string(),
            origin: Origin::new(file, i + 1),
        });
    }
    LoginDefs { entries }
}

/// Reads `/etc/login.defs`; a missing file is an empty set (shadow-utils' defaults apply).
pub fn load(root: &Root) -> Result<LoginDefs, crate::fs::FsError> {
    match root.read_text(LOGIN_DEFS) {
        Ok(t) => Ok(parse(&t.content, LOGIN_DEFS)),
        Err(e) if e.is_not_found() => Ok(LoginDefs::default()),
        Err(e) => Err(e),
    }
}

/// `strtol(s, .., 0)` for the whole string.
pub fn parse_c_number(s: &str) -> Option<i64> {
    let (neg, t) = match s.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()?
    } else {
        t.parse::<i64>().ok().filter(|_| !t.starts_with('+'))?
    };
    Some(if neg { -v } else { v })
}

impl LoginDefs {
    /// The effective value of a setting (its last occurrence) and where it is set.
    pub fn get(&self, name: &str) -> Option<(&str, &Origin)> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.name == name)
            .map(|e| (e.value.as_str(), &e.origin))
    }

    /// A numeric setting (PASS_MAX_DAYS, UID_MIN, ...); `None` if unset or not a number.
    pub fn number(&self, name: &str) -> Option<(i64, &Origin)> {
        let (v, o) = self.get(name)?;
        parse_c_number(v).map(|n| (n, o))
    }

    /// UMASK as a mode (octal by its leading zero, as shadow-utils reads it).
    pub fn umask(&self) -> Option<(u32, &Origin)> {
        let (n, o) = self.number("UMASK")?;
        u32::try_from(n)
            .ok()
            .filter(|m| *m <= 0o777)
            .map(|m| (m, o))
    }

    /// A yes/no setting (`yes` is true, anything else false, as getdef_bool does).
    pub fn flag(&self, name: &str) -> Option<(bool, &Origin)> {
        self.get(name)
            .map(|(v, o)| (v.eq_ignore_ascii_case("yes"), o))
    }

    pub fn pass_max_days(&self) -> Option<(i64, &Origin)> {
        self.number("PASS_MAX_DAYS")
    }
    pub fn pass_min_days(&self) -> Option<(i64, &Origin)> {
        self.number("PASS_MIN_DAYS")
    }
    pub fn pass_warn_age(&self) -> Option<(i64, &Origin)> {
        self.number("PASS_WARN_AGE")
    }
    pub fn encrypt_method(&self) -> Option<(&str, &Origin)> {
        self.get("ENCRYPT_METHOD")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let d = parse(
            "# comment\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS 0\n  PASS_WARN_AGE   7  \nUMASK\t\t022\n\
             ENCRYPT_METHOD SHA512\nPASS_MAX_DAYS 90\nUID_MIN 0x3e8\nMAIL_DIR \"/var/mail\" \n\
             USERGROUPS_ENAB yes\r\nSYS_UID_MAX\n",
            "/etc/login.defs",
        );
        assert_eq!(
            d.pass_max_days().map(|x| (x.0, x.1.line)),
            Some((90, 7)),
            "last wins"
        );
        assert_eq!(d.pass_min_days().unwrap().0, 0);
        assert_eq!(d.pass_warn_age().unwrap().0, 7);
        assert_eq!(d.umask().unwrap().0, 0o22);
        assert_eq!(d.encrypt_method().unwrap().0, "SHA512");
        assert_eq!(d.number("UID_MIN").unwrap().0, 1000);
        assert_eq!(d.get("MAIL_DIR").unwrap().0, "/var/mail");
        assert!(d.flag("USERGROUPS_ENAB").unwrap().0);
        assert_eq!(d.get("SYS_UID_MAX").unwrap().0, "");
        assert_eq!(d.number("SYS_UID_MAX"), None);
        assert_eq!(d.get("NOPE"), None);
    }

    #[test]
    fn numbers() {
        for (s, v) in [
            ("022", Some(0o22)),
            ("0", Some(0)),
            ("18", Some(18)),
            ("-1", Some(-1)),
            ("0x10", Some(16)),
            ("08", None),
            ("abc", None),
            ("", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(parse_c_number(s), v, "{s}");
        }
    }

    #[test]
    fn hostile() {
        let huge = format!("PASS_MAX_DAYS {}\n", "9".repeat(1 << 20));
        assert_eq!(parse(&huge, "f").pass_max_days(), None);
        assert_eq!(parse("UMASK 022", "f").umask().unwrap().0, 0o22);
        assert_eq!(parse("UMASK 0\0\n", "f").umask().unwrap().0, 0);
        assert_eq!(parse("UMASK 01777\n", "f").umask(), None);
        let _ = parse("\"\n\"\"\n#\n \t \n", "f");
    }
}
