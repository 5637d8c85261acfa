#!/usr/bin/env bash
# The report files of real simulated runs, read by independent readers: metrics.prom with Python's
# prometheus_client parser (buckets cumulative and consistent with report.json), junit.xml against
# Tests/scripts/report-junit.xsd with xmllint on a passing and a failing run (failures counted), the
# --pushgateway push against a loopback stand-in, and `meshcheck report` re-rendering (identical files)
# and --from-records (same counts). Needs MESHCHECK, python3 with prometheus_client, xmllint.
set -euo pipefail

MESHCHECK=${MESHCHECK:?set MESHCHECK to the meshcheck binary}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
check="python3 $here/report_check.py"
command -v xmllint >/dev/null || { echo "xmllint is required (apt-get install -y libxml2-utils)" >&2; exit 1; }
python3 -c 'import prometheus_client' 2>/dev/null || { echo "prometheus_client is required (python3 -m pip install prometheus_client)" >&2; exit 1; }

work=$(mktemp -d)
gateway_pid=""
cleanup() {
  local status=$?
  if [[ -n "$gateway_pid" ]]; then kill "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; fi
  if [[ $status -ne 0 ]]; then
    for log in "$work"/*.log; do [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }; done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "a loopback Pushgateway stand-in records one PUT"
python3 - "$work" >"$work/gateway.log" 2>&1 <<'EOF' &
import http.server, pathlib, sys
work = pathlib.Path(sys.argv[1])
class Gateway(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        (work / "pushed.prom").write_bytes(body)
        (work / "pushed.path").write_text(self.path + "\n" + self.headers["Content-Type"] + "\n")
        self.send_response(200)
        self.end_headers()
server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
(work / "gateway.port").write_text(str(server.server_address[1]))
server.timeout = 120
server.handle_request()
EOF
gateway_pid=$!
for _ in $(seq 1 50); do [[ -s "$work/gateway.port" ]] && break; sleep 0.1; done
[[ -s "$work/gateway.port" ]] || fail "the Pushgateway stand-in did not start"
port=$(cat "$work/gateway.port")

step "passing smoke run with --pushgateway"
(cd "$root" && "$MESHCHECK" run scenarios/smoke.yaml --simulate --output-dir "$work/pass" --pushgateway "http://127.0.0.1:$port" \
  >"$work/pass.log" 2>&1) || fail "smoke run exited $?"
for file in report.json records.jsonl summary.md junit.xml report.html metrics.prom; do
  [[ -s "$work/pass/$file" ]] || fail "pass run wrote no $file"
done
$check prom "$work/pass/metrics.prom" "$work/pass/report.json"
xmllint --noout --schema "$here/report-junit.xsd" "$work/pass/junit.xml"
$check junit "$work/pass/junit.xml" "$work/pass/report.json"

step "the push went to the run's group, without the scenario label"
wait "$gateway_pid"; gateway_pid=""
run_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["runId"])' "$work/pass/report.json")
[[ $(sed -n 1p "$work/pushed.path") == "/metrics/job/meshcheck/scenario/smoke/run/$run_id" ]] || fail "pushed to $(sed -n 1p "$work/pushed.path")"
[[ $(sed -n 2p "$work/pushed.path") == "text/plain; version=0.0.4"* ]] || fail "content type $(sed -n 2p "$work/pushed.path")"
grep -q 'scenario=' "$work/pushed.prom" && fail "pushed series repeat the grouping label scenario"
diff <(sed 's/scenario="smoke",//; s/{scenario="smoke"}//' "$work/pass/metrics.prom") "$work/pushed.prom" >/dev/null \
  || fail "pushed metrics differ from metrics.prom beyond the scenario label"

step "failing run (weighted-3-1-proportional: balance fails)"
set +e
(cd "$root" && "$MESHCHECK" run scenarios/weighted-3-1-proportional.yaml --simulate --output-dir "$work/fail" >"$work/fail.log" 2>&1)
status=$?
set -e
[[ $status -eq 1 ]] || fail "failing run exited $status, expected 1"
xmllint --noout --schema "$here/report-junit.xsd" "$work/fail/junit.xml"
$check junit "$work/fail/junit.xml" "$work/fail/report.json"
grep -q '<failure message=' "$work/fail/junit.xml" || fail "failing run has no <failure>"
$check prom "$work/fail/metrics.prom" "$work/fail/report.json"

step "meshcheck report re-renders identical files"
"$MESHCHECK" report "$work/pass/report.json" --output-dir "$work/rerender" >/dev/null
for file in summary.md junit.xml report.html metrics.prom; do
  cmp -s "$work/pass/$file" "$work/rerender/$file" || fail "re-rendered $file differs"
done
[[ -e "$work/rerender/report.json" ]] && fail "re-rendering wrote report.json without --format json"
"$MESHCHECK" report "$work/pass/report.json" --format html,prom --output-dir "$work/some" >/dev/null
[[ $(ls "$work/some" | tr '\n' ' ') == "metrics.prom report.html " ]] || fail "--format html,prom wrote $(ls "$work/some")"

step "meshcheck report --from-records recomputes the same traffic, and merges runs"
"$MESHCHECK" report --from-records "$work/pass/records.jsonl" --report "$work/pass/report.json" --output-dir "$work/replay" >/dev/null
"$MESHCHECK" report --from-records "$work/pass/records.jsonl" "$work/pass/records.jsonl" --output-dir "$work/merged" >/dev/null
python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
load = lambda name: json.load(open(f"{work}/{name}/report.json"))
original, replay, merged = load("pass"), load("replay"), load("merged")
pairs = lambda report: {(r["source"], r["target"]): (r["requests"], r["errors"]) for r in report["traffic"]}
assert pairs(replay) == pairs(original), (pairs(replay), pairs(original))
assert replay["verdict"] == original["verdict"] == "pass"
assert {k: (2 * v[0], 2 * v[1]) for k, v in pairs(original).items()} == pairs(merged), pairs(merged)
for row in replay["traffic"]:
    if row["requests"] - row["errors"] > 0:
        assert row["latencyHistogram"]["count"] == row["requests"] - row["errors"], row
print("ok from-records: same counts as the run; two copies merged to twice the counts")
EOF
$check prom "$work/merged/metrics.prom" "$work/merged/report.json"
xmllint --noout --schema "$here/report-junit.xsd" "$work/merged/junit.xml"

step "bad input exits 2"
set +e
"$MESHCHECK" report "$work/missing.json" --output-dir "$work/x" 2>"$work/bad.log"; [[ $? -eq 2 ]] || fail "missing report did not exit 2"
"$MESHCHECK" report "$work/pass/report.json" --format html,pdf --output-dir "$work/x" 2>>"$work/bad.log"; [[ $? -eq 2 ]] || fail "unknown format did not exit 2"
"$MESHCHECK" report "$work/pass/records.jsonl" --output-dir "$work/x" 2>>"$work/bad.log"; [[ $? -eq 2 ]] || fail "records as a report did not exit 2"
"$MESHCHECK" report --from-records "$work/pass/records.jsonl" 2>>"$work/bad.log"; [[ $? -eq 2 ]] || fail "--from-records without --output-dir did not exit 2"
set -e
grep -q 'unknown format "pdf"' "$work/bad.log" || fail "no message naming the unknown format"
echo "report formats: all checks passed"
