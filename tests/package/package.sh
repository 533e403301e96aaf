#!/usr/bin/env bash
# The Debian package, as a user gets it: scripts/package builds the .deb
# (Release, its own build directory), `dpkg -x` unpacks it into a scratch
# root, and from there, with no build tree on any path wedge is told about:
#   - the package holds wedge, libwedge.so, shopd/pspd/counterd, every
#     scenario and isolation spec of the source tree, the docs and the
#     manual pages; its Depends were computed by dpkg-shlibdeps (libpq5...);
#   - `wedge run .../scenarios/shop/oversell-naive.scn` from an empty
#     directory finds the race (exit 1), writing report.md and report.html,
#     and its twin oversell-atomic.scn passes (exit 0); `wedge check` passes
#     every installed scenario; the demo's counter-naive.scn (counterd)
#     finds its race; a copy with a probe job shows ${build} and the shim
#     resolved inside the scratch root, not the build tree;
#   - `man -l` renders each page without a warning, `man wedge` works with
#     MANPATH into the root, and every command and flag of `wedge --help`
#     and `wedge help CMD` appears in the rendered wedge(1).
#
#   package.sh SOURCE_DIR WORK_DIR
#
# Exit 0 pass, 1 fail, 77 skipped (dpkg-deb missing).
set -euo pipefail
src=$1
work=$2
lib_name=package
. "$src/tests/lib.sh"

command -v dpkg-deb >/dev/null 2>&1 || {
    echo "package: dpkg-deb not installed (scripts/bootstrap installs dpkg-dev): skipped"
    exit 77
}

# The package build directory lives beside the scratch one so a re-run
# rebuilds only what changed.
pkgbuild="$work.build"
lib_scratch
root=$work/root
WEDGE_PACKAGE_BUILD_DIR=$pkgbuild "$src/scripts/package" >"$work/package.out" 2>"$work/package.err" ||
    { tail -n 40 "$work/package.err" >&2; fail "scripts/package failed"; }
deb=$(tail -n 1 "$work/package.out")
[ -f "$deb" ] || fail "scripts/package did not print the .deb's path (got '$deb')"
mkdir -p "$root"
dpkg -x "$deb" "$root"
libdir=$(dirname "$(find "$root/usr/lib" -name libwedge.so | head -n 1)")

# ---- contents -------------------------------------------------------------
case_name=contents
for f in usr/bin/wedge usr/libexec/wedge/shopd usr/libexec/wedge/pspd usr/libexec/wedge/counterd \
    usr/share/man/man1/wedge.1.gz usr/share/man/man5/wedge-scenario.5.gz \
    usr/share/man/man7/wedge-rules.7.gz usr/share/doc/wedge/README.md usr/share/doc/wedge/cli.md; do
    [ -e "$root/$f" ] || fail "$f is not in the package"
done
[ -f "$libdir/libwedge.so" ] || fail "libwedge.so is not in the package"
for kind in scn spec; do
    want=$(cd "$src/scenarios" && find . -name "*.$kind" | sort)
    got=$(cd "$root/usr/share/wedge/scenarios" && find . -name "*.$kind" | sort)
    [ "$want" = "$got" ] || fail "*.$kind installed differ from the source tree's: $(diff <(echo "$want") <(echo "$got") | head -n 5)"
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in libpq5 libcurl4 libunwind8 postgresql; do
    grep -q "\b$d\b" <<<"$depends" || fail "Depends lacks $d: $depends"
done
note "$(find "$root" -type f | wc -l) files; Depends: $depends"

# ---- a scenario from the scratch root ---------------------------------------
# A clean environment: no WEDGE_* variable, no build tree on PATH, an empty
# current directory; TMPDIR is lib_scratch's (the cluster's user can use it).
inst() { (cd "$work/cwd" && env -i PATH=/usr/bin:/bin HOME="$work" TMPDIR="$TMPDIR" "$@"); }
mkdir -p "$work/cwd"
scn=$root/usr/share/wedge/scenarios/shop
case_name=oversell-naive
expect_rc 1 inst "$root/usr/bin/wedge" run "$scn/oversell-naive.scn" --out "$work/naive"
expect_in "$work/out" '^[0-9]* passed, [1-9][0-9]* failed$'
expect_in "$work/naive/junit.xml" 'no_oversell'
for f in report.md report.html; do
    [ -s "$work/naive/$f" ] || fail "the installed wedge wrote no $f"
done
case_name=oversell-atomic
expect_rc 0 inst "$root/usr/bin/wedge" run "$scn/oversell-atomic.scn" --out "$work/atomic"
expect_in "$work/out" '^[1-9][0-9]* passed, 0 failed$'

# Every installed scenario checks (its schema and SQL files found where it
# expects them), and the demo's counterd runs from ${build}: its race found.
case_name=check-all
expect_rc 0 inst "$root/usr/bin/wedge" check "$root"/usr/share/wedge/scenarios/*/*.scn
case_name=demo-naive
expect_rc 1 inst "$root/usr/bin/wedge" run "$root/usr/share/wedge/scenarios/demo/counter-naive.scn" \
    --out "$work/demo"
expect_in "$work/out" '^[0-9]* passed, [1-9][0-9]* failed$'

# Where ${build} and the shim resolved: a copy of the scenario (its schema
# path made absolute) with a job that writes both down.
case_name=probe
sed "s|^schema = schema.sql|schema = $scn/schema.sql|" "$scn/oversell-atomic.scn" >"$work/probe.scn"
cat >>"$work/probe.scn" <<'EOF'

[job probe]
command = sh -c 'echo ${build} >${out}/build-dir; echo "$LD_PRELOAD" >${out}/preload'
EOF
expect_rc 0 inst "$root/usr/bin/wedge" run "$work/probe.scn" --duration 500ms --out "$work/probe"
[ "$(cat "$work/probe/build-dir")" = "$root/usr/libexec/wedge" ] ||
    fail "\${build} is $(cat "$work/probe/build-dir"), not $root/usr/libexec/wedge"
grep -q "^$libdir/libwedge.so" "$work/probe/preload" ||
    fail "LD_PRELOAD is $(cat "$work/probe/preload"), not $libdir/libwedge.so"

# ---- manual pages ------------------------------------------------------------
case_name=man
export MANWIDTH=100 LC_ALL=C.UTF-8
for page in "$root"/usr/share/man/man*/*.gz; do
    man --warnings -l "$page" >"$work/page.txt" 2>"$work/page.err" || fail "man -l $page failed"
    [ ! -s "$work/page.err" ] || fail "man -l $page warns: $(head -n 3 "$work/page.err")"
    [ "$(wc -l <"$work/page.txt")" -gt 100 ] || fail "$page renders to $(wc -l <"$work/page.txt") lines"
    expect_in "$work/page.txt" '^NAME'
done
MANPATH=$root/usr/share/man man -w wedge >"$work/where" || fail "man -w wedge found nothing in $root"
expect_in "$work/where" "^$root/usr/share/man/man1/wedge.1.gz$"
MANPATH=$root/usr/share/man man wedge >"$work/wedge.txt" 2>"$work/man.err" || fail "man wedge failed"
expect_in "$work/wedge.txt" 'wedge run SCENARIO'

# Every command of `wedge --help`, and every flag of each command's help, is
# in the page as rendered (hyphens rendered as ASCII: the page writes \-).
case_name=help-in-man
w=$root/usr/bin/wedge
cmds=$(inst "$w" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}')
[ -n "$cmds" ] || fail "no command in 'wedge --help'"
missing=""
for c in $cmds; do
    grep -q "wedge $c" "$work/wedge.txt" || missing="$missing command:$c"
    inst "$w" help "$c" >"$work/help.$c" || fail "wedge help $c failed"
    for flag in $(grep -oE -- '(^|[ ,[|])--?[A-Za-z][A-Za-z0-9-]*' "$work/help.$c" | grep -oE -- '--?[A-Za-z][A-Za-z0-9-]*' | sort -u); do
        grep -qF -- "$flag" "$work/wedge.txt" || missing="$missing $c:$flag"
    done
done
[ -z "$missing" ] || fail "in 'wedge help' but not in wedge(1):$missing"
note "$(echo $cmds | wc -w) commands, their flags all in wedge(1)"
echo "package: PASS"
