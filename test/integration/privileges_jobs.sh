#!/usr/bin/env bash
# Jobs queued by roles that are not superusers (movierec.create_roles()):
# a member of movierec_admin queues a job, which runs as that role and
# records it; a job on a table the role may not read fails with the
# permission error, alone; a member of movierec_app may not queue jobs.
set -u
. "$ROOT/test/lib.sh"
as() { local r=$1; shift; "$BINDIR/psql" -qXAt -U "$r" -v ON_ERROR_STOP=1 -c "SET search_path TO movierec, public" "$@"; }

q "ALTER SYSTEM SET movierec.database = 'movierec_test'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
tap_ok "launcher serves movierec_test" wait_for "SELECT worker_status()->>'serves_this_database'" true 30
q "SELECT create_roles()" >/dev/null
q "DROP ROLE IF EXISTS pj_alice; DROP ROLE IF EXISTS pj_bob" >/dev/null 2>&1
q "CREATE ROLE pj_alice LOGIN IN ROLE movierec_admin; CREATE ROLE pj_bob LOGIN IN ROLE movierec_app" >/dev/null
q "DROP TABLE IF EXISTS public.pj_ratings, public.pj_secret" >/dev/null
q "CREATE TABLE public.pj_ratings AS
     SELECT u::bigint AS user_id, m::bigint AS movie_id, ((1 + (u * m) % 9) / 2.0)::real AS rating
       FROM generate_series(1, 100) u, generate_series(1, 50) m WHERE (u + m) % 3 = 0;
   GRANT SELECT ON public.pj_ratings TO pj_alice;
   CREATE TABLE public.pj_secret AS SELECT * FROM public.pj_ratings" >/dev/null

tap_is "pj_alice is no superuser" "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = 'pj_alice'")" f
job=$(as pj_alice -c "SELECT train_async('pj_model', 'popularity', '{}', 'public.pj_ratings')")
tap_ok "a member of movierec_admin queues a job" test -n "$job"
tap_ok "the job succeeds" wait_for "SELECT state FROM jobs WHERE job_id = ${job:-0}" succeeded 60
tap_is "it ran as pj_alice: the job's owner and the model's creator" \
  "$(q "SELECT j.owner::text || ' ' || m.created_by FROM jobs j JOIN models m USING (model_id) WHERE j.job_id = ${job:-0}")" "pj_alice pj_alice"
bad=$(as pj_alice -c "SELECT train_async('pj_secret_model', 'popularity', '{}', 'public.pj_secret')" 2>&1)
if [[ "$bad" =~ ^[0-9]+$ ]]; then
  tap_ok "a job on a table the role may not read fails" wait_for "SELECT state FROM jobs WHERE job_id = $bad" failed 60
  tap_ok "  with the permission error" eq "$(q "SELECT error LIKE '%permission denied%' FROM jobs WHERE job_id = $bad")" t
else
  # refused when queued: also fine, as long as it is the permission error
  tap_ok "a job on a table the role may not read is refused" eq "$(echo "$bad" | grep -c 'permission denied')" 1
  tap_ok "  and nothing was queued" eq "$(q "SELECT count(*) FROM jobs WHERE model_name = 'pj_secret_model'")" 0
fi
tap_is "no model was written for it" "$(q "SELECT count(*) FROM models WHERE model_name = 'pj_secret_model'")" 0
err=$(as pj_bob -c "SELECT train_async('pj_bob_model', 'popularity')" 2>&1)
tap_ok "a member of movierec_app may not queue a job" eq "$(echo "$err" | grep -c 'permission denied for function train_async')" 1
tap_ok "  but serves the model" as pj_bob -c "SELECT count(*) FROM recommend(1, 5, 'pj_model')"
[ "$tap_fails" -gt 0 ] && q "SELECT job_id, state, error FROM jobs WHERE owner::text LIKE 'pj_%'" | sed 's/^/# /'

q "DELETE FROM models WHERE created_by IN ('pj_alice', 'pj_bob'); DELETE FROM jobs WHERE owner::text IN ('pj_alice', 'pj_bob')" >/dev/null
q "DROP TABLE public.pj_ratings, public.pj_secret" >/dev/null
q "DROP OWNED BY pj_alice, pj_bob; DROP ROLE pj_alice; DROP ROLE pj_bob" >/dev/null
tap_done
