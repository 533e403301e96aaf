#!/usr/bin/env bash
# pgbench (a real third-party libpq client) under the shim.
#   pgbench.sh builtin   the issue's acceptance: delay 50ms on every UPDATE of
#                        the built-in TPC-B-like run; each UPDATE is slowed by
#                        >= 50 ms, the trace lists each, balances add up
#   pgbench.sh custom    a custom script, 4 clients on 2 threads, in the
#                        simple, extended and prepared protocols, with rules
#                        on pq.query and sock.*: counters add up and every
#                        injection is traced
here=$(dirname "$0")
. "$here/pg_common.sh"
echo 'SELECT 1' >"$trace/probe.sql"
skip_if_runtime_breaks pgbench -n -t 1 -f "$trace/probe.sql" "$base_dsn"

case ${1:?mode} in
builtin)
  new_db wedge_pgbench_builtin
  under 'delay 50ms on pq.query where sql ~ "UPDATE"' pgbench -q -i -s 1 "$dsn" >/dev/null 2>&1 \
    || fail "pgbench -i under the shim"
  [ "$(events)" -eq 0 ] || fail "pgbench -i runs no UPDATE, yet the trace has events"
  out=$(under 'delay 50ms on pq.query where sql ~ "UPDATE"' pgbench -r -c 2 -j 2 -t 5 "$dsn" 2>&1) \
    || { echo "$out"; fail "pgbench run"; }
  echo "$out" | grep -E 'processed|failed|latency average'
  echo "$out" | grep -q 'number of failed transactions: 0' || fail "failed transactions"
  # 2 clients x 5 transactions x 3 UPDATEs, each traced with its statement.
  n=$(events '.action == "delay" and (.detail | test("^UPDATE pgbench_")) and .waited_ns == 50000000')
  [ "$n" -eq 30 ] || fail "$n delayed UPDATEs in the trace, expected 30"
  every_fire_traced rule1
  # Each transaction runs three UPDATEs: at least 150 ms on average.
  lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p')
  awk -v l="$lat" 'BEGIN { exit !(l >= 150.0) }' || fail "latency average $lat ms < 3 x 50 ms"
  echo "$out" | sed -n '/statement latencies/,$p' | grep -E 'UPDATE|BEGIN|END'
  ok=$(sql "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history)
            AND (SELECT sum(tbalance) FROM pgbench_tellers) = (SELECT sum(delta) FROM pgbench_history)
            AND (SELECT sum(bbalance) FROM pgbench_branches) = (SELECT sum(delta) FROM pgbench_history)
            AND (SELECT count(*) FROM pgbench_history) = 10")
  [ "$ok" = t ] || fail "balances do not add up after the run"
  ;;
custom)
  new_db wedge_pgbench_custom
  sql "CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
       INSERT INTO counters SELECT g, 0 FROM generate_series(1, 10) g" >/dev/null
  script="$trace/bump.sql"
  cat >"$script" <<'SQL'
\set id random(1, 10)
BEGIN;
UPDATE counters SET n = n + 1 WHERE id = :id;
SELECT n FROM counters WHERE id = :id;
END;
SQL
  rules="slow: delay 1ms..5ms on pq.query where sql ~ \"^UPDATE counters\" p=0.5
peek: log on sock.send where port = $port every 7
jitter: yield on sock.recv p=0.2"
  total=0
  for proto in simple extended prepared; do
    rm -f "$trace"/trace.*.jsonl
    out=$(under "$rules" pgbench -n -f "$script" -M $proto -c 4 -j 2 -t 20 "$dsn" 2>&1) \
      || { echo "$out"; fail "pgbench -M $proto"; }
    echo "$out" | grep -q 'number of failed transactions: 0' || { echo "$out"; fail "failed transactions"; }
    total=$((total + 80))
    [ "$(sql 'SELECT sum(n) FROM counters')" -eq $total ] || fail "-M $proto: counters do not add up"
    # sql ~ matched every UPDATE, whichever protocol sent it.
    [ "$(hits slow)" -eq 80 ] || fail "-M $proto: rule slow hit $(hits slow) UPDATEs, expected 80"
    for r in slow peek jitter; do every_fire_traced $r; done
    [ "$(fires slow)" -gt 0 ] && [ "$(fires peek)" -gt 0 ] || fail "-M $proto: nothing injected"
    echo "-M $proto: 80 transactions, counters add up"
  done
  ;;
*) fail "unknown mode $1" ;;
esac
echo "pgbench $1: ok"
