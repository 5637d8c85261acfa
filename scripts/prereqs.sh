#!/usr/bin/env bash
# What meshcheck needs from the machine beyond the Swift toolchain: the one list, in two groups.
#
#   make prereqs                the build (make build, demo, install, bench, ... run it first)
#   make prereqs PREREQS=test   the build plus what the tests drive (make test, unit-test, script-test, .ci/run)
#
# Missing Debian packages are installed when run as root (apt-get update, then apt-get install -y);
# otherwise the exact command is printed and the script exits 1, so make stops before building.
# Quiet when nothing is missing; it never removes anything. kubectl (test group) is not a Debian package:
# it is checked, never installed. Without dpkg-query (not Debian/Ubuntu) it says what the build needs
# and lets the build go on.
set -euo pipefail

usage() { echo "usage: $0 build|test" >&2; exit 2; }
[[ $# -eq 1 ]] || usage

# The Debian package lists live in the Makefile (BUILD_PACKAGES, TEST_PACKAGES), which passes them here;
# `make prereqs [PREREQS=test]` is how to run this script.
read -r -a BUILD_PACKAGES <<<"${MESHCHECK_BUILD_PACKAGES:?run this through make prereqs, which passes the package lists of the Makefile}"
read -r -a TEST_PACKAGES <<<"${MESHCHECK_TEST_PACKAGES?run this through make prereqs, which passes the package lists of the Makefile}"
# Python modules the scripted tests import, as module:pip-name:Debian-package. Debian's own python3 is
# externally managed (PEP 668), so there they come from apt; any other python3 (pyenv, venv) gets pip.
TEST_PYTHON_MODULES=(prometheus_client:prometheus_client:python3-prometheus-client yaml:pyyaml:python3-yaml)

case "$1" in
  build) packages=("${BUILD_PACKAGES[@]}"); modules=() ;;
  test) packages=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"); modules=("${TEST_PYTHON_MODULES[@]}") ;;
  *) usage ;;
esac

say() { echo "prereqs: $*" >&2; }

if ! command -v dpkg-query >/dev/null 2>&1; then
  say "not a Debian-based system (no dpkg-query): make sure libcurl and OpenSSL development files and pkg-config are installed${modules:+, and for the tests ${TEST_PACKAGES[*]}, the python modules prometheus_client and pyyaml, and kubectl}"
  exit 0
fi

installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }

missing=()
for pkg in "${packages[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done

# Python modules: through apt for Debian's python3 (or when python3 itself is still to be installed,
# which will be Debian's), through pip otherwise.
pip_missing=()
if ((${#modules[@]})); then
  managed=yes
  if command -v python3 >/dev/null 2>&1; then
    managed=$(python3 -c 'import os, sysconfig; print("yes" if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else "no")')
  fi
  for entry in "${modules[@]}"; do
    IFS=: read -r module pip_name deb <<<"$entry"
    if command -v python3 >/dev/null 2>&1 && python3 -c "import $module" 2>/dev/null; then continue; fi
    if [[ $managed == yes ]]; then
      installed "$deb" || missing+=("$deb")
    else
      pip_missing+=("$pip_name")
    fi
  done
fi

# kubectl is on the machine image, not in Debian: the conformance tests need it, so say so loudly.
if [[ $1 == test ]] && ! command -v kubectl >/dev/null 2>&1; then
  say "kubectl is missing: the conformance tests need it (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/)"
  exit 1
fi

((${#missing[@]} + ${#pip_missing[@]})) || exit 0

if [[ "$(id -u)" == 0 ]]; then
  if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
  fi
  if ((${#pip_missing[@]})); then
    say "installing python modules ${pip_missing[*]}"
    python3 -m pip install -q "${pip_missing[@]}"
  fi
  exit 0
fi

purpose="build meshcheck"; [[ $1 == test ]] && purpose="build and test meshcheck"
((${#missing[@]})) && say "Debian packages needed to $purpose are not installed: ${missing[*]}"
((${#pip_missing[@]})) && say "python modules needed to $purpose are not installed: ${pip_missing[*]}"
say "install them (make run as root does it itself), then run make again:"
((${#missing[@]})) && echo "    sudo apt-get install -y ${missing[*]}" >&2
((${#pip_missing[@]})) && echo "    python3 -m pip install ${pip_missing[*]}" >&2
exit 1
