//! `--lang ko` and the KISA form end to end: real scans of a fixture host (tests/hosts) with
//! an empty configuration and a private state directory, then the table, the KISA form of
//! the scan and of the history, and the `[report] lang` validation.

use super::run;
use std::path::{Path, PathBuf};

fn host_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hosts/debian-weak/root")
}

fn check(state: &Path, config: &Path, extra: &[&str]) -> super::Run {
    let root = host_root();
    let mut args = vec![
        "check",
        "--once",
        "--no-extra-checks",
        "--no-walks",
        "--root",
        root.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("jikimi.toml");
    std::fs::write(&cfg, "").unwrap();
    (t, cfg)
}

fn hangul(s: &str) -> usize {
    s.chars()
        .filter(|c| ('\u{ac00}'..='\u{d7a3}').contains(c))
        .count()
}

#[test]
fn korean_table_on_a_fixture_host() {
    let (t, cfg) = setup();
    let ko = check(
        &t.path().join("state"),
        &cfg,
        &["--lang", "ko", "--color", "never"],
    );
    assert_eq!(ko.code, 2, "{}", ko.stderr);
    assert!(ko.stdout.contains("취약"), "{}", ko.stdout);
    assert!(ko.stdout.contains("양호"), "{}", ko.stdout);
    assert!(ko.stdout.contains("점수: "), "{}", ko.stdout);
    assert!(!ko.stdout.contains(" passed, "), "{}", ko.stdout);
    // check titles come from title_ko
    let ssh = ko
        .stdout
        .lines()
        .find(|l| l.contains("SSH-0"))
        .expect("an sshd line");
    assert!(hangul(ssh) > 0, "{ssh}");
    let en = check(&t.path().join("state2"), &cfg, &["--color", "never"]);
    assert_eq!(en.code, 2);
    assert!(en.stdout.contains(" passed, "), "{}", en.stdout);
    // JSON keys and status codes stay English in Korean
    let js = check(
        &t.path().join("state3"),
        &cfg,
        &["--lang", "ko", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&js.stdout).unwrap();
    let st = v["results"][0]["status"].as_str().unwrap();
    assert!(
        ["PASS", "FAIL", "NOT_APPLICABLE", "ERROR", "WAIVED"].contains(&st),
        "{st}"
    );
}

fn without_time(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("점검 일시"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kisa_form_of_a_scan_and_of_the_history() {
    let (t, cfg) = setup();
    let state = t.path().join("state");
    let md = check(&state, &cfg, &["--format", "kisa"]);
    assert_eq!(md.code, 2, "{}", md.stderr);
    let rows: Vec<&str> = md
        .stdout
        .lines()
        .filter(|l| l.starts_with("| U-"))
        .collect();
    assert_eq!(rows.len(), 72, "{}", md.stdout);
    for (i, r) in rows.iter().enumerate() {
        assert!(r.starts_with(&format!("| U-{:02} |", i + 1)), "{r}");
        assert!(
            ["양호", "취약", "N/A", "오류", "수동 점검", "미점검"]
                .iter()
                .any(|v| r.contains(&format!("**{v}**"))),
            "{r}"
        );
    }
    // debian-weak permits root login over ssh: U-01 is 취약 with SSH checks behind it
    assert!(
        rows[0].contains("**취약**") && rows[0].contains("SSH-"),
        "{}",
        rows[0]
    );
    // U-42 (patch policy) and U-43 (log review) are processes
    assert!(rows[41].contains("**수동 점검**"), "{}", rows[41]);
    assert!(rows[42].contains("**수동 점검**"), "{}", rows[42]);
    let md26 = check(
        &t.path().join("s2"),
        &cfg,
        &["--format", "kisa", "--kisa-edition", "2026"],
    );
    assert_eq!(
        md26.stdout
            .lines()
            .filter(|l| l.starts_with("| U-"))
            .count(),
        67
    );
    assert!(md26.stdout.contains("2026년판"));
    let html = check(&t.path().join("s3"), &cfg, &["--format", "kisa-html"]);
    assert!(html.stdout.starts_with("<!DOCTYPE html>"));
    assert!(html.stdout.contains("<html lang=\"ko\">"));
    assert_eq!(html.stdout.matches("<tr><td").count(), 72);
    // the same scan gives the same form (apart from the scan time)
    let again = check(&t.path().join("s4"), &cfg, &["--format", "kisa"]);
    assert_eq!(without_time(&md.stdout), without_time(&again.stdout));

    // from the history: byte-stable for the same records
    let rep = |f: &str| {
        run(&[
            "report",
            "--state-dir",
            state.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--format",
            f,
        ])
    };
    let h1 = rep("kisa");
    assert_eq!(h1.code, 0, "{}", h1.stderr);
    assert_eq!(
        h1.stdout.lines().filter(|l| l.starts_with("| U-")).count(),
        72
    );
    assert_eq!(h1.stdout, rep("kisa").stdout);
    assert!(h1.stdout.lines().next().unwrap().contains("KISA"));
    let hh = rep("kisa-html");
    assert_eq!(hh.stdout, rep("kisa-html").stdout);
    // the per-host report in Korean
    let ko = run(&[
        "report",
        "--state-dir",
        state.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--lang",
        "ko",
    ]);
    assert!(ko.stdout.starts_with("# Jikimi 보고서: "), "{}", ko.stdout);
    assert!(ko.stdout.contains("## 계속 취약"), "{}", ko.stdout);
    assert!(ko.stdout.contains("조치 방법: "), "{}", ko.stdout);
}

#[test]
fn unknown_language_is_a_config_error_with_its_line() {
    let t = tempfile::tempdir().unwrap();
    let cfg = t.path().join("jikimi.toml");
    std::fs::write(
        &cfg,
        "[agent]\nprofile = \"kisa\"\n\n[report]\nlang = \"jp\"\n",
    )
    .unwrap();
    let r = check(&t.path().join("state"), &cfg, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&format!("{}:5:", cfg.display())),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("expected en or ko"), "{}", r.stderr);
    let bad = run(&["report", "--lang", "jp"]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("expected en or ko"), "{}", bad.stderr);
}
