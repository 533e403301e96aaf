#!/usr/bin/env bash
# nolibpq.sh PROGRAM: a libpq wrapper called with no libpq loaded stops
# the process (SIGABRT) with a message naming the function that was
# called, and leaves the fatal record (WEDGE_TRACE/fatal.PID) that tells
# a runner the shim, not the program, stopped it.
set -uo pipefail
prog=${1:?program}
: "${SHIM_PRELOAD:?}"
. "$(dirname "$0")/../../lib.sh" # fail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/trace"

env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/trace" "$prog" - - nolibpq 2>"$tmp/err"
rc=$?
cat "$tmp/err"
[ $rc -eq 134 ] || fail "exit status $rc, expected 134 (SIGABRT)"
msg='wedge: cannot resolve PQconnectdb: no libpq is loaded'
grep -qF "$msg" "$tmp/err" || fail "stderr does not say '$msg'"
grep -q PQpipelineStatus "$tmp/err" && fail "the message names another symbol"
set -- "$tmp"/trace/fatal.*
[ $# -eq 1 ] && [ -f "$1" ] || fail "no single fatal record in the trace directory: $(ls "$tmp/trace")"
head -1 "$1" | grep -Eq '^kind=abort pid=[0-9]+ pgid=[0-9]+ proc=shim_pq_local$' ||
  fail "fatal record, line 1: $(head -1 "$1")"
sed -n 2p "$1" | grep -qF "$msg" || fail "fatal record, line 2: $(sed -n 2p "$1")"
[ "$(stat -c %a "$1")" = 600 ] || fail "fatal record mode $(stat -c %a "$1"), expected 600"
echo "nolibpq: ok"
