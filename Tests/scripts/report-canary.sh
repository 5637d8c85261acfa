#!/usr/bin/env bash
# Canary mode against `meshcheck sim --clusters 2`: every manifest in deploy/canary/kubernetes applies
# cleanly with the real kubectl (and re-applies as a no-op), the RBAC objects, service account and CronJob
# the server then holds say what canary mode promises, a manual Job starts from the CronJob, and the
# image's entrypoint runs `meshcheck run` on the manifests' canary scenario with the in-cluster environment
# of a pod in cluster 1 — KUBERNETES_SERVICE_HOST/PORT, a service-account token file and CA — plus cluster 2
# from the remote-kubeconfig Secret, twice, the second run reusing the workloads. Needs MESHCHECK, kubectl,
# python3 with PyYAML.
set -euo pipefail

MESHCHECK=${MESHCHECK:?set MESHCHECK to the meshcheck binary}
MESHCHECK=$(cd "$(dirname "$MESHCHECK")" && pwd)/$(basename "$MESHCHECK")
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
canary="$root/deploy/canary"
source "$here/lib/simulated-mesh.sh"
start_simulated_mesh

step "every manifest applies with kubectl, and re-applies unchanged"
for manifest in "$canary"/kubernetes/*.yaml; do
  kubectl --context "$ctx1" apply -f "$manifest" >>"$work/apply.log" 2>&1 || fail "kubectl apply -f $(basename "$manifest") failed"
  again=$(kubectl --context "$ctx1" apply -f "$manifest" 2>&1) || fail "re-applying $(basename "$manifest") failed: $again"
  grep -qv ' unchanged$' <<<"$again" && fail "re-applying $(basename "$manifest") was not a no-op: $again"
  echo "applied $(basename "$manifest")"
done

step "what the API server stores says what canary mode promises"
kubectl --context "$ctx1" get namespace/meshcheck-system clusterrole/meshcheck-canary clusterrolebinding/meshcheck-canary \
  -o json >"$work/cluster-scoped.json" || fail "cluster-scoped canary objects missing"
kubectl --context "$ctx1" -n meshcheck-system get serviceaccount/meshcheck-canary role/meshcheck-canary-config \
  rolebinding/meshcheck-canary-config secret/meshcheck-remote-kubeconfigs configmap/meshcheck-canary-scenario \
  cronjob/meshcheck-canary -o json >"$work/namespaced.json" || fail "namespaced canary objects missing"
# Nothing of the canary's in istio-system: istiod's view is read with the pods/exec the bursts need.
kubectl --context "$ctx1" -n istio-system get roles,rolebindings -l app.kubernetes.io/name=meshcheck-canary \
  -o json >"$work/istio-system.json" || fail "cannot list istio-system roles"
kubectl --context "$ctx1" -n meshcheck-system get cronjob meshcheck-canary --no-headers \
  -o custom-columns=SCHEDULE:.spec.schedule,POLICY:.spec.concurrencyPolicy >"$work/cronjob.txt"
[[ $(tr -s ' ' <"$work/cronjob.txt") == "*/15 * * * * Forbid" ]] || fail "kubectl get cronjob shows $(cat "$work/cronjob.txt")"
python3 - "$work/cluster-scoped.json" "$work/namespaced.json" "$work/istio-system.json" <<'EOF'
import json, sys, yaml
docs = [item for path in sys.argv[1:] for item in json.load(open(path))["items"]]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
rules = by_kind["ClusterRole"][0]["rules"]
def allowed(group, resource, verb):
    return any(group in r["apiGroups"] and resource in r["resources"] and verb in r["verbs"] for r in rules)
for group, resource, verbs in [("", "pods/exec", ["create"]), ("", "namespaces", ["create", "delete", "get", "list"]),
                               ("apps", "deployments", ["create", "delete", "get", "list"]), ("", "services", ["create", "delete"]),
                               ("", "serviceaccounts", ["create", "delete"]), ("", "pods", ["get", "list"]),
                               ("authorization.k8s.io", "selfsubjectaccessreviews", ["create"])]:
    for verb in verbs:
        assert allowed(group, resource, verb), f"ClusterRole lacks {verb} on {resource}"
assert not any("*" in r["verbs"] or "*" in r["resources"] for r in rules), "wildcards in the ClusterRole"
assert not allowed("", "secrets", "create") and not allowed("", "pods", "delete"), "more than least privilege"
account = {"kind": "ServiceAccount", "name": "meshcheck-canary", "namespace": "meshcheck-system"}
binding = by_kind["ClusterRoleBinding"][0]
assert binding["subjects"] == [account], binding["subjects"]
assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "meshcheck-canary"}
# istiod's /debug/clusterz through an exec of pilot-discovery (the pods/exec the bursts need); the pod proxy, which
# istiod answers with 401, is granted nowhere, and nothing is granted in istio-system on its own.
assert allowed("", "pods/exec", "create"), "pods/exec is needed for the bursts and the clusterz read"
assert not allowed("", "pods/proxy", "get"), "pods/proxy must not be granted"
assert not any(r["metadata"]["namespace"] == "istio-system" for r in by_kind.get("Role", [])), "no Role in istio-system"
role = next(r for r in by_kind["Role"] if r["metadata"]["namespace"] == "meshcheck-system")
assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["meshcheck-canary-scenario"],
                          "verbs": ["get"]}], role
role_binding = next(b for b in by_kind["RoleBinding"] if b["metadata"]["namespace"] == "meshcheck-system")
assert role_binding["subjects"] == [account], role_binding
assert role_binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
assert by_kind["ServiceAccount"][0]["automountServiceAccountToken"] is True
cron = by_kind["CronJob"][0]["spec"]
assert cron["schedule"] == "*/15 * * * *" and cron["concurrencyPolicy"] == "Forbid" and cron["suspend"] is False, cron
assert cron["successfulJobsHistoryLimit"] == 3 and cron["failedJobsHistoryLimit"] == 3 and cron["startingDeadlineSeconds"] == 300, cron
job = cron["jobTemplate"]["spec"]
assert job["backoffLimit"] == 0 and job["activeDeadlineSeconds"] < 900, job
pod = job["template"]["spec"]
container = pod["containers"][0]
assert pod["serviceAccountName"] == "meshcheck-canary" and pod["restartPolicy"] == "Never"
assert container["args"][:2] == ["run", "/etc/meshcheck/canary.yaml"] and "--pushgateway" in container["args"]
assert {"name": "MESHCHECK_LOCAL_CONTEXT", "value": "in-cluster"} in container["env"]
mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
volumes = {v["name"]: v for v in pod["volumes"]}
assert volumes[mounts["/etc/meshcheck/kubeconfigs"]]["secret"]["secretName"] == by_kind["Secret"][0]["metadata"]["name"]
assert volumes[mounts["/etc/meshcheck/canary.yaml"]]["configMap"]["name"] == by_kind["ConfigMap"][0]["metadata"]["name"]
scenario = yaml.safe_load(by_kind["ConfigMap"][0]["data"]["canary.yaml"])
assert scenario["reuse"] is True and scenario["clusters"][0]["context"] == "in-cluster"
print("ok: the server holds a least-privilege ClusterRole with pods/exec create, bindings to the canary's service account, "
      "a CronJob every 15 minutes with Forbid and history 3/3, the Secret and the scenario mounted")
EOF

step "a manual run from the CronJob, as an operator starts one"
kubectl --context "$ctx1" -n meshcheck-system create job --from=cronjob/meshcheck-canary manual-check >>"$work/apply.log" 2>&1 \
  || fail "kubectl create job --from=cronjob failed"
owner=$(kubectl --context "$ctx1" -n meshcheck-system get job manual-check \
  -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')
[[ $owner == "CronJob/meshcheck-canary" ]] || fail "the manual Job is owned by '$owner'"
kubectl --context "$ctx1" -n meshcheck-system delete job manual-check >>"$work/apply.log" 2>&1 || fail "could not delete the manual Job"

step "fill the remote-kubeconfig Secret with cluster 2's kubeconfig"
kubectl config view --minify --flatten --context "$ctx2" >"$work/cluster-2.kubeconfig"
kubectl --context "$ctx1" -n meshcheck-system create secret generic meshcheck-remote-kubeconfigs \
  --from-file=cluster-2.kubeconfig="$work/cluster-2.kubeconfig" --dry-run=client -o yaml \
  | kubectl --context "$ctx1" apply -f - >>"$work/apply.log" 2>&1 || fail "could not fill the Secret"

step "what the pod would see: service account, Secret and scenario mounted from the cluster"
mkdir -p "$work/serviceaccount" "$work/kubeconfigs" "$work/home"
# The simulator's bearer token for cluster 1 stands in for the service-account token.
kubectl config view --raw -o jsonpath="{.users[?(@.name==\"$ctx1-token\")].user.token}" >"$work/serviceaccount/token"
[[ -s "$work/serviceaccount/token" ]] || fail "no token user for $ctx1 in the simulator's kubeconfig"
kubectl config view --raw -o jsonpath="{.clusters[?(@.name==\"$(kubectl config view -o jsonpath="{.contexts[?(@.name==\"$ctx1\")].context.cluster}")\")].cluster.certificate-authority-data}" \
  | base64 -d >"$work/serviceaccount/ca.crt"
grep -q 'BEGIN CERTIFICATE' "$work/serviceaccount/ca.crt" || fail "no CA for $ctx1"
echo meshcheck-system >"$work/serviceaccount/namespace"
server=$(kubectl config view -o jsonpath="{.clusters[?(@.name==\"$(kubectl config view -o jsonpath="{.contexts[?(@.name==\"$ctx1\")].context.cluster}")\")].cluster.server}")
host_port=${server#https://}
kubectl --context "$ctx1" -n meshcheck-system get secret meshcheck-remote-kubeconfigs -o jsonpath='{.data.cluster-2\.kubeconfig}' \
  | base64 -d >"$work/kubeconfigs/cluster-2.kubeconfig"
kubectl --context "$ctx1" -n meshcheck-system get configmap meshcheck-canary-scenario -o jsonpath='{.data.canary\.yaml}' >"$work/canary.yaml"
# The shipped scenario names the simulator's context for cluster 2; a real install names its own.
grep -q "context: $ctx2" "$work/canary.yaml" || fail "scenario does not name $ctx2"

canary_run() {
  env -i PATH="$PATH" HOME="$work/home" TMPDIR="$work" NO_COLOR=1 \
    KUBERNETES_SERVICE_HOST="${host_port%:*}" KUBERNETES_SERVICE_PORT="${host_port##*:}" \
    MESHCHECK="$MESHCHECK" MESHCHECK_LOCAL_CONTEXT=in-cluster \
    MESHCHECK_SERVICEACCOUNT_DIR="$work/serviceaccount" MESHCHECK_REMOTE_KUBECONFIGS="$work/kubeconfigs" \
    sh "$canary/entrypoint.sh" run "$work/canary.yaml" --output-dir "$1"
}

step "canary run 1 (in-cluster token + remote kubeconfig): deploys and keeps the workloads"
status=0; canary_run "$work/run1" >"$work/run1.log" 2>&1 || status=$?
python3 "$here/report_check.py" passed "$work/run1/report.json" "$status" || fail "first canary run exited $status (see $work/run1.log)"
python3 "$here/report_check.py" prom "$work/run1/metrics.prom" "$work/run1/report.json" >/dev/null
kubectl --context "$ctx1" get namespace meshcheck-canary >/dev/null || fail "workloads were not kept"

step "canary run 2 reuses them"
status=0; canary_run "$work/run2" >"$work/run2.log" 2>&1 || status=$?
python3 "$here/report_check.py" passed "$work/run2/report.json" "$status" || fail "second canary run exited $status (see $work/run2.log)"
python3 - "$work" <<'EOF'
import json, sys
first, second = (json.load(open(f"{sys.argv[1]}/{name}/report.json")) for name in ("run1", "run2"))
assert first["clusters"][0]["context"] == "in-cluster", first["clusters"][0]
assert second["cleanup"]["status"] == "skipped", second["cleanup"]
assert all(row["requests"] > 0 for row in second["traffic"]), second["traffic"]
print("ok: both runs passed through the in-cluster context; workloads kept (cleanup skipped)")
EOF

step "no kubeconfig at all: meshcheck's own in-cluster configuration (token and CA at the kubelet's mount path)"
# A private mount namespace puts the service account at /var/run/secrets/kubernetes.io/serviceaccount for this
# process only (a tmpfs over /run; the machine's /run is untouched).
command -v unshare >/dev/null || fail "unshare (util-linux) is required"
cat >"$work/in-cluster.yaml" <<YAML
name: in-cluster
clusters:
  - context: in-cluster
    name: cluster-1
    serves: v1
YAML
unshare --mount --propagation private sh -c '
  set -e
  mount -t tmpfs meshcheck-test /run
  mkdir -p /run/secrets/kubernetes.io/serviceaccount
  cp "$1"/token "$1"/ca.crt "$1"/namespace /run/secrets/kubernetes.io/serviceaccount/
  exec env -i PATH="$PATH" HOME="$2/home" NO_COLOR=1 KUBERNETES_SERVICE_HOST="$3" KUBERNETES_SERVICE_PORT="$4" \
    "$5" run "$2/in-cluster.yaml" --output-dir "$2/native"
' sh "$work/serviceaccount" "$work" "${host_port%:*}" "${host_port##*:}" "$MESHCHECK" >"$work/native.log" 2>&1 \
  || fail "meshcheck run with only the in-cluster environment exited $?"
python3 - "$work/native/report.json" <<'EOF2'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["verdict"] == "pass", report["verdict"]
assert report["clusters"][0]["context"] == "in-cluster", report["clusters"]
assert report["sources"][0]["succeeded"] > 0, report["sources"]
print("ok: meshcheck found no kubeconfig, used the service account and passed")
EOF2

step "without the in-cluster environment the entrypoint says what is missing"
set +e
env -i PATH="$PATH" MESHCHECK="$MESHCHECK" MESHCHECK_LOCAL_CONTEXT=in-cluster sh "$canary/entrypoint.sh" run x >"$work/missing.log" 2>&1
status=$?
set -e
[[ $status -eq 2 ]] || fail "entrypoint without KUBERNETES_SERVICE_HOST exited $status"
grep -q 'KUBERNETES_SERVICE_HOST' "$work/missing.log" || fail "no message about KUBERNETES_SERVICE_HOST"
echo "canary: all checks passed"
