//! Firewall and CIS checks on real debootstrapped Debian 12 and 13 roots
//! (`tests/lib/debian-roots.sh`): the stock files as Debian ships them, read in place (the
//! cached roots are never modified; variations are built in a temporary copy of the few
//! files the checks read).

use super::{bin, status};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn roots() -> Vec<(String, PathBuf)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/lib/debian-roots.sh");
    let o = std::process::Command::new("bash")
        .args([script, "bookworm", "trixie"])
        .output()
        .expect("run debian-roots.sh");
    assert!(
        o.status.success(),
        "debian-roots.sh failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(s, p)| (s.to_string(), PathBuf::from(p)))
        .collect()
}

fn scan(root: &Path, only: &str) -> Value {
    let o = bin()
        .args([
            "check",
            "--once",
            "--format",
            "json",
            "--no-extra-checks",
            "--root",
        ])
        .arg(root)
        .args(["--only", only])
        .output()
        .expect("run jikimi");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {err}"))
}

/// Copies `rel` paths from `from` into `to` (files only).
fn copy(from: &Path, to: &Path, rel: &[&str]) {
    for r in rel {
        let src = from.join(r);
        let dst = to.join(r);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
}

fn enable(root: &Path, target: &str, unit: &str) {
    let d = root
        .join("etc/systemd/system")
        .join(format!("{target}.wants"));
    std::fs::create_dir_all(&d).unwrap();
    std::os::unix::fs::symlink(format!("/usr/lib/systemd/system/{unit}"), d.join(unit)).unwrap();
}

const FILES: &[&str] = &[
    "etc/os-release",
    "etc/nftables.conf",
    "usr/lib/systemd/system/nftables.service",
    "usr/lib/systemd/system/ufw.service",
    "etc/ufw/ufw.conf",
    "etc/default/ufw",
    "etc/ufw/before.rules",
    "etc/ufw/before6.rules",
    "etc/ufw/after.rules",
    "etc/ufw/after6.rules",
    "etc/ufw/user.rules",
    "etc/ufw/user6.rules",
];

#[test]
fn stock_debian_firewall_files() {
    for (suite, root) in roots() {
        // As installed: nftables and ufw present, neither starts (ufw.service is enabled but
        // ENABLED=no).
        let doc = scan(&root, "FW-001,FW-003,SVC-031,FW-008");
        assert_eq!(status(&doc, "FW-001").0, "FAIL", "{suite}");
        assert_eq!(status(&doc, "SVC-031").0, "FAIL", "{suite}");
        assert_eq!(status(&doc, "FW-008").0, "PASS", "{suite}");

        // The stock nftables.conf merely enabled filters nothing: SVC-031 must fail, naming
        // the chain without a policy.
        let t = tempfile::tempdir().unwrap();
        copy(&root, t.path(), FILES);
        enable(t.path(), "sysinit.target", "nftables.service");
        let doc = scan(t.path(), "FW-001,FW-003,FW-004,SVC-031");
        assert_eq!(status(&doc, "FW-001").0, "PASS", "{suite}");
        let (s, why) = status(&doc, "SVC-031");
        assert_eq!(s, "FAIL", "{suite}: {why}");
        assert!(
            why.contains("no policy") && why.contains("/etc/nftables.conf"),
            "{suite}: {why}"
        );
        assert_eq!(status(&doc, "FW-003").0, "FAIL", "{suite}");
        assert_eq!(status(&doc, "FW-004").0, "FAIL", "{suite}");

        // ufw switched on with its stock defaults: incoming dropped (SVC-031 passes), outgoing
        // accepted (CIS default deny fails), loopback addresses not denied.
        let t = tempfile::tempdir().unwrap();
        copy(&root, t.path(), FILES);
        enable(t.path(), "multi-user.target", "ufw.service");
        let conf = t.path().join("etc/ufw/ufw.conf");
        let text = std::fs::read_to_string(&conf)
            .unwrap()
            .replace("ENABLED=no", "ENABLED=yes");
        std::fs::write(&conf, text).unwrap();
        let doc = scan(t.path(), "FW-001,FW-002,FW-003,FW-004,FW-005,SVC-031");
        for (id, want) in [
            ("FW-001", "PASS"),
            ("FW-002", "PASS"),
            ("SVC-031", "PASS"),
            ("FW-003", "FAIL"),
            ("FW-004", "FAIL"),
            ("FW-005", "PASS"),
        ] {
            let (s, why) = status(&doc, id);
            assert_eq!(s, want, "{suite} ufw {id}: {why}");
        }
    }
}

/// The whole catalog on the stock roots: none of the checks added for CIS breadth ends in
/// ERROR on Debian's own files.
#[test]
fn stock_roots_scan_without_errors_in_cis_checks() {
    for (suite, root) in roots() {
        let o = bin()
            .args([
                "check",
                "--once",
                "--format",
                "json",
                "--no-extra-checks",
                "--no-walks",
                "--root",
            ])
            .arg(&root)
            .output()
            .expect("run jikimi");
        let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON");
        for r in doc["results"].as_array().unwrap() {
            let id = r["id"].as_str().unwrap();
            let ours = id.starts_with("FW-")
                || id.starts_with("GDM-")
                || id
                    .split_once('-')
                    .is_some_and(|(_, n)| n.starts_with('1') && n.len() == 3);
            if ours {
                assert_ne!(r["status"], "ERROR", "{suite} {id}: {}", r["reason"]);
            }
        }
    }
}
