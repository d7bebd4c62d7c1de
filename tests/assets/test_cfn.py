"""packaging/aws/jikimi.yaml: cfn-lint passes, it is generated from the current SSM
documents, its instance policy grants exactly the AWS operations the agent's source calls,
and its pieces (association by tag, EventBridge pattern, SNS) are wired as documented. Also:
the classification fixture trees are up to date with their generator."""

import json
import re
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import decode_str

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "packaging/aws/jikimi.yaml"


def template():
    tpl, errs = decode_str(TEMPLATE.read_text())
    assert not errs, errs
    return tpl


def test_cfn_lint_passes():
    p = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_template_and_fixtures_are_generated_from_their_sources():
    for script in ("packaging/aws/generate.py", "tests/assets/make_hosts.py"):
        p = subprocess.run([sys.executable, str(REPO / script), "--check"], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr


def agent_operations():
    """Every AWS operation the agent's source can call, as IAM actions."""
    ops = set()
    for f in (REPO / "agent/src").rglob("*.rs"):
        text = f.read_text()
        ops |= {f"ssm:{m}" for m in re.findall(r'"AmazonSSM\.(\w+)"', text)}
        service = "sts" if f.name == "sts.rs" else "ec2"
        ops |= {f"{service}:{m}" for m in re.findall(r'query_body\(\s*"(\w+)"', text)}
        if '"/findings/import"' in text:
            ops.add("securityhub:BatchImportFindings")
        if '"/findings/batchupdate"' in text:
            ops.add("securityhub:BatchUpdateFindings")
        if '"/findings"' in text:
            ops.add("securityhub:GetFindings")
    return ops


def test_instance_policy_is_exactly_what_the_agent_calls():
    tpl = template()
    role = tpl["Resources"]["InstanceRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    actions = set()
    for st in statements:
        if "Fn::If" in st:
            st = st["Fn::If"][1]
        a = st["Action"]
        actions |= set(a if isinstance(a, list) else [a])
        assert st["Resource"] != "*" or a == "ec2:DescribeTags", f"{st['Sid']}: no resource-level scope"
    # STS calls (assume-role and web-identity profiles) are signed with a profile's source
    # credentials for a role the operator names; the shipped instance role grants none.
    want = {a for a in agent_operations() if not a.startswith("sts:")}
    assert {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"} <= agent_operations()
    assert "ec2:CreateTags" in want and "ssm:PutInventory" in want, want
    assert actions - {"kms:Decrypt"} == want
    tags = next(s for s in statements if s.get("Sid") == "WriteOwnPrefixedTagsOnEnrolledInstances")
    assert tags["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"] == {"Fn::Sub": "${TagPrefix}*"}


def test_documents_association_and_alert_rule():
    tpl = template()
    res = tpl["Resources"]
    for logical, name in (("InstallDocument", "Jikimi-Install"), ("RunCheckDocument", "Jikimi-RunCheck"),
                          ("UninstallDocument", "Jikimi-Uninstall")):
        doc = json.loads((REPO / "ssm-documents" / f"{name}.json").read_text())
        assert res[logical]["Properties"]["Content"] == doc, logical
    assoc = res["DailyCheckAssociation"]["Properties"]
    assert assoc["Name"] == {"Ref": "RunCheckDocument"}
    assert assoc["Targets"] == [{"Key": {"Fn::Sub": "tag:${TargetTagKey}"}, "Values": [{"Ref": "TargetTagValue"}]}]
    assert tpl["Parameters"]["ScheduleExpression"]["Default"] == "rate(1 day)"
    pattern = res["FailedFindingsRule"]["Properties"]["EventPattern"]
    f = pattern["detail"]["findings"]
    assert pattern["detail-type"] == ["Security Hub Findings - Imported"]
    assert f["Compliance"]["Status"] == ["FAILED"] and f["Severity"]["Label"] == ["HIGH", "CRITICAL"]
    assert f["GeneratorId"] == [{"prefix": "jikimi/"}] and f["ProductName"] == ["Jikimi"]
    assert res["FailedFindingsRule"]["Properties"]["Targets"][0]["Arn"] == {"Ref": "AlertsTopic"}
    assert res["AlertsEmail"]["Properties"]["Protocol"] == "email"
    assert res["SlackChannel"]["Type"] == "AWS::Chatbot::SlackChannelConfiguration"
