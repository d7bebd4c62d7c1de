//! A read-only reader for rpm's Berkeley DB `Packages` file (RHEL 8, Amazon Linux 2,
//! CentOS 7): a BDB hash database whose keys are package numbers (native-endian u32) and
//! whose values are rpm header blobs. Only what that needs, from the BDB on-disk format:
//!
//! - the hash meta page (page 0): magic 0x061561 (its byte order is the file's), page size,
//!   last page, `max_bucket` and the `spares` table that maps a bucket to its first page;
//! - hash pages (types 2 and 13): a 26-byte header (`next_pgno` chains a bucket's pages),
//!   an offset table, and key/data items packed from the end of the page; an item is either
//!   inline (`H_KEYDATA`) or a reference to an overflow chain (`H_OFFPAGE`: page, length);
//! - overflow pages (type 7): `hf_offset` bytes of data after the header, chained by
//!   `next_pgno`.
//!
//! Buckets are walked as rpm's own read-only backend (`bdb_ro`) walks them. Every page is
//! visited at most once, chains are bounded by the file's page count and by the declared
//! lengths, so a corrupt file is an error, never a loop or a panic. Record 0 (rpm's counter
//! of the next package number) is skipped.

use super::sqlite::Source;
use std::collections::HashSet;

const HASH_MAGIC: u32 = 0x0006_1561;
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
const PAGE_HEADER: usize = 26;
/// Largest value accepted (rpm headers are below 16 MiB).
const MAX_VALUE: usize = 64 * 1024 * 1024;

struct File<'a> {
    src: &'a dyn Source,
    big_endian: bool,
    page_size: usize,
    last_pgno: u32,
    visited: HashSet<u32>,
}

impl File<'_> {
    fn u32(&self, b: &[u8], at: usize) -> u32 {
        let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn u16(&self, b: &[u8], at: usize) -> usize {
        let a = [b[at], b[at + 1]];
        (if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }) as usize
    }

    /// Reads page `n`, refusing a page outside the file or one already visited.
    fn page(&mut self, n: u32, want: &[u8]) -> Result<Vec<u8>, String> {
        if n == 0 || n > self.last_pgno {
            return Err(format!("page number {n} outside 1..={}", self.last_pgno));
        }
        if !self.visited.insert(n) {
            return Err(format!("page {n} reached twice (a cycle)"));
        }
        let mut buf = vec![0u8; self.page_size];
        self.src
            .read_at(n as u64 * self.page_size as u64, &mut buf)
            .map_err(|e| format!("page {n}: {e}"))?;
        if self.u32(&buf, 8) != n {
            return Err(format!("page {n} says it is page {}", self.u32(&buf, 8)));
        }
        if !want.contains(&buf[25]) {
            return Err(format!("page {n} has type {}, expected {want:?}", buf[25]));
        }
        Ok(buf)
    }

    /// The value an `H_OFFPAGE` item points to.
    fn overflow(&mut self, first: u32, len: usize) -> Result<Vec<u8>, String> {
        if len > MAX_VALUE {
            return Err(format!("overflow item of {len} bytes"));
        }
        let mut out = Vec::with_capacity(len);
        let mut next = first;
        while out.len() < len {
            if next == 0 {
                return Err(format!(
                    "overflow chain from page {first} ends after {} of {len} bytes",
                    out.len()
                ));
            }
            let p = self.page(next, &[P_OVERFLOW])?;
            let n = self.u16(&p, 22);
            if PAGE_HEADER + n > self.page_size || n == 0 {
                return Err(format!("overflow page {next} holds {n} bytes"));
            }
            let take = n.min(len - out.len());
            out.extend_from_slice(&p[PAGE_HEADER..PAGE_HEADER + take]);
            next = self.u32(&p, 16);
        }
        Ok(out)
    }

    /// Item `i` of a hash page, inline or from its overflow chain.
    fn item(&mut self, pg: &[u8], pn: u32, i: usize) -> Result<Vec<u8>, String> {
        let off = self.u16(pg, PAGE_HEADER + 2 * i);
        let end = if i == 0 {
            self.page_size
        } else {
            self.u16(pg, PAGE_HEADER + 2 * (i - 1))
        };
        let entries = self.u16(pg, 20);
        if off < PAGE_HEADER + 2 * entries || off >= end || end > self.page_size {
            return Err(format!(
                "page {pn}: item {i} at {off}..{end} is outside the page"
            ));
        }
        let item = &pg[off..end];
        match item[0] {
            H_KEYDATA => Ok(item[1..].to_vec()),
            H_OFFPAGE if item.len() >= 12 => {
                let (first, len) = (self.u32(item, 4), self.u32(item, 8) as usize);
                self.overflow(first, len)
            }
            t => Err(format!(
                "page {pn}: item {i} has type {t} (duplicates are not used by rpm)"
            )),
        }
    }
}

/// Visits every `(package number, header blob)` of a Berkeley DB hash `Packages` file, in
/// bucket order (one blob in memory at a time).
pub fn scan(
    src: &dyn Source,
    visit: &mut dyn FnMut(u32, Vec<u8>) -> Result<(), String>,
) -> Result<(), String> {
    let mut meta = [0u8; 512];
    if src.size() < 512 {
        return Err(format!(
            "{} bytes: too short for a Berkeley DB file",
            src.size()
        ));
    }
    src.read_at(0, &mut meta)?;
    let big_endian = match u32::from_le_bytes([meta[12], meta[13], meta[14], meta[15]]) {
        HASH_MAGIC => false,
        m if m.swap_bytes() == HASH_MAGIC => true,
        m => {
            return Err(format!(
                "magic {m:#x}: not a Berkeley DB hash database (a btree or queue file, or not BDB)"
            ))
        }
    };
    let mut f = File {
        src,
        big_endian,
        page_size: 0,
        last_pgno: 0,
        visited: HashSet::new(),
    };
    if meta[25] != P_HASHMETA {
        return Err(format!(
            "page 0 has type {}, expected the hash meta page",
            meta[25]
        ));
    }
    if meta[24] != 0 {
        return Err("the database is encrypted".into());
    }
    let page_size = f.u32(&meta, 20) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("invalid page size {page_size}"));
    }
    let file_pages = src.size() / page_size as u64;
    let last_pgno = f.u32(&meta, 32);
    if last_pgno as u64 >= file_pages {
        return Err(format!(
            "last page {last_pgno} is beyond the end of the file ({file_pages} pages)"
        ));
    }
    let max_bucket = f.u32(&meta, 72);
    if max_bucket > last_pgno {
        return Err(format!("{max_bucket} buckets in {last_pgno} pages"));
    }
    let spares: Vec<u32> = (0..32).map(|i| f.u32(&meta, 96 + 4 * i)).collect();
    f.page_size = page_size;
    f.last_pgno = last_pgno;
    for bucket in 0..=max_bucket {
        // BS_TO_PAGE: bucket + spares[ceil(log2(bucket + 1))]
        let log = (bucket as u64 + 1).next_power_of_two().trailing_zeros() as usize;
        let mut pn = bucket
            .checked_add(spares[log])
            .ok_or_else(|| format!("bucket {bucket}: page number overflows"))?;
        if pn == 0 {
            return Err(format!("bucket {bucket} starts at page 0 (the meta page)"));
        }
        while pn != 0 {
            let pg = f.page(pn, &[P_HASH, P_HASH_UNSORTED])?;
            let entries = f.u16(&pg, 20);
            if entries % 2 != 0 || PAGE_HEADER + 2 * entries > page_size {
                return Err(format!("page {pn}: {entries} items"));
            }
            for pair in 0..entries / 2 {
                let key = f.item(&pg, pn, 2 * pair)?;
                let value = f.item(&pg, pn, 2 * pair + 1)?;
                let Ok(k) = <[u8; 4]>::try_from(key.as_slice()) else {
                    return Err(format!("page {pn}: a key of {} bytes", key.len()));
                };
                let k = if big_endian {
                    u32::from_be_bytes(k)
                } else {
                    u32::from_le_bytes(k)
                };
                if k != 0 {
                    visit(k, value)?;
                }
            }
            pn = f.u32(&pg, 16);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_hash_database() {
        let mut none = |_: u32, _: Vec<u8>| Ok(());
        assert!(scan(&vec![0u8; 100], &mut none)
            .unwrap_err()
            .contains("too short"));
        assert!(scan(&vec![0u8; 8192], &mut none)
            .unwrap_err()
            .contains("magic"));
    }
}
