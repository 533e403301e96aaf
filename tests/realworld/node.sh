#!/usr/bin/env bash
# node under the shim: a plain `net` TCP client (node_client.js, no npm
# package) against an echo server (node_server.js, without the shim).
#
#   node.sh reset   the echo arrives without the shim and under the shim
#                   with no rules; under `fail ECONNRESET on sock.recv` the
#                   client's socket reports ECONNRESET, and the trace shows
#                   the fire
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/realworld.sh"
need node jq

node "$here/node_server.js" >"$work/port" &
server=$!
cleanup_hooks+=("kill $server; wait $server")
for _ in $(seq 100); do
  [ -s "$work/port" ] && break
  kill -0 "$server" 2>/dev/null || fail "the echo server exited"
  sleep 0.1
done
port=$(cat "$work/port")
[ -n "$port" ] || fail "the echo server printed no port"

expect() { [ "$2" = "$3" ] || fail "$1: the client printed '$2', expected '$3'"; echo "$1: $2"; }

expect "no shim" "$(timeout 30 node "$here/node_client.js" "$port")" "got ping"
expect "shim, no rules" "$(under "" node "$here/node_client.js" "$port")" "got ping"
[ "$(events true)" -eq 0 ] || fail "events without a rule"
expect "fail ECONNRESET on sock.recv" \
  "$(under 'reset: fail ECONNRESET on sock.recv' node "$here/node_client.js" "$port")" "error ECONNRESET"
[ "$(fires reset)" -ge 1 ] || fail "the rule did not fire"
echo "node reset: ok"
