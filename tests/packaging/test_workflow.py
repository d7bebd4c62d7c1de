"""The release workflow: triggers on tags, builds both architectures with packaging/build.sh
only, and its shell steps are valid (bash -n, shellcheck)."""

import re
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


@pytest.fixture(scope="module")
def wf():
    return yaml.safe_load(WORKFLOW.read_text())


def steps(wf):
    for job_name, job in wf["jobs"].items():
        for step in job["steps"]:
            yield job_name, step


def test_triggers_on_version_tags(wf):
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert on == {"push": {"tags": ["v*"]}}


def test_build_job_uses_build_sh_for_both_arches(wf):
    runs = "\n".join(s.get("run", "") for s in wf["jobs"]["build"]["steps"])
    build_lines = [ln for ln in runs.splitlines() if "packaging/build.sh" in ln]
    assert len(build_lines) == 1
    line = build_lines[0]
    assert "--arch x86_64" in line and "--arch aarch64" in line and "--expect-version" in line
    # Nothing else builds: no cargo, dpkg-deb, rpmbuild, tar or zip of its own.
    for tool in ("cargo ", "dpkg-deb", "rpmbuild", "tar ", "zip "):
        assert tool not in runs, f"the build job runs {tool.strip()} itself; build.sh should"
    assert "sha256sum --check" in runs


def test_publish_needs_smoke_test(wf):
    assert set(wf["jobs"]["publish"]["needs"]) == {"build", "smoke"}
    assert wf["permissions"] == {"contents": "read"}
    assert wf["jobs"]["publish"]["permissions"] == {"contents": "write"}


def test_actions_pinned_to_a_major_version(wf):
    for _, step in steps(wf):
        if "uses" in step:
            assert re.fullmatch(r"actions/[a-z-]+@v[0-9]+", step["uses"]), step["uses"]


def test_run_steps_are_valid_shell(wf, tmp_path):
    for i, (job, step) in enumerate(steps(wf)):
        if "run" not in step:
            continue
        script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
        path = tmp_path / f"{job}-{i}.sh"
        path.write_text("#!/bin/bash\nset -e\n" + script)
        out = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert out.returncode == 0, f"{job}/{step.get('name')}: {out.stderr}"
        if shutil.which("shellcheck"):
            out = subprocess.run(["shellcheck", "-S", "warning", str(path)], capture_output=True, text=True)
            assert out.returncode == 0, f"{job}/{step.get('name')}: {out.stdout}"
