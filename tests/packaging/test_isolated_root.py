"""The isolated root the real-install tests rely on: writes inside stay inside, the shared
scratch directory is shared, systemd does not look like it is running, and nothing is left
mounted or on disk after it is closed."""

import os
import pathlib
import uuid

import pytest

from isolated_root import IsolatedRoot

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts an overlay: needs root")


def test_writes_stay_inside(tmp_path):
    name = f"jikimi-isolation-probe-{uuid.uuid4().hex}"
    host_etc = pathlib.Path("/etc") / name
    assert not host_etc.exists()
    root = IsolatedRoot(shared=[tmp_path])
    try:
        out = root.run(["sh", "-c", f"echo inside > /etc/{name} && mkdir -p /var/lib/{name} "
                                    f"&& echo shared > {tmp_path}/from-inside && cat /etc/{name}"])
        assert out.returncode == 0, out.stderr
        assert out.stdout == "inside\n"
        assert root.inside(f"/etc/{name}").read_text() == "inside\n"
        assert not host_etc.exists() and not pathlib.Path(f"/var/lib/{name}").exists()
        assert (tmp_path / "from-inside").read_text() == "shared\n"
        # Deleting a host file inside hides it there only.
        assert root.run(["rm", "/etc/hostname"]).returncode == 0
        assert not root.inside("/etc/hostname").exists() and pathlib.Path("/etc/hostname").exists()
        # No systemd as far as the package hooks can tell; a private /tmp.
        assert root.run(["test", "-d", "/run/systemd/system"]).returncode == 1
        assert root.run(["sh", "-c", "ls -A /tmp | grep -v '^pytest-of-' | wc -l"]).stdout.strip() == "0"
        layers = root.dir
    finally:
        root.close()
    assert not layers.exists(), "the overlay's layers were not removed"
    assert not host_etc.exists()
    with open("/proc/self/mountinfo") as f:
        assert "jikimi-isolated-root" not in f.read()
