-- movierec.cross_validate() and grid_search() on a small deterministic
-- rating table (60 users x 40 movies, 1600 ratings) with the fast
-- baseline model: shape of the result, reproducibility, nothing left
-- behind, grid ranking direction, and bad input.
BEGIN;
SET client_min_messages = warning;
CREATE TABLE public.cvq AS
SELECT u AS user_id, i AS movie_id, (1 + (u * 7 + i * 3) % 5)::real AS rating
FROM generate_series(1, 60) u, generate_series(1, 40) i WHERE (u + i) % 3 <> 0;
CREATE TEMP TABLE cv_before AS SELECT count(*) AS n FROM movierec.models;
CREATE TEMP TABLE cv1 AS SELECT movierec.cross_validate('baseline', '{}', 'public.cvq', 4, 3) AS r;
CREATE TEMP TABLE cv2 AS SELECT movierec.cross_validate('baseline', '{}', 'public.cvq', 4, 3) AS r;
CREATE TEMP TABLE cv3 AS SELECT movierec.cross_validate('baseline', '{}', 'public.cvq', 4, 4) AS r;
CREATE TEMP TABLE gs AS
SELECT * FROM movierec.grid_search('baseline', '{"iterations": [1, 10], "reg_user_bias": [5, 15]}', 'public.cvq', 2);
CREATE TEMP TABLE gs_ndcg AS
SELECT * FROM movierec.grid_search('baseline', '{"reg_item_bias": [1, 100]}', 'public.cvq', 2, 'ndcg_at_k');
RESET client_min_messages;

SELECT plan(21);

SELECT is((SELECT count(*) FROM movierec.models), (SELECT n FROM cv_before),
          'cross_validate and grid_search leave no models behind');
SELECT is((SELECT count(*) FROM pg_class WHERE relname LIKE 'movierec\_cv\_%'), 0::bigint,
          'no fold tables left behind');
SELECT is((SELECT count(*) FROM cv1, unnest(ARRAY['rmse', 'mae', 'precision_at_k', 'recall_at_k',
                   'ndcg_at_k', 'map_at_k', 'coverage_at_k']) m
           WHERE jsonb_typeof(r->m->'mean') = 'number' AND jsonb_typeof(r->m->'std') = 'number'),
          7::bigint, 'mean and std of all seven metrics');
SELECT is((SELECT jsonb_array_length(r->'per_fold') FROM cv1), 4, 'one entry per fold');
SELECT is((SELECT sum((f->>'n_test')::int) FROM cv1, jsonb_array_elements(r->'per_fold') f), 1600::bigint,
          'the folds partition the 1600 ratings');
SELECT ok((SELECT max((f->>'n_test')::int) - min((f->>'n_test')::int) <= 1
           FROM cv1, jsonb_array_elements(r->'per_fold') f), 'folds differ in size by at most one');
SELECT ok((SELECT abs((r->'rmse'->>'mean')::float8 -
                      (SELECT avg((f->>'rmse')::float8) FROM jsonb_array_elements(r->'per_fold') f)) < 1e-9
           FROM cv1), 'mean is the mean of the folds');
SELECT ok((SELECT abs((r->'rmse'->>'std')::float8 -
                      (SELECT stddev_pop((f->>'rmse')::float8) FROM jsonb_array_elements(r->'per_fold') f)) < 1e-9
           FROM cv1), 'std is the population std of the folds');
SELECT ok((SELECT cv1.r = cv2.r FROM cv1, cv2), 'the same seed gives the same result');
SELECT ok((SELECT cv1.r->'per_fold' <> cv3.r->'per_fold' FROM cv1, cv3), 'another seed gives other folds');

SELECT is((SELECT array_agg(rank ORDER BY rank) FROM gs), ARRAY[1, 2, 3, 4], 'grid of 2 x 2 gives 4 ranked rows');
SELECT ok((SELECT bool_and(s.ok) FROM (SELECT score >= lag(score) OVER (ORDER BY rank) IS NOT FALSE AS ok FROM gs) s),
          'rmse: rank 1 has the lowest score');
SELECT ok((SELECT bool_and(s.ok) FROM (SELECT score <= lag(score) OVER (ORDER BY rank) IS NOT FALSE AS ok FROM gs_ndcg) s),
          'ndcg_at_k: rank 1 has the highest score');
SELECT is((SELECT params FROM gs ORDER BY rank, params::text LIMIT 1) - 'iterations' - 'reg_user_bias', '{}'::jsonb,
          'params hold exactly the grid keys');

SELECT throws_ok($$SELECT movierec.cross_validate('baseline', '{}', 'public.cvq', 1)$$, '22023',
                 'folds must be between 2 and 20, not 1', 'folds below 2');
SELECT throws_ok($$SELECT movierec.cross_validate('baseline', '{}', 'public.cvq', 3, 0, 'uid')$$, '42703',
                 NULL, 'missing column');
SELECT throws_ok($$SELECT movierec.cross_validate('nope', '{}', 'public.cvq', 2)$$, NULL, NULL,
                 'unknown algorithm fails');
SELECT throws_ok($$SELECT * FROM movierec.grid_search('baseline', '{"iterations": [1]}', 'public.cvq', 2, 'auc')$$,
                 '22023', 'unknown metric "auc"', 'unknown metric');
SELECT throws_ok($$SELECT * FROM movierec.grid_search('baseline', '{}', 'public.cvq')$$,
                 '22023', 'param_grid must be a non-empty JSON object of arrays', 'empty grid');
SELECT throws_ok($$SELECT * FROM movierec.grid_search('baseline', '{"iterations": 5}', 'public.cvq')$$,
                 '22023', 'param_grid key "iterations" must be a non-empty array', 'value that is not an array');

-- evaluate(train(...)) in one statement sees the new model
SELECT ok((SELECT (movierec.evaluate(movierec.train('cvq_one', 'baseline', '{}', 'public.cvq'), 'public.cvq')->>'n_test')::int = 1600),
          'evaluate(train(...)) works in one statement');

SELECT * FROM finish();
ROLLBACK;
