//! The rpm package database readers: the header blob parser, the SQLite table reader (with
//! and without a write-ahead log) and the Berkeley DB hash reader. The first byte selects the
//! reader; for the WAL case the rest is split in two at a position taken from the input.
#![no_main]
use jikimi::facts::rpmdb::{self, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            let _ = header::parse(rest);
            let _ = header::parse_prefix(rest, rest.len().saturating_add(mode as usize));
        }
        1 => {
            let _ = rpmdb::read_sources(&rest.to_vec(), None);
        }
        2 => {
            if rest.len() < 2 {
                return;
            }
            let cut = (u16::from_le_bytes([rest[0], rest[1]]) as usize * 64).min(rest.len() - 2);
            let (main, wal) = rest[2..].split_at(cut);
            let _ = rpmdb::read_sources(&main.to_vec(), Some(&wal.to_vec()));
        }
        _ => {
            let _ = rpmdb::read_bdb_source(&rest.to_vec());
        }
    }
});
