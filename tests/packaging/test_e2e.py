"""Real install, scan and uninstall of the .deb through the SSM documents' scripts, run as SSM
Agent would: parameters validated and substituted into runCommand, the result run by a shell
as root. Everything runs in an isolated root (isolated_root.py: the host's / under a private
overlay, systemd not running), never on the host itself. The package is served over HTTPS on
127.0.0.1 (and from moto's S3 for s3:// URLs); Parameter Store is moto's. Tests run in order
and share the isolated root's state.

A Jikimi already on the host (a manual `check --once` left /var/lib/jikimi, or the package is
installed) is hidden inside the isolated root first, so it neither stops nor skews the tests.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import zipfile

import pytest

from conftest import REPO, artifact, load_doc, render
from isolated_root import IsolatedRoot

DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, "")
CONFIG_PARAM = "/jikimi/test/config"
CONFIG_TEXT = '# Jikimi agent configuration, from Parameter Store.\n[agent]\nprofile = "kisa"\n'
BUCKET = "jikimi-e2e-packages"
PACKAGE_FILES = [
    "/usr/bin/jikimi",
    "/usr/lib/systemd/system/jikimi.service",
    "/usr/lib/systemd/system/jikimi-check.service",
    "/usr/lib/systemd/system/jikimi-check.timer",
    "/usr/share/doc/jikimi/copyright",
]
STATE = "/var/lib/jikimi"
ETC = "/etc/jikimi"
UNIT_DIRS = ("/usr/lib/systemd/system", "/lib/systemd/system")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="mounts an overlay and installs a package: needs root"),
    pytest.mark.skipif(not shutil.which("dpkg") or not DEB_ARCH, reason="needs dpkg on x86_64 or aarch64"),
]

# The isolated root of this module (set by the `root` fixture; one per module).
ROOT: IsolatedRoot = None


def P(path) -> pathlib.Path:
    """A path inside the isolated root, as seen from the test process."""
    return ROOT.inside(path)


def dpkg_status() -> str:
    out = ROOT.run(["dpkg-query", "-W", "-f=${db:Status-Status} ${Version}", "jikimi"])
    return out.stdout.strip() if out.returncode == 0 else ""


def installed_version() -> str:
    status = dpkg_status().split()
    return status[1] if len(status) == 2 and status[0] == "installed" else ""


def wants_links():
    return sorted(P("/etc/systemd/system").glob("*.wants/jikimi*"))


def assert_enabled(names):
    """The enablement links systemctl made without a running systemd: names, and each one
    pointing at the packaged unit inside the root."""
    links = wants_links()
    assert [p.name for p in links] == names
    for link in links:
        target = os.readlink(link)
        assert target in [f"{d}/{link.name}" for d in UNIT_DIRS], f"{link} -> {target}"
        assert P(f"/usr/lib/systemd/system/{link.name}").is_file()


def hide_existing_jikimi(root):
    """Make the isolated root a machine without Jikimi, whatever the host has (only the
    overlay changes). Returns what was hidden."""
    hidden = []
    if dpkg_status():
        out = root.run(["dpkg", "--purge", "jikimi"], env=dict(os.environ, JIKIMI_KEEP_STATE="no"))
        assert out.returncode == 0, f"could not purge the host's jikimi inside the isolated root: {out.stderr}"
        hidden.append("the jikimi package")
    for path in [STATE, ETC] + ["/" + str(p.relative_to(root.path)) for p in wants_links()]:
        if os.path.lexists(P(path)):
            assert root.run(["rm", "-rf", "--", path]).returncode == 0
            hidden.append(path)
    return hidden


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    global ROOT
    shared = [tmp_path_factory.getbasetemp()]
    given = os.environ.get("JIKIMI_DIST")
    if given and not pathlib.Path(given).resolve().is_relative_to(shared[0].resolve()):
        shared.append(pathlib.Path(given))
    ROOT = IsolatedRoot(shared=shared)
    try:
        hidden = hide_existing_jikimi(ROOT)
        if hidden:
            print(f"hidden inside the isolated root (the host keeps them): {', '.join(hidden)}")
        assert dpkg_status() == "" and not P(STATE).exists() and not P(ETC).exists()
        yield ROOT
    finally:
        ROOT.close()
        ROOT = None


class Host:
    def __init__(self, env, base_url, deb, tmp):
        self.env, self.base_url, self.deb, self.tmp = env, base_url, deb, tmp
        self.sha = hashlib.sha256(deb.read_bytes()).hexdigest()
        self.url = f"{base_url}/{deb.name}"
        self.agent_rc = None

    def run_doc(self, name, params, shell="bash"):
        """Render like SSM (rejects what allowedPattern/allowedValues reject) and run it."""
        script = render.render(load_doc(name), params)
        path = self.tmp / f"{name}.sh"
        path.write_text(script)
        out = ROOT.run([shell, str(path)], env=self.env, timeout=600)
        print(f"--- {name} {params} ({shell}) -> {out.returncode}\n{out.stdout}{out.stderr}")
        return out

    def install(self, shell="bash", **params):
        p = {"version": self.version, "packageUrl": self.url, "sha256": self.sha}
        p.update(params)
        return self.run_doc("Jikimi-Install", p, shell)

    @property
    def version(self):
        return subprocess.check_output(["dpkg-deb", "--field", str(self.deb), "Version"], text=True).strip().rsplit("-", 1)[0]


@pytest.fixture(scope="module")
def host(root, dist, https_server, aws_env, boto, tmp_path_factory):
    base_url, ca = https_server
    env = dict(os.environ)
    env.update(aws_env)
    env.update({"CURL_CA_BUNDLE": str(ca), "HOME": str(tmp_path_factory.mktemp("home"))})
    env.pop("JIKIMI_ENABLE", None)
    env.pop("JIKIMI_KEEP_STATE", None)
    boto("ssm").put_parameter(Name=CONFIG_PARAM, Value=CONFIG_TEXT, Type="SecureString", Overwrite=True)
    boto("s3").create_bucket(Bucket=BUCKET)
    h = Host(env, base_url, artifact(dist, f"jikimi_*_{DEB_ARCH}.deb"), tmp_path_factory.mktemp("e2e"))
    h.s3 = boto("s3")
    return h


def assert_not_installed():
    assert installed_version() == ""
    for f in PACKAGE_FILES:
        assert not P(f).exists(), f"{f} exists"


def snapshot():
    """Everything a reinstall could touch."""
    files = PACKAGE_FILES + ["/etc/jikimi/jikimi.toml", "/var/lib/dpkg/info/jikimi.list", "/var/lib/dpkg/info/jikimi.postinst"]
    snap = {"status": dpkg_status(), "wants": wants_links()}
    for f in files:
        st = os.stat(P(f))
        snap[f] = (st.st_ino, st.st_mtime_ns, st.st_mode, hashlib.sha256(P(f).read_bytes()).hexdigest())
    snap["state"] = sorted(str(p) for p in P(STATE).rglob("*"))
    return snap


def test_bad_checksum_installs_nothing(host):
    out = host.install(sha256="0" * 64)
    assert out.returncode == 1
    assert "bad checksum" in out.stderr and "nothing was installed" in out.stderr
    assert_not_installed()
    assert not P(ETC).exists()


def test_unsupported_package_format(host):
    out = host.install(packageUrl=f"{host.base_url}/jikimi-{host.version}-1.x86_64.rpm")
    assert out.returncode == 1
    assert "unsupported platform" in out.stderr and ".deb packages" in out.stderr
    assert_not_installed()


def test_version_mismatch_installs_nothing(host):
    out = host.install(version="9.9.9")
    assert out.returncode == 1
    assert "not 9.9.9" in out.stderr
    assert_not_installed()


def test_injection_is_rejected_before_running():
    with pytest.raises(render.ParameterError):
        render.render(load_doc("Jikimi-Install"), {"version": "1.0; rm -rf /", "packageUrl": "https://x/a.deb", "sha256": "0" * 64})


def test_install(host):
    out = host.install(configParameter=CONFIG_PARAM, units="timer")
    assert out.returncode == 0, out.stderr
    assert "sha256 verified" in out.stdout
    assert installed_version() == f"{host.version}-1"
    for f in PACKAGE_FILES:
        assert P(f).exists(), f
    conf = P(ETC) / "jikimi.toml"
    assert conf.read_text() == CONFIG_TEXT
    assert conf.stat().st_mode & 0o777 == 0o600
    assert P(STATE).is_dir() and P(STATE).stat().st_mode & 0o777 == 0o700
    # systemd is not PID 1 in the isolated root: the script says so instead of failing, and
    # the timer is enabled offline (the link exists, nothing was started).
    assert not P("/run/systemd/system").exists()
    assert "systemd is not running" in out.stdout
    assert_enabled(["jikimi-check.timer"])


def test_config_validates(host):
    out = ROOT.run(["/usr/bin/jikimi", "config", "validate", "--config", "/etc/jikimi/jikimi.toml"])
    assert out.returncode == 0, out.stdout + out.stderr


def test_check_once_runs(host):
    out = ROOT.run(["/usr/bin/jikimi", "check", "--once", "--config", "/etc/jikimi/jikimi.toml"], timeout=600)
    print(out.stdout[-3000:], out.stderr[-2000:])
    assert out.returncode in (0, 2), out.stderr
    assert out.stdout.strip(), "jikimi check --once printed nothing"
    assert sorted(p.name for p in (P(STATE) / "history").iterdir()), "no history record in the isolated root"
    host.agent_rc = out.returncode


def test_second_install_changes_nothing(host):
    before = snapshot()
    # The same document again, this time under dash (Debian's /bin/sh, as SSM Agent may run it).
    out = host.install(shell="dash", configParameter=CONFIG_PARAM, units="timer")
    assert out.returncode == 0, out.stderr
    assert "already installed" in out.stdout
    assert "already in place" in out.stdout
    assert "package changed: no, configuration changed: no" in out.stdout
    assert snapshot() == before


def test_run_check_table(host):
    out = host.run_doc("Jikimi-RunCheck", {"sinks": "table", "failOnFindings": "false"})
    assert out.returncode == 0, out.stderr
    assert "all checks passed" in out.stdout or "some checks failed" in out.stdout


def test_run_check_fail_on_findings(host):
    out = host.run_doc("Jikimi-RunCheck", {"sinks": "table", "failOnFindings": "true"})
    assert host.agent_rc is not None
    assert out.returncode == (2 if host.agent_rc == 2 else 0)


def test_run_check_json(host):
    out = host.run_doc("Jikimi-RunCheck", {"sinks": "json"})
    assert out.returncode == 0, out.stderr
    body = out.stdout[: out.stdout.rindex("Jikimi-RunCheck:")]
    json.loads(body)


def test_run_check_file(host):
    out = host.run_doc("Jikimi-RunCheck", {"sinks": "file"})
    assert out.returncode == 0, out.stderr
    latest = P(STATE) / "reports" / "latest.json"
    report = json.loads(latest.read_text())
    assert '"summary": {' in out.stdout and f'"total": {report["summary"]["total"]}' in out.stdout
    assert (P(STATE) / "reports").stat().st_mode & 0o777 == 0o700


def test_run_check_fails_when_the_scan_cannot_run(host):
    conf = P(ETC) / "jikimi.toml"
    saved = conf.read_text()
    try:
        conf.write_text("[agent]\nno_such_key = true\n")
        out = host.run_doc("Jikimi-RunCheck", {"sinks": "table", "failOnFindings": "false"})
        assert out.returncode == 1
        assert "could not run" in out.stderr
    finally:
        conf.write_text(saved)


def test_upgrade_from_s3_keeps_config_and_state(host):
    """A newer package (the same one, relabelled 0.1.0 -> next patch) from s3:// through
    the aws CLI: the locally written configuration and the state survive the upgrade."""
    work = host.tmp / "repack"
    subprocess.run(["dpkg-deb", "-R", str(host.deb), str(work)], check=True)
    major, minor, patch = host.version.split("~")[0].split(".")
    newver = f"{major}.{minor}.{int(patch) + 1}"
    control = work / "DEBIAN" / "control"
    control.write_text("".join(
        f"Version: {newver}-1\n" if line.startswith("Version:") else line
        for line in control.read_text().splitlines(keepends=True)))
    newdeb = host.tmp / f"jikimi_{newver}-1_{DEB_ARCH}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(work), str(newdeb)], check=True, capture_output=True)
    host.s3.upload_file(str(newdeb), BUCKET, f"releases/{newdeb.name}")
    (P(STATE) / "marker").write_text("state from before the upgrade\n")

    out = host.install(version=newver, packageUrl=f"s3://{BUCKET}/releases/{newdeb.name}",
                       sha256=hashlib.sha256(newdeb.read_bytes()).hexdigest())
    assert out.returncode == 0, out.stderr
    assert installed_version() == f"{newver}-1"
    assert (P(ETC) / "jikimi.toml").read_text() == CONFIG_TEXT
    assert (P(STATE) / "marker").exists()


def test_uninstall_keeps_state(host):
    out = host.run_doc("Jikimi-Uninstall", {"keepState": "true"})
    assert out.returncode == 0, out.stderr
    assert dpkg_status() == ""
    assert_not_installed()
    assert not P(ETC).exists()
    assert (P(STATE) / "marker").read_text() == "state from before the upgrade\n"
    assert wants_links() == []


def test_uninstall_again_is_a_noop(host):
    out = host.run_doc("Jikimi-Uninstall", {"keepState": "true"}, shell="dash")
    assert out.returncode == 0, out.stderr
    assert "not installed" in out.stdout
    assert (P(STATE) / "marker").exists()


def test_reinstall_keeps_old_state_then_uninstall_removes_it(host):
    out = host.install(units="none")
    assert out.returncode == 0, out.stderr
    assert (P(STATE) / "marker").exists()
    assert (P(ETC) / "jikimi.toml").read_text() == (REPO / "packaging" / "jikimi.toml").read_text()
    assert wants_links() == []
    out = host.run_doc("Jikimi-Uninstall", {"keepState": "false"})
    assert out.returncode == 0, out.stderr
    assert_not_installed()
    assert not P(STATE).exists() and not P(ETC).exists()


def test_maintainer_scripts_without_systemd(host):
    """Plain dpkg with JIKIMI_ENABLE=timer: the timer is enabled (symlink) even though
    systemd is not running, and purge removes the symlink, configuration and state."""
    assert not P("/run/systemd/system").exists()
    assert ROOT.run(["sh", "-c", "command -v systemctl"]).returncode == 0, \
        "systemctl is missing (tests/packaging/setup.sh installs systemd)"
    env = dict(host.env, JIKIMI_ENABLE="timer")
    out = ROOT.run(["dpkg", "-i", str(host.deb)], env=env)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stderr
    assert "not started" in out.stdout
    assert_enabled(["jikimi-check.timer"])
    out = ROOT.run(["dpkg", "--purge", "jikimi"], env=host.env)
    assert out.returncode == 0, out.stderr
    assert wants_links() == []
    assert_not_installed()
    assert not P(STATE).exists() and not P(ETC).exists()


def test_distributor_install_and_uninstall(host, dist):
    z = artifact(dist / "distributor", f"jikimi-*-deb-{ {'amd64': 'x86_64', 'arm64': 'arm64'}[DEB_ARCH]}.zip")
    d = host.tmp / "distributor"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(d)
    for s in ("install.sh", "uninstall.sh"):
        (d / s).chmod(0o755)
    env = dict(host.env, JIKIMI_ENABLE="none")
    out = ROOT.run(["sh", str(d / "install.sh")], env=env)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stderr
    assert installed_version() == f"{host.version}-1"
    out = ROOT.run(["sh", str(d / "uninstall.sh")], env=env)
    print(out.stdout, out.stderr)
    assert out.returncode == 0, out.stderr
    assert_not_installed()
    assert P(STATE).is_dir(), "the Distributor uninstall keeps the state"
