//! Regression tests of issue 12 ("the agent must never be turned against its host, never PASS
//! what it could not read, and stop when told"), one per defect, named `defectN_...`: each
//! reproduces the hostile input of the report through the `jikimi` binary.

use super::{run, status, write};
use serde_json::Value;
use std::path::Path;

/// `check --once --format json` of the embedded catalog's `ids` on a fixture root.
fn embedded(root: &Path, ids: &str) -> Value {
    let r = run(&[
        "check",
        "--once",
        "--format",
        "json",
        "--no-extra-checks",
        "--root",
        root.to_str().unwrap(),
        "--only",
        ids,
    ]);
    assert!(
        r.code == 0 || r.code == 2,
        "exit {} stderr {}",
        r.code,
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("JSON output")
}

fn mkfifo(p: &Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn base_root() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(r, "/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    write(r, "/etc/group", b"root:x:0:\n");
    t
}

/// Defect 2: an unreadable faillock.conf or pwquality.conf was swallowed and the built-in
/// defaults gave PASS. Each hostile form must give ERROR naming the file and the reason.
#[test]
fn defect2_unreadable_pam_policy_files_are_error_not_default_pass() {
    type Plant = fn(&Path, &str);
    let big: Plant = |r, f| {
        // 4.6 MB with `deny = 0` at the end: the default 3 would PASS
        let mut c = "# padding\n".repeat(460_000);
        c.push_str("deny = 0\nminlen = 4\n");
        write(r, f, c.as_bytes());
    };
    let fifo: Plant = |r, f| mkfifo(&r.join(f.trim_start_matches('/')));
    let looped: Plant = |r, f| {
        let p = r.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(p.file_name().unwrap(), &p).unwrap();
    };
    let nul: Plant = |r, f| {
        write(r, f, b"deny = 0\0\nminlen = 4\n");
    };
    for (what, plant, reason) in [
        ("over 4 MiB", big, "read limit"),
        ("FIFO", fifo, "not a regular file"),
        ("symlink loop", looped, "symbolic links"),
        ("NUL byte", nul, "NUL byte"),
    ] {
        let t = base_root();
        let r = t.path();
        write(
            r,
            "/etc/pam.d/common-auth",
            b"auth required pam_faillock.so preauth\nauth [success=1 default=ignore] pam_unix.so\nauth [default=die] pam_faillock.so authfail\n",
        );
        write(
            r,
            "/etc/pam.d/common-password",
            b"password requisite pam_pwquality.so retry=3 minlen=14 dcredit=-1 ucredit=-1 lcredit=-1 ocredit=-1 minclass=4 enforce_for_root\n",
        );
        plant(r, "/etc/security/faillock.conf");
        plant(r, "/etc/security/pwquality.conf");
        let doc = embedded(r, "PAM-001,PAM-004");
        for id in ["PAM-001", "PAM-004"] {
            let (st, why) = status(&doc, id);
            assert_eq!(st, "ERROR", "{what}: {id} {why}");
            assert!(why.contains(reason), "{what}: {id} {why}");
        }
        // pwquality.conf.d is read too: a FIFO there is an ERROR as well
        std::fs::remove_file(r.join("etc/security/pwquality.conf")).unwrap();
        mkfifo(&r.join("etc/security/pwquality.conf.d/50-x.conf"));
        let doc = embedded(r, "PAM-001");
        let (st, why) = status(&doc, "PAM-001");
        assert_eq!(st, "ERROR", "{what}: {why}");
        assert!(why.contains("50-x.conf"), "{why}");
    }
    // missing files still mean the built-in defaults
    let t = base_root();
    let r = t.path();
    write(
        r,
        "/etc/pam.d/common-auth",
        b"auth required pam_faillock.so preauth\nauth [default=die] pam_faillock.so authfail\n",
    );
    let doc = embedded(r, "PAM-004");
    assert_eq!(status(&doc, "PAM-004").0, "PASS");
}

/// Defect 2, the audit of the other collectors: an inetd.conf that cannot be read could enable
/// telnet; "not enabled" must not PASS on it, and neither may an unreadable login.defs fall
/// back to UID_MIN 1000.
#[test]
fn defect2_other_collectors_do_not_swallow_read_errors() {
    let t = base_root();
    let r = t.path();
    write(r, "/etc/init.d/telnetd", b"#!/bin/sh\n");
    mkfifo(&r.join("etc/inetd.conf"));
    let doc = embedded(r, "SVC-001");
    let (st, why) = status(&doc, "SVC-001");
    assert_eq!(st, "ERROR", "{why}");
    assert!(
        why.contains("/etc/inetd.conf") && why.contains("FIFO"),
        "{why}"
    );
    // readable and enabling: the FAIL stands even with another unreadable source
    std::fs::remove_file(r.join("etc/inetd.conf")).unwrap();
    write(
        r,
        "/etc/inetd.conf",
        b"telnet stream tcp nowait root /usr/sbin/in.telnetd\n",
    );
    mkfifo(&r.join("etc/xinetd.d/telnet"));
    let doc = embedded(r, "SVC-001");
    assert_eq!(status(&doc, "SVC-001").0, "FAIL");
}

/// Defect 1: a `jikimi.prom -> victim` link planted by the owner of the textfile directory
/// (here uid 65534, as `prometheus` would be) made `check --once --textfile` overwrite the
/// victim as root and make it 0644. The same for `--output`.
#[test]
fn defect1_textfile_and_output_refuse_planted_links() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let t = base_root();
    let r = t.path();
    let out = tempfile::tempdir().unwrap();
    let victim = out.path().join("somefile");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dir = out.path().join("textfile");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let prom = dir.join("jikimi.prom");
    symlink(&victim, &prom).unwrap();
    std::os::unix::fs::lchown(&prom, Some(65534), Some(65534)).unwrap();
    let state = out.path().join("state");
    for flag in ["--textfile", "--output"] {
        let o = run(&[
            "check",
            "--once",
            "--no-extra-checks",
            "--root",
            r.to_str().unwrap(),
            "--only",
            "PAM-004",
            "--state-dir",
            state.to_str().unwrap(),
            flag,
            prom.to_str().unwrap(),
        ]);
        assert_eq!(o.code, 1, "{flag}: {}", o.stderr);
        assert!(
            o.stderr.contains("owned by uid 65534"),
            "{flag}: {}",
            o.stderr
        );
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let mode = std::fs::metadata(&victim).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{flag}");
    }
    // without the link, the file is written inside that directory
    std::fs::remove_file(&prom).unwrap();
    let o = run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--root",
        r.to_str().unwrap(),
        "--only",
        "PAM-004",
        "--state-dir",
        state.to_str().unwrap(),
        "--textfile",
        prom.to_str().unwrap(),
        "--output",
        "/dev/null",
    ]);
    assert!(o.code == 0 || o.code == 2, "{}", o.stderr);
    assert!(std::fs::read_to_string(&prom).unwrap().contains("jikimi_"));
}
