#!/usr/bin/env bash
# kubectl judges `meshcheck sim --private-endpoints`: each remote secret names a second, real endpoint of
# its peer's API server (127.0.1.<n>) that the written kubeconfig does not use, and kubectl reaches the
# peer through it with the secret's own kubeconfig (its CA verifies the server there too). Then
# `meshcheck preflight` passes, matching the secrets to their peers by certificate authority.
set -euo pipefail
source "$(dirname "$0")/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
command -v kubectl >/dev/null || fail "kubectl is missing"

start_simulated_mesh --private-endpoints

step "the user's kubeconfig names only 127.0.0.1"
servers=$(kubectl config view -o jsonpath='{.clusters[*].cluster.server}')
[[ "$servers" != *127.0.1.* ]] || fail "the kubeconfig names a private endpoint: $servers"

step "cluster-1's remote secret for cluster-2 names cluster-2's private endpoint"
kubectl --context "$ctx1" -n istio-system get secret istio-remote-secret-cluster-2 \
  -o jsonpath='{.data.cluster-2}' | base64 -d >"$work/secret-kubeconfig"
grep -q 'server: https://127.0.1.2:' "$work/secret-kubeconfig" || fail "secret server: $(grep server: "$work/secret-kubeconfig")"

step "kubectl reaches cluster-2 through it, TLS verified with the secret's CA"
KUBECONFIG="$work/secret-kubeconfig" timeout 30 kubectl get namespace istio-system -o jsonpath='{.metadata.labels.topology\.istio\.io/network}' \
  >"$work/network" || fail "kubectl could not use the private endpoint"
[[ "$(cat "$work/network")" == "network-2" ]] || fail "the private endpoint is not cluster-2's API server: network $(cat "$work/network")"

step "meshcheck preflight passes and says the secrets point at another endpoint"
timeout 120 "$MESHCHECK" preflight --context "$ctx1" --context "$ctx2" >"$work/preflight.log" 2>&1 \
  || fail "preflight failed: $(cat "$work/preflight.log")"
grep -q "another endpoint of cluster-2" "$work/preflight.log" || fail "preflight did not name the other endpoint: $(cat "$work/preflight.log")"
echo "private endpoints: all steps passed"
