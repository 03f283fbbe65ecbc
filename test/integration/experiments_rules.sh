#!/usr/bin/env bash
# Monitoring of experiments and drift, end to end on loopback:
#  - promtool checks monitoring/rules/experiments.yml and runs its unit
#    tests (each alert fires on a bad series, stays quiet on a healthy one);
#  - every query of monitoring/queries/20_experiments.yaml runs as a role
#    that is only a member of pg_monitor, and nothing more is readable;
#  - postgres_exporter (as that role) exports the metrics over a running
#    A/B test, an interleaving test and a tracked model; Prometheus scrapes
#    it with the rules loaded; every panel query of
#    grafana/dashboards/{experiments,drift}.json returns data, and the
#    dashboards are well formed (uid, schemaVersion, datasource, grid, units).
set -u
. "$ROOT/test/lib.sh"
command -v promtool >/dev/null || { echo "# no promtool"; exit 77; }
EXPORTER=$(command -v prometheus-postgres-exporter || command -v postgres_exporter || true)
PROMETHEUS=$(command -v prometheus || true)
DB=movierec_exp_mon
ROLE=movierec_exp_mon_role
P=("$BINDIR/psql" -qXAt -v ON_ERROR_STOP=1 -d $DB)
Q() { "${P[@]}" -c "SET client_min_messages = warning" -c "$1"; }
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  "$BINDIR/psql" -qX -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1
  true
}
trap cleanup EXIT
quiet() { "$@" >/dev/null 2>&1; }

tap_ok "promtool check rules experiments.yml" quiet promtool check rules "$ROOT/monitoring/rules/experiments.yml"
( cd "$ROOT/monitoring/rules/tests" && promtool test rules experiments_test.yml ) >"$T/promtool.log" 2>&1
rc=$?
tap_is "promtool test rules experiments_test.yml" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' "$T/promtool.log" | head -30
for a in SampleRatioMismatch RatingDistributionDrift OnlinePerformanceDegraded; do
  tap_is "$a is tested firing and quiet" \
    "$(grep -c "alertname: $a" "$ROOT/monitoring/rules/tests/experiments_test.yml" | awk '{print ($1 >= 2)}')" 1
done

# --- data: an A/B test, an interleaving test, a drifted, tracked model ---
"$BINDIR/psql" -qX -d postgres -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $DB" \
  -c "CREATE DATABASE $DB" -c "DROP ROLE IF EXISTS $ROLE" -c "CREATE ROLE $ROLE LOGIN IN ROLE pg_monitor" >/dev/null || exit 1
Q "CREATE EXTENSION movierec; GRANT USAGE ON SCHEMA movierec TO $ROLE;
   SELECT movierec.generate_ratings(500, 300, 15000, seed => 3);
   UPDATE movierec.ratings SET rated_at = now() - interval '1 day';
   SELECT movierec.promote(movierec.train('mon_als', 'als', '{\"factors\": 8, \"iterations\": 5}'));
   SELECT movierec.train('mon_pop', 'popularity');
   SELECT movierec.create_experiment('mon_ab', '[{\"name\": \"control\", \"model\": \"mon_pop\", \"weight\": 0.5},
                                                 {\"name\": \"treatment\", \"model\": \"mon_als\", \"weight\": 0.5}]');
   SELECT movierec.start_experiment('mon_ab');
   SELECT movierec.create_experiment('mon_il', '[{\"name\": \"pop\", \"model\": \"mon_pop\"},
                                                 {\"name\": \"als\", \"model\": \"mon_als\"}]', 'interleave');
   SELECT movierec.start_experiment('mon_il');
   SELECT count(*) FROM generate_series(1, 200) u, movierec.recommend_in('mon_ab', u, 10);
   SELECT count(*) FROM generate_series(1, 100) u, movierec.recommend_in('mon_il', u, 10);
   SELECT count(movierec.log_feedback(x.user_id, x.movie_ids[1 + x.impression_id % 3], e.ev, NULL, x.impression_id))
     FROM movierec.exposures x, (VALUES ('click'), ('play'), ('dismiss')) e(ev) WHERE x.user_id % 2 = 0;
   INSERT INTO movierec.ratings SELECT u, m, 5, now() FROM generate_series(1, 100) u, generate_series(1, 20) m
     ON CONFLICT DO NOTHING;
   SELECT movierec.track_performance();" >/dev/null || exit 1

# --- the queries, as a pg_monitor member only ---
python3 - "$ROOT/monitoring/queries/20_experiments.yaml" >"$T/queries.txt" <<'PY' || exit 1
import sys, yaml
for key, q in yaml.safe_load(open(sys.argv[1])).items():
    print(key + "\t" + " ".join(q["query"].split()))
PY
while IFS=$'\t' read -r key sql; do
  n=$("$BINDIR/psql" -qXAt -U "$ROLE" -d $DB -c "SELECT count(*) FROM ($sql) q" 2>"$T/q.err")
  tap_ok "query $key runs as a pg_monitor member and returns rows ($n)" test "${n:-0}" -gt 0
  [ -s "$T/q.err" ] && sed 's/^/# /' "$T/q.err"
done <"$T/queries.txt"
tap_is "a pg_monitor member cannot read the exposures themselves" \
  "$("$BINDIR/psql" -qXAt -U "$ROLE" -d $DB -c 'SELECT count(*) FROM movierec.exposures' 2>&1 | grep -c 'permission denied')" 1

if [ -z "$EXPORTER" ] || [ -z "$PROMETHEUS" ]; then echo "# no exporter or prometheus: live checks skipped"; tap_done; exit $?; fi

# --- exporter and Prometheus ---
EP=$(free_port); PP=$(free_port)
cat "$ROOT"/monitoring/queries/*.yaml >"$T/queries.yaml"
DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=$ROLE dbname=$DB sslmode=disable" \
  "$EXPORTER" --extend.query-path="$T/queries.yaml" --web.listen-address="127.0.0.1:$EP" \
  --disable-default-metrics --disable-settings-metrics >"$T/exporter.log" 2>&1 &
PIDS+=($!)
mkdir -p "$T/rules"
cp "$ROOT/monitoring/rules/experiments.yml" "$T/rules/"
cat >"$T/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$T/rules/*.yml"]
scrape_configs:
  - job_name: movierec
    static_configs: [{targets: ["127.0.0.1:$EP"]}]
EOF
"$PROMETHEUS" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
  --web.listen-address="127.0.0.1:$PP" >"$T/prometheus.log" 2>&1 &
PIDS+=($!)
up=0
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$EP/metrics" 2>/dev/null | grep -q '^movierec_drift_psi' &&
    curl -fsS "http://127.0.0.1:$PP/-/ready" >/dev/null 2>&1 && { up=1; break; }
  sleep 0.2
done
tap_is "exporter exports movierec_drift_psi and Prometheus is ready" "$up" 1
[ "$up" = 1 ] || { tail -5 "$T/exporter.log" "$T/prometheus.log" | sed 's/^/# /'; tap_done; exit 1; }
curl -fsS "http://127.0.0.1:$EP/metrics" >"$T/metrics.txt"
for m in movierec_experiment_users movierec_experiment_exposures_total movierec_experiment_clicks_total \
         movierec_experiment_ctr movierec_experiment_srm_p_value movierec_drift_psi movierec_drift_js_distance \
         movierec_drift_online_rmse movierec_drift_reference_rmse movierec_drift_new_user_share; do
  tap_ok "exported: $m" grep -q "^$m{" "$T/metrics.txt"
done
tap_ok "the SRM p-value of mon_ab is a number" \
  grep -qE '^movierec_experiment_srm_p_value\{.*experiment="mon_ab".*\} [0-9.e-]+$' "$T/metrics.txt"
# wait until Prometheus holds two scrapes of the experiment counters (rates need two)
for _ in $(seq 1 100); do
  n=$(curl -fsS "http://127.0.0.1:$PP/api/v1/query" --data-urlencode 'query=count(count_over_time(movierec_experiment_exposures_total[1m]) >= 2)' 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null)
  [ "${n:-0}" -gt 0 ] 2>/dev/null && break
  sleep 0.3
done
tap_ok "Prometheus has scraped the exporter twice" test "${n:-0}" -gt 0 2>/dev/null
[ "${n:-0}" -gt 0 ] 2>/dev/null || { curl -s "http://127.0.0.1:$PP/api/v1/targets" | head -c 1500 | sed 's/^/# /'; echo; }
python3 - "http://127.0.0.1:$PP" "$ROOT/grafana/dashboards/experiments.json" "$ROOT/grafana/dashboards/drift.json" \
  >"$T/dash.txt" <<'PY'
import json, sys, urllib.parse, urllib.request
prom, files = sys.argv[1], sys.argv[2:]
def tap(ok, what):
    print(("ok" if ok else "fail") + "\t" + what)
for f in files:
    d = json.load(open(f))
    name = f.split("/")[-1]
    tap(d.get("schemaVersion") == 39 and d.get("uid", "").startswith("movierec-"), name + ": uid and schemaVersion 39")
    cells = set(); overlap = False
    for p in d["panels"]:
        g = p["gridPos"]
        tap(g["x"] + g["w"] <= 24 and p["datasource"]["uid"] == "movierec-prometheus" and
            all(t["datasource"]["uid"] == "movierec-prometheus" for t in p["targets"]) and
            bool(p["fieldConfig"]["defaults"].get("unit")), "%s %r: grid, datasource, unit" % (name, p["title"]))
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                overlap |= (x, y) in cells; cells.add((x, y))
        for t in p["targets"]:
            q = t["expr"].replace("$__rate_interval", "30s")
            for v in d["templating"]["list"]:
                q = q.replace("$" + v["name"], ".*")
            url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
            try:
                r = json.load(urllib.request.urlopen(url, timeout=5))
                ok = r["status"] == "success" and len(r["data"]["result"]) > 0
            except Exception as e:
                ok = False
            tap(ok, "%s %r returns data: %s" % (name, p["title"], q))
    tap(not overlap, name + ": no panels overlap")
PY
tap_ok "the dashboard checker ran" test -s "$T/dash.txt"
while IFS=$'\t' read -r verdict what; do
  tap_is "$what" "$verdict" ok
done <"$T/dash.txt"
tap_done
