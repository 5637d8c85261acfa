#!/usr/bin/env bash
# kubectl and python3 judge the simulated sidecar on a kept-open connection: from a Sleep pod, one curl sends 400
# requests to helloworld.sample:5000 over one connection to its sidecar (curl's own count of connections it
# opened), and the sidecar balances every request on its own, as Envoy does: all four HelloWorld pods of both
# clusters answer, none pinned. Needs MESHCHECK, kubectl and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifests="$here/manifests"
source "$here/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
command -v kubectl >/dev/null || fail "kubectl is missing"
command -v python3 >/dev/null || fail "python3 is missing"
start_simulated_mesh

step "deploy HelloWorld v1 (cluster 1) and v2 (cluster 2), two pods each, and Sleep into namespace sample"
deploy_two_pod_sample
for ctx in "$ctx1" "$ctx2"; do
  for _ in $(seq 1 50); do
    [[ $(kubectl --context "$ctx" get pod -n sample -l app=helloworld -o name | wc -l) -eq 2 ]] && break
    sleep 0.2
  done
  kubectl --context "$ctx" wait --for=condition=Ready pod -l 'app in (helloworld,sleep)' -n sample --timeout=30s >/dev/null
done
sleep_pod=$(kubectl --context "$ctx1" get pod -n sample -l app=sleep -o jsonpath='{.items[0].metadata.name}')
pods=$( (kubectl --context "$ctx1" get pod -n sample -l app=helloworld -o jsonpath='{.items[*].metadata.name}'; echo;
  kubectl --context "$ctx2" get pod -n sample -l app=helloworld -o jsonpath='{.items[*].metadata.name}') | tr '\n' ' ')

step "one curl, 400 requests, one connection to the sidecar"
kubectl --context "$ctx1" exec -n sample -c sleep "$sleep_pod" -- /bin/sh -c '
  i=0
  while [ $i -lt 400 ]; do echo "url = \"http://helloworld.sample:5000/hello\""; i=$((i + 1)); done |
    curl -s --max-time 10 -K - -w "\nTRANSFER %{http_code} %{num_connects}\n"' >"$work/answers.txt"

python3 - "$work/answers.txt" $pods <<'PY'
import collections, sys
lines = open(sys.argv[1]).read().splitlines()
pods = sys.argv[2:]
assert len(pods) == 4, f"expected four HelloWorld pods, got {pods}"
transfers = [line.split() for line in lines if line.startswith("TRANSFER ")]
assert len(transfers) == 400, f"{len(transfers)} transfers reported"
assert all(status == "200" for _, status, _ in transfers), collections.Counter(t[1] for t in transfers)
opened = sum(int(connects) for _, _, connects in transfers)
assert opened == 1, f"curl opened {opened} connections for 400 requests; keep-alive to the sidecar broke"
answered = collections.Counter(line.split(", instance: ")[1] for line in lines if line.startswith("Hello version: "))
assert sum(answered.values()) == 400, answered
assert set(answered) == set(pods), f"answers came from {dict(answered)}, pods are {pods}"
# Balanced per request: each pod near a quarter (power of two choices keeps it close); 40 is far below 100.
assert min(answered.values()) >= 40, f"a pod was starved on one connection: {dict(answered)}"
print("400 requests over 1 connection, answers per pod:", dict(sorted(answered.items())))
PY
step "ok"
