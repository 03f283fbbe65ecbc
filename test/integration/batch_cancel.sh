#!/usr/bin/env bash
# recommend_all is cancellable on its threaded full scan: statement_timeout
# stops a run of several seconds within a second, on 1 and 2 threads; the
# model's previous lists stay as they were (the delete and the inserts
# roll back); the session serves on, and a complete run afterwards writes
# every user's list.
set -u
. "$ROOT/test/lib.sh"
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)

# 30,000 users x 30,000 movies x 64 random factors: seconds of work
"${PSQL[@]}" <<'SQL' >/dev/null || exit 1
SET client_min_messages = warning;
INSERT INTO movierec.models (model_name, version, algorithm, params, source, n_factors, global_mean)
VALUES ('bc_model', 1, 'als', '{"regularization": 0.1}', 'synthetic', 64, 3.5);
INSERT INTO movierec.item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating)
SELECT (SELECT model_id FROM movierec.models WHERE model_name = 'bc_model'), i, (random() * 0.2 - 0.1)::real,
       (SELECT array_agg((random() * 0.2 - 0.1)::real) FROM generate_series(1, 64) g WHERE g > 0 * i), 10, 3.5
FROM generate_series(1, 30000) i;
INSERT INTO movierec.user_factors (model_id, user_id, bias, factors)
SELECT (SELECT model_id FROM movierec.models WHERE model_name = 'bc_model'), u, (random() * 0.2 - 0.1)::real,
       (SELECT array_agg((random() * 0.2 - 0.1)::real) FROM generate_series(1, 64) g WHERE g > 0 * u)
FROM generate_series(1, 30000) u;
SQL
MID=$("${PSQL[@]}" -c "SELECT model_id FROM movierec.models WHERE model_name = 'bc_model'")
# a first, short list for every user (k = 1): what a cancelled run must leave
"${PSQL[@]}" -c "SET movierec.scan_prune = off" -c "SELECT movierec.recommend_all('bc_model', 1)" >/dev/null || exit 1
digest() { "${PSQL[@]}" -c "SELECT count(*) || ':' || sum(hashtext(user_id || ',' || movie_id || ',' || score)) FROM movierec.recommendations WHERE model_id = $MID"; }
before=$(digest)
tap_ok "the first run wrote one movie for each of the 30,000 users" eq "${before%%:*}" 30000

for threads in 1 2; do
  t0=$(date +%s.%N)
  out=$("${PSQL[@]}" -c "SET movierec.scan_prune = off" -c "SET movierec.blas_threads = $threads" \
        -c "SET statement_timeout = '400ms'" -c "SELECT movierec.recommend_all('bc_model', 10)" 2>&1)
  t1=$(date +%s.%N)
  tap_ok "statement_timeout cancels recommend_all on $threads thread(s)" grep -q 'canceling statement due to statement timeout' <<<"$out"
  tap_ok "  within a second ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s)" \
    awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 1.4) }'
  tap_ok "  and the previous lists are untouched" eq "$(digest)" "$before"
done
# the same session goes on after a cancel (psql without ON_ERROR_STOP):
# it serves, and a complete run replaces the lists
out=$("$BINDIR/psql" -qXAt -c "SET movierec.scan_prune = off" -c "SET movierec.blas_threads = 2" \
      -c "SET statement_timeout = '400ms'" -c "SELECT movierec.recommend_all('bc_model', 10)" \
      -c "RESET statement_timeout" -c "SELECT count(*) FROM movierec.recommend(7, 10, 'bc_model')" \
      -c "SELECT movierec.recommend_all('bc_model', 10)" 2>/dev/null)
tap_ok "after a cancel, the same session serves 10 movies and a full run writes 10 per user" \
  eq "$(echo $out)" "10 300000"
"${PSQL[@]}" -c "DELETE FROM movierec.models WHERE model_id = $MID" >/dev/null
tap_done
