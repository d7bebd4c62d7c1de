"""Every ASFF finding the agent produces validates against botocore's BatchImportFindings
model (AwsSecurityFinding) and the documented ASFF limits: for every fixture host under
tests/hosts, both profiles, on EC2 (IMDS fake, with tags) and off EC2 (configuration), plus
a catalog built to stress the limits (long Unicode text, newlines, 40 references, 100
evidence lines) and to produce all four statuses."""

import json
from pathlib import Path

import pytest

import awsmodel
import fakes
from conftest import ACCOUNT, REGION, REPO, Jikimi, check_toml, make_root

HOSTS = sorted(p.parent.name for p in (REPO / "tests/hosts").glob("*/host.toml"))
DOC = {
    "accountId": ACCOUNT, "region": REGION, "instanceId": "i-0123456789abcdef0",
    "instanceType": "t3.micro", "imageId": "ami-0abcdef1234567890", "privateIp": "10.1.2.3",
    "availabilityZone": REGION + "a", "pendingTime": "2026-01-02T03:04:05Z",
    "architecture": "x86_64", "version": "2017-09-30",
}
TAGS = {"Name": "web-1", "Env": "prod", "Blank": ""}


@pytest.fixture(scope="module")
def imds():
    m = fakes.FakeMetadata(DOC, TAGS).start()
    yield m
    m.stop()


def asff(jk, root, *extra, env=None):
    p = jk.run("check", "--once", "--format", "asff", "--root", root, *extra, env=env)
    return json.loads(p.stdout)


def stress_root(tmp):
    root = make_root(tmp)
    (root / "etc/many.conf").write_text("".join(f"bad line {i} " + "ü" * 3000 + "\n" for i in range(100)))
    return root


def stress_catalog(dir_):
    dir_.mkdir()
    long_title = "가나다라" * 50  # the catalog's own limit is 200 characters
    long_desc = "Line one.\\nLine two\\twith tab. " + "설명 " * 700
    refs = '{ kisa = [' + ", ".join(f'"U-{i:02d}"' for i in range(1, 41)) + '], cis = { rhel9 = "1.1.1", ubuntu2404 = "2.2.2" }, cce = { rhel9 = "CCE-80000-1" } }'
    many = '{ probe = "lines", path = "/etc/many.conf", pattern = "^bad", expect = "absent" }'
    body = 'area = "stress"\n\n'
    body += (
        f'[[check]]\nid = "S-001"\ntitle = "{long_title}"\nseverity = "critical"\n'
        f'description = "{long_desc}"\nremediation = "{"é" * 900}"\nreferences = {refs}\nexpect = {many}\n\n'
    )
    body += check_toml("S-002", '{ probe = "manual", reason = "process item" }', severity="info", refs="{}")
    body += check_toml("S-003", '{ probe = "lines", path = "/etc/blob.bin", pattern = "x", expect = "present" }', severity="low")
    body += check_toml("S-004", '{ probe = "lines", path = "/etc/os-release", pattern = "^ID=", expect = "present" }', severity="medium")
    (dir_ / "stress.toml").write_text(body)
    return dir_


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("profile", ["kisa", "cis"])
def test_fixture_hosts_validate_off_ec2(tmp_path, host, profile):
    jk = Jikimi(tmp_path)
    root = REPO / "tests/hosts" / host / "root"
    findings = asff(jk, root, "--no-extra-checks", "--profile", profile, "--config", jk.config())
    assert findings, "at least one finding"
    assert awsmodel.validate_findings(findings) == []
    assert {f["Resources"][0]["Type"] for f in findings} == {"Other"}
    ids = [f["Id"] for f in findings]
    assert len(ids) == len(set(ids))
    # Deterministic: a second run gives the same ids and content except timestamps.
    again = asff(jk, root, "--no-extra-checks", "--profile", profile, "--config", jk.config())
    strip = lambda fs: [{k: v for k, v in f.items() if k not in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt")} for f in fs]
    assert strip(again) == strip(findings)


@pytest.mark.parametrize("host", HOSTS)
def test_fixture_hosts_validate_on_ec2(tmp_path, imds, host):
    jk = Jikimi(tmp_path)
    root = REPO / "tests/hosts" / host / "root"
    findings = asff(jk, root, "--no-extra-checks", "--config", jk.config(identity=False),
                    env={"AWS_EC2_METADATA_DISABLED": None, "JIKIMI_IMDS_ENDPOINT": imds.url})
    assert awsmodel.validate_findings(findings) == []
    r = findings[0]["Resources"][0]
    assert r["Type"] == "AwsEc2Instance"
    assert r["Id"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0"
    own = {k: v for k, v in r["Tags"].items() if not k.startswith("jikimi:")}
    assert own == {"Name": "web-1", "Env": "prod"}, "the blank tag is dropped"
    # the asset classification adds its tags under the prefix (the live fixtures run apache2);
    # Env came from the instance's own tag, so it is not repeated as jikimi:Env
    asset = {k: v for k, v in r["Tags"].items() if k.startswith("jikimi:")}
    expected = {
        "live-good": {"jikimi:AssetType": "Web", "jikimi:Product": "httpd"},
        "live-bad": {"jikimi:AssetType": "Web", "jikimi:Product": "httpd"},
        # packages from its RPM database
        "rhel9-rpm": {"jikimi:AssetType": "DB,Web", "jikimi:Product": "nginx,postgresql"},
    }
    assert asset == expected.get(host, {}), host
    assert r["Details"]["AwsEc2Instance"] == {
        "Type": "t3.micro", "ImageId": "ami-0abcdef1234567890", "IpV4Addresses": ["10.1.2.3"],
        "LaunchedAt": "2026-01-02T03:04:05.000Z",
    }
    assert findings[0]["Id"].startswith(f"jikimi/{ACCOUNT}/{REGION}/i-0123456789abcdef0/")
    gets = [r for r in imds.requests if r[0] == "GET"]
    assert gets and all(h.get("x-aws-ec2-metadata-token") == imds.TOKEN for _, _, h in gets), "IMDSv2 only"


def test_stress_catalog_validates_and_is_cut_to_limits(tmp_path):
    jk = Jikimi(tmp_path)
    root = stress_root(tmp_path)
    cat = stress_catalog(tmp_path / "cat")
    findings = asff(jk, root, "--no-extra-checks", "--catalog", cat, "--config", jk.config())
    assert awsmodel.validate_findings(findings) == []
    by = {f["GeneratorId"]: f for f in findings}
    s1 = by["jikimi/S-001"]
    assert s1["Compliance"]["Status"] == "FAILED" and s1["FindingProviderFields"]["Severity"]["Label"] == "CRITICAL"
    assert s1["Title"] == "가나다라" * 50
    assert len(s1["Description"]) <= 1024 and "\n" not in s1["Description"]
    assert len(s1["Remediation"]["Recommendation"]["Text"]) == 512
    assert len(s1["Compliance"]["RelatedRequirements"]) == 32
    assert int(s1["ProductFields"]["jikimi/EvidenceCount"]) > 20  # the engine keeps 50
    assert sum(k.startswith("jikimi/Evidence/") for k in s1["ProductFields"]) == 20
    assert by["jikimi/S-002"]["Compliance"]["Status"] == "NOT_AVAILABLE"
    assert by["jikimi/S-003"]["Compliance"]["StatusReasons"][0]["ReasonCode"] == "CHECK_ERROR"
    assert by["jikimi/S-004"]["Compliance"]["Status"] == "PASSED"
    # The same findings as a BatchImportFindings request.
    assert awsmodel.validate_batch_import({"Findings": findings}) == []


def test_ocsf_compliance_findings(tmp_path, imds):
    jk = Jikimi(tmp_path)
    root = stress_root(tmp_path)
    cat = stress_catalog(tmp_path / "cat")
    p = jk.run("check", "--once", "--format", "ocsf", "--no-extra-checks", "--root", root,
               "--catalog", cat, "--config", jk.config())
    events = json.loads(p.stdout)
    assert len(events) == 4
    for e in events:
        for k in ("activity_id", "category_uid", "class_uid", "type_uid", "time", "severity_id",
                  "metadata", "finding_info", "compliance"):
            assert k in e, k
        assert (e["class_uid"], e["category_uid"], e["type_uid"]) == (2003, 2, 200301)
        assert e["metadata"]["version"].startswith("1.")
        assert e["compliance"]["standards"]
        assert e["cloud"]["account"]["uid"] == ACCOUNT
    by = {e["compliance"]["control"]: e for e in events}
    assert by["S-001"]["compliance"]["status_id"] == 3
    assert by["S-004"]["compliance"]["status_id"] == 1
    assert by["S-001"]["finding_info"]["uid"].endswith("/S-001")
    # Off AWS entirely (no identity, IMDS unreachable): still events, without `cloud`.
    p = jk.run("check", "--once", "--format", "ocsf", "--no-extra-checks", "--root", root,
               "--catalog", cat, "--config", jk.config(identity=False))
    assert all("cloud" not in e for e in json.loads(p.stdout))


def test_asff_needs_an_identity(tmp_path):
    jk = Jikimi(tmp_path)
    p = jk.run("check", "--once", "--format", "asff", "--no-extra-checks",
               "--root", REPO / "tests/hosts" / HOSTS[0] / "root", "--config",
               jk.config(identity=False), codes=(1,))
    assert "aws.account_id" in p.stderr
    assert Path(jk.tmp).exists()
