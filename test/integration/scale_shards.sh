#!/usr/bin/env bash
# User-sharded movierec with PL/Proxy 2.10: two shard clusters (ratings and
# user factors of the users hashint8(user_id) maps to them, the catalogue
# and the item factors everywhere), a router database (shard/router.sql)
# and a training node (shard/train.sql) on a third cluster.  Training
# gathers every shard's ratings; a model is published to every shard, and
# under load each shard serves the old model or the new one, never a mix;
# a shard that is down gives its users a clear error and no one else.
set -u
. "$ROOT/test/lib.sh"
. "$ROOT/test/scale_lib.sh"
[ -f "$BINDIR/../lib/plproxy.so" ] || [ -f "$("$BINDIR/pg_config" --pkglibdir)/plproxy.so" ] ||
  { echo "PL/Proxy is not installed (postgresql-15-plproxy)"; exit 77; }
trap scale_stop_all EXIT
S0=$(free_port); scale_primary "$T/shard0" "$S0" || exit 1
S1=$(free_port); scale_primary "$T/shard1" "$S1" || exit 1
R=$(free_port); scale_primary "$T/router" "$R" || exit 1
psqlf() { PGHOST=127.0.0.1 PGPORT=$1 "$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1 -d "$2" "${@:3}"; }
for i in 0 1; do
  port=$([ $i = 0 ] && echo "$S0" || echo "$S1")
  psqlf "$port" postgres -c "CREATE DATABASE shard" || exit 1
  psqlf "$port" shard -c "CREATE EXTENSION movierec" -f "$ROOT/shard/shard.sql" -c "SELECT movierec_shard.setup(2, ARRAY[$i])" >/dev/null || exit 1
done
shards="ARRAY['host=127.0.0.1 port=$S0 dbname=shard', 'host=127.0.0.1 port=$S1 dbname=shard']"
psqlf "$R" postgres -c "CREATE DATABASE router" -c "CREATE DATABASE train" || exit 1
psqlf "$R" router -f "$ROOT/shard/router.sql" -c "SELECT movierec_proxy.set_shards($shards, 'postgres')" >/dev/null || exit 1
psqlf "$R" train -c "CREATE EXTENSION movierec" -f "$ROOT/shard/train.sql" -c "SELECT movierec_proxy.set_shards($shards, 'postgres')" >/dev/null || exit 1
tn() { psqlf "$R" train -c "SET search_path TO movierec, public" -c "$1"; }
ro() { psqlf "$R" router -c "$1"; }
sh() { psqlf "$([ "$1" = 0 ] && echo "$S0" || echo "$S1")" shard -c "SET search_path TO movierec, public" -c "$2"; }

# the users' ratings go to their partitions' shards
tn "SELECT generate_ratings(1200, 300, 36000, seed => 4);
    UPDATE ratings SET rated_at = timestamptz '2020-01-01' + ((user_id * 7 + movie_id) % 1000) * interval '1 hour'" >/dev/null || exit 1
total=$(tn "SELECT count(*) FROM ratings")
for i in 0 1; do
  tn "COPY (SELECT * FROM ratings WHERE movierec_proxy.partition_of(user_id) = $i) TO STDOUT" |
    sh $i "COPY movierec.ratings FROM STDIN" || exit 1
done
tap_is "the catalogue is copied to both shards" "$(tn "SELECT movierec_shards.put_movies()")" "$(( 2 * $(tn "SELECT count(*) FROM movies") ))"
tap_is "each shard holds only its users" "$(sh 0 "SELECT bool_and(movierec_shard.owns(user_id)), count(DISTINCT user_id) > 0 FROM ratings")|$(sh 1 "SELECT bool_and(movierec_shard.owns(user_id)), count(DISTINCT user_id) > 0 FROM ratings")" "t|t|t|t"
tn "TRUNCATE ratings" || exit 1
tap_is "training gathers every shard's ratings" "$(tn "SELECT movierec_shards.gather()")" "$total"

# train and publish model A
tn "SELECT train('movies', 'als', '{\"factors\": 16, \"iterations\": 6}'); SELECT promote(1)" >/dev/null || exit 1
tap_is "model A published to both shards" "$(tn "SELECT movierec_shards.publish(1)")" 2
tap_is "each shard has A in production, with only its users" \
  "$(sh 0 "SELECT m.version, m.stage, bool_and(movierec_shard.owns(u.user_id)) FROM models m JOIN user_factors u USING (model_id) GROUP BY 1, 2")|$(sh 1 "SELECT m.version, m.stage, bool_and(movierec_shard.owns(u.user_id)) FROM models m JOIN user_factors u USING (model_id) GROUP BY 1, 2")" \
  "1|production|t|1|production|t"
answers() {  # answers DB-FUNCTION: user|top-10 with scores for users 1..40
  for u in $(seq 1 40); do echo "SELECT $u, string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM movierec.recommend($u, 10$1);"; done
}
tap_ok "through the router, 40 users get the training node's answers" \
  eq "$(answers "" | psqlf "$R" router)" "$(answers ", '1'" | psqlf "$R" train)"
tap_is "popular (RUN ON ANY) is the training node's popularity ranking" \
  "$(ro "SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM movierec.popular(5)")" \
  "$(tn "SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM recommend(0, 5)")"
tap_is "the catalogue through the router" "$(ro "SELECT string_agg(movie_id::text, ',') FROM movierec.movies('{3,1,2}')")" \
  "$(tn "SELECT string_agg(movie_id::text, ',') FROM movies WHERE movie_id IN (1, 2, 3)")"

# rate through the router: lands on the user's shard and is folded in there
u0=$(tn "SELECT min(u) FROM generate_series(1001, 1200) u WHERE movierec_proxy.partition_of(u) = 0")
u1=$(tn "SELECT min(u) FROM generate_series(1001, 1200) u WHERE movierec_proxy.partition_of(u) = 1")
tap_is "rate through the router" "$(ro "SELECT movierec.rate($u0, 7, 5); SELECT movierec.rate($u1, 8, 1)" | tr '\n' ',')" "t,t,"
tap_is "... on the users' own shards" \
  "$(sh 0 "SELECT count(*) FROM ratings WHERE (user_id, movie_id) IN (($u0, 7), ($u1, 8))")$(sh 1 "SELECT count(*) FROM ratings WHERE (user_id, movie_id) IN (($u0, 7), ($u1, 8))")" 11
tap_is "... folded in on the shard" "$(sh 0 "SELECT path FROM recommend_explain_path($u0)")" fold_in
tap_is "a misrouted call is refused by the shard" \
  "$(sh 1 "SELECT movierec_shard.rate($u0, 7, 5)" 2>&1 | head -1)" "ERROR:  user $u0 is not in a partition of this shard"

# publish B under load: every answer is A's or B's, never a mix
tn "SELECT train('movies', 'als', '{\"factors\": 16, \"iterations\": 6, \"seed\": 3}')" >/dev/null || exit 1
answers ", '1'" | psqlf "$R" train >"$T/a"
answers ", '2'" | psqlf "$R" train >"$T/b"
tap_ok "A and B answer differently" test "$(cat "$T/a")" != "$(cat "$T/b")"
# two clients ask for the 40 users' lists until told to stop
for c in 1 2; do
  { while [ ! -e "$T/stop" ]; do answers ""; done; } | psqlf "$R" router >"$T/load$c" 2>&1 &
  eval "load$c=\$!"
done
lines() { cat "$T/load1" "$T/load2" 2>/dev/null | wc -l; }
for _ in $(seq 1 200); do [ "$(lines)" -ge 160 ] && break; sleep 0.05; done
tap_is "model B published under load" "$(tn "SELECT movierec_shards.publish(2)")" 2
n0=$(lines)
for _ in $(seq 1 200); do [ "$(lines)" -ge $((n0 + 160)) ] && break; sleep 0.05; done
touch "$T/stop"
wait "$load1" "$load2"
tap_is "a rating made after the gather is folded in under B (B was trained without it)" \
  "$(sh 0 "SELECT path FROM recommend_explain_path($u0)")" fold_in
tap_is "... and users without changes are served B's stored factors" \
  "$(sh 0 "SELECT path FROM recommend_explain_path((SELECT min(user_id) FROM ratings))")" model
sort -u "$T/a" "$T/b" >"$T/ab"
n_lines=$(cat "$T/load1" "$T/load2" | wc -l)
bad=$(cat "$T/load1" "$T/load2" | sort -u | comm -23 - "$T/ab" | wc -l)
tap_is "$n_lines answers under load, each A's or B's" "$bad" 0
after=$(answers "" | psqlf "$R" router)
tap_ok "after the publish every user gets B" eq "$after" "$(cat "$T/b")"
tap_ok "the load saw both models (the switch happened under load)" \
  bash -c "grep -qxFf '$T/a' '$T/load1' '$T/load2' && grep -qxFf '$T/b' '$T/load1' '$T/load2'"

# a shard that is down
cluster_stop "$BINDIR" "$T/shard1"
err=$(ro "SELECT * FROM movierec.recommend($u1, 5)" 2>&1 | head -1)
tap_is "a user of the down shard gets a clear error" "$err" "ERROR:  the shard of user $u1 (partition 1) is unavailable"
st=$(PGHOST=127.0.0.1 PGPORT=$R "$BINDIR/psql" -qXAt -d router -c "SELECT * FROM movierec.recommend($u1, 5)" -c '\echo :LAST_ERROR_SQLSTATE' 2>/dev/null | tail -1)
tap_is "... SQLSTATE 08001 (PostgREST: 503)" "$st" 08001
tap_is "... also when rating" "$(ro "SELECT movierec.rate($u1, 9, 3)" 2>&1 | head -1)" "ERROR:  the shard of user $u1 (partition 1) is unavailable"
tap_ok "users of the other shard are served as before" \
  eq "$(ro "SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM movierec.recommend($u0, 10)")" \
     "$(sh 0 "SELECT string_agg(movie_id || '=' || score, ',' ORDER BY rank) FROM recommend($u0, 10)")"
tap_is "popular and the catalogue use the shard that is up (10 calls)" \
  "$(for i in $(seq 1 10); do echo "SELECT count(*) FROM movierec.popular(5); SELECT count(*) FROM movierec.movies('{1,2}');"; done | psqlf "$R" router | sort | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')" "10x2 10x5 "
as_pg "$BINDIR/pg_ctl" -D "$T/shard1" -l "$T/shard1/server.log" -w start >/dev/null || exit 1
tap_is "the shard is back: its users are served again" "$(ro "SELECT count(*) FROM movierec.recommend($u1, 5)")" 5
tap_done
