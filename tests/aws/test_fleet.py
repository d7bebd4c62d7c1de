"""`jikimi fleet report` end to end: findings of 24 simulated hosts imported into moto_server in
several BatchImportFindings batches, read back by the agent with paginated GetFindings through
the recording proxy (SigV4 checked), every GetFindings request validated against botocore's
model, and the report's content, stability and rendering asserted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import awsmodel
import fleet_data as fd
from conftest import ACCOUNT, REPO, boto, chromium, screenshot

NOW = fd.ts(fd.NOW)


def report(jk, *extra, fmt="json", config=None, codes=(0,)):
    cfg = config or jk.config("[securityhub]\nrefresh_interval_secs = 86400\n")
    p = jk.run("fleet", "report", "--since", "24h", "--format", fmt, "--config", cfg, "--now", NOW,
               *extra, codes=codes)
    return p


def names(hosts):
    return [f"{h}.fleet.example" for h in hosts]


def test_fleet_report_from_moto(jk, aws, moto):
    batches = fd.import_fleet(boto(moto, "securityhub"))
    assert batches >= 4
    p = report(jk)
    doc = json.loads(p.stdout)

    # Pagination: 193 findings at 100 a page; every request is a valid GetFindings.
    reqs = aws.ops("GetFindings")
    assert len(reqs) == 2, [r["body"] for r in reqs]
    shape = awsmodel.input_shape("securityhub", "GetFindings")
    for r in reqs:
        assert awsmodel.validate(shape, r["body"]) == [], r["body"]
        assert r["status"] == 200 and r["path"] == "/findings"
        assert r["body"]["MaxResults"] == 100
        f = r["body"]["Filters"]
        assert f["ProductName"] == [{"Value": "Jikimi", "Comparison": "EQUALS"}]
        assert f["GeneratorId"] == [{"Value": "jikimi/", "Comparison": "PREFIX"}]
        assert f["AwsAccountId"] == [{"Value": ACCOUNT, "Comparison": "EQUALS"}]
        assert f["UpdatedAt"][0]["End"].startswith("2026-12-01T00:00:00")
    assert "NextToken" not in reqs[0]["body"] and reqs[1]["body"]["NextToken"]
    assert "1 finding(s) that are not Jikimi's were ignored" in p.stderr

    t = doc["totals"]
    assert doc["findings_read"] == 24 * 8
    assert (t["hosts"], t["hosts_silent"], t["hosts_reporting"], t["hosts_new"]) == (24, 3, 21, 1)
    # Default silence threshold: twice the refresh interval (86400 s here).
    assert doc["silent_after_secs"] == 2 * 86400
    assert [h["hostname"] for h in doc["silent_hosts"]] == names(fd.SILENT)
    assert t["failed_by_severity"] == fd.expected_failing()
    assert t["failed"] == sum(fd.expected_failing().values())
    assert (t["waived"], t["waived_by_severity"]["medium"]) == (1, 1)
    assert t["previous_score"] is not None and t["score_change"] == round(t["score"] - t["previous_score"], 1)

    newly = {g["check_id"]: g["hosts"] for g in doc["newly_failed"]}
    # h01/h02 started failing C-03; h20 joined inside the window with its failures.
    assert newly == {"C-03": names(["h01", "h02"]), "C-01": names(["h20"]),
                     "C-04": names(["h20"]), "C-06": names(["h20"])}
    fixed = {g["check_id"]: g["hosts"] for g in doc["fixed"]}
    assert fixed == {"C-01": names(["h04"]), "C-02": names(["h06"])}
    assert [(g["check_id"], g["hosts"]) for g in doc["archived"]] == [("C-05", names(["h10"]))]

    top = [(c["check_id"], c["hosts_failing"]) for c in doc["top_failing_checks"]]
    assert top == [("C-04", 11), ("C-02", 7), ("C-01", 5), ("C-06", 5), ("C-03", 2)]
    assert doc["top_failing_checks"][0]["percent"] == 47.8
    worst = doc["worst_hosts"]
    assert len(worst) == 10
    assert [w["score"] for w in worst] == sorted(w["score"] for w in worst)
    assert worst[0]["failed_by_severity"]["critical"] == 1

    by = {g["key"]: {v["value"]: v["hosts"] for v in g["values"]} for g in doc["by_tag"]}
    assert by["AssetType"] == {"(none)": 8, "DB": 8, "Web": 8}
    assert by["Env"] == {"DEV": 12, "PROD": 12}  # from the instance tag `Environment`
    assert by["Owner"] == {"(none)": 23, fd.EVIL: 1}


def test_byte_stable_and_escaped(jk, aws, moto, tmp_path):
    fd.import_fleet(boto(moto, "securityhub"))
    outs = {}
    for fmt in ("json", "md", "html"):
        a = report(jk, fmt=fmt).stdout
        out = tmp_path / f"r.{fmt}"
        report(jk, "--output", out, fmt=fmt)
        assert out.read_text() == a, fmt
        outs[fmt] = a
    html = outs["html"]
    assert "<img" not in html and "onerror=alert(1)&gt;" in html
    assert "<script" not in html.lower()
    assert "<img" not in outs["md"]
    assert "2026-12-01T00:00:00" in outs["md"]


def test_saved_findings_give_the_same_report(jk, aws, moto, tmp_path):
    """--findings renders from saved GetFindings pages without AWS: same report."""
    fd.import_fleet(boto(moto, "securityhub"))
    sh = boto(moto, "securityhub")
    pages = list(sh.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": 100}))
    saved = tmp_path / "pages.json"
    saved.write_text(json.dumps([{"Findings": p["Findings"]} for p in pages]))
    live = json.loads(report(jk).stdout)
    aws.reset_counts()
    off = json.loads(report(jk, "--findings", saved).stdout)
    assert aws.ops("GetFindings") == []
    # The saved pages hold the foreign finding too: it is left out the same way.
    assert {k: v for k, v in off.items() if k != "scope"} == {k: v for k, v in live.items() if k != "scope"}
    assert off["scope"] == f"findings from {saved}"


def test_access_denied_is_an_error_with_the_code(jk, aws, moto):
    aws.faults.append((403, {"__type": "AccessDeniedException", "message": "not allowed"},
                       {"x-amzn-errortype": "AccessDeniedException"}))
    p = report(jk, codes=(1,))
    assert "GetFindings" in p.stderr and "AccessDeniedException" in p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("width", [390, 1100])
def test_html_renders_on_a_phone_and_a_desktop(jk, aws, moto, tmp_path, width):
    exe = chromium()
    fd.import_fleet(boto(moto, "securityhub"))
    page = tmp_path / "fleet.html"
    report(jk, "--output", page, fmt="html")
    png = tmp_path / f"fleet-{width}.png"
    screenshot(exe, page, png, tmp_path, width, 1600)
    # The header's dark background and the red failing count must be painted.
    r = subprocess.run([sys.executable, str(REPO / "tests/observability/png_check.py"), str(png),
                        "--color", "0f172a:2000", "--color", "b91c1c:20"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    w = int.from_bytes(png.read_bytes()[16:20], "big")
    assert w == width


def test_account_scope(jk, aws, moto):
    """`--account all` reads every account the credentials see (aggregation region)."""
    fd.import_fleet(boto(moto, "securityhub"))
    doc = json.loads(report(jk, "--account", "all").stdout)
    assert doc["totals"]["hosts"] == 24 and doc["scope"] == "every visible account, ap-northeast-2"
    (first, _) = aws.ops("GetFindings")
    assert "AwsAccountId" not in first["body"]["Filters"]
    p = report(jk, "--account", "12345", codes=(1,))
    assert "neither a 12-digit account id nor `all`" in p.stderr
