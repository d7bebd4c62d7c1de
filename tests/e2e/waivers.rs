//! Waivers end to end: a fixture root whose checks fail, a configuration and a waivers
//! directory that waive some of them (valid, expiring, expired, for another host), then the
//! table, JSON, exit code, score, `waivers list` and the configuration errors.

use super::{catalog, run, write};
use serde_json::Value;

/// Five checks that fail on the fixture root (their file exists), one that passes.
fn checks() -> String {
    let c = |id: &str, sev: &str, path: &str| {
        format!(
            "[[check]]\nid = \"{id}\"\ntitle = \"title {id}\"\nseverity = \"{sev}\"\ndescription = \"d\"\n\
             remediation = \"fix {id}\"\nexpect = {{ probe = \"file\", path = \"{path}\", exists = false }}\n\n"
        )
    };
    [
        c("W-1", "high", "/etc/w1"),
        c("W-2", "critical", "/etc/w2"),
        c("W-3", "medium", "/etc/w3"),
        c("W-4", "high", "/etc/w4"),
        c("W-5", "low", "/etc/w5"),
        c("OK-1", "high", "/etc/absent"),
    ]
    .concat()
}

fn root() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for f in ["/etc/w1", "/etc/w2", "/etc/w3", "/etc/w4", "/etc/w5"] {
        write(t.path(), f, b"x\n");
    }
    write(t.path(), "/etc/hostname", b"bastion-1\n");
    t
}

/// A day relative to today (UTC), `YYYY-MM-DD`.
fn day(offset: i64) -> String {
    jikimi::time::date(jikimi::time::unix_day(std::time::SystemTime::now()) + offset)
}

fn waiver(check: &str, extra: &str, expires: &str) -> String {
    format!(
        "[[waiver]]\ncheck = \"{check}\"\n{extra}reason = \"reason {check}\"\napproved_by = \"kim@example.com\"\nexpires = \"{expires}\"\n\n"
    )
}

struct Setup {
    root: tempfile::TempDir,
    cat: tempfile::TempDir,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(config_waivers: &str) -> Setup {
        let s = Setup {
            root: root(),
            cat: catalog(&checks()),
            dir: tempfile::tempdir().unwrap(),
        };
        let wd = s.dir.path().join("waivers.d");
        std::fs::create_dir_all(&wd).unwrap();
        std::fs::write(
            s.dir.path().join("jikimi.toml"),
            format!(
                "[agent]\nwaivers_dir = \"{}\"\n\n{config_waivers}",
                wd.display()
            ),
        )
        .unwrap();
        s
    }

    fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    fn check(&self, format: &str) -> super::Run {
        let state = self.path("state");
        let cfg = self.path("jikimi.toml");
        run(&[
            "check",
            "--once",
            "--no-extra-checks",
            "--format",
            format,
            "--color",
            "never",
            "--root",
            self.root.path().to_str().unwrap(),
            "--catalog",
            self.cat.path().to_str().unwrap(),
            "--config",
            &cfg,
            "--state-dir",
            &state,
        ])
    }

    fn list(&self, extra: &[&str]) -> super::Run {
        let cfg = self.path("jikimi.toml");
        let mut args = vec![
            "waivers",
            "list",
            "--no-extra-checks",
            "--catalog",
            self.cat.path().to_str().unwrap(),
            "--config",
            &cfg,
        ];
        args.extend_from_slice(extra);
        run(&args)
    }
}

fn result<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id}"))
}

#[test]
fn waived_expiring_expired_and_unmatched_in_json_table_and_exit_code() {
    let s = Setup::new(
        &[
            waiver("W-1", "hosts = [\"bastion-*\"]\n", &day(200)),
            waiver("W-2", "", &day(5)),
            waiver("W-3", "", &day(-3)),
            waiver("W-4", "hosts = [\"web-*\"]\n", &day(200)),
            waiver("OK-1", "", &day(200)),
        ]
        .concat(),
    );
    // W-5's waiver comes from the waivers directory
    std::fs::write(
        s.dir.path().join("waivers.d/legacy.toml"),
        waiver("W-5", "", &day(30)),
    )
    .unwrap();
    let r = s.check("json");
    assert_eq!(
        r.code, 2,
        "W-3 (expired) and W-4 (other host) still fail: {}",
        r.stderr
    );
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let st = |id: &str| result(&doc, id)["status"].as_str().unwrap().to_string();
    assert_eq!(
        ["W-1", "W-2", "W-3", "W-4", "W-5", "OK-1"].map(st),
        ["WAIVED", "WAIVED", "FAIL", "FAIL", "WAIVED", "PASS"]
    );
    let w1 = &result(&doc, "W-1")["waiver"];
    assert_eq!(w1["reason"], "reason W-1");
    assert_eq!(w1["approved_by"], "kim@example.com");
    assert_eq!(w1["expires"], day(200));
    assert_eq!(w1["expiring"], false);
    assert!(
        w1["origin"].as_str().unwrap().ends_with("jikimi.toml:4"),
        "{w1}"
    );
    let w2 = &result(&doc, "W-2")["waiver"];
    assert_eq!(
        (w2["expiring"].as_bool(), w2["days_left"].as_i64()),
        (Some(true), Some(5))
    );
    let w3 = &result(&doc, "W-3")["waiver"];
    assert_eq!(w3["expired"], true);
    assert!(result(&doc, "W-4").get("waiver").is_none(), "not this host");
    assert!(
        result(&doc, "OK-1").get("waiver").is_none(),
        "a PASS is never waived"
    );
    assert!(result(&doc, "W-5")["waiver"]["origin"]
        .as_str()
        .unwrap()
        .ends_with("legacy.toml:1"));
    let sum = &doc["summary"];
    assert_eq!(sum["failed"], 2);
    assert_eq!(sum["waived"], 3);
    assert_eq!(sum["waivers_expiring"], 1);
    assert_eq!(sum["waivers_expired"], 1);
    // score: passed OK-1 (high 6) over OK-1 + W-3 (medium 3) + W-4 (high 6); waived out
    assert_eq!(sum["score"], 40.0);

    let t = s.check("table");
    assert_eq!(t.code, 2);
    let line = |id: &str| {
        let i = t
            .stdout
            .lines()
            .position(|l| l.contains(&format!(" {id} ")))
            .unwrap();
        format!(
            "{}\n{}",
            t.stdout.lines().nth(i).unwrap(),
            t.stdout.lines().nth(i + 1).unwrap()
        )
    };
    assert!(line("W-1").starts_with("WAIVED"), "{}", t.stdout);
    assert!(
        line("W-1").contains(&format!(
            "waived until {} by kim@example.com: reason W-1",
            day(200)
        )),
        "{}",
        line("W-1")
    );
    assert!(
        line("W-2").contains("(expiring in 5 day(s))"),
        "{}",
        line("W-2")
    );
    assert!(line("W-3").starts_with("FAIL"));
    assert!(
        line("W-3").contains(&format!("waiver expired on {}", day(-3))),
        "{}",
        line("W-3")
    );
    assert!(t.stdout.contains("3 waived"), "{}", t.stdout);
}

#[test]
fn only_valid_waivers_give_exit_0_and_full_score() {
    let s = Setup::new(
        &["W-1", "W-2", "W-3", "W-4", "W-5"]
            .map(|c| waiver(c, "", &day(100)))
            .concat(),
    );
    let r = s.check("json");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["summary"]["score"], 100.0);
    assert_eq!(doc["summary"]["failed"], 0);
    assert_eq!(doc["summary"]["waived"], 5);
}

#[test]
fn bad_waivers_are_configuration_errors_with_file_and_line_all_at_once() {
    let s = Setup::new(
        &[
            waiver("NOPE-9", "", &day(10)),
            "[[waiver]]\ncheck = \"W-1\"\nreason = \"r\"\nexpires = \"2027-01-01\"\n\n".to_string(),
            waiver("W-2", "", &day(400)),
            waiver("W-3", "", "someday"),
        ]
        .concat(),
    );
    let r = s.check("table");
    assert_eq!(r.code, 1, "{}", r.stdout);
    let cfg = s.path("jikimi.toml");
    for want in [
        format!("{cfg}:4: unknown check id `NOPE-9`"),
        format!("{cfg}:10: missing required field `approved_by`"),
        format!("{cfg}:15: `expires` = {} is 400 days ahead", day(400)),
        format!("{cfg}:21: `expires` = \"someday\": not a date"),
    ] {
        assert!(r.stderr.contains(&want), "want {want}\n{}", r.stderr);
    }
    assert!(r.stdout.is_empty());
    // `config validate` says the same (against the embedded catalog: NOPE-9 and W-* unknown)
    let v = run(&["config", "validate", "--config", &cfg]);
    assert_eq!(v.code, 1);
    assert!(
        v.stderr
            .contains(&format!("{cfg}:4: unknown check id `NOPE-9`")),
        "{}",
        v.stderr
    );
    // a broken file in the waivers directory too
    let s = Setup::new("");
    let f = s.dir.path().join("waivers.d/x.toml");
    std::fs::write(&f, "[[waiver]]\ncheck = \"W-1\"\nowner = \"me\"\n").unwrap();
    let r = s.list(&[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains(&format!("{}:1: unknown field `owner`", f.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn tag_selectors_match_the_asset_classification() {
    let w = waiver("W-1", "tags = { AssetType = \"Bastion\" }\n", &day(90));
    // no such tag on this host: W-1 fails
    let s = Setup::new(&w);
    let doc: Value = serde_json::from_str(&s.check("json").stdout).unwrap();
    assert_eq!(result(&doc, "W-1")["status"], "FAIL");
    // the configuration classifies the host as a bastion ([asset] tags)
    let s = Setup::new("");
    let cfg = s.dir.path().join("jikimi.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!("[asset]\ntags = {{ AssetType = \"Bastion\" }}\n\n{text}{w}"),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(&s.check("json").stdout).unwrap();
    assert_eq!(doc["asset"]["tags"]["AssetType"], "Bastion");
    assert_eq!(result(&doc, "W-1")["status"], "WAIVED");
}

#[test]
fn config_validate_accepts_waivers_of_catalog_checks() {
    let s = Setup::new(&waiver(
        "SSH-011",
        "tags = { AssetType = \"Bastion\" }\n",
        &day(90),
    ));
    let cfg = s.path("jikimi.toml");
    let v = run(&["config", "validate", "--config", &cfg]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert!(v.stdout.starts_with("configuration OK"), "{}", v.stdout);
}

#[test]
fn waivers_list_filters_and_json() {
    let s = Setup::new(
        &[
            waiver("W-1", "tags = { AssetType = \"Bastion\" }\n", &day(200)),
            waiver("W-2", "", &day(5)),
            waiver("W-3", "", &day(-3)),
        ]
        .concat(),
    );
    let r = s.list(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("1 active, 1 expiring within 14 days, 1 expired"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("AssetType=Bastion"), "{}", r.stdout);
    let r = s.list(&["--expired", "--json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(
        (v[0]["check"].as_str(), v[0]["state"].as_str()),
        (Some("W-3"), Some("expired"))
    );
    let r = s.list(&["--expiring"]);
    assert!(r.stdout.starts_with("W-2 "), "{}", r.stdout);
}
