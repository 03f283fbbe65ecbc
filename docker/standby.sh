#!/bin/sh
# docker/standby.sh [COMMAND...]: make $PGDATA a hot standby of the primary
# at PRIMARY_HOST:PRIMARY_PORT with pg_basebackup (-R: standby.signal and
# primary_conninfo) unless it already is one, then run COMMAND (postgres).
# The entrypoint of docker/compose.yaml's standby and the init container of
# docker/kubernetes/standby.yaml.  Runs as the postgres user; needs
# REPLICATION_PASSWORD (the role docker/replication.sh creates).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; do sleep 1; done
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" \
    -U replicator -D "$PGDATA" -R -X stream -c fast
  chmod 700 "$PGDATA"
fi
[ $# -eq 0 ] || exec "$@"
