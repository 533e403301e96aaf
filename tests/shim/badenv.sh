#!/usr/bin/env bash
# badenv.sh PROGRAM CASE: a bad shim environment is a configuration error,
# like a rule that cannot be parsed: the process stops before main with
# the message and status 2; under WEDGE_ON_ERROR=warn it reports it and
# runs main with nothing injected (the rules ask to fail every send,
# which `PROGRAM sock-fail none` would notice).
#   both: WEDGE_RULES and WEDGE_RULES_FILE are both set
#   seed: WEDGE_SEED is not a decimal number; "010" is read as ten
#   rulesfile: a rules file that is a device (/dev/zero, read until the
#         OOM killer before), a directory, a FIFO, over 1 MiB, or holds a
#         NUL byte (silently cut the rules before)
#   files: nothing to turn against the user: WEDGE_CTL naming a file
#         that is not a control file (grown to 22 KB and adopted before) or
#         a symlink, a trace.PID.jsonl planted as a symlink (appended to
#         its target before), a trace directory another user owns: each
#         refused and left untouched
#   secure: a secure-execution (setuid) process ignores the whole
#         environment: no rule, no trace, no parse error echoing a file
set -uo pipefail
prog=${1:?program}
case=${2:?case}
: "${SHIM_PRELOAD:?}"
. "$(dirname "$0")/../lib.sh" # fail
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rule='fail ECONNRESET on sock.send'

# config_error MESSAGE VAR=VALUE...
config_error() {
  local msg=$1 out rc; shift
  out=$(env LD_PRELOAD="$SHIM_PRELOAD" "$@" "$prog" sock-fail none 2>"$tmp/err")
  rc=$?
  echo "$*: stderr: $(cat "$tmp/err")"
  [ $rc -eq 2 ] || fail "$*: exit status $rc, expected 2"
  grep -qxF "$msg" "$tmp/err" || fail "$*: stderr is not the line '$msg'"
  [ -z "$out" ] || fail "$*: main ran: $out"
  # The fatal record tells a runner the shim stopped the process (where
  # the case leaves WEDGE_TRACE to us: a trace it refuses takes none).
  case " $* " in *" WEDGE_TRACE="*) ;; *)
    rm -rf "$tmp/t"; mkdir "$tmp/t"
    env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t" "$@" "$prog" sock-fail none 2>/dev/null
    local rec=("$tmp"/t/fatal.*)
    [ -f "${rec[0]}" ] || fail "no fatal record in WEDGE_TRACE: $(ls "$tmp/t")"
    head -1 "${rec[0]}" | grep -Eq '^kind=config pid=[0-9]+ pgid=[0-9]+ proc=' ||
      fail "fatal record: $(head -1 "${rec[0]}")"
    [ "$(sed -n 2p "${rec[0]}")" = "$msg" ] || fail "fatal record, line 2: $(sed -n 2p "${rec[0]}")"
  esac

  out=$(env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_ON_ERROR=warn "$@" "$prog" sock-fail none 2>"$tmp/err")
  rc=$?
  [ $rc -eq 0 ] || fail "$*: WEDGE_ON_ERROR=warn: exit status $rc ($(cat "$tmp/err"))"
  grep -qF "$msg (WEDGE_ON_ERROR=warn: no injection)" "$tmp/err" || fail "$*: WEDGE_ON_ERROR=warn: no message"
  [ "$out" = "sock-fail none: ok" ] || fail "$*: WEDGE_ON_ERROR=warn: main did not run unchanged (injected?): $out"
}

case $case in
both)
  echo "$rule" >"$tmp/r.rules"
  config_error 'wedge: WEDGE_RULES and WEDGE_RULES_FILE are both set; use one' \
    WEDGE_RULES="$rule" WEDGE_RULES_FILE="$tmp/r.rules"
  ;;
seed)
  for s in abc 0x10 12x -1 ' 7' 18446744073709551616; do
    config_error "wedge: WEDGE_SEED='$s' is not a decimal number from 0 to 18446744073709551615" \
      WEDGE_RULES="$rule" WEDGE_SEED="$s"
  done
  # Base 10 only: the seed the trace summary records is ten, not eight.
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/trace" WEDGE_SEED=010 "$prog" sock-fail none ||
    fail "WEDGE_SEED=010: the program failed"
  grep -q '"seed":"10",' "$tmp"/trace/trace.*.jsonl || fail "WEDGE_SEED=010: the trace does not record seed 10: $(cat "$tmp"/trace/trace.*.jsonl)"
  ;;
rulesfile)
  config_error 'wedge: /dev/zero: cannot read the rules file: not a regular file (a device, FIFO or socket)' \
    WEDGE_RULES_FILE=/dev/zero
  config_error "wedge: $tmp: cannot read the rules file: not a regular file (a directory)" \
    WEDGE_RULES_FILE="$tmp"
  mkfifo "$tmp/fifo"
  config_error "wedge: $tmp/fifo: cannot read the rules file: not a regular file (a device, FIFO or socket)" \
    WEDGE_RULES_FILE="$tmp/fifo"
  head -c 1048577 /dev/zero | tr '\0' '#' >"$tmp/big.rules"
  config_error "wedge: $tmp/big.rules: cannot read the rules file: larger than 1048576 bytes (1048577)" \
    WEDGE_RULES_FILE="$tmp/big.rules"
  printf 'log on sock.recv\nlog\0 on *\n%s\n' "$rule" >"$tmp/nul.rules"
  config_error "wedge: $tmp/nul.rules:2:4: a NUL byte; the file must be text" \
    WEDGE_RULES_FILE="$tmp/nul.rules"
  ;;
files)
  # WEDGE_CTL: a file that is not a control file, or starts with 4 NULs
  printf 'precious' >"$tmp/precious"
  printf '\0\0\0\0precious' >"$tmp/nuls"
  for f in precious nuls; do
    before=$(md5sum <"$tmp/$f")
    config_error "wedge: WEDGE_CTL=$tmp/$f: cannot map the control file: the file is not a wedge control file (left untouched)" \
      WEDGE_RULES="$rule" WEDGE_CTL="$tmp/$f"
    [ "$(md5sum <"$tmp/$f")" = "$before" ] || fail "WEDGE_CTL=$f: the file was changed"
  done
  ln -s "$tmp/precious" "$tmp/ctl-link"
  config_error "wedge: WEDGE_CTL=$tmp/ctl-link: cannot map the control file: the file is a symbolic link; wedge does not follow it" \
    WEDGE_RULES="$rule" WEDGE_CTL="$tmp/ctl-link"
  # the control file of a run is created 0600
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_CTL="$tmp/ctl" "$prog" sock-fail none >/dev/null ||
    fail "WEDGE_CTL: the program failed"
  [ "$(stat -c %a "$tmp/ctl")" = 600 ] || fail "the control file is mode $(stat -c %a "$tmp/ctl")"
  # a trace.PID.jsonl planted as a symlink: the shell execs the program,
  # which keeps its pid
  mkdir "$tmp/trace"
  out=$(env LD_PRELOAD= sh -c 'ln -s "$1/precious" "$1/trace/trace.$$.jsonl" && exec env LD_PRELOAD="$2" WEDGE_TRACE="$1/trace" WEDGE_RULES="$3" "$4" sock-fail none' \
    sh "$tmp" "$SHIM_PRELOAD" "$rule" "$prog" 2>&1)
  rc=$?
  echo "planted symlink: $out"
  [ $rc -eq 2 ] || fail "planted symlink: exit status $rc, expected 2"
  grep -qE "^wedge: WEDGE_TRACE=$tmp/trace: cannot open the trace: trace\.[0-9]+\.jsonl is a symbolic link; wedge does not follow it\$" <<<"$out" ||
    fail "planted symlink: not the message"
  [ "$(cat "$tmp/precious")" = precious ] || fail "planted symlink: the target was written"
  # traces are created 0600
  env LD_PRELOAD="$SHIM_PRELOAD" WEDGE_TRACE="$tmp/t2" "$prog" sock-fail none >/dev/null ||
    fail "WEDGE_TRACE: the program failed"
  [ "$(stat -c %a "$tmp"/t2/trace.*.jsonl)" = 600 ] || fail "the trace is not mode 0600"
  [ "$(stat -c %a "$tmp/t2")" = 700 ] || fail "the trace directory the shim made is not 0700"
  if [ "$(id -u)" = 0 ]; then
    mkdir "$tmp/theirs" && chown 65534:65534 "$tmp/theirs"
    config_error "wedge: WEDGE_TRACE=$tmp/theirs: cannot open the trace: the directory belongs to uid 65534, not to you (uid 0); wedge writes only in your own directories" \
      WEDGE_RULES="$rule" WEDGE_TRACE="$tmp/theirs"
    [ -z "$(ls -A "$tmp/theirs")" ] || fail "a trace was written in another user's directory"
  fi
  ;;
secure)
  [ "$(id -u)" = 0 ] || { echo "SKIP: needs root to make a setuid program"; exit 77; }
  # A setuid copy of the program (owner nobody, run by root: AT_SECURE).
  # The dynamic loader ignores a preload path in such a process, so the
  # program loads the shim itself (dlopen, `secure` mode): its constructor
  # runs with AT_SECURE set.
  chmod 755 "$tmp"
  cp "$prog" "$tmp/prog" && chown 65534:65534 "$tmp/prog" && chmod 4755 "$tmp/prog"
  mkdir "$tmp/trace" && chmod 777 "$tmp/trace"
  printf 'not a rule\n' >"$tmp/secret" && chmod 600 "$tmp/secret"
  shim=${SHIM_PRELOAD##*:} # a sanitizer build preloads its runtime first
  out=$(env WEDGE_RULES_FILE="$tmp/secret" WEDGE_TRACE="$tmp/trace" "$tmp/prog" secure "$shim" 2>"$tmp/err")
  rc=$?
  echo "setuid: $out $(cat "$tmp/err")"
  # A sanitizer runtime cannot read its options in a setuid process (its
  # environ is unreadable) and LeakSanitizer then fails the exit: there,
  # judge by what the program printed and wrote.
  if [ "$shim" = "$SHIM_PRELOAD" ]; then
    [ $rc -eq 0 ] || fail "setuid: exit status $rc (the shim read the environment?)"
  fi
  out="$out$(grep -v -e LeakSanitizer -e '^==[0-9]*==HINT' "$tmp/err")"
  grep -q 'not a rule' <<<"$out" && fail "setuid: a parse error echoed the file"
  [ "$out" = "secure: ok" ] || fail "setuid: unexpected output"
  [ -z "$(ls -A "$tmp/trace")" ] || fail "setuid: a trace was written"
  # the twin: the same program not setuid does read the environment
  chmod 755 "$tmp/prog"
  out=$(env WEDGE_RULES_FILE="$tmp/secret" "$tmp/prog" secure "$shim" 2>&1)
  [ $? -eq 2 ] || fail "not setuid: the shim did not read WEDGE_RULES_FILE ($out)"
  ;;
*) fail "unknown case $case" ;;
esac
echo "badenv $case: ok"
