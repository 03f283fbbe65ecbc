SET search_path TO movierec, public;
\set SHOW_CONTEXT never
-- Drift and online performance tracking: drift_report() with no recent
-- data (zeros, and it says so), with shifted ratings from new users, its
-- errors; track_performance() and performance_history; the exporter view.
-- pg_cron scheduling runs for real in test/integration/experiments_cron.sh.

SELECT generate_ratings(300, 100, 6000, rank => 4, noise => 0.5, seed => 4);
SELECT train('dr', 'als', '{"factors": 4, "iterations": 5}') AS dr \gset
SELECT train('dr_pop', 'popularity') AS drpop \gset
-- no production model among these yet, and unknown models
UPDATE models SET stage = 'none' WHERE stage = 'production';
SELECT drift_report();
SELECT drift_report('no_such_model');
SELECT track_performance('no_such_model');
SELECT promote(:dr) > 0 AS promoted;

-- nothing new since training: zeros, and it says so
SELECT r->'has_data' AS has_data, r->>'message' LIKE 'no ratings since %' AS says_so,
       r->'n_recent' AS n_recent, r->'n_baseline' AS n_baseline, r->'psi' AS psi,
       r->'online_rmse' AS online_rmse
  FROM drift_report() r;

-- new ratings: all 5 stars, from known users (the pairs they had not
-- rated yet) and 150 from 30 new users
INSERT INTO ratings
SELECT u, m, 5, now() FROM generate_series(1, 30) u, generate_series(1, 5) m
ON CONFLICT (user_id, movie_id) DO NOTHING;
INSERT INTO ratings SELECT 1000 + u, m, 5, now() FROM generate_series(1, 30) u, generate_series(1, 5) m;
SELECT r->'has_data' AS has_data, r->'n_recent' AS n_recent,
       (r->>'psi')::float8 > 0.25 AS major_psi, r->>'band' AS band, r->'bands' AS bands,
       (r->>'js_distance')::float8 BETWEEN 0 AND 1 AS js_in_range,
       r->'new_user_share' AS new_user_share, r->'new_movie_share' AS new_movie_share,
       (r->>'online_rmse')::float8 > 0 AS has_rmse, r->>'online_from' AS online_from,
       (r->'activity'->>'psi')::float8 >= 0 AS activity_psi,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(r->'features'->'user_features') k) AS user_feature_columns,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(r->'features'->'movie_features') k) AS movie_feature_columns
  FROM drift_report('dr') r;
-- the online RMSE is evaluate()'s RMSE of the stored model on those
-- ratings; predict() (stored factors, no fold-in) agrees within 2%
-- (evaluate and predict treat unknown users slightly differently)
SET movierec.fold_in = off;
SELECT abs((drift_report('dr')->>'online_rmse')::float8 /
           (SELECT sqrt(avg((predict(user_id, movie_id, :'dr') - rating) ^ 2))
              FROM ratings WHERE rated_at > (SELECT created_at FROM models WHERE model_id = :dr)) - 1) < 0.02
       AS rmse_agrees,
       (drift_report('dr')->>'online_mae')::float8 <= (drift_report('dr')->>'online_rmse')::float8 AS mae_at_most_rmse;
RESET movierec.fold_in;
-- the model's metrics are left as they were
SELECT metrics FROM models WHERE model_id = :dr;
-- a window of its own: since a time after the new ratings, nothing
SELECT drift_report('dr', now() + interval '1 hour')->'has_data' AS has_data;

-- PSI and JS distance of fixed histograms (independent values in
-- test/integration/experiments_stats.sh)
SELECT _distribution_distance(ARRAY[10, 20, 30, 40], ARRAY[10, 20, 30, 40]) AS same,
       _distribution_distance(ARRAY[25, 25, 25, 25], ARRAY[10, 20, 30, 40]) AS shifted,
       _distribution_distance(ARRAY[0, 0], ARRAY[1, 1]) AS empty_baseline;

------------------------------------------------------------------------
-- track_performance and performance_history
------------------------------------------------------------------------
SELECT track_performance('dr');
SELECT model_id = :dr AS right_model, model_name, algorithm, n_recent, rmse > 0 AS has_rmse,
       mae > 0 AS has_mae, ndcg_at_10 IS NULL AS no_ndcg_for_als, reference_rmse > 0 AS has_reference,
       psi > 0.25 AS major_psi, new_user_share
  FROM performance_history ORDER BY recorded_at;
SELECT model_name, n_recent, online_rmse > reference_rmse AS worse_online, psi > 0.25 AS major_psi
  FROM drift_status;
-- a ranking model also gets NDCG@10
SELECT track_performance(:'drpop');
SELECT model_name, ndcg_at_10 BETWEEN 0 AND 1 AS has_ndcg FROM performance_history WHERE model_name = 'dr_pop';
-- scheduling needs pg_cron in this database
SELECT schedule_performance_tracking('0 * * * *');
