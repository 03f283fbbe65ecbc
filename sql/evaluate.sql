SET search_path TO movierec, public;
-- movierec.evaluate() on a hand-made model whose metrics are computed by
-- hand in the comments.  Model: global mean 3.5, scale 1..5, one factor.
--   users: 1 (bias 0.5, p 1), 2 (bias -0.5, p -1), 3 (bias 0, p 0)
--   movies: 10 (0.2, q 0.5), 20 (0, 1), 30 (-0.3, 2), 40 (0.2, -1), 50 (0.4, 0.3)
CREATE TABLE public.ev_train (user_id int, movie_id int, rating real);
INSERT INTO public.ev_train VALUES (1, 10, 5), (1, 20, 3), (2, 10, 4), (2, 30, 2), (2, 40, 4), (3, 50, 3);
CREATE TABLE public.ev_test (user_id bigint, movie_id bigint, rating real);
INSERT INTO public.ev_test VALUES
  (1, 50, 4), (1, 40, 2), (1, 30, 3),
  (2, 50, 4), (2, 20, 3), (2, 60, 5),
  (3, 40, 3),
  (4, 10, 1), (4, 50, 4);
INSERT INTO models (model_id, model_name, version, algorithm, source, n_users, n_movies,
                    n_ratings, n_factors, global_mean, rating_min, rating_max)
VALUES (9001, 'ev_hand', 1, 'als', 'public.ev_train', 3, 5, 6, 1, 3.5, 1, 5),
       (9002, 'ev_pop', 1, 'popularity', 'public.ev_train', 3, 5, 6, 0, 3.5, 1, 5);
INSERT INTO user_factors VALUES (9001, 1, 0.5, '{1}'), (9001, 2, -0.5, '{-1}'), (9001, 3, 0, '{0}'),
                                (9002, 1, 0, NULL), (9002, 2, 0, NULL), (9002, 3, 0, NULL);
INSERT INTO item_factors VALUES (9001, 10, 0.2, '{0.5}', 2, 4.5), (9001, 20, 0, '{1}', 1, 3),
  (9001, 30, -0.3, '{2}', 1, 2), (9001, 40, 0.2, '{-1}', 1, 4), (9001, 50, 0.4, '{0.3}', 1, 3),
  (9002, 10, 0, NULL, 2, 4.5), (9002, 20, 0, NULL, 1, 3), (9002, 30, 0, NULL, 1, 2),
  (9002, 40, 0, NULL, 1, 4), (9002, 50, 0, NULL, 1, 3);

-- Errors: predictions 4.7 1.2 3.1 2.0 3.0(unknown movie) 3.7 3.7(unknown
-- user) 3.9, and 5.7 clipped to 5 for (1, 30, 3).  Squared errors sum to
-- 19.53: RMSE = sqrt(19.53 / 9) = 1.4731, MAE = 11.3 / 9 = 1.2556.
-- Ranking at k = 2, relevant = rating >= 4, users 1, 2 and 4 (3 has none):
--   user 1: candidates 30 (1.7), 50 (0.7), 40 (-0.8): top [30, 50];
--           relevant {50}: hit at rank 2: P .5, R 1, NDCG .6309, AP .5
--   user 2: candidates 20 (-1), 50 (0.1): top [50, 20]; relevant {50, 60}
--           (60 unknown): hit at rank 1: P .5, R .5, NDCG 1/1.6309 = .6131, AP .5
--   user 4 (unknown, ranks by movie bias): top [50, 10]; relevant {50}:
--           P .5, R 1, NDCG 1, AP 1
-- means: P .5, R .8333, NDCG .7480, MAP .6667; coverage {10,20,30,50} = 4/5.
SELECT key, CASE WHEN jsonb_typeof(value) = 'number' THEN round(value::text::numeric, 4)::text
                 ELSE value::text END AS value
FROM jsonb_each(evaluate(9001, 'public.ev_test', k => 2)) ORDER BY key;

-- Ties go to the smaller movie_id: user 3 (p = 0) ranks by movie bias and
-- 10 and 40 tie at 0.2; with relevant_min 3 user 3's test movie 40 becomes
-- relevant and sits at rank 2 behind 10: NDCG .6309 for that user.
CREATE TABLE public.ev_tie (user_id int, movie_id int, rating real);
INSERT INTO public.ev_tie VALUES (3, 40, 3);
SELECT round((r->>'ndcg_at_k')::numeric, 4) AS ndcg, round((r->>'precision_at_k')::numeric, 4) AS p,
       r->>'users' AS users
FROM evaluate(9001, 'public.ev_tie', 2, 3) r;

-- Popularity ranks by training count (ties by movie_id):
--   user 1: [30, 40] no hit; user 2: [20, 50] hit at 2 of R = 2:
--   NDCG .6309/1.6309 = .3869, AP .25; user 4: [10, 20] no hit.
SELECT key, round(value::text::numeric, 4) AS value
FROM jsonb_each(evaluate(9002, 'public.ev_test', k => 2))
WHERE key IN ('precision_at_k', 'recall_at_k', 'ndcg_at_k', 'map_at_k', 'coverage_at_k', 'users')
ORDER BY key;

-- Stored in models.metrics: latest figures on top, one entry per test@k.
SELECT jsonb_object_keys(metrics->'evaluations') AS evaluation FROM models WHERE model_id = 9001 ORDER BY 1;
SELECT round((metrics->>'ndcg_at_k')::numeric, 4) AS latest_ndcg,
       (metrics->'evaluations'->'public.ev_test@2') ? 'evaluated_at' AS has_time
FROM models WHERE model_id = 9001;

-- Custom column names
CREATE TABLE public.ev_cols (uid int, mid int, stars numeric);
INSERT INTO public.ev_cols SELECT user_id, movie_id, rating FROM public.ev_test;
SELECT round((r->>'rmse')::numeric, 4) AS rmse, r->>'users' AS users
FROM evaluate(9001, 'public.ev_cols', 2, 4, 'uid', 'mid', 'stars') r;

-- Bad input: each is an error with a hint, and nothing changes.
CREATE TABLE public.ev_before AS SELECT metrics FROM models WHERE model_id = 9001;
SELECT evaluate(424242, 'public.ev_test');
SELECT evaluate(9001, 'public.ev_test', 0);
SELECT evaluate(9001, 'public.ev_test', 10001);
SELECT evaluate(9001, 'public.ev_test', 10, 'NaN');
SELECT evaluate(9001, 'public.no_such_table');
SELECT evaluate(9001, 'public.ev_test', user_col => 'uid');
CREATE TABLE public.ev_text (user_id int, movie_id int, rating text);
SELECT evaluate(9001, 'public.ev_text');
CREATE TABLE public.ev_empty (user_id int, movie_id int, rating real);
SELECT evaluate(9001, 'public.ev_empty');
CREATE TABLE public.ev_nan (user_id int, movie_id int, rating real);
INSERT INTO public.ev_nan VALUES (1, 50, 'NaN');
SELECT evaluate(9001, 'public.ev_nan');
INSERT INTO public.ev_empty VALUES (1, NULL, 4);
SELECT evaluate(9001, 'public.ev_empty');
-- the training source changed since the model was trained
INSERT INTO public.ev_train VALUES (3, 10, 4);
SELECT evaluate(9001, 'public.ev_test');
DELETE FROM public.ev_train WHERE user_id = 3 AND movie_id = 10;
ALTER TABLE public.ev_train RENAME TO ev_train_moved;
SELECT evaluate(9001, 'public.ev_test');
ALTER TABLE public.ev_train_moved RENAME TO ev_train;
SELECT m.metrics = b.metrics AS metrics_unchanged FROM models m, public.ev_before b WHERE m.model_id = 9001;

DROP TABLE public.ev_train, public.ev_test, public.ev_tie, public.ev_cols, public.ev_before,
  public.ev_text, public.ev_empty, public.ev_nan;
DELETE FROM models WHERE model_id IN (9001, 9002);
