#!/usr/bin/env bash
# alloc.sh WEDGE THREADS ALLOCATOR: the threaded workload (alloc/threads.c)
# under `wedge exec` with a trace and `caller ~` rules on every pthread
# hook, with ALLOCATOR preloaded: jemalloc or tcmalloc (Debian's
# libjemalloc2, libtcmalloc-minimal4), or the path of rw_guardalloc.so,
# which aborts if a hook allocates while it holds its lock.  Passes when
# the workload's own checks hold, malloc came from ALLOCATOR, the rules
# fired where they should, and every trace line is JSON with a stack.
here=$(dirname "$0")
. "$here/realworld.sh"
wedge=${1:?wedge} prog=${2:?threads} which=${3:?allocator}
need python3

find_lib() {
  local d
  for d in "/usr/lib/$(uname -m)-linux-gnu" /usr/lib64 /usr/lib; do
    [ -e "$d/$1" ] && { echo "$d/$1"; return; }
  done
}
case $which in
jemalloc) lib=$(find_lib libjemalloc.so.2) want=libjemalloc.so.2 ;;
tcmalloc) lib=$(find_lib libtcmalloc_minimal.so.4) want=libtcmalloc_minimal.so.4 ;;
*) lib=$which want=$(basename "$which") ;;
esac
[ -n "$lib" ] || { echo "SKIP: $which is not installed (scripts/bootstrap installs it)"; exit 77; }
# A sanitizer runtime (SHIM_PRELOAD "rt:shim") must come first: the runner
# keeps an LD_PRELOAD it finds, after the shim.
rt=${SHIM_PRELOAD%:*}
[ "$rt" != "$SHIM_PRELOAD" ] || rt=

# Every pthread hook, each with a caller ~ condition; r2 and r6 fire on
# the allocator's own trylock (jemalloc's and guardalloc's), inside malloc,
# and r7 after a lock taken inside it.
rules='r1: log on mutex.lock,mutex.unlock where caller ~ "^worker$" every 20
r2: log on mutex.trylock where caller ~ "malloc|^worker$"
r3: yield on rwlock.rdlock,rwlock.wrlock,rwlock.unlock where caller ~ "^worker$" p=0.05
r4: log on cond.wait,cond.signal where caller ~ "^(producer|consumer)$" every 10
r5: log on thread.create where caller ~ "^worker$"
r6: yield on mutex.trylock where caller ~ "x" p=0.01
r7: log on mutex.lock where caller ~ "alloc|free" after'
rc=0
out=$(LD_PRELOAD=${rt:+$rt:}$lib timeout 120 "$wedge" exec -s 7 -t "$trace" -r "$rules" -- "$prog" \
      2>"$work/err") || rc=$?
[ "$rc" -eq 0 ] || { cat "$work/err"; echo "$out"; fail "the workload failed under $which (exit $rc)"; }
echo "$out"
grep -q '^threads: ok' <<<"$out" || fail "the workload's own checks failed"
# Under AddressSanitizer its runtime provides malloc, not the allocator
# preloaded: only the rest is checked.
[ -n "$rt" ] || grep -q "allocator=$want" <<<"$out" || fail "malloc did not come from $want"
python3 - "$trace" <<'PY' || fail "trace check"
import glob, json, sys
fires, summaries, stacks = {}, 0, {}
for path in glob.glob(sys.argv[1] + "/trace.*.jsonl"):
    for line in open(path):
        e = json.loads(line)  # every line is JSON
        if e.get("summary"):
            summaries += 1
            continue
        if "outcome" not in e:
            continue
        fires[e["rule"]] = fires.get(e["rule"], 0) + 1
        assert isinstance(e.get("stack"), list) and e["stack"], line
        stacks.setdefault(e["rule"], set()).update(e["stack"])
assert summaries >= 1, "no summary line"
for r in ("r1", "r2", "r4", "r5"):
    assert fires.get(r, 0) > 0, "rule %s never fired: %s" % (r, fires)
assert "worker" in stacks["r1"], stacks["r1"]
assert {"producer", "consumer"} & stacks["r4"], stacks["r4"]
print("trace: " + ", ".join("%s %d" % kv for kv in sorted(fires.items())))
PY
echo "alloc $which: ok"
