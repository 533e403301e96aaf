#!/usr/bin/env bash
# badrule.sh PROGRAM: a rule that cannot be parsed stops the process before
# main (stderr begins "wedge: rules:1:1:", status 2, main printed nothing);
# WEDGE_ON_ERROR=warn reports it and runs main with nothing injected.
set -uo pipefail
prog=${1:?program}
: "${SHIM_PRELOAD:?}"
. "$(dirname "$0")/../lib.sh" # fail
err=$(mktemp); trap 'rm -f "$err"' EXIT

out=$(env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_RULES='dealy 5ms on pq.query' "$prog" sock-fail none 2>"$err")
rc=$?
echo "stderr: $(cat "$err")"
[ $rc -eq 2 ] || fail "exit status $rc, expected 2"
head -c 17 "$err" | grep -qx 'wedge: rules:1:1:' || fail "stderr does not begin with 'wedge: rules:1:1:'"
[ -z "$out" ] || fail "main ran: $out"

out=$(env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_ON_ERROR=warn WEDGE_RULES='dealy 5ms on pq.query' "$prog" sock-fail none 2>"$err")
rc=$?
[ $rc -eq 0 ] || fail "WEDGE_ON_ERROR=warn: exit status $rc"
grep -q '^wedge: rules:1:1:' "$err" || fail "WEDGE_ON_ERROR=warn: no message"
[ "$out" = "sock-fail none: ok" ] || fail "WEDGE_ON_ERROR=warn: main did not run unchanged: $out"
echo "badrule: ok"
