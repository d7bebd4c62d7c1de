"""A simulated fleet for the fleet report tests (tests/aws/test_fleet.py,
tests/assets/test_fleet_delivery.py): 24 hosts × 8 checks of ASFF findings shaped like the
agent's (sinks/asff.rs), with silent hosts, new failures, fixes, an archived finding, a waived
(SUPPRESSED) one and a host that joined inside the window; imported in several
BatchImportFindings batches.

Times are relative to NOW, the report time the tests pass with `--now`."""

import datetime

from conftest import ACCOUNT, REGION

NOW = datetime.datetime(2026, 12, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)
H = datetime.timedelta(hours=1)
D = datetime.timedelta(days=1)

CHECKS = {
    "C-01": "critical",
    "C-02": "high",
    "C-03": "high",
    "C-04": "medium",
    "C-05": "medium",
    "C-06": "low",
    "C-07": "low",
    "C-08": "info",
}
HOSTS = [f"h{i:02d}" for i in range(24)]
SILENT = ["h21", "h22", "h23"]
NEW_HOST = "h20"
# (host, check): FAILED since 3 hours ago (PASSED before)
NEWLY_FAILED = {("h01", "C-03"), ("h02", "C-03")}
# (host, check): PASSED since 5 hours ago (FAILED before)
FIXED = {("h04", "C-01"), ("h06", "C-02")}
ARCHIVED = ("h10", "C-05")  # archived 1 hour ago while failing
WAIVED = ("h12", "C-04")  # FAILED, workflow SUPPRESSED
EVIL = "<img src=x onerror=alert(1)>"


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def failing_base(i, check):
    """Whether host number i fails the check, before the window's changes."""
    return {
        "C-01": i % 4 == 0,
        "C-02": i % 3 == 0,
        "C-04": i % 2 == 0,
        "C-05": i == 10,
        "C-06": i % 5 == 0,
    }.get(check, False)


def tags(i):
    t = {}
    if i < 8:
        t["jikimi:AssetType"] = "DB"
    elif i < 16:
        t["jikimi:AssetType"] = "Web"
    t["Environment"] = "PROD" if i % 2 == 0 else "DEV"
    if i == 7:
        t["jikimi:Owner"] = EVIL
    return t


def finding(host, check):
    i = int(host[1:])
    sev = CHECKS[check]
    created = NOW - 10 * D
    first = created
    last = NOW - 2 * H
    failed = failing_base(i, check)
    if host == NEW_HOST:
        created = first = NOW - 6 * H
    if host in SILENT:
        last = NOW - 5 * D
    if (host, check) in NEWLY_FAILED:
        failed, first = True, NOW - 3 * H
    if (host, check) in FIXED:
        failed, first = False, NOW - 5 * H
    updated = max(last, first)
    status = "FAILED" if failed else "PASSED"
    res_id = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0000000000000{i:04d}"
    f = {
        "SchemaVersion": "2018-10-08",
        "Id": f"jikimi/{ACCOUNT}/{REGION}/i-0000000000000{i:04d}/{check}",
        "ProductArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
        "ProductName": "Jikimi",
        "CompanyName": "Jikimi",
        "GeneratorId": f"jikimi/{check}",
        "AwsAccountId": ACCOUNT,
        "CreatedAt": ts(created),
        "UpdatedAt": ts(updated),
        "FirstObservedAt": ts(first),
        "LastObservedAt": ts(last),
        "FindingProviderFields": {
            "Severity": {"Label": sev.upper() if failed else "INFORMATIONAL", "Original": sev},
            "Types": ["Software and Configuration Checks/Industry and Regulatory Standards/Host Hardening"],
        },
        "Title": f"{check} holds" if check != "C-08" else f"C-08 {EVIL}",
        "Description": f"Test check {check}.",
        "ProductFields": {
            "jikimi/CheckId": check,
            "jikimi/Status": "FAIL" if failed else "PASS",
            "jikimi/Severity": sev,
            "jikimi/Hostname": f"{host}.fleet.example",
        },
        "Resources": [{"Type": "AwsEc2Instance", "Id": res_id, "Partition": "aws", "Region": REGION,
                       "Tags": tags(i)}],
        "Compliance": {"Status": status},
        "RecordState": "ACTIVE",
    }
    if (host, check) == ARCHIVED:
        f["RecordState"] = "ARCHIVED"
        f["UpdatedAt"] = ts(NOW - 1 * H)
    if (host, check) == WAIVED:
        f["Workflow"] = {"Status": "SUPPRESSED"}
    return f


def fleet():
    return [finding(h, c) for h in HOSTS for c in CHECKS]


def foreign():
    """A finding of another product that the GetFindings filter should have left out."""
    f = finding("h00", "C-01")
    f["Id"] = "other/finding/1"
    f["ProductName"] = "Other"
    f["GeneratorId"] = "other/C-01"
    return f


def import_fleet(sh, batch=50):
    """Imports the fleet (and one foreign finding) in batches; returns the batch count."""
    items = fleet() + [foreign()]
    n = 0
    for k in range(0, len(items), batch):
        r = sh.batch_import_findings(Findings=items[k:k + batch])
        assert r["FailedCount"] == 0, r
        n += 1
    return n


def expected_failing():
    """Active, unwaived FAILED findings by severity."""
    out = {s: 0 for s in ("critical", "high", "medium", "low", "info")}
    for f in fleet():
        if (f["Compliance"]["Status"] == "FAILED" and f["RecordState"] == "ACTIVE"
                and "Workflow" not in f):
            out[f["ProductFields"]["jikimi/Severity"]] += 1
    return out
