-- Quality targets of issue 12 for bayes at its default params on
-- MovieLens (the harness skips ml_* files without the data).  Every
-- assertion prints the measured figure.  Figures come from
-- bench/quality_bayes.sql (quick: u1-u5 and the two hash splits).
BEGIN;
\getenv mldir MOVIELENS_DIR
\set quick 1
\ir ../../bench/quality_bayes.sql
SELECT plan(4);
SELECT ok(rmse <= 0.889, format('ml-100k u1: bayes RMSE %s <= 0.889', round(rmse::numeric, 4)))
FROM mlb.results WHERE split = 'u1' AND algorithm = 'bayes';
SELECT ok(count(*) = 5 AND avg(rmse) <= 0.885, format('ml-100k u1-u5: mean bayes RMSE %s <= 0.885', round(avg(rmse)::numeric, 4)))
FROM mlb.results WHERE split ~ '^u[1-5]$' AND algorithm = 'bayes';
SELECT ok(rmse <= 0.885, format('ml-100k hash: bayes RMSE %s <= 0.885', round(rmse::numeric, 4)))
FROM mlb.results WHERE dataset = 'ml100k' AND split = 'hash' AND algorithm = 'bayes';
SELECT ok(rmse <= 0.835, format('ml-latest-small hash: bayes RMSE %s <= 0.835', round(rmse::numeric, 4)))
FROM mlb.results WHERE dataset = 'mlsmall' AND split = 'hash' AND algorithm = 'bayes';
SELECT * FROM finish();
ROLLBACK;
