#!/usr/bin/env bash
# The event-driven load engine (issue 14), end to end.
#
#   load.sh CASE WEDGE WORK_DIR PG_STATE_DIR
#
# Cases:
#   crowd    5,000 users thinking 1s..2s for 5 s against counterd started
#            outside wedge: every user answered, the total within 15% of
#            users x duration / mean think (16,667; latency and a loaded
#            machine only lower it), every user number 0..4999 in the
#            history, and the runner's peak memory under 256 MiB (the
#            thread-per-user engine needed 1 GB for 10,000)
#   think    3 users thinking 200..300 ms: no user sends a request sooner
#            than 200 ms after its previous answer, and the pauses differ
#   retry    serializable updates on one row, retried on 40001 up to
#            max_tries: every one applied once (the SQL invariant), with
#            retries counted; the same with --max-tries 1 loses updates
#            (exit 1), so the conflicts are real
#   stop     2,000 users thinking 5..10 s, each request taking 300 ms: the
#            load ends at its 2 s (under 5 s), the users in flight then do
#            not think once more before finishing
#   closer   a server that closes each connection after one answer without
#            saying so, half its answers chunked: all 2,000 requests ok
#   mix      300 users sending HTTP and SQL under a descriptor limit of
#            300 (a budget of 150 connections): all 3,000 requests ok, of
#            both kinds, and the run exits 0 (tearing down the pools once
#            corrupted the heap: an abort after the report)
#
# Every wait is bounded; CTest's TIMEOUT bounds the whole.
set -uo pipefail

case_name=${1:?usage: load.sh CASE WEDGE WORK_DIR PG_STATE_DIR}
wedge=${2:?wedge binary}
work=${3:?work directory}
pg_state=${4:?pg fixture state directory}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(dirname "$wedge")

lib_name=load
. "$here/../../lib.sh"

lib_scratch
export PGGSSENCMODE=disable
[ -f "$pg_state/dsn" ] || fail "no test server (pg fixture) in '$pg_state'"
dsn=$(cat "$pg_state/dsn")
bg_pid=

# start_counterd: counterd on a free port (CROWD_PORT), outside wedge.
start_counterd() {
    CROWD_PORT=$(free_port)
    export CROWD_PORT
    "$bin/counterd" --port "$CROWD_PORT" --dsn "$dsn" --mode safe >"$work/counterd.log" 2>&1 &
    bg_pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$CROWD_PORT/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$work/counterd.log" >&2
    fail "counterd did not answer on $CROWD_PORT within 10 s"
}

stop_bg() {
    [ -n "$bg_pid" ] || return 0
    kill -TERM "$bg_pid" 2>/dev/null
    wait_exit "$bg_pid" 15 || fail "process $bg_pid did not stop"
    bg_pid=
}

# peak_kb CMD...: run CMD, its exit status in $rc, its peak resident
# memory (KiB, getrusage of the child) in $peak.
peak_kb() {
    peak=$(python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as err:
    rc = subprocess.call(sys.argv[3:], stdout=out, stderr=err)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$work/out" "$work/err" "$@")
    rc=${peak% *}
    peak=${peak#* }
}

case_crowd() {
    local n users
    trap 'kill -KILL $bg_pid 2>/dev/null' EXIT
    start_counterd
    peak_kb "$wedge" run "$here/crowd.scn" --seed 7 --out "$work/crowd" -q
    stop_bg
    trap - EXIT
    [ "$rc" -eq 0 ] || { tail -20 "$work/err" >&2; fail "crowd exited $rc"; }
    n=$(jq -r .totals.requests "$work/crowd/summary.json")
    [ "$(jq -r .totals.ok "$work/crowd/summary.json")" = "$n" ] || fail "not every request ok"
    [ "$n" -ge 14166 ] && [ "$n" -le 19166 ] ||
        fail "$n requests: expected 16,667 within 15% (5000 users x 5 s / 1.5 s)"
    users=$(jq -r 'select(.type == "ok") | .user' "$work/crowd/history.jsonl" | sort -un)
    [ "$(wc -l <<<"$users")" -eq 5000 ] && [ "$(head -1 <<<"$users")" = 0 ] &&
        [ "$(tail -1 <<<"$users")" = 4999 ] || fail "not every user 0..4999 was answered"
    [ "$peak" -lt 262144 ] || fail "the runner peaked at $peak KiB for 5,000 users"
    note "$n requests, runner peak $peak KiB"
}

case_think() {
    local gaps
    trap 'kill -KILL $bg_pid 2>/dev/null' EXIT
    start_counterd
    expect_rc 0 "$wedge" run "$here/think.scn" --seed 3 --out "$work/think" -q
    stop_bg
    trap - EXIT
    # per user, from each answer to its next request (ms)
    gaps=$(jq -rs 'group_by(.user)[] | sort_by(.seq, (.type != "invoke")) |
        [range(1; length) as $i | select(.[$i].type == "invoke" and .[$i - 1].type != "invoke") |
         (.[$i].t_ns - .[$i - 1].t_ns) / 1e6 | floor][]' "$work/think/history.jsonl")
    [ "$(wc -l <<<"$gaps")" -ge 12 ] || fail "too few pauses: $gaps"
    [ "$(sort -n <<<"$gaps" | head -1)" -ge 200 ] || fail "a pause under 200 ms: $(sort -n <<<"$gaps" | head -1)"
    [ "$(sort -un <<<"$gaps" | wc -l)" -ge 3 ] || fail "the pauses are not drawn: $gaps"
}

case_retry() {
    expect_rc 0 "$wedge" run "$here/retry.scn" --seed 5 --dsn "$dsn" --out "$work/retry" -q
    expect_in "$work/out" "^  PASS  applied_once_each"
    [ "$(jq -r .totals.ok "$work/retry/summary.json")" = 200 ] || fail "not 200 ok"
    [ "$(jq -r .totals.retries "$work/retry/summary.json")" -gt 0 ] || fail "no retry counted"
    expect_rc 1 "$wedge" run "$here/retry.scn" --seed 5 --max-tries 1 --dsn "$dsn" --out "$work/once" -q
    expect_in "$work/out" "^  FAIL  applied_once_each"
    jq -se 'any(.[]; .type == "fail" and (.error | startswith("40001: ")))' \
        "$work/once/history.jsonl" >/dev/null || fail "no 40001 failure in the history"
}

# start_closer [acts]: closer.py in the background (bg_pid, killed on
# exit until stop_bg), its port in $work/port.
start_closer() {
    trap 'kill -KILL $bg_pid 2>/dev/null' EXIT
    python3 "$here/closer.py" "$work/port" "$work/counts" "$@" &
    bg_pid=$!
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
}

case_closer() {
    local c r
    start_closer
    CLOSER_PORT=$(cat "$work/port") expect_rc 0 "$wedge" run "$here/closer.scn" --seed 2 \
        --out "$work/closer" -q
    stop_bg
    trap - EXIT
    expect_in "$work/out" "^  PASS  all_ok"
    read -r c r <"$work/counts"
    [ "$r" -eq 2000 ] && [ "$c" -eq 2000 ] || fail "server saw $c connections, $r requests"
}

# A POST the server acted on, then closed the kept-alive connection with
# no answer: it ends as info, never sent again behind the scenario's back
# (the server's count of requests equals the history's invokes).
case_post_once() {
    local c r sent
    start_closer acts
    CLOSER_PORT=$(cat "$work/port") expect_rc 0 "$wedge" run "$here/post-once.scn" --seed 3 \
        --out "$work/post" -q
    stop_bg
    trap - EXIT
    read -r c r <"$work/counts"
    sent=$(grep -c '"type":"invoke"' "$work/post/history.jsonl")
    [ "$sent" -eq 40 ] || fail "$sent requests invoked, 40 expected"
    [ "$r" -eq "$sent" ] || fail "the server acted on $r POSTs, the history invoked $sent"
    [ "$(grep -c 'not sent again: the service may have acted on it' "$work/post/history.jsonl")" -ge 1 ] ||
        fail "no POST lost by a kept-alive connection ended as info"
    jq -e '.totals.retries == 0' "$work/post/summary.json" >/dev/null || fail "a POST was retried"
}

# A host with two addresses, the first refusing (localhost on Debian: ::1
# first): the load connects to the next one.  In a mount namespace with
# an /etc/hosts of its own (77 where one cannot be made).
case_dualhost() {
    printf '::1 wedge-dualhost\n127.0.0.1 wedge-dualhost\n' >"$work/hosts"
    unshare -m true 2>/dev/null || exit 77
    sed 's/dualhost:/wedge-dualhost:/' "$here/dualhost.scn" >"$work/dualhost.scn"
    start_closer
    CLOSER_PORT=$(cat "$work/port") expect_rc 0 unshare -m sh -c \
        'mount --bind "$1" /etc/hosts && exec "$2" run "$3" --seed 5 --out "$4" -q' sh \
        "$work/hosts" "$wedge" "$work/dualhost.scn" "$work/dual"
    stop_bg
    trap - EXIT
    jq -e '.totals.ok == 20' "$work/dual/summary.json" >/dev/null ||
        fail "not every request reached the host's second address: $(jq -c .totals "$work/dual/summary.json")"
}

case_stop() {
    start_closer
    CLOSER_PORT=$(cat "$work/port") expect_rc 0 "$wedge" run "$here/stop.scn" --seed 4 \
        --out "$work/stop" -q
    stop_bg
    trap - EXIT
    [ "$(jq -r .totals.requests "$work/stop/summary.json")" -gt 100 ] || fail "too few requests"
    jq -e '.duration_s < 5' "$work/stop/summary.json" >/dev/null ||
        fail "the load ended $(jq -r .duration_s "$work/stop/summary.json") s after its start, not at its 2 s"
}

case_mix() {
    trap 'kill -KILL $bg_pid 2>/dev/null' EXIT
    start_counterd
    expect_rc 0 prlimit --nofile=300:300 "$wedge" run "$here/mix.scn" --seed 6 --dsn "$dsn" \
        --out "$work/mix" -q
    stop_bg
    trap - EXIT
    jq -e '.totals.ok == 3000' "$work/mix/summary.json" >/dev/null ||
        fail "not 3,000 requests ok: $(jq -c .totals "$work/mix/summary.json")"
    [ "$(grep -c '"type":"ok","req":"sql:' "$work/mix/history.jsonl")" -gt 0 ] &&
        [ "$(grep -c '"type":"ok","req":"GET' "$work/mix/history.jsonl")" -gt 0 ] ||
        fail "not both kinds of request in the history"
}

case "$case_name" in
crowd) case_crowd ;;
think) case_think ;;
retry) case_retry ;;
closer) case_closer ;;
post-once) case_post_once ;;
dualhost) case_dualhost ;;
stop) case_stop ;;
mix) case_mix ;;
*) fail "unknown case '$case_name'" ;;
esac
note "ok"
