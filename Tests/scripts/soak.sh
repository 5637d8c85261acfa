#!/usr/bin/env bash
# Soak: canary runs (scenarios/canary.yaml, workloads reused) against one long-lived `meshcheck sim --clusters 2`,
# with 429s and 500s from the API servers on some runs; after every run nothing may be left behind, and at the
# end memory must be flat and descriptors must not grow (Tests/scripts/soak.py judges and prints the curve).
# Short form here (SOAK_SECONDS, default 45); `make soak` runs it for 10 minutes. Needs MESHCHECK, kubectl, python3.
set -euo pipefail

MESHCHECK=${MESHCHECK:?set MESHCHECK to the meshcheck binary}
for tool in kubectl python3; do command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }; done
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/simulated-mesh.sh"
start_simulated_mesh

control=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["control"])' "$KUBECONFIG.sim.json")
step "soak for ${SOAK_SECONDS:-45} s: canary runs against the simulator (pid $sim_pid), faults on every second run"
python3 "$here/soak.py" --meshcheck "$MESHCHECK" --kubeconfig "$KUBECONFIG" --control "$control" --sim-pid "$sim_pid" \
  --scenario "$here/../../scenarios/canary.yaml" --context "$ctx1" --context "$ctx2" --seconds "${SOAK_SECONDS:-45}" \
  --work "$work"
