#!/usr/bin/env bash
# redis.sh WEDGE MODE: redis-server and redis-benchmark (redis links
# jemalloc, which takes pthread mutexes inside malloc) under `wedge exec`,
# the reproducers of issue 8:
#   start     yield on mutex.trylock where caller ~ "x": the server starts,
#             answers, survives DEBUG POPULATE + FLUSHALL ASYNC (it died
#             with SIGSEGV)
#   flushall  log on mutex.trylock, a caller ~ rule on mutex.trylock and a
#             trace: DEBUG POPULATE 100000 and FLUSHALL ASYNC twice, the
#             data is right, the server exits 0 (it died with 139)
#   bench     log on * and a caller ~ rule with a trace, around
#             redis-benchmark --threads 2 (it crashed or hung)
here=$(dirname "$0")
. "$here/realworld.sh"
wedge=${1:?wedge} mode=${2:?mode}
need redis-server redis-cli redis-benchmark python3

port=$(free_port)
cli() { timeout 60 redis-cli -p "$port" "$@"; }
server=
stop_server_now() { [ -z "$server" ] || { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }; }
cleanup_hooks+=(stop_server_now)
serve=(redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no
       --enable-debug-command local --dir "$work")

# await_server: until $server answers PING (10 s at most); 1 when it
# exited first or never answered.
await_server() {
  for _ in $(seq 100); do
    [ "$(cli ping 2>/dev/null)" = PONG ] && return 0
    kill -0 "$server" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_server [wedge exec options...]: in the background, until it answers PING.
start_server() {
  "$wedge" exec "$@" -- "${serve[@]}" >"$work/server.log" 2>&1 &
  server=$!
  await_server && return 0
  tail -20 "$work/server.log"
  fail "redis-server did not answer under the shim"
}

# stop_server: SHUTDOWN NOSAVE; the server must exit 0.
stop_server() {
  local rc=0
  cli shutdown nosave >/dev/null 2>&1 || true
  wait "$server" || rc=$?
  server=
  [ "$rc" -eq 0 ] || { tail -20 "$work/server.log"; fail "redis-server exited $rc"; }
}

# trace_ok RULE...: every line is JSON, each RULE fired, each fire has a stack.
trace_ok() {
  python3 - "$trace" "$@" <<'PY' || fail "trace check"
import glob, json, sys
fires = {}
for path in glob.glob(sys.argv[1] + "/trace.*.jsonl"):
    for line in open(path):
        e = json.loads(line)
        if "rule" in e and "outcome" in e:
            fires[e["rule"]] = fires.get(e["rule"], 0) + 1
            assert e.get("stack"), line
for r in sys.argv[2:]:
    assert fires.get(r, 0) > 0, "rule %s never fired: %s" % (r, fires)
print("trace: " + ", ".join("%s %d" % kv for kv in sorted(fires.items())))
PY
}

# populate_flush ROUND: 100000 keys, then FLUSHALL ASYNC empties them.
populate_flush() {
  cli debug populate 100000 >/dev/null
  [ "$(cli dbsize)" = 100000 ] || fail "round $1: DBSIZE after DEBUG POPULATE 100000"
  [ "$(cli flushall async)" = OK ] || fail "round $1: FLUSHALL ASYNC"
  [ "$(cli dbsize)" = 0 ] || fail "round $1: DBSIZE after FLUSHALL ASYNC"
}

case $mode in
start)
  start_server -s 1 -r 'yield on mutex.trylock where caller ~ "x"'
  cli set k v >/dev/null
  [ "$(cli get k)" = v ] || fail "GET after SET"
  cli del k >/dev/null
  populate_flush 1 # the rule's stack walk runs on each of jemalloc's trylocks
  stop_server
  ;;
flushall)
  start_server -s 2 -t "$trace" -r 'all: log on mutex.trylock
mine: log on mutex.trylock where caller ~ "lazyfree|bio|malloc|free" every 5'
  populate_flush 1
  populate_flush 2
  cli debug populate 1000 >/dev/null
  [ "$(cli dbsize)" = 1000 ] || fail "the server lost data after the flushes"
  stop_server
  trace_ok all mine
  ;;
bench)
  # The server runs without the shim, and must answer before the
  # benchmark starts (a benchmark with nothing to talk to hangs on its
  # own).  A port taken since free_port chose it is another try.
  for try in 1 2 3; do
    "${serve[@]}" >"$work/server.log" 2>&1 &
    server=$!
    await_server && break
    stop_server_now || true # its exit status is the failure said below
    server=
    if [ "$try" = 3 ]; then
      tail -20 "$work/server.log"
      fail "redis-server (without the shim) did not answer on port $port"
    fi
    port=$(free_port)
    serve[2]=$port
  done
  rc=0
  out=$(timeout 120 "$wedge" exec -s 3 -t "$trace" \
      -r 'all: log on *; mine: log on mutex.trylock,mutex.lock where caller ~ "^(benchmark|showLatencyReport|main)$"' \
      -- redis-benchmark -p "$port" --threads 2 -n 10000 -c 20 -t set,get,lpush,lpop --csv 2>&1) \
    || rc=$?
  [ "$rc" -eq 0 ] || { echo "$out"; fail "redis-benchmark --threads 2 under log on * (exit $rc)"; }
  [ "$(grep -c '^"' <<<"$out")" -eq 5 ] || { echo "$out"; fail "expected a header and 4 results"; }
  [ "$(cli dbsize)" -ge 1 ] || fail "the benchmark wrote nothing"
  trace_ok all
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "redis $mode: ok"
