#!/usr/bin/env bash
# `wedge proxy` on its own (label e2e): the forwarding loop under the shim,
# against the test server, with psql as the client.
#
#   proxy.sh WEDGE WORK PG_STATE
#
# Bad options, addresses and rules exit 2 with a message; a statement
# passes through and `fail sqlstate` reaches psql as the server's error
# (decoded in the proxy, not in psql: psql runs without the shim); a
# barrier across two connections of the proxy; at most --max-conns
# connections at once; an unreachable upstream closes the client, the
# proxy stays up; an upstream name whose first address refuses (localhost
# as ::1, then 127.0.0.1, where the server listens) is reached at the next
# one, and when none answers the message names each address tried;
# SIGTERM stops it at once with exit 0 and frees the port.
set -uo pipefail
wedge=${1:?wedge}
work=${2:?work dir}
state=${3:?pg state}
lib_name=proxy
. "$(dirname "$0")/../../lib.sh"

command -v psql >/dev/null || { echo "SKIP: psql"; exit 77; }
rm -rf "$work"; mkdir -p "$work"
dsn=$(cat "$state/dsn")
dbport=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$dsn")
# the passfile's line names the server's port, not the proxy's
passfile=$(sed -n 's/.*passfile=\([^ ]*\).*/\1/p' <<<"$dsn")
[ -z "$passfile" ] || export PGPASSWORD=$(cut -d: -f5 "$passfile")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

expect_exit() { # WANT MSG CMD...
    local want=$1 msg=$2; shift 2
    "$@" >"$work/out" 2>"$work/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$*: exit $rc, expected $want: $(cat "$work/err")"
    grep -q -- "$msg" "$work/err" || fail "$*: no '$msg' in: $(cat "$work/err")"
}
expect_exit 2 "^wedge: proxy: --listen is required" "$wedge" proxy --to 127.0.0.1:1
expect_exit 2 "^wedge: proxy: --to 'nowhere': expected HOST:PORT" "$wedge" proxy --listen 1 --to nowhere
expect_exit 2 "the port must be a number from 1 to 65535" "$wedge" proxy --listen 99999 --to 127.0.0.1:1
expect_exit 2 "^wedge: proxy: --max-conns '0'" "$wedge" proxy --listen 1 --to h:1 --max-conns 0
expect_exit 2 "^wedge: rules:1:1: unknown action 'dealy'" \
    "$wedge" proxy --listen "$(free_port)" --to 127.0.0.1:1 --rules 'dealy 1ms on sock.send'
expect_exit 2 "runs under libwedge.so" env -u LD_PRELOAD "$wedge" proxy --serve --listen 1 --to 127.0.0.1:1

# start PROXY_ARGS...: the proxy in the background, $pid, $port; ready when
# it accepts.  $in (an array, empty by default) is put before the command.
in=()
start() {
    port=$(free_port)
    "${in[@]}" "$wedge" proxy --listen "$port" --trace "$work/trace" --seed 1 "$@" \
        >"$work/proxy.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || fail "the proxy exited: $(cat "$work/proxy.log")"
        sleep 0.05
    done
    fail "the proxy never listened"
}
stop() {
    kill -TERM "$pid"
    wait_exit "$pid" 10 || fail "the proxy did not stop within 10 s of SIGTERM"
    wait "$pid"; local rc=$?
    [ "$rc" -eq 0 ] || fail "the proxy exited $rc after SIGTERM: $(cat "$work/proxy.log")"
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && fail "port $port still open after the stop"
    true
}
via() { sed "s/port=[0-9]*/port=$port/" <<<"$dsn"; }

# fail sqlstate, decoded in the proxy: psql sees the server's own error
start --to "127.0.0.1:$dbport" --rules 'fail sqlstate 40001 on pq.query where sql ~ "^UPDATE"'
out=$(psql -X -v VERBOSITY=verbose "$(via)" -c "CREATE TEMP TABLE t (v int)" \
    -c "UPDATE t SET v = 1" -c "SELECT 41 + 1 AS answer" 2>&1)
grep -q "ERROR:  40001: wedge: injected sqlstate 40001" <<<"$out" || fail "no 40001: $out"
grep -q "^ *42$" <<<"$out" || fail "the session did not go on after the error: $out"
stop
grep -q '"rule":"rule1","action":"fail","outcome":"fired"' "$work"/trace/trace.*.jsonl ||
    fail "no fire in the proxy's trace"

# a barrier across two connections: neither SELECT's answer passes alone
rm -rf "$work/trace"
start --to "127.0.0.1:$dbport" --rules 'barrier two 2 timeout 5s after pq.query where sql ~ "pair"'
t0=$(date +%s%N)
psql -X -Atc "SELECT 'pair', pg_sleep(0.3)" "$(via)" >/dev/null &
a=$!
psql -X -Atc "SELECT 'pair'" "$(via)" >"$work/b.out" || fail "psql b"
t1=$(date +%s%N)
wait "$a" || fail "psql a"
[ $(((t1 - t0) / 1000000)) -ge 300 ] || fail "b's answer passed before a's statement finished"
[ "$(grep -c '"rule":"rule1","action":"barrier","outcome":"released"' "$work"/trace/trace.*.jsonl)" -eq 2 ] ||
    fail "expected two released barrier lines"
stop

# at most --max-conns: the second connection is closed at once
start --to "127.0.0.1:$dbport" --max-conns 1
rm -f "$work/first"
printf 'SELECT 1;\n\\! touch %s/first\nSELECT pg_sleep(1);\n' "$work" |
    psql -X -Aqt "$(via)" >/dev/null &
a=$!
for _ in $(seq 100); do [ -e "$work/first" ] && break; sleep 0.05; done
[ -e "$work/first" ] || fail "the first connection never got through"
psql -X -Atc "SELECT 1" "$(via)" >/dev/null 2>&1 && fail "a second connection over --max-conns 1 was served"
wait "$a" || fail "the first connection failed"
# the first one's slot frees once both its sides have closed: a moment
served=0
for _ in $(seq 20); do
    psql -X -Atc "SELECT 1" "$(via)" >/dev/null 2>&1 && { served=1; break; }
    sleep 0.1
done
[ "$served" = 1 ] || fail "no connection within 2 s after the first one closed"
stop
grep -q "1 connections open: a new one is closed at once" "$work/proxy.log" || fail "no full message"

# an unreachable upstream: the client is closed, the proxy serves on
start --to "127.0.0.1:$(free_port)"
psql -X -Atc "SELECT 1" "$(via)" >/dev/null 2>&1 && fail "served without an upstream"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "the proxy stopped listening"
stop
grep -q "cannot reach 127.0.0.1:" "$work/proxy.log" || fail "no message about the upstream"

# localhost as ::1 first, 127.0.0.1 next (a stock Debian /etc/hosts), the
# server on 127.0.0.1 only: the proxy moves on to the second address.  In a
# mount namespace with an /etc/hosts of its own (skipped where one cannot
# be made: the cases above have run).
if unshare -m true 2>/dev/null; then
    printf '::1 localhost\n127.0.0.1 localhost\n' >"$work/hosts"
    in=(unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$work/hosts")
    rm -rf "$work/trace"
    start --to "localhost:$dbport" --rules 'log on sock.connect'
    [ "$(psql -X -Atc "SELECT 'via ' || 2" "$(via)" 2>"$work/psql.err")" = "via 2" ] ||
        fail "no answer through localhost:$dbport: $(cat "$work/psql.err") $(cat "$work/proxy.log")"
    stop
    # the shim's own record of the proxy's connects: ::1 refused, then 127.0.0.1
    grep -q "\"detail\":\"\[::1\]:$dbport\"" "$work"/trace/trace.*.jsonl ||
        fail "no connect to [::1]:$dbport in the proxy's trace: the test did not try ::1 first"
    grep -q "\"detail\":\"127.0.0.1:$dbport\"" "$work"/trace/trace.*.jsonl ||
        fail "no connect to 127.0.0.1:$dbport in the proxy's trace"
    # neither answers: every address is named, with why
    dead=$(free_port)
    start --to "localhost:$dead"
    psql -X -Atc "SELECT 1" "$(via)" >/dev/null 2>&1 && fail "served without an upstream"
    stop
    grep -q "cannot reach localhost:$dead, tried \[::1\]:$dead (Connection refused), 127.0.0.1:$dead (Connection refused)" \
        "$work/proxy.log" || fail "the message does not name both addresses: $(cat "$work/proxy.log")"
    in=()
else
    note "no mount namespace here: the two-address case is not run"
fi
echo "proxy: ok"
