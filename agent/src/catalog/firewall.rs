//! `probe = "firewall"`: the host firewall's boot-time rules (see `facts::firewall`), judged
//! for whichever framework is enabled at boot (nftables, ufw, iptables persistence,
//! firewalld). Several enabled at once: each is judged and all must pass (and
//! `single_framework` fails). None enabled: FAIL for every test. A rules file the framework's
//! loader would reject: ERROR naming `file:line`.
//!
//! Fields:
//! - `test` (required), one of:
//!   - `enabled`: a framework is enabled at boot (ufw counts only with `ENABLED=yes`).
//!   - `single_framework`: exactly one framework is enabled at boot.
//!   - `default_deny`: traffic on each of `hooks` is dropped unless a rule accepts it. nftables:
//!     for IPv4 and for IPv6, a filter base chain on the hook (families ip/inet and ip6/inet)
//!     whose policy is drop, or whose own rules end in an unconditional drop/reject before
//!     any unconditional accept. ufw: `DEFAULT_<HOOK>_POLICY` of `/etc/default/ufw` is DROP
//!     or REJECT. iptables: the built-in chain of the `filter` table in both the IPv4 and
//!     the IPv6 saved rules has policy DROP, or ends in an unconditional DROP/REJECT rule.
//!     firewalld: the default zone's target is not ACCEPT (input only; forward and output
//!     are not applicable to its zone model).
//!   - `loopback`: input accepts the loopback interface and drops 127.0.0.0/8 (IPv4) and ::1
//!     (IPv6) arriving on other interfaces; when output is default-deny, output accepts the
//!     loopback interface too. firewalld: not applicable (built in, not configurable).
//!   - `established`: input accepts established (and related) connections by conntrack state.
//!   - `open_ports`: every TCP/UDP port listening on a non-loopback address (live sockets)
//!     has an accept rule naming it in the input path (the base chain and the chains it
//!     jumps to). Service names resolve through the root's `/etc/services`.
//! - `hooks`: `default_deny` only; any of `input`, `forward`, `output` (default `["input"]`).

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirewallTest {
    Enabled,
    SingleFramework,
    DefaultDeny,
    Loopback,
    Established,
    OpenPorts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FwHook {
    Input,
    Forward,
    Output,
}

impl FwHook {
    pub fn as_str(self) -> &'static str {
        match self {
            FwHook::Input => "input",
            FwHook::Forward => "forward",
            FwHook::Output => "output",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallProbe {
    pub test: FirewallTest,
    pub hooks: Option<Vec<FwHook>>,
}

/// Validates a raw firewall probe.
pub fn parse(p: FirewallProbe) -> Result<FirewallProbe, super::probe::ProbeError> {
    use super::probe::ProbeError;
    match (&p.test, &p.hooks) {
        (FirewallTest::DefaultDeny, Some(h)) if h.is_empty() => Err(ProbeError::Shape {
            field: "`hooks`".into(),
            rule: "name at least one of input, forward, output",
        }),
        (FirewallTest::DefaultDeny, _) | (_, None) => Ok(p),
        (_, Some(_)) => Err(ProbeError::Misplaced {
            fields: "`hooks`".into(),
            rule: "belongs to the firewall test `default_deny` only",
        }),
    }
}

impl FirewallProbe {
    pub fn hooks(&self) -> Vec<FwHook> {
        self.hooks.clone().unwrap_or_else(|| vec![FwHook::Input])
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::probe::{parse_cond, Ctx};
    use crate::catalog::Profile;

    fn cond(s: &str) -> Result<(), Vec<crate::catalog::probe::LocatedError>> {
        let v: toml::Value = toml::from_str(s).unwrap();
        parse_cond(
            &v,
            &Ctx {
                profile: Profile::Kisa,
            },
            "expect",
        )
        .map(|_| ())
    }

    #[test]
    fn firewall_probes_validate_at_load() {
        for ok in [
            "probe = 'firewall'\ntest = 'enabled'",
            "probe = 'firewall'\ntest = 'single_framework'",
            "probe = 'firewall'\ntest = 'default_deny'",
            "probe = 'firewall'\ntest = 'default_deny'\nhooks = ['input', 'forward', 'output']",
            "probe = 'firewall'\ntest = 'open_ports'",
        ] {
            assert!(cond(ok).is_ok(), "{ok}: {:?}", cond(ok));
        }
        for (bad, want) in [
            ("probe = 'firewall'\ntest = 'policy'", "unknown variant"),
            (
                "probe = 'firewall'\ntest = 'default_deny'\nhooks = []",
                "at least one",
            ),
            (
                "probe = 'firewall'\ntest = 'default_deny'\nhooks = ['prerouting']",
                "unknown variant",
            ),
            (
                "probe = 'firewall'\ntest = 'loopback'\nhooks = ['input']",
                "`default_deny` only",
            ),
            (
                "probe = 'firewall'\ntest = 'enabled'\nframework = 'ufw'",
                "unknown field",
            ),
        ] {
            let e = cond(bad).expect_err(bad);
            assert!(e[0].to_string().contains(want), "{bad}: {e:?}");
        }
    }
}
