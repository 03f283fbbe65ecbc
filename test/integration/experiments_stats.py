#!/usr/bin/env python3
"""Independent check of movierec's experiment statistics (standard library only).

Each figure is recomputed here by a different method from the one the
extension uses, on fixed inputs, and compared:

- normal CDF/quantile: statistics.NormalDist (Wichura's AS241 for the quantile);
- Student t CDF: Simpson integration of the t density (the extension uses
  the incomplete beta continued fraction); df = 1 also against atan;
- chi-squared tail: the closed forms for integer df (the extension uses the
  incomplete gamma series and continued fraction);
- binomial test: exact rational sums with math.comb;
- experiment_report: per-user data inserted into exposures and feedback,
  then the ratio means, delta-method variances, relative lift, Welch df,
  t interval, p-value, confidence sequence, Holm adjustment, SRM and the
  interleaving counts computed here from the formulas in doc/experiments.md.

Prints TAP; used by test/integration/experiments_stats.sh.
"""
import json
import math
import os
import random
import subprocess
import sys
from fractions import Fraction
from statistics import NormalDist

PSQL = [os.path.join(os.environ["BINDIR"], "psql"), "-qXAt", "-v", "ON_ERROR_STOP=1"]
n_test = 0
fails = 0


def sql(text):
    """Run SQL, return stdout stripped."""
    out = subprocess.run(PSQL + ["-c", "SET search_path TO movierec, public; SET client_min_messages = warning",
                                 "-c", text], capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(1)
    return out.stdout.strip()


def ok(cond, what):
    global n_test, fails
    n_test += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n_test, what))
    if not cond:
        fails += 1


def close(got, want, what, rel=1e-9, abs_=1e-12):
    good = got is not None and want is not None and (
        abs(got - want) <= abs_ or abs(got - want) <= rel * abs(want))
    ok(good, "%s: got %r, want %r" % (what, got, want))


# --- distribution functions --------------------------------------------------

def t_pdf(x, df):
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    return c * (1 + x * x / df) ** (-(df + 1) / 2)


def t_cdf(t, df, steps=20000):
    """0.5 + integral of the density from 0 to t (Simpson); far tails by x = 1/u."""
    a = abs(t)
    if a <= 20:
        h = a / steps
        s = t_pdf(0, df) + t_pdf(a, df)
        for i in range(1, steps):
            s += (4 if i % 2 else 2) * t_pdf(i * h, df)
        half = s * h / 3
        return 0.5 + half if t >= 0 else 0.5 - half
    # tail integral of f(x) over (a, inf) = integral over (0, 1/a) of f(1/u)/u^2
    b = 1 / a
    h = b / steps
    g = lambda u: 0.0 if u == 0 else t_pdf(1 / u, df) / (u * u)
    s = g(0) + g(b)
    for i in range(1, steps):
        s += (4 if i % 2 else 2) * g(i * h)
    tail = s * h / 3
    return 1 - tail if t >= 0 else tail


def t_quantile(p, df):
    lo, hi = 0.0, 1000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if t_cdf(mid, df, 4000) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def chi2_sf_int(x, df):
    """Closed forms for integer df."""
    if df % 2 == 0:
        term, s = 1.0, 0.0
        for k in range(df // 2):
            if k > 0:
                term *= (x / 2) / k
            s += term
        return math.exp(-x / 2) * s
    s, term = 0.0, None
    for k in range((df - 1) // 2):
        term = math.sqrt(x) if k == 0 else term * x / (2 * k + 1)
        s += term
    return math.erfc(math.sqrt(x / 2)) + math.sqrt(2 / math.pi) * math.exp(-x / 2) * s


def binom_two_sided(k, n, p):
    p = Fraction(p).limit_denominator(10 ** 12)
    pmf = [math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(n + 1)]
    lim = pmf[k] * (1 + Fraction(1, 10 ** 7))
    return min(1.0, float(sum(x for x in pmf if x <= lim)))


def check_distributions():
    nd = NormalDist()
    for x in [-3, -1.96, -0.5, 0, 0.3, 1.6448536269514722, 2.5]:
        close(float(sql("SELECT normal_cdf(%r)" % x)), nd.cdf(x), "normal_cdf(%r)" % x, abs_=1e-14)
    for p in [1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999]:
        close(float(sql("SELECT normal_quantile(%r)" % p)), nd.inv_cdf(p), "normal_quantile(%r)" % p, rel=1e-12)
    for t, df in [(-2.5, 3), (1.3, 7.5), (0.4, 1), (-10, 2), (2.0, 30), (-1.96, 1000), (3.1, 12.25), (-40, 5)]:
        close(float(sql("SELECT student_t_cdf(%r, %r)" % (t, df))), t_cdf(t, df),
              "student_t_cdf(%r, %r)" % (t, df), rel=1e-8, abs_=1e-13)
    close(float(sql("SELECT student_t_cdf(0.4, 1)")), 0.5 + math.atan(0.4) / math.pi, "student_t_cdf(0.4, 1) = 1/2 + atan/pi")
    for x, df in [(3.841458820694124, 1), (10.83, 1), (5.99, 2), (7.0, 3), (20, 10), (0.5, 4), (100, 80), (1.5, 7), (250, 9)]:
        close(float(sql("SELECT chi2_sf(%r, %r)" % (x, df))), chi2_sf_int(x, df), "chi2_sf(%r, %r)" % (x, df),
              rel=1e-9, abs_=0)
    for k, n, p in [(3, 20, 0.5), (10, 20, 0.5), (0, 60, 0.5), (45, 100, 0.5), (7, 30, 0.1), (520, 1000, 0.5),
                    (2, 9, 0.3), (60, 60, 0.5)]:
        close(float(sql("SELECT binomial_test(%d, %d, %r)" % (k, n, p))), binom_two_sided(k, n, p),
              "binomial_test(%d, %d, %r)" % (k, n, p), rel=1e-9, abs_=0)


# --- the assignment hash -------------------------------------------------------

M64 = (1 << 64) - 1


def mix64(x):
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def fnv1a64(b):
    h = 0xCBF29CE484222325
    for c in b:
        h = ((h ^ c) * 0x100000001B3) & M64
    return h


def bucket(salt, user):
    return mix64(fnv1a64(salt.encode()) ^ ((user * 0x9E3779B97F4A7C15) & M64)) % 10000


def check_hash():
    users = [1, 2, 42, 123456789, -7, 2 ** 62]
    got = sql("SELECT string_agg(_assign_bucket('s-1', u)::text, ',' ORDER BY o) FROM unnest(ARRAY[%s]::bigint[]) "
              "WITH ORDINALITY AS x(u, o)" % ",".join(map(str, users)))
    want = ",".join(str(bucket("s-1", u & M64 if u >= 0 else (u + (1 << 64)))) for u in users)
    ok(got == want, "assignment hash matches the documented formula: %s vs %s" % (got, want))


# --- experiment_report -------------------------------------------------------------

def ratio(rows):
    """Mean and delta-method variance of the mean of sum X / sum Y."""
    n = len(rows)
    mx = sum(x for x, _ in rows) / n
    my = sum(y for _, y in rows) / n
    vx = sum((x - mx) ** 2 for x, _ in rows) / (n - 1)
    vy = sum((y - my) ** 2 for _, y in rows) / (n - 1)
    cxy = sum((x - mx) * (y - my) for x, y in rows) / (n - 1)
    return mx / my, (vx / my ** 2 - 2 * mx * cxy / my ** 3 + mx ** 2 * vy / my ** 4) / n, n


def lift_test(c, t, alpha=0.05, tuning=5000):
    mc, vc, nc = c
    mt, vt, nt = t
    lift = mt / mc - 1
    a = vt / mc ** 2
    b = mt ** 2 * vc / mc ** 4
    v = a + b
    se = math.sqrt(v)
    df = v * v / (a * a / (nt - 1) + b * b / (nc - 1))
    tq = t_quantile(1 - alpha / 2, df)
    p = min(1.0, 2 * t_cdf(-abs(lift) / se, df))
    n = nc + nt
    rho2 = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning
    half = math.sqrt(n * v) * math.sqrt(2 * (n * rho2 + 1) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha))
    return dict(lift=lift, ci_low=lift - tq * se, ci_high=lift + tq * se, p_value=p,
                seq_ci_low=lift - half, seq_ci_high=lift + half)


def holm(ps):
    order = sorted(range(len(ps)), key=lambda i: (ps[i], i))
    m = len(ps)
    adj = [None] * m
    running = 0
    for j, i in enumerate(order):
        running = max(running, min(1, (m - j) * ps[i]))
        adj[i] = running
    return adj


def check_report():
    rnd = random.Random(20261201)
    sql("SELECT generate_ratings(200, 80, 3000, rank => 3, seed => 5)")
    sql("SELECT train('st_pop', 'popularity')")
    sql("""SELECT create_experiment('st_ab', '[{"name": "c", "model": "st_pop", "weight": 0.5},
           {"name": "t", "model": "st_pop", "weight": 0.5}]', salt => 'st')""")
    eid = sql("SELECT experiment_id FROM experiments WHERE name = 'st_ab'")
    data = {"c": {}, "t": {}}
    expo, fb = [], []
    imp = 10 ** 9
    for variant, n_users, p_click, p_play in [("c", 310, 0.08, 0.03), ("t", 290, 0.10, 0.03)]:
        for u in range(n_users):
            uid = (1 if variant == "c" else 100000) + u
            rec = data[variant].setdefault(uid, [0, 0, 0, 0, 0.0])   # shown, clicks, plays, rates, rating sum
            for _ in range(rnd.randint(1, 3)):
                imp += 1
                shown = rnd.sample(range(1, 81), 10)
                expo.append("(%d, %s, '%s', %d, '{%s}')" % (imp, eid, variant, uid, ",".join(map(str, shown))))
                rec[0] += 10
                for m in shown:
                    if rnd.random() < p_click:
                        fb.append("(%d, %d, 'click', NULL, %d)" % (uid, m, imp)); rec[1] += 1
                    if rnd.random() < p_play:
                        fb.append("(%d, %d, 'play', NULL, %d)" % (uid, m, imp)); rec[2] += 1
                    if rnd.random() < 0.05:
                        r = rnd.choice([2.5, 3, 3.5, 4, 4.5, 5]) + (0.5 if variant == "t" and rnd.random() < 0.3 else 0)
                        r = min(r, 5)
                        fb.append("(%d, %d, 'rate', %r, %d)" % (uid, m, r, imp)); rec[3] += 1; rec[4] += r
    sql("INSERT INTO exposures (impression_id, experiment_id, variant, user_id, movie_ids) VALUES " + ",".join(expo))
    sql("INSERT INTO feedback (user_id, movie_id, event, value, impression_id) VALUES " + ",".join(fb))
    rep = json.loads(sql("SELECT experiment_report('st_ab')"))

    stats = {}
    for v in ("c", "t"):
        rows = list(data[v].values())
        stats[v] = {"ctr": ratio([(r[1], r[0]) for r in rows]),
                    "play_rate": ratio([(r[2], r[0]) for r in rows]),
                    "mean_rating": ratio([(r[4], r[3]) for r in rows])}
    ok([x["name"] for x in rep["variants"]] == ["c", "t"], "variants in order")
    ok(rep["variants"][0]["users"] == 310 and rep["variants"][1]["users"] == 290, "users per variant")
    tests = {m: lift_test(stats["c"][m], stats["t"][m]) for m in ("ctr", "play_rate", "mean_rating")}
    adj = holm([tests[m]["p_value"] for m in ("ctr", "play_rate", "mean_rating")])
    for j, m in enumerate(("ctr", "play_rate", "mean_rating")):
        got = rep["variants"][1]["metrics"][m]
        close(rep["variants"][0]["metrics"][m]["value"], stats["c"][m][0], "control %s value" % m)
        close(got["value"], stats["t"][m][0], "treatment %s value" % m)
        for key in ("lift", "ci_low", "ci_high", "p_value", "seq_ci_low", "seq_ci_high"):
            close(got[key], tests[m][key], "%s %s" % (m, key), rel=1e-6, abs_=1e-9)
        close(got["p_value_adjusted"], adj[j], "%s Holm-adjusted p" % m, rel=1e-6, abs_=1e-9)
    # SRM: 310 vs 290 at 50/50
    chi2 = (310 - 300) ** 2 / 300 + (290 - 300) ** 2 / 300
    close(rep["srm"]["p_value"], chi2_sf_int(chi2, 1), "SRM p-value", rel=1e-9)
    ok(rep["srm"]["mismatch"] is False, "310 vs 290 is no mismatch at p < 0.001")
    # a mismatch: 300 vs 200 expected 250 each -> chi2 = 20, p ~ 7.7e-6
    close(float(sql("SELECT (_srm(ARRAY[300, 200]::bigint[], ARRAY[0.5, 0.5])->>'p_value')::float8")),
          chi2_sf_int(20.0, 1), "SRM p-value of 300/200")
    ok(sql("SELECT _srm(ARRAY[300, 200]::bigint[], ARRAY[0.5, 0.5])->>'mismatch'") == "true", "300/200 is a mismatch")
    ok(sql("SELECT _srm(ARRAY[6, 3]::bigint[], ARRAY[0.5, 0.5])->>'checked'") == "false",
       "no SRM check when a cell expects fewer than 5")
    # Holm on fixed p-values
    got = json.loads(sql("SELECT to_json(_holm(ARRAY[0.01, 0.04, 0.03, NULL, 0.2]))"))
    want = holm([0.01, 0.04, 0.03, 0.2])
    ok(all(abs(a - b) < 1e-15 for a, b in zip([got[0], got[1], got[2], got[4]], want)) and got[3] is None,
       "Holm adjustment %s vs %s" % (got, want))

    # interleaving: counts per impression
    sql("""SELECT create_experiment('st_il', '[{"name": "A", "model": "st_pop"}, {"name": "B", "model": "st_pop"}]',
           'interleave', 'st-il')""")
    eid = sql("SELECT experiment_id FROM experiments WHERE name = 'st_il'")
    expo, fb = [], []
    wins = losses = ties = 0
    for i in range(400):
        imp += 1
        shown = rnd.sample(range(1, 81), 6)
        teams = [rnd.choice("AB") for _ in shown]
        expo.append("(%d, %s, 'interleaved', %d, '{%s}', '{%s}')" % (imp, eid, 5000 + i, ",".join(map(str, shown)),
                                                                     ",".join(teams)))
        a = b = 0
        for m, team in zip(shown, teams):
            if rnd.random() < (0.12 if team == "B" else 0.08):
                fb.append("(%d, %d, 'click', NULL, %d)" % (5000 + i, m, imp))
                a += team == "A"; b += team == "B"
        if a + b:
            wins += a > b; losses += a < b; ties += a == b
    sql("INSERT INTO exposures (impression_id, experiment_id, variant, user_id, movie_ids, teams) VALUES " + ",".join(expo))
    sql("INSERT INTO feedback (user_id, movie_id, event, value, impression_id) VALUES " + ",".join(fb))
    il = json.loads(sql("SELECT experiment_report('st_il')"))["interleave"]
    ok((il["wins"], il["losses"], il["ties"]) == (wins, losses, ties),
       "interleave wins/losses/ties %s vs %s" % ((il["wins"], il["losses"], il["ties"]), (wins, losses, ties)))
    n = wins + losses + ties
    close(il["delta"], (wins + ties / 2) / n - 0.5, "interleave delta")
    close(il["p_value"], binom_two_sided(wins, wins + losses, 0.5), "interleave binomial p-value")


def check_drift_distances():
    """PSI = sum (a - e) ln(a / e), JS distance = sqrt of the base-2 JS divergence."""
    for e, a in [([10, 20, 30, 40], [25, 25, 25, 25]), ([5, 0, 5], [1, 8, 1]), ([100, 1], [1, 100]),
                 ([3, 3, 3, 3, 3, 3, 3, 3, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])]:
        def norm(v):
            t = sum(v)
            v = [max(x / t, 1e-4) for x in v]
            t = sum(v)
            return [x / t for x in v]
        pe, pa = norm(e), norm(a)
        psi = sum((y - x) * math.log(y / x) for x, y in zip(pe, pa))
        js = 0.0
        for x, y in zip(pe, pa):
            m = (x + y) / 2
            js += 0.5 * x * math.log2(x / m) + 0.5 * y * math.log2(y / m)
        got = json.loads(sql("SELECT _distribution_distance(ARRAY%r::float8[], ARRAY%r::float8[])" % (e, a)))
        close(got["psi"], round(psi, 6), "PSI of %r against %r" % (a, e), abs_=1.1e-6)
        close(got["js_distance"], round(math.sqrt(js), 6), "JS distance of %r against %r" % (a, e), abs_=1.1e-6)
        band = "major" if psi >= 0.25 else "moderate" if psi >= 0.1 else "none"
        ok(got["band"] == band, "PSI band %s" % band)


check_distributions()
check_drift_distances()
check_hash()
check_report()
print("1..%d" % n_test)
sys.exit(1 if fails else 0)
