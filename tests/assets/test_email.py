"""The report mail over SMTP: a real SMTP server on loopback (aiosmtpd) that requires STARTTLS
(certificate from a test CA) and AUTH, receives the mail, and its content is asserted."""

import email
import email.policy
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import fakes
from conftest import BASIC, boto, make_root, write_catalog

PASSWORD = "smtp-Pa55word-never-printed"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session))
        return "250 OK queued"


def check_auth(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"jikimi" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


@pytest.fixture
def smtp(tmp_path):
    ca, cert, key = fakes.make_ca(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    inbox = Inbox()
    port = fakes.free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                   authenticator=check_auth, auth_require_tls=True)
    c.start()
    yield inbox, port, ca
    c.stop()


def mail_config(jk, port, ca, auth, extra=""):
    return jk.config(
        f'[email]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nfrom = "jikimi@example.com"\n'
        f'to = ["ops@example.com", "security@example.com"]\nca_bundle = "{ca}"\n{auth}{extra}'
        '[asset]\nenv = "PROD"\n'
    )


def run(jk, tmp_path, cfg, *extra):
    cat = write_catalog(tmp_path / "cat", {k: BASIC[k] for k in ("T-001", "T-002", "T-004")})
    root = make_root(tmp_path, secure=False)
    p = jk.run("check", "--once", "--format", "json", "--no-extra-checks", "--root", root, "--catalog", cat,
               "--config", cfg, "--state-dir", jk.state, *extra)
    assert PASSWORD not in p.stdout and PASSWORD not in p.stderr
    import json

    return p, json.loads(p.stdout)


def test_report_mail_over_starttls_with_password_from_parameter_store(jk, aws, moto, smtp, tmp_path):
    inbox, port, ca = smtp
    boto(moto, "ssm").put_parameter(Name="/jikimi/smtp-password", Type="SecureString", Value=PASSWORD)
    cfg = mail_config(jk, port, ca, 'username = "jikimi"\npassword_parameter = "/jikimi/smtp-password"\n')
    p, doc = run(jk, tmp_path, cfg, "--submit", "email")
    assert p.returncode == 2
    assert doc["sinks"]["email"]["sent"] == 1, doc["sinks"]["email"]
    assert len(inbox.messages) == 1
    mail_from, rcpts, content, session = inbox.messages[0]
    assert mail_from == "jikimi@example.com"
    assert rcpts == ["ops@example.com", "security@example.com"]
    assert session.authenticated
    msg = email.message_from_bytes(content, policy=email.policy.default)
    assert msg["Subject"] == "[Jikimi] [PROD] none-1: 1 failed, score 50.0"
    assert msg["From"] == "jikimi@example.com"
    assert msg["To"] == "ops@example.com, security@example.com"
    assert msg["Date"] and msg["Message-ID"]
    body = msg.get_content().replace("\r\n", "\n")  # canonical CRLF line ends
    assert "Jikimi report for none-1" in body
    assert "Summary: 3 checks, 1 passed, 1 failed, 0 not applicable, 1 errors" in body
    assert "Failed checks (most severe first):\n  [HIGH] T-001 T-001 holds" in body
    assert "Checks that could not be evaluated:\n  T-004" in body
    assert "Asset: Env=PROD" in body


def test_configured_password_and_failures_never_crash_or_leak(jk, smtp, tmp_path):
    inbox, port, ca = smtp
    # the enabled switch sends without --submit
    cfg = mail_config(jk, port, ca, f'username = "jikimi"\npassword = "{PASSWORD}"\n', "enabled = true\n")
    p, doc = run(jk, tmp_path, cfg)
    assert doc["sinks"]["email"]["sent"] == 1 and len(inbox.messages) == 1
    # a wrong password: a permanent error, reported, not retried, the exit code unchanged
    cfg = mail_config(jk, port, ca, f'username = "jikimi"\npassword = "wrong-{PASSWORD}"\n', "enabled = true\n")
    p, doc = run(jk, tmp_path, cfg)
    s = doc["sinks"]["email"]
    assert p.returncode == 2 and s["sent"] == 0 and s["calls"] == 1, s
    assert "AUTH" in s["errors"][0] and "535" in s["errors"][0], s
    assert "wrong-" not in p.stdout + p.stderr
    # a CA that does not match the server's certificate: TLS fails, nothing is sent
    other_ca = fakes.make_ca(tmp_path / "other" if (tmp_path / "other").mkdir() is None else None)[0]
    cfg = mail_config(jk, port, other_ca, f'username = "jikimi"\npassword = "{PASSWORD}"\n', "enabled = true\n")
    p, doc = run(jk, tmp_path, cfg)
    assert doc["sinks"]["email"]["sent"] == 0 and "TLS" in doc["sinks"]["email"]["errors"][0]
    assert len(inbox.messages) == 1


def test_no_starttls_no_credentials_sent(jk, tmp_path):
    inbox = Inbox()
    port = fakes.free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port)
    c.start()
    try:
        cfg = mail_config(jk, port, "/nonexistent", f'username = "jikimi"\npassword = "{PASSWORD}"\n', "enabled = true\n")
        p, doc = run(jk, tmp_path, cfg)
        assert "does not offer STARTTLS" in doc["sinks"]["email"]["errors"][0]
        assert inbox.messages == []
    finally:
        c.stop()


def test_report_mail_in_korean(jk, smtp, tmp_path):
    """`[report] lang = "ko"`: the subject (RFC 2047 words a mail client decodes) and the body
    are Korean, the check ids and the evidence unchanged; the daily report in it is Korean."""
    inbox, port, ca = smtp
    cfg = mail_config(jk, port, ca, f'username = "jikimi"\npassword = "{PASSWORD}"\n',
                      'enabled = true\n\n[report]\nlang = "ko"\n')
    p, doc = run(jk, tmp_path, cfg)
    assert doc["sinks"]["email"]["sent"] == 1, doc["sinks"]["email"]
    assert doc["results"][0]["status"] in ("PASS", "FAIL", "ERROR")  # JSON stays English
    msg = email.message_from_bytes(inbox.messages[0][2], policy=email.policy.default)
    raw_subject = inbox.messages[0][2].split(b"\r\nSubject: ", 1)[1].split(b"\r\nDate:", 1)[0]
    for word in raw_subject.split(b"\r\n "):
        assert len(word) <= 75 and word.startswith(b"=?UTF-8?B?"), raw_subject
    assert msg["Subject"] == "[Jikimi] [PROD] none-1: 취약 1건, 점수 50.0"
    body = msg.get_content().replace("\r\n", "\n")
    assert "Jikimi 보고서: none-1" in body
    assert "요약: 점검 3개, 양호 1, 취약 1, 해당 없음 0, 오류 1" in body
    assert "취약 점검 항목 (심각도 높은 순):\n  [HIGH] T-001" in body
    assert "점검할 수 없었던 항목:\n  T-004" in body
    assert "# Jikimi 보고서: none-1" in body and "## 계속 취약" in body
