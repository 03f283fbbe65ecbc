#!/usr/bin/env python3
"""Check movierec's Grafana dashboards (no Grafana needed).

    python3 monitoring/check_dashboards.py [--prometheus URL] [--rate-interval 1m] FILE.json...

Prints TAP lines.  For every dashboard: valid JSON, a uid unique across
the files, a current schemaVersion (Grafana 10: 36 or later), every
panel's and target's datasource uid is the provisioned one
(grafana/provisioning/datasources/prometheus.yml), panels lie on the
24-column grid without overlap, every panel has a unit.  With
--prometheus, every panel query (template variables substituted: each
query variable by its allValue or ".*", $__rate_interval and friends by
--rate-interval) is sent to that Prometheus and must return data.
"""
import argparse
import json
import os
import re
import sys
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_SCHEMA = 36          # Grafana 9.4+/10 write 37-39
n = 0
failed = 0


def tap(ok, name, why=""):
    """Print one TAP line."""
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print(("ok" if ok else "not ok") + " %d - %s%s" % (n, name, "" if ok or not why else ": " + why))


def provisioned_uid():
    """The uid in the datasource provisioning file."""
    with open(os.path.join(ROOT, "grafana/provisioning/datasources/prometheus.yml")) as f:
        m = re.search(r"^\s*uid:\s*(\S+)", f.read(), re.M)
    return m.group(1)


def panels_of(d):
    """Every panel, rows' nested panels included."""
    for p in d.get("panels", []):
        yield p
        for q in p.get("panels", []):
            yield q


def substitute(expr, d, rate):
    """Replace template variables in a query."""
    for v in d.get("templating", {}).get("list", []):
        val = v.get("allValue") or ".*"
        expr = expr.replace("${%s}" % v["name"], val).replace("$" + v["name"], val)
    for k in ("__rate_interval", "__interval", "__range"):
        expr = expr.replace("${%s}" % k, rate).replace("$" + k, rate)
    return expr


def query(url, expr):
    """Run an instant query; returns the result list (raises on error)."""
    u = url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(u, timeout=10) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(body.get("error", "query failed"))
    return body["data"]["result"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus")
    ap.add_argument("--rate-interval", default="1m")
    ap.add_argument("--only-queries", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    uid = provisioned_uid()
    seen = {}
    for path in a.files:
        name = os.path.basename(path)
        try:
            with open(path) as f:
                d = json.load(f)
        except ValueError as e:
            tap(False, name + " is valid JSON", str(e))
            continue
        panels = list(panels_of(d))
        if not a.only_queries:
            tap(bool(d.get("uid")) and d.get("uid") not in seen, name + " has a unique uid",
                "uid %r (also in %s)" % (d.get("uid"), seen.get(d.get("uid"))))
            seen[d.get("uid")] = name
            tap(isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] >= MIN_SCHEMA,
                name + " has a current schemaVersion", "schemaVersion %r" % d.get("schemaVersion"))
            bad = []
            for p in panels:
                for obj in [p] + p.get("targets", []):
                    ds = obj.get("datasource")
                    if not isinstance(ds, dict) or ds.get("uid") != uid:
                        bad.append("%s: %r" % (p.get("title"), ds))
            for v in d.get("templating", {}).get("list", []):
                if v.get("type") == "query" and (v.get("datasource") or {}).get("uid") != uid:
                    bad.append("variable %s" % v.get("name"))
            tap(not bad and panels, name + " uses the provisioned datasource uid " + uid, "; ".join(bad[:5]))
            cells = {}
            bad = []
            for p in panels:
                g = p.get("gridPos", {})
                x, y, w, h = (g.get(k) for k in ("x", "y", "w", "h"))
                if not all(isinstance(v, int) for v in (x, y, w, h)) or x < 0 or y < 0 or w < 1 or h < 1 or x + w > 24:
                    bad.append("%s off the 24-column grid %r" % (p.get("title"), g))
                    continue
                if p.get("type") == "row":
                    continue
                for cx in range(x, x + w):
                    for cy in range(y, y + h):
                        if (cx, cy) in cells:
                            bad.append("%s overlaps %s" % (p.get("title"), cells[(cx, cy)]))
                            break
                        cells[(cx, cy)] = p.get("title")
                    else:
                        continue
                    break
            tap(not bad, name + " panels lie on the 24-column grid without overlap", "; ".join(bad[:5]))
            bad = [p.get("title") for p in panels if p.get("type") != "row" and
                   not (p.get("fieldConfig", {}).get("defaults", {}).get("unit"))]
            tap(not bad, name + " every panel has a unit", ", ".join(bad[:5]))
        if a.prometheus:
            for p in panels:
                for t in p.get("targets", []):
                    expr = substitute(t.get("expr", ""), d, a.rate_interval)
                    label = "%s: %s [%s]" % (name, p.get("title"), t.get("refId"))
                    try:
                        res = query(a.prometheus, expr)
                        tap(len(res) > 0, label + " returns data", "no data for " + expr)
                    except Exception as e:        # noqa: BLE001 (report any failure)
                        tap(False, label + " returns data", "%s: %s" % (expr, e))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
