#!/bin/sh
# The Swift files a libFuzzer target is compiled with, one a line: the entries of Fuzz/<Name>.sources (a
# path or glob a line; blank lines and `#` comments skipped), or Sources/MeshStats/*.swift when there is no
# list. An entry that matches no file is an error naming it, so renaming or moving a source cannot silently
# drop it from the target. Run from the repository root: scripts/fuzz-sources.sh NAME
set -eu
name=${1:?usage: scripts/fuzz-sources.sh NAME}
[ -f "Fuzz/$name.swift" ] || { echo "fuzz target $name: there is no Fuzz/$name.swift" >&2; exit 1; }
list=Fuzz/$name.sources
[ -f "$list" ] || list=
{ if [ -n "$list" ]; then cat "$list"; else echo 'Sources/MeshStats/*.swift'; fi; } | {
  status=0
  while read -r pattern || [ -n "$pattern" ]; do
    case $pattern in '' | '#'*) continue ;; esac
    found=
    for file in $pattern; do
      if [ -e "$file" ]; then found=1; echo "$file"; fi
    done
    if [ -z "$found" ]; then
      echo "${list:-fuzz target $name}: '$pattern' matches no file; a source was renamed or moved: update the list" >&2
      status=1
    fi
  done
  exit $status
}
