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

# The install guide's sample, scaled for balance checks: namespace `sample` in both clusters (labelled for the
# installed revision), the HelloWorld Service everywhere, v1 in cluster 1 and v2 in cluster 2 with two pods each,
# and Sleep in cluster 1. Callers wait for the pods themselves.
deploy_two_pod_sample() {
  local revision ctx
  revision=$(kubectl --context "$ctx1" get deployment -n istio-system -l app=istiod -o jsonpath='{.items[0].metadata.labels.istio\.io/rev}')
  for ctx in "$ctx1" "$ctx2"; do
    kubectl --context "$ctx" create namespace sample >/dev/null
    kubectl --context "$ctx" label namespace sample "istio.io/rev=$revision" >/dev/null
    kubectl --context "$ctx" create -f "$manifests/helloworld.yaml" -l service=helloworld -n sample >/dev/null
  done
  kubectl --context "$ctx1" apply -f "$manifests/sleep.yaml" -n sample >/dev/null
  kubectl --context "$ctx1" create -f "$manifests/helloworld.yaml" -l version=v1 -n sample >/dev/null
  kubectl --context "$ctx2" create -f "$manifests/helloworld.yaml" -l version=v2 -n sample >/dev/null
  kubectl --context "$ctx1" scale deployment helloworld-v1 --replicas=2 -n sample >/dev/null
  kubectl --context "$ctx2" scale deployment helloworld-v2 --replicas=2 -n sample >/dev/null
}
