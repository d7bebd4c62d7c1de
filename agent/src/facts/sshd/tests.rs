use super::*;

fn cfg(text: &str) -> SshdConfig {
    let mut m = BTreeMap::new();
    m.insert("/etc/ssh/sshd_config".to_string(), text.to_string());
    load_from(&m, "/etc/ssh/sshd_config", SystemDb::default()).unwrap()
}

#[test]
fn defaults_render() {
    let e = cfg("").effective(&Connection::default());
    assert_eq!(e.value("permitrootlogin"), Some("without-password"));
}
