#!/usr/bin/env bash
# Bounds of what `wedge run`, `wedge check` and `wedge isolation` accept:
# each refusal within seconds, with its message, never a hang or a silent
# default.
#
#   limits.sh CASE WEDGE WORK_DIR
#
# Cases:
#   ranges    users, duration: the same range in the file (wedge check) and
#             on the command line (wedge run, refused before any initdb);
#             duration = 0 and --duration 0 refused
#   files     wedge run / check on a directory, a device; rules_file = DIR
#             and --rules-file DIR; rules over 128 KiB (more than the
#             environment holds: 'rejected by the shim' once) checked and
#             run through a 0600 file, over 1 MiB refused; isolation --spec
#             /dev/zero (once read until memory ran out) and --spec DIR
#             without specs
#   nodb      a scenario that uses no database runs no initdb: a job and a
#             history invariant, no --dsn, exit 0, no postgres line, report
#             says database none
#   ready     ready = tcp:PORT (and http://127.0.0.1:PORT/) answered by
#             another process is no readiness: a port taken before the
#             service starts is refused (exit 2, naming the holder); a
#             listener outside the service's process tree (daemonized with
#             setsid) is refused when it answers (exit 3); the twin whose
#             service listens itself passes
set -uo pipefail

case_name=${1:?usage: limits.sh CASE WEDGE WORK_DIR}
wedge=${2:?wedge binary}
work=${3:?work directory}
here=$(cd "$(dirname "$0")" && pwd)

lib_name=limits
. "$here/../../lib.sh"

lib_scratch

USERS="must be between 1 and 1000000 (got 1000001): virtual users share a few worker threads"

# scn FILE TEXT: a scenario file.
scn() {
    printf '%s\n' "$2" >"$1"
}

case_ranges() {
    local s="$work/users.scn"
    scn "$s" "[workload]
users = 1000001
duration = 1s
sql = SELECT 1"
    expect_rc 2 "$wedge" check "$s"
    expect_in "$work/err" "^wedge: $s:2: 'users' $USERS"
    scn "$s" "[workload]
users = 2
duration = 1s
sql = SELECT 1"
    expect_rc 0 "$wedge" check "$s"
    # the flag: refused before any cluster is started
    expect_rc 2 "$wedge" run "$s" --users 1000001 --out "$work/o"
    expect_in "$work/err" "^wedge: run: --users '1000001': $USERS"
    grep -q "^wedge: postgres:" "$work/err" && fail "initdb ran before --users was refused"
    expect_rc 2 "$wedge" run "$s" --users 0 --out "$work/o"
    expect_in "$work/err" "^wedge: run: --users '0': must be between 1 and 1000000 (got 0)"
    scn "$s" "[workload]
duration = 0
sql = SELECT 1"
    expect_rc 2 "$wedge" check "$s"
    expect_in "$work/err" "^wedge: $s:2: 'duration' must be between 1ms and 168h (got 0): 0 would be no load at all"
    scn "$s" "[workload]
duration = 1s
sql = SELECT 1"
    expect_rc 2 "$wedge" run "$s" --duration 0 --out "$work/o"
    expect_in "$work/err" "^wedge: run: --duration '0': must be between 1ms and 168h (got 0)"
    # joint: users x request lines, after the flag's value too
    scn "$s" "[workload]
users = 5000
duration = 1s
sql = SELECT 1
sql = SELECT 2"
    expect_rc 0 "$wedge" check "$s"
    expect_rc 2 "$wedge" run "$s" --duration 5m --out "$work/o"
    expect_in "$work/err" "with the command line's values: a load of 5m cannot end within the run's timeout (2m)"
}

case_files() {
    local d="$work/dir" s="$work/rd.scn"
    mkdir -p "$d"
    expect_rc 2 "$wedge" run "$d" --out "$work/o"
    expect_in "$work/err" "^wedge: $d: not a regular file (a directory): expected a scenario file$"
    expect_rc 2 "$wedge" check "$d"
    expect_in "$work/err" "^wedge: $d: not a regular file (a directory): expected a scenario file$"
    expect_rc 2 timeout 20 "$wedge" check /dev/zero
    expect_in "$work/err" "^wedge: /dev/zero: not a regular file (a device, FIFO or socket)"
    scn "$s" "[service a]
command = sleep 1
rules_file = dir
[workload]
iterations = 1
sql = SELECT 1"
    expect_rc 2 "$wedge" check "$s"
    expect_in "$work/err" "^wedge: $s:3: rules file 'dir' is not a regular file (a directory)$"
    expect_rc 2 "$wedge" check --rules-file "$d"
    expect_in "$work/err" "not a regular file (a directory)"
    # Rules longer than the environment holds (128 KiB) reach the process
    # through a file; past a rules file's cap (1 MiB) they are refused.
    python3 -c "print('\n'.join('# padding line %06d ......................................' % i for i in range(3000)))" >"$work/big.rules"
    echo "seen: log on sock.connect" >>"$work/big.rules"
    [ "$(stat -c %s "$work/big.rules")" -gt 131072 ] || fail "big.rules is not bigger than 128 KiB"
    expect_rc 0 "$wedge" check --rules-file "$work/big.rules"
    scn "$s" "[job j]
command = python3 -c 'import socket; socket.socket().connect_ex((\"127.0.0.1\", 1))'
rules_file = big.rules
[invariants]
none = history: all == 0"
    expect_rc 0 "$wedge" check "$s"
    expect_rc 0 "$wedge" run "$s" --seed 1 --out "$work/big"
    [ "$(stat -c %a "$work/big/logs/j.rules")" = 600 ] || fail "the rules file of job j is not 0600"
    grep -q '"rule":"seen"' "$work/big"/traces/*.jsonl || fail "the long rules did not reach the shim"
    echo "bad: delay 5ms on sock.sned" >>"$work/big.rules"
    expect_rc 2 "$wedge" check "$s"
    expect_in "$work/err" "^wedge: $s:1: job j: rules:3002:19: unknown hook 'sock.sned'"
    python3 -c "print('#' * 1100000)" >"$work/huge.rules"
    expect_rc 2 "$wedge" check --rules-file "$work/huge.rules"
    expect_in "$work/err" "larger than 1048576 bytes"
    # once read /dev/zero until memory ran out
    expect_rc 2 timeout 20 "$wedge" isolation --spec /dev/zero --check
    expect_in "$work/err" "/dev/zero: not a regular file (a device, FIFO or socket)"
    expect_rc 2 timeout 20 "$wedge" isolation --spec "$d" --check
    expect_in "$work/err" "no \*.spec file in this directory"
}

case_nodb() {
    local s="$work/nodb.scn" out="$work/nodb"
    scn "$s" "; Not a race: a scenario without a database runs no initdb.
[scenario]
name = cli-nodb
[job count]
command = sh -c 'echo counted'
[invariants]
nothing = history: all == 0"
    expect_rc 0 "$wedge" run "$s" --seed 1 --out "$out"
    grep -q "^wedge: postgres:" "$work/err" && fail "a cluster was started: $(cat "$work/err")"
    expect_in "$out/report.md" "| database | none (the scenario uses no database) |"
    [ "$(jq -r .database "$out/summary.json")" = null ] || fail "summary.json names a database"
    [ "$(tail -n 1 "$work/out")" = "2 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    [ -z "$(ls -A "$TMPDIR")" ] || fail "left in TMPDIR: $(ls "$TMPDIR")"
}

# hold PIDFILE [PORT]: a listener of hold.py, outside any run; sets
# $hold_pid and $hold_port.
hold() {
    python3 "$here/hold.py" "${2:-0}" "$1" &
    for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
    [ -s "$1" ] || fail "hold.py did not listen"
    read -r hold_pid hold_port <"$1"
}

case_ready() {
    local s="$work/ready.scn" out="$work/ready" daemon
    hold "$work/foreign.pid"
    trap 'kill $hold_pid $(cut -d" " -f1 "$work/daemon.pid" 2>/dev/null) 2>/dev/null' EXIT
    # Once: 8336 of 8336 requests "info" and a pass, against this listener.
    scn "$s" "; Not a race: ready names a port another process holds.
[scenario]
name = cli-ready-foreign
[service web]
command = sleep 300
ready = tcp:$hold_port
[workload]
iterations = 5
request = GET /
[invariants]
none_ok = history: ok == 0"
    expect_rc 2 "$wedge" run "$s" --seed 1 --out "$out"
    expect_in "$work/err" "^wedge: $s:4: service web: ready = tcp:$hold_port: port $hold_port is already taken by pid $hold_pid (python3) before the service started, so its answer would not be the service's: ready must name the service's own listener (tcp:\${port})$"
    sed -i "s|ready = tcp:$hold_port|ready = http://127.0.0.1:$hold_port/health|" "$s"
    expect_rc 2 "$wedge" run "$s" --seed 1 --out "$out"
    expect_in "$work/err" "port $hold_port is already taken by pid $hold_pid (python3) before the service started"
    # A listener that is not the service's process tree, started after it.
    scn "$s" "; Not a race: the service's port is answered by a daemon it left.
[scenario]
name = cli-ready-daemon
[service web]
command = sh -c 'setsid -f python3 $here/hold.py \${port} $work/daemon.pid; exec sleep 300'
ready = tcp:\${port}
[workload]
iterations = 5
request = GET /"
    expect_rc 3 "$wedge" run "$s" --seed 1 --out "$out"
    daemon=$(cut -d' ' -f1 "$work/daemon.pid")
    expect_in "$work/err" "service web: ready = tcp:[0-9]* answered, but the listener on port [0-9]* is held by pid $daemon (python3), not by the service (pid [0-9]*) or its children"
    kill "$daemon"
    # The twin: the service is the listener.
    scn "$s" "; Not a race: the service holds its own port.
[scenario]
name = cli-ready-own
[service web]
command = python3 -m http.server --bind 127.0.0.1 \${port}
ready = tcp:\${port}
[workload]
iterations = 5
request = GET /
[invariants]
all_ok = history: ok == 5"
    expect_rc 0 "$wedge" run "$s" --seed 1 --out "$out"
    sed -i 's|ready = tcp:${port}|ready = http://127.0.0.1:${port}/|' "$s"
    expect_rc 0 "$wedge" run "$s" --seed 1 --out "$out"
}

case "$case_name" in
ranges) case_ranges ;;
ready) case_ready ;;
files) case_files ;;
nodb) case_nodb ;;
*) fail "unknown case '$case_name'" ;;
esac
note "ok"
