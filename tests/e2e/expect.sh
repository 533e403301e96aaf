# Sourced by the end-to-end test scripts (tests/e2e/cli/cli.sh,
# tests/e2e/cli/pg_security.sh); they define fail and $work.
#
# expect_rc WANT CMD...: run CMD, stdout to $work/out, stderr to $work/err;
# fail (showing both tails) unless it exits WANT.  Sets $rc.
expect_rc() {
    local want=$1
    shift
    "$@" >"$work/out" 2>"$work/err"
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "---- stdout ----" >&2
        tail -n 30 "$work/out" >&2
        echo "---- stderr ----" >&2
        tail -n 30 "$work/err" >&2
        fail "expected exit $want from '$*', got $rc"
    fi
}

# expect_in FILE REGEX: fail (showing FILE's tail) unless a line matches.
expect_in() {
    grep -q -e "$2" "$1" || {
        tail -n 30 "$1" >&2
        fail "$1 does not contain '$2'"
    }
}
