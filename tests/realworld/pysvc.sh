#!/usr/bin/env bash
# A Python service in a scenario: `wedge run` on stockd.py (psycopg2), the
# whole path from the runner through the shim into a libpq that Python
# loaded RTLD_LOCAL.
#
#   pysvc.sh WEDGE   rmw-naive.scn: the barrier after the SELECT catches the
#                    lost update (exit 1, units_conserved FAILED); its twin
#                    rmw-atomic.scn, the same rule firing, holds (exit 0)
set -euo pipefail
wedge=${1:?usage: pysvc.sh WEDGE}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/realworld.sh"
pick_python
need jq
: "${WEDGE_PG_STATE:?}"
dsn=$(cat "$WEDGE_PG_STATE/dsn")
# The scenarios say `python3`: make it the one that has psycopg2.
mkdir -p "$work/bin"
ln -s "$python" "$work/bin/python3"
export PATH="$work/bin:$PATH"

# run NAME WANT: wedge run scenario NAME, expecting exit WANT.
run() {
  local rc=0
  "$wedge" run "$here/pysvc/$1.scn" --dsn "$dsn" --seed 7 --out "$work/$1" >"$work/$1.out" 2>&1 || rc=$?
  [ "$rc" -eq "$2" ] || { tail -n 40 "$work/$1.out" >&2; fail "$1: exit $rc, expected $2"; }
  released=$(cat "$work/$1"/traces/trace.*.jsonl |
    jq -c 'select(.rule == "read-stock" and .outcome == "released")' | wc -l)
  [ "$released" -gt 0 ] || fail "$1: the barrier never released a pair: $(ls "$work/$1/traces")"
  echo "$1: exit $rc, $released barrier releases"
}

run rmw-naive 1
grep -q "FAIL  units_conserved" "$work/rmw-naive.out" || fail "rmw-naive: units_conserved did not fail"
run rmw-atomic 0
echo "pysvc: ok"
