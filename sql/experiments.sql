SET search_path TO movierec, public;
\set SHOW_CONTEXT never
-- Online experiments: creation and its errors, the assignment split and its
-- independence, weight changes, recommend_in (A/B and team-draft
-- interleaving), feedback attribution, the ratings trigger and the report's
-- shape.  The statistics are checked against an independent computation in
-- test/integration/experiments_stats.sh, the simulator in
-- test/integration/experiments_sim.sh.

SELECT generate_ratings(400, 150, 12000, rank => 4, noise => 0.5, seed => 11);
SELECT train('ex_pop', 'popularity') AS pop1 \gset
SELECT train('ex_als', 'als', '{"factors": 4, "iterations": 5}') AS als1 \gset
SELECT train('ex_als', 'als', '{"factors": 8, "iterations": 5}') AS als2 \gset
SELECT promote(:als1) > 0 AS promoted;

------------------------------------------------------------------------
-- Bad input: a clear error, and nothing changes.
------------------------------------------------------------------------
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop", "weight": 0.5}, {"name": "b", "model": "ex_als", "weight": 0.6}]');
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop", "weight": 0.5}, {"name": "b", "model": "no_such_model", "weight": 0.5}]');
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop", "weight": 0.5}, {"name": "b", "model": 999999, "weight": 0.5}]');
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop"}, {"name": "b", "model": "ex_als"}, {"name": "c", "model": "ex_als"}]', 'interleave');
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop", "weight": 0.5}, {"name": "a", "model": "ex_als", "weight": 0.5}]');
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop", "weight": 1}]');
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop", "weight": 0.5}, {"name": "b", "model": "ex_als", "weight": 0.5}]', 'bandit');
SELECT create_experiment('bad', '[{"name": "a", "model": "ex_pop", "weight": "half"}, {"name": "b", "model": "ex_als", "weight": 0.5}]');
SELECT count(*) AS experiments_after_errors FROM experiments;

SELECT create_experiment('ab1', '[{"name": "control", "model": "ex_pop", "weight": 0.5}, {"name": "treatment", "model": "ex_als", "weight": 0.5}]', salt => 'salt-ab1') > 0 AS created;
SELECT create_experiment('ab1', '[{"name": "x", "model": "ex_pop", "weight": 0.5}, {"name": "y", "model": "ex_als", "weight": 0.5}]');
SELECT name, kind, status, salt, started_at IS NULL AS not_started FROM experiments;
-- a draft experiment serves nothing
SELECT * FROM recommend_in('ab1', 1, 5);
SELECT * FROM recommend_in('nope', 1, 5);
-- the report of an experiment with no data: zeros, and it says so
SELECT r->'has_data' AS has_data, r->'message' AS message, r->'users' AS users,
       r->'srm' AS srm, r->'variants'->1->'metrics'->'ctr' AS treatment_ctr
  FROM experiment_report('ab1') r;
SELECT experiment_report('ab1', alpha => 1.5);
SELECT experiment_report('nope');

------------------------------------------------------------------------
-- Assignment: deterministic, within 1% of the weights over 100,000
-- users, independent of another experiment's (chi-squared of the 2x2
-- table not significant), and the documented hash.
------------------------------------------------------------------------
SELECT assign('ab1', 42) = assign('ab1', 42) AS deterministic;
SELECT _assign_bucket('salt-ab1', 1), _assign_bucket('salt-ab1', 2), _assign_bucket('', 0);
SELECT create_experiment('ab2', '[{"name": "p", "model": "ex_pop", "weight": 0.3}, {"name": "q", "model": "ex_als", "weight": 0.7}]', salt => 'salt-ab2') > 0 AS created;
CREATE TEMP TABLE split AS
  SELECT u, assign('ab1', u) AS a, assign('ab2', u) AS b FROM generate_series(1, 100000) u;
SELECT a, abs(count(*) / 100000.0 - 0.5) < 0.01 AS within_1pct FROM split GROUP BY a ORDER BY a;
SELECT b, abs(count(*) / 100000.0 - CASE b WHEN 'p' THEN 0.3 ELSE 0.7 END) < 0.01 AS within_1pct
  FROM split GROUP BY b ORDER BY b;
WITH t AS (SELECT a, b, count(*)::float8 AS n FROM split GROUP BY a, b),
     m AS (SELECT t.*, sum(n) OVER (PARTITION BY a) AS ra, sum(n) OVER (PARTITION BY b) AS cb,
                  sum(n) OVER () AS nn FROM t)
SELECT chi2_sf(sum((n - ra * cb / nn) ^ 2 / (ra * cb / nn)), 1) > 0.05 AS independent FROM m;
-- a weight change moves only the buckets it must: 50/50 -> 40/60 moves 10%
SELECT set_experiment_weights('ab1', '{"control": 0.4, "treatment": 0.6}');
SELECT round(avg((assign('ab1', u) <> a)::int), 2) AS users_moved FROM split;
SELECT bool_and(assign('ab1', u) = 'treatment') AS treatment_keeps_its_users
  FROM split WHERE a = 'treatment';
SELECT set_experiment_weights('ab1', '{"control": 0.5, "treatment": 0.5}');
SELECT bool_and(assign('ab1', u) = a) AS back_to_the_first_split FROM split;
SELECT set_experiment_weights('ab1', '{"control": 0.5}');
SELECT set_experiment_weights('ab1', '{"control": 0.5, "treatment": 0.6}');

------------------------------------------------------------------------
-- recommend_in, A/B: the variant's model, resolved at each call.
------------------------------------------------------------------------
SELECT start_experiment('ab1') IS NOT NULL AS started;
SELECT start_experiment('ab1');
SELECT min(u) AS tu FROM generate_series(1, 400) u WHERE assign('ab1', u) = 'treatment' \gset
SELECT count(*) AS rows, bool_and(variant = 'treatment') AS right_variant,
       count(DISTINCT impression_id) AS impressions
  FROM recommend_in('ab1', :tu, 5);
SELECT (SELECT array_agg(movie_id ORDER BY rank) FROM recommend_in('ab1', :tu, 5)) =
       (SELECT array_agg(movie_id ORDER BY rank) FROM recommend(:tu, 5, :'als1')) AS same_as_production;
SELECT model_id = :als1 AS logged_production_model, variant, cardinality(movie_ids) AS shown
  FROM exposures WHERE user_id = :tu ORDER BY impression_id DESC LIMIT 1;
SELECT promote(:als2) > 0 AS promoted_v2;
SELECT count(*) FROM recommend_in('ab1', :tu, 5);
SELECT model_id = :als2 AS now_logs_v2 FROM exposures WHERE user_id = :tu ORDER BY impression_id DESC LIMIT 1;
SELECT count(*) FROM recommend_in('ab1', :tu, 0);

------------------------------------------------------------------------
-- Feedback: explicit and implicit attribution, the window, the errors.
------------------------------------------------------------------------
SELECT impression_id AS imp, movie_ids[1] AS m1, movie_ids[2] AS m2, movie_ids[3] AS m3
  FROM exposures WHERE user_id = :tu ORDER BY impression_id DESC LIMIT 1 \gset
SELECT log_feedback(:tu, :m1, 'click', impression_id => :imp) > 0 AS logged;
SELECT log_feedback(:tu, :m2, 'play') > 0 AS logged_implicit;
SELECT event, impression_id = :imp AS attributed FROM feedback WHERE user_id = :tu ORDER BY event_id;
SELECT log_feedback(:tu, :m1, 'like');
SELECT log_feedback(:tu, :m1, 'click', impression_id => -5);
SELECT log_feedback(:tu + 1, :m1, 'click', impression_id => :imp);
SELECT log_feedback(:tu, -1, 'click', impression_id => :imp);
SELECT log_feedback(:tu, :m1, 'rate');
SELECT count(*) AS events_after_errors FROM feedback;
-- a movie nobody showed: recorded, attributed to nothing
SELECT log_feedback(:tu, 999999, 'click') > 0 AS logged;
SELECT impression_id IS NULL AS unattributed FROM feedback ORDER BY event_id DESC LIMIT 1;
-- a rating of a shown movie by a user in a running experiment is a rate event
INSERT INTO ratings VALUES (:tu, :m3, 4.5, now())
  ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = 4.5, rated_at = now();
SELECT event, value, impression_id = :imp AS attributed FROM feedback
 WHERE user_id = :tu AND event = 'rate';
-- outside the attribution window nothing is attributed
SET movierec.attribution_window = '1s';
SELECT pg_sleep(1.2);
SELECT log_feedback(:tu, :m3, 'click') > 0 AS logged;
SELECT impression_id IS NULL AS too_late FROM feedback ORDER BY event_id DESC LIMIT 1;
RESET movierec.attribution_window;
SHOW movierec.attribution_window;

------------------------------------------------------------------------
-- Interleaving: team-draft merge of both models' lists.
------------------------------------------------------------------------
SELECT create_experiment('il1', '[{"name": "pop", "model": "ex_pop"}, {"name": "als", "model": "ex_als"}]', 'interleave', 'salt-il1') > 0 AS created;
SELECT start_experiment('il1') IS NOT NULL AS started;
CREATE TEMP TABLE il AS
  SELECT u, r.* FROM generate_series(1, 60) u, recommend_in('il1', u, 10) r;
-- 10 rows, distinct movies, teams differ by at most one row in every prefix
-- of two (each round both teams pick once)
SELECT sum(n) = 600 AS all_rows, bool_and(n = 10 AND nd = 10) AS ten_distinct
  FROM (SELECT u, count(*) AS n, count(DISTINCT movie_id) AS nd FROM il GROUP BY u) s;
SELECT bool_and(abs(a - b) <= 1) AS balanced_prefixes FROM (
  SELECT u, rank, count(*) FILTER (WHERE variant = 'pop') OVER w AS a,
         count(*) FILTER (WHERE variant = 'als') OVER w AS b
    FROM il WINDOW w AS (PARTITION BY u ORDER BY rank)) s WHERE rank % 2 = 0;
-- each team's rows come from its own model's list, in that list's order
SELECT bool_and(movie_id IN (SELECT x.movie_id FROM recommend(il.u, 10, 'ex_pop') x)) AS pop_rows_from_pop
  FROM il WHERE variant = 'pop';
SELECT bool_and(movie_id IN (SELECT x.movie_id FROM recommend(il.u, 10, 'ex_als') x)) AS als_rows_from_als
  FROM il WHERE variant = 'als';
SELECT count(DISTINCT variant) AS teams_seen FROM il;
SELECT variant, teams = (SELECT array_agg(i.variant ORDER BY i.rank) FROM il i WHERE i.u = x.user_id) AS teams_logged
  FROM exposures x WHERE x.experiment_id = (SELECT experiment_id FROM experiments WHERE name = 'il1')
 ORDER BY impression_id LIMIT 1;
-- clicks on team als rows only: als wins every impression with a click
SELECT count(log_feedback(u, movie_id, 'click', impression_id => impression_id)) AS clicks
  FROM il WHERE variant = 'als' AND rank <= 4;
SELECT r->'interleave'->'wins' AS wins, r->'interleave'->'losses' AS losses,
       r->'interleave'->'ties' AS ties, r->'interleave'->'delta' AS delta,
       (r->'interleave'->>'p_value')::float8 = binomial_test(0, 60) AS p_is_binomial
  FROM experiment_report('il1') r;

------------------------------------------------------------------------
-- The report's shape.
------------------------------------------------------------------------
SELECT count(*) FROM (SELECT recommend_in('ab1', u, 5) FROM generate_series(1, 400) u) s;
SELECT array_agg(k ORDER BY k) AS top_keys FROM jsonb_object_keys(experiment_report('ab1')) k;
SELECT array_agg(k ORDER BY k) AS srm_keys FROM jsonb_object_keys(experiment_report('ab1')->'srm') k;
SELECT array_agg(k ORDER BY k) AS variant_keys FROM jsonb_object_keys(experiment_report('ab1')->'variants'->1) k;
SELECT array_agg(k ORDER BY k) AS metrics FROM jsonb_object_keys(experiment_report('ab1')->'variants'->1->'metrics') k;
SELECT array_agg(k ORDER BY k) AS metric_keys
  FROM jsonb_object_keys(experiment_report('ab1')->'variants'->1->'metrics'->'ctr') k;
SELECT r->'variants'->0->>'name' AS first, (r->'variants'->0->>'users')::int + (r->'variants'->1->>'users')::int AS users,
       (r->'srm'->>'checked')::boolean AS srm_checked, (r->'srm'->>'mismatch')::boolean AS mismatch
  FROM experiment_report('ab1') r;
SELECT array_agg(k ORDER BY k) AS interleave_keys FROM jsonb_object_keys(experiment_report('il1')->'interleave') k;
SELECT experiment, variant, users > 0 AS has_users, srm_p_value IS NOT NULL AS srm_computed
  FROM experiment_variant_stats ORDER BY experiment, variant;

------------------------------------------------------------------------
-- Stopping.
------------------------------------------------------------------------
SELECT stop_experiment('ab1') IS NOT NULL AS stopped;
SELECT * FROM recommend_in('ab1', 1, 5);
SELECT stop_experiment('ab1');
SELECT status, stopped_at IS NOT NULL AS has_stop_time FROM experiments WHERE name = 'ab1';
SELECT (experiment_report('ab1')->>'status') AS report_status;
SELECT stop_experiment('il1') IS NOT NULL AS stopped;
