#!/usr/bin/env bash
# kubectl judges the simulated istiod's `/debug/clusterz` (what `istioctl remote-clusters` reads) through the API
# server's pod proxy subresource, and the two faults around it, set through the fault endpoint with curl: istiod
# cut off from a peer's API server (the peer turns `timeout`, the secret stays) and RBAC refusing `pods/proxy`
# (403 Forbidden, and `kubectl auth can-i` says no). Every call is capped in time.
set -euo pipefail
source "$(dirname "$0")/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
for tool in kubectl curl python3; do command -v "$tool" >/dev/null || fail "$tool is missing"; done

start_simulated_mesh
control=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["control"])' "$KUBECONFIG.sim.json")
[[ "$control" == http://127.0.0.1:* ]] || fail "unexpected fault endpoint $control"

istiod=$(kubectl --request-timeout=10s --context "$ctx1" -n istio-system get pods -l app=istiod -o jsonpath='{.items[0].metadata.name}')
[[ -n "$istiod" ]] || fail "no istiod pod in cluster-1"
raw="/api/v1/namespaces/istio-system/pods/$istiod:15014/proxy/debug/clusterz"

# Prints "id secretName syncStatus" per entry of a clusterz answer read from stdin.
entries() {
  python3 -c 'import json, sys
for c in json.load(sys.stdin): print(c["id"], c["secretName"] or "-", c["syncStatus"])'
}

# kubectl get --raw "$raw" must fail; its output, in $work/$1.log, must match the grep pattern $2.
refused() {
  local status=0
  kubectl --request-timeout=10s --context "$ctx1" get --raw "$raw" >"$work/$1.log" 2>&1 || status=$?
  [[ $status -ne 0 ]] || fail "get --raw succeeded despite the fault ($1)"
  grep -q "$2" "$work/$1.log" || fail "$1: expected /$2/ in $(cat "$work/$1.log")"
}

step "kubectl get --raw $raw: istiod's own cluster, then the peer from its remote secret, both synced"
kubectl --request-timeout=10s --context "$ctx1" get --raw "$raw" >"$work/clusterz.json" || fail "get --raw failed"
expected=$'cluster-1 - synced\ncluster-2 istio-system/istio-remote-secret-cluster-2 synced'
[[ "$(entries <"$work/clusterz.json")" == "$expected" ]] || fail "clusterz: $(cat "$work/clusterz.json")"

step "the proxy subresources are in discovery, as kubectl api-resources shows them"
kubectl --request-timeout=10s --context "$ctx1" get --raw /api/v1 >"$work/discovery.json"
grep -q '"name":"pods/proxy"' "$work/discovery.json" || fail "no pods/proxy in /api/v1"
grep -q '"name":"services/proxy"' "$work/discovery.json" || fail "no services/proxy in /api/v1"

step "the same through the istiod Service's proxy (port http-monitoring)"
service=$(kubectl --request-timeout=10s --context "$ctx1" -n istio-system get services -l app=istiod -o jsonpath='{.items[0].metadata.name}')
kubectl --request-timeout=10s --context "$ctx1" get --raw "/api/v1/namespaces/istio-system/services/$service:http-monitoring/proxy/debug/clusterz" \
  | entries | grep -q '^cluster-2 istio-system/istio-remote-secret-cluster-2 synced$' || fail "service proxy clusterz"

step "fault: istiod of cluster-1 cannot reach cluster-2's API server"
answer=$(curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"unreachablePeers":["cluster-2"]}}}' "$control/v1/faults")
grep -q '"unreachablePeers":\["cluster-2"\]' <<<"$answer" || fail "fault document: $answer"
kubectl --request-timeout=10s --context "$ctx1" get --raw "$raw" >"$work/clusterz.json" || fail "get --raw failed"
expected=$'cluster-1 - synced\ncluster-2 istio-system/istio-remote-secret-cluster-2 timeout'
[[ "$(entries <"$work/clusterz.json")" == "$expected" ]] || fail "clusterz with the fault: $(cat "$work/clusterz.json")"
kubectl --request-timeout=10s --context "$ctx1" -n istio-system get secret istio-remote-secret-cluster-2 >/dev/null \
  || fail "the secret should still be there"
kubectl --request-timeout=10s --context "$ctx2" get --raw \
  "/api/v1/namespaces/istio-system/pods/$(kubectl --request-timeout=10s --context "$ctx2" -n istio-system get pods -l app=istiod -o jsonpath='{.items[0].metadata.name}'):15014/proxy/debug/clusterz" \
  | entries | grep -q '^cluster-1 .* synced$' || fail "cluster-2's istiod should still sync cluster-1"

step "healing the fault brings the peer back"
curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"unreachablePeers":[]}}}' "$control/v1/faults" >/dev/null
kubectl --request-timeout=10s --context "$ctx1" get --raw "$raw" | entries | grep -q '^cluster-2 .* synced$' || fail "cluster-2 did not sync again"

step "fault: cluster-1's istiod authenticates debug callers as a real one does: the proxied request gets 401"
curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"debugAuthentication":true}}}' "$control/v1/faults" >/dev/null
# kubectl reads any 401 as its own credentials refused, though here istiod refused the API server's proxy.
refused unauthorized 'must be logged in'
kubectl --request-timeout=10s --context "$ctx1" -n istio-system get pods >/dev/null || fail "the API server itself must still accept us"
curl -sS --max-time 10 -X PUT -d '{"controlPlane":{"cluster-1":{"debugAuthentication":false}}}' "$control/v1/faults" >/dev/null

step "fault: RBAC refuses pods/proxy in cluster-1: kubectl gets 403 Forbidden and auth can-i says no"
curl -sS --max-time 10 -X PUT -d '{"rbac":{"cluster-1":{"deny":["pods/proxy"]}}}' "$control/v1/faults" >/dev/null
refused denied 'forbidden: User ".*" cannot get resource "pods/proxy"'
can=$(kubectl --request-timeout=10s --context "$ctx1" auth can-i get pods --subresource=proxy -n istio-system 2>/dev/null || true)
[[ "$can" == "no" ]] || fail "auth can-i get pods/proxy: '$can'"
can=$(kubectl --request-timeout=10s --context "$ctx1" auth can-i get pods -n istio-system 2>/dev/null || true)
[[ "$can" == "yes" ]] || fail "auth can-i get pods: '$can'"

echo "clusterz: ok"
