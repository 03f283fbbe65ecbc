-- Quality and speed of ease at its default params on MovieLens (the
-- harness skips ml_* files without the data): the hash split of
-- BENCHMARKS.md, k = 10, relevant = rated >= 4.  The thresholds are the
-- measured figures (doc/algorithms.md, "ease") less a small margin, so a
-- change that loses quality fails here.  About 10 s.
BEGIN;
\getenv mldir MOVIELENS_DIR
SET client_min_messages = warning;
CREATE SCHEMA mle;
CREATE TABLE mle.ml100k (user_id int, movie_id int, rating real, ts bigint);
CREATE TABLE mle.mlsmall (user_id int, movie_id int, rating real, ts bigint);
\set f :mldir '/ml-100k/u.data'
COPY mle.ml100k FROM :'f';
\set f :mldir '/ml-latest-small/ratings.csv'
COPY mle.mlsmall FROM :'f' (FORMAT csv, HEADER);
ANALYZE mle.ml100k, mle.mlsmall;
CREATE TEMP TABLE splits AS
SELECT * FROM movierec.split('mle.ml100k', 'hash') UNION ALL SELECT * FROM movierec.split('mle.mlsmall', 'hash');
CREATE TABLE mle.results (dataset text, algorithm text, ndcg float8, coverage float8, seconds float8, n_kept bigint);
CREATE FUNCTION mle.run(ds text, alg text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    mid bigint := movierec.train('mle_' || ds || '_' || alg, alg, '{}', format('mle.%s_train', ds)::regclass);
    secs float8 := extract(epoch FROM clock_timestamp() - t0);
    ev jsonb := movierec.evaluate(mid, format('mle.%s_test', ds)::regclass);
BEGIN
    INSERT INTO mle.results VALUES (ds, alg, (ev->>'ndcg_at_k')::float8, (ev->>'coverage_at_k')::float8, secs,
                                    (SELECT count(*) FROM movierec.ease_weights w WHERE w.model_id = mid));
END $$;
SELECT count(mle.run(d, a)) AS runs FROM unnest(ARRAY['ml100k', 'mlsmall']) d, unnest(ARRAY['popularity', 'ease']) a \gset
RESET client_min_messages;

SELECT plan(7);
SELECT ok(ndcg >= 0.21, format('ml-100k hash: ease NDCG@10 %s >= 0.21', round(ndcg::numeric, 4)))
  FROM mle.results WHERE dataset = 'ml100k' AND algorithm = 'ease';
SELECT ok(ndcg >= 0.17, format('ml-latest-small hash: ease NDCG@10 %s >= 0.17', round(ndcg::numeric, 4)))
  FROM mle.results WHERE dataset = 'mlsmall' AND algorithm = 'ease';
SELECT ok(e.ndcg > p.ndcg AND e.coverage >= 1.5 * p.coverage,
          format('%s hash: ease NDCG@10 %s and coverage@10 %s beat popularity''s %s and %s (coverage x %s)',
                 e.dataset, round(e.ndcg::numeric, 4), round(e.coverage::numeric, 4),
                 round(p.ndcg::numeric, 4), round(p.coverage::numeric, 4), round((e.coverage / p.coverage)::numeric, 1)))
  FROM mle.results e JOIN mle.results p USING (dataset)
 WHERE e.algorithm = 'ease' AND p.algorithm = 'popularity' ORDER BY e.dataset;
SELECT ok(seconds <= 10, format('ml-latest-small: train(''ease'') took %s s end to end (<= 10 s)', round(seconds::numeric, 2)))
  FROM mle.results WHERE dataset = 'mlsmall' AND algorithm = 'ease';
SELECT is(n_kept, (SELECT count(*) FROM (SELECT movie_id FROM mle.mlsmall_train GROUP BY 1 HAVING count(*) >= 10) x),
          format('ml-latest-small: B covers the %s movies with >= 10 training ratings (min_item_ratings)', n_kept))
  FROM mle.results WHERE dataset = 'mlsmall' AND algorithm = 'ease';
-- the demo's new user (doc/algorithms.md): an ease model with the demo's params
CREATE TEMP TABLE liked AS SELECT * FROM (VALUES (1::bigint, 5::real), (364, 5), (588, 4)) v(movie_id, rating);
CREATE TEMP TABLE demo_m AS
SELECT movierec.train('mle_demo', 'ease', '{"regularization": 100, "binarize": 0}', 'mle.mlsmall') AS id;
SELECT ok((SELECT count(*) FROM movierec.recommend_for_ratings(ARRAY[1, 364, 588]::bigint[], '{5, 5, 4}', 10, 'mle_demo') r
            WHERE r.movie_id IN (595, 2355, 3114, 48, 2081, 1907, 6377, 2687, 4886, 2294, 1022, 1029, 2078, 2096))
          >= 4, 'ml-latest-small: Toy Story, The Lion King and Aladdin give at least 4 animated family films in the top 10');
SELECT * FROM finish();
ROLLBACK;
