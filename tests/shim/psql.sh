#!/usr/bin/env bash
# psql (a real third-party libpq client) under the shim.
#   psql.sh script     a script of INSERTs with a delay on each and a rule on
#                      sock.recv: the rows are all there, every injection traced
#   psql.sh sqlstate   fail sqlstate 40001 on the UPDATE of a transaction:
#                      psql reports the server's error, the row is unchanged
#   psql.sh counts     tracing alone counts the pq calls as a run with a
#                      pq rule does
#   psql.sh wire       the same statements through libpq's wrappers and
#                      decoded on the wire (WEDGE_PQ_API=off): the same
#                      pq.query events before and after, each once (the
#                      decoder stays quiet where the wrappers report)
here=$(dirname "$0")
. "$here/pg_common.sh"
skip_if_runtime_breaks psql -X "$base_dsn" -c "SELECT 1"

case ${1:?mode} in
script)
  new_db wedge_psql_script
  f="$trace/items.sql"
  { echo "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);"
    for i in $(seq 10); do echo "INSERT INTO items (id) VALUES ($i);"; done
    echo "SELECT count(*) FROM items;"; } >"$f"
  out=$(under "ins: delay 5ms on pq.query where sql ~ \"^INSERT\"
recv: log on sock.recv where port = $port" psql -X -v ON_ERROR_STOP=1 "$dsn" -f "$f" 2>&1) \
    || { echo "$out"; fail "psql -f"; }
  [ "$(sql 'SELECT count(*) FROM items')" -eq 10 ] || fail "rows missing"
  [ "$(events '.rule == "ins" and .action == "delay"')" -eq 10 ] || fail "expected 10 delayed INSERTs"
  every_fire_traced ins
  every_fire_traced recv
  [ "$(fires recv)" -gt 0 ] || fail "no sock.recv event"
  ;;
sqlstate)
  new_db wedge_psql_sqlstate
  sql "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL DEFAULT 0); INSERT INTO items VALUES (1, 0)" >/dev/null
  # psql -f sends each statement on its own: the UPDATE is the rule's.
  printf 'BEGIN;\nUPDATE items SET v = 1 WHERE id = 1;\nSELECT 1;\n' >"$trace/tx.sql"
  out2=$(under 'fail sqlstate 40001 on pq.query where sql ~ "^UPDATE"' \
         psql -X -v VERBOSITY=verbose "$dsn" -f "$trace/tx.sql" 2>&1) || fail "psql -f"
  echo "$out2"
  echo "$out2" | grep -q 'ERROR:  40001: wedge: injected sqlstate 40001' || fail "no 40001 from the server"
  echo "$out2" | grep -q 'ERROR:  25P02' || fail "the transaction did not abort (no 25P02 after)"
  [ "$(sql 'SELECT v FROM items WHERE id = 1')" -eq 0 ] || fail "the row changed"
  [ "$(events '.action == "fail"')" -eq 1 ] || fail "expected one traced failure"
  ;;
counts)
  # Tracing alone (no rule on a pq hook) counts the pq calls without
  # following statements: the summary's counts must be those of a run
  # where a rule on pq.query (never matching) makes the wrappers follow.
  new_db wedge_psql_counts
  printf 'SELECT 1;\nSELECT 2;\nSELECT 3;\n' >"$trace/three.sql"
  # pq_calls: "pq.query pq.exec pq.send pq.result" summed over summaries
  pq_calls() {
    cat "$trace"/trace.*.jsonl | jq -rs '[.[] | select(.summary) | .calls] |
      [(map(.["pq.query"] // 0) | add), (map(.["pq.exec"] // 0) | add),
       (map(.["pq.send"] // 0) | add), (map(.["pq.result"] // 0) | add)] | map(tostring) | join(" ")'
  }
  under 'log on thread.create' psql -X -q -v ON_ERROR_STOP=1 "$dsn" -f "$trace/three.sql" >/dev/null ||
    fail "psql -f (tracing only)"
  alone=$(pq_calls)
  rm -f "$trace"/trace.*.jsonl
  under 'log on pq.query where sql ~ "^NEVER"' psql -X -q -v ON_ERROR_STOP=1 "$dsn" -f "$trace/three.sql" >/dev/null ||
    fail "psql -f (pq ruled)"
  ruled=$(pq_calls)
  echo "pq.query pq.exec pq.send pq.result: tracing only: $alone; pq.query ruled: $ruled"
  [ "$alone" = "$ruled" ] || fail "tracing alone counts pq calls differently"
  [ "${alone%% *}" -ge 3 ] || fail "fewer than 3 pq.query calls counted"
  ;;
wire)
  new_db wedge_psql_wire
  printf 'SELECT 1;\nSELECT 2 AS two;\nSELECT 3 FROM generate_series(1, 3);\n' >"$trace/three.sql"
  # stmts: "before|after detail" of the two rules, in trace order
  stmts() {
    cat "$trace"/trace.*.jsonl | jq -r 'select(.rule == "q" or .rule == "qa") | "\(.rule) \(.detail)"'
  }
  rules='q: log on pq.query; qa: log after pq.query'
  under "$rules" psql -X -q -v ON_ERROR_STOP=1 "$dsn" -f "$trace/three.sql" >/dev/null ||
    fail "psql -f (libpq's wrappers)"
  api=$(stmts)
  rm -f "$trace"/trace.*.jsonl
  WEDGE_PQ_API=off under "$rules" psql -X -q -v ON_ERROR_STOP=1 "$dsn" -f "$trace/three.sql" \
    >/dev/null || fail "psql -f (decoded on the wire)"
  wire=$(stmts)
  printf 'libpq wrappers:\n%s\ndecoded on the wire:\n%s\n' "$api" "$wire"
  [ "$(echo "$api" | grep -c '^q SELECT')" -eq 3 ] || fail "expected 3 statements before"
  [ "$(echo "$api" | grep -c '^qa SELECT')" -eq 3 ] || fail "expected 3 statements after"
  [ "$api" = "$wire" ] || fail "the wire decoder saw other statements than libpq's wrappers"
  ;;
*) fail "unknown mode $1" ;;
esac
echo "psql $1: ok"
