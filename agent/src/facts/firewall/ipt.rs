//! Saved iptables / ip6tables rules in `iptables-save` format, as `iptables-restore` reads
//! them at boot: Debian's iptables-persistent (`/etc/iptables/rules.v4`, `rules.v6`), RHEL's
//! iptables-services (`/etc/sysconfig/iptables`, `ip6tables`), and ufw's rule files
//! (`/etc/ufw/before.rules`, `user.rules`, ...), which use the same syntax.
//!
//! Why: the default policy of INPUT and the rules that accept loopback and established
//! traffic are in these files; whether a persistence unit is enabled says nothing about them.
//!
//! Format: `*table` opens a table, `:CHAIN POLICY [packets:bytes]` declares a chain (policy
//! `-` for a user chain), `-A CHAIN ...` / `-I CHAIN [N] ...` add rules, `COMMIT` closes the
//! table; `#` lines are comments. Arguments are split as iptables-restore splits them
//! (whitespace, `"..."` quoting). A line iptables-restore rejects (a rule outside a table, a
//! rule for a chain that is neither built in nor declared, a bad policy, a table without
//! `COMMIT`) is an error naming `file:line`. [`parse`] is pure.

use crate::facts::origin::{LineError, Origin};

/// One rule: its chain, arguments after the chain name, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub chain: String,
    pub args: Vec<String>,
    pub origin: Origin,
}

/// A chain declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub name: String,
    /// `ACCEPT` / `DROP` for built-in chains, `None` for user chains (`-`).
    pub policy: Option<String>,
    pub origin: Origin,
}

/// One `*table` ... `COMMIT` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub origin: Origin,
    pub chains: Vec<Chain>,
    pub rules: Vec<Rule>,
}

/// A parsed rules file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub file: String,
    pub tables: Vec<Table>,
}

fn builtin(table: &str, chain: &str) -> bool {
    let list: &[&str] = match table {
        "filter" | "security" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &[],
    };
    list.contains(&chain)
}

/// A line iptables-restore cannot split into words.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("unterminated quoted argument")]
struct UnterminatedQuote;
crate::error_text::debug_as_display!(UnterminatedQuote);

/// Splits a line as iptables-restore does: whitespace, with `"..."` quoting (`\"` inside).
fn split(line: &str) -> Result<Vec<String>, UnterminatedQuote> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut has = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => {
                quoted = !quoted;
                has = true;
            }
            c if c.is_whitespace() && !quoted => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(UnterminatedQuote);
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// Parses an iptables-save file.
pub fn parse(text: &str, file: &str) -> Result<Rules, LineError> {
    let err = |line: usize, m: String| LineError {
        file: file.to_string(),
        line,
        message: m,
    };
    let mut out = Rules {
        file: file.to_string(),
        tables: Vec::new(),
    };
    let mut open: Option<Table> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            if let Some(t) = &open {
                return Err(err(
                    n,
                    format!("table {} is not committed before *{name}", t.name),
                ));
            }
            if !matches!(name, "filter" | "nat" | "mangle" | "raw" | "security") {
                return Err(err(n, format!("unknown table `{name}`")));
            }
            open = Some(Table {
                name: name.to_string(),
                origin: Origin::new(file, n),
                chains: Vec::new(),
                rules: Vec::new(),
            });
            continue;
        }
        if line == "COMMIT" {
            match open.take() {
                Some(t) => out.tables.push(t),
                None => return Err(err(n, "COMMIT outside a table".into())),
            }
            continue;
        }
        let Some(t) = open.as_mut() else {
            return Err(err(
                n,
                "rule or chain outside a table (no `*filter` line before it)".into(),
            ));
        };
        if let Some(decl) = line.strip_prefix(':') {
            let f: Vec<&str> = decl.split_whitespace().collect();
            let (Some(name), Some(pol)) = (f.first(), f.get(1)) else {
                return Err(err(n, "chain declaration needs a name and a policy".into()));
            };
            let policy = match *pol {
                "-" => None,
                "ACCEPT" | "DROP" => {
                    if !builtin(&t.name, name) {
                        return Err(err(n, format!("user chain {name} cannot have a policy")));
                    }
                    Some(pol.to_string())
                }
                p => return Err(err(n, format!("bad policy `{p}` for chain {name}"))),
            };
            t.chains.retain(|c| c.name != *name);
            t.chains.push(Chain {
                name: name.to_string(),
                policy,
                origin: Origin::new(file, n),
            });
            continue;
        }
        let words = split(line).map_err(|m| err(n, m.to_string()))?;
        let (cmd, rest) = words.split_first().expect("non-empty line");
        let insert = match cmd.as_str() {
            "-A" | "--append" => false,
            "-I" | "--insert" => true,
            "-N" | "--new-chain" => {
                let name = rest
                    .first()
                    .ok_or_else(|| err(n, "-N needs a chain".into()))?;
                t.chains.push(Chain {
                    name: name.clone(),
                    policy: None,
                    origin: Origin::new(file, n),
                });
                continue;
            }
            "-P" | "--policy" => {
                let (Some(c), Some(p)) = (rest.first(), rest.get(1)) else {
                    return Err(err(n, "-P needs a chain and a policy".into()));
                };
                if !builtin(&t.name, c) || !matches!(p.as_str(), "ACCEPT" | "DROP") {
                    return Err(err(n, format!("bad policy `{p}` for chain {c}")));
                }
                t.chains.retain(|x| x.name != *c);
                t.chains.push(Chain {
                    name: c.clone(),
                    policy: Some(p.clone()),
                    origin: Origin::new(file, n),
                });
                continue;
            }
            "-F" | "--flush" | "-X" | "--delete-chain" | "-Z" | "--zero" => continue,
            other => {
                return Err(err(
                    n,
                    format!("unexpected `{other}` (expected -A, -I, :CHAIN, COMMIT)"),
                ))
            }
        };
        let chain = rest
            .first()
            .ok_or_else(|| err(n, format!("{cmd} needs a chain")))?
            .clone();
        if !builtin(&t.name, &chain) && !t.chains.iter().any(|c| c.name == chain) {
            return Err(err(
                n,
                format!("chain {chain} is not declared in table {}", t.name),
            ));
        }
        let mut args: Vec<String> = rest[1..].to_vec();
        // `-I CHAIN N`: a rule number
        if insert
            && args
                .first()
                .is_some_and(|a| a.bytes().all(|b| b.is_ascii_digit()))
        {
            args.remove(0);
        }
        let rule = Rule {
            chain,
            args,
            origin: Origin::new(file, n),
        };
        if insert {
            let at = t
                .rules
                .iter()
                .position(|r| r.chain == rule.chain)
                .unwrap_or(t.rules.len());
            t.rules.insert(at, rule);
        } else {
            t.rules.push(rule);
        }
    }
    if let Some(t) = open {
        return Err(LineError {
            file: file.to_string(),
            line: t.origin.line,
            message: format!("table {} is never committed (COMMIT expected)", t.name),
        });
    }
    Ok(out)
}

impl Rule {
    /// The value of the first option among `names`, with whether it is negated (`! -i lo` or
    /// `-i ! lo`).
    pub fn opt(&self, names: &[&str]) -> Option<(String, bool)> {
        let a = &self.args;
        for i in 0..a.len() {
            if names.contains(&a[i].as_str()) {
                let neg_before = i > 0 && a[i - 1] == "!";
                let (v, neg_after) = match a.get(i + 1).map(String::as_str) {
                    Some("!") => (a.get(i + 2)?.clone(), true),
                    Some(v) => (v.to_string(), false),
                    None => return None,
                };
                return Some((v, neg_before || neg_after));
            }
        }
        None
    }

    /// `-j TARGET` / `-g CHAIN`.
    pub fn target(&self) -> Option<String> {
        self.opt(&["-j", "--jump", "-g", "--goto"]).map(|v| v.0)
    }
}

impl Table {
    pub fn policy(&self, chain: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == chain)
    }

    /// Rules a packet entering `chain` can meet: its own, then those of user chains it jumps
    /// to, transitively (each chain once).
    pub fn reachable_rules<'a>(&'a self, chain: &str) -> Vec<&'a Rule> {
        let mut out = Vec::new();
        let mut seen = vec![chain.to_string()];
        let mut queue = vec![chain.to_string()];
        while let Some(c) = queue.pop() {
            for r in self.rules.iter().filter(|r| r.chain == c) {
                out.push(r);
                if let Some(t) = r.target() {
                    if !seen.contains(&t)
                        && self
                            .chains
                            .iter()
                            .any(|x| x.name == t && x.policy.is_none())
                    {
                        seen.push(t.clone());
                        queue.push(t);
                    }
                }
            }
        }
        out
    }
}

impl Rules {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ufw's stock before.rules from the debootstrapped Debian 12 root (trixie's is the same).
    const UFW_BEFORE: &str = include_str!("testdata/debian12-ufw-before.rules");
    const UFW_USER: &str = include_str!("testdata/debian12-ufw-user.rules");

    #[test]
    fn ufw_stock_rule_files() {
        let r = parse(UFW_BEFORE, "/etc/ufw/before.rules").unwrap();
        let t = r.table("filter").unwrap();
        assert!(t.chains.iter().all(|c| c.policy.is_none()));
        let lo = t
            .rules
            .iter()
            .find(|r| r.chain == "ufw-before-input" && r.opt(&["-i"]).is_some())
            .unwrap();
        assert_eq!(lo.opt(&["-i"]), Some(("lo".into(), false)));
        assert_eq!(lo.target().as_deref(), Some("ACCEPT"));
        assert_eq!(lo.origin.line, 21);
        let est = t
            .rules
            .iter()
            .find(|r| r.opt(&["--ctstate"]).is_some())
            .unwrap();
        assert_eq!(est.opt(&["--ctstate"]).unwrap().0, "RELATED,ESTABLISHED");
        let u = parse(UFW_USER, "/etc/ufw/user.rules").unwrap();
        let lim = &u.table("filter").unwrap().rules[0];
        assert_eq!(lim.opt(&["--log-prefix"]).unwrap().0, "[UFW LIMIT BLOCK] ");
    }

    const SAVED: &str = "# Generated by iptables-save v1.8.9\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [4:240]\n:svc - [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -s 127.0.0.0/8 ! -i lo -j DROP\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -j svc\n-A svc -p tcp -m tcp --dport 22 -j ACCEPT\n-A svc -p tcp -m multiport --dports 80,443,8000:8080 -m comment --comment \"web ports\" -j ACCEPT\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";

    #[test]
    fn saved_rules_policies_targets_and_reachability() {
        let r = parse(SAVED, "/etc/iptables/rules.v4").unwrap();
        assert_eq!(r.tables.len(), 2);
        let t = r.table("filter").unwrap();
        assert_eq!(t.policy("INPUT").unwrap().policy.as_deref(), Some("DROP"));
        assert_eq!(t.policy("INPUT").unwrap().origin.line, 3);
        let rules = t.reachable_rules("INPUT");
        assert_eq!(rules.len(), 6);
        assert_eq!(rules[1].opt(&["-i"]), Some(("lo".into(), true)));
        assert_eq!(rules[1].opt(&["-s", "--source"]).unwrap().0, "127.0.0.0/8");
        assert_eq!(rules[5].opt(&["--dports"]).unwrap().0, "80,443,8000:8080");
        assert_eq!(rules[5].opt(&["--comment"]).unwrap().0, "web ports");
        assert_eq!(rules[5].origin.line, 12);
    }

    #[test]
    fn rejected_lines_name_file_and_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("-A INPUT -j ACCEPT\n", 1, "outside a table"),
            ("*filter\n:INPUT MAYBE [0:0]\nCOMMIT\n", 2, "bad policy"),
            ("*filter\n-A nochain -j ACCEPT\nCOMMIT\n", 2, "not declared"),
            ("*filter\n:INPUT DROP [0:0]\n", 1, "never committed"),
            ("COMMIT\n", 1, "outside a table"),
            (
                "*filter\n:mine DROP [0:0]\nCOMMIT\n",
                2,
                "cannot have a policy",
            ),
            (
                "*filter\n-A INPUT -m comment --comment \"x\nCOMMIT\n",
                2,
                "unterminated",
            ),
            ("*filter\nbogus\nCOMMIT\n", 2, "unexpected `bogus`"),
            ("*foo\nCOMMIT\n", 1, "unknown table"),
        ];
        for (text, line, want) in cases {
            let e = parse(text, "/etc/iptables/rules.v4").unwrap_err();
            assert_eq!(e.line, *line, "{text}: {e}");
            assert!(e.message.contains(want), "{text}: {e}");
        }
    }
}
