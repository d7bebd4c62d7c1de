//! Listening sockets, with the owning process found by matching socket inodes against
//! `/proc/PID/fd/*` links. No `ss` binary.
//!
//! TCP listeners come from a `NETLINK_SOCK_DIAG` dump restricted to the LISTEN state: reading
//! `/proc/net/tcp{,6}` makes the kernel walk its whole established-connection hash (a quarter
//! of a million buckets on a host with 24 GiB, however few connections there are), about 1 ms
//! per file and the largest kernel cost of a scan; the dump walks only the listening hash.
//! When netlink is refused (a seccomp filter, an old kernel), and under a `--root` other than
//! `/` (whose `/proc` tables are what it says), the `/proc` tables are read as before. UDP comes from `/proc/net/udp{,6}`, whose table is small.

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

/// `AF_INET`, `AF_INET6`.
const INET: [(u8, u8); 2] = [(2, 4), (10, 6)];
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const TCP_LISTEN: u8 = 10;

/// The listening TCP sockets of one address family (`AF_INET` 2 or `AF_INET6` 10) of this
/// network namespace, by `NETLINK_SOCK_DIAG` (`inet_diag_req_v2`, states = LISTEN only).
pub fn tcp_listeners_netlink(af: u8) -> std::io::Result<Vec<Socket>> {
    use rustix::net::{netlink, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )?;
    // nlmsghdr (16 bytes) + inet_diag_req_v2 (56 bytes), native endian but the socket id
    let mut req = Vec::with_capacity(72);
    req.extend_from_slice(&72u32.to_ne_bytes());
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req.extend_from_slice(&(0x1u16 | 0x300).to_ne_bytes()); // NLM_F_REQUEST | NLM_F_DUMP
    req.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    req.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
    req.extend_from_slice(&[af, 6, 0, 0]); // family, IPPROTO_TCP, no extensions, pad
    req.extend_from_slice(&(1u32 << TCP_LISTEN).to_ne_bytes());
    req.resize(72, 0); // any socket id
    rustix::net::send(&fd, &req, SendFlags::empty())?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let (n, _) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty())?;
        if n == 0 {
            return Err(std::io::Error::other(
                "netlink: end of data before NLMSG_DONE",
            ));
        }
        if parse_diag(&buf[..n.min(buf.len())], af, &mut out)? {
            return Ok(out);
        }
    }
}

/// Parses one datagram of `inet_diag` replies into `out`; true at `NLMSG_DONE`.
fn parse_diag(mut data: &[u8], af: u8, out: &mut Vec<Socket>) -> std::io::Result<bool> {
    let bad = |what: &str| std::io::Error::other(format!("netlink: {what}"));
    let u32_at = |d: &[u8], at: usize| u32::from_ne_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
    while data.len() >= 16 {
        let len = u32_at(data, 0) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < 16 || len > data.len() {
            return Err(bad("truncated message"));
        }
        let msg = &data[16..len];
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let errno = if msg.len() >= 4 {
                    u32_at(msg, 0) as i32
                } else {
                    0
                };
                return Err(std::io::Error::from_raw_os_error(-errno));
            }
            SOCK_DIAG_BY_FAMILY => {
                // inet_diag_msg: family, state, timer, retrans, sockid (48), expires, rqueue,
                // wqueue, uid, inode
                if msg.len() < 72 {
                    return Err(bad("short inet_diag_msg"));
                }
                if msg[0] == af && msg[1] == TCP_LISTEN {
                    let port = u16::from_be_bytes([msg[4], msg[5]]);
                    let src = &msg[8..24];
                    let address = if af == 2 {
                        IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3]))
                    } else {
                        let mut b = [0u8; 16];
                        b.copy_from_slice(src);
                        IpAddr::V6(Ipv6Addr::from(b))
                    };
                    out.push(Socket {
                        protocol: "tcp",
                        family: if af == 2 { 4 } else { 6 },
                        address,
                        port,
                        inode: u64::from(u32_at(msg, 68)),
                        pid: None,
                        process: None,
                    });
                }
            }
            _ => {}
        }
        data = &data[((len + 3) & !3).min(data.len())..];
    }
    Ok(false)
}

pub fn collect(f: &Facts) -> FactResult<Vec<Socket>> {
    f.require_live("listening sockets", "/proc/net/tcp")?;
    let mut out = Vec::new();
    let mut tables = vec![("/proc/net/udp", "udp", 4), ("/proc/net/udp6", "udp", 6)];
    for (af, fam) in INET {
        // netlink describes this agent's own network namespace: only the live host's `/`
        // (a `--root` with a /proc of its own, such as a fixture, is read from its tables)
        let dump = if f.root.is_live() {
            tcp_listeners_netlink(af)
        } else {
            Err(std::io::Error::other("not the live host"))
        };
        match dump {
            Ok(v) => out.extend(v),
            // refused (sandbox, seccomp, no IPv6): the table, which is simply absent without
            // IPv6
            Err(_) => tables.push(if fam == 4 {
                ("/proc/net/tcp", "tcp", 4)
            } else {
                ("/proc/net/tcp6", "tcp", 6)
            }),
        }
    }
    for (file, proto, fam) in tables {
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

    /// The netlink dump and the `/proc` tables list the same TCP listeners of this network
    /// namespace (a listener of our own on each family makes sure there is one).
    #[test]
    fn netlink_listeners_equal_proc_tables() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = std::net::TcpListener::bind("[::1]:0").ok();
        for (af, fam, file) in [(2u8, 4u8, "/proc/net/tcp"), (10, 6, "/proc/net/tcp6")] {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue; // no IPv6 here
            };
            let mut from_proc = parse_table(&text, "tcp", fam);
            let mut from_netlink = tcp_listeners_netlink(af).expect("NETLINK_SOCK_DIAG dump");
            let key = |s: &Socket| (s.inode, s.port, s.address);
            from_proc.sort_by_key(key);
            from_netlink.sort_by_key(key);
            assert_eq!(from_netlink, from_proc, "{file}");
        }
        let port = v4.local_addr().unwrap().port();
        assert!(tcp_listeners_netlink(2)
            .unwrap()
            .iter()
            .any(|s| s.port == port && s.address == IpAddr::V4(Ipv4Addr::LOCALHOST)));
        if let Some(l) = v6 {
            let port = l.local_addr().unwrap().port();
            assert!(tcp_listeners_netlink(10)
                .unwrap()
                .iter()
                .any(|s| s.port == port && s.address == IpAddr::V6(Ipv6Addr::LOCALHOST)));
        }
    }

    #[test]
    fn diag_replies_parse_and_errors_are_errors() {
        // one inet_diag_msg for 0.0.0.0:22 inode 4242, then NLMSG_DONE
        let mut d = Vec::new();
        d.extend_from_slice(&(16u32 + 72).to_ne_bytes());
        d.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        d.extend_from_slice(&[0; 10]);
        let mut m = vec![0u8; 72];
        m[0] = 2;
        m[1] = TCP_LISTEN;
        m[4..6].copy_from_slice(&22u16.to_be_bytes());
        m[68..72].copy_from_slice(&4242u32.to_ne_bytes());
        d.extend_from_slice(&m);
        d.extend_from_slice(&16u32.to_ne_bytes());
        d.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        d.extend_from_slice(&[0; 10]);
        let mut out = Vec::new();
        assert!(parse_diag(&d, 2, &mut out).unwrap());
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].port, out[0].inode), (22, 4242));
        assert_eq!(out[0].address, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        // an error reply, and a length that runs past the datagram
        let mut e = Vec::new();
        e.extend_from_slice(&20u32.to_ne_bytes());
        e.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        e.extend_from_slice(&[0; 10]);
        e.extend_from_slice(&(-13i32).to_ne_bytes());
        assert_eq!(
            parse_diag(&e, 2, &mut out).unwrap_err().raw_os_error(),
            Some(13)
        );
        let mut t = d.clone();
        t[0..4].copy_from_slice(&500u32.to_ne_bytes());
        assert!(parse_diag(&t, 2, &mut out).is_err());
    }

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
