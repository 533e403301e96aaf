# Shared by the third-party binary tests: the fixture's DSN, a database of
# the test's own, a fresh trace directory, and small assertions.
# Expects: WEDGE_PG_STATE, WEDGE_PG_BINDIR, SHIM_PRELOAD in the environment.
set -euo pipefail
: "${WEDGE_PG_STATE:?}" "${SHIM_PRELOAD:?}"
bindir=${WEDGE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
export PATH="$bindir:$PATH"
# gssencmode=disable: libpq would otherwise probe Kerberos on every connect
# (password auth on loopback never needs it), and under the ASan runtime that
# probe deadlocks inside glibc's glob/locale code, with or without the shim.
base_dsn="$(cat "$WEDGE_PG_STATE/dsn") gssencmode=disable"
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$base_dsn")

# skip_if_runtime_breaks CMD...: exit 77 (CTest: skipped) when the
# sanitizer runtime that SHIM_PRELOAD puts first breaks CMD on its own,
# without wedge.  (Debian 12: psql and pgbench hang at exit in
# libp11-kit's destructor with only libasan preloaded.)
skip_if_runtime_breaks() {
  local rt=${SHIM_PRELOAD%:*}
  [ "$rt" != "$SHIM_PRELOAD" ] || return 0
  if ! timeout 10 env LD_PRELOAD="$rt" ASAN_OPTIONS=detect_leaks=0 "$@" >/dev/null 2>&1; then
    echo "SKIP: '$*' fails or hangs with only $rt preloaded (no wedge): not testable in this build"
    exit 77
  fi
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# new_db NAME: a fresh database; sets $dsn (later keywords win in libpq).
new_db() {
  psql -X -q -v ON_ERROR_STOP=1 "$base_dsn" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  dsn="$base_dsn dbname=$1"
}

# sql QUERY: one value, without the shim.
sql() { psql -X -At -v ON_ERROR_STOP=1 "$dsn" -c "$1"; }

trace=$(mktemp -d /tmp/wedge-shim-test.XXXXXX)
trap 'rm -rf "$trace"' EXIT

# under RULES CMD...: run CMD under the shim with RULES, tracing into $trace.
under() {
  local rules=$1; shift
  timeout 120 env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_RULES="$rules" WEDGE_TRACE="$trace" \
      WEDGE_SEED=42 ASAN_OPTIONS=detect_leaks=0 "$@"
}

# events [JQ-FILTER]: trace events (not summaries) matching the filter.
events() { cat "$trace"/trace.*.jsonl | jq -c "select(.summary | not) | select(${1:-true})" | wc -l; }
# fires RULE / hits RULE: summed over the processes' summary lines.
fires() { cat "$trace"/trace.*.jsonl | jq -s "[.[] | select(.summary) | .rules[] | select(.rule == \"$1\") | .fires] | add // 0"; }
hits() { cat "$trace"/trace.*.jsonl | jq -s "[.[] | select(.summary) | .rules[] | select(.rule == \"$1\") | .hits] | add // 0"; }

# Every injection of RULE appears in the trace: event lines == fires
# (final lines: a barrier or wait also writes a "waiting" line first).
every_fire_traced() {
  local f e
  f=$(fires "$1"); e=$(events ".rule == \"$1\" and .outcome != \"waiting\"")
  [ "$f" -eq "$e" ] || fail "rule $1: $f fires but $e trace lines"
  echo "rule $1: $f fires, $e trace lines"
}
