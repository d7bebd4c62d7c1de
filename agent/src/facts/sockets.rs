//! Listening sockets from `/proc/net/{tcp,tcp6,udp,udp6}`, with the owning process found by
//! matching socket inodes against `/proc/PID/fd/*` links. No netlink, no `ss` binary.

use super::{FactError, FactResult, Facts};
use serde::Serialize;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One listening socket (TCP LISTEN, or an unconnected bound UDP socket).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Socket {
    /// `tcp` or `udp`.
    pub protocol: &'static str,
    /// 4 or 6.
    pub family: u8,
    pub address: IpAddr,
    pub port: u16,
    pub inode: u64,
    /// Owning process, when it could be found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

impl Socket {
    pub fn is_loopback(&self) -> bool {
        match self.address {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => {
                a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }
}

fn parse_addr(hex: &str) -> Option<(IpAddr, u16)> {
    let (a, p) = hex.split_once(':')?;
    let port = u16::from_str_radix(p, 16).ok()?;
    let ip = match a.len() {
        8 => {
            let v = u32::from_str_radix(a, 16).ok()?;
            // the kernel prints the raw network-order word as a native integer
            IpAddr::V4(Ipv4Addr::from(v.to_ne_bytes()))
        }
        32 => {
            // four 32-bit words, each printed as a native integer
            let mut bytes = [0u8; 16];
            for w in 0..4 {
                let v = u32::from_str_radix(&a[w * 8..w * 8 + 8], 16).ok()?;
                bytes[w * 4..w * 4 + 4].copy_from_slice(&v.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Parses one `/proc/net/{tcp,udp}[6]` table, keeping listening sockets.
pub fn parse_table(text: &str, protocol: &'static str, family: u8) -> Vec<Socket> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let (address, port) = parse_addr(f[1])?;
            let state = f[3];
            let listening = match protocol {
                "tcp" => state == "0A",
                // UDP: unconnected (state 07) with no remote peer
                _ => state == "07" && f[2].trim_start_matches('0').starts_with(':'),
            };
            if !listening {
                return None;
            }
            Some(Socket {
                protocol,
                family,
                address,
                port,
                inode: f[9].parse().ok()?,
                pid: None,
                process: None,
            })
        })
        .collect()
}

pub fn collect(f: &Facts) -> FactResult<Vec<Socket>> {
    f.require_live("listening sockets", "/proc/net/tcp")?;
    let mut out = Vec::new();
    for (file, proto, fam) in [
        ("/proc/net/tcp", "tcp", 4),
        ("/proc/net/tcp6", "tcp", 6),
        ("/proc/net/udp", "udp", 4),
        ("/proc/net/udp6", "udp", 6),
    ] {
        match f.root.read_proc(file) {
            Ok(b) => out.extend(parse_table(&String::from_utf8_lossy(&b), proto, fam)),
            Err(e) if e.is_not_found() => {} // IPv6 disabled
            Err(e) => return Err(FactError::Failed(e.to_string())),
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    // inode -> (pid, name): the first process (by pid) holding the socket. Every
    // `/proc/PID/fd` is read relative to one descriptor of `/proc/PID`, and the scan stops as
    // soon as every listening socket has its owner.
    let mut wanted: std::collections::HashSet<u64> = out.iter().map(|s| s.inode).collect();
    let mut owners: HashMap<u64, (u32, String)> = HashMap::new();
    if let (Ok(procs), Ok(proc_dir)) = (f.processes(), f.root.dir_handle("/proc")) {
        for p in procs.iter() {
            if wanted.is_empty() {
                break;
            }
            let Ok(dir) = proc_dir.subdir(&p.pid.to_string()) else {
                continue;
            };
            let _ = dir.for_each_link("fd", |_, link| {
                let ino = link
                    .strip_prefix(b"socket:[")
                    .and_then(|x| x.strip_suffix(b"]"))
                    .and_then(|x| std::str::from_utf8(x).ok())
                    .and_then(|x| x.parse::<u64>().ok());
                if let Some(ino) = ino {
                    if wanted.remove(&ino) {
                        owners.insert(ino, (p.pid, p.name.clone()));
                    }
                }
                !wanted.is_empty()
            });
        }
    }
    for s in &mut out {
        if let Some((pid, name)) = owners.get(&s.inode) {
            s.pid = Some(*pid);
            s.process = Some(name.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0
   2: 0F02000A:0016 0102000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 1003 1 0000000000000000 100 0 0 10 0
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2002 1 0000000000000000 100 0 0 10 0
";
    const UDP: &str = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 00000000:00A1 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3001 2 0000000000000000 0
";

    #[test]
    fn parses_v4_v6_tcp_udp() {
        let t = parse_table(TCP, "tcp", 4);
        assert_eq!(t.len(), 2, "established socket skipped");
        assert_eq!(t[0].port, 22);
        assert_eq!(t[0].address, "0.0.0.0".parse::<IpAddr>().unwrap());
        assert!(!t[0].is_loopback());
        assert_eq!(t[1].address, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert!(t[1].is_loopback());
        let t6 = parse_table(TCP6, "tcp", 6);
        assert_eq!(t6[0].address, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(t6[0].port, 631);
        assert!(t6[0].is_loopback() && !t6[1].is_loopback());
        let u = parse_table(UDP, "udp", 4);
        assert_eq!((u[0].port, u[0].inode), (161, 3001));
    }
}
