//! Oracle test per OpenSSH release: for the Debian 11 (8.4p1), 12 (9.2p1) and 13 (10.0p2)
//! roots built by `tests/lib/debian-roots.sh`, each root's OWN sshd
//! (`chroot ROOT /usr/sbin/sshd -T -f FILE [-C SPEC]`) and `jikimi::facts::sshd::load`
//! through `Root::new(ROOT)` (which detects the root's version itself) must print the same
//! lines for EVERY keyword, on the whole differential corpus (`tests/sshd/corpus/`) and
//! the per-release corpus (`tests/sshd/versions/`: keywords, values and defaults that
//! differ between releases), with every connection of `NAME.conn`; and must refuse the
//! same configurations (a keyword a release does not know is refused exactly when that
//! release's sshd refuses it).
//!
//! Roots: `JIKIMI_ROOT_BULLSEYE`, `JIKIMI_ROOT_BOOKWORM`, `JIKIMI_ROOT_TRIXIE` (set by
//! tests/run.sh); when unset, the test runs `tests/lib/debian-roots.sh SUITE` itself (it
//! builds once, then prints the cached path). A root that cannot be had FAILS the test.
//!
//! The shared cached roots are read-only: the corpus and a throwaway host key go into a
//! private directory `ROOT/tmp/jikimi-sshd-XXXXXX`, removed afterwards.

#![allow(
    clippy::print_stderr,
    reason = "the summary of the differential run is the point of --nocapture"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use jikimi::facts::sshd::{self, Connection, VersionSource};
use jikimi::fs::Root;

mod common {
    pub mod sshd_oracle;
}
use common::sshd_oracle::{connection_specs, copy_tree, Run, Verdicts};

/// The root of a suite: the env var, else what tests/lib/debian-roots.sh prints.
fn root_of(suite: &str) -> PathBuf {
    let var = format!("JIKIMI_ROOT_{}", suite.to_ascii_uppercase());
    if let Some(p) = std::env::var_os(&var) {
        let p = PathBuf::from(p);
        assert!(
            p.join("usr/sbin/sshd").is_file(),
            "{var}={} has no usr/sbin/sshd: build it with `bash tests/lib/debian-roots.sh {suite}`",
            p.display()
        );
        return p;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/lib/debian-roots.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(suite)
        .output()
        .expect("run tests/lib/debian-roots.sh");
    assert!(
        out.status.success(),
        "{var} is unset and `bash tests/lib/debian-roots.sh {suite}` failed (needs root, \
         debootstrap and the Debian mirror):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{suite} ")))
        .unwrap_or_else(|| panic!("debian-roots.sh printed no path for {suite}: {text}"));
    PathBuf::from(path.trim())
}

/// A private directory inside the root, removed on drop.
struct Private {
    host: PathBuf,
    inside: String,
}

impl Private {
    fn new(root: &Path) -> Private {
        let tmp = tempfile::Builder::new()
            .prefix("jikimi-sshd-")
            .tempdir_in(root.join("tmp"))
            .expect("create ROOT/tmp/jikimi-sshd-*");
        let host = tmp.keep();
        let name = host.file_name().unwrap().to_string_lossy().into_owned();
        Private {
            host,
            inside: format!("/tmp/{name}"),
        }
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.host);
    }
}

/// A value each keyword accepts wherever it exists (flags get `no`).
fn sample_value(name: &str) -> &'static str {
    match name {
        "port" => "2222",
        "hostkey" | "hostdsakey" => "/etc/ssh/ssh_host_ed25519_key",
        "hostkeyagent" => "SSH_AUTH_SOCK",
        "pidfile" => "/run/other.pid",
        "modulifile" => "/etc/ssh/moduli",
        "serverkeybits" => "1024",
        "logingracetime" => "30",
        "keyregenerationinterval" => "3600",
        "syslogfacility" => "AUTH",
        "loglevel" => "VERBOSE",
        "logverbose" => "kex.c:*",
        "hostbasedacceptedalgorithms"
        | "hostbasedacceptedkeytypes"
        | "hostkeyalgorithms"
        | "pubkeyacceptedalgorithms"
        | "pubkeyacceptedkeytypes"
        | "casignaturealgorithms" => "ssh-ed25519",
        "pubkeyauthoptions" => "none",
        "gssapikexalgorithms" => "gss-group14-sha256-",
        "listenaddress" => "127.0.0.1",
        "addressfamily" => "inet",
        "x11displayoffset" => "20",
        "xauthlocation" => "/usr/bin/xauth",
        "rekeylimit" => "1G 1h",
        "allowusers" | "denyusers" => "alice",
        "allowgroups" | "denygroups" => "wheel",
        "ciphers" => "aes128-ctr",
        "macs" => "hmac-sha2-256",
        "kexalgorithms" => "curve25519-sha256",
        "protocol" => "2",
        "subsystem" => "x /bin/x",
        "maxstartups" => "10:30:60",
        "persourcemaxstartups" => "5",
        "persourcenetblocksize" => "24:64",
        "persourcepenaltyexemptlist" => "10.0.0.0/8",
        "maxauthtries" => "3",
        "maxsessions" => "5",
        "banner" => "/etc/issue.net",
        "clientaliveinterval" => "60",
        "clientalivecountmax" => "2",
        "authorizedkeysfile" | "authorizedkeysfile2" => ".ssh/authorized_keys",
        "acceptenv" => "LANG",
        "setenv" => "A=1",
        "permitopen" | "permitlisten" => "any",
        "forcecommand" => "/bin/true",
        "chrootdirectory" | "revokedkeys" | "trustedusercakeys" | "authorizedprincipalsfile" => {
            "none"
        }
        "hostcertificate" => "/etc/ssh/cert.pub",
        "include" => "/nonexistent/*.conf",
        "ipqos" => "af21 cs1",
        "authorizedkeyscommand" | "authorizedprincipalscommand" => "none",
        "authorizedkeyscommanduser" | "authorizedprincipalscommanduser" => "nobody",
        "versionaddendum" => "none",
        "authenticationmethods" => "any",
        "streamlocalbindmask" => "0077",
        "fingerprinthash" => "SHA256",
        "rdomain" => "%D",
        "securitykeyprovider" => "internal",
        "requiredrsasize" => "2048",
        "channeltimeout" => "session=5m",
        "unusedconnectiontimeout" => "5m",
        "sshdsessionpath" => "/usr/lib/openssh/sshd-session",
        "sshdauthpath" => "/usr/lib/openssh/sshd-auth",
        "pamservicename" => "sshd",
        "useprivilegeseparation" => "sandbox",
        "match" => "All",
        "permittunnel" | "compression" => "no",
        "permituserenvironment" => "no",
        "permitrootlogin" => "no",
        "gatewayports" => "no",
        "allowtcpforwarding" | "allowstreamlocalforwarding" => "local",
        "ignorerhosts" => "yes",
        _ => "no",
    }
}

fn run_sshd(root: &Path, conf: &str, key: &str, spec: Option<&str>) -> Run {
    let mut c = Command::new("chroot");
    c.arg(root)
        .arg("/usr/sbin/sshd")
        .args(["-T", "-f", conf, "-h", key]);
    if let Some(s) = spec {
        c.arg("-C").arg(s);
    }
    c.current_dir("/")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    Run::from_output(
        &c.output()
            .expect("chroot ROOT /usr/sbin/sshd (run the tests as root)"),
    )
}

/// Compares one root's sshd with ours over a corpus; returns (runs, refused by both,
/// differences).
fn compare(suite: &str, want_release: u16) -> (usize, Vec<String>, Vec<String>) {
    let root_dir = root_of(suite);
    let root = Root::new(&root_dir).unwrap();

    // The root's own version, found by the loader.
    let det = sshd::detect(&root).expect("detect the root's OpenSSH");
    assert_eq!(det.release, Some(want_release), "{suite}: detected {det:?}");
    assert!(
        matches!(det.source, VersionSource::Binary { .. }),
        "{suite}: version not from the binary: {det:?}"
    );
    assert!(!det.degraded(), "{suite}: {}", det.describe());

    let private = Private::new(&root_dir);
    let key_in = format!("{}/hostkey", private.inside);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(private.host.join("hostkey"))
        .status()
        .expect("ssh-keygen (install openssh-client)");
    assert!(st.success(), "ssh-keygen failed");

    let mut confs: Vec<(PathBuf, String)> = Vec::new();
    for set in ["corpus", "versions"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sshd")
            .join(set);
        let inside = format!("{}/{set}", private.inside);
        copy_tree(&src, &private.host.join(set), &inside);
        let mut v: Vec<(PathBuf, String)> = std::fs::read_dir(private.host.join(set))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (p, format!("{inside}/{name}"))
            })
            .collect();
        v.sort();
        confs.extend(v);
    }
    // One file per keyword any table knows (plus names no release knows), with a value
    // valid where the keyword exists: accepted or refused exactly as this sshd does.
    let kdir = private.host.join("keywords");
    std::fs::create_dir_all(&kdir).unwrap();
    let mut names = sshd::keyword_names();
    names.extend([
        "nosuchkeyword",
        "gssapidelegatecredentials",
        "hostkeyalgorithm",
    ]);
    for name in names {
        let file = format!("k_{name}.conf");
        std::fs::write(kdir.join(&file), format!("{name} {}\n", sample_value(name))).unwrap();
        confs.push((
            kdir.join(&file),
            format!("{}/keywords/{file}", private.inside),
        ));
    }
    assert!(confs.len() >= 200, "corpus has {} configs", confs.len());

    let mut v = Verdicts::default();
    let mut runs = 0;
    for (host_path, inside) in &confs {
        let name = inside.rsplit('/').next().unwrap().to_string();
        let loaded = sshd::load(&root, inside);
        for spec in &connection_specs(host_path) {
            runs += 1;
            let label = format!("{suite} {name} [{}]", spec.as_deref().unwrap_or("no -C"));
            let real = run_sshd(&root_dir, inside, &key_in, spec.as_deref());
            let ours = loaded.as_ref().map_err(Clone::clone).and_then(|cfg| {
                let conn = match spec {
                    Some(s) => Connection::parse_with(s, cfg.system())?,
                    None => Connection::default(),
                };
                cfg.try_effective(&conn)
            });
            v.judge(&label, &real, ours, &key_in, true);
        }
    }
    (runs, v.refused, v.failures)
}

fn oracle(suite: &str, release: u16) {
    let (runs, refused, failures) = compare(suite, release);
    eprintln!(
        "sshd oracle {suite}: {runs} sshd -T runs, {} refused by both:\n{}",
        refused.len(),
        refused.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{suite}: {} differences with the root's own sshd -T:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn bullseye_openssh_8_4() {
    oracle("bullseye", 804);
}

#[test]
fn bookworm_openssh_9_2() {
    oracle("bookworm", 902);
}

#[test]
fn trixie_openssh_10_0() {
    oracle("trixie", 1000);
}
