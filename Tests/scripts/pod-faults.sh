#!/usr/bin/env bash
# kubectl judges the simulator's pod faults (issue #14) as a user would meet them on a real cluster: the
# STATUS and READY columns of `kubectl get pods`, the events `kubectl describe` shows, and the ReplicaSet's
# FailedCreate in `kubectl get events`. Faults come from `meshcheck sim` flags and, at run time, from the
# fault endpoint with curl. Every wait is bounded (kubectl_until: 60 tries, 0.5 s apart, each call capped).
set -euo pipefail
source "$(dirname "$0")/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
for tool in kubectl curl python3; do command -v "$tool" >/dev/null || fail "$tool is missing"; done
manifests="$(dirname "$0")/manifests"

start_simulated_mesh --image-pull-error '*/examples-helloworld-v2*' --crash-loop cluster-1=sleep --unschedulable cluster-2
control=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["control"])' "$KUBECONFIG.sim.json")
[[ "$control" == http://127.0.0.1:* ]] || fail "unexpected fault endpoint $control"

# kubectl with every request capped, so no call can hang a step.
k() { kubectl --request-timeout=10s "$@"; }

# Runs "$@" until its output matches the extended regex $pattern; the last output is in $work/last.
kubectl_until() {
  local pattern=$1
  shift
  for _ in $(seq 1 60); do
    "$@" >"$work/last" 2>&1 || true
    grep -Eq -- "$pattern" "$work/last" && return 0
    sleep 0.5
  done
  fail "no line matching '$pattern' from $*: $(cat "$work/last")"
}

# STATUS of the pods labelled $2 in context $1, one per line, as `kubectl get pods` prints them.
pod_rows() { k --context "$1" -n sample get pods -l "$2" --no-headers; }

for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" create namespace sample >/dev/null
  kubectl --context "$ctx" label namespace sample istio.io/rev=asm-1-23 >/dev/null
done

step "cluster-1: an image that cannot be pulled shows ErrImagePull, then ImagePullBackOff"
kubectl --context "$ctx1" -n sample apply -f "$manifests/helloworld.yaml" -l version=v2 >/dev/null
kubectl_until ' 1/2 +ErrImagePull ' pod_rows "$ctx1" app=helloworld
kubectl_until ' 1/2 +ImagePullBackOff ' pod_rows "$ctx1" app=helloworld
kubectl --context "$ctx1" -n sample describe pods -l app=helloworld >"$work/describe-pull"
image=registry.istio.io/release/examples-helloworld-v2:1.0
for expected in "Pulling image \"$image\"" "Failed to pull image \"$image\": rpc error: code = NotFound" \
  "Error: ErrImagePull" "Back-off pulling image \"$image\"" "Error: ImagePullBackOff"; do
  grep -qF -- "$expected" "$work/describe-pull" || fail "describe pod lacks '$expected': $(cat "$work/describe-pull")"
done

step "cluster-1: an app that exits at every start goes into CrashLoopBackOff"
kubectl --context "$ctx1" -n sample apply -f "$manifests/sleep.yaml" >/dev/null
kubectl_until ' 1/2 +CrashLoopBackOff +[0-9]+ \(' pod_rows "$ctx1" app=sleep
kubectl --context "$ctx1" -n sample describe pods -l app=sleep >"$work/describe-crash"
for expected in "Back-off restarting failed container sleep in pod" "Last State: +Terminated" "Reason: +Error" "Exit Code: +1"; do
  grep -Eq -- "$expected" "$work/describe-crash" || fail "describe pod lacks '$expected': $(cat "$work/describe-crash")"
done

step "cluster-2: pods no node can take stay Pending with FailedScheduling"
kubectl --context "$ctx2" -n sample apply -f "$manifests/helloworld.yaml" -l version=v1 >/dev/null
kubectl_until ' 0/2 +Pending ' pod_rows "$ctx2" app=helloworld
kubectl_until 'FailedScheduling .*0/3 nodes are available: 3 Insufficient cpu' \
  k --context "$ctx2" -n sample describe pods -l app=helloworld

step "fault endpoint: cluster-2 schedules again, but its sidecars never become ready"
answer=$(curl -sS --max-time 10 -X PUT -d '{"pods":{"cluster-2":{"unschedulable":null,"sidecarNotReady":true}}}' "$control/v1/faults")
[[ "$answer" == *'"sidecarNotReady":true'* ]] || fail "the fault endpoint did not take the change: $answer"
kubectl_until ' 1/2 +Running ' pod_rows "$ctx2" app=helloworld
kubectl_until 'Unhealthy .*Readiness probe failed: HTTP probe failed with statuscode: 503' \
  k --context "$ctx2" -n sample describe pods -l app=helloworld
kubectl_until 'config not received from XDS server' \
  k --context "$ctx2" -n sample logs deploy/helloworld-v1 -c istio-proxy

step "fault endpoint: admission refuses cluster-2's pods; the ReplicaSet records FailedCreate"
curl -sS --max-time 10 -X PUT -d '{"admission":{"cluster-2":{"denyPods":true}}}' "$control/v1/faults" >/dev/null
kubectl --context "$ctx2" -n sample scale deployment helloworld-v1 --replicas=2 >/dev/null
kubectl_until 'FailedCreate +replicaset/helloworld-v1-[a-z0-9]+ +Error creating: pods "helloworld-v1-[a-z0-9]+-" is forbidden: violates PodSecurity "restricted:latest"' \
  k --context "$ctx2" -n sample get events
kubectl_until 'Warning +FailedCreate .*Error creating: pods' k --context "$ctx2" -n sample describe rs
if kubectl --context "$ctx2" -n sample run direct --image=busybox:1.36 >"$work/run" 2>&1; then
  fail "a direct pod create was admitted: $(cat "$work/run")"
fi
grep -q 'Error from server (Forbidden): pods "direct" is forbidden: violates PodSecurity' "$work/run" \
  || fail "kubectl run was not refused by admission: $(cat "$work/run")"

step "fault endpoint: with the image pull error lifted, a restarted rollout's pod starts"
answer=$(curl -sS --max-time 10 -X PUT -d '{"images":{"pullErrors":[]}}' "$control/v1/faults")
[[ "$answer" == *'"images":{"pullErrors":[]}'* ]] || fail "the fault endpoint did not lift the pull errors: $answer"
kubectl --context "$ctx1" -n sample rollout restart deployment/helloworld-v2 >/dev/null
kubectl_until '^helloworld-v2-[a-z0-9-]+ +2/2 +Running ' pod_rows "$ctx1" app=helloworld
echo "pod faults: all steps passed"
