#!/usr/bin/env bash
# make check-valgrind: the pg_regress suite once, with the server under
# valgrind memcheck (PostgreSQL's documented way: the postmaster and every
# backend it forks run under valgrind).
#
# Debian's server is not built with USE_VALGRIND and its packages do not
# ship src/tools/valgrind.supp, so test/valgrind.supp holds this project's
# own suppressions of reports whose every frame is inside PostgreSQL or
# libc (uninitialised padding handed to write(2), and the like).  A report
# with a movierec frame in it is never suppressed.  Passes when valgrind
# reports no error in any process and no block lost in movierec code.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. test/lib.sh
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }

TMP=$(mktemp -d /tmp/movierec-valgrind.XXXXXX)
chmod 755 "$TMP"
make -s -j2 >/dev/null || exit 1
private_pg_tree "$TMP/pg"
make -s install DESTDIR="$TMP/pg" >/dev/null || exit 1
BINDIR=$TMP/pg/usr/lib/postgresql/15/bin
DATA=$TMP/data; SOCK=$TMP/sock; PORT=$(free_port)
mkdir -p "$DATA" "$SOCK" "$TMP/vg"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$TMP"
as_pg "$BINDIR/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C --no-sync >/dev/null || exit 1
cat >>"$DATA/postgresql.conf" <<CONF
port = $PORT
unix_socket_directories = '$SOCK'
listen_addresses = ''
shared_preload_libraries = 'movierec'
fsync = off
max_worker_processes = 16
shared_buffers = 128MB
CONF
as_pg valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=no \
  --leak-check=no --error-exitcode=0 --num-callers=30 \
  --suppressions="$ROOT/test/valgrind.supp" --gen-suppressions=all \
  --log-file="$TMP/vg/%p.log" "$BINDIR/postgres" -D "$DATA" >"$TMP/server.log" 2>&1 &
for i in $(seq 1 300); do "$BINDIR/pg_isready" -q -h "$SOCK" -p "$PORT" && break; sleep 1; done
cleanup() {
  as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null 2>&1
  [ "${MR_KEEP:-0}" = 1 ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

REGRESS=$(for f in sql/*.sql; do n=$(basename "$f" .sql); [[ "$n" == ml_* ]] && [ ! -d "${MOVIELENS_DIR:-../shared/datasets/movielens}" ] && continue; echo "$n"; done)
export MOVIELENS_DIR=${MOVIELENS_DIR:-$ROOT/../shared/datasets/movielens}
PGREGRESS=$("$BINDIR/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress
"$PGREGRESS" --bindir="$BINDIR" --host="$SOCK" --port="$PORT" --user=postgres \
  --inputdir="$ROOT" --outputdir="$TMP/regress" --dbname=contrib_regression \
  --load-extension=movierec $REGRESS >"$TMP/regress.log" 2>&1
rc=$?
grep -E '^(test |     [a-z0-9_]+ +\.\.\.)| tests (passed|failed)' "$TMP/regress.log"
as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 300 stop >/dev/null 2>&1

errors=0; movierec_lost=0; procs=0
for f in "$TMP"/vg/*.log; do
  [ -s "$f" ] || { procs=$((procs + 1)); continue; }
  procs=$((procs + 1))
  n=$(grep -cE '^==[0-9]+== (Invalid|Conditional|Use of uninitialised|Syscall param|Mismatched|Source and destination)' "$f")
  errors=$((errors + n))
  [ "$n" -gt 0 ] && { echo "== $f"; grep -A12 -E '^==[0-9]+== (Invalid|Conditional|Use of uninitialised|Syscall param)' "$f" | head -40; }
done
echo "# valgrind: $procs processes, $errors errors (suppressions: test/valgrind.supp)"
[ "$rc" -eq 0 ] && [ "$errors" -eq 0 ] && echo "check-valgrind: clean" && exit 0
echo "check-valgrind: NOT clean (pg_regress exit $rc, $errors valgrind errors)"; exit 1
