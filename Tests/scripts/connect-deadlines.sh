#!/usr/bin/env bash
# Name resolution has a deadline: in a network namespace of its own (loopback only) whose resolver is a DNS
# server that never answers, `meshcheck preflight` ends at its connect timeout with "the DNS resolver gave no
# answer", exit 3, instead of waiting on the resolver's own retries. (The proxy that never opens its tunnel is
# covered in BoundsEndToEndTests; this case needs a resolver we control, hence the namespace.)
set -euo pipefail
: "${MESHCHECK:?set MESHCHECK to the meshcheck binary}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v unshare >/dev/null || fail "unshare (util-linux) is required"
command -v ip >/dev/null || fail "ip (iproute2) is required"
[[ $(id -u) -eq 0 ]] || fail "needs root for a network and mount namespace (CI runs as root)"

# A resolver that reads queries and never answers, for at most 60 s.
cat >"$work/silent-dns.py" <<'PY'
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
s.settimeout(0.5)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        s.recvfrom(4096)
    except socket.timeout:
        pass
PY
echo "nameserver 127.0.0.1" >"$work/resolv.conf"
cat >"$work/kubeconfig" <<'YAML'
apiVersion: v1
kind: Config
current-context: dns-1
clusters:
- name: by-name
  cluster:
    server: https://api.cluster-1.meshcheck.test:6443
users:
- name: nobody
  user:
    token: not-a-real-token
contexts:
- name: dns-1
  context:
    cluster: by-name
    user: nobody
YAML

echo "== meshcheck preflight with a resolver that never answers (connect timeout 3s)"
set +e
unshare --net --mount --propagation private sh -c '
  set -e
  ip link set lo up
  mount --bind "$1/resolv.conf" /etc/resolv.conf
  python3 "$1/silent-dns.py" &
  sleep 0.5
  started=$(date +%s)
  status=0
  RES_OPTIONS="timeout:30 attempts:1" timeout 60 "$2" preflight --kubeconfig "$1/kubeconfig" --context dns-1 --api-timeout 3s >"$1/preflight.log" 2>&1 || status=$?
  echo "$status $(( $(date +%s) - started ))" >"$1/result"
  kill %1 2>/dev/null || true
' sh "$work" "$MESHCHECK"
set -e
read -r status seconds <"$work/result" || fail "the namespace did not run: $(cat "$work/preflight.log" 2>/dev/null)"
cat "$work/preflight.log"
[[ "$status" -eq 3 ]] || fail "exit $status, expected 3 (environment)"
grep -q "the DNS resolver gave no answer within the connect timeout of 3s" "$work/preflight.log" || fail "no resolver message"
grep -q "not-a-real-token" "$work/preflight.log" && fail "the token reached the output"
# The connect timeout plus a generous margin. The resolver is told to wait 30 s (RES_OPTIONS): a client that
# joined its resolver thread on the way out (libcurl does unless CURLOPT_QUICK_EXIT) would take that long.
[[ "$seconds" -le 20 ]] || fail "preflight took ${seconds}s: it waited for the resolver past its connect timeout"
echo "connect deadlines: all steps passed (${seconds}s)"
