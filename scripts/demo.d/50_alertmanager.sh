#!/usr/bin/env bash
# scripts/demo.d/50_alertmanager.sh start|stop: Alertmanager with
# monitoring/alertmanager.yml, delivering to a loopback webhook receiver
# (monitoring/webhook_receiver.py) that appends every notification to
# $DEMO/monitoring/alerts.jsonl.  Ports: MOVIEREC_ALERTMANAGER_PORT (9093),
# MOVIEREC_WEBHOOK_PORT (9095).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/monitoring/stack.sh"
PORT=${MOVIEREC_ALERTMANAGER_PORT:-9093}
WPORT=${MOVIEREC_WEBHOOK_PORT:-9095}
DIR=$DEMO/monitoring
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case ${1:-} in
  start)
    command -v prometheus-alertmanager >/dev/null || { echo "alertmanager: not installed (make deps)"; exit 0; }
    if alive "$DEMO/alertmanager.pid"; then echo "alertmanager: http://127.0.0.1:$PORT (already running)"; exit 0; fi
    mkdir -p "$DIR"
    alive "$DEMO/webhook.pid" || mon_start_webhook "$DIR" "$WPORT" >"$DEMO/webhook.pid"
    mon_alertmanager_config "$DIR/alertmanager.yml" "$WPORT"
    mon_start_alertmanager "$DIR" "$PORT" "$DIR/alertmanager.yml" >"$DEMO/alertmanager.pid"
    mon_wait_http "http://127.0.0.1:$PORT/-/ready" 30 || { tail -5 "$DIR/alertmanager.log"; exit 1; }
    echo "alertmanager: http://127.0.0.1:$PORT (notifications: $DIR/alerts.jsonl via http://127.0.0.1:$WPORT/alerts)"
    ;;
  stop)
    for p in alertmanager webhook; do
      if alive "$DEMO/$p.pid"; then mon_stop "$(cat "$DEMO/$p.pid")"; echo "$p stopped"; fi
      rm -f "$DEMO/$p.pid"
    done
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2;;
esac
