//! ufw's settings files (`ufw.conf`, `/etc/default/ufw`) and the whole ufw loader, with the
//! input standing for each of its files in turn.
#![no_main]
use jikimi::facts::firewall::ufw;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = ufw::parse_settings(&text, ufw::UFW_CONF);
    let read = |_: &str| -> Result<Option<String>, jikimi::facts::origin::LineError> {
        Ok(Some(text.clone()))
    };
    if let Ok(Some(u)) = ufw::load(&read) {
        let _ = (
            u.is_enabled(),
            u.policy("input"),
            ufw::chains(true, "input"),
        );
    }
});
