-- Serving semantics of 0.2: predict() of a movie the model lacks is what
-- evaluate() predicts for it; new movies are folded in from their raters;
-- every insert, update and delete of a user's ratings is seen at once.
-- One transaction on synthetic data; the ROLLBACK at the end restores the
-- other tests' rows.  (test/integration/serve_changes.sh covers commits
-- and other sessions.)
SET search_path TO movierec, public;
SET client_min_messages = warning;
BEGIN;
DELETE FROM models;
SELECT generate_ratings(150, 90, 4000, rank => 4, noise => 0.3, seed => 3) IS NOT NULL AS generated;
-- a split whose test part has movies absent from training (81..90) and users all in it
CREATE TABLE public.sc_train AS SELECT * FROM ratings WHERE movie_id <= 80 AND (user_id * 7 + movie_id * 13) % 5 <> 0;
CREATE TABLE public.sc_test AS SELECT * FROM ratings r
  WHERE NOT EXISTS (SELECT 1 FROM public.sc_train t WHERE t.user_id = r.user_id AND t.movie_id = r.movie_id);
SELECT count(DISTINCT movie_id) FILTER (WHERE movie_id > 80) AS unknown_test_movies,
       count(*) FILTER (WHERE movie_id > 80) > 100 AS many_unknown_rows,
       count(*) FILTER (WHERE user_id NOT IN (SELECT user_id FROM public.sc_train)) AS unknown_test_users
FROM public.sc_test;
SELECT train('sc', 'als', '{"factors": 32, "iterations": 10}', 'public.sc_train') > 0 AS trained;

-- 1. predict() over the test set gives evaluate()'s RMSE and MAE
-- (item fold-in off: it would solve movies 81..90 from their test ratings)
SET movierec.item_fold_in_min_ratings = 0;
WITH e AS (SELECT evaluate((SELECT model_id FROM models WHERE model_name = 'sc'), 'public.sc_test') AS j),
     p AS (SELECT sqrt(avg((predict(user_id, movie_id, 'sc')::float8 - rating) ^ 2)) AS rmse,
                  avg(abs(predict(user_id, movie_id, 'sc')::float8 - rating)) AS mae
           FROM public.sc_test)
SELECT (e.j->>'unknown_movies')::int > 100 AS evaluate_saw_unknown_movies,
       abs(p.rmse - (e.j->>'rmse')::float8) < 1e-9 AS rmse_equal,
       abs(p.mae - (e.j->>'mae')::float8) < 1e-9 AS mae_equal,
       round(p.rmse::numeric, 6) = round((e.j->>'rmse')::numeric, 6) AS rmse_equal_6_digits
FROM e, p;
-- an unknown movie: mean + the user's bias, clipped; an unknown user too (no bias)
SELECT predict(5, 85, 'sc') = least(5, greatest(0.5, m.global_mean + u.bias))::real AS unknown_movie,
       predict(999999, 85, 'sc') = m.global_mean AS unknown_movie_and_user
FROM models m JOIN user_factors u ON u.model_id = m.model_id AND u.user_id = 5 WHERE m.model_name = 'sc';
SELECT path, regexp_replace(reason, 'model \d+', 'model N') AS reason FROM movie_explain_path(85, 'sc');

-- 2. item fold-in: movies 81..90 have >= 5 ratings by users in the model
RESET movierec.item_fold_in_min_ratings;
SHOW movierec.item_fold_in_min_ratings;
SELECT count(*) AS folded, min(movie_id), max(movie_id), bool_and(n_ratings >= 5) AS enough_ratings,
       bool_and(n_ratings = (SELECT count(*) FROM ratings r WHERE r.movie_id = f.movie_id)) AS all_raters
FROM folded_movies('sc') f;
SELECT path, regexp_replace(reason, 'model \d+', 'model N') AS reason FROM movie_explain_path(85, 'sc');
SELECT path FROM movie_explain_path(5, 'sc');
SELECT path FROM movie_explain_path(424242, 'sc');
-- the normal equations of the ALS movie step hold for a folded movie:
-- sum_u (r - mu - b_u - b_i - p_u.q) [p_u, 1] = [reg n^0.4 q, reg_item_bias b_i]
CREATE FUNCTION public.sc_step_residual(mid bigint) RETURNS float8 LANGUAGE sql STABLE AS $$
  WITH f AS (SELECT * FROM movierec.folded_movies('sc') WHERE movie_id = mid),
       m AS (SELECT * FROM movierec.models WHERE model_name = 'sc'),
       e AS (SELECT r.rating - m.global_mean - u.bias - f.bias
                    - (SELECT sum(a::float8 * b) FROM unnest(u.factors, f.factors) t(a, b)) AS err,
                    u.factors AS p
             FROM movierec.ratings r, f, m, movierec.user_factors u
             WHERE r.movie_id = mid AND u.model_id = m.model_id AND u.user_id = r.user_id),
       g AS (SELECT i, sum(e.err * e.p[i]) AS gi FROM e, generate_series(1, array_length(e.p, 1)) i GROUP BY i)
  SELECT greatest(
           (SELECT max(abs(g.gi - (m.params->>'regularization')::float8 * f.n_ratings ^ 0.4 * f.factors[g.i]))
              FROM g, f, m),
           (SELECT abs(sum(e.err) - (m.params->>'reg_item_bias')::float8 * f.bias) FROM e, f, m GROUP BY f.bias, m.params)) $$;
SELECT max(sc_step_residual(movie_id)) < 1e-3 AS normal_equations_hold FROM folded_movies('sc');
-- predict uses the folded factors; recommend can return a folded movie;
-- similar_movies works for it (brute force cosine over trained and folded factors)
SELECT abs(predict(5, 85, 'sc') - least(5, greatest(0.5,
         m.global_mean + u.bias + f.bias + (SELECT sum(a::float8 * b) FROM unnest(u.factors, f.factors) t(a, b)))))
       < 1e-5 AS predict_uses_fold_in
FROM models m, user_factors u, folded_movies('sc') f
WHERE m.model_name = 'sc' AND u.model_id = m.model_id AND u.user_id = 5 AND f.movie_id = 85;
SELECT count(DISTINCT r.movie_id) > 0 AS recommend_returns_folded
FROM generate_series(1, 150) u, recommend(u, 10, 'sc', exclude_rated => false) r
WHERE r.movie_id > 80;
SELECT count(*) AS rated_folded_excluded
FROM ratings x, recommend(x.user_id, 100, 'sc') r WHERE x.movie_id > 80 AND r.movie_id = x.movie_id;
CREATE TEMP TABLE sc_vec AS
  SELECT movie_id, factors FROM item_factors WHERE model_id = (SELECT model_id FROM models WHERE model_name = 'sc')
  UNION ALL SELECT movie_id, factors FROM folded_movies('sc');
SELECT (SELECT array_agg(movie_id ORDER BY rank) FROM similar_movies(85, 10, 'sc')) =
       (SELECT array_agg(movie_id ORDER BY c DESC, movie_id) FROM (
          SELECT b.movie_id, (SELECT sum(x::float8 * y) FROM unnest(a.factors, b.factors) t(x, y))
                 / sqrt((SELECT sum(x::float8 * x) FROM unnest(a.factors) x)
                        * (SELECT sum(y::float8 * y) FROM unnest(b.factors) y)) AS c
          FROM sc_vec a, sc_vec b WHERE a.movie_id = 85 AND b.movie_id <> 85
          ORDER BY c DESC, b.movie_id LIMIT 10) s) AS similar_to_folded;
-- a new rating of a folded movie refreshes it on the next call
INSERT INTO ratings (user_id, movie_id, rating, rated_at)
SELECT u, 85, 5, now() FROM generate_series(1, 150) u
WHERE NOT EXISTS (SELECT 1 FROM ratings WHERE user_id = u AND movie_id = 85) LIMIT 3;
SELECT n_ratings = (SELECT count(*) FROM ratings WHERE movie_id = 85) AS refreshed_on_new_rating
FROM folded_movies('sc') WHERE movie_id = 85;
-- fewer than the minimum: not folded
SET movierec.item_fold_in_min_ratings = 1000;
SELECT count(*) AS folded_with_min_1000 FROM folded_movies('sc');
SELECT path FROM movie_explain_path(85, 'sc');
RESET movierec.item_fold_in_min_ratings;

-- Folding in a trained movie reproduces the trainer: ALS ends each
-- iteration with the movie step, against the stored user factors.
SELECT train('all', 'als', '{"factors": 8, "iterations": 10}') > 0 AS trained_all;
CREATE TEMP TABLE sc_gone AS
  SELECT i.* FROM item_factors i JOIN models m USING (model_id) WHERE m.model_name = 'all' AND i.movie_id IN (5, 6, 7);
DELETE FROM item_factors i USING models m WHERE m.model_id = i.model_id AND m.model_name = 'all' AND i.movie_id IN (5, 6, 7);
SELECT count(*) AS refolded,
       max(abs(f.bias - g.bias)) < 1e-4 AS same_bias,
       max((SELECT max(abs(a - b)) FROM unnest(f.factors, g.factors) t(a, b))) < 1e-4 AS same_factors
FROM folded_movies('all') f JOIN sc_gone g USING (movie_id);
-- a baseline model (no factors): the folded bias is the closed form
-- b_i = sum(r - mu - b_u) / (reg_item_bias + n)
SELECT train('base', 'baseline', '{}', 'public.sc_train') > 0 AS trained_base;
SELECT max(abs(f.bias - s.b)) < 1e-5 AS baseline_closed_form, count(*) AS baseline_folded
FROM folded_movies('base') f,
     LATERAL (SELECT sum(r.rating - m.global_mean - u.bias) / ((m.params->>'reg_item_bias')::float8 + count(*)) AS b
              FROM ratings r, models m, user_factors u
              WHERE r.movie_id = f.movie_id AND m.model_name = 'base' AND u.model_id = m.model_id
                AND u.user_id = r.user_id GROUP BY m.params) s;

-- 3. every change of a rating is seen: insert, update up and down, delete.
-- After each, the user is folded in from the current ratings, and
-- recommend equals recommend_for_ratings over exactly those ratings.
CREATE FUNCTION public.sc_same(uid bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT (SELECT array_agg(movie_id::text || ':' || score ORDER BY rank) FROM movierec.recommend(uid, 10, 'all'))
       = (SELECT array_agg(movie_id::text || ':' || score ORDER BY rank)
            FROM movierec.recommend_for_ratings(
                   (SELECT array_agg(movie_id ORDER BY movie_id) FROM movierec.ratings WHERE user_id = uid),
                   (SELECT array_agg(rating ORDER BY movie_id) FROM movierec.ratings WHERE user_id = uid), 10, 'all')) $$;
CREATE FUNCTION public.sc_list(uid bigint) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT string_agg(movie_id::text || ':' || score, ',' ORDER BY rank) FROM movierec.recommend(uid, 10, 'all') $$;
CREATE TEMP TABLE sc_before AS SELECT sc_list(12) AS l;
SELECT path, sc_same(12) AS stored_equals_rfr FROM recommend_explain_path(12, 'all');  -- stored factors: close, not equal
SAVEPOINT s;
INSERT INTO ratings (user_id, movie_id, rating, rated_at)
SELECT 12, min(g), 5, '2001-01-01' FROM generate_series(1, 80) g
WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.user_id = 12 AND r.movie_id = g);
SELECT 'insert' AS change, path, sc_same(12) AS equals_rfr, sc_list(12) <> (SELECT l FROM sc_before) AS list_changed
FROM recommend_explain_path(12, 'all');
ROLLBACK TO SAVEPOINT s;
SELECT 'rolled back' AS change, path, sc_list(12) = (SELECT l FROM sc_before) AS list_as_before FROM recommend_explain_path(12, 'all');
UPDATE ratings SET rating = least(5, rating + 1) WHERE user_id = 12 AND movie_id = (SELECT min(movie_id) FROM ratings WHERE user_id = 12 AND rating < 5);
SELECT 'update up' AS change, path, sc_same(12) AS equals_rfr, sc_list(12) <> (SELECT l FROM sc_before) AS list_changed
FROM recommend_explain_path(12, 'all');
ROLLBACK TO SAVEPOINT s;
UPDATE ratings SET rating = 0.5 WHERE user_id = 12 AND movie_id = (SELECT min(movie_id) FROM ratings WHERE user_id = 12 AND rating > 0.5);
SELECT 'update down' AS change, path, sc_same(12) AS equals_rfr, sc_list(12) <> (SELECT l FROM sc_before) AS list_changed
FROM recommend_explain_path(12, 'all');
ROLLBACK TO SAVEPOINT s;
-- (a delete keeps rated_at from saying anything: only the log can see it)
DELETE FROM ratings WHERE user_id = 12 AND movie_id = (SELECT max(movie_id) FROM ratings WHERE user_id = 12);
SELECT 'delete' AS change, path, sc_same(12) AS equals_rfr, sc_list(12) <> (SELECT l FROM sc_before) AS list_changed
FROM recommend_explain_path(12, 'all');
DELETE FROM ratings WHERE user_id = 12;
SELECT 'delete all' AS change, path, regexp_replace(reason, 'model \d+', 'model N') AS reason FROM recommend_explain_path(12, 'all');
ROLLBACK TO SAVEPOINT s;
-- other users are untouched; fold_in off serves the stored factors
SELECT path FROM recommend_explain_path(13, 'all');
UPDATE ratings SET rating = 0.5 WHERE user_id = 12;
SET movierec.fold_in = off;
SELECT path FROM recommend_explain_path(12, 'all');
RESET movierec.fold_in;
ROLLBACK TO SAVEPOINT s;
-- the log: one row per changed user (0 = a truncate, here by generate_ratings)
SELECT count(*) FILTER (WHERE user_id = 0) AS truncate_marker FROM rating_changes;
-- writing ratings needs no right on the log
CREATE ROLE regress_sc_writer;
GRANT USAGE ON SCHEMA movierec TO regress_sc_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ratings TO regress_sc_writer;
SET ROLE regress_sc_writer;
INSERT INTO movierec.ratings (user_id, movie_id, rating) VALUES (777, 1, 4);
SELECT has_table_privilege('movierec.rating_changes', 'SELECT') AS writer_reads_log;
RESET ROLE;
SELECT count(*) AS logged FROM rating_changes WHERE user_id = 777;
ROLLBACK;
