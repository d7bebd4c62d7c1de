//! Host firewall facts: which framework starts at boot (nftables, ufw, iptables persistence,
//! firewalld) and the rules each one would load, read from disk.
//!
//! Why: "a firewall unit is enabled" is not "traffic is filtered". Debian's stock
//! `nftables.conf` has chains with no rules and no policy; ufw's unit is enabled by the package
//! while `ENABLED=no` keeps it inert. Checks judge the rules a boot would load.
//!
//! What starts at boot:
//! - nftables: `nftables.service` enabled; it loads the file after `-f` in the unit's
//!   `ExecStart` (`/etc/nftables.conf` on Debian, `/etc/sysconfig/nftables.conf` on RHEL).
//! - ufw: `ufw.service` enabled and `ENABLED=yes` in `/etc/ufw/ufw.conf`.
//! - iptables: `netfilter-persistent.service` (Debian iptables-persistent: `/etc/iptables/
//!   rules.v4`, `rules.v6`) or `iptables.service` / `ip6tables.service` (RHEL
//!   iptables-services: `/etc/sysconfig/iptables`, `ip6tables`).
//! - firewalld: `firewalld.service` enabled; its zone XML is not parsed, only the default
//!   zone's `target` (an `ACCEPT` zone accepts everything).
//!
//! Every file is parsed once per run ([`crate::facts::Facts::firewall`]); a file the loader
//! would reject is an error of the framework it belongs to only.

pub mod ipt;
pub mod nft;
pub mod ufw;

use crate::facts::origin::LineError;
use crate::facts::Facts;
use crate::fs::Root;

/// The firewall frameworks a host can start at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Framework {
    Nftables,
    Ufw,
    Iptables,
    Firewalld,
}

impl Framework {
    pub fn as_str(self) -> &'static str {
        match self {
            Framework::Nftables => "nftables",
            Framework::Ufw => "ufw",
            Framework::Iptables => "iptables",
            Framework::Firewalld => "firewalld",
        }
    }
}

/// A framework enabled at boot, with what enables it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    pub framework: Framework,
    /// Paths (wants links, `ENABLED=yes` line) that start it.
    pub because: Vec<String>,
}

/// Saved iptables rules of one address family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub path: String,
    pub rules: ipt::Rules,
}

/// firewalld's default zone and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firewalld {
    pub zone: String,
    /// `default`, `ACCEPT`, `DROP`, `REJECT` (`%%REJECT%%` written as REJECT).
    pub target: String,
    /// The zone file read, if any (`None`: a built-in zone without a file).
    pub file: Option<String>,
}

/// Everything known about the host firewall.
#[derive(Debug, Clone)]
pub struct Firewall {
    /// Frameworks enabled at boot.
    pub active: Vec<Active>,
    /// nftables: the boot script and its ruleset (`Ok(None)`: no script).
    pub nft_path: String,
    pub nft: Result<Option<nft::Ruleset>, LineError>,
    pub ufw: Result<Option<ufw::Ufw>, LineError>,
    /// iptables persistence: IPv4 and IPv6 saved rules (`Ok(None)`: no file).
    pub ipt_v4: Result<Option<Saved>, LineError>,
    pub ipt_v6: Result<Option<Saved>, LineError>,
    /// firewalld's default zone (built-in `public` when no configuration exists).
    pub firewalld: Result<Option<Firewalld>, LineError>,
}

/// Candidate saved-rules files, Debian then RHEL.
pub const IPT_V4: &[&str] = &["/etc/iptables/rules.v4", "/etc/sysconfig/iptables"];
pub const IPT_V6: &[&str] = &["/etc/iptables/rules.v6", "/etc/sysconfig/ip6tables"];
/// nftables boot scripts when the unit does not say.
pub const NFT_CONF: &[&str] = &["/etc/nftables.conf", "/etc/sysconfig/nftables.conf"];

fn read_opt(root: &Root, path: &str) -> Result<Option<String>, LineError> {
    match root.read_text(path) {
        Ok(t) => Ok(Some(t.content)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(LineError {
            file: path.to_string(),
            line: 0,
            message: e.to_string(),
        }),
    }
}

struct RootSource<'a>(&'a Root);

impl nft::Source for RootSource<'_> {
    fn read(&self, path: &str) -> Result<String, LineError> {
        self.0
            .read_text(path)
            .map(|t| t.content)
            .map_err(|e| LineError {
                file: path.to_string(),
                line: 0,
                message: e.to_string(),
            })
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, LineError> {
        self.0.glob(pattern).map_err(|e| LineError {
            file: pattern.to_string(),
            line: 0,
            message: e.to_string(),
        })
    }
}

/// The script after `-f` on the `ExecStart=` line of a unit file's text.
pub fn exec_start_script(unit_text: &str) -> Option<String> {
    unit_text
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .find_map(|cmd| {
            let w: Vec<&str> = cmd.split_whitespace().collect();
            w.iter()
                .position(|x| *x == "-f" || *x == "--file")
                .and_then(|p| w.get(p + 1))
                .filter(|p| p.starts_with('/'))
                .map(|p| p.to_string())
        })
}

/// firewalld's `DefaultZone` and that zone's `target` attribute (`/etc/firewalld/zones`
/// overrides `/usr/lib/firewalld/zones`).
fn firewalld(root: &Root) -> Result<Option<Firewalld>, LineError> {
    let conf = "/etc/firewalld/firewalld.conf";
    let zone = match read_opt(root, conf)? {
        Some(t) => ufw::parse_settings(&t, conf)
            .into_iter()
            .find(|(k, _)| k == "DefaultZone")
            .map(|(_, s)| s.value)
            .unwrap_or_else(|| "public".into()),
        // firewalld's built-in DefaultZone
        None => "public".into(),
    };
    if zone.is_empty() || zone.contains('/') {
        return Err(LineError {
            file: conf.into(),
            line: 0,
            message: format!("DefaultZone `{zone}` is not a zone name"),
        });
    }
    for dir in ["/etc/firewalld/zones", "/usr/lib/firewalld/zones"] {
        let path = format!("{dir}/{zone}.xml");
        if let Some(t) = read_opt(root, &path)? {
            return Ok(Some(Firewalld {
                zone,
                target: zone_target(&t),
                file: Some(path),
            }));
        }
    }
    Ok(Some(Firewalld {
        target: if zone == "trusted" {
            "ACCEPT"
        } else {
            "default"
        }
        .into(),
        zone,
        file: None,
    }))
}

/// The `target="..."` attribute of the `<zone>` element (`default` when absent).
pub fn zone_target(xml: &str) -> String {
    let Some(start) = xml.find("<zone") else {
        return "default".into();
    };
    let head = &xml[start..];
    let head = &head[..head.find('>').unwrap_or(head.len())];
    for q in ['"', '\''] {
        if let Some(p) = head.find(&format!("target={q}")) {
            let v = &head[p + 8..];
            if let Some(end) = v.find(q) {
                return v[..end].replace("%%REJECT%%", "REJECT");
            }
        }
    }
    "default".into()
}

/// Collects the firewall facts of the scan root.
pub fn collect(f: &Facts) -> Firewall {
    let root = f.root;
    let units = f.units();
    let enabled =
        |u: &str| -> Vec<String> { units.unit(u).enabled.into_iter().map(|(p, _)| p).collect() };
    // nftables boot script
    let nft_path = units
        .files
        .get("nftables.service")
        .and_then(|p| root.read_text(p).ok())
        .and_then(|t| exec_start_script(&t.content))
        .or_else(|| {
            NFT_CONF
                .iter()
                .find(|p| root.exists(p))
                .map(|p| p.to_string())
        })
        .unwrap_or_else(|| NFT_CONF[0].to_string());
    let nft = if root.exists(&nft_path) {
        nft::Loader::new(&RootSource(root))
            .load(&nft_path)
            .map(Some)
    } else {
        Ok(None)
    };
    let ufw = ufw::load(&|p| read_opt(root, p));
    let saved = |list: &[&str]| -> Result<Option<Saved>, LineError> {
        for p in list {
            if let Some(t) = read_opt(root, p)? {
                return Ok(Some(Saved {
                    path: p.to_string(),
                    rules: ipt::parse(&t, p)?,
                }));
            }
        }
        Ok(None)
    };
    let mut active = Vec::new();
    let n = enabled("nftables.service");
    if !n.is_empty() {
        active.push(Active {
            framework: Framework::Nftables,
            because: n,
        });
    }
    if let Ok(Some(u)) = &ufw {
        let w = enabled("ufw.service");
        if u.is_enabled() && !w.is_empty() {
            let mut because = w;
            if let Some(e) = &u.enabled {
                because.push(format!("{}:{} ENABLED=yes", e.origin.file, e.origin.line));
            }
            active.push(Active {
                framework: Framework::Ufw,
                because,
            });
        }
    }
    let mut i = Vec::new();
    for u in [
        "netfilter-persistent.service",
        "iptables.service",
        "ip6tables.service",
    ] {
        i.extend(enabled(u));
    }
    if !i.is_empty() {
        active.push(Active {
            framework: Framework::Iptables,
            because: i,
        });
    }
    let fw = enabled("firewalld.service");
    if !fw.is_empty() {
        active.push(Active {
            framework: Framework::Firewalld,
            because: fw,
        });
    }
    Firewall {
        active,
        nft_path,
        nft,
        ufw,
        ipt_v4: saved(IPT_V4),
        ipt_v6: saved(IPT_V6),
        firewalld: firewalld(root),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_and_zone_target() {
        let deb = "[Service]\nType=oneshot\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\nExecStop=/usr/sbin/nft flush ruleset\n";
        assert_eq!(
            exec_start_script(deb).as_deref(),
            Some("/etc/nftables.conf")
        );
        let rhel = "ExecStart=/sbin/nft -f /etc/sysconfig/nftables.conf\n";
        assert_eq!(
            exec_start_script(rhel).as_deref(),
            Some("/etc/sysconfig/nftables.conf")
        );
        assert_eq!(exec_start_script("ExecStart=/bin/true\n"), None);
        assert_eq!(
            zone_target(
                "<?xml version=\"1.0\"?>\n<zone target=\"ACCEPT\">\n<short>T</short></zone>"
            ),
            "ACCEPT"
        );
        assert_eq!(zone_target("<zone target='%%REJECT%%'>"), "REJECT");
        assert_eq!(
            zone_target("<zone>\n<service name=\"ssh\"/></zone>"),
            "default"
        );
    }
}
