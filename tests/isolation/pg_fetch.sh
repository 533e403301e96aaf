#!/usr/bin/env bash
# pg_fetch.sh CACHE_DIR
# Prints the directory holding PostgreSQL's isolation suite (specs/,
# expected/, isolation_schedule) for the server wedge runs, fetching it
# with `apt-get source postgresql-N` (deb-src entries: scripts/bootstrap)
# the first time and keeping it under CACHE_DIR after that.  The exact
# Debian version of the installed server when the archive still has it,
# else the newest of the same major version.  Exit 77 when the sources
# cannot be had (no deb-src entry, no network, no dpkg-source).
set -u
cache=$1
bindir=${WEDGE_PG_BINDIR:-}
if [ -z "$bindir" ]; then
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi
if [ ! -x "$bindir/postgres" ]; then
  echo "pg_fetch: no PostgreSQL server found (WEDGE_PG_BINDIR)" >&2
  exit 77
fi
major=$("$bindir/postgres" --version | sed -n 's/.*PostgreSQL) \([0-9]*\).*/\1/p')
pkg=postgresql-$major
version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
dir=$cache/$pkg-${version:-any}
if [ -f "$dir/.complete" ]; then
  echo "$dir"
  exit 0
fi
for tool in apt-get dpkg-source; do
  if ! command -v "$tool" >/dev/null; then
    echo "pg_fetch: $tool is missing (scripts/bootstrap installs dpkg-dev)" >&2
    exit 77
  fi
done
mkdir -p "$cache" || exit 77
work=$(mktemp -d "$cache/fetch.XXXXXX") || exit 77
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 77
# apt-get source runs dpkg-source -x itself; download first, so that the
# exact version can fall back to the newest one the archive has.
if ! { [ -n "$version" ] && apt-get source -qq --download-only "$pkg=$version" >log 2>&1; } &&
   ! apt-get source -qq --download-only "$pkg" >>log 2>&1; then
  echo "pg_fetch: apt-get source $pkg failed (is a deb-src entry enabled? scripts/bootstrap adds one):" >&2
  tail -3 log >&2
  exit 77
fi
dsc=$(ls ./*.dsc | head -1)
if ! dpkg-source -x "$dsc" src >>log 2>&1 || [ ! -d src/src/test/isolation/specs ]; then
  echo "pg_fetch: dpkg-source -x $dsc failed:" >&2
  tail -3 log >&2
  exit 77
fi
rm -rf "$dir"
mkdir -p "$dir"
cp -r src/src/test/isolation/specs src/src/test/isolation/expected \
  src/src/test/isolation/isolation_schedule "$dir"/
basename "$dsc" .dsc >"$dir/.complete"
echo "$dir"
