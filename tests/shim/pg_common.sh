# Shared by the third-party binary tests: the fixture's DSN, a database of
# the test's own, a fresh trace directory, and small assertions.
# Expects: WEDGE_PG_STATE, WEDGE_PG_BINDIR, SHIM_PRELOAD in the environment.
set -euo pipefail
: "${WEDGE_PG_STATE:?}" "${SHIM_PRELOAD:?}"
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" # fail, skip_if_runtime_breaks, events, fires, hits
bindir=${WEDGE_PG_BINDIR:-/usr/lib/postgresql/15/bin}
export PATH="$bindir:$PATH"
# gssencmode=disable: libpq would otherwise probe Kerberos on every connect
# (password auth on loopback never needs it), and under the ASan runtime that
# probe deadlocks inside glibc's glob/locale code, with or without the shim.
base_dsn="$(cat "$WEDGE_PG_STATE/dsn") gssencmode=disable"
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$base_dsn")

# new_db NAME: a fresh database; sets $dsn (later keywords win in libpq).
new_db() {
  # the same test decoded on the wire (WEDGE_PQ_API=off) runs beside it:
  # a database of its own
  local db=$1${WEDGE_PQ_API:+_api_$WEDGE_PQ_API}
  psql -X -q -v ON_ERROR_STOP=1 "$base_dsn" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  dsn="$base_dsn dbname=$db"
}

# sql QUERY: one value, without the shim.
sql() { psql -X -At -v ON_ERROR_STOP=1 "$dsn" -c "$1"; }

trace=$(mktemp -d /tmp/wedge-shim-test.XXXXXX)
trap 'rm -rf "$trace"' EXIT

# under RULES CMD...: run CMD under the shim with RULES, tracing into $trace
# (the trace accumulates over the calls).
under() { shim_run "$@"; }

# Every injection of RULE appears in the trace: event lines == fires
# (final lines: a barrier or wait also writes a "waiting" line first).
every_fire_traced() {
  local f e
  f=$(fires "$1"); e=$(events ".rule == \"$1\" and .outcome != \"waiting\"")
  [ "$f" -eq "$e" ] || fail "rule $1: $f fires but $e trace lines"
  echo "rule $1: $f fires, $e trace lines"
}
