"""Waivers in Security Hub: a waived finding stays FAILED and its workflow becomes SUPPRESSED
with a note through BatchUpdateFindings (moto has no BatchUpdateFindings: the recording proxy
answers it after validating the request, method and path against botocore's model); it goes
back to NEW when the waiver expires or is removed; a workflow set by hand is never touched."""

import datetime
import json

from conftest import ACCOUNT, BASIC, REGION, RESOURCE, all_findings, make_root, write_catalog

PREFIX = f"jikimi/{ACCOUNT}/{REGION}/{RESOURCE}/"


def day(offset):
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=offset)).isoformat()


def waiver(check, expires, reason="accepted"):
    return (f'[[waiver]]\ncheck = "{check}"\nreason = "{reason}"\napproved_by = "kim@example.com"\n'
            f'expires = "{expires}"\n\n')


def run(jk, root, cat, waivers):
    cfg = jk.config(f'[agent]\nwaivers_dir = "{jk.tmp / "waivers.d"}"\n\n' + waivers)
    (jk.tmp / "waivers.d").mkdir(exist_ok=True)
    return jk.check(root, cat, "--submit", "securityhub", config=cfg)


def updates(aws):
    return [r["body"] for r in aws.ops("BatchUpdateFindings")]


def test_suppressed_then_new_and_hand_set_workflows_left_alone(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    # First run without waivers: findings are imported; a person suppresses T-005 by hand.
    p, doc = run(jk, root, cat, "")
    assert p.returncode == 2
    assert updates(aws) == []
    aws.workflow[PREFIX + "T-005"] = {"Status": "SUPPRESSED", "Note": {"Text": "by hand", "UpdatedBy": "alice"}}

    # T-001 waived: still FAILED in Security Hub, workflow SUPPRESSED with the note. T-005 is
    # waived too, but a person already suppressed it: left as it is, never the agent's.
    aws.reset_counts()
    both = waiver("T-001", day(100), "bastion needs it") + waiver("T-005", day(100))
    p, doc = run(jk, root, cat, both)
    assert p.returncode == 0, "both failures are waived"
    assert [r["status"] for r in doc["results"] if r["id"] in ("T-001", "T-005")] == ["WAIVED", "WAIVED"]
    assert aws.ops("GetFindings"), "the current workflow is read before any change"
    (u,) = updates(aws)
    assert u["Workflow"] == {"Status": "SUPPRESSED"}
    assert u["FindingIdentifiers"] == [{
        "Id": PREFIX + "T-001",
        "ProductArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
    }]
    assert u["Note"]["UpdatedBy"] == "jikimi"
    assert u["Note"]["Text"].startswith(f"Waived until {day(100)} (approved by kim@example.com): bastion needs it")
    assert all_findings(moto)[PREFIX + "T-001"]["Compliance"]["Status"] == "FAILED"
    assert aws.workflow[PREFIX + "T-001"]["Status"] == "SUPPRESSED"
    assert doc["sinks"]["securityhub_workflow"]["sent"] == 1

    assert aws.workflow[PREFIX + "T-005"]["Note"]["UpdatedBy"] == "alice"

    # Unchanged: no update at all.
    aws.reset_counts()
    run(jk, root, cat, both)
    assert updates(aws) == []

    # The waiver is removed: back to NEW. T-005, suppressed by hand, is never touched.
    aws.reset_counts()
    p, doc = run(jk, root, cat, "")
    (u,) = updates(aws)
    assert u["Workflow"] == {"Status": "NEW"}
    assert [i["Id"] for i in u["FindingIdentifiers"]] == [PREFIX + "T-001"]
    assert u["Note"]["Text"].startswith("Waiver removed")
    assert p.returncode == 2
    assert aws.workflow[PREFIX + "T-001"]["Status"] == "NEW"
    assert aws.workflow[PREFIX + "T-005"] == {"Status": "SUPPRESSED", "Note": {"Text": "by hand", "UpdatedBy": "alice"}}
    for body in (r["body"] for r in aws.requests if r["op"] == "BatchUpdateFindings"):
        assert all(i["Id"] != PREFIX + "T-005" for i in body["FindingIdentifiers"])


def test_a_finding_a_person_took_over_is_not_restored(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    run(jk, root, cat, waiver("T-001", day(30)))
    assert aws.workflow[PREFIX + "T-001"]["Status"] == "SUPPRESSED"
    # a person rewrites the note (their workflow decision now)
    aws.workflow[PREFIX + "T-001"]["Note"] = {"Text": "keep suppressed: ticket SEC-42", "UpdatedBy": "alice"}
    aws.reset_counts()
    run(jk, root, cat, "")
    assert updates(aws) == []
    assert aws.workflow[PREFIX + "T-001"]["Status"] == "SUPPRESSED"
    # and it is forgotten: a later run does not even look
    aws.reset_counts()
    run(jk, root, cat, "")
    assert aws.ops("GetFindings") == [] and updates(aws) == []


def test_expired_waiver_sets_new_with_the_expiry(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    run(jk, root, cat, waiver("T-001", day(3)))
    assert aws.workflow[PREFIX + "T-001"]["Status"] == "SUPPRESSED"
    # The same waiver, seen after its expiry (its date now in the past).
    aws.reset_counts()
    p, doc = run(jk, root, cat, waiver("T-001", day(-1)))
    t1 = [r for r in doc["results"] if r["id"] == "T-001"][0]
    assert t1["status"] == "FAIL" and t1["waiver"]["expired"] is True
    (u,) = updates(aws)
    assert u["Workflow"] == {"Status": "NEW"}
    assert u["Note"]["Text"].startswith(f"Waiver expired on {day(-1)}")


def test_first_run_waived_finding_is_suppressed_after_its_import(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    p, doc = run(jk, root, cat, waiver("T-001", day(30)) + waiver("T-002", day(30)))
    ops = [r["op"] for r in aws.requests if r["op"] != "GetFindings" or r["body"]]
    assert ops == ["BatchImportFindings", "GetFindings", "BatchUpdateFindings"], ops
    # T-002 passes: a waiver never touches it
    (u,) = updates(aws)
    assert [i["Id"] for i in u["FindingIdentifiers"]] == [PREFIX + "T-001"]
    assert json.dumps(doc["summary"]).count('"waived": 1')
