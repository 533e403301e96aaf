#!/usr/bin/env bash
# trace_cost.sh PROGRAM: under WEDGE_TRACE every hook is armed (to count
# calls), but a hook no rule names must cost only the count: no
# getpeername/getsockname for the trace's detail, no fstat to tell a
# socket from a file.  Counted with strace over `PROGRAM io-loop N`
# (N send+recv on a socketpair, N write+read on a pipe):
#   a rule on another hook only: no getpeername, fewer fstat than N;
#   the twin, a rule on sock.send,sock.recv that never matches: at least
#   2N of each (so the counting can see them);
# in both, the summary counts N calls of sock.send and of sock.recv.
set -uo pipefail
prog=${1:?program}
: "${SHIM_PRELOAD:?}"
n=200
. "$(dirname "$0")/../lib.sh" # fail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

strace -f -qq -o /dev/null true 2>/dev/null || { echo "SKIP: strace cannot trace here"; exit 77; }

# run NAME RULES: strace'd run; sets peer and stat (syscall counts)
run() {
  local name=$1 rules=$2
  strace -f -qq -e trace=getpeername,getsockname,fstat,newfstatat -o "$tmp/$name.st" \
    env LD_PRELOAD="$SHIM_PRELOAD" ASAN_OPTIONS=detect_leaks=0 WEDGE_TRACE="$tmp/$name" \
    WEDGE_RULES="$rules" "$prog" io-loop $n >"$tmp/$name.out" 2>&1 ||
    fail "$name: the program failed: $(cat "$tmp/$name.out")"
  peer=$(grep -cE 'getpeername|getsockname' "$tmp/$name.st")
  stat=$(grep -cE 'fstat|newfstatat' "$tmp/$name.st")
  echo "$name: $peer getpeername/getsockname, $stat fstat"
  for h in sock.send sock.recv; do
    c=$(grep -h '"summary":true' "$tmp/$name"/trace.*.jsonl | jq "[.calls[\"$h\"] // 0] | add")
    [ "$c" -eq $n ] || fail "$name: the summary counts $c calls of $h, expected $n"
  done
}

run other 'log on thread.create'
[ "$peer" -eq 0 ] || fail "tracing alone: $peer getpeername/getsockname calls on hooks no rule names"
[ "$stat" -lt $n ] || fail "tracing alone: $stat fstat calls for $n pipe writes and reads no rule names"

run named 'log on sock.send,sock.recv where thread = 99999'
[ "$peer" -ge $((2 * n)) ] || fail "named: only $peer getpeername calls: the count cannot see them"
[ "$stat" -ge $((2 * n)) ] || fail "named: only $stat fstat calls: the count cannot see them"
echo "trace_cost: ok"
