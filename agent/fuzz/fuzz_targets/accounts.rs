//! passwd, shadow and group parsers (a shadow hash must never survive parsing).
#![no_main]
use jikimi::facts::accounts::{parse_group, parse_passwd, parse_shadow};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_passwd(&text, "/etc/passwd");
    let _ = parse_group(&text, "/etc/group");
    let _ = parse_shadow(&text, "/etc/shadow");
});
