"""Fixtures of the asset, alert and AWS-wiring tests. The AWS side reuses tests/aws: the
moto_server fixture, the recording proxy that checks SigV4 with botocore and validates
requests against the service models, and the `Jikimi` runner with a clean environment.
Everything listens on 127.0.0.1; nothing reaches AWS, Slack or a mail server."""

import http.server
import importlib.util
import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/aws"))

import awsmodel  # noqa: E402
import fakes  # noqa: E402

_spec = importlib.util.spec_from_file_location("aws_conftest", REPO / "tests/aws/conftest.py")
aws_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(aws_conftest)

# re-exported: pytest registers fixtures found in a conftest's namespace
moto = aws_conftest.moto
Jikimi = aws_conftest.Jikimi
boto = aws_conftest.boto
write_catalog = aws_conftest.write_catalog
BASIC = aws_conftest.BASIC
ACCOUNT, REGION, RESOURCE = aws_conftest.ACCOUNT, aws_conftest.REGION, aws_conftest.RESOURCE
AKID, SECRET, TOKEN = aws_conftest.AKID, aws_conftest.SECRET, aws_conftest.TOKEN
HOSTS = REPO / "tests/assets/hosts"


def make_root(tmp, secure=False):
    """A small Debian tree (the `none` fixture host) with /etc/app.conf for the BASIC checks:
    T-001 fails until `secure`; T-004 reads a binary file (ERROR)."""
    import shutil

    root = Path(tmp) / "root"
    if not root.exists():
        shutil.copytree(HOSTS / "none" / "root", root, symlinks=True)
    (root / "etc/app.conf").write_text(f"secure={'yes' if secure else 'no'}\ndebug=1\n")
    (root / "etc/blob.bin").write_bytes(b"x\x00y\n")
    return root


class Recorder(fakes.AwsProxy):
    """The tests/aws proxy, plus: PutInventory answered here after validation against the ssm
    model (moto does not implement it), and Query-protocol (EC2) requests named by Action."""

    def __init__(self, upstream, keys):
        super().__init__(upstream, keys)
        self.inventory = []

    def handle(self, method, path, headers, body):
        out = super().handle(method, path, headers, body)
        if not headers.get("x-amz-target") and body and self.requests:
            form = urllib.parse.parse_qs(body.decode(errors="replace"))
            if "Action" in form:
                with self.lock:
                    self.requests[-1]["op"] = form["Action"][0]
                    self.requests[-1]["form"] = {k: v[0] for k, v in form.items()}
        return out

    def _forward(self, method, path, headers, body):
        if headers.get("x-amz-target") == "AmazonSSM.PutInventory":
            parsed = json.loads(body)
            errs = awsmodel.validate(awsmodel.input_shape("ssm", "PutInventory"), parsed)
            with self.lock:
                self.model_errors.extend(f"PutInventory {e}" for e in errs)
                self.inventory.append(parsed)
            return 200, {"content-type": "application/x-amz-json-1.1"}, b"{}"
        return super()._forward(method, path, headers, body)


@pytest.fixture
def aws(moto):
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(moto + "/moto-api/reset", method="POST")).read()
    proxy = Recorder(moto, {AKID: (SECRET, TOKEN)}).start()
    yield proxy
    proxy.stop()
    assert proxy.sig_errors == [], "every request must carry a valid SigV4 signature"
    assert proxy.model_errors == [], "every request must validate against the service model"


@pytest.fixture
def jk(tmp_path, aws):
    return Jikimi(tmp_path, aws.url)


class Hooks:
    """A webhook receiver (Slack and generic) on a fixed port that can go down and come back."""

    def __init__(self):
        self.port = fakes.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.received = []  # (path, headers, json body)
        self.status = 200
        self._server = None

    def start(self):
        owner = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                owner.received.append((self.path, dict(self.headers), json.loads(body)))
                out = b"ok"
                self.send_response(owner.status)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        for _ in range(50):
            try:
                self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("cannot listen")
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def take(self, prefix):
        got = [r for r in self.received if r[0].startswith(prefix)]
        self.received = [r for r in self.received if not r[0].startswith(prefix)]
        return got


@pytest.fixture
def hooks():
    h = Hooks().start()
    yield h
    h.stop()
