#!/usr/bin/env bash
# run.sh FUZZER CORPUS SECONDS [ARTIFACTS]: run a libFuzzer harness over its
# committed corpus, then fuzz for SECONDS more from it.  New inputs go to a
# scratch directory (the committed corpus is never written); a finding
# (crash, leak, timeout, memory over the limits) fails with the
# reproducer's path, kept in ARTIFACTS (default: a directory beside the
# fuzzer).  Exit 77 when the fuzzer was not built (no clang).
set -uo pipefail
fuzzer=${1:?fuzzer}
corpus=${2:?corpus}
seconds=${3:?seconds}
artifacts=${4:-$(dirname "$fuzzer")/artifacts/$(basename "$fuzzer")}
[ -x "$fuzzer" ] || { echo "SKIP: $fuzzer was not built (clang with libFuzzer is needed)"; exit 77; }
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
mkdir -p "$artifacts"
# -rss_limit_mb / -malloc_limit_mb: a parser that takes more memory than
# this for one input is a finding (the rules regex blow-up took 700 MB).
ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16:malloc_context_size=10} \
  "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "$corpus" 2>"$scratch/log"
rc=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$scratch/log" || true
if [ $rc -ne 0 ]; then
  grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$scratch/log" | head -20 >&2
  echo "FAIL: $(basename "$fuzzer"): a finding; reproducers in $artifacts:" >&2
  ls -l "$artifacts" >&2
  exit 1
fi
echo "$(basename "$fuzzer"): no finding in ${seconds}s"
