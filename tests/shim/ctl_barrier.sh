#!/usr/bin/env bash
# ctl_barrier.sh PROGRAM together|apart: two processes started separately
# (not forked) share a barrier through the control file WEDGE_CTL.  The
# early one (sends at once) may leave only after the late one (sends
# 250 ms later) has arrived.  `apart` runs without the rule (the twin).
set -euo pipefail
prog=${1:?program}; want=${2:?together|apart}
: "${SHIM_PRELOAD:?}"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
rules=""; [ "$want" = together ] && rules='barrier meet 2 timeout 5s on sock.send'
run() { env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_CTL="$dir/ctl" WEDGE_RULES="$rules" \
            ASAN_OPTIONS=detect_leaks=0 timeout 30 "$prog" meet-print "$1" >"$dir/out.$1"; }
run 0 & p0=$!
run 1 & p1=$!
wait $p0; wait $p1
read -r _ leave0 <"$dir/out.0"
read -r arrive1 _ <"$dir/out.1"
if [ "$leave0" -ge "$arrive1" ]; then got=together; else got=apart; fi
[ "$got" = "$want" ] || { echo "FAIL: early process left $got (leave $leave0, other arrived $arrive1)" >&2; exit 1; }
echo "ctl barrier $want: ok"
