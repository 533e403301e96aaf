#!/usr/bin/env bash
# run_traced.sh DIR CMD ARGS...: run CMD under the shim ($SHIM_PRELOAD)
# with a fresh trace directory DIR.  Fresh, because trace files are named
# by pid and appended to: with pid_max at 32768 a later run can reuse an
# earlier run's pid and would find its lines.  This script itself runs
# without the shim; CMD replaces it (exec), keeping its pid.
set -euo pipefail
dir=${1:?trace dir}; shift
: "${SHIM_PRELOAD:?}"
rm -rf "$dir"
mkdir -p "$dir"
exec env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$dir" "$@"
