-- Setup for test/integration/monitoring_stack.sh (run once, as postgres,
-- before the stack starts): the data every panel of
-- grafana/dashboards/{model_performance,user_activity,system_health}.json
-- shows.  Other dashboards add their own NN_name.setup.sql / .loop.sql.
\set ON_ERROR_STOP 1
SET search_path TO movierec, public;
SET client_min_messages = warning;
SELECT generate_ratings(300, 1000, 15000, seed => 11);
UPDATE ratings SET rated_at = now() - interval '1 day';
-- a production model with its evaluation, a staging one, a failed run
SELECT train('mon_als', 'als', '{"factors": 16, "iterations": 5}') AS prod \gset
SELECT evaluate(:prod, 'movierec.ratings') IS NOT NULL AS evaluated;
SELECT promote(:prod);
SELECT train('mon_als', 'als', '{"factors": 8, "iterations": 3}') AS cand \gset
UPDATE models SET stage = 'staging' WHERE model_id = :cand;
\set ON_ERROR_STOP 0
SET movierec.max_train_memory = '1MB';
SELECT train('mon_fail', 'als', '{"factors": 1024}');
RESET movierec.max_train_memory;
\set ON_ERROR_STOP 1
-- users 1..5 rate after training: served by fold-in from now on
INSERT INTO ratings SELECT u, 1000 - u, 5, now() FROM generate_series(1, 5) u ON CONFLICT DO NOTHING;
