"""Systems Manager: configuration from Parameter Store (moto) and PutComplianceItems (moto
lacks it: the proxy answers it after validating it against botocore's ssm model)."""

import fakes
from conftest import ACCOUNT, BASIC, REGION, RESOURCE, boto, make_root, write_catalog

FLEET_CONFIG = f"""
[agent]
skip = ["T-003"]

[aws]
account_id = "{ACCOUNT}"
region = "{REGION}"
resource_id = "{RESOURCE}"
"""


def run_with_parameter(jk, root, cat, name, *extra, codes=(0, 2)):
    return jk.run(
        "check", "--once", "--format", "json", "--no-extra-checks", "--root", root,
        "--catalog", cat, "--config", f"ssm:{name}", "--state-dir", jk.state, *extra,
        env={"AWS_REGION": REGION}, codes=codes,
    )


def test_configuration_from_parameter_store(jk, aws, moto, tmp_path):
    import json

    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    ssm = boto(moto, "ssm")
    ssm.put_parameter(Name="/jikimi/fleet", Value=FLEET_CONFIG, Type="String")
    ssm.put_parameter(Name="/jikimi/secure", Value=FLEET_CONFIG + '[securityhub]\nenabled = true\n',
                      Type="SecureString")
    p = run_with_parameter(jk, root, cat, "/jikimi/fleet")
    ids = [r["id"] for r in json.loads(p.stdout)["results"]]
    assert "T-003" not in ids and "T-001" in ids, "agent.skip from the parameter applies"
    req = aws.ops("GetParameter")[0]
    assert req["body"] == {"Name": "/jikimi/fleet", "WithDecryption": True}
    assert req["headers"]["content-type"] == "application/x-amz-json-1.1"
    # SecureString, decrypted; its [securityhub] switch turns the sink on.
    p = run_with_parameter(jk, root, cat, "/jikimi/secure")
    doc = json.loads(p.stdout)
    assert doc["sinks"]["securityhub"]["sent"] == 4
    # `config validate` reads parameters too.
    p = jk.run("config", "validate", "--config", "ssm:/jikimi/fleet", env={"AWS_REGION": REGION}, codes=(0,))
    assert "configuration OK" in p.stdout


def test_parameter_errors(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    ssm = boto(moto, "ssm")
    ssm.put_parameter(Name="/jikimi/bad", Value="[agent]\nprofil = \"cis\"\n", Type="String")
    p = run_with_parameter(jk, root, cat, "/jikimi/bad", codes=(1,))
    assert "ssm:/jikimi/bad:2:" in p.stderr, p.stderr
    p = run_with_parameter(jk, root, cat, "/jikimi/missing", codes=(1,))
    assert "ParameterNotFound" in p.stderr, p.stderr
    ssm.put_parameter(Name="/jikimi/list", Value="a,b", Type="StringList")
    p = run_with_parameter(jk, root, cat, "/jikimi/list", codes=(1,))
    assert "StringList" in p.stderr


def test_put_compliance_items(jk, aws, tmp_path):
    import json

    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.faults = [fakes.THROTTLE]
    p, doc = jk.check(root, cat, "--submit", "ssm-compliance")
    s = doc["sinks"]["ssm_compliance"]
    assert (s["sent"], s["calls"], s["failed"], s["pending"]) == (5, 2, 0, 0), s
    assert "securityhub" not in doc["sinks"]
    [req] = aws.compliance
    assert req["ResourceId"] == RESOURCE
    assert req["ResourceType"] == "ManagedInstance"
    assert req["ComplianceType"] == "Custom:Jikimi"
    assert req["UploadType"] == "COMPLETE"
    assert abs(req["ExecutionSummary"]["ExecutionTime"] - __import__("time").time()) < 120
    items = {i["Id"]: i for i in req["Items"]}
    assert set(items) == set(BASIC)
    assert {k: v["Status"] for k, v in items.items()} == {
        "T-001": "NON_COMPLIANT", "T-002": "COMPLIANT", "T-003": "COMPLIANT",
        "T-004": "NON_COMPLIANT", "T-005": "NON_COMPLIANT",
    }
    assert all(i["Severity"] == "HIGH" for i in items.values())
    assert items["T-003"]["Details"]["Status"] == "NOT_APPLICABLE"
    assert items["T-004"]["Details"]["Status"] == "ERROR"
    assert items["T-001"]["Title"] == "T-001 holds"
    hdr = [r for r in aws.requests if r["op"] == "PutComplianceItems"][-1]["headers"]
    assert hdr["x-amz-target"] == "AmazonSSM.PutComplianceItems"
    # Both sinks in one run.
    p, doc = jk.check(root, cat, "--submit", "securityhub,ssm-compliance")
    assert doc["sinks"]["ssm_compliance"]["sent"] == 5
    assert doc["sinks"]["securityhub"]["sent"] == 4
    json.dumps(doc)


def test_compliance_outage_and_wrong_resource(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.fail_all = fakes.UNAVAILABLE
    p, doc = jk.check(root, cat, "--submit", "ssm-compliance")
    assert p.returncode == 2
    s = doc["sinks"]["ssm_compliance"]
    assert (s["sent"], s["calls"], s["pending"]) == (0, 3, 5), s
    aws.fail_all = None
    cfg = jk.config().read_text().replace(RESOURCE, "web-1")
    (jk.tmp / "other.toml").write_text(cfg)
    p, doc = jk.check(root, cat, "--submit", "ssm-compliance", config=jk.tmp / "other.toml")
    assert "managed instance id" in doc["sinks"]["ssm_compliance"]["errors"][0]
    assert aws.compliance == []
