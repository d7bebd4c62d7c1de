//! modprobe.d, kernel module lists, /proc/modules, limits.conf and the AppArmor profile list.
#![no_main]
use jikimi::facts::modprobe::{parse, parse_module_list, parse_proc_modules, ModprobeConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cfg = ModprobeConfig {
        entries: parse(&text, "/etc/modprobe.d/x.conf"),
        files: vec![],
    };
    let _ = cfg.install("usb-storage");
    let _ = cfg.blacklist("cramfs");
    let _ = parse_module_list(&text);
    let _ = parse_proc_modules(&text);
    let _ = jikimi::facts::limits::parse(&text, "/etc/security/limits.conf");
    let _ = jikimi::facts::mac::parse_profiles(&text);
});
