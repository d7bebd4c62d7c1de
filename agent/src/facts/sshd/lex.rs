//! Line tokenizer with sshd's own rules (servconf.c, misc.c of OpenSSH 9.2):
//!
//! * a physical line is split on `\n`; leading ` \t\r` is dropped (as `load_server_config`
//!   does) and trailing ` \t\r\n\f` too;
//! * the keyword ends at the first space, tab, `=` or double quote (`strdelim`): `Key=value`,
//!   `Key = value` and `"Key" value` all work; a keyword with an unterminated quote makes
//!   sshd skip the line silently, and so do we;
//! * a keyword starting with `#` is a comment;
//! * the arguments are split like `argv_split`: spaces and tabs separate, double *and single*
//!   quotes group, `\\`, `\"`, `\'` and `\ ` escape, and a `#` at the start of a word ends the
//!   line. An unterminated quote is an error.
//!
//! `Match` criteria are tokenised again from the raw rest of the line with [`strdelim`]
//! (sshd does so), and a few keywords (`ForceCommand`, `VersionAddendum`,
//! `AuthorizedKeysCommand`) take the raw rest verbatim, comments included.

use super::{Directive, SshdError};

/// Longest physical line accepted. sshd has no limit; a line this long in a config file is
/// an attack or an accident, and refusing it keeps memory bounded.
pub const MAX_LINE: usize = 64 * 1024;

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

fn is_ws(c: char) -> bool {
    WHITESPACE.contains(&c)
}

/// `strspn(s, " \t\r\n")`: the rest after leading whitespace.
fn skip_ws(s: &str) -> &str {
    s.trim_start_matches(is_ws)
}

/// sshd's `strdelim`: the next token of a configuration line, splitting on whitespace, a
/// double quote or (when `split_equals`) a single `=`. Returns the token and the rest;
/// `(None, None)` for an unterminated quote, a `None` rest when the token ran to the end.
pub fn strdelim(s: Option<&str>, split_equals: bool) -> (Option<String>, Option<&str>) {
    let Some(s) = s else {
        return (None, None);
    };
    let delim = |c: char| is_ws(c) || c == '"' || (split_equals && c == '=');
    // `strcspn`: the token up to the first delimiter (all of it when there is none).
    let (head, rest) = s.split_at(s.find(delim).unwrap_or(s.len()));
    let Some(d) = rest.chars().next() else {
        return (Some(head.to_string()), None);
    };
    let after = &rest[d.len_utf8()..];
    if d == '"' {
        // The quote is removed and the token runs to the next quote.
        return match after.find('"') {
            None => (None, None),
            Some(j) => {
                let tok = format!("{head}{}", &after[..j]);
                (Some(tok), Some(skip_ws(&after[j + 1..])))
            }
        };
    }
    let mut r = skip_ws(after);
    if split_equals && d != '=' {
        if let Some(x) = r.strip_prefix('=') {
            r = skip_ws(x);
        }
    }
    (Some(head.to_string()), Some(r))
}

/// Why `argv_split` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteError;

/// sshd's `argv_split(s, .., terminate_on_comment = 1)`.
pub fn argv_split(s: &str) -> Result<Vec<String>, QuoteError> {
    let b: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == ' ' || b[i] == '\t' {
            i += 1;
            continue;
        }
        if b[i] == '#' {
            break;
        }
        let mut quote: Option<char> = None;
        let mut arg = String::new();
        while i < b.len() {
            let c = b[i];
            if c == '\\' {
                match b.get(i + 1) {
                    Some(&n)
                        if n == '\'' || n == '"' || n == '\\' || (quote.is_none() && n == ' ') =>
                    {
                        i += 1;
                        arg.push(n);
                    }
                    _ => arg.push(c),
                }
            } else if quote.is_none() && (c == ' ' || c == '\t') {
                break;
            } else if quote.is_none() && (c == '"' || c == '\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        out.push(arg);
        if i >= b.len() {
            if quote.is_some() {
                return Err(QuoteError);
            }
            break;
        }
        i += 1;
    }
    Ok(out)
}

/// One physical line as sshd sees it before tokenising: leading ` \t\r` gone (the loader),
/// trailing ` \t\r\n\f` gone except for the first character (the line parser).
fn clean_line(raw: &str) -> &str {
    let line = raw.trim_start_matches([' ', '\t', '\r']);
    let mut end = line.len();
    let first = line.chars().next().map(char::len_utf8).unwrap_or(0);
    while end > first {
        let c = line[..end].chars().next_back().unwrap_or('x');
        if matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{c}') {
            end -= c.len_utf8();
        } else {
            break;
        }
    }
    &line[..end]
}

/// Tokenises one configuration file. `origin` names the file in directives and errors.
/// Comments, blank lines and lines sshd skips silently (a keyword with an unterminated
/// quote) yield nothing; a keyword without an argument and an unterminated quote in the
/// arguments are errors, as they are for sshd.
/// sshd before 8.7 (`strdelim` tokenising, no `argv_split`): a `#` anywhere ends the
/// line (even inside quotes), only double quotes group, no backslash escapes, and a list
/// stops at the first empty token. `SetEnv` values keep their `=`.
pub fn parse_legacy(text: &str, origin: &str) -> Result<Vec<Directive>, SshdError> {
    let mut out = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        if raw.len() > MAX_LINE {
            return Err(SshdError::config(
                origin,
                lineno,
                format!("line longer than {MAX_LINE} bytes"),
            ));
        }
        let raw = raw.split('#').next().unwrap_or("");
        let line = clean_line(raw);
        if line.is_empty() {
            continue;
        }
        let (mut kw, mut rest) = strdelim(Some(line), true);
        if kw.as_deref() == Some("") {
            (kw, rest) = strdelim(rest, true);
        }
        let Some(keyword) = kw else { continue };
        if keyword.is_empty() {
            continue;
        }
        let rest = rest.unwrap_or("");
        let split_equals = !keyword.eq_ignore_ascii_case("setenv");
        let mut args = Vec::new();
        let mut cur = Some(rest);
        loop {
            let (tok, r) = strdelim(cur, split_equals);
            cur = r;
            match tok {
                Some(t) if !t.is_empty() => args.push(t),
                _ => break,
            }
        }
        out.push(Directive {
            key: keyword.to_ascii_lowercase(),
            keyword,
            args,
            rest: rest.to_string(),
            file: origin.to_string(),
            line: lineno,
        });
    }
    Ok(out)
}

pub fn parse(text: &str, origin: &str) -> Result<Vec<Directive>, SshdError> {
    let mut out = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        if raw.len() > MAX_LINE {
            return Err(SshdError::config(
                origin,
                lineno,
                format!("line longer than {MAX_LINE} bytes"),
            ));
        }
        let line = clean_line(raw);
        if line.is_empty() {
            continue;
        }
        let (mut kw, mut rest) = strdelim(Some(line), true);
        if kw.as_deref() == Some("") {
            (kw, rest) = strdelim(rest, true);
        }
        let Some(keyword) = kw else { continue };
        if keyword.is_empty() || keyword.starts_with('#') {
            continue;
        }
        let rest = match rest {
            Some(r) if !r.is_empty() => r,
            _ => {
                return Err(SshdError::config(
                    origin,
                    lineno,
                    format!("no argument after keyword \"{keyword}\""),
                ))
            }
        };
        let args = argv_split(rest).map_err(|_| {
            SshdError::config(
                origin,
                lineno,
                format!(
                    "invalid quotes in the arguments of \"{keyword}\" (expected a closing quote)"
                ),
            )
        })?;
        out.push(Directive {
            key: keyword.to_ascii_lowercase(),
            keyword,
            args,
            rest: rest.to_string(),
            file: origin.to_string(),
            line: lineno,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Directive {
        let mut v = parse(line, "t").unwrap();
        assert_eq!(v.len(), 1, "{line:?}");
        v.remove(0)
    }

    #[test]
    fn keyword_forms() {
        for (line, kw, args) in [
            ("Port 22", "Port", vec!["22"]),
            ("Port=22", "Port", vec!["22"]),
            ("Port = 22", "Port", vec!["22"]),
            ("Port =22", "Port", vec!["22"]),
            ("Port\t\t22", "Port", vec!["22"]),
            ("   \tPort 22", "Port", vec!["22"]),
            ("Port 22\r", "Port", vec!["22"]),
            ("Port 22 \t\u{c}", "Port", vec!["22"]),
            ("\"Port\" 22", "Port", vec!["22"]),
            ("Po\"rt\" 22", "Port", vec!["22"]),
            ("pOrT 22 # comment", "pOrT", vec!["22"]),
            ("Port 22#x", "Port", vec!["22#x"]),
            ("Port==22", "Port", vec!["=22"]),
            ("AllowUsers a b\tc", "AllowUsers", vec!["a", "b", "c"]),
            (
                "Banner \"/etc/my banner\"",
                "Banner",
                vec!["/etc/my banner"],
            ),
            ("Banner '/etc/my banner'", "Banner", vec!["/etc/my banner"]),
            ("Banner a\"b c\"d", "Banner", vec!["ab cd"]),
            ("Banner a\\ b", "Banner", vec!["a b"]),
            ("Banner a\\\"b", "Banner", vec!["a\"b"]),
            ("Banner a\\xb", "Banner", vec!["a\\xb"]),
            ("Include \"\"", "Include", vec![""]),
        ] {
            let d = one(line);
            assert_eq!(d.keyword, kw, "{line:?}");
            assert_eq!(d.key, kw.to_ascii_lowercase());
            assert_eq!(d.args, args, "{line:?}");
        }
    }

    #[test]
    fn comments_blank_and_skipped_lines() {
        let text = "# c\n\n   \n\t# indented\n#Port 2\n\"Port 22\nPort 1";
        let v = parse(text, "f").unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].line, v[0].args[0].as_str()), (7, "1"));
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        let v = parse("Port 1\r\nPort 2\r\n\r\nPort 3", "f").unwrap();
        let got: Vec<_> = v.iter().map(|d| (d.line, d.args[0].clone())).collect();
        assert_eq!(got, vec![(1, "1".into()), (2, "2".into()), (4, "3".into())]);
    }

    #[test]
    fn errors_carry_file_and_line() {
        let e = parse("Port 1\nPasswordAuthentication\n", "/x/y").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/x/y line 2: no argument after keyword \"PasswordAuthentication\""
        );
        let e = parse("Banner \"abc\n", "f").unwrap_err();
        assert!(e.to_string().starts_with("f line 1: invalid quotes"), "{e}");
        let e = parse("Port=\n", "f").unwrap_err();
        assert!(e.to_string().contains("no argument"), "{e}");
        let long = format!("Banner {}", "a".repeat(MAX_LINE));
        assert!(parse(&long, "f")
            .unwrap_err()
            .to_string()
            .contains("longer than"));
    }

    #[test]
    fn raw_rest_is_kept() {
        let d = one("ForceCommand   /bin/x \"a b\" # c");
        assert_eq!(d.rest, "/bin/x \"a b\" # c");
        assert_eq!(d.args, vec!["/bin/x", "a b"]);
    }

    #[test]
    fn strdelim_table() {
        assert_eq!(
            strdelim(Some("User bob"), true),
            (Some("User".into()), Some("bob"))
        );
        assert_eq!(strdelim(Some("bob"), true), (Some("bob".into()), None));
        assert_eq!(
            strdelim(Some("\"a b\" c"), true),
            (Some("a b".into()), Some("c"))
        );
        assert_eq!(strdelim(Some("\"a b"), true), (None, None));
        assert_eq!(
            strdelim(Some("User=bob"), true),
            (Some("User".into()), Some("bob"))
        );
        assert_eq!(strdelim(None, true), (None, None));
    }
}
