"""Asset tags in AWS: the EC2 instance's own tags (CreateTags/DeleteTags under the prefix,
through moto_server), SSM Inventory Custom:JikimiAsset (PutInventory, validated against the
botocore model by the recorder), and Security Hub's Resources[0].Tags."""

import json

from conftest import ACCOUNT, BASIC, HOSTS, REGION, boto, write_catalog


def instance(moto):
    ec2 = boto(moto, "ec2")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    return ec2, iid


def tags_of(ec2, iid):
    out = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    return {t["Key"]: t["Value"] for t in out}


def run(jk, host, cat, iid, extra_cfg=""):
    cfg = jk.config(
        '[asset]\nenv = "PROD"\nowner = "DevOps"\n' + extra_cfg,
        identity=False,
    )
    cfg.write_text(
        f'[aws]\naccount_id = "{ACCOUNT}"\nregion = "{REGION}"\nresource_id = "{iid}"\nmax_attempts = 2\n'
        + cfg.read_text()
    )
    p, doc = jk.check(HOSTS / host / "root", cat, "--submit", "ec2-tags", config=cfg)
    assert doc is not None, p.stderr
    return doc


def test_ec2_tags_applied_updated_and_removed_only_under_the_prefix(jk, aws, moto, tmp_path):
    ec2, iid = instance(moto)
    ec2.create_tags(Resources=[iid], Tags=[
        {"Key": "Name", "Value": "db-1"},
        {"Key": "Environment", "Value": "prod"},
        {"Key": "jikimi:Manual", "Value": "set by a person"},
    ])
    cat = write_catalog(tmp_path / "cat", {"T-002": BASIC["T-002"]})

    doc = run(jk, "db", cat, iid)
    s = doc["sinks"]["ec2_tags"]
    assert s["errors"] == [] and s["sent"] == 4, s
    assert tags_of(ec2, iid) == {
        "Name": "db-1", "Environment": "prod", "jikimi:Manual": "set by a person",
        "jikimi:AssetType": "DB", "jikimi:Product": "mariadb,postgresql,redis",
        "jikimi:Env": "PROD", "jikimi:Owner": "DevOps",
    }
    creates = aws.ops("CreateTags")
    assert len(creates) == 1 and creates[0]["form"]["ResourceId.1"] == iid

    # unchanged host: one DescribeTags, no write
    aws.reset_counts()
    doc = run(jk, "db", cat, iid)
    assert doc["sinks"]["ec2_tags"]["sent"] == 0 and doc["sinks"]["ec2_tags"]["unchanged"] == 4
    assert [r["op"] for r in aws.requests] == ["DescribeTags"]

    # a person edits one of Jikimi's tags: Jikimi no longer owns it and never deletes it
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "jikimi:Owner", "Value": "Platform"}])

    # the databases go away: their tags go, everything else stays
    aws.reset_counts()
    doc = run(jk, "none", cat, iid, extra_cfg="")
    s = doc["sinks"]["ec2_tags"]
    assert s["errors"] == [], s
    after = tags_of(ec2, iid)
    assert "jikimi:AssetType" not in after and "jikimi:Product" not in after
    assert after["Name"] == "db-1" and after["Environment"] == "prod"
    assert after["jikimi:Manual"] == "set by a person", "a prefixed tag Jikimi did not set is untouched"
    assert after["jikimi:Env"] == "PROD"
    deletes = aws.ops("DeleteTags")
    assert len(deletes) == 1
    deleted = {v for k, v in deletes[0]["form"].items() if k.endswith(".Key")}
    assert deleted == {"jikimi:AssetType", "jikimi:Product"}, "only what it set, and only gone services"
    # owner is desired again (configuration): it is re-asserted, the manual value replaced
    assert after["jikimi:Owner"] == "DevOps"
    state = json.loads((jk.state / "ec2-tags-state.json").read_text())
    assert set(state["set"]) == {"jikimi:Env", "jikimi:Owner"}

    # the service comes back: the next scan tags it again
    doc = run(jk, "web", cat, iid)
    assert tags_of(ec2, iid)["jikimi:AssetType"] == "Web"


def test_ec2_tags_need_an_instance_and_never_fail_the_run(jk, aws, tmp_path):
    cat = write_catalog(tmp_path / "cat", {"T-002": BASIC["T-002"]})
    p, doc = jk.check(HOSTS / "web" / "root", cat, "--submit", "ec2-tags", config=jk.config())
    assert p.returncode == 0
    assert "EC2 instance" in doc["sinks"]["ec2_tags"]["errors"][0]


def test_inventory_custom_type_validates_against_the_model(jk, aws, tmp_path):
    cat = write_catalog(tmp_path / "cat", {"T-002": BASIC["T-002"]})
    cfg = jk.config('[asset]\nenv = "PROD"\npersonal_data = true\n[ssm_inventory]\nenabled = true\n')
    for host in ("mixed", "none"):
        p, doc = jk.check(HOSTS / host / "root", cat, config=cfg)
        assert doc["sinks"]["ssm_inventory"] == {
            "sent": 1, "calls": 1, "failed": 0, "pending": 0, "unchanged": 0, "archived": 0, "errors": []}
    assert len(aws.inventory) == 2
    first, second = aws.inventory
    assert first["InstanceId"] == "mi-0123456789abcdef0"
    item = first["Items"][0]
    assert item["TypeName"] == "Custom:JikimiAsset" and item["SchemaVersion"] == "1.0"
    rows = {r["Rule"]: r for r in item["Content"]}
    assert set(rows) == {"httpd", "jboss", "uwsgi", "php-fpm", "mysql"}
    assert rows["mysql"]["AssetType"] == "DB" and rows["mysql"]["Product"] == "mysql"
    assert all(r["Env"] == "PROD" and r["PersonalData"] == "Y" for r in item["Content"])
    assert "tcp port 3306" in rows["mysql"]["Evidence"]
    empty = second["Items"][0]["Content"]
    assert len(empty) == 1 and empty[0]["AssetType"] == "" and empty[0]["Env"] == "PROD"
    assert second["Items"][0]["ContentHash"] != item["ContentHash"]


def test_security_hub_resource_tags_and_metrics(jk, aws, tmp_path):
    cat = write_catalog(tmp_path / "cat", {"T-002": BASIC["T-002"]})
    cfg = jk.config('[asset]\nowner = "DevOps"\n')
    prom = tmp_path / "jikimi.prom"
    p = jk.run("check", "--once", "--format", "asff", "--no-extra-checks", "--root", HOSTS / "was" / "root",
               "--catalog", cat, "--config", cfg, "--textfile", prom)
    f = json.loads(p.stdout)[0]
    assert f["Resources"][0]["Tags"] == {
        "jikimi:AssetType": "WAS", "jikimi:Product": "gunicorn,nodejs,tomcat", "jikimi:Owner": "DevOps"}
    text = prom.read_text()
    assert ('jikimi_asset_info{asset_type="WAS",product="gunicorn,nodejs,tomcat",env="",owner="DevOps",'
            'personal_data=""} 1') in text
    assert 'jikimi_asset_product{rule="tomcat",asset_type="WAS",product="tomcat"} 1' in text
