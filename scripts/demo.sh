#!/usr/bin/env bash
# scripts/demo.sh: movierec's main job (`make demo`), or `stop` (`make stop`).
#
# Installs what is missing, builds and installs the extension, creates (or
# reuses) a cluster in .demo/ inside the project, loads MovieLens (or a
# synthetic set of the same shape), trains and evaluates models, prints
# top-10 lists with titles, and leaves the cluster running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. test/lib.sh

BINDIR=/usr/lib/postgresql/15/bin
DEMO=$ROOT/.demo
DATA=$DEMO/data
SOCK=$DEMO/sock
PORT=${MR_DEMO_PORT:-5499}
DB=movierec

# Services beside the cluster (PostgREST, the exporter, Prometheus, ...) are
# scripts/demo.d/NN_name.sh: each is run as "bash FILE start" after the
# cluster is up (it prints its URLs) and "bash FILE stop" before the cluster
# stops, with BINDIR, DEMO, PGHOST, PGPORT, PGUSER and PGDATABASE set.
demo_services() {
  local action=$1 f files
  files=$(ls scripts/demo.d/*.sh 2>/dev/null | sort)
  [ "$action" = stop ] && files=$(echo "$files" | sort -r)
  for f in $files; do
    BINDIR=$BINDIR DEMO=$DEMO PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PGDATABASE=$DB \
      bash "$f" "$action" || { echo "demo: $f $action failed" >&2; [ "$action" = stop ] || return 1; }
  done
}

if [ "${1:-}" = stop ]; then
  demo_services stop
  if [ -f "$DATA/postmaster.pid" ]; then
    cluster_stop "$BINDIR" "$DATA"; echo "demo cluster stopped (data kept in $DATA)"
  else
    echo "demo cluster is not running"
  fi
  exit 0
fi

bash scripts/deps.sh
echo "== build and install"
make -s -j2 >/dev/null
if [ "$(id -u)" -eq 0 ]; then make -s install >/dev/null; else
  echo "not root: assuming the extension is installed (run make install as root)"; fi

mkdir -p "$DEMO"
[ "$(id -u)" -eq 0 ] && chown postgres: "$DEMO"
if [ ! -f "$DATA/PG_VERSION" ]; then
  echo "== creating the demo cluster in $DATA (port $PORT)"
  cluster_start "$BINDIR" "$DATA" "$SOCK" "$PORT" \
    "shared_preload_libraries = 'movierec,pg_cron'" \
    "cron.database_name = '$DB'" "movierec.database = '$DB'"
elif ! as_pg "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  echo "== starting the existing demo cluster"
  as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w start >/dev/null
else
  echo "== reusing the running demo cluster"
fi
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres
PSQL=("$BINDIR/psql" -X -v ON_ERROR_STOP=1 -d "$DB")
"$BINDIR/psql" -qXAt -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
  "$BINDIR/psql" -qX -d postgres -c "CREATE DATABASE $DB" >/dev/null
"${PSQL[@]}" -q -c "DROP EXTENSION IF EXISTS movierec CASCADE; CREATE EXTENSION movierec" 2>&1 | grep -v NOTICE || true
# the training worker serves this database; pg_cron schedules retraining here
"${PSQL[@]}" -q -c "ALTER SYSTEM SET movierec.database = '$DB'" -c "SELECT pg_reload_conf()" >/dev/null
"${PSQL[@]}" -q -c "CREATE EXTENSION IF NOT EXISTS pg_cron" 2>&1 | grep -v NOTICE || true

# Where is MovieLens?  MOVIELENS_DIR may name a dataset folder or a folder of datasets.
ML=${MOVIELENS_DIR:-$ROOT/../shared/datasets/movielens}
SRC=
for d in "$ML" "$ML/ml-latest-small" "$ROOT/../shared/datasets/movielens/ml-latest-small"; do
  if [ -f "$d/ratings.csv" ] || [ -f "$d/u.data" ] || [ -f "$d/ratings.dat" ]; then
    SRC=$(cd "$d" && pwd); break
  fi
done

has_fn() { "$BINDIR/psql" -qXAt -d "$DB" -c "SELECT to_regproc('movierec.$1') IS NOT NULL" | grep -q t; }

echo "== loading data"
if [ -n "$SRC" ]; then
  echo "MovieLens from $SRC"
  "${PSQL[@]}" -c "SELECT * FROM movierec.load_movielens('$SRC')"
else
  echo "no MovieLens data found (set MOVIELENS_DIR; download from https://grouplens.org/datasets/movielens/);"
  echo "using a SYNTHETIC set of the same shape as ml-latest-small (610 users, 9,742 movies, 100,836 ratings)"
  "${PSQL[@]}" -c "SELECT movierec.generate_ratings(610, 9742, 100836, seed => 42) AS ratings"
fi

if has_fn train && has_fn evaluate; then
  echo "== training and evaluating (hash split: 80% train, 20% test)"
  "${PSQL[@]}" -q -f scripts/demo_train.sql
else
  echo "== training is not available in this build: showing the popularity ranking"
  "${PSQL[@]}" -c "
    SELECT m.title, count(*) AS n, round(avg(r.rating)::numeric, 2) AS mean
      FROM movierec.ratings r JOIN movierec.movies m USING (movie_id)
     GROUP BY m.title HAVING count(*) >= 50
     ORDER BY (sum(r.rating) + 20 * 3.5) / (count(*) + 20) DESC LIMIT 10"
fi

echo "== services"
demo_services start

cat <<MSG

The demo cluster is running. Connect with:
  $BINDIR/psql -h $SOCK -p $PORT -U postgres $DB
Stop it with:
  make stop
MSG
