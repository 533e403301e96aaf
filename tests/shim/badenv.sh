#!/usr/bin/env bash
# badenv.sh PROGRAM CASE: a bad shim environment is a configuration error,
# like a rule that cannot be parsed: the process stops before main with
# the message and status 2; under WEDGE_ON_ERROR=warn it reports it and
# runs main with nothing injected (the rules ask to fail every send,
# which `PROGRAM sock-fail none` would notice).
#   both: WEDGE_RULES and WEDGE_RULES_FILE are both set
set -uo pipefail
prog=${1:?program}
case=${2:?case}
: "${SHIM_PRELOAD:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rule='fail ECONNRESET on sock.send'

case $case in
both)
  echo "$rule" >"$tmp/r.rules"
  envs=(WEDGE_RULES="$rule" WEDGE_RULES_FILE="$tmp/r.rules")
  msg='wedge: WEDGE_RULES and WEDGE_RULES_FILE are both set; use one'
  ;;
*) fail "unknown case $case" ;;
esac

out=$(env LD_PRELOAD="$SHIM_PRELOAD" "${envs[@]}" "$prog" sock-fail none 2>"$tmp/err")
rc=$?
echo "stderr: $(cat "$tmp/err")"
[ $rc -eq 2 ] || fail "$case: exit status $rc, expected 2"
grep -qxF "$msg" "$tmp/err" || fail "$case: stderr is not the line '$msg'"
[ -z "$out" ] || fail "$case: main ran: $out"

out=$(env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_ON_ERROR=warn "${envs[@]}" "$prog" sock-fail none 2>"$tmp/err")
rc=$?
[ $rc -eq 0 ] || fail "$case: WEDGE_ON_ERROR=warn: exit status $rc ($(cat "$tmp/err"))"
grep -qF "$msg (WEDGE_ON_ERROR=warn: no injection)" "$tmp/err" || fail "$case: WEDGE_ON_ERROR=warn: no message"
[ "$out" = "sock-fail none: ok" ] || fail "$case: WEDGE_ON_ERROR=warn: main did not run unchanged (injected?): $out"
echo "badenv $case: ok"
