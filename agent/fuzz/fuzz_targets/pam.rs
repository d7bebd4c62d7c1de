//! PAM service files and the key/value policy files (pwquality.conf, faillock.conf,
//! login.defs).
#![no_main]
use jikimi::facts::{logindefs, pam};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = pam::parse_service(&text, "/etc/pam.d/common-password");
    let _ = pam::policy::parse_kv_conf(&text, "/etc/security/pwquality.conf");
    let defs = logindefs::parse(&text, "/etc/login.defs");
    let _ = (defs.pass_max_days(), defs.umask(), defs.encrypt_method());
});
