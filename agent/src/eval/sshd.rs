//! Evaluation of the `sshd` probe (field semantics: `catalog::probe::SshdProbe`).
//!
//! The semantics are those of the root's own OpenSSH release (`facts::sshd::detect`);
//! when it is unknown or has no table of its own, the evidence says which table decided.
//!
//! The default connection (`sshd -T` without `-C`) decides the value; every `Match` block
//! that sets the keyword to a value the same test rejects fails the check too. Evidence
//! names the `file:line` of the deciding directive or says that sshd's built-in default
//! decided.

use super::Outcome;
use crate::catalog::pattern::{Pattern, PatternError};
use crate::catalog::probe::{Op, ProbeError, SshdProbe, SshdTest};
use crate::facts::sshd::{Setting, SshdConfig, Weakening};
use crate::facts::Facts;
use crate::findings::Evidence;

pub(super) fn sshd(p: &SshdProbe, f: &Facts) -> Outcome {
    match f.sshd(&p.config) {
        Ok(Some(c)) => eval_sshd(p, &c),
        Ok(None) => Outcome::na(format!(
            "{} is absent (openssh-server is not installed)",
            p.config
        )),
        Err(e) => e.into(),
    }
}

/// Algorithms of a comma-separated list that match any of the patterns.
/// `Err` when a pattern cannot be compiled (see [`Pattern`]).
fn forbidden<'a>(patterns: &[Pattern], list: &'a str) -> Result<Vec<&'a str>, PatternError> {
    let res = patterns
        .iter()
        .map(Pattern::regex)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(list
        .split(',')
        .filter(|a| !a.is_empty() && res.iter().any(|p| p.is_match(a)))
        .collect())
}

/// Whether a printed value (None: sshd prints no line for the keyword) passes the test.
fn passes(t: &SshdTest, value: Option<&str>) -> Result<bool, ProbeError> {
    let is_none = |v: &str| v.eq_ignore_ascii_case("none");
    match (t, value) {
        (SshdTest::Compare(c), v) if c.op == Op::Set => Ok(v.is_some_and(|v| !is_none(v))),
        (SshdTest::Compare(c), v) if c.op == Op::Unset => Ok(v.is_none_or(is_none)),
        (SshdTest::Compare(_), None) => Ok(false),
        (SshdTest::Compare(c), Some(v)) => c.test(v),
        (SshdTest::Forbid(_), None) => Ok(true),
        (SshdTest::Forbid(p), Some(v)) => Ok(forbidden(p, v)?.is_empty()),
    }
}

fn expected(t: &SshdTest) -> String {
    match t {
        SshdTest::Compare(c) => c.describe(),
        SshdTest::Forbid(p) => format!(
            "no algorithm matching {}",
            p.iter()
                .map(|r| format!("/{}/", r.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// What a value says, for evidence: `permitrootlogin yes`, or for a forbidden list only the
/// offending algorithms.
fn describe(t: &SshdTest, kw: &str, value: Option<&str>, ok: bool) -> String {
    match (t, value) {
        (_, None) => format!("{kw} is not set"),
        (SshdTest::Forbid(p), Some(v)) if !ok => match forbidden(p, v) {
            Ok(bad) => format!("{kw} enables {}", bad.join(", ")),
            Err(e) => format!("{kw} {v} ({e})"),
        },
        (_, Some(v)) => format!("{kw} {v}"),
    }
}

fn default_evidence(p: &SshdProbe, cfg: &SshdConfig, s: Option<&Setting>, ok: bool) -> Evidence {
    let value = s.map(|s| s.values.join(" "));
    let what = describe(&p.test, p.keyword, value.as_deref(), ok);
    let want = expected(&p.test);
    match s.and_then(Setting::origin) {
        Some(o) => Evidence::at(
            format!("{what} (expected {want})"),
            &o.file,
            Some(o.line as u32),
        ),
        None if value.is_none() => Evidence::msg(format!(
            "{} is not set in {} or its includes (expected {want})",
            p.keyword,
            cfg.path()
        )),
        None => Evidence::msg(format!(
            "{what}: built-in default, not set in {} or its includes (expected {want})",
            cfg.path()
        )),
    }
}

fn weakening_evidence(p: &SshdProbe, w: &Weakening) -> Evidence {
    let what = describe(&p.test, p.keyword, Some(&w.value), false);
    Evidence::at(
        format!(
            "Match {} ({}) sets {what} for the connections it matches (expected {})",
            w.criteria,
            w.block,
            expected(&p.test)
        ),
        &w.file,
        Some(w.line as u32),
    )
}

/// Pure: the probe over a loaded configuration.
pub fn eval_sshd(p: &SshdProbe, cfg: &SshdConfig) -> Outcome {
    let eff = cfg.default_effective();
    let setting = eff.get(p.keyword);
    let value = setting.map(|s| s.values.join(" "));
    let ok = match passes(&p.test, value.as_deref()) {
        Ok(ok) => ok,
        Err(e) => {
            let ev = default_evidence(p, cfg, setting, true);
            return Outcome::error(format!("{}: {e} ({ev})", p.keyword));
        }
    };
    let weak: Vec<Evidence> = cfg
        .weakenings(p.keyword, |v| !matches!(passes(&p.test, Some(v)), Ok(true)))
        .iter()
        .map(|w| weakening_evidence(p, w))
        .collect();
    let ev = default_evidence(p, cfg, setting, ok);
    // When the host's OpenSSH is unknown or has no table of its own, say which semantics
    // decided (last, after the deciding line).
    let note = cfg
        .version_note()
        .map(|n| Evidence::msg(format!("sshd semantics: {n}")));
    if ok && weak.is_empty() {
        return Outcome::pass(std::iter::once(ev).chain(note).collect());
    }
    let mut all = if ok { Vec::new() } else { vec![ev] };
    all.extend(weak);
    all.extend(note);
    Outcome::fail(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::probe::{chain_text, parse_cond, Ctx, Node, Probe};
    use crate::catalog::Profile;
    use crate::facts::sshd::{load_from, SystemDb};
    use crate::findings::Status::{self, *};
    use std::collections::BTreeMap;

    const MAIN: &str = "/etc/ssh/sshd_config";

    fn probe(fields: &str) -> SshdProbe {
        let v: toml::Value = toml::from_str(&format!("probe = 'sshd'\n{fields}")).unwrap();
        let c = parse_cond(
            &v,
            &Ctx {
                profile: Profile::Kisa,
            },
            "expect",
        )
        .unwrap_or_else(|e| panic!("{fields}: {e:?}"));
        match c.node {
            Node::Probe(p) => match *p {
                Probe::Sshd(s) => s,
                _ => unreachable!(),
            },
            _ => unreachable!(),
        }
    }

    fn load(files: &[(&str, &str)]) -> SshdConfig {
        let m: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        let sys = SystemDb::parse(
            "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n",
            "root:x:0:\nbob:x:1000:\n",
            "",
        );
        load_from(&m, MAIN, sys).unwrap()
    }

    fn shown(o: &Outcome) -> String {
        let mut s: Vec<String> = o.evidence.iter().map(|e| e.to_string()).collect();
        s.extend(o.reason.clone());
        s.join("\n")
    }

    const ROOT_NO: &str = "keyword = 'PermitRootLogin'\nop = 'eq'\nvalue = 'no'";
    const WEAK_CIPHERS: &str = "keyword = 'Ciphers'\nforbid = ['-cbc$', '^3des', 'arcfour']";
    const WEAK_MACS: &str = "keyword = 'MACs'\nforbid = ['md5', '^hmac-sha1', '^umac-64']";

    /// Main file text, drop-in files, probe fields, expected status, evidence text.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, Status, &'a str);

    #[test]
    fn sshd_table() {
        // (files: main text then drop-ins, probe fields, status, text the evidence must hold)
        let cases: &[Case] = &[
            ("PermitRootLogin no\n", &[], ROOT_NO, Pass, "permitrootlogin no (expected = no) (/etc/ssh/sshd_config:1)"),
            ("", &[], ROOT_NO, Fail, "permitrootlogin without-password: built-in default, not set in /etc/ssh/sshd_config or its includes (expected = no)"),
            ("PermitRootLogin prohibit-password\n", &[], "keyword = 'permitrootlogin'\nop = 'in'\nvalue = ['no', 'prohibit-password']", Pass, "permitrootlogin without-password (expected one of [no, without-password])"),
            // the first value wins, also across an Include
            (
                "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
                &[("/etc/ssh/sshd_config.d/10-weak.conf", "PermitRootLogin yes\n")],
                ROOT_NO,
                Fail,
                "permitrootlogin yes (expected = no) (/etc/ssh/sshd_config.d/10-weak.conf:1)",
            ),
            // a Match block weakens the setting for some connections
            (
                "PermitRootLogin no\nMatch Address 10.0.0.0/8\n  PermitRootLogin yes\n",
                &[],
                ROOT_NO,
                Fail,
                "Match Address 10.0.0.0/8 (/etc/ssh/sshd_config:2) sets permitrootlogin yes for the connections it matches (expected = no) (/etc/ssh/sshd_config:3)",
            ),
            // a Match block that is as strict as the test wants is fine
            ("PermitRootLogin no\nMatch User bob\n  PermitRootLogin forced-commands-only\n", &[], "keyword = 'PermitRootLogin'\nop = 'in'\nvalue = ['no', 'forced-commands-only']", Pass, "permitrootlogin no"),
            ("PermitRootLogin no\nMatch User bob\n  X11Forwarding yes\n", &[], ROOT_NO, Pass, "permitrootlogin no"),
            // Match All applies to the default connection: it decides
            ("PermitRootLogin no\nMatch All\n  PermitRootLogin yes\n", &[], ROOT_NO, Fail, "permitrootlogin yes (expected = no) (/etc/ssh/sshd_config:3)"),
            // numbers, with time units normalised as sshd -T prints them
            ("MaxAuthTries 4\n", &[], "keyword = 'MaxAuthTries'\nop = 'le'\nvalue = 4", Pass, "maxauthtries 4"),
            ("", &[], "keyword = 'MaxAuthTries'\nop = 'le'\nvalue = 4", Fail, "maxauthtries 6: built-in default"),
            ("MaxAuthTries 3\nMatch Group bob\n MaxAuthTries 10\n", &[], "keyword = 'MaxAuthTries'\nop = 'le'\nvalue = 4", Fail, "Match Group bob (/etc/ssh/sshd_config:2) sets maxauthtries 10"),
            ("LoginGraceTime 1m\n", &[], "keyword = 'LoginGraceTime'\nop = 'le'\nvalue = 60", Pass, "logingracetime 60"),
            ("LoginGraceTime 2m\n", &[], "keyword = 'LoginGraceTime'\nop = 'le'\nvalue = 60", Fail, "logingracetime 120 (expected <= 60) (/etc/ssh/sshd_config:1)"),
            ("LogLevel verbose\n", &[], "keyword = 'LogLevel'\nop = 'in'\nvalue = ['info', 'VERBOSE']", Pass, "loglevel VERBOSE"),
            ("LogLevel QUIET\n", &[], "keyword = 'LogLevel'\nop = 'in'\nvalue = ['INFO', 'VERBOSE']", Fail, "loglevel SILENT (expected one of [INFO, VERBOSE])"),
            // set / unset: `none` counts as not set; list keywords print nothing when unset
            ("Banner /etc/issue.net\n", &[], "keyword = 'Banner'\nop = 'set'", Pass, "banner /etc/issue.net (expected set)"),
            ("Banner none\n", &[], "keyword = 'Banner'\nop = 'set'", Fail, "banner none (expected set)"),
            ("Banner /etc/issue.net\nMatch User bob\n Banner none\n", &[], "keyword = 'Banner'\nop = 'set'", Fail, "sets banner none"),
            ("", &[], "keyword = 'AllowGroups'\nop = 'set'", Fail, "allowgroups is not set in /etc/ssh/sshd_config or its includes (expected set)"),
            ("AllowGroups ssh-users admins\n", &[], "keyword = 'AllowGroups'\nop = 'set'", Pass, "allowgroups ssh-users admins (expected set) (/etc/ssh/sshd_config:1)"),
            ("", &[], "keyword = 'AllowUsers'\nop = 'unset'", Pass, "allowusers is not set"),
            // forbidden algorithms
            ("Ciphers aes256-gcm@openssh.com,aes128-ctr\n", &[], WEAK_CIPHERS, Pass, "ciphers aes256-gcm@openssh.com,aes128-ctr (expected no algorithm matching /-cbc$/, /^3des/, /arcfour/)"),
            ("Ciphers +aes128-cbc,3des-cbc\n", &[], WEAK_CIPHERS, Fail, "ciphers enables aes128-cbc, 3des-cbc (expected no algorithm"),
            ("", &[], WEAK_CIPHERS, Pass, "built-in default"),
            ("", &[], WEAK_MACS, Fail, "macs enables umac-64-etm@openssh.com, hmac-sha1-etm@openssh.com, umac-64@openssh.com, hmac-sha1: built-in default"),
            ("MACs -*sha1*,umac-64*\n", &[], WEAK_MACS, Pass, "macs umac-128-etm@openssh.com"),
            ("KexAlgorithms +diffie-hellman-group14-sha1\n", &[], "keyword = 'KexAlgorithms'\nforbid = ['-sha1$']", Fail, "kexalgorithms enables diffie-hellman-group14-sha1 (expected no algorithm matching /-sha1$/) (/etc/ssh/sshd_config:1)"),
            ("PubkeyAcceptedAlgorithms ssh-ed25519\nMatch User bob\n PubkeyAcceptedAlgorithms +ssh-rsa\n", &[], "keyword = 'PubkeyAcceptedAlgorithms'\nforbid = ['^ssh-rsa$']", Fail, "Match User bob (/etc/ssh/sshd_config:2) sets pubkeyacceptedalgorithms enables ssh-rsa"),
        ];
        for (main, drop_ins, fields, want, needle) in cases {
            let mut files = vec![(MAIN, *main)];
            files.extend_from_slice(drop_ins);
            let o = eval_sshd(&probe(fields), &load(&files));
            let ev = shown(&o);
            assert_eq!(o.status, *want, "{fields} on {main:?}: {ev}");
            assert!(
                ev.contains(needle),
                "{fields} on {main:?}:\n{ev}\nwanted: {needle}"
            );
        }
    }

    #[test]
    fn probe_fields_validate_at_load() {
        let ctx = Ctx {
            profile: Profile::Cis,
        };
        let err = |fields: &str| {
            let v: toml::Value = toml::from_str(&format!("probe = 'sshd'\n{fields}")).unwrap();
            parse_cond(&v, &ctx, "expect")
                .map(|_| ())
                .unwrap_err()
                .iter()
                .map(|e| chain_text(e))
                .collect::<Vec<_>>()
                .join("; ")
        };
        for (fields, want) in [
            (
                "keyword = 'PermitRootLogn'\nop = 'eq'\nvalue = 'no'",
                "not a keyword sshd (up to 10.0) uses",
            ),
            (
                "keyword = 'Protocol'\nop = 'eq'\nvalue = '2'",
                "not a keyword sshd (up to 10.0) uses",
            ),
            (
                "keyword = 'DebianBanner'\nop = 'eq'\nvalue = 'no'",
                "cannot be checked",
            ),
            (
                "keyword = 'PermitRootLogin'\nop = 'eq'\nvalue = 'nope'",
                "sshd would reject `PermitRootLogin nope`",
            ),
            (
                "keyword = 'PermitRootLogin'\nop = 'in'\nvalue = ['no', 'maybe']",
                "maybe",
            ),
            ("keyword = 'PermitRootLogin'", "needs `op`"),
            (
                "keyword = 'Ciphers'\nforbid = ['cbc']\nop = 'set'",
                "exclude each other",
            ),
            (
                "keyword = 'PermitRootLogin'\nforbid = ['yes']",
                "algorithm-list keyword",
            ),
            ("keyword = 'Ciphers'\nforbid = []", "at least one pattern"),
            ("keyword = 'Ciphers'\nforbid = ['(']", "bad forbid pattern"),
            (
                "keyword = 'Ciphers'\nforbid = ['cbc']\nconfig = 'sshd_config'",
                "absolute",
            ),
            (
                "keyword = 'Ciphers'\nforbid = ['cbc']\nfile = '/x'",
                "unknown field `file`",
            ),
            (
                "keyword = 'MaxAuthTries'\nop = 'le'\nvalue = 'x'",
                "needs a number",
            ),
        ] {
            let e = err(fields);
            assert!(e.contains(want), "{fields}: {e}");
        }
        let p = probe("keyword = 'challengeresponseauthentication'\nop = 'eq'\nvalue = 'no'\nconfig = '/srv/sshd_config'");
        assert_eq!(p.keyword, "kbdinteractiveauthentication");
        assert_eq!(p.config, "/srv/sshd_config");
        let p = probe("keyword = 'PermitRootLogin'\nop = 'eq'\nvalue = { kisa = 'no', cis = 'prohibit-password' }");
        assert!(matches!(p.test, SshdTest::Compare(ref c) if c.shown == "no"));
    }

    #[test]
    fn facts_absent_and_invalid() {
        use crate::fs::Root;
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path()).unwrap();
        let f = Facts::new(&root);
        let p = probe(ROOT_NO);
        let o = sshd(&p, &f);
        assert_eq!(o.status, NotApplicable, "{o:?}");
        assert!(shown(&o).contains("openssh-server is not installed"));
        let etc = dir.path().join("etc/ssh");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("sshd_config"),
            "PermitRootLogin no\nPermitRootLogin\n",
        )
        .unwrap();
        // cached per run: a new Facts sees the file
        let f = Facts::new(&root);
        let o = sshd(&p, &f);
        assert_eq!(o.status, Error, "{o:?}");
        assert!(
            shown(&o).contains("/etc/ssh/sshd_config:2: no argument after keyword"),
            "{}",
            shown(&o)
        );
        std::fs::write(
            etc.join("sshd_config"),
            "PermitRootLogin no\nMatch User bob\nPort 2222\n",
        )
        .unwrap();
        let o = sshd(&p, &Facts::new(&root));
        assert_eq!(o.status, Error, "{o:?}");
        assert!(
            shown(&o).contains("/etc/ssh/sshd_config:3"),
            "{}",
            shown(&o)
        );
        std::fs::write(etc.join("sshd_config"), "PermitRootLogin no\n").unwrap();
        let o = sshd(&p, &Facts::new(&root));
        assert_eq!(o.status, Pass, "{o:?}");
    }
}
