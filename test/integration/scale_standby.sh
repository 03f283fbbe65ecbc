#!/usr/bin/env bash
# A hot standby made with pg_basebackup serves exactly what the primary
# serves (recommend, predict, explain, similar_movies,
# recommend_for_ratings for 25 users); an already-connected standby session
# sees a promotion, a retraining and a new rating once replay passes them,
# also after the invalidation queue overflowed while it was busy; fold-in
# works there; what writes (train, train_async, promote, rollback,
# import_factors) fails at once with SQLSTATE 25006 and a hint.
set -u
. "$ROOT/test/lib.sh"
. "$ROOT/test/scale_lib.sh"
trap scale_stop_all EXIT
export PGDATABASE=scale
PP=$(free_port); scale_primary "$T/primary" "$PP" || exit 1
qp "$PP" "CREATE DATABASE scale" -d postgres 2>/dev/null || PGDATABASE=postgres qp "$PP" "CREATE DATABASE scale" || exit 1
qp "$PP" "CREATE EXTENSION movierec; SELECT generate_ratings(1500, 300, 45000, seed => 11);
          UPDATE ratings SET rated_at = timestamptz '2020-01-01' + ((user_id * 7 + movie_id) % 1000) * interval '1 hour';
          SELECT train('movies', 'als', '{\"factors\": 16, \"iterations\": 8}'); SELECT promote(1);" >/dev/null || exit 1
SP=$(free_port); scale_standby "$PP" "$T/standby" "$SP" || exit 1
tap_is "the standby is in recovery" "$(qp "$SP" "SELECT pg_is_in_recovery()")" t

scale_wait_replay "$PP" "$SP" || exit 1
a=$(scale_answers "$PP" NULL); b=$(scale_answers "$SP" NULL)
tap_is "101 answers from the primary" "$(wc -l <<<"$a")" 101
tap_ok "the standby's answers are the primary's" eq "$b" "$a"

# an already-connected standby session
session_open s "$SP"
# a user's top 5 with scores: differs between models 1 and 2
TOP="SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend(7, 5"
top() { session_ask s "$TOP);"; }
tap_is "the standby session serves model 1" "$(session_ask s "SELECT model_id FROM models WHERE stage = 'production';")|$(top 7)" \
  "1|$(qp "$PP" "$TOP)")"
pid=$(session_ask s "SELECT pg_backend_pid();")

# retraining + promotion on the primary
qp "$PP" "SELECT train('movies', 'als', '{\"factors\": 16, \"iterations\": 8, \"seed\": 7}'); SELECT promote(2);" >/dev/null || exit 1
scale_wait_replay "$PP" "$SP" || exit 1
want=$(qp "$PP" "$TOP)")
tap_ok "models 1 and 2 answer differently" test "$want" != "$(qp "$PP" "$TOP, '1')")"
tap_is "retraining and promotion seen by the connected standby session" "$(top 7)" "$want"

# a new rating on the primary: folded in on the standby
new=$(qp "$PP" "SELECT min(i) FROM generate_series(1, 300) i WHERE NOT EXISTS (SELECT 1 FROM ratings WHERE user_id = 7 AND movie_id = i)")
qp "$PP" "INSERT INTO ratings VALUES (7, $new, 0.5, now()), (7, $((new + 1)), 5, now()) ON CONFLICT DO NOTHING" || exit 1
scale_wait_replay "$PP" "$SP" || exit 1
tap_is "a new rating folds user 7 in on the standby" "$(session_ask s "SELECT path FROM recommend_explain_path(7);")" fold_in
want=$(qp "$PP" "SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend(7, 10)")
tap_is "the standby's fold-in equals the primary's" \
  "$(session_ask s "SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend(7, 10);")" "$want"
tap_is "a new user's ratings folded in on the standby" \
  "$(qp "$SP" "SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend_for_ratings('{5,6,7}', '{5,1,4}', 5)")" \
  "$(qp "$PP" "SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend_for_ratings('{5,6,7}', '{5,1,4}', 5)")"

# Invalidation-queue overflow: the queue holds 4096 messages.  The session
# is busy in one statement (a busy backend does not catch up; an idle one
# would, on a catch-up signal) while the primary commits a promotion among
# some 20,000 catalogue invalidations (1,500 CREATE TABLE).  The replayed
# messages overflow the session's queue position: it is reset, and must
# throw its cached models away (relcache callback with InvalidOid).
echo "SELECT pg_sleep(600);" >&"${SESSION_FD[s]}"
for _ in $(seq 1 100); do
  [ "$(qp "$SP" "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'")" = 1 ] && break
  sleep 0.05
done
qp "$PP" "SELECT promote(1)" >/dev/null || exit 1
for g in $(seq 1 1500); do echo "CREATE TABLE inv_$g (a int, b text);"; done |
  PGHOST=127.0.0.1 PGPORT=$PP "$BINDIR/psql" -qX -v ON_ERROR_STOP=1 >/dev/null || exit 1
scale_wait_replay "$PP" "$SP" || exit 1
tap_is "the messages were replayed while the session was busy" \
  "$(qp "$SP" "SELECT state FROM pg_stat_activity WHERE pid = $pid")" active
# end the busy statement (its error line is the session's answer to it)
qp "$SP" "SELECT pg_cancel_backend($pid)" >/dev/null
for _ in $(seq 1 200); do grep -q 'canceling statement' "$T/s.out" && break; sleep 0.05; done
want=$(qp "$PP" "$TOP)")
tap_ok "the promotion changed the answer" test "$want" != "$(qp "$PP" "$TOP, '2')")"
tap_is "after the overflow the session serves the promoted model 1" "$(top 7)" "$want"
tap_is "... and it was the same backend all along" "$(session_ask s "SELECT pg_backend_pid();")" "$pid"
session_close s

# what needs a primary (recommend_in logs an exposure)
refuse() {  # refuse SQL: "SQLSTATE|first line" of the standby's error
  PGHOST=127.0.0.1 PGPORT=$SP "$BINDIR/psql" -qXAt -c "SET search_path TO movierec" -c "$1" \
    -c '\echo :LAST_ERROR_SQLSTATE' 2>&1 | { read -r m; h=$(grep '^HINT' | head -1); tail -1 >/dev/null; echo "$m|$h"; }
}
hint='HINT:  Connect to the primary, e.g. with target_session_attrs=read-write in the connection string.'
for call in "train|SELECT train('x', 'als')" "queueing a training job|SELECT train_async('x')" \
            "promote|SELECT promote(2)" "rollback|SELECT rollback('movies')" \
            "import_factors|SELECT import_factors('x', 'movierec.ratings', 'movierec.ratings')" \
            "exposure logging|SELECT * FROM recommend_in('any', 7)"; do
  what=${call%%|*}
  got=$(PGHOST=127.0.0.1 PGPORT=$SP "$BINDIR/psql" -qXAt -v VERBOSITY=default -c "SET search_path TO movierec" -c "${call#*|}" 2>&1 | head -1)
  st=$(PGHOST=127.0.0.1 PGPORT=$SP "$BINDIR/psql" -qXAt -c "SET search_path TO movierec" -c "${call#*|}" -c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null | tail -1)
  tap_is "on the standby: ${call#*|}" "$got|$st" "ERROR:  $what needs the primary: this server is a hot standby|25006"
done
tap_ok "the refusal carries a hint" bash -c "PGHOST=127.0.0.1 PGPORT=$SP '$BINDIR/psql' -qXAt -c \"SELECT movierec.train('x', 'als')\" 2>&1 | grep -qxF '$hint'"
tap_done
