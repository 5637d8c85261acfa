#!/bin/sh
# Canary entrypoint: one kubeconfig for every cluster of the scenario, then `meshcheck "$@"`.
# - The cluster the pod runs in is reached with the pod's own service account (in-cluster: the
#   KUBERNETES_SERVICE_HOST/PORT variables, the token file and CA the kubelet mounts), under the context
#   name the scenario uses for it ($MESHCHECK_LOCAL_CONTEXT).
# - The other clusters come from the kubeconfig files of a mounted Secret ($MESHCHECK_REMOTE_KUBECONFIGS,
#   every regular file in it), merged after the local one.
# The token file is referenced, never copied, so kubelet's rotation keeps working.
set -eu

serviceaccount=${MESHCHECK_SERVICEACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
remote_dir=${MESHCHECK_REMOTE_KUBECONFIGS:-/etc/meshcheck/kubeconfigs}
local_context=${MESHCHECK_LOCAL_CONTEXT:-}
meshcheck=${MESHCHECK:-meshcheck}

die() { echo "meshcheck-canary: $*" >&2; exit 2; }

kubeconfig_list=""
if [ -n "$local_context" ]; then
  [ -n "${KUBERNETES_SERVICE_HOST:-}" ] && [ -n "${KUBERNETES_SERVICE_PORT:-}" ] \
    || die "MESHCHECK_LOCAL_CONTEXT is set but KUBERNETES_SERVICE_HOST/PORT are not: not running in a pod?"
  [ -r "$serviceaccount/token" ] || die "no service-account token at $serviceaccount/token (automountServiceAccountToken: true?)"
  [ -r "$serviceaccount/ca.crt" ] || die "no cluster CA at $serviceaccount/ca.crt"
  case "$KUBERNETES_SERVICE_HOST" in
    *:*) server="https://[$KUBERNETES_SERVICE_HOST]:$KUBERNETES_SERVICE_PORT" ;;
    *) server="https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT" ;;
  esac
  generated=$(mktemp "${TMPDIR:-/tmp}/meshcheck-local.XXXXXX")
  cat >"$generated" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: $local_context
  cluster:
    server: $server
    certificate-authority: $serviceaccount/ca.crt
users:
- name: $local_context
  user:
    tokenFile: $serviceaccount/token
contexts:
- name: $local_context
  context:
    cluster: $local_context
    user: $local_context
current-context: $local_context
KUBECONFIG
  kubeconfig_list=$generated
fi

if [ -d "$remote_dir" ]; then
  for file in "$remote_dir"/*; do
    [ -f "$file" ] || continue
    kubeconfig_list=${kubeconfig_list:+$kubeconfig_list:}$file
  done
fi
[ -n "$kubeconfig_list" ] || die "no clusters configured: set MESHCHECK_LOCAL_CONTEXT and/or mount kubeconfigs at $remote_dir"

KUBECONFIG=$kubeconfig_list
export KUBECONFIG
exec "$meshcheck" "$@"
