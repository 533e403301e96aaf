#!/usr/bin/env bash
# repeat.sh N CMD ARGS...: run CMD N times (each a fresh process, so a fresh
# shim: its own marks and counters); fail at the first failing run.
set -uo pipefail
n=$1; shift
for i in $(seq "$n"); do
  "$@" >/dev/null || { echo "repeat: run $i of $n failed: $*" >&2; exit 1; }
done
echo "repeat: $n of $n runs passed: $*"
