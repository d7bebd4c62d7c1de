//! A read-only reader for one table of an SQLite 3 database file: exactly what reading rpm's
//! `Packages` table needs, and nothing else (no SQL, no indexes, no writes, no locking).
//!
//! Why not `rusqlite`: bundling SQLite grew a stripped, fat-LTO release binary by 1.80 MiB
//! (measured, see docs/platforms.md), about 29 % of the agent; this reader is a few hundred
//! lines. What it covers, from the file format documentation (sqlite.org/fileformat2.html):
//! the 100-byte database header, table b-tree pages (interior 0x05, leaf 0x0D), cell payloads
//! spilled to overflow pages, varints, the record format, the schema table on page 1, and the
//! write-ahead log (`-wal`): committed frames whose salts and cumulative checksums verify
//! replace the pages of the main file, as SQLite's own recovery does. Pages are read on demand
//! with `pread`, so a 50 MB database costs the pages visited, not 50 MB of memory.
//!
//! Hostile files: every page number is range-checked, a b-tree page reached twice (a cycle)
//! or a chain longer than its payload is an error, and the total number of page reads is
//! bounded by a budget derived from the file size, so a corrupt file ends in an error, never a
//! panic or a loop.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// A read of a [`Source`] that failed, with its offset.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("read of {len} bytes at {offset} is past the end")]
    PastEnd { offset: u64, len: usize },
    /// The I/O error's kind and text (kept comparable and clonable like the other errors of
    /// the reader).
    #[error("read at offset {offset}: {reason}")]
    Io {
        offset: u64,
        kind: std::io::ErrorKind,
        reason: String,
    },
}
crate::error_text::debug_as_display!(ReadError);

/// Random access to the bytes of a file.
pub trait Source {
    fn size(&self) -> u64;
    /// Fills `buf` from `off`; reading past the end is an error.
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), ReadError>;
}

impl Source for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        let end = off
            .checked_add(buf.len() as u64)
            .filter(|e| *e <= self.len() as u64)
            .ok_or(ReadError::PastEnd {
                offset: off,
                len: buf.len(),
            })?;
        buf.copy_from_slice(&self[off as usize..end as usize]);
        Ok(())
    }
}

/// A regular file opened through the scan root, with its size at open time.
pub struct FileSource {
    pub file: std::fs::File,
    pub len: u64,
}

impl Source for FileSource {
    fn size(&self) -> u64 {
        self.len
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        use std::os::unix::fs::FileExt;
        if off.saturating_add(buf.len() as u64) > self.len {
            return Err(ReadError::PastEnd {
                offset: off,
                len: buf.len(),
            });
        }
        self.file
            .read_exact_at(buf, off)
            .map_err(|e| ReadError::Io {
                offset: off,
                kind: e.kind(),
                reason: e.to_string(),
            })
    }
}

/// Why the database could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbError {
    /// Not an SQLite 3 file, or a feature this reader does not implement.
    Format(String),
    /// Structurally broken at a page.
    Corrupt { page: u32, msg: String },
    /// An I/O error or a read past the end of the file.
    Io(ReadError),
    /// More page reads than the file can justify.
    Budget(u64),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Format(m) => write!(f, "{m}"),
            DbError::Corrupt { page, msg } => write!(f, "corrupt at page {page}: {msg}"),
            DbError::Io(m) => write!(f, "{m}"),
            DbError::Budget(n) => {
                write!(f, "gave up after {n} page reads (a loop or a corrupt tree)")
            }
        }
    }
}

fn corrupt(page: u32, msg: impl Into<String>) -> DbError {
    DbError::Corrupt {
        page,
        msg: msg.into(),
    }
}

fn be16(b: &[u8], at: usize) -> usize {
    u16::from_be_bytes([b[at], b[at + 1]]) as usize
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// SQLite varint at `b[at..]`: `(value, length)`; `None` when `b` ends inside it.
pub fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(at + i)?;
        if i == 8 {
            return Some(((v << 8) | byte as u64, 9));
        }
        v = (v << 7) | (byte & 0x7f) as u64;
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Largest payload accepted for one row (rpm headers are below 16 MiB).
const MAX_PAYLOAD: u64 = 64 * 1024 * 1024;
/// Deepest b-tree accepted (SQLite's own limit is 20).
const MAX_DEPTH: usize = 20;

/// An open database (main file and, when present, its write-ahead log).
pub struct Db<'a> {
    main: &'a dyn Source,
    wal: Option<&'a dyn Source>,
    page_size: usize,
    usable: usize,
    page_count: u32,
    /// page number -> offset of its newest committed image in the WAL
    wal_pages: HashMap<u32, u64>,
    reads: Cell<u64>,
    budget: u64,
}

impl<'a> Db<'a> {
    /// Opens a database from its main file and optional `-wal` file.
    pub fn open(main: &'a dyn Source, wal: Option<&'a dyn Source>) -> Result<Db<'a>, DbError> {
        let mut h = [0u8; 100];
        if main.size() < 100 {
            return Err(DbError::Format(format!(
                "{} bytes: too short for an SQLite database",
                main.size()
            )));
        }
        main.read_at(0, &mut h).map_err(DbError::Io)?;
        if &h[..16] != b"SQLite format 3\0" {
            return Err(DbError::Format(
                "not an SQLite 3 database (bad magic)".into(),
            ));
        }
        let page_size = match be16(&h, 16) {
            1 => 65536,
            n if (512..=32768).contains(&n) && n.is_power_of_two() => n,
            n => return Err(DbError::Format(format!("invalid page size {n}"))),
        };
        let reserved = h[20] as usize;
        let usable = page_size - reserved;
        if usable < 480 {
            return Err(DbError::Format(format!(
                "usable page size {usable} is below SQLite's minimum of 480"
            )));
        }
        let encoding = be32(&h, 56);
        if encoding > 1 {
            return Err(DbError::Format(format!(
                "text encoding {encoding} is UTF-16 (only UTF-8 databases are read)"
            )));
        }
        let file_pages = (main.size() / page_size as u64).min(u32::MAX as u64) as u32;
        let in_header = be32(&h, 28);
        let page_count = if in_header != 0 && be32(&h, 24) == be32(&h, 92) {
            in_header
        } else {
            file_pages
        };
        let mut db = Db {
            main,
            wal,
            page_size,
            usable,
            page_count,
            wal_pages: HashMap::new(),
            reads: Cell::new(0),
            budget: 0,
        };
        if let Some(w) = wal {
            db.load_wal(w)?;
        }
        // A correct traversal reads each page that exists (in the file or the log) at most
        // once per scan, and there are two scans (schema, table); the header's page count is
        // not trusted for this bound.
        db.budget = 2 * (file_pages as u64 + db.wal_pages.len() as u64) + 64;
        Ok(db)
    }

    /// Committed frames of the write-ahead log, validated like SQLite's recovery: the header
    /// checksum, then each frame's salts and cumulative checksum; the log ends at the first
    /// frame that does not verify, and only frames up to the last commit count.
    fn load_wal(&mut self, w: &dyn Source) -> Result<(), DbError> {
        if w.size() < 32 {
            return Ok(()); // empty or unused: SQLite ignores it too
        }
        let mut h = [0u8; 32];
        w.read_at(0, &mut h).map_err(DbError::Io)?;
        let magic = be32(&h, 0);
        let big_endian = match magic {
            0x377f_0682 => false,
            0x377f_0683 => true,
            _ => return Ok(()), // not a valid log: SQLite treats it as empty
        };
        let wal_page = be32(&h, 8) as usize;
        let (s0, s1) = wal_checksum(big_endian, (0, 0), &h[..24]);
        if (s0, s1) != (be32(&h, 24), be32(&h, 28)) || be32(&h, 4) != 3_007_000 {
            return Ok(());
        }
        if wal_page != self.page_size {
            return Err(DbError::Format(format!(
                "write-ahead log page size {wal_page} differs from the database's {}",
                self.page_size
            )));
        }
        let (salt1, salt2) = (be32(&h, 16), be32(&h, 20));
        let frame = 24 + wal_page as u64;
        let frames = (w.size() - 32) / frame;
        let mut sum = (s0, s1);
        let mut pending: Vec<(u32, u64)> = Vec::new();
        let mut fh = [0u8; 24];
        let mut page = vec![0u8; wal_page];
        for i in 0..frames {
            let off = 32 + i * frame;
            w.read_at(off, &mut fh).map_err(DbError::Io)?;
            w.read_at(off + 24, &mut page).map_err(DbError::Io)?;
            if be32(&fh, 8) != salt1 || be32(&fh, 12) != salt2 {
                break;
            }
            let s = wal_checksum(big_endian, sum, &fh[..8]);
            let s = wal_checksum(big_endian, s, &page);
            if s != (be32(&fh, 16), be32(&fh, 20)) {
                break;
            }
            sum = s;
            let pgno = be32(&fh, 0);
            if pgno == 0 {
                break;
            }
            pending.push((pgno, off + 24));
            let commit = be32(&fh, 4);
            if commit != 0 {
                for (p, o) in pending.drain(..) {
                    self.wal_pages.insert(p, o);
                }
                self.page_count = commit;
            }
        }
        Ok(())
    }

    pub fn page_count(&self) -> u32 {
        self.page_count
    }

    /// One page, from the WAL when it holds a committed image of it.
    fn page(&self, n: u32) -> Result<Vec<u8>, DbError> {
        if n == 0 || n > self.page_count {
            return Err(corrupt(
                n,
                format!("page number outside 1..={}", self.page_count),
            ));
        }
        let r = self.reads.get() + 1;
        if r > self.budget {
            return Err(DbError::Budget(r - 1));
        }
        self.reads.set(r);
        let mut buf = vec![0u8; self.page_size];
        match (self.wal_pages.get(&n), self.wal) {
            (Some(off), Some(w)) => w.read_at(*off, &mut buf),
            _ => self
                .main
                .read_at((n as u64 - 1) * self.page_size as u64, &mut buf),
        }
        .map_err(|e| corrupt(n, e.to_string()))?;
        Ok(buf)
    }

    /// Visits every row of the table b-tree rooted at `root` in rowid order. The visitor
    /// returns `false` to stop early.
    pub fn scan_table(
        &self,
        root: u32,
        visit: &mut dyn FnMut(i64, &mut Payload<'_, 'a>) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        let mut seen: HashSet<u32> = HashSet::new();
        // (page, depth); children are pushed in reverse so rows come out in rowid order
        let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
        while let Some((pn, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(corrupt(
                    pn,
                    format!("b-tree deeper than {MAX_DEPTH} levels"),
                ));
            }
            if !seen.insert(pn) {
                return Err(corrupt(pn, "page reached twice in one b-tree (a cycle)"));
            }
            let page = self.page(pn)?;
            let h = if pn == 1 { 100 } else { 0 };
            let kind = page[h];
            let interior = match kind {
                0x05 => true,
                0x0d => false,
                k => {
                    return Err(corrupt(
                        pn,
                        format!("type {k:#04x} where a table b-tree page was expected"),
                    ))
                }
            };
            let hdr_len = if interior { 12 } else { 8 };
            let ncells = be16(&page, h + 3);
            let ptrs = h + hdr_len;
            if ptrs + 2 * ncells > self.usable {
                return Err(corrupt(
                    pn,
                    format!("{ncells} cells do not fit in the page"),
                ));
            }
            let cell_at = |i: usize| -> Result<usize, DbError> {
                let c = be16(&page, ptrs + 2 * i);
                if c < ptrs + 2 * ncells || c >= self.usable {
                    return Err(corrupt(
                        pn,
                        format!("cell {i} at offset {c} outside the page"),
                    ));
                }
                Ok(c)
            };
            if interior {
                let right = be32(&page, h + 8);
                stack.push((right, depth + 1));
                for i in (0..ncells).rev() {
                    let c = cell_at(i)?;
                    if c + 4 > self.usable {
                        return Err(corrupt(pn, format!("cell {i} truncated")));
                    }
                    stack.push((be32(&page, c), depth + 1));
                }
                continue;
            }
            for i in 0..ncells {
                let c = cell_at(i)?;
                let bad = || corrupt(pn, format!("cell {i}: truncated varint"));
                let (total, n1) = varint(&page[..self.usable], c).ok_or_else(bad)?;
                let (rowid, n2) = varint(&page[..self.usable], c + n1).ok_or_else(bad)?;
                if total > MAX_PAYLOAD {
                    return Err(corrupt(
                        pn,
                        format!("cell {i}: payload of {total} bytes exceeds {MAX_PAYLOAD}"),
                    ));
                }
                let start = c + n1 + n2;
                let local = self.local_size(total) as usize;
                let overflow = local < total as usize;
                let end = start + local + if overflow { 4 } else { 0 };
                if end > self.usable {
                    return Err(corrupt(pn, format!("cell {i}: payload runs past the page")));
                }
                let mut p = Payload {
                    db: self,
                    page: pn,
                    total: total as usize,
                    data: page[start..start + local].to_vec(),
                    next: if overflow {
                        be32(&page, start + local)
                    } else {
                        0
                    },
                    chain_left: if overflow {
                        (total as usize - local).div_ceil(self.usable - 4)
                    } else {
                        0
                    },
                };
                if !visit(rowid as i64, &mut p)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Bytes of a table-leaf payload of `total` bytes kept on the b-tree page itself.
    fn local_size(&self, total: u64) -> u64 {
        let u = self.usable as u64;
        let x = u - 35;
        if total <= x {
            return total;
        }
        let m = ((u - 12) * 32 / 255) - 23;
        let k = m + (total - m) % (u - 4);
        if k <= x {
            k
        } else {
            m
        }
    }

    /// Root page of the table called `name` (from the schema table on page 1).
    pub fn table_root(&self, name: &str) -> Result<Option<u32>, DbError> {
        let mut found = None;
        self.scan_table(1, &mut |_, p| {
            let cols = p.columns()?;
            if cols.len() < 4 {
                return Ok(true);
            }
            let (Some(ty), Some(n)) = (p.text(&cols[0])?, p.text(&cols[1])?) else {
                return Ok(true);
            };
            if ty == "table" && n.eq_ignore_ascii_case(name) {
                let root = p.int(&cols[3])?.unwrap_or(0);
                if root <= 0 || root > u32::MAX as i64 {
                    return Err(corrupt(1, format!("table {name} has root page {root}")));
                }
                found = Some(root as u32);
                return Ok(false);
            }
            Ok(true)
        })?;
        Ok(found)
    }
}

/// `s0 += x0 + s1; s1 += x1 + s0` over 32-bit word pairs (the WAL checksum).
fn wal_checksum(big_endian: bool, (mut s0, mut s1): (u32, u32), data: &[u8]) -> (u32, u32) {
    let word = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    for pair in data.chunks_exact(8) {
        s0 = s0.wrapping_add(word(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(word(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

/// One column of a record: its serial type and where its value starts in the payload.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub serial: u64,
    pub offset: usize,
    pub len: usize,
}

/// The payload of one row, read lazily: overflow pages are followed only as far as a caller
/// asks.
pub struct Payload<'d, 'a> {
    db: &'d Db<'a>,
    page: u32,
    total: usize,
    data: Vec<u8>,
    next: u32,
    chain_left: usize,
}

impl Payload<'_, '_> {
    pub fn total(&self) -> usize {
        self.total
    }

    /// The first `n` bytes (fewer when the payload is shorter).
    pub fn prefix(&mut self, n: usize) -> Result<&[u8], DbError> {
        let n = n.min(self.total);
        let step = self.db.usable - 4;
        while self.data.len() < n {
            if self.next == 0 || self.chain_left == 0 {
                return Err(corrupt(
                    self.page,
                    format!(
                        "overflow chain ends after {} of {} payload bytes",
                        self.data.len(),
                        self.total
                    ),
                ));
            }
            let pg = self.db.page(self.next)?;
            let take = step.min(self.total - self.data.len());
            self.data.extend_from_slice(&pg[4..4 + take]);
            self.next = be32(&pg, 0);
            self.chain_left -= 1;
        }
        Ok(&self.data[..n])
    }

    /// The record header: one [`Column`] per value.
    pub fn columns(&mut self) -> Result<Vec<Column>, DbError> {
        let page = self.page;
        let head = self.prefix(9)?;
        let (hsize, n) = varint(head, 0).ok_or_else(|| corrupt(page, "record header size"))?;
        if hsize as usize > self.total || hsize > 65536 || (hsize as usize) < n {
            return Err(corrupt(page, format!("record header of {hsize} bytes")));
        }
        let hsize = hsize as usize;
        let total = self.total;
        let head = self.prefix(hsize)?;
        let mut at = n;
        let mut offset = hsize;
        let mut cols = Vec::new();
        while at < hsize {
            let (serial, k) =
                varint(&head[..hsize], at).ok_or_else(|| corrupt(page, "record serial type"))?;
            at += k;
            let len = match serial {
                0 | 8 | 9 => 0,
                1..=4 => serial as usize,
                5 => 6,
                6 | 7 => 8,
                10 | 11 => return Err(corrupt(page, format!("reserved serial type {serial}"))),
                s => ((s - 12) / 2) as usize,
            };
            if offset.saturating_add(len) > total {
                return Err(corrupt(page, "record values run past the payload"));
            }
            cols.push(Column {
                serial,
                offset,
                len,
            });
            offset += len;
        }
        Ok(cols)
    }

    /// A BLOB or TEXT value, reading at most `max` bytes of it (`None` for other types).
    pub fn bytes(&mut self, c: &Column, max: usize) -> Result<Option<&[u8]>, DbError> {
        if c.serial < 12 {
            return Ok(None);
        }
        let n = c.len.min(max);
        let all = self.prefix(c.offset + n)?;
        Ok(Some(&all[c.offset..c.offset + n]))
    }

    fn text(&mut self, c: &Column) -> Result<Option<String>, DbError> {
        if c.serial < 13 || c.serial % 2 == 0 {
            return Ok(None);
        }
        Ok(self
            .bytes(c, 4096)?
            .map(|b| String::from_utf8_lossy(b).into_owned()))
    }

    /// An integer value (`None` for NULL and non-integers).
    pub fn int(&mut self, c: &Column) -> Result<Option<i64>, DbError> {
        Ok(match c.serial {
            8 => Some(0),
            9 => Some(1),
            1..=6 => {
                let b = self.prefix(c.offset + c.len)?;
                let v = &b[c.offset..c.offset + c.len];
                let mut x: i64 = if v[0] & 0x80 != 0 { -1 } else { 0 };
                for &byte in v {
                    x = (x << 8) | byte as i64;
                }
                Some(x)
            }
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0x05], 0), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81], 0), None);
    }

    #[test]
    fn checksum_words_pairwise() {
        let d: Vec<u8> = (0u8..16).collect();
        let le = wal_checksum(false, (0, 0), &d);
        let be = wal_checksum(true, (0, 0), &d);
        assert_ne!(le, be);
        assert_eq!(wal_checksum(true, (0, 0), &[0; 8]), (0, 0));
    }

    #[test]
    fn not_sqlite() {
        let b = vec![0u8; 200];
        assert!(matches!(Db::open(&b, None), Err(DbError::Format(_))));
        assert!(Db::open(&vec![0u8; 10], None).is_err());
    }
}
