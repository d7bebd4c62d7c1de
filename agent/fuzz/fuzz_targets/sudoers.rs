//! sudoers: lexer, parser and every query the checks use.
#![no_main]
use jikimi::facts::sudoers::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = parse(&text, "/etc/sudoers") {
        let _ = s.nopasswd_grants();
        let _ = s.authenticate_disabled();
        let _ = s.flag("use_pty");
        let _ = s.value("logfile");
        let _ = s.value("timestamp_timeout");
        let _ = s.grants_all_to(&["root", "%sudo", "%wheel", "%admin"]);
    }
});
