//! sshd's pattern and address matching (match.c, addrmatch.c, addr.c), byte for byte.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `match_pattern`: `*` and `?` wildcards only (no classes), whole string.
pub fn match_pattern(s: &[u8], p: &[u8]) -> bool {
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() && p[pi] == b'*' {
            while pi < p.len() && p[pi] == b'*' {
                pi += 1;
            }
            if pi == p.len() {
                return true;
            }
            star = Some((pi, si));
            continue;
        }
        if si == s.len() && pi == p.len() {
            return true;
        }
        if si < s.len() && pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            si += 1;
            pi += 1;
            continue;
        }
        match star {
            Some((sp, ss)) if ss < s.len() => {
                star = Some((sp, ss + 1));
                pi = sp;
                si = ss + 1;
            }
            _ => return false,
        }
    }
}

/// `match_pattern_list`: a comma-separated list of patterns, `!` negates. Returns 1 for a
/// positive match, -1 when a negated pattern matched, 0 otherwise.
pub fn match_pattern_list(s: &str, list: &str, dolower: bool) -> i32 {
    let mut got_positive = 0;
    let pieces: Vec<&str> = list.split(',').collect();
    let n = pieces.len();
    for (i, sub) in pieces.into_iter().enumerate() {
        // sshd stops at the end of the string: a trailing comma adds no empty pattern.
        if i + 1 == n && sub.is_empty() {
            break;
        }
        let (neg, sub) = match sub.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, sub),
        };
        if sub.len() >= 1023 {
            return 0;
        }
        let sub = if dolower {
            sub.to_ascii_lowercase()
        } else {
            sub.to_string()
        };
        if match_pattern(s.as_bytes(), sub.as_bytes()) {
            if neg {
                return -1;
            }
            got_positive = 1;
        }
    }
    got_positive
}

/// `match_hostname`: case-insensitive pattern list.
pub fn match_hostname(host: &str, list: &str) -> i32 {
    match_pattern_list(&host.to_ascii_lowercase(), list, true)
}

/// An address as sshd's `struct xaddr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addr {
    V4(u32),
    V6(u128),
}

/// `inet_aton`: `a`, `a.b`, `a.b.c`, `a.b.c.d`, each part decimal, octal (`0`) or hex (`0x`).
pub fn inet_aton(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut vals = Vec::with_capacity(4);
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (&p[1..], 8)
        } else {
            (*p, 10)
        };
        if p.is_empty() || (digits.is_empty() && radix != 16) {
            return None;
        }
        let v = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        if !digits.chars().all(|c| c.is_digit(radix)) || v > u32::MAX as u64 {
            return None;
        }
        vals.push(v);
    }
    let n = vals.len();
    let last_max: u64 = match n {
        1 => u32::MAX as u64,
        2 => 0xff_ffff,
        3 => 0xffff,
        _ => 0xff,
    };
    if vals[..n - 1].iter().any(|&v| v > 0xff) || vals[n - 1] > last_max {
        return None;
    }
    let mut out: u64 = 0;
    for (i, v) in vals[..n - 1].iter().enumerate() {
        out |= v << (24 - 8 * i);
    }
    out |= vals[n - 1];
    Some(out as u32)
}

/// `addr_pton`: a numeric address as `getaddrinfo(AI_NUMERICHOST)` accepts it.
pub fn addr_pton(s: &str) -> Option<Addr> {
    if let Some(v4) = inet_aton(s) {
        return Some(Addr::V4(v4));
    }
    s.parse::<Ipv6Addr>().ok().map(|a| Addr::V6(u128::from(a)))
}

/// Formats an address as `getnameinfo(NI_NUMERICHOST)` does.
pub fn addr_ntop(a: Addr) -> String {
    match a {
        Addr::V4(v) => Ipv4Addr::from(v).to_string(),
        Addr::V6(v) => Ipv6Addr::from(v).to_string(),
    }
}

/// `addr_pton_cidr`: Ok((addr, masklen)), Err(-1) for not an address, Err(-2) for an
/// inconsistent mask (bad length or host bits set).
fn addr_pton_cidr(p: &str) -> Result<(Addr, u32), i32> {
    if p.len() >= 64 {
        return Err(-1);
    }
    let (a, m) = match p.split_once('/') {
        Some((a, m)) => {
            let digits: String = m.chars().take_while(|c| c.is_ascii_digit()).collect();
            if !m.starts_with(|c: char| c.is_ascii_digit()) || digits.len() != m.len() {
                return Err(-1);
            }
            let v: u64 = digits.parse().unwrap_or(u64::MAX);
            if v > 128 {
                return Err(-1);
            }
            (a, Some(v as u32))
        }
        None => (p, None),
    };
    let addr = addr_pton(a).ok_or(-1)?;
    let max = match addr {
        Addr::V4(_) => 32,
        Addr::V6(_) => 128,
    };
    let masklen = m.unwrap_or(max);
    if masklen > max {
        return Err(-2);
    }
    let host_bits_set = match addr {
        Addr::V4(v) => masklen < 32 && (v & (u32::MAX >> masklen)) != 0,
        Addr::V6(v) => masklen < 128 && (v & (u128::MAX >> masklen)) != 0,
    };
    if host_bits_set {
        return Err(-2);
    }
    Ok((addr, masklen))
}

fn netmatch(host: Addr, net: Addr, masklen: u32) -> bool {
    match (host, net) {
        (Addr::V4(h), Addr::V4(n)) => {
            let mask = if masklen == 0 {
                0
            } else {
                u32::MAX << (32 - masklen)
            };
            h & mask == n
        }
        (Addr::V6(h), Addr::V6(n)) => {
            let mask = if masklen == 0 {
                0
            } else {
                u128::MAX << (128 - masklen)
            };
            h & mask == n
        }
        _ => false,
    }
}

/// `addr_match_list`: 1 match, 0 no match, -1 negated match, -2 malformed list. With no
/// address it only checks the list.
pub fn addr_match_list(addr: Option<&str>, list: &str) -> i32 {
    let try_addr = match addr {
        Some(a) => match addr_pton(a) {
            Some(x) => Some(x),
            None => return 0,
        },
        None => None,
    };
    let mut ret = 0;
    for cp in list.split(',') {
        let (neg, cp) = match cp.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, cp),
        };
        if cp.is_empty() {
            return -2;
        }
        let found = match addr_pton_cidr(cp) {
            Err(-2) => return -2,
            Ok((net, len)) => try_addr.is_some_and(|a| netmatch(a, net, len)),
            Err(_) => addr.is_some_and(|a| match_pattern(a.as_bytes(), cp.as_bytes())),
        };
        if found {
            if neg {
                return -1;
            }
            ret = 1;
        }
    }
    ret
}

/// `match_user(NULL, NULL, NULL, pattern)`: whether an AllowUsers/DenyUsers pattern is
/// well formed (the part after `@` must be a valid address list).
pub fn user_pattern_valid(pattern: &str) -> bool {
    match pattern.split_once('@') {
        Some((_, hosts)) => addr_match_list(None, hosts) != -2,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for (s, p, ok) in [
            ("bob", "bob", true),
            ("bob", "b*", true),
            ("bob", "*o*", true),
            ("bob", "b?b", true),
            ("bob", "b?", false),
            ("", "*", true),
            ("bob", "", false),
            ("a.b.c", "*.c", true),
            ("abcabd", "*abd", true),
            ("[x]", "[x]", true),
        ] {
            assert_eq!(match_pattern(s.as_bytes(), p.as_bytes()), ok, "{s} {p}");
        }
        assert_eq!(match_pattern_list("bob", "alice,b*", false), 1);
        assert_eq!(match_pattern_list("bob", "*,!bob", false), -1);
        assert_eq!(match_pattern_list("bob", "!alice", false), 0);
        assert_eq!(match_pattern_list("Bob", "bob", false), 0);
        assert_eq!(match_hostname("Host.EXAMPLE.com", "*.example.COM"), 1);
    }

    #[test]
    fn addresses() {
        assert_eq!(inet_aton("127.1"), Some(0x7f00_0001));
        assert_eq!(inet_aton("0x7f.0.0.01"), Some(0x7f00_0001));
        assert_eq!(inet_aton("1.2.3.256"), None);
        assert_eq!(inet_aton("1.2.3.4.5"), None);
        assert_eq!(inet_aton("08.1.1.1"), None);
        for (a, l, r) in [
            ("10.1.2.3", "10.0.0.0/8", 1),
            ("10.1.2.3", "10.0.0.0/8,!10.1.0.0/16", -1),
            ("10.1.2.3", "!10.1.0.0/16,10.0.0.0/8", -1),
            ("192.168.1.1", "10.0.0.0/8", 0),
            ("192.168.1.1", "192.168.1.*", 1),
            ("192.168.1.1", "192.168.?.1", 1),
            ("2001:db8::1", "2001:db8::/32", 1),
            ("2001:db8::1", "10.0.0.0/8", 0),
            ("10.0.0.1", "0.0.0.0/0", 1),
            ("10.0.0.1", "10.0.0.1", 1),
            ("10.0.0.1", "10.0.0.1/8", -2),
            ("10.0.0.1", "10.0.0.0/33", -2),
            ("10.0.0.1", "10.0.0.0/8,", -2),
            ("host.name", "10.0.0.0/8", 0),
        ] {
            assert_eq!(addr_match_list(Some(a), l), r, "{a} {l}");
        }
        assert_eq!(addr_match_list(None, "10.0.0.0/8,*.x"), 0);
        assert_eq!(addr_match_list(None, "10.0.0.1/8"), -2);
        assert!(user_pattern_valid("bob@10.0.0.0/8"));
        assert!(!user_pattern_valid("bob@10.0.0.1/8"));
    }
}
