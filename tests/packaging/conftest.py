"""Shared fixtures for the packaging tests: the built artifacts, a moto SSM/S3 server and
an HTTPS file server, all on 127.0.0.1."""

import json
import os
import tempfile
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = REPO / "ssm-documents"
sys.path.insert(0, str(DOCS))

import render  # noqa: E402  (ssm-documents/render.py)

DOCUMENT_NAMES = ["Jikimi-Fix", "Jikimi-Install", "Jikimi-RunCheck", "Jikimi-Uninstall"]


def load_doc(name: str) -> dict:
    return json.loads((DOCS / f"{name}.json").read_text())


@pytest.fixture(scope="session")
def docs():
    return {name: load_doc(name) for name in DOCUMENT_NAMES}


@pytest.fixture(scope="session")
def dist(tmp_path_factory):
    """The artifacts of packaging/build.sh: JIKIMI_DIST if set (already built), else built now."""
    given = os.environ.get("JIKIMI_DIST")
    if given:
        path = pathlib.Path(given)
        assert (path / "SHA256SUMS").is_file(), f"JIKIMI_DIST={given} has no SHA256SUMS"
        return path
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([str(REPO / "packaging" / "build.sh"), "--out", str(out)], check=True)
    return out


def artifact(dist: pathlib.Path, pattern: str) -> pathlib.Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {dist}, found {found}"
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


# Credentials and endpoint for boto3 and the aws CLI: everything goes to moto on loopback,
# and nothing may ask the instance metadata service. The config files are an empty regular
# file (botocore refuses to parse /dev/null, which is not a regular file).
_EMPTY_AWS_FILE = os.path.join(tempfile.mkdtemp(prefix="jikimi-aws-"), "empty")
open(_EMPTY_AWS_FILE, "w").close()
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": _EMPTY_AWS_FILE,
    "AWS_SHARED_CREDENTIALS_FILE": _EMPTY_AWS_FILE,
}


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """A moto_server on 127.0.0.1:<free port>; yields its endpoint URL."""
    exe = shutil.which("moto_server")
    assert exe, "moto_server not found: run tests/packaging/setup.sh"
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc, "moto_server")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def aws_env(moto):
    env = dict(AWS_TEST_ENV)
    env["AWS_ENDPOINT_URL"] = moto
    return env


@pytest.fixture(scope="session")
def boto(aws_env):
    import boto3
    from botocore.config import Config

    def client(service: str):
        return boto3.client(
            service,
            config=Config(retries={"max_attempts": 1}),
            endpoint_url=aws_env["AWS_ENDPOINT_URL"],
            region_name=aws_env["AWS_DEFAULT_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture(scope="session")
def https_server(dist, tmp_path_factory):
    """Serves dist/ over TLS on 127.0.0.1; yields (base URL, CA bundle path)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "packaging" / "https_server.py"), str(dist), str(cert), str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        port = int(proc.stdout.readline())
        wait_for_port(port, proc, "https_server.py")
        yield f"https://127.0.0.1:{port}", cert
    finally:
        proc.terminate()
        proc.wait(timeout=10)
