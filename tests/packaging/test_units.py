"""systemd units: `systemd-analyze verify` in a scratch root holding the built binary,
the sandbox the agent needs, and the exposure score of `systemd-analyze security`."""

import re
import shutil
import subprocess
import tarfile

import pytest

from conftest import REPO, artifact

UNITS_DIR = REPO / "packaging" / "systemd"
UNITS = ["jikimi.service", "jikimi-check.service", "jikimi-check.timer"]
SERVICES = ["jikimi.service", "jikimi-check.service"]
# Keep the sandbox at least this tight ("OK" in systemd's scale starts below 5.0); issue 12
# holds both services at 2.6 or below (docs/operations-safety.md lists what is left exposed).
MAX_EXPOSURE = 2.6

pytestmark = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")


@pytest.fixture(scope="module")
def unit_root(dist, tmp_path_factory):
    """A root with the host's stock units (for the dependencies systemd resolves), ours,
    /etc/jikimi/jikimi.toml, and the built /usr/bin/jikimi taken from the tarball."""
    root = tmp_path_factory.mktemp("unitroot")
    system = root / "usr/lib/systemd/system"
    system.mkdir(parents=True)
    for src in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        try:
            shutil.copytree(src, system, symlinks=True, dirs_exist_ok=True)
        except (FileNotFoundError, shutil.Error):
            pass
    for u in UNITS:
        shutil.copy(UNITS_DIR / u, system / u)
    tarball = artifact(dist, f"jikimi-*-{subprocess.check_output(['uname', '-m'], text=True).strip()}-linux-gnu.tar.gz")
    with tarfile.open(tarball) as t:
        top = t.getnames()[0].split("/")[0]
        member = t.getmember(f"{top}/usr/bin/jikimi")
        member.name = "usr/bin/jikimi"
        t.extract(member, root)
    (root / "etc/jikimi").mkdir(parents=True)
    shutil.copy(REPO / "packaging/jikimi.toml", root / "etc/jikimi/jikimi.toml")
    return root


def analyze(*args):
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("unit", UNITS)
def test_verify(unit_root, unit):
    out = analyze("verify", "--man=no", f"--root={unit_root}", unit)
    # systemd 252 only warns (exit 0) on unknown keys and bad values: any output is a failure.
    assert out.returncode == 0 and out.stdout.strip() == "" and out.stderr.strip() == "", out.stdout + out.stderr


def test_verify_catches_a_bad_unit(unit_root):
    """The check above would notice a typo."""
    bad = unit_root / "usr/lib/systemd/system/jikimi-bad.service"
    bad.write_text((UNITS_DIR / "jikimi-check.service").read_text().replace("Type=oneshot", "Type=oneshot\nProtectSytem=strict"))
    try:
        out = analyze("verify", "--man=no", f"--root={unit_root}", "jikimi-bad.service")
        assert "ProtectSytem" in out.stderr
    finally:
        bad.unlink()


@pytest.mark.parametrize("unit", SERVICES)
def test_exposure_score(unit_root, unit):
    out = analyze("security", "--offline=true", f"--root={unit_root}", "--no-pager", unit)
    assert out.returncode == 0, out.stderr
    m = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)", out.stdout)
    assert m, out.stdout[-2000:]
    score = float(m.group(1))
    print(f"systemd-analyze security {unit}: exposure {score}")
    assert score <= MAX_EXPOSURE, f"{unit}: exposure {score} > {MAX_EXPOSURE}\n{out.stdout}"


def directives(unit: str) -> dict:
    d = {}
    for line in (UNITS_DIR / unit).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            k, _, v = line.partition("=")
            d.setdefault(k, []).append(v)
    return d


@pytest.mark.parametrize("unit", SERVICES)
def test_sandbox_keeps_what_the_agent_must_read(unit):
    d = directives(unit)
    # Readable: /home (scanned), /proc of every process, root-only files via CAP_DAC_READ_SEARCH.
    assert d["ProtectHome"] == ["read-only"]
    assert d.get("ProtectProc", ["default"]) == ["default"]
    assert d.get("ProcSubset", ["all"]) == ["all"]
    assert "PrivateUsers" not in d and "DynamicUser" not in d and "User" not in d
    caps = " ".join(d["CapabilityBoundingSet"]).split()
    assert "CAP_DAC_READ_SEARCH" in caps and "CAP_SYS_ADMIN" not in caps
    # Writable: the state directory only.
    assert d["ProtectSystem"] == ["strict"]
    assert d["StateDirectory"] == ["jikimi"]
    assert d["ReadWritePaths"] == ["/var/lib/jikimi"]
    for key, want in {
        "NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes", "RestrictNamespaces": "yes", "Nice": "10",
        "IOSchedulingClass": "idle",
    }.items():
        assert d.get(key) == [want], f"{unit}: {key}={d.get(key)}"
    assert d["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]
    assert "@system-service" in d["SystemCallFilter"]
    assert d.get("CPUQuota") and d.get("MemoryMax")


def test_daemon_validates_config_first():
    d = directives("jikimi.service")
    # Both read /etc/jikimi/jikimi.toml, the default path (a missing file means defaults).
    assert d["ExecStartPre"] == ["/usr/bin/jikimi config validate"]
    assert d["ExecStart"] == ["/usr/bin/jikimi check"]


def test_oneshot_treats_findings_as_success():
    d = directives("jikimi-check.service")
    assert d["Type"] == ["oneshot"]
    assert "--once" in d["ExecStart"][0].split()
    assert d["SuccessExitStatus"] == ["2"]


def test_timer():
    d = directives("jikimi-check.timer")
    assert d["OnCalendar"] == ["daily"]
    assert d["Persistent"] == ["yes"]
    assert d.get("RandomizedDelaySec")
