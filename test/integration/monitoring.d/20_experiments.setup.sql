-- Setup for test/integration/monitoring_stack.sh (after 10_movierec.setup.sql,
-- whose data and production model 'mon_als' it uses): a running A/B test,
-- a running interleaving test, feedback, ratings after training and a
-- track_performance() record, so that every panel of
-- grafana/dashboards/{experiments,drift}.json has data.
\set ON_ERROR_STOP 1
SET search_path TO movierec, public;
SET client_min_messages = warning;
SELECT train('mon_exp_pop', 'popularity');
SELECT create_experiment('mon_ab', '[{"name": "control", "model": "mon_exp_pop", "weight": 0.5},
                                     {"name": "treatment", "model": "mon_als", "weight": 0.5}]');
SELECT start_experiment('mon_ab');
SELECT create_experiment('mon_il', '[{"name": "pop", "model": "mon_exp_pop"}, {"name": "als", "model": "mon_als"}]',
                         'interleave');
SELECT start_experiment('mon_il');
SELECT count(*) FROM generate_series(1, 200) u, recommend_in('mon_ab', u, 10);
SELECT count(*) FROM generate_series(1, 100) u, recommend_in('mon_il', u, 10);
SELECT count(log_feedback(x.user_id, x.movie_ids[1 + x.impression_id % 3], e.ev, NULL, x.impression_id))
  FROM exposures x, (VALUES ('click'), ('play'), ('dismiss')) e(ev) WHERE x.user_id % 2 = 0;
INSERT INTO ratings SELECT u, m, 5, now() FROM generate_series(1, 100) u, generate_series(1, 20) m
  ON CONFLICT DO NOTHING;
SELECT track_performance();
