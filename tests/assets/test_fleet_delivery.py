"""`jikimi fleet report --mail --slack --webhook`: the fleet report built from moto-held
findings of 24 hosts (tests/aws/fleet_data.py) is mailed to aiosmtpd over STARTTLS with AUTH
(password from Parameter Store) and posted to local Slack and webhook receivers."""

import email
import email.policy
import json

import fleet_data as fd
from conftest import boto
from test_email import PASSWORD, smtp  # noqa: F401  (the SMTP server fixture)

SLACK_SECRET = "T000/B000/fleetslacksecret"


def config(jk, port, ca, hooks, extra=""):
    return jk.config(
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nfrom = "jikimi@example.com"\n'
        f'to = ["security@example.com"]\nca_bundle = "{ca}"\nusername = "jikimi"\n'
        'password_parameter = "/jikimi/smtp-password"\n'
        '[securityhub]\nrefresh_interval_secs = 86400\n'
        f'[alerts.slack]\nurl = "{hooks.base}/services/{SLACK_SECRET}"\n'
        f'[alerts.webhook]\nurl = "{hooks.base}/fleet"\n{extra}'
    )


def test_fleet_report_by_mail_slack_and_webhook(jk, aws, moto, smtp, hooks):  # noqa: F811
    inbox, port, ca = smtp
    boto(moto, "ssm").put_parameter(Name="/jikimi/smtp-password", Type="SecureString", Value=PASSWORD)
    fd.import_fleet(boto(moto, "securityhub"))
    cfg = config(jk, port, ca, hooks)
    p = jk.run("fleet", "report", "--config", cfg, "--now", fd.ts(fd.NOW), "--format", "json",
               "--mail", "--slack", "--webhook", codes=(0,))
    doc = json.loads(p.stdout)
    assert PASSWORD not in p.stdout + p.stderr and SLACK_SECRET not in p.stderr
    assert len(aws.ops("GetFindings")) == 2

    # Mail: one message with the whole fleet's Markdown report.
    assert len(inbox.messages) == 1
    mail_from, rcpts, content, session = inbox.messages[0]
    assert session.authenticated and rcpts == ["security@example.com"]
    msg = email.message_from_bytes(content, policy=email.policy.default)
    t = doc["totals"]
    assert msg["Subject"] == (
        f"[Jikimi] Jikimi fleet report (24h): score {t['score']:.1f}, {t['failed']} failing, "
        "3 of 24 hosts silent"
    )
    assert msg.get_content_type() == "multipart/alternative"
    body = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content()
    assert html.startswith("<!DOCTYPE html>") and "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "## Silent hosts\n\n- h21.fleet.example (last seen 2026-11-26T00:00:00.000Z" in body
    assert "- **C-03** [high] C-03 holds (2 hosts): h01.fleet.example, h02.fleet.example" in body
    assert "| C-04 | medium | 11 | 47.8% | C-04 holds |" in body
    assert "<img" not in body

    # Slack: the summary, escaped; webhook: the JSON report itself.
    (path, _, slack), = hooks.take("/services/")
    assert path == f"/services/{SLACK_SECRET}"
    text = slack["text"]
    assert text.startswith("*Jikimi fleet report (24h)")
    assert ":warning: Silent: h21.fleet.example, h22.fleet.example, h23.fleet.example" in text
    assert "`C-03` C-03 holds: h01.fleet.example, h02.fleet.example" in text
    assert "<img" not in text
    (_, _, hook), = hooks.take("/fleet")
    assert hook["kind"] == "fleet_report" and hook["report"] == doc


def test_failed_delivery_is_an_error_after_the_report_is_written(jk, aws, moto, hooks, tmp_path):
    fd.import_fleet(boto(moto, "securityhub"))
    hooks.status = 500
    cfg = config(jk, 9, "/nonexistent", hooks)
    out = tmp_path / "fleet.md"
    p = jk.run("fleet", "report", "--config", cfg, "--now", fd.ts(fd.NOW), "--output", out,
               "--webhook", codes=(1,))
    assert out.read_text().startswith("# Jikimi fleet report, last 24h")
    assert "delivery failed: webhook: HTTP 500" in p.stderr
