-- Serving models trained on ml-latest-small (skipped without MovieLens):
-- recommend agrees with recommend_all, the fold-in of a training user
-- reproduces the trainer's user step, and rated movies never come back.
SET search_path TO movierec, public;
\getenv mldir MOVIELENS_DIR
BEGIN;
DO $$ BEGIN DELETE FROM movierec.ratings; DELETE FROM movierec.models; END $$;
SELECT ratings FROM load_movielens(:'mldir' || '/ml-latest-small');
SELECT train('als', 'als') > 0 AS als_trained, train('ials', 'ials') > 0 AS ials_trained;
SELECT path, count(*) AS users FROM generate_series(1, 610) u, recommend_explain_path(u, 'als') GROUP BY 1;
-- every user's recommend is exactly the precomputed list (movies, order
-- and scores), for the pruned scan (als) and for the full scan (ials, and
-- als with pruning off)
CREATE FUNCTION pg_temp.same_as_recommend(model text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FILTER (WHERE l = (SELECT array_agg(movie_id || ':' || score ORDER BY rank)
                                     FROM recommend(user_id, 10, model)))
  FROM (SELECT user_id, array_agg(movie_id || ':' || score ORDER BY rank) AS l
        FROM recommendations WHERE model_id = (SELECT model_id FROM models WHERE model_name = model)
        GROUP BY 1) s $$;
SELECT recommend_all('als', 10) AS rows_written, recommend_all('ials', 10) AS ials_rows;
SELECT pg_temp.same_as_recommend('als') AS als_users_equal, pg_temp.same_as_recommend('ials') AS ials_users_equal;
SET movierec.scan_prune = off;
SELECT recommend_all('als', 10) AS rows_written, pg_temp.same_as_recommend('als') AS users_equal_unpruned;
RESET movierec.scan_prune;
-- the full scan on two threads: the same lists
SET movierec.blas_threads = 2;
SET movierec.scan_prune = off;
SELECT recommend_all('als', 10) AS rows_written, pg_temp.same_as_recommend('als') AS als_two_threads,
       recommend_all('ials', 10) AS ials_rows, pg_temp.same_as_recommend('ials') AS ials_two_threads;
RESET movierec.scan_prune;
RESET movierec.blas_threads;
-- rated movies never appear
SELECT count(*) AS rated_recommended
FROM generate_series(1, 610) u, recommend(u, 50, 'als') r
WHERE EXISTS (SELECT 1 FROM ratings x WHERE x.user_id = u AND x.movie_id = r.movie_id);
-- folding a training user in from the same ratings gives the stored top 10
SELECT m, avg(ov) >= 0.95 AS fold_in_matches_training
FROM (SELECT m, u, (SELECT count(*) FROM recommend(u, 10, m) a
                    JOIN recommend_for_ratings(
                           (SELECT array_agg(movie_id) FROM ratings WHERE user_id = u),
                           (SELECT array_agg(rating) FROM ratings WHERE user_id = u), 10, m) b
                    USING (movie_id)) / 10.0 AS ov
      FROM generate_series(1, 610, 7) u, unnest(ARRAY['als', 'ials']) m) s
GROUP BY m ORDER BY m;
-- a new user: popularity, then personal after three ratings
SELECT path FROM recommend_explain_path(100000, 'als');
INSERT INTO ratings (user_id, movie_id, rating, rated_at)
VALUES (100000, 1, 5, now()), (100000, 3114, 5, now()), (100000, 78499, 4.5, now());
SELECT path FROM recommend_explain_path(100000, 'als');
SELECT (SELECT array_agg(movie_id ORDER BY rank) FROM recommend(100000, 10, 'als')) =
       (SELECT array_agg(movie_id ORDER BY rank) FROM recommend_for_ratings('{1, 3114, 78499}', '{5, 5, 4.5}', 10, 'als'))
         AS same_as_recommend_for_ratings;
ROLLBACK;
