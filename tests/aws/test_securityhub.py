"""The Security Hub sink end to end: jikimi → recording proxy → moto_server."""

import json
import subprocess
import time

import fakes
from conftest import (
    ACCOUNT, APP_SECURE, BASIC, OS_ID, REGION, RESOURCE, all_findings, jikimi_bin, make_root,
    write_catalog,
)

PREFIX = f"jikimi/{ACCOUNT}/{REGION}/{RESOURCE}/"


def sh_summary(doc):
    return doc["sinks"]["securityhub"]


def test_submit_and_get_findings(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    assert p.returncode == 2, "exit code comes from the checks"
    s = sh_summary(doc)
    assert (s["sent"], s["calls"], s["failed"], s["pending"]) == (4, 1, 0, 0), s
    got = all_findings(moto)
    # T-003 is not applicable: never a finding of its own.
    assert set(got) == {PREFIX + c for c in BASIC if c != "T-003"}
    f = got[PREFIX + "T-001"]
    assert f["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert f["GeneratorId"] == "jikimi/T-001"
    assert f["AwsAccountId"] == ACCOUNT
    assert f["SchemaVersion"] == "2018-10-08"
    assert f["CreatedAt"] == f["UpdatedAt"]
    assert f["Compliance"]["Status"] == "FAILED"
    assert f["Compliance"]["RelatedRequirements"] == ["KISA U-07", "CIS rhel9 7.1.1"]
    # Severity and Types come in FindingProviderFields only (Security Hub copies them to the
    # top level on import; moto keeps what was sent).
    assert "Severity" not in f and "Types" not in f
    assert f["FindingProviderFields"]["Severity"] == {"Label": "HIGH", "Original": "high"}
    assert f["FindingProviderFields"]["Types"][0].startswith(
        "Software and Configuration Checks/Industry and Regulatory Standards/")
    assert f["FirstObservedAt"] == f["LastObservedAt"] == f["CreatedAt"]
    assert f["SourceUrl"] == "https://www.cisecurity.org/benchmark/red_hat_linux"
    assert f["Remediation"]["Recommendation"]["Url"] == f["SourceUrl"]
    assert f["Remediation"]["Recommendation"]["Text"] == "Fix T-001."
    assert f["RecordState"] == "ACTIVE"
    r = f["Resources"][0]
    assert r["Type"] == "Other" and r["Region"] == REGION
    assert r["Id"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:managed-instance/{RESOURCE}"
    assert f["ProductFields"]["jikimi/CheckId"] == "T-001"
    assert len(f["ProductFields"]["jikimi/CatalogDigest"]) == 64
    assert got[PREFIX + "T-002"]["Compliance"]["Status"] == "PASSED"
    assert got[PREFIX + "T-002"]["FindingProviderFields"]["Severity"]["Label"] == "INFORMATIONAL"
    for cid, code in (("T-004", "CHECK_ERROR"),):
        c = got[PREFIX + cid]["Compliance"]
        assert c["Status"] == "NOT_AVAILABLE"
        assert c["StatusReasons"][0]["ReasonCode"] == code
        assert c["StatusReasons"][0]["Description"]


def test_unchanged_run_sends_nothing_and_table_footer(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    jk.check(root, cat, "--submit", "securityhub")
    assert len(aws.ops("BatchImportFindings")) == 1
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    s = sh_summary(doc)
    assert (s["sent"], s["calls"], s["unchanged"], s["pending"]) == (0, 0, 4, 0), s
    assert len(aws.ops("BatchImportFindings")) == 1, "no BatchImportFindings call"
    # The table footer says the same.
    p = jk.run("check", "--once", "--no-extra-checks", "--root", root, "--catalog", cat,
               "--config", jk.config(), "--state-dir", jk.state, "--submit", "securityhub")
    assert "securityhub: 0 sent in 0 calls, 0 failed, 0 pending, 4 unchanged" in p.stdout
    assert len(aws.ops("BatchImportFindings")) == 1


def test_fixed_problem_becomes_passed_later(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    jk.check(root, cat, "--submit", "securityhub")
    before = all_findings(moto)[PREFIX + "T-001"]
    make_root(tmp_path, secure=True)
    _, doc = jk.check(root, cat, "--submit", "securityhub")
    assert sh_summary(doc)["sent"] == 1
    after = all_findings(moto)[PREFIX + "T-001"]
    assert after["Compliance"]["Status"] == "PASSED"
    assert after["FindingProviderFields"]["Severity"]["Label"] == "INFORMATIONAL"
    assert after["CreatedAt"] == before["CreatedAt"]
    assert after["UpdatedAt"] > before["UpdatedAt"]
    assert aws.stale == []


def test_check_removed_from_catalog_is_archived_once(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    jk.check(root, cat, "--submit", "securityhub")
    # Not selected is not removed: nothing archived.
    _, doc = jk.check(root, cat, "--submit", "securityhub", "--only", "T-001")
    assert sh_summary(doc)["calls"] == 0
    fewer = {k: v for k, v in BASIC.items() if k != "T-002"}
    cat2 = write_catalog(tmp_path / "cat2", fewer)
    _, doc = jk.check(root, cat2, "--submit", "securityhub")
    s = sh_summary(doc)
    assert (s["sent"], s["archived"], s["unchanged"]) == (1, 1, 3), s
    got = all_findings(moto)
    assert got[PREFIX + "T-002"]["RecordState"] == "ARCHIVED"
    assert got[PREFIX + "T-001"]["RecordState"] == "ACTIVE"
    _, doc = jk.check(root, cat2, "--submit", "securityhub")
    assert sh_summary(doc)["calls"] == 0, "archived once"
    # The check comes back: active again, same CreatedAt.
    _, doc = jk.check(root, cat, "--submit", "securityhub")
    again = all_findings(moto)[PREFIX + "T-002"]
    assert again["RecordState"] == "ACTIVE"
    assert again["CreatedAt"] == got[PREFIX + "T-002"]["CreatedAt"]
    assert aws.stale == []


def test_refresh_after_interval(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    cfg = jk.config("[securityhub]\nrefresh_interval_secs = 1\n")
    jk.check(root, cat, "--submit", "securityhub", config=cfg)
    first = all_findings(moto)
    _, doc = jk.check(root, cat, "--submit", "securityhub", config=cfg)
    assert sh_summary(doc)["sent"] == 0
    time.sleep(1.1)
    _, doc = jk.check(root, cat, "--submit", "securityhub", config=cfg)
    assert sh_summary(doc)["sent"] == 4
    for fid, f in all_findings(moto).items():
        assert f["UpdatedAt"] > first[fid]["UpdatedAt"]
        assert f["CreatedAt"] == first[fid]["CreatedAt"]
    assert aws.stale == []


def test_outage_and_throttling_deliver_each_change_exactly_once(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    jk.check(root, cat, "--submit", "securityhub")
    created = all_findings(moto)[PREFIX + "T-001"]["CreatedAt"]

    # Security Hub answers 503: the run completes with the checks' exit code; all pending.
    make_root(tmp_path, secure=True)
    aws.fail_all = fakes.UNAVAILABLE
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    assert p.returncode == 2
    s = sh_summary(doc)
    assert (s["sent"], s["calls"], s["pending"]) == (0, 3, 1), s
    assert "503" in p.stderr and "warning" in p.stderr

    # Unreachable (nothing listens): still completes; the change flips back meanwhile.
    aws.fail_all = None
    aws.stop()
    make_root(tmp_path, secure=False)
    t = time.time()
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    assert time.time() - t < 15
    s = sh_summary(doc)
    assert (s["sent"], s["pending"]) == (0, 1), s
    make_root(tmp_path, secure=True)
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    assert sh_summary(doc)["pending"] == 1

    # Back, but throttling twice: retried inside the run with backoff, delivered once.
    aws.start()
    aws.faults = [fakes.THROTTLE, fakes.TOO_MANY]
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    s = sh_summary(doc)
    assert (s["sent"], s["calls"], s["pending"]) == (1, 3, 0), s
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    assert sh_summary(doc)["calls"] == 0

    f = all_findings(moto)[PREFIX + "T-001"]
    assert f["Compliance"]["Status"] == "PASSED"
    assert f["CreatedAt"] == created
    # Every finding was applied once per change, in order; nothing older arrived later.
    assert aws.stale == []
    assert len(aws.applied[PREFIX + "T-001"]) == 2
    for cid in ("T-002", "T-004", "T-005"):
        assert len(aws.applied[PREFIX + cid]) == 1
    # What reached the proxy for T-001: the first version, the PASS version during the 503s
    # (same UpdatedAt on every retry), and the last one; the flips while unreachable never
    # left the host and collapsed into the last state, which was applied, once.
    sent_t1 = sorted({f["UpdatedAt"] for f in aws.imported() if f["Id"] == PREFIX + "T-001"})
    assert len(sent_t1) == 3
    assert aws.applied[PREFIX + "T-001"] == [sent_t1[0], sent_t1[2]]


def test_failed_findings_are_reported_and_retried(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.reject_ids = {PREFIX + "T-005"}
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    s = sh_summary(doc)
    assert (s["sent"], s["failed"], s["pending"]) == (3, 1, 1), s
    assert any("T-005" in e and "InvalidInput" in e for e in s["errors"])
    assert "T-005" in p.stderr
    aws.reject_ids = set()
    _, doc = jk.check(root, cat, "--submit", "securityhub")
    s = sh_summary(doc)
    assert (s["sent"], s["failed"], s["pending"], s["unchanged"]) == (1, 0, 0, 3), s
    assert PREFIX + "T-005" in all_findings(moto)


def test_more_than_100_findings_are_batched(jk, aws, moto, tmp_path):
    root = make_root(tmp_path)
    checks = {f"B-{i:03d}": (OS_ID if i % 2 else APP_SECURE) for i in range(160)}
    cat = write_catalog(tmp_path / "cat", checks)
    _, doc = jk.check(root, cat, "--submit", "securityhub")
    s = sh_summary(doc)
    assert (s["sent"], s["calls"]) == (160, 2), s
    sizes = [len(r["body"]["Findings"]) for r in aws.ops("BatchImportFindings")]
    assert sizes == [100, 60]
    assert len(all_findings(moto)) == 160


def test_concurrent_runs_do_not_corrupt_state(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    cfg = jk.config()
    args = [str(jikimi_bin()), "check", "--once", "--format", "json", "--no-extra-checks",
            "--root", str(root), "--catalog", str(cat), "--config", str(cfg),
            "--state-dir", str(jk.state), "--submit", "securityhub"]
    procs = [subprocess.Popen(args, env=jk.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    docs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    sent = sorted(d["sinks"]["securityhub"]["sent"] for d in docs)
    assert sent == [0, 0, 4], sent
    state = json.loads((jk.state / "securityhub-state.json").read_text())
    assert len(state["findings"]) == 4
    assert all(not e["pending"] for e in state["findings"].values())
    assert all(len(v) == 1 for v in aws.applied.values())


def test_endpoint_overrides(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    closed = f"http://127.0.0.1:{fakes.free_port()}"
    # The per-service variable wins over the global one.
    _, doc = jk.check(root, cat, "--submit", "securityhub",
                      env={"AWS_ENDPOINT_URL": closed, "AWS_ENDPOINT_URL_SECURITYHUB": aws.url})
    assert sh_summary(doc)["sent"] == 4
    # The configuration's endpoint_url wins over both.
    make_root(tmp_path, secure=True)
    cfg = jk.config(extra_aws=f'endpoint_url = "{aws.url}"\n')
    _, doc = jk.check(root, cat, "--submit", "securityhub", config=cfg,
                      env={"AWS_ENDPOINT_URL": closed, "AWS_ENDPOINT_URL_SECURITYHUB": closed})
    assert sh_summary(doc)["sent"] == 1


def test_configuration_errors_fail_the_run(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    p, _ = jk.check(root, cat, "--submit", "securityhub", config=jk.config(identity=False), codes=(1,))
    assert "aws.account_id" in p.stderr
    p, _ = jk.check(root, cat, "--submit", "securityhub",
                    env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}, codes=(1,))
    assert "no AWS credentials" in p.stderr
    bad = jk.config("[securityhub]\nrefresh_interval_secs = 9999999\n")
    p, _ = jk.check(root, cat, "--submit", "securityhub", config=bad, codes=(1,))
    assert "90 days" in p.stderr
    assert aws.ops("BatchImportFindings") == []


def test_config_switch_enables_the_sink(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    _, doc = jk.check(root, cat, config=jk.config("[securityhub]\nenabled = true\n"))
    assert sh_summary(doc)["sent"] == 4


def test_credentials_from_shared_file(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.keys["AKIDFROMFILE"] = ("file-secret", None)
    (jk.home / ".aws").mkdir()
    (jk.home / ".aws/credentials").write_text(
        "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = x\n"
        "[fleet]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = file-secret\n"
    )
    env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
           "AWS_PROFILE": "fleet"}
    _, doc = jk.check(root, cat, "--submit", "securityhub", env=env)
    assert sh_summary(doc)["sent"] == 4
    assert aws.ops("BatchImportFindings")[0]["headers"]["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDFROMFILE/")
    assert "x-amz-security-token" not in aws.ops("BatchImportFindings")[0]["headers"]


def test_https_endpoint_ca_bundle_and_proxy_choice(jk, moto, tmp_path):
    """rustls against a local https endpoint: trusted through AWS_CA_BUNDLE only, and
    reached directly only when NO_PROXY exempts it (the test environment's HTTPS_PROXY
    points at a closed port)."""
    from conftest import AKID, SECRET, TOKEN

    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    ca, cert, key = fakes.make_ca(tmp_path)
    tls = fakes.AwsProxy(moto, {AKID: (SECRET, TOKEN)}).start(tls=(str(cert), str(key)))
    try:
        env = {"AWS_ENDPOINT_URL": tls.url, "NO_PROXY": "localhost,127.0.0.1"}
        _, doc = jk.check(root, cat, "--submit", "securityhub", env=env)
        s = sh_summary(doc)
        assert s["pending"] == 4 and "certificate" in s["errors"][0].lower(), s
        _, doc = jk.check(root, cat, "--submit", "securityhub", env={**env, "NO_PROXY": None, "AWS_CA_BUNDLE": str(ca)})
        assert sh_summary(doc)["pending"] == 4, "https goes through HTTPS_PROXY unless NO_PROXY says otherwise"
        _, doc = jk.check(root, cat, "--submit", "securityhub", env={**env, "AWS_CA_BUNDLE": str(ca)})
        assert (sh_summary(doc)["sent"], sh_summary(doc)["pending"]) == (4, 0)
        assert tls.sig_errors == [] and tls.model_errors == []
    finally:
        tls.stop()


def test_daemon_submits_each_scan_and_sends_only_changes(jk, aws, moto, tmp_path):
    """The daemon (no --once) ships every scan through the same delta sync: the first scan
    sends all findings, the next unchanged scan sends none."""
    import signal, subprocess, time
    from conftest import jikimi_bin

    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    cfg = jk.config(f'[securityhub]\nenabled = true\n[agent]\nstate_dir = "{jk.state}"\n', extra_aws="first_submission_jitter_secs = 0\n")
    env = {k: v for k, v in jk.env.items() if v is not None}
    p = subprocess.Popen(
        [str(jikimi_bin()), "check", "--listen", "127.0.0.1:0", "--interval", "3600",
         "--no-extra-checks", "--root", str(root), "--catalog", str(cat), "--config", str(cfg)],
        env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        deadline = time.time() + 30
        while time.time() < deadline and sum("securityhub:" in l for l in lines) < 2:
            line = p.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "scan done" in line and sum("securityhub:" in l for l in lines) == 1:
                p.send_signal(signal.SIGHUP)  # the next scan now (the interval is >= 60 s)
    finally:
        p.terminate()
        p.wait(timeout=10)
    sh = [l for l in lines if "securityhub:" in l]
    assert len(sh) >= 2, "".join(lines)
    assert "4 sent" in sh[0], sh[0]
    assert "0 sent" in sh[1] and "4 unchanged" in sh[1], sh[1]
    assert len(all_findings(moto)) == 4
    assert p.returncode == 0


def test_daemon_honours_submit_and_realtime_sends_only_the_changed_finding(jk, aws, moto, tmp_path):
    """`--submit securityhub` without `[securityhub]` in the configuration: the daemon's scan
    delivers (issue 14), and a real-time re-evaluation after a file change sends only the
    finding that changed (issue 16)."""
    import signal, subprocess, time
    from conftest import jikimi_bin

    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    cfg = jk.config(f'[agent]\nstate_dir = "{jk.state}"\n')
    env = {k: v for k, v in jk.env.items() if v is not None}
    p = subprocess.Popen(
        [str(jikimi_bin()), "check", "--listen", "127.0.0.1:0", "--interval", "3600",
         "--no-extra-checks", "--root", str(root), "--catalog", str(cat), "--config", str(cfg),
         "--submit", "securityhub"],
        env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        deadline = time.time() + 30
        while time.time() < deadline and not any("re-evaluated" in l for l in lines):
            line = p.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "scan done" in line:
                make_root(tmp_path, secure=True)  # T-001 now passes
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    sh = [l for l in lines if "securityhub:" in l]
    assert len(sh) >= 2, f"exit {p.returncode}\n" + "".join(lines)
    assert "4 sent" in sh[0], sh[0]
    assert any("re-evaluated" in l and "T-001" in l for l in lines), "".join(lines)
    assert "1 sent" in sh[1] and "3 unchanged" in sh[1], sh[1]
    assert all_findings(moto)[PREFIX + "T-001"]["Compliance"]["Status"] == "PASSED"
    assert p.returncode == 0


def test_a_2xx_without_counts_keeps_findings_pending(jk, aws, moto, tmp_path):
    """Issue 12, defect 10: a 200 whose body is not a BatchImportFindings answer (a broken
    proxy's `{}`) proves nothing was imported: everything stays pending and the next run
    delivers it."""
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.faults = [(200, {}, {})]
    p, doc = jk.check(root, cat, "--submit", "securityhub")
    s = sh_summary(doc)
    assert (s["sent"], s["pending"]) == (0, 4), s
    assert "SuccessCount" in s["errors"][0] and "kept pending" in p.stderr
    assert all_findings(moto) == {}
    _, doc = jk.check(root, cat, "--submit", "securityhub")
    assert (sh_summary(doc)["sent"], sh_summary(doc)["pending"]) == (4, 0)
    assert len(all_findings(moto)) == 4
