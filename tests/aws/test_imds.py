"""Identity and credentials from metadata endpoints: IMDSv2 (token first, role credentials),
ECS container credentials, and a metadata address that never answers (off EC2 behind a
firewall) costing about a second, never a hang."""

import time

import fakes
from conftest import ACCOUNT, BASIC, REGION, make_root, write_catalog

DOC = {"accountId": ACCOUNT, "region": REGION, "instanceId": "i-0feedface0000000a",
       "instanceType": "m7g.large", "imageId": "ami-01", "privateIp": "10.0.0.9"}


def test_identity_and_role_credentials_from_imds(jk, aws, moto, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    imds = fakes.FakeMetadata(DOC, {"Name": "db-1"},
                              role=("jikimi-role", "ASIAROLE", "role-secret", "role-token")).start()
    try:
        aws.keys["ASIAROLE"] = ("role-secret", "role-token")
        env = {"AWS_EC2_METADATA_DISABLED": None, "JIKIMI_IMDS_ENDPOINT": imds.url,
               "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None}
        _, doc = jk.check(root, cat, "--submit", "securityhub,ssm-compliance",
                          config=jk.config(identity=False), env=env)
        assert doc["sinks"]["securityhub"]["sent"] == 4, doc["sinks"]["securityhub"]["errors"]
        assert doc["sinks"]["ssm_compliance"]["sent"] == 5
        imp = aws.ops("BatchImportFindings")[0]
        assert imp["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=ASIAROLE/")
        assert imp["headers"]["x-amz-security-token"] == "role-token"
        f = imp["body"]["Findings"][0]
        assert f["Resources"][0]["Id"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0feedface0000000a"
        assert f["Resources"][0]["Tags"] == {"Name": "db-1"}
        assert aws.compliance[0]["ResourceId"] == "i-0feedface0000000a"
        puts = [r for r in imds.requests if r[0] == "PUT"]
        assert puts and puts[0][2]["x-aws-ec2-metadata-token-ttl-seconds"]
        assert all(h.get("x-aws-ec2-metadata-token") == imds.TOKEN for m, _, h in imds.requests if m == "GET")
    finally:
        imds.stop()


def test_container_credentials(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    meta = fakes.FakeMetadata(DOC, container=("ASIATASK", "task-secret", "task-token"),
                              container_auth="Bearer xyz").start()
    try:
        aws.keys["ASIATASK"] = ("task-secret", "task-token")
        env = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
               "AWS_CONTAINER_CREDENTIALS_FULL_URI": meta.url + "/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer xyz"}
        _, doc = jk.check(root, cat, "--submit", "securityhub", env=env)
        assert doc["sinks"]["securityhub"]["sent"] == 4
        assert aws.ops("BatchImportFindings")[0]["headers"]["x-amz-security-token"] == "task-token"
    finally:
        meta.stop()


def test_unresponsive_metadata_never_hangs(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    hole = fakes.Blackhole()
    try:
        env = {"AWS_EC2_METADATA_DISABLED": None, "JIKIMI_IMDS_ENDPOINT": hole.url}
        # Fully configured: IMDS is not even asked.
        t = time.time()
        jk.run("check", "--once", "--format", "asff", "--no-extra-checks", "--root", root,
               "--catalog", cat, "--config", jk.config(), env=env)
        assert time.time() - t < 1.0
        assert hole.accepted == 0
        # Nothing configured: one bounded attempt, then a clear error.
        t = time.time()
        p = jk.run("check", "--once", "--format", "asff", "--no-extra-checks", "--root", root,
                   "--catalog", cat, "--config", jk.config(identity=False), env=env, codes=(1,))
        took = time.time() - t
        assert took < 2.5, took
        assert hole.accepted == 1, "no second attempt after the first timed out"
        assert "aws.account_id" in p.stderr and "IMDS" in p.stderr
    finally:
        hole.close()
