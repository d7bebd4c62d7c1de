//! nftables ruleset scripts (`/etc/nftables.conf`, what `nft -f` loads at boot), parsed far
//! enough to judge a host firewall: tables, chains (base chains with their hook, type,
//! priority and policy) and rules as word lists with `file:line`.
//!
//! Why a parser and not "the unit is enabled": Debian's stock `nftables.conf` declares an
//! `inet filter` table whose chains have no rules and no policy, so enabling it filters
//! nothing. Only the script's content says whether traffic is dropped by default.
//!
//! Syntax handled (nft(8)): `#` comments, `"strings"`, `\` line continuation, `;` and newline
//! as statement separators, `{ }` blocks (table and chain bodies) and anonymous sets inside
//! rules, `include "PATH"` (globs allowed; a path without a wildcard must exist),
//! `define NAME = VALUE` / `$NAME`, and the commands a boot script uses: `flush ruleset`,
//! `table`, `add`/`create`/`insert` of tables, chains and rules, `flush`/`delete`/`destroy` of
//! tables and chains. Set, map, flowtable and stateful-object declarations are recognised and
//! skipped. Anything else is an error naming `file:line`, as `nft -f` would refuse it.
//!
//! [`parse`] is pure (text, file name) → commands; [`Loader`] expands includes with bounded
//! depth and file count and applies the commands in order to build the [`Ruleset`].

use crate::facts::origin::{LineError, Origin};
use std::collections::HashMap;

/// Deepest include nesting followed (nft itself allows 16).
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Most files one ruleset may read through includes.
pub const MAX_FILES: usize = 256;
/// Deepest `{ }` nesting accepted.
const MAX_BRACE_DEPTH: usize = 64;

const FAMILIES: &[&str] = &["ip", "ip6", "inet", "arp", "bridge", "netdev"];

/// A token of the script.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Comma,
    Open,
    Close,
    Sep,
}

/// A node of the brace tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Word(String, usize),
    Comma(usize),
    Sep,
    Group(Vec<Node>, usize),
}

impl Node {
    fn line(&self) -> usize {
        match self {
            Node::Word(_, l) | Node::Comma(l) | Node::Group(_, l) => *l,
            Node::Sep => 0,
        }
    }
    fn word(&self) -> Option<&str> {
        match self {
            Node::Word(w, _) => Some(w),
            _ => None,
        }
    }
}

fn lex(text: &str, file: &str) -> Result<Vec<(Tok, usize)>, LineError> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut chars = text.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<(Tok, usize)>, line: usize| {
        if !word.is_empty() {
            out.push((Tok::Word(std::mem::take(word)), line));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('\n') | Some('\r')) => {
                flush(&mut word, &mut out, line);
                if chars.peek() == Some(&'\r') {
                    chars.next();
                }
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line += 1;
            }
            '\n' => {
                flush(&mut word, &mut out, line);
                out.push((Tok::Sep, line));
                line += 1;
            }
            '#' => {
                flush(&mut word, &mut out, line);
                while let Some(&n) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                }
            }
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\n') | None => {
                            return Err(LineError {
                                file: file.to_string(),
                                line: start,
                                message: "unterminated string".into(),
                            })
                        }
                        Some(ch) => s.push(ch),
                    }
                }
                // a quoted string glued to a word (`iifname "lo"` is the common case) stays
                // one word
                word.push_str(&s);
                if word.is_empty() {
                    out.push((Tok::Word(String::new()), line));
                }
            }
            '{' | '}' | ';' | ',' => {
                flush(&mut word, &mut out, line);
                out.push((
                    match c {
                        '{' => Tok::Open,
                        '}' => Tok::Close,
                        ';' => Tok::Sep,
                        _ => Tok::Comma,
                    },
                    line,
                ));
            }
            c if c.is_whitespace() => flush(&mut word, &mut out, line),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out, line);
    Ok(out)
}

fn tree(toks: &[(Tok, usize)], file: &str) -> Result<Vec<Node>, LineError> {
    let err = |line: usize, m: &str| LineError {
        file: file.to_string(),
        line,
        message: m.to_string(),
    };
    // explicit stack: (opening line, nodes so far)
    let mut stack: Vec<(usize, Vec<Node>)> = vec![(0, Vec::new())];
    for (t, line) in toks {
        let top = &mut stack.last_mut().expect("stack never empty").1;
        match t {
            Tok::Word(w) => top.push(Node::Word(w.clone(), *line)),
            Tok::Comma => top.push(Node::Comma(*line)),
            Tok::Sep => top.push(Node::Sep),
            Tok::Open => {
                if stack.len() > MAX_BRACE_DEPTH {
                    return Err(err(*line, "braces nested too deeply"));
                }
                stack.push((*line, Vec::new()));
            }
            Tok::Close => {
                if stack.len() == 1 {
                    return Err(err(*line, "`}` without a matching `{`"));
                }
                let (open, nodes) = stack.pop().expect("len checked");
                stack
                    .last_mut()
                    .expect("stack never empty")
                    .1
                    .push(Node::Group(nodes, open));
            }
        }
    }
    if stack.len() > 1 {
        let open = stack.last().map(|s| s.0).unwrap_or(0);
        return Err(err(open, "`{` is never closed"));
    }
    Ok(stack.pop().map(|s| s.1).unwrap_or_default())
}

/// Splits nodes into statements at `;` and newlines. With `blocks` (top level and table
/// bodies), a declaration's `{ }` body also ends its statement, so `chain a { } chain b { }`
/// on one line is two statements; rule bodies keep anonymous sets inside the rule.
fn statements(nodes: Vec<Node>, blocks: bool) -> Vec<Vec<Node>> {
    const DECL: &[&str] = &[
        "table",
        "chain",
        "set",
        "map",
        "flowtable",
        "counter",
        "quota",
        "ct",
        "limit",
        "secmark",
        "synproxy",
    ];
    let mut out = Vec::new();
    let mut cur: Vec<Node> = Vec::new();
    for n in nodes {
        if n == Node::Sep {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let group = matches!(n, Node::Group(..));
        cur.push(n);
        if blocks && group {
            let head = cur.first().and_then(Node::word).unwrap_or("");
            let second = cur.get(1).and_then(Node::word).unwrap_or("");
            let decl = DECL.contains(&head)
                || matches!(head, "add" | "create") && !matches!(second, "rule" | "element");
            if decl {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Flattens nodes to words: a group becomes `{`, its words, `}`; commas are kept as `,`.
fn flat(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        match n {
            Node::Word(w, _) => out.push(w.clone()),
            Node::Comma(_) => out.push(",".into()),
            Node::Sep => {}
            Node::Group(g, _) => {
                out.push("{".into());
                flat(g, out);
                out.push("}".into());
            }
        }
    }
}

/// A base chain's hook declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// `filter`, `nat` or `route`.
    pub kind: String,
    /// `input`, `forward`, `output`, `prerouting`, `postrouting`, `ingress`, `egress`.
    pub hook: String,
    /// As written (`0`, `filter`, `filter + 10`).
    pub priority: String,
    pub origin: Origin,
}

/// One rule: its words (anonymous sets as `{` ... `}`, the `comment "..."` dropped) and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub words: Vec<String>,
    pub origin: Origin,
}

/// What a rule does with a packet it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Reject,
    Jump(String),
    Goto(String),
    Return,
    /// No verdict (counter, log, ...): evaluation continues.
    Continue,
}

impl Rule {
    /// The verdict statement of the rule.
    pub fn verdict(&self) -> Verdict {
        let w = &self.words;
        for (i, x) in w.iter().enumerate() {
            match x.as_str() {
                "accept" => return Verdict::Accept,
                "drop" => return Verdict::Drop,
                "reject" => return Verdict::Reject,
                "return" => return Verdict::Return,
                "jump" | "goto" => {
                    if let Some(t) = w.get(i + 1) {
                        return if x == "jump" {
                            Verdict::Jump(t.clone())
                        } else {
                            Verdict::Goto(t.clone())
                        };
                    }
                }
                _ => {}
            }
        }
        Verdict::Continue
    }

    /// The words after `key1 key2` (e.g. `ct state`, `tcp dport`), skipping an `==` and
    /// taking one word or a `{ }` set: `None` when absent or negated (`!=`).
    pub fn values_after(&self, key: &[&str]) -> Option<Vec<String>> {
        let w = &self.words;
        let n = key.len();
        let at = (0..w.len().saturating_sub(n - 1)).find(|&i| {
            w[i..i + n]
                .iter()
                .zip(key)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
        })?;
        let mut j = at + n;
        if w.get(j).map(String::as_str) == Some("==") {
            j += 1;
        }
        match w.get(j).map(String::as_str) {
            None | Some("!=") => None,
            Some("{") => {
                let mut v = Vec::new();
                let mut depth = 0;
                for x in &w[j..] {
                    match x.as_str() {
                        "{" => depth += 1,
                        "}" => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        "," => {}
                        _ => v.push(x.clone()),
                    }
                }
                Some(v)
            }
            Some(_) => {
                // `established,related`: a comma list without braces
                let mut v = vec![w[j].clone()];
                let mut k = j + 1;
                while w.get(k).map(String::as_str) == Some(",") {
                    if let Some(x) = w.get(k + 1) {
                        v.push(x.clone());
                    }
                    k += 2;
                }
                Some(v)
            }
        }
    }
}

/// A chain of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    pub origin: Origin,
    /// `Some` for a base chain.
    pub hook: Option<Hook>,
    /// `policy accept|drop` with where it is set; a base chain without it accepts.
    pub policy: Option<(String, Origin)>,
    pub rules: Vec<Rule>,
}

/// A table: family, name and chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub family: String,
    pub name: String,
    pub origin: Origin,
    pub chains: Vec<Chain>,
}

/// One top-level command of a script, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Include {
        path: String,
        origin: Origin,
    },
    Define {
        name: String,
        value: Vec<String>,
    },
    Undefine(String),
    FlushRuleset,
    /// `table ...` / `add table ...` with its body (chains merged into an existing table).
    Table(Table),
    /// `add chain` / `create chain` (with or without a body).
    Chain {
        family: String,
        table: String,
        chain: Chain,
    },
    /// `add rule` / `insert rule`.
    Rule {
        family: String,
        table: String,
        chain: String,
        rule: Rule,
        insert: bool,
    },
    FlushTable {
        family: String,
        table: String,
    },
    FlushChain {
        family: String,
        table: String,
        chain: String,
    },
    DeleteTable {
        family: String,
        table: String,
    },
    DeleteChain {
        family: String,
        table: String,
        chain: String,
    },
}

struct P<'a> {
    file: &'a str,
}

impl P<'_> {
    fn err(&self, line: usize, m: impl Into<String>) -> LineError {
        LineError {
            file: self.file.to_string(),
            line,
            message: m.into(),
        }
    }

    fn origin(&self, line: usize) -> Origin {
        Origin::new(self.file, line)
    }

    /// `[family] name` starting at `i`: returns (family, name, next index).
    fn family_name(
        &self,
        st: &[Node],
        i: usize,
        what: &str,
    ) -> Result<(String, String, usize), LineError> {
        let line = st.first().map(Node::line).unwrap_or(0);
        let w0 = st.get(i).and_then(Node::word);
        let w1 = st.get(i + 1).and_then(Node::word);
        match (w0, w1) {
            (Some(f), Some(n)) if FAMILIES.contains(&f) => {
                Ok((f.to_string(), n.to_string(), i + 2))
            }
            (Some(n), _) => Ok(("ip".to_string(), n.to_string(), i + 1)),
            _ => Err(self.err(line, format!("`{what}` needs a table name"))),
        }
    }

    fn chain_body(&self, chain: &mut Chain, body: Vec<Node>) -> Result<(), LineError> {
        for st in statements(body, false) {
            let line = st[0].line();
            let words: Vec<&str> = st.iter().filter_map(Node::word).collect();
            match words.first().copied() {
                Some("type") => {
                    let get = |k: &str| {
                        words
                            .iter()
                            .position(|w| *w == k)
                            .and_then(|p| words.get(p + 1))
                            .map(|s| s.to_string())
                    };
                    let hook = get("hook").ok_or_else(|| self.err(line, "`type` needs `hook`"))?;
                    let prio_at = words.iter().position(|w| *w == "priority");
                    let priority = match prio_at {
                        Some(p) if p + 1 < words.len() => words[p + 1..].join(" "),
                        _ => return Err(self.err(line, "`type ... hook` needs `priority`")),
                    };
                    chain.hook = Some(Hook {
                        kind: words.get(1).map(|s| s.to_string()).unwrap_or_default(),
                        hook,
                        priority,
                        origin: self.origin(line),
                    });
                }
                Some("policy") => {
                    let p = words
                        .get(1)
                        .ok_or_else(|| self.err(line, "`policy` needs accept or drop"))?;
                    let p = p.to_ascii_lowercase();
                    if p != "accept" && p != "drop" && !p.starts_with('$') {
                        return Err(self.err(line, format!("policy `{p}` is not accept or drop")));
                    }
                    chain.policy = Some((p, self.origin(line)));
                }
                Some("comment") | Some("devices") | Some("flags") | Some("device") => {}
                Some(_) => chain.rules.push(self.rule(&st, line)),
                None => {
                    return Err(self.err(line, "unexpected `{` in a chain"));
                }
            }
        }
        Ok(())
    }

    fn rule(&self, st: &[Node], line: usize) -> Rule {
        let mut words = Vec::new();
        flat(st, &mut words);
        // drop `comment "..."` (its text is not a match or a verdict)
        if let Some(p) = words.iter().position(|w| w == "comment") {
            if p + 1 < words.len() {
                words.drain(p..p + 2);
            }
        }
        Rule {
            words,
            origin: self.origin(line),
        }
    }

    fn table_body(&self, table: &mut Table, body: Vec<Node>) -> Result<(), LineError> {
        for st in statements(body, true) {
            let line = st[0].line();
            match st[0].word() {
                Some("chain") => {
                    let name = st
                        .get(1)
                        .and_then(Node::word)
                        .ok_or_else(|| self.err(line, "`chain` needs a name"))?;
                    let mut chain = Chain {
                        name: name.to_string(),
                        origin: self.origin(line),
                        hook: None,
                        policy: None,
                        rules: Vec::new(),
                    };
                    if let Some(Node::Group(b, _)) = st.get(2) {
                        self.chain_body(&mut chain, b.clone())?;
                    }
                    merge_chain(table, chain);
                }
                Some(
                    "set" | "map" | "flowtable" | "counter" | "quota" | "ct" | "limit" | "secmark"
                    | "synproxy" | "flags" | "comment",
                ) => {}
                Some(w) => {
                    return Err(self.err(line, format!("unexpected `{w}` in a table")));
                }
                None => return Err(self.err(line, "unexpected `{` in a table")),
            }
        }
        Ok(())
    }

    fn table(&self, st: &[Node], i: usize) -> Result<Table, LineError> {
        let line = st[0].line();
        let (family, name, j) = self.family_name(st, i, "table")?;
        let mut t = Table {
            family,
            name,
            origin: self.origin(line),
            chains: Vec::new(),
        };
        if let Some(Node::Group(b, _)) = st.get(j) {
            self.table_body(&mut t, b.clone())?;
        }
        Ok(t)
    }

    fn command(&self, st: Vec<Node>, out: &mut Vec<Command>) -> Result<(), LineError> {
        let line = st[0].line();
        let Some(first) = st[0].word() else {
            return Err(self.err(line, "a block `{` without a command"));
        };
        let w = |i: usize| st.get(i).and_then(Node::word);
        match first {
            "include" => {
                let path = w(1).ok_or_else(|| self.err(line, "`include` needs a file name"))?;
                out.push(Command::Include {
                    path: path.to_string(),
                    origin: self.origin(line),
                });
            }
            "define" | "redefine" => {
                let name = w(1).ok_or_else(|| self.err(line, "`define` needs a name"))?;
                if w(2) != Some("=") {
                    return Err(self.err(line, "`define NAME = VALUE` expected"));
                }
                let mut value = Vec::new();
                flat(&st[3..], &mut value);
                out.push(Command::Define {
                    name: name.to_string(),
                    value,
                });
            }
            "undefine" => {
                let name = w(1).ok_or_else(|| self.err(line, "`undefine` needs a name"))?;
                out.push(Command::Undefine(name.to_string()));
            }
            "table" => out.push(Command::Table(self.table(&st, 1)?)),
            "add" | "create" | "insert" | "replace" => match w(1) {
                Some("table") => out.push(Command::Table(self.table(&st, 2)?)),
                Some("chain") => {
                    let (family, table, j) = self.family_name(&st, 2, "chain")?;
                    let name = w(j).ok_or_else(|| self.err(line, "`add chain` needs a name"))?;
                    let mut chain = Chain {
                        name: name.to_string(),
                        origin: self.origin(line),
                        hook: None,
                        policy: None,
                        rules: Vec::new(),
                    };
                    if let Some(Node::Group(b, _)) = st.get(j + 1) {
                        self.chain_body(&mut chain, b.clone())?;
                    }
                    out.push(Command::Chain {
                        family,
                        table,
                        chain,
                    });
                }
                Some("rule") => {
                    let (family, table, j) = self.family_name(&st, 2, "rule")?;
                    let chain = w(j).ok_or_else(|| self.err(line, "`add rule` needs a chain"))?;
                    let mut k = j + 1;
                    // `add rule t c position N ...` / `handle N` / `index N`
                    while matches!(w(k), Some("position" | "handle" | "index")) {
                        k += 2;
                    }
                    if k >= st.len() {
                        return Err(self.err(line, "`add rule` needs a rule"));
                    }
                    out.push(Command::Rule {
                        family,
                        table,
                        chain: chain.to_string(),
                        rule: self.rule(&st[k..], line),
                        insert: first == "insert",
                    });
                }
                Some(
                    "set" | "map" | "element" | "flowtable" | "counter" | "quota" | "ct" | "limit"
                    | "secmark" | "synproxy",
                ) => {}
                Some(x) => return Err(self.err(line, format!("cannot `{first} {x}`"))),
                None => return Err(self.err(line, format!("`{first}` needs an object"))),
            },
            "flush" => match w(1) {
                Some("ruleset") => out.push(Command::FlushRuleset),
                Some("table") => {
                    let (family, table, _) = self.family_name(&st, 2, "flush table")?;
                    out.push(Command::FlushTable { family, table });
                }
                Some("chain") => {
                    let (family, table, j) = self.family_name(&st, 2, "flush chain")?;
                    let chain = w(j).ok_or_else(|| self.err(line, "`flush chain` needs a name"))?;
                    out.push(Command::FlushChain {
                        family,
                        table,
                        chain: chain.to_string(),
                    });
                }
                Some(_) => {}
                None => return Err(self.err(line, "`flush` needs an object")),
            },
            "delete" | "destroy" => match w(1) {
                Some("table") => {
                    let (family, table, _) = self.family_name(&st, 2, "delete table")?;
                    out.push(Command::DeleteTable { family, table });
                }
                Some("chain") => {
                    let (family, table, j) = self.family_name(&st, 2, "delete chain")?;
                    let chain =
                        w(j).ok_or_else(|| self.err(line, "`delete chain` needs a name"))?;
                    out.push(Command::DeleteChain {
                        family,
                        table,
                        chain: chain.to_string(),
                    });
                }
                Some(_) => {}
                None => return Err(self.err(line, format!("`{first}` needs an object"))),
            },
            "list" | "reset" | "monitor" | "describe" | "export" | "import" | "rename" => {}
            other => return Err(self.err(line, format!("unknown command `{other}`"))),
        }
        Ok(())
    }
}

fn merge_chain(table: &mut Table, chain: Chain) {
    match table.chains.iter_mut().find(|c| c.name == chain.name) {
        Some(c) => {
            if chain.hook.is_some() {
                c.hook = chain.hook;
            }
            if chain.policy.is_some() {
                c.policy = chain.policy;
            }
            c.rules.extend(chain.rules);
        }
        None => table.chains.push(chain),
    }
}

/// Parses one script into its commands (includes not followed).
pub fn parse(text: &str, file: &str) -> Result<Vec<Command>, LineError> {
    let toks = lex(text, file)?;
    let nodes = tree(&toks, file)?;
    let p = P { file };
    let mut out = Vec::new();
    for st in statements(nodes, true) {
        p.command(st, &mut out)?;
    }
    Ok(out)
}

/// The ruleset a script leaves loaded, with every file read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub tables: Vec<Table>,
    /// Files read, in order.
    pub files: Vec<String>,
    /// Whether the script starts from an empty ruleset (`flush ruleset`).
    pub flushes: bool,
}

impl Ruleset {
    fn table_mut(&mut self, family: &str, name: &str) -> Option<&mut Table> {
        self.tables
            .iter_mut()
            .find(|t| t.family == family && t.name == name)
    }

    /// Every base chain of a filter type on `hook` in a family that sees IP traffic, with
    /// its table.
    pub fn base_chains(&self, hook: &str) -> Vec<(&Table, &Chain)> {
        let mut out = Vec::new();
        for t in &self.tables {
            if !matches!(t.family.as_str(), "ip" | "ip6" | "inet") {
                continue;
            }
            for c in &t.chains {
                if c.hook
                    .as_ref()
                    .is_some_and(|h| h.hook == hook && h.kind == "filter")
                {
                    out.push((t, c));
                }
            }
        }
        out
    }

    /// The rules a packet entering `chain` can meet: its own, then those of the regular
    /// chains it jumps or goes to, transitively (each chain once).
    pub fn reachable_rules<'a>(&'a self, table: &'a Table, chain: &'a Chain) -> Vec<&'a Rule> {
        let mut out = Vec::new();
        let mut seen: Vec<&str> = vec![&chain.name];
        let mut queue: Vec<&Chain> = vec![chain];
        while let Some(c) = queue.pop() {
            for r in &c.rules {
                out.push(r);
                if let Verdict::Jump(t) | Verdict::Goto(t) = r.verdict() {
                    if !seen.contains(&t.as_str()) {
                        if let Some(next) = table.chains.iter().find(|x| x.name == t) {
                            seen.push(&next.name);
                            queue.push(next);
                        }
                    }
                }
            }
        }
        out
    }
}

/// Reads files for the loader: `read` returns the text of a path, `glob` the sorted matches
/// of a pattern.
pub trait Source {
    fn read(&self, path: &str) -> Result<String, LineError>;
    fn glob(&self, pattern: &str) -> Result<Vec<String>, LineError>;
}

/// Loads a script and what it includes, applying the commands in order.
pub struct Loader<'s> {
    src: &'s dyn Source,
    defines: HashMap<String, Vec<String>>,
    stack: Vec<String>,
    pub out: Ruleset,
}

impl<'s> Loader<'s> {
    pub fn new(src: &'s dyn Source) -> Self {
        Loader {
            src,
            defines: HashMap::new(),
            stack: Vec::new(),
            out: Ruleset::default(),
        }
    }

    /// Loads `path` (absolute) and everything it includes.
    pub fn load(mut self, path: &str) -> Result<Ruleset, LineError> {
        self.file(path, None)?;
        Ok(self.out)
    }

    fn file(&mut self, path: &str, from: Option<&Origin>) -> Result<(), LineError> {
        let at = |m: String| match from {
            Some(o) => LineError {
                file: o.file.clone(),
                line: o.line,
                message: m,
            },
            None => LineError {
                file: path.to_string(),
                line: 0,
                message: m,
            },
        };
        if self.stack.iter().any(|p| p == path) {
            return Err(at(format!("include loop: {path} includes itself")));
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(at(format!(
                "includes nested deeper than {MAX_INCLUDE_DEPTH}"
            )));
        }
        if self.out.files.len() >= MAX_FILES {
            return Err(at(format!("more than {MAX_FILES} files included")));
        }
        let text = self.src.read(path)?;
        self.out.files.push(path.to_string());
        let cmds = parse(&text, path)?;
        self.stack.push(path.to_string());
        for c in cmds {
            self.apply(c, path)?;
        }
        self.stack.pop();
        Ok(())
    }

    fn subst(&self, rule: &mut Rule) -> Result<(), LineError> {
        let mut out = Vec::with_capacity(rule.words.len());
        for w in &rule.words {
            if let Some(name) = w.strip_prefix('$') {
                let v = self.defines.get(name).ok_or_else(|| LineError {
                    file: rule.origin.file.clone(),
                    line: rule.origin.line,
                    message: format!("`${name}` is not defined"),
                })?;
                out.extend(v.iter().cloned());
            } else {
                out.push(w.clone());
            }
        }
        rule.words = out;
        Ok(())
    }

    fn subst_chain(&self, c: &mut Chain) -> Result<(), LineError> {
        for r in &mut c.rules {
            self.subst(r)?;
        }
        if let Some((p, o)) = &c.policy {
            if let Some(name) = p.strip_prefix('$') {
                let v = self
                    .defines
                    .get(name)
                    .and_then(|v| v.first())
                    .ok_or_else(|| LineError {
                        file: o.file.clone(),
                        line: o.line,
                        message: format!("`${name}` is not defined"),
                    })?;
                c.policy = Some((v.to_ascii_lowercase(), o.clone()));
            }
        }
        Ok(())
    }

    fn apply(&mut self, c: Command, path: &str) -> Result<(), LineError> {
        let missing = |o: &Origin, m: String| LineError {
            file: o.file.clone(),
            line: o.line,
            message: m,
        };
        match c {
            Command::Include { path: inc, origin } => {
                let full = if inc.starts_with('/') {
                    inc.clone()
                } else {
                    // nft searches relative names in its include path (/etc: DEFAULT_INCLUDE_PATH
                    // is the sysconfdir)
                    format!("/etc/{inc}")
                };
                if full.split('/').any(crate::fs::has_wildcard) {
                    for m in self.src.glob(&full)? {
                        self.file(&m, Some(&origin))?;
                    }
                } else {
                    self.file(&full, Some(&origin)).map_err(|e| {
                        if e.line == 0 && e.file == full {
                            missing(&origin, format!("include \"{inc}\": {}", e.message))
                        } else {
                            e
                        }
                    })?;
                }
            }
            Command::Define { name, value } => {
                let mut r = Rule {
                    words: value,
                    origin: Origin::new(path, 0),
                };
                self.subst(&mut r)?;
                self.defines.insert(name, r.words);
            }
            Command::Undefine(n) => {
                self.defines.remove(&n);
            }
            Command::FlushRuleset => {
                self.out.tables.clear();
                self.out.flushes = true;
            }
            Command::Table(mut t) => {
                for c in &mut t.chains {
                    self.subst_chain(c)?;
                }
                match self.out.table_mut(&t.family, &t.name) {
                    Some(existing) => {
                        for c in t.chains {
                            merge_chain(existing, c);
                        }
                    }
                    None => self.out.tables.push(t),
                }
            }
            Command::Chain {
                family,
                table,
                mut chain,
            } => {
                self.subst_chain(&mut chain)?;
                let o = chain.origin.clone();
                let t = self
                    .out
                    .table_mut(&family, &table)
                    .ok_or_else(|| missing(&o, format!("table {family} {table} does not exist")))?;
                merge_chain(t, chain);
            }
            Command::Rule {
                family,
                table,
                chain,
                mut rule,
                insert,
            } => {
                self.subst(&mut rule)?;
                let o = rule.origin.clone();
                let t = self
                    .out
                    .table_mut(&family, &table)
                    .ok_or_else(|| missing(&o, format!("table {family} {table} does not exist")))?;
                let c = t
                    .chains
                    .iter_mut()
                    .find(|c| c.name == chain)
                    .ok_or_else(|| {
                        missing(
                            &o,
                            format!("chain {chain} does not exist in {family} {table}"),
                        )
                    })?;
                if insert {
                    c.rules.insert(0, rule);
                } else {
                    c.rules.push(rule);
                }
            }
            Command::FlushTable { family, table } => {
                if let Some(t) = self.out.table_mut(&family, &table) {
                    for c in &mut t.chains {
                        c.rules.clear();
                    }
                }
            }
            Command::FlushChain {
                family,
                table,
                chain,
            } => {
                if let Some(c) = self
                    .out
                    .table_mut(&family, &table)
                    .and_then(|t| t.chains.iter_mut().find(|c| c.name == chain))
                {
                    c.rules.clear();
                }
            }
            Command::DeleteTable { family, table } => {
                self.out
                    .tables
                    .retain(|t| !(t.family == family && t.name == table));
            }
            Command::DeleteChain {
                family,
                table,
                chain,
            } => {
                if let Some(t) = self.out.table_mut(&family, &table) {
                    t.chains.retain(|c| c.name != chain);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Map(BTreeMap<String, String>);

    impl Source for Map {
        fn read(&self, path: &str) -> Result<String, LineError> {
            self.0.get(path).cloned().ok_or_else(|| LineError {
                file: path.to_string(),
                line: 0,
                message: "No such file or directory".into(),
            })
        }
        fn glob(&self, pattern: &str) -> Result<Vec<String>, LineError> {
            let (dir, pat) = pattern.rsplit_once('/').unwrap();
            Ok(self
                .0
                .keys()
                .filter(|k| {
                    k.rsplit_once('/')
                        .is_some_and(|(d, n)| d == dir && crate::fs::fnmatch(pat, n))
                })
                .cloned()
                .collect())
        }
    }

    fn load(files: &[(&str, &str)]) -> Result<Ruleset, LineError> {
        let m = Map(files
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect());
        Loader::new(&m).load(files[0].0)
    }

    /// Debian 12's and 13's stock /etc/nftables.conf, copied from the debootstrapped roots.
    const STOCK: &str = include_str!("testdata/debian12-nftables.conf");

    #[test]
    fn debian_stock_file_has_chains_without_policy_or_rules() {
        let r = load(&[("/etc/nftables.conf", STOCK)]).unwrap();
        assert!(r.flushes);
        assert_eq!(r.tables.len(), 1);
        let t = &r.tables[0];
        assert_eq!((t.family.as_str(), t.name.as_str()), ("inet", "filter"));
        let names: Vec<&str> = t.chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["input", "forward", "output"]);
        let input = &t.chains[0];
        let h = input.hook.as_ref().unwrap();
        assert_eq!(
            (h.kind.as_str(), h.hook.as_str(), h.priority.as_str()),
            ("filter", "input", "filter")
        );
        assert_eq!(h.origin.line, 7);
        assert!(input.policy.is_none());
        assert!(input.rules.is_empty());
    }

    const HARDENED: &str = r#"#!/usr/sbin/nft -f
flush ruleset
define ssh_ports = { 22, 2222 }
table inet filter {
    set blocked { type ipv4_addr; }
    chain input {
        type filter hook input priority 0; policy drop;
        iif lo accept comment "loopback"
        ip saddr 127.0.0.0/8 counter drop
        ip6 saddr ::1 counter drop
        ct state established,related accept
        tcp dport $ssh_ports accept
        jump services
    }
    chain services {
        tcp dport { 80, https } \
            accept
    }
    chain forward { type filter hook forward priority 0; policy drop; }
    chain output { type filter hook output priority 0; policy accept; }
}
include "/etc/nftables.d/*.nft"
"#;

    #[test]
    fn rules_verdicts_sets_variables_and_includes() {
        let r = load(&[
            ("/etc/nftables.conf", HARDENED),
            (
                "/etc/nftables.d/10-extra.nft",
                "add rule inet filter services udp dport 53 accept\n",
            ),
        ])
        .unwrap();
        assert_eq!(r.files.len(), 2);
        let (t, input) = r.base_chains("input")[0];
        assert_eq!(input.policy.as_ref().unwrap().0, "drop");
        assert_eq!(input.policy.as_ref().unwrap().1.line, 7);
        let rules = r.reachable_rules(t, input);
        assert_eq!(rules.len(), 8);
        assert_eq!(rules[0].words, ["iif", "lo", "accept"]);
        assert_eq!(rules[0].origin.line, 8);
        assert_eq!(rules[1].verdict(), Verdict::Drop);
        assert_eq!(
            rules[3].values_after(&["ct", "state"]).unwrap(),
            ["established", "related"]
        );
        assert_eq!(
            rules[4].values_after(&["tcp", "dport"]).unwrap(),
            ["22", "2222"]
        );
        assert_eq!(rules[5].verdict(), Verdict::Jump("services".into()));
        assert_eq!(
            rules[6].values_after(&["tcp", "dport"]).unwrap(),
            ["80", "https"]
        );
        assert_eq!(rules[6].verdict(), Verdict::Accept);
        assert_eq!(rules[6].origin.line, 16);
        assert_eq!(rules[7].origin.file, "/etc/nftables.d/10-extra.nft");
        assert_eq!(r.base_chains("forward").len(), 1);
    }

    #[test]
    fn add_commands_flush_and_delete() {
        let s = "table ip t\nadd chain ip t in { type filter hook input priority 0 ; policy drop ; }\nadd rule ip t in tcp dport 22 accept\ninsert rule ip t in iifname \"lo\" accept\nadd table ip old\ndelete table ip old\n";
        let r = load(&[("/etc/nftables.conf", s)]).unwrap();
        assert_eq!(r.tables.len(), 1);
        let c = &r.tables[0].chains[0];
        assert_eq!(c.rules[0].words, ["iifname", "lo", "accept"]);
        let s2 = format!("{s}flush chain ip t in\n");
        let r = load(&[("/etc/nftables.conf", &s2)]).unwrap();
        assert!(r.tables[0].chains[0].rules.is_empty());
        // later `table` blocks merge into the same table; a later policy wins
        let s3 = "table inet f { chain i { type filter hook input priority 0; } }\ntable inet f { chain i { policy drop; tcp dport 22 accept; } }\n";
        let r = load(&[("/etc/nftables.conf", s3)]).unwrap();
        assert_eq!(r.tables.len(), 1);
        assert_eq!(r.tables[0].chains[0].policy.as_ref().unwrap().0, "drop");
        assert_eq!(r.tables[0].chains[0].rules.len(), 1);
        // default family is ip
        let r = load(&[("/etc/nftables.conf", "table f\n")]).unwrap();
        assert_eq!(r.tables[0].family, "ip");
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("table inet f {\n chain i {\n", 2, "never closed"),
            ("}\n", 1, "without a matching"),
            (
                "table inet f {\n chain i { policy maybe; }\n}\n",
                2,
                "not accept or drop",
            ),
            ("tabel inet f\n", 1, "unknown command `tabel`"),
            (
                "table inet f {\n  chian i { }\n}\n",
                2,
                "unexpected `chian`",
            ),
            ("add rule inet f i accept\n", 1, "does not exist"),
            (
                "table inet f { chain i { tcp dport $nope accept } }\n",
                1,
                "`$nope` is not defined",
            ),
            ("include \"/etc/missing.nft\"\n", 1, "No such file"),
            ("\n\ninclude \"/etc/nftables.conf\"\n", 3, "include loop"),
            (
                "table ip t { chain c { iifname \"lo accept } }\n",
                1,
                "unterminated",
            ),
        ];
        for (text, line, want) in cases {
            let e = load(&[("/etc/nftables.conf", text)]).unwrap_err();
            assert_eq!(e.file, "/etc/nftables.conf", "{text}: {e}");
            assert_eq!(e.line, *line, "{text}: {e}");
            assert!(e.message.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn include_depth_and_count_are_bounded() {
        let mut files: Vec<(String, String)> = Vec::new();
        for i in 0..40 {
            files.push((
                format!("/etc/n{i}.nft"),
                format!("include \"/etc/n{}.nft\"\n", i + 1),
            ));
        }
        files.push(("/etc/n40.nft".into(), String::new()));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let e = load(&refs).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e}");
        // a glob matching nothing is fine, as in nft
        assert!(load(&[("/etc/nftables.conf", "include \"/etc/nftables.d/*.nft\"\n")]).is_ok());
    }

    #[test]
    fn negated_and_absent_values() {
        let r = Rule {
            words: "iif != lo tcp dport != 22 accept"
                .split(' ')
                .map(String::from)
                .collect(),
            origin: Origin::new("/x", 1),
        };
        assert_eq!(r.values_after(&["tcp", "dport"]), None);
        assert_eq!(r.values_after(&["udp", "dport"]), None);
        assert_eq!(r.values_after(&["iif"]), None);
    }
}
