-- Least privilege (install/95_privileges.sql, README "Roles and
-- privileges"): what PUBLIC may execute, SECURITY DEFINER hygiene, and for
-- each of movierec_app, movierec_monitor and movierec_admin, that every
-- function is callable or refused as documented.  One transaction, rolled
-- back (the roles too).
BEGIN;
SET client_min_messages = warning;
SELECT plan(23);

-- PUBLIC: serving and the pure helpers only
SELECT is((SELECT string_agg(p.proname, ', ' ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'movierec'::regnamespace
              AND movierec._privilege_class(p.proname) IN ('app', 'monitor', 'admin')
              AND has_function_privilege('public', p.oid, 'EXECUTE')), NULL,
          'PUBLIC may execute no application, monitoring or administrative function');
SELECT is((SELECT string_agg(p.proname, ', ' ORDER BY p.proname)
             FROM pg_proc p WHERE p.pronamespace = 'movierec'::regnamespace
              AND movierec._privilege_class(p.proname) = 'public'
              AND NOT has_function_privilege('public', p.oid, 'EXECUTE')), NULL,
          'PUBLIC may execute every serving function');
SELECT ok((SELECT bool_and(movierec._privilege_class(f) = 'admin')
             FROM unnest(ARRAY['load_movielens', 'generate_ratings', 'train', 'train_async', 'drop_model',
                               'promote', 'rollback', 'retrain', 'schedule_retraining',
                               'unschedule_retraining', 'reset_stats', 'create_roles',
                               'create_experiment', 'start_experiment', 'stop_experiment',
                               'import_factors', 'recommend_all', 'evaluate', 'split',
                               'cross_validate', 'grid_search', 'take_snapshot', 'cancel_job']) f),
          'the issue''s administrative functions are in the admin class');
-- SECURITY DEFINER: a pinned search_path, and none open to PUBLIC beyond the
-- documented ones
SELECT is((SELECT string_agg(p.oid::regprocedure::text, ', ')
             FROM pg_proc p WHERE p.prosecdef AND p.pronamespace IN ('movierec'::regnamespace, 'api'::regnamespace)
              AND NOT coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=%', false)), NULL,
          'every SECURITY DEFINER function pins its search_path');
SELECT is((SELECT string_agg(p.proname, ', ' ORDER BY p.proname)
             FROM pg_proc p WHERE p.prosecdef AND p.pronamespace = 'movierec'::regnamespace
              AND has_function_privilege('public', p.oid, 'EXECUTE')
              AND p.prorettype <> 'trigger'::regtype
              AND p.proname NOT IN ('_serve_model_snapshot', '_retrain_schedules', 'jwt_verify',
                                    '_api_sub', '_api_check_user')), NULL,
          'no other SECURITY DEFINER function is open to PUBLIC');
SELECT is((SELECT count(*)::int FROM pg_proc p
            WHERE p.pronamespace = 'movierec'::regnamespace AND p.proname = 'create_roles'
              AND has_function_privilege('public', p.oid, 'EXECUTE')), 0,
          'create_roles() is not open to PUBLIC');

SELECT lives_ok($$SELECT movierec.create_roles()$$, 'create_roles() creates the three roles');
SELECT lives_ok($$SELECT movierec.create_roles()$$, '  and may run again');
SELECT is((SELECT string_agg(rolname || ':' || (rolsuper OR rolcanlogin OR rolbypassrls OR rolcreaterole OR rolcreatedb),
                              ' ' ORDER BY rolname)
             FROM pg_roles WHERE rolname IN ('movierec_app', 'movierec_monitor', 'movierec_admin')),
          'movierec_admin:false movierec_app:false movierec_monitor:false',
          'none of them is superuser, logs in, bypasses RLS or creates roles or databases');

-- a small model to serve
SELECT movierec.generate_ratings(80, 60, 1500, seed => 3) IS NOT NULL AS generated \gset
SELECT movierec.train('priv_m', 'als', '{"factors": 4, "iterations": 2}') AS mid \gset
SELECT movierec.promote(:mid) IS NOT NULL AS promoted \gset
CREATE ROLE priv_app IN ROLE movierec_app;
CREATE ROLE priv_mon IN ROLE movierec_monitor;
CREATE ROLE priv_admin IN ROLE movierec_admin;

-- the application
SET ROLE priv_app;
SELECT lives_ok($$SELECT count(*) FROM movierec.recommend(3, 5, 'priv_m')$$, 'app: recommend');
SELECT lives_ok($$SELECT movierec.predict(3, 4, 'priv_m'), (SELECT count(*) FROM movierec.similar_movies(4, 3, 'priv_m')),
                         (SELECT count(*) FROM movierec.recommend_for_ratings('{1,2}', '{5,4}', 3, 'priv_m'))$$,
                'app: predict, similar_movies, recommend_for_ratings');
SELECT lives_ok($$INSERT INTO movierec.ratings VALUES (3, 59, 4.5, now()) ON CONFLICT DO NOTHING$$, 'app: writes ratings');
SELECT throws_ok($$SELECT movierec.train('priv_x', 'popularity')$$, '42501', NULL, 'app: may not train');
SELECT throws_ok($$SELECT movierec.promote(1)$$, '42501', NULL, 'app: may not promote');
SELECT throws_ok($$SELECT movierec.generate_ratings(5, 5, 5)$$, '42501', NULL, 'app: may not generate');
SELECT throws_ok($$SELECT movierec.reset_stats()$$, '42501', NULL, 'app: may not reset the statistics');
RESET ROLE;

-- the monitor
SET ROLE priv_mon;
SELECT lives_ok($$SELECT count(*) FROM movierec.serving_stats$$, 'monitor: reads serving_stats');
SELECT throws_ok($$SELECT count(*) FROM movierec.ratings$$, '42501', NULL, 'monitor: may not read ratings');
SELECT throws_ok($$SELECT movierec.train('priv_x', 'popularity')$$, '42501', NULL, 'monitor: may not train');
RESET ROLE;

-- the administrator, no superuser
SET ROLE priv_admin;
SELECT lives_ok($$SELECT movierec.train('priv_m', 'popularity')$$, 'admin: trains');
SELECT lives_ok($$SELECT movierec.promote((SELECT max(model_id) FROM movierec.models WHERE model_name = 'priv_m'))$$,
                'admin: promotes');
SELECT lives_ok($$SELECT movierec.rollback('priv_m')$$, 'admin: rolls back');
SELECT lives_ok($$SELECT movierec.drop_model((SELECT max(model_id) FROM movierec.models WHERE model_name = 'priv_m'))$$,
                'admin: drops a model');
RESET ROLE;
SELECT * FROM finish();
ROLLBACK;
