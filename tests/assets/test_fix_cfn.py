"""The "Jikimi fix on host" wiring in packaging/aws/jikimi.yaml: a Security Hub custom action,
an EventBridge rule that starts an SSM Automation runbook (approval first by default), which
runs the Jikimi-Fix document on the finding's instance. Checked: the document is the tested
one, the runbook's steps and its parse script (executed here), the rule's pattern and input,
and that both roles are least privilege."""

import json
import re
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "packaging/aws/jikimi.yaml"


@pytest.fixture(scope="module")
def res():
    tpl, errs = decode_str(TEMPLATE.read_text())
    assert not errs, errs
    return tpl


def actions_of(statement):
    a = statement["Action"]
    return set(a if isinstance(a, list) else [a])


def test_fix_document_is_the_tested_one(res):
    doc = json.loads((REPO / "ssm-documents/Jikimi-Fix.json").read_text())
    assert res["Resources"]["FixDocument"]["Properties"]["Content"] == doc
    assert doc["parameters"]["dryRun"]["default"] == "true"


def test_approval_is_the_default_and_needs_approvers(res):
    p = res["Parameters"]
    assert p["RequireFixApproval"]["Default"] == "true"
    rule = res["Rules"]["FixApproversWhenApprovalRequired"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "RequireFixApproval"}, "true"]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Contains": [{"Ref": "FixApprovers"}, ""]}]}


def runbook(res):
    return res["Resources"]["FixRunbook"]["Properties"]["Content"]


def test_runbook_steps(res):
    rb = runbook(res)
    steps = rb["mainSteps"]
    assert [s["name"] for s in steps] == ["parse", "approvalGate", "approve", "runFix"]
    gate = steps[1]["inputs"]
    assert gate["Default"] == "approve"
    assert gate["Choices"] == [{"NextStep": "runFix", "Variable": "{{ RequireApproval }}", "StringEquals": "false"}]
    assert steps[2]["action"] == "aws:approve"
    assert steps[2]["inputs"]["Approvers"] == "{{ Approvers }}"
    assert steps[2]["inputs"]["MinRequiredApprovals"] == 1
    run = steps[3]
    assert run["action"] == "aws:runCommand" and run["isEnd"] is True
    assert run["inputs"]["DocumentName"] == {"Ref": "FixDocument"}
    assert run["inputs"]["InstanceIds"] == ["{{ parse.InstanceId }}"]
    assert run["inputs"]["Parameters"] == {"checkIds": "{{ parse.CheckId }}", "dryRun": "false"}
    assert rb["parameters"]["RequireApproval"]["default"] == {"Ref": "RequireFixApproval"}
    assert rb["assumeRole"] == "{{ AutomationAssumeRole }}"


GOOD = [
    ("arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123456789abcdef0", "jikimi/SSH-001", "i-0123456789abcdef0", "SSH-001"),
    ("arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0abc1234", "jikimi/KERN-015", "i-0abc1234", "KERN-015"),
    ("arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0", "jikimi/FILE-001", "mi-0123456789abcdef0", "FILE-001"),
]
BAD = [
    ("arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123; rm -rf /", "jikimi/SSH-001"),
    ("arn:aws:s3:::bucket/key", "jikimi/SSH-001"),
    ("arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123456789abcdef0", "prowler/SSH-001"),
    ("arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123456789abcdef0", "jikimi/SSH-001,KERN-015"),
    ("arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0123456789abcdef0", "jikimi/ssh-001"),
]


def test_parse_script_and_parameter_patterns(res):
    rb = runbook(res)
    step = rb["mainSteps"][0]
    ns = {}
    exec(step["inputs"]["Script"], ns)  # the runbook's own Python, as SSM would run it
    parse = ns[step["inputs"]["Handler"]]
    arn_pat = rb["parameters"]["ResourceArn"]["allowedPattern"]
    gen_pat = rb["parameters"]["GeneratorId"]["allowedPattern"]
    for arn, gen, instance, check in GOOD:
        assert parse({"arn": arn, "generator": gen}, None) == {"InstanceId": instance, "CheckId": check}
        assert re.fullmatch(arn_pat, arn) and re.fullmatch(gen_pat, gen)
    for arn, gen in BAD:
        with pytest.raises(ValueError):
            parse({"arn": arn, "generator": gen}, None)
        assert not (re.fullmatch(arn_pat, arn) and re.fullmatch(gen_pat, gen)), (arn, gen)
    # the check id the runbook passes on is one the Jikimi-Fix document accepts
    doc = json.loads((REPO / "ssm-documents/Jikimi-Fix.json").read_text())
    for _, _, _, check in GOOD:
        assert re.fullmatch(doc["parameters"]["checkIds"]["allowedPattern"], check)


def test_rule_matches_jikimi_custom_action_events_only(res):
    r = res["Resources"]
    rule = r["FixActionRule"]["Properties"]
    pat = rule["EventPattern"]
    assert pat["source"] == ["aws.securityhub"]
    assert pat["detail-type"] == ["Security Hub Findings - Custom Action"]
    assert pat["resources"] == [{"Fn::GetAtt": ["FixActionTarget", "ActionTargetArn"]}]
    assert pat["detail"]["findings"] == {"ProductName": ["Jikimi"], "GeneratorId": [{"prefix": "jikimi/"}]}
    (target,) = rule["Targets"]
    assert target["RoleArn"] == {"Fn::GetAtt": ["FixEventsRole", "Arn"]}
    assert "automation-definition/${FixRunbook}:$DEFAULT" in target["Arn"]["Fn::Sub"]
    tr = target["InputTransformer"]
    assert tr["InputPathsMap"] == {
        "arn": "$.detail.findings[0].Resources[0].Id",
        "generator": "$.detail.findings[0].GeneratorId",
    }
    # EventBridge inserts string values as JSON strings: the runbook gets one value per list
    event = {"detail": {"findings": [{"Resources": [{"Id": GOOD[0][0]}], "GeneratorId": GOOD[0][1]}]}}
    values = {"arn": event["detail"]["findings"][0]["Resources"][0]["Id"], "generator": event["detail"]["findings"][0]["GeneratorId"]}
    text = tr["InputTemplate"]
    for k, v in values.items():
        text = text.replace(f"<{k}>", json.dumps(v))
    assert json.loads(text) == {"ResourceArn": [GOOD[0][0]], "GeneratorId": [GOOD[0][1]]}
    assert r["FixActionTarget"]["Properties"]["Id"] == "JikimiFix"
    assert len(r["FixActionTarget"]["Properties"]["Name"]) <= 20


def test_fix_roles_are_least_privilege(res):
    r = res["Resources"]
    auto = r["FixAutomationRole"]["Properties"]
    assert auto["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ssm.amazonaws.com"}
    sts = auto["Policies"][0]["PolicyDocument"]["Statement"]
    allowed = set().union(*(actions_of(s) for s in sts))
    assert allowed == {"ssm:SendCommand", "ssm:ListCommands", "ssm:ListCommandInvocations", "ssm:GetCommandInvocation"}
    send = [s for s in sts if "ssm:SendCommand" in actions_of(s)]
    assert len(send) == 2
    doc = next(s for s in send if s["Sid"] == "RunTheFixDocument")
    assert "document/${FixDocument}" in doc["Resource"]["Fn::Sub"]
    inst = next(s for s in send if s["Sid"] == "OnTaggedInstancesOnly")
    assert inst["Condition"] == {"StringEquals": {"ssm:resourceTag/${TargetTagKey}": {"Ref": "TargetTagValue"}}}
    for s in sts:
        if s["Resource"] == "*":
            assert actions_of(s) <= {"ssm:ListCommands", "ssm:ListCommandInvocations", "ssm:GetCommandInvocation"}
    ev = r["FixEventsRole"]["Properties"]
    assert ev["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "events.amazonaws.com"}
    sts = ev["Policies"][0]["PolicyDocument"]["Statement"]
    assert set().union(*(actions_of(s) for s in sts)) == {"ssm:StartAutomationExecution", "iam:PassRole"}
    pass_role = next(s for s in sts if "iam:PassRole" in actions_of(s))
    assert pass_role["Resource"] == {"Fn::GetAtt": ["FixAutomationRole", "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}
