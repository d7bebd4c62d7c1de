//! `jikimi fix` end to end: every catalog fix on a copy of a fixture host where its check
//! fails (the check passes after, `--undo` restores the tree byte for byte), `--dry-run`
//! changes nothing, one run on the weakest host, validation failures and regressions roll
//! back, the lock-out guards refuse, and the real `sshd -t` / `visudo -c` accept the result.

use super::{catalog, run};
use jikimi::catalog::fixtures;
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn hosts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hosts")
}

/// Everything `--undo` must restore: per path its kind, mode, owner, and content or target.
fn tree_state(root: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let what = if m.file_type().is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                "dir".to_string()
            } else if m.is_file() {
                use sha2::Digest;
                let h = sha2::Sha256::digest(std::fs::read(&p).unwrap());
                format!("file {h:x}")
            } else {
                "special".to_string()
            };
            out.insert(
                rel,
                format!("{what} {:o} {}:{}", m.mode() & 0o7777, m.uid(), m.gid()),
            );
            if m.is_dir() && !m.file_type().is_symlink() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

struct Env {
    _dir: tempfile::TempDir,
    config: PathBuf,
    state: PathBuf,
    work: PathBuf,
}

fn env() -> Env {
    let d = tempfile::tempdir().unwrap();
    let config = d.path().join("jikimi.toml");
    std::fs::write(&config, "").unwrap();
    let state = d.path().join("state");
    let work = d.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    Env {
        config,
        state,
        work,
        _dir: d,
    }
}

fn fix_args<'a>(e: &'a Env, root: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "fix".into(),
        "--root".into(),
        root.into(),
        "--config".into(),
        e.config.display().to_string(),
        "--state-dir".into(),
        e.state.display().to_string(),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn jikimi(args: &[String]) -> super::Run {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&a)
}

fn run_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("applied run "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("no run id in:\n{stdout}"))
        .to_string()
}

fn statuses(e: &Env, root: &str, extra: &[&str]) -> BTreeMap<String, String> {
    let mut args: Vec<String> = [
        "check",
        "--once",
        "--no-walks",
        "--format",
        "json",
        "--root",
        root,
        "--config",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(e.config.display().to_string());
    args.push("--state-dir".into());
    args.push(e.state.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let r = jikimi(&args);
    let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}", r.stderr));
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn copy(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .args(["-a"])
        .arg(from)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a {} {}", from.display(), to.display());
}

#[test]
fn every_fix_passes_its_check_on_a_failing_fixture_and_undo_restores_the_tree() {
    let e = env();
    let fx = fixtures::load_all(&hosts_dir()).unwrap();
    let cat = jikimi::catalog::load(
        &jikimi::catalog::embedded_sources(),
        jikimi::catalog::Profile::Kisa,
    )
    .unwrap();
    let pristine = e.work.join("pristine");
    std::fs::create_dir_all(&pristine).unwrap();
    let mut made: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut tried = 0;
    for c in cat.checks.iter().filter(|c| !c.fix.is_empty()) {
        // the fixtures where the check fails (run with their profile); `live-*` fixtures fake a running
        // kernel, which a configuration fix does not change
        let failing: Vec<_> = fx
            .iter()
            .filter(|f| {
                !f.name.starts_with("live-")
                    && f.expect.get(&c.id) == Some(&jikimi::findings::Status::Fail)
            })
            .collect();
        assert!(
            !failing.is_empty(),
            "{}: has a fix but no fixture host where it fails",
            c.id
        );
        let mut passed = false;
        for f in failing {
            let src = made
                .entry(f.name.clone())
                .or_insert_with(|| f.materialise(&pristine).unwrap())
                .clone();
            let root = e.work.join(format!("case-{}", c.id));
            copy(&src, &root);
            let before = tree_state(&root);
            let profile = f.profile.unwrap_or_default().as_str();
            let r = jikimi(&fix_args(
                &e,
                root.to_str().unwrap(),
                &[
                    "--only",
                    &c.id,
                    "--yes",
                    "--no-extra-checks",
                    "--profile",
                    profile,
                ],
            ));
            if r.code != 0 {
                // not fixable here (a refusal, a PAM module missing from the stack...): the
                // run says why and leaves the tree exactly as it was
                assert_eq!(
                    r.code, 2,
                    "{} on {}:\n{}\n{}",
                    c.id, f.name, r.stdout, r.stderr
                );
                assert!(
                    r.stdout.contains("REFUSED")
                        || r.stdout.contains("not fixed:")
                        || r.stdout.contains("no file would change"),
                    "{} on {}: {}",
                    c.id,
                    f.name,
                    r.stdout
                );
                assert_eq!(
                    tree_state(&root),
                    before,
                    "{} on {}: a run that fixed nothing changed the tree",
                    c.id,
                    f.name
                );
                std::fs::remove_dir_all(&root).unwrap();
                continue;
            }
            let st = statuses(
                &e,
                root.to_str().unwrap(),
                &["--only", &c.id, "--no-extra-checks", "--profile", profile],
            );
            assert_eq!(st[&c.id], "PASS", "{} on {} after its fix", c.id, f.name);
            let id = run_id(&r.stdout);
            let u = jikimi(&fix_args(&e, root.to_str().unwrap(), &["--undo", &id]));
            assert_eq!(u.code, 0, "{}: undo: {}", c.id, u.stderr);
            assert_eq!(
                tree_state(&root),
                before,
                "{}: --undo did not restore the tree",
                c.id
            );
            std::fs::remove_dir_all(&root).unwrap();
            passed = true;
            break;
        }
        assert!(
            passed,
            "{}: its fix made it pass on none of its failing fixtures",
            c.id
        );
        tried += 1;
    }
    assert!(tried >= 100, "only {tried} fixes exercised");
}

#[test]
fn dry_run_changes_nothing_and_shows_the_diff() {
    let e = env();
    let fx = fixtures::load_all(&hosts_dir()).unwrap();
    let f = fx.iter().find(|f| f.name == "debian-weak").unwrap();
    let root = f.materialise(&e.work).unwrap();
    let before = tree_state(&root);
    let r = jikimi(&fix_args(
        &e,
        root.to_str().unwrap(),
        &["--dry-run", "--no-extra-checks"],
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("+++ b/etc/login.defs"), "{}", r.stdout);
    assert!(
        r.stdout.contains("chmod /etc/shadow: 0644 -> 0640"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("dry run: nothing was changed"));
    assert_eq!(tree_state(&root), before);
    assert!(!e.state.join("fixes").exists(), "a dry run wrote a journal");
    // without --yes and without a terminal nothing is applied either
    let r = jikimi(&fix_args(
        &e,
        root.to_str().unwrap(),
        &["--no-extra-checks"],
    ));
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(tree_state(&root), before);
}

/// A throwaway host key and `/run/sshd`, as `sshd -t` needs them.
fn sshd_t(etc_ssh: &Path, key_dir: &Path) -> (bool, String) {
    let key = key_dir.join("hostkey");
    if !key.exists() {
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    std::fs::create_dir_all("/run/sshd").unwrap();
    // the host's own sshd, reading the fixed tree's /etc/ssh through a bind mount in a
    // private mount namespace (Include paths are absolute): the host is not touched
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind '{}' /etc/ssh && /usr/sbin/sshd -t -h '{}'",
            etc_ssh.display(),
            key.display()
        ))
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn one_run_on_the_weakest_host_fixes_most_and_sshd_accepts_it() {
    let e = env();
    let fx = fixtures::load_all(&hosts_dir()).unwrap();
    let f = fx.iter().find(|f| f.name == "debian-weak").unwrap();
    let root = f.materialise(&e.work).unwrap();
    let r0 = root.to_str().unwrap();
    let before = tree_state(&root);
    let was = statuses(&e, r0, &["--no-extra-checks"]);
    let r = jikimi(&fix_args(&e, r0, &["--yes", "--no-extra-checks"]));
    let targets: usize = r
        .stdout
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let id = run_id(&r.stdout);
    let now = statuses(&e, r0, &["--no-extra-checks"]);
    let fixed = now
        .iter()
        .filter(|(k, v)| *v == "PASS" && was[*k] == "FAIL")
        .count();
    assert!(
        fixed * 100 >= targets * 60,
        "{fixed} of {targets} failing checks with a fix now pass"
    );
    for (k, v) in &was {
        // nothing lost a PASS, nothing became an ERROR (a check that now applies may FAIL)
        let now = &now[k];
        assert!(
            !(v == "PASS" && now != "PASS" || now == "ERROR" && v != "ERROR"),
            "{k} got worse: {v} -> {now}"
        );
    }
    let (ok, err) = sshd_t(&root.join("etc/ssh"), &e.work);
    assert!(ok, "sshd -t rejects the fixed configuration: {err}");
    let u = jikimi(&fix_args(&e, r0, &["--undo", &id]));
    assert_eq!(u.code, 0, "{}", u.stderr);
    assert_eq!(tree_state(&root), before);
    let l = jikimi(&fix_args(&e, r0, &["--list"]));
    assert!(
        l.stdout.contains(&id) && l.stdout.contains("undone"),
        "{}",
        l.stdout
    );
}

#[test]
fn sudoers_fixes_pass_visudo() {
    let e = env();
    let fx = fixtures::load_all(&hosts_dir()).unwrap();
    let f = fx.iter().find(|f| f.name == "sudo-bad").unwrap();
    let root = f.materialise(&e.work).unwrap();
    let r = jikimi(&fix_args(
        &e,
        root.to_str().unwrap(),
        &[
            "--yes",
            "--no-extra-checks",
            "--only",
            "SUDO-003,SUDO-004,SUDO-005,SUDO-006,SUDO-008",
        ],
    ));
    assert!(
        r.stdout.contains("applied run"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind '{0}/etc/sudoers' /etc/sudoers && mount --bind '{0}/etc/sudoers.d' /etc/sudoers.d && /usr/sbin/visudo -c",
            root.display()
        ))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "visudo -c: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A tiny host: root only, or root plus an administrator `ops`.
fn tiny_host(dir: &Path, admin: bool, keys: bool) -> PathBuf {
    let r = dir.join(format!("tiny-{admin}-{keys}"));
    let w = |rel: &str, s: &str| super::write(&r, rel, s.as_bytes());
    let mut passwd = "root:x:0:0:root:/root:/bin/bash\n".to_string();
    let mut shadow = "root:$6$salt$hash:19000:0:99999:7:::\n".to_string();
    let mut group = "root:x:0:\nsudo:x:27:\n".to_string();
    if admin {
        passwd.push_str("ops:x:1000:1000::/home/ops:/bin/bash\n");
        shadow.push_str("ops:$6$salt$hash2:19000:0:99999:7:::\n");
        group = "root:x:0:\nsudo:x:27:ops\nops:x:1000:\n".into();
        std::fs::create_dir_all(r.join("home/ops")).unwrap();
    }
    if keys {
        w("/root/.ssh/authorized_keys", "ssh-ed25519 AAAA test\n");
    }
    w("/etc/passwd", &passwd);
    w("/etc/shadow", &shadow);
    w("/etc/group", &group);
    w(
        "/etc/ssh/sshd_config",
        "PermitRootLogin yes\nPasswordAuthentication yes\n",
    );
    w("/etc/os-release", "ID=debian\nVERSION_ID=12\n");
    r
}

fn custom(checks: &str) -> tempfile::TempDir {
    catalog(checks)
}

const GUARD_CHECKS: &str = r#"
[[check]]
id = "T-ROOT"
title = "no root login"
severity = "high"
description = "d"
remediation = "r"
fix = { action = "sshd", keyword = "PermitRootLogin", value = "no" }
expect = { probe = "sshd", keyword = "PermitRootLogin", op = "eq", value = "no" }

[[check]]
id = "T-PASS"
title = "no password auth"
severity = "high"
description = "d"
remediation = "r"
fix = { action = "sshd", keyword = "PasswordAuthentication", value = "no" }
expect = { probe = "sshd", keyword = "PasswordAuthentication", op = "eq", value = "no" }

[[check]]
id = "T-LOCK"
title = "ops has no password"
severity = "low"
description = "d"
remediation = "r"
fix = { action = "accounts", op = "lock", select = "users", users = ["ops"] }
expect = { probe = "lines", path = "/etc/shadow", pattern = "^ops:\\$", expect = "absent" }
"#;

#[test]
fn lock_out_guards_refuse_and_allow() {
    let e = env();
    let cat = custom(GUARD_CHECKS);
    let cat_arg = cat.path().display().to_string();
    let fix_only = |r: &std::path::Path, only: &str| {
        jikimi(&fix_args(
            &e,
            r.to_str().unwrap(),
            &[
                "--yes",
                "--catalog",
                &cat_arg,
                "--no-extra-checks",
                "--only",
                only,
            ],
        ))
    };
    // root only, no keys: every one of the three would lock people out
    let r = tiny_host(&e.work, false, false);
    let before = tree_state(&r);
    let o = fix_only(&r, "T-ROOT,T-PASS");
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.stdout.contains("T-ROOT") && o.stdout.contains("PermitRootLogin no would lock out"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("PasswordAuthentication no would lock out"),
        "{}",
        o.stdout
    );
    assert_eq!(tree_state(&r), before);
    // an administrator who can log in, and root's authorized_keys: both apply
    let r = tiny_host(&e.work, true, true);
    let o = fix_only(&r, "T-ROOT,T-PASS");
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let cfg = std::fs::read_to_string(r.join("etc/ssh/sshd_config")).unwrap();
    assert!(
        cfg.starts_with("PasswordAuthentication no\nPermitRootLogin no\n")
            || cfg.starts_with("PermitRootLogin no\nPasswordAuthentication no\n"),
        "{cfg}"
    );
    // locking the only administrator is refused
    let o = fix_only(&r, "T-LOCK");
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.stdout
            .contains("locking ops would leave no administrator"),
        "{}",
        o.stdout
    );
}

#[test]
fn an_invalid_result_or_a_regression_rolls_the_run_back() {
    let e = env();
    let r = tiny_host(&e.work, true, true);
    let r0 = r.to_str().unwrap();
    let before = tree_state(&r);
    // the fix writes a value sshd rejects: validation fails, nothing stays
    let bad = custom(
        r#"
[[check]]
id = "T-BAD"
title = "t"
severity = "high"
description = "d"
remediation = "r"
fix = { action = "sshd", keyword = "PermitRootLogin", value = "maybe" }
expect = { probe = "sshd", keyword = "PermitRootLogin", op = "eq", value = "no" }
"#,
    );
    let o = jikimi(&fix_args(
        &e,
        r0,
        &[
            "--yes",
            "--catalog",
            bad.path().to_str().unwrap(),
            "--no-extra-checks",
        ],
    ));
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.stdout
            .contains("ROLLED BACK: sshd configuration no longer loads"),
        "{}",
        o.stdout
    );
    assert_eq!(tree_state(&r), before);
    // the fix makes another check worse: rolled back
    let worse = custom(
        r#"
[[check]]
id = "T-MODE"
title = "t"
severity = "high"
description = "d"
remediation = "r"
fix = { action = "file", path = "/etc/passwd", owner = "65534", mode_max = "0600" }
expect = { probe = "file", path = "/etc/passwd", mode_max = "0600" }

[[check]]
id = "T-OWNER"
title = "t"
severity = "high"
description = "d"
remediation = "r"
expect = { probe = "file", path = "/etc/passwd", owner = "root" }
"#,
    );
    let o = jikimi(&fix_args(
        &e,
        r0,
        &[
            "--yes",
            "--catalog",
            worse.path().to_str().unwrap(),
            "--no-extra-checks",
        ],
    ));
    assert_eq!(o.code, 2, "{}", o.stdout);
    assert!(
        o.stdout.contains("checks got worse: T-OWNER PASS -> FAIL")
            || o.stdout.contains("T-OWNER Pass -> Fail"),
        "{}",
        o.stdout
    );
    assert_eq!(tree_state(&r), before);
}
