//! The sudoers grammar (sudoers(5) "SUDOERS FILE FORMAT") as a recursive-descent parser over
//! [`super::lex`] tokens. Pure: text and a file name in, items out.

use super::lex::{DefKind, Lexer, OptKw, Tok, Token};
use super::*;

/// One top-level entry of a sudoers file, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `@include` / `#include` (dir = false) or `@includedir` / `#includedir` (dir = true). The
    /// path is as written (after unquoting), not yet resolved against the including file.
    Include {
        path: String,
        dir: bool,
        origin: Origin,
    },
    Alias(Alias),
    Defaults(Vec<DefaultsEntry>),
    UserSpec(UserSpec),
}

struct Parser<'a> {
    lex: Lexer<'a>,
    buf: Vec<Token>,
    file: &'a str,
    last_line: usize,
}

type PResult<T> = Result<T, SudoersError>;

impl<'a> Parser<'a> {
    fn fill(&mut self, n: usize) {
        while self.buf.len() <= n {
            let t = self.lex.next_token();
            self.buf.push(t);
        }
    }

    fn peek(&mut self) -> &Tok {
        self.peek_n(0)
    }

    fn peek_n(&mut self, n: usize) -> &Tok {
        self.fill(n);
        &self.buf[n].tok
    }

    fn next(&mut self) -> Token {
        self.fill(0);
        let t = self.buf.remove(0);
        self.last_line = t.line;
        t
    }

    fn err_at(&self, line: usize, msg: impl Into<String>) -> SudoersError {
        SudoersError {
            file: self.file.to_string(),
            line,
            message: msg.into(),
        }
    }

    fn origin(&self, line: usize) -> Origin {
        Origin::new(self.file, line)
    }

    /// A syntax error at the next token (or the lexer's own message for an error token).
    fn unexpected(&mut self, expected: &str) -> SudoersError {
        let t = self.next();
        match t.tok {
            Tok::Error(m) => self.err_at(t.line, m),
            Tok::Eof => self.err_at(
                t.line,
                format!("syntax error: unexpected end of file, expected {expected}"),
            ),
            Tok::Eol => self.err_at(
                t.line,
                format!("syntax error: unexpected end of line, expected {expected}"),
            ),
            other => self.err_at(
                t.line,
                format!(
                    "syntax error: unexpected {}, expected {expected}",
                    describe(&other)
                ),
            ),
        }
    }

    fn expect(&mut self, want: Tok, expected: &str) -> PResult<Token> {
        if *self.peek() == want {
            Ok(self.next())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn eol(&mut self) -> PResult<()> {
        match self.peek() {
            Tok::Eol => {
                self.next();
                Ok(())
            }
            Tok::Eof => Ok(()),
            _ => Err(self.unexpected("end of line")),
        }
    }

    fn bang(&mut self) -> bool {
        if *self.peek() == Tok::Bang {
            self.next();
            true
        } else {
            false
        }
    }

    fn user(&mut self) -> PResult<Member<Principal>> {
        let negated = self.bang();
        let value = match self.peek().clone() {
            Tok::Alias(a) => Principal::Alias(a),
            Tok::All => Principal::All,
            Tok::Netgroup(n) => Principal::Netgroup(n[1..].to_string()),
            Tok::UserGroup(g) => Principal::from_group_token(&g),
            Tok::Word(w) => Principal::from_user_word(&w),
            _ => return Err(self.unexpected("a user, %group, +netgroup, alias or ALL")),
        };
        self.next();
        Ok(Member { negated, value })
    }

    fn userlist(&mut self) -> PResult<Vec<Member<Principal>>> {
        let mut v = vec![self.user()?];
        while *self.peek() == Tok::Comma {
            self.next();
            v.push(self.user()?);
        }
        Ok(v)
    }

    fn group(&mut self) -> PResult<Member<Principal>> {
        let negated = self.bang();
        let value = match self.peek().clone() {
            Tok::Alias(a) => Principal::Alias(a),
            Tok::All => Principal::All,
            Tok::Word(w) => match w.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
                Some(id) => Principal::Gid(id),
                None => Principal::Group(w),
            },
            _ => return Err(self.unexpected("a group name, alias or ALL")),
        };
        self.next();
        Ok(Member { negated, value })
    }

    fn grouplist(&mut self) -> PResult<Vec<Member<Principal>>> {
        let mut v = vec![self.group()?];
        while *self.peek() == Tok::Comma {
            self.next();
            v.push(self.group()?);
        }
        Ok(v)
    }

    fn host(&mut self) -> PResult<Member<Host>> {
        let negated = self.bang();
        let value = match self.peek().clone() {
            Tok::Alias(a) => Host::Alias(a),
            Tok::All => Host::All,
            Tok::Netgroup(n) => Host::Netgroup(n[1..].to_string()),
            Tok::NtwkAddr(a) => Host::Network(a),
            Tok::Word(w) => Host::Name(w),
            _ => return Err(self.unexpected("a host, network, +netgroup, alias or ALL")),
        };
        self.next();
        Ok(Member { negated, value })
    }

    fn hostlist(&mut self) -> PResult<Vec<Member<Host>>> {
        let mut v = vec![self.host()?];
        while *self.peek() == Tok::Comma {
            self.next();
            v.push(self.host()?);
        }
        Ok(v)
    }

    fn digest(&mut self) -> PResult<Digest> {
        let t = self.next();
        let Tok::DigestKw(algo) = t.tok else {
            return Err(self.err_at(t.line, "syntax error: expected a digest"));
        };
        self.expect(Tok::Colon, "':' after the digest type")?;
        match self.peek().clone() {
            Tok::Digest(value) => {
                self.next();
                Ok(Digest { algo, value })
            }
            _ => Err(self.unexpected(&format!("a {} digest", algo.name()))),
        }
    }

    /// `Digest_List? '!'* command`
    fn digcmnd(&mut self) -> PResult<CmndMember> {
        let mut digests = Vec::new();
        if matches!(self.peek(), Tok::DigestKw(_)) {
            digests.push(self.digest()?);
            while *self.peek() == Tok::Comma && matches!(self.peek_n(1), Tok::DigestKw(_)) {
                self.next();
                digests.push(self.digest()?);
            }
        }
        let negated = self.bang();
        let line = self.buf.first().map(|t| t.line).unwrap_or(self.last_line);
        let cmnd = match self.peek().clone() {
            Tok::All => Cmnd::All,
            Tok::Alias(a) => Cmnd::Alias(a),
            Tok::Command { cmnd, args } => {
                if cmnd == "sudoedit" {
                    Cmnd::Sudoedit { args }
                } else {
                    Cmnd::Command { path: cmnd, args }
                }
            }
            Tok::Word(w) if w == "list" => Cmnd::List,
            Tok::Word(_) => {
                self.next();
                return Err(self.err_at(line, "expected a fully-qualified path name"));
            }
            _ => return Err(self.unexpected("a command, alias or ALL")),
        };
        self.next();
        // sudo allows digests before ALL and anything it stores as a command (paths,
        // directories, sudoedit, list), not before an alias.
        if !digests.is_empty() && matches!(cmnd, Cmnd::Alias(_)) {
            return Err(self.err_at(line, "a digest requires a path name"));
        }
        Ok(CmndMember {
            negated,
            digests,
            cmnd,
        })
    }

    fn cmndlist(&mut self) -> PResult<Vec<CmndMember>> {
        let mut v = vec![self.digcmnd()?];
        while *self.peek() == Tok::Comma {
            self.next();
            v.push(self.digcmnd()?);
        }
        Ok(v)
    }

    fn runas(&mut self) -> PResult<Option<Runas>> {
        if *self.peek() != Tok::LParen {
            return Ok(None);
        }
        self.next();
        let mut r = Runas::default();
        if !matches!(self.peek(), Tok::Colon | Tok::RParen) {
            r.users = Some(self.userlist()?);
        }
        if *self.peek() == Tok::Colon {
            self.next();
            if *self.peek() != Tok::RParen {
                r.groups = Some(self.grouplist()?);
            }
        }
        self.expect(Tok::RParen, "')'")?;
        Ok(Some(r))
    }

    fn options(&mut self, o: &mut CmndOptions) -> PResult<()> {
        while let Tok::Opt(kw) = *self.peek() {
            let t = self.next();
            self.expect(Tok::Eq, "'='")?;
            let v = match self.peek().clone() {
                Tok::Word(w) => {
                    self.next();
                    w
                }
                _ => return Err(self.unexpected("a value")),
            };
            let line = t.line;
            match kw {
                OptKw::Timeout => {
                    let secs = defaults::parse_timeout(&v).map_err(|e| self.err_at(line, e))?;
                    o.timeout = Some(secs);
                }
                OptKw::NotBefore | OptKw::NotAfter => {
                    let before = kw == OptKw::NotBefore;
                    if !defaults::valid_gentime(&v) {
                        return Err(self.err_at(
                            line,
                            if before {
                                "invalid notbefore value"
                            } else {
                                "invalid notafter value"
                            },
                        ));
                    }
                    if before {
                        o.notbefore = Some(v);
                    } else {
                        o.notafter = Some(v);
                    }
                }
                OptKw::Cwd | OptKw::Chroot => {
                    let name = if kw == OptKw::Cwd { "CWD" } else { "CHROOT" };
                    if !(v.starts_with('/') || v.starts_with('~') || v == "*") {
                        return Err(self.err_at(
                            line,
                            format!("values for \"{name}\" must start with a '/', '~', or '*'"),
                        ));
                    }
                    if kw == OptKw::Cwd {
                        o.cwd = Some(v);
                    } else {
                        o.chroot = Some(v);
                    }
                }
                OptKw::Role => o.role = Some(v),
                OptKw::Type => o.selinux_type = Some(v),
            }
        }
        Ok(())
    }

    fn cmndspec(&mut self) -> PResult<CmndSpec> {
        let line = self.buf.first().map(|t| t.line).unwrap_or(self.last_line);
        let runas = self.runas()?;
        let mut options = CmndOptions::default();
        self.options(&mut options)?;
        let mut tags = Tags::default();
        while let Tok::Tag(t) = *self.peek() {
            self.next();
            tags.set(t);
        }
        let cmnd = self.digcmnd()?;
        Ok(CmndSpec {
            runas,
            options,
            tags,
            cmnd,
            origin: self.origin(line),
        })
    }

    /// `Cmnd_Spec (',' Cmnd_Spec)*`, with runas, options and tags carried over from one
    /// command to the next as sudo does.
    fn cmndspeclist(&mut self) -> PResult<Vec<CmndSpec>> {
        let mut v: Vec<CmndSpec> = Vec::new();
        loop {
            let mut cs = self.cmndspec()?;
            if let Some(prev) = v.last() {
                inherit(&mut cs, prev);
            }
            if matches!(cs.cmnd.cmnd, Cmnd::All) && !cs.cmnd.negated && cs.tags.setenv.is_none() {
                cs.tags.setenv = Some(true);
                cs.tags.setenv_implied = true;
            }
            v.push(cs);
            if *self.peek() != Tok::Comma {
                break;
            }
            self.next();
        }
        Ok(v)
    }

    fn defaults_list(&mut self, scope: &DefaultsScope) -> PResult<Vec<DefaultsEntry>> {
        let mut out = Vec::new();
        loop {
            let negated = self.bang();
            let t = self.next();
            let Tok::DefVar(name) = t.tok else {
                let msg = match t.tok {
                    Tok::Error(m) => m,
                    _ => "syntax error: expected a Defaults parameter".into(),
                };
                return Err(self.err_at(t.line, msg));
            };
            let line = t.line;
            let op = if negated {
                DefaultsOp::Flag(false)
            } else {
                match self.peek() {
                    Tok::Eq | Tok::PlusEq | Tok::MinusEq => {
                        let o = self.next().tok;
                        let v = match self.peek().clone() {
                            Tok::Word(w) => {
                                self.next();
                                w
                            }
                            _ => return Err(self.unexpected("a value")),
                        };
                        match o {
                            Tok::Eq => DefaultsOp::Set(v),
                            Tok::PlusEq => DefaultsOp::Add(v),
                            _ => DefaultsOp::Remove(v),
                        }
                    }
                    _ => DefaultsOp::Flag(true),
                }
            };
            defaults::validate(&name, &op).map_err(|e| self.err_at(line, e.to_string()))?;
            out.push(DefaultsEntry {
                scope: scope.clone(),
                name,
                op,
                origin: self.origin(line),
            });
            if *self.peek() != Tok::Comma {
                break;
            }
            self.next();
        }
        Ok(out)
    }

    fn alias_defs(&mut self, kind: AliasKind, out: &mut Vec<Item>) -> PResult<()> {
        loop {
            let t = self.next();
            let name = match t.tok {
                Tok::Alias(n) => n,
                Tok::All => {
                    return Err(self.err_at(
                        t.line,
                        "syntax error, reserved word ALL used as an alias name",
                    ))
                }
                Tok::Error(m) => return Err(self.err_at(t.line, m)),
                _ => return Err(self.err_at(t.line, "syntax error: expected an alias name")),
            };
            self.expect(Tok::Eq, "'='")?;
            let members = match kind {
                AliasKind::User | AliasKind::Runas => AliasMembers::Users(self.userlist()?),
                AliasKind::Host => AliasMembers::Hosts(self.hostlist()?),
                AliasKind::Cmnd => AliasMembers::Cmnds(self.cmndlist()?),
            };
            out.push(Item::Alias(Alias {
                kind,
                name,
                members,
                origin: self.origin(t.line),
            }));
            if *self.peek() != Tok::Colon {
                return Ok(());
            }
            self.next();
        }
    }

    fn entry(&mut self, out: &mut Vec<Item>) -> PResult<bool> {
        match self.peek().clone() {
            Tok::Eof => return Ok(false),
            Tok::Eol => {
                self.next();
            }
            Tok::Include | Tok::IncludeDir => {
                let t = self.next();
                let dir = t.tok == Tok::IncludeDir;
                let path = match self.peek().clone() {
                    Tok::Word(w) => {
                        self.next();
                        w
                    }
                    _ => return Err(self.unexpected("a path to include")),
                };
                self.eol()?;
                out.push(Item::Include {
                    path,
                    dir,
                    origin: self.origin(t.line),
                });
            }
            Tok::AliasKw(kind) => {
                self.next();
                self.alias_defs(kind, out)?;
                self.eol()?;
            }
            Tok::Defaults(kind) => {
                self.next();
                let scope = match kind {
                    DefKind::Global => DefaultsScope::Global,
                    DefKind::User => DefaultsScope::User(self.userlist()?),
                    DefKind::Runas => DefaultsScope::Runas(self.userlist()?),
                    DefKind::Host => DefaultsScope::Host(self.hostlist()?),
                    DefKind::Cmnd => DefaultsScope::Cmnd(self.cmndlist()?),
                };
                let entries = self.defaults_list(&scope)?;
                self.eol()?;
                out.push(Item::Defaults(entries));
            }
            Tok::Error(m) => {
                let t = self.next();
                return Err(self.err_at(t.line, m));
            }
            _ => {
                let line = self.buf.first().map(|t| t.line).unwrap_or(1);
                let users = self.userlist()?;
                let mut privileges = Vec::new();
                loop {
                    let hosts = self.hostlist()?;
                    self.expect(Tok::Eq, "'='")?;
                    let cmnds = self.cmndspeclist()?;
                    privileges.push(Privilege { hosts, cmnds });
                    if *self.peek() != Tok::Colon {
                        break;
                    }
                    self.next();
                }
                self.eol()?;
                out.push(Item::UserSpec(UserSpec {
                    users,
                    privileges,
                    origin: self.origin(line),
                }));
            }
        }
        Ok(true)
    }
}

fn inherit(cs: &mut CmndSpec, prev: &CmndSpec) {
    if cs.runas.is_none() {
        cs.runas.clone_from(&prev.runas);
    }
    let (o, p) = (&mut cs.options, &prev.options);
    if o.role.is_none() && o.selinux_type.is_none() {
        o.role.clone_from(&p.role);
        o.selinux_type.clone_from(&p.selinux_type);
    }
    if o.notbefore.is_none() {
        o.notbefore.clone_from(&p.notbefore);
    }
    if o.notafter.is_none() {
        o.notafter.clone_from(&p.notafter);
    }
    if o.timeout.is_none() {
        o.timeout = p.timeout;
    }
    if o.cwd.is_none() {
        o.cwd.clone_from(&p.cwd);
    }
    if o.chroot.is_none() {
        o.chroot.clone_from(&p.chroot);
    }
    let (t, p) = (&mut cs.tags, &prev.tags);
    for (mine, theirs) in [
        (&mut t.nopasswd, p.nopasswd),
        (&mut t.noexec, p.noexec),
        (&mut t.log_input, p.log_input),
        (&mut t.log_output, p.log_output),
        (&mut t.mail, p.mail),
        (&mut t.follow, p.follow),
        (&mut t.intercept, p.intercept),
    ] {
        if mine.is_none() {
            *mine = theirs;
        }
    }
    if t.setenv.is_none() && !p.setenv_implied {
        t.setenv = p.setenv;
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("\"{w}\""),
        Tok::Alias(a) => format!("alias name \"{a}\""),
        Tok::Command { cmnd, .. } => format!("command \"{cmnd}\""),
        Tok::UserGroup(g) => format!("group \"{g}\""),
        Tok::Netgroup(g) => format!("netgroup \"{g}\""),
        Tok::NtwkAddr(a) => format!("address \"{a}\""),
        Tok::DefVar(v) => format!("\"{v}\""),
        Tok::Tag(_) => "a tag".into(),
        Tok::Opt(_) => "an option".into(),
        Tok::All => "ALL".into(),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Eq => "'='".into(),
        Tok::Colon => "':'".into(),
        Tok::Bang => "'!'".into(),
        Tok::PlusEq => "'+='".into(),
        Tok::MinusEq => "'-='".into(),
        other => format!("{other:?}"),
    }
}

/// Parses one sudoers file (without following includes). `file` names it in origins and
/// errors.
pub fn parse_items(text: &str, file: &str) -> Result<Vec<Item>, SudoersError> {
    let mut src = text.as_bytes().to_vec();
    if let Some(offset) = src.iter().position(|&b| b == 0) {
        let line = 1 + src[..offset].iter().filter(|&&b| b == b'\n').count();
        return Err(SudoersError {
            file: file.to_string(),
            line,
            message: "NUL byte in sudoers file".into(),
        });
    }
    // sudo reads line by line and supplies a missing final newline.
    if !src.ends_with(b"\n") {
        src.push(b'\n');
    }
    let mut p = Parser {
        lex: Lexer::new(&src),
        buf: Vec::new(),
        file,
        last_line: 1,
    };
    let mut out = Vec::new();
    while p.entry(&mut out)? {}
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Item {
        let mut v = parse_items(s, "/etc/sudoers").unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        v.remove(0)
    }

    fn spec(s: &str) -> UserSpec {
        match one(s) {
            Item::UserSpec(u) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tags_and_runas_carry_over() {
        let u = spec(
            "bob ALL = (root) NOPASSWD: /bin/ls, PASSWD: /bin/cat, /bin/dd : h2 = ALL, /bin/y",
        );
        let c = &u.privileges[0].cmnds;
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].tags.nopasswd, Some(true));
        assert_eq!(c[1].tags.nopasswd, Some(false));
        assert_eq!(c[2].tags.nopasswd, Some(false));
        assert!(c.iter().all(|c| c.runas.is_some()));
        let c2 = &u.privileges[1].cmnds;
        assert_eq!(c2[0].tags.setenv, Some(true));
        assert_eq!(
            c2[1].tags.setenv, None,
            "implied SETENV of ALL does not carry over"
        );
        assert!(c2[0].runas.is_none());
    }

    #[test]
    fn options_and_digests() {
        let u = spec(
            "bob ALL = (:wheel) ROLE=r TYPE=t CWD=* TIMEOUT=1h NOTBEFORE=2017021408Z \
             sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef /bin/ls, /bin/x",
        );
        let c = &u.privileges[0].cmnds;
        assert_eq!(c[0].options.timeout, Some(3600));
        assert_eq!(c[1].options.cwd.as_deref(), Some("*"));
        assert_eq!(c[0].cmnd.digests.len(), 1);
        assert!(c[1].cmnd.digests.is_empty());
        let r = c[1].runas.as_ref().unwrap();
        assert!(r.users.is_none());
        assert_eq!(
            r.groups.as_ref().unwrap()[0].value,
            Principal::Group("wheel".into())
        );
    }

    #[test]
    fn principals() {
        let u = spec("bob, #0, %wheel, %#10, \"%:Domain Users\", +ng, !ADMINS ALL = ALL");
        let v: Vec<String> = u.users.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            v,
            [
                "bob",
                "#0",
                "%wheel",
                "%#10",
                "%:Domain Users",
                "+ng",
                "!ADMINS"
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line) in [
            ("bob ALL = ALL\nbob ALL = (root /bin/ls\n", 2),
            ("User_Alias ALL = bob\n", 1),
            ("\n\nDefaults use_pty=yes\n", 3),
            ("Defaults foo_bar\n", 1),
            ("bob ALL = bin/ls\n", 1),
            ("bob ALL = /usr/bin/sudoedit /etc/motd\n", 1),
            ("bob ALL = sha256:0123 /bin/ls\n", 1),
            ("bob ALL = ALL \\", 2),
            ("bob ALL = /bin/ls\r\n", 1),
            ("\"\" ALL = ALL\n", 1),
            ("bob ALL = CWD=tmp /bin/ls\n", 1),
            ("a\0b", 1),
        ] {
            let e = parse_items(text, "/etc/sudoers").unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert_eq!(e.file, "/etc/sudoers");
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        let long = "a".repeat(200_000);
        let mut inputs: Vec<String> = vec![
            long.clone(),
            format!("bob ALL = /bin/{long}"),
            "\\".into(),
            "\"".into(),
            "#".into(),
            "#-".into(),
            "%".into(),
            "Defaults".into(),
            "Defaults:".into(),
            "bob ALL = ^".into(),
            "bob ALL = /bin/x ^abc".into(),
            "sha256".into(),
            "bob ALL = sha512:".into(),
            "((((((".into(),
            "1::".into(),
            "::::::::::::".into(),
            "255.255.255.255/".into(),
            "\u{feff}bob ALL=ALL".into(),
            "bob ALL = (root) NOPASSWD:".into(),
            "@include".into(),
            "#include \"unterminated".into(),
        ];
        for b in 0u8..128 {
            inputs.push(format!("bob ALL = /bin/x {}", b as char));
            inputs.push(format!("{}", b as char));
        }
        for s in inputs {
            let _ = parse_items(&s, "f");
        }
    }
}
