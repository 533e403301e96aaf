#!/usr/bin/env bash
# pg_vs_tester.sh WEDGE SPEC...
# Runs each spec under PostgreSQL's own isolationtester (Debian's
# postgresql-client-N ships it) and under `wedge isolation` on the pg
# fixture's server ($WEDGE_PG_STATE/dsn), and requires identical output:
# the files in pg_expected/ were made by the tester, and stay its output.
# Exit 77 when isolationtester is not installed.
set -u
wedge=$1
shift
dsn=$(cat "${WEDGE_PG_STATE:?}/dsn") || exit 2
bindir=${WEDGE_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
tester=$(dirname "$bindir")/lib/pgxs/src/test/isolation/isolationtester
if [ ! -x "$tester" ]; then
  echo "pg_vs_tester: no isolationtester at $tester: skipped" >&2
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
db=wedge_iso_vs_$$
psql_dsn="$dsn"
"$bindir/psql" -X -q -d "$psql_dsn" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || exit 2
fail=0
for spec in "$@"; do
  name=$(basename "$spec" .spec)
  # A spec's "# env: NAME=VALUE" lines set the environment of both runs.
  env=$(sed -n 's/^# env: //p' "$spec")
  env $env PGAPPNAME=isolation/$name "$tester" "$dsn dbname=$db" <"$spec" >"$out/$name.tester" 2>&1
  env $env "$wedge" isolation --dsn "$dsn" --spec "$spec" >"$out/$name.wedge" 2>"$out/$name.err"
  if diff -u "$out/$name.tester" "$out/$name.wedge"; then
    echo "pg_vs_tester: $name: identical"
  else
    echo "pg_vs_tester: $name: wedge's output differs from isolationtester's" >&2
    cat "$out/$name.err" >&2
    fail=1
  fi
done
"$bindir/psql" -X -q -d "$psql_dsn" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
exit $fail
