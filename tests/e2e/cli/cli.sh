#!/usr/bin/env bash
# Tests of the `wedge` command line itself (the scenarios here are not
# races: they are the smallest inputs that exercise each path).
#
#   cli.sh CASE WEDGE WORK_DIR [PG_STATE_DIR]
#
# Cases:
#   help      --help / --version of wedge and of every subcommand, each flag
#             documented; unknown command or flag exits 2 with a hint
#   pg        wedge pg start / env / stop: a working server, then no process
#             and no directory left
#   longtmp   the same under a $TMPDIR far longer than a unix socket path
#             may be (108 bytes): the cluster still starts and answers
#   exec      exit status passed through (code, signal, 127), the seed
#             printed, the trace shows a fire, bad rules exit 2 before main
#   check     a valid scenario exits 0 (its [proxy] sections counted apart
#             from its services); a misspelled hook and an unknown
#             ${variable} (in a command or in rules) exit 2 naming
#             file:line; --rules checks rules
#   run       a complete run on the test server (--dsn): exit 0, every output
#             file, the last line "N passed, N failed"; rules expanded with
#             ${db_port} and ${port:NAME}, a job on ${dsn_uri}; --no-rules and
#             --rules TEXT set the scenario's rules aside (and a bad one exits
#             2 before anything runs); a failing job breaks
#             jobs_succeeded (exit 1); a rejected rule exits 2 (before any
#             initdb without --dsn), and so does a
#             fixture the server rejects (naming its line); a service that
#             cannot start is inconclusive (exit 3); the open model's
#             arrivals (exactly rate x duration, none early); --repeat
#   mix       a weighted HTTP mix on counterd, ready by tcp:PORT: the weights
#             hold; one user's 40 choices replay with the same seed, not another
#   signal    SIGTERM and SIGINT mid-run on the embedded cluster: exit 3, a
#             report of what completed, no process and no cluster left
#
# Every wait is bounded; CTest's TIMEOUT bounds the whole.
set -uo pipefail

case_name=${1:?usage: cli.sh CASE WEDGE WORK_DIR [PG_STATE_DIR]}
wedge=${2:?wedge binary}
work=${3:?work directory}
pg_state=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

lib_name=cli
. "$here/../../lib.sh"

lib_scratch

# libpq's Kerberos probe deadlocks inside glibc under the ASan runtime (with
# or without wedge; a sanitizer build preloads that runtime before the shim
# into what wedge runs): loopback password auth never needs it.
export PGGSSENCMODE=disable

case_help() {
    expect_rc 0 "$wedge" --help
    for c in run exec check pg isolation proxy report; do expect_in "$work/out" "^  $c"; done
    expect_rc 0 "$wedge" --version
    grep -Eq '^wedge [0-9]+\.[0-9]+\.[0-9]+$' "$work/out" || fail "--version: $(cat "$work/out")"
    expect_rc 0 "$wedge" -V
    # Every flag each subcommand accepts appears in its --help.
    expect_rc 0 "$wedge" run --help
    for f in --seed --repeat --until-fail --duration --users --rate --iterations --max-tries \
        --rules --no-rules --ready-timeout --dsn --out --quiet --help; do
        expect_in "$work/out" -- "$f"
    done
    expect_rc 0 "$wedge" exec --help
    for f in --rules --rules-file --seed --trace --ctl --quiet --help; do
        expect_in "$work/out" -- "$f"
    done
    expect_rc 0 "$wedge" check --help
    for f in --rules --rules-file --quiet --help; do expect_in "$work/out" -- "$f"; done
    expect_rc 0 "$wedge" pg --help
    for f in start stop env --state --quiet --help; do expect_in "$work/out" -- "$f"; done
    expect_rc 0 "$wedge" proxy --help
    for f in --listen --to --rules --rules-file --seed --trace --ctl --max-conns --quiet --help; do
        expect_in "$work/out" -- "$f"
    done
    expect_rc 0 "$wedge" report --help
    for f in --svg --out --help series bars; do expect_in "$work/out" -- "$f"; done
    # Mistakes: exit 2, a message that starts with "wedge:" and a hint.
    expect_rc 2 "$wedge" frobnicate
    expect_in "$work/err" "^wedge: unknown command 'frobnicate'"
    expect_in "$work/err" "wedge --help"
    # An unknown or incomplete flag: our message, not getopt's, for each
    # subcommand (getopt's own starts "run: unrecognized option").
    for c in run exec check pg isolation proxy report; do
        expect_rc 2 "$wedge" $c --bogus-flag x.scn
        expect_in "$work/err" "^wedge: $c: unknown option '--bogus-flag' (see wedge $c --help)$"
        [ "$(wc -l <"$work/err")" -eq 1 ] || fail "$c --bogus-flag: more than our one line: $(cat "$work/err")"
    done
    expect_rc 2 "$wedge" run x.scn --seed
    expect_in "$work/err" "^wedge: run: missing value for option '--seed' (see wedge run --help)$"
    expect_rc 2 "$wedge" exec -Z -- true
    expect_in "$work/err" "^wedge: exec: unknown option '-Z' (see wedge exec --help)$"
    expect_rc 2 "$wedge" check --quiet=1 x.scn
    expect_in "$work/err" "^wedge: check: no value expected for option '--quiet'"
    expect_rc 2 "$wedge" run
    expect_in "$work/err" "^wedge: run: no scenario"
    # wedge report: a directory that holds no report's files, a figure
    # wedge cannot read: exit 2, what is wrong and where.
    expect_rc 2 "$wedge" report "$work"
    expect_in "$work/err" "^wedge: report: $work/summary.json: missing or not a JSON object$"
    expect_rc 2 "$wedge" report --svg pie "$here/good.scn"
    expect_in "$work/err" "^wedge: report: $here/good.scn:1:1: "
    expect_rc 2 "$wedge" report
    expect_in "$work/err" "^wedge: report: no output directory given$"
    expect_rc 2 "$wedge" run "$here/good.scn" --repeat 2 --until-fail
    expect_rc 2 "$wedge" run "$here/good.scn" --users zero
    expect_rc 2 "$wedge" exec
    expect_rc 2 "$wedge" pg restart
    expect_rc 2 "$wedge"
}

case_pg() {
    local state="$work/pg.state" dsn dir pid
    expect_rc 0 "$wedge" pg start --state "$state"
    expect_in "$work/out" "^export WEDGE_DSN='host=127.0.0.1 port=[0-9]* user=wedge dbname=postgres passfile=$state.pgpass'$"
    expect_in "$work/out" "^export PGHOST=127.0.0.1 PGPORT=[0-9]* PGUSER=wedge PGDATABASE=postgres PGPASSFILE=$state.pgpass$"
    [ "$(stat -c %a "$state") $(stat -c %a "$state.pgpass")" = "600 600" ] ||
        fail "state and password files are not 0600"
    dir=$(sed -n 's/^dir=//p' "$state")
    pid=$(sed -n 's/^pid=//p' "$state")
    case "$dir" in "$(realpath "$TMPDIR")"/wedge-pg-*) ;; *) fail "cluster directory '$dir' not under TMPDIR" ;; esac
    running "$pid" || fail "postmaster $pid is not running"
    # A second start finds the running one instead of starting another.
    expect_rc 0 "$wedge" pg start --state "$state"
    [ "$(sed -n 's/^pid=//p' "$state")" = "$pid" ] || fail "a second start replaced the cluster"
    expect_rc 0 "$wedge" pg env --state "$state"
    eval "$(cat "$work/out")"
    [ "$(psql "$WEDGE_DSN" -Atc 'SELECT 40 + 2')" = 42 ] || fail "the cluster does not answer"
    [ "$(psql -Atc 'SELECT current_user')" = wedge ] || fail "PG* variables do not reach it"
    expect_rc 0 "$wedge" pg stop --state "$state"
    [ ! -e "$state" ] && [ ! -e "$state.pgpass" ] || fail "state or password file left behind"
    ! running "$pid" || fail "postmaster $pid still runs after stop"
    [ ! -e "$dir" ] || fail "cluster directory $dir left behind"
    expect_rc 3 "$wedge" pg env --state "$state"
    expect_in "$work/err" "no cluster running"
    expect_rc 0 "$wedge" pg stop --state "$state" # nothing to stop: fine
    assert_nothing_left "$work/none"
}

case_longtmp() {
    local state="$work/pg.state" long
    long="$TMPDIR/$(printf 'x%.0s' $(seq 120))"
    mkdir -p "$long"
    chmod 1777 "$long"
    expect_rc 0 env TMPDIR="$long" "$wedge" pg start --state "$state"
    case "$(sed -n 's/^dir=//p' "$state")" in "$(realpath "$long")"/wedge-pg-*) ;; *) fail "cluster not under $long" ;; esac
    eval "$(grep '^export WEDGE_DSN=' "$work/out")"
    [ "$(psql "$WEDGE_DSN" -Atc 'SELECT 40 + 2')" = 42 ] || fail "the cluster does not answer"
    expect_rc 0 "$wedge" pg stop --state "$state"
    rmdir "$long"
    assert_nothing_left "$work/none"
}

case_exec() {
    local dsn
    dsn=$(test_dsn)
    skip_if_runtime_breaks psql "$dsn" -Atc 'SELECT 1'
    expect_rc 7 "$wedge" exec -- sh -c 'exit 7'
    expect_in "$work/err" '^wedge: seed [0-9][0-9]*$'
    expect_rc 143 "$wedge" exec -q -- sh -c 'kill -TERM $$'
    expect_rc 127 "$wedge" exec -- "$work/no-such-program"
    expect_in "$work/err" "no-such-program"
    # Under the shim with a rule: psql's status passes through, the trace
    # shows the connect that fired, under the seed we gave.
    expect_rc 0 "$wedge" exec --rules 'connect-seen: log on sock.connect' --seed 4242 \
        --trace "$work/trace" -- psql "$dsn" -Atc 'SELECT 1'
    expect_in "$work/err" '^wedge: seed 4242$'
    cat "$work/trace"/trace.*.jsonl >"$work/trace.all"
    expect_in "$work/trace.all" '"hook":"sock.connect","rule":"connect-seen","action":"log"'
    expect_in "$work/trace.all" '"seed":"4242"'
    expect_rc 1 "$wedge" exec --rules 'log on sock.connect' -- psql "$dsn" -Atc 'SELECT nonsense'
    # The rules file form, and a delay that really holds the call.
    printf 'slow: delay 300ms on pq.query\n' >"$work/rules"
    start=$(date +%s%N)
    expect_rc 0 "$wedge" exec --rules-file "$work/rules" -- psql "$dsn" -Atc 'SELECT 1'
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    [ "$elapsed_ms" -ge 300 ] || fail "delay 300ms on pq.query: the command took only ${elapsed_ms} ms"
    # Bad rules stop the command before main: exit 2 and the position.
    expect_rc 2 "$wedge" exec --rules 'delay 5ms on sock.sned' -- sh -c 'echo main ran'
    expect_in "$work/err" "^wedge: rules:1:14: "
    grep -q "main ran" "$work/out" && fail "the command ran although its rules were refused"
    # Seed 0 is a seed like any other: given, printed and used as is.
    expect_rc 0 "$wedge" exec --rules 'connect-seen: log on sock.connect' --seed 0 \
        --trace "$work/trace0" -- psql "$dsn" -Atc 'SELECT 1'
    expect_in "$work/err" '^wedge: seed 0$'
    cat "$work/trace0"/trace.*.jsonl >"$work/trace0.all"
    expect_in "$work/trace0.all" '"seed":"0"'
    expect_rc 2 "$wedge" exec --rules x --rules-file "$work/rules" -- true
    true
}

case_check() {
    local line
    expect_rc 0 "$wedge" check "$here/good.scn"
    expect_in "$work/out" "ok (1 services, 1 jobs, 1 requests, 2 invariants)"
    # a [proxy NAME] is counted apart from the services, not among them
    { cat "$here/good.scn"; printf '[proxy db]\nto = ${db_host}:${db_port}\n'; } >"$work/proxy1.scn"
    expect_rc 0 "$wedge" check "$work/proxy1.scn"
    expect_in "$work/out" "proxy1\.scn: ok (1 services, 1 proxy, 1 jobs, 1 requests, 2 invariants)$"
    { cat "$work/proxy1.scn"; printf '[proxy web]\nto = 127.0.0.1:${port:idle}\n'; } >"$work/proxy2.scn"
    expect_rc 0 "$wedge" check "$work/proxy2.scn"
    expect_in "$work/out" "proxy2\.scn: ok (1 services, 2 proxies, 1 jobs, 1 requests, 2 invariants)$"
    # each error names the line of the key at fault, not its section's header
    line=$(grep -n '^rules = ' "$here/bad-rule.scn" | cut -d: -f1)
    expect_rc 2 "$wedge" check "$here/bad-rule.scn"
    expect_in "$work/err" "^wedge: .*bad-rule\.scn:$line: service idle: rules:1:14: unknown hook 'sock.sned'"
    line=$(grep -n '^command = ' "$here/bad-var.scn" | cut -d: -f1)
    expect_rc 2 "$wedge" check "$here/bad-var.scn"
    expect_in "$work/err" "^wedge: .*bad-var\.scn:$line: command: .*prot"
    expect_rc 0 "$wedge" check "$here/rules-expand.scn"
    line=$(grep -n '^rules = ' "$here/bad-rule-var.scn" | cut -d: -f1)
    expect_rc 2 "$wedge" check "$here/bad-rule-var.scn"
    expect_in "$work/err" "^wedge: .*bad-rule-var\.scn:$line: service idle: rules: unknown service 'nope' in '\${port:nope}'"
    expect_rc 0 "$wedge" check --rules 'barrier b 2 timeout 250ms after pq.query where sql ~ "SELECT"'
    expect_rc 2 "$wedge" check --rules 'delay 5ms on sock.send; delay 5 on sock.recv'
    expect_in "$work/err" "^wedge: rules:1:"
    printf '# two rules\ndelay 1ms on sock.send\nfail EBOGUS on sock.recv\n' >"$work/r"
    expect_rc 2 "$wedge" check --rules-file "$work/r"
    expect_in "$work/err" "^wedge: $work/r:3:"
    # a rules file that is not text, or not a file, is no silent "ok"
    printf 'log on sock.send\n\0fail EBOGUS on sock.recv\n' >"$work/r"
    expect_rc 2 "$wedge" check --rules-file "$work/r"
    expect_in "$work/err" "^wedge: $work/r:2:1: a NUL byte; the file must be text$"
    expect_rc 2 "$wedge" check --rules-file "$work"
    expect_in "$work/err" "^wedge: check: $work: not a regular file (a directory)$"
    printf '[scenario]\nname = d\n[service s]\ncommand = true\nrules_file = %s\n[workload]\nrequest = GET /\n' \
        "$work" >"$work/dir.scn"
    expect_rc 2 "$wedge" check "$work/dir.scn"
    expect_in "$work/err" "^wedge: $work/dir.scn:5: rules file '$work' is not a regular file (a directory)$"
    expect_rc 2 "$wedge" check "$work/missing.scn"
    expect_rc 2 "$wedge" check
}

case_run() {
    local dsn out
    dsn=$(test_dsn)
    skip_if_runtime_breaks psql "$dsn" -Atc 'SELECT 1'
    out="$work/good"
    # Seed 0 is a real seed (not "draw one"): it is the run's, and replays.
    expect_rc 0 "$wedge" run "$here/good.scn" --dsn "$dsn" --seed 0 --out "$out"
    for f in summary.json junit.xml report.md report.html latency.hgrm history.jsonl; do
        [ -s "$out/$f" ] || fail "$out/$f missing or empty"
    done
    for f in logs/idle.log logs/setup.log; do [ -e "$out/$f" ] || fail "$out/$f missing"; done
    [ -d "$out/traces" ] || fail "no traces directory"
    [ "$(tail -n 1 "$work/out")" = "4 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    expect_in "$work/out" "reproduce: wedge run .*good.scn --seed 0 "
    expect_in "$work/out" "^wedge: cli-good  seed 0  "
    [ "$(jq -r .seed "$out/summary.json")" = 0 ] || fail "summary.json seed: $(jq -r .seed "$out/summary.json")"
    # ... on the same server: the reproduce command carries --dsn.
    grep -qF -- "--seed 0 --dsn '$dsn'" "$work/out" || fail "reproduce lacks --dsn: $(grep reproduce "$work/out")"
    [ "$(grep -c '"type":"invoke"' "$out/history.jsonl")" -eq 20 ] || fail "20 invokes expected"
    [ "$(grep -c '"type":"ok"' "$out/history.jsonl")" -eq 20 ] || fail "20 ok outcomes expected"
    # The service ran under the shim with its rule and the run's seed.
    grep -q '"rule":"rule1"' "$out"/traces/trace.*.jsonl 2>/dev/null ||
        grep -q '"summary":true' "$out"/traces/trace.*.jsonl || fail "no shim trace from the service"
    assert_nothing_left "$out"

    # Rules expanded like the rest: the job's rules named the database's
    # port and the service's (which it never connects to), and it reached
    # the database by ${dsn_uri}.
    out="$work/expand"
    expect_rc 0 "$wedge" run "$here/rules-expand.scn" --dsn "$dsn" --seed 3 --out "$out"
    cat "$out"/traces/trace.*.jsonl >"$work/expand.all"
    expect_in "$work/expand.all" '"hook":"sock.connect","rule":"db"'
    grep -q '"rule":"other","action":"log","outcome"' "$work/expand.all" &&
        fail "a rule on the service's port fired in the job"
    assert_nothing_left "$out"

    # --no-rules: the same scenario with no rule at all; the shim still
    # loads and writes its summary, and the job's own rule never fires.
    out="$work/norules"
    expect_rc 0 "$wedge" run "$here/rules-expand.scn" --dsn "$dsn" --seed 3 --no-rules --out "$out"
    cat "$out"/traces/trace.*.jsonl >"$work/norules.all"
    expect_in "$work/norules.all" '"summary":true'
    grep -q '"rule":' "$work/norules.all" && fail "--no-rules: a rule fired: $(grep '"rule":' "$work/norules.all" | head -n 1)"
    expect_in "$work/out" "reproduce: wedge run .*rules-expand.scn --seed 3 .*--no-rules"
    assert_nothing_left "$out"
    # --rules TEXT: these rules, expanded, instead of every process's own.
    out="$work/ownrules"
    expect_rc 0 "$wedge" run "$here/rules-expand.scn" --dsn "$dsn" --seed 3 --out "$out" \
        --rules 'mine: log on sock.connect where port = ${db_port}'
    cat "$out"/traces/trace.*.jsonl >"$work/ownrules.all"
    expect_in "$work/ownrules.all" '"hook":"sock.connect","rule":"mine"'
    grep -q '"rule":"db"' "$work/ownrules.all" && fail "--rules: the scenario's own rule still fired"
    grep -qF -- "--rules 'mine: log on sock.connect where port = \${db_port}'" "$work/out" ||
        fail "reproduce lacks --rules: $(grep reproduce "$work/out")"
    assert_nothing_left "$out"
    # A rule given so is checked before anything starts; one of the two only.
    expect_rc 2 "$wedge" run "$here/rules-expand.scn" --dsn "$dsn" --out "$work/badrules" \
        --rules 'dealy 1ms on pq.query'
    expect_in "$work/err" "rules:1:1: unknown action 'dealy' (did you mean 'delay'?)"
    [ "$(tail -n 1 "$work/out")" = "0 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    expect_rc 2 "$wedge" run "$here/rules-expand.scn" --rules 'log on *' --no-rules
    expect_in "$work/err" "wedge: run: --rules and --no-rules: give one, once"

    out="$work/failing"
    expect_rc 1 "$wedge" run "$here/failing-job.scn" --dsn "$dsn" --seed 12 --out "$out"
    expect_in "$work/out" "FAIL  jobs_succeeded"
    [ "$(tail -n 1 "$work/out")" = "1 passed, 1 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    [ "$(jq -r '.invariants[] | select(.name == "jobs_succeeded") | .status' "$out/summary.json")" = failed ] ||
        fail "summary.json does not hold jobs_succeeded failed"
    expect_in "$out/logs/broken.log" "about to fail"

    out="$work/badrule"
    expect_rc 2 "$wedge" run "$here/bad-rule.scn" --dsn "$dsn" --out "$out"
    expect_in "$work/err" "bad-rule\.scn:[0-9]*: service idle: rules:1:14: unknown hook"
    # A configuration error still ends with the verdict line.
    [ "$(tail -n 1 "$work/out")" = "0 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    assert_nothing_left "$out"
    # Without --dsn: the rules are refused before any throwaway cluster.
    out="$work/badrule-embedded"
    expect_rc 2 "$wedge" run "$here/bad-rule.scn" --out "$out"
    expect_in "$work/err" "bad-rule\.scn:[0-9]*: service idle: rules:1:14: unknown hook"
    grep -q "initdb" "$work/err" && fail "initdb ran before the rules were refused: $(cat "$work/err")"
    [ "$(tail -n 1 "$work/out")" = "0 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    assert_nothing_left "$out"
    # A scenario error too.
    expect_rc 2 "$wedge" run "$work/missing.scn" --dsn "$dsn" --out "$work/missing"
    expect_in "$work/err" "^wedge: .*missing\.scn"
    [ "$(tail -n 1 "$work/out")" = "0 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"

    out="$work/open"
    expect_rc 0 "$wedge" run "$here/open.scn" --dsn "$dsn" --out "$out"
    # Arrival k is due at k * 20 ms: the last of the 50 is not sent before 980 ms.
    last=$(jq -s 'map(select(.type == "invoke") | .t_ns) | max' "$out/history.jsonl")
    [ "$last" -ge 980000000 ] || fail "open model: the last arrival was sent at $last ns, before it was due"
    [ "$(jq -s 'map(select(.type == "invoke")) | length' "$out/history.jsonl")" -eq 50 ] ||
        fail "open model: not exactly 50 arrivals"

    out="$work/nostart"
    expect_rc 3 "$wedge" run "$here/nostart.scn" --dsn "$dsn" --out "$out"
    expect_in "$work/err" "service broken exited (status 4) before it was ready"
    expect_in "$work/err" "^cannot start$"
    [ "$(tail -n 1 "$work/out")" = "0 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    assert_nothing_left "$out"

    # A fixture the server rejects: exit 2, naming the scenario's line.
    expect_rc 2 "$wedge" run "$here/bad-fixture.scn" --dsn "$dsn" --out "$work/bad-fixture"
    expect_in "$work/err" "^wedge: .*bad-fixture.scn:8: fixture: .*no_such_table"
    # nothing ran to judge: no summary.json (docs/scenarios.md)
    [ -e "$work/bad-fixture/summary.json" ] && fail "a run that exited 2 wrote a summary.json"

    out="$work/repeat"
    expect_rc 0 "$wedge" run "$here/good.scn" --dsn "$dsn" --seed 5 --repeat 3 --out "$out"
    for k in 1 2 3; do [ -s "$out/run-$k/summary.json" ] || fail "no run-$k/summary.json"; done
    for k in 1 2 3; do [ -s "$out/run-$k/report.html" ] || fail "no run-$k/report.html"; done
    expect_in "$out/report.html" '<span class="cell passed" title="run-3, seed'
    [ "$(tail -n 1 "$work/out")" = "12 passed, 0 failed" ] || fail "last line: $(tail -n 1 "$work/out")"
    expect_in "$work/out" "3 runs, 0 found a violation"
    [ "$(awk -F'\t' 'NR > 1 && $3 == 0' "$out/outcomes.tsv" | wc -l)" -eq 3 ] ||
        fail "outcomes.tsv does not list 3 passing runs"
    [ "$(awk -F'\t' 'NR == 2 {print $2}' "$out/outcomes.tsv")" = 5 ] || fail "run 1 must use the base seed"
    [ "$(cut -f2 "$out/outcomes.tsv" | sort -u | wc -l)" -eq 4 ] || fail "seeds are not distinct"
    assert_nothing_left "$out"
}

case_mix() {
    local dsn out n same gets
    dsn=$(test_dsn)
    [ -x "$(dirname "$wedge")/counterd" ] || fail "counterd is not built next to wedge"
    out="$work/mix1"
    expect_rc 0 "$wedge" run "$here/mix.scn" --dsn "$dsn" --seed 21 --out "$out"
    # Weights 3:1 over 400 requests: 300 GETs expected, 5 sigma is +-44.
    gets=$(jq -r '.requests[] | select(.label == "GET /health") | .ok' "$out/summary.json")
    [ "$gets" -ge 256 ] && [ "$gets" -le 344 ] || fail "weights 3:1 gave $gets GETs of 400"
    # The same seed replays a user's sequence of choices.  One user with a
    # fixed count, so the number of choices compared is 40 whatever the
    # machine's load: with several users, how many requests each makes
    # depends on timing (a user whose POST waits for counterd to open a
    # database connection leaves the iterations to the others).
    local one=(--set workload.users=1 --set workload.iterations=40
        --set 'invariants.all_ok=history: ok == 40')
    expect_rc 0 "$wedge" run "$here/mix.scn" --dsn "$dsn" "${one[@]}" --seed 21 --out "$work/one1"
    expect_rc 0 "$wedge" run "$here/mix.scn" --dsn "$dsn" "${one[@]}" --seed 21 --out "$work/one2"
    expect_rc 0 "$wedge" run "$here/mix.scn" --dsn "$dsn" "${one[@]}" --seed 22 --out "$work/one3"
    # choices A B: "N same|differ", N the choices each run made (both must
    # make the same number) and whether they were the same, in order.
    choices() {
        python3 - "$1/history.jsonl" "$2/history.jsonl" <<'PY'
import json, sys
def seq(path):
    s = {}
    for line in open(path):
        e = json.loads(line)
        if e["type"] == "invoke":
            s[(e["user"], e["seq"])] = e["req"]
    return [s[k] for k in sorted(s)]
a, b = seq(sys.argv[1]), seq(sys.argv[2])
n = len(a) if len(a) == len(b) else -1
print(n, "same" if a == b else "differ")
PY
    }
    read -r n same <<<"$(choices "$work/one1" "$work/one2")"
    [ "$n" -eq 40 ] || fail "seed 21 twice: expected 40 choices in each run (got $n)"
    [ "$same" = same ] || fail "seed 21 did not replay the user's 40 choices"
    read -r n same <<<"$(choices "$work/one1" "$work/one3")"
    [ "$n" -eq 40 ] || fail "seeds 21 and 22: expected 40 choices in each run (got $n)"
    [ "$same" = differ ] || fail "seeds 21 and 22 made the same 40 choices"
    assert_nothing_left "$out"
}

# signal_run SIG: interrupt a long run once its load runs.
signal_run() {
    local sig=$1 out="$work/$1" pid i
    "$wedge" run "$here/long.scn" --seed 9 --out "$out" >"$work/$sig.log" 2>&1 &
    pid=$!
    for i in $(seq 600); do
        [ -s "$out/history.jsonl" ] && grep -q '"type":"ok"' "$out/history.jsonl" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '"type":"ok"' "$out/history.jsonl" 2>/dev/null || {
        kill -KILL "$pid" 2>/dev/null
        tail -n 30 "$work/$sig.log" >&2
        fail "the load did not start within 60 s"
    }
    note "SIG$sig to wedge $pid"
    kill -"$sig" "$pid"
    wait_exit "$pid" 30 || fail "wedge still ran 30 s after SIG$sig"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 3 ] || {
        tail -n 30 "$work/$sig.log" >&2
        fail "expected exit 3 after SIG$sig, got $rc"
    }
    [ -s "$out/summary.json" ] || fail "no summary.json after SIG$sig"
    [ "$(jq -r '.exit_code' "$out/summary.json")" = 3 ] || fail "summary.json exit_code is not 3"
    expect_in "$work/$sig.log" "interrupted"
    # one and service_alive pass; jobs_succeeded cannot be judged (the job
    # was stopped by the signal): neither passed nor failed.
    [ "$(tail -n 1 "$work/$sig.log")" = "2 passed, 0 failed" ] ||
        fail "last line: $(tail -n 1 "$work/$sig.log")"
    assert_nothing_left "$out"
}

case_signal() {
    signal_run TERM
    signal_run INT
}

case "$case_name" in
help) case_help ;;
pg) case_pg ;;
longtmp) case_longtmp ;;
exec) case_exec ;;
check) case_check ;;
run) case_run ;;
mix) case_mix ;;
signal) case_signal ;;
*) fail "unknown case '$case_name'" ;;
esac
note "ok"
