-- movierec.scan_kernel: build_info() names the variant in use; every
-- variant this CPU has can be forced and gives the same recommendations;
-- an unknown one or one the CPU lacks is refused.
SET search_path TO movierec, public;
SELECT build_info()->>'scan_kernel' IN ('avx512bf16', 'avx512f', 'avx2', 'neon', 'portable') AS auto_is_a_variant;
SELECT build_info()->>'scan_kernel' AS auto_kernel \gset
-- build_info()->'scan_kernels' lists the variants this CPU supports: the
-- one in use and portable among them, nothing else
SELECT build_info()->'scan_kernels' ? :'auto_kernel' AS lists_auto,
       build_info()->'scan_kernels' ? 'portable' AS lists_portable,
       (SELECT bool_and(v IN ('avx512bf16', 'avx512f', 'avx2', 'neon', 'portable'))
        FROM jsonb_array_elements_text(build_info()->'scan_kernels') v) AS only_variants;
SHOW movierec.scan_kernel;
SET movierec.scan_kernel = 'portable';
SELECT build_info()->>'scan_kernel' AS forced;
RESET movierec.scan_kernel;
SELECT build_info()->>'scan_kernel' = :'auto_kernel' AS reset_goes_back_to_auto;
SET movierec.scan_kernel = 'sse9';
-- neon on x86 (this test's machines): refused, with a hint listing what the
-- CPU has (not shown here: it depends on the CPU)
\set VERBOSITY terse
SET movierec.scan_kernel = 'neon';
\set VERBOSITY default
DO $$
DECLARE h text;
BEGIN
  SET movierec.scan_kernel = 'neon';
EXCEPTION WHEN invalid_parameter_value THEN
  GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
  RAISE NOTICE 'hint names the supported variants: %', h LIKE 'This CPU supports: %portable. Use ''auto'' for the best of them.';
END $$;
SHOW movierec.scan_kernel;

BEGIN;
DO $$ BEGIN DELETE FROM movierec.ratings; DELETE FROM movierec.models; END $$;
-- 3,001 movies (not a multiple of the 16-movie panel) x 15 factors (odd),
-- lengths falling off like trained factors' (so that the norm-ordered scan
-- pays), a few long item vectors and some exact ties
-- the ratings first: a model is trained on the ratings that exist before it
INSERT INTO ratings (user_id, movie_id, rating, rated_at)
SELECT u, 1 + (u * 13 + j * 29) % 3001, 1 + (u + j) % 5, '2019-06-01'
FROM generate_series(1, 30) u, generate_series(1, 5) j;
INSERT INTO models (model_id, model_name, version, algorithm, params, source, n_users, n_movies,
                    n_factors, global_mean, created_at)
VALUES (1101, 'kern', 1, 'als', '{"regularization": 0.1, "reg_user_bias": 0.1, "use_bias": true}',
        'movierec.ratings', 30, 3001, 15, 3.5, '2020-01-01');
INSERT INTO item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating)
SELECT 1101, i, CASE WHEN i % 500 = 0 THEN 0.5 ELSE (0.3 * sin(i * 0.7))::real END,
       (SELECT array_agg(CASE WHEN i % 500 = 0 THEN 0.2
                              ELSE (CASE WHEN i % 97 = 0 THEN 8 ELSE 1 END) * sin(i * f * 0.37 + f)
                                   * 3.0 / (1 + ((i * 7919) % 3001) / 50.0) END::real ORDER BY f)
        FROM generate_series(1, 15) f),
       10, 3.5
FROM generate_series(1, 3001) i;
INSERT INTO user_factors (model_id, user_id, bias, factors)
SELECT 1101, u, (0.2 * cos(u))::real,
       (SELECT array_agg(cos(u * f * 0.91 + f)::real ORDER BY f) FROM generate_series(1, 15) f)
FROM generate_series(1, 30) u;

-- the first call builds the pruning index and says whether it pays here
SET client_min_messages = debug1;
SELECT count(*) FROM recommend(1, 10, 'kern');
RESET client_min_messages;
-- recommend under every variant this CPU has equals the portable result
CREATE FUNCTION pg_temp.recs(v text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('movierec.scan_kernel', v, true);
  SELECT string_agg(u || ':' || x.movie_id || ':' || x.score, ',' ORDER BY u, x.rank) INTO r
  FROM generate_series(1, 30) u, movierec.recommend(u, 25, 'kern') x;
  RETURN r;
END $$;
SELECT bool_and(pg_temp.recs(v) = pg_temp.recs('portable')) AS same_recommendations
FROM jsonb_array_elements_text(build_info()->'scan_kernels') v;
-- the norm-ordered scan (movierec.scan_prune, on by default) is used for
-- this model and gives the same lists as the full scan, for any k
CREATE FUNCTION pg_temp.recs_k(prune boolean, k int, excl boolean, model text DEFAULT 'kern') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('movierec.scan_prune', prune::text, true);
  SELECT string_agg(u || ':' || x.movie_id || ':' || x.score, ',' ORDER BY u, x.rank) INTO r
  FROM generate_series(1, 30) u, movierec.recommend(u, k, model, excl) x;
  RETURN r;
END $$;
SELECT bool_and(pg_temp.recs_k(true, k, e) = pg_temp.recs_k(false, k, e)) AS pruned_equals_full_scan
FROM unnest(ARRAY[1, 10, 100, 3001]) k, unnest(ARRAY[true, false]) e;
-- and equal to brute force in double precision (ids and order)
SET movierec.scan_kernel = 'portable';
SELECT count(*) FILTER (WHERE (SELECT array_agg(movie_id ORDER BY rank) FROM recommend(u, 10, 'kern')) =
       (SELECT array_agg(movie_id ORDER BY s DESC, movie_id) FROM (
          SELECT i.movie_id, i.bias + (SELECT sum(a::float8 * b) FROM unnest(uf.factors, i.factors) t(a, b)) s
          FROM item_factors i, user_factors uf
          WHERE i.model_id = 1101 AND uf.model_id = 1101 AND uf.user_id = u
            AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.user_id = u AND r.movie_id = i.movie_id)
          ORDER BY s DESC, i.movie_id LIMIT 10) b)) AS users_equal_to_brute_force
FROM generate_series(1, 30) u;
-- similar_movies runs on the same kernels (the int8 pass over unit
-- vectors, then exact rescoring): the same ids and scores under every
-- variant, for movies with long, short and identical vectors (i % 500 = 0)
CREATE FUNCTION pg_temp.sims(v text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('movierec.scan_kernel', v, true);
  SELECT string_agg(i || ':' || x.movie_id || ':' || x.similarity, ',' ORDER BY i, x.rank) INTO r
  FROM unnest(ARRAY[1, 2, 97, 500, 1000, 1234, 2999, 3001]) i, movierec.similar_movies(i, 25, 'kern') x;
  RETURN r;
END $$;
SELECT bool_and(pg_temp.sims(v) = pg_temp.sims('portable')) AS same_similar_movies
FROM jsonb_array_elements_text(build_info()->'scan_kernels') v;
-- and equal to the cosine in double precision: the same ids in the same
-- order, every similarity within 1e-6, ties (the identical vectors) by
-- smaller movie_id
SELECT count(*) FILTER (WHERE got.ids = want.ids AND
                              (SELECT bool_and(abs(g - w) < 1e-6) FROM unnest(got.s, want.s) t(g, w)))
       AS movies_equal_to_brute_force
FROM unnest(ARRAY[1, 2, 97, 500, 1000, 1234, 2999, 3001]) i,
LATERAL (SELECT array_agg(movie_id ORDER BY rank) ids, array_agg(similarity ORDER BY rank) s
         FROM similar_movies(i, 10, 'kern')) got,
LATERAL (SELECT array_agg(movie_id ORDER BY c DESC, movie_id) ids, array_agg(c ORDER BY c DESC, movie_id) s FROM (
   SELECT b.movie_id, (SELECT sum(x::float8 * y) FROM unnest(a.factors, b.factors) t(x, y))
          / sqrt((SELECT sum(x::float8 * x) FROM unnest(a.factors) x)
                 * (SELECT sum(y::float8 * y) FROM unnest(b.factors) y)) AS c
   FROM item_factors a JOIN item_factors b ON b.model_id = a.model_id AND b.movie_id <> a.movie_id
   WHERE a.model_id = 1101 AND a.movie_id = i ORDER BY c DESC, b.movie_id LIMIT 10) s) want;
-- a model whose movies all have the same length and bias: none can be
-- skipped, so the first call builds the pruning index, finds that it does
-- not pay and frees it at once; the full scan serves, the same lists as
-- with movierec.scan_prune off, on that call and the later ones
INSERT INTO models (model_id, model_name, version, algorithm, params, source, n_users, n_movies,
                    n_factors, global_mean, created_at)
VALUES (1102, 'flat', 1, 'als', '{"regularization": 0.1, "reg_user_bias": 0.1, "use_bias": true}',
        'movierec.ratings', 30, 3001, 15, 3.5, '2020-01-01');
INSERT INTO item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating)
SELECT 1102, i, 0,
       (SELECT array_agg(CASE WHEN sin(i * f * 1.3 + f) >= 0 THEN 1 ELSE -1 END::real ORDER BY f)
        FROM generate_series(1, 15) f),
       10, 3.5
FROM generate_series(1, 3001) i;
INSERT INTO user_factors (model_id, user_id, bias, factors)
SELECT 1102, u, 0, (SELECT array_agg(cos(u * f * 0.91 + f)::real ORDER BY f) FROM generate_series(1, 15) f)
FROM generate_series(1, 30) u;
SET movierec.scan_prune = on;
SET client_min_messages = debug1;
SELECT count(*) FROM recommend(1, 10, 'flat');
RESET client_min_messages;
SELECT pg_temp.recs_k(true, 10, true, 'flat') = pg_temp.recs_k(false, 10, true, 'flat') AS flat_full_scan_equal,
       pg_temp.recs_k(true, 10, true, 'flat') = pg_temp.recs_k(false, 10, true, 'flat') AS again;
ROLLBACK;
RESET movierec.scan_kernel;
