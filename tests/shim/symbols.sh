#!/usr/bin/env bash
# symbols.sh CASE SYM_SVC SYM_LIB: what `caller ~` and the trace's stacks
# see in code as it ships (docs/shim.md, "Symbols").
#   inline    sym_svc is built -O2: transfer() is inlined into
#             handle_request and has no symbol (nm); `caller ~ "^transfer$"`
#             fires on every lock it takes, and the stack lists transfer
#             before handle_request
#   warning   a pattern no function matches is reported at start, on stderr
#             and in the trace, with its rules:LINE:COL; the run goes on
#   profile   the exit summary's mutex profile names transfer's lock call
#             site "transfer in handle_request+0x..." at exit, with or
#             without rules; killed by SIGTERM (the summary is written in
#             the signal handler, which reads no file) by function with a
#             rule, "sym_svc+0x..." without one
#   stripped  sym_lib loaded by dlopen after start, as built (.symtab), as
#             a stripped copy (.dynsym only) and as a stripped copy with
#             .gnu_debugdata (xz minidebuginfo): the static function is
#             named and matched, then a marked guess that never matches,
#             then named again; the exported one is named in all three
set -euo pipefail
. "$(dirname "$0")/../lib.sh" # fail, note, shim_run, events, fires
lib_name=symbols case_name=${1:?case}
svc=${2:?sym_svc} lib=${3:?libsym_lib.so}
: "${SHIM_PRELOAD:?}"
for p in nm objcopy strip xz jq; do
  command -v $p >/dev/null || { echo "SKIP: $p is not installed (scripts/bootstrap installs it)"; exit 77; }
done
work=$(mktemp -d /tmp/wedge-symbols.XXXXXX)
trace=$work/trace
trap 'rm -rf "$work"' EXIT

# run RULES CMD...: under the shim, a fresh trace; stderr in $work/err.
run() {
  local rules=$1; shift
  rm -rf "$trace"; mkdir -p "$trace"
  shim_run "$rules" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err"; fail "'$*' failed"; }
  grep -q '^sym_svc: ok' "$work/out" || fail "'$*' did not finish its work"
}
# stacks RULE: the distinct stacks of RULE's trace lines, one JSON array a line.
stacks() { cat "$trace"/trace.*.jsonl | jq -c "select(.rule == \"$1\") | .stack" | sort -u; }

case $case_name in
inline)
  [ -z "$(nm "$svc" | awk '$3 == "transfer"')" ] ||
    fail "the compiler kept a symbol for transfer(): the test needs it inlined"
  run 'in: log on mutex.lock where caller ~ "^transfer$"
host: log on mutex.unlock where caller ~ "^handle_request$"' "$svc" bank 7
  [ "$(fires in)" -eq 7 ] || fail "caller ~ \"^transfer$\" fired $(fires in) times, expected 7"
  [ "$(fires host)" -eq 7 ] || fail "caller ~ \"^handle_request$\" fired $(fires host) times"
  stacks in | grep -q '^\["transfer","handle_request","main"' ||
    { stacks in; fail "the stack does not list transfer inside handle_request"; }
  ! grep -q 'matches no function' "$work/err" || fail "a false warning: $(cat "$work/err")"
  note "transfer (no symbol of its own) matched 7 of 7; stack $(stacks in | head -1)"
  ;;
warning)
  run 'log on mutex.lock where thread = 1 and caller ~ "^transfr$"
log on mutex.unlock where caller !~ "^no_such_fn$"' "$svc" bank 3
  want='wedge: rules:1:40: caller ~ "^transfr$" matches no function in sym_svc (searched '
  grep -qF "$want" "$work/err" || { cat "$work/err"; fail "no start warning for ^transfr$"; }
  grep -qF 'wedge: rules:2:27: caller !~ "^no_such_fn$" matches no function in sym_svc, so the condition always holds' \
    "$work/err" || { cat "$work/err"; fail "no start warning for the negated pattern"; }
  [ "$(cat "$trace"/trace.*.jsonl | jq -c 'select(.warning)' | grep -c 'matches no function')" -eq 2 ] ||
    fail "the trace does not hold both warnings"
  [ "$(fires rule1)" -eq 0 ] && [ "$(fires rule2)" -eq 3 ] || fail "fires: $(fires rule1), $(fires rule2)"
  note "$(head -1 "$work/err")"
  ;;
profile)
  # site NAME: the mutex profile's one site in the summary
  site() { tail -n 1 "$trace"/trace.*.jsonl | jq -r '.mutex[0].site'; }
  for rules in '' 'log on thread.create'; do
    run "$rules" "$svc" bank 3
    site | grep -q '^transfer in handle_request+0x[0-9a-f]*$' || fail "exit, rules '$rules': $(site)"
    note "exit, rules '$rules': $(site)"
    rm -rf "$trace"; mkdir -p "$trace"
    LD_PRELOAD="$SHIM_PRELOAD" WEDGE_RULES="$rules" WEDGE_TRACE="$trace" ASAN_OPTIONS=detect_leaks=0 \
      "$svc" bank-wait 3 >"$work/out" 2>&1 &
    pid=$!
    for _ in $(seq 500); do grep -q ready "$work/out" && break; sleep 0.01; done
    kill -TERM $pid
    wait $pid && rc=0 || rc=$?
    [ $rc -eq 143 ] || fail "SIGTERM: exit status $rc"
    [ "$(tail -n 1 "$trace"/trace.*.jsonl | jq -r .end)" = SIGTERM ] || fail "no SIGTERM summary"
    if [ -n "$rules" ]; then
      site | grep -q '^transfer in handle_request+0x' || fail "SIGTERM with a rule: $(site)"
    else
      site | grep -q '^sym_svc+0x[0-9a-f]*$' || fail "SIGTERM without rules: $(site)"
    fi
    note "SIGTERM, rules '$rules': $(site)"
  done
  ;;
stripped)
  cp "$lib" "$work/full.so"
  cp "$lib" "$work/stripped.so"
  strip --strip-all "$work/stripped.so"
  [ -z "$(nm "$work/stripped.so" 2>/dev/null)" ] || fail "strip left a .symtab"
  # minidebuginfo as Fedora's find-debuginfo makes it: the .symtab alone, xz'd
  objcopy --only-keep-debug "$lib" "$work/full.debug"
  objcopy --strip-debug --remove-section=.comment "$work/full.debug" "$work/mini.debug"
  xz -k "$work/mini.debug"
  cp "$work/stripped.so" "$work/mini.so"
  objcopy --add-section .gnu_debugdata="$work/mini.debug.xz" "$work/mini.so"
  rules='static: log on mutex.lock where caller ~ "^lib_static_worker$"
export: log on mutex.unlock where caller ~ "^lib_entry$"'
  for v in full stripped mini; do
    case_name=stripped-$v
    run "$rules" "$svc" lib "$work/$v.so" 4
    [ "$(fires export)" -eq 4 ] || fail "lib_entry (exported) matched $(fires export) of 4"
    s=$(cat "$trace"/trace.*.jsonl | jq -c 'select(.rule == "export") | .stack' | sort -u)
    [ "$(echo "$s" | wc -l)" -eq 1 ] || fail "more than one stack: $s"
    echo "$s" | grep -q '"lib_entry","main"' || fail "lib_entry is not named: $s"
    if [ $v = stripped ]; then
      [ "$(fires static)" -eq 0 ] || fail "a guess matched caller ~: $(fires static) fires"
      echo "$s" | grep -q '^\["[^"]*?+0x[0-9a-f]*","lib_entry"' ||
        fail "the static function is not a marked guess: $s"
      ! echo "$s" | grep -q lib_static_worker || fail "a stripped library named a static function"
    else
      [ "$(fires static)" -eq 4 ] || fail "lib_static_worker matched $(fires static) of 4"
      echo "$s" | grep -q '^\["lib_static_worker[.a-z0-9]*","lib_entry"' ||
        fail "lib_static_worker is not named: $s"
    fi
    note "$s"
  done
  ;;
*) fail "unknown case" ;;
esac
echo "symbols $1: ok"
