#!/usr/bin/env bash
# Observability tests with the real tools, all on 127.0.0.1:
#   1. promtool check rules / test rules / check config on packaging/prometheus;
#   2. two agent daemons (a fixture root that fakes /proc with per-check series, and the live
#      host), plus a one-shot run submitting to a fake Security Hub whose --textfile is
#      served as a third scrape target (sink metrics);
#   3. Debian's prometheus scraping all three every second and evaluating alerts.yml;
#      every PromQL expression of packaging/grafana/jikimi.json and of alerts.yml is
#      evaluated through /api/v1/query (tests/observability/promql_check.py says how);
#   4. `jikimi report` on a history made by real scans (a fix, a new failure, an error), its
#      HTML rendered by headless Chromium to a PNG that must not be blank.
# Ends with `observability: N passed, N failed`; exits non-zero on any failure. Everything
# started here is stopped on exit, failure or not. Needs: promtool and prometheus (Debian
# `prometheus`), python3; installs Debian `chromium` when missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
HERE=tests/observability
if [ -z "${JIKIMI_BIN:-}" ]; then
  cargo build --quiet -p jikimi || { echo "observability: 0 passed, 1 failed (build)"; exit 1; }
  JIKIMI_BIN="${CARGO_TARGET_DIR:-target}/debug/jikimi"
fi
BIN=$(realpath "$JIKIMI_BIN")
export PATH="$PATH:/usr/sbin:/sbin"
T0=$(date +%s)

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
# run NAME CMD...: one assertion, the command's output shown when it fails
run() {
  local name=$1; shift
  if "$@" >"$WORK/last.log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/     /' "$WORK/last.log" | tail -n 30; fi
}

WORK=$(mktemp -d /tmp/jikimi-obs.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ 1. promtool
run "promtool check rules alerts.yml" promtool check rules packaging/prometheus/alerts.yml
run "promtool test rules alerts.test.yml" promtool test rules packaging/prometheus/alerts.test.yml
run "promtool check config scrape.yml" promtool check config packaging/prometheus/scrape.yml
run "dashboard is JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' packaging/grafana/jikimi.json

# ------------------------------------------------------------------ 2. agents
# address from the daemon's first log line ("metrics on http://ADDR/metrics")
agent_addr() {
  local log=$1 i
  for i in $(seq 1 100); do
    a=$(grep -o 'http://[0-9.:]*/metrics' "$log" 2>/dev/null | head -n 1 | sed 's|http://||; s|/metrics||')
    [ -n "$a" ] && { echo "$a"; return 0; }
    sleep 0.1
  done
  return 1
}
printf '[agent]\nstate_dir = "%s"\n[daemon]\njitter_secs = 0\nper_check_metrics = true\n' "$WORK/state-fixture" >"$WORK/fixture.toml"
printf '[agent]\nstate_dir = "%s"\n[daemon]\njitter_secs = 0\n' "$WORK/state-live" >"$WORK/live.toml"
# the interval's minimum is 60 s: the second scan of each daemon comes from SIGHUP (below)
"$BIN" check --listen 127.0.0.1:0 --interval 3600 --no-extra-checks --config "$WORK/fixture.toml" \
  --root tests/hosts/live-bad/root 2>"$WORK/fixture.log" &
FIXTURE_PID=$!
PIDS+=($!)
"$BIN" check --listen 127.0.0.1:0 --interval 3600 --no-extra-checks --no-walks --config "$WORK/live.toml" \
  2>"$WORK/live.log" &
LIVE_PID=$!
PIDS+=($!)
FIXTURE=$(agent_addr "$WORK/fixture.log") && ok "fixture daemon listens on $FIXTURE" || { bad "fixture daemon did not start"; cat "$WORK/fixture.log"; }
LIVE=$(agent_addr "$WORK/live.log") && ok "live daemon listens on $LIVE" || { bad "live daemon did not start"; cat "$WORK/live.log"; }

# one-shot run submitting to the fake Security Hub; its textfile becomes a scrape target
python3 "$HERE/fake_sink.py" "$WORK/sink.port" "$WORK/sink.prom" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$WORK/sink.port" ] && break; sleep 0.1; done
SINK="127.0.0.1:$(cat "$WORK/sink.port" 2>/dev/null)"
cat >"$WORK/sink.toml" <<EOF
[aws]
account_id = "123456789012"
region = "ap-northeast-2"
resource_id = "i-0123456789abcdef0"
endpoint_url = "http://$SINK"
imds = false
max_attempts = 1
EOF
AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret AWS_EC2_METADATA_DISABLED=true \
  "$BIN" check --once --no-extra-checks --root tests/hosts/live-bad/root --config "$WORK/sink.toml" \
  --submit securityhub --state-dir "$WORK/state-sink" --textfile "$WORK/sink.prom" --format json \
  -o "$WORK/sink.json" 2>"$WORK/sink.log"
code=$?
if [ "$code" -eq 2 ] && grep -Eq '^jikimi_sink_findings_sent\{sink="securityhub"\} [1-9]' "$WORK/sink.prom" \
   && grep -Eq '^jikimi_sink_findings_pending\{sink="securityhub"\} [1-9]' "$WORK/sink.prom"; then
  ok "one-shot --submit securityhub writes sink metrics to the textfile"
else
  bad "one-shot sink run (exit $code)"; cat "$WORK/sink.log"; grep sink "$WORK/sink.prom"
fi
run "textfile with sink metrics passes promtool check metrics" sh -c "promtool check metrics < '$WORK/sink.prom'"

# ------------------------------------------------------------------ 3. prometheus
PROM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PROM="http://127.0.0.1:$PROM_PORT"
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $PWD/packaging/prometheus/alerts.yml
scrape_configs:
  - job_name: jikimi
    static_configs:
      - targets: ["$FIXTURE", "$LIVE"]
  - job_name: jikimi-textfile
    static_configs:
      - targets: ["$SINK"]
EOF
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2>"$WORK/prometheus.log" &
PIDS+=($!)
# the first value of an instant query's result (0 when empty or unreachable)
qv() {
  python3 - "$PROM" "$1" <<'PY' 2>/dev/null || echo 0
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
r = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
print(r[0]["value"][1] if r else 0)
PY
}
# a second scan of each daemon (SIGHUP reloads and rescans), once its first one is done
for pl in "$FIXTURE_PID:$WORK/fixture.log" "$LIVE_PID:$WORK/live.log"; do
  for _ in $(seq 1 150); do grep -q 'scan done' "${pl#*:}" && break; sleep 0.2; done
  kill -HUP "${pl%%:*}" 2>/dev/null
done
# data: every target scraped at least 6 times, and two scans of each daemon in storage
ready=0
for _ in $(seq 1 60); do
  n=$(qv 'count(count_over_time(jikimi_build_info[1m]) >= 6)')
  s=$(qv 'count(jikimi_scans_total{job="jikimi",result="ok"} >= 2)')
  if [ "${n:-0}" = 3 ] && [ "${s:-0}" = 2 ]; then ready=1; break; fi
  sleep 1
done
[ $ready = 1 ] && ok "prometheus has data from 3 targets after $(($(date +%s) - T0)) s" \
  || { bad "prometheus has no data from all targets"; tail -n 20 "$WORK/prometheus.log"; }
sleep 2   # a few rule evaluations over the data
targets=$(python3 -c 'import json,sys,urllib.request; t=json.load(urllib.request.urlopen(sys.argv[1]+"/api/v1/targets"))["data"]["activeTargets"]; print(sum(x["health"]=="up" for x in t), len(t))' "$PROM")
[ "$targets" = "3 3" ] && ok "all scrape targets up" || bad "scrape targets up/total: $targets"
python3 "$HERE/promql_check.py" "$PROM" packaging/grafana/jikimi.json packaging/prometheus/alerts.yml >"$WORK/promql.log" 2>&1
grep -E '^(ok|FAIL) ' "$WORK/promql.log"
line=$(grep -E '^promql: [0-9]+ passed, [0-9]+ failed' "$WORK/promql.log")
if [ -n "$line" ]; then
  p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  passed=$((passed + p)); failed=$((failed + f))
else
  bad "promql_check.py gave no summary"; tail -n 20 "$WORK/promql.log"
fi
# the daemons recorded their scans: a report from the live daemon's own history
run "live daemon history gives a report" sh -c \
  "'$BIN' report --state-dir '$WORK/state-live' --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"scans\"] >= 2 and d[\"host\"][\"live\"], d[\"scans\"]'"

# ------------------------------------------------------------------ 4. report
ROOT="$WORK/host" CAT="$WORK/catalog" ST="$WORK/state-report"
mkdir -p "$ROOT/etc" "$CAT"
cat >"$CAT/t.toml" <<'EOF'
area = "test"

[[check]]
id = "FIX-1"
title = "telnet is not configured"
severity = "high"
description = "d"
remediation = "rm /etc/fix1"
references = { kisa = ["U-22"], cis = { rhel9 = "2.2.1" } }
expect = { probe = "file", path = "/etc/fix1", exists = false }

[[check]]
id = "NEW-1"
title = "no world-writable passwd"
severity = "critical"
description = "d"
remediation = "rm /etc/new1"
references = { kisa = ["U-07"] }
expect = { probe = "file", path = "/etc/new1", exists = false }

[[check]]
id = "OLD-1"
title = "legacy file is gone"
severity = "medium"
description = "d"
remediation = "rm /etc/old1"
expect = { probe = "file", path = "/etc/old1", exists = false }

[[check]]
id = "ERR-1"
title = "config is readable"
severity = "low"
description = "d"
remediation = "fix /etc/bin"
expect = { probe = "lines", path = "/etc/bin", pattern = "x", expect = "present" }

[[check]]
id = "OK-1"
title = "ok file exists"
severity = "low"
description = "d"
remediation = "touch /etc/ok"
expect = { probe = "file", path = "/etc/ok" }
EOF
touch "$ROOT/etc/fix1" "$ROOT/etc/old1" "$ROOT/etc/ok"
printf 'a\0b\n' >"$ROOT/etc/bin"
scan() { "$BIN" check --once --no-extra-checks --catalog "$CAT" --root "$ROOT" --state-dir "$ST" --format json -o /dev/null; }
scan; scan
rm "$ROOT/etc/fix1"; touch "$ROOT/etc/new1"
scan
run "three scans recorded" test "$(ls "$ST/history" | grep -c '\.json$')" -eq 3
"$BIN" report --state-dir "$ST" --format json -o "$WORK/report.json"
run "report json: newly failed NEW-1, fixed FIX-1, still failing OLD-1, error ERR-1" python3 - "$WORK/report.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ids = lambda k: [i["id"] for i in d[k]]
assert ids("newly_failed") == ["NEW-1"], d["newly_failed"]
assert ids("fixed") == ["FIX-1"], d["fixed"]
assert ids("still_failing") == ["OLD-1"], d["still_failing"]
assert ids("errors") == ["ERR-1"], d["errors"]
assert d["newly_failed"][0]["references"] == ["KISA U-07"]
assert d["fixed"][0]["references"] == ["KISA U-22", "CIS rhel9 2.2.1"]
assert d["scans"] == 3 and len(d["trend"]) == 3
EOF
"$BIN" report --state-dir "$ST" --format md -o "$WORK/report.md"
run "report md: sections, severities, references, remediation" sh -c "
  grep -q '^## Newly failed (1)' '$WORK/report.md' && grep -q '^### critical (1)' '$WORK/report.md' &&
  grep -q '^- \*\*NEW-1\*\* no world-writable passwd — KISA U-07' '$WORK/report.md' &&
  grep -q '^## Fixed (1)' '$WORK/report.md' && grep -q 'FIX-1' '$WORK/report.md' &&
  grep -q '^## Still failing (1)' '$WORK/report.md' && grep -q 'Remediation: \`rm /etc/old1\`' '$WORK/report.md' &&
  grep -q '^## Errors (1)' '$WORK/report.md' && grep -q '^## Score trend' '$WORK/report.md'"
"$BIN" report --state-dir "$ST" --format html --since 1h -o "$WORK/report.html"
run "report html is self-contained (no script, link, external URL)" sh -c \
  "! grep -Eiq '<script|<link|<img|<iframe|src=|url\(|@import|https?://' '$WORK/report.html' && grep -q 'NEW-1' '$WORK/report.html'"
if ! command -v chromium >/dev/null; then
  echo "installing Debian chromium"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends chromium >/dev/null 2>&1
fi
if command -v chromium >/dev/null; then
  # HOME in the work directory: chromium's crash reporter writes under $HOME/.config
  HOME="$WORK" timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/chromium" --hide-scrollbars --screenshot="$WORK/report.png" \
    --window-size=1000,1400 "file://$WORK/report.html" >"$WORK/chromium.log" 2>&1
  # the header background (#1e293b) and the critical badge (#b91c1c) must be painted
  run "chromium renders the HTML report to a non-blank PNG" \
    python3 "$HERE/png_check.py" "$WORK/report.png" --color 1e293b:20000 --color b91c1c:100
  [ -n "${OBS_KEEP:-}" ] && cp "$WORK/report.png" "$WORK/report.html" "$OBS_KEEP"/ 2>/dev/null
else
  bad "chromium is not installed (apt-get install chromium failed)"
fi

echo "observability: took $(($(date +%s) - T0)) s"
echo "observability: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
