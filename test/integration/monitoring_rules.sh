#!/usr/bin/env bash
# The monitoring files are valid and the alerts are unit tested:
# promtool check rules / test rules on every file, promtool check config,
# amtool check-config, the exporter's query files (one YAML once
# concatenated, unique metric prefixes), every alert has a firing and a
# quiet unit test, and the dashboards' JSON passes its checks.
set -u
. "$ROOT/test/lib.sh"
cd "$ROOT"
command -v promtool >/dev/null || { echo "promtool is not installed (Debian prometheus)"; exit 77; }
quiet() { "$@" >/dev/null 2>&1; }

for f in monitoring/rules/*.yml; do
  tap_ok "promtool check rules $f" quiet promtool check rules "$f"
done
for f in monitoring/rules/tests/*.yml; do
  out=$(promtool test rules "$f" 2>&1)
  tap_ok "promtool test rules $f" grep -q SUCCESS <<<"$out" || echo "$out" | head -30 | sed 's/^/# /'
done
tap_ok "promtool check config monitoring/prometheus.yml" quiet promtool check config monitoring/prometheus.yml
tap_ok "amtool check-config monitoring/alertmanager.yml" quiet amtool check-config monitoring/alertmanager.yml

# the exporter reads one file: the concatenation must be one valid mapping
cat monitoring/queries/*.yaml >"$T/queries.yaml"
out=$(python3 - "$T/queries.yaml" monitoring/queries/*.yaml <<'PY' 2>&1
import sys, yaml
class Unique(yaml.SafeLoader):
    pass
def mapping(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SystemExit("duplicate metric prefix %s" % sorted(dup))
    return yaml.SafeLoader.construct_mapping(loader, node, deep)
Unique.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
doc = yaml.load(open(sys.argv[1]), Loader=Unique)
usages = {"LABEL", "COUNTER", "GAUGE", "HISTOGRAM", "DISCARD", "MAPPEDMETRIC", "DURATION"}
for ns, q in doc.items():
    assert ns.startswith("movierec"), "prefix %s does not start with movierec" % ns
    assert isinstance(q.get("query"), str), "%s has no query" % ns
    for m in q["metrics"]:
        for col, spec in m.items():
            assert spec["usage"] in usages, "%s.%s: usage %s" % (ns, col, spec["usage"])
print("ok", len(doc))
PY
)
tap_ok "monitoring/queries/*.yaml concatenate into one valid file with unique prefixes" grep -q '^ok' <<<"$out" ||
  echo "# $out"

# every alert has a firing and a quiet unit test
out=$(python3 - <<'PY' 2>&1
import glob, yaml
alerts = set()
for f in glob.glob("monitoring/rules/*.yml"):
    for g in yaml.safe_load(open(f))["groups"]:
        alerts |= {r["alert"] for r in g["rules"] if "alert" in r}
firing, quiet = set(), set()
for f in glob.glob("monitoring/rules/tests/*.yml"):
    for t in yaml.safe_load(open(f))["tests"]:
        for a in t.get("alert_rule_test", []):
            (firing if a.get("exp_alerts") else quiet).add(a["alertname"])
missing = sorted(("%s (firing)" % a) for a in alerts - firing) + sorted(("%s (quiet)" % a) for a in alerts - quiet)
print("missing: " + ", ".join(missing) if missing else "ok %d alerts" % len(alerts))
PY
)
tap_ok "every alert has a firing and a quiet unit test ($out)" grep -q '^ok' <<<"$out"

# dashboards: JSON checks (their queries are checked live by monitoring_stack.sh)
out=$(python3 monitoring/check_dashboards.py grafana/dashboards/*.json 2>&1)
tap_ok "dashboard JSON checks" test "$(grep -c '^not ok' <<<"$out")" -eq 0 || grep '^not ok' <<<"$out" | sed 's/^/# /'
tap_done
