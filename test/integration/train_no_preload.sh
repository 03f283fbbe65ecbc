#!/usr/bin/env bash
# Without shared_preload_libraries training still works (progress as
# NOTICEs with movierec.verbose), and movierec.training_progress raises an
# error that says it needs preloading.  Uses a second, throwaway cluster.
set -u
. "$ROOT/test/lib.sh"
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
port=$(free_port)
trap 'cluster_stop "$BINDIR" "$T/data"' EXIT
cluster_start "$BINDIR" "$T/data" "$T/sock" "$port" || { echo "cannot start a second cluster"; exit 77; }
PSQL=("$BINDIR/psql" -qXAt -h "$T/sock" -p "$port" -U postgres -d postgres)
"${PSQL[@]}" -c "CREATE EXTENSION movierec" \
  -c "CREATE TABLE np AS SELECT u AS user_id, i AS movie_id, (1 + (u + i) % 5)::real AS rating
      FROM generate_series(1, 30) u, generate_series(1, 20) i" >/dev/null || exit 1
out=$("${PSQL[@]}" -c 'SET movierec."verbose" = on' \
  -c "SELECT movierec.train('np', 'baseline', '{\"iterations\": 2}', 'np') > 0" 2>&1)
check "training works without preloading" 'grep -qx t <<<"$out"'
check "movierec.verbose NOTICEs work without preloading" 'grep -q "NOTICE:  training \"np\" (baseline): iteration 2 of 2" <<<"$out"'
err=$("${PSQL[@]}" -c "SELECT * FROM movierec.training_progress" 2>&1)
check "the view says it needs shared_preload_libraries" 'grep -q "ERROR:  movierec.training_progress must be loaded via shared_preload_libraries" <<<"$err"'
check "and hints at the fix" 'grep -q "HINT:  Add movierec to shared_preload_libraries" <<<"$err"'
