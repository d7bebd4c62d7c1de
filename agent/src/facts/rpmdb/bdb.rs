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

use super::sqlite::{ReadError, Source};
use std::collections::HashSet;

/// Why a Berkeley DB `Packages` file could not be walked, with the page (and item) where.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    #[error("{size} bytes: too short for a Berkeley DB file")]
    TooShort { size: u64 },
    #[error("{0}")]
    Read(ReadError),
    #[error("page {page}: {read}")]
    PageRead { page: u32, read: ReadError },
    #[error(
        "magic {magic:#x}: not a Berkeley DB hash database (a btree or queue file, or not BDB)"
    )]
    Magic { magic: u32 },
    #[error("page 0 has type {found}, expected the hash meta page")]
    NotHashMeta { found: u8 },
    #[error("the database is encrypted")]
    Encrypted,
    #[error("invalid page size {size}")]
    PageSize { size: usize },
    #[error("last page {last} is beyond the end of the file ({pages} pages)")]
    LastPage { last: u32, pages: u64 },
    #[error("{buckets} buckets in {last} pages")]
    Buckets { buckets: u32, last: u32 },
    #[error("bucket {bucket}: page number overflows")]
    BucketOverflow { bucket: u32 },
    #[error("bucket {bucket} starts at page 0 (the meta page)")]
    BucketAtMeta { bucket: u32 },
    #[error("page number {page} outside 1..={last}")]
    PageOutOfRange { page: u32, last: u32 },
    #[error("page {page} reached twice (a cycle)")]
    Cycle { page: u32 },
    #[error("page {page} says it is page {says}")]
    WrongPageNumber { page: u32, says: u32 },
    #[error("page {page} has type {found}, expected {expected:?}")]
    WrongPageType {
        page: u32,
        found: u8,
        expected: Vec<u8>,
    },
    #[error("overflow item of {len} bytes")]
    OverflowTooLong { len: usize },
    #[error("overflow chain from page {first} ends after {read} of {len} bytes")]
    OverflowShort { first: u32, read: usize, len: usize },
    #[error("overflow page {page} holds {bytes} bytes")]
    OverflowPage { page: u32, bytes: usize },
    #[error("page {page}: {entries} items")]
    Entries { page: u32, entries: usize },
    #[error("page {page}: item {item} at {start}..{end} is outside the page")]
    ItemOutside {
        page: u32,
        item: usize,
        start: usize,
        end: usize,
    },
    #[error("page {page}: item {item} has type {kind} (duplicates are not used by rpm)")]
    ItemType { page: u32, item: usize, kind: u8 },
    #[error("page {page}: a key of {len} bytes")]
    KeyLength { page: u32, len: usize },
}
crate::error_text::debug_as_display!(BdbError);

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
    fn page(&mut self, n: u32, want: &[u8]) -> Result<Vec<u8>, BdbError> {
        if n == 0 || n > self.last_pgno {
            return Err(BdbError::PageOutOfRange {
                page: n,
                last: self.last_pgno,
            });
        }
        if !self.visited.insert(n) {
            return Err(BdbError::Cycle { page: n });
        }
        let mut buf = vec![0u8; self.page_size];
        self.src
            .read_at(n as u64 * self.page_size as u64, &mut buf)
            .map_err(|read| BdbError::PageRead { page: n, read })?;
        if self.u32(&buf, 8) != n {
            return Err(BdbError::WrongPageNumber {
                page: n,
                says: self.u32(&buf, 8),
            });
        }
        if !want.contains(&buf[25]) {
            return Err(BdbError::WrongPageType {
                page: n,
                found: buf[25],
                expected: want.to_vec(),
            });
        }
        Ok(buf)
    }

    /// The value an `H_OFFPAGE` item points to.
    fn overflow(&mut self, first: u32, len: usize) -> Result<Vec<u8>, BdbError> {
        if len > MAX_VALUE {
            return Err(BdbError::OverflowTooLong { len });
        }
        let mut out = Vec::with_capacity(len);
        let mut next = first;
        while out.len() < len {
            if next == 0 {
                return Err(BdbError::OverflowShort {
                    first,
                    read: out.len(),
                    len,
                });
            }
            let p = self.page(next, &[P_OVERFLOW])?;
            let n = self.u16(&p, 22);
            if PAGE_HEADER + n > self.page_size || n == 0 {
                return Err(BdbError::OverflowPage {
                    page: next,
                    bytes: n,
                });
            }
            let take = n.min(len - out.len());
            out.extend_from_slice(&p[PAGE_HEADER..PAGE_HEADER + take]);
            next = self.u32(&p, 16);
        }
        Ok(out)
    }

    /// Item `i` of a hash page, inline or from its overflow chain.
    fn item(&mut self, pg: &[u8], pn: u32, i: usize) -> Result<Vec<u8>, BdbError> {
        let off = self.u16(pg, PAGE_HEADER + 2 * i);
        let end = if i == 0 {
            self.page_size
        } else {
            self.u16(pg, PAGE_HEADER + 2 * (i - 1))
        };
        let entries = self.u16(pg, 20);
        if off < PAGE_HEADER + 2 * entries || off >= end || end > self.page_size {
            return Err(BdbError::ItemOutside {
                page: pn,
                item: i,
                start: off,
                end,
            });
        }
        let item = &pg[off..end];
        match item[0] {
            H_KEYDATA => Ok(item[1..].to_vec()),
            H_OFFPAGE if item.len() >= 12 => {
                let (first, len) = (self.u32(item, 4), self.u32(item, 8) as usize);
                self.overflow(first, len)
            }
            t => Err(BdbError::ItemType {
                page: pn,
                item: i,
                kind: t,
            }),
        }
    }
}

/// Visits every `(package number, header blob)` of a Berkeley DB hash `Packages` file, in
/// bucket order (one blob in memory at a time). The visitor's own errors pass through.
pub fn scan<E: From<BdbError>>(
    src: &dyn Source,
    visit: &mut dyn FnMut(u32, Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let mut meta = [0u8; 512];
    if src.size() < 512 {
        return Err(BdbError::TooShort { size: src.size() }.into());
    }
    src.read_at(0, &mut meta).map_err(BdbError::Read)?;
    let big_endian = match u32::from_le_bytes([meta[12], meta[13], meta[14], meta[15]]) {
        HASH_MAGIC => false,
        m if m.swap_bytes() == HASH_MAGIC => true,
        m => return Err(BdbError::Magic { magic: m }.into()),
    };
    let mut f = File {
        src,
        big_endian,
        page_size: 0,
        last_pgno: 0,
        visited: HashSet::new(),
    };
    if meta[25] != P_HASHMETA {
        return Err(BdbError::NotHashMeta { found: meta[25] }.into());
    }
    if meta[24] != 0 {
        return Err(BdbError::Encrypted.into());
    }
    let page_size = f.u32(&meta, 20) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(BdbError::PageSize { size: page_size }.into());
    }
    let file_pages = src.size() / page_size as u64;
    let last_pgno = f.u32(&meta, 32);
    if last_pgno as u64 >= file_pages {
        return Err(BdbError::LastPage {
            last: last_pgno,
            pages: file_pages,
        }
        .into());
    }
    let max_bucket = f.u32(&meta, 72);
    if max_bucket > last_pgno {
        return Err(BdbError::Buckets {
            buckets: max_bucket,
            last: last_pgno,
        }
        .into());
    }
    let spares: Vec<u32> = (0..32).map(|i| f.u32(&meta, 96 + 4 * i)).collect();
    f.page_size = page_size;
    f.last_pgno = last_pgno;
    for bucket in 0..=max_bucket {
        // BS_TO_PAGE: bucket + spares[ceil(log2(bucket + 1))]
        let log = (bucket as u64 + 1).next_power_of_two().trailing_zeros() as usize;
        let mut pn = bucket
            .checked_add(spares[log])
            .ok_or(BdbError::BucketOverflow { bucket })?;
        if pn == 0 {
            return Err(BdbError::BucketAtMeta { bucket }.into());
        }
        while pn != 0 {
            let pg = f.page(pn, &[P_HASH, P_HASH_UNSORTED])?;
            let entries = f.u16(&pg, 20);
            if entries % 2 != 0 || PAGE_HEADER + 2 * entries > page_size {
                return Err(BdbError::Entries { page: pn, entries }.into());
            }
            for pair in 0..entries / 2 {
                let key = f.item(&pg, pn, 2 * pair)?;
                let value = f.item(&pg, pn, 2 * pair + 1)?;
                let Ok(k) = <[u8; 4]>::try_from(key.as_slice()) else {
                    return Err(BdbError::KeyLength {
                        page: pn,
                        len: key.len(),
                    }
                    .into());
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
        let mut none = |_: u32, _: Vec<u8>| Ok::<(), BdbError>(());
        assert_eq!(
            scan(&vec![0u8; 100], &mut none),
            Err(BdbError::TooShort { size: 100 })
        );
        assert!(matches!(
            scan(&vec![0u8; 8192], &mut none),
            Err(BdbError::Magic { .. })
        ));
    }
}
