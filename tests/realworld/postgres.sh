#!/usr/bin/env bash
# The PostgreSQL server itself under the shim: a throwaway cluster
# (initdb without the shim) started by pg_ctl with libwedge.so preloaded,
# so the postmaster and every backend it forks run under it; psql, without
# the shim, is the client.
#
#   postgres.sh delay   psql's output is the same with the server started
#                       without the shim, under it with no rules, and under
#                       `delay 5ms on sock.send` (every send to a client
#                       delayed), where the backends' traces show the fires
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/realworld.sh"
bindir=${WEDGE_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bindir/initdb" ] || { echo "SKIP: no PostgreSQL server installed (scripts/bootstrap)"; exit 77; }
need psql jq
skip_if_runtime_breaks "$bindir/postgres" --version

# As root, the cluster belongs to an unprivileged user, as in pg_fixture.sh.
owner=
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  id "$owner" >/dev/null 2>&1 || owner=nobody
fi
as_owner() { if [ -n "$owner" ]; then runuser -u "$owner" -- "$@"; else "$@"; fi; }
[ -z "$owner" ] || chown "$owner" "$work"

data=$work/data
port=$(free_port)
as_owner "$bindir/initdb" -D "$data" -U wedge --auth=trust -E UTF8 --no-sync >"$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log" >&2; fail "initdb"; }
cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
fsync = off
log_min_messages = warning
CONF

running=0
stop_pg() {
  [ "$running" -eq 1 ] || return 0
  as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
  running=0
}
cleanup_hooks+=(stop_pg)

# start_pg ENV...: pg_ctl start with ENV (the shim's variables, or none).
start_pg() {
  as_owner env "$@" "$bindir/pg_ctl" -D "$data" -l "$work/server.log" -w -t 30 start >/dev/null ||
    { cat "$work/server.log" >&2; fail "the server did not start ($*)"; }
  running=1
}

# The client's view: a table built, aggregated, and read back in full
# (2000 rows: many sends from the backend).
session() {
  psql -X -q -At -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$port user=wedge dbname=postgres gssencmode=disable" <<'SQL'
SET client_min_messages = warning;
DROP TABLE IF EXISTS rw_pg;
CREATE TABLE rw_pg AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 2000) g;
SELECT count(*), sum(id), min(h), max(h) FROM rw_pg;
SELECT id, h FROM rw_pg ORDER BY id;
SQL
}

# shim RULES: envs = the environment that preloads the shim with RULES.
shim() {
  rm -rf "$trace"; mkdir -p "$trace"
  [ -z "$owner" ] || chown "$owner" "$trace"
  envs=(LD_PRELOAD="$SHIM_PRELOAD" WEDGE_RULES="$1" WEDGE_TRACE="$trace" WEDGE_SEED=42
        ASAN_OPTIONS=detect_leaks=0)
}

start_pg; session >"$work/ref"; stop_pg
[ "$(wc -l <"$work/ref")" -eq 2001 ] || fail "the reference session printed $(wc -l <"$work/ref") lines"

shim ""
start_pg "${envs[@]}"; session >"$work/idle"; stop_pg
diff -q "$work/ref" "$work/idle" >/dev/null || fail "the server under the shim with no rules answered differently"
[ "$(events true)" -eq 0 ] || fail "events without a rule"
grep -q '"proc":"postgres"' "$trace"/trace.*.jsonl || fail "no postgres process ran under the shim"
echo "no rules: same 2001 lines"

shim 'slow: delay 5ms on sock.send'
start_pg "${envs[@]}"; session >"$work/slow"; stop_pg
diff -q "$work/ref" "$work/slow" >/dev/null || fail "the server under delay 5ms on sock.send answered differently"
n=$(events '.rule == "slow" and .action == "delay" and .hook == "sock.send" and .waited_ns == 5000000')
[ "$n" -ge 4 ] || fail "the trace shows $n delayed sends, expected one per query at least"
procs=$(cat "$trace"/trace.*.jsonl | jq -r 'select(.summary) | .proc' | sort -u | tr '\n' ' ')
echo "delay 5ms on sock.send: same 2001 lines, $n delayed sends; traced processes: $procs"
echo "postgres delay: ok"
