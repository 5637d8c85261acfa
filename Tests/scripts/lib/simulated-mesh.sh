# Sourced by the scripted tests: a scratch directory, step/fail helpers, and `start_simulated_mesh`, which
# runs `meshcheck sim --clusters 2` (plus the arguments it is given) in the background until the script exits (stopped by PID, its output
# shown when the script fails) and sets KUBECONFIG, ctx1 and ctx2. Needs MESHCHECK and kubectl.
work=$(mktemp -d)
sim_pid=""

cleanup() {
  local status=$?
  if [[ -n "$sim_pid" ]] && kill -0 "$sim_pid" 2>/dev/null; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$sim_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$sim_pid" 2>/dev/null || true
  fi
  if [[ $status -ne 0 ]]; then
    for log in "$work"/*.log; do [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 40 "$log" >&2; }; done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

export KUBECONFIG="$work/kubeconfig"
# Keep kubectl's discovery cache inside the scratch directory.
export KUBECACHEDIR="$work/kube-cache"

start_simulated_mesh() {
  step "start meshcheck sim --clusters 2 $*"
  "$MESHCHECK" sim --clusters 2 "$@" --kubeconfig-out "$KUBECONFIG" >"$work/sim.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 100); do
    [[ -f "$KUBECONFIG.sim.json" ]] && break
    kill -0 "$sim_pid" 2>/dev/null || fail "meshcheck sim exited early"
    sleep 0.1
  done
  [[ -f "$KUBECONFIG.sim.json" ]] || fail "meshcheck sim was not ready within 10 s"
  # The certificate users' contexts, in cluster order (the token users share the clusters).
  mapfile -t contexts < <(kubectl config get-contexts -o name | grep -v -- '-token$' | sort)
  [[ ${#contexts[@]} -eq 2 ]] || fail "expected 2 contexts, got: ${contexts[*]}"
  ctx1=${contexts[0]}
  ctx2=${contexts[1]}
}
