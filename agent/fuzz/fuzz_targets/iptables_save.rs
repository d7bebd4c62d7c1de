//! iptables-save files (iptables-persistent, iptables-services, ufw rule files).
#![no_main]
use jikimi::facts::firewall::ipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = ipt::parse(&text, "/etc/iptables/rules.v4") {
        for t in &r.tables {
            for r in t.reachable_rules("INPUT") {
                let _ = r.target();
                let _ = r.opt(&["-s", "--source"]);
            }
        }
    }
});
