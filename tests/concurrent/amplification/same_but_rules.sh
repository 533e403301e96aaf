#!/usr/bin/env bash
# Hold a rule-less copy to its original.
#
#   same_but_rules.sh COPY ORIGINAL
#
# Passes when COPY is ORIGINAL without its rules: no `rules =` or
# `rules_file =` line in COPY, the same schema file (each path resolved from
# its own scenario's directory), and every other line equal once comments,
# blank lines, `name =`, `schema =` and the original's rules lines are set
# aside.  So a change to the shop's scenario (load, fixture, invariants,
# shopd's flags) that the copy did not follow fails here instead of quietly
# measuring a different race.
set -uo pipefail
copy=${1:?usage: same_but_rules.sh COPY ORIGINAL}
orig=${2:?usage: same_but_rules.sh COPY ORIGINAL}

body() {
    sed -E -e '/^[[:space:]]*(;|#|$)/d' \
        -e '/^[[:space:]]*(name|schema|rules|rules_file)[[:space:]]*=/d' "$1"
}
schema() {
    local dir rel
    dir=$(dirname "$1")
    rel=$(sed -nE 's/^[[:space:]]*schema[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$/\1/p' "$1")
    [ -n "$rel" ] || return 0
    case $rel in
    /*) realpath -e "$rel" ;;
    *) realpath -e "$dir/$rel" ;;
    esac
}

verdict=0
if grep -nE '^[[:space:]]*rules(_file)?[[:space:]]*=' "$copy" >&2; then
    echo "same_but_rules: $copy: has a rule (above); it must have none" >&2
    verdict=1
fi
if ! grep -qE '^[[:space:]]*rules(_file)?[[:space:]]*=' "$orig"; then
    echo "same_but_rules: $orig: has no rule, so the copy proves nothing" >&2
    verdict=1
fi
s_copy=$(schema "$copy") || verdict=1
s_orig=$(schema "$orig") || verdict=1
if [ "$s_copy" != "$s_orig" ]; then
    echo "same_but_rules: schema differs: '$s_copy' ($copy) vs '$s_orig' ($orig)" >&2
    verdict=1
fi
if ! diff -u <(body "$orig") <(body "$copy") >&2; then
    echo "same_but_rules: $copy differs from $orig beyond its rules (diff above)" >&2
    verdict=1
fi
[ "$verdict" = 0 ] && echo "same_but_rules: $(basename "$copy") is $(basename "$orig") without its rules"
exit $verdict
