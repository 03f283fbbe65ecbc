#!/usr/bin/env bash
# Online performance tracking through pg_cron: schedule_performance_tracking
# creates the pg_cron job, its command records a performance_history row,
# scheduling again replaces it, unschedule removes it.  (A real pg_cron
# run takes up to a minute; test/integration/mlops_cron.sh already waits
# for one with the same mechanism, so this test runs the job's command.)
# Needs cron.database_name = movierec_test (set by test/run).
set -u
. "$ROOT/test/lib.sh"
[ "$(q "SHOW cron.database_name" 2>/dev/null)" = movierec_test ] || { echo "pg_cron is not preloaded for movierec_test"; exit 77; }
q "CREATE EXTENSION IF NOT EXISTS pg_cron" >/dev/null || exit 1
q "DROP TABLE IF EXISTS public.exp_cron_src" >/dev/null
q "CREATE TABLE public.exp_cron_src AS
     SELECT u::bigint AS user_id, m::bigint AS movie_id, (1 + (u * 7 + m * 3) % 9) / 2.0 AS rating,
            now() - interval '1 day' AS rated_at
       FROM generate_series(1, 60) u, generate_series(1, 40) m WHERE (u + m) % 3 = 0" >/dev/null
mid=$(q "SELECT train('exp_cron_m', 'baseline', '{}', 'public.exp_cron_src')")

id=$(q "SELECT schedule_performance_tracking('*/5 * * * *', 'exp_cron_m')")
tap_is "the cron job exists with its schedule" "$(q "SELECT schedule FROM cron.job WHERE jobid = $id AND jobname = 'movierec track performance'")" '*/5 * * * *'
cmd=$(q "SELECT command FROM cron.job WHERE jobid = $id")
tap_is "its command tracks the model" "$cmd" "SELECT movierec.track_performance('exp_cron_m')"
before=$(q "SELECT count(*) FROM performance_history WHERE model_id = $mid")
q "$cmd" >/dev/null
tap_is "running the command records one row" "$(q "SELECT count(*) - $before FROM performance_history WHERE model_id = $mid")" 1
tap_is "scheduling again replaces the job" "$(q "SELECT schedule_performance_tracking('0 * * * *') = $id")" t
tap_is "... with the new command" "$(q "SELECT command FROM cron.job WHERE jobid = $id")" "SELECT movierec.track_performance()"
out=$("$BINDIR/psql" -qXAt -c "SELECT movierec.schedule_performance_tracking('0 * * * *', 'no_such_model')" 2>&1)
tap_ok "an unknown model is refused" grep -q 'model "no_such_model" does not exist' <<<"$out"
tap_is "unschedule removes it" "$(q "SELECT unschedule_performance_tracking()")" t
tap_is "the cron job is gone" "$(q "SELECT count(*) FROM cron.job WHERE jobname = 'movierec track performance'")" 0
out=$("$BINDIR/psql" -qXAt -c "SELECT movierec.unschedule_performance_tracking()" 2>&1)
tap_ok "unscheduling twice says it is not scheduled" grep -q 'performance tracking is not scheduled' <<<"$out"
q "SELECT drop_model($mid)" >/dev/null
q "DROP TABLE public.exp_cron_src" >/dev/null
tap_done
