# Sourced by the end-to-end test scripts (tests/e2e/cli/cli.sh,
# tests/e2e/cli/pg_security.sh, tests/e2e/service/e2e.sh).
#
# wait_exit PID SECONDS: wait, polling every 0.1 s, until PID has exited;
# if it still runs after SECONDS, SIGKILL it and return 1.
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

# running PID: PID exists and has not exited.  A process that is not our
# child (a postmaster `wedge pg start` left behind) stays a zombie until
# init reaps it: it has exited, though /proc/PID is still there.
running() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
