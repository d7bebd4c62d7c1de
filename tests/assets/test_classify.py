"""`jikimi classify --root` on every fixture host: exactly the expected tags and rules, each
reason naming the rule's file:line, and no command-line secret in the output."""

import json
import tomllib

import pytest

from conftest import HOSTS, Jikimi

NAMES = sorted(p.name for p in HOSTS.iterdir() if (p / "expect.toml").is_file())


@pytest.mark.parametrize("host", NAMES)
def test_fixture_host(tmp_path, host):
    exp = tomllib.loads((HOSTS / host / "expect.toml").read_text())
    jk = Jikimi(tmp_path)
    cfg = jk.config("", identity=False)
    p = jk.run("classify", "--json", "--root", HOSTS / host / "root", "--config", cfg, codes=(0,))
    doc = json.loads(p.stdout)
    assert doc["tags"] == exp.get("tags", {})
    assert {m["rule"] for m in doc["matches"]} == set(exp["rules"])
    for m in doc["matches"]:
        assert m["origin"].startswith("checks/classify/") and m["evidence"]
    text = jk.run("classify", "--root", HOSTS / host / "root", "--config", cfg, codes=(0,)).stdout
    for secret in exp.get("absent", []):
        assert secret not in p.stdout and secret not in text
    for m in doc["matches"]:
        assert f"rule {m['rule']} ({m['origin']})" in text


def test_all_built_in_products_are_covered():
    seen = set()
    for h in NAMES:
        seen |= set(tomllib.loads((HOSTS / h / "expect.toml").read_text())["rules"])
    assert seen == {"nginx", "httpd", "tomcat", "jboss", "nodejs", "gunicorn", "uwsgi", "php-fpm",
                    "mysql", "mariadb", "postgresql", "mongodb", "redis", "oracle"}
    assert {"web", "was", "db", "none"} <= set(NAMES)
