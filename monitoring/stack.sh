# monitoring/stack.sh: helpers that start movierec's monitoring stack
# (postgres_exporter, Prometheus, Alertmanager, a webhook receiver) from
# the files in monitoring/.  Sourced by scripts/demo.d/{30,40,50}_*.sh and
# test/integration/monitoring_stack.sh; defines functions only.  MON_ROOT
# is the project root.
MON_ROOT=${MON_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# mon_wait_http URL SECONDS: poll until URL answers 2xx (bounded).
mon_wait_http() {
  local i
  for i in $(seq 1 $(($2 * 5))); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "# $1 did not answer within $2 s" >&2
  return 1
}

# mon_queries OUT: the exporter's one queries file, all monitoring/queries/*.yaml in name order.
mon_queries() { cat "$MON_ROOT"/monitoring/queries/*.yaml >"$1"; }

# mon_start_exporter DIR PORT: postgres_exporter as movierec_monitor on
# 127.0.0.1:PORT against PGHOST/PGPORT/PGDATABASE; prints its pid.
mon_start_exporter() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  mon_queries "$dir/queries.yaml"
  DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=${MOVIEREC_MONITOR_ROLE:-movierec_monitor} dbname=$PGDATABASE sslmode=disable" \
    prometheus-postgres-exporter --web.listen-address="127.0.0.1:$port" \
      --extend.query-path="$dir/queries.yaml" --disable-settings-metrics --log.level=warn \
      >"$dir/exporter.log" 2>&1 </dev/null &
  echo $!
}

# mon_prometheus_config OUT RULES_DIR EXPORTER_PORT ALERTMANAGER_PORT INTERVAL:
# monitoring/prometheus.yml with these ports, interval and rule files.
mon_prometheus_config() {
  python3 - "$MON_ROOT/monitoring/prometheus.yml" "$@" <<'PY'
import sys, yaml
src, out, rules, exp, am, iv = sys.argv[1:7]
c = yaml.safe_load(open(src))
c["global"]["scrape_interval"] = iv
c["global"]["evaluation_interval"] = iv
c["global"]["scrape_timeout"] = iv
c["rule_files"] = [rules.rstrip("/") + "/*.yml"]
c["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = ["127.0.0.1:" + am]
c["scrape_configs"][0]["static_configs"][0]["targets"] = ["127.0.0.1:" + exp]
yaml.safe_dump(c, open(out, "w"), sort_keys=False)
PY
}

# mon_rules DIR [FOR]: copy monitoring/rules/*.yml into DIR; with FOR,
# every alert's "for:" becomes FOR (the tests' shortened holds).
mon_rules() {
  local f
  mkdir -p "$1"
  for f in "$MON_ROOT"/monitoring/rules/*.yml; do
    if [ -n "${2:-}" ]; then sed -E "s/^( +for: ).*/\1$2/" "$f" >"$1/$(basename "$f")"
    else cp "$f" "$1/"; fi
  done
}

# mon_start_prometheus DIR PORT CONFIG: prints its pid.
mon_start_prometheus() {
  mkdir -p "$1/tsdb"
  prometheus --config.file="$3" --storage.tsdb.path="$1/tsdb" \
    --web.listen-address="127.0.0.1:$2" --log.level=warn >"$1/prometheus.log" 2>&1 </dev/null &
  echo $!
}

# mon_alertmanager_config OUT WEBHOOK_PORT [GROUP_WAIT]: monitoring/alertmanager.yml
# with the receiver's port (and a shorter group wait for tests).
mon_alertmanager_config() {
  python3 - "$MON_ROOT/monitoring/alertmanager.yml" "$@" <<'PY'
import sys, yaml
src, out, port = sys.argv[1:4]
c = yaml.safe_load(open(src))
c["receivers"][0]["webhook_configs"][0]["url"] = "http://127.0.0.1:%s/alerts" % port
if len(sys.argv) > 4:
    c["route"]["group_wait"] = sys.argv[4]
    c["route"]["group_interval"] = sys.argv[4]
yaml.safe_dump(c, open(out, "w"), sort_keys=False)
PY
}

# mon_start_alertmanager DIR PORT CONFIG: prints its pid (no HA cluster port).
mon_start_alertmanager() {
  mkdir -p "$1/am"
  prometheus-alertmanager --config.file="$3" --storage.path="$1/am" \
    --web.listen-address="127.0.0.1:$2" --cluster.listen-address= --log.level=warn \
    >"$1/alertmanager.log" 2>&1 </dev/null &
  echo $!
}

# mon_start_webhook DIR PORT: the loopback receiver, writing DIR/alerts.jsonl; prints its pid.
mon_start_webhook() {
  mkdir -p "$1"
  python3 "$MON_ROOT/monitoring/webhook_receiver.py" "$2" "$1/alerts.jsonl" \
    >"$1/webhook.log" 2>&1 </dev/null &
  echo $!
}

# mon_stop PID...: stop processes this script started (TERM, then KILL after 10 s).
mon_stop() {
  local p i
  for p in "$@"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
  for p in "$@"; do
    [ -n "$p" ] || continue
    for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
  done
}
