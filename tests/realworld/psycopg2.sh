#!/usr/bin/env bash
# psycopg2 under the shim (Python loads libpq RTLD_LOCAL: the shim finds
# it among the loaded objects).  psycopg2.sh CASE; pg_client.py runs the
# same client each time: without the shim (the reference), under the shim
# with no rules (same output), and with the rule (its documented effect).
#
#   same        the tour of psycopg2 (pg_client.py workload) prints the
#               same without the shim, under it idle, and under it traced
#               with a pq rule that matches nothing (statement tracking on)
#   sqlstate    `fail sqlstate 40001 on pq.query where sql ~ "UPDATE"`
#               raises SerializationFailure; the row is unchanged
#   disconnect  `fail disconnect on pq.query where sql ~ "SELECT 42"`
#               raises OperationalError and closes the connection
#   delay       `delay 30ms on pq.query where sql ~ "wedge-delay-marker"`
#               fires on the three marked statements, the trace says 30 ms
set -euo pipefail
case_name=${1:?usage: psycopg2.sh same|sqlstate|disconnect|delay}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/realworld.sh"
pick_python
: "${WEDGE_PG_STATE:?}"
dsn="$(cat "$WEDGE_PG_STATE/dsn") gssencmode=disable"
client() { "$@" "$python" "$here/pg_client.py" "$dsn" "$mode"; }

# reference MODE: the output without the shim, into $work/ref; the run
# under the shim with no rules must print the same.
reference() {
  mode=$1
  client env >"$work/ref"
  under "" "$python" "$here/pg_client.py" "$dsn" "$mode" >"$work/idle"
  diff -u "$work/ref" "$work/idle" || fail "$mode: the shim with no rules changed the output"
}

# with_rule RULE: the output under RULE into $work/rule.
with_rule() { under "$1" "$python" "$here/pg_client.py" "$dsn" "$mode" >"$work/rule"; }

expect() { # expect FILE TEXT: FILE is exactly TEXT
  [ "$(cat "$1")" = "$2" ] || fail "$mode: got '$(cat "$1")', expected '$2'"
}

case $case_name in
same)
  reference workload
  with_rule 'never: log on pq.query where sql ~ "^no statement looks like this$"'
  diff -u "$work/ref" "$work/rule" || fail "statement tracking changed the output"
  [ "$(fires never)" -eq 0 ] || fail "the rule that matches nothing fired"
  calls=$(cat "$trace"/trace.*.jsonl | jq -s '[.[] | select(.summary) | .calls["pq.query"] // 0] | add')
  [ "$calls" -gt 100 ] || fail "the trace counts $calls pq.query calls: psycopg2's libpq was not wrapped"
  echo "same: $(wc -l <"$work/ref") lines identical; $calls pq.query calls traced"
  ;;
sqlstate)
  reference sqlstate
  expect "$work/ref" "$(printf 'updated\nvalue 2')"
  with_rule 'fail sqlstate 40001 on pq.query where sql ~ "UPDATE"'
  expect "$work/rule" "$(printf 'SerializationFailure 40001\nvalue 1')"
  ;;
disconnect)
  reference disconnect
  expect "$work/ref" "value 42"
  with_rule 'fail disconnect on pq.query where sql ~ "SELECT 42"'
  expect "$work/rule" "OperationalError closed=2"
  ;;
delay)
  reference delay
  [ "$(events true)" -eq 0 ] || fail "delay: events without a rule"
  with_rule 'd: delay 30ms on pq.query where sql ~ "wedge-delay-marker"'
  diff -u "$work/ref" "$work/rule" || fail "delay: the delayed run printed something else"
  [ "$(fires d)" -eq 3 ] || fail "delay: $(fires d) fires, expected 3"
  [ "$(events '.rule == "d" and .action == "delay" and .waited_ns == 30000000')" -eq 3 ] ||
    fail "delay: the trace does not show three 30 ms delays: $(cat "$trace"/trace.*.jsonl)"
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "psycopg2 $case_name: ok"
