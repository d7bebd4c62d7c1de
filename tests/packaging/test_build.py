"""What packaging/build.sh produced: checksums, the glibc floor, the .deb, the .rpm, the
tarball and the SSM Distributor package."""

import hashlib
import json
import shutil
import subprocess
import tarfile
import zipfile

import pytest

from conftest import DOCS, REPO, artifact, load_doc, render

ARCH = subprocess.check_output(["uname", "-m"], text=True).strip()
DEB_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}[ARCH]
SSM_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}[ARCH]
CHECK_GLIBC = REPO / "packaging" / "check-glibc.sh"
UNIT_FILES = ["jikimi.service", "jikimi-check.service", "jikimi-check.timer"]


def run(*cmd, **kw):
    return subprocess.run(list(map(str, cmd)), capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def binary(dist, tmp_path_factory):
    """/usr/bin/jikimi from the .deb."""
    d = tmp_path_factory.mktemp("deb-x")
    subprocess.run(["dpkg-deb", "-x", str(artifact(dist, f"jikimi_*_{DEB_ARCH}.deb")), str(d)], check=True)
    return d / "usr/bin/jikimi"


def test_sha256sums(dist):
    out = run("sha256sum", "--check", "--strict", "SHA256SUMS", cwd=dist)
    assert out.returncode == 0, out.stdout + out.stderr
    listed = {line.split(None, 1)[1].strip() for line in (dist / "SHA256SUMS").read_text().splitlines()}
    present = {str(p.relative_to(dist)) for p in dist.rglob("*") if p.is_file() and p.name != "SHA256SUMS"}
    assert listed == present


def test_glibc_floor(binary):
    out = run(CHECK_GLIBC, binary, "2.17")
    print(out.stdout)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "GLIBC_" in out.stdout


def test_glibc_check_catches_newer_symbols():
    """The check fails on a binary built against this machine's glibc (2.36 here)."""
    host_binary = shutil.which("ls")
    out = run(CHECK_GLIBC, host_binary, "2.17")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "newer than GLIBC_2.17" in out.stderr


def test_binary_runs(binary):
    out = run(binary, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_deb(dist):
    deb = artifact(dist, f"jikimi_*_{DEB_ARCH}.deb")
    fields = {k: run("dpkg-deb", "--field", deb, k).stdout.strip() for k in ("Package", "Architecture", "Depends", "Version")}
    assert fields["Package"] == "jikimi" and fields["Architecture"] == DEB_ARCH
    assert fields["Depends"] == "libc6 (>= 2.17)"
    listing = run("dpkg-deb", "--contents", deb).stdout
    for path in ["./usr/bin/jikimi", "./etc/jikimi/jikimi.toml", "./etc/jikimi/checks.d/",
                 "./usr/share/doc/jikimi/copyright", "./usr/share/doc/jikimi/README.md",
                 "./usr/share/doc/jikimi/LICENSE", "./usr/share/doc/jikimi/CHANGELOG.md"] + [
                 f"./usr/lib/systemd/system/{u}" for u in UNIT_FILES]:
        assert f" {path}\n" in listing + "\n", f"{path} missing from the .deb:\n{listing}"
    assert "./var/lib/jikimi" not in listing, "state is created by postinst, not shipped (so dpkg never deletes it)"
    assert "root/root" in listing and " 0/0 " not in listing
    ctrl = run("dpkg-deb", "--info", deb, "conffiles").stdout.split()
    assert ctrl == ["/etc/jikimi/jikimi.toml"]
    for script in ("postinst", "prerm", "postrm"):
        text = run("dpkg-deb", "--info", deb, script).stdout
        assert text.startswith("#!/bin/sh")
        syntax = subprocess.run(["sh", "-n"], input=text, capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr


def test_rpm(dist, tmp_path):
    if not shutil.which("rpm"):
        pytest.skip("rpm not installed")
    rpm = artifact(dist, f"jikimi-*.{ARCH}.rpm")
    # Debian's rpm opens its default database ($HOME/.rpmdb) even for -qp: one in tmp_path
    # keeps the test off the host's home directory
    db = ["--dbpath", str(tmp_path / "rpmdb")]
    q = lambda fmt: run("rpm", *db, "-qp", "--qf", fmt, rpm).stdout  # noqa: E731
    assert q("%{NAME} %{ARCH}") == f"jikimi {ARCH}"
    files = dict(line.rsplit(" ", 1) for line in q("[%{FILENAMES} %{FILEFLAGS:fflags}\n]").splitlines())
    assert files["/etc/jikimi/jikimi.toml"] == "cn", "jikimi.toml must be %config(noreplace)"
    for path in ["/usr/bin/jikimi", "/etc/jikimi/checks.d", "/usr/share/doc/jikimi/LICENSE",
                 "/usr/share/doc/jikimi/CHANGELOG.md"] + [f"/usr/lib/systemd/system/{u}" for u in UNIT_FILES]:
        assert path in files
    assert not any(p.startswith("/var/lib/jikimi") for p in files)
    assert q("%{PAYLOADCOMPRESSOR}") == "xz", "xz payload: readable by the rpm of glibc-2.17-era distributions"
    requires = run("rpm", *db, "-qp", "--requires", rpm).stdout
    glibcs = [line for line in requires.splitlines() if "GLIBC_" in line]
    assert glibcs and all(float(line.split("GLIBC_")[1].split(")")[0].split(".")[1]) <= 17 for line in glibcs), requires
    scripts = run("rpm", *db, "-qp", "--scripts", rpm).stdout
    for name in ("postinstall", "preuninstall", "postuninstall"):
        assert f"{name} scriptlet" in scripts
    assert "jikimi_after_install" in scripts and "%{" not in scripts


def test_tarball(dist):
    tarball = artifact(dist, f"jikimi-*-{ARCH}-linux-gnu.tar.gz")
    with tarfile.open(tarball) as t:
        names = set(t.getnames())
        top = tarball.name[: -len(".tar.gz")]
        for path in ["usr/bin/jikimi", "etc/jikimi/jikimi.toml"] + [f"usr/lib/systemd/system/{u}" for u in UNIT_FILES]:
            assert f"{top}/{path}" in names
        assert all(m.uid == 0 and m.gid == 0 for m in t.getmembers())
        assert t.getmember(f"{top}/usr/bin/jikimi").mode & 0o111


def test_distributor_package(dist, tmp_path):
    d = dist / "distributor"
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["schemaVersion"] == "2.0"
    assert manifest["version"] and manifest["publisher"]
    for name, info in manifest["files"].items():
        data = (d / name).read_bytes()
        assert info["checksums"]["sha256"] == hashlib.sha256(data).hexdigest()
    referenced = set()
    for platform, versions in manifest["packages"].items():
        assert platform in {"amazon", "redhat", "centos", "oracle", "suse", "opensuse", "opensuseleap", "debian", "ubuntu"}
        for version, arches in versions.items():
            assert version == "_any"
            for arch, entry in arches.items():
                assert arch in {"x86_64", "arm64"}
                referenced.add(entry["file"])
    assert referenced == set(manifest["files"])
    assert manifest["packages"]["ubuntu"]["_any"][SSM_ARCH]["file"].endswith(f"-deb-{SSM_ARCH}.zip")
    assert manifest["packages"]["amazon"]["_any"][SSM_ARCH]["file"].endswith(f"-rpm-{SSM_ARCH}.zip")
    uninstall = render.render(load_doc("Jikimi-Uninstall"), {"keepState": "true"})
    for name in manifest["files"]:
        with zipfile.ZipFile(d / name) as z:
            names = set(z.namelist())
            assert {"install.sh", "uninstall.sh", "SHA256SUMS"} <= names
            pkgs = [n for n in names if n.endswith((".deb", ".rpm"))]
            assert len(pkgs) == 1
            assert z.getinfo("install.sh").external_attr >> 16 & 0o111
            assert z.read("uninstall.sh").decode() == uninstall
            sums = z.read("SHA256SUMS").decode().split()
            assert sums == [hashlib.sha256(z.read(pkgs[0])).hexdigest(), pkgs[0]]
            assert (dist / pkgs[0]).read_bytes() == z.read(pkgs[0])


def test_build_sh_help_and_bad_options():
    build = REPO / "packaging" / "build.sh"
    out = run(build, "--help")
    assert out.returncode == 0 and "--arch" in out.stdout
    out = run(build, "--arch", "mips")
    assert out.returncode != 0 and "unsupported architecture" in out.stderr
    out = run(build, "--expect-version", "v999.0.0", "--formats", "tar")
    assert out.returncode != 0 and "version mismatch" in out.stderr


def test_ssm_readme_mentions_every_document():
    text = (DOCS / "README.md").read_text()
    for name in ("Jikimi-Install", "Jikimi-RunCheck", "Jikimi-Uninstall", "association-example.json"):
        assert name in text


def test_rpm_installs_into_a_scratch_root(dist, tmp_path):
    """The .rpm's payload installs and verifies (rpm --root; scriptlets are the .deb's,
    exercised by the real-install tests)."""
    if not shutil.which("rpm"):
        pytest.skip("rpm not installed")
    rpm = artifact(dist, f"jikimi-*.{ARCH}.rpm")
    root = tmp_path / "root"
    root.mkdir()
    common = ["--root", str(root), "--dbpath", "/var/lib/rpm"]
    out = run("rpm", *common, "--initdb")
    assert out.returncode == 0, out.stderr
    out = run("rpm", *common, "-i", "--nodeps", "--noscripts", rpm)
    assert out.returncode == 0, out.stderr
    assert (root / "usr/bin/jikimi").stat().st_mode & 0o777 == 0o755
    assert (root / "etc/jikimi/jikimi.toml").read_text() == (REPO / "packaging/jikimi.toml").read_text()
    out = run("rpm", *common, "-V", "--nodeps", "jikimi")
    assert out.returncode == 0, out.stdout + out.stderr
    (root / "etc/jikimi/jikimi.toml").write_text("[agent]\nprofile = \"cis\"\n")
    out = run("rpm", *common, "-e", "--noscripts", "jikimi")
    assert out.returncode == 0, out.stderr
    assert not (root / "usr/bin/jikimi").exists()
    # A changed %config(noreplace) file is kept aside on erase, never silently lost.
    assert (root / "etc/jikimi/jikimi.toml.rpmsave").exists()


def test_build_is_reproducible(tmp_path):
    """Two builds of the same commit give byte-identical artifacts (SOURCE_DATE_EPOCH)."""
    sums = []
    for n in (1, 2):
        out = tmp_path / f"out{n}"
        subprocess.run([str(REPO / "packaging/build.sh"), "--out", str(out)], check=True, capture_output=True)
        sums.append((out / "SHA256SUMS").read_text())
    assert sums[0] == sums[1]
