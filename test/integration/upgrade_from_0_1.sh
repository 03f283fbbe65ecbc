#!/usr/bin/env bash
# ALTER EXTENSION movierec UPDATE from 0.1 as released.
#
# Version 0.1 is the last commit whose movierec.control says 0.1 (found with
# git log -S).  It is built in a throwaway worktree and installed into a
# private copy of the PostgreSQL tree; a cluster on that tree creates the
# extension at 0.1, loads data, trains and promotes.  The current build is
# then installed into the same tree (0.1's script stays beside 0.2's, as a
# package upgrade leaves it), the server restarts on the new library, and
# the database is updated in place.  Checked: the version, the same
# recommendation lists from the old models with fold-in on and off (users
# 0.1 saw changed are still folded in, the others served from the stored
# factors), a change after the update seen through the change log, the
# new 0.2 objects, an old model through 0.2 code paths, and that pg_dump
# of the updated database restores into a fresh 0.2 install.
set -u
. "$ROOT/test/lib.sh"

cd "$ROOT"
rel=$(git log -S"default_version = '0.1'" --format=%H -- movierec.control 2>/dev/null | head -1)
if [ -z "$rel" ] || ! git show "$rel:movierec.control" 2>/dev/null | grep -q "default_version = '0.2'"; then
  echo "no commit bumping 0.1 to 0.2 in this clone's history (shallow clone?)"; exit 77
fi
rel=$(git rev-parse "$rel^")
echo "# 0.1 as released: $rel"

git worktree add -q --detach "$T/v01" "$rel" >/dev/null 2>&1 || { echo "not ok 1 - worktree of 0.1"; exit 1; }
trap 'cd "$ROOT"; git worktree remove --force "$T/v01" >/dev/null 2>&1; [ -n "${DATA:-}" ] && cluster_stop "$PGT/usr/lib/postgresql/15/bin" "$DATA"' EXIT

PGT=$T/pg
private_pg_tree "$PGT"
B=$PGT/usr/lib/postgresql/15/bin
tap_ok "0.1 builds and installs" bash -c "make -s -C '$T/v01' -j2 >'$T/build01.log' 2>&1 && make -s -C '$T/v01' install DESTDIR='$PGT' >>'$T/build01.log' 2>&1"

DATA=$T/data; SOCK=$T/sock; PORT=$(free_port)
chown -R postgres: "$T" 2>/dev/null
cluster_start "$B" "$DATA" "$SOCK" "$PORT" "shared_preload_libraries = 'movierec'" "shared_buffers = 128MB" ||
  { cat "$DATA/server.log"; exit 1; }
P=("$B/psql" -qXAt -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres)
"${P[@]}" -d postgres -c 'CREATE DATABASE up' >/dev/null

tap_is "the extension is created at 0.1" "$("${P[@]}" -d up -c "CREATE EXTENSION movierec VERSION '0.1'" -c "SELECT extversion FROM pg_extension WHERE extname = 'movierec'")" "0.1"
"${P[@]}" -d up >/dev/null 2>"$T/train.err" <<'SQL'
SET client_min_messages = warning;
SELECT movierec.generate_ratings(400, 300, 16000, seed => 11);
SELECT movierec.train('up_als', 'als', '{"factors": 8, "iterations": 4, "seed": 3}');
SELECT movierec.train('up_pop', 'popularity');
SELECT movierec.promote((SELECT max(model_id) FROM movierec.models WHERE model_name = 'up_als'));
SQL
tap_is "0.1 trains and promotes" "$?" 0
[ -s "$T/train.err" ] && head -5 "$T/train.err"

# lists NAME [fold_in]: recommend() for 40 users (fold-in as set, or off)
lists() {
  "${P[@]}" -d "$1" -c "SET movierec.fold_in = ${2:-on}" -c "
    SELECT string_agg(u || ':' || l, ' ' ORDER BY u) FROM (
      SELECT u, (SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM movierec.recommend(u, 10, 'up_als')) AS l
        FROM generate_series(1, 40) u) s"
}
objects() {
  "${P[@]}" -d "$1" -c "
    SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
     WHERE e.extname = 'movierec' AND d.deptype = 'e'"
}
# changes 0.1 serves by its rated_at rule (a newer rating, one without
# rated_at), and one it cannot see (a deleted rating): 0.2 must serve all
# three as 0.1 did
"${P[@]}" -d up >/dev/null <<'SQL'
INSERT INTO movierec.ratings (user_id, movie_id, rating, rated_at)
SELECT 3, m, 5, now() FROM generate_series(1, 300) m
 WHERE NOT EXISTS (SELECT 1 FROM movierec.ratings WHERE user_id = 3 AND movie_id = m) LIMIT 3;
UPDATE movierec.ratings SET rated_at = NULL
 WHERE (user_id, movie_id) = (SELECT user_id, min(movie_id) FROM movierec.ratings WHERE user_id = 4 GROUP BY 1);
DELETE FROM movierec.ratings
 WHERE (user_id, movie_id) IN (SELECT user_id, movie_id FROM movierec.ratings WHERE user_id = 6 ORDER BY rating DESC LIMIT 3);
SQL
# paths NAME: the users of up_als not served from its stored factors
paths() {
  "${P[@]}" -d "$1" -c "SET movierec.fold_in = on" -c "
    SELECT coalesce(string_agg(u || '=' || path, ' ' ORDER BY u), '') FROM generate_series(1, 40) u,
           movierec.recommend_explain_path(u, 'up_als') WHERE path <> 'model'"
}
before=$(lists up on)
before_off=$(lists up off)
n01=$(objects up)
tap_ok "0.1 serves lists" test -n "$before"
tap_ok "0.1 folds in the users it sees changed, so fold-in on and off differ" test "$before" != "$before_off"

# the 0.2 package goes into the same tree; the server restarts on it
cluster_stop "$B" "$DATA"
tap_ok "0.2 installs beside 0.1" bash -c "make -s -C '$ROOT' install DESTDIR='$PGT' >'$T/build02.log' 2>&1 && test -f '$PGT/usr/share/postgresql/15/extension/movierec--0.1.sql' && test -f '$PGT/usr/share/postgresql/15/extension/movierec--0.1--0.2.sql'"
as_pg "$B/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null || { cat "$DATA/server.log"; exit 1; }

"${P[@]}" -d up -c 'ALTER EXTENSION movierec UPDATE' 2>"$T/update.err"
tap_is "ALTER EXTENSION movierec UPDATE succeeds" "$?:$(cat "$T/update.err")" "0:"
tap_is "the extension is at 0.2" "$("${P[@]}" -d up -c "SELECT extversion FROM pg_extension WHERE extname = 'movierec'")" "0.2"
tap_is "build_info reports 0.2" "$("${P[@]}" -d up -c "SELECT movierec.build_info()->>'version'")" "0.2"
# 0.1 kept no log of rating changes: for a model trained under 0.1, the
# log counts from the update on, and 0.1's rated_at rule covers the time
# before it (install/62_serve_changes.sql, src/serve_upgrade.c).
tap_is "the updated database serves 0.1's lists with fold-in on" "$(lists up on)" "$before"
tap_is "... and with fold-in off (the stored factors)" "$(lists up off)" "$before_off"
tap_is "exactly the users 0.1 saw changed are folded in" "$(paths up)" "3=fold_in 4=fold_in"
# a change after the update is seen through the log, even one 0.1's rule
# would miss (a deletion; a rating dated before the training)
"${P[@]}" -d up >/dev/null <<'SQL'
DELETE FROM movierec.ratings
 WHERE (user_id, movie_id) IN (SELECT user_id, movie_id FROM movierec.ratings WHERE user_id = 7 ORDER BY rating DESC LIMIT 3);
INSERT INTO movierec.ratings (user_id, movie_id, rating, rated_at)
SELECT 8, m, 5, '2001-01-01' FROM generate_series(1, 300) m
 WHERE NOT EXISTS (SELECT 1 FROM movierec.ratings WHERE user_id = 8 AND movie_id = m) LIMIT 3;
SQL
tap_is "changes after the update are seen (users 7 and 8 fold in)" "$(paths up)" "3=fold_in 4=fold_in 7=fold_in 8=fold_in"
others() { tr ' ' '\n' | grep -vE '^(7|8):' | tr '\n' ' '; }
tap_is "... and every other list stays 0.1's" "$(lists up on | others)" "$(others <<<"$before")"

# a fresh 0.2 install has exactly the objects of the updated database
"${P[@]}" -d postgres -c 'CREATE DATABASE fresh' >/dev/null
"${P[@]}" -d fresh -c 'CREATE EXTENSION movierec' >/dev/null
tap_is "update and fresh install have the same member objects" "$(objects up)" "$(objects fresh)"
fresh_sig=$("${P[@]}" -d fresh -c "SELECT md5(string_agg(p.oid::regprocedure::text || ' ' || pg_get_function_result(p.oid), ',' ORDER BY p.oid::regprocedure::text)) FROM pg_proc p WHERE p.pronamespace = 'movierec'::regnamespace")
up_sig=$("${P[@]}" -d up -c "SELECT md5(string_agg(p.oid::regprocedure::text || ' ' || pg_get_function_result(p.oid), ',' ORDER BY p.oid::regprocedure::text)) FROM pg_proc p WHERE p.pronamespace = 'movierec'::regnamespace")
tap_is "update and fresh install have the same function signatures" "$up_sig" "$fresh_sig"
cols() { "${P[@]}" -d "$1" -c "SELECT md5(string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' || coalesce(column_default, '') || ' ' || is_nullable, ',' ORDER BY table_name, ordinal_position)) FROM information_schema.columns WHERE table_schema = 'movierec'"; }
tap_is "update and fresh install have the same tables and columns" "$(cols up)" "$(cols fresh)"
echo "# member objects: 0.1 $n01, 0.2 $(objects fresh)"

# new code paths on an old model: predict for a movie the model lacks, retraining
tap_ok "an old model serves through 0.2 (predict, similar_movies, recommend_for_ratings)" \
  "${P[@]}" -d up -c "SELECT movierec.predict(1, 1, 'up_als'), (SELECT count(*) FROM movierec.similar_movies(1, 5, 'up_als')), (SELECT count(*) FROM movierec.recommend_for_ratings('{1,2}'::bigint[], '{5,4}'::real[], 5, 'up_als'))"
tap_ok "0.2 retrains a model created at 0.1" "${P[@]}" -d up -c "SET client_min_messages = warning; SELECT movierec.train('up_als', 'als', '{\"factors\": 8, \"iterations\": 2}')"
tap_is "... and its users are served from the new model's factors" \
  "$("${P[@]}" -d up -c "SELECT count(*) FILTER (WHERE path = 'model') FROM generate_series(1, 40) u, movierec.recommend_explain_path(u, (SELECT max(model_id)::text FROM movierec.models WHERE model_name = 'up_als'))")" 40

# pg_dump of the updated database restores into a fresh 0.2 install
"$B/pg_dump" -h "$SOCK" -p "$PORT" -U postgres -Fc -d up -f "$T/up.dump" 2>"$T/dump.err"
tap_is "pg_dump of the updated database" "$?" 0
"${P[@]}" -d postgres -c 'CREATE DATABASE restored' >/dev/null
"$B/pg_restore" -h "$SOCK" -p "$PORT" -U postgres -d restored "$T/up.dump" 2>"$T/restore.err"
tap_is "it restores into a fresh 0.2 install without errors" "$?:$(head -c 300 "$T/restore.err")" "0:"
tap_is "the restored database is at 0.2 and serves the same lists" "$("${P[@]}" -d restored -c "SELECT extversion FROM pg_extension WHERE extname = 'movierec'") $(lists restored off)" "0.2 $(lists up off)"
tap_done
