#!/usr/bin/env bash
# The background training worker: it serves the queue, shows in
# pg_stat_activity, a failing job fails alone, progress is visible, cancel
# stops a running job and leaves no model, max_training_workers bounds the
# jobs running at once, a server restart in the middle of a job marks it
# failed "server restarted" and re-queues it when it asked for retries, and
# without preloading every function says it needs shared_preload_libraries.
# Leaves the server running (restarted once) and serving movierec_test.
set -u
. "$ROOT/test/lib.sh"


# serve this database (the launcher restarts to connect here)
q "ALTER SYSTEM SET movierec.database = 'movierec_test'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
tap_ok "launcher serves movierec_test" \
  wait_for "SELECT worker_status()->>'serves_this_database'" true 20
tap_ok "launcher visible in pg_stat_activity" \
  wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'movierec training launcher' AND datname = 'movierec_test'" 1 5

q "DROP TABLE IF EXISTS public.it_small, public.it_big" >/dev/null
q "CREATE TABLE public.it_small AS
     SELECT u::bigint AS user_id, m::bigint AS movie_id,
            least(5, greatest(0.5, round(2 * (3 + 1.2 * sin(u * 0.7) * cos(m * 1.3)))::real / 2)) AS rating,
            '2020-01-01'::timestamptz + ((u * 7919 + m * 104729) % 100000) * interval '1 minute' AS rated_at
       FROM generate_series(1, 200) u, generate_series(1, 80) m WHERE (u + m) % 3 = 0" >/dev/null
q "CREATE TABLE public.it_big AS
     SELECT u::bigint AS user_id, m::bigint AS movie_id, ((1 + (u * m) % 9) / 2.0)::real AS rating
       FROM generate_series(1, 2000) u, generate_series(1, 500) m WHERE (u + m) % 4 = 0" >/dev/null

# --- a job runs and records its model, pid, timestamps and snapshot --------
j=$(q "SELECT train_async('it_ok', 'baseline', '{}', 'public.it_small')")
tap_ok "job succeeds" wait_for "SELECT state FROM jobs WHERE job_id = $j" succeeded 30
tap_ok "job records model, pid, timestamps, snapshot" eq "$(q "SELECT j.worker_pid > 0, j.started_at >= j.queued_at,
    j.finished_at >= j.started_at, m.model_name, m.created_by, s.n_rows
  FROM jobs j JOIN models m USING (model_id) JOIN snapshots s USING (snapshot_id) WHERE j.job_id = $j")" \
  "t|t|t|it_ok|postgres|5334"

# --- a failing job fails alone; the next job still runs ---------------------
bad=$(q "SELECT train_async('it_bad', 'nope', '{}', 'public.it_small')")
good=$(q "SELECT train_async('it_after', 'baseline', '{}', 'public.it_small', promote => 'always')")
tap_ok "job after a failing one succeeds" wait_for "SELECT state FROM jobs WHERE job_id = $good" succeeded 30
tap_ok "failing job records error and hint" eq "$(q "SELECT state, error IS NOT NULL, error_hint IS NOT NULL, model_id IS NULL
  FROM jobs WHERE job_id = $bad")" "failed|t|t|t"
tap_ok "promote => always logs the deployment with the job" eq "$(q "SELECT d.action, m.stage
  FROM deployments d JOIN models m ON m.model_id = d.to_model_id WHERE d.job_id = $good")" "promote|production"

# --- progress and cancel of a running job ------------------------------------
long=$(q "SELECT train_async('it_long', 'als', '{\"factors\": 32, \"iterations\": 1000}', 'public.it_big')")
tap_ok "long job runs" wait_for "SELECT state FROM jobs WHERE job_id = $long" running 20
tap_ok "training worker visible in pg_stat_activity" wait_for "SELECT count(*) FROM pg_stat_activity a JOIN jobs j ON j.worker_pid = a.pid
  WHERE j.job_id = $long AND a.application_name = 'movierec training worker' AND a.state = 'active'" 1 10
tap_ok "its progress shows in training_progress" wait_for "SELECT count(*) > 0 FROM training_progress p JOIN jobs j ON j.worker_pid = p.pid
  WHERE j.job_id = $long AND p.model = 'it_long' AND p.iteration >= 1 AND p.of = 1000" t 30
tap_ok "worker_status lists the running job" eq "$(q "SELECT worker_status()->'running_jobs'->0->>'job_id'")" "$long"
t0=$(date +%s%N)
tap_ok "cancel_job stops it" eq "$(q "SELECT cancel_job($long)")" cancelled
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# cancel took $ms ms"
tap_ok "cancel took under 3 s" [ "$ms" -lt 3000 ]
tap_ok "cancelled job left no model" eq "$(q "SELECT j.state, j.model_id IS NULL, j.error,
  (SELECT count(*) FROM models WHERE model_name = 'it_long') FROM jobs j WHERE job_id = $long")" \
  "cancelled|t|cancelled by movierec.cancel_job()|0"

# --- max_training_workers: jobs blocked on a lock occupy the workers ---------
hold_lock() {	# hold_lock SECONDS: lock it_small in a background session
  "$BINDIR/psql" -qXAt -c "BEGIN; LOCK TABLE public.it_small IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($1); COMMIT" >/dev/null 2>&1 &
  LOCKER=$!
  wait_for "SELECT count(*) FROM pg_locks WHERE relation = 'public.it_small'::regclass AND mode = 'AccessExclusiveLock' AND granted" 1 10
}
q "ALTER SYSTEM SET movierec.max_training_workers = 2" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
hold_lock 60
a=$(q "SELECT train_async('it_par', 'baseline', '{}', 'public.it_small')")
b=$(q "SELECT train_async('it_par', 'baseline', '{}', 'public.it_small')")
c=$(q "SELECT train_async('it_par', 'baseline', '{}', 'public.it_small')")
tap_ok "two jobs run at once with max_training_workers = 2" \
  wait_for "SELECT string_agg(state, ',' ORDER BY job_id) FROM jobs WHERE job_id IN ($a, $b, $c)" "running,running,queued" 10
sleep 1
tap_ok "a third waits" eq "$(q "SELECT state FROM jobs WHERE job_id = $c")" queued
kill "$LOCKER" 2>/dev/null; q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'BEGIN; LOCK TABLE public.it_small%'" >/dev/null
tap_ok "all three then succeed" \
  wait_for "SELECT string_agg(state, ',' ORDER BY job_id) FROM jobs WHERE job_id IN ($a, $b, $c)" "succeeded,succeeded,succeeded" 30
q "ALTER SYSTEM RESET movierec.max_training_workers" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

# --- a server restart in the middle of a job ---------------------------------
hold_lock 120
r=$(q "SELECT train_async('it_restart', 'baseline', '{}', 'public.it_small', max_retries => 1)")
nr=$(q "SELECT train_async('it_noretry', 'baseline', '{}', 'public.it_small')")
tap_ok "job is running (blocked) before the restart" wait_for "SELECT state FROM jobs WHERE job_id = $r" running 10
as_pg "$BINDIR/pg_ctl" -D "$MR_DATA_DIR" -l "$MR_DATA_DIR/server.log" restart -m fast -w -t 60 >/dev/null
wait "$LOCKER" 2>/dev/null
tap_ok "server is back" wait_for "SELECT 1" 1 20
tap_ok "interrupted job marked failed: server restarted" \
  wait_for "SELECT state || '|' || error FROM jobs WHERE job_id = $r" "failed|server restarted" 20
tap_ok "its retry ran and succeeded" wait_for "SELECT state || '|' || attempt || '|' || (model_id IS NOT NULL)
  FROM jobs WHERE retry_of = $r" "succeeded|2|true" 30
tap_ok "the queued job without retries ran too" wait_for "SELECT state FROM jobs WHERE job_id = $nr" succeeded 30
tap_ok "no retry for a job that did not ask" eq "$(q "SELECT count(*) FROM jobs WHERE retry_of = $nr")" 0
tap_ok "launcher running again" eq "$(q "SELECT worker_status()->>'running'")" true

# --- without shared_preload_libraries -----------------------------------------
D2=$T/nopreload
P2=$(free_port)
if cluster_start "$BINDIR" "$D2" "$T/sock2" "$P2" >/dev/null 2>&1; then
  "$BINDIR/psql" -qXAt -h "$T/sock2" -p "$P2" -d postgres -c "CREATE EXTENSION movierec" >/dev/null 2>&1
  for f in "train_async('x')" "cancel_job(1)" "worker_status()" "schedule_retraining('x', '* * * * *')" "unschedule_retraining('x')"; do
    out=$("$BINDIR/psql" -qXAt -h "$T/sock2" -p "$P2" -d postgres -c "SELECT movierec.$f" 2>&1)
    tap_ok "without preloading, $f names shared_preload_libraries" \
      grep -q 'ERROR:  the movierec training worker needs movierec in shared_preload_libraries' <<<"$out"
  done
  cluster_stop "$BINDIR" "$D2"
else
  tap_ok "second cluster without preloading starts" false
fi

q "DROP TABLE public.it_small, public.it_big" >/dev/null
tap_done
