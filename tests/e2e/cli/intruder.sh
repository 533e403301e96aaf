#!/bin/sh
# A job of other-user.scn: $1 the run's ${dsn}, $2 its ${out}.  Exits 0
# when the second local user $OTHER_USER is refused, with and without a
# guessed password, and the owner's ${dsn} connects.  Writes the password
# it found in ${dsn} to OUT.secret (beside, not in, the output directory)
# so the test can look for it in every output.
set -u
dsn=$1 out=$2
port=$(printf '%s' "$dsn" | sed -n 's/.*port=\([0-9]*\).*/\1/p')
printf '%s' "$dsn" | sed -n 's/.*password=\([0-9a-f]*\).*/\1/p' | tr -d '\n' >"$out.secret"
other() {
    (cd / && env -u LD_PRELOAD -u WEDGE_TRACE -u WEDGE_CTL -u WEDGE_RULES HOME=/ \
        setpriv --reuid="$OTHER_USER" --regid="$(id -g "$OTHER_USER")" --clear-groups "$@")
}
rc=0
if other psql -X -w "host=127.0.0.1 port=$port user=wedge dbname=postgres" \
    -c "COPY (SELECT 1) TO PROGRAM 'id'" 2>&1; then
    echo "intruder: COPY TO PROGRAM ran as $OTHER_USER"
    rc=1
fi
if other env PGPASSWORD=guess psql -X -w "host=127.0.0.1 port=$port user=wedge dbname=postgres" \
    -c "SELECT 1" 2>&1; then
    echo "intruder: a guessed password was accepted"
    rc=1
fi
echo "owner: $(psql -X -w "$dsn" -Atc 'SELECT 1' 2>&1)"
exit $rc
