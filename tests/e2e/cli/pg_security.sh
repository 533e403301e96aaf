#!/usr/bin/env bash
# `wedge pg` and the throwaway cluster, checked as a second local user
# would try to turn them against their user.
#
#   pg_security.sh CASE WEDGE WORK_DIR [PG_STATE_DIR]
#
# Cases:
#   state     a state file wedge did not write, or that names what is not
#             its cluster, moves nothing: a non-canonical dir (../), a dir
#             with no marker, a pid that postmaster.pid does not name, a
#             symlinked, group-writable or foreign-owned file: exit 2, the
#             victim process and files untouched, the cluster still up;
#             printed lines are shell-quoted (a --state path with $(...) in
#             it is evaluated as text); a cluster whose directory is gone
#             is forgotten
#   private   the default state lives in $XDG_RUNTIME_DIR when it is private,
#             else in /tmp/wedge-UID, refused when that is someone else's or
#             has group/other access (in a private mount namespace)
#   auth      a second local user (nobody) cannot connect to `wedge pg`'s
#             cluster (no password supplied / password authentication
#             failed, so no COPY ... TO PROGRAM) nor read its state or
#             password file; the owner can, through the printed lines
#   runauth   the same for `wedge run`'s embedded cluster, from a job of the
#             run (while it runs); the owner's ${dsn} works, and the
#             password appears in none of the run's outputs
#   secrets   --dsn with `password\t=S3cret` and with `password=S3c\ ZZleak`
#             (libpq's blanks before '=' and backslash escapes): a run on
#             the test server as roles with those passwords shows neither in
#             stdout, stderr, summary.json, junit.xml, report.md,
#             history.jsonl, the traces or the logs (PG_STATE_DIR needed)
#
# Needs root for the second user (exit 77 otherwise, CTest: skipped).
set -uo pipefail

case_name=${1:?usage: pg_security.sh CASE WEDGE WORK_DIR}
wedge=${2:?wedge binary}
work=${3:?work directory}
pg_state=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

lib_name=pg_security
. "$here/../../lib.sh"

rm -rf "$work"
mkdir -p "$work"
chmod 755 "$work"
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"
chmod 1777 "$TMPDIR"
export PGGSSENCMODE=disable
unset WEDGE_RULES WEDGE_RULES_FILE WEDGE_TRACE WEDGE_CTL WEDGE_SEED PGPASSFILE PGPASSWORD

# The second local user: nobody, unless the cluster itself runs as nobody
# (no postgres user), then daemon.
other_user() {
    if id postgres >/dev/null 2>&1; then echo nobody; else echo daemon; fi
}

need_root() {
    if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
        note "SKIP: needs root and setpriv to act as a second local user"
        exit 77
    fi
}

# as_other CMD...: CMD as the second local user, from a directory it may enter.
as_other() {
    local u
    u=$(other_user)
    (cd / && setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups \
        env -u PGPASSFILE HOME=/ "$@")
}

# A cluster for the case: its state file, directory, pid, port.
start_cluster() {
    state=$1
    expect_rc 0 "$wedge" pg start --state "$state"
    dir=$(sed -n 's/^dir=//p' "$state")
    pid=$(sed -n 's/^pid=//p' "$state")
    port=$(sed -n 's/^port=//p' "$state")
    id=$(sed -n 's/^id=//p' "$state")
    running "$pid" || fail "postmaster $pid is not running"
}

# forge FILE dir=... pid=...: a state file of ours with these values.
forge() {
    local f=$1
    shift
    printf '%s\n' "$@" >"$f"
    chmod 600 "$f"
}

# The victims of a hostile state file: an unrelated process and files.
victims() {
    sleep 300 &
    victim=$!
    mkdir -p "$work/precious/wedge-pg-x" "$work/fake/wedge-pg-abc"
    echo keep >"$work/precious/keep"
    echo keep >"$work/fake/wedge-pg-abc/keep"
}

victims_intact() {
    kill -0 "$victim" 2>/dev/null || fail "the unrelated process $victim was killed"
    [ -f "$work/precious/keep" ] || fail "a file outside any cluster was deleted"
    [ -f "$work/fake/wedge-pg-abc/keep" ] || fail "a directory without the marker was deleted"
    running "$pid" || fail "the real postmaster $pid was stopped"
}

case_state() {
    local st="$work/st" bad="$work/bad"
    # A --state path a shell would run if it were printed unquoted.
    local weird="$work/a'\$(touch pwned)'b\`touch pwned2\`"
    start_cluster "$weird"
    (cd "$work" && eval "$(cat "$work/out")" && psql -X -w "$WEDGE_DSN" -Atc 'SELECT 1' >"$work/eval.out" 2>&1) ||
        fail "the printed lines do not connect: $(cat "$work/eval.out")"
    [ ! -e "$work/pwned" ] && [ ! -e "$work/pwned2" ] || fail "eval ran a command from the --state path"
    cp -p "$weird" "$st"
    cp -p "$weird.pgpass" "$st.pgpass"
    victims
    forge "$bad" "dir=$work/precious/wedge-pg-x/.." "id=$id" "port=$port" "pid=$victim"
    expect_rc 2 "$wedge" pg stop --state "$bad"
    expect_in "$work/err" "is not the canonical path of a wedge-pg-\* directory: not touching it"
    victims_intact
    forge "$bad" "dir=$work/fake/wedge-pg-abc" "id=$id" "port=$port" "pid=$victim"
    expect_rc 2 "$wedge" pg stop --state "$bad"
    expect_in "$work/err" "holds no wedge marker with the recorded id"
    victims_intact
    forge "$bad" "dir=$dir" "id=$id" "port=$port" "pid=$victim"
    expect_rc 2 "$wedge" pg stop --state "$bad"
    expect_in "$work/err" "postmaster.pid names pid $pid, the state file pid $victim"
    victims_intact
    forge "$bad" "dir=$dir" "id=00000000000000000000000000000000" "port=$port" "pid=$pid"
    expect_rc 2 "$wedge" pg stop --state "$bad"
    victims_intact
    # The old format's dsn= line (printed unescaped once) is not trusted.
    forge "$bad" "dir=$dir" "dsn=x'; touch $work/pwned; '" "port=$port" "pid=$pid"
    expect_rc 2 "$wedge" pg env --state "$bad"
    expect_in "$work/err" "not a line wedge pg writes"
    [ ! -e "$work/pwned" ] || fail "a dsn= line ran a command"
    ln -s "$st" "$work/link"
    expect_rc 2 "$wedge" pg stop --state "$work/link"
    expect_in "$work/err" "a symlink, not trusted"
    cp -p "$st" "$bad"
    chmod 620 "$bad"
    expect_rc 2 "$wedge" pg stop --state "$bad"
    expect_in "$work/err" "writable by group or others (mode 0620): not trusted"
    if [ "$(id -u)" -eq 0 ]; then
        chmod 600 "$bad"
        chown nobody "$bad"
        expect_rc 2 "$wedge" pg stop --state "$bad"
        expect_in "$work/err" "owned by uid $(id -u nobody), not by you (uid 0): not trusted"
    fi
    victims_intact
    # The genuine record stops the genuine cluster and nothing else.
    expect_rc 0 "$wedge" pg stop --state "$st"
    ! running "$pid" || fail "postmaster $pid still runs after stop"
    [ ! -e "$dir" ] && [ ! -e "$st" ] && [ ! -e "$st.pgpass" ] || fail "stop left files behind"
    kill -0 "$victim" 2>/dev/null || fail "stop killed the unrelated process"
    kill "$victim"
    # A record whose cluster is gone (a reboot) is forgotten, not an error.
    expect_rc 0 "$wedge" pg stop --state "$weird"
    expect_in "$work/err" "already gone: forgot it"
    [ ! -e "$weird" ] && [ ! -e "$weird.pgpass" ] || fail "the stale record was kept"
}

case_private() {
    local rt="$work/rt" uid
    uid=$(id -u)
    mkdir -m 700 "$rt"
    XDG_RUNTIME_DIR="$rt" expect_rc 3 "$wedge" pg env
    expect_in "$work/err" "no cluster running ($rt/wedge-pg.state)"
    if ! unshare -m true 2>/dev/null; then
        note "SKIP: no private mount namespace (unshare -m) to test /tmp/wedge-$uid in"
        exit 77
    fi
    # /tmp of our own: a $XDG_RUNTIME_DIR others may enter is passed over
    # for /tmp/wedge-UID, created 0700, or refused.  The tmpfs hides a
    # build tree under /tmp: the script enters wedge's folder first, and
    # ./wedge is found through that working directory, under the mount.
    local wdir wbin
    wdir=$(cd "$(dirname "$wedge")" && pwd) wbin=./$(basename "$wedge")
    cat >"$work/ns.sh" <<EOF
set -u
cd "$wdir" || exit 9
mount -t tmpfs none /tmp || exit 9
mkdir -m 755 /tmp/rt
XDG_RUNTIME_DIR=/tmp/rt "$wbin" pg env; echo "rc=\$?"
stat -c '%a %u' /tmp/wedge-$uid
chmod 755 /tmp/wedge-$uid
"$wbin" pg env; echo "rc=\$?"
rmdir /tmp/wedge-$uid && ln -s / /tmp/wedge-$uid
"$wbin" pg env; echo "rc=\$?"
EOF
    unshare -m sh "$work/ns.sh" >"$work/ns.out" 2>&1
    cat "$work/ns.out"
    expect_in "$work/ns.out" "no cluster running (/tmp/wedge-$uid/wedge-pg.state)"
    expect_in "$work/ns.out" "^700 $uid$"
    expect_in "$work/ns.out" "^wedge: pg: /tmp/wedge-$uid: it has group or other access (mode 0755, expected 0700)"
    expect_in "$work/ns.out" "^wedge: pg: /tmp/wedge-$uid: it is a symlink or not a directory"
    [ "$(grep -c '^rc=2$' "$work/ns.out")" -eq 2 ] || fail "a refused private directory must exit 2"
    if [ "$uid" -eq 0 ]; then
        cat >"$work/ns2.sh" <<EOF
cd "$wdir" || exit 9
mount -t tmpfs none /tmp || exit 9
mkdir -m 700 /tmp/wedge-0 && chown nobody /tmp/wedge-0
"$wbin" pg start; echo "rc=\$?"
EOF
        unshare -m sh "$work/ns2.sh" >"$work/ns.out" 2>&1
        expect_in "$work/ns.out" "^wedge: pg: /tmp/wedge-0: it is owned by uid $(id -u nobody), not by you (uid 0)"
        expect_in "$work/ns.out" "^rc=2$"
    fi
}

# expect_refused PORT: the second user gets no session, with or without a
# guessed password, so it cannot run COPY ... TO PROGRAM as the owner.
expect_refused() {
    local p=$1
    as_other psql -X -w "host=127.0.0.1 port=$p user=wedge dbname=postgres" \
        -c "COPY (SELECT 1) TO PROGRAM 'id'" >"$work/other.out" 2>&1 &&
        fail "$(other_user) ran COPY TO PROGRAM on the cluster: $(cat "$work/other.out")"
    expect_in "$work/other.out" "fe_sendauth: no password supplied"
    as_other env PGPASSWORD=guess psql -X -w "host=127.0.0.1 port=$p user=wedge dbname=postgres" \
        -c "SELECT 1" >"$work/other.out" 2>&1 && fail "$(other_user) connected with a guessed password"
    expect_in "$work/other.out" "password authentication failed for user \"wedge\""
}

case_auth() {
    need_root
    start_cluster "$work/st"
    expect_refused "$port"
    for f in "$work/st" "$work/st.pgpass"; do
        as_other cat "$f" >"$work/other.out" 2>&1 && fail "$(other_user) read $f"
        expect_in "$work/other.out" "Permission denied"
    done
    expect_rc 0 "$wedge" pg env --state "$work/st"
    (eval "$(cat "$work/out")" && [ "$(psql -X -w -Atc 'SELECT current_user')" = wedge ]) ||
        fail "the owner cannot connect through the printed lines"
    expect_rc 0 "$wedge" pg stop --state "$work/st"
}

case_runauth() {
    need_root
    local out="$work/run" secret f
    skip_if_runtime_breaks psql --version
    export OTHER_USER
    OTHER_USER=$(other_user)
    expect_rc 0 "$wedge" run "$here/other-user.scn" --seed 3 --out "$out"
    cp "$work/out" "$work/run.stdout"
    cp "$work/err" "$work/run.stderr"
    cat "$out/logs/intruder.log"
    expect_in "$out/logs/intruder.log" "no password supplied"
    expect_in "$out/logs/intruder.log" "password authentication failed for user \"wedge\""
    expect_in "$out/logs/intruder.log" "owner: 1"
    secret=$(cat "$out.secret")
    [ "${#secret}" -eq 32 ] || fail "no password in the run's \${dsn}: '$secret'"
    for f in "$work/run.stdout" "$work/run.stderr" "$out"/summary.json "$out"/junit.xml \
        "$out"/report.md "$out"/history.jsonl "$out"/traces/*.jsonl; do
        [ -f "$f" ] || fail "no $f"
        grep -qF "$secret" "$f" && fail "the cluster's password is in $f"
    done
    grep -qF 'password=***' "$out/summary.json" || fail "summary.json does not show the password as ***"
    note "the password is in none of $(ls "$out"/traces/*.jsonl | wc -l) traces and the reports"
}

# leak_run NAME DSN SECRET...: a run of secrets.scn with --dsn DSN; none
# of SECRET in anything it printed or wrote.
leak_run() {
    local name=$1 dsn=$2 out="$work/$1" f s
    shift 2
    expect_rc 1 "$wedge" run "$here/secrets.scn" --dsn "$dsn" --seed 4 --out "$out"
    cp "$work/out" "$out.stdout"
    cp "$work/err" "$out.stderr"
    expect_in "$out.stdout" "FAIL  fails"
    expect_in "$out.stdout" "PASS  six"
    expect_in "$out.stdout" "password.*=\*\*\*"
    grep -q '"hook":"pq.connect"' "$out"/traces/*.jsonl || fail "$name: no pq.connect in the traces"
    for f in "$out.stdout" "$out.stderr" "$out/summary.json" "$out/junit.xml" "$out/report.md" \
        "$out/history.jsonl" "$out"/traces/*.jsonl "$out"/logs/*.log; do
        [ -f "$f" ] || fail "$name: no $f"
        for s in "$@"; do
            ! grep -qF -- "$s" "$f" || fail "$name: '$s' is in $f: $(grep -F -- "$s" "$f" | head -3)"
        done
    done
    note "$name: none of $* in $(ls "$out"/traces/*.jsonl | wc -l) traces, the logs and reports"
}

case_secrets() {
    local base port
    [ -n "$pg_state" ] && [ -f "$pg_state/dsn" ] || fail "no test server (pg fixture) in '$pg_state'"
    base=$(cat "$pg_state/dsn")
    port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$base")
    skip_if_runtime_breaks psql -X "$base" -Atc 'SELECT 1'
    # (kept between runs: the databases a run makes are left, owned by them)
    psql -X -q -v ON_ERROR_STOP=1 "$base" -c "DO \$\$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wedge_leak1') THEN
            CREATE ROLE wedge_leak1 LOGIN SUPERUSER; END IF;
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wedge_leak2') THEN
            CREATE ROLE wedge_leak2 LOGIN SUPERUSER; END IF; END \$\$" \
        -c "ALTER ROLE wedge_leak1 PASSWORD 'S3cret'" -c "ALTER ROLE wedge_leak2 PASSWORD 'S3c ZZleak'" ||
        fail "cannot create the test roles"
    leak_run tab "host=127.0.0.1 port=$port dbname=postgres user=wedge_leak1 password	=S3cret" S3cret
    leak_run escape "host=127.0.0.1 port=$port dbname=postgres user=wedge_leak2 password=S3c\ ZZleak" \
        ZZleak "S3c\\" "S3c "
}

case "$case_name" in
secrets) case_secrets ;;
state) case_state ;;
private) case_private ;;
auth) case_auth ;;
runauth) case_runauth ;;
*) fail "unknown case '$case_name'" ;;
esac
note "ok"
