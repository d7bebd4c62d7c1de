//! The sudoers files of the fixture hosts (`tests/hosts/*/root/etc/sudoers` and
//! `sudoers.d/*`) must be valid for `visudo -c -f`, except in hosts whose name says
//! `invalid`, which must be rejected: a fixture that sudo itself would refuse would test the
//! wrong thing. `visudo` is required: without it the test fails, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

fn visudo() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"] {
        let p = Path::new(dir).join("visudo");
        if p.exists() {
            return p;
        }
    }
    panic!("visudo not found: install sudo (apt-get install sudo) to run this test");
}

#[test]
fn fixture_host_sudoers_files_agree_with_visudo() {
    let visudo = visudo();
    let hosts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hosts");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for h in std::fs::read_dir(&hosts).unwrap() {
        let h = h.unwrap();
        let name = h.file_name().to_string_lossy().into_owned();
        let etc = h.path().join("root/etc");
        if etc.join("sudoers").is_file() {
            files.push((name.clone(), etc.join("sudoers")));
        }
        if let Ok(rd) = std::fs::read_dir(etc.join("sudoers.d")) {
            for f in rd {
                files.push((name.clone(), f.unwrap().path()));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 3, "sudoers fixtures missing: {files:?}");
    let mut failures = Vec::new();
    for (host, file) in &files {
        let out = Command::new(&visudo)
            .arg("-c")
            .arg("-f")
            .arg(file)
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", visudo.display()));
        let want_ok = !host.contains("invalid");
        if out.status.success() != want_ok {
            failures.push(format!(
                "{}: visudo -c -f says {} (expected {}): {}{}",
                file.display(),
                out.status.success(),
                want_ok,
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
