#!/usr/bin/env bash
# The soak: run scenarios/shop/soak.scn for DURATION, require exit 0 (every
# invariant held), then the stability verdict of scripts/results over the
# run's time series (summary.json "series").
#
#   soak_check.sh WEDGE SCENARIO DURATION OUT RESULTS_SCRIPT
set -uo pipefail
wedge=${1:?usage: soak_check.sh WEDGE SCENARIO DURATION OUT RESULTS}
scn=${2:?scenario}
duration=${3:?duration}
out=${4:?output directory}
results=${5:?scripts/results}

rm -rf "$out"
mkdir -p "$(dirname "$out")"
"$wedge" run "$scn" --duration "$duration" --seed 1 --out "$out" -q >"$out.log" 2>&1
rc=$?
tail -12 "$out.log"
if [ "$rc" -ne 0 ]; then
    echo "soak_check: wedge run exited $rc (expected 0); see $out/report.md" >&2
    exit 1
fi
python3 "$results" --soak-verdict "$out/summary.json"
