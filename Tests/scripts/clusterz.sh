#!/usr/bin/env bash
# kubectl judges the simulated istiod's `/debug/clusterz` (what `istioctl remote-clusters` reads) the way an operator
# reads it on a real cluster, `kubectl exec <istiod> -c discovery -- pilot-discovery request GET /debug/clusterz`, and
# the API server's pod proxy, which istiod refuses with 401 as a real one does (it answers its debug handlers only to
# localhost and Istio-authenticated callers) unless the simulator is told to serve it. Then the faults around it, set
# through the fault endpoint with curl: istiod cut off from a peer's API server (the peer turns `timeout`, the secret
# stays) and RBAC refusing `pods/exec` in istio-system only (403 Forbidden, `kubectl auth can-i` says no there and yes
# elsewhere). Every call is capped in time.
set -euo pipefail
source "$(dirname "$0")/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
for tool in kubectl curl python3; do command -v "$tool" >/dev/null || fail "$tool is missing"; done

start_simulated_mesh
control=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["control"])' "$KUBECONFIG.sim.json")
[[ "$control" == http://127.0.0.1:* ]] || fail "unexpected fault endpoint $control"

istiod_of() { kubectl --request-timeout=10s --context "$1" -n istio-system get pods -l app=istiod -o jsonpath='{.items[0].metadata.name}'; }
istiod=$(istiod_of "$ctx1")
[[ -n "$istiod" ]] || fail "no istiod pod in cluster-1"
raw="/api/v1/namespaces/istio-system/pods/$istiod:15014/proxy/debug/clusterz"

# clusterz of the istiod in context $1, read as an operator does.
clusterz() {
  kubectl --request-timeout=10s --context "$1" -n istio-system exec "$(istiod_of "$1")" -c discovery -- \
    pilot-discovery request GET /debug/clusterz
}

# Prints "id secretName syncStatus" per entry of a clusterz answer read from stdin.
entries() {
  python3 -c 'import json, sys
for c in json.load(sys.stdin): print(c["id"], c["secretName"] or "-", c["syncStatus"])'
}

# kubectl $2... must fail; its output, in $work/$1.log, must match the grep pattern in $PATTERN.
refused() {
  local name=$1 status=0
  shift
  kubectl --request-timeout=10s --context "$ctx1" "$@" >"$work/$name.log" 2>&1 || status=$?
  [[ $status -ne 0 ]] || fail "$name: kubectl $* succeeded despite the fault"
  grep -q "$PATTERN" "$work/$name.log" || fail "$name: expected /$PATTERN/ in $(cat "$work/$name.log")"
}

step "kubectl exec $istiod -c discovery -- pilot-discovery request GET /debug/clusterz: its own cluster, then the peer"
clusterz "$ctx1" >"$work/clusterz.json" || fail "exec failed"
expected=$'cluster-1 - synced\ncluster-2 istio-system/istio-remote-secret-cluster-2 synced'
[[ "$(entries <"$work/clusterz.json")" == "$expected" ]] || fail "clusterz: $(cat "$work/clusterz.json")"
kubectl --request-timeout=10s --context "$ctx1" -n istio-system exec "$istiod" -c discovery -- \
  pilot-discovery request GET /debug/nothing-here >"$work/404.txt" || fail "a 404 is printed, exit 0"
grep -q '404 page not found' "$work/404.txt" || fail "404 body: $(cat "$work/404.txt")"

step "through the API server's pod proxy istiod answers 401, as a real one does"
# kubectl reads any 401 as its own credentials refused, though here istiod refused the API server's proxy.
PATTERN='must be logged in' refused unauthorized get --raw "$raw"
kubectl --request-timeout=10s --context "$ctx1" -n istio-system get pods >/dev/null || fail "the API server itself must still accept us"

step "the proxy subresources are in discovery, and with istiod's debug port opened the proxy answers the same"
kubectl --request-timeout=10s --context "$ctx1" get --raw /api/v1 >"$work/discovery.json"
grep -q '"name":"pods/proxy"' "$work/discovery.json" || fail "no pods/proxy in /api/v1"
grep -q '"name":"services/proxy"' "$work/discovery.json" || fail "no services/proxy in /api/v1"
curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"debugAuthentication":false}}}' "$control/v1/faults" >/dev/null
kubectl --request-timeout=10s --context "$ctx1" get --raw "$raw" | entries >"$work/proxied.txt" || fail "get --raw failed"
[[ "$(cat "$work/proxied.txt")" == "$expected" ]] || fail "proxied clusterz: $(cat "$work/proxied.txt")"
service=$(kubectl --request-timeout=10s --context "$ctx1" -n istio-system get services -l app=istiod -o jsonpath='{.items[0].metadata.name}')
kubectl --request-timeout=10s --context "$ctx1" get --raw "/api/v1/namespaces/istio-system/services/$service:http-monitoring/proxy/debug/clusterz" \
  | entries | grep -q '^cluster-2 istio-system/istio-remote-secret-cluster-2 synced$' || fail "service proxy clusterz"
curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"debugAuthentication":true}}}' "$control/v1/faults" >/dev/null

step "fault: istiod of cluster-1 cannot reach cluster-2's API server"
answer=$(curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"unreachablePeers":["cluster-2"]}}}' "$control/v1/faults")
grep -q '"unreachablePeers":\["cluster-2"\]' <<<"$answer" || fail "fault document: $answer"
clusterz "$ctx1" >"$work/clusterz.json" || fail "exec failed"
expected=$'cluster-1 - synced\ncluster-2 istio-system/istio-remote-secret-cluster-2 timeout'
[[ "$(entries <"$work/clusterz.json")" == "$expected" ]] || fail "clusterz with the fault: $(cat "$work/clusterz.json")"
kubectl --request-timeout=10s --context "$ctx1" -n istio-system get secret istio-remote-secret-cluster-2 >/dev/null \
  || fail "the secret should still be there"
clusterz "$ctx2" | entries | grep -q '^cluster-1 .* synced$' || fail "cluster-2's istiod should still sync cluster-1"

step "healing the fault brings the peer back"
curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"unreachablePeers":[]}}}' "$control/v1/faults" >/dev/null
clusterz "$ctx1" | entries | grep -q '^cluster-2 .* synced$' || fail "cluster-2 did not sync again"

step "fault: RBAC refuses pods/exec in istio-system of cluster-1: 403 there, and auth can-i says no there only"
curl -sS --max-time 10 -X PUT -d '{"rbac":{"cluster-1":{"deny":["pods/exec@istio-system"]}}}' "$control/v1/faults" >/dev/null
PATTERN='cannot create resource "pods/exec"' refused denied -n istio-system exec "$istiod" -c discovery -- pilot-discovery request GET /debug/clusterz
can=$(kubectl --request-timeout=10s --context "$ctx1" auth can-i create pods --subresource=exec -n istio-system 2>/dev/null || true)
[[ "$can" == "no" ]] || fail "auth can-i create pods/exec -n istio-system: '$can'"
can=$(kubectl --request-timeout=10s --context "$ctx1" auth can-i create pods --subresource=exec -n default 2>/dev/null || true)
[[ "$can" == "yes" ]] || fail "auth can-i create pods/exec -n default: '$can'"

echo "clusterz: ok"
