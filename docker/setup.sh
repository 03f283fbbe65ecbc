#!/bin/sh
# docker/setup.sh: the one-time setup of a movierec primary for the HTTP API
# and monitoring, run as a superuser (PGHOST, PGPORT, PGUSER, PGPASSWORD,
# PGDATABASE): the API roles and JWT secret (install/80_api.sql), the
# authenticator's password, the exporter's role (install/75_stats.sql).
# docker/compose.yaml's setup service and docker/kubernetes/setup-job.yaml
# run it.  Needs JWT_SECRET (32+ characters), AUTHENTICATOR_PASSWORD,
# MONITOR_PASSWORD.  Safe to run again.
set -eu
until pg_isready -q; do sleep 1; done
psql -v ON_ERROR_STOP=1 -v jwt="$JWT_SECRET" -v auth_pw="$AUTHENTICATOR_PASSWORD" \
     -v mon_pw="$MONITOR_PASSWORD" <<'SQL'
CREATE EXTENSION IF NOT EXISTS movierec;
SELECT movierec.create_api_roles();
SELECT movierec.set_jwt_secret(:'jwt');
SELECT format('ALTER ROLE movierec_authenticator PASSWORD %L', :'auth_pw') \gexec
SELECT movierec.create_monitor_role('movierec_monitor');
SELECT format('ALTER ROLE movierec_monitor PASSWORD %L', :'mon_pw') \gexec
SQL
