#!/usr/bin/env bash
# zero_cost.sh PROGRAM: an action of nothing costs nothing (issue 8,
# "zero costs zero").  Counted with strace over `PROGRAM io-loop N`
# (N rounds of send+recv on a socketpair, write+read on a pipe, and a
# mutex lock/unlock and trylock/unlock), without a trace:
#   `delay 0ms on *`      no clock_nanosleep, and exactly the system
#                         calls of `log on *` (a rule whose action is
#                         nothing): the delay itself adds none;
#   `yield on * p=0`      no sched_yield, the system calls of `log on *`;
#   twins that show the counting sees them: `delay 1us on sock.send`
#   sleeps N times, `yield on sock.send` yields N times;
#   `delay 0ns..1ns on sock.send` (traced) sleeps exactly as often as
#   its trace records a drawn 1 ns: a drawn 0 makes no call.
set -uo pipefail
prog=${1:?program}
: "${SHIM_PRELOAD:?}"
n=200
. "$(dirname "$0")/../lib.sh" # fail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

strace -f -qq -o /dev/null true 2>/dev/null || { echo "SKIP: strace cannot trace here"; exit 77; }

# run NAME RULES [VAR=VALUE...]: strace'd run; sets total, sleeps, yields
run() {
  local name=$1 rules=$2; shift 2
  strace -f -qq -o "$tmp/$name.st" \
    env LD_PRELOAD="$SHIM_PRELOAD" ASAN_OPTIONS=detect_leaks=0 WEDGE_SEED=1 \
    WEDGE_RULES="$rules" "$@" "$prog" io-loop $n >"$tmp/$name.out" 2>&1 ||
    fail "$name: the program failed: $(cat "$tmp/$name.out")"
  # strace's own exec of env and the program's exec are alike in every run
  total=$(grep -vc -e '^[0-9]* +++ ' -e '^[0-9]* --- ' "$tmp/$name.st")
  sleeps=$(grep -cE 'clock_nanosleep|[^_]nanosleep\(' "$tmp/$name.st")
  yields=$(grep -c 'sched_yield' "$tmp/$name.st")
  echo "$name ($rules): $total system calls, $sleeps sleeps, $yields yields"
}

run log 'log on *'
base=$total
run delay0 'delay 0ms on *'
[ "$sleeps" -eq 0 ] || fail "delay 0ms: $sleeps sleeps"
[ "$total" -eq "$base" ] || fail "delay 0ms: $total system calls, log on *: $base"
run yield0 'yield on * p=0'
[ "$yields" -eq 0 ] || fail "yield p=0: $yields sched_yield calls"
[ "$total" -eq "$base" ] || fail "yield p=0: $total system calls, log on *: $base"

run delay1 'delay 1us on sock.send'
[ "$sleeps" -ge $n ] || fail "delay 1us: only $sleeps sleeps for $n sends: the count cannot see them"
run yield1 'yield on sock.send'
[ "$yields" -ge $n ] || fail "yield: only $yields sched_yield calls for $n sends: the count cannot see them"

run drawn 'delay 0ns..1ns on sock.send' WEDGE_TRACE="$tmp/trace"
ones=$(cat "$tmp"/trace/trace.*.jsonl | jq -s '[.[] | select(.action == "delay" and .waited_ns == 1)] | length')
zeros=$(cat "$tmp"/trace/trace.*.jsonl | jq -s '[.[] | select(.action == "delay" and .waited_ns == 0)] | length')
echo "drawn: $ones fires of 1 ns, $zeros of 0 ns"
[ $((ones + zeros)) -eq $n ] || fail "drawn: $((ones + zeros)) fires traced, expected $n"
[ "$zeros" -gt 0 ] && [ "$ones" -gt 0 ] || fail "drawn: the seed drew only one value"
[ "$sleeps" -eq "$ones" ] || fail "drawn: $sleeps sleeps for $ones drawn 1 ns delays"
echo "zero_cost: ok"
