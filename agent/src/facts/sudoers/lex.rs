//! The sudoers tokenizer.
//!
//! sudo's own lexer is a flex scanner with start states; which token a piece of text becomes
//! depends on the state (after `Defaults`, inside a command's arguments, after `@include`, ...)
//! and, inside a state, on the longest match (ties go to the earlier rule). This module
//! re-implements that behaviour by hand: [`Lexer::next_token`] computes, for the active state,
//! the length every candidate rule would match and takes the longest. The rules and their
//! order follow sudoers(5) and the behaviour of `visudo -c` from sudo 1.9.13, which the
//! integration tests use as the reference.

use super::{AliasKind, DigestAlgo, Tag};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefKind {
    Global,
    User,
    Runas,
    Host,
    Cmnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptKw {
    Timeout,
    NotBefore,
    NotAfter,
    Cwd,
    Chroot,
    Role,
    Type,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// End of line (a newline or a comment).
    Eol,
    Eof,
    Include,
    IncludeDir,
    Defaults(DefKind),
    AliasKw(AliasKind),
    Tag(Tag),
    Netgroup(String),
    UserGroup(String),
    NtwkAddr(String),
    All,
    Opt(OptKw),
    Alias(String),
    Command {
        cmnd: String,
        args: Option<String>,
    },
    DigestKw(DigestAlgo),
    Digest(String),
    Word(String),
    DefVar(String),
    LParen,
    RParen,
    Comma,
    Eq,
    Colon,
    Bang,
    PlusEq,
    MinusEq,
    /// A lexical error with sudo's description of it.
    Error(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Initial,
    GotDefs,
    StartDefs,
    InDefs,
    InStr,
    GotCmnd,
    GotRegex,
    WantDigest,
    GotInc,
    ExpectPath,
}

/// Candidate rules of the "inclusive" states (INITIAL, GOTDEFS, WANTDIGEST, EXPECTPATH), in
/// priority order: on equal match length the earlier one wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    GdComma,
    GdBlank,
    WdHex,
    WdB64,
    AtInclude,
    AtIncludeDir,
    HashInclude,
    HashIncludeDir,
    DefaultsKw,
    AliasKw,
    TagKw,
    EmptyGroup,
    Netgroup,
    UserGroup,
    NtwkAddr,
    All,
    OptKw,
    AliasName,
    GdCommand,
    ShaKw,
    Sudoedit,
    EpWord,
    Path,
    Regex,
    Quote,
    Word,
    Punct,
    Bangs,
    Newline,
    Blanks,
    Continuation,
    Comment,
    NoMatch,
}

const TAGS: &[(&str, Tag)] = &[
    ("NOPASSWD", Tag::NoPasswd),
    ("PASSWD", Tag::Passwd),
    ("NOEXEC", Tag::NoExec),
    ("EXEC", Tag::Exec),
    ("INTERCEPT", Tag::Intercept),
    ("NOINTERCEPT", Tag::NoIntercept),
    ("SETENV", Tag::SetEnv),
    ("NOSETENV", Tag::NoSetEnv),
    ("LOG_OUTPUT", Tag::LogOutput),
    ("NOLOG_OUTPUT", Tag::NoLogOutput),
    ("LOG_INPUT", Tag::LogInput),
    ("NOLOG_INPUT", Tag::NoLogInput),
    ("MAIL", Tag::Mail),
    ("NOMAIL", Tag::NoMail),
    ("FOLLOW", Tag::Follow),
    ("NOFOLLOW", Tag::NoFollow),
];

// ROLE and TYPE are keywords because Debian builds sudo with SELinux support; APPARMOR_PROFILE,
// PRIVS and LIMITPRIVS are not (they lex as alias names there, which `visudo` confirms).
const OPTS: &[(&str, OptKw)] = &[
    ("TIMEOUT", OptKw::Timeout),
    ("NOTBEFORE", OptKw::NotBefore),
    ("NOTAFTER", OptKw::NotAfter),
    ("CWD", OptKw::Cwd),
    ("CHROOT", OptKw::Chroot),
    ("ROLE", OptKw::Role),
    ("TYPE", OptKw::Type),
];

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `WORD`: `([^#>!=:,() \t\r\n\\"]|\\[^\t\n])+`
fn m_word(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() {
        let b = s[j];
        if b == b'\\' {
            match s.get(j + 1) {
                Some(&c) if c != b'\t' && c != b'\n' => j += 2,
                _ => break,
            }
        } else if b"#>!=:,() \t\r\n\"".contains(&b) {
            break;
        } else {
            j += 1;
        }
    }
    j - i
}

/// `ID`: `#-?[0-9]+`
fn m_id(s: &[u8], i: usize) -> usize {
    if s.get(i) != Some(&b'#') {
        return 0;
    }
    let mut j = i + 1;
    if s.get(j) == Some(&b'-') {
        j += 1;
    }
    let d = s[j.min(s.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if d == 0 {
        0
    } else {
        j + d - i
    }
}

/// `PATH`: `\/(\\[,:= \t#]|[^,:=\\ \t\r\n#])+`
fn m_path(s: &[u8], i: usize) -> usize {
    if s.get(i) != Some(&b'/') {
        return 0;
    }
    let mut j = i + 1;
    while j < s.len() {
        let b = s[j];
        if b == b'\\' {
            match s.get(j + 1) {
                Some(c) if b",:= \t#".contains(c) => j += 2,
                _ => break,
            }
        } else if b",:=\\ \t\r\n#".contains(&b) {
            break;
        } else {
            j += 1;
        }
    }
    if j == i + 1 {
        0
    } else {
        j - i
    }
}

/// `REGEX`: `\^([^#\r\n$]|\\[#$])*\$`, longest match.
fn m_regex(s: &[u8], i: usize) -> usize {
    if s.get(i) != Some(&b'^') {
        return 0;
    }
    let n = s.len();
    let mut reach = vec![false; n + 2];
    reach[i + 1] = true;
    let mut best = 0;
    for j in i + 1..n {
        if !reach[j] {
            continue;
        }
        let b = s[j];
        if b == b'$' {
            best = j + 1 - i;
        } else if !matches!(b, b'#' | b'\r' | b'\n') {
            reach[j + 1] = true;
        }
        if b == b'\\' && matches!(s.get(j + 1), Some(b'#') | Some(b'$')) {
            reach[j + 2] = true;
        }
    }
    best
}

/// `ENVAR`: `([^#!=, \t\r\n\\"]|\\[^\r\n])([^#=, \t\r\n\\"]|\\[^\r\n])*`
fn m_envar(s: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < s.len() {
        let b = s[j];
        if b == b'\\' {
            match s.get(j + 1) {
                Some(&c) if c != b'\r' && c != b'\n' => j += 2,
                _ => break,
            }
        } else if b"#=, \t\r\n\"".contains(&b) || (j == i && b == b'!') {
            break;
        } else {
            j += 1;
        }
    }
    j - i
}

fn m_lit(s: &[u8], i: usize, lit: &str) -> usize {
    if s[i..].starts_with(lit.as_bytes()) {
        lit.len()
    } else {
        0
    }
}

/// End positions (exclusive) of `OCTET` starting at `i`.
fn octet_ends(s: &[u8], i: usize) -> Vec<usize> {
    let d: Vec<u8> = s[i..]
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    let mut out = Vec::new();
    for len in 1..=d.len() {
        let t = &d[..len];
        let ok = match len {
            1 | 2 => true,
            _ => t[0] == b'1' || (t[0] == b'2' && (t[1] < b'5' || (t[1] == b'5' && t[2] <= b'5'))),
        };
        if ok {
            out.push(i + len);
        }
    }
    out
}

fn ipv4_ends(s: &[u8], i: usize) -> Vec<usize> {
    let mut cur = octet_ends(s, i);
    for _ in 0..3 {
        let mut next = Vec::new();
        for e in cur {
            if s.get(e) == Some(&b'.') {
                next.extend(octet_ends(s, e + 1));
            }
        }
        cur = next;
    }
    cur.sort_unstable();
    cur.dedup();
    cur
}

fn hex_run(s: &[u8], i: usize) -> usize {
    s[i.min(s.len())..]
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .count()
}

fn ipv6_ends(s: &[u8], i: usize) -> Vec<usize> {
    // groups of `{HEX16}?:`
    let mut group_ends = Vec::new(); // end after k groups, k = 1..
    let mut j = i;
    loop {
        let h = hex_run(s, j);
        if h > 4 || s.get(j + h) != Some(&b':') {
            break;
        }
        j += h + 1;
        group_ends.push(j);
        if group_ends.len() == 7 {
            break;
        }
    }
    let mut out = Vec::new();
    for (k, &e) in group_ends.iter().enumerate() {
        let groups = k + 1;
        if groups >= 2 {
            let h = hex_run(s, e);
            if h <= 4 {
                out.push(e + h);
            } else {
                out.push(e); // `{HEX16}?` may match nothing
                out.push(e + 4);
            }
        }
        if (2..=6).contains(&groups) && s.get(e) == Some(&b':') {
            out.extend(ipv4_ends(s, e + 1));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Longest address (optionally `/mask` or `/prefix`) starting at `i`: `ends` gives where an
/// address can end, a prefix has at most `digits` digits and a value up to `max`, and with
/// `no_leading_zero` a multi-digit prefix may not start with 0 (sudo's IPv6 rule).
fn longest_net(
    s: &[u8],
    i: usize,
    ends: fn(&[u8], usize) -> Vec<usize>,
    digits: usize,
    max: u32,
    no_leading_zero: bool,
) -> usize {
    let mut best = 0;
    for e in ends(s, i) {
        best = best.max(e - i);
        if s.get(e) != Some(&b'/') {
            continue;
        }
        for m in ends(s, e + 1) {
            best = best.max(m - i);
        }
        let d = s[e + 1..]
            .iter()
            .take(digits)
            .take_while(|b| b.is_ascii_digit())
            .count();
        for len in 1..=d {
            let t = &s[e + 1..e + 1 + len];
            let v: u32 = std::str::from_utf8(t)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(u32::MAX);
            if v <= max && !(no_leading_zero && len > 1 && t[0] == b'0') {
                best = best.max(e + 1 + len - i);
            }
        }
    }
    best
}

fn m_ntwkaddr(s: &[u8], i: usize) -> (usize, bool) {
    let best = longest_net(s, i, ipv4_ends, 2, 32, false);
    let best6 = longest_net(s, i, ipv6_ends, 3, 128, true);
    if best6 > best {
        (best6, true)
    } else {
        (best, false)
    }
}

/// sudo rejects IPv6-looking tokens that `inet_pton` would not accept; the common case is
/// more than one `::`.
fn ipv6_valid(t: &str) -> bool {
    t.split('/').all(|part| {
        part.matches("::").count() <= 1 && !part.contains(":::") && part.split(':').count() <= 8
    })
}

/// Removes sudoers backslash escapes from a word (`\x` gives `x`, `\xHH` a byte).
pub(crate) fn unescape(raw: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            if raw[i + 1] == b'x'
                && i + 3 < raw.len()
                && raw[i + 2].is_ascii_hexdigit()
                && raw[i + 3].is_ascii_hexdigit()
            {
                let h = std::str::from_utf8(&raw[i + 2..i + 4]).unwrap_or("00");
                out.push(u8::from_str_radix(h, 16).unwrap_or(0));
                i += 4;
                continue;
            }
            out.push(raw[i + 1]);
            i += 2;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Command paths only lose the backslash before sudoers' special characters.
fn unescape_cmnd(raw: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() && b",:=\\ \t#".contains(&raw[i + 1]) {
            i += 1;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(crate) struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    line: usize,
    state: State,
    prev_state: State,
    continued: bool,
    sawspace: bool,
    /// Position at which a `^` anchor must not match (sudo's `yy_set_bol(0)`).
    no_bol_at: Option<usize>,
    cmnd: String,
    args: Option<String>,
    cmnd_line: usize,
    strbuf: Option<String>,
    str_line: usize,
    digest_len: usize,
}

impl<'a> Lexer<'a> {
    /// `s` must end with a newline (the loader appends one, as sudo does).
    pub(crate) fn new(s: &'a [u8]) -> Lexer<'a> {
        Lexer {
            s,
            pos: 0,
            line: 1,
            state: State::Initial,
            prev_state: State::Initial,
            continued: false,
            sawspace: false,
            no_bol_at: None,
            cmnd: String::new(),
            args: None,
            cmnd_line: 1,
            strbuf: None,
            str_line: 1,
            digest_len: 0,
        }
    }

    fn at_bol(&self) -> bool {
        if self.no_bol_at == Some(self.pos) {
            return false;
        }
        self.pos == 0 || self.s[self.pos - 1] == b'\n'
    }

    fn advance(&mut self, n: usize) {
        let end = (self.pos + n).min(self.s.len());
        self.line += self.s[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = end;
    }

    fn tok(&self, tok: Tok, line: usize) -> Token {
        Token { tok, line }
    }

    pub(crate) fn next_token(&mut self) -> Token {
        loop {
            if self.pos >= self.s.len() {
                let line = self.line;
                if self.continued {
                    return self.tok(Tok::Error("syntax error".into()), line);
                }
                return self.tok(Tok::Eof, line);
            }
            let r = match self.state {
                State::Initial | State::GotDefs | State::WantDigest | State::ExpectPath => {
                    self.inclusive()
                }
                State::StartDefs | State::InDefs => self.defs(),
                State::InStr => self.instr(),
                State::GotCmnd => self.gotcmnd(),
                State::GotRegex => self.gotregex(),
                State::GotInc => self.gotinc(),
            };
            if let Some(t) = r {
                return t;
            }
        }
    }

    /// Rules shared by every state (`<*>`): returns the match length and the rule.
    fn common(&self) -> (usize, Rule) {
        let s = self.s;
        let i = self.pos;
        let b = s[i];
        if b == b'!' {
            return (
                s[i..].iter().take_while(|&&c| c == b'!').count(),
                Rule::Bangs,
            );
        }
        if b == b'\n' {
            return (1, Rule::Newline);
        }
        if b == b'\r' && s.get(i + 1) == Some(&b'\n') {
            return (2, Rule::Newline);
        }
        if is_blank(b) {
            return (
                s[i..].iter().take_while(|&&c| is_blank(c)).count(),
                Rule::Blanks,
            );
        }
        if b == b'\\' {
            let mut j = i + 1;
            while j < s.len() && is_blank(s[j]) {
                j += 1;
            }
            if s.get(j) == Some(&b'\r') {
                j += 1;
            }
            if s.get(j) == Some(&b'\n') {
                return (j + 1 - i, Rule::Continuation);
            }
        }
        (1, Rule::NoMatch)
    }

    /// Length of sudo's comment rule (`#` not followed by a digit or `-digit`, to the end of
    /// the line), or 0.
    fn m_comment(&self) -> usize {
        let s = self.s;
        let i = self.pos;
        if s[i] != b'#' {
            return 0;
        }
        let mut j = i + 1;
        let rest_ok = match s.get(j) {
            Some(b'-') => {
                matches!(s.get(j + 1), Some(c) if !matches!(c, b'\r' | b'\n' | b'0'..=b'9'))
            }
            Some(c) => !matches!(c, b'\r' | b'\n' | b'0'..=b'9' | b'-'),
            None => false,
        };
        if rest_ok {
            while j < s.len() && s[j] != b'\n' {
                j += 1;
            }
            // `.*` took a trailing '\r'; the optional `\r\n` then is just the '\n'.
        } else if s.get(j) == Some(&b'\r') && s.get(j + 1) == Some(&b'\n') {
            j += 1;
        }
        if s.get(j) == Some(&b'\n') {
            j += 1;
        }
        j - i
    }

    fn comment_action(&mut self, len: usize) -> Option<Token> {
        let line = self.line;
        let ends_nl = self.s[self.pos + len - 1] == b'\n';
        self.advance(len);
        if ends_nl || self.pos >= self.s.len() {
            self.state = State::Initial;
            self.continued = false;
            return Some(self.tok(Tok::Eol, line));
        }
        Some(self.tok(Tok::Error("syntax error".into()), line))
    }

    /// Longest match for the remaining text of a `^[[:blank:]]*Defaults(...)?` rule.
    /// Returns (match length, consumed length, kind).
    fn m_defaults(&self) -> (usize, usize, DefKind) {
        let s = self.s;
        let i = self.pos;
        let mut j = i;
        while j < s.len() && is_blank(s[j]) {
            j += 1;
        }
        if !s[j..].starts_with(b"Defaults") {
            return (0, 0, DefKind::Global);
        }
        j += 8;
        let plain = (j - i, j - i, DefKind::Global);
        let kind = match s.get(j) {
            Some(b':') => DefKind::User,
            Some(b'>') => DefKind::Runas,
            Some(b'@') => DefKind::Host,
            Some(b'!') => DefKind::Cmnd,
            _ => return plain,
        };
        let mut k = j + 1;
        while k < s.len() && is_blank(s[k]) {
            k += 1;
        }
        let consumed = k - i;
        let mut m = k;
        while m < s.len() && s[m] == b'!' {
            m += 1;
        }
        if s.get(m) == Some(&b'"') {
            m += 1;
        }
        let w = m_id(s, m).max(m_word(s, m));
        if w == 0 {
            return plain;
        }
        (m + w - i, consumed, kind)
    }

    fn inclusive(&mut self) -> Option<Token> {
        let s = self.s;
        let i = self.pos;
        let st = self.state;
        let initial = st == State::Initial;
        let gotdefs = st == State::GotDefs;
        let mut best: (usize, Rule) = (0, Rule::NoMatch);
        let mut consider = |len: usize, rule: Rule| {
            if len > best.0 || (len == best.0 && len > 0 && rule < best.1) {
                best = (len, rule);
            }
            best
        };
        if gotdefs {
            let mut j = i;
            while j < s.len() && is_blank(s[j]) {
                j += 1;
            }
            if s.get(j) == Some(&b',') {
                j += 1;
                while j < s.len() && is_blank(s[j]) {
                    j += 1;
                }
                consider(j - i, Rule::GdComma);
            }
            consider(
                s[i..].iter().take_while(|&&c| is_blank(c)).count(),
                Rule::GdBlank,
            );
        }
        if st == State::WantDigest {
            consider(hex_run(s, i), Rule::WdHex);
            consider(
                s[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || b"+/=".contains(c))
                    .count(),
                Rule::WdB64,
            );
        }
        let mut def = (0, 0, DefKind::Global);
        let mut tag = Tag::NoPasswd;
        let mut opt = OptKw::Timeout;
        let mut alias_kind = AliasKind::User;
        let mut alias_kw_len = 0;
        let mut sha = DigestAlgo::Sha256;
        if initial {
            consider(m_lit(s, i, "@include"), Rule::AtInclude);
            consider(m_lit(s, i, "@includedir"), Rule::AtIncludeDir);
            if self.at_bol() {
                for (kw, rule) in [
                    ("#include", Rule::HashInclude),
                    ("#includedir", Rule::HashIncludeDir),
                ] {
                    if s[i..].starts_with(kw.as_bytes())
                        && s.get(i + kw.len()).is_some_and(|&c| is_blank(c))
                    {
                        let mut j = i + kw.len();
                        while j < s.len() && s[j] != b'\n' {
                            j += 1;
                        }
                        if j < s.len() {
                            j += 1;
                        }
                        consider(j - i, rule);
                    }
                }
                def = self.m_defaults();
                consider(def.0, Rule::DefaultsKw);
                let mut j = i;
                while j < s.len() && is_blank(s[j]) {
                    j += 1;
                }
                for (kw, k) in [
                    ("Host_Alias", AliasKind::Host),
                    ("Cmnd_Alias", AliasKind::Cmnd),
                    ("Cmd_Alias", AliasKind::Cmnd),
                    ("User_Alias", AliasKind::User),
                    ("Runas_Alias", AliasKind::Runas),
                ] {
                    if s[j..].starts_with(kw.as_bytes()) {
                        alias_kind = k;
                        alias_kw_len = j + kw.len() - i;
                    }
                }
                consider(alias_kw_len, Rule::AliasKw);
            }
        }
        // Tags: `KEYWORD[[:blank:]]*:`
        for (kw, t) in TAGS {
            if s[i..].starts_with(kw.as_bytes()) {
                let mut j = i + kw.len();
                while j < s.len() && is_blank(s[j]) {
                    j += 1;
                }
                if s.get(j) == Some(&b':') {
                    tag = *t;
                    consider(j + 1 - i, Rule::TagKw);
                }
            }
        }
        if initial || gotdefs {
            let l = match (s[i], s.get(i + 1)) {
                (b'%', Some(b':')) => 2,
                (b'%', _) | (b'+', _) => 1,
                _ => 0,
            };
            consider(l, Rule::EmptyGroup);
        }
        if s[i] == b'+' {
            let w = m_word(s, i + 1);
            if w > 0 {
                consider(w + 1, Rule::Netgroup);
            }
        }
        if s[i] == b'%' {
            let start = if s.get(i + 1) == Some(&b':') {
                i + 2
            } else {
                i + 1
            };
            let w = m_word(s, start).max(m_id(s, start));
            if w > 0 {
                consider(start + w - i, Rule::UserGroup);
            }
        }
        let (nl, _) = m_ntwkaddr(s, i);
        consider(nl, Rule::NtwkAddr);
        consider(m_lit(s, i, "ALL"), Rule::All);
        if initial {
            for (kw, o) in OPTS {
                if s[i..].starts_with(kw.as_bytes()) {
                    opt = *o;
                    consider(kw.len(), Rule::OptKw);
                }
            }
        }
        if s[i].is_ascii_uppercase() {
            let n = 1 + s[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || **c == b'_')
                .count();
            consider(n, Rule::AliasName);
        }
        if gotdefs {
            consider(
                m_path(s, i).max(m_regex(s, i)).max(m_lit(s, i, "sudoedit")),
                Rule::GdCommand,
            );
        }
        for (kw, a) in [
            ("sha224", DigestAlgo::Sha224),
            ("sha256", DigestAlgo::Sha256),
            ("sha384", DigestAlgo::Sha384),
            ("sha512", DigestAlgo::Sha512),
        ] {
            if s[i..].starts_with(kw.as_bytes()) {
                sha = a;
                consider(6, Rule::ShaKw);
            }
        }
        consider(m_lit(s, i, "sudoedit"), Rule::Sudoedit);
        if st == State::ExpectPath {
            consider(m_path(s, i).max(m_word(s, i)), Rule::EpWord);
        }
        consider(m_path(s, i), Rule::Path);
        consider(m_regex(s, i), Rule::Regex);
        if initial || gotdefs {
            if s[i] == b'"' {
                consider(1, Rule::Quote);
            }
            consider(m_id(s, i).max(m_word(s, i)), Rule::Word);
        }
        if b"(),=:".contains(&s[i]) {
            consider(1, Rule::Punct);
        }
        let (cl, cr) = self.common();
        consider(cl, cr);
        let comment = if initial { self.m_comment() } else { 0 };
        let (len, rule) = consider(comment, Rule::Comment);
        let len = len.max(1);
        let line = self.line;
        let text = &s[i..(i + len).min(s.len())];
        let t = |tok: Tok| Some(Token { tok, line });
        match rule {
            Rule::GdComma => {
                self.advance(len);
                t(Tok::Comma)
            }
            Rule::GdBlank => {
                self.advance(len);
                self.state = State::StartDefs;
                self.sawspace = true;
                None
            }
            Rule::WdHex | Rule::WdB64 => {
                self.advance(len);
                self.state = State::Initial;
                let want = if rule == Rule::WdHex {
                    self.digest_len * 2
                } else if text.last() == Some(&b'=') {
                    4 * self.digest_len.div_ceil(3)
                } else {
                    (4 * self.digest_len).div_ceil(3)
                };
                if len == want {
                    t(Tok::Digest(lossy(text)))
                } else {
                    None
                }
            }
            Rule::AtInclude | Rule::AtIncludeDir | Rule::HashInclude | Rule::HashIncludeDir => {
                if self.continued {
                    return t(Tok::Error("invalid line continuation".into()));
                }
                let (n, dir) = match rule {
                    Rule::AtInclude => (8, false),
                    Rule::AtIncludeDir => (11, true),
                    Rule::HashInclude => (8, false),
                    _ => (11, true),
                };
                self.advance(n);
                self.no_bol_at = Some(self.pos);
                self.state = State::GotInc;
                t(if dir { Tok::IncludeDir } else { Tok::Include })
            }
            Rule::DefaultsKw => {
                if self.continued {
                    return t(Tok::Error("invalid line continuation".into()));
                }
                self.advance(def.1);
                self.state = State::GotDefs;
                t(Tok::Defaults(def.2))
            }
            Rule::AliasKw => {
                if self.continued {
                    return t(Tok::Error("invalid line continuation".into()));
                }
                self.advance(len);
                t(Tok::AliasKw(alias_kind))
            }
            Rule::TagKw => {
                self.advance(len);
                t(Tok::Tag(tag))
            }
            Rule::EmptyGroup => {
                self.advance(len);
                t(Tok::Error(
                    if text[0] == b'+' {
                        "empty netgroup"
                    } else {
                        "empty group"
                    }
                    .into(),
                ))
            }
            Rule::Netgroup => {
                self.advance(len);
                t(Tok::Netgroup(unescape(text)))
            }
            Rule::UserGroup => {
                self.advance(len);
                t(Tok::UserGroup(unescape(text)))
            }
            Rule::NtwkAddr => {
                self.advance(len);
                let a = lossy(text);
                if a.contains(':') && !ipv6_valid(&a) {
                    return t(Tok::Error("invalid IPv6 address".into()));
                }
                t(Tok::NtwkAddr(a))
            }
            Rule::All => {
                self.advance(len);
                t(Tok::All)
            }
            Rule::OptKw => {
                self.advance(len);
                if matches!(opt, OptKw::Cwd | OptKw::Chroot) {
                    self.prev_state = self.state;
                    self.state = State::ExpectPath;
                }
                t(Tok::Opt(opt))
            }
            Rule::AliasName => {
                self.advance(len);
                t(Tok::Alias(lossy(text)))
            }
            Rule::GdCommand => {
                self.advance(len);
                t(Tok::Command {
                    cmnd: unescape_cmnd(text),
                    args: None,
                })
            }
            Rule::ShaKw => {
                self.advance(len);
                self.digest_len = sha.bytes();
                self.state = State::WantDigest;
                t(Tok::DigestKw(sha))
            }
            Rule::Sudoedit | Rule::Path | Rule::Regex => {
                self.advance(len);
                let cmnd = if rule == Rule::Path {
                    unescape_cmnd(text)
                } else {
                    lossy(text)
                };
                if rule == Rule::Path && cmnd.ends_with('/') {
                    return t(Tok::Command { cmnd, args: None });
                }
                if rule == Rule::Path && cmnd.rsplit('/').next() == Some("sudoedit") {
                    return t(Tok::Error(
                        "sudoedit should not be specified with a path".into(),
                    ));
                }
                self.cmnd = cmnd;
                self.args = None;
                self.cmnd_line = line;
                self.sawspace = false;
                self.state = State::GotCmnd;
                None
            }
            Rule::EpWord => {
                self.advance(len);
                self.state = self.prev_state;
                t(Tok::Word(unescape(text)))
            }
            Rule::Quote => {
                self.advance(1);
                self.prev_state = self.state;
                self.state = State::InStr;
                self.strbuf = None;
                self.str_line = line;
                None
            }
            Rule::Word => {
                self.advance(len);
                t(Tok::Word(unescape(text)))
            }
            Rule::Punct => {
                self.advance(1);
                t(match text[0] {
                    b'(' => Tok::LParen,
                    b')' => Tok::RParen,
                    b',' => Tok::Comma,
                    b'=' => Tok::Eq,
                    _ => Tok::Colon,
                })
            }
            Rule::Comment => self.comment_action(len),
            _ => self.common_action(len, rule),
        }
    }

    fn common_action(&mut self, len: usize, rule: Rule) -> Option<Token> {
        let line = self.line;
        match rule {
            Rule::Bangs => {
                self.advance(len);
                if len % 2 == 1 {
                    return Some(self.tok(Tok::Bang, line));
                }
                None
            }
            Rule::Newline => {
                self.advance(len);
                self.state = State::Initial;
                self.continued = false;
                Some(self.tok(Tok::Eol, line))
            }
            Rule::Blanks => {
                self.advance(len);
                self.sawspace = true;
                None
            }
            Rule::Continuation => {
                self.advance(len);
                self.sawspace = true;
                self.continued = true;
                None
            }
            _ => {
                self.advance(1);
                Some(self.tok(Tok::Error("syntax error".into()), line))
            }
        }
    }

    fn defs(&mut self) -> Option<Token> {
        let s = self.s;
        let i = self.pos;
        let line = self.line;
        let c = self.m_comment();
        if c > 0 {
            return self.comment_action(c);
        }
        if self.state == State::StartDefs {
            let n = s[i..]
                .iter()
                .take_while(|b| b.is_ascii_lowercase() || **b == b'_')
                .count();
            if n > 0 {
                self.advance(n);
                self.state = State::InDefs;
                return Some(self.tok(Tok::DefVar(lossy(&s[i..i + n])), line));
            }
        } else {
            let two = &s[i..(i + 2).min(s.len())];
            let (tok, n) = match s[i] {
                b',' => (Some(Tok::Comma), 1),
                b'=' => (Some(Tok::Eq), 1),
                _ if two == b"+=" => (Some(Tok::PlusEq), 2),
                _ if two == b"-=" => (Some(Tok::MinusEq), 2),
                _ => (None, 0),
            };
            if let Some(tok) = tok {
                self.advance(n);
                if tok == Tok::Comma {
                    self.state = State::StartDefs;
                }
                return Some(self.tok(tok, line));
            }
            if s[i] == b'"' {
                self.advance(1);
                self.prev_state = self.state;
                self.state = State::InStr;
                self.strbuf = None;
                self.str_line = line;
                return None;
            }
            let n = m_envar(s, i);
            let (cl, _) = self.common();
            if n > 0 && n >= cl {
                self.advance(n);
                return Some(self.tok(Tok::Word(unescape(&s[i..i + n])), line));
            }
        }
        let (cl, cr) = self.common();
        self.common_action(cl, cr)
    }

    fn instr(&mut self) -> Option<Token> {
        let s = self.s;
        let i = self.pos;
        let b = s[i];
        if b == b'"' {
            self.advance(1);
            self.state = self.prev_state;
            let line = self.str_line;
            let Some(v) = self.strbuf.take() else {
                return Some(self.tok(Tok::Error("empty string".into()), line));
            };
            if matches!(self.prev_state, State::Initial | State::GotDefs) {
                if v.starts_with('%') {
                    if v == "%" || v == "%:" {
                        return Some(self.tok(Tok::Error("empty group".into()), line));
                    }
                    return Some(self.tok(Tok::UserGroup(v), line));
                }
                if v.starts_with('+') {
                    if v == "+" {
                        return Some(self.tok(Tok::Error("empty netgroup".into()), line));
                    }
                    return Some(self.tok(Tok::Netgroup(v), line));
                }
            }
            return Some(self.tok(Tok::Word(v), line));
        }
        if b == b'\\' {
            // continuation inside a string: `\\[[:blank:]]*\r?\n[[:blank:]]*`
            let mut j = i + 1;
            while j < s.len() && is_blank(s[j]) {
                j += 1;
            }
            if s.get(j) == Some(&b'\r') {
                j += 1;
            }
            if s.get(j) == Some(&b'\n') {
                j += 1;
                while j < s.len() && is_blank(s[j]) {
                    j += 1;
                }
                self.advance(j - i);
                self.continued = true;
                return None;
            }
            let buf = self.strbuf.get_or_insert_with(String::new);
            if s.get(i + 1) == Some(&b'"') {
                buf.push('"');
                self.advance(2);
            } else {
                buf.push('\\');
                self.advance(1);
            }
            return None;
        }
        if b == b'\n' || (b == b'\r' && s.get(i + 1) == Some(&b'\n')) {
            let line = self.line;
            self.state = State::Initial;
            return Some(self.tok(Tok::Error("unexpected line break in string".into()), line));
        }
        let n = s[i..]
            .iter()
            .take_while(|&&c| !matches!(c, b'"' | b'\\' | b'\n'))
            .count()
            .max(1);
        let chunk = lossy(&s[i..i + n]);
        self.strbuf.get_or_insert_with(String::new).push_str(&chunk);
        self.advance(n);
        None
    }

    fn push_arg(&mut self, text: &str) {
        match &mut self.args {
            Some(a) => {
                if self.sawspace {
                    a.push(' ');
                }
                a.push_str(text);
            }
            None => self.args = Some(text.to_string()),
        }
        self.sawspace = false;
    }

    fn finish_cmnd(&mut self) -> Token {
        let args = self
            .args
            .take()
            .map(|a| if a == "\"\"" { String::new() } else { a });
        self.state = State::Initial;
        Token {
            tok: Tok::Command {
                cmnd: std::mem::take(&mut self.cmnd),
                args,
            },
            line: self.cmnd_line,
        }
    }

    fn gotcmnd(&mut self) -> Option<Token> {
        let s = self.s;
        let i = self.pos;
        let b = s[i];
        if b == b'\\' {
            if let Some(&c) = s.get(i + 1) {
                if b"*?[]!^".contains(&c) {
                    let t = lossy(&s[i..i + 2]);
                    self.push_arg(&t);
                    self.advance(2);
                    return None;
                }
                if b":\\,= \t#".contains(&c) {
                    let t = lossy(&s[i + 1..i + 2]);
                    self.push_arg(&t);
                    self.advance(2);
                    return None;
                }
            }
        }
        // CRLF: the newline rule is longer than the one-character end rule, so sudo returns
        // the end of line without the command (a syntax error); mirror that.
        if b == b'\r' && s.get(i + 1) == Some(&b'\n') {
            self.cmnd.clear();
            self.args = None;
            return self.common_action(2, Rule::Newline);
        }
        let n = s[i..]
            .iter()
            .take_while(|&&c| {
                !matches!(c, b'#' | b'\\' | b':' | b',' | b' ' | b'\t' | b'\r' | b'\n')
            })
            .count();
        // `=` ends the command only when it stands alone: `a=b` is a longer argument match.
        if matches!(b, b'#' | b':' | b',' | b'\r' | b'\n') || (b == b'=' && n == 1) {
            self.no_bol_at = Some(i);
            return Some(self.finish_cmnd());
        }
        if n > 0 {
            if self.args.is_none() && b == b'^' {
                self.state = State::GotRegex;
                self.args = Some(String::new());
                self.sawspace = false;
                return None;
            }
            let t = lossy(&s[i..i + n]);
            self.push_arg(&t);
            self.advance(n);
            return None;
        }
        let (cl, cr) = self.common();
        if cr == Rule::Newline {
            self.no_bol_at = Some(i);
            return Some(self.finish_cmnd());
        }
        self.common_action(cl, cr)
    }

    fn gotregex(&mut self) -> Option<Token> {
        let s = self.s;
        let i = self.pos;
        let b = s[i];
        let line = self.line;
        if b == b'\\' {
            let (cl, cr) = self.common();
            if cr == Rule::Continuation && cl > 2 || s.get(i + 1).is_none_or(|&c| c == b'\n') {
                return self.common_action(cl, cr);
            }
            if s.get(i + 1) == Some(&b'\r') && s.get(i + 2) == Some(&b'\n') {
                return self.common_action(cl, cr);
            }
            let t = lossy(&s[i..i + 2]);
            self.args.get_or_insert_with(String::new).push_str(&t);
            self.advance(2);
            return None;
        }
        if matches!(b, b'#' | b'\r' | b'\n') {
            self.state = State::Initial;
            self.args = None;
            return Some(self.tok(Tok::Error("unterminated regular expression".into()), line));
        }
        if b == b'$' {
            self.args.get_or_insert_with(String::new).push('$');
            self.advance(1);
            self.continued = false;
            return Some(self.finish_cmnd());
        }
        let mut n = s[i..]
            .iter()
            .take_while(|&&c| !matches!(c, b'#' | b'\\' | b'\r' | b'\n' | b'$'))
            .count();
        let mut start = i;
        if self.continued {
            while n > 0 && is_blank(s[start]) {
                start += 1;
                n -= 1;
            }
            self.continued = false;
        }
        let t = lossy(&s[start..start + n]);
        self.args.get_or_insert_with(String::new).push_str(&t);
        self.advance(start + n - i);
        None
    }

    fn gotinc(&mut self) -> Option<Token> {
        let s = self.s;
        let i = self.pos;
        let b = s[i];
        let line = self.line;
        if b == b'"' {
            self.advance(1);
            self.prev_state = State::Initial;
            self.state = State::InStr;
            self.strbuf = None;
            self.str_line = line;
            return None;
        }
        let (cl, cr) = self.common();
        if !is_space(b) && cr != Rule::Continuation {
            let mut j = i + 1;
            // `[^"[:space:]]([^[:space:]]|\\[[:blank:]])*`
            while j < s.len() && (!is_space(s[j]) || (s[j - 1] == b'\\' && is_blank(s[j]))) {
                j += 1;
            }
            self.advance(j - i);
            self.state = State::Initial;
            return Some(self.tok(Tok::Word(unescape(&s[i..j])), line));
        }
        self.common_action(cl, cr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let mut src = s.to_string();
        if !src.ends_with('\n') {
            src.push('\n');
        }
        let mut l = Lexer::new(src.as_bytes());
        let mut out = Vec::new();
        for _ in 0..1000 {
            let t = l.next_token();
            if t.tok == Tok::Eof {
                break;
            }
            out.push(t.tok);
        }
        out
    }

    #[test]
    fn user_spec_tokens() {
        assert_eq!(
            toks("%sudo ALL=(ALL:ALL) NOPASSWD: /bin/ls -l, ALL"),
            vec![
                Tok::UserGroup("%sudo".into()),
                Tok::All,
                Tok::Eq,
                Tok::LParen,
                Tok::All,
                Tok::Colon,
                Tok::All,
                Tok::RParen,
                Tok::Tag(Tag::NoPasswd),
                Tok::Command {
                    cmnd: "/bin/ls".into(),
                    args: Some("-l".into())
                },
                Tok::Comma,
                Tok::All,
                Tok::Eol
            ]
        );
    }

    #[test]
    fn hash_is_uid_or_comment() {
        assert_eq!(toks("#1000 ALL")[0], Tok::Word("#1000".into()));
        assert_eq!(toks("# comment"), vec![Tok::Eol]);
        assert_eq!(toks("#include foo")[0], Tok::Include);
        assert_eq!(toks(" #include foo"), vec![Tok::Eol]);
        assert_eq!(
            toks("#includedir /etc/sudoers.d")[..2],
            [Tok::IncludeDir, Tok::Word("/etc/sudoers.d".into())]
        );
    }

    #[test]
    fn defaults_tokens() {
        assert_eq!(
            toks("Defaults:%adm,bob !lecture, env_keep += \"A B\""),
            vec![
                Tok::Defaults(DefKind::User),
                Tok::UserGroup("%adm".into()),
                Tok::Comma,
                Tok::Word("bob".into()),
                Tok::Bang,
                Tok::DefVar("lecture".into()),
                Tok::Comma,
                Tok::DefVar("env_keep".into()),
                Tok::PlusEq,
                Tok::Word("A B".into()),
                Tok::Eol
            ]
        );
    }

    #[test]
    fn addresses_and_aliases() {
        assert_eq!(toks("10.0.0.0/8")[0], Tok::NtwkAddr("10.0.0.0/8".into()));
        assert_eq!(toks("fe80::1/64")[0], Tok::NtwkAddr("fe80::1/64".into()));
        assert!(matches!(toks("1::2::3")[0], Tok::Error(_)));
        assert_eq!(toks("ADMINS")[0], Tok::Alias("ADMINS".into()));
        assert_eq!(toks("Admins")[0], Tok::Word("Admins".into()));
    }

    #[test]
    fn regex_and_escapes() {
        assert_eq!(
            toks("/usr/bin/passwd ^[a-z]+$")[0],
            Tok::Command {
                cmnd: "/usr/bin/passwd".into(),
                args: Some("^[a-z]+$".into())
            }
        );
        assert_eq!(
            toks("/bin/echo a\\,b \\*")[0],
            Tok::Command {
                cmnd: "/bin/echo".into(),
                args: Some("a,b \\*".into())
            }
        );
        assert_eq!(toks("b\\x20ob")[0], Tok::Word("b ob".into()));
    }
}
