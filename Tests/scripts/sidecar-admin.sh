#!/usr/bin/env bash
# kubectl and python3 judge the simulated sidecar's Envoy admin endpoint (docs/PROTOCOL-NOTES.md §F1): from a
# Sleep pod, `curl localhost:15000/clusters?format=json` answers envoy.admin.v3.Clusters whose outbound
# helloworld cluster lists the pod's own cluster's HelloWorld pods by pod IP and port 5000, and the peer's
# east-west gateway address on 15443 weighted by the peer's HelloWorld pods; the text format says the same;
# scaling the peer's gateway to 0 takes its endpoint away. Needs MESHCHECK, kubectl and python3.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifests="$here/manifests"
source "$here/lib/simulated-mesh.sh"
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
command -v kubectl >/dev/null || fail "kubectl is missing"
command -v python3 >/dev/null || fail "python3 is missing"
start_simulated_mesh

step "deploy HelloWorld v1 (cluster 1), v2 (cluster 2) and Sleep into namespace sample"
revision=$(kubectl --context "$ctx1" get deployment -n istio-system -l app=istiod -o jsonpath='{.items[0].metadata.labels.istio\.io/rev}')
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" create namespace sample >/dev/null
  kubectl --context "$ctx" label namespace sample "istio.io/rev=$revision" >/dev/null
  kubectl --context "$ctx" create -f "$manifests/helloworld.yaml" -l service=helloworld -n sample >/dev/null
  kubectl --context "$ctx" apply -f "$manifests/sleep.yaml" -n sample >/dev/null
done
kubectl --context "$ctx1" create -f "$manifests/helloworld.yaml" -l version=v1 -n sample >/dev/null
kubectl --context "$ctx2" create -f "$manifests/helloworld.yaml" -l version=v2 -n sample >/dev/null
for ctx in "$ctx1" "$ctx2"; do
  kubectl --context "$ctx" wait --for=condition=Ready pod -l 'app in (helloworld,sleep)' -n sample --timeout=30s >/dev/null
done
sleep_pod=$(kubectl --context "$ctx1" get pod -n sample -l app=sleep -o jsonpath='{.items[0].metadata.name}')
local_ips=$(kubectl --context "$ctx1" get pod -n sample -l app=helloworld -o jsonpath='{.items[*].status.podIP}')
peer_pods=$(kubectl --context "$ctx2" get pod -n sample -l app=helloworld -o name | wc -l)
gateway=$(kubectl --context "$ctx2" get service istio-eastwestgateway -n istio-system -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
[[ -n "$local_ips" && -n "$gateway" ]] || fail "no pod IPs ('$local_ips') or gateway address ('$gateway')"

admin() { kubectl --context "$ctx1" exec -n sample -c sleep "$sleep_pod" -- curl -sS --fail --max-time 10 "http://localhost:15000/clusters$1"; }

# Checks one /clusters?format=json answer against the expected helloworld endpoints.
cat >"$work/check.py" <<'PY'
import json, sys
answer, local_ips, gateway, weight = sys.argv[1], sys.argv[2].split(), sys.argv[3], int(sys.argv[4])
doc = json.load(open(answer))
assert set(doc) == {"cluster_statuses"}, f"top-level keys {sorted(doc)}"
names = [c["name"] for c in doc["cluster_statuses"]]
assert all(isinstance(n, str) and n for n in names), "a cluster without a name"
name = "outbound|5000||helloworld.sample.svc.cluster.local"
cluster = next(c for c in doc["cluster_statuses"] if c["name"] == name)
assert cluster.get("added_via_api") is True and cluster.get("eds_service_name") == name, cluster
found = {}
for host in cluster.get("host_statuses", []):
    socket = host["address"]["socket_address"]
    assert isinstance(socket["port_value"], int), socket
    assert host["health_status"]["eds_health_status"] == "HEALTHY", host["health_status"]
    assert "failed_outlier_check" not in host["health_status"], host["health_status"]
    assert isinstance(host["weight"], int) and host["weight"] >= 1, host
    assert "priority" not in host, "protobuf JSON omits a priority of 0"
    assert isinstance(host["locality"], dict) and isinstance(host["stats"], list), host
    for stat in host["stats"]:
        assert isinstance(stat["name"], str) and stat.get("type", "COUNTER") in ("COUNTER", "GAUGE"), stat
        assert isinstance(stat.get("value", "0"), str), "uint64 stat values are strings"
    found[(socket["address"], socket["port_value"])] = host["weight"]
expected = {(ip, 5000): 1 for ip in local_ips}
if weight > 0:
    expected[(gateway, 15443)] = weight
assert found == expected, f"helloworld endpoints {found}, expected {expected}"
PY

step "the Sleep pod's sidecar lists its own HelloWorld pods and cluster 2's gateway (weight $peer_pods)"
ok=false
for _ in $(seq 1 50); do
  admin '?format=json' >"$work/clusters.json" 2>"$work/curl.log" || true
  if python3 "$work/check.py" "$work/clusters.json" "$local_ips" "$gateway" "$peer_pods" 2>"$work/check.log"; then ok=true; break; fi
  sleep 0.2
done
$ok || fail "admin JSON: $(cat "$work/check.log")"

step "the text format lists the same endpoints"
admin '' >"$work/clusters.txt"
name='outbound|5000||helloworld.sample.svc.cluster.local'
for ip in $local_ips; do
  grep -qxF "$name::$ip:5000::health_flags::healthy" "$work/clusters.txt" || fail "no healthy $ip:5000 in the text format"
done
grep -qxF "$name::$gateway:15443::weight::$peer_pods" "$work/clusters.txt" || fail "no $gateway:15443 with weight $peer_pods"
grep -qxF "$name::$gateway:15443::priority::0" "$work/clusters.txt" || fail "no priority line for the gateway"

step "an unknown admin path is 404"
status=0; admin '/nope' >/dev/null 2>&1 || status=$?
[[ $status -eq 22 ]] || fail "curl --fail on an unknown admin path exited $status"

step "scale cluster 2's east-west gateway to 0: its endpoint leaves the sidecar's list"
kubectl --context "$ctx2" -n istio-system scale deployment istio-eastwestgateway --replicas=0 >/dev/null
ok=false
for _ in $(seq 1 50); do
  admin '?format=json' >"$work/clusters.json" 2>"$work/curl.log" || true
  if python3 "$work/check.py" "$work/clusters.json" "$local_ips" "$gateway" 0 2>"$work/check.log"; then ok=true; break; fi
  sleep 0.2
done
$ok || fail "after scaling the gateway to 0: $(cat "$work/check.log")"
echo "PASS"
