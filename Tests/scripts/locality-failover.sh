#!/usr/bin/env bash
# kubectl and python3 judge the simulated mesh's locality load balancing, failover, outlier detection and fault
# injection the way Istio's "Locality failover" task does: cluster 1's node is in us-central1, cluster 2's (set
# with --locality) in us-east1. From a Sleep pod in cluster 1, with a DestinationRule that has failover and
# outlierDetection, nearly every answer comes from cluster 1's HelloWorld pods; scaling them to 0 moves the answers
# to cluster 2 with a few 503s at most (the pods' listeners stop at once, sidecars eject them, then the endpoints
# go); scaling back brings the answers home. Without outlierDetection the answers spread over both clusters;
# `distribute` 80/20 splits them 80/20; a VirtualService `fault.abort` at 50% aborts about half. Shares are
# checked against binomial bounds (±5 standard deviations). Needs MESHCHECK, kubectl and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifests="$here/manifests"
source "$here/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
command -v kubectl >/dev/null || fail "kubectl is missing"
command -v python3 >/dev/null || fail "python3 is missing"
start_simulated_mesh --locality cluster-2=us-east1/us-east1-b --endpoint-removal-delay 5s

step "kubectl shows the nodes' zones"
zones=$(kubectl --context "$ctx1" get nodes -L topology.kubernetes.io/zone --no-headers; kubectl --context "$ctx2" get nodes -L topology.kubernetes.io/zone --no-headers)
echo "$zones"
grep -q ' us-central1-a$' <<<"$zones" || fail "cluster 1's node is not shown in zone us-central1-a"
grep -q ' us-east1-b$' <<<"$zones" || fail "cluster 2's node is not shown in zone us-east1-b"

step "deploy HelloWorld v1 (cluster 1) and v2 (cluster 2), two pods each, and Sleep into cluster 1"
deploy_two_pod_sample

# Waits until `ctx` runs `count` Ready HelloWorld pods (and Sleep, where there is one).
wait_for_helloworld() {
  local ctx=$1 count=$2
  for _ in $(seq 1 100); do
    [[ $(kubectl --context "$ctx" get pod -n sample -l app=helloworld -o name | wc -l) -eq $count ]] && break
    sleep 0.2
  done
  [[ $(kubectl --context "$ctx" get pod -n sample -l app=helloworld -o name | wc -l) -eq $count ]] ||
    fail "$ctx did not reach $count HelloWorld pods"
  if [[ $count -gt 0 ]]; then
    kubectl --context "$ctx" wait --for=condition=Ready pod -l 'app in (helloworld,sleep)' -n sample --timeout=30s >/dev/null
  fi
}
wait_for_helloworld "$ctx1" 2
wait_for_helloworld "$ctx2" 2
sleep_pod=$(kubectl --context "$ctx1" get pod -n sample -l app=sleep -o jsonpath='{.items[0].metadata.name}')

# Sends `count` requests from the Sleep pod over one curl (paced at `rate`, e.g. 100/s) and writes each
# transfer's body and status to `out`.
send() {
  local count=$1 rate=$2 out=$3
  kubectl --context "$ctx1" exec -n sample -c sleep "$sleep_pod" -- /bin/sh -c "
    i=0
    while [ \$i -lt $count ]; do echo 'url = \"http://helloworld.sample:5000/hello\"'; i=\$((i + 1)); done |
      curl -s --max-time 30 --rate $rate -K - -w '\nTRANSFER %{http_code}\n'" >"$out"
}

# Judges `file` (from `send`): python3 prints `v1=N v2=N errors=N aborted=N total=N` and checks `count` transfers.
tally() {
  python3 - "$1" "$2" <<'PY'
import collections, sys
lines = open(sys.argv[1]).read().splitlines()
expected = int(sys.argv[2])
statuses = [line.split()[1] for line in lines if line.startswith("TRANSFER ")]
assert len(statuses) == expected, f"{len(statuses)} transfers reported, expected {expected}"
versions = collections.Counter(line.split(",")[0].split(": ")[1] for line in lines if line.startswith("Hello version: "))
aborted = sum(1 for line in lines if line.startswith("fault filter abort"))
errors = sum(1 for status in statuses if status != "200")
print(f"v1={versions['v1']} v2={versions['v2']} errors={errors} aborted={aborted} total={len(statuses)}")
PY
}

# Reads one field of a tally line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

apply_rule() {
  kubectl --context "$ctx1" apply -n sample -f - >/dev/null
  # Routing reads the rule on the next request; give the apply a moment to land like istiod's push would.
  sleep 0.3
}

# Applies the helloworld DestinationRule in cluster 1 with `policy` (YAML indented for spec.trafficPolicy).
apply_destination_rule() {
  apply_rule <<YAML
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: helloworld
spec:
  host: helloworld.sample.svc.cluster.local
  trafficPolicy:
$1
YAML
}

failover_setting='    loadBalancer:
      localityLbSetting:
        enabled: true
        failover:
        - from: us-central1
          to: us-east1'

step "DestinationRule with failover us-central1 -> us-east1 and outlierDetection"
apply_destination_rule "$failover_setting
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 1m
      maxEjectionPercent: 100"
send 200 200/s "$work/local.txt"
counts=$(tally "$work/local.txt" 200)
echo "all pods up: $counts"
[[ $(field "$counts" v1) -ge 196 ]] || fail "answers did not stay in cluster 1: $counts"

step "scale cluster 1's HelloWorld to 0 under load: answers fail over to cluster 2"
kubectl --context "$ctx1" scale deployment helloworld-v1 --replicas=0 -n sample >/dev/null
# Within the endpoint-removal delay the sidecar still lists the stopped pods: a few requests get them ejected.
kubectl --context "$ctx1" exec -n sample -c sleep "$sleep_pod" -- /bin/sh -c '
  for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null --max-time 10 http://helloworld.sample:5000/hello; done
  curl -s localhost:15000/clusters' >"$work/admin.txt"
ejected=$(grep -c '^outbound|5000||helloworld.sample.svc.cluster.local::.*::health_flags::/failed_outlier_check$' "$work/admin.txt" || true)
echo "ejected hosts in the sidecar's /clusters: $ejected"
[[ $ejected -ge 1 ]] || fail "the sidecar's /clusters shows no ejected host after cluster 1's pods stopped"
grep -q '^outbound|5000||helloworld.sample.svc.cluster.local::.*::priority::1$' "$work/admin.txt" ||
  fail "no host of the failover region is at priority 1 in /clusters"
send 200 50/s "$work/failover.txt"
counts=$(tally "$work/failover.txt" 200)
echo "scaled to 0: $counts"
[[ $(field "$counts" errors) -le 5 ]] || fail "more than a few errors during failover: $counts"
[[ $(field "$counts" v2) -ge 185 ]] || fail "answers did not move to cluster 2: $counts"

step "scale back: answers return to cluster 1"
kubectl --context "$ctx1" scale deployment helloworld-v1 --replicas=2 -n sample >/dev/null
wait_for_helloworld "$ctx1" 2
send 200 200/s "$work/back.txt"
counts=$(tally "$work/back.txt" 200)
echo "scaled back: $counts"
[[ $(field "$counts" v1) -ge 196 ]] || fail "answers did not return to cluster 1: $counts"

step "the same rule without outlierDetection: no locality preference, answers spread over both clusters"
apply_destination_rule "$failover_setting"
send 400 400/s "$work/spread.txt"
counts=$(tally "$work/spread.txt" 400)
echo "no outlier detection: $counts"
[[ $(field "$counts" v1) -ge 120 && $(field "$counts" v2) -ge 120 ]] || fail "answers did not spread over both clusters: $counts"

step "distribute 80/20 between the localities"
apply_destination_rule '    loadBalancer:
      localityLbSetting:
        enabled: true
        distribute:
        - from: us-central1/us-central1-a/*
          to:
            "us-central1/us-central1-a/*": 80
            "us-east1/us-east1-b/*": 20
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s'
send 1000 500/s "$work/distribute.txt"
counts=$(tally "$work/distribute.txt" 1000)
echo "distribute 80/20: $counts"
python3 - "$(field "$counts" v1)" "$(field "$counts" v2)" <<'PY'
import math, sys
v1, v2 = int(sys.argv[1]), int(sys.argv[2])
n = v1 + v2
assert n >= 990, f"only {n} answers"
sd = math.sqrt(n * 0.8 * 0.2)
assert abs(v1 - 0.8 * n) <= 5 * sd, f"cluster 1 share {v1}/{n} is outside 80% ± 5 sd ({sd:.1f})"
PY

step "VirtualService fault.abort 503 at 50%"
kubectl --context "$ctx1" delete destinationrule helloworld -n sample >/dev/null
apply_rule <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: helloworld
spec:
  hosts:
  - helloworld.sample.svc.cluster.local
  http:
  - fault:
      abort:
        httpStatus: 503
        percentage:
          value: 50
    route:
    - destination:
        host: helloworld.sample.svc.cluster.local
YAML
send 1000 500/s "$work/abort.txt"
counts=$(tally "$work/abort.txt" 1000)
echo "abort 50%: $counts"
python3 - "$work/abort.txt" <<'PY'
import math, sys
lines = open(sys.argv[1]).read().splitlines()
transfers, body = [], []
for line in lines:
    if line.startswith("TRANSFER "):
        transfers.append((line.split()[1], "\n".join(body)))
        body = []
    elif line:
        body.append(line)
aborted = [t for t in transfers if t[1] == "fault filter abort"]
assert all(status == "503" for status, _ in aborted), "an abort answered with another status"
others = [t for t in transfers if t[1] != "fault filter abort"]
assert all(status == "200" for status, _ in others), f"unexpected answers: {[t for t in others if t[0] != '200'][:3]}"
n = len(transfers)
sd = math.sqrt(n * 0.25)
assert abs(len(aborted) - n / 2) <= 5 * sd, f"{len(aborted)}/{n} aborted, outside 50% ± 5 sd ({sd:.1f})"
print(f"{len(aborted)}/{n} aborted with 503 'fault filter abort'")
PY
step "ok"
