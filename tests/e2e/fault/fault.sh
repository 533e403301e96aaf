#!/usr/bin/env bash
# A process the shim stops is the shim's fault, not a race; a scenario's
# LD_PRELOAD keeps the shim.
#
#   fault.sh CASE WEDGE WORK_DIR PG_STATE_DIR
#
#   died    shim-died.scn: the shim stops the service mid-run: exit 3, the
#           reason names the shim's message, nothing FAILED; the twin
#           self-died.scn, the same status 134 by the service's own
#           hand: exit 1 (service_alive)
#   early   shim-early.scn: stopped before it is ready: exit 3 naming it
#   preload preload.scn: env = LD_PRELOAD=libm.so.6 runs the job with
#           libwedge.so first and libm.so.6 too (neither sh nor cat links
#           it); its trace is written
set -uo pipefail
case_name=${1:?usage: fault.sh CASE WEDGE WORK_DIR PG_STATE_DIR}
wedge=${2:?wedge binary}
work=${3:?work directory}
pg_state=${4:?pg state dir}
here=$(cd "$(dirname "$0")" && pwd)

lib_name=fault
. "$here/../../lib.sh" # fail
rm -rf "$work"; mkdir -p "$work"
unset WEDGE_RULES WEDGE_RULES_FILE WEDGE_TRACE WEDGE_CTL WEDGE_SEED
dsn=$(cat "$pg_state/dsn")

# run SCENARIO WANT: wedge run with the test server; stdout/stderr kept.
run() {
  local out=$work/$1
  "$wedge" run "$here/$1.scn" --dsn "$dsn" --seed 1 --out "$out" >"$out.stdout" 2>"$out.stderr"
  local rc=$?
  [ "$rc" -eq "$2" ] || {
    tail -n 30 "$out.stdout" "$out.stderr" >&2
    fail "$1: exit $rc, expected $2"
  }
}

case $case_name in
died)
  run shim-died 3
  grep -q "inconclusive: the shim stopped shim_pq_local (pid [0-9]*), so this run says nothing about a race: cannot resolve PQconnectdb: no libpq is loaded" \
    "$work/shim-died.stdout" || fail "shim-died: no inconclusive line naming the shim: $(cat "$work/shim-died.stdout")"
  grep -q "FAIL" "$work/shim-died.stdout" && fail "shim-died: an invariant reads FAILED: $(cat "$work/shim-died.stdout")"
  grep -q '"exit_code": *3' "$work/shim-died/summary.json" || fail "shim-died: summary.json exit code"
  run self-died 1
  grep -q "FAIL  service_alive" "$work/self-died.stdout" || fail "self-died: service_alive did not fail: $(cat "$work/self-died.stdout")"
  ls "$work/self-died/traces" | grep -q '^fatal\.' && fail "self-died: a fatal record without the shim's fault"
  ;;
early)
  run shim-early 3
  grep -q "service victim: the shim stopped shim_pq_local (pid [0-9]*): cannot resolve PQconnectdb" \
    "$work/shim-early.stderr" || fail "shim-early: stderr does not name the shim: $(cat "$work/shim-early.stderr")"
  ;;
preload)
  run preload 0
  log=$work/preload/logs/probe.log
  grep -q 'libwedge\.so' "$log" || fail "preload: libwedge.so is not loaded in the job: $(cat "$log")"
  grep -q 'libm\.so\.6' "$log" || fail "preload: the user's libm.so.6 is not loaded: $(cat "$log")"
  tr '\0' '\n' <"$log" | grep -q '^LD_PRELOAD=.*libwedge\.so:libm\.so\.6$' ||
    fail "preload: the shim is not first in LD_PRELOAD: $(tr '\0' '\n' <"$log" | grep LD_PRELOAD)"
  grep -l '"proc":"cat"' "$work/preload/traces"/trace.*.jsonl >/dev/null || fail "preload: no trace from the job"
  ;;
*) fail "unknown case" ;;
esac
echo "fault $case_name: ok"
