//! Table-driven tests of the loader and evaluator. Expected values come from `sshd -T` of
//! OpenSSH 9.2p1 (Debian 12); tests/sshd_differential.rs compares against the real binary.

use super::*;

const MAIN: &str = "/etc/ssh/sshd_config";

fn sys() -> SystemDb {
    SystemDb::parse(
        "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n\
         alice:x:1001:1001::/home/alice:/bin/sh\n",
        "root:x:0:\nbob:x:1000:\nalice:x:1001:\nwheel:x:10:alice\nsftp:x:20:bob,alice\n",
        "ssh 22/tcp\n",
    )
}

fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

fn load_files(list: &[(&str, &str)]) -> Result<SshdConfig, SshdError> {
    load_from(&files(list), MAIN, sys())
}

fn cfg(text: &str) -> SshdConfig {
    load_files(&[(MAIN, text)]).unwrap()
}

fn conn(spec: &str) -> Connection {
    Connection::parse(spec).unwrap()
}

/// `(config, connection spec or "", keyword, expected printed value(s) joined by '|')`.
fn check(table: &[(&str, &str, &str, &str)]) {
    for (text, spec, kw, want) in table {
        let c = if spec.is_empty() {
            Connection::default()
        } else {
            conn(spec)
        };
        let e = cfg(text).try_effective(&c).unwrap();
        let got = e.get(kw).map(|s| s.values.join("|")).unwrap_or_default();
        assert_eq!(&got, want, "{kw} for [{spec}] of:\n{text}");
    }
}

#[test]
fn defaults_match_sshd_t() {
    let e = cfg("").effective(&Connection::default());
    for (k, v) in [
        ("port", "22"),
        ("listenaddress", "[::]:22|0.0.0.0:22"),
        ("permitrootlogin", "without-password"),
        ("passwordauthentication", "yes"),
        ("kbdinteractiveauthentication", "yes"),
        ("usepam", "no"),
        ("x11forwarding", "no"),
        ("maxauthtries", "6"),
        ("logingracetime", "120"),
        (
            "authorizedkeysfile",
            ".ssh/authorized_keys .ssh/authorized_keys2",
        ),
        (
            "hostkey",
            "/etc/ssh/ssh_host_rsa_key|/etc/ssh/ssh_host_ecdsa_key|/etc/ssh/ssh_host_ed25519_key",
        ),
        ("ciphers", algs::DEFAULT_CIPHERS),
        ("authenticationmethods", "any"),
        ("streamlocalbindmask", "0177"),
        ("ipqos", "lowdelay throughput"),
        ("rekeylimit", "0 0"),
        ("maxstartups", "10:30:100"),
        ("persourcemaxstartups", "none"),
        ("unusedconnectiontimeout", "none"),
        ("banner", "none"),
        ("versionaddendum", "none"),
        ("fingerprinthash", "SHA256"),
        ("syslogfacility", "AUTH"),
        ("loglevel", "INFO"),
    ] {
        let s = e.get(k).unwrap_or_else(|| panic!("{k} missing"));
        assert_eq!(s.values.join("|"), v, "{k}");
        assert!(s.is_default(), "{k}");
    }
    assert!(e.get("allowusers").is_none());
    assert!(e.get("channeltimeout").is_none());
    // `sshd -T -f /dev/null` prints 90 lines (with its three default host keys).
    assert_eq!(e.render().lines().count(), 90);
}

#[test]
fn case_forms_and_first_value_wins() {
    check(&[
        ("pErMiTrOoTlOgIn YES", "", "permitrootlogin", "yes"),
        ("PermitRootLogin no\nPermitRootLogin yes", "", "permitrootlogin", "no"),
        ("PermitRootLogin prohibit-password", "", "PermitRootLogin", "without-password"),
        ("MaxAuthTries=3\nMaxAuthTries 4", "", "maxauthtries", "3"),
        ("LoginGraceTime 1m30s", "", "logingracetime", "90"),
        ("ClientAliveInterval 2h", "", "clientaliveinterval", "7200"),
        ("ChallengeResponseAuthentication no", "", "kbdinteractiveauthentication", "no"),
        ("ChallengeResponseAuthentication no", "", "ChallengeResponseAuthentication", "no"),
        ("Compression delayed", "", "compression", "yes"),
        ("AllowTcpForwarding all", "", "allowtcpforwarding", "yes"),
        ("LogLevel quiet", "", "loglevel", "SILENT"),
        ("LogLevel debug1", "", "loglevel", "DEBUG"),
        ("IPQoS reliability", "", "ipqos", "le le"),
        ("IPQoS af21\nIPQoS 32 ef", "", "ipqos", "cs1 ef"),
        ("FingerprintHash md5\nFingerprintHash sha1", "", "fingerprinthash", "SHA1"),
        ("MaxStartups 10:30:60\nMaxStartups 5", "", "maxstartups", "5:30:5"),
        ("RekeyLimit 1G 1h", "", "rekeylimit", "1073741824 3600"),
        ("UnusedConnectionTimeout 5\nUnusedConnectionTimeout none", "", "unusedconnectiontimeout", "none"),
        ("PerSourceNetBlockSize 24", "", "persourcenetblocksize", "24:0"),
        ("ForceCommand /bin/x \"a b\" # c", "", "forcecommand", "/bin/x \"a b\" # c"),
        ("VersionAddendum hi # there", "", "versionaddendum", "hi # there"),
        ("HostKey none", "", "hostkey", "(null)"),
        ("Banner rel/b", "", "banner", "//rel/b"),
        ("AuthorizedKeysFile ~/.ssh/k ~bob/x", "", "authorizedkeysfile", "/root/.ssh/k /home/bob/x"),
        ("Port ssh\nPort 2222", "", "port", "22|2222"),
        ("AllowUsers a b\nAllowUsers c", "", "allowusers", "a|b|c"),
        ("AcceptEnv LANG\nAcceptEnv LC_*", "", "acceptenv", "LANG|LC_*"),
        ("SetEnv A=1 B=2 A=3\nSetEnv C=4", "", "setenv", "A=1|B=2"),
        ("Subsystem sftp /usr/lib/sftp-server -l \"INFO\"", "", "subsystem", "sftp /usr/lib/sftp-server -l INFO"),
        ("AuthorizedPrincipalsCommand /a\nAuthorizedPrincipalsCommand /b\nAuthorizedPrincipalsCommandUser x", "", "authorizedprincipalscommand", "/b"),
        ("ListenAddress 127.1\nListenAddress [::1]:2200\nPort 22\nPort 23", "", "listenaddress", "127.0.0.1:22|127.0.0.1:23|[::1]:2200"),
        ("AddressFamily inet", "", "listenaddress", "0.0.0.0:22"),
    ]);
}

#[test]
fn crlf_and_missing_final_newline() {
    check(&[
        (
            "PermitRootLogin no\r\nX11Forwarding yes\r\n",
            "",
            "x11forwarding",
            "yes",
        ),
        (
            "PermitRootLogin no\r\nX11Forwarding yes",
            "",
            "permitrootlogin",
            "no",
        ),
        (
            "Match User bob\r\n  X11Forwarding yes",
            "user=bob",
            "x11forwarding",
            "yes",
        ),
    ]);
}

#[test]
fn match_blocks_override_the_global_section() {
    let text = "PasswordAuthentication no\nAllowUsers a b\nMatch User bob\n  PasswordAuthentication yes\n  AllowUsers bob\n";
    check(&[
        (text, "", "passwordauthentication", "no"),
        (text, "user=alice", "passwordauthentication", "no"),
        (text, "user=bob", "passwordauthentication", "yes"),
        (text, "user=alice", "allowusers", "a|b"),
        // A list set in a Match block replaces the global list.
        (text, "user=bob", "allowusers", "bob"),
        // Match All applies even with no connection data and wins over the global value.
        (
            "PasswordAuthentication no\nMatch All\n  PasswordAuthentication yes",
            "",
            "passwordauthentication",
            "yes",
        ),
        (
            "AcceptEnv A\nMatch All\n  AcceptEnv B",
            "",
            "acceptenv",
            "B",
        ),
        // Among matching blocks the first value wins.
        (
            "Match User bob\n  MaxAuthTries 3\nMatch All\n  MaxAuthTries 9",
            "user=bob",
            "maxauthtries",
            "3",
        ),
        (
            "Match User bob\n  MaxAuthTries 3\nMatch All\n  MaxAuthTries 9",
            "user=eve",
            "maxauthtries",
            "9",
        ),
        // Lists accumulate over all matching blocks.
        (
            "Match All\n  AcceptEnv A\nMatch User bob\n  AcceptEnv B",
            "user=bob",
            "acceptenv",
            "A|B",
        ),
        // "none" in a Match block clears ForceCommand and ChrootDirectory.
        (
            "ChrootDirectory /srv\nMatch User bob\n  ChrootDirectory none",
            "user=bob",
            "chrootdirectory",
            "none",
        ),
        (
            "ChannelTimeout session=5\nMatch User bob\n  ChannelTimeout none",
            "user=bob",
            "channeltimeout",
            "none",
        ),
    ]);
}

#[test]
fn match_criteria() {
    let t = |crit: &str| format!("Match {crit}\n  MaxSessions 1\n");
    let table: &[(&str, &str, bool)] = &[
        ("User bob", "user=bob", true),
        ("User bob", "user=Bob", false),
        ("User b*,!bobby", "user=bob", true),
        ("User b*,!bobby", "user=bobby", false),
        ("User *,!root", "user=root", false),
        ("User !root", "user=bob", false),
        ("User bob", "host=x", false),
        ("User=bob", "user=bob", true),
        ("User \"bob\"", "user=bob", true),
        ("Group wheel", "user=alice", true),
        ("Group wheel", "user=bob", false),
        ("Group sftp,!wheel", "user=bob", true),
        ("Group sftp,!wheel", "user=alice", false),
        ("Group bob", "user=bob", true),
        ("Group wheel", "user=nosuchuser", false),
        ("Host *.example.com", "host=WS.Example.COM", true),
        (
            "Host *.example.com,!bad.example.com",
            "host=bad.example.com",
            false,
        ),
        ("Address 10.0.0.0/8", "addr=10.2.3.4", true),
        ("Address 10.0.0.0/8,!10.1.0.0/16", "addr=10.1.3.4", false),
        ("Address 10.0.0.0/8,!10.1.0.0/16", "addr=10.2.3.4", true),
        ("Address 192.168.1.*", "addr=192.168.1.9", true),
        ("Address 2001:db8::/32", "addr=2001:db8::1", true),
        ("Address 2001:db8::/32", "addr=10.0.0.1", false),
        ("Address 10.0.0.0/8", "addr=not-an-address", false),
        ("LocalAddress 127.0.0.1", "laddr=127.0.0.1", true),
        ("LocalPort 2222", "lport=2222", true),
        ("LocalPort 2222", "lport=22", false),
        ("LocalPort ssh", "lport=22", true),
        (
            "User bob Address 10.0.0.0/8",
            "user=bob,addr=10.0.0.1",
            true,
        ),
        (
            "User bob Address 10.0.0.0/8",
            "user=bob,addr=11.0.0.1",
            false,
        ),
        ("All", "", true),
        ("all # everyone", "user=x", true),
        ("User bob # comment", "user=bob", true),
        ("RDomain vrf*", "rdomain=vrf1", true),
    ];
    for (crit, spec, want) in table {
        let e = cfg(&t(crit)).try_effective(&conn(spec)).unwrap();
        let got = e.value("maxsessions") == Some("1");
        assert_eq!(got, *want, "Match {crit} for {spec}");
    }
}

#[test]
fn match_errors_and_localport_without_port() {
    for (text, msg) in [
        ("Match Address 10.0.0.1/8\n", "Invalid Match address"),
        ("Match All User bob\n", "cannot be combined"),
        ("Match User\n", "Missing Match criteria"),
        ("Match Colour blue\n", "Unsupported Match attribute"),
        ("Match LocalPort notaport\n", "Invalid LocalPort"),
        (
            "Match User bob\n  Port 23\n",
            "not allowed within a Match block",
        ),
        ("Match User bob extra\n", "Missing Match criteria"),
    ] {
        let e = load_files(&[(MAIN, text)]).unwrap_err();
        assert!(e.to_string().contains(msg), "{text:?}: {e}");
        assert!(
            e.to_string().starts_with("/etc/ssh/sshd_config line "),
            "{e}"
        );
    }
    // sshd -T refuses a LocalPort criterion when the connection has no local port...
    let c = cfg("Match LocalPort 2222\n  MaxSessions 1\n");
    let e = c.try_effective(&Connection::default()).unwrap_err();
    assert!(e.to_string().contains("'lport' not in connection"), "{e}");
    // ...and the lenient evaluation treats it as not matching.
    assert_eq!(
        c.effective(&Connection::default()).value("maxsessions"),
        Some("10")
    );
}

#[test]
fn include_order_globs_and_scope() {
    let c = load_files(&[
        (
            MAIN,
            "Include /etc/ssh/d/*.conf\nInclude rel.conf other.conf\nMaxSessions 9\n",
        ),
        ("/etc/ssh/d/b.conf", "MaxAuthTries 2\nAcceptEnv B\n"),
        ("/etc/ssh/d/a.conf", "MaxAuthTries 3\nAcceptEnv A\n"),
        ("/etc/ssh/d/.hidden.conf", "MaxSessions 1\n"),
        ("/etc/ssh/d/c.txt", "MaxSessions 2\n"),
        ("/etc/ssh/rel.conf", "AcceptEnv REL\n"),
        ("/etc/ssh/other.conf", "AcceptEnv OTHER\n"),
    ])
    .unwrap();
    let e = c.effective(&Connection::default());
    assert_eq!(e.value("maxauthtries"), Some("3"));
    assert_eq!(
        e.get("acceptenv").unwrap().values,
        ["A", "B", "REL", "OTHER"]
    );
    assert_eq!(e.value("maxsessions"), Some("9"));
    let org = e.get("maxauthtries").unwrap().origin().unwrap();
    assert_eq!(org.to_string(), "/etc/ssh/d/a.conf:1");
    assert_eq!(
        c.files(),
        [
            MAIN,
            "/etc/ssh/d/a.conf",
            "/etc/ssh/d/b.conf",
            "/etc/ssh/rel.conf",
            "/etc/ssh/other.conf"
        ]
    );

    // An Include inside a Match block applies within the block; a Match inside an included
    // file ends with that file.
    let c = load_files(&[
        (
            MAIN,
            "Match User bob\n  Include /etc/ssh/bob.conf\n  MaxSessions 4\n",
        ),
        ("/etc/ssh/bob.conf", "PasswordAuthentication no\n"),
    ])
    .unwrap();
    let bob = c.effective(&conn("user=bob"));
    assert_eq!(bob.value("passwordauthentication"), Some("no"));
    assert_eq!(bob.value("maxsessions"), Some("4"));
    let eve = c.effective(&conn("user=eve"));
    assert_eq!(eve.value("passwordauthentication"), Some("yes"));
    let c = load_files(&[
        (MAIN, "Include /etc/ssh/m.conf\nMaxAuthTries 3\n"),
        ("/etc/ssh/m.conf", "Match User bob\n  MaxAuthTries 8\n"),
    ])
    .unwrap();
    assert_eq!(
        c.effective(&Connection::default()).value("maxauthtries"),
        Some("3")
    );
    assert_eq!(
        c.effective(&conn("user=bob")).value("maxauthtries"),
        Some("8")
    );

    // A glob that matches nothing is fine, as for sshd.
    let c = cfg("Include /nonexistent/*.conf missing.conf\nMaxSessions 2\n");
    assert_eq!(
        c.effective(&Connection::default()).value("maxsessions"),
        Some("2")
    );
}

#[test]
fn include_loops_depth_and_bad_files() {
    let e = load_files(&[(MAIN, "Include /etc/ssh/sshd_config\n")]).unwrap_err();
    assert!(e.to_string().contains("include loop"), "{e}");
    // 16 nested levels are allowed, 17 are not.
    for (levels, ok) in [(16, true), (17, false)] {
        let mut v: Vec<(String, String)> = vec![(MAIN.into(), "Include /etc/ssh/l1\n".into())];
        for i in 1..=levels {
            let body = if i < levels {
                format!("Include /etc/ssh/l{}\n", i + 1)
            } else {
                "MaxSessions 1\n".to_string()
            };
            v.push((format!("/etc/ssh/l{i}"), body));
        }
        let m: BTreeMap<String, String> = v.into_iter().collect();
        let r = load_from(&m, MAIN, sys());
        assert_eq!(r.is_ok(), ok, "{levels}: {:?}", r.err());
        if let Err(e) = r {
            assert!(e.to_string().contains("Too many recursive"), "{e}");
        }
    }
    // A file that includes itself twice per level stops at the depth limit, quickly.
    let e =
        load_files(&[(MAIN, "Include /etc/ssh/sshd_config /etc/ssh/sshd_config\n")]).unwrap_err();
    assert!(e.to_string().contains("Too many recursive"), "{e}");
    assert!(load_files(&[]).unwrap_err().is_not_found());
    assert!(!load_files(&[(MAIN, "Bogus 1\n")])
        .unwrap_err()
        .is_not_found());
}

#[test]
fn root_loader_reports_binary_huge_and_missing() {
    let t = tempfile::tempdir().unwrap();
    let ssh = t.path().join("etc/ssh");
    std::fs::create_dir_all(ssh.join("d")).unwrap();
    std::fs::write(
        ssh.join("sshd_config"),
        "Include /etc/ssh/d/*.conf\nPermitRootLogin no\n",
    )
    .unwrap();
    std::fs::write(ssh.join("d/x.conf"), "X11Forwarding yes\n").unwrap();
    std::fs::write(
        t.path().join("etc/passwd"),
        "root:x:0:0::/rootdir:/bin/sh\n",
    )
    .unwrap();
    let root = Root::new(t.path()).unwrap();
    let out = effective_text(&root, MAIN, Some("user=root")).unwrap();
    assert!(out.contains("\npermitrootlogin no\n"), "{out}");
    assert!(out.contains("\nx11forwarding yes\n"), "{out}");

    std::fs::write(ssh.join("d/x.conf"), b"X11Forwarding yes\0\n").unwrap();
    let e = load(&root, MAIN).unwrap_err();
    assert!(e.to_string().contains("NUL byte"), "{e}");
    std::fs::write(
        ssh.join("d/x.conf"),
        format!("Banner {}\n", "a".repeat(100_000)),
    )
    .unwrap();
    let e = load(&root, MAIN).unwrap_err();
    assert!(
        e.to_string()
            .contains("/etc/ssh/d/x.conf line 1: line longer than"),
        "{e}"
    );
    assert!(load(&root, "/etc/ssh/nope").unwrap_err().is_not_found());
    std::fs::write(ssh.join("d/x.conf"), "X11Forwarding yes\n").unwrap();
    let e = effective_text(&root, MAIN, Some("user=root,port=22")).unwrap_err();
    assert!(e.to_string().contains("unknown field 'port=22'"), "{e}");
}

#[test]
fn connection_specs() {
    let c = Connection::parse("user=u,host=h,addr=1.2.3.4,laddr=5.6.7.8,lport=22").unwrap();
    assert_eq!(c.user.as_deref(), Some("u"));
    assert_eq!(c.lport, Some(22));
    assert_eq!(Connection::parse("").unwrap(), Connection::default());
    assert!(Connection::parse("lport=99999").is_err());
    assert!(Connection::parse("lport=ssh").is_err());
    assert_eq!(
        Connection::parse_with("lport=ssh", &sys()).unwrap().lport,
        Some(22)
    );
    assert!(Connection::parse("bogus").is_err());
}

#[test]
fn crypto_modifiers() {
    check(&[
        ("Ciphers +aes128-cbc", "", "ciphers", &format!("{},aes128-cbc", algs::DEFAULT_CIPHERS)),
        ("Ciphers -aes*-ctr,chacha20*", "", "ciphers", "aes128-gcm@openssh.com,aes256-gcm@openssh.com"),
        ("MACs ^hmac-sha1", "", "macs", &format!("hmac-sha1,{}", algs::DEFAULT_MACS.strip_suffix(",hmac-sha1").unwrap())),
        ("KexAlgorithms curve25519-sha256", "", "kexalgorithms", "curve25519-sha256"),
        ("PubkeyAcceptedAlgorithms ssh-ed25519*", "", "pubkeyacceptedalgorithms",
         "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com"),
        // An empty result is re-expanded to the default by sshd's second assembly.
        ("PubkeyAcceptedKeyTypes -*", "", "pubkeyacceptedalgorithms", algs::DEFAULT_KEYS),
        ("Ciphers -*", "", "ciphers", algs::DEFAULT_CIPHERS),
        ("CASignatureAlgorithms -ssh-rsa,rsa-sha2-256", "", "casignaturealgorithms",
         "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512"),
        ("PubkeyAcceptedAlgorithms -ssh-rsa*\nMatch User bob\n  PubkeyAcceptedAlgorithms +ssh-rsa", "user=bob",
         "pubkeyacceptedalgorithms", &format!("{},ssh-rsa", algs::DEFAULT_KEYS)),
    ]);
    for bad in [
        "Ciphers aes*",
        "Ciphers bogus",
        "MACs +nope",
        "KexAlgorithms ^x",
        "HostKeyAlgorithms zzz",
        "PubkeyAcceptedAlgorithms RSA",
    ] {
        assert!(load_files(&[(MAIN, bad)]).is_err(), "{bad}");
    }
}

#[test]
fn match_blocks_and_weakenings() {
    let c = load_files(&[
        (
            MAIN,
            "PermitRootLogin no\nMatch Address 10.0.0.0/8\n  PermitRootLogin yes\n  Include /etc/ssh/inc.conf\n\
             Match User admin\n  PermitRootLogin no\nMatch Group wheel\n  PermitRootLogin prohibit-password\n",
        ),
        ("/etc/ssh/inc.conf", "PasswordAuthentication yes\n"),
    ])
    .unwrap();
    let blocks = c.match_blocks();
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0].criteria, "Address 10.0.0.0/8");
    assert_eq!(blocks[0].origin.line, 2);
    assert_eq!(blocks[0].directives.len(), 2);
    assert_eq!(blocks[0].directives[1].file, "/etc/ssh/inc.conf");

    let w = c.weakenings("permitrootlogin", |v| v != "no");
    let got: Vec<_> = w
        .iter()
        .map(|w| (w.value.as_str(), w.line, w.criteria.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("yes", 3, "Address 10.0.0.0/8"),
            ("without-password", 8, "Group wheel")
        ]
    );
    assert_eq!(w[0].block.to_string(), "/etc/ssh/sshd_config:2");
    assert!(c
        .weakenings("PasswordAuthentication", |v| v == "yes")
        .is_empty());
    assert!(c.weakenings("nosuchkeyword", |_| true).is_empty());
}

#[test]
fn refusals_sshd_makes_at_startup() {
    for (text, msg) in [
        ("FooBar 1", "Bad configuration option: FooBar"),
        ("PermitRootLogin maybe", "unsupported option"),
        ("PermitRootLogin no yes", "extra arguments"),
        ("Port 0", "Badly formatted port"),
        ("Subsystem sftp a\nSubsystem sftp b", "already defined"),
        (
            "AuthorizedKeysCommand /bin/x",
            "without AuthorizedKeysCommandUser",
        ),
        (
            "PasswordAuthentication no\nAuthenticationMethods password",
            "cannot be satisfied",
        ),
        (
            "AuthenticationMethods publickey\nMatch User x\n  AuthenticationMethods any",
            "must appear alone",
        ),
        ("AddressFamily inet\nListenAddress ::1", "bad addr or host"),
        ("MaxStartups 10:30", "Invalid MaxStartups"),
        ("AllowUsers bob@10.0.0.1/8", "invalid AllowUsers pattern"),
        ("AuthorizedKeysFile ~nosuch/x", "No such user"),
        ("RDomain x", "not supported"),
        ("LoginGraceTime 5x", "invalid time value"),
    ] {
        let e = load_files(&[(MAIN, text)]).unwrap_err();
        assert!(e.to_string().contains(msg), "{text:?}: {e}");
    }
}

/// Random configurations from a soup of keywords and awkward tokens: loading and evaluating
/// must never panic or hang, whatever the outcome.
#[test]
fn random_configurations_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let tokens = [
        "yes",
        "no",
        "none",
        "any",
        "all",
        "\"",
        "'",
        "=",
        "#",
        "\\",
        "\\\"",
        "!",
        ",",
        "*",
        "?",
        "10.0.0.0/8",
        "10.0.0.1/8",
        "::1",
        "[::1]:22",
        "a b",
        "+ssh-rsa",
        "-*",
        "^aes128-ctr",
        "1h30m",
        "-5",
        "99999999999999999999",
        "0x1f",
        "é",
        "\r",
        "\t",
        "\u{c}",
        "user",
        "User",
        "Address",
        "LocalPort",
        "Group",
        "Host",
        "ssh",
        "~",
        "~root/x",
        "%u",
        ":",
        "*:*",
        "",
        "/etc/ssh/inc*",
        "inc1",
        "1G",
        "24:64",
        "10:30:100",
        "session=5",
        "publickey,password",
    ];
    let keywords: Vec<&str> = keywords::KEYWORDS
        .iter()
        .map(|k| k.name)
        .chain(["bogus", "MATCH", "#x", "\"Port", "Include"])
        .collect();
    let mut okc = 0;
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..next(8) {
            text.push_str(keywords[next(keywords.len())]);
            for _ in 0..next(5) {
                text.push_str([" ", "=", "\t", " = "][next(4)]);
                text.push_str(tokens[next(tokens.len())]);
            }
            text.push_str(["\n", "\r\n", "\n\n", " # c\n"][next(4)]);
        }
        let m = files(&[
            (MAIN, &text),
            ("/etc/ssh/inc1", "Include /etc/ssh/inc1\n"),
            ("/etc/ssh/inc2", "Match All\nMaxSessions 2\n"),
        ]);
        if let Ok(c) = load_from(&m, MAIN, sys()) {
            okc += 1;
            for spec in ["", "user=bob,addr=10.1.1.1,lport=22", "user=root,host=h"] {
                let _ = c.try_effective(&conn(spec)).map(|e| e.render());
                let _ = c.effective(&conn(spec)).render();
            }
            let _ = c.weakenings("permitrootlogin", |v| v == "yes");
        }
        // The same text under other releases' tables (the pre-8.7 lexer, 10.0's rules).
        for (r, v) in [
            (704, Vendor::RedHat),
            (804, Vendor::Debian),
            (1000, Vendor::Upstream),
        ] {
            if let Ok(c) = load_with(&m, MAIN, sys(), Profile::new(r, v)) {
                let _ = c
                    .try_effective(&conn("user=bob,addr=10.1.1.1,lport=22"))
                    .map(|e| e.render());
                let _ = c.effective(&conn("")).render();
            }
        }
    }
    assert!(okc > 300, "only {okc} random configurations loaded");
}

#[test]
fn every_printable_keyword_is_printed_and_the_rest_is_listed() {
    // printed only once set (sshd -T prints nothing for an empty list)
    const WHEN_SET: &[&str] = &[
        "allowusers",
        "denyusers",
        "allowgroups",
        "denygroups",
        "acceptenv",
        "setenv",
        "hostcertificate",
        "subsystem",
        "logverbose",
        "channeltimeout",
    ];
    // Every release and build of the tables: what the table knows and sshd prints is
    // printed for an empty configuration.
    for &release in crate::facts::sshd::KNOWN_RELEASES {
        for vendor in [Vendor::Debian, Vendor::RedHat, Vendor::Upstream] {
            let p = Profile::new(release, vendor);
            let c = load_with(&files(&[(MAIN, "")]), MAIN, sys(), p.clone()).unwrap();
            let e = c.effective(&Connection::default());
            let mut missing = Vec::new();
            for k in keywords::KEYWORDS {
                let Some(k) = keywords::canonical_in(&p, k.name) else {
                    continue;
                };
                let printed = e.settings().iter().any(|s| s.keyword == k);
                let debian_banner = k == "debianbanner" && p.debian() && p.ge(1000);
                // Upstream's dump_config does not print it; the GSSAPI key-exchange patch does.
                if k == "gssapistrictacceptorcheck" && !p.gsskex() {
                    assert!(!printed, "{}: upstream does not print {k}", p.label());
                    continue;
                }
                let rdomain = k == "rdomain" && p.ge(707) && !p.ge(803);
                if NOT_PRINTED.contains(&k) && !debian_banner && !rdomain {
                    assert!(
                        !printed,
                        "{}: {k} is printed but listed in NOT_PRINTED",
                        p.label()
                    );
                } else if !printed && !WHEN_SET.contains(&k) {
                    missing.push(k);
                }
            }
            assert!(
                missing.is_empty(),
                "{}: not printed by default: {missing:?}",
                p.label()
            );
            // And nothing is printed that the release does not know.
            for s in e.settings() {
                assert!(
                    keywords::lookup_in(&p, s.keyword).is_some(),
                    "{}: prints {} which it does not know",
                    p.label(),
                    s.keyword
                );
            }
        }
    }
}

#[test]
fn printed_value_is_what_sshd_t_prints() {
    for (k, v, want) in [
        ("PermitRootLogin", "prohibit-password", "without-password"),
        ("permitrootlogin", "without-password", "without-password"),
        ("PermitRootLogin", "No", "no"),
        ("LoginGraceTime", "1m30s", "90"),
        ("LogLevel", "quiet", "SILENT"),
        ("IgnoreRhosts", "shosts-only", "shosts-only"),
        ("Compression", "delayed", "yes"),
        ("AllowUsers", "alice bob", "alice bob"),
        ("ChallengeResponseAuthentication", "no", "no"),
        ("IPQoS", "throughput", "throughput throughput"),
        ("Banner", "none", "none"),
        ("MaxStartups", "5", "5:30:5"),
    ] {
        assert_eq!(printed_value(k, v).unwrap().join(" "), want, "{k} {v}");
    }
    for (k, v, want) in [
        (
            "PermitRootLogin",
            "maybe",
            "sshd would reject `PermitRootLogin maybe`: ",
        ),
        ("MaxAuthTries", "x", "sshd would reject `MaxAuthTries x`: "),
        (
            "NoSuchKeyword",
            "yes",
            "`NoSuchKeyword` is not an sshd keyword",
        ),
        (
            "DebianBanner",
            "no",
            "sshd -T does not print `DebianBanner`",
        ),
    ] {
        let e = printed_value(k, v).unwrap_err();
        assert!(e.to_string().starts_with(want), "{k} {v}: {e}");
    }
}
