#!/usr/bin/env bash
# The same read-modify-write race in services on four stacks, caught by the
# same rule text (the issue's acceptance): counterd on libpq
# (tests/e2e/scenarios/rmw-*.scn), counter.js on node-postgres,
# Counter.java on the PostgreSQL JDBC driver, and psql clients behind
# `wedge proxy` (a [proxy] section: the proxy decodes what it forwards).
#
#   rmw.sh race WEDGE STACK naive|safe [SEEDS]
#       `wedge run` of the stack's scenario over SEEDS seeds (default 20):
#       naive must fail every run (the lost update, found with the barrier
#       released in each), its safe twin must pass every run
#   rmw.sh same-rule WEDGE
#       the naive scenarios of every stack hold the same rule, byte for byte
#   rmw.sh sqlstate WEDGE STACK inject|none
#       the stack's driver under `fail sqlstate 40001 on pq.query where
#       sql ~ "^UPDATE"` gets its own serialization failure (node-postgres:
#       error.code '40001'; JDBC: PSQLException getSQLState() "40001"), the
#       row unchanged and the connection usable; without the rule (a pq rule
#       that matches nothing) the UPDATE commits
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../realworld.sh"
mode=${1:?usage: rmw.sh race|same-rule|sqlstate ...}
wedge=${2:?wedge binary}
stack=${3:-}
variant=${4:-}

# The npm package pg, installed once into the build tree beside wedge
# (bin/rmw-node: node_modules and npm's cache, from the lock file; the
# parallel tests take turns) and found through NODE_PATH, as the node
# scenarios' env lines say.  Skips when npm is missing or the registry
# cannot be reached: nothing else is downloaded.
node_modules() {
  local nm rc=0
  need node npm
  nm=$(cd "$(dirname "$wedge")" && pwd)/rmw-node
  export NODE_PATH=$nm/node_modules
  [ -f "$NODE_PATH/pg/package.json" ] && return 0
  mkdir -p "$nm"
  (
    flock -w 300 9 || fail "npm install lock $nm/.lock"
    [ -f "$NODE_PATH/pg/package.json" ] && exit 0
    cp "$here/node/package.json" "$here/node/package-lock.json" "$nm/"
    cd "$nm" && timeout 300 npm ci --no-audit --no-fund --loglevel=error --cache "$nm/.npm-cache" ||
      { echo "SKIP: npm ci could not install pg into $nm (the npm registry is needed once)"; exit 77; }
  ) 9>"$nm/.lock" || rc=$?
  [ "$rc" -eq 0 ] || exit "$rc"
}

jdbc_classes() {
  need java
  [ -f /usr/share/java/postgresql.jar ] ||
    { echo "SKIP: no /usr/share/java/postgresql.jar (scripts/bootstrap installs libpostgresql-jdbc-java)"; exit 77; }
  classes=$(dirname "$wedge")/rmw-java
  [ -f "$classes/Counter.class" ] || classes=$(dirname "$(command -v "$wedge" || echo "$wedge")")/rmw-java
  [ -f "$classes/Counter.class" ] || { echo "SKIP: the JDBC service was not compiled (no javac)"; exit 77; }
}

scenario() {
  case $stack in
  libpq) echo "$here/../../e2e/scenarios/rmw-$1.scn" ;;
  *) echo "$here/$stack-$1.scn" ;;
  esac
}

case $mode in
race)
  seeds=${5:-20}
  case $stack in
  node) node_modules ;;
  jdbc) jdbc_classes ;;
  proxy) # the jobs' psql is preloaded (with a sanitizer build's runtime too)
    need psql
    skip_if_runtime_breaks psql --version ;;
  libpq) ;;
  *) fail "unknown stack $stack" ;;
  esac
  want=$([ "$variant" = naive ] && echo 1 || echo 0)
  out=$work/out
  rc=0
  "$wedge" run "$(scenario "$variant")" --repeat "$seeds" --seed 1 --out "$out" -q >"$work/log" 2>&1 || rc=$?
  [ -f "$out/outcomes.tsv" ] || { tail -30 "$work/log"; fail "no outcomes.tsv (wedge exited $rc)"; }
  got=0
  while IFS=$'\t' read -r run seed code; do
    [ "$run" = run ] && continue
    released=$(jq '[.injections.rules[] | select(.rule == "read-stock") | .released] | add // 0' \
      "$out/run-$run/summary.json")
    printf 'run %2s seed %-12s exit %s  read-stock released %s\n' "$run" "$seed" "$code" "$released"
    if [ "$code" != "$want" ]; then
      jq -r '"  error: \(.error // "none"); failed: \([.invariants[] | select(.status != "passed") | .name] | join(", "))"' \
        "$out/run-$run/summary.json" || true
      continue
    fi
    # a lost update "caught" without the barrier holding two readers would be luck
    [ "$want" = 0 ] || [ "$released" -gt 0 ] || continue
    got=$((got + 1))
  done <"$out/outcomes.tsv"
  echo "$stack $variant: $got of $seeds runs exited $want"
  [ "$got" -eq "$seeds" ] || { tail -20 "$work/log"; fail "expected $seeds of $seeds"; }
  ;;
same-rule)
  rule() { grep -E '^rules = read-stock:' "$1" || fail "$1 has no read-stock rule"; }
  want=$(rule "$(stack=libpq scenario naive)")
  for s in node jdbc proxy; do
    f=$(stack=$s scenario naive)
    [ "$(rule "$f")" = "$want" ] || fail "$f: '$(rule "$f")' differs from the libpq service's '$want'"
    echo "$(basename "$f"): $want"
  done
  ;;
sqlstate)
  dsn=$(cat "${WEDGE_PG_STATE:?}/dsn")
  pw=$(sed -n 's/.*passfile=\([^ ]*\).*/\1/p' <<<"$dsn")
  pw=$([ -n "$pw" ] && cut -d: -f5 "$pw" || true)
  port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$dsn")
  uri="postgresql://wedge${pw:+:$pw}@127.0.0.1:$port/postgres"
  table=t_sqlstate_${stack}_$variant
  case $stack in
  node) node_modules; cmd=(node "$here/node/sqlstate.js" "$uri" "$table") ;;
  jdbc) jdbc_classes
        cmd=(java -cp "/usr/share/java/postgresql.jar:$classes" SqlState "$uri" "$table") ;;
  *) fail "unknown stack $stack" ;;
  esac
  if [ "$variant" = inject ]; then
    rules='fail sqlstate 40001 on pq.query where sql ~ "^UPDATE"'
  else
    rules='log on pq.query where sql ~ "^NEVER"'
  fi
  under "$rules" "${cmd[@]}" "$variant" || fail "$stack $variant"
  n=$(events '.action == "fail" and .outcome == "fired"')
  [ "$n" -eq "$([ "$variant" = inject ] && echo 1 || echo 0)" ] || fail "$n injections in the trace"
  echo "$stack $variant: ok"
  ;;
*) fail "unknown mode $mode" ;;
esac
