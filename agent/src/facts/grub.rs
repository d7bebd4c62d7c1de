//! The GRUB bootloader: who may edit boot entries, and the kernel command line the host
//! boots with.
//!
//! Sources, each a pure parser:
//! - `/etc/default/grub`, then `/etc/default/grub.d/*.cfg` in glob order: shell files that
//!   `grub-mkconfig` sources. Assignments are read with shell semantics as far as that is
//!   possible without running a shell: `NAME=word`, `export NAME=word`, words made of
//!   unquoted text, `'single'` and `"double"` quotes, `$NAME` / `${NAME}` expanded from
//!   earlier assignments (unset: empty), backslash escapes and line continuations. A value
//!   with a command substitution (`$(...)`, backquotes) or another expansion
//!   (`${NAME:-x}`...) is *unknown*, and any other shell construct on a line (`if`, a command)
//!   is recorded as not understood; a check that depends on such a value is an ERROR naming
//!   the line, never a guess. The kernel command line of normal entries is
//!   `GRUB_CMDLINE_LINUX GRUB_CMDLINE_LINUX_DEFAULT`; recovery entries (unless
//!   `GRUB_DISABLE_RECOVERY=true`) get `GRUB_CMDLINE_LINUX` only.
//! - `grub.cfg` (`/boot/grub/grub.cfg`, `/boot/grub2/grub.cfg`, `/boot/efi/EFI/*/grub.cfg`):
//!   the generated configuration GRUB reads at boot. `set superusers=...`,
//!   `password_pbkdf2 USER HASH` and plain `password USER TEXT` lines, and every `linux`,
//!   `linux16` and `linuxefi` line with its parameters (`$var` / `${var}` expanded from
//!   earlier `set` lines of the file and from `grubenv`; unknown variables dropped).
//!   RHEL's `user.cfg` (`GRUB2_PASSWORD=grub.pbkdf2...`), sourced by its grub.cfg, counts
//!   when the grub.cfg uses `${GRUB2_PASSWORD}`.
//! - Boot Loader Specification entries (`/boot/loader/entries/*.conf`, RHEL 8+): `options`.
//! - The running kernel's `/proc/cmdline` on a live host.
//!
//! Kernel parameters are split as the kernel does (white space, double quotes group); `-`
//! and `_` are the same in names; for a parameter given twice the last one wins.

use super::origin::Origin;
use super::FactResult;
use crate::fs::Root;
use std::collections::HashMap;

pub const DEFAULT_GRUB: &str = "/etc/default/grub";
pub const DEFAULT_GRUB_D: &str = "/etc/default/grub.d";
pub const GRUB_CFGS: &[&str] = &[
    "/boot/grub/grub.cfg",
    "/boot/grub2/grub.cfg",
    "/boot/efi/EFI/*/grub.cfg",
];
pub const BLS_ENTRIES: &str = "/boot/loader/entries/*.conf";

/// A shell variable's value: known text, or unknown with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellValue {
    Known(String),
    Unknown(String),
}

/// Variables assigned by `/etc/default/grub` and `grub.d/*.cfg`.
#[derive(Debug, Clone, Default)]
pub struct DefaultGrub {
    pub vars: HashMap<String, (ShellValue, Origin)>,
    /// Lines that are not plain assignments (a shell would run them).
    pub not_understood: Vec<Origin>,
    pub files: Vec<String>,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// Expands one shell word (the text after `NAME=`). Returns the value and the unparsed rest
/// of the line.
fn shell_word<'a>(s: &'a str, vars: &DefaultGrub) -> (ShellValue, &'a str) {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut unknown: Option<String> = None;
    let mut i = 0;
    let mut dq = false;
    while i < b.len() {
        let c = b[i];
        if !dq && (c == b' ' || c == b'\t' || c == b';') {
            break;
        }
        match c {
            b'\'' if !dq => match s[i + 1..].find('\'') {
                Some(end) => {
                    out.push_str(&s[i + 1..i + 1 + end]);
                    i += end + 2;
                    continue;
                }
                None => {
                    return (ShellValue::Unknown("unterminated single quote".into()), "");
                }
            },
            b'"' => dq = !dq,
            b'\\' => {
                if let Some(&n) = b.get(i + 1) {
                    if !dq || matches!(n, b'$' | b'`' | b'"' | b'\\') {
                        out.push(n as char);
                    } else {
                        out.push('\\');
                        out.push(n as char);
                    }
                    i += 2;
                    continue;
                }
            }
            b'`' => {
                unknown.get_or_insert("a command substitution".into());
                match s[i + 1..].find('`') {
                    Some(end) => {
                        i += end + 2;
                        continue;
                    }
                    None => return (ShellValue::Unknown("unterminated backquote".into()), ""),
                }
            }
            b'$' => {
                let rest = &s[i + 1..];
                let (name, len, plain) = if let Some(r) = rest.strip_prefix('{') {
                    match r.find('}') {
                        Some(end) => (&r[..end], end + 2, is_name(&r[..end])),
                        None => ("", rest.len(), false),
                    }
                } else if rest.starts_with('(') {
                    unknown.get_or_insert("a command substitution".into());
                    let mut depth = 0usize;
                    let mut end = None;
                    for (k, ch) in rest.char_indices() {
                        match ch {
                            '(' => depth += 1,
                            ')' => {
                                depth -= 1;
                                if depth == 0 {
                                    end = Some(k);
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    match end {
                        Some(e) => {
                            i += e + 2;
                            continue;
                        }
                        None => {
                            return (ShellValue::Unknown("unterminated $(".into()), "");
                        }
                    }
                } else {
                    let n = rest
                        .bytes()
                        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                        .count();
                    (&rest[..n], n, n > 0)
                };
                if !plain {
                    unknown.get_or_insert(format!("the expansion ${{{name}}}"));
                } else if !name.is_empty() {
                    match vars.vars.get(name) {
                        Some((ShellValue::Known(v), _)) => out.push_str(v),
                        Some((ShellValue::Unknown(why), o)) => {
                            unknown.get_or_insert(format!("${name} from {o} ({why})"));
                        }
                        None => {}
                    }
                    i += 1 + len;
                    continue;
                } else if len == 0 {
                    out.push('$');
                }
                i += 1 + len;
                continue;
            }
            _ => out.push(c as char),
        }
        i += 1;
    }
    if dq {
        return (ShellValue::Unknown("unterminated double quote".into()), "");
    }
    let v = match unknown {
        Some(why) => ShellValue::Unknown(why),
        None => ShellValue::Known(out),
    };
    (v, &s[i.min(s.len())..])
}

/// Parses one sourced shell file into `into` (pure).
pub fn parse_default(text: &str, file: &str, into: &mut DefaultGrub) {
    let mut pending = String::new();
    let mut start = 0;
    for (i, raw) in text.split('\n').enumerate() {
        if pending.is_empty() {
            start = i + 1;
        }
        if let Some(head) = raw.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(raw);
        let line = std::mem::take(&mut pending);
        let mut rest = line.trim();
        let origin = Origin::new(file, start);
        loop {
            rest = rest.trim_start_matches([' ', '\t', ';']);
            if rest.is_empty() || rest.starts_with('#') {
                break;
            }
            let body = rest
                .strip_prefix("export ")
                .map(str::trim_start)
                .unwrap_or(rest);
            let Some(eq) = body.find('=') else {
                into.not_understood.push(origin.clone());
                break;
            };
            let name = &body[..eq];
            if !is_name(name) {
                into.not_understood.push(origin.clone());
                break;
            }
            let (value, after) = shell_word(&body[eq + 1..], into);
            into.vars.insert(name.to_string(), (value, origin.clone()));
            rest = after;
        }
    }
}

/// Splits a kernel command line into `(name, value)` pairs (names with `-` as `_`).
pub fn split_cmdline(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut q = false;
    let mut push = |cur: &mut String| {
        if cur.is_empty() {
            return;
        }
        let w = std::mem::take(cur);
        match w.split_once('=') {
            Some((n, v)) => out.push((n.replace('-', "_"), Some(v.to_string()))),
            None => out.push((w.replace('-', "_"), None)),
        }
    };
    for c in s.chars() {
        match c {
            '"' => q = !q,
            c if c.is_whitespace() && !q => push(&mut cur),
            c => cur.push(c),
        }
    }
    push(&mut cur);
    out
}

/// One `linux` line of a grub.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxLine {
    /// The enclosing menuentry title, if any.
    pub entry: Option<String>,
    pub params: String,
    pub origin: Origin,
}

/// What a grub.cfg says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrubCfg {
    pub file: String,
    /// `set superusers=` (last), split on spaces, commas, semicolons, pipes, ampersands.
    pub superusers: Option<(Vec<String>, Origin)>,
    /// `password_pbkdf2 USER HASH`: (user, hash looks like grub.pbkdf2.*, origin).
    pub pbkdf2: Vec<(String, bool, Origin)>,
    /// Plain-text `password USER ...` lines (the text is never kept).
    pub plain: Vec<(String, Origin)>,
    /// `${GRUB2_PASSWORD}` used as the password of a user (RHEL's user.cfg scheme).
    pub uses_user_cfg: Option<(String, Origin)>,
    pub linux: Vec<LinuxLine>,
    /// Menu entries seen.
    pub entries: usize,
    /// `configfile` lines: a stub that hands over to another grub.cfg (RHEL's EFI
    /// `/boot/efi/EFI/redhat/grub.cfg` loads `/boot/grub2/grub.cfg`).
    pub configfile: usize,
}

impl GrubCfg {
    /// Only chains to another configuration: nothing of its own to judge.
    pub fn is_stub(&self) -> bool {
        self.configfile > 0 && self.entries == 0 && self.linux.is_empty()
    }
}

/// Splits a grub script line into words (quotes and backslashes removed).
fn grub_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut chars = line.chars().peekable();
    let mut q: Option<char> = None;
    while let Some(c) = chars.next() {
        match (q, c) {
            (None, '#') if !any => break,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, '\'' | '"') => {
                q = Some(c);
                any = true;
            }
            (Some(x), c) if c == x => q = None,
            (Some('\''), c) => cur.push(c),
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                any = true;
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn expand_grub(word: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let r = &rest[p + 1..];
        let (name, len) = if let Some(x) = r.strip_prefix('{') {
            match x.find('}') {
                Some(e) => (&x[..e], e + 2),
                None => (x, r.len()),
            }
        } else {
            let n = r
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            (&r[..n], n)
        };
        if let Some(v) = vars.get(name) {
            out.push_str(v);
        }
        rest = &r[len..];
    }
    out.push_str(rest);
    out
}

/// Parses a grub.cfg (pure). `env` holds grubenv variables (`kernelopts`...).
pub fn parse_cfg(text: &str, file: &str, env: &HashMap<String, String>) -> GrubCfg {
    let mut cfg = GrubCfg {
        file: file.to_string(),
        ..Default::default()
    };
    let mut vars = env.clone();
    let mut entry: Vec<Option<String>> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let origin = Origin::new(file, i + 1);
        let w = grub_words(raw.trim());
        let Some(cmd) = w.first() else { continue };
        match cmd.as_str() {
            "set" => {
                if let Some((n, v)) = w.get(1).and_then(|a| a.split_once('=')) {
                    let v = expand_grub(v, &vars);
                    if n == "superusers" {
                        let users: Vec<String> = v
                            .split([' ', ',', ';', '|', '&'])
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect();
                        cfg.superusers = Some((users, origin.clone()));
                    }
                    vars.insert(n.to_string(), v);
                }
            }
            "password_pbkdf2" if w.len() >= 3 => {
                if w[2].contains("GRUB2_PASSWORD") {
                    cfg.uses_user_cfg = Some((w[1].clone(), origin));
                } else {
                    let hash = expand_grub(&w[2], &vars);
                    cfg.pbkdf2
                        .push((w[1].clone(), hash.starts_with("grub.pbkdf2."), origin));
                }
            }
            "password" if w.len() >= 3 => cfg.plain.push((w[1].clone(), origin)),
            "menuentry" | "submenu" => {
                cfg.entries += 1;
                entry.push(w.get(1).cloned());
            }
            "configfile" => cfg.configfile += 1,
            "}" => {
                entry.pop();
            }
            "linux" | "linux16" | "linuxefi" => {
                let params: Vec<String> = w[2.min(w.len())..]
                    .iter()
                    .map(|x| expand_grub(x, &vars))
                    .collect();
                cfg.linux.push(LinuxLine {
                    entry: entry.iter().rev().flatten().next().cloned(),
                    params: params.join(" "),
                    origin,
                });
            }
            _ => {
                if raw.trim_end().ends_with('}') && !raw.contains('{') {
                    entry.pop();
                }
            }
        }
        if raw.trim_end().ends_with('{') && !matches!(cmd.as_str(), "menuentry" | "submenu") {
            entry.push(None);
        }
    }
    cfg
}

/// `KEY=value` lines of grubenv or user.cfg (pure).
pub fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// A kernel command line and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmdline {
    /// For evidence: "grub.cfg entry `Debian GNU/Linux`", "/proc/cmdline"...
    pub what: String,
    pub file: String,
    pub line: Option<usize>,
    /// `Err`: cannot be known (the reason).
    pub params: Result<Vec<(String, Option<String>)>, CmdlineUnknown>,
}

/// Why a command line from /etc/default/grub cannot be known without running a shell.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdlineUnknown {
    /// The variable's value needs a shell (command substitution, an unset variable...).
    #[error("{name} at {at} cannot be evaluated without a shell: {why}")]
    ShellValue {
        name: String,
        at: Origin,
        why: String,
    },
    /// The value is empty but shell code this parser does not run may set it.
    #[error("shell code this parser does not run at {}", at.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", "))]
    ShellCode { at: Vec<Origin> },
}
crate::error_text::debug_as_display!(CmdlineUnknown);

/// Everything about the bootloader, collected once.
#[derive(Debug, Clone, Default)]
pub struct Boot {
    pub default: Option<DefaultGrub>,
    pub cfgs: Vec<GrubCfg>,
    /// `GRUB2_PASSWORD` of user.cfg next to each grub.cfg: (file, looks like pbkdf2).
    pub user_cfgs: Vec<(String, bool)>,
    pub cmdlines: Vec<Cmdline>,
}

impl DefaultGrub {
    fn known(&self, name: &str) -> Result<(String, Option<Origin>), CmdlineUnknown> {
        match self.vars.get(name) {
            None => Ok((String::new(), None)),
            Some((ShellValue::Known(v), o)) => Ok((v.clone(), Some(o.clone()))),
            Some((ShellValue::Unknown(why), o)) => Err(CmdlineUnknown::ShellValue {
                name: name.to_string(),
                at: o.clone(),
                why: why.clone(),
            }),
        }
    }

    /// Command lines of normal and recovery entries.
    pub fn cmdlines(&self) -> Vec<Cmdline> {
        let first = self.files.first().cloned().unwrap_or_default();
        let mut out = Vec::new();
        let lin = self.known("GRUB_CMDLINE_LINUX");
        let def = self.known("GRUB_CMDLINE_LINUX_DEFAULT");
        let line_of = |r: &Result<(String, Option<Origin>), CmdlineUnknown>| match r {
            Ok((_, Some(o))) => (o.file.clone(), Some(o.line)),
            _ => (first.clone(), None),
        };
        let blocked = if self.not_understood.is_empty() {
            None
        } else {
            Some(CmdlineUnknown::ShellCode {
                at: self.not_understood.clone(),
            })
        };
        let (f, l) = line_of(&lin);
        let mk =
            |what: &str, r: Result<String, CmdlineUnknown>, f: String, l: Option<usize>| Cmdline {
                what: what.to_string(),
                file: f,
                line: l,
                params: match (&blocked, r) {
                    (Some(b), Ok(s)) if split_cmdline(&s).is_empty() => Err(b.clone()),
                    (_, r) => r.map(|s| split_cmdline(&s)),
                },
            };
        let normal = match (&lin, &def) {
            (Ok((a, _)), Ok((b, _))) => Ok(format!("{a} {b}")),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        let (df, dl) = match &def {
            Ok((_, Some(o))) => (o.file.clone(), Some(o.line)),
            _ => (f.clone(), l),
        };
        out.push(mk(
            "GRUB_CMDLINE_LINUX + GRUB_CMDLINE_LINUX_DEFAULT (normal entries)",
            normal,
            if l.is_some() { f.clone() } else { df },
            l.or(dl),
        ));
        let recovery_off = matches!(
            self.vars.get("GRUB_DISABLE_RECOVERY"),
            Some((ShellValue::Known(v), _)) if v == "true"
        );
        if !recovery_off {
            out.push(mk(
                "GRUB_CMDLINE_LINUX (recovery entries)",
                lin.clone().map(|(s, _)| s),
                f,
                l,
            ));
        }
        out
    }
}

/// The value a command line gives `name` (last occurrence): `None` absent, `Some(None)`
/// present without a value.
pub fn param<'a>(params: &'a [(String, Option<String>)], name: &str) -> Option<Option<&'a str>> {
    let n = name.replace('-', "_");
    params
        .iter()
        .rev()
        .find(|(k, _)| *k == n)
        .map(|(_, v)| v.as_deref())
}

pub fn load(root: &Root) -> FactResult<Boot> {
    let mut budget = super::confdirs::Budget::default();
    let mut boot = Boot::default();
    // /etc/default/grub and grub.d
    let mut dg = DefaultGrub::default();
    let mut any = false;
    let mut paths = vec![DEFAULT_GRUB.to_string()];
    paths.extend(root.glob(&format!("{DEFAULT_GRUB_D}/*.cfg"))?);
    for p in paths {
        if let Some(f) = budget.read(root, &p)? {
            parse_default(&f.content, &f.path, &mut dg);
            dg.files.push(f.path);
            any = true;
        }
    }
    if any {
        boot.cmdlines.extend(dg.cmdlines());
        boot.default = Some(dg);
    }
    // grub.cfg files
    for pat in GRUB_CFGS {
        for p in root.glob(pat)? {
            let dir = p.rsplit_once('/').map(|x| x.0).unwrap_or("/");
            let env = match budget.read(root, &format!("{dir}/grubenv"))? {
                Some(f) => parse_env(&f.content),
                None => HashMap::new(),
            };
            let Some(f) = budget.read(root, &p)? else {
                continue;
            };
            let cfg = parse_cfg(&f.content, &f.path, &env);
            if cfg.uses_user_cfg.is_some() {
                let u = format!("{dir}/user.cfg");
                if let Some(uf) = budget.read(root, &u)? {
                    let ok = parse_env(&uf.content)
                        .get("GRUB2_PASSWORD")
                        .is_some_and(|v| v.starts_with("grub.pbkdf2."));
                    boot.user_cfgs.push((u, ok));
                }
            }
            for l in &cfg.linux {
                boot.cmdlines.push(Cmdline {
                    what: match &l.entry {
                        Some(e) => format!("grub.cfg entry `{e}`"),
                        None => "grub.cfg linux line".into(),
                    },
                    file: l.origin.file.clone(),
                    line: Some(l.origin.line),
                    params: Ok(split_cmdline(&l.params)),
                });
            }
            boot.cfgs.push(cfg);
        }
    }
    // BLS entries
    for p in root.glob(BLS_ENTRIES)? {
        let Some(f) = budget.read(root, &p)? else {
            continue;
        };
        let env: HashMap<String, String> = boot
            .cfgs
            .first()
            .map(|c| c.file.rsplit_once('/').map(|x| x.0).unwrap_or("/"))
            .and_then(|d| root.read_text(&format!("{d}/grubenv")).ok())
            .map(|t| parse_env(&t.content))
            .unwrap_or_default();
        for (i, l) in f.content.lines().enumerate() {
            if let Some(o) = l.trim().strip_prefix("options") {
                if o.starts_with([' ', '\t']) {
                    boot.cmdlines.push(Cmdline {
                        what: "boot loader entry options".into(),
                        file: p.clone(),
                        line: Some(i + 1),
                        params: Ok(split_cmdline(&expand_grub(o.trim(), &env))),
                    });
                }
            }
        }
    }
    // the running kernel
    if root.is_live() {
        match root.read_proc("/proc/cmdline") {
            Ok(b) => boot.cmdlines.push(Cmdline {
                what: "the running kernel".into(),
                file: "/proc/cmdline".into(),
                line: None,
                params: Ok(split_cmdline(&String::from_utf8_lossy(&b))),
            }),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dg(t: &str) -> DefaultGrub {
        let mut d = DefaultGrub::default();
        parse_default(t, DEFAULT_GRUB, &mut d);
        d.files.push(DEFAULT_GRUB.into());
        d
    }

    #[test]
    fn stock_debian_default_grub() {
        let d = dg(include_str!(
            "../../../tests/data/debian-stock/bookworm/etc/default/grub"
        ));
        assert!(d.not_understood.is_empty(), "{:?}", d.not_understood);
        assert!(matches!(
            d.vars["GRUB_DISTRIBUTOR"].0,
            ShellValue::Unknown(_)
        ));
        assert_eq!(
            d.vars["GRUB_CMDLINE_LINUX_DEFAULT"].0,
            ShellValue::Known("quiet".into())
        );
        let c = d.cmdlines();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0].params.as_ref().unwrap(),
            &[("quiet".to_string(), None)]
        );
        assert!(c[1].params.as_ref().unwrap().is_empty());
    }

    #[test]
    fn shell_semantics() {
        let mut d = dg("GRUB_CMDLINE_LINUX=\"audit=1\"\nexport X='a b'\n");
        parse_default(
            "GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX audit_backlog_limit=8192 \\\napparmor=1\"; Y=${X}z\nGRUB_DISABLE_RECOVERY=true\n",
            "/etc/default/grub.d/50-cis.cfg",
            &mut d,
        );
        let c = d.cmdlines();
        assert_eq!(c.len(), 1, "recovery disabled");
        let p = c[0].params.as_ref().unwrap();
        assert_eq!(param(p, "audit"), Some(Some("1")));
        assert_eq!(param(p, "audit-backlog-limit"), Some(Some("8192")));
        assert_eq!(param(p, "apparmor"), Some(Some("1")));
        assert_eq!(c[0].file, "/etc/default/grub.d/50-cis.cfg");
        assert_eq!(d.vars["Y"].0, ShellValue::Known("a bz".into()));
        let d = dg("GRUB_CMDLINE_LINUX=\"$(cat /x)\"\n");
        assert!(d.cmdlines()[0]
            .params
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("command substitution"));
        let d = dg("if true; then\nGRUB_CMDLINE_LINUX=audit=1\nfi\n");
        assert_eq!(d.not_understood.len(), 2);
        assert_eq!(
            param(d.cmdlines()[0].params.as_ref().unwrap(), "audit"),
            Some(Some("1"))
        );
        let d = dg("if x; then\nfi\n");
        assert!(
            d.cmdlines()[0].params.is_err(),
            "empty value plus shell code: unknown"
        );
    }

    #[test]
    fn grub_cfg_password_and_linux_lines() {
        let env = parse_env("# GRUB Environment Block\nkernelopts=root=/dev/sda1 ro audit=1\n");
        let c = parse_cfg(
            "set superusers=\"root\"\npassword_pbkdf2 root grub.pbkdf2.sha512.10000.AB.CD\n\
             menuentry 'Debian GNU/Linux' --class debian {\n  if [ x = y ]; then\n    insmod gzio\n  fi\n\
             \tlinux\t/vmlinuz-6.1.0 root=UUID=x ro quiet apparmor=1 security=apparmor\n}\n\
             submenu 'Advanced' {\n menuentry 'Debian (recovery mode)' {\n  linux /vmlinuz root=x ro single $kernelopts\n }\n}\n\
             password alice secret\n",
            "/boot/grub/grub.cfg",
            &env,
        );
        assert_eq!(c.superusers.as_ref().unwrap().0, ["root"]);
        assert!(c.pbkdf2[0].1);
        assert_eq!(c.plain.len(), 1);
        assert_eq!(c.linux.len(), 2);
        assert_eq!(c.linux[0].entry.as_deref(), Some("Debian GNU/Linux"));
        assert_eq!(c.linux[0].origin.line, 7);
        assert_eq!(c.linux[1].entry.as_deref(), Some("Debian (recovery mode)"));
        let p = split_cmdline(&c.linux[1].params);
        assert_eq!(param(&p, "audit"), Some(Some("1")));
        assert_eq!(param(&p, "single"), Some(None));
        let r = parse_cfg(
            "if [ -f ${config_directory}/user.cfg ]; then\n  source ${config_directory}/user.cfg\n  if [ -n \"${GRUB2_PASSWORD}\" ]; then\n    set superusers=\"root\"\n    export superusers\n    password_pbkdf2 root ${GRUB2_PASSWORD}\n  fi\nfi\n",
            "/boot/grub2/grub.cfg",
            &HashMap::new(),
        );
        assert_eq!(r.uses_user_cfg.as_ref().unwrap().0, "root");
        assert!(!r.is_stub());
        let stub = parse_cfg(
            "search --no-floppy --fs-uuid --set=dev 1234\nset prefix=($dev)/grub2\nexport $prefix\nconfigfile $prefix/grub.cfg\n",
            "/boot/efi/EFI/redhat/grub.cfg",
            &HashMap::new(),
        );
        assert!(stub.is_stub());
    }

    #[test]
    fn cmdline_split() {
        let p = split_cmdline(
            "BOOT_IMAGE=/vmlinuz root=/dev/x ro dyndbg=\"file a.c +p\" audit=0 audit=1\n",
        );
        assert_eq!(param(&p, "audit"), Some(Some("1")));
        assert_eq!(param(&p, "dyndbg"), Some(Some("file a.c +p")));
        assert_eq!(param(&p, "ro"), Some(None));
        assert_eq!(param(&p, "quiet"), None);
    }
}
