#!/usr/bin/env bash
# Faults during training and promotion: kill -9 of a backend running
# train(), of a training job worker and of the postmaster, at several
# points of the run, and kill -9 during promote and rollback.
#
# A run is stopped at an exact point with movierec.fault_point (src/fault.c:
# the process waits there, showing "movierec fault point NAME" in
# pg_stat_activity); promote and rollback are stopped by a lock that another
# session holds.  Then the test kills, lets the server recover (restarting
# it after a postmaster kill) and checks, after every fault:
#   - no model row without all its factors (user and movie rows = counts);
#   - exactly the production models of before (one per name, or none);
#   - no model, rating or factor row of before lost (counts and checksums);
#   - no job left running; a killed job is failed, and retried if it asked;
#   - every snapshot a model names exists, with its copy table;
#   - the server serves the previous production model's lists.
# It prints "# faults: cases N, survived N, models lost N" for BENCHMARKS.md.
set -u
. "$ROOT/test/lib.sh"

DATA=$T/data; SOCK=$T/sock; PORT=$(free_port)
chown postgres: "$T" 2>/dev/null
cluster_start "$BINDIR" "$DATA" "$SOCK" "$PORT" "shared_preload_libraries = 'movierec'" \
  "shared_buffers = 128MB" "movierec.database = 'faults'" "movierec.worker_naptime = 1" \
  "restart_after_crash = on" "synchronous_commit = on" || { cat "$DATA/server.log"; exit 1; }
trap 'cluster_stop "$BINDIR" "$DATA"' EXIT
export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres PGDATABASE=faults
"$BINDIR/psql" -qX -d postgres -c 'CREATE DATABASE faults' >/dev/null
q "CREATE EXTENSION movierec" >/dev/null
q "SELECT generate_ratings(800, 400, 40000, seed => 21)" >/dev/null
q "SELECT train('f_als', 'als', '{\"factors\": 16, \"iterations\": 4, \"seed\": 1}')" >/dev/null
q "SELECT promote(max(model_id)) FROM models WHERE model_name = 'f_als'" >/dev/null
q "SELECT train('f_als', 'als', '{\"factors\": 16, \"iterations\": 4, \"seed\": 2}')" >/dev/null
q "SELECT train('f_pop', 'popularity', '{\"snapshot\": \"copy\"}')" >/dev/null
q "SELECT promote(max(model_id)) FROM models WHERE model_name = 'f_pop'" >/dev/null

# the state that no fault may change
state() {
  q "SELECT (SELECT count(*) FROM ratings),
            (SELECT md5(string_agg(user_id || ':' || movie_id || ':' || rating, ',' ORDER BY user_id, movie_id)) FROM ratings),
            (SELECT string_agg(model_id || '/' || model_name || '/' || stage, ',' ORDER BY model_id) FROM models),
            (SELECT md5(string_agg(model_id || ':' || user_id || ':' || factors::text, ',' ORDER BY model_id, user_id)) FROM user_factors),
            (SELECT md5(string_agg(model_id || ':' || movie_id || ':' || factors::text, ',' ORDER BY model_id, movie_id)) FROM item_factors)"
}
lists() {
  q "SELECT string_agg(u || ':' || (SELECT string_agg(movie_id::text, ',' ORDER BY rank) FROM recommend(u, 10, 'f_als')), ' ' ORDER BY u)
       FROM generate_series(1, 30) u"
}
# invariants that hold after any fault
whole() {
  q "SELECT count(*) FROM models m
      WHERE (SELECT count(*) FROM user_factors f WHERE f.model_id = m.model_id) <> m.n_users
         OR (SELECT count(*) FROM item_factors f WHERE f.model_id = m.model_id) <> m.n_movies"
}
snapshots_ok() {
  q "SELECT count(*) FROM models m LEFT JOIN snapshots s USING (snapshot_id)
      WHERE m.snapshot_id IS NOT NULL AND (s.snapshot_id IS NULL OR (s.rows_table IS NOT NULL AND to_regclass(s.rows_table) IS NULL))"
}
BASE_STATE=$(state); BASE_LISTS=$(lists)
CASES=0; SURVIVED=0; LOST=0

# wait until the server accepts connections again (crash recovery, restart)
wait_up() {
  local i
  for i in $(seq 1 150); do
    "$BINDIR/psql" -qXAt -d faults -c 'SELECT 1' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}
# wait for the process at fault point $1 and print its pid
wait_point() {
  local i pid
  for i in $(seq 1 150); do
    pid=$(q "SELECT pid FROM pg_stat_activity WHERE query = 'movierec fault point $1' LIMIT 1" 2>/dev/null)
    [ -n "$pid" ] && { echo "$pid"; return 0; }
    sleep 0.2
  done
  return 1
}
# check every invariant after fault $1; $2: jobs must have settled
check() {
  local name=$1 ok=1 got
  wait_up || { echo "# $name: server did not come back"; ok=0; }
  if [ "$ok" = 1 ]; then
    [ "$(whole)" = 0 ] || { echo "# $name: a model without all its factors"; ok=0; }
    [ "$(snapshots_ok)" = 0 ] || { echo "# $name: a model names a missing snapshot"; ok=0; }
    got=$(state)
    if [ "$got" != "$BASE_STATE" ]; then
      echo "# $name: state changed"; ok=0
      [ "$(echo "$got" | cut -d'|' -f3)" = "$(echo "$BASE_STATE" | cut -d'|' -f3)" ] ||
        LOST=$((LOST + $(q "SELECT count(*) FROM unnest(string_to_array('$(echo "$BASE_STATE" | cut -d'|' -f3)', ',')) b
                              WHERE b <> ALL (string_to_array('$(echo "$got" | cut -d'|' -f3)', ','))")))
    fi
    [ "$(lists)" = "$BASE_LISTS" ] || { echo "# $name: lists differ from the previous production model"; ok=0; }
  fi
  CASES=$((CASES + 1))
  [ "$ok" = 1 ] && SURVIVED=$((SURVIVED + 1))
  tap_ok "$name" [ "$ok" = 1 ]
}
# a run that stopped at a point is gone: drop what a retry left
forget_retries() { q "DELETE FROM models WHERE model_name = 'f_job'" >/dev/null; }

POINTS="reading training iteration:1 iteration:3 writing factors commit"
# a run that never reached its point must not go on and commit
stop_runs() { q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (query LIKE '%movierec.train(%' OR backend_type = 'movierec training worker')" >/dev/null; }

# --- 1. kill -9 of a backend running train() ---------------------------------
for p in $POINTS; do
  ( "$BINDIR/psql" -qXAt -d faults -c "SET movierec.fault_point = '$p'" \
      -c "SELECT movierec.train('f_als', 'als', '{\"factors\": 16, \"iterations\": 4, \"seed\": 9, \"snapshot\": \"copy\"}')" >/dev/null 2>&1 & )
  pid=$(wait_point "$p") || { tap_ok "backend reaches $p" false; stop_runs; continue; }
  kill -9 "$pid"
  check "kill -9 of a backend in train() at $p"
done

# --- 2. kill -9 of a training job worker (the job asked for one retry) --------
for p in $POINTS; do
  q "ALTER DATABASE faults SET movierec.fault_point = '$p'" >/dev/null
  job=$(q "SELECT train_async('f_job', 'als', '{\"factors\": 8, \"iterations\": 4}', max_retries => 1)")
  pid=$(wait_point "$p") || { tap_ok "job worker reaches $p" false; q "ALTER DATABASE faults RESET movierec.fault_point" >/dev/null; stop_runs; continue; }
  q "ALTER DATABASE faults RESET movierec.fault_point" >/dev/null
  kill -9 "$pid"
  wait_up
  ok=1
  wait_for "SELECT state FROM jobs WHERE job_id = $job" failed 30 >/dev/null || ok=0
  wait_for "SELECT state FROM jobs WHERE retry_of = $job" succeeded 60 >/dev/null || ok=0
  [ "$(q "SELECT count(*) FROM jobs WHERE state = 'running'")" = 0 ] || ok=0
  [ "$(q "SELECT error FROM jobs WHERE job_id = $job")" != "" ] || ok=0
  tap_ok "killed job at $p is failed, with a reason, and its retry succeeded" [ "$ok" = 1 ]
  forget_retries
  check "kill -9 of a job worker at $p"
done

# --- 3. kill -9 of the postmaster during training, then a restart -------------
for p in iteration:1 factors commit; do
  ( "$BINDIR/psql" -qXAt -d faults -c "SET movierec.fault_point = '$p'" \
      -c "SELECT movierec.train('f_als', 'als', '{\"factors\": 16, \"iterations\": 4, \"seed\": 9}')" >/dev/null 2>&1 & )
  pid=$(wait_point "$p") || { tap_ok "backend reaches $p" false; stop_runs; continue; }
  pm=$(head -1 "$DATA/postmaster.pid")
  kill -9 "$pm"
  # what an OOM killer or a container stop does to the orphans
  kill -9 "$pid" 2>/dev/null
  for c in $(pgrep -P "$pm" 2>/dev/null) $(pgrep -u postgres -f "postgres: .*faults" 2>/dev/null); do kill -9 "$c" 2>/dev/null; done
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start >/dev/null
  check "kill -9 of the postmaster during train() at $p, then a restart"
done

# --- 4. kill -9 during promote and rollback ------------------------------------
cand=$(q "SELECT max(model_id) FROM models WHERE model_name = 'f_als'")
# (a) waiting for the per-name promotion lock; (b) after the stage update,
# waiting to log the deployment.
for fn in promote rollback; do
  for at in lock deployment; do
    if [ "$fn" = promote ]; then call="SELECT movierec.promote($cand)"; else call="SELECT movierec.rollback('f_als')"; fi
    if [ "$at" = lock ]; then
      hold="SELECT pg_advisory_lock(hashtext('movierec.promote'), hashtext('f_als')), pg_sleep(30)"
    else
      hold="BEGIN; LOCK TABLE movierec.deployments IN SHARE MODE; SELECT pg_sleep(30)"
    fi
    ( "$BINDIR/psql" -qXAt -d faults -c "SET application_name = 'fault_holder'" -c "$hold" >/dev/null 2>&1 & )
    wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fault_holder' AND wait_event = 'PgSleep'" 1 10 >/dev/null
    ( "$BINDIR/psql" -qXAt -d faults -c "SET application_name = 'fault_victim'" -c "$call" >/dev/null 2>&1 & )
    wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fault_victim' AND wait_event_type = 'Lock'" 1 10 >/dev/null
    pid=$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'fault_victim'")
    [ -n "$pid" ] && kill -9 "$pid"
    check "kill -9 during $fn, at the $at"
  done
done
# and both still work afterwards
tap_ok "promote works after the faults" q "SELECT promote($cand)"
tap_ok "rollback works after the faults" q "SELECT rollback('f_als')"

echo "# faults: cases $CASES, survived $SURVIVED, models lost $LOST"
tap_done
