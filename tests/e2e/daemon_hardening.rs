//! Regression tests of issue 12 against the real binary (loopback only, every loop bounded,
//! every daemon killed when a test fails): the metrics endpoint under slow and idle clients
//! (defect 6), `HEAD` and bare-LF requests (15), terminal escapes from a scanned image (8),
//! SIGTERM in the middle of a walk and of a delivery (12), the interval minimum (14).

use super::daemon::Daemon;
use super::{catalog, check, run, write};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

/// How long a daemon may take to listen.
const STARTUP: Duration = Duration::from_secs(20);

/// One request, raw; the whole reply (the server closes the connection).
fn raw(addr: &str, req: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(req).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn small_root() -> (tempfile::TempDir, tempfile::TempDir) {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "/etc/a", b"x");
    let cat = catalog(&check("OK-1", "{ probe = \"file\", path = \"/etc/a\" }"));
    (t, cat)
}

fn scan_args<'a>(root: &'a Path, cat: &'a Path, state: &'a Path) -> Vec<&'a str> {
    vec![
        "--root",
        root.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the measured latency, shown with --nocapture"
)]
fn defect6_metrics_answer_within_1s_while_50_slow_and_25_idle_clients_are_connected() {
    let (t, cat) = small_root();
    let state = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&scan_args(t.path(), cat.path(), state.path()), &[], STARTUP);
    d.wait_for("scan done", Duration::from_secs(30));
    let addr = d.addr.clone();
    // 50 slow clients (one byte of a request every 1.5 s) and 25 idle ones, each reconnected
    // when the server drops it, for the whole measurement
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let (addr, stop) = (addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
            let connect = || {
                let s = TcpStream::connect(&addr).unwrap();
                s.set_nonblocking(true).unwrap();
                s
            };
            let mut slow: Vec<(TcpStream, usize)> = (0..50).map(|_| (connect(), 0)).collect();
            let mut idle: Vec<TcpStream> = (0..25).map(|_| connect()).collect();
            let mut reconnects = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (s, sent) in slow.iter_mut() {
                    if s.write(&req[*sent % (req.len() - 4)..][..1]).is_err() {
                        *s = connect();
                        reconnects += 1;
                    }
                    *sent += 1;
                }
                for s in idle.iter_mut() {
                    let mut b = [0u8; 256];
                    match s.read(&mut b) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        _ => {
                            *s = connect();
                            reconnects += 1;
                        }
                    }
                }
                for _ in 0..15 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            reconnects
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    // legitimate scrapes for 8 s: past the head deadline, so dropped clients came back
    let t0 = Instant::now();
    let mut worst = Duration::ZERO;
    let mut n = 0;
    while t0.elapsed() < Duration::from_secs(8) {
        let s0 = Instant::now();
        let reply = raw(&addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let took = s0.elapsed();
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(
            reply.contains("jikimi_scans_total{result=\"ok\"} 1"),
            "{reply}"
        );
        worst = worst.max(took);
        n += 1;
        std::thread::sleep(Duration::from_millis(400));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reconnects = attacker.join().unwrap();
    eprintln!("defect6: {n} scrapes, slowest {worst:?}, {reconnects} slow/idle reconnects");
    assert!(n >= 8, "only {n} scrapes");
    assert!(
        worst < Duration::from_secs(1),
        "a scrape took {worst:?} with 50 slow and 25 idle clients"
    );
    // the server dropped them at the head deadline rather than waiting forever
    assert!(
        reconnects >= 50,
        "slow/idle clients never dropped ({reconnects})"
    );
    let (_, code, log) = d.terminate();
    assert_eq!(code, Some(0), "{log}");
}

#[test]
fn defect15_head_and_bare_lf_requests_are_answered() {
    let (t, cat) = small_root();
    let state = tempfile::tempdir().unwrap();
    let mut d = Daemon::start(&scan_args(t.path(), cat.path(), state.path()), &[], STARTUP);
    d.wait_for("scan done", Duration::from_secs(30));
    let get = raw(&d.addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let (get_head, get_body) = get.split_once("\r\n\r\n").unwrap();
    assert!(get_head.starts_with("HTTP/1.1 200 OK"), "{get}");
    // HEAD: the same head (length included), no body
    let head = raw(&d.addr, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head_head, head_body) = head.split_once("\r\n\r\n").unwrap();
    assert!(head_head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head_head.contains(&format!("Content-Length: {}", get_body.len())),
        "{head_head} vs {} bytes",
        get_body.len()
    );
    assert_eq!(head_body, "");
    let h = raw(&d.addr, b"HEAD /healthz HTTP/1.0\r\n\r\n");
    assert!(
        h.starts_with("HTTP/1.1 200 OK") && h.ends_with("\r\n\r\n"),
        "{h}"
    );
    // bare LF line ends
    let lf = raw(&d.addr, b"GET /metrics HTTP/1.1\nHost: x\n\n");
    assert!(lf.starts_with("HTTP/1.1 200 OK"), "{lf:?}");
    assert!(lf.contains("jikimi_build_info"), "{lf}");
    // other methods: 405 naming the allowed ones; malformed: 400; oversized: 431
    let post = raw(
        &d.addr,
        b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(
        post.starts_with("HTTP/1.1 405") && post.contains("Allow: GET, HEAD\r\n"),
        "{post}"
    );
    assert!(raw(&d.addr, b"GET /metrics\r\n\r\n").starts_with("HTTP/1.1 400"));
    let mut big = b"GET /metrics HTTP/1.1\r\n".to_vec();
    for i in 0..400 {
        big.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "a".repeat(40)).as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    assert!(raw(&d.addr, &big).starts_with("HTTP/1.1 431"));
    d.terminate();
}

#[test]
fn defect8_hostile_user_name_from_an_image_is_escaped_in_table_and_markdown() {
    let t = tempfile::tempdir().unwrap();
    let hostile = "\x1b[1A\x1b[2Ktoor";
    write(
        t.path(),
        "/etc/passwd",
        format!("root:x:0:0:root:/root:/bin/sh\n{hostile}:x:0:0::/root:/bin/sh\n").as_bytes(),
    );
    write(t.path(), "/etc/group", b"root:x:0:\n");
    let cat = catalog(&check(
        "UID0-1",
        "{ probe = \"accounts\", rule = \"uid0_only_root\" }",
    ));
    let state = tempfile::tempdir().unwrap();
    let mut args = vec!["check", "--once", "--color", "always", "--format", "table"];
    args.extend(scan_args(t.path(), cat.path(), state.path()));
    args.push("--no-extra-checks");
    let r = run(&args);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("\\x1b[1A\\x1b[2Ktoor"), "{}", r.stdout);
    // the only escape sequences left are the table's own colours
    let own = [
        "\x1b[0m",
        "\x1b[1m",
        "\x1b[31;1m",
        "\x1b[32m",
        "\x1b[90m",
        "\x1b[33;1m",
    ];
    let mut rest = r.stdout.clone();
    for c in own {
        rest = rest.replace(c, "");
    }
    assert!(!rest.contains('\x1b'), "{rest:?}");
    let md = run(&[
        "report",
        "--state-dir",
        state.path().to_str().unwrap(),
        "--format",
        "md",
    ]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(md.stdout.contains("UID0-1"), "{}", md.stdout);
    assert!(!md.stdout.contains('\x1b'), "{:?}", md.stdout);
}

#[test]
fn defect14_interval_below_60s_is_refused() {
    let r = run(&["check", "--interval", "0", "--no-extra-checks"]);
    assert_eq!(r.code, 2, "clap usage error: {}", r.stderr);
    assert!(r.stderr.contains("minimum of 60 s"), "{}", r.stderr);
    let t = tempfile::tempdir().unwrap();
    let cfg = write(t.path(), "j.toml", b"[daemon]\ninterval_secs = 0\n");
    let r = run(&["config", "validate", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("j.toml:2") && r.stderr.contains("minimum of 60 s"),
        "{}",
        r.stderr
    );
}

/// A pending alert (a "fixed" message queued by an earlier run) that a stop must not lose.
fn queued_state(dir: &Path) -> String {
    let text = r#"{
  "version": 1,
  "failing": { "OLD-1": "high" },
  "pending": {
    "webhook": [
      { "at": "2026-11-22T16:35:19.140Z", "hostname": "h", "machine_id": "m", "asset": {},
        "events": [ { "event": "fixed", "check_id": "FIX-1", "title": "t", "severity": "high",
                      "status": "PASS" } ],
        "failing": 1 }
    ]
  }
}"#;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("alerts-state.json"), text).unwrap();
    text.to_string()
}

#[test]
fn defect12_sigterm_mid_delivery_to_a_black_holed_webhook_exits_within_2s_with_the_queue_saved() {
    // a receiver that accepts and never answers
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    let (acc_tx, acc_rx) = channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hole.incoming().take(8) {
            held.push(c);
            let _ = acc_tx.send(());
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "/etc/a", b"x");
    let cat = catalog(&check(
        "BAD-1",
        "{ probe = \"file\", path = \"/etc/a\", exists = false }",
    ));
    let state = t.path().join("state");
    queued_state(&state);
    let cfg = write(
        t.path(),
        "j.toml",
        format!(
            "[alerts]\nmax_attempts = 3\n[alerts.webhook]\nurl = \"http://127.0.0.1:{port}/hook/s3cr3t-token\"\n"
        )
        .as_bytes(),
    );
    let mut args = scan_args(t.path(), cat.path(), &state);
    args.extend(["--config", cfg.to_str().unwrap()]);
    let mut d = Daemon::start(&args, &[], STARTUP);
    acc_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the daemon never reached the webhook");
    std::thread::sleep(Duration::from_millis(300));
    let (took, code, log) = d.terminate();
    assert!(
        took < Duration::from_secs(2),
        "stopped after {took:?}\n{log}"
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !log.contains("still busy"),
        "the delivery did not notice the stop by itself:\n{log}"
    );
    assert!(!log.contains("s3cr3t"), "{log}");
    // the queue holds the earlier message and this scan's new failure
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("alerts-state.json")).unwrap()).unwrap();
    let q = saved["pending"]["webhook"].as_array().unwrap();
    assert_eq!(q.len(), 2, "{saved}");
    assert_eq!(q[0]["events"][0]["check_id"], "FIX-1");
    assert_eq!(q[1]["events"][0]["check_id"], "BAD-1");
    assert!(saved["failing"].get("BAD-1").is_some(), "{saved}");
    // and the scan itself was recorded before the delivery
    assert!(std::fs::read_dir(state.join("history")).unwrap().count() >= 1);
}

#[test]
fn defect12_sigterm_mid_security_hub_retry_exits_within_2s() {
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    let (acc_tx, acc_rx) = channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in hole.incoming().take(8) {
            held.push(c);
            let _ = acc_tx.send(());
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let (t, cat) = small_root();
    let state = t.path().join("state");
    let cfg = write(
        t.path(),
        "j.toml",
        format!(
            "[aws]\naccount_id = \"123456789012\"\nregion = \"ap-northeast-2\"\n\
             resource_id = \"i-0123456789abcdef0\"\nendpoint_url = \"http://127.0.0.1:{port}\"\n\
             imds = false\nmax_attempts = 3\nfirst_submission_jitter_secs = 0\n[securityhub]\nenabled = true\n"
        )
        .as_bytes(),
    );
    let mut args = scan_args(t.path(), cat.path(), &state);
    args.extend(["--config", cfg.to_str().unwrap()]);
    let mut d = Daemon::start(
        &args,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ],
        STARTUP,
    );
    acc_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the daemon never reached Security Hub");
    std::thread::sleep(Duration::from_millis(300));
    let (took, code, log) = d.terminate();
    assert!(
        took < Duration::from_secs(2),
        "stopped after {took:?}\n{log}"
    );
    assert_eq!(code, Some(0), "{log}");
    assert!(std::fs::read_dir(state.join("history")).unwrap().count() >= 1);
}
/// A tree that takes a while to walk, made once and kept in the test cache (the only place
/// tests may keep files): 400 directories of 1,000 empty files (about 20 MB of directory
/// blocks, no data).
fn slow_tree() -> std::path::PathBuf {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap();
    let base = home.join(".cache/jikimi/walk-tree-400k");
    if base.join(".complete").exists() {
        return base;
    }
    let tmp = home.join(format!(".cache/jikimi/.walk-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    write(&tmp, "/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n");
    write(&tmp, "/etc/group", b"root:x:0:\n");
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let tmp = tmp.clone();
            std::thread::spawn(move || {
                for a in (w..400).step_by(2) {
                    let d = tmp.join(format!("srv/d{a}"));
                    std::fs::create_dir_all(&d).unwrap();
                    for b in 0..1000 {
                        std::fs::File::create(d.join(format!("f{b}"))).unwrap();
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    std::fs::write(tmp.join(".complete"), b"").unwrap();
    // another test run may have finished first: keep one
    if std::fs::rename(&tmp, &base).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    base
}

#[test]
fn defect12_sigterm_mid_walk_exits_within_2s_and_keeps_the_queue() {
    let root = slow_tree();
    let t0 = Instant::now();
    let w = run(&["walk", "--root", root.to_str().unwrap()]);
    let walk = t0.elapsed();
    assert_eq!(w.code, 0, "{}", w.stderr);
    let t = tempfile::tempdir().unwrap();
    let state = t.path().join("state");
    let before = queued_state(&state);
    let cfg = write(
        t.path(),
        "j.toml",
        b"[alerts.webhook]\nurl = \"http://127.0.0.1:9/hook/s3cr3t-token\"\n",
    );
    // the embedded catalog's walk checks make the scan walk the tree
    let mut d = Daemon::start(
        &[
            "--root",
            root.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
        STARTUP,
    );
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(200));
    let (took, code, log) = d.terminate();
    assert!(
        took < Duration::from_secs(2),
        "stopped after {took:?}\n{log}"
    );
    assert_eq!(code, Some(0), "{log}");
    // gone before the walk alone could have finished: it was stopped in the middle
    assert!(
        started.elapsed() < walk.mul_f64(0.8),
        "stopped {:?} after start, a whole walk takes {walk:?}\n{log}",
        started.elapsed()
    );
    assert!(!log.contains("scan done"), "{log}");
    // nothing half-done was recorded or sent; the queued message is intact
    let records = std::fs::read_dir(state.join("history"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(records, 0, "an interrupted scan was recorded:\n{log}");
    assert_eq!(
        std::fs::read_to_string(state.join("alerts-state.json")).unwrap(),
        before
    );
}
