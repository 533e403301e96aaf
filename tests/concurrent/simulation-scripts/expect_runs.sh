#!/usr/bin/env bash
# Run one shop scenario over N seeds and hold the outcome to account.
#
#   expect_runs.sh WEDGE SCENARIO EXPECT SEEDS MIN OUT [BASE_SEED] [-- WEDGE_ARGS...]
#
# Runs `wedge run SCENARIO --repeat SEEDS --seed BASE_SEED --out OUT` once
# (one throwaway PostgreSQL for all the runs) and reads OUT/outcomes.tsv,
# one row per run.  Passes when at least MIN runs exited with EXPECT
# (1: the race was caught, 0: every invariant held) and no run was
# inconclusive (exit 2 or 3: a run that could not judge proves nothing).
# For EXPECT=1 it also checks, in each run's summary.json, that the shim
# injected something (a race "caught" with no injection would be luck) unless
# the scenario has no rule at all, and that a failed invariant is named.
set -uo pipefail
wedge=${1:?usage: expect_runs.sh WEDGE SCENARIO EXPECT SEEDS MIN OUT [BASE_SEED] [-- ARGS]}
scn=${2:?scenario}
expect=${3:?expected exit (0 or 1)}
seeds=${4:?number of seeds}
min=${5:?minimum number of runs with the expected exit}
out=${6:?output directory}
base=${7:-1}
shift 7 2>/dev/null || shift $#
[ "${1:-}" = "--" ] && shift

name=$(basename "$scn" .scn)
rm -rf "$out"
mkdir -p "$(dirname "$out")"
"$wedge" run "$scn" --repeat "$seeds" --seed "$base" --out "$out" -q "$@" >"$out.log" 2>&1
rc=$?
tsv=$out/outcomes.tsv
if [ ! -f "$tsv" ]; then
    echo "expect_runs: $name: no $tsv (wedge exited $rc); its output:" >&2
    tail -40 "$out.log" >&2
    exit 1
fi

runs=0 matched=0 inconclusive=0 silent=0 unnamed=0
has_rules=$(grep -cE '^[[:space:]]*rules[[:space:]]*=' "$scn")
for arg in "$@"; do [ "$arg" = --no-rules ] && has_rules=0; done
printf '%-34s %-4s %-12s %-5s %-10s %s\n' scenario run seed exit injected failed-invariants
while IFS=$'\t' read -r run seed code; do
    [ "$run" = run ] && continue
    runs=$((runs + 1))
    sum=$out/run-$run/summary.json
    inj=$(jq -r '.injections.total // 0' "$sum" 2>/dev/null || echo "?")
    failed=$(jq -r '[.invariants[]? | select(.status == "failed") | .name] | join(",")' "$sum" 2>/dev/null)
    printf '%-34s %-4s %-12s %-5s %-10s %s\n' "$name" "$run" "$seed" "$code" "$inj" "${failed:--}"
    case $code in
    2 | 3) inconclusive=$((inconclusive + 1)) ;;
    esac
    if [ "$code" = "$expect" ]; then
        matched=$((matched + 1))
        if [ "$expect" = 1 ]; then
            [ "$has_rules" -gt 0 ] && [ "$inj" = 0 ] && silent=$((silent + 1))
            [ -z "$failed" ] && unnamed=$((unnamed + 1))
        fi
    fi
done <"$tsv"

verdict=0
if [ "$runs" -ne "$seeds" ]; then
    echo "expect_runs: $name: $runs runs recorded, $seeds asked for" >&2
    verdict=1
fi
if [ "$inconclusive" -gt 0 ]; then
    echo "expect_runs: $name: $inconclusive inconclusive runs (exit 2/3); see $out/run-*/report.md" >&2
    verdict=1
fi
if [ "$matched" -lt "$min" ]; then
    echo "expect_runs: $name: $matched of $runs runs exited $expect, at least $min required" >&2
    verdict=1
fi
if [ "$silent" -gt 0 ]; then
    echo "expect_runs: $name: $silent runs failed although the shim injected nothing" >&2
    verdict=1
fi
if [ "$unnamed" -gt 0 ]; then
    echo "expect_runs: $name: $unnamed runs exited 1 without a failed invariant in summary.json" >&2
    verdict=1
fi
echo "expect_runs: $name: $matched of $runs runs exited $expect (required: $min)"
exit $verdict
