//! One test per difference between the release tables, for the releases that cannot be
//! run here (7.4 RHEL 7, 8.0 RHEL 8, 8.7 RHEL 9 / AL2023, 8.9 Ubuntu 22.04, 9.6 Ubuntu
//! 24.04, 9.9). Facts from openssh-portable's release tags (`servconf.c`, `myproposal.h`)
//! and release notes; 8.4, 9.2 and 10.0 are compared with the real sshd in
//! tests/sshd_roots.rs.

use super::*;

const MAIN: &str = "/etc/ssh/sshd_config";

fn p(release: Release, vendor: Vendor) -> Profile {
    Profile::new(release, vendor)
}

fn load_v(pr: &Profile, text: &str) -> Result<SshdConfig, SshdError> {
    let files: BTreeMap<String, String> = [(MAIN.to_string(), text.to_string())].into();
    load_with(&files, MAIN, SystemDb::default(), pr.clone())
}

/// The printed value(s) of a keyword for the default connection.
fn value(pr: &Profile, text: &str, kw: &str) -> Option<String> {
    let c = load_v(pr, text).unwrap_or_else(|e| panic!("{}: {e}", pr.label()));
    let e = c.effective(&Connection::default());
    e.settings()
        .iter()
        .find(|s| s.keyword == kw)
        .map(|s| s.values.join("|"))
}

fn rejected(pr: &Profile, text: &str) -> bool {
    load_v(pr, text).is_err()
}

const RH: Vendor = Vendor::RedHat;
const DEB: Vendor = Vendor::Debian;
const UP: Vendor = Vendor::Upstream;

#[test]
fn kex_defaults_per_release() {
    let ec = "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521";
    let dh = "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256";
    let kex = |r, v| value(&p(r, v), "", "kexalgorithms").unwrap();
    // 7.4 and 8.0 still offer group14-sha1 (dropped from the default in 8.2).
    assert_eq!(
        kex(704, RH),
        format!("{ec},{dh},diffie-hellman-group14-sha1")
    );
    assert_eq!(
        kex(800, RH),
        format!("{ec},{dh},diffie-hellman-group14-sha1")
    );
    // 8.7: no post-quantum method yet.
    assert_eq!(kex(807, RH), format!("{ec},{dh}"));
    // 8.9 adds sntrup761 after the elliptic curves.
    assert_eq!(
        kex(809, DEB),
        format!("{ec},sntrup761x25519-sha512@openssh.com,{dh}")
    );
    // 9.0 moves it first; Debian's builds from 9.2 also know the name without @openssh.com.
    assert_eq!(
        kex(906, UP),
        format!("sntrup761x25519-sha512@openssh.com,{ec},{dh}")
    );
    assert_eq!(
        kex(906, DEB),
        format!("sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,{ec},{dh}")
    );
    // 9.9 adds mlkem768 after sntrup; 10.0 puts it first and drops finite-field DH.
    assert_eq!(
        kex(909, UP),
        format!("sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256,{ec},{dh}")
    );
    assert_eq!(
        kex(1000, UP),
        format!(
            "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,{ec}"
        )
    );
    // Names a release does not have are refused.
    // sntrup4591761 (8.0 to 8.4) was replaced by sntrup761 in 8.5, offered by default in 8.9.
    assert!(rejected(
        &p(800, RH),
        "KexAlgorithms sntrup761x25519-sha512@openssh.com\n"
    ));
    assert!(!rejected(
        &p(800, RH),
        "KexAlgorithms sntrup4591761x25519-sha512@tinyssh.org\n"
    ));
    assert!(!rejected(
        &p(807, RH),
        "KexAlgorithms sntrup761x25519-sha512@openssh.com\n"
    ));
    assert!(rejected(
        &p(807, RH),
        "KexAlgorithms sntrup4591761x25519-sha512@tinyssh.org\n"
    ));
    assert!(rejected(
        &p(906, UP),
        "KexAlgorithms mlkem768x25519-sha256\n"
    ));
    assert!(!rejected(
        &p(909, UP),
        "KexAlgorithms mlkem768x25519-sha256\n"
    ));
}

#[test]
fn cipher_and_key_defaults_per_release() {
    let ciphers = |r| value(&p(r, UP), "", "ciphers").unwrap();
    assert_eq!(
        ciphers(909),
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
    );
    assert_eq!(
        ciphers(1000),
        "chacha20-poly1305@openssh.com,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr"
    );
    // ssh-rsa (SHA-1 signatures) leaves the default key algorithms in 8.8.
    let hk = |r| value(&p(r, RH), "", "hostkeyalgorithms").unwrap();
    assert!(hk(807).split(',').any(|a| a == "ssh-rsa"));
    assert!(!hk(809).split(',').any(|a| a == "ssh-rsa"));
    // 7.4 has no rsa-sha2 certificates yet.
    assert!(!hk(704).contains("rsa-sha2-512-cert-v01@openssh.com"));
    assert!(hk(800).contains("rsa-sha2-512-cert-v01@openssh.com"));
    // Arcfour and Blowfish are known to 7.4 (removed in 7.6), rijndael-cbc until 8.5.
    assert!(!rejected(&p(704, RH), "Ciphers arcfour256\n"));
    assert!(rejected(&p(800, RH), "Ciphers arcfour256\n"));
    assert!(!rejected(
        &p(800, RH),
        "Ciphers rijndael-cbc@lysator.liu.se\n"
    ));
    assert!(rejected(
        &p(807, RH),
        "Ciphers rijndael-cbc@lysator.liu.se\n"
    ));
}

#[test]
fn keywords_a_release_does_not_know_are_refused() {
    for (kw, line, since) in [
        (
            "CASignatureAlgorithms",
            "CASignatureAlgorithms ssh-ed25519",
            709,
        ),
        ("Include", "Include /etc/ssh/none/*.conf", 802),
        ("PubkeyAuthOptions", "PubkeyAuthOptions none", 802),
        (
            "PubkeyAcceptedAlgorithms",
            "PubkeyAcceptedAlgorithms ssh-ed25519",
            805,
        ),
        ("PerSourceMaxStartups", "PerSourceMaxStartups 5", 805),
        ("ModuliFile", "ModuliFile /etc/ssh/moduli", 806),
        ("RequiredRSASize", "RequiredRSASize 2048", 901),
        ("ChannelTimeout", "ChannelTimeout session=5m", 902),
        ("PerSourcePenalties", "PerSourcePenalties no", 908),
        ("RefuseConnection", "RefuseConnection no", 909),
        ("SshdAuthPath", "SshdAuthPath /usr/libexec/sshd-auth", 1000),
    ] {
        for &r in KNOWN_RELEASES {
            let pr = p(r, RH);
            let bad = rejected(&pr, &format!("{line}\n"));
            assert_eq!(bad, r < since, "{kw} on {}", pr.label());
            if bad {
                let e = load_v(&pr, line).unwrap_err().to_string();
                assert!(e.contains("Bad configuration option"), "{kw}: {e}");
            }
        }
    }
    // Vendor keywords: DebianBanner only on Debian, GSSAPI key exchange on Debian and Red
    // Hat builds, Red Hat's Kerberos extras only on Red Hat builds.
    assert!(!rejected(&p(906, DEB), "DebianBanner no\n"));
    assert!(rejected(&p(906, RH), "DebianBanner no\n"));
    assert!(!rejected(&p(807, RH), "GSSAPIKeyExchange yes\n"));
    assert!(rejected(&p(906, UP), "GSSAPIKeyExchange yes\n"));
    assert!(!rejected(&p(807, RH), "GSSAPIEnablek5users yes\n"));
    assert!(rejected(&p(807, DEB), "GSSAPIEnablek5users yes\n"));
}

#[test]
fn keywords_allowed_in_match_per_release() {
    let in_match = |r, kw: &str| !rejected(&p(r, RH), &format!("Match User bob\n  {kw}\n"));
    // LogLevel from 7.6, IgnoreRhosts from 8.3, Subsystem from 9.5, challenge-response
    // (as a kbd-interactive alias) from 8.7.
    assert!(!in_match(704, "LogLevel DEBUG"));
    assert!(in_match(800, "LogLevel DEBUG"));
    assert!(!in_match(800, "IgnoreRhosts no"));
    assert!(in_match(807, "IgnoreRhosts no"));
    assert!(!in_match(902, "Subsystem x /bin/x"));
    assert!(in_match(906, "Subsystem x /bin/x"));
    assert!(!in_match(800, "ChallengeResponseAuthentication no"));
    assert!(in_match(807, "ChallengeResponseAuthentication no"));
}

#[test]
fn printed_lines_per_release() {
    let has = |r, v, kw| value(&p(r, v), "", kw).is_some();
    // 7.4 prints UsePrivilegeSeparation and ChallengeResponseAuthentication.
    assert_eq!(
        value(&p(704, RH), "", "useprivilegeseparation").as_deref(),
        Some("sandbox")
    );
    assert!(has(800, RH, "challengeresponseauthentication"));
    assert!(!has(807, RH, "challengeresponseauthentication"));
    // Renamed in 8.5.
    assert!(has(800, RH, "pubkeyacceptedkeytypes"));
    assert!(!has(800, RH, "pubkeyacceptedalgorithms"));
    assert!(has(807, RH, "pubkeyacceptedalgorithms"));
    // 7.7 to 8.2 print the routing domain; later releases do not on Linux.
    assert_eq!(value(&p(800, RH), "", "rdomain").as_deref(), Some("none"));
    assert!(!has(807, RH, "rdomain"));
    assert!(!has(704, RH, "permitlisten"));
    assert!(has(800, RH, "permitlisten"));
    assert!(!has(800, RH, "pubkeyauthoptions"));
    assert!(has(807, RH, "persourcemaxstartups"));
    assert!(!has(809, DEB, "requiredrsasize"));
    // ChannelTimeout: 9.3 prints "none" when unset.
    assert_eq!(
        value(&p(906, DEB), "", "channeltimeout").as_deref(),
        Some("none")
    );
    assert!(!has(906, DEB, "persourcepenalties"));
    // 9.8 adds PerSourcePenalties; 9.9 the refuseconnection class and a shorter grace.
    let pen = value(&p(909, UP), "", "persourcepenalties").unwrap();
    assert!(pen.starts_with("crash:90 authfail:5 noauth:1 grace-exceeded:10 refuseconnection:10 "));
    assert_eq!(
        value(&p(909, UP), "", "refuseconnection").as_deref(),
        Some("no")
    );
    assert_eq!(
        value(&p(909, UP), "", "pamservicename").as_deref(),
        Some("sshd")
    );
    assert_eq!(
        value(&p(909, RH), "", "sshdsessionpath").as_deref(),
        Some("/usr/libexec/openssh/sshd-session")
    );
    assert!(!has(909, UP, "sshdauthpath"));
    // The GSSAPI key-exchange patch's lines.
    assert!(has(807, RH, "gssapikeyexchange"));
    assert!(!has(807, UP, "gssapikeyexchange"));
}

#[test]
fn defaults_per_release_and_build() {
    let v = |r, vd, kw| value(&p(r, vd), "", kw).unwrap();
    // IPQoS: upstream's af21/cs1 since 7.8; Debian kept lowdelay/throughput until 10.0.
    assert_eq!(v(704, RH, "ipqos"), "lowdelay throughput");
    assert_eq!(v(800, RH, "ipqos"), "af21 cs1");
    assert_eq!(v(906, DEB, "ipqos"), "lowdelay throughput");
    assert_eq!(v(1000, DEB, "ipqos"), "ef cs1");
    // 7.4: GSSAPIStrictAcceptorCheck no, a DSA host key among the defaults.
    assert_eq!(v(704, RH, "gssapistrictacceptorcheck"), "no");
    assert_eq!(
        v(704, RH, "hostkey"),
        "/etc/ssh/ssh_host_rsa_key|/etc/ssh/ssh_host_dsa_key|/etc/ssh/ssh_host_ecdsa_key|/etc/ssh/ssh_host_ed25519_key"
    );
    // Before 8.7 keyboard-interactive is off by default but challenge-response (on)
    // turns it on; switching challenge-response off leaves it off.
    assert_eq!(v(800, RH, "kbdinteractiveauthentication"), "yes");
    assert_eq!(
        value(
            &p(800, RH),
            "ChallengeResponseAuthentication no\n",
            "kbdinteractiveauthentication"
        )
        .as_deref(),
        Some("no")
    );
    assert_eq!(
        value(
            &p(807, RH),
            "ChallengeResponseAuthentication no\n",
            "kbdinteractiveauthentication"
        )
        .as_deref(),
        Some("no")
    );
    // Debian's 10.0 ignores the IPv4 TOS names.
    assert_eq!(
        value(&p(1000, DEB), "IPQoS throughput\n", "ipqos").as_deref(),
        Some("none none")
    );
    assert_eq!(
        value(&p(909, UP), "IPQoS throughput\n", "ipqos").as_deref(),
        Some("throughput throughput")
    );
}

#[test]
fn parsing_per_release() {
    // Before 8.7 a '#' anywhere ends the line and single quotes do not group.
    let text = "ForceCommand /bin/echo hi # comment\nAuthorizedKeysFile '.ssh/a b'\n";
    assert_eq!(
        value(&p(800, RH), text, "forcecommand").as_deref(),
        Some("/bin/echo hi")
    );
    assert_eq!(
        value(&p(800, RH), text, "authorizedkeysfile").as_deref(),
        Some("'.ssh/a b'")
    );
    assert_eq!(
        value(&p(807, RH), text, "authorizedkeysfile").as_deref(),
        Some(".ssh/a b")
    );
    // A Match block's SetEnv applies from 9.1.
    let setenv = "Match User bob\n  SetEnv X=1\n";
    let conn = Connection::parse("user=bob").unwrap();
    let eff = |r| {
        load_v(&p(r, DEB), setenv)
            .unwrap()
            .effective(&conn)
            .value("setenv")
            .map(str::to_string)
    };
    assert_eq!(eff(809), None);
    assert_eq!(eff(906).as_deref(), Some("X=1"));
    // 8.7 to 9.3 test AuthorizedKeysCommand for AuthorizedPrincipalsCommand too.
    let apc = "AuthorizedPrincipalsCommand /bin/a\nAuthorizedPrincipalsCommand /bin/b\n\
               AuthorizedPrincipalsCommandUser nobody\n";
    assert_eq!(
        value(&p(809, DEB), apc, "authorizedprincipalscommand").as_deref(),
        Some("/bin/b")
    );
    assert_eq!(
        value(&p(906, DEB), apc, "authorizedprincipalscommand").as_deref(),
        Some("/bin/a")
    );
    // 9.5: a second Subsystem of the same name is ignored instead of refused.
    let dup = "Subsystem sftp /a\nSubsystem sftp /b\n";
    assert!(rejected(&p(902, DEB), dup));
    assert_eq!(
        value(&p(906, DEB), dup, "subsystem").as_deref(),
        Some("sftp /a")
    );
    // 9.9: Match Invalid-User.
    assert!(rejected(
        &p(906, DEB),
        "Match Invalid-User\n  PasswordAuthentication no\n"
    ));
    assert!(!rejected(
        &p(909, DEB),
        "Match Invalid-User\n  PasswordAuthentication no\n"
    ));
}

#[test]
fn unknown_releases_use_the_nearest_table_and_say_so() {
    let pr = Profile::for_release(1003, DEB);
    assert_eq!(pr.release, 1000);
    let c = load_v(&pr, "").unwrap();
    assert!(c
        .version_note()
        .unwrap()
        .contains("OpenSSH 10.3 has no table"));
    let pr = Profile::for_release(603, RH);
    assert_eq!(pr.release, 704);
    assert!(load_v(&pr, "").unwrap().version_note().is_some());
    // An exact table carries no note.
    assert!(load_v(&p(807, RH), "").unwrap().version_note().is_none());
}

#[test]
fn detection_from_a_root() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("usr/sbin")).unwrap();
    std::fs::create_dir_all(d.join("etc/ssh")).unwrap();
    std::fs::write(d.join("etc/ssh/sshd_config"), "PermitRootLogin no\n").unwrap();
    std::fs::write(
        d.join("etc/os-release"),
        "ID=\"rhel\"\nID_LIKE=\"fedora\"\n",
    )
    .unwrap();
    let mut bin = vec![0x7fu8, b'E', b'L', b'F'];
    bin.extend(vec![0u8; 200_000]);
    bin.extend_from_slice(b"OpenSSH_7.4*\0OpenSSH_8.0p1\0");
    bin.extend(vec![1u8; 1000]);
    std::fs::write(d.join("usr/sbin/sshd"), &bin).unwrap();
    let root = Root::new(d).unwrap();
    let det = detect(&root).unwrap();
    assert_eq!(det.release, Some(800));
    assert_eq!(det.profile.vendor, RH);
    assert!(!det.degraded());
    let c = load(&root, MAIN).unwrap();
    assert_eq!(c.profile().release, 800);
    assert!(c.detected().unwrap().describe().contains("OpenSSH_8.0p1"));

    // A binary without a release string: an error, not a guess...
    std::fs::write(d.join("usr/sbin/sshd"), vec![7u8; 5000]).unwrap();
    let root = Root::new(d).unwrap();
    assert!(detect(&root).is_err());
    assert!(matches!(load(&root, MAIN), Err(SshdError::Version(_))));
    // ...unless dpkg says which version is installed (noted).
    std::fs::create_dir_all(d.join("var/lib/dpkg")).unwrap();
    std::fs::write(
        d.join("var/lib/dpkg/status"),
        "Package: openssh-server\nStatus: install ok installed\nVersion: 1:8.9p1-3ubuntu0.10\n\n",
    )
    .unwrap();
    let det = detect(&root).unwrap();
    assert_eq!(det.release, Some(809));
    assert!(matches!(det.source, VersionSource::Dpkg { .. }));
    assert!(det.describe().contains("holds no OpenSSH release string"));
    // No binary and no package: the default table, said so.
    std::fs::remove_file(d.join("usr/sbin/sshd")).unwrap();
    std::fs::remove_file(d.join("var/lib/dpkg/status")).unwrap();
    let det = detect(&root).unwrap();
    assert_eq!(det.release, None);
    assert!(det.degraded());
    assert!(det.describe().contains("unknown OpenSSH version"));
}
