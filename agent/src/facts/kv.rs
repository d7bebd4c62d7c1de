//! Key/value configuration files (`/etc/login.defs`, `pwquality.conf`, `faillock.conf`, ...):
//! `KEY value`, `key = value` or `key: value`, with comments. A pure parser.

use serde::Deserialize;

/// What separates a key from its value (`separator =` of a `keyvalue` probe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Separator {
    Whitespace,
    Equals,
    Colon,
}

/// How a file is written.
#[derive(Debug, Clone)]
pub struct Syntax<'a> {
    pub separator: Separator,
    /// Comment leader: a line whose first non-blank text starts with it is skipped, and
    /// text after ` <leader>` on a line is dropped.
    pub comment: Option<&'a str>,
}

impl Syntax<'static> {
    pub fn whitespace() -> Self {
        Syntax {
            separator: Separator::Whitespace,
            comment: Some("#"),
        }
    }
}

/// One `key value` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line.
    pub line: u32,
}

fn strip_quotes(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(v)
}

/// Parses every entry in order. Lines that have no separator become a key with an empty
/// value (a flag such as `enforce_for_root`).
pub fn parse(text: &str, syntax: Syntax<'_>) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let mut l = raw.trim_end_matches('\r').trim();
        if l.is_empty() {
            continue;
        }
        if let Some(c) = syntax.comment {
            if l.starts_with(c) {
                continue;
            }
            // trailing comment: only after whitespace, so values such as `a#b` survive
            if let Some(pos) = l
                .find(&format!(" {c}"))
                .or_else(|| l.find(&format!("\t{c}")))
            {
                l = l[..pos].trim_end();
            }
        }
        let (k, v) = match syntax.separator {
            Separator::Whitespace => match l.find(char::is_whitespace) {
                Some(p) => (&l[..p], &l[p..]),
                None => (l, ""),
            },
            Separator::Equals => l.split_once('=').unwrap_or((l, "")),
            Separator::Colon => l.split_once(':').unwrap_or((l, "")),
        };
        let key = k.trim();
        if key.is_empty() {
            continue;
        }
        out.push(Entry {
            key: key.to_string(),
            value: strip_quotes(v).to_string(),
            line: (i + 1) as u32,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_defs_style() {
        let e = parse(
            "# comment\nPASS_MAX_DAYS\t99999\r\nUMASK 022 # trailing\n\nFLAG\nENCRYPT_METHOD \"SHA512\"",
            Syntax::whitespace(),
        );
        assert_eq!(
            e.iter()
                .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
                .collect::<Vec<_>>(),
            vec![
                ("PASS_MAX_DAYS", "99999", 2),
                ("UMASK", "022", 3),
                ("FLAG", "", 5),
                ("ENCRYPT_METHOD", "SHA512", 6)
            ]
        );
    }

    #[test]
    fn equals_style() {
        let e = parse(
            "minlen = 14\n  # x\ndcredit=-1\nenforce_for_root\n=novalue\n",
            Syntax {
                separator: Separator::Equals,
                comment: Some("#"),
            },
        );
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].key.as_str(), e[0].value.as_str()), ("minlen", "14"));
        assert_eq!(e[1].value, "-1");
        assert_eq!(e[2].key, "enforce_for_root");
    }
}
