-- Traffic for test/integration/monitoring_stack.sh, run again and again:
-- experiment exposures and clicks, and a fresh track_performance() record.
SET search_path TO movierec, public;
SELECT count(*) FROM generate_series(1, 5) g, recommend_in('mon_ab', 1 + (random() * 299)::int + 0 * g, 10);
SELECT count(*) FROM generate_series(1, 3) g, recommend_in('mon_il', 1 + (random() * 299)::int + 0 * g, 10);
SELECT count(log_feedback(x.user_id, x.movie_ids[1], 'click', NULL, x.impression_id))
  FROM (SELECT * FROM exposures ORDER BY impression_id DESC LIMIT 4) x;
SELECT track_performance();
