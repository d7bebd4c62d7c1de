"""Every credential source a fleet uses, against moto's STS behind the recording proxy:
the passwd home under `env -i` (SSM hybrid hosts), assume-role profiles (source_profile
and credential_source), web identity, credential_process, profiles that cannot be used
(errors, never a fall-through to another principal), the container endpoint address
rules, IMDS credentials reused near expiry, and clock-skew correction."""

import datetime
import os
import shutil
import subprocess
import sys
import textwrap

import fakes
from conftest import ACCOUNT, BASIC, OS_ID, REGION, jikimi_bin, make_root, write_catalog

NO_ENV_KEYS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None}
ROLE = f"arn:aws:iam::{ACCOUNT}:role/jikimi-fleet"
DOC = {"accountId": ACCOUNT, "region": REGION, "instanceId": "i-0feedface0000000a"}


def auth_key(req):
    return req["headers"]["authorization"].split("Credential=")[1].split("/")[0]


def write_aws_files(home, credentials="", config=""):
    d = home / ".aws"
    d.mkdir(parents=True, exist_ok=True)
    (d / "credentials").write_text(textwrap.dedent(credentials))
    (d / "config").write_text(textwrap.dedent(config))


def test_hybrid_host_root_credentials_under_env_i(aws, tmp_path):
    """`env -i PATH=... jikimi check --once --submit ssm-compliance` on an SSM hybrid host:
    no HOME, the SSM Agent's /root/.aws/credentials. Run for real in a private mount
    namespace whose /root is a tmpfs holding that file (the host's /root is untouched), so
    the passwd lookup of the effective user (root) finds it."""
    assert os.geteuid() == 0 and shutil.which("unshare"), "this test needs root and unshare(1)"
    from conftest import Jikimi

    jk = Jikimi(tmp_path, aws.url)
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.keys["AKIDHYBRID"] = ("hybrid-secret", "hybrid-token")
    creds = tmp_path / "ssm-agent-credentials"
    creds.write_text("[default]\naws_access_key_id = AKIDHYBRID\naws_secret_access_key = hybrid-secret\n"
                     "aws_session_token = hybrid-token\n")
    # Everything the test needs is in the configuration: the environment is PATH only.
    cfg = jk.config(extra_aws=f'endpoint_url = "{aws.url}"\nimds = false\n')
    script = (
        "set -e; mount -t tmpfs -o mode=0700 jikimi-test /root; mkdir -m 0700 /root/.aws; "
        f"cp {creds} /root/.aws/credentials; "
        f"exec env -i PATH=/usr/bin:/bin {jikimi_bin()} check --once --format json --no-extra-checks "
        f"--root {root} --catalog {cat} --config {cfg} --state-dir {jk.state} --submit ssm-compliance"
    )
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    import json
    s = json.loads(p.stdout)["sinks"]["ssm_compliance"]
    assert (s["sent"], s["pending"]) == (5, 0), s
    put = aws.ops("PutComplianceItems")
    assert len(put) == 1 and auth_key(put[0]) == "AKIDHYBRID"
    assert put[0]["headers"]["x-amz-security-token"] == "hybrid-token"
    assert not (tmp_path / "root/.aws").exists()


def test_assume_role_profile_calls_carry_the_role_key(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.keys["AKIDBASE"] = ("base-secret", None)
    write_aws_files(jk.home, """
        [base]
        aws_access_key_id = AKIDBASE
        aws_secret_access_key = base-secret
        """, f"""
        [profile fleet]
        role_arn = {ROLE}
        source_profile = base
        external_id = ext-123
        role_session_name = jikimi-test
        duration_seconds = 900
        """)
    # The instance profile is there too, and must not be used.
    imds = fakes.FakeMetadata(DOC, role=("instance-role", "ASIAINSTANCE", "i-secret", "i-token")).start()
    try:
        env = {**NO_ENV_KEYS, "AWS_PROFILE": "fleet", "AWS_EC2_METADATA_DISABLED": None,
               "JIKIMI_IMDS_ENDPOINT": imds.url}
        _, doc = jk.check(root, cat, "--submit", "securityhub,ssm-compliance", env=env)
    finally:
        imds.stop()
    assert doc["sinks"]["securityhub"]["sent"] == 4, doc["sinks"]
    assert doc["sinks"]["ssm_compliance"]["sent"] == 5
    sts = aws.ops("AssumeRole")
    assert len(sts) == 1, "the role's credentials are cached for the run"
    assert auth_key(sts[0]) == "AKIDBASE"
    assert sts[0]["body"]["RoleArn"] == ROLE
    assert (sts[0]["body"]["ExternalId"], sts[0]["body"]["RoleSessionName"], sts[0]["body"]["DurationSeconds"]) == \
        ("ext-123", "jikimi-test", "900")
    role_key = aws.issued[0]
    for op in ("BatchImportFindings", "PutComplianceItems"):
        assert [auth_key(r) for r in aws.ops(op)] == [role_key], op
        assert aws.ops(op)[0]["headers"]["x-amz-security-token"] == aws.keys[role_key][1]
    assert not any(auth_key(r) == "ASIAINSTANCE" for r in aws.requests if "authorization" in r["headers"])


def test_assume_role_from_the_instance_profile(jk, aws, tmp_path):
    """credential_source = Ec2InstanceMetadata: the instance role signs AssumeRole only."""
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.keys["ASIAINSTANCE"] = ("i-secret", "i-token")
    cfg = jk.config(extra_aws='profile = "viaimds"\n')
    write_aws_files(jk.home, "", f"[profile viaimds]\nrole_arn = {ROLE}\ncredential_source = Ec2InstanceMetadata\n")
    imds = fakes.FakeMetadata(DOC, role=("instance-role", "ASIAINSTANCE", "i-secret", "i-token")).start()
    try:
        # aws.profile in the configuration wins even over environment keys.
        _, doc = jk.check(root, cat, "--submit", "securityhub", config=cfg,
                          env={"AWS_EC2_METADATA_DISABLED": None, "JIKIMI_IMDS_ENDPOINT": imds.url})
    finally:
        imds.stop()
    assert doc["sinks"]["securityhub"]["sent"] == 4, doc["sinks"]
    assert auth_key(aws.ops("AssumeRole")[0]) == "ASIAINSTANCE"
    assert auth_key(aws.ops("BatchImportFindings")[0]) == aws.issued[0]


def test_web_identity_from_the_environment(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    token = tmp_path / "token"
    token.write_text("eyJ.web-identity.token\n")
    env = {**NO_ENV_KEYS, "AWS_WEB_IDENTITY_TOKEN_FILE": str(token), "AWS_ROLE_ARN": ROLE,
           "AWS_ROLE_SESSION_NAME": "pod-1"}
    _, doc = jk.check(root, cat, "--submit", "securityhub", env=env)
    assert doc["sinks"]["securityhub"]["sent"] == 4, doc["sinks"]
    (w,) = aws.ops("AssumeRoleWithWebIdentity")
    assert "authorization" not in w["headers"]
    assert (w["body"]["RoleArn"], w["body"]["WebIdentityToken"], w["body"]["RoleSessionName"]) == \
        (ROLE, "eyJ.web-identity.token", "pod-1")
    assert auth_key(aws.ops("BatchImportFindings")[0]) == aws.issued[0]


def test_credential_process_profile(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.keys["AKIDPROCESS"] = ("process-secret", "process-token")
    helper = tmp_path / "helper dir" / "creds.py"
    helper.parent.mkdir()
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    helper.write_text(textwrap.dedent(f"""\
        import json, sys
        assert sys.argv[1:] == ["--role", "a b", "$HOME"], sys.argv
        print(json.dumps({{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "process-secret",
                           "SessionToken": "process-token", "Expiration": "{expires}"}}))
        """))
    write_aws_files(jk.home, "", f"""
        [profile roles-anywhere]
        credential_process = {sys.executable} "{helper}" --role 'a b' $HOME
        [profile broken]
        credential_process = {sys.executable} -c "import sys; sys.exit(3)"
        [profile old]
        credential_process = {sys.executable} -c 'print("{{\\"Version\\": 2}}")'
        """)
    _, doc = jk.check(root, cat, "--submit", "securityhub", env={**NO_ENV_KEYS, "AWS_PROFILE": "roles-anywhere"})
    assert doc["sinks"]["securityhub"]["sent"] == 4, doc["sinks"]
    assert auth_key(aws.ops("BatchImportFindings")[0]) == "AKIDPROCESS"
    for profile, why in (("broken", "exited with exit status: 3"), ("old", "Version 2 is not supported")):
        p, _ = jk.check(root, cat, "--submit", "securityhub", env={**NO_ENV_KEYS, "AWS_PROFILE": profile}, codes=(1,))
        assert why in p.stderr and f"profile {profile}" in p.stderr, p.stderr
    assert len(aws.ops("BatchImportFindings")) == 1


def test_unusable_profiles_never_fall_through(jk, aws, tmp_path):
    """A selected profile that cannot be used is an error naming it, even though the
    instance profile would have worked."""
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    write_aws_files(jk.home, "[half]\naws_access_key_id = AKIDHALF\n", f"""
        [profile sso]
        sso_start_url = https://example.awsapps.com/start
        sso_account_id = {ACCOUNT}
        sso_role_name = Admin
        [profile norole]
        role_arn = {ROLE}
        [profile loop]
        role_arn = {ROLE}
        source_profile = loop2
        [profile loop2]
        role_arn = {ROLE}
        source_profile = loop
        [profile badsource]
        role_arn = {ROLE}
        credential_source = Ec2
        """)
    imds = fakes.FakeMetadata(DOC, role=("instance-role", "ASIAINSTANCE", "i-secret", "i-token")).start()
    try:
        for profile, why in (("missing", "profile missing not found"), ("sso", "not supported"),
                             ("norole", "needs source_profile"), ("loop", "loop"),
                             ("badsource", "credential_source `Ec2` is not supported"),
                             ("half", "must both be set")):
            env = {**NO_ENV_KEYS, "AWS_PROFILE": profile, "AWS_EC2_METADATA_DISABLED": None,
                   "JIKIMI_IMDS_ENDPOINT": imds.url}
            p, _ = jk.check(root, cat, "--submit", "securityhub", env=env, codes=(1,))
            assert why in p.stderr, (profile, p.stderr)
    finally:
        imds.stop()
    assert aws.ops("BatchImportFindings") == []
    assert not any("/security-credentials/instance-role" in r[1] for r in imds.requests)


def test_container_endpoint_addresses(jk, aws, tmp_path):
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    for url in ("http://10.1.2.3/creds", "http://169.254.169.254/latest", "http://metadata.example.com/x"):
        env = {**NO_ENV_KEYS, "AWS_CONTAINER_CREDENTIALS_FULL_URI": url}
        p, _ = jk.check(root, cat, "--submit", "securityhub", env=env, codes=(1,))
        assert "plain http is allowed only to loopback" in p.stderr, p.stderr
    assert aws.ops("BatchImportFindings") == []


def test_imds_credentials_are_reused_near_expiry(jk, aws, tmp_path):
    """Credentials with less than 5 minutes left are refreshed at most once a minute, not
    before every call (IMDS keeps handing out the same ones until it rotates them)."""
    root = make_root(tmp_path)
    cat = write_catalog(tmp_path / "cat", {f"B-{i:03d}": OS_ID for i in range(150)})
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    imds = fakes.FakeMetadata(DOC, role=("instance-role", "ASIAROLE", "role-secret", "role-token"),
                              expiration=soon).start()
    aws.keys["ASIAROLE"] = ("role-secret", "role-token")
    try:
        env = {**NO_ENV_KEYS, "AWS_EC2_METADATA_DISABLED": None, "JIKIMI_IMDS_ENDPOINT": imds.url}
        _, doc = jk.check(root, cat, "--submit", "securityhub,ssm-compliance", env=env)
    finally:
        imds.stop()
    assert doc["sinks"]["securityhub"]["calls"] == 2 and doc["sinks"]["ssm_compliance"]["sent"] == 150
    fetched = [r for r in imds.requests if r[1] == "/latest/meta-data/iam/security-credentials/instance-role"]
    assert len(fetched) == 1, f"{len(fetched)} credential fetches for 3 calls"


def test_clock_skew_is_corrected_from_the_date_header(jk, aws, tmp_path):
    """A host clock an hour slow (JIKIMI_TEST_CLOCK_SKEW_SECS, test only): the first call is
    rejected like AWS does, the agent corrects its clock from the answer's Date header,
    retries once and every later call of the run is signed with the corrected time."""
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    env = {"JIKIMI_TEST_CLOCK_SKEW_SECS": "-3600"}
    p, doc = jk.check(root, cat, "--submit", "securityhub,ssm-compliance", env=env)
    assert doc["sinks"]["securityhub"]["sent"] == 4, doc["sinks"]
    assert doc["sinks"]["ssm_compliance"]["sent"] == 5
    assert aws.skew_rejections == 1
    assert len(aws.ops("BatchImportFindings")) == 2
    import re
    assert re.search(r"the host clock is -36(00|01|99) s off AWS's", p.stderr) or \
        re.search(r"the host clock is -3599 s off AWS's", p.stderr), p.stderr
    # A later run of the same host starts uncorrected (a new process) and corrects again.
    aws.reset_counts()
    make_root(tmp_path, secure=True)
    _, doc = jk.check(root, cat, "--submit", "securityhub", env=env)
    assert doc["sinks"]["securityhub"]["sent"] == 1 and aws.skew_rejections == 2


def test_daemon_assumes_the_role_once_per_credential_lifetime(jk, aws, tmp_path):
    """Role credentials are cached for the process: scans of a daemon reuse them until
    shortly before they expire instead of calling STS every scan."""
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    aws.keys["AKIDBASE"] = ("base-secret", None)
    write_aws_files(jk.home, "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n",
                    f"[profile fleet]\nrole_arn = {ROLE}\nsource_profile = base\n")
    cfg = jk.config(f'[securityhub]\nenabled = true\nrefresh_interval_secs = 1\n[agent]\nstate_dir = "{jk.state}"\n',
                    extra_aws="first_submission_jitter_secs = 0\n")
    env = {k: v for k, v in {**jk.env, **NO_ENV_KEYS, "AWS_PROFILE": "fleet"}.items() if v is not None}
    p = subprocess.Popen(
        [str(jikimi_bin()), "check", "--listen", "127.0.0.1:0", "--interval", "60",
         "--no-extra-checks", "--root", str(root), "--catalog", str(cat), "--config", str(cfg)],
        env=env, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        import signal
        import time
        deadline = time.time() + 40
        while time.time() < deadline and sum("securityhub:" in l for l in lines) < 3:
            line = p.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "securityhub:" in line:
                # the interval is at least 60 s: SIGHUP rescans now (the process, and so its
                # credential cache, stays)
                p.send_signal(signal.SIGHUP)
    finally:
        p.terminate()
        p.wait(timeout=10)
    sh = [l for l in lines if "securityhub:" in l]
    assert len(sh) >= 3 and "4 sent" in sh[0], "".join(lines)
    assert len(aws.ops("AssumeRole")) == 1, [r["op"] for r in aws.requests]
    assert {auth_key(r) for r in aws.ops("BatchImportFindings")} == {aws.issued[0]}
