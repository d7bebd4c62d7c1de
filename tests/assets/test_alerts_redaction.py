"""Issue 12, defect 7: a webhook or Slack URL (a credential) never leaks through an error.

A receiver on 127.0.0.1 answers 400 or 500 with a body that echoes the request URL in the
forms servers and proxies use (whole, host-less path, path without its query, one segment,
one query value, percent-encoded, upper-cased), placed so that a cut to 120 characters made
before redaction would leave a prefix of the secret. Also: an unreachable receiver, a
malformed URL and a URL with userinfo in the configuration, and an AWS endpoint URL with
userinfo. Every output is searched: stdout (JSON and table), stderr, the textfile metrics,
every file of the state directory (history and alert state included)."""

import http.server
import threading
import time
import urllib.parse

import fakes
from conftest import BASIC, Jikimi, make_root, write_catalog

SEGMENTS = ("T0HARDEN9", "B0HARDEN9", "XoxHardenSecret123")
SLACK_PATH = "/services/" + "/".join(SEGMENTS)
HOOK_PATH = "/hooks/hook-secret-path-789"
QUERY_SECRET = "qtoken-456789"
SECRETS = SEGMENTS + ("hook-secret-path-789", QUERY_SECRET, "XoxHardenSecret")


class Echo:
    """Answers every POST with `status` and a body made by `body(full_url)`."""

    def __init__(self, status, body):
        self.port = fakes.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.hits = 0
        owner = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                owner.hits += 1
                out = body(owner.base + self.path).encode()
                self.send_response(status)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        for _ in range(50):
            try:
                self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
                break
            except OSError:
                time.sleep(0.1)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def boundary_body(url):
    """The URL's secret path placed so that its first 120 characters end inside it."""
    path = urllib.parse.urlsplit(url).path
    cut_inside = path.index("XoxHardenSecret") + len("XoxHarden")
    return "invalid_token " + "x" * (120 - len("invalid_token ") - cut_inside) + path


def every_form_body(url):
    u = urllib.parse.urlsplit(url)
    segs = [s for s in u.path.split("/") if len(s) >= 6]
    query_values = [v for _, v in urllib.parse.parse_qsl(u.query)]
    return " | ".join(
        [
            f"no hook at {url}",
            f"path {u.path}",
            f"bare {u.path.lstrip('/')}",
            f"netloc-less {u.netloc}{u.path}",
            "segments " + " ".join(segs),
            "values " + " ".join(query_values),
            "encoded " + urllib.parse.quote(url, safe=""),
            "every byte " + "".join(f"%{b:02X}" for b in u.path.encode()),
            "upper " + url.upper(),
        ]
    )


def outputs(jk, root, cat, cfg, state, tmp_path, fmt):
    prom = tmp_path / f"m-{fmt}.prom"
    p = jk.run("check", "--once", "--format", fmt, "--no-extra-checks", "--root", root,
               "--catalog", cat, "--config", cfg, "--state-dir", state, "--textfile", prom)
    texts = {"stdout": p.stdout, "stderr": p.stderr, "metrics": prom.read_text()}
    for f in state.rglob("*"):
        if f.is_file():
            texts[str(f)] = f.read_text(errors="replace")
    return p, texts


def assert_clean(texts):
    for where, text in texts.items():
        for s in SECRETS:
            assert s.lower() not in text.lower(), f"{s} leaked in {where}:\n{text[-3000:]}"


def test_defect7_webhook_urls_never_leak_through_receiver_errors(tmp_path):
    jk = Jikimi(tmp_path)
    cat = write_catalog(tmp_path / "cat", {"T-001": BASIC["T-001"]})
    root = make_root(tmp_path, secure=False)
    n = 0
    for status in (400, 500):
        for body in (boundary_body, every_form_body):
            echo = Echo(status, body)
            try:
                for fmt in ("json", "table"):
                    n += 1
                    cfg = jk.config(
                        f'[alerts]\nmax_attempts = 2\n'
                        f'[alerts.slack]\nurl = "{echo.base}{SLACK_PATH}"\n'
                        f'[alerts.webhook]\nurl = "{echo.base}{HOOK_PATH}?token={QUERY_SECRET}&x=1"\n',
                        name=f"c{n}.toml", identity=False)
                    p, texts = outputs(jk, root, cat, cfg, tmp_path / f"state{n}", tmp_path, fmt)
                    assert_clean(texts)
                    assert f"HTTP {status}" in p.stderr, p.stderr
                    assert "<redacted>" in p.stderr or "<webhook URL>" in p.stderr, p.stderr
            finally:
                echo.stop()
    assert n == 8


def test_defect7_unreachable_and_malformed_urls_are_not_echoed(tmp_path):
    jk = Jikimi(tmp_path)
    cat = write_catalog(tmp_path / "cat", {"T-001": BASIC["T-001"]})
    root = make_root(tmp_path, secure=False)
    # nothing listens on port 9 of loopback: a transport error
    cfg = jk.config(f'[alerts]\nmax_attempts = 1\n[alerts.slack]\nurl = "http://127.0.0.1:9{SLACK_PATH}"\n'
                    f'[alerts.webhook]\nurl = "http://127.0.0.1:9{HOOK_PATH}?token={QUERY_SECRET}"\n',
                    name="down.toml", identity=False)
    for fmt in ("json", "table"):
        p, texts = outputs(jk, root, cat, cfg, tmp_path / f"state-{fmt}", tmp_path, fmt)
        assert "kept for the next run" in p.stderr, p.stderr
        assert_clean(texts)
    # malformed URLs and userinfo in the configuration: refused without repeating them
    for bad in (f"ftp://127.0.0.1{SLACK_PATH}", f"http://bot:{QUERY_SECRET}@127.0.0.1{HOOK_PATH}",
                f"http://127.0.0.1{SLACK_PATH} x", f"https://{QUERY_SECRET}@127.0.0.1/"):
        cfg = jk.config(f'[alerts.slack]\nurl = "{bad}"\n', name="bad.toml", identity=False)
        p = jk.run("config", "validate", "--config", cfg, codes=(1,))
        assert "bad.toml:2" in p.stderr, p.stderr
        assert_clean({"stderr": p.stderr, "stdout": p.stdout})
    # an AWS endpoint URL with userinfo, in the configuration and in the environment
    cfg = jk.config(f'[aws]\nendpoint_url = "https://AKIDX:{QUERY_SECRET}@127.0.0.1:9"\n',
                    name="ep.toml", identity=False)
    p = jk.run("config", "validate", "--config", cfg, codes=(1,))
    assert "ep.toml:2" in p.stderr and "<redacted>@127.0.0.1:9" in p.stderr, p.stderr
    assert_clean({"stderr": p.stderr})
    p = jk.run("check", "--once", "--format", "json", "--no-extra-checks", "--root", root,
               "--catalog", cat, "--submit", "securityhub", "--state-dir", tmp_path / "st-ep",
               "--config", jk.config('[aws]\naccount_id = "123456789012"\nregion = "ap-northeast-2"\n'
                                     'resource_id = "i-0123456789abcdef0"\nimds = false\n',
                                     name="aws.toml", identity=False),
               env={"AWS_ENDPOINT_URL": f"http://AKIDX:{QUERY_SECRET}@127.0.0.1:9"}, codes=None)
    assert_clean({"stderr": p.stderr, "stdout": p.stdout})
