#!/usr/bin/env bash
# movierec.serving_stats, training_stats and training_last_success count
# exactly what was served and trained: calls, rows and errors per model,
# function and path, cache loads and invalidations, the latency histogram,
# training outcomes (succeeded, failed, cancelled); movierec.track_stats
# = off stops counting; reset_stats() zeroes (and only a superuser may);
# the monitoring role reads the views and nothing else; without
# preloading the views raise the preload error.
set -u
. "$ROOT/test/lib.sh"
DB=monitoring_stats
MON=mr_stats_test_monitor
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)
cleanup() {
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
  "${PSQL[@]}" -d postgres -c "DROP ROLE IF EXISTS $MON" >/dev/null 2>&1
  [ -d "$T/np" ] && cluster_stop "$BINDIR" "$T/np"
}
trap cleanup EXIT
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null || exit 1
export PGDATABASE=$DB
q "CREATE EXTENSION movierec" >/dev/null || exit 1
q "SELECT movierec.generate_ratings(200, 300, 6000, seed => 7)" >/dev/null || exit 1
q "SELECT movierec.reset_stats()" >/dev/null || exit 1

# training: one success, one failure inside the run, one cancellation
tap_is "training succeeds" "$(q "SELECT movierec.train('st_als', 'als', '{\"factors\": 8, \"iterations\": 3}') > 0")" "t"
q "SET movierec.max_train_memory = '1MB'; SELECT movierec.train('st_fail', 'als', '{\"factors\": 1024}')" >/dev/null 2>&1
q "SET statement_timeout = '300ms'; SELECT movierec.train('st_cancel', 'als', '{\"factors\": 256, \"iterations\": 1000}')" >/dev/null 2>&1
tap_is "training_stats: als succeeded, failed and cancelled once each" \
  "$(q "SELECT string_agg(outcome || '=' || runs, ',' ORDER BY outcome) FROM training_stats WHERE algorithm = 'als'")" \
  "cancelled=1,failed=1,succeeded=1"
tap_is "the duration histogram holds every run" \
  "$(q "SELECT bool_and(bucket_count[array_length(bucket_count, 1)] = runs AND total_seconds > 0) FROM training_stats")" "t"
tap_is "training_last_success has the committed model only" \
  "$(q "SELECT string_agg(model_name || ':' || model_id, ',') FROM training_last_success WHERE model_name LIKE 'st\_%'")" \
  "st_als:$(q "SELECT model_id FROM models WHERE model_name = 'st_als'")"
q "BEGIN; SELECT movierec.train('st_rolled_back', 'baseline'); ROLLBACK" >/dev/null
tap_is "a rolled-back success is no last success" \
  "$(q "SELECT count(*) FROM training_last_success WHERE model_name = 'st_rolled_back'")" "0"

# serving, all in one session: 20 model-path calls of 5 rows, a cold-start
# user, a folded-in user, two errors, predict, similar_movies, an
# invalidation, then 7 calls with track_stats off
q "INSERT INTO ratings VALUES (5, 299, 5, now()) ON CONFLICT DO NOTHING" >/dev/null
q "SELECT count(*) FROM generate_series(6, 25) g, recommend(g, 5, 'st_als');
   SELECT count(*) FROM recommend(99999, 5, 'st_als');
   SELECT count(*) FROM recommend(5, 5, 'st_als');
   SELECT predict(6, 1, 'st_als');
   SELECT count(*) FROM similar_movies(1, 3, 'st_als');
   UPDATE models SET stage = 'staging' WHERE model_name = 'st_als';
   SELECT count(*) FROM recommend(6, 5, 'st_als');
   SET movierec.track_stats = off;
   SELECT count(*) FROM generate_series(1, 7) g, recommend(g, 5, 'st_als');" >/dev/null || exit 1
q "SELECT * FROM recommend(6, 0, 'st_als')" >/dev/null 2>&1
q "SELECT * FROM recommend(6, 5, 'st_no_such_model')" >/dev/null 2>&1
row() { q "SELECT calls || '/' || rows || '/' || errors FROM serving_stats WHERE model = '$1' AND function = '$2' AND path = '$3'"; }
tap_is "recommend, model path: 21 calls, 105 rows, no error" "$(row st_als recommend model)" "21/105/0"
tap_is "recommend, popularity path (cold start): 1 call" "$(row st_als recommend popularity)" "1/5/0"
tap_is "recommend, fold_in path (rated after training): 1 call" "$(row st_als recommend fold_in)" "1/5/0"
tap_is "predict counts one row" "$(row st_als predict model)" "1/1/0"
tap_is "similar_movies" "$(row st_als similar_movies model)" "1/3/0"
tap_is "errors before a model resolves count under model none" "$(row none recommend none)" "2/0/2"
# (autovacuum's analyze of models or item_factors invalidates too: each
# invalidation of the one cached model means one more load)
tap_is "cache: the update invalidated the cached model, and every invalidation cost one load" \
  "$(q "SELECT sum(cache_invalidations) >= 1 AND sum(cache_loads) = sum(cache_invalidations) + 1
          FROM serving_stats WHERE model = 'st_als'")" "t"
tap_is "latency histogram: cumulative, its last bucket (10 s) holds every call" \
  "$(q "SELECT bool_and(bucket_count[19] = calls AND bucket_le[1] = 1e-5 AND bucket_le[19] = 10
                      AND total_seconds > 0 AND bucket_count[1] <= bucket_count[10]) FROM serving_stats WHERE model = 'st_als' AND calls > 0")" "t"

# a movie new since training, rated by 20 of the model's users, is folded in
q "INSERT INTO movies VALUES (5000, 'New movie (2026)', 2026, '{}');
   INSERT INTO ratings SELECT u, 5000, 4, now() FROM generate_series(30, 49) u;
   SELECT count(*) FROM similar_movies(5000, 3, 'st_als');" >/dev/null || exit 1
tap_is "similar_movies of a folded-in movie counts under path folded_item" "$(row st_als similar_movies folded_item)" "1/3/0"

# privileges: the monitoring role reads the views, not the tables
q "SELECT movierec.create_monitor_role('$MON')" >/dev/null || exit 1
mon() { "$BINDIR/psql" -qXAt -U "$MON" -d "$DB" -c "$1" 2>&1; }
tap_is "the monitoring role reads serving_stats" "$(mon "SELECT count(*) > 0 FROM movierec.serving_stats")" "t"
tap_is "... and model_gauges (over the registry)" "$(mon "SELECT count(*) >= 0 FROM movierec.model_gauges")" "t"
tap_ok "... but not the ratings" grep -q "permission denied" <<<"$(mon "SELECT count(*) FROM movierec.ratings")"
tap_ok "... nor reset the statistics" grep -q "permission denied" <<<"$(mon "SELECT movierec.reset_stats()")"
tap_is "the monitoring role is no superuser" "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = '$MON'")" "f"

q "SELECT movierec.reset_stats()" >/dev/null
tap_is "reset_stats() zeroes serving and training statistics" \
  "$(q "SELECT coalesce(sum(calls), 0) FROM serving_stats") $(q "SELECT count(*) FROM training_stats")" "0 0"
"${PSQL[@]}" -c "DROP OWNED BY $MON" >/dev/null

# without preloading: the views say so
started=0
for try in 1 2; do
  rm -rf "$T/np" "$T/npsock"
  port=$(free_port)
  cluster_start "$BINDIR" "$T/np" "$T/npsock" "$port" >/dev/null 2>&1 && { started=1; break; }
done
tap_is "a second cluster without movierec preloaded starts" "$started" 1
[ "$started" = 1 ] || tail -5 "$T/np/server.log" 2>/dev/null | sed 's/^/# /'
if [ "$started" = 1 ]; then
  "$BINDIR/psql" -qXAt -h "$T/npsock" -p "$port" -U postgres -d postgres -c "CREATE EXTENSION movierec" >/dev/null
  err=$("$BINDIR/psql" -qXAt -h "$T/npsock" -p "$port" -U postgres -d postgres -c "SELECT * FROM movierec.serving_stats" 2>&1)
  tap_ok "without preloading serving_stats raises the preload error" \
    grep -q "ERROR:  movierec statistics need movierec in shared_preload_libraries" <<<"$err"
  tap_ok "... with the hint" grep -q "HINT:  Add movierec to shared_preload_libraries" <<<"$err"
  tap_is "... and so does training_stats" "$("$BINDIR/psql" -qXAt -h "$T/npsock" -p "$port" -U postgres -d postgres \
    -c "SELECT count(*) FROM movierec.training_stats" 2>&1 | grep -c 'ERROR:  movierec statistics need')" "1"
fi
tap_done
