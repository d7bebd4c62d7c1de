//! The daemon's HTTP request-head parser (`/metrics`, `/healthz`): any bytes a client sends,
//! in any split, must give a verdict without panicking, and a verdict that the bytes support.
#![no_main]
use jikimi::daemon::http::{parse_head, Head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = parse_head(data);
    if let Head::Done(r) = &whole {
        assert!(r.path.starts_with('/'), "{r:?}");
        assert!(r.path.bytes().all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#'));
        assert!(!r.method.is_empty());
    }
    // bytes arrive in pieces: a prefix never contradicts the whole (a prefix that is already
    // complete or malformed decides the same way once more bytes come)
    for cut in [1, data.len() / 2, data.len().saturating_sub(1)] {
        if cut == 0 || cut >= data.len() {
            continue;
        }
        match parse_head(&data[..cut]) {
            Head::Partial => {}
            prefix => assert_eq!(prefix, whole, "prefix of {cut} bytes"),
        }
    }
});
