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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use jikimi::facts::sshd::{self, Connection};
use jikimi::fs::Root;

const SSHD: &str = "/usr/sbin/sshd";

fn copy_corpus(from: &Path, to: &Path, dir: &str) {
    std::fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let src = e.path();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_corpus(&src, &dst, dir);
        } else {
            let bytes = std::fs::read(&src).unwrap();
            let text = String::from_utf8(bytes).expect("corpus files are UTF-8");
            std::fs::write(&dst, text.replace("@DIR@", dir)).unwrap();
        }
    }
}

/// `keyword -> values` in printed order.
fn parse_dump(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once(' ').unwrap_or((line, ""));
        m.entry(k.to_string()).or_default().push(v.to_string());
    }
    m
}

struct Run {
    ok: bool,
    out: String,
}

fn run_sshd(conf: &Path, key: &Path, spec: Option<&str>) -> Run {
    let mut c = Command::new(SSHD);
    c.arg("-T").arg("-f").arg(conf).arg("-h").arg(key);
    if let Some(s) = spec {
        c.arg("-C").arg(s);
    }
    c.current_dir("/")
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    let o = c.output().expect("run sshd");
    let out = if o.status.success() {
        String::from_utf8_lossy(&o.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    Run {
        ok: o.status.success(),
        out,
    }
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
        copy_corpus(&src, &dir, &dir_s);
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

    let mut failures = Vec::new();
    let mut refused = Vec::new();
    let mut runs = 0;
    for conf in &confs {
        let name = conf.file_name().unwrap().to_string_lossy().into_owned();
        let mut specs: Vec<Option<String>> = vec![None];
        if let Ok(t) = std::fs::read_to_string(conf.with_extension("conn")) {
            specs.extend(
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| Some(l.to_string())),
            );
        }
        let loaded = sshd::load(&root, conf.to_str().unwrap());
        for spec in &specs {
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
            match (real.ok, ours) {
                (false, Err(e)) => refused.push(format!(
                    "  {label}\n    sshd: {}\n    ours: {e}",
                    real.out.lines().last().unwrap_or("").trim()
                )),
                (false, Ok(_)) => failures.push(format!(
                    "{label}: sshd refused the configuration but we accepted it; sshd said: {}",
                    real.out.trim()
                )),
                (true, Err(e)) => failures.push(format!(
                    "{label}: sshd accepted the configuration but we refused it: {e}"
                )),
                (true, Ok(eff)) => {
                    let mut want = parse_dump(&real.out);
                    let mut got = parse_dump(&eff.render());
                    // The throwaway key given with -h comes first; without any HostKey in
                    // the configuration it replaces sshd's three defaults.
                    if let Some(v) = want.get_mut("hostkey") {
                        if v.first() == Some(&key_s) {
                            v.remove(0);
                        }
                        if v.is_empty() {
                            want.remove("hostkey");
                            if eff.get("hostkey").is_some_and(|s| s.is_default()) {
                                got.remove("hostkey");
                            }
                        }
                    }
                    let keys: std::collections::BTreeSet<&String> =
                        want.keys().chain(got.keys()).collect();
                    for k in keys {
                        let (w, g) = (want.get(k), got.get(k));
                        if w != g {
                            failures.push(format!(
                                "{label}: {k}: sshd={:?} ours={:?}",
                                w.map(Vec::as_slice).unwrap_or(&[]),
                                g.map(Vec::as_slice).unwrap_or(&[])
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "sshd differential: {} configs, {runs} sshd -T runs, {} refused by both:\n{}",
        confs.len(),
        refused.len(),
        refused.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} differences with sshd -T:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
