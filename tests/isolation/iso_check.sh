#!/usr/bin/env bash
# iso_check.sh WEDGE OUTDIR EXIT [--match REGEX] [--matrix FILE] [--json JQ] [--logs DIR]
#              [--junit-failures N] -- ARGS...
# Runs `WEDGE isolation ARGS` (@DSN@: the pg fixture's DSN from
# $WEDGE_PG_STATE/dsn; @OUT@: OUTDIR, emptied first), then checks the exit
# code, that some output line matches REGEX, and that the printed matrix
# (from the "anomaly" header to the first blank line) equals FILE, and that
# the jq expression JQ is true of OUTDIR/summary.json, and that every step
# log in OUTDIR/steps equals its namesake in DIR (and has one there); a
# junit.xml in OUTDIR must be well-formed and hold N <failure> elements.
set -u
wedge=$1 out=$2 want=$3
shift 3
match="" matrix="" json="" logs="" junit=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
  --match) match=$2; shift 2 ;;
  --matrix) matrix=$2; shift 2 ;;
  --json) json=$2; shift 2 ;;
  --logs) logs=$2; shift 2 ;;
  --junit-failures) junit=$2; shift 2 ;;
  *) echo "iso_check: unknown option $1" >&2; exit 2 ;;
  esac
done
shift
args=()
for a in "$@"; do
  case $a in
  @DSN@) a=$(cat "${WEDGE_PG_STATE:?}/dsn") || exit 2 ;;
  @OUT@) a=$out ;;
  esac
  args+=("$a")
done
rm -rf "$out"
mkdir -p "$out"
"$wedge" isolation "${args[@]}" >"$out.stdout" 2>"$out.stderr"
rc=$?
cat "$out.stdout" "$out.stderr"
fail=0
if [ "$rc" != "$want" ]; then
  echo "iso_check: exit code $rc, expected $want" >&2
  fail=1
fi
if [ -n "$match" ] && ! cat "$out.stdout" "$out.stderr" | grep -Eq -- "$match"; then
  echo "iso_check: no output line matches: $match" >&2
  fail=1
fi
if [ -n "$matrix" ]; then
  sed -n '/^anomaly /,/^$/p' "$out.stdout" | sed '/^$/d' >"$out.matrix"
  if ! diff -u "$matrix" "$out.matrix" >&2; then
    echo "iso_check: the matrix differs from $matrix" >&2
    fail=1
  fi
  for f in summary.json report.md junit.xml; do
    [ -s "$out/$f" ] || { echo "iso_check: $out/$f missing" >&2; fail=1; }
  done
fi
if [ -n "$json" ] && ! jq -e "$json" "$out/summary.json" >/dev/null; then
  echo "iso_check: summary.json does not satisfy: $json" >&2
  fail=1
fi
if [ -f "$out/junit.xml" ] && ! xmllint --noout "$out/junit.xml"; then
  echo "iso_check: $out/junit.xml is not well-formed" >&2
  fail=1
fi
if [ -n "$junit" ]; then
  got=$(xmllint --xpath 'count(//failure)' "$out/junit.xml" 2>/dev/null)
  if [ "$got" != "$junit" ]; then
    echo "iso_check: junit.xml has '$got' failures, expected $junit" >&2
    fail=1
  fi
fi
if [ -n "$logs" ]; then
  n=0
  for f in "$out"/steps/*.log; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    name=$(basename "$f")
    if [ ! -f "$logs/$name" ]; then
      echo "iso_check: no expected step log $logs/$name" >&2
      fail=1
    elif ! diff -u "$logs/$name" "$f" >&2; then
      echo "iso_check: step log $name differs from $logs/$name" >&2
      fail=1
    fi
  done
  if [ "$n" -eq 0 ]; then
    echo "iso_check: no step log in $out/steps" >&2
    fail=1
  fi
fi
exit $fail
