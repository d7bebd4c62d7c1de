//! PAM service configuration (`/etc/pam.d/NAME`, pam.d(5)) with includes expanded, and the
//! password and lockout policy read from it ([`policy`]).
//!
//! Line syntax as Linux-PAM reads it: `[-]type control module-path [args...]`; `#` starts a
//! comment anywhere on a line; a trailing `\` joins the next line; a control may be a keyword
//! or a bracketed `[value=action ...]` list; an argument in `[...]` may contain spaces (with
//! `\]` for a literal bracket). Types and keyword controls are case-insensitive. Includes:
//! Debian's `@include NAME` (every line of `/etc/pam.d/NAME`) and the `include` / `substack`
//! controls (only the lines of the same type).

pub mod history;
pub mod policy;

pub use crate::facts::origin::Origin;
use crate::fs::Root;

/// The directory of service files.
pub const PAM_DIR: &str = "/etc/pam.d";
/// Nested includes followed before giving up.
pub const MAX_INCLUDE_DEPTH: usize = 32;
/// Service files expanded at most for one stack, counting each inclusion (sshd's 2048
/// included files are the model): a chain of files each including the next twice would
/// otherwise expand 2^N times.
pub const MAX_EXPANDED_FILES: usize = 2048;
/// Lines one expanded stack may hold (real stacks hold tens).
pub const MAX_EXPANDED_LINES: usize = 65_536;

/// Services holding the shared "auth" lines on Debian/Ubuntu and on RHEL/Fedora/Amazon Linux;
/// pass to [`platform_stack`].
pub const AUTH_SERVICES: &[&str] = &["common-auth", "system-auth", "password-auth"];
/// Services holding the shared "password" lines.
pub const PASSWORD_SERVICES: &[&str] = &["common-password", "system-auth", "password-auth"];

/// A PAM error naming the file and line.
pub type PamError = crate::facts::origin::LineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PamType {
    Auth,
    Account,
    Password,
    Session,
}

impl PamType {
    fn parse(s: &str) -> Option<PamType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "auth" => PamType::Auth,
            "account" => PamType::Account,
            "password" => PamType::Password,
            "session" => PamType::Session,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Required,
    Requisite,
    Sufficient,
    Optional,
    /// `[value=action ...]`, pairs as written (lower-cased).
    Complex(Vec<(String, String)>),
}

impl Control {
    /// Whether a failure of the module fails the stack (required, requisite, or a bracket list
    /// whose `default` is `bad` or `die`).
    pub fn is_mandatory(&self) -> bool {
        match self {
            Control::Required | Control::Requisite => true,
            Control::Complex(pairs) => pairs
                .iter()
                .any(|(k, v)| k == "default" && (v == "bad" || v == "die")),
            _ => false,
        }
    }
}

/// One line of a service file as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PamLine {
    Rule(PamEntry),
    /// `include` / `substack` control: the lines of type `ptype` from another service.
    Include {
        ptype: PamType,
        service: String,
        substack: bool,
        origin: Origin,
    },
    /// Debian's `@include NAME`.
    AtInclude {
        service: String,
        origin: Origin,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamEntry {
    pub ptype: PamType,
    /// `-type`: the line is skipped silently when the module is missing.
    pub optional_module: bool,
    pub control: Control,
    /// As written (`pam_unix.so` or `/lib/security/pam_unix.so`).
    pub module: String,
    pub args: Vec<String>,
    pub origin: Origin,
    /// The include directives that brought this line into the stack, outermost first.
    pub via: Vec<Origin>,
}

impl PamEntry {
    /// The module's file name (`pam_unix.so`).
    pub fn module_name(&self) -> &str {
        self.module.rsplit('/').next().unwrap_or(&self.module)
    }

    /// Value of `key=value` (the last one when repeated); `Some("")` for a bare `key=`.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .rev()
            .find_map(|a| a.split_once('=').filter(|(k, _)| *k == key).map(|(_, v)| v))
    }

    /// Whether a bare flag (`nullok`, `use_uid`) is present.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.args.iter().any(|a| a == flag)
    }

    /// Arguments as (key, value) pairs; flags have `None`.
    pub fn args_kv(&self) -> Vec<(&str, Option<&str>)> {
        self.args
            .iter()
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (a.as_str(), None),
            })
            .collect()
    }
}

fn err(file: &str, line: usize, message: impl Into<String>) -> PamError {
    PamError {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

/// Splits a logical line into fields, honouring `[...]` groups (with `\]` escapes).
fn fields(line: &str, file: &str, lineno: usize) -> Result<Vec<String>, PamError> {
    let mut out = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let mut f = String::new();
        if chars[i] == '[' {
            i += 1;
            let mut closed = false;
            while i < chars.len() {
                if chars[i] == '\\' && chars.get(i + 1) == Some(&']') {
                    f.push(']');
                    i += 2;
                } else if chars[i] == ']' {
                    closed = true;
                    i += 1;
                    break;
                } else {
                    f.push(chars[i]);
                    i += 1;
                }
            }
            if !closed {
                return Err(err(file, lineno, "unterminated '[' (expected ']')"));
            }
            f = format!("[{f}]");
            // `[a b]c` continues the same field
            while i < chars.len() && !chars[i].is_whitespace() {
                f.push(chars[i]);
                i += 1;
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                f.push(chars[i]);
                i += 1;
            }
        }
        out.push(f);
    }
    Ok(out)
}

fn parse_control(s: &str, file: &str, line: usize) -> Result<Option<Control>, PamError> {
    if let Some(inner) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        let mut pairs = Vec::new();
        for tok in inner.split_whitespace() {
            let Some((k, v)) = tok.split_once('=') else {
                return Err(err(
                    file,
                    line,
                    format!("expected value=action in control, got \"{tok}\""),
                ));
            };
            pairs.push((k.to_ascii_lowercase(), v.to_ascii_lowercase()));
        }
        return Ok(Some(Control::Complex(pairs)));
    }
    Ok(Some(match s.to_ascii_lowercase().as_str() {
        "required" => Control::Required,
        "requisite" => Control::Requisite,
        "sufficient" => Control::Sufficient,
        "optional" => Control::Optional,
        "include" | "substack" => return Ok(None),
        _ => {
            return Err(err(
                file,
                line,
                format!("unknown control \"{s}\" (expected required, requisite, sufficient, optional, include, substack or [...])"),
            ))
        }
    }))
}

/// Parses one service file (pure). `file` names it in origins and errors.
pub fn parse_service(text: &str, file: &str) -> Result<Vec<PamLine>, PamError> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start = 0usize;
    for (idx, raw) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        if raw.contains('\0') {
            return Err(err(file, lineno, "NUL byte in PAM configuration"));
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let no_comment = match raw.find('#') {
            Some(p) => &raw[..p],
            None => raw,
        };
        if pending.is_empty() {
            start = lineno;
        }
        // A backslash at the end of the line (before any comment) continues it.
        if let Some(body) = no_comment
            .trim_end()
            .strip_suffix('\\')
            .filter(|_| raw.find('#').is_none())
        {
            pending.push_str(body);
            pending.push(' ');
            continue;
        }
        pending.push_str(no_comment);
        let logical = std::mem::take(&mut pending);
        let f = fields(&logical, file, start)?;
        if f.is_empty() {
            continue;
        }
        let origin = Origin::new(file, start);
        if f[0] == "@include" {
            if f.len() != 2 {
                return Err(err(file, start, "expected \"@include SERVICE\""));
            }
            out.push(PamLine::AtInclude {
                service: f[1].clone(),
                origin,
            });
            continue;
        }
        let (optional_module, tname) = match f[0].strip_prefix('-') {
            Some(t) => (true, t),
            None => (false, f[0].as_str()),
        };
        let Some(ptype) = PamType::parse(tname) else {
            return Err(err(
                file,
                start,
                format!(
                    "unknown type \"{}\" (expected auth, account, password or session)",
                    f[0]
                ),
            ));
        };
        if f.len() < 3 {
            return Err(err(
                file,
                start,
                "expected \"type control module [arguments]\"",
            ));
        }
        match parse_control(&f[1], file, start)? {
            None => out.push(PamLine::Include {
                ptype,
                service: f[2].clone(),
                substack: f[1].eq_ignore_ascii_case("substack"),
                origin,
            }),
            Some(control) => out.push(PamLine::Rule(PamEntry {
                ptype,
                optional_module,
                control,
                module: f[2].clone(),
                args: f[3..].to_vec(),
                origin,
                via: Vec::new(),
            })),
        }
    }
    if !pending.is_empty() {
        let f = fields(&pending, file, start)?;
        if !f.is_empty() {
            return Err(err(file, start, "line continuation at end of file"));
        }
    }
    Ok(out)
}

/// A service's lines with every include expanded, in evaluation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PamStack {
    pub service: String,
    pub entries: Vec<PamEntry>,
    /// Every service file read.
    pub files: Vec<String>,
}

impl PamStack {
    /// Entries whose module file name is `name` (`pam_unix.so`).
    pub fn modules(&self, name: &str) -> Vec<&PamEntry> {
        self.entries
            .iter()
            .filter(|e| e.module_name() == name)
            .collect()
    }

    pub fn of_type(&self, t: PamType) -> Vec<&PamEntry> {
        self.entries.iter().filter(|e| e.ptype == t).collect()
    }

    /// auth and password lines carrying `nullok` (or Debian's older `nullok_secure`).
    pub fn nullok(&self) -> Vec<&PamEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.ptype, PamType::Auth | PamType::Password))
            .filter(|e| e.has_flag("nullok") || e.has_flag("nullok_secure"))
            .collect()
    }
}

fn service_path(service: &str) -> String {
    if service.starts_with('/') {
        service.to_string()
    } else {
        format!("{PAM_DIR}/{service}")
    }
}

struct StackLoader<'a> {
    root: &'a Root,
    stack: Vec<String>,
    out: PamStack,
    /// Every service file read, parsed once (memory linear in the input).
    parsed: std::collections::HashMap<String, std::sync::Arc<Vec<PamLine>>>,
    /// Files expanded so far (each inclusion counts).
    expanded: usize,
}

impl StackLoader<'_> {
    fn service(
        &mut self,
        path: &str,
        only: Option<PamType>,
        via: &[Origin],
        from: Option<&Origin>,
    ) -> Result<(), PamError> {
        let here = |m: String| match from {
            Some(o) => err(&o.file, o.line, m),
            None => err(path, 0, m),
        };
        if self.stack.iter().any(|p| p == path) {
            let mut chain = self.stack.clone();
            chain.push(path.to_string());
            return Err(here(format!("include loop: {}", chain.join(" -> "))));
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(here(format!("{path}: too many levels of includes")));
        }
        self.expanded += 1;
        if self.expanded > MAX_EXPANDED_FILES {
            return Err(here(format!(
                "include fan-out: more than {MAX_EXPANDED_FILES} files expanded in one stack ({path} included again)"
            )));
        }
        let lines = match self.parsed.get(path) {
            Some(l) => l.clone(),
            None => {
                let text = self.root.read_text(path).map_err(|e| here(e.to_string()))?;
                let l = std::sync::Arc::new(parse_service(&text.content, path)?);
                self.parsed.insert(path.to_string(), l.clone());
                self.out.files.push(path.to_string());
                l
            }
        };
        self.stack.push(path.to_string());
        for l in lines.iter().cloned() {
            match l {
                PamLine::Rule(mut e) => {
                    if only.is_none_or(|t| t == e.ptype) {
                        if self.out.entries.len() >= MAX_EXPANDED_LINES {
                            return Err(here(format!(
                                "include fan-out: more than {MAX_EXPANDED_LINES} lines in one stack"
                            )));
                        }
                        e.via = via.to_vec();
                        self.out.entries.push(e);
                    }
                }
                PamLine::Include {
                    ptype,
                    service,
                    origin,
                    ..
                } => {
                    if only.is_none_or(|t| t == ptype) {
                        let mut v = via.to_vec();
                        v.push(origin.clone());
                        self.service(&service_path(&service), Some(ptype), &v, Some(&origin))?;
                    }
                }
                PamLine::AtInclude { service, origin } => {
                    let mut v = via.to_vec();
                    v.push(origin.clone());
                    self.service(&service_path(&service), only, &v, Some(&origin))?;
                }
            }
        }
        self.stack.pop();
        Ok(())
    }
}

/// Loads `/etc/pam.d/SERVICE` with includes expanded.
pub fn load_stack(root: &Root, service: &str) -> Result<PamStack, PamError> {
    let mut l = StackLoader {
        root,
        parsed: std::collections::HashMap::new(),
        expanded: 0,
        stack: Vec::new(),
        out: PamStack {
            service: service.to_string(),
            ..PamStack::default()
        },
    };
    l.service(&service_path(service), None, &[], None)?;
    Ok(l.out)
}

/// The lines of type `ptype` from whichever of `candidates` exist under `/etc/pam.d` (e.g.
/// [`PASSWORD_SERVICES`]: `common-password` on Debian, `system-auth` and `password-auth` on
/// RHEL), includes expanded. `Ok(None)` when none exists.
pub fn platform_stack(
    root: &Root,
    candidates: &[&str],
    ptype: PamType,
) -> Result<Option<PamStack>, PamError> {
    let mut found = false;
    let mut out = PamStack {
        service: candidates.join(","),
        ..PamStack::default()
    };
    for c in candidates {
        if !root.exists(&service_path(c)) {
            continue;
        }
        found = true;
        let s = load_stack(root, c)?;
        out.entries
            .extend(s.entries.into_iter().filter(|e| e.ptype == ptype));
        for f in s.files {
            if !out.files.contains(&f) {
                out.files.push(f);
            }
        }
    }
    Ok(found.then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<PamEntry> {
        parse_service(text, "/etc/pam.d/x")
            .unwrap()
            .into_iter()
            .filter_map(|l| match l {
                PamLine::Rule(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn line_syntax_table() {
        let cases: &[(&str, usize, &str, &[&str])] = &[
            (
                "auth required pam_unix.so nullok",
                1,
                "pam_unix.so",
                &["nullok"],
            ),
            (
                "AUTH Required /lib/security/pam_unix.so",
                1,
                "pam_unix.so",
                &[],
            ),
            ("-session optional pam_systemd.so", 1, "pam_systemd.so", &[]),
            (
                "auth [success=1 default=ignore] pam_unix.so nullok # trailing",
                1,
                "pam_unix.so",
                &["nullok"],
            ),
            (
                "password requisite pam_pwquality.so \\\n  retry=3 minlen=12",
                1,
                "pam_pwquality.so",
                &["retry=3", "minlen=12"],
            ),
            (
                "auth required pam_succeed_if.so [user ingroup a\\]b]",
                1,
                "pam_succeed_if.so",
                &["[user ingroup a]b]"],
            ),
            ("auth required pam_unix.so\r\n", 1, "pam_unix.so", &[]),
            ("# only a comment\n\n   \n", 0, "", &[]),
            ("auth required pam_deny.so", 1, "pam_deny.so", &[]),
        ];
        for (text, n, module, args) in cases {
            let r = rules(text);
            assert_eq!(r.len(), *n, "{text:?}");
            if *n == 1 {
                assert_eq!(r[0].module_name(), *module, "{text:?}");
                assert_eq!(r[0].args, *args, "{text:?}");
            }
        }
        let r = rules("-session optional pam_systemd.so");
        assert!(r[0].optional_module);
        let r = rules("auth [success=1 default=ignore] pam_unix.so");
        assert_eq!(
            r[0].control,
            Control::Complex(vec![
                ("success".into(), "1".into()),
                ("default".into(), "ignore".into())
            ])
        );
        let r = rules("\n\nauth required pam_unix.so");
        assert_eq!(r[0].origin.line, 3);
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line) in [
            ("auth required pam_unix.so\nbogus required pam_unix.so\n", 2),
            ("\nauth required\n", 2),
            ("auth [success=1 default=ignore pam_unix.so\n", 1),
            ("auth sometimes pam_unix.so\n", 1),
            ("auth [success] pam_unix.so\n", 1),
            ("@include\n", 1),
            ("auth required pam_unix.so\0\n", 1),
            ("auth required \\", 1),
        ] {
            let e = parse_service(text, "/etc/pam.d/x").unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
        }
    }

    #[test]
    fn hostile_input() {
        let huge = format!("auth required pam_unix.so {}\n", "a".repeat(1 << 20));
        assert_eq!(rules(&huge)[0].args[0].len(), 1 << 20);
        let no_eol = "auth required pam_unix.so";
        assert_eq!(rules(no_eol).len(), 1);
        for s in [
            "[",
            "]",
            "\\",
            "-",
            "@include a b",
            "auth [",
            "\u{feff}auth required x",
        ] {
            let _ = parse_service(s, "f");
        }
    }

    fn tree(files: &[(&str, &str)]) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let full = t.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, c).unwrap();
        }
        let r = Root::new(t.path()).unwrap();
        (t, r)
    }

    #[test]
    fn includes_expand_with_origins() {
        let (_t, r) = tree(&[
            (
                "/etc/pam.d/sshd",
                "@include common-auth\naccount include system-account\nsession required pam_limits.so\n",
            ),
            (
                "/etc/pam.d/common-auth",
                "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n",
            ),
            (
                "/etc/pam.d/system-account",
                "account required pam_unix.so\nauth required pam_env.so\n",
            ),
        ]);
        let s = load_stack(&r, "sshd").unwrap();
        let mods: Vec<&str> = s.entries.iter().map(|e| e.module_name()).collect();
        assert_eq!(
            mods,
            ["pam_unix.so", "pam_deny.so", "pam_unix.so", "pam_limits.so"]
        );
        assert_eq!(s.entries[0].via, vec![Origin::new("/etc/pam.d/sshd", 1)]);
        assert_eq!(
            s.entries[2].origin,
            Origin::new("/etc/pam.d/system-account", 1)
        );
        assert_eq!(s.nullok().len(), 1);
        assert_eq!(s.files.len(), 3);
    }

    #[test]
    fn include_loop_and_missing_include_are_errors() {
        let (_t, r) = tree(&[
            ("/etc/pam.d/a", "@include b\n"),
            ("/etc/pam.d/b", "\nauth include a\n"),
        ]);
        let e = load_stack(&r, "a").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("/etc/pam.d/b", 2), "{e}");
        assert!(e.message.contains("loop"));
        let (_t, r) = tree(&[("/etc/pam.d/a", "auth substack nope\n")]);
        let e = load_stack(&r, "a").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("/etc/pam.d/a", 1), "{e}");
    }

    #[test]
    fn platform_stacks() {
        let (_t, r) = tree(&[
            (
                "/etc/pam.d/system-auth",
                "auth required pam_env.so\npassword sufficient pam_unix.so sha512\n",
            ),
            (
                "/etc/pam.d/password-auth",
                "password requisite pam_pwquality.so\n",
            ),
        ]);
        let p = platform_stack(&r, PASSWORD_SERVICES, PamType::Password)
            .unwrap()
            .unwrap();
        let mods: Vec<&str> = p.entries.iter().map(|e| e.module_name()).collect();
        assert_eq!(mods, ["pam_unix.so", "pam_pwquality.so"]);
        assert!(platform_stack(&r, &["common-auth"], PamType::Auth)
            .unwrap()
            .is_none());
    }

    /// Regression (issue 12, defect 5): each file including the next twice expanded 2^N
    /// times (19 files: 10 s and 375 MB). Now an ERROR naming the bound, fast.
    #[test]
    fn defect5_include_fan_out_is_bounded() {
        for n in [19usize, 26] {
            let t = tempfile::tempdir().unwrap();
            let d = t.path().join("etc/pam.d");
            std::fs::create_dir_all(&d).unwrap();
            for i in 0..n {
                let body = if i + 1 < n {
                    format!(
                        "auth required pam_env.so\n@include s{}\nauth include s{}\n",
                        i + 1,
                        i + 1
                    )
                } else {
                    "auth required pam_unix.so\n".to_string()
                };
                std::fs::write(d.join(format!("s{i}")), body).unwrap();
            }
            let r = Root::new(t.path()).unwrap();
            let start = std::time::Instant::now();
            let e = load_stack(&r, "s0").unwrap_err();
            assert!(e.message.contains("fan-out"), "{e}");
            assert!(start.elapsed() < std::time::Duration::from_secs(5));
        }
        // a file included twice is still fine
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("etc/pam.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a"), "@include b\n@include b\n").unwrap();
        std::fs::write(d.join("b"), "auth required pam_unix.so\n").unwrap();
        let r = Root::new(t.path()).unwrap();
        let s = load_stack(&r, "a").unwrap();
        assert_eq!(s.entries.len(), 2);
        assert_eq!(s.files, ["/etc/pam.d/a", "/etc/pam.d/b"]);
    }
}
