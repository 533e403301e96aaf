#!/bin/sh
# hunt.sh CASE WEDGE ROOT WORK SCENARIO KIND [FLAGS...] - one test of
# wedge hunt (label hunt), on the embedded PostgreSQL, with the scenario's
# own rules left out; FLAGS go to wedge hunt (the shop's scenarios get the
# light load of issue 10's acceptance, --users 2 --rate 20; the test
# services' scenarios carry a light load of their own).  KIND is '-' for
# held.
#
#   found  hunt exits 1 within 20 runs; the find is of KIND; found-1.scn
#          exists and `wedge run found-1.scn --repeat 3` fails every run
#          (scripts/results runs it 20 times); without the rule the same
#          seed held, or the report says plain load breaks it too.
#   held   hunt exits 0 within 20 runs and writes no found-N.scn; every
#          candidate it tried held.
set -u
case=$1 wedge=$2 root=$3 work=$4 scn=$5 kind=$6
shift 6
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; [ -f "$work/hunt/report.md" ] && cat "$work/hunt/report.md"; exit 1; }

"$wedge" hunt "$root/$scn" --no-rules --budget 20 --out "$work/hunt" --json "$@" \
    > "$work/summary.out"
rc=$?
runs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['runs'])" "$work/hunt/summary.json") \
    || fail "no summary.json"
echo "hunt: exit $rc after $runs runs"
[ "$runs" -le 20 ] || fail "$runs runs, more than the budget of 20"

case $case in
found)
    [ $rc -eq 1 ] || fail "expected exit 1 (found), got $rc"
    [ -f "$work/hunt/found-1.scn" ] || fail "no found-1.scn"
    python3 - "$work/hunt/summary.json" "$kind" <<'PY' || fail "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
f = s["found"][0]
c = [c for c in s["candidates"] if c["rank"] == f["candidate"]][0]
assert c["kind"] == sys.argv[2], ("found a", c["kind"], "expected", sys.argv[2])
assert f["seeds_broken"] == 3, f
print("found:", f["title"])
print("rule:", f["rule"])
PY
    # the hand-over replays: every repetition of the written scenario fails
    "$wedge" run "$work/hunt/found-1.scn" --repeat 3 --quiet --out "$work/replay" > "$work/replay.out"
    rrc=$?
    [ $rrc -eq 1 ] || fail "wedge run found-1.scn --repeat 3 exited $rrc, expected 1"
    n=$(grep -c 'FAILED (invariant violated)' "$work/replay.out")
    [ "$n" -eq 3 ] || fail "found-1.scn failed $n of 3 runs"
    echo "replay: 3 of 3 runs failed"
    ;;
held)
    [ $rc -eq 0 ] || fail "expected exit 0 (held), got $rc"
    ls "$work/hunt"/found-*.scn >/dev/null 2>&1 && fail "a found-N.scn was written"
    python3 - "$work/hunt/summary.json" <<'PY' || fail "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
bad = [c for c in s["candidates"] if c["outcome"] not in ("held", "not a candidate", "not tried")]
assert not bad, bad
print("tried:", sum(c["outcome"] == "held" for c in s["candidates"]), "candidates, every one held")
PY
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo PASS
