-- Experiments and drift API: signatures, SQLSTATEs of the bad inputs,
-- least privilege (the ratings trigger records a rate event for a role
-- with no rights on the experiment tables; SECURITY DEFINER functions pin
-- search_path; a pg_monitor member reads the views and nothing else).
BEGIN;
SELECT plan(26);
SELECT has_function('movierec', 'create_experiment', ARRAY['text', 'jsonb', 'text', 'text']);
SELECT has_function('movierec', 'start_experiment', ARRAY['text']);
SELECT has_function('movierec', 'stop_experiment', ARRAY['text']);
SELECT has_function('movierec', 'assign', ARRAY['text', 'bigint']);
SELECT has_function('movierec', 'recommend_in', ARRAY['text', 'bigint', 'integer']);
SELECT has_function('movierec', 'log_feedback', ARRAY['bigint', 'bigint', 'text', 'real', 'bigint']);
SELECT has_function('movierec', 'experiment_report', ARRAY['text', 'double precision', 'integer']);
SELECT has_function('movierec', 'drift_report', ARRAY['text', 'timestamp with time zone']);
SELECT has_function('movierec', 'track_performance', ARRAY['text']);
SELECT function_returns('movierec', 'create_experiment', ARRAY['text', 'jsonb', 'text', 'text'], 'bigint');
SELECT function_returns('movierec', 'experiment_report', ARRAY['text', 'double precision', 'integer'], 'jsonb');
SELECT volatility_is('movierec', 'assign', ARRAY['text', 'bigint'], 'stable');
SELECT has_table('movierec', 'performance_history', 'performance_history exists');

SELECT movierec.generate_ratings(200, 80, 3000, seed => 2);
SELECT movierec.train('tap_pop', 'popularity');
SELECT throws_ok($$SELECT movierec.create_experiment('t', '[{"name": "a", "model": "tap_pop", "weight": 0.7}, {"name": "b", "model": "tap_pop", "weight": 0.7}]')$$,
                 '22023', 'variant weights sum to 1.4, not 1');
SELECT throws_ok($$SELECT movierec.create_experiment('t', '[{"name": "a", "model": "nope", "weight": 0.5}, {"name": "b", "model": "tap_pop", "weight": 0.5}]')$$,
                 '42704', 'model "nope" does not exist');
SELECT lives_ok($$SELECT movierec.create_experiment('t', '[{"name": "a", "model": "tap_pop", "weight": 0.5}, {"name": "b", "model": "tap_pop", "weight": 0.5}]')$$);
SELECT throws_ok($$SELECT movierec.create_experiment('t', '[{"name": "a", "model": "tap_pop", "weight": 0.5}, {"name": "b", "model": "tap_pop", "weight": 0.5}]')$$,
                 '23505', 'experiment "t" already exists');
SELECT throws_ok($$SELECT * FROM movierec.recommend_in('t', 1)$$, '55000');
SELECT throws_ok($$SELECT movierec.log_feedback(1, 1, 'click', impression_id => 123456789)$$, '42704');
SELECT throws_ok($$SELECT movierec.log_feedback(1, 1, 'buy')$$, '22023', 'unknown event type "buy"');

-- a role that may write ratings and nothing else of the experiment
SELECT movierec.start_experiment('t');
SELECT count(*) FROM movierec.recommend_in('t', 7, 5);
CREATE ROLE tap_writer;
GRANT USAGE ON SCHEMA movierec TO tap_writer;
GRANT INSERT, SELECT ON movierec.ratings TO tap_writer;
SELECT movie_ids[1] AS m FROM movierec.exposures WHERE user_id = 7 \gset
SET ROLE tap_writer;
SELECT lives_ok(format('INSERT INTO movierec.ratings VALUES (7, %s, 4, now()) ON CONFLICT DO NOTHING', :m),
                'a role with INSERT on ratings only can rate');
RESET ROLE;
SELECT is((SELECT count(*) FROM movierec.feedback WHERE user_id = 7 AND event = 'rate' AND impression_id IS NOT NULL),
          1::bigint, 'its rating became an attributed rate event');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'movierec' AND p.prosecdef
              AND NOT coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=pg_catalog, pg_temp%', false)),
          0::bigint, 'every SECURITY DEFINER function pins search_path');
-- pg_monitor reads the monitoring views, not the exposures
CREATE ROLE tap_mon IN ROLE pg_monitor;
GRANT USAGE ON SCHEMA movierec TO tap_mon;
SET ROLE tap_mon;
SELECT lives_ok('SELECT * FROM movierec.experiment_variant_stats', 'a pg_monitor member reads experiment_variant_stats');
SELECT lives_ok('SELECT * FROM movierec.drift_status', 'a pg_monitor member reads drift_status');
SELECT throws_ok('SELECT * FROM movierec.exposures', '42501');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
