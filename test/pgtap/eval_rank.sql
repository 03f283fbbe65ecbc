-- evaluate() ranks a factor model's users exactly as recommend() does (the
-- scan kernels, training movies excluded): its NDCG@10 and precision@10
-- equal the same metrics computed in SQL from recommend()'s lists, for
-- every scan variant this CPU has and on 1 and 2 threads.
BEGIN;
SET client_min_messages = warning;
CREATE TEMP TABLE gen AS SELECT movierec.generate_ratings(200, 300, 8000, seed => 5);
CREATE TABLE public.er_train AS SELECT * FROM movierec.ratings WHERE (user_id * 7 + movie_id) % 5 <> 0;
CREATE TABLE public.er_test AS SELECT * FROM movierec.ratings WHERE (user_id * 7 + movie_id) % 5 = 0;
CREATE TEMP TABLE er_model AS
SELECT movierec.train('er_als', 'als', '{"factors": 12, "iterations": 5}', 'public.er_train') AS id;
-- recommend() excludes the user's current ratings: leave the training ones,
-- and serve the stored factors (no fold-in of the deleted rows)
DELETE FROM movierec.ratings r USING public.er_test t WHERE r.user_id = t.user_id AND r.movie_id = t.movie_id;
SET movierec.fold_in = off;

-- NDCG@10 and precision@10 of recommend()'s lists, relevant = test rating >= 4
CREATE FUNCTION pg_temp.sql_metrics() RETURNS TABLE (ndcg float8, prec float8, users bigint) LANGUAGE sql AS $$
  WITH rel AS (SELECT user_id, movie_id FROM public.er_test WHERE rating >= 4),
       u AS (SELECT user_id, count(*) AS n_rel FROM rel GROUP BY 1),
       rec AS (SELECT u.user_id, r.movie_id, r.rank FROM u, movierec.recommend(u.user_id, 10, 'er_als') r),
       per AS (
         SELECT u.user_id,
                coalesce((SELECT sum(1 / log(2, rec.rank + 1)) FROM rec JOIN rel USING (user_id, movie_id)
                           WHERE rec.user_id = u.user_id), 0)
                / (SELECT sum(1 / log(2, i + 1)) FROM generate_series(1, least(u.n_rel, 10)::int) i) AS ndcg,
                (SELECT count(*) FROM rec JOIN rel USING (user_id, movie_id) WHERE rec.user_id = u.user_id) / 10.0 AS prec
           FROM u)
  SELECT avg(ndcg)::float8, avg(prec)::float8, count(*) FROM per $$;
CREATE FUNCTION pg_temp.eval() RETURNS jsonb LANGUAGE sql AS $$
  SELECT movierec.evaluate((SELECT id FROM er_model), 'public.er_test') $$;
CREATE FUNCTION pg_temp.variants() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['avx512bf16', 'avx512f', 'avx2', 'neon', 'portable'] LOOP
    BEGIN
      PERFORM set_config('movierec.scan_kernel', v, true);
      RETURN NEXT v;
    EXCEPTION WHEN invalid_parameter_value THEN NULL;
    END;
  END LOOP;
END $$;
CREATE TEMP TABLE want AS SELECT * FROM pg_temp.sql_metrics();
CREATE TEMP TABLE got AS
SELECT v, t, pg_temp.eval() AS e
FROM pg_temp.variants() v, unnest(ARRAY[1, 2]) t,
     LATERAL (SELECT set_config('movierec.scan_kernel', v, true), set_config('movierec.blas_threads', t::text, true)) s;
RESET movierec.scan_kernel;
RESET movierec.blas_threads;
RESET client_min_messages;

SELECT plan(4);
SELECT ok((SELECT users FROM want) > 100, 'more than 100 users with a relevant test rating');
SELECT ok((SELECT count(*) FROM got) >= 2, 'evaluate() ran under at least one variant, on 1 and 2 threads');
SELECT ok((SELECT bool_and(abs((e->>'ndcg_at_k')::float8 - (SELECT ndcg FROM want)) < 1e-9
                           AND (e->>'users')::bigint = (SELECT users FROM want)) FROM got),
          'evaluate()''s NDCG@10 equals the NDCG of recommend()''s lists, under every variant and thread count');
SELECT ok((SELECT bool_and(abs((e->>'precision_at_k')::float8 - (SELECT prec FROM want)) < 1e-9) FROM got),
          'and so does its precision@10');
SELECT * FROM finish();
ROLLBACK;
