#!/usr/bin/env bash
# pg_suite.sh WEDGE CACHE_DIR OUT_DIR
# PostgreSQL's own isolation suite (src/test/isolation of the installed
# server's major version, fetched by pg_fetch.sh into CACHE_DIR), every
# spec unchanged, run by `wedge isolation` on its embedded cluster in a
# database named as pg_isolation_regress names it, each output compared
# with the suite's expected file or an alternative.  Passes when every
# spec matches except those listed in pg_suite_known (none today; each
# would need its reason in docs/isolation.md).  A spec that needs an
# extension the server lacks is listed and left out.  Exit 77 only when
# the sources cannot be had.
set -u
wedge=$1 cache=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$("$here/pg_fetch.sh" "$cache")
rc=$?
[ $rc -eq 0 ] || exit $rc
echo "pg_suite: PostgreSQL's isolation suite from $(cat "$src/.complete") in $src"

# The schedule's order, then the specs it leaves out (prepared-transactions
# and -cic, which the tester's Makefile runs when max_prepared_transactions
# is set: the embedded cluster sets it).
specs=$(sed -n 's/^test: *//p' "$src/isolation_schedule" | tr ' ' '\n')
for f in "$src"/specs/*.spec; do
  n=$(basename "$f" .spec)
  printf '%s\n' "$specs" | grep -qx "$n" || specs="$specs
$n"
done
args=()
skipped=0
for n in $specs; do
  ext=$(sed -n 's/.*CREATE EXTENSION \(IF NOT EXISTS \)\{0,1\}\([a-z_0-9]*\).*/\2/Ip' "$src/specs/$n.spec" | head -1)
  if [ -n "$ext" ] && [ ! -f "$(ls -d /usr/share/postgresql/*/extension 2>/dev/null | sort -V | tail -1)/$ext.control" ]; then
    echo "pg_suite: $n needs extension $ext, which this server lacks: left out"
    skipped=$((skipped + 1))
    continue
  fi
  args+=(--spec "$src/specs/$n.spec")
done
echo "pg_suite: $((${#args[@]} / 2)) specs to run, $skipped left out"

rm -rf "$out"
mkdir -p "$out"
start=$(date +%s%N)
PGISOLATIONTIMEOUT=${PGISOLATIONTIMEOUT:-60} "$wedge" isolation --dbname isolation_regression \
  --expected "$src/expected" --out "$out" "${args[@]}" >"$out/stdout" 2>"$out/stderr"
status=$?
end=$(date +%s%N)
cat "$out/stdout" "$out/stderr"
echo "pg_suite: wedge isolation exited $status after $(((end - start) / 1000000)) ms"

known=$(grep -v '^#' "$here/pg_suite_known" 2>/dev/null | awk '{print $1}')
unexpected=0
for n in $(awk '$1 == "FAILED" {print $2}' "$out/stdout"); do
  if printf '%s\n' "$known" | grep -qx "$n"; then
    echo "pg_suite: $n differs, as listed in pg_suite_known"
  else
    echo "pg_suite: $n differs from its expected output" >&2
    unexpected=$((unexpected + 1))
  fi
done
passed=$(grep -c '^ok ' "$out/stdout")
echo "pg_suite: $passed of $((${#args[@]} / 2)) specs match their expected output"
if [ "$status" -ge 2 ] || [ "$passed" -eq 0 ]; then
  echo "pg_suite: the run did not complete (exit $status)" >&2
  exit 1
fi
[ "$unexpected" -eq 0 ]
