#!/usr/bin/env bash
# report.html in a real browser: the committed example run (reports/example/report.json) re-rendered by
# the current code, loaded in headless Chromium over the DevTools pipe at laptop width. Fails on any console
# error or warning, any network request, a missing chart (or one without role/title/desc) or horizontal
# overflow, and a timeline chart per source with one marker per disruption action at its time's x (disruptions are
# added to a copy of the example report); saves full-page screenshots to $MESHCHECK_ARTIFACTS (default
# reports/test-artifacts/).
# Needs MESHCHECK, python3 and Chromium (apt-get install -y chromium).
set -euo pipefail

MESHCHECK=${MESHCHECK:?set MESHCHECK to the meshcheck binary}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v chromium >/dev/null || { echo "Chromium is required (apt-get install -y chromium)" >&2; exit 1; }
artifacts=${MESHCHECK_ARTIFACTS:-$root/reports/test-artifacts}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== re-render reports/example/report.json"
"$MESHCHECK" report "$root/reports/example/report.json" --format json,html --output-dir "$work" >/dev/null
cmp -s "$root/reports/example/report.json" "$work/report.json" || { echo "FAIL: report.json does not survive a round trip" >&2; exit 1; }

echo "== load in headless Chromium"
python3 "$here/report_check.py" html "$work/report.html" "$artifacts/report-html.png"
[[ -s "$artifacts/report-html.png" ]] || { echo "FAIL: no screenshot" >&2; exit 1; }
echo "screenshot: $artifacts/report-html.png"

# The timeline with disruptions: the example run has none, so two are added to its report (one applied and restored
# inside the load, one applied only), placed from the timeline's own length; report_check.py then finds one marker
# per action in every source's chart at the x its time maps to.
echo "== timeline with disruptions"
mkdir -p "$work/disrupted"
python3 - "$work/report.json" "$work/disrupted/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
timeline = report.get("timeline")
if timeline is None or not timeline["sources"]:
    sys.exit("FAIL: reports/example/report.json has no timeline (regenerate it with make example-report)")
end = max(s["windows"][-1]["startSeconds"] for s in timeline["sources"]) + timeline["windowSeconds"]
ms = lambda fraction: int(end * fraction * 1000)
timeline["disruptions"] = [
    {"name": "drain-cluster-2", "kind": "scale-to-zero", "clusters": [report["clusters"][-1]["name"]], "at": end * 0.25,
     "restoreAt": end * 0.6, "appliedAtMs": ms(0.27), "restoredAtMs": ms(0.62)},
    {"name": "abort-v2", "kind": "abort", "clusters": [report["clusters"][0]["name"]], "percent": 50, "httpStatus": 503,
     "at": end * 0.8, "appliedAtMs": ms(0.81)},
]
json.dump(report, open(sys.argv[2], "w"))
PY
"$MESHCHECK" report "$work/disrupted/report.json" --format html --output-dir "$work/disrupted" >/dev/null
python3 "$here/report_check.py" html "$work/disrupted/report.html" "$artifacts/report-html-timeline.png"
echo "screenshot: $artifacts/report-html-timeline.png"
