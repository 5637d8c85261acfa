#!/usr/bin/env bash
# A fresh machine's path to meshcheck: scripts/prereqs.sh against fake dpkg-query, apt-get, id and python3
# (nothing real is installed or removed: as root it would run apt-get update, then apt-get install -y with
# exactly the missing packages; as another user it prints the sudo apt-get command and exits 1; with
# nothing missing it is silent), then `make install` into a temporary PREFIX (and DESTDIR): the binary, the
# kubectl-meshcheck link that kubectl's plugin discovery finds, the three completion scripts, help that
# reads `kubectl meshcheck` when run as the plugin, and `make uninstall`. Needs MESHCHECK (its build
# folder is reused: the install builds nothing new), kubectl.
set -euo pipefail

MESHCHECK=${MESHCHECK:?set MESHCHECK to the meshcheck binary}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v kubectl >/dev/null || { echo "kubectl is required" >&2; exit 1; }

work=$(mktemp -d)
cleanup() {
  local status=$?
  if [[ $status -ne 0 ]]; then
    for log in "$work"/*.log; do [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }; done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# The fakes answer from environment variables: FAKE_MISSING (packages dpkg-query does not show
# installed), FAKE_UID, FAKE_PY_MISSING (modules python3 cannot import), FAKE_PY_MANAGED (yes/no:
# Debian's externally managed python3). apt-get and pip record their arguments in $work/calls.
fake=$work/fake
mkdir -p "$fake"
cat >"$fake/dpkg-query" <<'EOF'
#!/bin/sh
for pkg; do :; done
case " $FAKE_MISSING " in *" $pkg "*) exit 1 ;; esac
printf installed
EOF
cat >"$fake/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_CALLS"
EOF
cat >"$fake/id" <<'EOF'
#!/bin/sh
echo "${FAKE_UID:?}"
EOF
cat >"$fake/python3" <<'EOF'
#!/bin/sh
case "$*" in
  "-m pip install"*) echo "pip $*" >>"$FAKE_CALLS" ;;
  *EXTERNALLY-MANAGED*) echo "$FAKE_PY_MANAGED" ;;
  "-c import "*) case " $FAKE_PY_MISSING " in *" ${2#import } "*) exit 1 ;; esac ;;
  *) echo "unexpected python3 $*" >&2; exit 9 ;;
esac
EOF
cat >"$fake/kubectl" <<'EOF'
#!/bin/sh
exit 0
EOF
chmod +x "$fake"/*
export FAKE_CALLS=$work/calls

# The package lists as the Makefile passes them.
build_packages=$(sed -n 's/^BUILD_PACKAGES *= *//p' "$root/Makefile")
test_packages=$(sed -n 's/^TEST_PACKAGES *= *//p' "$root/Makefile")
[[ "$build_packages" == *libcurl4-openssl-dev* ]] || fail "the Makefile's BUILD_PACKAGES does not name libcurl4-openssl-dev: $build_packages"

# Only the fakes on PATH: nothing real can be installed, and kubectl is present only when linked.
prereqs() {
  local group=$1; shift
  rm -f "$FAKE_CALLS"; touch "$FAKE_CALLS"
  env -i PATH="$fake" FAKE_CALLS="$FAKE_CALLS" FAKE_PY_MANAGED=no FAKE_PY_MISSING= FAKE_MISSING= \
    MESHCHECK_BUILD_PACKAGES="$build_packages" MESHCHECK_TEST_PACKAGES="$test_packages" "$@" \
    /bin/bash "$root/scripts/prereqs.sh" "$group" >"$work/out.log" 2>&1
}

step "prereqs build, as root, two packages missing: apt-get update, then install exactly those"
prereqs build FAKE_UID=0 FAKE_MISSING="libcurl4-openssl-dev pkg-config" || fail "exited $?"
diff <(printf 'apt-get update -qq\napt-get install -y -qq libcurl4-openssl-dev pkg-config\n') "$FAKE_CALLS" \
  || fail "apt-get was not called as expected"

step "prereqs build, not root: the exact command, exit 1, nothing installed"
status=0; prereqs build FAKE_UID=1000 FAKE_MISSING="libcurl4-openssl-dev libssl-dev" || status=$?
[[ $status -eq 1 ]] || fail "exit status $status, expected 1"
grep -qxF "    sudo apt-get install -y libcurl4-openssl-dev libssl-dev" "$work/out.log" || fail "no install command printed"
[[ ! -s "$FAKE_CALLS" ]] || fail "apt-get or pip was called: $(cat "$FAKE_CALLS")"

step "prereqs build, nothing missing: silent, exit 0, nothing installed"
prereqs build FAKE_UID=1000 || fail "exited $?"
[[ ! -s "$work/out.log" && ! -s "$FAKE_CALLS" ]] || fail "said or did something: $(cat "$work/out.log" "$FAKE_CALLS")"

step "prereqs test, as root, a test package and a module missing under Debian's python3: both through apt"
prereqs test FAKE_UID=0 FAKE_MISSING="chromium python3-yaml" FAKE_PY_MANAGED=yes FAKE_PY_MISSING=yaml || fail "exited $?"
grep -qxF "apt-get install -y -qq chromium python3-yaml" "$FAKE_CALLS" || fail "apt-get install: $(cat "$FAKE_CALLS")"

step "prereqs test, not root, a module missing under a pip-managed python3: the pip command, exit 1"
status=0; prereqs test FAKE_UID=1000 FAKE_PY_MISSING=prometheus_client || status=$?
[[ $status -eq 1 ]] || fail "exit status $status, expected 1"
grep -qxF "    python3 -m pip install prometheus_client" "$work/out.log" || fail "no pip command printed"
grep -q "sudo apt-get" "$work/out.log" && fail "an apt-get command although no package is missing"
[[ ! -s "$FAKE_CALLS" ]] || fail "something was installed: $(cat "$FAKE_CALLS")"

step "prereqs test without kubectl: a loud failure, even as root"
rm "$fake/kubectl"
status=0; prereqs test FAKE_UID=0 || status=$?
[[ $status -eq 1 ]] || fail "exit status $status, expected 1"
grep -q "kubectl is missing" "$work/out.log" || fail "no word about kubectl"

# make install reuses MESHCHECK's build folder and configuration (.build/debug/meshcheck: SCRATCH=.build,
# INSTALL_CONFIG=debug), so it links nothing new; bounded all the same.
bin_dir=$(cd "$(dirname "$MESHCHECK")" && pwd)
scratch=$(dirname "$bin_dir")
config=$(basename "$bin_dir")
install_into() {
  timeout 600 make -C "$root" --no-print-directory SCRATCH="$scratch" INSTALL_CONFIG="$config" "$@" >>"$work/install.log" 2>&1
}

prefix=$work/prefix
step "make install PREFIX=$prefix"
install_into install PREFIX="$prefix" || fail "make install exited $?"
[[ -x "$prefix/bin/meshcheck" && ! -L "$prefix/bin/meshcheck" ]] || fail "no executable bin/meshcheck"
[[ "$(readlink "$prefix/bin/kubectl-meshcheck")" == meshcheck ]] || fail "bin/kubectl-meshcheck is not a link to meshcheck"
bash_completion=$prefix/share/bash-completion/completions/meshcheck
zsh_completion=$prefix/share/zsh/site-functions/_meshcheck
fish_completion=$prefix/share/fish/vendor_completions.d/meshcheck.fish
for file in "$bash_completion" "$zsh_completion" "$fish_completion"; do [[ -s "$file" ]] || fail "no $file"; done
head -n 1 "$zsh_completion" | grep -qx '#compdef meshcheck' || fail "zsh completion is not for meshcheck"
grep -q "complete -c 'meshcheck'\|complete -c meshcheck" "$fish_completion" || fail "fish completion is not for meshcheck"
bash -c "source '$bash_completion' && complete -p meshcheck" >/dev/null || fail "the bash completion does not register for meshcheck"

step "kubectl finds the plugin on that PATH, and its help names it kubectl meshcheck"
PATH="$prefix/bin:$PATH" kubectl plugin list >"$work/plugins.log" 2>&1 || true
grep -qxF "$prefix/bin/kubectl-meshcheck" "$work/plugins.log" || fail "kubectl plugin list does not list $prefix/bin/kubectl-meshcheck"
PATH="$prefix/bin:$PATH" kubectl meshcheck --help >"$work/plugin-help.log" 2>&1 || fail "kubectl meshcheck --help exited $?"
grep -q "^USAGE: kubectl meshcheck <subcommand>" "$work/plugin-help.log" || fail "plugin help does not say kubectl meshcheck"
PATH="$prefix/bin:$PATH" kubectl meshcheck run --help >"$work/plugin-run-help.log" 2>&1 || fail "kubectl meshcheck run --help exited $?"
grep -q "^USAGE: kubectl meshcheck run " "$work/plugin-run-help.log" || fail "plugin run help does not say kubectl meshcheck run"
"$prefix/bin/meshcheck" --help >"$work/help.log" 2>&1 || fail "meshcheck --help exited $?"
grep -q "^USAGE: meshcheck <subcommand>" "$work/help.log" || fail "meshcheck help does not say meshcheck"

step "make uninstall PREFIX=$prefix removes every installed file"
install_into uninstall PREFIX="$prefix" || fail "make uninstall exited $?"
left=$(find "$prefix" -type f -o -type l)
[[ -z "$left" ]] || fail "left behind: $left"

step "make install DESTDIR=$work/stage PREFIX=/usr stages under DESTDIR"
install_into install DESTDIR="$work/stage" PREFIX=/usr || fail "make install exited $?"
[[ -x "$work/stage/usr/bin/meshcheck" && -L "$work/stage/usr/bin/kubectl-meshcheck" ]] || fail "nothing staged under DESTDIR"
[[ -s "$work/stage/usr/share/zsh/site-functions/_meshcheck" ]] || fail "no staged zsh completion"

echo "fresh-machine: ok"
