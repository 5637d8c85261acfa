#!/usr/bin/env bash
# report.html in a real browser: the committed example run (reports/example/report.json) re-rendered by
# the current code, loaded in headless Chromium over the DevTools pipe at laptop width. Fails on any console
# error or warning, any network request, a missing chart (or one without role/title/desc) or horizontal
# overflow; saves a full-page screenshot to $MESHCHECK_ARTIFACTS (default reports/test-artifacts/).
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
