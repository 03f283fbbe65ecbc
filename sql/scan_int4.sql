-- movierec.scan_int4: the full scan of a catalogue of at least 32,768
-- movies starts from an int4 copy of the factors, then rescores exactly.
-- The lists and scores equal those of the int8 pass (scan_int4 off) under
-- every variant this CPU has (build_info()->'scan_kernels'), and the same
-- under each, with and without the rated movies, for any k, and equal
-- brute force in double precision; a user whose own rounding
-- is too coarse for the int4 bound, and a model whose scores are too close
-- for it (every call falls back to the int8 pass, until the model stops
-- trying), give the same lists too; and so does similar_movies.
SET search_path TO movierec, public;
SET movierec.scan_prune = off;	-- the full scan, not the norm-ordered one
SELECT build_info()->>'scan_kernel' AS auto \gset
BEGIN;
DO $$ BEGIN DELETE FROM movierec.ratings; DELETE FROM movierec.models; END $$;
-- 33,001 movies (not a multiple of 16) x 32 factors, lengths falling off
-- like trained factors', the ratings before the model
INSERT INTO ratings (user_id, movie_id, rating, rated_at)
SELECT u, 1 + (u * 131 + j * 2903) % 33001, 1 + (u + j) % 5, '2019-06-01'
FROM generate_series(1, 21) u, generate_series(1, 8) j;
INSERT INTO models (model_id, model_name, version, algorithm, params, source, n_users, n_movies,
                    n_factors, global_mean, created_at)
VALUES (1201, 'big4', 1, 'als', '{"regularization": 0.1, "reg_user_bias": 0.1, "use_bias": true}',
        'movierec.ratings', 21, 33001, 32, 3.5, '2020-01-01'),
       (1202, 'close4', 1, 'als', '{"regularization": 0.1, "reg_user_bias": 0.1, "use_bias": true}',
        'movierec.ratings', 21, 33001, 32, 3.5, '2020-01-01');
INSERT INTO item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating)
SELECT 1201, i, (0.3 * sin(i * 0.7))::real,
       (SELECT array_agg((sin(i * f * 0.37 + f) * 3.0 / (1 + ((i * 7919) % 33001) / 500.0))::real ORDER BY f)
        FROM generate_series(1, 32) f),
       10, 3.5
FROM generate_series(1, 33001) i;
-- users 1-20: spread factors; user 21: one large factor and 31 just below
-- half an int8 step of it, so that its own rounding error exceeds |p|/64
INSERT INTO user_factors (model_id, user_id, bias, factors)
SELECT 1201, u, (0.2 * cos(u))::real,
       (SELECT array_agg(CASE WHEN u < 21 THEN cos(u * f * 0.91 + f)
                              WHEN f = 1 THEN 1 ELSE 0.0039 END::real ORDER BY f)
        FROM generate_series(1, 32) f)
FROM generate_series(1, 21) u;
-- the same users; movies whose vectors differ by 1%, with no bias
INSERT INTO item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating)
SELECT 1202, i, 0, (SELECT array_agg((1 + 0.01 * sin(i * f * 0.37 + f))::real ORDER BY f)
                    FROM generate_series(1, 32) f), 10, 3.5
FROM generate_series(1, 33001) i;
INSERT INTO user_factors (model_id, user_id, bias, factors)
SELECT 1202, user_id, bias, factors FROM user_factors WHERE model_id = 1201;

CREATE FUNCTION pg_temp.recs(v text, model text, int4 boolean, k int, excl boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('movierec.scan_kernel', v, true);
  PERFORM set_config('movierec.scan_int4', int4::text, true);
  SELECT string_agg(u || ':' || x.movie_id || ':' || x.score, ',' ORDER BY u, x.rank) INTO r
  FROM generate_series(1, 21) u, movierec.recommend(u, k, model, excl) x;
  RETURN r;
END $$;
-- int4 on equals int4 off, per variant, k and exclusion (and no call of
-- this model stops the int4 pass: no DEBUG line)
SET client_min_messages = debug1;
SELECT bool_and(pg_temp.recs(v, 'big4', true, k, e) = pg_temp.recs(v, 'big4', false, k, e)) AS int4_equals_int8,
       bool_and(pg_temp.recs(v, 'big4', true, k, e) = pg_temp.recs('portable', 'big4', true, k, e)) AS same_as_portable
FROM jsonb_array_elements_text(build_info()->'scan_kernels') v, unnest(ARRAY[1, 10, 100]) k,
     unnest(ARRAY[true, false]) e;
RESET client_min_messages;
RESET movierec.scan_kernel;
-- recommend_for_ratings folds a new user in and takes the same first pass
CREATE FUNCTION pg_temp.for_ratings(int4 boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('movierec.scan_int4', int4::text, true);
  SELECT string_agg(t || ':' || x.movie_id || ':' || x.score, ',' ORDER BY t, x.rank) INTO r
  FROM generate_series(1, 3) t,
       movierec.recommend_for_ratings(ARRAY[t, 100 + t, 2000 + 7 * t, 30000 + t]::bigint[],
                                      ARRAY[5, 4, 1, 3]::real[], 10, 'big4') x;
  RETURN r;
END $$;
SELECT pg_temp.for_ratings(true) = pg_temp.for_ratings(false) AS for_ratings_int4_equals_int8,
       pg_temp.for_ratings(true) IS NOT NULL AS for_ratings_listed;
-- equal to brute force in double precision (ids and order), the peaked
-- user 21 among them
SELECT count(*) FILTER (WHERE (SELECT array_agg(movie_id ORDER BY rank) FROM recommend(u, 10, 'big4')) =
       (SELECT array_agg(movie_id ORDER BY s DESC, movie_id) FROM (
          SELECT i.movie_id, i.bias + (SELECT sum(a::float8 * b) FROM unnest(uf.factors, i.factors) t(a, b)) s
          FROM item_factors i, user_factors uf
          WHERE i.model_id = 1201 AND uf.model_id = 1201 AND uf.user_id = u
            AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.user_id = u AND r.movie_id = i.movie_id)
          ORDER BY s DESC, i.movie_id LIMIT 10) b)) AS users_equal_to_brute_force
FROM unnest(ARRAY[1, 7, 21]) u;
-- the close model: the int4 bound leaves too many movies, every call redoes
-- the int8 pass, and after 8 such calls the model stops trying int4
SET movierec.scan_int4 = on;
SET client_min_messages = debug1;
SELECT count(*) FROM generate_series(1, 8) u, recommend(u, 10, 'close4');
RESET client_min_messages;
SELECT pg_temp.recs('portable', 'close4', true, 10, true) = pg_temp.recs('portable', 'close4', false, 10, true) AS close_equal,
       pg_temp.recs(:'auto', 'close4', true, 5, false) = pg_temp.recs(:'auto', 'close4', false, 5, false) AS close_equal_all;
-- similar_movies starts from an int4 copy of the unit vectors at this
-- size: the same ids and similarities as with scan_int4 off, under every
-- variant, and the cosine in double precision (ids and order)
CREATE FUNCTION pg_temp.sims(v text, model text, int4 boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
  PERFORM set_config('movierec.scan_kernel', v, true);
  PERFORM set_config('movierec.scan_int4', int4::text, true);
  SELECT string_agg(i || ':' || x.movie_id || ':' || x.similarity, ',' ORDER BY i, x.rank) INTO r
  FROM unnest(ARRAY[1, 2, 97, 5000, 33001]) i, movierec.similar_movies(i, 20, model) x;
  RETURN r;
END $$;
SET client_min_messages = debug1;
SELECT bool_and(pg_temp.sims(v, 'big4', true) = pg_temp.sims(v, 'big4', false)) AS similar_int4_equals_int8,
       bool_and(pg_temp.sims(v, 'big4', true) = pg_temp.sims('portable', 'big4', true)) AS similar_same_as_portable
FROM jsonb_array_elements_text(build_info()->'scan_kernels') v;
RESET client_min_messages;
RESET movierec.scan_kernel;
SELECT count(*) FILTER (WHERE (SELECT array_agg(movie_id ORDER BY rank) FROM similar_movies(i, 10, 'big4')) =
       (SELECT array_agg(movie_id ORDER BY c DESC, movie_id) FROM (
          SELECT b.movie_id, (SELECT sum(x::float8 * y) FROM unnest(a.factors, b.factors) t(x, y))
                 / sqrt((SELECT sum(x::float8 * x) FROM unnest(a.factors) x)
                        * (SELECT sum(y::float8 * y) FROM unnest(b.factors) y)) AS c
          FROM item_factors a JOIN item_factors b ON b.model_id = a.model_id AND b.movie_id <> a.movie_id
          WHERE a.model_id = 1201 AND a.movie_id = i ORDER BY c DESC, b.movie_id LIMIT 10) s)) AS similar_equal_to_brute_force
FROM unnest(ARRAY[1, 5000]) i;
-- the close model's unit vectors are near-identical too: every call falls
-- back, and after 8 the model's similar_movies stops trying int4
SET movierec.scan_int4 = on;
SET client_min_messages = debug1;
SELECT count(*) FROM generate_series(1, 8) i, similar_movies(i, 10, 'close4');
RESET client_min_messages;
SELECT pg_temp.sims('portable', 'close4', true) = pg_temp.sims('portable', 'close4', false) AS close_similar_equal;
ROLLBACK;
RESET movierec.scan_int4;
RESET movierec.scan_prune;
