-- Quality targets of issue 3 on MovieLens (the harness skips this file
-- without the data).  Every assertion prints the measured figure; a
-- target the models miss fails here and stays failing until the models
-- reach it.  Figures come from bench/quality.sql.
BEGIN;
\getenv mldir MOVIELENS_DIR
\ir ../../bench/quality.sql
SELECT plan(13);

-- Evaluation definitions: popularity-by-count reproduces the reference.
SELECT ok(abs(ndcg - 0.1806) < 0.0005, format('ml-100k hash: popularity NDCG@10 %s reproduces 0.1806', round(ndcg::numeric, 4)))
FROM mlq.results WHERE dataset = 'ml100k' AND split = 'hash' AND algorithm = 'popularity';
SELECT ok(abs(ndcg - 0.1557) < 0.0005, format('ml-latest-small hash: popularity NDCG@10 %s reproduces 0.1557', round(ndcg::numeric, 4)))
FROM mlq.results WHERE dataset = 'mlsmall' AND split = 'hash' AND algorithm = 'popularity';

-- BaselineOnly match
SELECT ok(abs(rmse - 0.9394) <= 0.002, format('ml-100k hash: baseline RMSE %s = 0.9394 +- 0.002', round(rmse::numeric, 4)))
FROM mlq.results WHERE dataset = 'ml100k' AND split = 'hash' AND algorithm = 'baseline';
SELECT ok(abs(rmse - 0.8714) <= 0.002, format('ml-latest-small hash: baseline RMSE %s = 0.8714 +- 0.002', round(rmse::numeric, 4)))
FROM mlq.results WHERE dataset = 'mlsmall' AND split = 'hash' AND algorithm = 'baseline';

-- Rating prediction (als at its defaults)
SELECT ok(count(*) = 5 AND avg(rmse) <= 0.910, format('ml-100k u1-u5: mean als RMSE %s <= 0.910', round(avg(rmse)::numeric, 4)))
FROM mlq.results WHERE dataset = 'ml100k' AND split ~ '^u[1-5]$' AND algorithm = 'als';
SELECT ok(rmse <= 0.905, format('ml-100k hash: als RMSE %s <= 0.905', round(rmse::numeric, 4)))
FROM mlq.results WHERE dataset = 'ml100k' AND split = 'hash' AND algorithm = 'als';
SELECT ok(rmse <= 0.860, format('ml-latest-small hash: als RMSE %s <= 0.860', round(rmse::numeric, 4)))
FROM mlq.results WHERE dataset = 'mlsmall' AND split = 'hash' AND algorithm = 'als';

-- Top-k ranking (ials at its defaults)
SELECT ok(ndcg >= 0.30, format('ml-100k hash: ials NDCG@10 %s >= 0.30', round(ndcg::numeric, 4)))
FROM mlq.results WHERE dataset = 'ml100k' AND split = 'hash' AND algorithm = 'ials';
SELECT ok(ndcg >= 0.215, format('ml-latest-small hash: ials NDCG@10 %s >= 0.215', round(ndcg::numeric, 4)))
FROM mlq.results WHERE dataset = 'mlsmall' AND split = 'hash' AND algorithm = 'ials';
SELECT ok(i.coverage >= 2 * p.coverage,
          format('ml-100k hash: ials coverage@10 %s >= 2 x popularity %s', round(i.coverage::numeric, 4), round(p.coverage::numeric, 4)))
FROM mlq.results i, mlq.results p
WHERE i.dataset = 'ml100k' AND i.split = 'hash' AND i.algorithm = 'ials'
  AND p.dataset = 'ml100k' AND p.split = 'hash' AND p.algorithm = 'popularity';
SELECT ok(i.coverage >= 2 * p.coverage,
          format('ml-latest-small hash: ials coverage@10 %s >= 2 x popularity %s', round(i.coverage::numeric, 4), round(p.coverage::numeric, 4)))
FROM mlq.results i, mlq.results p
WHERE i.dataset = 'mlsmall' AND i.split = 'hash' AND i.algorithm = 'ials'
  AND p.dataset = 'mlsmall' AND p.split = 'hash' AND p.algorithm = 'popularity';

-- The hash split itself: 20,050 and 20,224 test ratings (1 in 5).
SELECT is((SELECT test_rows FROM mlq.split_rows WHERE test = 'mlq.ml100k_test'::regclass), 20050::bigint,
          'ml-100k hash split has 20050 test ratings');
SELECT is((SELECT test_rows FROM mlq.split_rows WHERE test = 'mlq.mlsmall_test'::regclass), 20224::bigint,
          'ml-latest-small hash split has 20224 test ratings');

SELECT * FROM finish();
ROLLBACK;
