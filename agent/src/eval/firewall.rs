//! Evaluation of `probe = "firewall"` (semantics in `catalog::firewall`): the rules of the
//! framework enabled at boot, judged per address family, with `file:line` evidence.

use super::{all, Outcome};
use crate::catalog::firewall::{FirewallProbe, FirewallTest, FwHook};
use crate::facts::firewall::{ipt, nft, ufw, Firewall, Framework};
use crate::facts::origin::{LineError, Origin};
use crate::facts::Facts;
use crate::findings::Evidence;

pub fn firewall(p: &FirewallProbe, f: &Facts) -> Outcome {
    let fw = f.firewall();
    let names: Vec<&str> = fw.active.iter().map(|a| a.framework.as_str()).collect();
    let because = |fw: &Firewall| -> Vec<Evidence> {
        fw.active
            .iter()
            .map(|a| {
                Evidence::msg(format!(
                    "{} is enabled at boot ({})",
                    a.framework.as_str(),
                    a.because.join(", ")
                ))
            })
            .collect()
    };
    // listening ports first: without live sockets (an image) open_ports is NOT_APPLICABLE
    // whatever the firewall
    let services = Services::new(f);
    let sockets = if p.test == FirewallTest::OpenPorts {
        match f.sockets() {
            Ok(s) => Some(
                s.iter()
                    .filter(|s| !s.is_loopback())
                    .map(|s| Listen {
                        proto: s.protocol,
                        v6: s.family == 6,
                        port: s.port,
                    })
                    .fold(Vec::<Listen>::new(), |mut v, l| {
                        if !v.contains(&l) {
                            v.push(l);
                        }
                        v
                    }),
            ),
            Err(e) => return Outcome::from(e),
        }
    } else {
        None
    };
    if fw.active.is_empty() {
        return Outcome::fail(vec![Evidence::msg(
            "no host firewall is enabled at boot (nftables.service, ufw with ENABLED=yes, netfilter-persistent/iptables.service, firewalld.service)",
        )]);
    }
    match p.test {
        FirewallTest::Enabled => return Outcome::pass(because(&fw)),
        FirewallTest::SingleFramework => {
            return Outcome::verdict(fw.active.len() == 1, {
                let mut e = because(&fw);
                if names.len() > 1 {
                    e.insert(
                        0,
                        Evidence::msg(format!(
                            "{} firewall frameworks start at boot ({}): their rules interfere",
                            names.len(),
                            names.join(", ")
                        )),
                    );
                }
                e
            })
        }
        _ => {}
    }
    let mut outs = Vec::new();
    for a in &fw.active {
        let r = match a.framework {
            Framework::Nftables => judge_nft(p, &fw, sockets.as_deref(), &services),
            Framework::Ufw => judge_ufw(p, &fw, sockets.as_deref(), &services),
            Framework::Iptables => judge_ipt(p, &fw, sockets.as_deref(), &services),
            Framework::Firewalld => judge_firewalld(p, &fw),
        };
        outs.push(r);
    }
    all(outs)
}

fn error(e: &LineError) -> Outcome {
    Outcome::error(format!("firewall rules rejected: {e}"))
}

fn ev(msg: impl Into<String>, o: &Origin) -> Evidence {
    Evidence::at(msg, &o.file, (o.line > 0).then_some(o.line as u32))
}

/// A listening port to find a rule for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub proto: &'static str,
    pub v6: bool,
    pub port: u16,
}

/// Service names → ports from the root's `/etc/services` (read only when a name appears).
pub struct Services<'a> {
    f: Option<&'a Facts<'a>>,
    table: std::cell::OnceCell<Vec<(String, u16)>>,
}

impl<'a> Services<'a> {
    fn new(f: &'a Facts<'a>) -> Self {
        Services {
            f: Some(f),
            table: std::cell::OnceCell::new(),
        }
    }

    #[cfg(test)]
    fn fixed(t: Vec<(String, u16)>) -> Services<'static> {
        let s = Services {
            f: None,
            table: std::cell::OnceCell::new(),
        };
        let _ = s.table.set(t);
        s
    }

    fn port(&self, name: &str) -> Option<u16> {
        let t = self.table.get_or_init(|| {
            let Some(f) = self.f else { return vec![] };
            let Ok(text) = f.text("/etc/services") else {
                return vec![];
            };
            let mut v = Vec::new();
            for l in text.content.lines() {
                let l = l.split('#').next().unwrap_or("");
                let mut w = l.split_whitespace();
                let (Some(n), Some(pp)) = (w.next(), w.next()) else {
                    continue;
                };
                let Some(port) = pp.split('/').next().and_then(|x| x.parse().ok()) else {
                    continue;
                };
                v.push((n.to_string(), port));
                for alias in w {
                    v.push((alias.to_string(), port));
                }
            }
            v
        });
        t.iter().find(|(n, _)| n == name).map(|x| x.1)
    }

    /// Whether one value (`22`, `1000-2000`, `1000:2000`, `ssh`) covers `port`.
    fn covers(&self, value: &str, port: u16) -> bool {
        let one = |s: &str| -> Option<u16> { s.parse().ok().or_else(|| self.port(s)) };
        if let Some((a, b)) = value.split_once(['-', ':']) {
            if let (Some(a), Some(b)) = (one(a), one(b)) {
                return (a..=b).contains(&port);
            }
        }
        one(value) == Some(port)
    }
}

// ---------------------------------------------------------------- nftables

fn is_lo(r: &nft::Rule, dir: &str) -> bool {
    let (a, b) = if dir == "in" {
        ("iif", "iifname")
    } else {
        ("oif", "oifname")
    };
    [a, b].iter().any(|k| {
        r.values_after(&[k])
            .is_some_and(|v| v.len() == 1 && v[0] == "lo")
    })
}

/// A rule that matches every packet: only counters, logging and the verdict.
fn nft_unconditional(r: &nft::Rule) -> bool {
    let w = &r.words;
    let mut i = 0;
    while i < w.len() {
        match w[i].as_str() {
            "counter" | "accept" | "drop" | "log" => i += 1,
            "packets" | "bytes" | "prefix" | "level" | "group" => i += 2,
            // `reject [with ...]`: the rest only says how
            "reject" => return true,
            _ => return false,
        }
    }
    true
}

/// Whether a chain drops what no rule accepts: policy drop, or an unconditional drop/reject
/// before any unconditional accept.
fn nft_chain_denies(c: &nft::Chain) -> Result<Evidence, Evidence> {
    for r in &c.rules {
        if nft_unconditional(r) {
            return match r.verdict() {
                nft::Verdict::Accept => Err(ev(
                    format!(
                        "chain {} accepts every packet: {}",
                        c.name,
                        r.words.join(" ")
                    ),
                    &r.origin,
                )),
                nft::Verdict::Drop | nft::Verdict::Reject => Ok(ev(
                    format!("chain {} ends in {}", c.name, r.words.join(" ")),
                    &r.origin,
                )),
                _ => continue,
            };
        }
    }
    match &c.policy {
        Some((p, o)) if p == "drop" => Ok(ev(format!("chain {} policy drop", c.name), o)),
        Some((p, o)) => Err(ev(format!("chain {} policy {p}", c.name), o)),
        None => Err(ev(
            format!(
                "chain {} has no policy (nftables accepts by default)",
                c.name
            ),
            c.hook.as_ref().map(|h| &h.origin).unwrap_or(&c.origin),
        )),
    }
}

const V4: &[&str] = &["ip", "inet"];
const V6: &[&str] = &["ip6", "inet"];

fn judge_nft(p: &FirewallProbe, fw: &Firewall, socks: Option<&[Listen]>, sv: &Services) -> Outcome {
    let rs = match &fw.nft {
        Err(e) => return error(e),
        Ok(None) => {
            return Outcome::fail(vec![Evidence::msg(format!(
                "nftables.service is enabled but its ruleset {} does not exist",
                fw.nft_path
            ))])
        }
        Ok(Some(r)) => r,
    };
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let fams = [("IPv4", V4), ("IPv6", V6)];
    let chains = |hook: &str, fam: &[&str]| -> Vec<(&nft::Table, &nft::Chain)> {
        rs.base_chains(hook)
            .into_iter()
            .filter(|(t, _)| fam.contains(&t.family.as_str()))
            .collect()
    };
    let rules_of = |hook: &str, fam: &[&str]| -> Vec<&nft::Rule> {
        chains(hook, fam)
            .into_iter()
            .flat_map(|(t, c)| rs.reachable_rules(t, c))
            .collect()
    };
    match p.test {
        FirewallTest::DefaultDeny => {
            for hook in p.hooks() {
                for (fname, fam) in fams {
                    let cs = chains(hook.as_str(), fam);
                    if cs.is_empty() {
                        bad.push(Evidence::msg(format!(
                            "{}: no {fname} filter base chain on hook {} ({fname} traffic is not filtered)",
                            fw.nft_path,
                            hook.as_str()
                        )));
                        continue;
                    }
                    let mut fails = Vec::new();
                    let mut ok = None;
                    for (_, c) in &cs {
                        match nft_chain_denies(c) {
                            Ok(e) => ok = Some(e),
                            Err(e) => fails.push(e),
                        }
                    }
                    match ok {
                        Some(e) => good.push(e),
                        None => bad.extend(fails),
                    }
                }
            }
        }
        FirewallTest::Loopback => {
            let v4 = rules_of("input", V4);
            let v6 = rules_of("input", V6);
            let lo_in = |rules: &[&nft::Rule]| {
                rules
                    .iter()
                    .find(|r| is_lo(r, "in") && r.verdict() == nft::Verdict::Accept)
                    .map(|r| ev(r.words.join(" "), &r.origin))
            };
            let spoof = |rules: &[&nft::Rule], key: &str, addrs: &[&str]| {
                rules
                    .iter()
                    .find(|r| {
                        matches!(r.verdict(), nft::Verdict::Drop | nft::Verdict::Reject)
                            && !is_lo(r, "in")
                            && r.values_after(&[key, "saddr"])
                                .is_some_and(|v| v.iter().any(|a| addrs.contains(&a.as_str())))
                    })
                    .map(|r| ev(r.words.join(" "), &r.origin))
            };
            for (fname, rules, key, addrs, shown) in [
                (
                    "IPv4",
                    &v4,
                    "ip",
                    &["127.0.0.0/8"][..],
                    "ip saddr 127.0.0.0/8 drop",
                ),
                (
                    "IPv6",
                    &v6,
                    "ip6",
                    &["::1", "::1/128"][..],
                    "ip6 saddr ::1 drop",
                ),
            ] {
                match lo_in(rules) {
                    Some(e) => good.push(e),
                    None => bad.push(Evidence::msg(format!(
                        "{}: no {fname} input rule accepts the loopback interface (iif lo accept)",
                        fw.nft_path
                    ))),
                }
                match spoof(rules, key, addrs) {
                    Some(e) => good.push(e),
                    None => bad.push(Evidence::msg(format!(
                        "{}: no {fname} input rule drops loopback addresses from other interfaces ({shown})",
                        fw.nft_path
                    ))),
                }
            }
            // output: only matters when output drops by default
            for (fname, fam) in fams {
                let out = chains("output", fam);
                if !out.is_empty() && out.iter().any(|(_, c)| nft_chain_denies(c).is_ok()) {
                    let rules = rules_of("output", fam);
                    match rules
                        .iter()
                        .find(|r| is_lo(r, "out") && r.verdict() == nft::Verdict::Accept)
                    {
                        Some(r) => good.push(ev(r.words.join(" "), &r.origin)),
                        None => bad.push(Evidence::msg(format!(
                            "{}: output drops by default but no {fname} output rule accepts the loopback interface (oif lo accept)",
                            fw.nft_path
                        ))),
                    }
                }
            }
        }
        FirewallTest::Established => {
            for (fname, fam) in fams {
                let rules = rules_of("input", fam);
                match rules.iter().find(|r| {
                    r.verdict() == nft::Verdict::Accept
                        && r.values_after(&["ct", "state"])
                            .is_some_and(|v| v.iter().any(|s| s == "established"))
                }) {
                    Some(r) => good.push(ev(r.words.join(" "), &r.origin)),
                    None => bad.push(Evidence::msg(format!(
                        "{}: no {fname} input rule accepts established connections (ct state established,related accept)",
                        fw.nft_path
                    ))),
                }
            }
        }
        FirewallTest::OpenPorts => {
            for l in socks.unwrap_or(&[]) {
                let rules = rules_of("input", if l.v6 { V6 } else { V4 });
                let hit = rules.iter().find(|r| {
                    r.verdict() == nft::Verdict::Accept
                        && [l.proto, "th"].iter().any(|k| {
                            r.values_after(&[k, "dport"])
                                .is_some_and(|v| v.iter().any(|x| sv.covers(x, l.port)))
                        })
                });
                push_port(
                    l,
                    hit.map(|r| ev(r.words.join(" "), &r.origin)),
                    &mut good,
                    &mut bad,
                );
            }
            if socks.is_some_and(|s| s.is_empty()) {
                good.push(Evidence::msg(
                    "no TCP or UDP port listens on a non-loopback address",
                ));
            }
        }
        FirewallTest::Enabled | FirewallTest::SingleFramework => {}
    }
    verdict(good, bad)
}

fn push_port(l: &Listen, hit: Option<Evidence>, good: &mut Vec<Evidence>, bad: &mut Vec<Evidence>) {
    let fam = if l.v6 { "IPv6" } else { "IPv4" };
    match hit {
        Some(mut e) => {
            e.message = format!("{}/{} ({fam}) accepted by: {}", l.port, l.proto, e.message);
            good.push(e)
        }
        None => bad.push(Evidence::msg(format!(
            "{}/{} listens ({fam}) but no input rule accepts it",
            l.port, l.proto
        ))),
    }
}

fn verdict(good: Vec<Evidence>, bad: Vec<Evidence>) -> Outcome {
    if bad.is_empty() {
        Outcome::pass(good)
    } else {
        Outcome::fail(bad)
    }
}

// ---------------------------------------------------------------- iptables / ufw

/// A rule with nothing but a target (and a comment or a log prefix).
fn ipt_unconditional(r: &ipt::Rule) -> bool {
    let mut i = 0;
    let a = &r.args;
    while i < a.len() {
        match a[i].as_str() {
            "-j" | "--jump" | "-g" | "--goto" | "--comment" | "--reject-with" => i += 2,
            "-m" if a.get(i + 1).is_some_and(|m| m == "comment") => i += 2,
            _ => return false,
        }
    }
    true
}

fn ipt_accepts(r: &ipt::Rule) -> bool {
    r.target()
        .is_some_and(|t| t == "ACCEPT" || t.ends_with("-user-limit-accept"))
}

fn ipt_drops(r: &ipt::Rule) -> bool {
    r.target().is_some_and(|t| t == "DROP" || t == "REJECT")
}

fn ipt_chain_denies(t: &ipt::Table, chain: &str) -> Result<Evidence, Evidence> {
    for r in t.rules.iter().filter(|r| r.chain == chain) {
        if ipt_unconditional(r) {
            if ipt_accepts(r) {
                return Err(ev(
                    format!(
                        "{chain} accepts every packet: -A {chain} {}",
                        r.args.join(" ")
                    ),
                    &r.origin,
                ));
            }
            if ipt_drops(r) {
                return Ok(ev(
                    format!("{chain} ends in -A {chain} {}", r.args.join(" ")),
                    &r.origin,
                ));
            }
        }
    }
    match t.policy(chain) {
        Some(c) if c.policy.as_deref() == Some("DROP") => {
            Ok(ev(format!(":{chain} DROP"), &c.origin))
        }
        Some(c) => Err(ev(
            format!(":{chain} {}", c.policy.as_deref().unwrap_or("-")),
            &c.origin,
        )),
        None => Err(ev(
            format!("{chain} is not declared (policy ACCEPT)"),
            &t.origin,
        )),
    }
}

fn lo(r: &ipt::Rule, opt: &[&str]) -> bool {
    r.opt(opt).is_some_and(|(v, neg)| v == "lo" && !neg)
}

fn shown(r: &ipt::Rule) -> String {
    format!("-A {} {}", r.chain, r.args.join(" "))
}

/// Judges loopback/established/open-ports over the rules of `input` (and `output`) chains.
#[allow(clippy::too_many_arguments)]
fn judge_rules(
    test: FirewallTest,
    fam: &str,
    input: &[&ipt::Rule],
    output: &[&ipt::Rule],
    output_denies: bool,
    v6: bool,
    where_: &str,
    socks: Option<&[Listen]>,
    sv: &Services,
    good: &mut Vec<Evidence>,
    bad: &mut Vec<Evidence>,
) {
    let found = |rules: &[&ipt::Rule], pred: &dyn Fn(&ipt::Rule) -> bool| {
        rules
            .iter()
            .find(|r| pred(r))
            .map(|r| ev(shown(r), &r.origin))
    };
    let mut need = |e: Option<Evidence>, what: String| match e {
        Some(e) => good.push(e),
        None => bad.push(Evidence::msg(format!("{where_}: no {fam} rule {what}"))),
    };
    match test {
        FirewallTest::Loopback => {
            need(
                found(input, &|r| lo(r, &["-i", "--in-interface"]) && ipt_accepts(r)),
                "accepts input on the loopback interface (-i lo -j ACCEPT)".into(),
            );
            let addrs: &[&str] = if v6 { &["::1", "::1/128"] } else { &["127.0.0.0/8"] };
            need(
                found(input, &|r| {
                    ipt_drops(r)
                        && !lo(r, &["-i", "--in-interface"])
                        && r.opt(&["-s", "--source"])
                            .is_some_and(|(s, neg)| !neg && addrs.contains(&s.as_str()))
                }),
                format!("drops {} from other interfaces (-s {} -j DROP)", addrs[0], addrs[0]),
            );
            if output_denies {
                need(
                    found(output, &|r| lo(r, &["-o", "--out-interface"]) && ipt_accepts(r)),
                    "accepts output on the loopback interface (-o lo -j ACCEPT) although output drops by default".into(),
                );
            }
        }
        FirewallTest::Established => need(
            found(input, &|r| {
                ipt_accepts(r)
                    && r.opt(&["--ctstate", "--state"]).is_some_and(|(s, neg)| {
                        !neg && s.split(',').any(|x| x.eq_ignore_ascii_case("ESTABLISHED"))
                    })
            }),
            "accepts established connections (-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT)".into(),
        ),
        FirewallTest::OpenPorts => {
            for l in socks.unwrap_or(&[]) {
                if l.v6 != v6 {
                    continue;
                }
                let hit = found(input, &|r| {
                    ipt_accepts(r)
                        && r.opt(&["-p", "--protocol"]).is_some_and(|(p, neg)| !neg && p == l.proto)
                        && r.opt(&["--dport", "--destination-port", "--dports", "--destination-ports"])
                            .is_some_and(|(v, neg)| !neg && v.split(',').any(|x| sv.covers(x, l.port)))
                });
                push_port(l, hit, good, bad);
            }
        }
        _ => {}
    }
}

fn judge_ipt(p: &FirewallProbe, fw: &Firewall, socks: Option<&[Listen]>, sv: &Services) -> Outcome {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (fam, saved, v6) in [("IPv4", &fw.ipt_v4, false), ("IPv6", &fw.ipt_v6, true)] {
        let s = match saved {
            Err(e) => return error(e),
            Ok(None) => {
                let list = if v6 {
                    crate::facts::firewall::IPT_V6
                } else {
                    crate::facts::firewall::IPT_V4
                };
                bad.push(Evidence::msg(format!(
                    "iptables persistence is enabled but no {fam} rules are saved ({}): {fam} traffic is not filtered",
                    list.join(" or ")
                )));
                continue;
            }
            Ok(Some(s)) => s,
        };
        let Some(t) = s.rules.table("filter") else {
            bad.push(Evidence::msg(format!(
                "{}: no *filter table ({fam} traffic is accepted)",
                s.path
            )));
            continue;
        };
        if p.test == FirewallTest::DefaultDeny {
            for h in p.hooks() {
                match ipt_chain_denies(t, &h.as_str().to_ascii_uppercase()) {
                    Ok(e) => good.push(e),
                    Err(e) => bad.push(e),
                }
            }
            continue;
        }
        if p.test == FirewallTest::OpenPorts && socks.is_some_and(|s| s.is_empty()) {
            good.push(Evidence::msg(
                "no TCP or UDP port listens on a non-loopback address",
            ));
            continue;
        }
        let input = t.reachable_rules("INPUT");
        let output = t.reachable_rules("OUTPUT");
        let out_denies = ipt_chain_denies(t, "OUTPUT").is_ok();
        judge_rules(
            p.test, fam, &input, &output, out_denies, v6, &s.path, socks, sv, &mut good, &mut bad,
        );
    }
    verdict(good, bad)
}

fn judge_ufw(p: &FirewallProbe, fw: &Firewall, socks: Option<&[Listen]>, sv: &Services) -> Outcome {
    let u = match &fw.ufw {
        Err(e) => return error(e),
        Ok(None) => return Outcome::error("ufw is enabled but /etc/ufw/ufw.conf cannot be read"),
        Ok(Some(u)) => u,
    };
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let deny = |h: &str| {
        u.policy(h)
            .is_some_and(|s| matches!(s.value.to_ascii_uppercase().as_str(), "DROP" | "REJECT"))
    };
    if p.test == FirewallTest::DefaultDeny {
        for h in p.hooks() {
            match u.policy(h.as_str()) {
                Some(s) if deny(h.as_str()) => good.push(ev(
                    format!(
                        "DEFAULT_{}_POLICY={}",
                        h.as_str().to_ascii_uppercase(),
                        s.value
                    ),
                    &s.origin,
                )),
                Some(s) => bad.push(ev(
                    format!(
                        "DEFAULT_{}_POLICY={}",
                        h.as_str().to_ascii_uppercase(),
                        s.value
                    ),
                    &s.origin,
                )),
                None => bad.push(Evidence::msg(format!(
                    "{}: DEFAULT_{}_POLICY is not set",
                    ufw::DEFAULTS,
                    h.as_str().to_ascii_uppercase()
                ))),
            }
        }
        return verdict(good, bad);
    }
    if p.test == FirewallTest::OpenPorts && socks.is_some_and(|s| s.is_empty()) {
        return Outcome::pass(vec![Evidence::msg(
            "no TCP or UDP port listens on a non-loopback address",
        )]);
    }
    let fams: Vec<(&str, &Vec<ipt::Rules>, bool)> = if u.ipv6 {
        vec![("IPv4", &u.v4, false), ("IPv6", &u.v6, true)]
    } else {
        vec![("IPv4", &u.v4, false)]
    };
    for (fam, files, v6) in fams {
        let collect = |dir: &str| -> Vec<&ipt::Rule> {
            let mut v = Vec::new();
            for rules in files.iter() {
                if let Some(t) = rules.table("filter") {
                    for c in ufw::chains(v6, dir) {
                        v.extend(t.reachable_rules(&c));
                    }
                }
            }
            v
        };
        let input = collect("input");
        let output = collect("output");
        let where_ = if v6 {
            "/etc/ufw/*6.rules"
        } else {
            "/etc/ufw/*.rules"
        };
        judge_rules(
            p.test,
            fam,
            &input,
            &output,
            deny("output"),
            v6,
            where_,
            socks,
            sv,
            &mut good,
            &mut bad,
        );
    }
    verdict(good, bad)
}

fn judge_firewalld(p: &FirewallProbe, fw: &Firewall) -> Outcome {
    let z = match &fw.firewalld {
        Err(e) => return error(e),
        Ok(None) => return Outcome::error("firewalld is enabled but its configuration is absent"),
        Ok(Some(z)) => z,
    };
    let at = z.file.clone().unwrap_or_else(|| "built-in zone".into());
    match p.test {
        FirewallTest::DefaultDeny => {
            let mut outs = Vec::new();
            for h in p.hooks() {
                outs.push(if h == FwHook::Input {
                    let e = Evidence::at(
                        format!("default zone {} target {}", z.zone, z.target),
                        &at,
                        None,
                    );
                    Outcome::verdict(!z.target.eq_ignore_ascii_case("ACCEPT"), vec![e])
                } else {
                    Outcome::na(format!(
                        "firewalld has no default {} policy to read (zones filter input)",
                        h.as_str()
                    ))
                });
            }
            all(outs)
        }
        FirewallTest::Established => Outcome::pass(vec![Evidence::msg(
            "firewalld accepts established and related connections in its base rules",
        )]),
        _ => Outcome::na(
            "firewalld's loopback handling and service list are not read from its zone files",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::firewall::{Active, Saved};
    use crate::findings::Status;

    struct One(&'static str);
    impl nft::Source for One {
        fn read(&self, _: &str) -> Result<String, LineError> {
            Ok(self.0.to_string())
        }
        fn glob(&self, _: &str) -> Result<Vec<String>, LineError> {
            Ok(vec![])
        }
    }

    fn fw_nft(text: &'static str) -> Firewall {
        Firewall {
            active: vec![Active {
                framework: Framework::Nftables,
                because: vec!["/etc/systemd/system/sysinit.target.wants/nftables.service".into()],
            }],
            nft_path: "/etc/nftables.conf".into(),
            nft: nft::Loader::new(&One(text))
                .load("/etc/nftables.conf")
                .map(Some),
            ufw: Ok(None),
            ipt_v4: Ok(None),
            ipt_v6: Ok(None),
            firewalld: Ok(None),
        }
    }

    fn probe(test: FirewallTest, hooks: Option<Vec<FwHook>>) -> FirewallProbe {
        FirewallProbe { test, hooks }
    }

    fn sv() -> Services<'static> {
        Services::fixed(vec![("ssh".into(), 22), ("https".into(), 443)])
    }

    const GOOD: &str = "flush ruleset\ntable inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  iif lo accept\n  ip saddr 127.0.0.0/8 counter drop\n  ip6 saddr ::1 counter drop\n  ct state established,related accept\n  tcp dport { ssh, 8000-8080 } accept\n  udp dport 53 accept\n }\n chain forward { type filter hook forward priority 0; policy drop; }\n chain output { type filter hook output priority 0; policy drop; oif lo accept; ct state established,related accept; }\n}\n";

    #[test]
    fn debian_stock_nftables_conf_filters_nothing() {
        let fw = fw_nft(include_str!(
            "../facts/firewall/testdata/debian12-nftables.conf"
        ));
        let o = judge_nft(&probe(FirewallTest::DefaultDeny, None), &fw, None, &sv());
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence[0].message.contains("no policy"),
            "{:?}",
            o.evidence
        );
        assert_eq!(o.evidence[0].line, Some(7));
        for t in [FirewallTest::Loopback, FirewallTest::Established] {
            assert_eq!(
                judge_nft(&probe(t, None), &fw, None, &sv()).status,
                Status::Fail
            );
        }
    }

    #[test]
    fn hardened_nftables_passes_and_weak_variants_fail() {
        let fw = fw_nft(GOOD);
        let all3 = Some(vec![FwHook::Input, FwHook::Forward, FwHook::Output]);
        for t in [FirewallTest::Loopback, FirewallTest::Established] {
            let o = judge_nft(&probe(t, None), &fw, None, &sv());
            assert_eq!(o.status, Status::Pass, "{t:?} {o:?}");
        }
        assert_eq!(
            judge_nft(
                &probe(FirewallTest::DefaultDeny, all3.clone()),
                &fw,
                None,
                &sv()
            )
            .status,
            Status::Pass
        );
        let socks = [
            Listen {
                proto: "tcp",
                v6: false,
                port: 22,
            },
            Listen {
                proto: "tcp",
                v6: true,
                port: 8080,
            },
            Listen {
                proto: "udp",
                v6: false,
                port: 53,
            },
        ];
        let o = judge_nft(
            &probe(FirewallTest::OpenPorts, None),
            &fw,
            Some(&socks),
            &sv(),
        );
        assert_eq!(o.status, Status::Pass, "{o:?}");
        let more = [Listen {
            proto: "tcp",
            v6: false,
            port: 3306,
        }];
        let o = judge_nft(
            &probe(FirewallTest::OpenPorts, None),
            &fw,
            Some(&more),
            &sv(),
        );
        assert_eq!(o.status, Status::Fail);
        assert!(o.evidence[0].message.contains("3306/tcp"), "{o:?}");
        // an accept-all rule defeats the drop policy
        let fw = fw_nft("table inet f { chain i { type filter hook input priority 0; policy drop; counter accept; } }\n");
        let o = judge_nft(&probe(FirewallTest::DefaultDeny, None), &fw, None, &sv());
        assert_eq!(o.status, Status::Fail);
        assert!(o.evidence[0].message.contains("accepts every packet"));
        // an ip-only table leaves IPv6 unfiltered
        let fw =
            fw_nft("table ip f { chain i { type filter hook input priority 0; policy drop; } }\n");
        let o = judge_nft(&probe(FirewallTest::DefaultDeny, None), &fw, None, &sv());
        assert_eq!(o.status, Status::Fail);
        assert!(o.evidence[0].message.contains("IPv6"), "{o:?}");
        // a terminal drop rule is a default deny too
        let fw = fw_nft("table inet f { chain i { type filter hook input priority 0; tcp dport 22 accept; counter drop; } }\n");
        let o = judge_nft(&probe(FirewallTest::DefaultDeny, None), &fw, None, &sv());
        assert_eq!(o.status, Status::Pass, "{o:?}");
        // loopback: output drop needs oif lo accept
        let fw = fw_nft("table inet f { chain i { type filter hook input priority 0; policy drop; iifname \"lo\" accept; ip saddr 127.0.0.0/8 drop; ip6 saddr ::1 drop; } chain o { type filter hook output priority 0; policy drop; } }\n");
        let o = judge_nft(&probe(FirewallTest::Loopback, None), &fw, None, &sv());
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence.iter().any(|e| e.message.contains("oif lo")),
            "{o:?}"
        );
    }

    #[test]
    fn iptables_saved_rules() {
        let v4 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -s 127.0.0.0/8 -j DROP\n-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -p tcp -m multiport --dports 22,443 -j ACCEPT\nCOMMIT\n";
        let v6 = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n";
        let fw = Firewall {
            active: vec![],
            nft_path: String::new(),
            nft: Ok(None),
            ufw: Ok(None),
            ipt_v4: Ok(Some(Saved {
                path: "/etc/iptables/rules.v4".into(),
                rules: ipt::parse(v4, "/etc/iptables/rules.v4").unwrap(),
            })),
            ipt_v6: Ok(Some(Saved {
                path: "/etc/iptables/rules.v6".into(),
                rules: ipt::parse(v6, "/etc/iptables/rules.v6").unwrap(),
            })),
            firewalld: Ok(None),
        };
        let o = judge_ipt(&probe(FirewallTest::DefaultDeny, None), &fw, None, &sv());
        assert_eq!(o.status, Status::Fail);
        assert_eq!(o.evidence.len(), 1);
        assert_eq!(
            o.evidence[0].file.as_deref(),
            Some("/etc/iptables/rules.v6")
        );
        assert_eq!(o.evidence[0].line, Some(2));
        let o = judge_ipt(&probe(FirewallTest::Loopback, None), &fw, None, &sv());
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence.iter().all(|e| e.message.contains("IPv6")),
            "{o:?}"
        );
        let socks = [Listen {
            proto: "tcp",
            v6: false,
            port: 443,
        }];
        assert_eq!(
            judge_ipt(
                &probe(FirewallTest::OpenPorts, None),
                &fw,
                Some(&socks),
                &sv()
            )
            .status,
            Status::Pass
        );
        let socks = [Listen {
            proto: "udp",
            v6: false,
            port: 443,
        }];
        assert_eq!(
            judge_ipt(
                &probe(FirewallTest::OpenPorts, None),
                &fw,
                Some(&socks),
                &sv()
            )
            .status,
            Status::Fail
        );
    }

    #[test]
    fn port_values() {
        let s = sv();
        assert!(s.covers("22", 22));
        assert!(s.covers("ssh", 22));
        assert!(s.covers("8000-8080", 8080));
        assert!(s.covers("8000:8080", 8000));
        assert!(!s.covers("8000-8080", 8081));
        assert!(!s.covers("nosuch", 22));
    }
}
