-- Serving: recommend and friends against a small model written with SQL,
-- checked against brute force computed from the factor tables.
SET search_path TO movierec, public;
-- One transaction from an empty registry and rating table: the other
-- tests' rows come back with the ROLLBACK at the end.
BEGIN;
DO $$ BEGIN DELETE FROM movierec.ratings; DELETE FROM movierec.models; END $$;
-- ratings seen at training time (written before the model, which
-- records the snapshot it was trained under): each user rated 5 movies before 2020
INSERT INTO ratings (user_id, movie_id, rating, rated_at)
SELECT u, 3 * (1 + (u * 13 + j * 29) % 200), 1 + (u + j) % 5, '2019-06-01'
FROM generate_series(1, 40) u, generate_series(1, 5) j;
-- A 4-factor ALS model: 200 movies (ids 3, 6, ..., 600), 40 users.
INSERT INTO models (model_id, model_name, version, algorithm, params, source, n_users, n_movies,
                    n_factors, global_mean, created_at)
VALUES (1001, 'tiny', 1, 'als', '{"regularization": 0.1, "reg_user_bias": 0.1, "use_bias": true}',
        'movierec.ratings', 40, 200, 4, 3.5, '2020-01-01');
INSERT INTO item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating)
SELECT 1001, 3 * i, (0.3 * sin(i * 0.7))::real,
       ARRAY[sin(i * 1.1), cos(i * 1.7), sin(i * 2.3 + 1), cos(i * 0.37 + 2)]::real[],
       (i * 7) % 40, (3 + sin(i))::real
FROM generate_series(1, 200) i;
INSERT INTO user_factors (model_id, user_id, bias, factors)
SELECT 1001, u, (0.2 * cos(u))::real,
       ARRAY[cos(u * 0.9), sin(u * 1.3), cos(u * 2.9 + 1), sin(u * 0.53 + 2)]::real[]
FROM generate_series(1, 40) u;

-- Brute force from the tables: mu + b_u + b_i + p.q in double precision.
CREATE FUNCTION public.brute_topk(uid bigint, k int, excl boolean, among bigint[] DEFAULT NULL)
RETURNS bigint[] LANGUAGE sql STABLE AS $$
  SELECT array_agg(movie_id ORDER BY s DESC, movie_id) FROM (
    SELECT i.movie_id, m.global_mean + u.bias + i.bias
             + (SELECT sum(a::float8 * b) FROM unnest(u.factors, i.factors) t(a, b)) AS s
    FROM movierec.item_factors i
    JOIN movierec.user_factors u ON u.model_id = i.model_id AND u.user_id = uid
    JOIN movierec.models m ON m.model_id = i.model_id
    WHERE i.model_id = 1001
      AND (NOT excl OR NOT EXISTS (SELECT 1 FROM movierec.ratings r
                                   WHERE r.user_id = uid AND r.movie_id = i.movie_id))
      AND (among IS NULL OR i.movie_id = ANY (among))
    ORDER BY s DESC, i.movie_id LIMIT k) x $$;
CREATE FUNCTION public.rec_ids(uid bigint, k int, excl boolean DEFAULT true, among bigint[] DEFAULT NULL)
RETURNS bigint[] LANGUAGE sql STABLE AS $$
  SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend(uid, k, 'tiny', excl, among) $$;

SELECT movie_id, round(score::numeric, 4) AS score, rank FROM recommend(7, 5, 'tiny');
SELECT * FROM recommend_explain_path(7, 'tiny');
-- recommend equals brute force for every user: ids and order
SELECT count(*) AS users, count(*) FILTER (WHERE rec_ids(u, 10) = brute_topk(u, 10, true)) AS equal_top10,
       count(*) FILTER (WHERE rec_ids(u, 200, false) = brute_topk(u, 200, false)) AS equal_full_order
FROM generate_series(1, 40) u;
-- scores are the predicted ratings (float rounding aside)
SELECT max(abs(r.score - (m.global_mean + uf.bias + i.bias
         + (SELECT sum(a::float8 * b) FROM unnest(uf.factors, i.factors) t(a, b))))) < 1e-5 AS scores_match
FROM generate_series(1, 40) u, recommend(u, 10, 'tiny') r, item_factors i, models m, user_factors uf
WHERE i.model_id = 1001 AND i.movie_id = r.movie_id AND m.model_id = 1001
  AND uf.model_id = 1001 AND uf.user_id = u;
-- excluded movies never appear, with any k
SELECT count(*) AS rated_in_results
FROM generate_series(1, 40) u, recommend(u, 200, 'tiny') r
WHERE EXISTS (SELECT 1 FROM ratings x WHERE x.user_id = u AND x.movie_id = r.movie_id);
SELECT count(*) AS results_per_user_without_rated FROM recommend(7, 10000, 'tiny');
-- among: the exact top k of the subset (unknown ids and duplicates ignored)
SELECT count(*) FILTER (WHERE rec_ids(u, 5, true, a) = brute_topk(u, 5, true, a)) AS equal_among
FROM generate_series(1, 40) u,
     LATERAL (SELECT array_agg(3 * g) || ARRAY[999999, 3 * u, 3 * u]::bigint[] AS a
              FROM generate_series(u, 200, 7) g) s;
SELECT movie_id, round(score::numeric, 4) AS score, rank FROM recommend(7, 10, 'tiny', among => ARRAY[30, 60, 90, 1]);
SELECT count(*) AS empty_among FROM recommend(7, 10, 'tiny', among => '{}');

-- predict: clipped to the rating scale
SELECT predict(7, 465, 'tiny') AS clipped_high, round(predict(7, 9, 'tiny')::numeric, 4) AS inside;
SELECT abs(predict(7, 9, 'tiny') - (SELECT score FROM recommend(7, 200, 'tiny', false) WHERE movie_id = 9)) < 1e-5 AS predict_is_score;
-- a movie the model lacks: global mean + user bias, clipped, as evaluate() predicts it
SELECT predict(7, 4, 'tiny') = (SELECT least(5, greatest(0.5, 3.5 + bias))::real
                                FROM user_factors WHERE model_id = 1001 AND user_id = 7) AS unknown_movie_user_bias,
       predict(123456, 4, 'tiny') AS unknown_movie_unknown_user;

-- similar_movies: cosine of item factors, the movie itself excluded
SELECT movie_id, round(similarity::numeric, 4) AS similarity, rank FROM similar_movies(6, 3, 'tiny');
SELECT (SELECT array_agg(movie_id ORDER BY rank) FROM similar_movies(6, 10, 'tiny')) =
       (SELECT array_agg(movie_id ORDER BY c DESC, movie_id) FROM (
          SELECT b.movie_id, (SELECT sum(x::float8 * y) FROM unnest(a.factors, b.factors) t(x, y))
                 / sqrt((SELECT sum(x::float8 * x) FROM unnest(a.factors) x)
                        * (SELECT sum(y::float8 * y) FROM unnest(b.factors) y)) AS c
          FROM item_factors a JOIN item_factors b ON b.model_id = a.model_id AND b.movie_id <> a.movie_id
          WHERE a.model_id = 1001 AND a.movie_id = 6 ORDER BY c DESC, b.movie_id LIMIT 10) s) AS similar_is_brute_force;

-- A new user: popularity, then folded in from the ratings just inserted.
SELECT * FROM recommend_explain_path(500, 'tiny');
SELECT (SELECT array_agg(movie_id ORDER BY rank) FROM recommend(500, 5, 'tiny')) =
       (SELECT array_agg(movie_id ORDER BY d DESC, movie_id) FROM (
          SELECT movie_id, (n_ratings * mean_rating + 10 * 3.5) / (n_ratings + 10) AS d
          FROM item_factors WHERE model_id = 1001 AND n_ratings >= 10
          ORDER BY d DESC, movie_id LIMIT 5) s) AS popularity_is_damped_mean;
SELECT count(*) AS rated_below_min_count FROM recommend(500, 10000, 'tiny') r
JOIN item_factors i ON i.model_id = 1001 AND i.movie_id = r.movie_id WHERE i.n_ratings < 10;
CREATE TEMP TABLE before AS SELECT rec_ids(500, 10) AS ids;
INSERT INTO ratings (user_id, movie_id, rating, rated_at)
VALUES (500, 30, 5, now()), (500, 66, 1, now()), (500, 120, 4.5, now()), (500, 999999, 3, now());
SELECT * FROM recommend_explain_path(500, 'tiny');
SELECT rec_ids(500, 10) <> (SELECT ids FROM before) AS changed_at_once,
       rec_ids(500, 10) = (SELECT array_agg(movie_id ORDER BY rank)
                           FROM recommend_for_ratings('{30, 66, 120, 999999}', '{5, 1, 4.5, 3}', 10, 'tiny'))
         AS equals_recommend_for_ratings;
SELECT (SELECT array_agg(score ORDER BY rank) FROM recommend(500, 10, 'tiny')) =
       (SELECT array_agg(score ORDER BY rank)
        FROM recommend_for_ratings('{120, 30, 66}', '{4.5, 5, 1}', 10, 'tiny')) AS same_scores_any_order;
SELECT count(*) AS rated_in_fold_in FROM recommend(500, 10000, 'tiny') WHERE movie_id IN (30, 66, 120);
-- explain: the contributions add up to the user part of the fold-in score
SELECT rated_movie_id, round(contribution::numeric, 4) AS contribution FROM explain(500, 300, 'tiny');
SELECT abs((SELECT sum(contribution) FROM explain(500, 300, 'tiny', 100))
           + 3.5 + (SELECT bias FROM item_factors WHERE model_id = 1001 AND movie_id = 300)
           - (SELECT score FROM recommend(500, 200, 'tiny') WHERE movie_id = 300)) < 1e-4 AS explain_sums_to_score;
SELECT count(*) AS explain_new_user_without_ratings FROM explain(501, 300, 'tiny');

-- A known user rating after training is folded in; fold_in off serves the stored factors.
-- (In a savepoint: rolled back, the changes are gone, and so is the fold-in.)
SAVEPOINT changes;
INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES (7, 465, 0.5, now());
SELECT path FROM recommend_explain_path(7, 'tiny');
SELECT rec_ids(7, 10) <> brute_topk(7, 10, true) AS fold_in_changed_user_7;
SET movierec.fold_in = off;
SELECT * FROM recommend_explain_path(7, 'tiny');
SELECT rec_ids(7, 10) = brute_topk(7, 10, true) AS stored_factors_when_off;
SELECT path FROM recommend_explain_path(500, 'tiny');
RESET movierec.fold_in;
DELETE FROM ratings WHERE user_id = 7 AND movie_id = 465;
-- a rating without rated_at cannot be placed before training: folded in
INSERT INTO ratings (user_id, movie_id, rating) VALUES (8, 465, 4);
SELECT path FROM recommend_explain_path(8, 'tiny');
DELETE FROM ratings WHERE user_id = 8 AND movie_id = 465;
SELECT path FROM recommend_explain_path(8, 'tiny');
ROLLBACK TO SAVEPOINT changes;
SELECT path FROM recommend_explain_path(8, 'tiny') AS after_rollback;

-- recommend_all: every stored user's top k, the same as recommend
SELECT recommend_all('tiny', 10) AS rows_written;
SELECT count(*) FILTER (WHERE l = rec_ids(u, 10)) AS users_equal_to_recommend
FROM (SELECT user_id AS u, array_agg(movie_id ORDER BY rank) AS l
      FROM recommendations WHERE model_id = 1001 GROUP BY user_id) s;
SELECT recommend_all('tiny', 3) AS rows_replaced;
SELECT count(*) AS rows_now, max(rank) AS max_rank FROM recommendations;

-- Which model: a name (production version, else newest), an id, or NULL.
INSERT INTO models (model_id, model_name, version, algorithm, source, n_factors, global_mean, created_at)
VALUES (1002, 'pop', 1, 'popularity', 'movierec.ratings', 0, 3.5, '2021-01-01');
INSERT INTO item_factors (model_id, movie_id, bias, n_ratings, mean_rating)
SELECT 1002, movie_id, bias, n_ratings, mean_rating FROM item_factors WHERE model_id = 1001;
SELECT path, reason FROM recommend_explain_path(7);
SELECT path FROM recommend_explain_path(7, '1001');
UPDATE models SET stage = 'production' WHERE model_id = 1001;
SELECT path, reason FROM recommend_explain_path(7);
-- two names in production: the latest promotion wins, then the newest
INSERT INTO models (model_id, model_name, version, algorithm, source, n_factors, global_mean, stage, created_at)
VALUES (1004, 'pop2', 1, 'popularity', 'movierec.ratings', 0, 3.5, 'production', '2022-01-01');
INSERT INTO item_factors (model_id, movie_id, bias, n_ratings, mean_rating)
SELECT 1004, movie_id, bias, n_ratings, mean_rating FROM item_factors WHERE model_id = 1001;
SELECT reason FROM recommend_explain_path(7);
INSERT INTO deployments (model_name, action, to_model_id, reason) VALUES ('tiny', 'promote', 1001, 'test');
UPDATE models SET stage = 'production' WHERE model_id = 1001;  -- as promote() does
SELECT reason FROM recommend_explain_path(7);
DELETE FROM models WHERE model_id = 1004;
-- A bias-only (baseline) model: no factors; fold-in solves the user bias
-- alone, b_u = sum(r - mu - b_i) / (reg_user_bias + n), as the kernel does.
INSERT INTO models (model_id, model_name, version, algorithm, params, source, n_factors, global_mean, created_at)
VALUES (1005, 'base', 1, 'baseline', '{"reg_user_bias": 15, "reg_item_bias": 10}', 'movierec.ratings', 0, 3.5, '2020-01-01');
INSERT INTO item_factors (model_id, movie_id, bias, n_ratings, mean_rating)
SELECT 1005, movie_id, bias, n_ratings, mean_rating FROM item_factors WHERE model_id = 1001;
INSERT INTO user_factors (model_id, user_id, bias) SELECT 1005, user_id, bias FROM user_factors WHERE model_id = 1001;
SELECT (SELECT array_agg(movie_id ORDER BY rank) FROM recommend(7, 10, 'base')) =
       (SELECT array_agg(movie_id ORDER BY bias DESC, movie_id) FROM (
          SELECT movie_id, bias FROM item_factors i WHERE model_id = 1005
             AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.user_id = 7 AND r.movie_id = i.movie_id)
          ORDER BY bias DESC, movie_id LIMIT 10) s) AS baseline_model_path;
SELECT path FROM recommend_explain_path(500, 'base');
SELECT abs(predict(500, 3, 'base') -
           (3.5 + (SELECT bias FROM item_factors WHERE model_id = 1005 AND movie_id = 3)
            + (SELECT sum(r.rating - 3.5 - i.bias) / (15 + count(*))
               FROM ratings r JOIN item_factors i ON i.model_id = 1005 AND i.movie_id = r.movie_id
               WHERE r.user_id = 500))) < 1e-5 AS baseline_fold_in_closed_form;
SELECT recommend_all('base', 2) AS baseline_rows;
DELETE FROM models WHERE model_id = 1005;

-- Bad input: each error has a code, a message and a hint.
CREATE FUNCTION public.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    code text; msg text; hint text;
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN code || ' ' || msg || ' | hint: ' || hint;
END $$;
SELECT err(q) FROM (VALUES
  ($$SELECT * FROM recommend(7, 10, 'no_such_model')$$),
  ($$SELECT * FROM recommend(7, 10, '424242')$$),
  ($$SELECT * FROM recommend(7, 0)$$),
  ($$SELECT * FROM recommend(7, 10001)$$),
  ($$SELECT * FROM recommend(7, -5, 'tiny')$$),
  ($$SELECT * FROM recommend(7, NULL)$$),
  ($$SELECT * FROM explain(7, 4, 'tiny')$$),
  ($$SELECT * FROM explain(7, 6, 'tiny', 0)$$),
  ($$SELECT * FROM similar_movies(4, 10, 'tiny')$$),
  ($$SELECT * FROM similar_movies(6, 10, 'pop')$$),
  ($$SELECT * FROM similar_movies(6, 0, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings('{3, 6}', '{4}', 10, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings('{3, 6}', '{4, NaN}', 10, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings('{3, 6}', '{4, 7}', 10, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings('{3, 6}', '{4, 0}', 10, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings('{3, 3}', '{4, 5}', 10, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings('{3, NULL}', '{4, 5}', 10, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings(NULL, '{4, 5}', 10, 'tiny')$$),
  ($$SELECT * FROM recommend_for_ratings('{3}', '{4}', 10001, 'tiny')$$),
  ($$SELECT recommend_all('pop')$$),
  ($$SELECT recommend_all('tiny', 0)$$),
  ($$SELECT movierec.serve_invalidate()$$)) t(q);
-- privileges: the tables read directly need SELECT too
CREATE ROLE regress_serve_reader;
GRANT USAGE ON SCHEMA movierec TO regress_serve_reader;
GRANT SELECT ON models, item_factors TO regress_serve_reader;
SET ROLE regress_serve_reader;
SELECT err($$SELECT * FROM movierec.recommend(7, 3, 'tiny')$$);
RESET ROLE;
GRANT SELECT ON ratings TO regress_serve_reader;
SET ROLE regress_serve_reader;
SELECT err($$SELECT * FROM movierec.recommend(7, 3, 'tiny')$$);
RESET ROLE;
GRANT SELECT ON user_factors TO regress_serve_reader;
SET ROLE regress_serve_reader;
SELECT err($$SELECT count(*) FROM movierec.recommend(7, 3, 'tiny')$$);
RESET ROLE;
-- errors change nothing
SELECT count(*) AS rows_kept FROM recommendations WHERE model_id = 1001;
-- A null user gives an empty result; an unknown user gets popularity.
SELECT count(*) AS null_user FROM recommend(NULL, 10, 'tiny');
SELECT predict(NULL, 6, 'tiny') IS NULL AS null_predict;
SELECT count(*) AS unknown_user FROM recommend(123456, 10, 'tiny');
DELETE FROM models WHERE model_id = 1002;
-- a model without movies is not servable
INSERT INTO models (model_id, model_name, version, algorithm, source) VALUES (1003, 'empty', 1, 'als', 'x');
SELECT err($$SELECT * FROM recommend(1, 10, 'empty')$$);
-- dropping a model drops its precomputed lists
SELECT count(*) AS recommendations_before_drop FROM recommendations;
DELETE FROM models WHERE model_id IN (1001, 1003);
SELECT count(*) AS recommendations_left FROM recommendations;
SELECT err($$SELECT * FROM recommend(1)$$);
ROLLBACK;
