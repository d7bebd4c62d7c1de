#!/usr/bin/env python3
"""Evaluates every PromQL expression of the Grafana dashboard and of the alerting rules
against a running Prometheus (HTTP API, /api/v1/query) that scrapes Jikimi agents.

Dashboard: every `expr` of every panel target, and the metric of each `label_values(...)`
variable query, with template variables substituted ($instance by its "All" value `.+`,
custom variables by their current value, $__rate_interval/$__interval/$__range by fixed
windows). Each must evaluate with status "success" AND return at least one series.

Alerting rules: taken from Prometheus itself (/api/v1/rules, the file it loaded), so the
exact expressions are tested. An alert expression is a condition that is normally empty on
a healthy host, so: the whole expression must evaluate with status "success", and its data
part (the expression left of its first top-level comparison or set operator: `>`, `==`,
`and`, `unless`, ...) must return at least one series. Every rule must also report health
"ok" after Prometheus evaluated it.

Usage: promql_check.py PROMETHEUS_URL DASHBOARD_JSON RULES_YAML
Prints one line per check and `promql: N passed, N failed`; exits 1 on any failure.
"""
import json, re, sys, urllib.parse, urllib.request

prom, dashboard_path, rules_path = sys.argv[1:4]
passed = failed = 0


def report(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("ok   " if ok else "FAIL ") + what)


def get(path, **params):
    url = prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 400 on a parse error, with a JSON body
        return json.load(e)


def query(expr):
    return get("/api/v1/query", query=expr)


def one_line(expr):
    return " ".join(expr.split())


def substitute(expr, variables):
    fixed = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m", "__range_s": "300"}
    def repl(m):
        name = m.group(1) or m.group(2)
        if name in fixed:
            return fixed[name]
        if name in variables:
            return variables[name]
        raise KeyError(f"unknown template variable ${name} in {expr}")
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def data_part(expr):
    """The expression left of its first top-level comparison or set operator, or None."""
    depth, quote, i = 0, None, 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            two = expr[i:i + 2]
            if two in ("==", "!=", ">=", "<=") or (c in "<>" and two not in ("<=", ">=")):
                return expr[:i].strip()
            if i > 0 and expr[i - 1].isspace() and re.match(r"(and|or|unless)\s", expr[i:]):
                return expr[:i].strip()
        i += 1
    return None


# ------------------------------------------------------------------ dashboard
dash = json.load(open(dashboard_path))
templ = dash.get("templating", {}).get("list", [])
variables = {}
ds_vars = [v for v in templ if v.get("type") == "datasource" and v.get("query") == "prometheus"]
report(len(ds_vars) == 1, "dashboard: one Prometheus data source variable")
ds_name = ds_vars[0]["name"] if ds_vars else "datasource"
for v in templ:
    if v.get("type") == "query":
        variables[v["name"]] = v.get("allValue") or ".+"
    elif v.get("type") == "custom":
        variables[v["name"]] = v["current"]["value"]
report("instance" in variables, "dashboard: an instance variable")

exprs = []  # (where, expr)


def walk(node, where):
    if isinstance(node, dict):
        title = node.get("title", where)
        if "expr" in node and isinstance(node["expr"], str):
            exprs.append((f"{title} [{node.get('refId', '?')}]", node["expr"]))
        ds = node.get("datasource")
        if isinstance(ds, dict) and ds.get("type") == "prometheus":
            if ds.get("uid") != "${" + ds_name + "}":
                report(False, f"dashboard: {title}: data source {ds} is not ${{{ds_name}}}")
        for k, v in node.items():
            if k != "templating":
                walk(v, title)
    elif isinstance(node, list):
        for x in node:
            walk(x, where)


walk(dash, "dashboard")
for v in templ:
    if v.get("type") == "query":
        q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
        m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", q)
        if m:
            exprs.append((f"variable ${v['name']} ({q})", m.group(1)))
        else:
            m = re.fullmatch(r"\s*query_result\((.+)\)\s*", q)
            exprs.append((f"variable ${v['name']}", m.group(1) if m else q))
report(len(exprs) >= 20, f"dashboard: {len(exprs)} expressions found")

for where, expr in exprs:
    e = substitute(expr, variables)
    r = query(e)
    n = len(r.get("data", {}).get("result", [])) if r.get("status") == "success" else 0
    ok = r.get("status") == "success" and n > 0
    why = f"{n} series" if r.get("status") == "success" else f"{r.get('errorType')}: {r.get('error')}"
    report(ok, f"dashboard: {where}: {one_line(e)} -> {why}")

# ------------------------------------------------------------------ alerting rules
groups = get("/api/v1/rules").get("data", {}).get("groups", [])
rules = [(g["file"], r) for g in groups for r in g["rules"]]
in_file = len(re.findall(r"^\s*- alert:", open(rules_path).read(), re.M))
report(in_file > 0 and sum(1 for _, r in rules if r["type"] == "alerting") == in_file,
       f"rules: Prometheus loaded {len(rules)} rules, {in_file} alerts in {rules_path}")
for _, r in rules:
    name, expr = r["name"], r["query"]
    report(r.get("health") == "ok" and not r.get("lastError"),
           f"rules: {name}: health {r.get('health')} {r.get('lastError') or ''}".rstrip())
    full = query(expr)
    report(full.get("status") == "success",
           f"rules: {name}: whole expression evaluates ({full.get('status')}, "
           f"{len(full.get('data', {}).get('result', []))} series firing now) {full.get('error') or ''}".rstrip())
    part = data_part(expr)
    if part is None:
        report(len(full.get("data", {}).get("result", [])) > 0, f"rules: {name}: {one_line(expr)} returns data")
        continue
    d = query(part)
    n = len(d.get("data", {}).get("result", [])) if d.get("status") == "success" else 0
    report(d.get("status") == "success" and n > 0,
           f"rules: {name}: data part {one_line(part)} -> {n} series {d.get('error') or ''}".rstrip())

print(f"promql: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
