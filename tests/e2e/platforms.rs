//! Distribution-exact verdicts end to end: package facts read from REAL rpm databases that
//! Debian's `rpmbuild` and `rpm --justdb` make at test time (compared with `rpm -qa` itself,
//! through a write-ahead log, and corrupted in many ways), classification on an RPM host, the
//! running kernel deciding unconfigured and absent sysctls, and `requires` gates.

use super::{catalog, check, run, scan_json, status, write};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const DB: &str = "var/lib/rpm/rpmdb.sqlite";

fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{name}` is required by this test (Debian package `rpm`, installed by tests/run.sh)"
    );
    let mut c = Command::new(name);
    // Debian's rpm keeps its default database in $HOME/.rpmdb, which even `rpm -qp` opens:
    // a HOME of its own keeps the tests off the host's home directory
    c.env("HOME", rpm_home());
    c
}

/// An empty HOME for rpm and rpmbuild, for the whole test process.
fn rpm_home() -> &'static std::path::Path {
    static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().expect("temporary HOME for rpm"))
        .path()
}

fn ok(c: &mut Command) -> String {
    let o = c.output().expect("spawn");
    assert!(
        o.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Builds `n` small noarch packages (one spec, subpackages; one with an epoch and one with a
/// 40 KB description so that its header spills over many overflow pages) and records them in
/// a fresh rpm database under `root`, as `rpm -i --justdb` does on a real host.
fn make_rpmdb(work: &Path, root: &Path, n: usize) {
    let top = work.join("top");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let mut spec = String::from(
        "Name: base-pkg\nVersion: 1.0\nRelease: 1.el9\nSummary: base\nLicense: MIT\nBuildArch: noarch\n%description\nbase\n%files\n",
    );
    let long = "A long description line that makes this header larger than a page. ".repeat(600);
    for i in 0..n {
        spec.push_str(&format!(
            "%package -n pkg-{i:03}\nVersion: {i}.{}\nRelease: {}.el9\nSummary: s{i}\n{}%description -n pkg-{i:03}\n{}\n%files -n pkg-{i:03}\n",
            i % 7,
            i % 3 + 1,
            if i % 10 == 3 { "Epoch: 2\n" } else { "" },
            if i == 5 { long.as_str() } else { "short" },
        ));
    }
    spec.push_str(
        "%package -n nginx\nEpoch: 1\nVersion: 1.20.1\nRelease: 14.el9\nSummary: nginx\n%description -n nginx\nweb\n%files -n nginx\n",
    );
    std::fs::write(top.join("SPECS/t.spec"), spec).unwrap();
    ok(tool("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg("--define")
        .arg(format!("_rpmdir {}", work.join("rpms").display()))
        .arg("--define")
        .arg("_db_backend sqlite")
        .arg(top.join("SPECS/t.spec")));
    let mut rpms: Vec<PathBuf> = std::fs::read_dir(work.join("rpms/noarch"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    rpms.sort();
    assert_eq!(rpms.len(), n + 2);
    ok(tool("rpm")
        .arg("--root")
        .arg(root)
        .args([
            "--dbpath",
            "/var/lib/rpm",
            "--define",
            "_db_backend sqlite",
            "-i",
            "--justdb",
            "--nodeps",
        ])
        .args(&rpms));
    assert!(root.join(DB).is_file(), "rpm did not create {DB}");
}

/// `name evr` of every package, as rpm itself reports them.
fn rpm_qa(root: &Path) -> BTreeSet<String> {
    ok(tool("rpm").arg("--root").arg(root).args([
        "--dbpath",
        "/var/lib/rpm",
        "-qa",
        "--qf",
        "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n",
    ]))
    .lines()
    .map(str::to_string)
    .collect()
}

/// `name evr` of every package named in `names`, as jikimi's package probe reports them
/// (checks of at most 40 names each: evidence is capped at 50 items). The status of the
/// first check is returned too.
fn jikimi_packages(root: &Path, names: &[String]) -> (String, BTreeSet<String>) {
    let mut checks = String::new();
    for (i, chunk) in names.chunks(40).enumerate() {
        let list: Vec<String> = chunk.iter().map(|n| format!("{n:?}")).collect();
        checks.push_str(&check(
            &format!("PKG-{i:03}"),
            &format!(
                "{{ probe = \"package\", names = [{}], expect = \"present\" }}",
                list.join(", ")
            ),
        ));
    }
    let cat = catalog(&checks);
    let (_, doc) = scan_json(root, cat.path(), &[]);
    let mut out = BTreeSet::new();
    let mut first = String::new();
    for r in doc["results"].as_array().unwrap() {
        let st = r["status"].as_str().unwrap().to_string();
        if first.is_empty() {
            first = format!("{st} {}", r["reason"].as_str().unwrap_or(""));
        }
        for e in r["evidence"].as_array().into_iter().flatten() {
            if let Some(m) = e["message"]
                .as_str()
                .and_then(|m| m.strip_suffix(" is installed"))
            {
                out.insert(m.to_string());
            }
        }
    }
    (first, out)
}

#[test]
fn packages_from_a_real_rpm_database_equal_rpm_qa() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rpmdb(t.path(), &root, 150);
    let oracle = rpm_qa(&root);
    assert_eq!(oracle.len(), 152);
    assert!(oracle.contains("nginx 1:1.20.1-14.el9"), "{oracle:?}");
    let names: Vec<String> = oracle
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    let (st, got) = jikimi_packages(&root, &names);
    assert!(st.starts_with("PASS"), "{st}");
    assert_eq!(got, oracle);

    // absent packages FAIL, present ones are named with their version
    let cat = catalog(&format!(
        "{}{}",
        check(
            "ABSENT",
            "{ probe = \"package\", names = [\"telnet-server\", \"pkg-005\"], expect = \"absent\" }"
        ),
        check(
            "MISSING",
            "{ probe = \"package\", names = [\"telnet-server\"], expect = \"present\" }"
        ),
    ));
    let (_, doc) = scan_json(&root, cat.path(), &[]);
    let (s, why) = status(&doc, "ABSENT");
    assert_eq!(s, "FAIL", "{why}");
    assert!(why.contains("pkg-005 5.5-3.el9 is installed"), "{why}");
    assert_eq!(status(&doc, "MISSING").0, "FAIL");

    // classification reads the same database
    let r = run(&["classify", "--root", root.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("package nginx 1:1.20.1-14.el9 installed (rpm)"),
        "{}",
        r.stdout
    );
}

#[test]
fn committed_rpm_fixture_classifies_and_reads_like_rpm() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/hosts/rhel9-rpm/root");
    let (st, got) = jikimi_packages(
        &root,
        &[
            "openssh-server".into(),
            "nginx".into(),
            "postgresql-server".into(),
        ],
    );
    assert!(st.starts_with("PASS"), "{st}");
    let want: BTreeSet<String> = [
        "openssh-server 8.7p1-38.el9",
        "nginx 1:1.20.1-14.el9_2.1",
        "postgresql-server 13.14-1.el9_3",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(got, want);
    let r = run(&["classify", "--root", root.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let tags = doc["tags"].to_string();
    assert!(
        tags.contains("DB,Web") && tags.contains("nginx,postgresql"),
        "{doc}"
    );
    assert!(r.stdout.contains("installed (rpm)"), "{}", r.stdout);
}

#[test]
fn committed_write_ahead_log_frames_are_read_and_torn_ones_ignored() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rpmdb(t.path(), &root, 30);
    let before = rpm_qa(&root);
    let walroot = t.path().join("walroot");
    std::fs::create_dir_all(walroot.join("var/lib/rpm")).unwrap();
    // A writer deletes the first package and commits while checkpoints are off; the files
    // are copied with the connection still open, as a scan during an rpm transaction sees.
    let script = r#"
import shutil, sqlite3, sys
src, dst = sys.argv[1], sys.argv[2]
c = sqlite3.connect(src)
c.execute("pragma journal_mode=wal")
c.execute("pragma wal_autocheckpoint=0")
c.execute("delete from Packages where hnum = (select min(hnum) from Packages)")
c.commit()
shutil.copy(src, dst)
shutil.copy(src + "-wal", dst + "-wal")
"#;
    let work = t.path().join("copy.sqlite");
    std::fs::copy(root.join(DB), &work).unwrap();
    ok(tool("python3")
        .arg("-c")
        .arg(script)
        .arg(&work)
        .arg(walroot.join(DB)));
    let wal = walroot.join(format!("{DB}-wal"));
    assert!(std::fs::metadata(&wal).unwrap().len() > 32, "no WAL frames");
    let names: Vec<String> = before
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    let after = rpm_qa(&walroot);
    assert_eq!(after.len(), before.len() - 1);
    let (_, got) = jikimi_packages(&walroot, &names);
    assert_eq!(got, after, "the committed deletion in the WAL must be seen");

    // a torn frame appended to the log (bad checksum) changes nothing
    let mut bytes = std::fs::read(&wal).unwrap();
    let page = 4096 + 24;
    let frame = bytes[32..32 + page].to_vec();
    let mut torn = frame.clone();
    torn[30] ^= 0xff;
    bytes.extend_from_slice(&torn);
    std::fs::write(&wal, &bytes).unwrap();
    let (_, got) = jikimi_packages(&walroot, &names);
    assert_eq!(got, after);

    // without the log, the main file alone is the older state
    std::fs::remove_file(&wal).unwrap();
    let (_, got) = jikimi_packages(&walroot, &names);
    assert_eq!(got, before);
}

#[test]
fn corrupt_rpm_databases_give_error_never_a_panic_or_a_hang() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rpmdb(t.path(), &root, 60);
    let good = std::fs::read(root.join(DB)).unwrap();
    let names = vec!["nginx".to_string(), "pkg-005".to_string()];
    let (st, _) = jikimi_packages(&root, &names);
    assert!(st.starts_with("PASS"), "{st}");
    let root_page: u32 = ok(tool("python3").arg("-c").arg(
        "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select rootpage from sqlite_master where name='Packages'\").fetchone()[0])",
    ).arg(root.join(DB)))
    .trim()
    .parse()
    .unwrap();
    let ps = 4096usize;
    assert_eq!(
        good[ps * (root_page as usize - 1)],
        0x05,
        "Packages root is interior"
    );

    let bad = t.path().join("bad");
    let mut variants: Vec<(String, Vec<u8>, bool)> = Vec::new(); // (what, bytes, must be ERROR)
    variants.push((
        "truncated to half".into(),
        good[..good.len() / 2].to_vec(),
        true,
    ));
    variants.push(("empty".into(), Vec::new(), true));
    let mut b = good.clone();
    b[..16].copy_from_slice(b"SQLite format 2\0");
    variants.push(("bad magic".into(), b, true));
    let mut b = good.clone();
    let at = ps * (root_page as usize - 1);
    b[at + 8..at + 12].copy_from_slice(&root_page.to_be_bytes());
    variants.push(("root's right child is itself (a cycle)".into(), b, true));
    let mut b = good.clone();
    b[at] = 0x0a;
    variants.push(("root page has the wrong type".into(), b, true));
    let mut b = good.clone();
    b[at + 3..at + 5].copy_from_slice(&0xffffu16.to_be_bytes());
    variants.push(("cell count beyond the page".into(), b, true));
    // every page's header bytes and a sweep of single bytes: any verdict but no panic
    let pages = good.len() / ps;
    for p in 0..pages {
        for off in [0usize, 3, 5, 8, 12, 13] {
            let mut b = good.clone();
            b[p * ps + off] ^= 0x5a;
            variants.push((format!("page {} byte {off}", p + 1), b, false));
        }
    }
    for i in (0..good.len()).step_by(good.len() / 97) {
        let mut b = good.clone();
        b[i] = b[i].wrapping_add(0x81);
        variants.push((format!("byte {i}"), b, false));
    }
    for (what, bytes, must_error) in variants {
        write(&bad, DB, &bytes);
        let (st, _) = jikimi_packages(&bad, &names);
        assert!(
            ["PASS", "FAIL", "ERROR"].iter().any(|s| st.starts_with(s)),
            "{what}: {st}"
        );
        if must_error {
            assert!(st.starts_with("ERROR"), "{what}: {st}");
            assert!(
                st.contains("rpmdb.sqlite"),
                "{what}: the reason names the file: {st}"
            );
        }
    }
}

/// Writes the packages of the SQLite database under `from` as the Berkeley DB hash
/// `Packages` file of RHEL 8 under `to` (keys: native u32 package numbers, record 0 the
/// next-number counter, as rpm writes them), with BDB's own `db5.3_load`.
fn make_bdb(from: &Path, to: &Path, byte_order: &str) {
    let input = to.join("load.txt");
    let script = r#"
import sqlite3, struct, sys
rows = sqlite3.connect(sys.argv[1]).execute("select hnum, blob from Packages").fetchall()
esc = lambda b: "".join("\\%02x" % x for x in b)
fmt = "<I" if sys.argv[3] == "1234" else ">I"
with open(sys.argv[2], "w") as f:
    f.write(esc(struct.pack(fmt, 0)) + "\n" + esc(struct.pack(fmt, len(rows) + 1)) + "\n")
    for h, b in rows:
        f.write(esc(struct.pack(fmt, h)) + "\n" + esc(b) + "\n")
"#;
    std::fs::create_dir_all(to.join("var/lib/rpm")).unwrap();
    ok(tool("python3")
        .arg("-c")
        .arg(script)
        .arg(from.join(DB))
        .arg(&input)
        .arg(byte_order));
    ok(tool("db5.3_load")
        .args([
            "-c",
            &format!("db_lorder={byte_order}"),
            "-T",
            "-t",
            "hash",
            "-f",
        ])
        .arg(&input)
        .arg(to.join("var/lib/rpm/Packages")));
    std::fs::remove_file(&input).unwrap();
}

#[test]
fn berkeley_db_rpm_databases_of_either_byte_order_equal_rpm_qa() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    make_rpmdb(t.path(), &root, 150);
    let want = rpm_qa(&root);
    let names: Vec<String> = want
        .iter()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    for order in ["1234", "4321"] {
        let bdb = t.path().join(format!("bdb-{order}"));
        make_bdb(&root, &bdb, order);
        // rpm's own read-only Berkeley DB backend agrees with the SQLite original
        let oracle: BTreeSet<String> = ok(tool("rpm").arg("--root").arg(&bdb).args([
            "--dbpath",
            "/var/lib/rpm",
            "--define",
            "_db_backend bdb_ro",
            "-qa",
            "--qf",
            "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n",
        ]))
        .lines()
        .map(str::to_string)
        .collect();
        assert_eq!(oracle, want, "byte order {order}");
        let (st, got) = jikimi_packages(&bdb, &names);
        assert!(st.starts_with("PASS"), "{order}: {st}");
        assert_eq!(got, want, "byte order {order}");
    }

    // corruption: any verdict but never a panic or a hang; structural damage is ERROR
    let good = std::fs::read(t.path().join("bdb-1234/var/lib/rpm/Packages")).unwrap();
    let bad = t.path().join("bad");
    let few = vec!["nginx".to_string()];
    let mut variants: Vec<(String, Vec<u8>, bool)> = vec![
        ("truncated".into(), good[..good.len() / 2].to_vec(), true),
        ("zeros".into(), vec![0u8; 8192], true),
    ];
    let mut b = good.clone();
    b[32..36].copy_from_slice(&u32::MAX.to_le_bytes()); // last_pgno
    variants.push(("last page beyond the file".into(), b, true));
    let mut b = good.clone();
    b[96..100].copy_from_slice(&0u32.to_le_bytes()); // spares[0]: bucket 0 -> page 0
    variants.push(("bucket 0 points at the meta page".into(), b, true));
    let ps = 4096;
    for p in 1..good.len() / ps {
        // a page's next pointer to itself, its type, its item count
        let mut b = good.clone();
        b[p * ps + 16..p * ps + 20].copy_from_slice(&(p as u32).to_le_bytes());
        variants.push((format!("page {p} chained to itself"), b, false));
        for off in [20usize, 25, 26, 27] {
            let mut b = good.clone();
            b[p * ps + off] ^= 0x5a;
            variants.push((format!("page {p} byte {off}"), b, false));
        }
    }
    for i in (0..good.len()).step_by(good.len() / 97) {
        let mut b = good.clone();
        b[i] = b[i].wrapping_add(0x81);
        variants.push((format!("byte {i}"), b, false));
    }
    for (what, bytes, must_error) in variants {
        write(&bad, "var/lib/rpm/Packages", &bytes);
        let (st, _) = jikimi_packages(&bad, &few);
        assert!(
            ["PASS", "FAIL", "ERROR"].iter().any(|s| st.starts_with(s)),
            "{what}: {st}"
        );
        if must_error {
            assert!(st.starts_with("ERROR"), "{what}: {st}");
            assert!(st.contains("/var/lib/rpm/Packages"), "{what}: {st}");
        }
    }
}

#[test]
fn an_ndb_rpm_database_is_not_applicable_with_the_reason() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "usr/lib/sysimage/rpm/Packages.db", &[0u8; 4096]);
    let cat = catalog(&check(
        "PKG",
        "{ probe = \"package\", names = [\"telnet-server\"], expect = \"absent\" }",
    ));
    let (_, doc) = scan_json(t.path(), cat.path(), &[]);
    let (s, why) = status(&doc, "PKG");
    assert_eq!(s, "NOT_APPLICABLE", "{why}");
    assert!(why.contains("ndb"), "{why}");
}

/// A root that looks live (a /proc/sys/kernel) with the given kernel parameters and
/// sysctl.d content.
fn kernel_root(live: &[(&str, &str)], conf: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "proc/sys/kernel/osrelease", b"6.1.0\n");
    for (k, v) in live {
        write(
            t.path(),
            &format!("proc/sys/{}", k.replace('.', "/")),
            format!("{v}\n").as_bytes(),
        );
    }
    write(t.path(), "etc/sysctl.d/60-test.conf", conf.as_bytes());
    t
}

#[test]
fn the_running_kernel_decides_unconfigured_and_absent_sysctls() {
    let checks = [
        check(
            "DMESG",
            "{ probe = \"sysctl\", key = \"kernel.dmesg_restrict\", op = \"eq\", value = 1, default = 0 }",
        ),
        check(
            "YAMA",
            "{ probe = \"sysctl\", key = \"kernel.yama.ptrace_scope\", op = \"ge\", value = 1, default = 1, if_absent = \"fail\" }",
        ),
        check(
            "V6",
            "{ probe = \"sysctl\", key = \"net.ipv6.conf.all.forwarding\", op = \"eq\", value = 0, default = 0 }",
        ),
    ]
    .concat();
    let cat = catalog(&checks);
    let scan = |root: &Path| scan_json(root, cat.path(), &[]).1;

    // unconfigured: the running value decides, not the assumed default
    let r = kernel_root(&[("kernel.dmesg_restrict", "1")], "");
    let doc = scan(r.path());
    let (s, why) = status(&doc, "DMESG");
    assert_eq!(s, "PASS", "{why}");
    assert!(why.contains("running kernel's own value 1"), "{why}");
    // no Yama in the running kernel: FAIL even though it is configured
    let (s, why) = status(&doc, "YAMA");
    assert_eq!(s, "FAIL", "{why}");
    assert!(
        why.contains("does not exist in the running kernel"),
        "{why}"
    );
    // an absent key with the default if_absent (IPv6 disabled): NOT_APPLICABLE, not PASS
    assert_eq!(status(&doc, "V6").0, "NOT_APPLICABLE");

    let r = kernel_root(
        &[
            ("kernel.dmesg_restrict", "0"),
            ("kernel.yama.ptrace_scope", "1"),
        ],
        "kernel.yama.ptrace_scope = 0\n",
    );
    let doc = scan(r.path());
    assert_eq!(status(&doc, "DMESG").0, "FAIL");
    // running 1 but configured 0 for the next boot: FAIL
    assert_eq!(status(&doc, "YAMA").0, "FAIL");

    let r = kernel_root(
        &[("kernel.yama.ptrace_scope", "1")],
        "kernel.yama.ptrace_scope = 2\nkernel.dmesg_restrict = 1\n",
    );
    let doc = scan(r.path());
    // running 1 and configured 2: both satisfy >= 1
    assert_eq!(status(&doc, "YAMA").0, "PASS");
    // dmesg_restrict configured but the key is absent from this (faked) kernel
    assert_eq!(status(&doc, "DMESG").0, "NOT_APPLICABLE");

    // an image (no /proc): the configuration and the catalog default decide
    let img = tempfile::tempdir().unwrap();
    write(
        img.path(),
        "etc/sysctl.d/60-test.conf",
        b"kernel.dmesg_restrict = 1\n",
    );
    let doc = scan(img.path());
    assert_eq!(status(&doc, "DMESG").0, "PASS");
    let (s, why) = status(&doc, "YAMA");
    assert_eq!(s, "PASS", "{why}");
    assert!(why.contains("kernel default 1"), "{why}");
}

#[test]
fn requires_makes_a_check_not_applicable_when_its_subject_is_not_installed() {
    let gate = "requires = { probe = \"file\", path = [\"/usr/sbin/cron\", \"/usr/sbin/crond\"], if_missing = \"not_applicable\" }";
    let cat = catalog(&check(
        "CRONTAB",
        &format!("{{ {gate}, probe = \"file\", path = \"/etc/crontab\", mode_max = \"0600\" }}"),
    ));
    let t = tempfile::tempdir().unwrap();
    let crontab = write(t.path(), "etc/crontab", b"* * * * * root true\n");
    std::fs::set_permissions(
        &crontab,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .unwrap();
    // a world-writable leftover crontab without a cron daemon: NOT_APPLICABLE, with why
    let (_, doc) = scan_json(t.path(), cat.path(), &[]);
    let (s, why) = status(&doc, "CRONTAB");
    assert_eq!(s, "NOT_APPLICABLE", "{why}");
    assert!(
        why.contains("prerequisite not met") && why.contains("/usr/sbin/crond"),
        "{why}"
    );
    // with cron installed the same file FAILs
    write(t.path(), "usr/sbin/crond", b"");
    let (_, doc) = scan_json(t.path(), cat.path(), &[]);
    assert_eq!(status(&doc, "CRONTAB").0, "FAIL");
}
