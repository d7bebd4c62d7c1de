"""Jikimi-Fix, executed: its rendered script runs the real agent (`jikimi fix`) on a copy of
the weakest fixture host, never on this machine. The document's /usr/bin/jikimi is replaced
in the rendered script by a wrapper that adds --root and a private --state-dir, so what is
tested is the document's own logic: parameter passing, dry run by default, exit codes."""

import hashlib
import os
import pathlib
import shutil
import subprocess
import tomllib

import pytest

from conftest import REPO, load_doc, render

BIN = REPO / "target" / "debug" / "jikimi"


def materialise(name: str, into: pathlib.Path) -> pathlib.Path:
    """Copies tests/hosts/NAME/root and applies its host.toml dirs and modes."""
    src = REPO / "tests" / "hosts" / name
    spec = tomllib.loads((src / "host.toml").read_text())
    root = into / name
    shutil.copytree(src / "root", root, symlinks=True)
    for d in spec.get("dirs", []):
        (root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)

    def ident(table: str, who: str) -> int:
        for line in (root / "etc" / table).read_text().splitlines():
            f = line.split(":")
            if f[0] == who:
                return int(f[2])
        return int(who)

    for m in spec.get("modes", []):
        path, mode, owner, group = m.split()
        p = root / path.lstrip("/")
        os.lchown(p, ident("passwd", owner), ident("group", group))
        os.chmod(p, int(mode, 8))
    return root


def tree_hash(root: pathlib.Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        h.update(f"{p.relative_to(root)} {st.st_mode:o} {st.st_uid}:{st.st_gid}\n".encode())
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
        elif p.is_symlink():
            h.update(os.readlink(p).encode())
    return h.hexdigest()


@pytest.fixture
def host(tmp_path):
    assert BIN.is_file(), f"{BIN} is missing: tests/run.sh builds it (cargo test) before this suite"
    root = materialise("debian-weak", tmp_path)
    state = tmp_path / "state"
    config = tmp_path / "jikimi.toml"
    config.write_text("")
    wrapper = tmp_path / "jikimi"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'exec "{BIN}" "$@" --root "{root}" --state-dir "{state}" --config "{config}" --no-extra-checks\n'
    )
    wrapper.chmod(0o755)
    return root, wrapper


def run_doc(wrapper: pathlib.Path, **params) -> subprocess.CompletedProcess:
    script = render.render(load_doc("Jikimi-Fix"), params)
    assert "/usr/bin/jikimi" in script
    script = script.replace("/usr/bin/jikimi", str(wrapper))
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=300)


def test_dry_run_is_the_default_and_changes_nothing(host):
    root, wrapper = host
    before = tree_hash(root)
    out = run_doc(wrapper)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "+++ b/etc/login.defs" in out.stdout
    assert "dry run: nothing was changed" in out.stdout
    assert tree_hash(root) == before


def test_applies_the_selected_fix(host):
    root, wrapper = host
    assert (root / "etc/passwd").stat().st_mode & 0o777 == 0o666
    out = run_doc(wrapper, checkIds="FILE-001,KERN-015", dryRun="false", minSeverity="high")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "applied run" in out.stdout and "FILE-001" in out.stdout
    assert (root / "etc/passwd").stat().st_mode & 0o777 == 0o644
    # KERN-015 is high too, and was selected
    assert "kernel.randomize_va_space = 2" in (root / "etc/sysctl.d/zz-jikimi.conf").read_text()


def test_a_refused_fix_fails_the_command_and_changes_nothing(host):
    root, wrapper = host
    before = tree_hash(root)
    # no account on this host has an authorized_keys file: the lock-out guard refuses
    out = run_doc(wrapper, checkIds="SSH-022", dryRun="false")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "REFUSED" in out.stdout
    assert "refused or rolled back" in out.stderr
    assert tree_hash(root) == before


def test_unknown_check_is_a_failed_run(host):
    _, wrapper = host
    out = run_doc(wrapper, checkIds="NOPE-001", dryRun="true")
    assert out.returncode == 1
    assert "could not run" in out.stderr
