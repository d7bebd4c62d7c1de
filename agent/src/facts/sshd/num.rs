//! Number parsing the way sshd's C helpers do it (strtol, strtonum, sscanf, convtime).

pub const INT_MAX: i64 = i32::MAX as i64;

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `strtol(s, &end, base)` on an ASCII string: (value, bytes consumed), None when no digit
/// was read. Overflow saturates like the C function.
pub fn strtol(s: &str, base: u32) -> Option<(i64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let mut radix = base;
    if (base == 0 || base == 16)
        && i + 1 < b.len()
        && b[i] == b'0'
        && (b[i + 1] | 0x20) == b'x'
        && b.get(i + 2)
            .is_some_and(|c| (*c as char).is_ascii_hexdigit())
    {
        i += 2;
        radix = 16;
    } else if base == 0 {
        radix = if i < b.len() && b[i] == b'0' { 8 } else { 10 };
    }
    let start = i;
    let mut v: i128 = 0;
    while i < b.len() {
        let Some(d) = (b[i] as char).to_digit(radix) else {
            break;
        };
        v = (v * radix as i128 + d as i128).min(i64::MAX as i128 + 1);
        i += 1;
    }
    if i == start {
        return None;
    }
    let v = if neg { -v } else { v };
    Some((v.clamp(i64::MIN as i128, i64::MAX as i128) as i64, i))
}

/// `strtonum(s, min, max)`: Err with sshd's words ("invalid", "too small", "too large").
pub fn strtonum(s: &str, min: i64, max: i64) -> Result<i64, &'static str> {
    match strtol(s, 10) {
        Some((v, n)) if n == s.len() => {
            if v < min {
                Err("too small")
            } else if v > max {
                Err("too large")
            } else {
                Ok(v)
            }
        }
        _ => Err("invalid"),
    }
}

/// `atoi_err`: a non-negative int.
pub fn atoi_err(s: Option<&str>) -> Result<i64, &'static str> {
    match s {
        None | Some("") => Err("missing"),
        Some(s) => strtonum(s, 0, INT_MAX),
    }
}

/// `convtime`: `90`, `90s`, `1h30m`, `2d`, `1w` → seconds; None when invalid.
pub fn convtime(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut p = s;
    while !p.is_empty() {
        let (secs, n) = strtol(p, 10)?;
        if secs < 0 {
            return None;
        }
        let rest = &p[n..];
        let (mult, used) = match rest.as_bytes().first() {
            None => (1, 0),
            Some(b's' | b'S') => (1, 1),
            Some(b'm' | b'M') => (60, 1),
            Some(b'h' | b'H') => (3600, 1),
            Some(b'd' | b'D') => (86400, 1),
            Some(b'w' | b'W') => (604800, 1),
            Some(_) => return None,
        };
        if secs > INT_MAX / mult {
            return None;
        }
        let secs = secs * mult;
        if total > INT_MAX - secs {
            return None;
        }
        total += secs;
        p = &rest[used..];
    }
    Some(total)
}

/// `sscanf(s, "%d:%d:%d")`-style: the integers read before the first mismatch.
pub fn scan_ints(s: &str, max: usize) -> Vec<i64> {
    let mut out = Vec::new();
    let mut p = s;
    while out.len() < max {
        let Some((v, n)) = strtol(p, 10) else { break };
        out.push(v.clamp(i64::from(i32::MIN), INT_MAX));
        p = &p[n..];
        if out.len() == max {
            break;
        }
        match p.strip_prefix(':') {
            Some(r) => p = r,
            None => break,
        }
    }
    out
}

/// `scan_scaled`: `1G`, `512M`, `1.5K`, `0` → bytes (base 1024). None when invalid.
pub fn scan_scaled(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut sign: i64 = 0;
    while i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        if sign != 0 {
            return None;
        }
        sign = if b[i] == b'-' { -1 } else { 1 };
        i += 1;
    }
    let (mut whole, mut fpart): (i64, i64) = (0, 0);
    let mut fract_digits: u32 = 0;
    let mut ndigits = 0;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        if b[i] == b'.' {
            if fract_digits > 0 {
                return None;
            }
            fract_digits = 1;
            i += 1;
            continue;
        }
        let d = i64::from(b[i] - b'0');
        if fract_digits > 0 {
            if fract_digits < 20 {
                fract_digits += 1;
                fpart = fpart.checked_mul(10)?.checked_add(d)?;
            }
        } else {
            ndigits += 1;
            if ndigits >= 21 {
                return None;
            }
            whole = whole.checked_mul(10)?.checked_add(d)?;
        }
        i += 1;
    }
    if sign != 0 {
        whole *= sign;
    }
    if i == b.len() {
        return Some(whole);
    }
    let unit = (b[i] as char).to_ascii_uppercase();
    let pos = "BKMGTPE".find(unit)?;
    if b.get(i + 1).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let scale: i64 = 1i64 << (10 * pos as u32);
    whole = whole.checked_mul(scale)?;
    while fpart >= i64::MAX / scale {
        fpart /= 10;
        fract_digits = fract_digits.saturating_sub(1);
    }
    fpart *= scale;
    for _ in 1..fract_digits {
        fpart /= 10;
    }
    Some(if sign == -1 {
        whole - fpart
    } else {
        whole + fpart
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        for (s, v) in [
            ("90", Some(90)),
            ("90s", Some(90)),
            ("2m", Some(120)),
            ("1h30m", Some(5400)),
            ("1w", Some(604800)),
            ("1D", Some(86400)),
            ("5x", None),
            ("-5", None),
            ("", None),
            ("m", None),
            ("99999999999", None),
        ] {
            assert_eq!(convtime(s), v, "{s}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(strtonum("22", 0, 65535), Ok(22));
        assert_eq!(strtonum("22x", 0, 65535), Err("invalid"));
        assert_eq!(strtonum("70000", 0, 65535), Err("too large"));
        assert_eq!(atoi_err(None), Err("missing"));
        assert_eq!(scan_ints("10:30:100", 3), vec![10, 30, 100]);
        assert_eq!(scan_ints("10:x", 3), vec![10]);
        assert_eq!(scan_ints("x", 3), Vec::<i64>::new());
        assert_eq!(scan_scaled("1G"), Some(1 << 30));
        assert_eq!(scan_scaled("1.5K"), Some(1536));
        assert_eq!(scan_scaled("512"), Some(512));
        assert_eq!(scan_scaled("5X"), None);
        assert_eq!(scan_scaled("5Kb"), None);
        assert_eq!(strtol("0x1f", 0), Some((31, 4)));
        assert_eq!(strtol("017", 0), Some((15, 3)));
    }
}
