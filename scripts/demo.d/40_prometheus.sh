#!/usr/bin/env bash
# scripts/demo.d/40_prometheus.sh start|stop: Prometheus with the
# project's monitoring/prometheus.yml (5 s scrape and evaluation) and
# monitoring/rules/*.yml, scraping the demo's exporter and sending alerts
# to the demo's Alertmanager.  Ports: MOVIEREC_PROMETHEUS_PORT (9090),
# MOVIEREC_EXPORTER_PORT (9187), MOVIEREC_ALERTMANAGER_PORT (9093).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/monitoring/stack.sh"
PORT=${MOVIEREC_PROMETHEUS_PORT:-9090}
DIR=$DEMO/monitoring
PIDFILE=$DEMO/prometheus.pid
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case ${1:-} in
  start)
    command -v prometheus >/dev/null || { echo "prometheus: not installed (make deps)"; exit 0; }
    if running; then echo "prometheus: http://127.0.0.1:$PORT (already running)"; exit 0; fi
    mkdir -p "$DIR"
    rm -rf "$DIR/rules"
    mon_rules "$DIR/rules"
    mon_prometheus_config "$DIR/prometheus.yml" "$DIR/rules" "${MOVIEREC_EXPORTER_PORT:-9187}" \
      "${MOVIEREC_ALERTMANAGER_PORT:-9093}" 5s
    mon_start_prometheus "$DIR" "$PORT" "$DIR/prometheus.yml" >"$PIDFILE"
    mon_wait_http "http://127.0.0.1:$PORT/-/ready" 30 || { tail -5 "$DIR/prometheus.log"; exit 1; }
    echo "prometheus: http://127.0.0.1:$PORT (alerts: http://127.0.0.1:$PORT/alerts)"
    ;;
  stop)
    if running; then mon_stop "$(cat "$PIDFILE")"; echo "prometheus stopped"; fi
    rm -f "$PIDFILE"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2;;
esac
