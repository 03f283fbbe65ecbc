#!/usr/bin/env bash
# Training is cancellable and observable: another session sees it in
# movierec.training_progress; pg_cancel_backend and statement_timeout stop
# it within a second; a cancelled, timed-out or terminated run leaves no
# model rows and no progress slot behind.
set -u
PSQL=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1)
n=0
check() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }
now() { date +%s.%N; }
# seconds between two now() stamps
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# 400k ratings of 8000 users and 2000 movies: a run of many seconds
"${PSQL[@]}" <<'SQL' || exit 1
SET client_min_messages = warning;
DROP TABLE IF EXISTS tc_ratings;
CREATE TABLE tc_ratings AS
  SELECT u AS user_id, (u * 37 + j * 101) % 2000 + 1 AS movie_id,
         (1 + (u * 7 + j * 3) % 9) / 2.0 AS rating
  FROM generate_series(1, 8000) u, generate_series(1, 50) j;
DELETE FROM tc_ratings a USING tc_ratings b
  WHERE a.ctid < b.ctid AND a.user_id = b.user_id AND a.movie_id = b.movie_id;
ANALYZE tc_ratings;
SQL
models_before=$("${PSQL[@]}" -c "SELECT count(*) FROM movierec.models")
LONG="SELECT movierec.train('tc_run', 'als', '{\"factors\": 64, \"iterations\": 1000}', 'tc_ratings')"

# wait until the run is in the view at iteration >= 1; prints its pid
wait_running() {
  for _ in $(seq 1 300); do
    pid=$("${PSQL[@]}" -c "SELECT pid FROM movierec.training_progress WHERE model = 'tc_run' AND phase = 'iteration' AND iteration >= 1")
    [ -n "$pid" ] && { echo "$pid"; return 0; }
    sleep 0.1
  done
  return 1
}
# wait until a backend is no longer running the training; prints seconds waited
wait_stopped() {
  local t0 pid=$1
  t0=$(now)
  for _ in $(seq 1 500); do
    st=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'")
    [ "$st" = 0 ] && { since "$t0" "$(now)"; return 0; }
    sleep 0.02
  done
  echo 99
}

# 1. progress from another session, then pg_cancel_backend
"${PSQL[@]}" -c "$LONG" >"$T/cancel.out" 2>&1 &
bg=$!
pid=$(wait_running)
check "another session sees the run in training_progress" '[ -n "$pid" ]'
row=$("${PSQL[@]}" -c "SELECT algorithm, \"of\", loss > 0, elapsed > '0'::interval FROM movierec.training_progress WHERE pid = ${pid:-0}")
check "the view shows algorithm, total iterations, loss and elapsed ($row)" '[ "$row" = "als|1000|t|t" ]'
app=$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE pid = ${pid:-0} AND query LIKE '%tc_run%'")
check "the view's pid is the training backend" '[ "$app" = 1 ]'
"${PSQL[@]}" -c "SELECT pg_cancel_backend(${pid:-0})" >/dev/null
secs=$(wait_stopped "${pid:-0}")
wait $bg; rc=$?
echo "# pg_cancel_backend stopped training in ${secs}s"
check "pg_cancel_backend stops training within 1 s (${secs}s)" 'awk -v s="$secs" "BEGIN { exit !(s < 1.0) }"'
check "the cancelled call reports the cancel" '[ $rc -ne 0 ] && grep -q "canceling statement due to user request" "$T/cancel.out"'
left=$("${PSQL[@]}" -c "SELECT (SELECT count(*) FROM movierec.models) - $models_before, (SELECT count(*) FROM movierec.training_progress)")
check "a cancelled run leaves no model and no progress slot ($left)" '[ "$left" = "0|0" ]'

# 2. statement_timeout
t0=$(now)
"${PSQL[@]}" -c "SET statement_timeout = '1500ms'" -c "$LONG" >"$T/timeout.out" 2>&1; rc=$?
secs=$(since "$t0" "$(now)")
echo "# statement_timeout of 1.5 s returned after ${secs}s"
check "statement_timeout stops training within 1 s of the timeout (${secs}s)" 'awk -v s="$secs" "BEGIN { exit !(s < 2.5) }"'
check "the timed-out call reports the timeout" '[ $rc -ne 0 ] && grep -q "canceling statement due to statement timeout" "$T/timeout.out"'
left=$("${PSQL[@]}" -c "SELECT (SELECT count(*) FROM movierec.models) - $models_before, (SELECT count(*) FROM movierec.training_progress)")
check "a timed-out run leaves no model and no progress slot ($left)" '[ "$left" = "0|0" ]'

# 3. pg_terminate_backend: the exiting backend frees its slot
"${PSQL[@]}" -c "$LONG" >"$T/terminate.out" 2>&1 &
bg=$!
pid=$(wait_running)
"${PSQL[@]}" -c "SELECT pg_terminate_backend(${pid:-0}, 5000)" >/dev/null
wait $bg
left=$("${PSQL[@]}" -c "SELECT (SELECT count(*) FROM movierec.models) - $models_before, (SELECT count(*) FROM movierec.training_progress)")
check "a terminated run leaves no model and no progress slot ($left)" '[ -n "$pid" ] && [ "$left" = "0|0" ]'

# 4. a finished run is gone from the view and its model is there
"${PSQL[@]}" -c "SELECT movierec.train('tc_done', 'baseline', '{}', 'tc_ratings')" >/dev/null
left=$("${PSQL[@]}" -c "SELECT (SELECT count(*) FROM movierec.models WHERE model_name = 'tc_done'), (SELECT count(*) FROM movierec.training_progress)")
check "a finished run is stored and leaves the view ($left)" '[ "$left" = "1|0" ]'

# 5. two sessions training one name at once get versions 1 and 2
for s in 1 2; do
  "${PSQL[@]}" -c "SELECT movierec.train('tc_twice', 'als', '{\"factors\": 16, \"iterations\": 2}', 'tc_ratings')" >"$T/twice$s.out" 2>&1 &
done
wait
v=$("${PSQL[@]}" -c "SELECT string_agg(version::text, ',' ORDER BY version) FROM movierec.models WHERE model_name = 'tc_twice'")
check "concurrent runs of one name get distinct versions ($v)" '[ "$v" = "1,2" ]'
"${PSQL[@]}" -c "SELECT movierec.drop_model(model_id) FROM movierec.models WHERE model_name IN ('tc_done', 'tc_twice'); DROP TABLE tc_ratings" >/dev/null
