#!/usr/bin/env bash
# The whole monitoring chain, for real, on loopback: postgres_exporter
# (as movierec_monitor, with monitoring/queries/*.yaml), Prometheus (the
# project's config and rules, 1 s intervals, alerts' "for:" shortened to
# 2 s), Alertmanager and a webhook receiver, over a database that trains
# models and serves traffic (test/integration/monitoring.d/*.setup.sql
# once, *.loop.sql in a loop while Prometheus scrapes).  Checks:
#   (a) every metric name the issue lists (and the others the files use)
#       is exposed by the exporter and stored by Prometheus;
#   (b) every panel query of every grafana/dashboards/*.json returns data
#       from the live Prometheus (template variables substituted);
#   (c) the dashboards' JSON (monitoring/check_dashboards.py);
#   (d) end to end: a production model with RMSE > 1.0 is registered, the
#       exporter exposes it, Prometheus fires HighModelError, Alertmanager
#       sends it to the webhook receiver, which gets it.
# Every wait is bounded; every process started here is stopped here.
set -u
. "$ROOT/test/lib.sh"
. "$ROOT/monitoring/stack.sh"
for b in prometheus prometheus-postgres-exporter prometheus-alertmanager promtool curl python3; do
  command -v "$b" >/dev/null || { echo "$b is not installed (scripts/deps.sh)"; exit 77; }
done
DB=monitoring_stack
export PGDATABASE=$DB
PSQL=("$BINDIR/psql" -qXAt)
PIDS=()
LOOP=
created_role=0
cleanup() {
  [ -n "$LOOP" ] && { kill "$LOOP" 2>/dev/null; wait "$LOOP" 2>/dev/null; }
  mon_stop "${PIDS[@]}"
  "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
  [ "$created_role" = 1 ] && "${PSQL[@]}" -d postgres -c "DROP ROLE IF EXISTS movierec_monitor" >/dev/null 2>&1
  true
}
trap cleanup EXIT
t0=$(date +%s)

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null || exit 1
"${PSQL[@]}" -c "CREATE EXTENSION movierec" || exit 1
[ "$("${PSQL[@]}" -d postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'movierec_monitor'")" = 0 ] && created_role=1
"${PSQL[@]}" -c "SELECT movierec.create_monitor_role()" >/dev/null || exit 1
"${PSQL[@]}" -c "SELECT movierec.reset_stats()" >/dev/null
for f in "$ROOT"/test/integration/monitoring.d/*.setup.sql; do
  "${PSQL[@]}" -f "$f" >"$T/setup.log" 2>&1 || { echo "# $f failed:"; sed 's/^/# /' "$T/setup.log"; exit 1; }
done

# traffic in the background for the whole test
(
  while :; do
    for f in "$ROOT"/test/integration/monitoring.d/*.loop.sql; do "${PSQL[@]}" -f "$f" >/dev/null 2>&1; done
    sleep 0.3
  done
) &
LOOP=$!

EP=$(free_port); PP=$(free_port); AP=$(free_port); WP=$(free_port)
PIDS+=("$(mon_start_webhook "$T" "$WP")")
mon_alertmanager_config "$T/alertmanager.yml" "$WP" 1s
PIDS+=("$(mon_start_alertmanager "$T" "$AP" "$T/alertmanager.yml")")
PIDS+=("$(mon_start_exporter "$T" "$EP")")
mon_rules "$T/rules" 2s
mon_prometheus_config "$T/prometheus.yml" "$T/rules" "$EP" "$AP" 1s
quiet() { "$@" >/dev/null 2>&1; }
tap_ok "the test's Prometheus config passes promtool" quiet promtool check config "$T/prometheus.yml"
PIDS+=("$(mon_start_prometheus "$T" "$PP" "$T/prometheus.yml")")
ready=1
for u in "http://127.0.0.1:$WP/" "http://127.0.0.1:$AP/-/ready" "http://127.0.0.1:$EP/metrics" "http://127.0.0.1:$PP/-/ready"; do
  mon_wait_http "$u" 30 || ready=0
done
tap_is "webhook receiver, Alertmanager, exporter and Prometheus are up" "$ready" 1
if [ "$ready" = 0 ]; then tail -5 "$T"/*.log | sed 's/^/# /'; tap_done; exit 1; fi
PROM=http://127.0.0.1:$PP

# promql EXPR: the number of series an instant query returns
promql() {
  curl -fsS --max-time 5 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))' 2>/dev/null || echo 0
}
# wait_promql EXPR SECONDS: until the query returns a series
wait_promql() {
  local i
  for i in $(seq 1 $(($2 * 2))); do [ "$(promql "$1")" -gt 0 ] && return 0; sleep 0.5; done
  echo "# waited $2 s for $1"; return 1
}

tap_ok "Prometheus scrapes the exporter (up == 1, pg_up == 1)" wait_promql 'up{job="movierec"} == 1 and on(instance) pg_up == 1' 30
tap_ok "the exporter connects as movierec_monitor, which is no superuser" \
  test "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename
                           WHERE a.usename = 'movierec_monitor' AND NOT r.rolsuper")" -ge 1

# (a) metric names: exporter and Prometheus
metrics=$(curl -fsS "http://127.0.0.1:$EP/metrics")
for m in movierec_recommendations_total movierec_request_duration_seconds_bucket \
         movierec_request_duration_seconds_sum movierec_request_duration_seconds_count \
         movierec_request_errors_total movierec_model_rmse movierec_model_ndcg_at_10 \
         movierec_model_age_seconds movierec_ratings_since_training movierec_training_runs_total \
         movierec_training_duration_seconds_bucket movierec_training_duration_seconds_count movierec_jobs \
         movierec_model_baseline_rmse movierec_model_training_last_timestamp_seconds \
         movierec_cache_loads_total movierec_cache_invalidations_total movierec_data_movies \
         movierec_data_users movierec_data_ratings_inserted_total movierec_deployments_total \
         movierec_training_last_success_timestamp_seconds; do
  tap_ok "exporter exposes $m" grep -q "^$m{" <<<"$metrics"
done
tap_ok "movierec_request_duration_seconds is a Prometheus histogram" \
  grep -q '^# TYPE movierec_request_duration_seconds histogram' <<<"$metrics"
tap_ok "recommendations by path: model, fold_in and popularity" \
  test "$(grep -cE '^movierec_recommendations_total\{function="recommend",model="mon_als",path="(model|fold_in|popularity)"' <<<"$metrics")" -eq 3
tap_ok "Prometheus stores movierec_recommendations_total{model,function,path}" \
  wait_promql 'movierec_recommendations_total{model="mon_als",function="recommend",path="fold_in"}' 20
tap_ok "training outcomes reach Prometheus (succeeded and failed)" \
  wait_promql 'movierec_training_runs_total{algorithm="als",outcome="failed"} and on() movierec_training_runs_total{algorithm="als",outcome="succeeded"}' 20

# (b) + (c) every panel query returns data; the JSON checks.  Rates need
# two scrapes with traffic between them: retry until all pass (bounded).
dash_ok=0
for _ in $(seq 1 20); do
  python3 "$ROOT/monitoring/check_dashboards.py" --prometheus "$PROM" --rate-interval 30s \
    "$ROOT"/grafana/dashboards/*.json >"$T/dash.tap" 2>&1
  if ! grep -q '^not ok' "$T/dash.tap"; then dash_ok=1; break; fi
  sleep 2
done
tap_ok "every dashboard passes its JSON checks and every panel query returns data ($(grep -c 'returns data' "$T/dash.tap") queries)" test "$dash_ok" = 1
[ "$dash_ok" = 1 ] || grep '^not ok' "$T/dash.tap" | sed 's/^/# /'

# (d) end to end: HighModelError
tap_is "HighModelError is quiet while production RMSE is below 1.0" "$(promql 'ALERTS{alertname="HighModelError"}')" 0
"${PSQL[@]}" >/dev/null 2>"$T/bad.log" <<'SQL' || { sed 's/^/# /' "$T/bad.log"; }
SET search_path TO movierec, public;
-- trained on a copy: the background traffic keeps adding ratings, and
-- evaluate() refuses a model whose training source has changed
CREATE TABLE mon_bad_src AS SELECT user_id, movie_id, rating FROM ratings;
SELECT train('mon_bad', 'baseline', '{}', 'mon_bad_src') AS bad \gset
CREATE TABLE mon_flipped AS SELECT user_id, movie_id, 6 - rating AS rating FROM mon_bad_src;
SELECT evaluate(:bad, 'mon_flipped');
SELECT promote(:bad);
SQL
rmse=$("${PSQL[@]}" -c "SELECT round(rmse::numeric, 3) FROM movierec.model_gauges WHERE model = 'mon_bad' AND stage = 'production'")
tap_ok "a production model with RMSE > 1.0 is registered (RMSE $rmse)" awk -v r="$rmse" 'BEGIN { exit !(r > 1.0) }'
exposed=0
for _ in $(seq 1 20); do
  curl -fsS "http://127.0.0.1:$EP/metrics" | grep -qE '^movierec_model_rmse\{model="mon_bad",server="[^"]*",stage="production"\} [1-9]' && { exposed=1; break; }
  sleep 0.5
done
tap_is "the exporter exposes it" "$exposed" 1
tap_ok "Prometheus fires HighModelError" wait_promql 'ALERTS{alertname="HighModelError",alertstate="firing",model="mon_bad"}' 40
got=0
for _ in $(seq 1 80); do
  if [ -s "$T/alerts.jsonl" ] && python3 - "$T/alerts.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    n = json.loads(line)
    for a in n.get("alerts", []):
        if a["labels"].get("alertname") == "HighModelError" and a["labels"].get("model") == "mon_bad" and a["status"] == "firing":
            sys.exit(0)
sys.exit(1)
PY
  then got=1; break; fi
  sleep 0.5
done
tap_is "Alertmanager routes it to the webhook receiver, which gets it" "$got" 1
tap_is "no other model fires HighModelError" "$(promql 'ALERTS{alertname="HighModelError",model!="mon_bad"}')" 0
echo "# $(( $(date +%s) - t0 )) s"
tap_done
