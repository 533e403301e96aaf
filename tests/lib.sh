# tests/lib.sh - the shell helpers every test script shares.  Sourced:
#
#   . "$(dirname "$0")/../lib.sh"        (from tests/DIR/x.sh)
#
# Set before sourcing, or later (each helper reads them when it runs):
#   lib_name    the script's short name, the prefix of its messages ("cli")
#   case_name   the case being run, if the script has cases
#   work        a scratch directory (expect_rc writes $work/out, $work/err)
#   trace       a shim trace directory (events, fires, hits read it)
#   wedge       the wedge binary (skip_if_runtime_breaks reads its runtime)
#   SHIM_PRELOAD  (environment) the shim's LD_PRELOAD value, a sanitizer
#                 runtime first in sanitizer builds
#
#   lib_scratch               a fresh $work with TMPDIR=$work/tmp (mode 1777:
#                             the embedded cluster runs as an unprivileged
#                             user when we are root) and no WEDGE_* variable
#                             of the caller's environment
#   fail MSG...               print "NAME: FAIL (CASE): MSG" on stderr, exit 1
#   note MSG...               print "NAME: CASE: MSG"
#   expect_rc WANT CMD...     run CMD (stdout to $work/out, stderr to
#                             $work/err; $rc set); fail unless it exits WANT
#   expect_in FILE [--] PATTERN
#                             fail unless FILE has a line matching PATTERN
#   skip_if_runtime_breaks CMD...
#                             sanitizer builds only: exit 77 (CTest: skipped)
#                             when the sanitizer runtime alone, without
#                             wedge, breaks CMD (Debian 12: psql, pgbench
#                             hang at exit in libp11-kit with libasan)
#   wait_exit PID SECONDS     wait (polling every 0.1 s) until PID exits;
#                             SIGKILL it after SECONDS and return 1
#   running PID               PID exists and has not exited (a zombie that
#                             is not our child counts as exited)
#   assert_nothing_left [OUT] no process runs in $TMPDIR (nor carries
#                             WEDGE_CTL=OUT/ctl) and $TMPDIR is empty
#   test_dsn                  the DSN of the pg fixture's test server, whose
#                             state directory is $pg_state (fail without)
#   shim_run RULES CMD...     CMD under the shim with RULES, tracing into
#                             $trace, seed 42, bounded by 120 s
#   events [JQ-FILTER]        trace lines (not summaries) matching the filter
#   fires RULE / hits RULE    summed over the processes' summary lines
#
# Every wait here is bounded.  Works under `set -euo pipefail`.

lib_scratch() {
    rm -rf "$work"
    mkdir -p "$work"
    export TMPDIR="$work/tmp"
    mkdir -p "$TMPDIR"
    chmod 1777 "$TMPDIR"
    unset WEDGE_RULES WEDGE_RULES_FILE WEDGE_TRACE WEDGE_CTL WEDGE_SEED
}

fail() {
    echo "${lib_name:+$lib_name: }FAIL${case_name:+ ($case_name)}: $*" >&2
    exit 1
}

note() {
    echo "${lib_name:+$lib_name: }${case_name:+$case_name: }$*"
}

expect_rc() {
    local want=$1
    shift
    rc=0
    "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "---- stdout ----" >&2
        tail -n 30 "$work/out" >&2
        echo "---- stderr ----" >&2
        tail -n 30 "$work/err" >&2
        fail "expected exit $want from '$*', got $rc"
    fi
}

expect_in() {
    local file=$1
    shift
    [ "$1" != -- ] || shift # a pattern that starts with '-'
    grep -q -e "$1" "$file" || {
        tail -n 30 "$file" >&2
        fail "$file does not contain '$1'"
    }
}

# The sanitizer runtime this build preloads: the first entry of
# SHIM_PRELOAD when it has two, else the one $wedge links; "" when none.
lib_sanitizer_runtime() {
    local pre=${SHIM_PRELOAD:-}
    if [ -n "$pre" ] && [ "${pre%:*}" != "$pre" ]; then
        echo "${pre%%:*}"
    elif [ -n "${wedge:-}" ]; then
        ldd "$wedge" 2>/dev/null | sed -n 's/.*=> *\([^ ]*lib[at]san\.so[^ ]*\).*/\1/p' | head -n 1
    fi
}

skip_if_runtime_breaks() {
    local rt
    rt=$(lib_sanitizer_runtime)
    [ -n "$rt" ] || return 0
    if ! timeout 10 env LD_PRELOAD="$rt" ASAN_OPTIONS=detect_leaks=0 "$@" >/dev/null 2>&1; then
        note "SKIP: '$*' fails or hangs with only $rt preloaded (no wedge): not testable in this build"
        exit 77
    fi
}

wait_exit() {
    local pid=$1 i
    for i in $(seq $(($2 * 10))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null || return 0
    kill -KILL "$pid"
    return 1
}

# A process that is not our child (a postmaster `wedge pg start` left
# behind) stays a zombie until init reaps it: it has exited, though
# /proc/PID is still there.
running() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# No process of ours may outlive wedge: every process wedge starts carries
# WEDGE_CTL=OUT/ctl in its environment, and postgres runs in TMPDIR.
assert_nothing_left() {
    local out=${1:-} p cwd
    for p in /proc/[0-9]*; do
        if [ -n "$out" ] && tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "WEDGE_CTL=$out/ctl"; then
            fail "process ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline")) outlived wedge"
        fi
        cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
        case "$cwd" in
        "$TMPDIR"/*) fail "process ${p#/proc/} still runs in $cwd" ;;
        esac
    done
    if [ -n "$(ls -A "$TMPDIR")" ]; then
        ls -la "$TMPDIR" >&2
        fail "temporary files left in $TMPDIR"
    fi
}

test_dsn() {
    [ -n "${pg_state:-}" ] && [ -f "$pg_state/dsn" ] || fail "no test server (pg fixture) in '${pg_state:-}'"
    cat "$pg_state/dsn"
}

shim_run() {
    local rules=$1
    shift
    timeout 120 env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_RULES="$rules" WEDGE_TRACE="$trace" \
        WEDGE_SEED=42 ASAN_OPTIONS=detect_leaks=0 "$@"
}

events() { cat "$trace"/trace.*.jsonl | jq -c "select(.summary | not) | select(${1:-true})" | wc -l; }
fires() { cat "$trace"/trace.*.jsonl | jq -s "[.[] | select(.summary) | .rules[] | select(.rule == \"$1\") | .fires] | add // 0"; }
hits() { cat "$trace"/trace.*.jsonl | jq -s "[.[] | select(.summary) | .rules[] | select(.rule == \"$1\") | .hits] | add // 0"; }

# free_port: a free loopback TCP port (the kernel's choice).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
