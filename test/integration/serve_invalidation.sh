#!/usr/bin/env bash
# The serving cache of an already-connected session sees a promotion, a new
# model and a drop on its next call (relcache invalidation from the
# triggers on movierec.models / item_factors), and a rating inserted in
# another session changes its next recommend().
set -u
DB=serve_invalidation
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" || exit 1
"${PSQL[@]}" -d $DB -c 'CREATE EXTENSION movierec' || exit 1
trap '"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT

# two 2-factor models over 50 movies; B prefers the opposite end of A
"${PSQL[@]}" -d $DB <<'SQL' || exit 1
SET search_path TO movierec;
INSERT INTO models (model_id, model_name, version, algorithm, source, n_factors, global_mean, stage, created_at)
VALUES (1, 'a', 1, 'als', 'movierec.ratings', 2, 3, 'production', '2020-01-01'),
       (2, 'b', 1, 'als', 'movierec.ratings', 2, 3, 'staging', '2020-01-02');
INSERT INTO item_factors (model_id, movie_id, factors, n_ratings, mean_rating)
SELECT m, i, ARRAY[CASE m WHEN 1 THEN i ELSE -i END, 0]::real[], 20, 3 FROM generate_series(1, 50) i, generate_series(1, 2) m;
INSERT INTO user_factors (model_id, user_id, factors)
SELECT m, 7, ARRAY[1, 0]::real[] FROM generate_series(1, 2) m;
SQL

# the long-lived session reads commands from a FIFO
mkfifo "$T/in"
"${PSQL[@]}" -d $DB <"$T/in" >"$T/out" 2>&1 &
SESSION=$!
exec 3>"$T/in"
# ask: send one query to the session and print its one-line answer
ask() {
  local n_out=$(( $(wc -l <"$T/out") + 1 ))
  echo "$1" >&3
  for _ in $(seq 1 100); do
    [ "$(wc -l <"$T/out")" -ge "$n_out" ] && break
    sleep 0.1
  done
  sed -n "${n_out}p" "$T/out"
}
t=0
check() {  # check NAME GOT WANT
  t=$((t + 1))
  if [ "$2" = "$3" ]; then echo "ok $t - $1"; else echo "not ok $t - $1 (got '$2', want '$3')"; fi
}

pid1=$(ask "SELECT pg_backend_pid();")
top=$(ask "SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM movierec.recommend(7, 3);")
check "session serves the production model a" "$top" "50,49,48"

"${PSQL[@]}" -d $DB -c "UPDATE movierec.models SET stage = CASE model_id WHEN 2 THEN 'production' ELSE 'archived' END" || exit 1
top=$(ask "SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM movierec.recommend(7, 3);")
check "promotion of b seen by the connected session on its next call" "$top" "1,2,3"

"${PSQL[@]}" -d $DB -c "UPDATE movierec.item_factors SET factors = ARRAY[-100, 0]::real[] WHERE model_id = 2 AND movie_id = 1" || exit 1
top=$(ask "SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM movierec.recommend(7, 3);")
check "changed item factors seen on the next call" "$top" "2,3,4"

"${PSQL[@]}" -d $DB -c "DELETE FROM movierec.models WHERE model_id = 2" || exit 1
top=$(ask "SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM movierec.recommend(7, 3);")
check "drop of b seen: back to the newest model a" "$top" "50,49,48"

# inside an open transaction (read committed), each statement still sees
# the models committed before it
ask "BEGIN; SELECT 1;" >/dev/null
"${PSQL[@]}" -d $DB <<'SQL' || exit 1
INSERT INTO movierec.models (model_id, model_name, version, algorithm, source, n_factors, global_mean, stage)
VALUES (3, 'c', 1, 'als', 'movierec.ratings', 2, 3, 'production');
INSERT INTO movierec.item_factors (model_id, movie_id, factors, n_ratings, mean_rating)
SELECT 3, i, ARRAY[-i, 0]::real[], 20, 3 FROM generate_series(1, 50) i;
INSERT INTO movierec.user_factors (model_id, user_id, factors) VALUES (3, 7, ARRAY[1, 0]::real[]);
SQL
top=$(ask "SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM movierec.recommend(7, 3);")
check "a model committed during an open transaction is used by its next statement" "$top" "1,2,3"
ask "COMMIT; SELECT 1;" >/dev/null

# a new user rates in another session: folded in at once
path=$(ask "SELECT path FROM movierec.recommend_explain_path(900);")
check "user 900 starts on popularity" "$path" "popularity"
"${PSQL[@]}" -d $DB -c "INSERT INTO movierec.ratings VALUES (900, 50, 5, now()), (900, 10, 1, now())" || exit 1
path=$(ask "SELECT path FROM movierec.recommend_explain_path(900);")
check "rating committed elsewhere folds user 900 in" "$path" "fold_in"

pid2=$(ask "SELECT pg_backend_pid();")
check "all of it in one backend" "$pid2" "$pid1"
exec 3>&-
wait $SESSION
echo "1..$t"
