"""The SSM API (moto_server on 127.0.0.1) accepts the documents, a SendCommand of each
with realistic parameters, and the State Manager association example."""

import json

import pytest

from conftest import DOCS, DOCUMENT_NAMES, load_doc

INSTANCE = "i-0123456789abcdef0"
SEND_PARAMS = {
    "Jikimi-Install": {
        "version": ["0.1.0"],
        "packageUrl": ["s3://jikimi-artifacts/0.1.0/jikimi_0.1.0-1_amd64.deb"],
        "sha256": ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
        "configParameter": ["/jikimi/config"],
        "units": ["timer"],
    },
    "Jikimi-RunCheck": {"sinks": ["file"], "failOnFindings": ["false"]},
    "Jikimi-Fix": {"checkIds": ["SSH-001,KERN-015"], "dryRun": ["true"], "minSeverity": ["info"]},
    "Jikimi-Uninstall": {"keepState": ["true"]},
}


@pytest.fixture(scope="module")
def ssm(boto):
    client = boto("ssm")
    for name in DOCUMENT_NAMES:
        client.create_document(
            Content=(DOCS / f"{name}.json").read_text(),
            Name=name,
            DocumentType="Command",
            DocumentFormat="JSON",
        )
    return client


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_create_document(ssm, name):
    desc = ssm.describe_document(Name=name)["Document"]
    assert desc["SchemaVersion"] == "2.2"
    assert desc["DocumentType"] == "Command"
    declared = set(load_doc(name)["parameters"])
    assert {p["Name"] for p in desc["Parameters"]} == declared
    content = json.loads(ssm.get_document(Name=name)["Content"])
    assert content == load_doc(name)


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_send_command(ssm, name):
    cmd = ssm.send_command(
        InstanceIds=[INSTANCE],
        DocumentName=name,
        Parameters=SEND_PARAMS[name],
        TimeoutSeconds=600,
        Comment=f"jikimi packaging test: {name}",
    )["Command"]
    assert cmd["DocumentName"] == name
    assert cmd["Parameters"] == SEND_PARAMS[name]
    listed = ssm.list_commands(CommandId=cmd["CommandId"])["Commands"]
    assert [c["CommandId"] for c in listed] == [cmd["CommandId"]]


def test_send_command_by_tag(ssm):
    cmd = ssm.send_command(
        Targets=[{"Key": "tag:jikimi", "Values": ["enabled"]}],
        DocumentName="Jikimi-RunCheck",
        Parameters=SEND_PARAMS["Jikimi-RunCheck"],
        MaxConcurrency="10%",
        MaxErrors="5%",
    )["Command"]
    assert cmd["MaxConcurrency"] == "10%"


def test_association_example(ssm):
    """moto has no CreateAssociation: check the example against the API's own input model
    (botocore's parameter validation, as the CLI does for --cli-input-json), and that the
    document and parameters it names are registered and valid."""
    from botocore.validate import validate_parameters

    example = json.loads((DOCS / "association-example.json").read_text())
    shape = ssm.meta.service_model.operation_model("CreateAssociation").input_shape
    validate_parameters(example, shape)  # raises ParamValidationError
    assert ssm.describe_document(Name=example["Name"])["Document"]["Status"] == "Active"


def test_distributor_package_document(boto, dist):
    """The Distributor manifest is accepted as a Package document (attachments in S3)."""
    s3 = boto("s3")
    bucket = "jikimi-distributor-test"
    s3.create_bucket(Bucket=bucket)
    d = dist / "distributor"
    for f in d.iterdir():
        s3.upload_file(str(f), bucket, f"jikimi/{f.name}")
    ssm = boto("ssm")
    try:
        desc = ssm.create_document(
            Content=(d / "manifest.json").read_text(),
            Name="Jikimi",
            DocumentType="Package",
            DocumentFormat="JSON",
            Attachments=[{"Key": "SourceUrl", "Values": [f"s3://{bucket}/jikimi"]}],
            VersionName=json.loads((d / "manifest.json").read_text())["version"],
        )["DocumentDescription"]
    except ssm.exceptions.ClientError as e:  # pragma: no cover - depends on moto's coverage
        pytest.skip(f"moto does not model Package documents: {e}")
    assert desc["DocumentType"] == "Package"
