#!/usr/bin/env bash
# scripts/fuzz-sources.sh, which the fuzz rule uses to read Fuzz/<Name>.sources: every real target's list
# resolves to existing files, and in a scratch tree a list with dead entries fails naming each of them, a
# good list (globs, comments, blank lines, no final newline) resolves in order, no list means
# Sources/MeshStats/*.swift, and a target without its .swift is refused. MESHCHECK is not used.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
resolve="$root/scripts/fuzz-sources.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== every Fuzz/*.swift target's sources resolve"
for target in "$root"/Fuzz/*.swift; do
  name=$(basename "$target" .swift)
  (cd "$root" && "$resolve" "$name") >"$work/$name.list" || fail "$name: its source list does not resolve"
  [[ -s "$work/$name.list" ]] || fail "$name: no sources"
done

echo "== a scratch tree: good, dead and missing lists"
tree=$work/tree
mkdir -p "$tree/Fuzz" "$tree/Sources/A" "$tree/Sources/MeshStats"
touch "$tree/Fuzz/Good.swift" "$tree/Fuzz/Dead.swift" "$tree/Fuzz/Default.swift" \
  "$tree/Sources/A/One.swift" "$tree/Sources/A/Two.swift" "$tree/Sources/Three.swift" "$tree/Sources/MeshStats/S.swift"
printf '# comment\nSources/A/*.swift\n\n  Sources/Three.swift' >"$tree/Fuzz/Good.sources"
printf 'Sources/A/One.swift\nSources/A/Gone.swift\nSources/B/*.swift\n' >"$tree/Fuzz/Dead.sources"
cd "$tree"

[[ "$("$resolve" Good | tr '\n' ' ')" == "Sources/A/One.swift Sources/A/Two.swift Sources/Three.swift " ]] \
  || fail "Good resolved to: $("$resolve" Good | tr '\n' ' ')"
[[ "$("$resolve" Default)" == Sources/MeshStats/S.swift ]] || fail "no list did not mean the MeshStats sources"

status=0; "$resolve" Dead >/dev/null 2>"$work/dead.err" || status=$?
[[ $status -ne 0 ]] || fail "a list with dead entries resolved"
grep -qF "Fuzz/Dead.sources: 'Sources/A/Gone.swift' matches no file" "$work/dead.err" || fail "the dead file is not named: $(cat "$work/dead.err")"
grep -qF "Fuzz/Dead.sources: 'Sources/B/*.swift' matches no file" "$work/dead.err" || fail "the dead glob is not named: $(cat "$work/dead.err")"

status=0; "$resolve" Missing >/dev/null 2>"$work/missing.err" || status=$?
[[ $status -ne 0 ]] && grep -q "no Fuzz/Missing.swift" "$work/missing.err" || fail "a target without its .swift was not refused"

echo "fuzz-source-lists: ok"
