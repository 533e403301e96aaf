#!/usr/bin/env bash
# exports.sh LIBWEDGE LIST: the functions libwedge.so exports are exactly
# the wrapped ones of shim/wrappers.def (LIST: the build's wrappers.list,
# "W NAME HOOK PG" per wrapper).  A wrapper missing from the version
# script would silently stay local (the program's calls would bypass the
# shim); anything more would be the shim's internals leaking.
set -euo pipefail
lib=${1:?usage: exports.sh LIBWEDGE LIST}
list=${2:?usage: exports.sh LIBWEDGE LIST}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v nm >/dev/null || fail "nm is not installed (binutils)"

want=$(awk '$1 == "W" { print $2 }' "$list" | sort)
have=$(nm -D --defined-only "$lib" | awk '{ print $NF }' | sort)
[ -n "$want" ] || fail "$list lists no wrapper"
if [ "$want" != "$have" ]; then
  diff <(echo "$want") <(echo "$have") | sed 's/^</  wrappers.def only:/; s/^>/  exported only:/' | grep only >&2
  fail "libwedge.so's exports differ from shim/wrappers.def"
fi
echo "exports: the $(echo "$want" | wc -l) wrapped functions, nothing else"
