#!/usr/bin/env bash
# badenv.sh PROGRAM CASE: a bad shim environment is a configuration error,
# like a rule that cannot be parsed: the process stops before main with
# the message and status 2; under WEDGE_ON_ERROR=warn it reports it and
# runs main with nothing injected (the rules ask to fail every send,
# which `PROGRAM sock-fail none` would notice).
#   both: WEDGE_RULES and WEDGE_RULES_FILE are both set
#   seed: WEDGE_SEED is not a decimal number; "010" is read as ten
set -uo pipefail
prog=${1:?program}
case=${2:?case}
: "${SHIM_PRELOAD:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rule='fail ECONNRESET on sock.send'

# config_error MESSAGE VAR=VALUE...
config_error() {
  local msg=$1 out rc; shift
  out=$(env LD_PRELOAD="$SHIM_PRELOAD" "$@" "$prog" sock-fail none 2>"$tmp/err")
  rc=$?
  echo "$*: stderr: $(cat "$tmp/err")"
  [ $rc -eq 2 ] || fail "$*: exit status $rc, expected 2"
  grep -qxF "$msg" "$tmp/err" || fail "$*: stderr is not the line '$msg'"
  [ -z "$out" ] || fail "$*: main ran: $out"

  out=$(env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_ON_ERROR=warn "$@" "$prog" sock-fail none 2>"$tmp/err")
  rc=$?
  [ $rc -eq 0 ] || fail "$*: WEDGE_ON_ERROR=warn: exit status $rc ($(cat "$tmp/err"))"
  grep -qF "$msg (WEDGE_ON_ERROR=warn: no injection)" "$tmp/err" || fail "$*: WEDGE_ON_ERROR=warn: no message"
  [ "$out" = "sock-fail none: ok" ] || fail "$*: WEDGE_ON_ERROR=warn: main did not run unchanged (injected?): $out"
}

case $case in
both)
  echo "$rule" >"$tmp/r.rules"
  config_error 'wedge: WEDGE_RULES and WEDGE_RULES_FILE are both set; use one' \
    WEDGE_RULES="$rule" WEDGE_RULES_FILE="$tmp/r.rules"
  ;;
seed)
  for s in abc 0x10 12x -1 ' 7' 18446744073709551616; do
    config_error "wedge: WEDGE_SEED='$s' is not a decimal number from 0 to 18446744073709551615" \
      WEDGE_RULES="$rule" WEDGE_SEED="$s"
  done
  # Base 10 only: the seed the trace summary records is ten, not eight.
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/trace" WEDGE_SEED=010 "$prog" sock-fail none ||
    fail "WEDGE_SEED=010: the program failed"
  grep -q '"seed":10,' "$tmp"/trace/trace.*.jsonl || fail "WEDGE_SEED=010: the trace does not record seed 10: $(cat "$tmp"/trace/trace.*.jsonl)"
  ;;
*) fail "unknown case $case" ;;
esac
echo "badenv $case: ok"
