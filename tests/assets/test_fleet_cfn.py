"""packaging/aws/fleet-report.yaml, the daily fleet report schedule: cfn-lint passes; its IAM
is least privilege (the scheduler may only send our document to the reporter; the reporter
gains only GetFindings on the hub); the schedule's SendCommand input is valid for botocore's
model and for the document's parameters; and the document's script, run as SSM Agent would
run it (paths pointed at a temporary directory), builds the report from moto-held findings
of 24 hosts and delivers it to a local webhook."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import awsmodel
import fleet_data as fd
from cfnlint.decode import decode_str
from conftest import aws_conftest, boto

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "packaging/aws/fleet-report.yaml"

_spec = importlib.util.spec_from_file_location("ssm_render", REPO / "ssm-documents/render.py")
ssm_render = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ssm_render)


def template():
    tpl, errs = decode_str(TEMPLATE.read_text())
    assert not errs, errs
    return tpl


def sub(value, names):
    """Resolves a Fn::Sub string with the given names."""
    s = value["Fn::Sub"] if isinstance(value, dict) else value
    return re.sub(r"\$\{([A-Za-z0-9:.]+)\}", lambda m: names[m.group(1)], s)


NAMES = {"AWS::Partition": "aws", "AWS::Region": "ap-northeast-2", "AWS::AccountId": "123456789012",
         "FleetReportDocument": "Jikimi-FleetReport-abc", "ReporterInstanceId": "i-0123456789abcdef0",
         "Since": "24h", "Deliver": "mail,webhook"}


def test_cfn_lint_passes():
    p = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_least_privilege():
    res = template()["Resources"]
    # Nothing but these resources: no function, no extra role.
    assert {k: v["Type"] for k, v in res.items()} == {
        "FleetReportDocument": "AWS::SSM::Document", "SchedulerRole": "AWS::IAM::Role",
        "ReporterPolicy": "AWS::IAM::Policy", "FleetReportSchedule": "AWS::Scheduler::Schedule"}
    role = res["SchedulerRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                      "Action": "sts:AssumeRole",
                      "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]
    (pol,) = role["Policies"]
    (st,) = pol["PolicyDocument"]["Statement"]
    assert st["Action"] == "ssm:SendCommand"
    assert [sub(r, NAMES) for r in st["Resource"]] == [
        "arn:aws:ssm:ap-northeast-2:123456789012:document/Jikimi-FleetReport-abc",
        "arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123456789abcdef0"]
    (st,) = res["ReporterPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert st["Action"] == "securityhub:GetFindings"
    assert sub(st["Resource"], NAMES) == "arn:aws:securityhub:ap-northeast-2:123456789012:hub/default"
    # The agent's reader calls exactly that one operation.
    src = (REPO / "agent/src/aws/securityhub_read.rs").read_text()
    assert '"/findings", None' in src and "/findings/import" not in src


def test_schedule_input_is_a_valid_send_command():
    tpl = template()
    res = tpl["Resources"]
    target = res["FleetReportSchedule"]["Properties"]["Target"]
    assert sub(target["Arn"], NAMES) == "arn:aws:scheduler:::aws-sdk:ssm:sendCommand"
    body = json.loads(sub(target["Input"], NAMES))
    assert awsmodel.validate(awsmodel.input_shape("ssm", "SendCommand"), body) == []
    doc = res["FleetReportDocument"]["Properties"]["Content"]
    params = doc["parameters"]
    assert set(body["Parameters"]) == set(params)
    for name, (value,) in body["Parameters"].items():
        assert ssm_render.validate_value(params[name], value) is None, (name, value)
    # The stack's parameters offer exactly the document's values.
    for stack_name, doc_name in (("Since", "since"), ("Deliver", "deliver")):
        assert tpl["Parameters"][stack_name]["AllowedValues"] == params[doc_name]["allowedValues"]
        assert tpl["Parameters"][stack_name]["Default"] == params[doc_name]["default"]


def test_the_document_builds_and_delivers_the_report(jk, aws, moto, hooks, tmp_path):
    fd.import_fleet(boto(moto, "securityhub"))
    doc = template()["Resources"]["FleetReportDocument"]["Properties"]["Content"]
    script = ssm_render.render(doc, {"since": "24h", "deliver": "webhook"})
    state = tmp_path / "varlib"
    cfg = jk.config(f'[securityhub]\nrefresh_interval_secs = 86400\n[alerts.webhook]\nurl = "{hooks.base}/fleet"\n')
    script = (script.replace("/usr/bin/jikimi", str(aws_conftest.jikimi_bin()))
              .replace("/etc/jikimi/jikimi.toml", str(cfg))
              .replace("/var/lib/jikimi", str(state)))
    p = subprocess.run(["sh", "-c", script], env=jk.env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "fleet report written to" in p.stdout
    (page,) = list((state / "reports").glob("fleet-*.html"))
    assert page.read_text().startswith("<!DOCTYPE html>")
    (_, _, hook), = hooks.take("/fleet")
    assert hook["report"]["totals"]["hosts"] == 24
    assert len(aws.ops("GetFindings")) == 2
    # A parameter outside the allowed values never reaches the shell.
    try:
        ssm_render.render(doc, {"since": "24h; rm -rf /", "deliver": "mail"})
        raise AssertionError("accepted")
    except ssm_render.ParameterError:
        pass
    # A failing delivery fails the command, the report is kept.
    hooks.status = 500
    p = subprocess.run(["sh", "-c", script], env=jk.env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "FAILED: the fleet report failed" in p.stderr
