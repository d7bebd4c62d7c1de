"""Slack and generic webhook alerts, received by a local HTTP server: a new failure → one
message, unchanged → none, fixed → one, receiver down → kept and delivered by the next run,
and the webhook URLs (secrets) never in the output, the logs or the state."""

import json

from conftest import BASIC, make_root, write_catalog

SLACK_SECRET = "T0JIKIMI/B0JIKIMI/XoxSecretToken123"
HOOK_SECRET = "hook-secret-456"


def config(jk, hooks, extra=""):
    return jk.config(
        f'[alerts]\nmin_severity = "high"\nmax_attempts = 2\n'
        f'[alerts.slack]\nurl = "{hooks.base}/services/{SLACK_SECRET}"\n'
        f'[alerts.webhook]\nurl = "{hooks.base}/jikimi/{HOOK_SECRET}?token={HOOK_SECRET}"\n{extra}',
        identity=False,
    )


def scan(jk, root, cat, cfg):
    p = jk.run("check", "--once", "--format", "json", "--no-extra-checks", "--root", root,
               "--catalog", cat, "--config", cfg, "--state-dir", jk.state)
    for secret in (SLACK_SECRET, HOOK_SECRET, "XoxSecretToken123"):
        assert secret not in p.stdout and secret not in p.stderr, "a webhook URL leaked"
    return p, json.loads(p.stdout)


def no_secret_in_state(jk):
    for f in jk.state.iterdir():
        if f.is_file():
            text = f.read_text(errors="replace")
            assert SLACK_SECRET not in text and HOOK_SECRET not in text, f


def test_new_unchanged_fixed_and_outage(jk, hooks, tmp_path):
    from conftest import Jikimi

    jk = Jikimi(tmp_path)  # no AWS at all: alerts need none
    cat = write_catalog(tmp_path / "cat", {k: BASIC[k] for k in ("T-001", "T-002", "T-003", "T-004")})
    root = make_root(tmp_path, secure=False)
    cfg = config(jk, hooks)

    # 1. first run: T-001 fails (high): one message per sink
    p, doc = scan(jk, root, cat, cfg)
    assert p.returncode == 2
    slack, hook = hooks.take("/services/"), hooks.take("/jikimi/")
    assert len(slack) == 1 and len(hook) == 1
    text = slack[0][2]["text"]
    assert "1 new failure" in text and "T-001" in text and "FAILED" in text, text
    assert "T-004" not in text, "an ERROR is not a failure"
    ev = hook[0][2]["events"]
    assert [(e["event"], e["check_id"], e["severity"]) for e in ev] == [("failed", "T-001", "high")]
    assert {k.lower(): v for k, v in hook[0][1].items()}["content-type"] == "application/json"
    assert doc["sinks"]["alerts_slack"]["sent"] == 1 and doc["sinks"]["alerts_webhook"]["pending"] == 0

    # 2. unchanged: nothing
    scan(jk, root, cat, cfg)
    assert hooks.received == []

    # 3. fixed: one message
    make_root(tmp_path, secure=True)
    scan(jk, root, cat, cfg)
    slack, hook = hooks.take("/services/"), hooks.take("/jikimi/")
    assert len(slack) == 1 and "1 fixed" in slack[0][2]["text"] and "FIXED" in slack[0][2]["text"]
    assert [e["event"] for e in hook[0][2]["events"]] == ["fixed"]

    # 4. it breaks again while the receivers are down: the run still works, the message waits
    make_root(tmp_path, secure=False)
    hooks.stop()
    p, doc = scan(jk, root, cat, cfg)
    assert p.returncode == 2, "delivery problems never change the exit code"
    for name in ("alerts_slack", "alerts_webhook"):
        s = doc["sinks"][name]
        assert s["pending"] == 1 and s["sent"] == 0 and s["calls"] == 2, s
        assert s["errors"] and all("kept for the next run" in e for e in s["errors"]), s
    assert "warning: alerts_slack" in p.stderr
    no_secret_in_state(jk)

    # 5. back up: the next run (state unchanged) delivers the kept message, once
    hooks.start()
    p, doc = scan(jk, root, cat, cfg)
    slack, hook = hooks.take("/services/"), hooks.take("/jikimi/")
    assert len(slack) == 1 and len(hook) == 1
    assert "1 new failure" in slack[0][2]["text"]
    assert doc["sinks"]["alerts_slack"]["pending"] == 0
    scan(jk, root, cat, cfg)
    assert hooks.received == [], "delivered exactly once"
    no_secret_in_state(jk)


def test_receiver_errors_are_retried_and_redacted(jk, hooks, tmp_path):
    from conftest import Jikimi

    jk = Jikimi(tmp_path)
    cat = write_catalog(tmp_path / "cat", {"T-001": BASIC["T-001"]})
    root = make_root(tmp_path, secure=False)
    hooks.status = 503
    p, doc = scan(jk, root, cat, config(jk, hooks))
    s = doc["sinks"]["alerts_slack"]
    assert s["calls"] == 2 and s["pending"] == 1 and "HTTP 503" in s["errors"][0], s
    assert len(hooks.take("/services/")) == 2, "retried with backoff within the run"
    hooks.status = 200
    hooks.received.clear()
    p, doc = scan(jk, root, cat, config(jk, hooks))
    assert len(hooks.take("/services/")) == 1
    # a URL that cannot be reached at all: the error names no part of it
    bad = jk.config(f'[alerts.slack]\nurl = "http://127.0.0.1:9/services/{SLACK_SECRET}"\n',
                    name="bad.toml", identity=False)
    make_root(tmp_path, secure=True)
    p, doc = scan(jk, root, cat, bad)
    assert doc["sinks"]["alerts_slack"]["errors"], doc["sinks"]
    # and a configuration error does not echo the URL either
    broken = jk.config(f'[alerts.slack]\nurl = "ftp://x/{SLACK_SECRET}"\n', name="broken.toml", identity=False)
    p = jk.run("config", "validate", "--config", broken, codes=(1,))
    assert SLACK_SECRET not in p.stderr and "broken.toml:2" in p.stderr, p.stderr


def test_webhook_url_from_parameter_store(jk, aws, moto, hooks, tmp_path):
    from conftest import REGION, boto

    boto(moto, "ssm").put_parameter(Name="/jikimi/slack-url", Type="SecureString",
                                    Value=f"{hooks.base}/services/{SLACK_SECRET}")
    cat = write_catalog(tmp_path / "cat", {"T-001": BASIC["T-001"]})
    root = make_root(tmp_path, secure=False)
    cfg = jk.config('[alerts.slack]\nurl_parameter = "/jikimi/slack-url"\n')
    p, doc = scan(jk, root, cat, cfg)
    assert doc["sinks"]["alerts_slack"]["sent"] == 1, doc["sinks"]
    assert len(hooks.take("/services/")) == 1
    get = aws.ops("GetParameter")
    assert get and get[0]["body"] == {"Name": "/jikimi/slack-url", "WithDecryption": True}
    assert REGION in get[0]["headers"]["authorization"]


def test_alerts_in_korean(jk, hooks, tmp_path):
    """`--lang ko`: the Slack text and the webhook title are Korean; the webhook's keys, event
    names, check ids and severities stay English."""
    from conftest import Jikimi

    jk = Jikimi(tmp_path)
    cat = write_catalog(tmp_path / "cat", {k: BASIC[k] for k in ("T-001", "T-002")})
    root = make_root(tmp_path, secure=False)
    cfg = config(jk, hooks)
    p = jk.run("check", "--once", "--format", "json", "--no-extra-checks", "--root", root, "--catalog", cat,
               "--config", cfg, "--state-dir", jk.state, "--lang", "ko")
    assert p.returncode == 2
    slack, hook = hooks.take("/services/"), hooks.take("/jikimi/")
    text = slack[0][2]["text"]
    assert "신규 취약 1건" in text and ":red_circle: 취약" in text and "T-001" in text, text
    assert "new failure" not in text, text
    body = hook[0][2]
    assert "신규 취약 1건" in body["title"], body
    assert [(e["event"], e["check_id"], e["severity"]) for e in body["events"]] == [("failed", "T-001", "high")]
