#!/usr/bin/env bash
# scripts/demo.d/30_exporter.sh start|stop: postgres_exporter beside the
# demo cluster, as the movierec_monitor role (created here with
# movierec.create_monitor_role()), with monitoring/queries/*.yaml.
# Port: MOVIEREC_EXPORTER_PORT (default 9187).  Run by scripts/demo.sh with
# BINDIR, DEMO, PGHOST, PGPORT, PGUSER and PGDATABASE set.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/monitoring/stack.sh"
PORT=${MOVIEREC_EXPORTER_PORT:-9187}
DIR=$DEMO/monitoring
PIDFILE=$DEMO/exporter.pid
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case ${1:-} in
  start)
    command -v prometheus-postgres-exporter >/dev/null || { echo "exporter: prometheus-postgres-exporter is not installed (make deps)"; exit 0; }
    if running; then echo "exporter:   http://127.0.0.1:$PORT/metrics (already running)"; exit 0; fi
    "$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1 -c "SELECT movierec.create_monitor_role()" >/dev/null
    mon_start_exporter "$DIR" "$PORT" >"$PIDFILE"
    mon_wait_http "http://127.0.0.1:$PORT/metrics" 20 || { tail -5 "$DIR/exporter.log"; exit 1; }
    echo "exporter:   http://127.0.0.1:$PORT/metrics (postgres_exporter as movierec_monitor)"
    ;;
  stop)
    if running; then mon_stop "$(cat "$PIDFILE")"; echo "exporter stopped"; fi
    rm -f "$PIDFILE"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2;;
esac
