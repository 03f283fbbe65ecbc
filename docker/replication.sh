#!/bin/sh
# docker/replication.sh: run once by the postgres image's entrypoint when
# the primary's cluster is created (/docker-entrypoint-initdb.d/), in
# docker/compose.yaml and in docker/kubernetes/primary.yaml: the role that
# standbys stream WAL as, and the pg_hba.conf line that lets it in.
# Needs REPLICATION_PASSWORD.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$REPLICATION_PASSWORD" --username "$POSTGRES_USER" --dbname postgres <<'SQL'
SELECT format('CREATE ROLE replicator REPLICATION LOGIN PASSWORD %L', :'pw') \gexec
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
