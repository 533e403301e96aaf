#!/usr/bin/env bash
# nginx under the shim, serving a private directory on a free port (its
# own config in a temporary directory, run as the current user, in the
# foreground, one process); curl fetches a 2 MiB file and a small page
# without the shim.
#
#   nginx.sh short   the body is intact (same SHA-256) without the shim,
#                    under the shim with no rules, and under
#                    `short 100 on sock.send` (every nginx send clipped to
#                    100 bytes: it must loop over partial writes), where
#                    the trace shows the clipping fired
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/realworld.sh"
need nginx curl jq
nginx_bin=$(command -v nginx)

mkdir -p "$work/www" "$work/tmp" "$work/logs"
head -c 2097152 /dev/urandom >"$work/www/big.bin"
printf 'hello from nginx\n' >"$work/www/index.html"
want=$(sha256sum <"$work/www/big.bin" | cut -d' ' -f1)
port=$(free_port)
# sendfile off: nginx writes the body with writev, which the shim wraps
# (sendfile is not a sock.send hook).
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile off;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  types { application/octet-stream bin; text/html html; }
  server {
    listen 127.0.0.1:$port;
    root $work/www;
  }
}
CONF

# start_nginx RULES|--no-shim: nginx in the background, answering.
start_nginx() {
  start_bg "$1" "$nginx_bin" -p "$work" -e "$work/logs/error.log" -c "$work/nginx.conf"
  for _ in $(seq 100); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/index.html"; then
      owns_port "$bg_pid" "$port" || fail "port $port answers, but not from nginx $bg_pid"
      return 0
    fi
    kill -0 "$bg_pid" 2>/dev/null || { cat "$work/logs/error.log" >&2; fail "nginx exited"; }
    sleep 0.1
  done
  fail "nginx not answering on port $port after 10 s"
}

# fetch LABEL: the big file's SHA-256 and the page, as curl sees them.
fetch() {
  local got page
  got=$(curl -sf --max-time 60 "http://127.0.0.1:$port/big.bin" | sha256sum | cut -d' ' -f1)
  page=$(curl -sf --max-time 10 "http://127.0.0.1:$port/index.html")
  [ "$got" = "$want" ] || fail "$1: big.bin arrived with SHA-256 $got, expected $want"
  [ "$page" = "hello from nginx" ] || fail "$1: index.html is '$page'"
  echo "$1: body intact"
}

start_nginx --no-shim; fetch "no shim"; stop_bg
start_nginx ""; fetch "shim, no rules"; stop_bg
[ "$(events true)" -eq 0 ] || fail "events without a rule"
start_nginx 'clip: short 100 on sock.send'; fetch "short 100 on sock.send"; stop_bg
n=$(events '.rule == "clip" and .action == "short"')
# 2 MiB in 100-byte pieces is at least 20972 sends.
[ "$n" -ge 20971 ] || fail "short fired $n times, expected at least 20971"
echo "nginx short: ok ($n clipped sends)"
