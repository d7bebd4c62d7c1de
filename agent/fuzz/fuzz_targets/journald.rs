//! systemd daemon configuration files (journald.conf, coredump.conf, drop-ins).
#![no_main]
use jikimi::facts::sdconf::{parse, SdConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut c = SdConfig::default();
    parse(&text, "/etc/systemd/journald.conf", &mut c);
    parse(&text, "/etc/systemd/journald.conf.d/50-x.conf", &mut c);
    let _ = c.get("Journal", "Storage");
});
