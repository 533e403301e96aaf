#!/usr/bin/env bash
# Shards of one run (wedge run --shard I/N) merged by wedge merge and
# judged once (issue 14), against one shopd started outside wedge and one
# database, as shards on several machines share them.
#
#   shard.sh CASE WEDGE WORK_DIR PG_STATE_DIR
#
# Cases:
#   naive   scenarios/shop/oversell-naive.scn unsharded: exit 1; then in 2
#           and in 4 shards against one shopd under the scenario's rule: each
#           merge exits 1 with no_oversell broken (the SQL invariant, asked
#           once of the shared database), its history holds each shard's
#           users (global numbers, none shared) and orders once each, and
#           its totals count them all
#   atomic  the twin oversell-atomic.scn: unsharded and both merges exit 0
#   total   total.scn (12 units, 20 orders, "at most 10 ok"): both of 2
#           shards exit 0, each having placed 10 orders; the merge exits 1
#           (12 ok), as the unsharded run does
#   k8s     deploy/k8s checked (k8s_check.py: no cluster here), then run
#           here: the Indexed Job's command for each completion index and
#           the merge Job's, on total.scn: the merge exits 1
#   netns   2 shards of oversell-naive.scn, each in a network namespace the
#           test creates (ip netns add, a veth pair each; exit 77 when not
#           permitted), reaching shopd over the veth: the merge exits 1
#   usage   --shard 4/4, 1/0, x, with --repeat; a shard without --dsn, or
#           with a service for target; merging shards of different runs, a
#           shard twice, one missing: exit 2 with the reason
#
# About 15 s per case on a loaded 2-core machine.  Every wait is bounded;
# CTest's TIMEOUT bounds the whole.
set -uo pipefail

case_name=${1:?usage: shard.sh CASE WEDGE WORK_DIR PG_STATE_DIR}
wedge=${2:?wedge binary}
work=${3:?work directory}
pg_state=${4:?pg fixture state directory}
here=$(cd "$(dirname "$0")" && pwd)
bin=$(dirname "$wedge")
shop=$here/../../../scenarios/shop

lib_name=shard
. "$here/../../lib.sh"

lib_scratch
export PGGSSENCMODE=disable
[ -f "$pg_state/dsn" ] || fail "no test server (pg fixture) in '$pg_state'"
dsn=$(cat "$pg_state/dsn")
shop_pid=

# start_shop TAG STOCK MODE [RULES]: a fresh database with the shop's
# schema and STOCK units of sku-1 (shop_dsn), and shopd --stock MODE on it
# (SHOP_PORT), under the shim with RULES when given.
start_shop() {
    local db=shard_$$_$1 rules=${4:-}
    psql "$dsn" -qAtc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null || fail "createdb"
    shop_dsn="$dsn dbname=$db"
    psql "$shop_dsn" -q -f "$shop/schema.sql" >/dev/null || fail "schema"
    psql "$shop_dsn" -qc "INSERT INTO inventory (sku, stock, price_cents) VALUES ('sku-1', $2, 500)" \
        >/dev/null || fail "fixture"
    SHOP_PORT=$(free_port)
    if [ -n "$rules" ]; then
        "$wedge" exec -q --rules "$rules" -- "$bin/shopd" --port "$SHOP_PORT" --dsn "$shop_dsn" \
            --stock "$3" >"$work/shopd-$1.log" 2>&1 &
    else
        "$bin/shopd" --port "$SHOP_PORT" --dsn "$shop_dsn" --stock "$3" >"$work/shopd-$1.log" 2>&1 &
    fi
    shop_pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$SHOP_PORT/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$work/shopd-$1.log" >&2
    fail "shopd did not answer on $SHOP_PORT within 10 s"
}

stop_shop() {
    [ -n "$shop_pid" ] || return 0
    kill -TERM "$shop_pid" 2>/dev/null
    wait_exit "$shop_pid" 15 || fail "shopd did not stop"
    shop_pid=
}

# shards SCN N BASE: N shards of SCN at once into BASE/s0... (seed 1);
# their exit codes in shard_rc[].
shards() {
    local scn=$1 n=$2 base=$3 i pids=()
    for ((i = 0; i < n; i++)); do
        "$wedge" run "$scn" --shard "$i/$n" --seed 1 --dsn "$shop_dsn" -q --out "$base/s$i" \
            --set "workload.target=http://127.0.0.1:$SHOP_PORT" >"$base-s$i.log" 2>&1 &
        pids+=($!)
    done
    shard_rc=()
    for ((i = 0; i < n; i++)); do
        wait "${pids[$i]}"
        shard_rc+=($?)
        [ "${shard_rc[$i]}" -le 1 ] || { cat "$base-s$i.log" >&2; fail "shard $i/$n exited ${shard_rc[$i]}"; }
    done
}

# merged BASE N USERS: the merge holds every request of the N shards once
# (an invoke and an outcome each, as many as the shards' totals), each
# shard's users with their global numbers (no two shards share one, all
# below USERS; a user whose shard's iterations ran out before it began has
# none), on one clock (sorted); its totals count them all.
merged() {
    local h=$1/merged/history.jsonl sum=0 i all
    for ((i = 0; i < $2; i++)); do
        sum=$((sum + $(jq -r .totals.requests "$1/s$i/summary.json")))
        jq -r 'select(.type != "invoke") | .user' "$1/s$i/history.jsonl" | sort -un
    done >"$1/users"
    [ "$sum" -gt 0 ] || fail "$1: the shards sent nothing"
    [ "$(sort -n "$1/users" | uniq -d | wc -l)" -eq 0 ] || fail "$1: two shards have a user number in common"
    [ "$(sort -n "$1/users" | tail -1)" -lt "$3" ] || fail "$1: a user number past $3"
    all=$(jq -r 'select(.type != "invoke") | .user' "$h" | sort -un)
    [ "$all" = "$(sort -n "$1/users")" ] || fail "$1: the merged history's users are not the shards'"
    [ "$(jq -r 'select(.type == "invoke") | "\(.user) \(.seq)"' "$h" | sort -u | wc -l)" -eq "$sum" ] ||
        fail "$1: not the shards' $sum requests in the merged history"
    jq -r .t_ns "$h" | sort -nc || fail "$1: the merged history is not in time order"
    [ "$(jq -r .totals.requests "$1/merged/summary.json")" -eq "$sum" ] || fail "$1: merged totals"
    [ "$(jq -r '.shards | length' "$1/merged/merge.json")" -eq "$2" ] || fail "$1: merge.json"
}

# twin SCN MODE WANT: unsharded, then 2 and 4 shards merged, each WANT.
twin() {
    local scn=$1 rule
    rule=$(sed -n 's/^rules = //p' "$scn")
    expect_rc "$3" "$wedge" run "$scn" --seed 1 --dsn "$dsn" -q --out "$work/whole"
    [ "$3" -eq 0 ] || expect_in "$work/out" "^  FAIL  no_oversell"
    trap 'kill -KILL $shop_pid 2>/dev/null' EXIT
    for n in 2 4; do
        start_shop "$2$n" 10 "$2" "$rule"
        shards "$scn" "$n" "$work/n$n"
        expect_rc "$3" "$wedge" merge "$work/n$n"/s* --dsn "$shop_dsn" --out "$work/n$n/merged"
        [ "$3" -eq 0 ] || expect_in "$work/out" "^  FAIL  no_oversell"
        expect_in "$work/out" "^wedge: merge: $(basename "$scn" .scn)  seed 1  $n shards "
        merged "$work/n$n" "$n" 8
        stop_shop
    done
    trap - EXIT
}

case_total() {
    expect_rc 1 "$wedge" run "$here/total.scn" --seed 1 --dsn "$dsn" -q --out "$work/whole"
    expect_in "$work/out" "^  FAIL  sold_at_most_10: expected ok POST /orders <= 10, got 12"
    trap 'kill -KILL $shop_pid 2>/dev/null' EXIT
    start_shop total 12 atomic
    shards "$here/total.scn" 2 "$work/n2"
    [ "${shard_rc[*]}" = "0 0" ] || fail "a shard broke the invariant alone: ${shard_rc[*]}"
    for i in 0 1; do
        [ "$(jq -r .totals.requests "$work/n2/s$i/summary.json")" = 10 ] || fail "shard $i: not 10 orders"
    done
    expect_rc 1 "$wedge" merge "$work/n2/s0" "$work/n2/s1" --dsn "$shop_dsn" --out "$work/n2/merged"
    expect_in "$work/out" "^  FAIL  sold_at_most_10: expected ok POST /orders <= 10, got 12"
    expect_in "$work/out" "^  PASS  stock_conserved"
    stop_shop
    trap - EXIT
}

# deploy/k8s run here: its manifests checked (k8s_check.py), then the
# Indexed Job's command once per completion index and the merge Job's,
# with the volume and the ConfigMap as local directories.
case_k8s() {
    local deploy=$here/../../../deploy/k8s j n shard merge i pids=() m
    j=$(/usr/bin/python3 "$here/k8s_check.py" "$deploy") || fail "deploy/k8s does not check"
    if command -v kubectl >/dev/null; then
        timeout 60 kubectl kustomize "$deploy" >"$work/kustomized.yaml" || fail "kubectl kustomize deploy/k8s"
    fi
    n=$(jq -r .shards <<<"$j")
    m="s#/shards/#$work/shards/#g; s#/scenario/#$work/scenario/#g"
    shard=$(jq -r .shard <<<"$j" | sed "$m")
    merge=$(jq -r .merge <<<"$j" | sed "$m")
    mkdir -p "$work/shards" "$work/scenario"
    sed "s#^schema = .*#schema = $shop/schema.sql#" "$here/total.scn" >"$work/scenario/scenario.scn"
    eval "$(jq -r '.env | to_entries[] | "export \(.key)=\(.value | @sh)"' <<<"$j")"
    trap 'kill -KILL $shop_pid 2>/dev/null' EXIT
    start_shop k8s 12 atomic
    export WEDGE_DSN=$shop_dsn WEDGE_TARGET=http://127.0.0.1:$SHOP_PORT PATH=$bin:$PATH
    for ((i = 0; i < n; i++)); do
        JOB_COMPLETION_INDEX=$i sh -c "$shard" >"$work/shard-$i.log" 2>&1 &
        pids+=($!)
    done
    for ((i = 0; i < n; i++)); do
        wait "${pids[$i]}" || { cat "$work/shard-$i.log" >&2; fail "shard pod $i failed"; }
    done
    expect_rc 1 sh -c "$merge"
    expect_in "$work/out" "^wedge: merge: shard-total  seed 1  $n shards "
    expect_in "$work/out" "^  FAIL  sold_at_most_10: expected ok POST /orders <= 10, got 12"
    stop_shop
    trap - EXIT
}

# netns_cleanup: the namespaces (their veth pairs go with them), the
# forwarder and shopd.
netns_cleanup() {
    local i
    for i in 0 1; do ip netns del "wsh$$n$i" 2>/dev/null; done
    kill -KILL $shop_pid $fwd_pid 2>/dev/null
    wait $fwd_pid 2>/dev/null
    fwd_pid=
}

# Two shards, each in a network namespace of its own reached over a veth
# pair (as on two machines: their own addresses, the service over a
# network), one shopd on this host under the oversell rule.
case_netns() {
    local scn=$shop/oversell-naive.scn rule net i ns pids=() fwd
    ip netns add "wsh$$t" 2>"$work/netns.err" || {
        note "SKIP: cannot create a network namespace here: $(cat "$work/netns.err")"
        exit 77
    }
    ip netns del "wsh$$t"
    rule=$(sed -n 's/^rules = //p' "$scn")
    net=10.213.$(($$ % 64))
    fwd_pid=
    trap netns_cleanup EXIT
    start_shop netns 10 naive "$rule"
    python3 "$here/fwd.py" "$work/fwd.port" "$SHOP_PORT" &
    fwd_pid=$!
    for _ in $(seq 100); do [ -s "$work/fwd.port" ] && break; sleep 0.1; done
    fwd=$(cat "$work/fwd.port")
    for i in 0 1; do
        ns=wsh$$n$i
        ip netns add "$ns" &&
            ip link add "wsh$$h$i" type veth peer name "wsh$$p$i" &&
            ip link set "wsh$$p$i" netns "$ns" &&
            ip addr add "$net.$((4 * i + 1))/30" dev "wsh$$h$i" &&
            ip link set "wsh$$h$i" up &&
            ip -n "$ns" addr add "$net.$((4 * i + 2))/30" dev "wsh$$p$i" &&
            ip -n "$ns" link set "wsh$$p$i" up &&
            ip -n "$ns" link set lo up &&
            ip -n "$ns" route add "$net.254/32" via "$net.$((4 * i + 1))" || fail "cannot set up namespace $ns"
        # the service's one address, as a cluster's service name gives one
        [ "$i" -eq 1 ] || ip addr add "$net.254/32" dev "wsh$$h$i" || fail "cannot add $net.254"
        ip netns exec "$ns" curl -sf --max-time 10 "http://$net.254:$fwd/health" >/dev/null ||
            fail "shopd is not reachable from namespace $ns"
        ip netns exec "$ns" "$wedge" run "$scn" --shard "$i/2" --seed 1 --dsn "$shop_dsn" -q \
            --out "$work/n2/s$i" --set "workload.target=http://$net.254:$fwd" \
            >"$work/n2-s$i.log" 2>&1 &
        pids+=($!)
    done
    for i in 0 1; do
        wait "${pids[$i]}"
        [ $? -le 1 ] || { cat "$work/n2-s$i.log" >&2; fail "shard $i/2 in its namespace failed"; }
    done
    expect_rc 1 "$wedge" merge "$work/n2/s0" "$work/n2/s1" --dsn "$shop_dsn" --out "$work/n2/merged"
    expect_in "$work/out" "^  FAIL  no_oversell"
    merged "$work/n2" 2 8
    netns_cleanup
    trap - EXIT
}

case_usage() {
    local s=$here/total.scn
    for bad in 4/4 1/0 x 1/ /2 -1/2; do
        expect_rc 2 "$wedge" run "$s" --shard "$bad" --dsn "$dsn"
        expect_in "$work/err" "^wedge: run: --shard '$bad': expected I/N, the I-th of N shards, 0 <= I < N"
    done
    expect_rc 2 "$wedge" run "$s" --shard 0/2 --repeat 2 --dsn "$dsn"
    expect_in "$work/err" "^wedge: run: --shard runs one share of one run of one scenario"
    expect_rc 2 "$wedge" run "$s" --shard 0/2 -q --out "$work/u1" --set workload.target=http://127.0.0.1:9
    expect_in "$work/err" "^wedge: --shard: the shards share one database: give it with --dsn"
    expect_rc 2 "$wedge" run "$s" --shard 0/2 -q --dsn "$dsn" --out "$work/u2"
    expect_in "$work/err" "^wedge: --shard: the shards send to services none of them starts"
    trap 'kill -KILL $shop_pid 2>/dev/null' EXIT
    start_shop usage 12 atomic
    shards "$s" 2 "$work/a"
    "$wedge" run "$s" --shard 1/2 --seed 2 --dsn "$shop_dsn" -q --out "$work/b" \
        --set "workload.target=http://127.0.0.1:$SHOP_PORT" >/dev/null 2>&1
    stop_shop
    trap - EXIT
    expect_rc 2 "$wedge" merge "$work/a/s0" "$work/b" --out "$work/m"
    expect_in "$work/err" "^wedge: merge: .* are shards of different runs"
    expect_rc 2 "$wedge" merge "$work/a/s0" "$work/a/s0" --out "$work/m"
    expect_in "$work/err" "^wedge: merge: .* are both shard 0/2"
    expect_rc 2 "$wedge" merge "$work/a/s0" --out "$work/m"
    expect_in "$work/err" "is one of 2 shards, and 1 were given"
    expect_rc 2 "$wedge" merge "$work" --out "$work/m"
    expect_in "$work/err" "shard.json: .*not the output of wedge run --shard"
    expect_rc 2 "$wedge" merge "$work/a/s0" "$work/a/s1"
    expect_in "$work/err" "^wedge: merge: no --out directory given"
}

case "$case_name" in
naive) twin "$shop/oversell-naive.scn" naive 1 ;;
atomic) twin "$shop/oversell-atomic.scn" atomic 0 ;;
total) case_total ;;
usage) case_usage ;;
k8s) case_k8s ;;
netns) case_netns ;;
*) fail "unknown case '$case_name'" ;;
esac
note "ok"
