#!/usr/bin/env bash
# `wedge ctl`: docs/debugging.md's worked session, as a test, on the test
# server of the pg fixture and the shop.
#
#   ctl.sh CASE WEDGE WORK_DIR PG_STATE_DIR
#
# Cases:
#   session   held-buyer.scn, naive stock: the second buyer is held after its
#             stock read (`hold`); status lists it (pid, thread, hook,
#             statement) and still lists it past every default timeout, its
#             transaction open in pg_stat_activity / pg_locks; a rule added
#             at run time fires on the next order; disabled, it stops firing
#             while the other rules still count; released, the held buyer
#             sells the unit again: exit 1 (no_oversell breaks).  Bad input:
#             a rule that does not parse (exit 2, the shim's message), an
#             unknown RULE (2), a release of a point nobody reached (1), no
#             run (3).
#   twin      the same with --stock pessimistic: the second read waits for
#             the first buyer's row lock and reads 0; held and released, it
#             sells nothing: exit 0.
#   ceiling   `hold` under `wedge exec` with a ceiling of 300ms and no
#             release: the call goes on, said on stderr and traced
#             "ceiling"; `release` during a hold lets the call go at once.
#
# Every wait is bounded (poll loops of at most 30 s); CTest's TIMEOUT
# bounds the whole.
set -uo pipefail

case_name=${1:?usage: ctl.sh CASE WEDGE WORK_DIR [PG_STATE_DIR]}
wedge=${2:?wedge binary}
work=${3:?work directory}
pg_state=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

lib_name=ctl
. "$here/../../lib.sh"

lib_scratch
export PGGSSENCMODE=disable

# status --json of the run writing into $out, into $work/status.json
status() { "$wedge" ctl --out "$out" --json status >"$work/status.json" 2>"$work/status.err"; }
jqs() { jq -r "$1" "$work/status.json"; }
rule_field() { jqs ".rules[] | select(.name == \"$1\") | .$2"; }

# Poll (every 0.1 s, at most 30 s) until the jq test on status holds.
wait_status() {
    local i
    for i in $(seq 300); do
        status && [ "$(jqs "$1")" = true ] && return 0
        kill -0 "$runpid" 2>/dev/null || fail "the run ended while waiting for: $1"
        sleep 0.1
    done
    fail "status never showed: $1 (last: $(cat "$work/status.json" "$work/status.err"))"
}

# Start held-buyer.scn in the background; $out, $runpid set.
start_run() {
    out="$work/$1"
    shift
    env "$@" "$wedge" run "$here/held-buyer.scn" --dsn "$(test_dsn)" --seed 7 --out "$out" \
        >"$work/run.out" 2>"$work/run.err" &
    runpid=$!
    wait_status '[.held[] | select(.point == "buyer2")] | length == 1'
}

finish_run() {
    local want=$1
    wait_exit "$runpid" 60 || fail "the run did not end within 60 s of the release"
    wait "$runpid"
    rc=$?
    [ "$rc" = "$want" ] || fail "run exited $rc, expected $want: $(cat "$work/run.out" "$work/run.err")"
}

order() {
    curl -s -m 10 -o /dev/null -XPOST -d '{"lines":[{"sku":"sku-1","qty":1}]}' \
        "http://127.0.0.1:$port/orders" || fail "POST /orders to shopd failed"
}

case_session() {
    local dsn held since fires hits
    dsn=$(test_dsn)
    skip_if_runtime_breaks psql "$dsn" -Atc 'SELECT 1'
    start_run naive
    # Listed: pid, thread, hook, statement, the rule that holds it.
    [ "$(jqs '.held[0].hook')" = pq.query ] || fail "held hook: $(jqs '.held[0].hook')"
    jqs '.held[0].statement' | grep -q '^SELECT stock' || fail "held statement: $(jqs '.held[0].statement')"
    [ "$(jqs '.held[0].rule')" = 2 ] && [ "$(jqs '.held[0].kind')" = hold ] || fail "held: $(jqs '.held[0]')"
    [ "$(jqs '.held[0].tid')" -gt 0 ] && [ "$(jqs '.processes[0].name')" = shopd ] || fail "$(jqs .)"
    held=$(jqs '.held[0].pid')
    [ "$held" = "$(jqs '.processes[0].pid')" ] || fail "held pid $held is not shopd's"
    "$wedge" ctl --out "$out" status >"$work/status.txt" || fail "text status failed"
    expect_in "$work/status.txt" "hold buyer2  pq.query  rule #2  for .* SELECT stock"
    # Held past every default timeout (1 s): held, not timed out.
    wait_status '.held[0].held_ms > 2500'
    # ... its transaction open in PostgreSQL, the read's lock still taken
    psql "$dsn" -Atc "SELECT l.mode FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                      WHERE a.state = 'idle in transaction' AND a.query ~ '^SELECT stock, version'
                        AND now() - a.state_change > interval '2 s' AND l.locktype = 'relation'" \
        >"$work/locks" || fail "psql pg_locks failed"
    expect_in "$work/locks" '^AccessShareLock$'
    # A rule added at run time fires on the next order (the first buyer is
    # done: the stock is 0, the order refused, the read made all the same).
    port=$(sed -n 's/^shopd: listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out/logs/shopd.log")
    [ -n "$port" ] || fail "no port in $out/logs/shopd.log"
    expect_rc 0 "$wedge" ctl --out "$out" add 'late: log after pq.query where sql ~ "^SELECT stock"'
    # add returns once the process has taken the rule up: the order meets it
    expect_in "$work/out" "^rule #4 late: added; taken up by 1 of 1 process$"
    order
    wait_status '(.rules[] | select(.name == "late") | .fires) >= 1'
    [ "$(rule_field late added)" = true ] && [ "$(rule_field late processes)" = 1 ] || fail "late: $(jqs .rules)"
    # Disabled, it stops firing; the others still count the reads.
    expect_rc 0 "$wedge" ctl --out "$out" disable 4
    status
    fires=$(rule_field late fires)
    hits=$(rule_field seen hits)
    order
    order
    wait_status "(.rules[] | select(.name == \"seen\") | .hits) >= $((hits + 2))"
    [ "$(rule_field late fires)" = "$fires" ] || fail "a disabled rule fired: $(jqs .rules)"
    [ "$(rule_field late state)" = disabled ] || fail "state: $(rule_field late state)"
    # Bad input: named, and nothing changes.
    expect_rc 2 "$wedge" ctl --out "$out" add 'delay 1ms on sock.clos'
    expect_in "$work/err" "^wedge: rules:1:14: unknown hook 'sock.clos' (did you mean 'sock.close'?)"
    expect_rc 2 "$wedge" ctl --out "$out" add 'log on pq.query; log on sock.send'
    expect_rc 2 "$wedge" ctl --out "$out" disable 9
    expect_in "$work/err" "no rule '9' in this run"
    expect_rc 1 "$wedge" ctl --out "$out" release nobody-here
    expect_rc 2 "$wedge" ctl --out "$out" frobnicate
    expect_rc 3 "$wedge" ctl --out "$work/no-such-run" status
    # Still held; released, it sells the unit the first buyer sold.
    status
    [ "$(jqs '.held | length')" = 1 ] || fail "no longer held before the release: $(jqs .held)"
    expect_rc 0 "$wedge" ctl --out "$out" release buyer2
    expect_in "$work/out" "^released buyer2 (1 caller held)"
    finish_run 1
    expect_in "$work/run.out" "FAIL  no_oversell"
    grep -q '"action":"hold","outcome":"released"' "$out"/traces/trace.*.jsonl || fail "no released hold traced"
    # The first buyer waited for the second's read, and no longer: both read 1.
    grep -q '"rule":"first","action":"wait","outcome":"released"' "$out"/traces/trace.*.jsonl ||
        fail "the first buyer's wait was not ended by the second read: $(grep '"rule":"first"' "$out"/traces/trace.*.jsonl)"
}

case_twin() {
    start_run pessimistic SHOP_STOCK=pessimistic
    expect_rc 0 "$wedge" ctl --out "$out" release buyer2
    finish_run 0
    expect_in "$work/run.out" "PASS  no_oversell"
}

case_ceiling() {
    local t0 t1
    trace="$work/trace"
    # wedge exec becomes python: in a sanitizer build the shim brings its
    # runtime into python, whose own leaks are not ours to report
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
    t0=$(date +%s%N)
    expect_rc 0 "$wedge" exec -q --trace "$trace" --ctl "$work/ctl" \
        --rules 'hold h1 ceiling 300ms on sock.connect' -- \
        python3 -c 'import socket; socket.socket().connect_ex(("127.0.0.1", 1))'
    t1=$(date +%s%N)
    expect_in "$work/err" "^wedge: hold h1 (rule rule1): ceiling of 300 ms reached after [0-9]* ms; the call goes on"
    [ $(((t1 - t0) / 1000000)) -ge 300 ] || fail "the ceiling did not hold 300 ms"
    [ "$(events 'select(.outcome == "ceiling")')" = 1 ] || fail "no ceiling traced"
    # released from wedge ctl, long before its ceiling
    "$wedge" exec -q --ctl "$work/ctl2" --rules 'hold h2 ceiling 2m on sock.connect' -- \
        python3 -c 'import socket; socket.socket().connect_ex(("127.0.0.1", 1)); print("went on")' \
        >"$work/held.out" 2>&1 &
    runpid=$!
    ln -s ctl2 "$work/ctl.link"
    for _ in $(seq 300); do
        [ "$("$wedge" ctl --ctl "$work/ctl2" --json status 2>/dev/null | jq '.held | length')" = 1 ] && break
        sleep 0.1
    done
    # listed means released by the next release: no window between them
    expect_rc 0 "$wedge" ctl --ctl "$work/ctl2" release h2
    expect_in "$work/out" "^released h2 (1 caller held)"
    wait_exit "$runpid" 30 || fail "the hold was not released"
    expect_in "$work/held.out" "^went on$"
    # a symbolic link is not followed
    expect_rc 2 "$wedge" ctl --ctl "$work/ctl.link" status
}

case "$case_name" in
session) case_session ;;
twin) case_twin ;;
ceiling) case_ceiling ;;
*) fail "unknown case '$case_name'" ;;
esac
note "ok"
