//! sshd_config: parse, expand Includes (in memory, including self-includes and loops),
//! evaluate for the default connection and for one Match connection, render; once with
//! the default (9.2) table and once with a release and build picked by the first byte
//! (every table 7.4 to 10.0, Debian / Red Hat / upstream, so the pre-8.7 lexer too).
#![no_main]
use jikimi::facts::sshd::{load_from, load_with, Connection, Profile, SystemDb, Vendor, KNOWN_RELEASES};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    // the first half may be included by the second
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid -= 1;
    }
    let (a, b) = text.split_at(mid);
    let (a, b) = (a.to_string(), b.to_string());
    let mut files = BTreeMap::new();
    files.insert("/etc/ssh/sshd_config".to_string(), text.clone());
    files.insert("/etc/ssh/sshd_config.d/a.conf".to_string(), a);
    files.insert("/etc/ssh/sshd_config.d/b.conf".to_string(), b);
    let pick = data.first().copied().unwrap_or(0) as usize;
    let vendor = [Vendor::Debian, Vendor::RedHat, Vendor::Upstream][pick % 3];
    let profile = Profile::new(KNOWN_RELEASES[pick % KNOWN_RELEASES.len()], vendor);
    if let Ok(cfg) = load_with(&files, "/etc/ssh/sshd_config", SystemDb::default(), profile) {
        let _ = cfg.try_effective(&Connection::default()).map(|e| e.render());
        let _ = cfg.weakenings("pubkeyacceptedalgorithms", |v| v.contains("ssh-rsa"));
    }
    if let Ok(cfg) = load_from(&files, "/etc/ssh/sshd_config", SystemDb::default()) {
        let _ = cfg.try_effective(&Connection::default()).map(|e| e.render());
        if let Ok(conn) = Connection::parse("user=root,host=h.example,addr=10.1.2.3,laddr=10.0.0.1,lport=22") {
            let _ = cfg.try_effective(&conn).map(|e| e.render());
        }
        let _ = cfg.weakenings("permitrootlogin", |v| v == "yes");
    }
});
