#!/usr/bin/env bash
# Every change of a rating is seen at once, in the session that made it and
# in a session that was already connected: an insert, an update up, an
# update down and a delete of a rating of a user stored in the model each
# fold that user in, and recommend() then equals recommend_for_ratings()
# over the user's current ratings.  A change that commits while a model
# trains (begun before, committed after its read) is seen too: the time of
# the change says nothing there, only the model's transaction snapshot.
# A new movie rated in another session is folded in on the connected
# session's next call.
set -u
. "$ROOT/test/lib.sh"
DB=serve_changes
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" || exit 1
"${PSQL[@]}" -d $DB -c 'CREATE EXTENSION movierec' || exit 1
trap 'exec 3>&- 4>&- 2>/dev/null; "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT
# a SQL...: a new session runs each statement in its own transaction
a() {
  local args=() s
  for s in "$@"; do args+=(-c "$s"); done
  "${PSQL[@]}" -d $DB -c "SET search_path TO movierec" "${args[@]}"
}

a "SELECT generate_ratings(200, 100, 6000, rank => 4, noise => 0.3, seed => 11)" >/dev/null || exit 1
a "SELECT train('m', 'als', '{\"factors\": 8, \"iterations\": 8}')" >/dev/null || exit 1

# session B stays connected and reads commands from a FIFO; so does C
mkfifo "$T/b" "$T/c"
: >"$T/b.out"; : >"$T/c.out"
"${PSQL[@]}" -d $DB <"$T/b" >"$T/b.out" 2>&1 &
"${PSQL[@]}" -d $DB <"$T/c" >"$T/c.out" 2>&1 &
exec 3>"$T/b" 4>"$T/c"
# ask FD OUT SQL: send one query to a session, print its one-line answer
ask() {
  local n_out=$(( $(wc -l <"$2") + 1 ))
  echo "$3" >&"$1"
  for _ in $(seq 1 200); do
    [ "$(wc -l <"$2")" -ge "$n_out" ] && break
    sleep 0.05
  done
  sed -n "${n_out}p" "$2"
}
b() { ask 3 "$T/b.out" "$1"; }
c() { ask 4 "$T/c.out" "$1"; }
b "SET search_path TO movierec; SELECT 1;" >/dev/null
c "SET search_path TO movierec; SELECT 1;" >/dev/null

LIST="SELECT string_agg(movie_id || ':' || score, ',' ORDER BY rank) FROM recommend(%s, 10, 'm')"
RFR="SELECT string_agg(movie_id || ':' || score, ',' ORDER BY rank) FROM recommend_for_ratings(
       (SELECT array_agg(movie_id ORDER BY movie_id) FROM ratings WHERE user_id = %s),
       (SELECT array_agg(rating ORDER BY movie_id) FROM ratings WHERE user_id = %s), 10, 'm')"
PATH_SQL="SELECT path FROM recommend_explain_path(%s, 'm')"
pid_b=$(b "SELECT pg_backend_pid();")

# change USER NAME SQL: the other session B sees it on its next call; so
# does the session that made it (one psql, two statements)
change() {
  local u=$1 name=$2 sql=$3 before after_b
  tap_is "$name: user $u starts on the model path (B)" "$(b "$(printf "$PATH_SQL" $u);")" "model"
  before=$(b "$(printf "$LIST" $u);")
  local same
  same=$(a "$sql" "$(printf "$PATH_SQL" $u)" | tail -1)
  tap_is "$name: the writing session folds user $u in at once" "$same" "fold_in"
  tap_is "$name: the connected session B folds user $u in on its next call" "$(b "$(printf "$PATH_SQL" $u);")" "fold_in"
  after_b=$(b "$(printf "$LIST" $u);")
  tap_ok "$name: B's recommend for user $u changed" [ "$after_b" != "$before" ]
  tap_is "$name: B's recommend equals recommend_for_ratings over the current ratings" \
    "$after_b" "$(b "$(printf "$RFR" $u $u);")"
  tap_is "$name: the writing session's recommend equals B's" "$(a "$(printf "$LIST" $u)")" "$after_b"
}
change 21 "insert" "INSERT INTO ratings (user_id, movie_id, rating, rated_at)
  SELECT 21, min(g), 4, '2000-01-01' FROM generate_series(1, 100) g
  WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.user_id = 21 AND r.movie_id = g)"
change 22 "update up" "UPDATE ratings SET rating = 5, rated_at = '2000-01-01' WHERE user_id = 22
  AND movie_id = (SELECT min(movie_id) FROM ratings WHERE user_id = 22 AND rating < 5)"
change 23 "update down" "UPDATE ratings SET rating = 0.5 WHERE user_id = 23
  AND movie_id = (SELECT min(movie_id) FROM ratings WHERE user_id = 23 AND rating > 0.5)"
change 24 "delete" "DELETE FROM ratings WHERE user_id = 24
  AND movie_id = (SELECT max(movie_id) FROM ratings WHERE user_id = 24)"
tap_is "an untouched user stays on the model path" "$(b "$(printf "$PATH_SQL" 25);")" "model"

# a folded-in user's result is cached by B until the next change, which
# B sees at once: user 21 (folded in above) rates once more elsewhere
first=$(b "$(printf "$LIST" 21);")
tap_is "B serves folded-in user 21 the same twice" "$(b "$(printf "$LIST" 21);")" "$first"
a "UPDATE ratings SET rating = 0.5 WHERE user_id = 21
   AND movie_id = (SELECT max(movie_id) FROM ratings WHERE user_id = 21 AND rating > 0.5)" >/dev/null || exit 1
again=$(b "$(printf "$LIST" 21);")
tap_ok "a second change of user 21 elsewhere changes B's next recommend" [ "$again" != "$first" ]
tap_is "and it equals recommend_for_ratings over the current ratings" "$again" "$(b "$(printf "$RFR" 21 21);")"

# with fold-in off a changed user keeps the stored factors, and B's
# cached rated movies (keyed by the change log) still follow the change
b "SET movierec.fold_in = off; SELECT 1;" >/dev/null
top=$(b "SELECT movie_id FROM recommend(26, 1, 'm');")
a "INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES (26, $top, 3, '2000-01-01')" >/dev/null || exit 1
tap_is "fold_in off: user 26 stays on the stored factors" "$(b "$(printf "$PATH_SQL" 26);")" "model"
tap_is "fold_in off: the movie rated elsewhere is excluded at once"   "$(b "SELECT count(*) FROM recommend(26, 100, 'm') WHERE movie_id = $top;")" "0"
b "RESET movierec.fold_in; SELECT 1;" >/dev/null

# A change begun before a training and committed after its read: the
# writer's now() is older than the model, so only the snapshot can tell.
c "BEGIN; UPDATE ratings SET rating = 0.5 WHERE user_id = 31; SELECT 1;" >/dev/null
a "UPDATE ratings SET rating = 0.5 WHERE user_id = 32" >/dev/null  # committed before the training
a "SELECT train('m2', 'als', '{\"factors\": 8, \"iterations\": 8}')" >/dev/null || exit 1
c "COMMIT; SELECT 1;" >/dev/null
tap_is "a change committed during the training is seen by the new model" \
  "$(b "SELECT path FROM recommend_explain_path(31, 'm2');")" "fold_in"
tap_is "a change committed before the training is in the new model" \
  "$(b "SELECT path FROM recommend_explain_path(32, 'm2');")" "model"
tap_is "both are changes for the older model" \
  "$(b "SELECT string_agg(path, ',') FROM (SELECT path FROM recommend_explain_path(31, 'm')
        UNION ALL SELECT path FROM recommend_explain_path(32, 'm')) s;")" "fold_in,fold_in"

# a new movie, rated in another session, is folded in on B's next call
tap_is "movie 101 is unknown to model m" "$(b "SELECT path FROM movie_explain_path(101, 'm');")" "unknown"
fallback=$(b "SELECT predict(40, 101, 'm');")
a "INSERT INTO movies (movie_id, title) VALUES (101, 'New Release (2026)');
   INSERT INTO ratings (user_id, movie_id, rating, rated_at)
   SELECT u, 101, 5, now() FROM generate_series(41, 46) u" >/dev/null || exit 1
tap_is "after 6 ratings elsewhere, B folds movie 101 in" "$(b "SELECT path FROM movie_explain_path(101, 'm');")" "fold_in"
tap_ok "B's predict of movie 101 now uses its folded factors" \
  [ "$(b "SELECT predict(40, 101, 'm');")" != "$fallback" ]
tap_is "B's similar_movies works for movie 101" "$(b "SELECT count(*) FROM similar_movies(101, 5, 'm');")" "5"
a "INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES (47, 101, 4, now())" >/dev/null || exit 1
tap_is "one more rating elsewhere refreshes movie 101 in B" \
  "$(b "SELECT n_ratings FROM folded_movies('m') WHERE movie_id = 101;")" "7"
tap_is "all of B's calls ran in one backend" "$(b "SELECT pg_backend_pid();")" "$pid_b"
tap_done
