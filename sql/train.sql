SET search_path TO movierec, public;
-- movierec.train(): arguments, bad input, versions, stored params,
-- determinism and drop_model().  Data: a small synthetic rating table.
CREATE TABLE tr_ratings AS
  SELECT u AS user_id, i AS movie_id,
         (1 + (u * 7 + i * 3) % 5)::real AS rating
  FROM generate_series(1, 60) u, generate_series(1, 40) i
  WHERE (u + i) % 3 = 0;
CREATE TABLE tr_nan (LIKE tr_ratings);
INSERT INTO tr_nan VALUES (1, 1, 4), (2, 1, 'NaN');
CREATE TABLE tr_null (LIKE tr_ratings);
INSERT INTO tr_null VALUES (1, 1, 4), (NULL, 2, 3);
CREATE TABLE tr_dup (LIKE tr_ratings);
INSERT INTO tr_dup VALUES (1, 1, 4), (1, 1, 3);
CREATE TABLE tr_empty (LIKE tr_ratings);
CREATE TABLE tr_types (uid text, mid int, stars text, score numeric);
INSERT INTO tr_types VALUES ('1', 1, '4', 4.5);
CREATE SEQUENCE tr_seq;

-- bad input: each an error with a hint, and no model appears
SELECT count(*) AS models_before FROM models \gset
SELECT train('bad', 'knn', '{}', 'tr_ratings');
SELECT train('', 'als', '{}', 'tr_ratings');
SELECT train(NULL, 'als', '{}', 'tr_ratings');
SELECT train('bad', 'als', '{"factors": 0}', 'tr_ratings');
SELECT train('bad', 'als', '{"factors": -3}', 'tr_ratings');
SELECT train('bad', 'als', '{"factors": 2.5}', 'tr_ratings');
SELECT train('bad', 'als', '{"factors": "64"}', 'tr_ratings');
SELECT train('bad', 'als', '{"iterations": 0}', 'tr_ratings');
SELECT train('bad', 'als', '{"regularization": -1}', 'tr_ratings');
SELECT train('bad', 'svd', '{"learning_rate": 0}', 'tr_ratings');
SELECT train('bad', 'als', '{"use_bias": 1}', 'tr_ratings');
SELECT train('bad', 'als', '{"seed": -1}', 'tr_ratings');
SELECT train('bad', 'als', '{"seed": 9223372036854775808}', 'tr_ratings');
SELECT train('bad', 'als', '{"factor": 8}', 'tr_ratings');
SELECT train('bad', 'baseline', '{"factors": 8}', 'tr_ratings');
SELECT train('bad', 'popularity', '{"alpha": 1}', 'tr_ratings');
SELECT train('bad', 'als', '[1, 2]', 'tr_ratings');
SELECT train('bad', 'als', '{}', 'no_such_table');
SELECT train('bad', 'als', '{}', 'tr_seq');
SELECT train('bad', 'als', '{}', 'tr_ratings', user_col => 'uid');
SELECT train('bad', 'als', '{}', 'tr_ratings', rating_col => 'ctid');
SELECT train('bad', 'als', '{}', 'tr_types', user_col => 'uid', item_col => 'mid', rating_col => 'score');
SELECT train('bad', 'als', '{}', 'tr_types', user_col => 'mid', item_col => 'mid', rating_col => 'stars');
SELECT train('bad', 'als', '{}', 'tr_empty');
SELECT train('bad', 'als', '{}', 'tr_nan');
SELECT train('bad', 'als', '{}', 'tr_null');
SELECT train('bad', 'als', '{}', 'tr_dup');
BEGIN READ ONLY;
SELECT train('bad', 'popularity', '{}', 'tr_ratings');
ROLLBACK;
SET movierec.max_train_memory = 1;
SELECT train('bad', 'als', '{"factors": 1024}', 'tr_ratings');
CREATE TABLE tr_big AS SELECT u AS user_id, i AS movie_id, 3::real AS rating
  FROM generate_series(1, 300) u, generate_series(1, 300) i;
ANALYZE tr_big;
SELECT train('bad', 'popularity', '{}', 'tr_big');
RESET movierec.max_train_memory;
SELECT count(*) - :models_before AS new_models FROM models;
-- the largest seed is valid
SELECT train('tr_maxseed', 'popularity', '{"seed": 9223372036854775807}', 'tr_ratings') AS maxseed_id \gset
SELECT params->>'seed' AS max_seed FROM models WHERE model_id = :maxseed_id;

DROP TABLE tr_big;

-- every algorithm trains with its defaults; k is 0 for bias-only models
SELECT train('tr_pop', 'popularity', '{}', 'tr_ratings') > 0 AS pop,
       train('tr_base', 'baseline', '{}', 'tr_ratings') > 0 AS base,
       train('tr_als', 'als', '{"factors": 8, "iterations": 3}', 'tr_ratings') > 0 AS als,
       train('tr_svd', 'svd', '{"factors": 8, "iterations": 3}', 'tr_ratings') > 0 AS svd,
       train('tr_ials', 'ials', '{"factors": 8, "iterations": 3}', 'tr_ratings') > 0 AS ials;
SELECT model_name, version, algorithm, source, user_col, item_col, rating_col,
       n_users, n_movies, n_ratings, n_factors, rating_min, rating_max, stage,
       CASE WHEN algorithm <> 'ials'
            THEN abs(global_mean - (SELECT avg(rating) FROM tr_ratings)) < 1e-5 END AS mean_ok,
       train_seconds >= 0 AND read_seconds >= 0 AS timed,
       peak_memory_bytes > 0 AS peak_known
FROM models WHERE model_name LIKE 'tr\_%' ORDER BY model_id;

-- the stored params are resolved: every key of the algorithm, defaults filled in
-- (default_params() gives the same jsonb for '{}'; the values are the kernels')
SELECT model_name, algorithm,
       params = default_params(algorithm)
                || CASE WHEN algorithm IN ('als', 'svd', 'ials')
                        THEN '{"factors": 8, "iterations": 3}'::jsonb ELSE '{}' END
                || CASE WHEN model_name = 'tr_maxseed'
                        THEN '{"seed": 9223372036854775807}'::jsonb ELSE '{}' END AS resolved,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(params) k) AS keys
FROM models WHERE model_name LIKE 'tr\_%' ORDER BY model_id;
SELECT params->>'factors' AS factors, params->>'iterations' AS iterations,
       params->>'seed' AS seed, params->>'threads' AS threads
FROM models WHERE model_name = 'tr_als';
SET movierec.train_threads = 1;
SELECT default_params('baseline')->'threads' AS threads_follow_setting;
RESET movierec.train_threads;
SELECT default_params('knn');

-- factor rows: one per user and movie, k reals each, counts and means from the data
SELECT m.model_name,
       (SELECT count(*) FROM user_factors u WHERE u.model_id = m.model_id) AS users,
       (SELECT count(*) FROM item_factors i WHERE i.model_id = m.model_id) AS items,
       (SELECT bool_and(coalesce(array_length(factors, 1), 0) = m.n_factors)
          FROM item_factors i WHERE i.model_id = m.model_id) AS item_k_ok,
       (SELECT bool_and(coalesce(array_length(factors, 1), 0) = m.n_factors)
          FROM user_factors u WHERE u.model_id = m.model_id) AS user_k_ok
FROM models m WHERE model_name LIKE 'tr\_%' ORDER BY model_id;
SELECT bool_and(f.n_ratings = t.n AND abs(f.mean_rating - t.mean) < 1e-5) AS item_stats_ok
FROM item_factors f
JOIN (SELECT movie_id, count(*) AS n, avg(rating) AS mean FROM tr_ratings GROUP BY movie_id) t
  USING (movie_id)
WHERE f.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als');
SELECT bool_and(f.n_ratings = t.n) AS user_counts_ok
FROM user_factors f
JOIN (SELECT user_id, count(*) AS n FROM tr_ratings GROUP BY user_id) t USING (user_id)
WHERE f.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als');

-- a name trained again gets the next version
SELECT train('tr_als', 'als', '{"factors": 8, "iterations": 3}', 'tr_ratings') > 0 AS again;
SELECT model_name, version FROM models WHERE model_name = 'tr_als' ORDER BY version;

-- same seed, same data: bitwise-identical factors (text output of real is exact)
SELECT count(*) AS differing_items
FROM item_factors a JOIN item_factors b USING (movie_id)
WHERE a.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als' AND version = 1)
  AND b.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als' AND version = 2)
  AND (a.factors::text <> b.factors::text OR a.bias::text <> b.bias::text);
SELECT count(*) AS differing_users
FROM user_factors a JOIN user_factors b USING (user_id)
WHERE a.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als' AND version = 1)
  AND b.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als' AND version = 2)
  AND (a.factors::text <> b.factors::text OR a.bias::text <> b.bias::text);
-- a different seed gives different factors
SELECT train('tr_seed', 'als', '{"factors": 8, "iterations": 3, "seed": 7}', 'tr_ratings') > 0 AS seeded;
SELECT count(*) > 0 AS seed_matters
FROM item_factors a JOIN item_factors b USING (movie_id)
WHERE a.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als' AND version = 1)
  AND b.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_seed')
  AND a.factors <> b.factors;
-- the thread count does not change the result
SELECT train('tr_one', 'als', '{"factors": 8, "iterations": 3, "threads": 1}', 'tr_ratings') > 0 AS one_thread;
SELECT count(*) AS differing_with_one_thread
FROM item_factors a JOIN item_factors b USING (movie_id)
WHERE a.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_als' AND version = 1)
  AND b.model_id = (SELECT model_id FROM models WHERE model_name = 'tr_one')
  AND a.factors::text <> b.factors::text;

-- views, other integer and numeric types, named columns
CREATE VIEW tr_view AS
  SELECT user_id::smallint AS who, movie_id::bigint AS what, rating::numeric AS stars
  FROM tr_ratings WHERE user_id <= 30;
SELECT train('tr_view', 'baseline', '{}', 'tr_view', 'who', 'what', 'stars') > 0 AS from_view;
SELECT source, user_col, item_col, rating_col, n_users, n_ratings
FROM models WHERE model_name = 'tr_view';

-- verbose: one NOTICE per iteration
-- (VERBOSE is an SQL keyword: the setting's name is quoted in SET and SHOW)
SET movierec."verbose" = on;
SELECT train('tr_verbose', 'baseline', '{"iterations": 2}', 'tr_ratings') > 0 AS verbose;
RESET movierec."verbose";

-- an aborted transaction leaves no model
BEGIN;
SELECT train('tr_rollback', 'popularity', '{}', 'tr_ratings') > 0 AS trained;
ROLLBACK;
SELECT count(*) AS rolled_back FROM models WHERE model_name = 'tr_rollback';

-- drop_model removes the model and its rows
SELECT model_id AS dropped FROM models WHERE model_name = 'tr_seed' \gset
SELECT drop_model(:dropped);
SELECT (SELECT count(*) FROM models WHERE model_id = :dropped) AS models,
       (SELECT count(*) FROM user_factors WHERE model_id = :dropped) AS users,
       (SELECT count(*) FROM item_factors WHERE model_id = :dropped) AS items;
SELECT drop_model(-1);
SELECT drop_model(NULL);

-- privileges: writing the model needs INSERT on the model tables, and
-- the direct scan checks SELECT on the source itself
CREATE ROLE regress_tr_user;
GRANT USAGE ON SCHEMA movierec TO regress_tr_user;
-- train() is administrative (not open to PUBLIC); granted EXECUTE, the
-- table rights still decide
SET ROLE regress_tr_user;
SELECT train('tr_priv', 'popularity', '{}', 'tr_ratings');
RESET ROLE;
GRANT EXECUTE ON FUNCTION train(text, text, jsonb, regclass, name, name, name) TO regress_tr_user;
SET ROLE regress_tr_user;
SELECT train('tr_priv', 'popularity', '{}', 'tr_ratings');
RESET ROLE;
GRANT SELECT, INSERT ON models, user_factors, item_factors TO regress_tr_user;
GRANT USAGE ON SEQUENCE models_model_id_seq TO regress_tr_user;
SET ROLE regress_tr_user;
SELECT train('tr_priv', 'popularity', '{}', 'tr_ratings');
RESET ROLE;
GRANT SELECT ON tr_ratings TO regress_tr_user;
SET ROLE regress_tr_user;
SELECT train('tr_priv', 'popularity', '{}', 'tr_ratings') > 0 AS granted;
RESET ROLE;
SELECT created_by FROM models WHERE model_name = 'tr_priv';
REVOKE ALL ON tr_ratings, models, user_factors, item_factors, models_model_id_seq
  FROM regress_tr_user;
REVOKE ALL ON SCHEMA movierec FROM regress_tr_user;
REVOKE ALL ON FUNCTION train(text, text, jsonb, regclass, name, name, name) FROM regress_tr_user;
DROP ROLE regress_tr_user;

-- settings
SHOW movierec.max_train_memory;
SHOW movierec.train_threads;
SHOW movierec."verbose";
SET movierec.train_threads = 0;
