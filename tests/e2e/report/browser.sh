#!/usr/bin/env bash
# browser.sh - report.html as a real browser draws it (labels e2e, browser).
#
#   browser.sh WEDGE SOURCE_DIR WORK PG_STATE
#
# Makes each kind of page from real runs on the pg fixture's server and
# renders it in headless Chromium (--dump-dom: the DOM after the page's
# script ran), then asserts on what was drawn (dom.py):
#   - a failed oversell run (oversell-naive, exit 1): no script error, no
#     blocked fetch, no console message, no empty drawing; the timeline has
#     its bars and the violating request outlined; zooming in the browser
#     widens the bars and draws the axis again (#wedge-selftest); the
#     sequence diagram holds two threads, each arriving at the barrier with
#     its SELECT stock;
#   - its twin, oversell-atomic --repeat 3 (exit 0): the repeat page has 3
#     cells, all passed, and a run's page draws its requests with no
#     violation and no interleaving;
#   - an isolation run (two specs and the shop workload): the matrix
#     coloured, the workload's bars;
#   - a hunt's page (`wedge report` on a hunt's summary.json kept in
#     hunt/, as wedge hunt wrote it; the hunt itself is tests/hunt's).
# With WEDGE_SCREENSHOTS=DIR, PNGs of the pages go there (docs/img: the
# pictures of docs/reports.md), and one more run with a log rule.
# Skipped (77) when there is no chromium.  About 25 s.
set -euo pipefail
wedge=${1:?wedge binary} src=${2:?source dir} work=${3:?work dir} state=${4:?pg state}
here=$(cd "$(dirname "$0")" && pwd)
lib_name=browser
. "$here/../../lib.sh"

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    note "SKIP: no chromium (scripts/bootstrap installs Debian's)"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
dsn=$(cat "$state/dsn") || fail "no DSN in $state/dsn (is the pg fixture up?)"

# chromium ARGS...: a fresh profile each time, nothing fetched, bounded.
chrome() {
    local profile
    profile=$(mktemp -d "$work/profile.XXXXXX")
    timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@"
    local rc=$?
    rm -rf "$profile"
    return $rc
}

# render NAME PAGE [FRAGMENT]: $work/NAME.facts, after the checks every
# page must pass.
render() {
    local name=$1 page=$2 frag=${3:-}
    case_name=$name
    [ -s "$page" ] || fail "$page: not written"
    chrome --dump-dom "file://$page$frag" >"$work/$name.dom" 2>"$work/$name.err" ||
        fail "chromium could not render $page (see $work/$name.err)"
    python3 "$here/dom.py" "$work/$name.dom" >"$work/$name.facts"
    expect_in "$work/$name.facts" '^attr:data-ready=1$'
    if grep -E '^attr:data-(errors|empty)=' "$work/$name.facts"; then
        fail "$page: a script error, a blocked fetch or an empty drawing (above)"
    fi
    if grep 'CONSOLE' "$work/$name.err"; then
        fail "$page: the console was written to (above)"
    fi
}

# shot NAME PAGE HEIGHT [SECTION]: with WEDGE_SCREENSHOTS=DIR, a PNG of the
# page's top (or of one section alone) as DIR/report-NAME.png.
shot() {
    local name=$1 page=$2 height=$3 section=${4:-}
    [ -n "${WEDGE_SCREENSHOTS:-}" ] || return 0
    if [ -n "$section" ]; then
        sed "s#</head>#<style>body > *:not(section\#$section){display:none !important}</style></head>#" \
            "$page" >"$work/$name.section.html"
        page=$work/$name.section.html
    fi
    chrome --hide-scrollbars --window-size="1150,$height" --force-device-scale-factor=0.75 \
        --screenshot="$WEDGE_SCREENSHOTS/report-$name.png" "file://$page" 2>/dev/null ||
        fail "no screenshot of $page"
}

# drawn NAME KEY: a count from the page's data-drawn.
drawn() { sed -n "s/^drawn:$2=//p" "$work/$1.facts"; }

# The failed run: its violation and the interleaving that forced it.
expect_rc 1 "$wedge" run "$src/scenarios/shop/oversell-naive.scn" --seed 1 --dsn "$dsn" \
    --out "$work/naive" -q
render failed "$work/naive/report.html" '#wedge-selftest'
shot run "$work/naive/report.html" 1250
expect_in "$work/failed.facts" '^verdict=failed$'
expect_in "$work/failed.facts" '^attr:data-selftest=ok$'
[ "$(drawn failed requests)" -gt 0 ] || fail "no request drawn on the timeline"
[ "$(drawn failed injections)" -gt 0 ] || fail "no injection drawn on the timeline"
[ "$(drawn failed violation)" = 1 ] || fail "the violating request is not outlined"
[ "$(drawn failed threads)" -ge 2 ] || fail "the sequence diagram has fewer than two threads"
arrivals=$(grep -c $'^arrive=[0-9.]*\tSELECT stock' "$work/failed.facts" || true)
columns=$(grep $'^arrive=' "$work/failed.facts" | cut -f1 | sort -u | wc -l)
[ "$arrivals" -ge 2 ] && [ "$columns" -ge 2 ] ||
    fail "the sequence diagram does not show two threads arriving with SELECT stock"

# The twin: a set that held, and one of its runs.
expect_rc 0 "$wedge" run "$src/scenarios/shop/oversell-atomic.scn" --repeat 3 --seed 1 \
    --dsn "$dsn" --out "$work/atomic" -q
render repeat "$work/atomic/report.html"
shot repeat "$work/atomic/report.html" 750
expect_in "$work/repeat.facts" '^verdict=passed$'
[ "$(grep -c '^cell=passed$' "$work/repeat.facts")" = 3 ] || fail "not 3 passed cells"
render passed "$work/atomic/run-1/report.html"
expect_in "$work/passed.facts" '^verdict=passed$'
[ "$(drawn passed requests)" -gt 0 ] || fail "no request drawn on the timeline"
[ "$(drawn passed violation)" = 0 ] && [ "$(drawn passed threads)" = 0 ] ||
    fail "a run that held shows a violation"

# The isolation matrix.
expect_rc 0 "$wedge" isolation --dsn "$dsn" --out "$work/iso" \
    --spec "$src/scenarios/isolation/g0.spec" --spec "$src/scenarios/isolation/p4.spec" \
    --shop-orders 10
render isolation "$work/iso/report.html"
shot isolation "$work/iso/report.html" 800
expect_in "$work/isolation.facts" '^verdict=passed$'
expect_in "$work/isolation.facts" '^cell=occurs$'
expect_in "$work/isolation.facts" '^cell=prevented$'
[ "$(drawn isolation bars)" -gt 0 ] || fail "the shop workload's bars are missing"

# A hunt's page.
mkdir -p "$work/hunt"
cp "$here/hunt/summary.json" "$work/hunt/"
expect_rc 0 "$wedge" report "$work/hunt"
render hunt "$work/hunt/report.html"
expect_in "$work/hunt.facts" '^verdict=failed$'
shot hunt "$work/hunt/report.html" 750

# For docs/reports.md only: the interleaving when a log rule traces every
# statement too.
if [ -n "${WEDGE_SCREENSHOTS:-}" ]; then
    rules='stock-read: barrier stock-read 2 timeout 100ms after pq.query'
    rules+=' where sql ~ "^SELECT stock" ; sql: log on pq.query'
    expect_rc 1 "$wedge" run "$src/scenarios/shop/oversell-naive.scn" --seed 1 --dsn "$dsn" \
        --out "$work/logged" -q --rules "$rules"
    render logged "$work/logged/report.html"
    shot interleaving "$work/logged/report.html" 1000 interleaving
fi
case_name=
note "ok: failed run, repeat set and a run of it, isolation matrix, hunt"
