"""Shared fixtures: moto_server on a free 127.0.0.1 port, the recording proxy in front of it,
the jikimi binary, scan roots and generated catalogs.

Nothing here can reach real AWS: every endpoint is overridden to 127.0.0.1, IMDS is disabled
or a local fake, HOME is a temporary directory (no ~/.aws), and HTTPS_PROXY points at a
closed port so an https request to a real endpoint would fail instead of leaving the host.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import fakes

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "ap-northeast-2"
RESOURCE = "mi-0123456789abcdef0"
AKID, SECRET, TOKEN = "AKIDJIKIMITEST", "jikimi/test+secret", "session-token-for-tests"


def jikimi_bin():
    p = Path(os.environ.get("JIKIMI_BIN", "target/debug/jikimi"))
    if not p.is_absolute():
        p = REPO / p
    if not p.exists():
        pytest.exit(f"jikimi binary not found at {p} (build it or set JIKIMI_BIN)", 2)
    return p


@pytest.fixture(scope="session")
def moto():
    port = fakes.free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.exit("moto_server did not start", 2)
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws(moto):
    """A fresh moto state and a fresh proxy in front of it."""
    urllib.request.urlopen(urllib.request.Request(moto + "/moto-api/reset", method="POST")).read()
    proxy = fakes.AwsProxy(moto, {AKID: (SECRET, TOKEN)}).start()
    yield proxy
    proxy.stop()
    assert proxy.sig_errors == [], "every request must carry a valid SigV4 signature"
    assert proxy.model_errors == [], "every request must validate against the service model"


def boto(moto, service):
    import boto3

    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=moto,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def all_findings(moto):
    sh = boto(moto, "securityhub")
    out = []
    for page in sh.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": 100}):
        out.extend(page["Findings"])
    return {f["Id"]: f for f in out}


class Jikimi:
    """Runs the agent with a clean environment."""

    def __init__(self, tmp, proxy_url=None):
        self.tmp = Path(tmp)
        self.home = self.tmp / "home"
        self.home.mkdir(exist_ok=True)
        self.state = self.tmp / "state"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "AWS_ACCESS_KEY_ID": AKID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": TOKEN,
            "AWS_EC2_METADATA_DISABLED": "true",
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_COLOR": "1",
        }
        if proxy_url:
            self.env["AWS_ENDPOINT_URL"] = proxy_url

    def config(self, text="", name="jikimi.toml", identity=True, extra_aws=""):
        body = ""
        if identity:
            body += (
                f'[aws]\naccount_id = "{ACCOUNT}"\nregion = "{REGION}"\n'
                f'resource_id = "{RESOURCE}"\nmax_attempts = 3\n{extra_aws}'
            )
        body += text
        p = self.tmp / name
        p.write_text(body)
        return p

    def run(self, *args, env=None, codes=(0, 2), timeout=60):
        e = dict(self.env)
        e.update(env or {})
        e = {k: v for k, v in e.items() if v is not None}
        p = subprocess.run(
            [str(jikimi_bin()), *map(str, args)],
            env=e,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert "panicked" not in p.stderr, p.stderr
        if codes is not None:
            assert p.returncode in codes, f"exit {p.returncode}\nstdout {p.stdout[-2000:]}\nstderr {p.stderr}"
        return p

    def check(self, root, catalog, *extra, config=None, env=None, codes=(0, 2)):
        """`check --once --format json` submitting to Security Hub; returns (process, doc)."""
        cfg = config or self.config()
        p = self.run(
            "check", "--once", "--format", "json", "--no-extra-checks",
            "--root", root, "--catalog", catalog, "--config", cfg,
            "--state-dir", self.state, *extra, env=env, codes=codes,
        )
        return p, json.loads(p.stdout) if p.stdout.strip().startswith("{") else None


@pytest.fixture
def jk(tmp_path, aws):
    return Jikimi(tmp_path, aws.url)


def check_toml(cid, expect, severity="high", title=None, refs='{ kisa = ["U-07"], cis = { rhel9 = "7.1.1" } }'):
    return (
        f'[[check]]\nid = "{cid}"\ntitle = "{title or cid + " holds"}"\nseverity = "{severity}"\n'
        f'description = "Test check {cid}."\nremediation = "Fix {cid}."\n'
        f"references = {refs}\nexpect = {expect}\n\n"
    )


APP_SECURE = '{ probe = "lines", path = "/etc/app.conf", pattern = "^secure=yes$", expect = "present", if_missing = "fail" }'
OS_ID = '{ probe = "lines", path = "/etc/os-release", pattern = "^ID=", expect = "present" }'
MANUAL = '{ probe = "manual", reason = "a process item: review the log policy" }'
BINARY = '{ probe = "lines", path = "/etc/blob.bin", pattern = "x", expect = "present" }'
NO_DEBUG = '{ probe = "lines", path = "/etc/app.conf", pattern = "^debug=", expect = "absent", if_missing = "pass" }'

BASIC = {
    "T-001": APP_SECURE,  # FAIL until fixed
    "T-002": OS_ID,  # PASS
    "T-003": MANUAL,  # NOT_APPLICABLE
    "T-004": BINARY,  # ERROR (binary file)
    "T-005": NO_DEBUG,  # FAIL (debug=1) for the whole test
}


def write_catalog(dir_, checks):
    dir_ = Path(dir_)
    if dir_.exists():
        shutil.rmtree(dir_)
    dir_.mkdir(parents=True)
    (dir_ / "test.toml").write_text('area = "test"\n\n' + "".join(check_toml(k, v) for k, v in checks.items()))
    return dir_


def make_root(tmp, secure=False):
    root = Path(tmp) / "root"
    if not root.exists():
        shutil.copytree(REPO / "tests/hosts/debian-weak/root", root, symlinks=True)
    (root / "etc/app.conf").write_text(f"secure={'yes' if secure else 'no'}\ndebug=1\n")
    (root / "etc/blob.bin").write_bytes(b"x\x00y\n")
    return root


def chromium():
    """The headless browser that renders HTML reports; a test fails (never skips) without it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("chromium is not installed (apt-get install chromium)")


def screenshot(exe, page, png, tmp_path, width, height):
    """`page` rendered by headless `exe` at width x height into `png`."""
    subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'chromium'}", f"--screenshot={png}",
         f"--window-size={width},{height}", f"file://{page}"],
        capture_output=True, timeout=120, check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert png.exists(), "chromium wrote no screenshot"
