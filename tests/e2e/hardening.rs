//! Regression tests of issue 12 ("the agent must never be turned against its host, never PASS
//! what it could not read, and stop when told"), one per defect, named `defectN_...`: each
//! reproduces the hostile input of the report through the `jikimi` binary.

use super::{bin, run, status, write};
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

/// Defect 3: a setuid world-writable file at depth 130, below the walk's depth bound, gave
/// FILE-036/037/038/040 PASS "none found". Now the walk is incomplete and they say so.
#[test]
fn defect3_walk_beyond_the_depth_bound_is_error_not_pass() {
    use std::os::unix::fs::PermissionsExt;
    let t = base_root();
    let r = t.path();
    let mut deep = r.to_path_buf();
    for _ in 0..130 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    let bad = deep.join("x");
    std::fs::write(&bad, "").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o4777)).unwrap();
    let doc = embedded(r, "FILE-036,FILE-037,FILE-038,FILE-040");
    for id in ["FILE-036", "FILE-037", "FILE-038", "FILE-040"] {
        let (st, why) = status(&doc, id);
        assert_eq!(st, "ERROR", "{id}: {why}");
        assert!(
            why.contains("walk incomplete: 1 directories not visited (1 deeper than"),
            "{id}: {why}"
        );
    }
    // the bound is configurable: deep enough, the file is found; a bad policy names its line
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        "[walk]\nmax_depth = 200\nmounts = \"sometimes\"\n",
    )
    .unwrap();
    let o = run(&[
        "config",
        "validate",
        "--config",
        bad.path().to_str().unwrap(),
    ]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains(":3:") && o.stderr.contains("sometimes"),
        "{}",
        o.stderr
    );
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), "[walk]\nmax_depth = 200\n").unwrap();
    let o = run(&[
        "check",
        "--once",
        "--format",
        "json",
        "--no-extra-checks",
        "--root",
        r.to_str().unwrap(),
        "--only",
        "FILE-036,FILE-038",
        "--config",
        cfg.path().to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_str(&o.stdout).expect(&o.stderr);
    for id in ["FILE-036", "FILE-038"] {
        let (st, why) = status(&doc, id);
        assert_eq!(st, "FAIL", "{id}: {why}");
        assert!(why.contains("/d/d/d/"), "{why}");
    }
}

/// Defect 3: a filesystem mounted inside the root was skipped without saying so. In a
/// private mount namespace (the host is not touched), a tmpfs inside the fixture root holds
/// a setuid world-writable file: found by default ("local" enters tmpfs), and with
/// `mounts = "none"` the walk says which mount it did not enter.
#[test]
fn defect3_mounts_inside_the_root_are_walked_or_reported() {
    let t = base_root();
    let r = t.path();
    std::fs::create_dir_all(r.join("mnt/t")).unwrap();
    let cfg = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cfg.path(), "[walk]\nmounts = \"none\"\n").unwrap();
    let script = r#"set -e
mount -t tmpfs tmpfs "$1/mnt/t"
: > "$1/mnt/t/x"
chmod 4777 "$1/mnt/t/x"
"$2" check --once --format json --no-extra-checks --root "$1" --only FILE-036,FILE-038 > "$3/default.json" || true
"$2" check --once --format json --no-extra-checks --root "$1" --only FILE-036,FILE-038 --config "$4" > "$3/none.json" || true
"#;
    let out = tempfile::tempdir().unwrap();
    let o = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(r)
        .arg(env!("CARGO_BIN_EXE_jikimi"))
        .arg(out.path())
        .arg(cfg.path())
        .output()
        .expect("unshare (util-linux) is needed for this test");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.path().join(n)).unwrap()).unwrap()
    };
    let doc = read("default.json");
    for id in ["FILE-036", "FILE-038"] {
        let (st, why) = status(&doc, id);
        assert_eq!(st, "FAIL", "{id}: {why}");
        assert!(why.contains("/mnt/t/x"), "{why}");
    }
    let doc = read("none.json");
    for id in ["FILE-036", "FILE-038"] {
        let (st, why) = status(&doc, id);
        assert_eq!(st, "ERROR", "{id}: {why}");
        assert!(why.contains("mounts not entered: /mnt/t"), "{why}");
    }
    // the namespace is gone: nothing is mounted on the host
    assert!(std::fs::read_dir(r.join("mnt/t")).unwrap().next().is_none());
}

/// Defect 4: `--root /proc/PID/root` of a process in its own mount namespace (pivot_root'ed
/// into a tmpfs) was canonicalized to `/` and the live host was scanned, as live. Now the
/// given path itself is opened and kept, and `--root` is never live.
#[test]
fn defect4_root_of_a_process_in_another_mount_namespace() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let mnt = tempfile::tempdir().unwrap();
    let script = r#"set -e
mount -t tmpfs tmpfs "$1"
mkdir -p "$1/etc/pam.d" "$1/.old"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$1/etc/passwd"
printf 'root:x:0:\n' > "$1/etc/group"
printf 'ID=jikimifixture\nPRETTY_NAME="Jikimi namespace fixture"\n' > "$1/etc/os-release"
printf 'container-fixture\n' > "$1/etc/hostname"
printf 'auth required pam_faillock.so preauth deny=0\n' > "$1/etc/pam.d/common-auth"
cd "$1"
pivot_root . .old
cd /
echo ready
read x
"#;
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(mnt.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) is needed for this test");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.trim() != "ready" {
        let o = child.wait_with_output().unwrap();
        panic!(
            "namespace setup failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let root = format!("/proc/{}/root", child.id());
    let o = run(&[
        "check",
        "--once",
        "--format",
        "json",
        "--no-extra-checks",
        "--root",
        &root,
        "--only",
        "PAM-004",
    ]);
    let res: Result<(), String> = (|| {
        let doc: Value =
            serde_json::from_str(&o.stdout).map_err(|e| format!("{e}: {}", o.stderr))?;
        let host = &doc["host"];
        if host["live"] != false
            || host["os_name"] != "Jikimi namespace fixture"
            || host["hostname"] != "container-fixture"
        {
            return Err(format!("scanned the wrong tree: {host}"));
        }
        let (st, why) = status(&doc, "PAM-004");
        if st != "FAIL" || !why.contains("deny") {
            return Err(format!("PAM-004 {st} {why}"));
        }
        Ok(())
    })();
    let _ = child.stdin.take().unwrap().write_all(b"done\n");
    let _ = child.wait();
    res.unwrap();
}

/// Runs jikimi with a deadline and 1 GiB of address space: a hang or an endless read (of
/// `/dev/zero`, by a build without the fix) is a failure, not a stuck test or a host OOM.
fn run_bounded(args: &[&str]) -> super::Run {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut cmd = bin();
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            let (mut out, mut err) = (String::new(), String::new());
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return super::Run {
                code: st.code().unwrap_or(-1),
                stdout: out,
                stderr: err,
            };
        }
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("jikimi {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Defect 11: a FIFO as `--config`, in `checks.d`, in `--catalog` or in `--rules-dir` hung;
/// `/dev/zero` read until memory ran out. Each is now a clear error and exit 1.
#[test]
fn defect11_fifo_and_dev_zero_as_configuration_are_errors() {
    let t = base_root();
    let r = t.path().to_str().unwrap().to_string();
    for special in ["fifo", "zero"] {
        let d = tempfile::tempdir().unwrap();
        let plant = |p: &Path| {
            if special == "fifo" {
                mkfifo(p)
            } else {
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink("/dev/zero", p).unwrap()
            }
        };
        let expect = if special == "fifo" {
            "FIFO"
        } else {
            "character device"
        };
        let cfg = d.path().join("jikimi.toml");
        plant(&cfg);
        let checks = d.path().join("checks.d");
        plant(&checks.join("x.toml"));
        let cat = d.path().join("catalog");
        plant(&cat.join("a.toml"));
        let rules = d.path().join("rules");
        plant(&rules.join("r.toml"));
        let (cfg, checks, cat, rules) = (
            cfg.to_str().unwrap(),
            checks.to_str().unwrap(),
            cat.to_str().unwrap(),
            rules.to_str().unwrap(),
        );
        let base = ["check", "--once", "--root", r.as_str()];
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("--config", [&base[..], &["--config", cfg]].concat()),
            ("checks.d", [&base[..], &["--checks-dir", checks]].concat()),
            (
                "--catalog",
                [&base[..], &["--no-extra-checks", "--catalog", cat]].concat(),
            ),
            (
                "--rules-dir",
                vec!["classify", "--root", r.as_str(), "--rules-dir", rules],
            ),
            (
                "config validate",
                vec!["config", "validate", "--config", cfg],
            ),
        ];
        for (what, args) in cases {
            let o = run_bounded(&args);
            assert_eq!(o.code, 1, "{special} {what}: {}", o.stderr);
            assert!(o.stderr.contains(expect), "{special} {what}: {}", o.stderr);
        }
    }
}
