"""The signer against AWS's own SigV4 test suite and against botocore.

- The official vectors (the `aws4_testsuite` directory under botocore's source package unit/auth tests, 34
  requests): fetched once with `pip download --no-binary :all: --no-deps botocore==<the
  installed version>` into ~/.cache/jikimi/botocore-src (JIKIMI_BOTOCORE_SRC overrides the
  directory). Each raw `.req` goes through `jikimi aws sign`; the canonical request, the
  string to sign and the Authorization header must equal the `.creq`, `.sts` and `.authz`
  files. A missing suite is a failure, never a skip.
- A randomized comparison with botocore's SigV4Auth: unicode and reserved characters in
  paths and query strings, repeated keys, empty values, whitespace and repeated names in
  headers.
"""

import json
import os
import random
import subprocess
import sys
import tarfile
import urllib.parse
from pathlib import Path

import botocore
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import jikimi_bin

ACCESS, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EXPECTED_VECTORS = 34


def suite_dir():
    cache = Path(os.environ.get("JIKIMI_BOTOCORE_SRC")
                 or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jikimi/botocore-src")
    version = botocore.__version__
    out = cache / f"botocore-{version}/tests/unit/auth/aws4_testsuite"
    if out.is_dir():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    sdist = cache / f"botocore-{version}.tar.gz"
    if not sdist.exists():
        p = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
             f"botocore=={version}", "-d", str(cache)],
            capture_output=True, text=True, timeout=600,
        )
        assert p.returncode == 0 and sdist.exists(), f"cannot fetch botocore's source package: {p.stderr[-2000:]}"
    prefix = f"botocore-{version}/tests/unit/auth/aws4_testsuite/"
    with tarfile.open(sdist) as t:
        members = [m for m in t.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
        assert members, f"{sdist} has no aws4_testsuite"
        t.extractall(cache, members=members, filter="data")
    return out


def sign(items):
    p = subprocess.run([str(jikimi_bin()), "aws", "sign"], input=json.dumps(items),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def vectors():
    d = suite_dir()
    out = []
    for req in sorted(d.rglob("*.req")):
        name = req.with_suffix("")
        out.append((
            str(req.parent.relative_to(d)),
            req.read_text(encoding="utf-8"),
            {x: name.with_suffix("." + x).read_text(encoding="utf-8") for x in ("creq", "sts", "authz")},
        ))
    return out


def test_aws4_testsuite_all_vectors():
    vs = vectors()
    assert len(vs) == EXPECTED_VECTORS, [v[0] for v in vs]
    # As botocore's own harness does, the session token (if any) is the one the expected
    # canonical request signs.
    token = lambda creq: next((l.split(":", 1)[1] for l in creq.split("\n")
                               if l.startswith("x-amz-security-token:")), None)
    got = sign([{"request": raw, "service": "service", "region": "us-east-1",
                 "access_key": ACCESS, "secret_key": SECRET, "token": token(want["creq"])}
                for _, raw, want in vs])
    failures = []
    for (name, _, want), g in zip(vs, got):
        for key, ext in (("canonical_request", "creq"), ("string_to_sign", "sts"), ("authorization", "authz")):
            if g.get(key) != want[ext]:
                failures.append(f"{name} {ext}:\n want {want[ext]!r}\n got  {g.get(key, g)!r}")
                break
    passed = len(vs) - len(failures)
    assert not failures, f"{passed}/{len(vs)} vectors pass\n" + "\n".join(failures)


# -- randomized comparison with botocore ------------------------------------------------

PIECES = ["a", "Z", "0", "-", "_", ".", "~", " ", "+", "%", "/", "?", "#", "[", "]", "@", "!", "$",
          "&", "'", "(", ")", "*", ",", ";", "=", ":", "é", "한", "글", "ሴ", "😀", "\u00a0"]


def rand_text(r, lo=0, hi=8):
    return "".join(r.choice(PIECES) for _ in range(r.randint(lo, hi)))


def wire_path(r):
    segs = []
    for _ in range(r.randint(0, 4)):
        seg = r.choice([rand_text(r, 1, 6), ".", "..", "", "seg"])
        segs.append(urllib.parse.quote(seg, safe="-_.~") if seg not in (".", "..") else seg)
    path = "/" + "/".join(segs)
    if r.random() < 0.3:
        path += "/"
    return path


def wire_query(r):
    pairs = []
    keys = [rand_text(r, 1, 5) for _ in range(r.randint(1, 3))]
    for _ in range(r.randint(0, 5)):
        k = r.choice(keys)  # repeated keys on purpose
        v = r.choice(["", rand_text(r, 1, 6), "v"])
        pairs.append((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in pairs)


def headers(r):
    out = []
    names = ["X-Amz-Meta-A", "x-custom", "My-Header", "Content-Type", "x-amz-target"]
    for _ in range(r.randint(0, 5)):
        name = r.choice(names)  # repeated names on purpose
        value = r.choice(["value", "  lead", "trail  ", "in   side", "a\tb", "x, y", "", "é한"])
        out.append((name, value))
    return out


def botocore_sign(method, host, path, query, hdrs, body):
    url = f"https://{host}{path}" + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, data=body)
    for k, v in hdrs:
        req.headers.add_header(k, v)  # repeated names kept, in order
    req.context["timestamp"] = "20260102T030405Z"
    req.headers["X-Amz-Date"] = "20260102T030405Z"
    signer = SigV4Auth(Credentials(ACCESS, SECRET), "securityhub", "eu-central-1")
    creq = signer.canonical_request(req)
    return creq, signer.signature(signer.string_to_sign(req, creq), req)


def test_random_requests_match_botocore():
    r = random.Random(int(os.environ.get("JIKIMI_SIGV4_SEED", "20261206")))
    items, cases = [], []
    for _ in range(400):
        method = r.choice(["GET", "POST", "PUT", "DELETE"])
        host = r.choice(["securityhub.eu-central-1.amazonaws.com", "127.0.0.1:5000"])
        path, query, hdrs = wire_path(r), (wire_query(r) if r.random() < 0.7 else ""), headers(r)
        body = rand_text(r, 0, 20)
        raw = f"{method} {path}{'?' + query if query else ''} HTTP/1.1\n"
        raw += "".join(f"{k}:{v}\n" for k, v in [("Host", host), *hdrs, ("X-Amz-Date", "20260102T030405Z")])
        raw += "\n" + body
        items.append({"request": raw, "service": "securityhub", "region": "eu-central-1",
                      "access_key": ACCESS, "secret_key": SECRET})
        cases.append((method, host, path, query, hdrs, body.encode()))
    got = sign(items)
    bad = []
    for case, g in zip(cases, got):
        creq, sig = botocore_sign(*case)
        if g.get("canonical_request") != creq or not g.get("authorization", "").endswith("Signature=" + sig):
            bad.append(f"{case!r}\n botocore {creq!r}\n jikimi   {g.get('canonical_request', g)!r}")
    assert not bad, f"{len(bad)}/{len(cases)} differ from botocore:\n" + "\n".join(bad[:5])
