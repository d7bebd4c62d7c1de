//! End-to-end tests of the `jikimi` binary: the CLI contract (exit codes, JSON document,
//! selection, catalog errors) and hostile inputs under `--root`.

use serde_json::Value;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

mod classify;
mod daemon;
mod daemon_hardening;
mod firewall_roots;
mod fix;
mod hardening;
mod history;
mod i18n;
mod platforms;
mod realtime;
mod waivers;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jikimi"))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let o = bin().args(args).output().expect("run jikimi");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn write(root: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

/// A catalog dir with one file of checks.
fn catalog(checks: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("t.toml"),
        format!("area = \"test\"\n{checks}"),
    )
    .unwrap();
    d
}

fn check(id: &str, expect: &str) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\ntitle = \"{id}\"\nseverity = \"high\"\ndescription = \"d\"\nremediation = \"r\"\nexpect = {expect}\n\n"
    )
}

fn scan_json(root: &Path, cat: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "check",
        "--once",
        "--format",
        "json",
        "--no-extra-checks",
        "--root",
        root.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let r = run(&args);
    assert!(
        r.code == 0 || r.code == 2,
        "exit {} stderr {}",
        r.code,
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    (
        r.code,
        serde_json::from_str(&r.stdout).expect("JSON output"),
    )
}

fn status<'a>(doc: &'a Value, id: &str) -> (&'a str, String) {
    let r = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}"));
    (
        r["status"].as_str().unwrap(),
        format!("{} {}", r["reason"].as_str().unwrap_or(""), r["evidence"]),
    )
}

#[test]
fn hostile_inputs_give_error_or_the_right_verdict_and_never_panic() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(r, "/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    write(r, "/etc/group", b"root:x:0:\n");
    write(
        r,
        "/etc/binary.conf",
        b"PermitRootLogin no\n\0\x01\x02garbage",
    );
    write(
        r,
        "/etc/latin1.conf",
        b"# caf\xe9 cr\xe8me\nPASS_MAX_DAYS 90\n",
    );
    write(
        r,
        "/etc/crlf.conf",
        b"PASS_MAX_DAYS 60\r\nPASS_MIN_DAYS 1\r\n",
    );
    write(r, "/etc/nonl.conf", b"PASS_MAX_DAYS 30");
    let sparse = std::fs::File::create(r.join("etc/huge.conf")).unwrap();
    sparse.set_len(1 << 30).unwrap(); // 1 GiB, sparse
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.conf", b"PASS_MAX_DAYS 1\n");
    symlink(
        outside.path().join("secret.conf"),
        r.join("etc/escape.conf"),
    )
    .unwrap();
    symlink(
        "../../../../../../../../etc/passwd",
        r.join("etc/dotdot.conf"),
    )
    .unwrap();
    symlink("loop-b", r.join("etc/loop-a")).unwrap();
    symlink("loop-a", r.join("etc/loop-b")).unwrap();
    let locked = write(r, "/etc/locked.conf", b"PASS_MAX_DAYS 90\n");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let fifo = r.join("etc/fifo.conf");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);

    let kv = |id: &str, path: &str| {
        check(
            id,
            &format!("{{ probe = \"keyvalue\", path = \"{path}\", key = \"PASS_MAX_DAYS\", op = \"le\", value = 90 }}"),
        )
    };
    let cat = catalog(
        &[
            kv("BIN-1", "/etc/binary.conf"),
            kv("LATIN-1", "/etc/latin1.conf"),
            kv("CRLF-1", "/etc/crlf.conf"),
            kv("NONL-1", "/etc/nonl.conf"),
            kv("HUGE-1", "/etc/huge.conf"),
            kv("ESC-1", "/etc/escape.conf"),
            kv("LOOP-1", "/etc/loop-a"),
            kv("MISS-1", "/etc/missing.conf"),
            kv("FIFO-1", "/etc/fifo.conf"),
            kv("LOCK-1", "/etc/locked.conf"),
            check("DOTDOT-1", "{ probe = \"lines\", path = \"/etc/dotdot.conf\", pattern = \"^root:\", expect = \"present\" }"),
            check("DIR-1", "{ probe = \"lines\", path = \"/etc\", pattern = \"x\", expect = \"absent\" }"),
            check("ACCT-1", "{ probe = \"accounts\", rule = \"uid0_only_root\" }"),
        ]
        .concat(),
    );
    let (code, doc) = scan_json(r, cat.path(), &[]);
    let s = |id| status(&doc, id);
    assert_eq!(s("BIN-1").0, "ERROR", "{:?}", s("BIN-1"));
    assert!(s("BIN-1").1.contains("binary"), "{:?}", s("BIN-1"));
    assert_eq!(s("LATIN-1").0, "PASS", "{:?}", s("LATIN-1"));
    assert_eq!(s("CRLF-1").0, "PASS", "{:?}", s("CRLF-1"));
    assert_eq!(s("NONL-1").0, "PASS", "{:?}", s("NONL-1"));
    assert_eq!(s("HUGE-1").0, "ERROR");
    assert!(s("HUGE-1").1.contains("read limit"), "{:?}", s("HUGE-1"));
    // the symlink's absolute target is resolved inside the root, where it does not exist
    assert_eq!(s("ESC-1").0, "FAIL", "{:?}", s("ESC-1"));
    assert!(
        !s("ESC-1").1.contains("PASS_MAX_DAYS 1"),
        "read outside the root: {:?}",
        s("ESC-1")
    );
    assert_eq!(s("LOOP-1").0, "ERROR");
    assert!(
        s("LOOP-1").1.contains("symbolic links"),
        "{:?}",
        s("LOOP-1")
    );
    assert_eq!(
        s("MISS-1").0,
        "FAIL",
        "missing file with if_missing=fail: {:?}",
        s("MISS-1")
    );
    assert_eq!(
        s("FIFO-1").0,
        "ERROR",
        "a FIFO must not block the scan: {:?}",
        s("FIFO-1")
    );
    // `..` stops at the root: the root's own passwd is read
    assert_eq!(s("DOTDOT-1").0, "PASS", "{:?}", s("DOTDOT-1"));
    assert_eq!(s("DIR-1").0, "ERROR", "{:?}", s("DIR-1"));
    assert_eq!(s("ACCT-1").0, "PASS");
    // root reads the 000 file; anyone else gets a clear ERROR
    let lock = s("LOCK-1");
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(lock.0, "PASS", "{lock:?}");
    } else {
        assert_eq!(lock.0, "ERROR", "{lock:?}");
        assert!(lock.1.contains("permission denied"));
    }
    assert_eq!(code, 2, "ESC-1 and MISS-1 fail");
    assert_eq!(doc["summary"]["total"], 13);
}

#[test]
fn exit_codes_and_selection() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(r, "/etc/a", b"x");
    let cat = catalog(
        &[
            check("OK-1", "{ probe = \"file\", path = \"/etc/a\" }"),
            check(
                "BAD-1",
                "{ probe = \"file\", path = \"/etc/a\", exists = false }",
            ),
            check("NA-1", "{ probe = \"file\", path = \"/etc/nope\" }"),
        ]
        .concat(),
    );
    let (code, doc) = scan_json(r, cat.path(), &["--only", "OK-1,NA-1"]);
    assert_eq!(code, 0);
    assert_eq!(doc["summary"]["passed"], 1);
    assert_eq!(doc["summary"]["not_applicable"], 1);
    assert_eq!(status(&doc, "NA-1").0, "NOT_APPLICABLE");
    let (code, _) = scan_json(r, cat.path(), &[]);
    assert_eq!(code, 2);
    let (code, doc) = scan_json(r, cat.path(), &["--skip", "BAD-1"]);
    assert_eq!((code, doc["summary"]["total"].as_u64()), (0, Some(2)));
    // unknown id: the run itself failed
    let bad = run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--root",
        r.to_str().unwrap(),
        "--catalog",
        cat.path().to_str().unwrap(),
        "--only",
        "TYPO-1",
    ]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("unknown check id `TYPO-1`"),
        "{}",
        bad.stderr
    );
    // JSON document shape
    for k in [
        "schema_version",
        "agent",
        "host",
        "catalog",
        "started_at",
        "finished_at",
        "summary",
        "results",
    ] {
        assert!(doc.get(k).is_some(), "missing {k}");
    }
    assert_eq!(doc["catalog"]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(doc["host"]["live"], false);
    // --output writes the file atomically, stdout stays empty
    let out = t.path().join("report.json");
    let w = run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--root",
        r.to_str().unwrap(),
        "--catalog",
        cat.path().to_str().unwrap(),
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(w.code, 2);
    assert!(w.stdout.is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["summary"]["failed"], 1);
}

#[test]
fn catalog_errors_name_file_line_and_check() {
    let cat = catalog(
        &[
            check("DUP-1", "{ probe = \"file\", path = \"/etc/a\" }"),
            check(
                "DUP-1",
                "{ probe = \"file\", path = \"/etc/a\", ownr = \"root\" }",
            ),
        ]
        .concat(),
    );
    let r = run(&[
        "catalog",
        "lint",
        "--no-extra-checks",
        "--catalog",
        cat.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    let file = cat.path().join("t.toml");
    let f = file.display();
    assert!(
        r.stderr.contains(&format!(
            "{f}:10: check DUP-1: expect: unknown field `ownr`"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{f}:10: check DUP-1: duplicate id (also defined at {f}:2)"
        )),
        "{}",
        r.stderr
    );
    let r = run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--catalog",
        cat.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "a broken catalog fails the run");
}

#[test]
fn catalog_lint_requires_korean_text_but_a_run_does_not() {
    let translated = check("KO-1", "{ probe = \"file\", path = \"/etc/a\" }").replace(
        "remediation = \"r\"\n",
        "remediation = \"r\"\ntitle_ko = \"제목\"\ndescription_ko = \"설명\"\nremediation_ko = \"조치\"\n",
    );
    let english = check("EN-1", "{ probe = \"file\", path = \"/etc/a\" }");
    let cat = catalog(&[translated.clone(), english].concat());
    let lint = |dir: &Path| {
        run(&[
            "catalog",
            "lint",
            "--no-extra-checks",
            "--catalog",
            dir.to_str().unwrap(),
        ])
    };
    let r = lint(cat.path());
    assert_eq!(r.code, 1, "{}", r.stderr);
    let f = cat.path().join("t.toml");
    assert!(
        r.stderr.contains(&format!(
            "{}:13: check EN-1: no Korean text: title_ko, description_ko, remediation_ko missing",
            f.display()
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("KO-1"), "{}", r.stderr);
    let ok = catalog(&translated);
    let r = lint(ok.path());
    assert_eq!(r.code, 0, "{}", r.stderr);
    // loading for a scan stays lenient: a site's own checks may be English only
    let root = tempfile::tempdir().unwrap();
    let (_, doc) = scan_json(root.path(), cat.path(), &["--only", "EN-1"]);
    assert_eq!(doc["results"][0]["id"], "EN-1");
}

#[test]
fn extra_checks_directory_is_loaded() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "/etc/a", b"x");
    let extra = catalog(&check(
        "USER-1",
        "{ probe = \"file\", path = \"/etc/a\", mode_max = \"0600\" }",
    ));
    let r = run(&[
        "check",
        "--once",
        "--format",
        "json",
        "--root",
        t.path().to_str().unwrap(),
        "--checks-dir",
        extra.path().to_str().unwrap(),
        "--only",
        "USER-1",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(status(&doc, "USER-1").0, "FAIL");
}

#[test]
fn embedded_catalog_runs_on_an_empty_image_without_errors_from_missing_live_facts() {
    let t = tempfile::tempdir().unwrap();
    let r = run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--no-walks",
        "--format",
        "json",
        "--root",
        t.path().to_str().unwrap(),
    ]);
    assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    for res in doc["results"].as_array().unwrap() {
        // No /proc under the root: a live-only fact must never PASS
        let reason = res["reason"].as_str().unwrap_or("");
        if reason.contains("needs a live kernel") {
            assert_eq!(res["status"], "NOT_APPLICABLE", "{res}");
        }
    }
}

#[test]
fn facts_json_on_a_fixture_root() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(
        r,
        "/etc/os-release",
        b"ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian\"\n",
    );
    write(r, "/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    write(r, "/etc/group", b"root:x:0:\n");
    write(
        r,
        "/etc/shadow",
        b"root:$6$salt$SECRETHASH:19000:0:99999:7:::\n",
    );
    let o = run(&["facts", "--json", "--root", r.to_str().unwrap()]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains("SECRETHASH"), "a hash leaked into facts");
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["os"]["id"], "debian");
    assert_eq!(v["accounts"]["users"][0]["name"], "root");
    assert!(v["cpu"]["unavailable"]
        .as_str()
        .unwrap()
        .contains("live kernel"));
}

#[test]
fn live_host_scan_runs() {
    // a private state directory: tests never write the host's scan history
    let state = tempfile::tempdir().unwrap();
    let r = run(&[
        "check",
        "--state-dir",
        state.path().to_str().unwrap(),
        "--once",
        "--no-extra-checks",
        "--no-walks",
        "--format",
        "json",
    ]);
    assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["host"]["live"], true);
    let f = run(&["facts", "--json"]);
    assert_eq!(f.code, 0);
    let v: Value = serde_json::from_str(&f.stdout).unwrap();
    assert!(v["cpu"]["count"].as_u64().unwrap() >= 1);
    assert!(v["processes"].as_array().unwrap().len() > 1);
}

/// Kills a spawned daemon when a test panics, so it never outlives the test run.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn daemon_serves_metrics_reloads_on_sighup_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "/etc/a", b"x");
    let cat = catalog(&check("OK-1", "{ probe = \"file\", path = \"/etc/a\" }"));
    let textfile = t.path().join("jikimi.prom");
    let child = bin()
        .args([
            "check",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "3600",
            "--no-extra-checks",
        ])
        .args([
            "--root",
            t.path().to_str().unwrap(),
            "--catalog",
            cat.path().to_str().unwrap(),
        ])
        .args(["--textfile", textfile.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(child);
    let child = &mut guard.0;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = lines.next().unwrap().unwrap();
    let addr = started
        .split("http://")
        .nth(1)
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("no address in {started}"))
        .to_string();
    // the first scan runs at start (the next one would be in an hour: SIGHUP rescans below)
    for l in lines.by_ref() {
        if l.unwrap().contains("scan done") {
            break;
        }
    }
    let (status, body) = http_get(&addr, "/metrics");
    assert!(status.contains("200"), "{status}");
    assert!(
        body.contains("jikimi_checks{status=\"PASS\",severity=\"high\"} 1"),
        "{body}"
    );
    assert!(body.contains("jikimi_scans_total{result=\"ok\"}"), "{body}");
    let (status, body) = http_get(&addr, "/healthz");
    assert!(
        status.contains("200") && body.starts_with("ok"),
        "{status} {body}"
    );
    assert!(http_get(&addr, "/nope").0.contains("404"));
    assert!(std::fs::read_to_string(&textfile)
        .unwrap()
        .contains("jikimi_score 100"));
    // SIGHUP: reload (add a failing check), rescan
    std::fs::write(
        cat.path().join("t.toml"),
        format!(
            "area = \"test\"\n{}{}",
            check("OK-1", "{ probe = \"file\", path = \"/etc/a\" }"),
            check(
                "BAD-1",
                "{ probe = \"file\", path = \"/etc/a\", exists = false }"
            )
        ),
    )
    .unwrap();
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    let mut reloaded = false;
    for l in lines.by_ref() {
        let l = l.unwrap();
        if l.contains("configuration reloaded: 2 checks") {
            reloaded = true;
        }
        if reloaded && l.contains("1 failed") {
            break;
        }
    }
    assert!(reloaded);
    let (_, body) = http_get(&addr, "/metrics");
    assert!(
        body.contains("jikimi_checks{status=\"FAIL\",severity=\"high\"} 1"),
        "{body}"
    );
    // SIGTERM: exits 0 within a few seconds
    let t0 = std::time::Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t0.elapsed().as_secs() < 5, "daemon did not stop on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn textfile_metrics_pass_promtool() {
    let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("promtool not found: install Debian's `prometheus` package (tests/run.sh does)");
    let t = tempfile::tempdir().unwrap();
    let prom = t.path().join("m.prom");
    let r = run(&[
        "check",
        "--state-dir",
        t.path().to_str().unwrap(),
        "--once",
        "--no-extra-checks",
        "--no-walks",
        "--textfile",
        prom.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains("jikimi_host_memory_bytes{kind=\"total\"}"),
        "{text}"
    );
    let out = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&prom).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `jikimi sshd effective` prints what `sshd -T -f FILE [-C SPEC]` prints, line for line, for
/// a configuration with an Include, Match blocks, algorithm edits, time units and aliases;
/// and a line sshd rejects makes both fail, jikimi naming `file:line`.
#[test]
fn sshd_effective_matches_sshd_t() {
    let sshd = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("sshd not found: install Debian's `openssh-server` package (tests/run.sh does)");
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_str().unwrap().to_string();
    let key = t.path().join("hostkey");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen not found: install openssh-client");
    assert!(st.success(), "ssh-keygen failed");
    // sshd -T insists on its privilege separation directory.
    std::fs::create_dir_all("/run/sshd").expect("create /run/sshd (run the tests as root)");
    write(
        t.path(),
        "conf.d/10-first.conf",
        b"# a drop-in read first: its values win\nPermitRootLogin yes\nClientAliveInterval 5m\n",
    );
    let main = write(
        t.path(),
        "sshd_config",
        format!(
            "HostKey {dir}/hostkey\nInclude {dir}/conf.d/*.conf\nPermitRootLogin no\n\
             Port 2222\nChallengeResponseAuthentication no\nLoginGraceTime 1m30s\n\
             Ciphers -*-cbc,3des*\nMACs ^hmac-sha2-512-etm@openssh.com\n\
             KexAlgorithms +diffie-hellman-group14-sha1\nAllowGroups ssh-users wheel\n\
             Banner /etc/issue.net\nMaxStartups 10:30:60\nLogLevel verbose\n\
             Match Address 10.0.0.0/8\n  PermitRootLogin prohibit-password\n  MaxAuthTries 2\n\
             Match User alice,bob\n  X11Forwarding yes\n  Banner none\n"
        )
        .as_bytes(),
    );
    let main_s = main.to_str().unwrap();
    for spec in [
        None,
        Some("user=alice,host=client.example,addr=10.1.2.3,laddr=192.0.2.1,lport=2222"),
        Some("user=carol,host=h,addr=192.0.2.9,laddr=192.0.2.1,lport=22"),
    ] {
        let mut theirs = Command::new(sshd);
        theirs.args(["-T", "-f", main_s]);
        let mut ours = vec!["sshd", "effective", "--config", main_s];
        if let Some(s) = spec {
            theirs.args(["-C", s]);
            ours.extend(["--match", s]);
        }
        let o = theirs.output().unwrap();
        assert!(
            o.status.success(),
            "sshd -T failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let want = String::from_utf8_lossy(&o.stdout).into_owned();
        let r = run(&ours);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(want.lines().count() > 80, "{want}");
        if r.stdout != want {
            let w: Vec<&str> = want.lines().collect();
            let g: Vec<&str> = r.stdout.lines().collect();
            let diff: Vec<String> = w
                .iter()
                .filter(|l| !g.contains(l))
                .map(|l| format!("- {l}"))
                .chain(
                    g.iter()
                        .filter(|l| !w.contains(l))
                        .map(|l| format!("+ {l}")),
                )
                .collect();
            panic!(
                "jikimi sshd effective differs from sshd -T for {spec:?} (- sshd, + jikimi):\n{}",
                diff.join("\n")
            );
        }
    }
    // a line sshd rejects: both refuse, jikimi with file:line, exit 1
    let bad = write(
        t.path(),
        "bad_config",
        format!("HostKey {dir}/hostkey\nPermitRootLogin no\nMaxAuthTries many\n").as_bytes(),
    );
    let o = Command::new(sshd)
        .args(["-T", "-f", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success(), "sshd -T accepted MaxAuthTries many");
    let r = run(&["sshd", "effective", "--config", bad.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "{}:3: MaxAuthTries integer value invalid",
            bad.display()
        )),
        "{}",
        r.stderr
    );
    let r = run(&["sshd", "effective", "--config", &format!("{dir}/absent")]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("absent: no such file"), "{}", r.stderr);
}

/// The sshd fixture hosts: the evidence names the line that decided (a Match block's line,
/// a drop-in read before the main file) and an invalid configuration's line.
#[test]
fn sshd_checks_name_the_deciding_line() {
    let host = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/hosts")
            .join(name)
            .join("root")
    };
    let scan = |name: &str, only: &str| {
        let root = host(name);
        let r = run(&[
            "check",
            "--once",
            "--format",
            "json",
            "--no-extra-checks",
            "--root",
            root.to_str().unwrap(),
            "--only",
            only,
        ]);
        assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
        serde_json::from_str::<Value>(&r.stdout).unwrap()
    };
    let first = |doc: &Value, id: &str| {
        let r = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()
            .clone();
        (r["status"].as_str().unwrap().to_string(), r)
    };

    let doc = scan("sshd-match-weak", "SSH-001");
    let (st, r) = first(&doc, "SSH-001");
    assert_eq!(st, "FAIL", "{r}");
    let ev = &r["evidence"][0];
    assert_eq!(ev["file"], "/etc/ssh/sshd_config", "{r}");
    assert_eq!(ev["line"], 38, "{r}");
    let msg = ev["message"].as_str().unwrap();
    assert!(
        msg.contains("Match Address 10.0.0.0/8 (/etc/ssh/sshd_config:37)")
            && msg.contains("permitrootlogin yes"),
        "{msg}"
    );

    let doc = scan("sshd-include", "SSH-001,SSH-010");
    let (st, r) = first(&doc, "SSH-001");
    assert_eq!(st, "FAIL", "{r}");
    assert_eq!(
        r["evidence"][0]["file"], "/etc/ssh/sshd_config.d/10-cloud-init.conf",
        "{r}"
    );
    assert_eq!(r["evidence"][0]["line"], 2, "{r}");
    let (st, r) = first(&doc, "SSH-010");
    assert_eq!(st, "PASS", "{r}");
    assert_eq!(
        r["evidence"][0]["file"], "/etc/ssh/sshd_config.d/20-no-x11.conf",
        "{r}"
    );

    let doc = scan("sshd-invalid", "SSH-001");
    let (st, r) = first(&doc, "SSH-001");
    assert_eq!(st, "ERROR", "{r}");
    assert!(
        r["reason"].as_str().unwrap().contains(
            "/etc/ssh/sshd_config:7: Directive 'Port' is not allowed within a Match block"
        ),
        "{r}"
    );

    let doc = scan("sshd-absent", "SSH-001");
    let (st, r) = first(&doc, "SSH-001");
    assert_eq!(st, "NOT_APPLICABLE", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("openssh-server is not installed"),
        "{r}"
    );
}
