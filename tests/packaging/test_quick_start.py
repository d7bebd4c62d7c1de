"""The README's quick start, in its order, on a machine where Jikimi has been used: first
`cargo run --release -p jikimi -- check --once` (which records history in /var/lib/jikimi, the
default state directory), and the package installed as docs/packaging.md shows
(`JIKIMI_ENABLE=timer apt-get install ./dist/jikimi_*.deb`); then the suite that used to
refuse such a machine, the real-install tests, must pass there and leave that machine's own
Jikimi alone.

All of it happens in an isolated root (the host's / under a private overlay): the README's
first command writes /var/lib/jikimi, which a test must never do on the host. The repository
is shared with the root, so `cargo run --release` builds into this checkout's target/ as a
user's would.
"""

import hashlib
import os
import pathlib
import shutil

import pytest

from conftest import REPO, artifact
from isolated_root import IsolatedRoot

DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, "")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="mounts an overlay and installs a package: needs root"),
    pytest.mark.skipif(not shutil.which("dpkg") or not DEB_ARCH, reason="needs dpkg on x86_64 or aarch64"),
]


def tree(root: IsolatedRoot, path: str) -> dict:
    """Every entry under path inside the root with a hash of regular files."""
    top = root.inside(path)
    out = {}
    for p in sorted(top.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(top))] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[str(p.relative_to(top))] = None
    return out


def test_quick_start_then_the_suites(dist, tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    shared = [base, REPO]
    if not dist.resolve().is_relative_to(base.resolve()):
        shared.append(dist)
    with IsolatedRoot(shared=shared) as root:
        # The user's own environment (cargo and rustup under HOME); whatever cargo writes
        # outside the shared checkout lands in the overlay.
        env = {k: v for k, v in os.environ.items() if not k.startswith("JIKIMI_")}

        # 1. The README's first command, word for word.
        out = root.run(["cargo", "run", "--release", "-p", "jikimi", "--", "check", "--once"],
                       cwd=REPO, env=env, timeout=3600)
        print(out.stdout[-2000:], out.stderr[-3000:])
        assert out.returncode in (0, 2), f"cargo run --release -p jikimi -- check --once exited {out.returncode}"
        history = root.inside("/var/lib/jikimi/history")
        assert history.is_dir() and any(history.iterdir()), "check --once recorded no history in /var/lib/jikimi"

        # The package installed the way docs/packaging.md says.
        deb = artifact(dist, f"jikimi_*_{DEB_ARCH}.deb")
        out = root.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", str(deb)],
                       env=dict(env, JIKIMI_ENABLE="timer", DEBIAN_FRONTEND="noninteractive"))
        assert out.returncode == 0, out.stdout + out.stderr
        status = root.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "jikimi"]).stdout
        assert status == "installed"
        before = {"state": tree(root, "/var/lib/jikimi"), "etc": tree(root, "/etc/jikimi"),
                  "bin": hashlib.sha256(root.inside("/usr/bin/jikimi").read_bytes()).hexdigest()}

        # 2. The real-install suite, which refused to run on such a machine, run from inside it
        # (it makes its own isolated root on top of this one).
        inner_base = base / "quick-start-inner"
        out = root.run(["python3", "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--basetemp={inner_base}",
                        "tests/packaging/test_e2e.py"],
                       cwd=REPO, env=dict(env, JIKIMI_DIST=str(dist)), timeout=1800)
        print(out.stdout[-4000:], out.stderr[-2000:])
        assert out.returncode == 0, "the real-install tests failed on a machine where Jikimi was run and installed"
        assert " passed" in out.stdout and " failed" not in out.stdout and " skipped" not in out.stdout

        # That machine's own Jikimi is as it was: installed, its state and configuration unchanged.
        assert root.run(["dpkg-query", "-W", "-f=${db:Status-Status}", "jikimi"]).stdout == "installed"
        after = {"state": tree(root, "/var/lib/jikimi"), "etc": tree(root, "/etc/jikimi"),
                 "bin": hashlib.sha256(root.inside("/usr/bin/jikimi").read_bytes()).hexdigest()}
        assert after == before
        links = sorted(p.name for p in root.inside("/etc/systemd/system").glob("*.wants/jikimi*"))
        assert links == ["jikimi-check.timer"]
    shutil.rmtree(inner_base, ignore_errors=True)
