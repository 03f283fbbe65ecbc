-- Traffic for test/integration/monitoring_stack.sh, run again and again
-- while Prometheus scrapes (errors are expected and ignored): every
-- serving function and path, an error, and new ratings.
SET search_path TO movierec, public;
SELECT count(*) FROM generate_series(1, 10) g, recommend(6 + (random() * 290)::int + 0 * g, 10);
SELECT count(*) FROM generate_series(1, 5) g, recommend(g, 10);
SELECT count(*) FROM recommend(1000000 + (random() * 1000)::int, 10);
SELECT predict(7, 3);
SELECT count(*) FROM similar_movies(3, 5);
SELECT count(*) FROM recommend_for_ratings(ARRAY[1, 2, 3]::bigint[], ARRAY[5, 4, 3]::real[], 10);
SELECT count(*) FROM explain(7, 3);
SELECT * FROM recommend(7, 0);
INSERT INTO ratings SELECT 10 + (random() * 280)::int, 1 + (random() * 998)::int, 4, now()
  FROM generate_series(1, 3) ON CONFLICT DO NOTHING;
