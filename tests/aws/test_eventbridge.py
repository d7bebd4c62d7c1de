"""The shipped EventBridge rule (packaging/aws/template.yaml, FailedFindingsRule) against
Security Hub "Findings - Imported" events built from what the agent really sends: a new
FAILED HIGH finding alerts once; the re-import of an unchanged finding (the refresh), a
details-only change, a fix, and suppressed findings do not; a failure that comes back
alerts again.

moto's EventBridge has no TestEventPattern and does not match fields inside arrays (every
Security Hub event keeps its finding in `detail.findings[]`), so the pattern is evaluated
by `matches` below: EventBridge's documented semantics for the operators the rule uses
(exact values, `prefix`, nested objects; an array in the event matches when any element
does)."""

import time
from pathlib import Path

import yaml

from conftest import BASIC, make_root, write_catalog

REPO = Path(__file__).resolve().parents[2]


def rule_pattern():
    class Loader(yaml.SafeLoader):
        pass

    # CloudFormation short forms (!Sub, !Ref...): their values do not matter here.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    # The generated template (what is deployed), SSM documents inlined.
    tpl = yaml.load((REPO / "packaging/aws/jikimi.yaml").read_text(), Loader=Loader)
    return tpl["Resources"]["FailedFindingsRule"]["Properties"]["EventPattern"]


def _values(node, path):
    """Every value at `path` in the event, descending through arrays."""
    if isinstance(node, list):
        return [v for item in node for v in _values(item, path)]
    if not path:
        return [node]
    if not isinstance(node, dict) or path[0] not in node:
        return []
    return _values(node[path[0]], path[1:])


def _leaf(values, filters):
    for f in filters:
        for v in values:
            if isinstance(f, dict):
                (op, arg), = f.items()
                if op == "prefix" and isinstance(v, str) and v.startswith(arg):
                    return True
                if op == "exists":
                    raise AssertionError("exists is not used by the rule")
                if op not in ("prefix",):
                    raise AssertionError(f"operator {op} is not implemented here")
            elif v == f:
                return True
    return False


def matches(pattern, event, path=()):
    for k, v in pattern.items():
        if isinstance(v, dict):
            if not matches(v, event, path + (k,)):
                return False
        else:
            assert isinstance(v, list), f"{k}: a pattern leaf is a list"
            if not _leaf(_values(event, list(path + (k,))), v):
                return False
    return True


def test_matcher_semantics():
    p = {"detail": {"findings": {"A": ["x"], "B": [{"prefix": "jik"}]}}}
    assert matches(p, {"detail": {"findings": [{"A": "x", "B": "jikimi/1"}]}})
    assert not matches(p, {"detail": {"findings": [{"A": "y", "B": "jikimi/1"}]}})
    assert not matches(p, {"detail": {"findings": [{"A": "x"}]}}), "a missing field never matches"
    assert matches({"a": ["x"]}, {"a": ["y", "x"]}), "an event array matches when any element does"


class SecurityHub:
    """What Security Hub keeps per finding and the event it emits on each import: the
    top-level Severity and Types copied from FindingProviderFields (the agent sends only
    those), and the workflow status (NEW for a new finding; NEW again when a resolved
    finding fails again; left alone when a person set it, e.g. SUPPRESSED)."""

    def __init__(self):
        self.workflow = {}

    def imported(self, finding):
        f = dict(finding)
        fid = f["Id"]
        status = f["Compliance"]["Status"]
        wf = self.workflow.get(fid, "NEW")
        if wf == "RESOLVED" and status == "FAILED":
            wf = "NEW"
        elif wf == "NEW" and status == "PASSED":
            wf = "RESOLVED"
        self.workflow[fid] = wf
        f["Workflow"] = {"Status": wf}
        f.setdefault("Severity", f["FindingProviderFields"]["Severity"])
        f.setdefault("Types", f["FindingProviderFields"]["Types"])
        return {
            "version": "0",
            "source": "aws.securityhub",
            "detail-type": "Security Hub Findings - Imported",
            "account": f["AwsAccountId"],
            "region": f["Resources"][0]["Region"],
            "detail": {"findings": [f]},
        }


def test_rule_alerts_once_per_failure(jk, aws, tmp_path):
    pattern = rule_pattern()
    hub = SecurityHub()
    root, cat = make_root(tmp_path), write_catalog(tmp_path / "cat", BASIC)
    cfg = jk.config("[securityhub]\nrefresh_interval_secs = 1\n")

    def run():
        before = len(aws.imported())
        _, doc = jk.check(root, cat, "--submit", "securityhub", config=cfg)
        assert doc["sinks"]["securityhub"]["pending"] == 0, doc["sinks"]["securityhub"]
        sent = aws.imported()[before:]
        return {f["ProductFields"]["jikimi/CheckId"]: matches(pattern, hub.imported(f)) for f in sent}

    # First run: the two HIGH failures alert; PASSED and the check error do not.
    assert run() == {"T-001": True, "T-002": False, "T-004": False, "T-005": True}
    # The refresh re-imports every unchanged finding: nothing alerts.
    time.sleep(1.1)
    assert run() == {"T-001": False, "T-002": False, "T-004": False, "T-005": False}
    # A person suppresses T-005; T-001 is fixed (PASSED: no alert).
    hub.workflow["jikimi/123456789012/ap-northeast-2/mi-0123456789abcdef0/T-005"] = "SUPPRESSED"
    make_root(tmp_path, secure=True)
    assert run() == {"T-001": False}
    # T-001 fails again: a new failure alerts, once; the suppressed T-005 never does.
    make_root(tmp_path, secure=False)
    assert run() == {"T-001": True}
    time.sleep(1.1)
    assert run() == {"T-001": False, "T-002": False, "T-004": False, "T-005": False}
