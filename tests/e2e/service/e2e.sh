#!/usr/bin/env bash
# End-to-end tests of `wedge run` on counterd (tests/e2e/service/counterd.c)
# and the scenarios in tests/e2e/scenarios/, each on the embedded default
# (a throwaway PostgreSQL cluster per invocation), as a user would run them.
#
#   e2e.sh CASE WEDGE SCENARIO_DIR WORK_DIR [ARGS...]
#
# Cases:
#   seeds NAIVE_OR_SAFE N   rmw-NAIVE_OR_SAFE.scn --repeat N: naive must fail
#                           (exit 1) for N of N seeds, safe pass for N of N
#   demo N                  scenarios/demo: counter-naive.scn found and
#                           counter-safe.scn passing for N of N seeds; in
#                           the naive runs' timelines barrier releases come
#                           before the responses they held
#   dsn STATE N             rmw-naive.scn --dsn (the pg fixture's server):
#                           found for N of N seeds, no throwaway cluster
#   typo                    exit 2 and "typo.scn:LINE:" naming the bad key
#   crash                   exit 1, service_alive failed in summary.json
#   junit                   a failing run's junit.xml holds the seed and the
#                           command that reproduces it, and that command does
#   sigint                  SIGINT mid-run: exit 3, no process and no
#                           temporary cluster left behind
#
# Every wait is bounded; CTest's TIMEOUT bounds the whole.
set -uo pipefail

case_name=${1:?usage: e2e.sh CASE WEDGE SCENARIO_DIR WORK_DIR [ARGS...]}
wedge=${2:?wedge binary}
scn_dir=${3:?scenario directory}
work=${4:?work directory}
shift 4

lib_name=e2e
. "$(dirname "$0")/../../lib.sh"

rm -rf "$work"
mkdir -p "$work"
# A TMPDIR of our own, so that what wedge leaves there can be seen.  Short,
# because PostgreSQL's socket path must fit in 107 bytes; reachable by the
# unprivileged user the embedded cluster runs as when we are root.
TMPDIR=$(mktemp -d /tmp/wedge-e2e.XXXXXX) || exit 1
export TMPDIR
chmod 1777 "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT

# run_wedge OUT ARGS...: run wedge, stdout+stderr to OUT/../NAME.log; sets rc.
run_wedge() {
    local log=$1
    shift
    "$wedge" "$@" >"$log" 2>&1
    rc=$?
    note "wedge $* -> exit $rc (log: $log)"
}

show_tail() {
    echo "---- last lines of $1 ----" >&2
    tail -n 40 "$1" >&2
}

# The status of invariant NAME in a summary.json: passed / failed / error.
inv_status() {
    jq -r --arg n "$2" '.invariants[] | select(.name == $n) | .status' "$1"
}

# check_repeat SCENARIO WANT N RULE: `wedge run SCENARIO --repeat N` must
# exit WANT (1: a race found, 0: none), every one of the N repetitions must
# have that verdict, and in each the barrier RULE must have released (the
# shim really wedged the window: a find or a pass cannot come from a run
# where nothing was injected).
check_repeat() {
    local scn=$1 want=$2 n=$3 rule=$4 name out failed=0 passed=0 released s
    name=$(basename "$scn" .scn)
    out="$work/out-$name"
    run_wedge "$work/$name.log" run "$scn" --repeat "$n" --seed 1 --out "$out"
    [ "$rc" -eq "$want" ] || {
        show_tail "$work/$name.log"
        fail "expected exit $want for $name.scn, got $rc"
    }
    # each repetition's own (OUT/summary.json combines them: docs/cli.md)
    for s in $(find "$out" -path '*/run-*/summary.json' | sort); do
        case $(jq -r '.exit_code' "$s") in
        0) passed=$((passed + 1)) ;;
        1) failed=$((failed + 1)) ;;
        *) show_tail "$work/$name.log"; fail "$s: inconclusive repetition" ;;
        esac
        released=$(jq --arg r "$rule" '[.injections.rules[] | select(.rule == $r) | .released] | add // 0' "$s")
        [ "$released" -gt 0 ] || fail "$s: barrier $rule never released: nothing was wedged"
    done
    note "$name: race found in $failed of $n seeds, passed in $passed of $n"
    if [ "$want" -eq 1 ]; then
        [ "$failed" -eq "$n" ] || fail "$name: race found for only $failed of $n seeds"
    else
        [ "$passed" -eq "$n" ] || fail "$name: passed for only $passed of $n seeds"
    fi
}

case_seeds() {
    local variant=${1:?naive|safe} n=${2:?N}
    if [ "$variant" = naive ]; then
        check_repeat "$scn_dir/rmw-naive.scn" 1 "$n" read-stock
    else
        check_repeat "$scn_dir/rmw-safe.scn" 0 "$n" write-stock
    fi
    assert_nothing_left
}

# --dsn: the same hunt on a server the user runs (the CTest fixture "pg"),
# a fresh database per repetition, no throwaway cluster.
case_dsn() {
    local state=${1:?pg fixture state directory} n=${2:?N} dsn s
    dsn=$(cat "$state/dsn") || fail "no DSN in $state/dsn (is the pg fixture up?)"
    run_wedge "$work/run.log" run "$scn_dir/rmw-naive.scn" --dsn "$dsn" --repeat "$n" --seed 11 \
        --out "$work/out"
    [ "$rc" -eq 1 ] || {
        show_tail "$work/run.log"
        fail "expected exit 1 on --dsn, got $rc"
    }
    for s in $(find "$work/out" -path '*/run-*/summary.json' | sort); do
        [ "$(jq -r .exit_code "$s")" = 1 ] || fail "$s: race not found"
        [ "$(jq -r .embedded_pg "$s")" = false ] || fail "$s: ran on a throwaway cluster despite --dsn"
    done
    [ "$(find "$work/out" -path '*/run-*/summary.json' | wc -l)" -eq "$n" ] || fail "expected $n summaries"
    assert_nothing_left
}

# Barrier releases come before the responses they let go: on the load's
# clock (summary.json's load_start_unix converts the shim's wall-clock
# ts_ns), the first history line after a run of releases is the held
# requests' outcome, not the next invoke.  The paced demo leaves ~50 ms
# between pairs, so at least 80% of the runs must show it; a load start
# taken from the wrong clock puts each release after its own responses.
check_release_order() {
    local dir=$1 start runs good
    start=$(jq -r .load_start_unix "$dir/summary.json")
    read -r runs good < <({
        cat "$dir"/traces/trace.*.jsonl |
            jq -r --argjson s "$start" 'select(.outcome == "released") | "\(.ts_ns / 1e6 - $s * 1e3) r"'
        jq -r '"\(.t_ns / 1e6) \(if .type == "invoke" then "i" else "o" end)"' "$dir/history.jsonl"
    } | sort -g | awk '
        $2 == "r" { inrun = 1; next }
        inrun { runs++; good += ($2 == "o"); inrun = 0 }
        END { if (inrun) runs++; print runs + 0, good + 0 }')
    note "$dir: $good of $runs barrier releases followed by a response"
    [ "$runs" -gt 0 ] || fail "$dir: no barrier release in the traces"
    [ $((good * 10)) -ge $((runs * 8)) ] ||
        fail "$dir: only $good of $runs barrier releases precede the responses they held"
}

# The demo's scenarios (scenario directory: scenarios/demo) keep doing what
# scripts/demo and docs/demo.md say.
case_demo() {
    local n=${1:?N} d
    check_repeat "$scn_dir/counter-naive.scn" 1 "$n" read-stock
    for d in "$work"/out-counter-naive/run-*; do check_release_order "$d"; done
    check_repeat "$scn_dir/counter-safe.scn" 0 "$n" write-stock
    assert_nothing_left
}

case_typo() {
    local line
    line=$(grep -n '^usres' "$scn_dir/typo.scn" | cut -d: -f1)
    [ -n "$line" ] || fail "typo.scn has no 'usres' line"
    "$wedge" run "$scn_dir/typo.scn" --out "$work/out" >"$work/stdout" 2>"$work/stderr"
    rc=$?
    cat "$work/stderr"
    [ "$rc" -eq 2 ] || fail "expected exit 2, got $rc"
    grep -q "typo\.scn:$line:" "$work/stderr" || fail "stderr does not name typo.scn:$line:"
    grep -q "usres" "$work/stderr" || fail "stderr does not name the key 'usres'"
    grep -q "^wedge: " "$work/stderr" || fail "the message does not start with 'wedge: '"
    assert_nothing_left
}

case_crash() {
    local out="$work/out" pid
    run_wedge "$work/run.log" run "$scn_dir/crash.scn" --seed 3 --out "$out"
    [ "$rc" -eq 1 ] || {
        show_tail "$work/run.log"
        fail "expected exit 1 (service_alive), got $rc"
    }
    [ -f "$out/summary.json" ] || fail "no summary.json in $out"
    [ "$(inv_status "$out/summary.json" service_alive)" = failed ] ||
        fail "summary.json does not name service_alive failed"
    # The service died of the job's SIGKILL (the job did its work), and the
    # crash is the only failure.
    [ "$(inv_status "$out/summary.json" jobs_succeeded)" = passed ] ||
        fail "jobs_succeeded did not pass: the killer job failed"
    [ "$(inv_status "$out/summary.json" no_negative_stock)" = passed ] ||
        fail "no_negative_stock did not pass: the crash must be the only failure"
    # The report names the process the job killed, how it died, and the
    # tail of its log.
    pid=$(cat "$out/counterd.pid") || fail "counterd wrote no pid file"
    grep -q "(pid $pid) exited with status 137" "$out/report.md" ||
        fail "report.md does not say that pid $pid died of SIGKILL (status 137)"
    grep -q "counterd: listening on .* pid $pid\$" "$out/report.md" ||
        fail "report.md does not quote the tail of counterd's log"
    assert_nothing_left
}

case_junit() {
    local out="$work/out" body cmd seed=7
    run_wedge "$work/run.log" run "$scn_dir/rmw-naive.scn" --seed "$seed" --out "$out"
    [ "$rc" -eq 1 ] || {
        show_tail "$work/run.log"
        fail "expected exit 1, got $rc"
    }
    xmllint --noout "$out/junit.xml" || fail "junit.xml is not well-formed XML"
    body=$(xmllint --xpath 'string(//testcase[@name="units_conserved"]/failure)' "$out/junit.xml")
    [ -n "$body" ] || fail "junit.xml has no failure for testcase units_conserved"
    printf '%s\n' "$body"
    grep -q "seed.*\b$seed\b" <<<"$body" || fail "the failure body does not hold the seed $seed"
    cmd=$(grep -o 'wedge run .*' <<<"$body" | head -n 1)
    [ -n "$cmd" ] || fail "the failure body does not hold a 'wedge run' command"
    grep -q -- "--seed $seed" <<<"$cmd" || fail "the reproduce command lacks --seed $seed: $cmd"
    # The reproduce command, run as printed (wedge on PATH), finds it again,
    # here into the same --out: the first run's traces must not be counted
    # as the replay's (one trace file per process of the run, not two).
    local ntraces
    ntraces=$(ls "$out"/traces/trace.*.jsonl | wc -l)
    note "replaying: $cmd"
    (PATH="$(dirname "$wedge"):$PATH" eval "$cmd --out $out" >"$work/replay.log" 2>&1)
    rc=$?
    [ "$rc" -eq 1 ] || {
        show_tail "$work/replay.log"
        fail "the reproduce command exited $rc, not 1"
    }
    [ "$(ls "$out"/traces/trace.*.jsonl | wc -l)" -eq "$ntraces" ] ||
        fail "a rerun into the same --out kept the earlier run's traces: $(ls "$out"/traces)"
    assert_nothing_left
}

# All descendants of pid $1 (children first found, recursively).
descendants() {
    local c
    for c in $(pgrep -P "$1"); do
        echo "$c"
        descendants "$c"
    done
}

case_sigint() {
    local out="$work/out" pid i kids="" p cwd
    "$wedge" run "$scn_dir/rmw-naive.scn" --duration 60s --seed 5 --out "$out" \
        >"$work/run.log" 2>&1 &
    pid=$!
    # Wait (bounded) until the load runs: requests in the history.
    for i in $(seq 600); do
        [ -s "$out/history.jsonl" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$out/history.jsonl" ] || {
        kill -KILL "$pid" 2>/dev/null
        show_tail "$work/run.log"
        fail "the load did not start within 60 s"
    }
    kids=$(descendants "$pid" | sort -u)
    # Add every postgres process of our cluster (pg_ctl may have detached it).
    for p in $(pgrep -x postgres); do
        cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
        case "$cwd" in "$TMPDIR"/*) kids="$kids $p" ;; esac
    done
    pgrep -P "$pid" -f counterd >/dev/null || fail "no counterd under wedge while the load ran"
    kids=$(echo $kids | tr " " "\n" | sort -un)
    note "SIGINT to wedge $pid; its processes: $(echo $kids)"
    kill -INT "$pid"
    wait_exit "$pid" 30 || fail "wedge still ran 30 s after SIGINT"
    wait "$pid"
    rc=$?
    note "wedge exited $rc after SIGINT"
    [ "$rc" -eq 3 ] || {
        show_tail "$work/run.log"
        fail "expected exit 3 (interrupted: inconclusive), got $rc"
    }
    for p in $kids; do
        [ -d "/proc/$p" ] && fail "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline")) outlived wedge"
    done
    [ -f "$out/summary.json" ] || fail "no summary.json: the report of what completed is missing"
    assert_nothing_left
}

case "$case_name" in
seeds) case_seeds "$@" ;;
demo) case_demo "$@" ;;
dsn) case_dsn "$@" ;;
typo) case_typo ;;
crash) case_crash ;;
junit) case_junit ;;
sigint) case_sigint ;;
*) fail "unknown case" ;;
esac
note "ok"
