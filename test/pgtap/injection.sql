-- Names that carry SQL: model, table, column, experiment, account and role
-- names with quotes, semicolons and $$ either work as plain names or fail
-- cleanly, and never run SQL (the canary table and movierec.ratings stay).
-- One transaction, rolled back.
BEGIN;
SET client_min_messages = warning;
SELECT plan(16);
CREATE TABLE public.canary (x int);
SELECT movierec.generate_ratings(60, 40, 900, seed => 8) IS NOT NULL AS generated \gset
CREATE TABLE public."we'ird; DROP TABLE public.canary; --$$" AS
    SELECT user_id AS "u""; DROP TABLE public.canary; --", movie_id, rating FROM movierec.ratings;

-- model names are values, never SQL
SELECT lives_ok($q$SELECT movierec.train(E'm''; DROP TABLE public.canary; --$$x', 'popularity')$q$,
                'a model name with a quote, a semicolon and $$ trains');
SELECT is((SELECT count(*)::int FROM movierec.models WHERE model_name = E'm''; DROP TABLE public.canary; --$$x'), 1,
          '  and is stored as given');
SELECT lives_ok($q$SELECT count(*) FROM movierec.recommend(1, 5, E'm''; DROP TABLE public.canary; --$$x')$q$,
                '  and serves by that name');
SELECT lives_ok($q$SELECT movierec.promote((SELECT max(model_id) FROM movierec.models WHERE model_name LIKE 'm''; DROP%'))$q$,
                '  and is promoted');
-- table and column names go through regclass and quote_ident
SELECT lives_ok($q$SELECT movierec.train('inj_src', 'popularity', '{}',
                    'public."we''ird; DROP TABLE public.canary; --$$"', 'u"; DROP TABLE public.canary; --')$q$,
                'a source table and a column named with SQL train');
SELECT throws_ok($q$SELECT movierec.train('inj_col', 'popularity', '{}', 'movierec.ratings',
                     'user_id; DROP TABLE public.canary')$q$, '42703', NULL,
                 'a column name with SQL that is no column fails cleanly');
SELECT throws_ok($q$SELECT movierec.train('inj_tab', 'popularity', '{}', 'ratings; DROP TABLE public.canary')$q$,
                 '42602', NULL, 'a table name with SQL that is no table fails cleanly');
SELECT lives_ok($q$SELECT movierec.evaluate((SELECT max(model_id) FROM movierec.models WHERE model_name = 'inj_src'),
                    'public."we''ird; DROP TABLE public.canary; --$$"', user_col => 'u"; DROP TABLE public.canary; --')$q$,
                'evaluate() on such a table and column');
SELECT lives_ok($q$SELECT * FROM movierec.split('public."we''ird; DROP TABLE public.canary; --$$"',
                    user_col => 'u"; DROP TABLE public.canary; --', time_col => NULL)$q$,
                'split() of such a table');
SELECT lives_ok($q$SELECT movierec.take_snapshot('public."we''ird; DROP TABLE public.canary; --$$"', true,
                    user_col => 'u"; DROP TABLE public.canary; --')$q$,
                'a materialized snapshot of such a table');
-- the other entry points that take a name, where installed
SELECT CASE WHEN to_regproc('movierec.create_experiment') IS NULL THEN skip('no experiments API', 1)
       ELSE lives_ok($q$SELECT movierec.create_experiment(E'e''; DROP TABLE public.canary; --$$',
              '[{"name": "a''; DROP TABLE public.canary; --", "model": "inj_src", "weight": 0.5},
                {"name": "b", "model": "inj_src", "weight": 0.5}]')$q$,
              'an experiment and variant named with SQL') END;
SELECT CASE WHEN to_regproc('movierec.create_api_roles') IS NULL THEN NULL
       ELSE movierec.create_api_roles() END AS api_set_up \gset
SELECT CASE WHEN to_regproc('movierec.create_account') IS NULL THEN skip('no HTTP API', 1)
       ELSE throws_ok($q$SELECT movierec.create_account(E'u''; DROP TABLE public.canary; --$$', 'long-enough-password', 9)$q$,
              '23514', NULL, 'an account named with SQL is refused by the username rule') END;
SELECT lives_ok($q$SELECT movierec.create_monitor_role(E'r''; DROP TABLE public.canary; --$$')$q$,
                'a monitoring role named with SQL');
SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname = E'r''; DROP TABLE public.canary; --$$'), 1,
          '  is created with exactly that name');
-- nothing ran
SELECT has_table('public', 'canary', 'the canary table is still there');
SELECT cmp_ok((SELECT count(*) FROM movierec.ratings), '>', 0::bigint, 'and so are the ratings');
SELECT * FROM finish();
ROLLBACK;
