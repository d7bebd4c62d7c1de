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


# ---------------------------------------------------------------- the host stays untouched
# Every real install happens in an isolated root (isolated_root.py). These are the host paths a
# real install would change; test_host_untouched.py, which runs last, compares them with the
# snapshot taken before the first test. They may exist (a manual run, an installed package):
# then they must be exactly as they were.
HOST_PATHS = ["/etc/jikimi", "/var/lib/jikimi", "/usr/bin/jikimi", "/usr/lib/systemd/system",
              "/etc/systemd/system", "/usr/share/doc/jikimi"]


def _describe(path: str) -> dict:
    """What a path holds: for each entry under it (not following symlinks) its type, mode,
    owner, size, mtime and, for regular files, content hash."""
    import hashlib
    import stat

    out = {}
    top = pathlib.Path(path)
    if not os.path.lexists(top):
        return out
    entries = [top] + (sorted(top.rglob("*")) if top.is_dir() and not top.is_symlink() else [])
    for p in entries:
        if path in ("/usr/lib/systemd/system", "/etc/systemd/system") and "jikimi" not in p.name:
            continue  # only Jikimi's units and links: the rest belongs to other packages
        st = os.lstat(p)
        entry = (stat.S_IFMT(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns)
        if stat.S_ISREG(st.st_mode):
            entry += (hashlib.sha256(p.read_bytes()).hexdigest(),)
        elif stat.S_ISLNK(st.st_mode):
            entry += (os.readlink(p),)
        out[str(p)] = entry
    return out


def host_snapshot() -> dict:
    status = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Version}", "jikimi"],
                            capture_output=True, text=True)
    snap = {"dpkg jikimi": (status.returncode, status.stdout.strip())}
    snap["dpkg info"] = sorted(str(p) for p in pathlib.Path("/var/lib/dpkg/info").glob("jikimi.*"))
    for path in HOST_PATHS:
        snap[path] = _describe(path)
    return snap


HOST_BEFORE = {}


def pytest_configure(config):
    HOST_BEFORE.update(host_snapshot())


def pytest_collection_modifyitems(session, config, items):
    """The host check runs after every other test."""
    last = [i for i in items if i.module.__name__ == "test_host_untouched"]
    items[:] = [i for i in items if i not in last] + last
