# Shared by the realworld tests (label `realworld`): third-party programs
# run with and without the shim.  Sourced; expects SHIM_PRELOAD (the shim,
# after a sanitizer runtime if any) in the environment.
#
#   need PROG...          exit 77 (CTest: skipped) when PROG is not installed;
#                         the only reason a realworld test may skip
#   pick_python           $python: a python3 that imports psycopg2, or skip
#   skip_if_runtime_breaks CMD...
#                         sanitizer builds only: skip when the runtime that
#                         SHIM_PRELOAD puts first breaks CMD without wedge
#   free_port             a loopback TCP port nothing listens on
#   under RULES CMD...    CMD under the shim with RULES ("" for none), tracing
#                         into a fresh $trace (the previous one is removed)
#   start_bg RULES|--no-shim CMD...
#                         CMD in the background (exec'd: its pid in $bg_pid),
#                         under the shim with RULES, or without it
#   stop_bg               SIGTERM $bg_pid, SIGKILL after 5 s, reap
#   owns_port PID PORT    PID listens on PORT (not an older process)
#   fires RULE            fires of RULE summed over the trace's summaries
#   events FILTER         trace lines (not summaries) matching a jq filter
#   fail MSG              print and exit 1
set -euo pipefail
: "${SHIM_PRELOAD:?}"
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # fail, skip_if_runtime_breaks, events, fires

need() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p is not installed (scripts/bootstrap installs it)"; exit 77; }
  done
}

pick_python() {
  local p
  # Debian's own python3 first: a python3 of a version manager ahead in
  # PATH rarely has the Debian package's psycopg2.
  for p in /usr/bin/python3 "$(command -v python3 || true)"; do
    if [ -n "$p" ] && [ -x "$p" ] && "$p" -c 'import psycopg2' 2>/dev/null; then
      python=$p
      return 0
    fi
  done
  echo "SKIP: no python3 with psycopg2 (scripts/bootstrap installs python3-psycopg2)"
  exit 77
}

free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    ss -Htln "sport = :$port" 2>/dev/null | grep -q . || { echo "$port"; return 0; }
  done
  fail "no free port"
}

work=$(mktemp -d /tmp/wedge-realworld.XXXXXX)
chmod 755 "$work"
trace=$work/trace
cleanup_hooks=()
under() {
  rm -rf "$trace"; mkdir -p "$trace"
  shim_run "$@"
}
cleanup() {
  local h
  for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
  rm -rf "$work"
}
trap cleanup EXIT

start_bg() {
  if [ "$1" = --no-shim ]; then
    shift
    "$@" &
  else
    local rules=$1; shift
    rm -rf "$trace"; mkdir -p "$trace"
    env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_RULES="$rules" WEDGE_TRACE="$trace" WEDGE_SEED=42 \
        ASAN_OPTIONS=detect_leaks=0 "$@" &
  fi
  bg_pid=$!
}

bg_pid=
stop_bg() {
  [ -n "$bg_pid" ] || return 0
  kill "$bg_pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$bg_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$bg_pid" 2>/dev/null || true
  wait "$bg_pid" 2>/dev/null || true
  bg_pid=
}
cleanup_hooks+=(stop_bg)

owns_port() { ss -Htlnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"; }

