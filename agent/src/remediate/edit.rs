//! Pure text edits behind the fix actions: each takes a file's text and returns the new text,
//! changing as little as possible (other lines, comments and line order stay) so that the diff
//! a person reviews is the change and nothing else. No filesystem here.

use crate::catalog::fix::KeySep;
use regex::Regex;

/// Splits into lines keeping each line's terminator, so joining gives the text back.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn ensure_newline(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// True when the line is blank or a comment (`comment` leader after optional blanks).
fn inactive(line: &str, comment: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with(comment)
}

/// The key of an active `key value` / `key = value` line.
fn key_of(line: &str, sep: KeySep) -> Option<&str> {
    let t = line.trim_start();
    let end = match sep {
        KeySep::Whitespace => t.find(char::is_whitespace).unwrap_or(t.len()),
        KeySep::Equals | KeySep::EqualsTight => t.find(['=', ' ', '\t']).unwrap_or(t.len()),
    };
    let k = &t[..end];
    (!k.is_empty()).then_some(k)
}

fn render_kv(key: &str, value: &str, sep: KeySep) -> String {
    match sep {
        KeySep::Whitespace => format!("{key} {value}"),
        KeySep::Equals => format!("{key} = {value}"),
        KeySep::EqualsTight => format!("{key}={value}"),
    }
}

/// Sets `key` to `value`: every active occurrence is rewritten in place (first-wins and
/// last-wins readers then agree), or one line is appended when there is none. Lines already
/// right are left byte for byte.
pub fn set_key(text: &str, key: &str, value: &str, sep: KeySep, ignore_case: bool) -> String {
    let want = render_kv(key, value, sep);
    let same = |k: &str| {
        if ignore_case {
            k.eq_ignore_ascii_case(key)
        } else {
            k == key
        }
    };
    let mut out = String::with_capacity(text.len() + want.len() + 1);
    let mut found = false;
    for line in lines(text) {
        if !inactive(line, "#") && key_of(line, sep).is_some_and(same) {
            found = true;
            let body = line.trim_end_matches(['\n', '\r']);
            if current_value(body, sep).is_some_and(|v| v == value) {
                out.push_str(line);
            } else {
                out.push_str(&want);
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    if !found {
        ensure_newline(&mut out);
        out.push_str(&want);
        out.push('\n');
    }
    out
}

fn current_value(line: &str, sep: KeySep) -> Option<&str> {
    let t = line.trim();
    let rest = match sep {
        KeySep::Whitespace => t.split_once(char::is_whitespace)?.1,
        KeySep::Equals | KeySep::EqualsTight => t.split_once('=')?.1,
    };
    let v = rest.split('#').next().unwrap_or("").trim();
    Some(v)
}

/// Comments out every active line matching `re` (the match is tried on the line without
/// its terminator). Returns the new text and how many lines changed.
pub fn comment_lines(text: &str, re: &Regex, comment: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0;
    for line in lines(text) {
        let body = line.trim_end_matches(['\n', '\r']);
        if !inactive(line, comment) && re.is_match(body) {
            out.push_str(comment);
            out.push(' ');
            out.push_str(line);
            n += 1;
        } else {
            out.push_str(line);
        }
    }
    (out, n)
}

/// Appends `line` unless an active line already matches `re`.
pub fn ensure_line(text: &str, line: &str, re: &Regex) -> String {
    if lines(text)
        .iter()
        .any(|l| !inactive(l, "#") && re.is_match(l.trim_end_matches(['\n', '\r'])))
    {
        return text.to_string();
    }
    let mut out = text.to_string();
    ensure_newline(&mut out);
    out.push_str(line);
    out.push('\n');
    out
}

/// sshd: where a global keyword goes so that it is the first value sshd reads.
#[derive(Debug, PartialEq, Eq)]
pub enum SshdPlacement {
    /// The main file includes this drop-in directory before any occurrence of the keyword
    /// (and before any `Match`): a drop-in sorted first wins.
    DropIn,
    /// Otherwise the keyword is inserted at the top of the main file.
    MainFileTop,
}

/// Decides the placement for `keyword` given the main sshd_config text. `Include` arguments
/// are matched against the drop-in glob sshd would expand (`sshd_config.d/*.conf`, absolute or
/// relative to /etc/ssh, as sshd resolves relative includes).
pub fn sshd_placement(main: &str, keyword: &str) -> SshdPlacement {
    for line in main.lines() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut words = t.split(|c: char| c.is_whitespace() || c == '=');
        let k = words.next().unwrap_or("");
        if k.eq_ignore_ascii_case("match") || k.eq_ignore_ascii_case(keyword) {
            return SshdPlacement::MainFileTop;
        }
        if k.eq_ignore_ascii_case("include")
            && words.any(|w| {
                let w = w.trim_matches('"');
                w == "/etc/ssh/sshd_config.d/*.conf" || w == "sshd_config.d/*.conf"
            })
        {
            return SshdPlacement::DropIn;
        }
    }
    SshdPlacement::MainFileTop
}

/// The drop-in the fixes write: `00-` sorts before distribution drop-ins such as
/// `50-cloud-init.conf` and `50-redhat.conf`, so its values come first.
pub const SSHD_DROPIN: &str = "/etc/ssh/sshd_config.d/00-jikimi.conf";

/// Sets a keyword in jikimi's own sshd drop-in (or a main file, at the top): an existing line
/// for the keyword is replaced, else the line is inserted first.
pub fn sshd_set_top(text: &str, keyword: &str, value: &str, header: bool) -> String {
    let want = format!("{keyword} {value}\n");
    let mut out = String::with_capacity(text.len() + want.len() + 64);
    let mut replaced = false;
    for line in lines(text) {
        let t = line.trim_start();
        let k = t
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("");
        if !inactive(line, "#") && k.eq_ignore_ascii_case(keyword) && !replaced {
            out.push_str(&want);
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    if replaced {
        return out;
    }
    let mut head = String::new();
    if header && text.is_empty() {
        head.push_str("# Written by `jikimi fix`: settings here are read before other drop-ins.\n");
    }
    head.push_str(&want);
    head + &out
}

/// Comments out the global (before the first `Match`) active lines matching `re` in an sshd
/// configuration text. Returns the new text and how many lines changed.
pub fn sshd_comment_global(text: &str, re: &Regex) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + 16);
    let mut n = 0;
    let mut in_match = false;
    for line in lines(text) {
        let t = line.trim_start();
        let k = t
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("");
        if k.eq_ignore_ascii_case("match") {
            in_match = true;
        }
        if !in_match && !inactive(line, "#") && re.is_match(line) {
            out.push_str("# ");
            out.push_str(line);
            n += 1;
        } else {
            out.push_str(line);
        }
    }
    (out, n)
}

/// Sets `shell` as the login shell of `users` in a passwd text. Returns the new text and the
/// names changed.
pub fn passwd_set_shell(text: &str, users: &[String], shell: &str) -> (String, Vec<String>) {
    let mut changed = Vec::new();
    let mut out = String::with_capacity(text.len());
    for line in lines(text) {
        let body = line.trim_end_matches('\n');
        let mut f: Vec<&str> = body.split(':').collect();
        if f.len() == 7 && users.iter().any(|u| u == f[0]) && f[6] != shell {
            changed.push(f[0].to_string());
            f[6] = shell;
            out.push_str(&f.join(":"));
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    (out, changed)
}

/// Locks the passwords of `users` in a shadow text (`!` before the hash, as `passwd -l`).
pub fn shadow_lock(text: &str, users: &[String]) -> (String, Vec<String>) {
    let mut changed = Vec::new();
    let mut out = String::with_capacity(text.len());
    for line in lines(text) {
        let body = line.trim_end_matches('\n');
        let mut f: Vec<String> = body.split(':').map(str::to_string).collect();
        if f.len() >= 2 && users.iter().any(|u| *u == f[0]) && !f[1].starts_with('!') {
            changed.push(f[0].clone());
            f[1] = format!("!{}", f[1]);
            out.push_str(&f.join(":"));
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    (out, changed)
}

/// xinetd service file: `disable = yes` inside the service block.
pub fn xinetd_disable(text: &str) -> String {
    let re = Regex::new(r"^\s*disable\s*=").unwrap_or_else(|_| unreachable!("constant regex"));
    let mut out = String::with_capacity(text.len() + 16);
    let mut done = false;
    for line in lines(text) {
        if re.is_match(line) {
            out.push_str("\tdisable = yes\n");
            done = true;
        } else {
            out.push_str(line);
        }
    }
    if done {
        return out;
    }
    // insert before the closing brace of the (first) service block
    let mut res = String::with_capacity(out.len() + 16);
    let mut inserted = false;
    for line in lines(&out) {
        if !inserted && line.trim_start().starts_with('}') {
            res.push_str("\tdisable = yes\n");
            inserted = true;
        }
        res.push_str(line);
    }
    res
}

/// Replaces the password field of shadow-style lines by its kind, for diffs shown to people:
/// hashes never appear in output.
pub fn redact_shadow(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in lines(text) {
        let body = line.trim_end_matches('\n');
        let mut f: Vec<&str> = body.split(':').collect();
        if f.len() >= 2 {
            use crate::facts::accounts::{classify_password, PasswordState};
            let shown = match classify_password(f[1]) {
                PasswordState::Shadowed => "x".to_string(),
                PasswordState::Empty => "<empty>".to_string(),
                PasswordState::Locked if f[1].len() > 2 => "<locked hash>".to_string(),
                PasswordState::Locked => f[1].to_string(),
                PasswordState::Hash(a) => format!("<{a:?} hash>").to_lowercase(),
            };
            f[1] = &shown;
            out.push_str(&f.join(":"));
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_key_rewrites_every_active_occurrence_or_appends() {
        let t = "# PASS_MAX_DAYS 1\nPASS_MAX_DAYS 99999\nX 1\nPASS_MAX_DAYS\t5\n";
        assert_eq!(
            set_key(t, "PASS_MAX_DAYS", "90", KeySep::Whitespace, false),
            "# PASS_MAX_DAYS 1\nPASS_MAX_DAYS 90\nX 1\nPASS_MAX_DAYS 90\n"
        );
        assert_eq!(
            set_key("a = 1", "deny", "5", KeySep::Equals, false),
            "a = 1\ndeny = 5\n"
        );
        assert_eq!(
            set_key("", "deny", "5", KeySep::Equals, false),
            "deny = 5\n"
        );
        // already right: untouched, byte for byte
        let ok = "deny   =  5   # five\n";
        assert_eq!(set_key(ok, "deny", "5", KeySep::Equals, false), ok);
        assert_eq!(
            set_key(
                "INACTIVE=-1\n",
                "INACTIVE",
                "30",
                KeySep::EqualsTight,
                false
            ),
            "INACTIVE=30\n"
        );
        assert_eq!(
            set_key("umask 022\n", "UMASK", "027", KeySep::Whitespace, true),
            "UMASK 027\n"
        );
    }

    #[test]
    fn comment_and_ensure_lines() {
        let re = Regex::new(r"NOPASSWD").unwrap();
        let (t, n) = comment_lines("# x NOPASSWD\nbob ALL=(ALL) NOPASSWD: ALL\n", &re, "#");
        assert_eq!(t, "# x NOPASSWD\n# bob ALL=(ALL) NOPASSWD: ALL\n");
        assert_eq!(n, 1);
        let re = Regex::new(r"^\*\s+hard\s+core\s+0\b").unwrap();
        assert_eq!(ensure_line("a", "* hard core 0", &re), "a\n* hard core 0\n");
        let has = "*  hard core 0\n";
        assert_eq!(ensure_line(has, "* hard core 0", &re), has);
        assert_eq!(
            ensure_line("# * hard core 0\n", "* hard core 0", &re),
            "# * hard core 0\n* hard core 0\n"
        );
    }

    #[test]
    fn sshd_placement_follows_first_value_wins() {
        let deb = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n";
        assert_eq!(
            sshd_placement(deb, "PermitRootLogin"),
            SshdPlacement::DropIn
        );
        let before = "PermitRootLogin yes\nInclude /etc/ssh/sshd_config.d/*.conf\n";
        assert_eq!(
            sshd_placement(before, "permitrootlogin"),
            SshdPlacement::MainFileTop
        );
        assert_eq!(sshd_placement("Port 22\n", "X"), SshdPlacement::MainFileTop);
        let m = "Match User x\nInclude sshd_config.d/*.conf\n";
        assert_eq!(sshd_placement(m, "X"), SshdPlacement::MainFileTop);
        let rel = "Include sshd_config.d/*.conf\n";
        assert_eq!(sshd_placement(rel, "X"), SshdPlacement::DropIn);
    }

    #[test]
    fn sshd_set_top_replaces_or_inserts_first() {
        assert_eq!(
            sshd_set_top("Port 22\n", "PermitRootLogin", "no", false),
            "PermitRootLogin no\nPort 22\n"
        );
        assert_eq!(
            sshd_set_top("X 1\npermitrootlogin yes\n", "PermitRootLogin", "no", false),
            "X 1\nPermitRootLogin no\n"
        );
        assert!(sshd_set_top("", "A", "b", true).starts_with("# Written by"));
    }

    #[test]
    fn sshd_comment_global_stops_at_match() {
        let re = Regex::new(r"(?i)^\s*permitrootlogin(\s|=)").unwrap();
        let (t, n) = sshd_comment_global(
            "PermitRootLogin yes\nMatch User x\n  PermitRootLogin yes\n",
            &re,
        );
        assert_eq!(
            t,
            "# PermitRootLogin yes\nMatch User x\n  PermitRootLogin yes\n"
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn accounts_edits() {
        let p = "root:x:0:0::/root:/bin/bash\ngames:x:5:60::/usr/games:/bin/sh\n";
        let (t, c) = passwd_set_shell(p, &["games".into()], "/usr/sbin/nologin");
        assert_eq!(
            t,
            "root:x:0:0::/root:/bin/bash\ngames:x:5:60::/usr/games:/usr/sbin/nologin\n"
        );
        assert_eq!(c, vec!["games"]);
        let s = "bob:$6$abc$def:19000:0:99999:7:::\neve:!$6$x:1::::::\n";
        let (t, c) = shadow_lock(s, &["bob".into(), "eve".into()]);
        assert_eq!(t, "bob:!$6$abc$def:19000:0:99999:7:::\neve:!$6$x:1::::::\n");
        assert_eq!(c, vec!["bob"]);
        let r = redact_shadow(&t);
        assert!(!r.contains("abc"), "{r}");
    }

    #[test]
    fn xinetd_disable_sets_or_inserts() {
        let t = "service telnet\n{\n\tdisable = no\n\tserver = /x\n}\n";
        assert_eq!(
            xinetd_disable(t),
            "service telnet\n{\n\tdisable = yes\n\tserver = /x\n}\n"
        );
        let t = "service telnet\n{\n\tserver = /x\n}\n";
        assert_eq!(
            xinetd_disable(t),
            "service telnet\n{\n\tserver = /x\n\tdisable = yes\n}\n"
        );
    }
}
