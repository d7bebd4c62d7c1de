//! Asset classification end to end: every fixture host under `tests/assets/hosts/` (a faked
//! /proc with processes and listening sockets, a dpkg database, files) classifies exactly as
//! its `expect.toml` says, the "why" names each rule's file:line, secrets on command lines
//! never reach the output, and broken user rules fail with file:line.

use super::{run, write};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[allow(dead_code, reason = "documentation of the fixture")]
    description: String,
    rules: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

fn hosts() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/assets/hosts");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expect.toml").is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn fixture_hosts_classify_as_expected() {
    let cfg = tempfile::tempdir().unwrap();
    let empty = write(cfg.path(), "jikimi.toml", b"");
    let hosts = hosts();
    assert!(hosts.len() >= 4, "web, WAS, DB and none at least");
    for h in hosts {
        let name = h.file_name().unwrap().to_string_lossy().to_string();
        let exp: Expect =
            toml::from_str(&std::fs::read_to_string(h.join("expect.toml")).unwrap()).unwrap();
        let root = h.join("root");
        let args = |json: bool| {
            let mut a = vec![
                "classify".to_string(),
                "--root".into(),
                root.display().to_string(),
                "--config".into(),
                empty.display().to_string(),
            ];
            if json {
                a.push("--json".into());
            }
            a
        };
        let j = run(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(j.code, 0, "{name}: {}", j.stderr);
        let doc: Value = serde_json::from_str(&j.stdout).unwrap();
        let tags: BTreeMap<String, String> = serde_json::from_value(doc["tags"].clone()).unwrap();
        assert_eq!(tags, exp.tags, "{name}: tags");
        let rules: BTreeSet<&str> = doc["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["rule"].as_str().unwrap())
            .collect();
        let want: BTreeSet<&str> = exp.rules.iter().map(String::as_str).collect();
        assert_eq!(rules, want, "{name}: rules");
        for m in doc["matches"].as_array().unwrap() {
            let origin = m["origin"].as_str().unwrap();
            assert!(
                origin.starts_with("checks/classify/") && origin.contains(".toml:"),
                "{name}: origin {origin}"
            );
            assert!(!m["evidence"].as_array().unwrap().is_empty(), "{name}");
        }
        let t = run(&args(false).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(t.code, 0, "{name}: {}", t.stderr);
        for s in &exp.absent {
            assert!(
                !j.stdout.contains(s) && !t.stdout.contains(s),
                "{name}: {s} leaked"
            );
        }
        if exp.tags.is_empty() {
            assert!(
                t.stdout.starts_with("no asset tags"),
                "{name}: {}",
                t.stdout
            );
        } else {
            assert!(t.stdout.contains("why:"), "{name}: {}", t.stdout);
        }
    }
}

#[test]
fn user_rules_and_configured_tags() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("classify.d");
    let cfg = write(
        d.path(),
        "jikimi.toml",
        format!(
            "[asset]\nenv = \"PROD\"\nowner = \"DevOps\"\npersonal_data = true\nrules_dir = \"{}\"\ntags = {{ Service = \"lms\" }}\n",
            rules.display()
        )
        .as_bytes(),
    );
    write(
        &rules,
        "storage.toml",
        b"[[rule]]\nid = \"course-material\"\ntags = { AssetType = \"Storage\" }\nwhen = [ { path = [\"/srv/courses\"] } ]\n",
    );
    let root = d.path().join("root");
    write(&root, "srv/courses/intro.pdf", b"%PDF");
    let r = run(&[
        "classify",
        "--json",
        "--root",
        root.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["tags"]["AssetType"], "Storage");
    assert_eq!(doc["tags"]["Env"], "PROD");
    assert_eq!(doc["tags"]["Owner"], "DevOps");
    assert_eq!(doc["tags"]["PersonalData"], "Y");
    assert_eq!(doc["tags"]["Service"], "lms");
    assert!(doc["matches"][0]["origin"]
        .as_str()
        .unwrap()
        .ends_with("storage.toml:1"));
    // an unknown field is an error naming file:line, and so is a bad regex
    write(
        &rules,
        "zz-bad.toml",
        b"\n[[rule]]\nid = \"x\"\ntags = { AssetType = \"DB\" }\nwhen = [ { proces = [\"x\"] } ]\n",
    );
    let r = run(&["classify", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("zz-bad.toml:5:") && r.stderr.contains("unknown field `proces`"),
        "{}",
        r.stderr
    );
    // the check run refuses the same rules rather than silently dropping them
    let cat = super::catalog(&super::check(
        "T-001",
        "{ probe = \"file\", path = \"/srv\", exists = true }",
    ));
    let r = run(&[
        "check",
        "--once",
        "--no-extra-checks",
        "--catalog",
        cat.path().to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    std::fs::remove_file(rules.join("zz-bad.toml")).unwrap();
    // the JSON report carries the classification
    let (code, doc) = super::scan_json(&root, cat.path(), &["--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(doc["asset"]["tags"]["AssetType"], "Storage");
}
