"""Static checks of the SSM documents: schema, size, parameters, patterns, scripts."""

import json
import re
import shutil
import subprocess

import pytest

from conftest import DOCS, DOCUMENT_NAMES, REPO, load_doc, render

PARAM_REF = re.compile(r"\{\{\s*([^}\s]+)\s*\}\}")

# Realistic values every parameter must accept.
GOOD = {
    "version": ["0.1.0", "1.2.3", "10.20.30", "1.0.0-rc.1", "1.0.0~rc1"],
    "packageUrl": [
        "https://releases.example.com/jikimi/0.1.0/jikimi_0.1.0-1_amd64.deb",
        "https://downloads.example.org:8443/a/b/jikimi-0.1.0-1.x86_64.rpm",
        "https://127.0.0.1:8443/jikimi_0.1.0-1_arm64.deb",
        "s3://my-bucket/jikimi/0.1.0/jikimi-0.1.0-1.aarch64.rpm",
        "s3://corp.artifacts-eu/jikimi/jikimi_0.1.0~rc.1-1_amd64.deb",
    ],
    "sha256": ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"],
    "configParameter": ["", "/jikimi/config", "/prod/eu-west-1/jikimi.toml", "jikimi-config", "/a_b/c-d/e.f"],
    "units": ["timer", "daemon", "both", "none"],
    "sinks": ["table", "json", "file"],
    "failOnFindings": ["true", "false"],
    "keepState": ["true", "false"],
    "checkIds": ["", "SSH-001", "SSH-001,KERN-015,FILE-001"],
    "dryRun": ["true", "false"],
    "minSeverity": ["info", "high"],
}

# Shell metacharacters and friends, appended to (or replacing) a good value.
SUFFIXES = ["; rm -rf /", ";id", "$(id)", "`id`", "\nid", "\n", "\r\nid", " && id", "&&id", "|id", "||id",
            "'", '"', "'; id; '", "\"; id; \"", " ", "\t", ">x", "<x", "&", "$HOME", "${IFS}", "\\", "*", "?x", "#x"]
LITERAL = ["1.0; rm -rf /", "$(id)", "`id`", "1.0\nrm -rf /", "1.0 && reboot", "1.0'", '1.0"', "'", '"']
# Values without shell metacharacters that are still wrong for one parameter.
EXTRA = {
    "version": ["0.1", "v1.0.0", "1.0.0-", "-1.0.0", "latest", ""],
    "packageUrl": ["http://example.com/jikimi.deb", "file:///etc/shadow.deb", "ftp://example.com/jikimi.deb",
                   "https://example.com/jikimi.deb?x=1&y=2", "https://example.com/jikimi.tar.gz",
                   "https://example.com/jikimi.deb/", "https://user@example.com/jikimi.deb",
                   "s3://Bad_Bucket/jikimi.deb", "https:///jikimi.deb", "-o/etc/passwd", ""],
    "sha256": ["e3b0c442", "g" * 64, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", ""],
    "configParameter": ["-rf", "--help", "/-x", "//x", "/x/", "a b"],
    "units": ["", "TIMER", "all"],
    "sinks": ["", "stdout", "syslog"],
    "failOnFindings": ["", "yes", "1", "True"],
    "keepState": ["", "yes", "1", "True"],
    "checkIds": ["ssh-001", "SSH-001,", ",SSH-001", "SSH 001", "1SSH", "SSH-001,,KERN-015", "-SSH"],
    "dryRun": ["", "yes", "1", "True"],
    "minSeverity": ["", "HIGH", "severe"],
}


def injections(name: str):
    base = GOOD[name][1] if len(GOOD[name]) > 1 else GOOD[name][0]
    vals = [base + s for s in SUFFIXES] + [s + base for s in SUFFIXES if s.strip()] + LITERAL + EXTRA[name]
    return sorted(set(vals) - set(GOOD[name]))


def all_params():
    for doc in DOCUMENT_NAMES:
        for name, spec in load_doc(doc)["parameters"].items():
            yield doc, name, spec


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_document_shape(name):
    path = DOCS / f"{name}.json"
    raw = path.read_bytes()
    assert len(raw) < 64 * 1024, f"{name}: {len(raw)} bytes; SSM documents must be under 64 KB"
    doc = json.loads(raw)
    assert doc["schemaVersion"] == "2.2"
    assert doc.get("description")
    assert doc["mainSteps"], "no mainSteps"
    for step in doc["mainSteps"]:
        assert step["action"] == "aws:runShellScript"
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", step["name"])
        assert step["precondition"] == {"StringEquals": ["platformType", "Linux"]}
        assert isinstance(step["inputs"]["runCommand"], list) and step["inputs"]["runCommand"]
        assert all(isinstance(line, str) for line in step["inputs"]["runCommand"])
        assert int(step["inputs"]["timeoutSeconds"]) > 0


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_parameters_declared_and_used(name):
    doc = load_doc(name)
    declared = set(doc["parameters"])
    text = json.dumps(doc["mainSteps"])
    used = set(PARAM_REF.findall(text))
    assert used - declared == set(), f"{name}: used but not declared: {used - declared}"
    assert declared - used == set(), f"{name}: declared but never used: {declared - used}"
    for pname, spec in doc["parameters"].items():
        assert spec.get("type") == "String", f"{name}.{pname}: only String parameters are used"
        assert spec.get("description"), f"{name}.{pname}: no description"
        assert ("allowedPattern" in spec) or ("allowedValues" in spec), f"{name}.{pname}: unconstrained"
        if "allowedPattern" in spec:
            pat = spec["allowedPattern"]
            assert pat.startswith("^") and pat.endswith("$"), f"{name}.{pname}: pattern not anchored"
            re.compile(pat)
        if "default" in spec:
            assert render.validate_value(spec, spec["default"]) is None, f"{name}.{pname}: default rejected"


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_parameters_are_single_quoted_in_the_script(name):
    """Each {{ param }} appears once, as VAR='{{ param }}' (so no value is ever parsed by the shell)."""
    lines = load_doc(name)["mainSteps"][0]["inputs"]["runCommand"]
    for pname in load_doc(name)["parameters"]:
        hits = [ln for ln in lines if PARAM_REF.search(ln) and PARAM_REF.search(ln).group(1) == pname]
        assert len(hits) == 1, f"{name}: {{{{ {pname} }}}} used {len(hits)} times"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*='\{\{ " + pname + r" \}\}'", hits[0]), hits[0]


@pytest.mark.parametrize("doc,name,spec", list(all_params()), ids=lambda x: x if isinstance(x, str) else "")
def test_pattern_accepts_realistic_values(doc, name, spec):
    for v in GOOD[name]:
        assert render.validate_value(spec, v) is None, f"{doc}.{name} rejects {v!r}"


@pytest.mark.parametrize("doc,name,spec", list(all_params()), ids=lambda x: x if isinstance(x, str) else "")
def test_pattern_rejects_injection(doc, name, spec):
    for v in injections(name):
        assert render.validate_value(spec, v) is not None, f"{doc}.{name} accepts {v!r}"
        pat = spec.get("allowedPattern")
        if pat and not v.endswith("\n"):
            # Even an engine that only searches for a match (no full-match) rejects it.
            assert re.search(pat, v) is None, f"{doc}.{name}: re.search accepts {v!r}"


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_script_rechecks_values(name, tmp_path):
    """A value that got past SSM anyway (an engine whose $ matches before a final newline)
    is refused by the script itself before it does anything."""
    doc = load_doc(name)
    # Only grep on PATH: should a check ever let a value through, the script stops at its
    # first dpkg/rpm/curl instead of changing this machine.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "grep").symlink_to(shutil.which("grep"))
    env = {"PATH": str(bin_dir), "LC_ALL": "C"}
    for pname, spec in doc["parameters"].items():
        good = {p: GOOD[p][0] for p in doc["parameters"] if "default" not in doc["parameters"][p]}
        for bad in (GOOD[pname][0] + "\n", GOOD[pname][0] + "x\n"):
            given = dict(good, **{pname: bad})
            script = render.render(doc, given, validate=False)
            out = subprocess.run([shutil.which("sh"), "-c", script], capture_output=True, text=True, timeout=30, env=env)
            assert out.returncode == 1, f"{name}: {pname}={bad!r} not refused: {out.stdout}{out.stderr}"
            assert f"parameter {pname}" in out.stderr, out.stderr


def test_documents_match_their_sources():
    out = subprocess.run(["python3", str(DOCS / "generate.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
@pytest.mark.parametrize("shell", ["sh", "bash", "dash"])
def test_script_syntax(name, shell, tmp_path):
    if not shutil.which(shell):
        pytest.skip(f"{shell} not installed")
    script = tmp_path / "script.sh"
    script.write_text(render.render(load_doc(name), {p: GOOD[p][0] for p in load_doc(name)["parameters"]}))
    out = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_shellcheck(name, tmp_path):
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck not installed (tests/packaging/setup.sh installs it)")
    script = tmp_path / "script.sh"
    script.write_text(render.render(load_doc(name), {p: GOOD[p][0] for p in load_doc(name)["parameters"]}))
    out = subprocess.run(["shellcheck", "-s", "sh", "-S", "warning", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_render_refuses_bad_values():
    doc = load_doc("Jikimi-Install")
    with pytest.raises(render.ParameterError):
        render.render(doc, {"version": "1.0; rm -rf /", "packageUrl": GOOD["packageUrl"][0], "sha256": GOOD["sha256"][0]})
    with pytest.raises(render.ParameterError):
        render.render(doc, {"version": "0.1.0"})  # required parameters missing
    with pytest.raises(render.ParameterError):
        render.render(doc, {"nope": "x"})


def test_association_example(docs):
    assoc = json.loads((DOCS / "association-example.json").read_text())
    assert assoc["Name"] in docs, "the association must run one of these documents"
    doc = docs[assoc["Name"]]
    for pname, values in assoc.get("Parameters", {}).items():
        assert pname in doc["parameters"]
        for v in values:
            assert render.validate_value(doc["parameters"][pname], v) is None
    assert assoc["ScheduleExpression"] in ("rate(1 day)", "rate(24 hours)") or assoc["ScheduleExpression"].startswith("cron(")
    assert re.fullmatch(r"[0-9]{1,3}%", assoc["MaxConcurrency"])
    assert re.fullmatch(r"[0-9]{1,3}%", assoc["MaxErrors"])
    assert assoc["Targets"] and all(t["Key"].startswith("tag:") and t["Values"] for t in assoc["Targets"])


def test_hooks_and_distributor_scripts_shellcheck():
    if not shutil.which("shellcheck"):
        pytest.skip("shellcheck not installed")
    files = [REPO / "packaging/scripts/hooks.sh", REPO / "packaging/distributor/install.sh",
             REPO / "packaging/zig-cc", REPO / "packaging/zig-ar"]
    out = subprocess.run(["shellcheck", "-s", "sh", "-S", "warning", *map(str, files)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    bash_files = [REPO / "packaging/build.sh", REPO / "packaging/check-glibc.sh",
                  REPO / "packaging/install-build-deps.sh", REPO / "tests/packaging/setup.sh",
                  REPO / "tests/packaging/run.sh"]
    out = subprocess.run(["shellcheck", "-S", "warning", *map(str, bash_files)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
