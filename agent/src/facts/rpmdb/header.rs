//! The rpm header blob as the package database stores it (the "immutable region" of an
//! installed package, without the 8-byte magic of a header in an `.rpm` file):
//!
//! ```text
//! il: u32 BE   number of index entries
//! dl: u32 BE   length of the data store
//! il x { tag: i32 BE, type: u32 BE, offset: i32 BE, count: u32 BE }
//! dl bytes of data; STRING values are NUL-terminated at `offset`
//! ```
//!
//! Only the identity of a package is read: NAME (1000), VERSION (1001), RELEASE (1002),
//! EPOCH (1003, INT32) and ARCH (1022). Bounds follow rpm's own sanity limits (fewer than
//! 65536 entries, a data store under 16 MiB), and every offset is checked against the data
//! store, so a hostile blob gives an error, never a panic.

use std::fmt;

/// rpm refuses headers with this many index entries or more (`hdrchkTags`).
pub const MAX_ENTRIES: u32 = 0x1_0000;
/// rpm refuses data stores this large or larger (`hdrchkData`).
pub const MAX_DATA: u32 = 0x100_0000;

const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_ARCH: i32 = 1022;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// Identity of one installed package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RpmIdentity {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// Absent for `gpg-pubkey` pseudo-packages.
    pub arch: Option<String>,
}

/// Why a header blob was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// The caller gave a prefix of the blob and the value lies beyond it: read `needed`
    /// bytes (at most the whole blob) and parse again.
    NeedMore {
        needed: usize,
    },
    Invalid(String),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::NeedMore { needed } => {
                write!(f, "header truncated (needs {needed} bytes)")
            }
            HeaderError::Invalid(m) => write!(f, "invalid rpm header: {m}"),
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `(il, dl)` and the total blob length they imply, from the first 8 bytes.
pub fn sizes(prefix: &[u8]) -> Result<(u32, u32, usize), HeaderError> {
    if prefix.len() < 8 {
        return Err(HeaderError::Invalid(format!(
            "{} bytes, shorter than the 8-byte preamble",
            prefix.len()
        )));
    }
    let (il, dl) = (be32(prefix, 0), be32(prefix, 4));
    if il == 0 || il >= MAX_ENTRIES {
        return Err(HeaderError::Invalid(format!(
            "{il} index entries (rpm allows 1 to {})",
            MAX_ENTRIES - 1
        )));
    }
    if dl >= MAX_DATA {
        return Err(HeaderError::Invalid(format!(
            "data store of {dl} bytes (rpm allows less than {MAX_DATA})"
        )));
    }
    Ok((il, dl, 8 + il as usize * 16 + dl as usize))
}

/// Parses the identity from `blob`, which may be a prefix of a blob of `total` bytes.
/// Returns [`HeaderError::NeedMore`] when a needed value lies beyond the prefix.
pub fn parse_prefix(blob: &[u8], total: usize) -> Result<RpmIdentity, HeaderError> {
    let (il, dl, want) = sizes(blob)?;
    if want != total {
        return Err(HeaderError::Invalid(format!(
            "preamble declares {want} bytes but the stored blob has {total}"
        )));
    }
    let index_end = 8 + il as usize * 16;
    if blob.len() < index_end {
        return Err(HeaderError::NeedMore { needed: index_end });
    }
    let data = &blob[index_end..];
    let dl = dl as usize;
    let (mut name, mut version, mut release, mut epoch, mut arch) = (None, None, None, None, None);
    for i in 0..il as usize {
        let e = 8 + i * 16;
        let tag = be32(blob, e) as i32;
        let ty = be32(blob, e + 4);
        let off = be32(blob, e + 8) as i32;
        let count = be32(blob, e + 12);
        let slot = match tag {
            TAG_NAME => &mut name,
            TAG_VERSION => &mut version,
            TAG_RELEASE => &mut release,
            TAG_ARCH => &mut arch,
            TAG_EPOCH => {
                if ty != TYPE_INT32 || count != 1 {
                    return Err(HeaderError::Invalid(format!(
                        "EPOCH has type {ty} count {count}, expected one INT32"
                    )));
                }
                let o = check_offset(off, 4, dl, tag)?;
                if o % 4 != 0 {
                    return Err(HeaderError::Invalid(format!(
                        "EPOCH at unaligned offset {o}"
                    )));
                }
                if data.len() < o + 4 {
                    return Err(HeaderError::NeedMore {
                        needed: index_end + o + 4,
                    });
                }
                epoch = Some(be32(data, o));
                continue;
            }
            _ => continue,
        };
        if ty != TYPE_STRING && ty != TYPE_I18NSTRING {
            return Err(HeaderError::Invalid(format!(
                "tag {tag} has type {ty}, expected a string"
            )));
        }
        let o = check_offset(off, 1, dl, tag)?;
        let avail = &data[o.min(data.len())..data.len().min(dl)];
        match avail.iter().position(|&b| b == 0) {
            Some(end) => *slot = Some(String::from_utf8_lossy(&avail[..end]).into_owned()),
            None if data.len() < dl => {
                // names and versions are short: ask for a little more, not the whole blob
                return Err(HeaderError::NeedMore {
                    needed: index_end + dl.min(data.len().max(o) + 1024),
                });
            }
            None => {
                return Err(HeaderError::Invalid(format!(
                    "tag {tag}: string at offset {o} is not terminated inside the data store"
                )))
            }
        }
    }
    let need = |v: Option<String>, what: &str| {
        v.ok_or_else(|| HeaderError::Invalid(format!("no {what} tag")))
    };
    Ok(RpmIdentity {
        name: need(name, "NAME")?,
        version: need(version, "VERSION")?,
        release: need(release, "RELEASE")?,
        epoch,
        arch,
    })
}

fn check_offset(off: i32, len: usize, dl: usize, tag: i32) -> Result<usize, HeaderError> {
    if off < 0 || off as usize + len > dl {
        return Err(HeaderError::Invalid(format!(
            "tag {tag}: offset {off} outside the {dl}-byte data store"
        )));
    }
    Ok(off as usize)
}

/// Parses a whole blob.
pub fn parse(blob: &[u8]) -> Result<RpmIdentity, HeaderError> {
    match parse_prefix(blob, blob.len()) {
        Err(HeaderError::NeedMore { needed }) => Err(HeaderError::Invalid(format!(
            "truncated: {needed} bytes needed, {} present",
            blob.len()
        ))),
        r => r,
    }
}

/// Builds a header blob (tests and fuzz seeds): `(tag, type, value)` with string or INT32
/// values.
#[cfg(test)]
pub fn build(entries: &[(i32, u32, &[u8])]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for (tag, ty, v) in entries {
        if *ty == TYPE_INT32 {
            while data.len() % 4 != 0 {
                data.push(0);
            }
        }
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&ty.to_be_bytes());
        index.extend_from_slice(&(data.len() as i32).to_be_bytes());
        index.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(v);
        if *ty == TYPE_STRING {
            data.push(0);
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        build(&[
            (TAG_NAME, TYPE_STRING, b"openssh-server"),
            (TAG_VERSION, TYPE_STRING, b"8.7p1"),
            (TAG_RELEASE, TYPE_STRING, b"38.el9"),
            (TAG_EPOCH, TYPE_INT32, &1u32.to_be_bytes()),
            (TAG_ARCH, TYPE_STRING, b"x86_64"),
        ])
    }

    #[test]
    fn identity() {
        let p = parse(&sample()).unwrap();
        assert_eq!(p.name, "openssh-server");
        assert_eq!(
            (p.version.as_str(), p.release.as_str()),
            ("8.7p1", "38.el9")
        );
        assert_eq!(p.epoch, Some(1));
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
    }

    #[test]
    fn prefix_asks_for_more_and_then_parses() {
        let b = sample();
        let r = parse_prefix(&b[..20], b.len());
        assert!(matches!(r, Err(HeaderError::NeedMore { .. })), "{r:?}");
        let mut n = 20;
        loop {
            match parse_prefix(&b[..n], b.len()) {
                Ok(p) => {
                    assert_eq!(p.name, "openssh-server");
                    break;
                }
                Err(HeaderError::NeedMore { needed }) => {
                    assert!(needed > n && needed <= b.len());
                    n = needed;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn hostile_headers_are_errors() {
        let good = sample();
        // every truncation and every single-byte corruption: an error or a value, no panic
        for n in 0..good.len() {
            assert!(parse(&good[..n]).is_err());
        }
        for i in 0..good.len() {
            for v in [0u8, 0x7f, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = parse(&b);
            }
        }
        // huge counts
        let mut b = good.clone();
        b[0..4].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        assert!(parse(&b).unwrap_err().to_string().contains("index entries"));
        let mut b = good.clone();
        b[4..8].copy_from_slice(&0x0100_0000u32.to_be_bytes());
        assert!(parse(&b).unwrap_err().to_string().contains("data store"));
        // an offset outside the data store
        let mut b = good.clone();
        b[16..20].copy_from_slice(&1000i32.to_be_bytes());
        assert!(parse(&b).unwrap_err().to_string().contains("outside"));
        // a missing NAME
        let b = build(&[(TAG_VERSION, TYPE_STRING, b"1")]);
        assert!(parse(&b).unwrap_err().to_string().contains("NAME"));
    }
}
