//! Scan history and `jikimi report`: history made by real scans of a fixture root, then the
//! report's Markdown and JSON content.

use super::{bin, catalog, run, write};
use serde_json::Value;
use std::path::Path;

fn checks() -> String {
    let c = |id: &str, sev: &str, refs: &str, expect: &str| {
        format!(
            "[[check]]\nid = \"{id}\"\ntitle = \"title {id}\"\nseverity = \"{sev}\"\ndescription = \"d\"\n\
             remediation = \"fix {id}\"\nreferences = {refs}\nexpect = {expect}\n\n"
        )
    };
    [
        c(
            "FIX-1",
            "high",
            "{ kisa = [\"U-22\"], cis = { rhel9 = \"2.2.1\" } }",
            "{ probe = \"file\", path = \"/etc/fix1\", exists = false }",
        ),
        c(
            "NEW-1",
            "critical",
            "{ kisa = [\"U-07\"] }",
            "{ probe = \"file\", path = \"/etc/new1\", exists = false }",
        ),
        c(
            "OLD-1",
            "medium",
            "{}",
            "{ probe = \"file\", path = \"/etc/old1\", exists = false }",
        ),
        c(
            "ERR-1",
            "low",
            "{}",
            "{ probe = \"lines\", path = \"/etc/bin\", pattern = \"x\", expect = \"present\" }",
        ),
        c(
            "OK-1",
            "low",
            "{}",
            "{ probe = \"file\", path = \"/etc/ok\" }",
        ),
    ]
    .concat()
}

fn scan(root: &Path, cat: &Path, state: &Path) -> super::Run {
    run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--format",
        "json",
        "--output",
        "/dev/null",
        "--root",
        root.to_str().unwrap(),
        "--catalog",
        cat.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ])
}

fn report(state: &Path, format: &str) -> super::Run {
    run(&[
        "report",
        "--state-dir",
        state.to_str().unwrap(),
        "--format",
        format,
    ])
}

#[test]
fn report_from_the_history_of_real_scans() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let state = t.path().join("state");
    for f in ["/etc/fix1", "/etc/old1", "/etc/ok"] {
        write(&root, f, b"");
    }
    write(&root, "/etc/bin", b"a\0b\n");
    let cat = catalog(&checks());
    // no history yet: a clear error
    let r = report(&state, "md");
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no scan history"), "{}", r.stderr);
    for _ in 0..2 {
        assert_eq!(scan(&root, cat.path(), &state).code, 2);
    }
    std::fs::remove_file(root.join("etc/fix1")).unwrap();
    write(&root, "/etc/new1", b"");
    let r = scan(&root, cat.path(), &state);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);

    let r = report(&state, "json");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d: Value = serde_json::from_str(&r.stdout).unwrap();
    let ids = |k: &str| -> Vec<String> {
        d[k].as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids("newly_failed"), ["NEW-1"]);
    assert_eq!(ids("fixed"), ["FIX-1"]);
    assert_eq!(ids("still_failing"), ["OLD-1"]);
    assert_eq!(ids("errors"), ["ERR-1"]);
    assert_eq!(d["scans"], 3);
    assert_eq!(d["host"]["live"], false);
    assert_eq!(d["newly_failed"][0]["severity"], "critical");
    assert_eq!(d["newly_failed"][0]["previous"], "PASS");
    assert_eq!(d["newly_failed"][0]["remediation"], "fix NEW-1");
    assert_eq!(
        d["fixed"][0]["references"],
        serde_json::json!(["KISA U-22", "CIS rhel9 2.2.1"])
    );
    assert!(
        d["errors"][0]["reason"].as_str().unwrap().contains("NUL"),
        "{}",
        d["errors"][0]
    );
    assert_eq!(d["summary"]["failed"], 2);
    let trend: Vec<f64> = d["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["score"].as_f64().unwrap())
        .collect();
    assert_eq!(trend.len(), 3);
    assert!(
        trend[2] < trend[0],
        "a critical failure lowers the score: {trend:?}"
    );

    let md = report(&state, "md").stdout;
    for want in [
        "## Newly failed (1)",
        "### critical (1)\n\n- **NEW-1** title NEW-1 — KISA U-07\n",
        "  - Evidence: `regular file exists (/etc/new1)`",
        "  - Remediation: `fix NEW-1`",
        "## Fixed (1)",
        "- **FIX-1** title FIX-1 — KISA U-22, CIS rhel9 2.2.1",
        "## Still failing (1)",
        "### medium (1)\n\n- **OLD-1** title OLD-1\n",
        "## Errors (1)",
        "## Score trend",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    // an older period leaves nothing: a clear error, not an empty report
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = run(&[
        "report",
        "--state-dir",
        state.to_str().unwrap(),
        "--since",
        "1s",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("no scan in the last 1s"), "{}", r.stderr);
    let r = run(&[
        "report",
        "--state-dir",
        state.to_str().unwrap(),
        "--since",
        "yesterday",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("invalid period"), "{}", r.stderr);
    // --output writes the HTML atomically
    let out = t.path().join("r.html");
    let r = run(&[
        "report",
        "--state-dir",
        state.to_str().unwrap(),
        "--format",
        "html",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("NEW-1") && !html.contains("<script")
    );
}

#[test]
fn history_is_bounded_and_never_fails_the_scan() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    write(&root, "/etc/ok", b"");
    let cat = catalog(&checks());
    let cfg = t.path().join("j.toml");
    std::fs::write(&cfg, "[history]\nmax_records = 2\n").unwrap();
    let state = t.path().join("state");
    for _ in 0..4 {
        let r = bin()
            .args([
                "check",
                "--once",
                "--no-extra-checks",
                "--format",
                "json",
                "-o",
                "/dev/null",
            ])
            .args([
                "--config",
                cfg.to_str().unwrap(),
                "--catalog",
                cat.path().to_str().unwrap(),
            ])
            .args([
                "--root",
                root.to_str().unwrap(),
                "--state-dir",
                state.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(r.status.code(), Some(2));
    }
    let n = std::fs::read_dir(state.join("history"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".json")
        })
        .count();
    assert_eq!(n, 2);
    // an unusable state directory: a warning, the scan's own exit code
    let blocker = t.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let r = scan(&root, cat.path(), &blocker.join("state"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("warning: scan history not written"),
        "{}",
        r.stderr
    );
    // an image scan without an explicit state directory records nothing (and warns about nothing)
    let r = run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--format",
        "json",
        "-o",
        "/dev/null",
        "--root",
        root.to_str().unwrap(),
        "--catalog",
        cat.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}
