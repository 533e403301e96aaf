#!/usr/bin/env bash
# trace_end.sh PROGRAM EARLY CASE: a complete trace (issue 8 item 5): the
# summary is the last line of every trace file, and its fires equal the
# event lines of the rule (nothing fired after it, nothing uncounted).
#   exit:    four threads still sending while main exits, an exit handler
#            sending, and a library destructor that runs after the shim's
#            (EEXIT = shim_early_main) sending
#   sigterm: a process waiting with SIGTERM at SIG_DFL is stopped with it:
#            it still dies of SIGTERM (status 143) and leaves a summary
#            ("end":"SIGTERM"); twins: its own handler runs as before (and
#            exits: "end":"exit"); SIGTERM ignored stays ignored
#   held:    a thread held in a 60 s delay while main exits: the process
#            exits at once, the summary says "in_flight":1
#   cap:     WEDGE_TRACE_MAX=4096 under 200 fires: one truncation record,
#            the file within the cap plus that record and the summary,
#            "dropped" + lines written = fires
set -uo pipefail
prog=${1:?program}
early=${2:?shim_early_main}
case=${3:?case}
: "${SHIM_PRELOAD:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# check_file FILE RULE: the summary is the last line, the only one, and
# its fires for RULE equal RULE's event lines that are injections.
check_file() {
  local f=$1 rule=$2 last fires lines
  last=$(tail -n 1 "$f")
  jq -e '.summary == true' <<<"$last" >/dev/null || fail "$f: the last line is not the summary: $last"
  [ "$(grep -c '"summary":true' "$f")" -eq 1 ] || fail "$f: not exactly one summary"
  fires=$(jq "[.rules[] | select(.rule == \"$rule\") | .fires] | add // 0" <<<"$last")
  lines=$(jq -s "[.[] | select(.rule == \"$rule\" and .outcome != \"waiting\")] | length" "$f")
  echo "$(basename "$f"): summary $(jq -c '{"end": .end, in_flight, dropped}' <<<"$last"), $fires fires, $lines lines"
  [ "$fires" -eq "$lines" ] || fail "$f: the summary counts $fires fires of $rule, the trace has $lines lines"
}

# ready OUT PID: wait (at most 30 s: sanitizer builds start slowly) until
# the program started in the background says "ready"
ready() {
  for _ in $(seq 3000); do grep -q ready "$1" 2>/dev/null && return 0; sleep 0.01; done
  kill -KILL "$2" 2>/dev/null
  fail "term-wait did not start: $(cat "$1" 2>&1)"
}

case $case in
exit)
  for r in 1 2 3; do
    rm -rf "$tmp/t"
    env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t" WEDGE_RULES='s: log on sock.send' \
      "$prog" exit-race >/dev/null || fail "exit-race failed"
    check_file "$tmp"/t/trace.*.jsonl s
    [ "$(tail -n 1 "$tmp"/t/trace.*.jsonl | jq -r .end)" = exit ] || fail "end is not exit"
    # the exit handler's 5 sends come before the summary, so they count
    [ "$(jq -s '[.[] | select(.rule == "s")] | length' "$tmp"/t/trace.*.jsonl)" -ge 5 ] ||
      fail "the exit handler's sends were not traced"
  done
  rm -rf "$tmp/t"
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t" WEDGE_RULES='s: log on sock.send' "$early" \
    >/dev/null || fail "shim_early_main failed"
  check_file "$tmp"/t/trace.*.jsonl s
  ;;
sigterm)
  # SIG_DFL: killed by SIGTERM as before, with the summary
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t" WEDGE_RULES='s: log on sock.send' \
    "$prog" term-wait >"$tmp/out" 2>&1 &
  pid=$!
  ready "$tmp/out" $pid
  kill -TERM $pid
  wait $pid
  rc=$?
  [ $rc -eq 143 ] || fail "SIG_DFL: exit status $rc, expected 143 (killed by SIGTERM)"
  check_file "$tmp"/t/trace.$pid.jsonl s
  [ "$(tail -n 1 "$tmp/t/trace.$pid.jsonl" | jq -r .end)" = SIGTERM ] || fail "end is not SIGTERM"
  # the program's own handler: it runs, the shim stays out of the way
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/own" WEDGE_RULES='s: log on sock.send' \
    "$prog" term-wait own >"$tmp/out" 2>&1 &
  pid=$!
  ready "$tmp/out" $pid
  kill -TERM $pid
  wait $pid
  rc=$?
  [ $rc -eq 0 ] && grep -q 'own handler' "$tmp/out" || fail "own handler: status $rc, $(cat "$tmp/out")"
  check_file "$tmp"/own/trace.$pid.jsonl s
  [ "$(tail -n 1 "$tmp/own/trace.$pid.jsonl" | jq -r .end)" = exit ] || fail "own handler: end is not exit"
  # SIGTERM ignored by the parent: it stays ignored
  (trap '' TERM; exec env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/ign" \
    WEDGE_RULES='s: log on sock.send' "$prog" term-wait >"$tmp/out" 2>&1) &
  pid=$!
  ready "$tmp/out" $pid
  kill -TERM $pid
  sleep 0.2
  kill -0 $pid 2>/dev/null || fail "SIG_IGN: SIGTERM killed the process"
  kill -KILL $pid
  wait $pid 2>/dev/null
  grep -q '"summary":true' "$tmp"/ign/trace.$pid.jsonl && fail "SIG_IGN: a summary was written"
  ;;
held)
  start=$(date +%s)
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t" \
    WEDGE_RULES='hold: delay 60s on sock.send where thread = 2' "$prog" held-exit >/dev/null ||
    fail "held-exit failed"
  [ $(($(date +%s) - start)) -lt 50 ] || fail "exit waited for the held call"
  f=$(echo "$tmp"/t/trace.*.jsonl)
  check_file "$f" hold
  [ "$(tail -n 1 "$f" | jq .in_flight)" -eq 1 ] || fail "the summary does not count the held call in flight"
  ;;
cap)
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t" WEDGE_TRACE_MAX=4096 \
    WEDGE_RULES='s: log on sock.send' "$prog" io-loop 200 >/dev/null || fail "io-loop failed"
  f=$(echo "$tmp"/t/trace.*.jsonl)
  last=$(tail -n 1 "$f")
  jq -e '.summary == true' <<<"$last" >/dev/null || fail "the last line is not the summary"
  [ "$(grep -c '"truncated":true' "$f")" -eq 1 ] || fail "not exactly one truncation record"
  events=$(head -n -1 "$f" | grep -v '"truncated":true' | wc -c)
  [ "$events" -le 4096 ] || fail "$events bytes of events past the 4096-byte cap"
  lines=$(jq -s '[.[] | select(.rule == "s")] | length' "$f")
  fires=$(jq '.rules[0].fires' <<<"$last")
  dropped=$(jq .dropped <<<"$last")
  echo "cap: $lines lines, $dropped dropped, $fires fires, $events bytes of events"
  [ "$fires" -eq 200 ] && [ $((lines + dropped)) -eq "$fires" ] && [ "$dropped" -gt 0 ] ||
    fail "lines + dropped != fires"
  # a bad value is a configuration error
  out=$(env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t2" WEDGE_TRACE_MAX=10x "$prog" io-loop 1 2>&1)
  [ $? -eq 2 ] || fail "WEDGE_TRACE_MAX=10x accepted"
  [ "$out" = "wedge: WEDGE_TRACE_MAX='10x' is not a size of at least 4096 bytes (a number of bytes, or with K, M or G, e.g. 64M)" ] ||
    fail "WEDGE_TRACE_MAX=10x: $out"
  ;;
*) fail "unknown case $case" ;;
esac
echo "trace_end $case: ok"
