#!/usr/bin/env bash
# Conformance: the multi-cluster install guide's verification procedure, done with the real kubectl against
# `meshcheck sim --clusters 2`, plus the mesh faults the guide's troubleshooting covers (remote secret
# removed, east-west gateway scaled to zero) and a weighted VirtualService applied with kubectl. Needs
# MESHCHECK=<path to the meshcheck binary> and kubectl.
set -euo pipefail

MESHCHECK=${MESHCHECK:?set MESHCHECK to the meshcheck binary}
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
manifests="$here/manifests"
source "$here/lib/simulated-mesh.sh"
start_simulated_mesh
[[ $ctx1 == gke_*_cluster-1 && $ctx2 == gke_*_cluster-2 ]] || fail "unexpected context names: $ctx1 $ctx2"
k1() { kubectl --context "$ctx1" "$@"; }
k2() { kubectl --context "$ctx2" "$@"; }

step "the mesh is installed"
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" get namespace istio-system -o jsonpath='{.metadata.labels.topology\.istio\.io/network}' \
    | grep -q '^network-' || fail "$ctx: istio-system has no network label"
  kubectl --context "$ctx" get configmap istio-ca-root-cert -n istio-system -o jsonpath='{.data.root-cert\.pem}' \
    | grep -q 'BEGIN CERTIFICATE' || fail "$ctx: no istio-ca-root-cert"
  kubectl --context "$ctx" get gateway cross-network-gateway -n istio-system >/dev/null
  kubectl --context "$ctx" get secret -n istio-system -l istio/multiCluster=true -o name | grep -q istio-remote-secret- \
    || fail "$ctx: no remote secret"
  kubectl --context "$ctx" get service istio-eastwestgateway -n istio-system \
    -o jsonpath='{.status.loadBalancer.ingress[0].ip}' | grep -Eq '^[0-9.]+$' || fail "$ctx: gateway has no address"
done

step "find the control-plane revision with kubectl"
revision=$(k1 get deployment -n istio-system -l app=istiod -o jsonpath='{.items[0].metadata.labels.istio\.io/rev}')
[[ -n "$revision" ]] || fail "no istiod revision label found"
echo "revision: $revision"

step "create and label namespace sample in both clusters"
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" create namespace sample
  kubectl --context "$ctx" label namespace sample istio-injection- "istio.io/rev=$revision" --overwrite
done

step "deploy HelloWorld (v1 in cluster 1, v2 in cluster 2) and Sleep"
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" create -f "$manifests/helloworld.yaml" -l service=helloworld -n sample
done
k1 create -f "$manifests/helloworld.yaml" -l version=v1 -n sample
k2 create -f "$manifests/helloworld.yaml" -l version=v2 -n sample
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" apply -f "$manifests/sleep.yaml" -n sample
done

step "wait for Ready and check 2/2 Running"
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" wait --for=condition=Ready pod -l app=helloworld -n sample --timeout=30s
  kubectl --context "$ctx" wait --for=condition=Ready pod -l app=sleep -n sample --timeout=30s
  kubectl --context "$ctx" get pod -n sample
  pods=$(kubectl --context "$ctx" get pod -n sample --no-headers)
  [[ $(wc -l <<<"$pods") -eq 2 ]] || fail "$ctx: expected 2 pods"
  while read -r name ready status _; do
    [[ $ready == 2/2 && $status == Running ]] || fail "$ctx: pod $name is $ready $status, expected 2/2 Running"
  done <<<"$pods"
done

sleep_pod() { kubectl --context "$1" get pod -n sample -l app=sleep -o jsonpath='{.items[0].metadata.name}'; }
pod1=$(sleep_pod "$ctx1")
pod2=$(sleep_pod "$ctx2")

# Twenty requests from a cluster's Sleep pod; prints the versions that answered, sorted and unique.
versions_from() {
  kubectl --context "$1" exec -n sample -c sleep "$2" -- \
    /bin/sh -c 'for i in $(seq 1 20); do curl -sS helloworld.sample:5000/hello; done' \
    | sed -n 's/^Hello version: \(v[0-9]*\), instance: .*/\1/p' | sort -u | tr '\n' ' ' || true
}

# Polls (bounded) until a cluster's clients see exactly the expected versions.
expect_versions() {
  local ctx=$1 pod=$2 want=$3 got=""
  for _ in $(seq 1 15); do
    got=$(versions_from "$ctx" "$pod")
    [[ "$got" == "$want" ]] && { echo "$ctx sees: $got"; return 0; }
    sleep 1
  done
  fail "$ctx: expected versions '$want', got '$got'"
}

step "exec exit codes and stdin"
set +e
k1 exec -n sample -c sleep "$pod1" -- sh -c 'exit 3'
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "kubectl exec of 'exit 3' returned $rc"
head -c 1048576 /dev/urandom >"$work/random.bin"
k1 exec -i -n sample -c sleep "$pod1" -- cat <"$work/random.bin" >"$work/echo.bin"
cmp "$work/random.bin" "$work/echo.bin" || fail "1 MiB through kubectl exec -i -- cat came back different"

step "exec curl loop from each cluster reaches both versions"
expect_versions "$ctx1" "$pod1" "v1 v2 "
expect_versions "$ctx2" "$pod2" "v1 v2 "

step "remove cluster 1's remote secret for cluster 2: cluster 1 sees only v1"
secret=istio-remote-secret-cluster-2
k1 get secret "$secret" -n istio-system -o jsonpath='{.data.cluster-2}' | base64 -d >"$work/cluster-2.kubeconfig"
k1 delete secret "$secret" -n istio-system
expect_versions "$ctx1" "$pod1" "v1 "
step "restore it: both versions again"
k1 create secret generic "$secret" -n istio-system --from-file=cluster-2="$work/cluster-2.kubeconfig"
k1 label secret "$secret" -n istio-system istio/multiCluster=true
k1 annotate secret "$secret" -n istio-system networking.istio.io/cluster=cluster-2
expect_versions "$ctx1" "$pod1" "v1 v2 "

step "scale cluster 2's east-west gateway to 0: cluster 1 reaches only its own endpoints"
k2 scale deployment istio-eastwestgateway -n istio-system --replicas=0
expect_versions "$ctx1" "$pod1" "v1 "
k2 scale deployment istio-eastwestgateway -n istio-system --replicas=1
k2 rollout status deployment istio-eastwestgateway -n istio-system --timeout=30s
expect_versions "$ctx1" "$pod1" "v1 v2 "

step "Istio traffic management: a VirtualService in cluster 1 sends its clients to v2 only"
k1 apply -n sample -f - <<'YAML'
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: helloworld
spec:
  host: helloworld
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: helloworld
spec:
  hosts: [helloworld]
  http:
    - route:
        - {destination: {host: helloworld, subset: v1}, weight: 0}
        - {destination: {host: helloworld, subset: v2}, weight: 100}
YAML
k1 get vs -n sample helloworld --no-headers | grep -q '^helloworld .*\["helloworld"\]' || fail "kubectl get vs does not list the VirtualService"
k1 get dr -n sample helloworld -o jsonpath='{.spec.subsets[*].name}' | grep -qx 'v1 v2' || fail "kubectl get dr lost the subsets"
expect_versions "$ctx1" "$pod1" "v2 "
# Each cluster's control plane reads only its own cluster's rules: cluster 2 still balances by default.
expect_versions "$ctx2" "$pod2" "v1 v2 "
k1 delete vs helloworld -n sample
expect_versions "$ctx1" "$pod1" "v1 v2 "

step "a misspelled field: kubectl's strict validation refuses it, --validate=warn drops it with a warning"
typo=$(mktemp)
cat >"$typo" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  replicass: 3
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec: {containers: [{name: app, image: busybox, imagePullPolic: Never}]}
YAML
if refused=$(k1 apply -f "$typo" -n sample 2>&1); then fail "a misspelled field was accepted: $refused"; fi
grep -qF 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass", unknown field "spec.template.spec.containers[0].imagePullPolic"' <<<"$refused" \
  || fail "unexpected refusal: $refused"
k1 get deployment typo -n sample >/dev/null 2>&1 && fail "the refused Deployment exists"
warned=$(k1 apply -f "$typo" -n sample --validate=warn 2>&1)
grep -qF 'Warning: unknown field "spec.replicass"' <<<"$warned" || fail "no warning for the dropped field: $warned"
[[ $(k1 get deployment typo -n sample -o jsonpath='{.spec.replicas}') == 1 ]] || fail "the dropped replicass changed replicas"
k1 delete deployment typo -n sample
rm -f "$typo"

step "delete namespace sample: the command returns and the namespace is gone"
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" delete namespace sample --timeout=60s
  for _ in $(seq 1 50); do
    kubectl --context "$ctx" get namespace sample >/dev/null 2>&1 || break
    sleep 0.2
  done
  if kubectl --context "$ctx" get namespace sample >/dev/null 2>&1; then fail "$ctx: namespace sample still exists"; fi
done

echo "guide procedure: all steps passed"
