#!/usr/bin/env bash
# Scheduled retraining: schedule_retraining creates a pg_cron job; a real
# pg_cron run (schedule '* * * * *', so within about a minute) queues a
# train_async that the movierec worker completes; unschedule_retraining
# removes it.  Needs cron.database_name = movierec_test (set by test/run).
set -u
. "$ROOT/test/lib.sh"


[ "$(q "SHOW cron.database_name" 2>/dev/null)" = movierec_test ] || { echo "pg_cron is not preloaded for movierec_test"; exit 77; }
q "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null || exit 1
# the worker must serve this database
if [ "$(q "SELECT worker_status()->>'serves_this_database'")" != true ]; then
  q "ALTER SYSTEM SET movierec.database = 'movierec_test'" >/dev/null
  q "SELECT pg_reload_conf()" >/dev/null
fi
tap_ok "worker serves movierec_test" wait_for "SELECT worker_status()->>'serves_this_database'" true 20

q "DROP TABLE IF EXISTS public.cron_src" >/dev/null
q "CREATE TABLE public.cron_src AS
     SELECT u::bigint AS user_id, m::bigint AS movie_id,
            least(5, greatest(0.5, round(2 * (3 + 1.2 * sin(u * 0.7) * cos(m * 1.3)))::real / 2)) AS rating,
            '2020-01-01'::timestamptz + ((u * 7919 + m * 104729) % 100000) * interval '1 minute' AS rated_at
       FROM generate_series(1, 100) u, generate_series(1, 50) m WHERE (u + m) % 2 = 0" >/dev/null

id=$(q "SELECT schedule_retraining('cron_m', '* * * * *', 'als', '{\"factors\": 4, \"iterations\": 5}', 'public.cron_src')")
tap_ok "schedule_retraining returns the cron job id" eq "$(q "SELECT jobid = $id FROM cron.job WHERE jobname = 'movierec retrain cron_m'")" t
tap_ok "the cron job only queues a train_async" eq "$(q "SELECT command FROM cron.job WHERE jobid = $id")" \
  "SELECT movierec.train_async('cron_m', 'als', '{\"factors\": 4, \"iterations\": 5}'::jsonb, 'public.cron_src'::regclass, promote => 'if_better')"
tap_ok "scheduling again replaces the job" eq "$(q "SELECT schedule_retraining('cron_m', '* * * * *', 'als', '{\"factors\": 4, \"iterations\": 5}', 'public.cron_src') = $id")" t
tap_ok "pg_cron 1.4 refuses sub-minute schedules" bash -c "! $BINDIR/psql -qXAt -c \"SELECT movierec.schedule_retraining('cron_x', '30 seconds')\" 2>/dev/null"

# a real pg_cron run: within a minute (plus start-up slack)
t0=$(date +%s)
tap_ok "pg_cron queued a job and the worker completed it" \
  wait_for "SELECT state FROM jobs WHERE model_name = 'cron_m' ORDER BY job_id LIMIT 1" succeeded 80
echo "# took $(( $(date +%s) - t0 )) s"
q "SELECT jobid, status, return_message FROM cron.job_run_details ORDER BY runid DESC LIMIT 3" | sed 's/^/# /'
tap_ok "the job ran as the role that scheduled it and passed the gate" eq "$(q "SELECT j.owner, j.promote, m.stage, d.action
  FROM jobs j JOIN models m USING (model_id) JOIN deployments d ON d.job_id = j.job_id
  WHERE j.model_name = 'cron_m' ORDER BY j.job_id LIMIT 1")" "postgres|if_better|production|promote"

tap_ok "unschedule_retraining removes it" eq "$(q "SELECT unschedule_retraining('cron_m')")" t
tap_ok "the cron job is gone" eq "$(q "SELECT count(*) FROM cron.job WHERE jobname = 'movierec retrain cron_m'")" 0
out=$("$BINDIR/psql" -qXAt -c "SELECT movierec.unschedule_retraining('cron_m')" 2>&1)
tap_ok "unscheduling twice says nothing is scheduled" grep -q 'no retraining is scheduled for model "cron_m"' <<<"$out"

# let a run that pg_cron started at the minute boundary finish, then clean up
sleep 1
q "DROP TABLE public.cron_src CASCADE" >/dev/null
tap_done
