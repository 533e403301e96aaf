#!/usr/bin/env bash
# hunt.sh CASE WEDGE ROOT WORK [SCENARIO KIND [FLAGS...]] - one test of wedge
# hunt (label hunt), on the embedded PostgreSQL, with the scenario's own
# rules left out; FLAGS go to wedge hunt (the shop's scenarios get the light
# load of issue 10's acceptance, --users 2 --rate 20; the test services'
# scenarios carry a light load of their own).
#
#   found      hunt exits 1 within 20 runs; the find is of KIND and broke
#              an invariant on each of its 3 seeds; found-1.scn exists and
#              `wedge run found-1.scn --repeat 3` fails every run
#              (scripts/results replays it 20 times).
#   held       (KIND '-') hunt exits 0 within 20 runs and writes no
#              found-N.scn; every candidate it tried held.
#   interrupt  SIGINT while a candidate runs: hunt exits 3 within 60 s, its
#              report is written, and no process or file of it is left
#              (the throwaway PostgreSQL, the child wedge run, the services).
#   usage      bad flags and a scenario that does not parse: exit 2 with a
#              "wedge:" message, before anything starts.
set -u
case_name=$1 wedge=$2 root=$3 work=$4
shift 4
lib_name=hunt
. "$(dirname "$0")/../lib.sh"
rm -rf "$work"
mkdir -p "$work/tmp"
TMPDIR=$work/tmp
export TMPDIR

summary() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

case_found_or_held() {
    scn=$1 kind=$2
    shift 2
    rc=0
    "$wedge" hunt "$root/$scn" --no-rules --budget 20 --out "$work/hunt" --json "$@" \
        >"$work/summary.out" || rc=$?
    runs=$(summary "$work/hunt/summary.json" "['runs']") || fail "no summary.json (exit $rc)"
    note "exit $rc after $runs runs"
    [ "$runs" -le 20 ] || fail "$runs runs, more than the budget of 20"
    if [ "$case_name" = held ]; then
        [ $rc -eq 0 ] || { cat "$work/hunt/report.md"; fail "expected exit 0 (held), got $rc"; }
        ls "$work/hunt"/found-*.scn >/dev/null 2>&1 && fail "a found-N.scn was written"
        expect_in "$work/hunt/report.html" 'class="verdict passed"'
        python3 - "$work/hunt/summary.json" <<'PY' || fail "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
bad = [c for c in s["candidates"] if c["outcome"] not in ("held", "not a candidate")]
assert not bad, bad
print("hunt: %d candidates tried, every one held" % sum(c["outcome"] == "held" for c in s["candidates"]))
PY
        return
    fi
    [ $rc -eq 1 ] || { cat "$work/hunt/report.md"; fail "expected exit 1 (found), got $rc"; }
    [ -f "$work/hunt/found-1.scn" ] || fail "no found-1.scn"
    expect_in "$work/hunt/report.html" 'class="verdict failed"'
    expect_in "$work/hunt/report.html" 'found-1\.scn'
    python3 - "$work/hunt/summary.json" "$kind" <<'PY' || fail "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
f = s["found"][0]
c = [c for c in s["candidates"] if c["rank"] == f["candidate"]][0]
assert c["kind"] == sys.argv[2], ("found a", c["kind"], "expected", sys.argv[2])
assert f["seeds_broken"] == 3, f
print("hunt: found:", f["title"])
print("hunt: rule:", f["rule"])
PY
    # the hand-over replays: every repetition of the written scenario fails
    expect_rc 1 "$wedge" run "$work/hunt/found-1.scn" --repeat 3 --quiet --out "$work/replay"
    n=$(grep -c 'FAILED (invariant violated)' "$work/out")
    [ "$n" -eq 3 ] || fail "found-1.scn failed $n of 3 runs"
    note "found-1.scn: 3 of 3 runs failed"
}

case_interrupt() {
    out=$work/hunt
    "$wedge" hunt "$root/tests/hunt/lockorder-naive.scn" --budget 20 --out "$out" -q \
        >"$work/hunt.log" 2>&1 &
    pid=$!
    for i in $(seq 1200); do # until a candidate's first run is under way
        [ -f "$out/cand-1/confirm-seed-1/wedge-run.log" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -f "$out/cand-1/confirm-seed-1/wedge-run.log" ] || {
        kill -KILL "$pid" 2>/dev/null
        cat "$work/hunt.log" >&2
        fail "no candidate run started within 120 s"
    }
    sleep 1
    note "SIGINT to wedge hunt $pid"
    kill -INT "$pid"
    wait_exit "$pid" 60 || fail "wedge hunt still ran 60 s after SIGINT"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 3 ] || { cat "$work/hunt.log" >&2; fail "expected exit 3 (interrupted), got $rc"; }
    expect_in "$out/report.md" "^Interrupted by signal 2 before the hunt finished"
    [ -s "$out/report.html" ] || fail "no report.html after the interrupt"
    assert_nothing_left
    note "exit 3, report written, nothing left"
}

case_usage() {
    expect_rc 2 "$wedge" hunt
    expect_in "$work/err" "^wedge: hunt: no scenario file given"
    expect_rc 2 "$wedge" hunt "$root/tests/hunt/ctact-naive.scn" --budget 0
    expect_in "$work/err" "^wedge: hunt: --budget '0': expected 1..100000 runs"
    expect_rc 2 "$wedge" hunt "$root/tests/hunt/ctact-naive.scn" --users many
    expect_in "$work/err" "^wedge: hunt: --users 'many': expected 1 or more"
    expect_rc 2 "$wedge" hunt "$root/tests/hunt/ctact-naive.scn" --budgte 3
    expect_in "$work/err" "^wedge: hunt: unknown option '--budgte'"
    printf '[scenario]\nname = x\n[workload]\nusres = 2\n' >"$work/typo.scn"
    expect_rc 2 "$wedge" hunt "$work/typo.scn" --out "$work/typo"
    expect_in "$work/err" "typo.scn:4: unknown key 'usres'"
    [ ! -d "$work/typo" ] || fail "a scenario that does not parse still got an output directory"
    assert_nothing_left
    note "usage errors exit 2 before anything starts"
}

case $case_name in
found | held) case_found_or_held "$@" ;;
interrupt) case_interrupt ;;
usage) case_usage ;;
*) fail "unknown case" ;;
esac
note PASS
