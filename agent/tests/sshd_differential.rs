//! Differential test: for every configuration under `tests/sshd/corpus/` and
//! `tests/sshd/versions/` and every
//! connection of its `NAME.conn` (plus no connection at all), the real
//! `/usr/sbin/sshd -T -f FILE [-C SPEC]` and `jikimi::facts::sshd` must agree keyword by
//! keyword, and must agree on refusing a configuration.
//!
//! The corpus is copied to a temporary directory first; `@DIR@` in any corpus file becomes
//! that directory, so `Include @DIR@/x.d/*.conf` means the same file to both sides. Both
//! sides read the live `/` (the loader through `Root::new("/")`), so `Match Group` and `~`
//! see the same accounts. sshd needs a host key and `/run/sshd`: a throwaway ed25519 key is
//! given with `-h`, and its `hostkey` line is left out of the comparison.

#![allow(
    clippy::print_stderr,
    reason = "the summary of the differential run is the point of --nocapture"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use jikimi::facts::sshd::{self, Connection};
use jikimi::fs::Root;

mod common {
    pub mod sshd_oracle;
}
use common::sshd_oracle::{connection_specs, copy_tree, Run, Verdicts};

const SSHD: &str = "/usr/sbin/sshd";

fn run_sshd(conf: &Path, key: &Path, spec: Option<&str>) -> Run {
    let mut c = Command::new(SSHD);
    c.arg("-T").arg("-f").arg(conf).arg("-h").arg(key);
    if let Some(s) = spec {
        c.arg("-C").arg(s);
    }
    c.current_dir("/")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    Run::from_output(&c.output().expect("run sshd"))
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    assert!(
        Path::new(SSHD).exists(),
        "{SSHD} is missing: install openssh-server (apt-get install openssh-server) to run the sshd differential test"
    );
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("hostkey");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen (install openssh-client)");
    assert!(st.success(), "ssh-keygen failed");
    // sshd -T insists on its privilege separation directory.
    if !Path::new("/run/sshd").is_dir() {
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd (run the tests as root)");
    }
    (tmp, key)
}

#[test]
fn sshd_t_agrees_with_effective() {
    let (tmp, key) = setup();
    let mut confs: Vec<PathBuf> = Vec::new();
    // The shared corpus and the per-release cases (tests/sshd/versions).
    for set in ["corpus", "versions"] {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sshd")
            .join(set);
        let dir = tmp.path().join(set);
        let dir_s = dir.to_str().unwrap().to_string();
        copy_tree(&src, &dir, &dir_s);
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        v.sort();
        confs.extend(v);
    }
    let key_s = key.to_str().unwrap().to_string();
    // The loader detects the live sshd's release from /usr/sbin/sshd itself.
    let root = Root::new(Path::new("/")).unwrap();
    assert!(confs.len() >= 50, "corpus has {} configs", confs.len());

    let mut v = Verdicts::default();
    let mut runs = 0;
    for conf in &confs {
        let name = conf.file_name().unwrap().to_string_lossy().into_owned();
        let loaded = sshd::load(&root, conf.to_str().unwrap());
        for spec in &connection_specs(conf) {
            runs += 1;
            let label = format!("{name} [{}]", spec.as_deref().unwrap_or("no -C"));
            let real = run_sshd(conf, &key, spec.as_deref());
            let ours = loaded.as_ref().map_err(Clone::clone).and_then(|cfg| {
                let conn = match spec {
                    Some(s) => Connection::parse_with(s, cfg.system())?,
                    None => Connection::default(),
                };
                cfg.try_effective(&conn)
            });
            v.judge(&label, &real, ours, &key_s, false);
        }
    }
    eprintln!(
        "sshd differential: {} configs, {runs} sshd -T runs, {} refused by both:\n{}",
        confs.len(),
        v.refused.len(),
        v.refused.join("\n")
    );
    assert!(
        v.failures.is_empty(),
        "{} differences with sshd -T:\n{}",
        v.failures.len(),
        v.failures.join("\n")
    );
}
