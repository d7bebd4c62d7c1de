//! Which OpenSSH the scanned root runs, read from the root itself: the release string that
//! sshd embeds (`OpenSSH_9.2p1 Debian-2+deb12u3`, what it sends as its SSH banner), and
//! the dpkg database as a fallback when the binary is absent or unreadable.
//!
//! The binary is read through the scan [`Root`]: its ELF section table locates `.rodata`
//! (where the string sits, within its first few KiB on Debian 11 to 13), which is then
//! read in 64 KiB chunks until the string; a file that is not a 64-bit little-endian ELF
//! (or has no `.rodata`) is read from the start the same way. The read stops at the
//! string and never goes past [`MAX_SCAN_BYTES`]. The result is cached per process, keyed by the file's device,
//! inode, size and modification time, so a daemon scanning every few minutes reads the
//! binary once per upgrade.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

use super::profile::{Profile, Release, Vendor};
use crate::fs::Root;

/// Where sshd lives on every distribution the tables cover.
pub const SSHD_BINARY: &str = "/usr/sbin/sshd";
/// sshd binaries are 0.5 to 1.5 MiB; a file that needs more than this is not read further.
pub const MAX_SCAN_BYTES: u64 = 16 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Where the version came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum VersionSource {
    /// The release string inside the sshd binary.
    Binary { path: String, release: String },
    /// The version of the `openssh-server` package in dpkg's status file.
    Dpkg { package: String, version: String },
    /// Nothing said which OpenSSH this is.
    Unknown { reason: String },
}

/// The OpenSSH of a root and the table its configuration is computed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub source: VersionSource,
    /// The host's release (`major * 100 + minor`) when known.
    pub release: Option<Release>,
    /// The table used: the host's release, the nearest one, or Debian 12's when unknown.
    pub profile: Profile,
}

impl Detected {
    /// One line for evidence and `jikimi sshd effective`: which OpenSSH and from where,
    /// plus how the result degrades when the table is not the host's own.
    pub fn describe(&self) -> String {
        let from = match &self.source {
            VersionSource::Binary { path, release } => format!("{release} (from {path})"),
            VersionSource::Dpkg { package, version } => {
                format!("{package} {version} (from the dpkg database)")
            }
            VersionSource::Unknown { .. } => "unknown OpenSSH version".to_string(),
        };
        match &self.profile.note {
            Some(n) => format!("{from}; {n}"),
            None => format!("{from}; semantics of {}", self.profile.label()),
        }
    }
    /// Whether the table is not exactly the host's (an unknown version, or the nearest
    /// release's table): what evidence must say.
    pub fn degraded(&self) -> bool {
        self.profile.note.is_some()
    }
}

/// Why the version could not be read (the binary exists but cannot be scanned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionError(pub String);

/// `OpenSSH_9.2p1 Debian-2+deb12u3` → (902, Some("Debian-2+deb12u3")). Rejects the
/// compatibility patterns sshd also carries (`OpenSSH_7.4*`, `OpenSSH_2.*,OpenSSH_3.0*`).
pub fn parse_release(s: &str) -> Option<(Release, Option<&str>)> {
    let rest = s.strip_prefix("OpenSSH_")?;
    let (ver, suffix) = match rest.split_once(' ') {
        Some((v, x)) => (v, Some(x)),
        None => (rest, None),
    };
    let (mm, port) = ver.split_once('p')?;
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (maj, min) = mm.split_once('.')?;
    let maj: u16 = maj.parse().ok()?;
    let min: u16 = min.parse().ok()?;
    if min >= 100 || maj >= 100 {
        return None;
    }
    if suffix
        .is_some_and(|x| x.is_empty() || x.contains(['*', ',']) || x.contains(char::is_control))
    {
        return None;
    }
    Some((maj * 100 + min, suffix))
}

/// The first release string in a byte stream, read in chunks; None when `limit` bytes
/// (or the whole stream) hold none.
fn scan(mut r: impl Read, limit: u64) -> std::io::Result<(Option<String>, u64)> {
    const NEEDLE: &[u8] = b"OpenSSH_";
    // A release string is short; keep this much of the previous chunk for one that
    // straddles two chunks.
    const KEEP: usize = 128;
    let mut buf = vec![0u8; CHUNK + KEEP];
    let mut have = 0usize;
    let mut read_total = 0u64;
    loop {
        if read_total >= limit {
            return Ok((None, read_total));
        }
        let n = r.read(&mut buf[have..])?;
        if n == 0 {
            return Ok((find(&buf[..have], NEEDLE, true), read_total));
        }
        read_total += n as u64;
        have += n;
        if let Some(s) = find(&buf[..have], NEEDLE, false) {
            return Ok((Some(s), read_total));
        }
        if have > KEEP {
            buf.copy_within(have - KEEP..have, 0);
            have = KEEP;
        }
    }
}

/// A NUL-terminated release string in `hay`. Without `at_end`, a candidate whose NUL is
/// not in `hay` yet is left for the next chunk.
fn find(hay: &[u8], needle: &[u8], at_end: bool) -> Option<String> {
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        let off = hay[i..].iter().position(|&b| b == b'O')?;
        let start = i + off;
        if hay[start..].starts_with(needle) {
            let tail = &hay[start..];
            match tail.iter().take(100).position(|&b| b == 0) {
                Some(end) => {
                    if let Ok(s) = std::str::from_utf8(&tail[..end]) {
                        if parse_release(s).is_some() {
                            return Some(s.to_string());
                        }
                    }
                }
                None if !at_end && tail.len() < 100 => return None,
                None => {}
            }
        }
        i = start + 1;
    }
    None
}

/// `.rodata`'s (offset, size) from a 64-bit little-endian ELF file's section table.
fn rodata(f: &std::fs::File, size: u64) -> Option<(u64, u64)> {
    let mut eh = [0u8; 64];
    f.read_exact_at(&mut eh, 0).ok()?;
    if &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
    let u64_at = |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
    let shoff = u64_at(&eh, 0x28);
    let shentsize = u64::from(u16_at(&eh, 0x3a));
    let shnum = u64::from(u16_at(&eh, 0x3c));
    let shstrndx = u64::from(u16_at(&eh, 0x3e));
    if shentsize < 64 || shnum == 0 || shnum > 4096 || shstrndx >= shnum {
        return None;
    }
    let table_len = shentsize.checked_mul(shnum)?;
    if shoff.checked_add(table_len)? > size {
        return None;
    }
    let mut sh = vec![0u8; usize::try_from(table_len).ok()?];
    f.read_exact_at(&mut sh, shoff).ok()?;
    let sec = |i: u64| {
        let o = usize::try_from(i * shentsize).unwrap_or(usize::MAX);
        let b = sh.get(o..o + 64)?;
        Some((u32_at(b, 0), u64_at(b, 0x18), u64_at(b, 0x20)))
    };
    let (_, str_off, str_size) = sec(shstrndx)?;
    if str_size > 64 * 1024 || str_off.checked_add(str_size)? > size {
        return None;
    }
    let mut names = vec![0u8; usize::try_from(str_size).ok()?];
    f.read_exact_at(&mut names, str_off).ok()?;
    (0..shnum).find_map(|i| {
        let (name, off, len) = sec(i)?;
        let n = names.get(usize::try_from(name).ok()?..)?;
        let end = n.iter().position(|&b| b == 0)?;
        (&n[..end] == b".rodata" && off.checked_add(len)? <= size).then_some((off, len))
    })
}

type Key = (std::path::PathBuf, u64, u64, u64, i64);
static CACHE: Mutex<Vec<(Key, Option<String>)>> = Mutex::new(Vec::new());

/// The release string of the sshd binary under the root: Ok(None) when there is no
/// binary, Err when it exists but cannot be read or holds no release string.
pub fn binary_release(root: &Root) -> Result<Option<String>, VersionError> {
    let (file, meta) = match root.open_regular(SSHD_BINARY) {
        Ok(x) => x,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(VersionError(format!("cannot read {SSHD_BINARY}: {e}"))),
    };
    let key: Key = (
        root.dir().to_path_buf(),
        meta.dev,
        meta.ino,
        meta.size,
        meta.mtime,
    );
    if let Ok(c) = CACHE.lock() {
        if let Some((_, v)) = c.iter().find(|(k, _)| *k == key) {
            return v.clone().map(Some).ok_or_else(|| no_string(meta.size));
        }
    }
    let io = |e: std::io::Error| VersionError(format!("cannot read {SSHD_BINARY}: {e}"));
    let mut file = file;
    let found = match rodata(&file, meta.size) {
        Some((off, len)) => {
            file.seek(SeekFrom::Start(off)).map_err(io)?;
            match scan((&file).take(len), MAX_SCAN_BYTES).map_err(io)?.0 {
                Some(s) => Some(s),
                // Not in .rodata (an unusual build): the whole file, from the start.
                None => {
                    file.seek(SeekFrom::Start(0)).map_err(io)?;
                    scan(&file, MAX_SCAN_BYTES).map_err(io)?.0
                }
            }
        }
        None => scan(&file, MAX_SCAN_BYTES).map_err(io)?.0,
    };
    if let Ok(mut c) = CACHE.lock() {
        if c.len() >= 8 {
            c.remove(0);
        }
        c.push((key, found.clone()));
    }
    found.map(Some).ok_or_else(|| no_string(meta.size))
}

fn no_string(size: u64) -> VersionError {
    VersionError(format!(
        "{SSHD_BINARY} ({size} bytes) holds no OpenSSH release string in its first {} MiB",
        MAX_SCAN_BYTES / 1024 / 1024
    ))
}

/// `1:9.2p1-2+deb12u3` → 902.
fn dpkg_release(version: &str) -> Option<Release> {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    let upstream = v.split(['-', '+', '~']).next()?;
    parse_release(&format!("OpenSSH_{upstream}")).map(|(r, _)| r)
}

/// The vendor from `/etc/os-release` (`ID`, `ID_LIKE`).
fn os_vendor(root: &Root) -> Option<Vendor> {
    let text = root.read_text("/etc/os-release").ok()?.content;
    let mut words = Vec::new();
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("ID=").or_else(|| l.strip_prefix("ID_LIKE=")) {
            words.extend(
                v.trim_matches(['"', '\''])
                    .split_whitespace()
                    .map(str::to_ascii_lowercase),
            );
        }
    }
    if words.iter().any(|w| w == "debian" || w == "ubuntu") {
        Some(Vendor::Debian)
    } else if words.iter().any(|w| {
        matches!(
            w.as_str(),
            "rhel" | "fedora" | "centos" | "amzn" | "rocky" | "almalinux" | "ol"
        )
    }) {
        Some(Vendor::RedHat)
    } else if words.is_empty() {
        None
    } else {
        Some(Vendor::Upstream)
    }
}

/// Detects the OpenSSH of a root. Err only when the binary exists but cannot be read (or
/// holds no release string) and no package database says the version either: the result
/// would otherwise be computed for a version nobody checked.
pub fn detect(root: &Root) -> Result<Detected, VersionError> {
    let bin = binary_release(root);
    if let Ok(Some(rel)) = &bin {
        if let Some((r, suffix)) = parse_release(rel) {
            let vendor = match suffix {
                Some(x) if x.starts_with("Debian") || x.starts_with("Ubuntu") => Vendor::Debian,
                _ => os_vendor(root).unwrap_or(Vendor::Upstream),
            };
            let mut profile = Profile::for_release(r, vendor);
            profile.banner = Some(rel.clone());
            return Ok(Detected {
                source: VersionSource::Binary {
                    path: SSHD_BINARY.into(),
                    release: rel.clone(),
                },
                release: Some(r),
                profile,
            });
        }
    }
    let dpkg = root
        .read_text("/var/lib/dpkg/status")
        .ok()
        .map(|t| crate::facts::packages::parse_dpkg_status(&t.content))
        .and_then(|m| m.get("openssh-server").cloned());
    if let Some(version) = dpkg {
        if let Some(r) = dpkg_release(&version) {
            let mut profile = Profile::for_release(r, Vendor::Debian);
            let v = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
            profile.banner = v.split('-').next().map(|u| format!("OpenSSH_{u}"));
            if let Err(e) = &bin {
                let n = format!("{}; version taken from the dpkg database", e.0);
                profile.note = Some(match profile.note {
                    Some(x) => format!("{x}; {n}"),
                    None => n,
                });
            }
            return Ok(Detected {
                source: VersionSource::Dpkg {
                    package: "openssh-server".into(),
                    version,
                },
                release: Some(r),
                profile,
            });
        }
    }
    match bin {
        Err(e) => Err(e),
        Ok(_) => {
            let mut profile = Profile::default();
            if let Some(v) = os_vendor(root) {
                profile.vendor = v;
            }
            let reason = format!("no {SSHD_BINARY} and no openssh-server package record");
            profile.note = Some(format!(
                "{reason}: computed with OpenSSH 9.2's table ({} build); keywords and defaults of the real sshd may differ",
                profile.vendor
            ));
            Ok(Detected {
                source: VersionSource::Unknown { reason },
                release: None,
                profile,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_strings() {
        assert_eq!(
            parse_release("OpenSSH_9.2p1 Debian-2+deb12u3"),
            Some((902, Some("Debian-2+deb12u3")))
        );
        assert_eq!(parse_release("OpenSSH_10.0p2"), Some((1000, None)));
        assert_eq!(parse_release("OpenSSH_8.7p1"), Some((807, None)));
        assert_eq!(parse_release("OpenSSH_7.4*"), None);
        assert_eq!(parse_release("OpenSSH_10.0"), None);
        assert_eq!(parse_release("OpenSSH_2.*,OpenSSH_3.0*"), None);
        assert_eq!(dpkg_release("1:9.2p1-2+deb12u3"), Some(902));
        assert_eq!(dpkg_release("1:10.0p1-7"), Some(1000));
        assert_eq!(dpkg_release("garbage"), None);
    }

    #[test]
    fn rodata_is_found_in_an_elf_file() {
        // This test binary is an ELF file whose .rodata holds the literal searched for.
        let exe = std::env::current_exe().unwrap();
        let f = std::fs::File::open(&exe).unwrap();
        let size = f.metadata().unwrap().len();
        let (off, len) = rodata(&f, size).expect(".rodata of the test binary");
        assert!(off > 0 && len > 0 && off + len <= size);
        let mut buf = vec![0u8; len as usize];
        f.read_exact_at(&mut buf, off).unwrap();
        assert!(buf.windows(8).any(|w| w == b"OpenSSH_"));
        // Not an ELF file: no section table, the caller scans from the start.
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            t.path(),
            b"OpenSSH_9.2p1\0 and more bytes to make it longer than a header .......",
        )
        .unwrap();
        let f = std::fs::File::open(t.path()).unwrap();
        assert_eq!(rodata(&f, f.metadata().unwrap().len()), None);
    }

    #[test]
    fn scan_finds_the_release_across_chunks_and_skips_patterns() {
        let mut data = vec![b'x'; CHUNK - 5];
        data.extend_from_slice(b"OpenSSH_7.4*\0junk OpenSSH_2.*,OpenSSH_3.0*\0");
        data.extend(vec![b'y'; CHUNK]);
        data.extend_from_slice(b"OpenSSH_10.0\0");
        // Straddles the chunk boundary.
        let at = 2 * CHUNK - 3 - data.len() % CHUNK;
        data.extend(vec![b'z'; at]);
        data.extend_from_slice(b"OpenSSH_10.0p2 Debian-7+deb13u4\0tail");
        let (s, read) = scan(&data[..], MAX_SCAN_BYTES).unwrap();
        assert_eq!(s.as_deref(), Some("OpenSSH_10.0p2 Debian-7+deb13u4"));
        assert!(read <= data.len() as u64);
        // Bounded: nothing found within the limit.
        let (s, read) = scan(&data[..], 1000).unwrap();
        assert_eq!(s, None);
        assert!(read <= CHUNK as u64 + 1000);
        // A string at the very end without its NUL is not a release string.
        let (s, _) = scan(&b"xxOpenSSH_9.2p1"[..], MAX_SCAN_BYTES).unwrap();
        assert_eq!(s, None);
    }
}
