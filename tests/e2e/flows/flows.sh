#!/usr/bin/env bash
# Scenarios for real flows, and a CI gate that cannot pass by mistake
# (issue 15), end to end on the shop and the test server (pg fixture).
#
#   flows.sh CASE WEDGE WORK_DIR PG_STATE_DIR
#
# Cases:
#   gate     a load that did not happen is never a pass: the typo scenario
#            (request = POST /buy${bar}) refused by wedge check with
#            file:line:col and by wedge run before anything starts (exit 3);
#            a scenario whose every request fails, and one above its
#            max_info, inconclusive (exit 3) naming the cause; wedge check
#            of several files; --set errors name the override
#   flow     the shop's checkout flow (cart -> line -> checkout -> pay with
#            the captured ids, a bearer token from ${env:SHOP_TOKEN}) on
#            services wedge starts: exit 0 with thresholds, expects and an
#            HTTP invariant; slowed (--set rules: delay 50ms on pq.query)
#            the latency threshold breaks (exit 1); answering the wrong
#            status (SHOP_PAYMENT=naive: 409 to a repeated payment) its
#            expect and failed < 1% break (exit 1)
#   target   the same flow against a shop started outside wedge (target =
#            http://127.0.0.1:${env:SHOP_PORT}): exit 0; the same shop
#            slowed under `wedge exec --rules` breaks the threshold (exit 1)
#   repeat   --repeat 5 --json: one junit.xml with 5 x invariants
#            testcases that validates against junit.xsd and that a JUnit
#            reader (junitparser) reads; the summary.json document on
#            stdout parses with jq, everything else on stderr
#   several  two scenarios in one wedge run: OUT/NAME each, one combined
#            junit.xml and summary.json, the exit code combined; the
#            directory copied elsewhere (CI artifacts), `wedge report` of
#            the copy still finds each scenario's run
#
# Every wait is bounded; CTest's TIMEOUT bounds the whole.
set -uo pipefail

case_name=${1:?usage: flows.sh CASE WEDGE WORK_DIR PG_STATE_DIR}
wedge=${2:?wedge binary}
work=${3:?work directory}
pg_state=${4:?pg fixture state directory}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(dirname "$wedge")

lib_name=flows
. "$here/../../lib.sh"

lib_scratch
unset SHOP_PAYMENT
export PGGSSENCMODE=disable
export SHOP_TOKEN="tok-$$"
[ -f "$pg_state/dsn" ] || fail "no test server (pg fixture) in '$pg_state'"
dsn=$(cat "$pg_state/dsn")

# wedge run on the test server, quiet, into $work/NAME.
run() {
    local want=$1 out=$work/$2
    shift 2
    expect_rc "$want" "$wedge" run "$@" --dsn "$dsn" --out "$out" -q
}

case_gate() {
    expect_rc 2 "$wedge" check "$here/typo.scn"
    line=$(grep -n 'POST /buy' "$here/typo.scn" | cut -d: -f1)
    expect_in "$work/err" "^wedge: .*typo\.scn:$line:20: unknown variable '\${bar}' (known: build,"
    run 3 typo "$here/typo.scn"
    expect_in "$work/err" "typo\.scn:$line:20: unknown variable '\${bar}'"
    expect_in "$work/err" "typo\.scn: the load cannot happen: nothing was started"
    [ ! -e "$work/typo/history.jsonl" ] || fail "the typo scenario sent requests"
    run 3 allfail "$here/allfail.scn"
    expect_in "$work/out" "^  inconclusive: no request succeeded: 20 of 20 failed (first: HTTP 404 on POST /buy)$"
    expect_in "$work/out" "^2 passed, 0 failed$"
    [ "$(jq -r .verdict "$work/allfail/summary.json")" = inconclusive ] || fail "allfail: verdict"
    xmllint --xpath 'string(//testcase[@name="run"]/error/@message)' "$work/allfail/junit.xml" |
        grep -q '^no request succeeded' || fail "allfail: no error testcase 'run' in junit.xml"
    run 3 maxinfo "$here/maxinfo.scn" --seed 7
    expect_in "$work/out" "^  inconclusive: [0-9.]*% of requests had no known outcome (info), above max_info = 10% (first: HTTP 503 on POST /orders/1/pay)$"
    # several files: every one checked, every error printed
    expect_rc 2 "$wedge" check "$here/health.scn" "$here/typo.scn" "$here/checkout.scn"
    expect_in "$work/out" "health\.scn: ok (1 services, 0 jobs, 1 requests, 1 invariants)$"
    expect_in "$work/out" "checkout\.scn: ok (2 services, 0 jobs, 5 requests, 1 flow, 4 invariants)$"
    expect_in "$work/err" "typo\.scn:$line:20: unknown variable"
    # an override's error names the override, not a line of the file
    expect_rc 2 "$wedge" check "$here/health.scn" --set workload.users=0
    expect_in "$work/err" "^wedge: --set workload.users=0: 'users' must be between 1 and 1000000 (got 0): "
    expect_rc 2 "$wedge" run "$here/health.scn" --set service.nope.rules=x
    expect_in "$work/err" "^wedge: --set service.nope.rules=x: no \[service nope\] in the scenario$"
}

# history.jsonl of run OUT: user 0's requests in order, as labels.
user0() { jq -r 'select(.user == 0 and .type == "invoke") | .req' "$1/history.jsonl" | head -n 5; }

case_flow() {
    run 0 ok "$here/checkout.scn" --seed 11
    expect_in "$work/out" "^  PASS  checkout_fast: p50 = .* (8 requests)$"
    expect_in "$work/out" "^  PASS  errors: 0.00% (0 of 40 requests not ok)$"
    expect_in "$work/out" '^  PASS  stock_reported: status 200, \$.stock = 976$'
    [ "$(user0 "$work/ok" | tr '\n' '|')" = 'POST /carts|POST /carts/${cart}/lines|POST /carts/${cart}/checkout|POST /orders/${order_id}/pay|POST /orders/${order_id}/pay|' ] ||
        fail "user 0 did not walk the flow in order: $(user0 "$work/ok" | tr '\n' '|')"
    run 1 slow "$here/checkout.scn" --seed 11 --set 'service.shopd.rules=delay 50ms on pq.query'
    expect_in "$work/out" '^  FAIL  checkout_fast: expected latency p50 of "POST /carts/${cart}/checkout" < 300ms, got p50 = '
    expect_in "$work/out" "^  PASS  errors: "
    expect_in "$work/out" "--set 'service.shopd.rules=delay 50ms on pq.query'$"
    SHOP_PAYMENT=naive run 1 naive "$here/checkout.scn" --seed 11
    expect_in "$work/out" "^  FAIL  errors: expected failed < 1%, got 20.00% (8 of 40 requests not ok)$"
    [ "$(jq -r 'select(.type == "fail") | .error' "$work/naive/history.jsonl" | sort -u)" = \
        "expect status 200: got 409" ] || fail "naive: the repeated payment's reason"
}

# A free loopback port (bound and released).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The shop started by the test, on its own database of the test server:
# pspd, and shopd (under WEDGE ARGS... when given: wedge exec).
start_shop() {
    local db=flows_target_$$_$1
    shift
    psql "$dsn" -qAtc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || fail "createdb"
    shop_dsn="$dsn dbname=$db"
    psql "$shop_dsn" -q -f "$here/../../../scenarios/shop/schema.sql" >/dev/null || fail "schema"
    psql "$shop_dsn" -qc "INSERT INTO inventory (sku, stock, price_cents) VALUES ('sku-1', 100, 250)" ||
        fail "fixture"
    psp_port=$(free_port)
    SHOP_PORT=$(free_port)
    "$bin/pspd" --port "$psp_port" --dsn "$shop_dsn" >"$work/pspd.log" 2>&1 &
    psp_pid=$!
    "$@" "$bin/shopd" --port "$SHOP_PORT" --dsn "$shop_dsn" --psp "http://127.0.0.1:$psp_port" \
        --token "$SHOP_TOKEN" >"$work/shopd.log" 2>&1 &
    shop_pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$SHOP_PORT/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$work/shopd.log" >&2
    fail "shopd did not answer on $SHOP_PORT within 10 s"
}

stop_shop() {
    kill -TERM "$shop_pid" "$psp_pid" 2>/dev/null
    wait_exit "$shop_pid" 15 || fail "shopd did not stop"
    wait_exit "$psp_pid" 15 || fail "pspd did not stop"
}

case_target() {
    trap 'kill -KILL $shop_pid $psp_pid 2>/dev/null' EXIT
    start_shop 1
    export SHOP_PORT
    expect_rc 0 "$wedge" run "$here/target.scn" --out "$work/ext" -q --seed 3
    expect_in "$work/out" "^  PASS  stock_left: status 200, \$.stock = 94$"
    expect_in "$work/out" "^  PASS  errors: 0.00% (0 of 24 requests not ok)$"
    [ "$(jq -r .database "$work/ext/summary.json")" = null ] || fail "target: a database was made"
    stop_shop
    start_shop 2 "$wedge" exec -q --rules 'delay 50ms on pq.query' --
    expect_rc 1 "$wedge" run "$here/target.scn" --out "$work/ext-slow" -q --seed 3
    expect_in "$work/out" '^  FAIL  checkout_fast: expected latency p50 of "POST /carts/${cart}/checkout" < 300ms, got p50 = '
    stop_shop
    trap - EXIT
}

case_repeat() {
    local n
    "$wedge" run "$here/checkout.scn" --repeat 5 --seed 5 --json --dsn "$dsn" --out "$work/rep" -q \
        >"$work/json" 2>"$work/err"
    rc=$?
    [ "$rc" -eq 0 ] || { tail -20 "$work/err" >&2; fail "--repeat 5 exited $rc"; }
    jq -e '.kind == "runs" and .exit_code == 0 and (.runs | length) == 5' "$work/json" >/dev/null ||
        fail "--json: $(head -c 300 "$work/json")"
    jq -e '[.invariants[] | select(.passed == 5)] | length == 5' "$work/json" >/dev/null ||
        fail "--json: every invariant passed 5 times: $(jq -c .invariants "$work/json")"
    cmp -s "$work/json" "$work/rep/summary.json" || fail "--json printed another document than OUT/summary.json"
    expect_in "$work/err" "^25 passed, 0 failed$"
    n=$(xmllint --xpath 'count(//testcase)' "$work/rep/junit.xml")
    [ "$n" = 25 ] || fail "junit.xml: $n testcases, expected 5 runs x 5 invariants"
    xmllint --noout --schema "$here/junit.xsd" "$work/rep/junit.xml" 2>"$work/xsd" ||
        { cat "$work/xsd" >&2; fail "junit.xml does not validate against junit.xsd"; }
    /usr/bin/python3 "$here/junit_read.py" "$work/rep/junit.xml" 5 5 || fail "junitparser"
    for k in 1 2 3 4 5; do [ -f "$work/rep/run-$k/junit.xml" ] || fail "run-$k/junit.xml"; done
}

case_several() {
    run 1 both "$here/health.scn" "$here/checkout.scn" --seed 9 --set 'workload.header=X-Run: both' \
        --set 'invariants.impossible=failed > 100%'
    for d in health checkout; do
        [ -f "$work/both/$d/summary.json" ] || fail "no $d/summary.json"
    done
    jq -e '.exit_code == 1 and (.runs | map(.scenario)) == ["health", "checkout"]' \
        "$work/both/summary.json" >/dev/null || fail "combined summary: $(head -c 400 "$work/both/summary.json")"
    jq -e '[.invariants[] | select(.name == "impossible") | .failed] == [1, 1]' \
        "$work/both/summary.json" >/dev/null || fail "the --set invariant in each scenario"
    [ "$(xmllint --xpath 'count(//testsuite)' "$work/both/junit.xml")" = 2 ] || fail "two testsuites"
    xmllint --noout --schema "$here/junit.xsd" "$work/both/junit.xml" || fail "combined junit.xml"
    jq -e '(.runs | map(.subdir)) == ["health", "checkout"]' "$work/both/summary.json" >/dev/null ||
        fail "runs[].subdir: $(jq -c '[.runs[].subdir]' "$work/both/summary.json")"
    rm -rf "$work/copied" && cp -r "$work/both" "$work/copied" && rm -f "$work/copied/report.html"
    expect_rc 0 "$wedge" report "$work/copied"
    expect_in "$work/copied/report.html" '<title>wedge report: 2 runs of 2 scenarios</title>'
    expect_in "$work/copied/report.html" '<a href="checkout/report.html">'
}

case "$case_name" in
gate) case_gate ;;
flow) case_flow ;;
target) case_target ;;
repeat) case_repeat ;;
several) case_several ;;
*) fail "unknown case '$case_name'" ;;
esac
note "ok"
