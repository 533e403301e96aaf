#!/usr/bin/env bash
# killed_held.sh PROGRAM barrier|wait: a process killed (SIGKILL) while a
# barrier or a wait holds its call still leaves the trace line of that
# hold (outcome "waiting", written before it blocks), and no final line.
set -uo pipefail
prog=${1:?program}
what=${2:?barrier or wait}
: "${SHIM_PRELOAD:?}"
. "$(dirname "$0")/../lib.sh" # fail
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

case $what in
barrier) rule='held: barrier never 2 timeout 60s on sock.send' ;;
wait) rule='held: wait never timeout 60s on sock.send' ;;
*) fail "unknown case $what" ;;
esac

# The send of `sock-fail none` is held: nobody else arrives or marks.
env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/trace" WEDGE_RULES="$rule" \
  "$prog" sock-fail none >"$tmp/out" 2>"$tmp/err" &
pid=$!
# Wait (at most 10 s, polled) for the line; it must be there while held.
for _ in $(seq 100); do
  grep -qs '"outcome":"waiting"' "$tmp"/trace/trace.*.jsonl && break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null || fail "the process was not held: $(cat "$tmp/out" "$tmp/err")"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
pid=
cat "$tmp"/trace/trace.*.jsonl
grep -q "\"rule\":\"held\",\"action\":\"$what\",\"outcome\":\"waiting\"" "$tmp"/trace/trace.*.jsonl ||
  fail "no \"waiting\" line of the $what in the killed process's trace"
grep -q '"outcome":"\(released\|timeout\)"' "$tmp"/trace/trace.*.jsonl &&
  fail "a final line although the $what never released"
echo "killed_held $what: ok"
