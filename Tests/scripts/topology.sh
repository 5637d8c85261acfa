#!/usr/bin/env bash
# kubectl judges `meshcheck sim --topology primary-remote` and the simulated istiod's plug-in CA:
# the remote runs no istiod, its istio-system names the primary (topology.istio.io/controlPlaneClusters),
# its injector webhook calls a URL and it holds no remote secrets; then an operator plugs a new root CA
# into the primary the guide's way (`kubectl create secret generic cacerts`), which istiod ignores until
# `kubectl rollout restart` starts a new istiod that reads it and publishes its root in istio-ca-root-cert,
# in the primary and in its remote.
set -euo pipefail
source "$(dirname "$0")/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
command -v kubectl >/dev/null || fail "kubectl is missing"
command -v openssl >/dev/null || fail "openssl is missing"

step "an invalid --topology is bad input (exit 2) with the allowed values"
status=0
timeout 30 "$MESHCHECK" sim --topology star --kubeconfig-out "$work/unused" >"$work/invalid.log" 2>&1 || status=$?
[[ $status -eq 2 ]] || fail "meshcheck sim --topology star exited $status: $(cat "$work/invalid.log")"
grep -q "multi-primary, primary-remote" "$work/invalid.log" || fail "no allowed values: $(cat "$work/invalid.log")"

start_simulated_mesh --topology primary-remote

step "the simulator's cluster list names the roles"
grep -q '"remote of cluster-1"' "$KUBECONFIG.sim.json" || fail "no remote role in $(cat "$KUBECONFIG.sim.json")"

step "the remote (cluster-2) runs no istiod; the primary does"
[[ -z "$(kubectl --context "$ctx2" -n istio-system get deployments -l app=istiod -o name)" ]] || fail "cluster-2 has an istiod Deployment"
[[ -z "$(kubectl --context "$ctx2" -n istio-system get pods -l app=istiod -o name)" ]] || fail "cluster-2 has istiod pods"
[[ -n "$(kubectl --context "$ctx1" -n istio-system get deployments -l app=istiod -o name)" ]] || fail "cluster-1 has no istiod"

step "the remote's istio-system names its primary"
primary=$(kubectl --context "$ctx2" get namespace istio-system -o jsonpath='{.metadata.annotations.topology\.istio\.io/controlPlaneClusters}')
[[ "$primary" == "cluster-1" ]] || fail "controlPlaneClusters annotation: '$primary'"

step "the remote's injector webhook calls a URL (the primary through its east-west gateway), the primary's its istiod Service"
url=$(kubectl --context "$ctx2" get mutatingwebhookconfigurations -o jsonpath='{.items[*].webhooks[*].clientConfig.url}')
[[ "$url" == https://*:15017/inject/cluster/cluster-2/net/network-2 ]] || fail "remote injector url: '$url'"
service=$(kubectl --context "$ctx1" get mutatingwebhookconfigurations -o jsonpath='{.items[*].webhooks[*].clientConfig.service.name}')
[[ "$service" == istiod-* ]] || fail "primary injector service: '$service'"

step "only the primary holds remote secrets"
[[ -z "$(kubectl --context "$ctx2" -n istio-system get secrets -l istio/multiCluster=true -o name)" ]] || fail "the remote holds remote secrets"
kubectl --context "$ctx1" -n istio-system get secret istio-remote-secret-cluster-2 >/dev/null || fail "the primary has no secret for the remote"

step "generate a plug-in CA with openssl (root, intermediate, chain)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/O=example.com/CN=Plug-in Root CA" \
  -keyout "$work/root-key.pem" -out "$work/root-cert.pem" >"$work/openssl.log" 2>&1 || fail "openssl root: $(cat "$work/openssl.log")"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=example.com/CN=Intermediate CA cluster-1" \
  -keyout "$work/ca-key.pem" -out "$work/ca.csr" >>"$work/openssl.log" 2>&1 || fail "openssl csr: $(cat "$work/openssl.log")"
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n' >"$work/ca.ext"
openssl x509 -req -in "$work/ca.csr" -CA "$work/root-cert.pem" -CAkey "$work/root-key.pem" -CAcreateserial -days 30 \
  -extfile "$work/ca.ext" -out "$work/ca-cert.pem" >>"$work/openssl.log" 2>&1 || fail "openssl sign: $(cat "$work/openssl.log")"
cat "$work/ca-cert.pem" "$work/root-cert.pem" >"$work/cert-chain.pem"
kubectl --context "$ctx1" -n istio-system get configmap istio-ca-root-cert -o jsonpath='{.data.root-cert\.pem}' >"$work/old-root.pem"

step "kubectl create secret generic cacerts: nothing changes until istiod restarts"
kubectl --context "$ctx1" create secret generic cacerts -n istio-system \
  --from-file="$work/ca-cert.pem" --from-file="$work/ca-key.pem" \
  --from-file="$work/root-cert.pem" --from-file="$work/cert-chain.pem" >/dev/null
sleep 1
kubectl --context "$ctx1" -n istio-system get configmap istio-ca-root-cert -o jsonpath='{.data.root-cert\.pem}' >"$work/root-now.pem"
cmp -s "$work/root-now.pem" "$work/old-root.pem" || fail "istiod published the new root before it restarted"

step "kubectl rollout restart deployment/istiod-asm-1-23: the new istiod publishes the plugged-in root"
kubectl --context "$ctx1" -n istio-system rollout restart deployment/istiod-asm-1-23 >/dev/null
timeout 60 kubectl --context "$ctx1" -n istio-system rollout status deployment/istiod-asm-1-23 --timeout=50s >"$work/rollout.log" 2>&1 \
  || fail "rollout status: $(cat "$work/rollout.log")"
# Both the primary's namespaces and the remote's get it: the primary's istiod writes the remote's too.
same_root() {
  diff -q <(openssl x509 -in "$1" -noout -fingerprint -sha256 2>&1) <(openssl x509 -in "$work/root-cert.pem" -noout -fingerprint -sha256) >/dev/null
}
for ctx in "$ctx1" "$ctx2"; do
  published=false
  for _ in $(seq 1 100); do
    kubectl --context "$ctx" get configmap istio-ca-root-cert -n default -o jsonpath='{.data.root-cert\.pem}' >"$work/root-now.pem"
    if same_root "$work/root-now.pem"; then
      published=true
      break
    fi
    sleep 0.1
  done
  $published || fail "istio-ca-root-cert in $ctx/default still holds $(openssl x509 -in "$work/root-now.pem" -noout -subject 2>&1)"
done

step "meshcheck preflight names the topology and passes: one root, the primary's secret for the remote"
timeout 120 "$MESHCHECK" preflight --context "$ctx1" --context "$ctx2" >"$work/preflight.log" 2>&1 \
  || fail "preflight failed: $(cat "$work/preflight.log")"
grep -q "primary-remote (primary cluster-1; remotes cluster-2)" "$work/preflight.log" || fail "no topology: $(cat "$work/preflight.log")"
grep -q "Plug-in Root CA" "$work/preflight.log" || fail "root-ca does not name the plugged-in root: $(cat "$work/preflight.log")"
echo "topology: all steps passed"
