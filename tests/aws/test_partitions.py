"""The checked-in partition table (agent/src/aws/partitions.json) equals the projection of
the installed botocore's partitions.json, and the agent uses it: ARNs carry the partition,
endpoints its DNS suffix, FIPS and dual-stack variants as configured."""

import json

import partitions
from conftest import BASIC, make_root, write_catalog


def test_table_matches_installed_botocore():
    checked_in = json.loads(partitions.TABLE.read_text())
    want = partitions.project()
    assert checked_in["partitions"] == want["partitions"], (
        "agent/src/aws/partitions.json is stale: run "
        "~/.cache/jikimi/aws-venv/bin/python tests/aws/partitions.py")
    ids = {p["id"] for p in checked_in["partitions"]}
    assert {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"} <= ids


class ConnectRecorder:
    """An HTTPS proxy that records the CONNECT target of each request and refuses it: the
    endpoint the agent chose, seen without anything leaving the host."""

    def __init__(self):
        import socket, threading
        self.targets = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                first = data.split(b"\r\n", 1)[0].decode(errors="replace")
                self.targets.append(first)
                c.sendall(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")

    def close(self):
        self.sock.close()


def test_arns_and_endpoints_follow_the_partition(jk, tmp_path):
    """Regions of three partitions: ARNs carry the partition; the Security Hub endpoint
    (seen as the CONNECT target at a recording proxy) has the partition's DNS suffix, and
    the FIPS and dual-stack variants when asked for by environment or configuration."""
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    proxy = ConnectRecorder()
    try:
        for region, part, host, ds in [
            ("eusc-de-east-1", "aws-eusc", "securityhub.eusc-de-east-1.amazonaws.eu",
             "securityhub.eusc-de-east-1.api.amazonwebservices.eu"),
            ("us-isof-south-1", "aws-iso-f", "securityhub.us-isof-south-1.csp.hci.ic.gov",
             "securityhub.us-isof-south-1.api.aws.hci.ic.gov"),
            ("cn-north-1", "aws-cn", "securityhub.cn-north-1.amazonaws.com.cn",
             "securityhub.cn-north-1.api.amazonwebservices.com.cn"),
        ]:
            base = jk.config().read_text()
            cfg = jk.tmp / f"{region}.toml"
            cfg.write_text(base.replace("ap-northeast-2", region).replace("max_attempts = 3", "max_attempts = 1"))
            p = jk.run("check", "--once", "--format", "asff", "--no-extra-checks", "--root", root,
                       "--catalog", cat, "--config", cfg)
            f = json.loads(p.stdout)[0]
            assert f["ProductArn"].startswith(f"arn:{part}:securityhub:{region}:"), f["ProductArn"]
            assert f["Resources"][0]["Id"].startswith(f"arn:{part}:ssm:{region}:")
            dual = jk.tmp / f"{region}-ds.toml"
            dual.write_text(cfg.read_text().replace("max_attempts = 1", "max_attempts = 1\nuse_dualstack_endpoint = true"))
            for conf, extra, want in [
                (cfg, {}, host),
                (cfg, {"AWS_USE_FIPS_ENDPOINT": "true"}, host.replace("securityhub.", "securityhub-fips.", 1)),
                (dual, {}, ds),
            ]:
                proxy.targets.clear()
                p = jk.run("check", "--once", "--format", "json", "--no-extra-checks", "--root", root,
                           "--catalog", cat, "--config", conf, "--submit", "securityhub",
                           "--state-dir", jk.tmp / f"st-{region}",
                           env={"AWS_ENDPOINT_URL": None, "HTTPS_PROXY": proxy.url, **extra})
                s = json.loads(p.stdout)["sinks"]["securityhub"]
                assert s["sent"] == 0 and s["pending"] == 4, s
                assert proxy.targets == [f"CONNECT {want}:443 HTTP/1.1"], (region, extra, proxy.targets)
    finally:
        proxy.close()
    p = jk.run("check", "--once", "--format", "json", "--no-extra-checks", "--root", root, "--catalog", cat,
               "--config", jk.config(), "--submit", "securityhub",
               env={"AWS_USE_FIPS_ENDPOINT": "bogus"}, codes=(1,))
    assert "AWS_USE_FIPS_ENDPOINT" in p.stderr
