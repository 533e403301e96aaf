#!/usr/bin/env bash
# Throwaway PostgreSQL for the test suite (a CTest fixture).
#   tests/pg_fixture.sh start STATEDIR   -> STATEDIR/dsn holds the DSN
#   tests/pg_fixture.sh stop  STATEDIR
# Runs the server as an unprivileged user when started as root.  Like
# wedge's own cluster it takes SCRAM passwords only (trust would let any
# local user in): the superuser wedge has a random password, kept in
# STATEDIR/pgpass (0600, the test user's), which the DSN names with
# passfile=, so the DSN itself holds no secret.  Every wait is bounded.  The product's own embedded cluster is `wedge pg`; the shim
# tests use this script so they do not depend on the runner.
set -euo pipefail
cmd=${1:?usage: pg_fixture.sh start|stop STATEDIR}
state=${2:?usage: pg_fixture.sh start|stop STATEDIR}

bindir=${WEDGE_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bindir/initdb" ] || { echo "pg_fixture: no initdb in '$bindir' (run scripts/bootstrap)" >&2; exit 2; }

as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    local u=postgres
    id "$u" >/dev/null 2>&1 || u=nobody
    runuser -u "$u" -- "$@"
  else
    "$@"
  fi
}

case "$cmd" in
start)
  if [ -f "$state/dsn" ] && [ -f "$state/data/postmaster.pid" ]; then
    "$0" stop "$state" || true
  fi
  rm -rf "$state"; mkdir -p "$state"
  if [ "$(id -u)" -eq 0 ]; then
    u=postgres; id "$u" >/dev/null 2>&1 || u=nobody
    chown "$u" "$state"
    chmod 755 "$state"
  fi
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  (umask 077 && echo "$password" >"$state/pwfile")
  [ "$(id -u)" -ne 0 ] || chown "$u" "$state/pwfile"
  as_user "$bindir/initdb" -D "$state/data" -U wedge --auth=scram-sha-256 --pwfile="$state/pwfile" \
    -E UTF8 --no-sync >"$state/initdb.log" 2>&1 \
    || { rm -f "$state/pwfile"; cat "$state/initdb.log" >&2; exit 3; }
  rm -f "$state/pwfile"
  # A free port: ask the kernel, then hand it to the server.
  # A free loopback port: a random one that nothing listens on.
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 30000))
    ss -Htln "sport = :$port" 2>/dev/null | grep -q . || break
  done
  cat >>"$state/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$state'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 64MB
max_prepared_transactions = 10
log_min_messages = warning
CONF
  as_user "$bindir/pg_ctl" -D "$state/data" -l "$state/server.log" -w -t 30 start >/dev/null \
    || { cat "$state/server.log" >&2; exit 3; }
  (umask 077 && echo "127.0.0.1:$port:*:wedge:$password" >"$state/pgpass")
  echo "host=127.0.0.1 port=$port user=wedge dbname=postgres passfile=$state/pgpass" >"$state/dsn"
  echo "pg_fixture: started on port $port ($state)"
  ;;
stop)
  [ -d "$state/data" ] || exit 0
  as_user "$bindir/pg_ctl" -D "$state/data" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
  rm -rf "$state"
  ;;
*)
  echo "usage: pg_fixture.sh start|stop STATEDIR" >&2; exit 2 ;;
esac
