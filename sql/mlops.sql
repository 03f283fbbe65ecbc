SET search_path TO movierec, public;
-- MLOps without the worker: snapshots and lineage, bit-for-bit retrain,
-- snapshot_diff, promote/rollback/deployments, the promotion gate (through
-- run_training_job, the body the worker runs), features, and the job API's
-- errors.  The worker itself is tested in test/integration/mlops_worker.sh.

-- 300 users x 120 movies, a third of the pairs, planted rank-2 structure,
-- timestamps spread over ~70 days
CREATE TABLE mo_syn AS
  SELECT u::bigint AS user_id, m::bigint AS movie_id,
         least(5, greatest(0.5, round(2 * (3 + 1.2 * sin(u * 0.7) * cos(m * 1.3)
                                          + 0.8 * cos(u * 1.1) * sin(m * 0.9)
                                          + 0.3 * sin(u * m)))::real / 2)) AS rating,
         '2020-01-01'::timestamptz + ((u * 7919 + m * 104729) % 100000) * interval '1 minute' AS rated_at
    FROM generate_series(1, 300) u, generate_series(1, 120) m
   WHERE (u * 31 + m * 17) % 3 = 0;

------------------------------------------------------------------------
-- Every training run records a snapshot of what it read.
------------------------------------------------------------------------
SELECT train('mo_plain', 'baseline', '{}', 'mo_syn') AS m1 \gset
SELECT s.source, s.n_rows, s.min_rated_at, s.max_rated_at, s.rows_table IS NULL AS not_copied,
       s.checksum = (SELECT checksum FROM _snapshot_stats('mo_syn', 'user_id', 'movie_id', 'rating')) AS checksum_matches,
       s.txid_snapshot IS NOT NULL AS has_txid_snapshot
  FROM models m JOIN snapshots s USING (snapshot_id) WHERE m.model_id = :m1;
-- the checksum ignores row order and sees any change of content
CREATE TABLE mo_shuffled AS SELECT * FROM mo_syn ORDER BY rating, movie_id DESC, user_id;
SELECT (SELECT checksum FROM _snapshot_stats('mo_syn', 'user_id', 'movie_id', 'rating')) =
       (SELECT checksum FROM _snapshot_stats('mo_shuffled', 'user_id', 'movie_id', 'rating')) AS order_independent;
UPDATE mo_shuffled SET rating = 4.5 WHERE user_id = 1 AND movie_id = 1 AND rating <> 4.5;
SELECT (SELECT checksum FROM _snapshot_stats('mo_syn', 'user_id', 'movie_id', 'rating')) <>
       (SELECT checksum FROM _snapshot_stats('mo_shuffled', 'user_id', 'movie_id', 'rating')) AS sees_change;

------------------------------------------------------------------------
-- {"snapshot": "copy"} materializes the rows; retrain() reproduces the
-- model bit for bit after the ratings changed.
------------------------------------------------------------------------
-- a bad snapshot value is refused before anything is written
SELECT train('mo_repro', 'als', '{"snapshot": "yes"}', 'mo_syn');
SELECT train('mo_repro', 'als', '{"snapshot": "copy", "factors": 8, "iterations": 5, "seed": 3}',
             'mo_syn') AS m2 \gset
SELECT snapshot_id AS s1 FROM models WHERE model_id = :m2 \gset
SELECT s.source, s.n_rows, s.rows_table = format('movierec.snapshot_%s', s.snapshot_id) AS copied,
       s.checksum = (SELECT checksum FROM _snapshot_stats('mo_syn', 'user_id', 'movie_id', 'rating')) AS same_rows,
       m.params->>'snapshot' AS params_snapshot
  FROM models m JOIN snapshots s USING (snapshot_id) WHERE m.model_id = :m2;
UPDATE mo_syn SET rating = 5 WHERE user_id = 1 AND rating <> 5;
DELETE FROM mo_syn WHERE user_id = 2;
INSERT INTO mo_syn VALUES (301, 1, 4, '2020-03-15'), (301, 2, 3, '2020-03-15');
SELECT retrain(:m2) AS m3 \gset
SELECT model_name, version, parent_model_id = :m2 AS parent_ok, snapshot_id = :s1 AS same_snapshot
  FROM models WHERE model_id = :m3;
-- every factor and bias identical, no row missing on either side
SELECT (SELECT count(*) FROM user_factors WHERE model_id = :m2) AS users,
       (SELECT count(*) FROM user_factors a JOIN user_factors b USING (user_id)
         WHERE a.model_id = :m2 AND b.model_id = :m3
           AND a.factors = b.factors AND a.bias = b.bias) AS users_identical,
       (SELECT count(*) FROM item_factors WHERE model_id = :m2) AS items,
       (SELECT count(*) FROM item_factors a JOIN item_factors b USING (movie_id)
         WHERE a.model_id = :m2 AND b.model_id = :m3
           AND a.factors = b.factors AND a.bias = b.bias) AS items_identical,
       (SELECT count(*) FROM user_factors WHERE model_id = :m3) AS users_retrained;
-- whereas training on today's ratings gives other factors
SELECT train('mo_repro', 'als', '{"factors": 8, "iterations": 5, "seed": 3}', 'mo_syn') AS m4 \gset
SELECT count(*) FILTER (WHERE a.factors <> b.factors) > 0 AS today_differs
  FROM user_factors a JOIN user_factors b USING (user_id) WHERE a.model_id = :m2 AND b.model_id = :m4;

-- snapshot_diff: rows added, removed, changed since the first snapshot
SELECT take_snapshot('mo_syn', materialize => true) AS s2 \gset
SELECT change, count(*), min(user_id), max(user_id) FROM snapshot_diff(:s1, :s2) GROUP BY change ORDER BY change;
SELECT * FROM snapshot_diff(:s1, :s2) WHERE user_id = 301 OR (user_id = 1 AND movie_id < 20);
SELECT count(*) AS no_changes FROM snapshot_diff(:s2, :s2);

SELECT take_snapshot('mo_syn', user_col => 'uid');
-- bad input (errors that name an id go through err(), which masks ids)
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hint text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN st || ' ' || regexp_replace(msg, '[0-9]+', 'N', 'g') || ' / ' || hint;
END $$;
SELECT pg_temp.err(format('SELECT movierec.retrain(%s)', :m1));
SELECT retrain(-1);
SELECT snapshot_id AS s0 FROM models WHERE model_id = :m1 \gset
SELECT pg_temp.err(format('SELECT movierec.snapshot_diff(%s, %s)', :s0, :s2));
SELECT * FROM snapshot_diff(-1, :s2);

------------------------------------------------------------------------
-- promote, rollback, deployments
------------------------------------------------------------------------
SELECT train('mo_reg', 'baseline', '{"iterations": 1}', 'mo_syn') AS a \gset
SELECT train('mo_reg', 'baseline', '{"iterations": 2}', 'mo_syn') AS b \gset
SELECT train('mo_reg', 'baseline', '{"iterations": 3}', 'mo_syn') AS c \gset
SELECT promote(:a) > 0 AS promoted_a;
SELECT promote(:b, 'better baseline') > 0 AS promoted_b;
SELECT promote(:c) > 0 AS promoted_c;
SELECT version, stage FROM models WHERE model_name = 'mo_reg' ORDER BY version;
SELECT rollback('mo_reg') > 0 AS rolled_back;
SELECT version, stage FROM models WHERE model_name = 'mo_reg' ORDER BY version;
SELECT rollback('mo_reg', 'bad week') > 0 AS rolled_back_again;
SELECT version, stage FROM models WHERE model_name = 'mo_reg' ORDER BY version;
SELECT rollback('mo_reg');
-- the history: who, from, to, why, and the metrics compared
SELECT d.action, f.version AS from_version, t.version AS to_version, d.reason,
       d.deployed_by = current_user AS by_me, d.metrics ? 'from' AND d.metrics ? 'to' AS metrics_logged
  FROM deployments d LEFT JOIN models f ON f.model_id = d.from_model_id
  LEFT JOIN models t ON t.model_id = d.to_model_id
 WHERE d.model_name = 'mo_reg' ORDER BY d.deployment_id;
SELECT pg_temp.err(format('SELECT movierec.promote(%s)', :a));
SELECT promote(-1);
SELECT rollback('mo_nothing');
-- the unique index still allows one production model per name only
SELECT count(*) FROM models WHERE model_name = 'mo_reg' AND stage = 'production';

------------------------------------------------------------------------
-- The gate: candidate vs production's recipe vs baseline, all trained on
-- the older 90% and evaluated on the newest 10%.
------------------------------------------------------------------------
-- production: a poor recipe (one factor, one iteration, heavy regularization)
SELECT train('mo_gate', 'als', '{"factors": 1, "iterations": 1, "regularization": 50}', 'mo_syn') AS p \gset
SELECT promote(:p) > 0 AS production_set;
-- a worse candidate (a bias-only model cannot beat the baseline) is refused
SELECT run_training_job(100, 'mo_gate', 'baseline', '{}', 'mo_syn', 'user_id', 'movie_id', 'rating', 'if_better') AS worse \gset
-- a better candidate is promoted
SELECT run_training_job(101, 'mo_gate', 'als', '{"factors": 8, "iterations": 8}', 'mo_syn', 'user_id', 'movie_id', 'rating', 'if_better') AS better \gset
SELECT model_id = :better AS better_is_production FROM models WHERE model_name = 'mo_gate' AND stage = 'production';
SELECT stage FROM models WHERE model_id = :worse;
-- a candidate that beats the baseline but not the new production recipe is refused
SELECT run_training_job(102, 'mo_gate', 'als', '{"factors": 2, "iterations": 2}', 'mo_syn', 'user_id', 'movie_id', 'rating', 'if_better') AS weaker \gset
SELECT model_id = :better AS better_still_production FROM models WHERE model_name = 'mo_gate' AND stage = 'production';
-- every decision is logged with both numbers
SELECT d.action, d.job_id, d.to_model_id = CASE d.job_id WHEN 100 THEN :worse WHEN 101 THEN :better ELSE :weaker END AS to_ok,
       d.from_model_id = CASE d.job_id WHEN 102 THEN :better ELSE :p END AS from_production,
       d.metrics->>'metric' AS metric, (d.metrics->>'promote')::boolean AS promote,
       (d.metrics->>'candidate')::float8 < (d.metrics->>'production')::float8 AS candidate_lower,
       (d.metrics->>'candidate')::float8 < (d.metrics->>'baseline')::float8 AS beats_baseline,
       (d.metrics->>'test_rows')::int AS test_rows, (d.metrics->>'train_rows')::int AS train_rows
  FROM deployments d WHERE d.model_name = 'mo_gate' AND d.job_id IS NOT NULL ORDER BY d.deployment_id;
SELECT job_id, regexp_replace(reason, '[0-9]+\.[0-9]+', 'N', 'g') AS reason
  FROM deployments WHERE job_id >= 100 ORDER BY job_id;
-- the gate leaves none of its own models, snapshots or tables behind
SELECT count(*) AS gate_models FROM models WHERE model_name LIKE '\_gate\_%';
SELECT to_regclass('pg_temp.mr_gate_train') IS NULL AS no_temp_table;
-- a ranking algorithm is judged on NDCG@10
SELECT promotion_gate('mo_gate', 'ials', '{"factors": 8, "iterations": 5}', 'mo_syn')->>'metric' AS ranking_metric;
-- a margin the candidate cannot meet
SELECT (promotion_gate('mo_gate', 'als', '{"factors": 8, "iterations": 8}', 'mo_syn', margin => 0.99))->>'promote' AS with_huge_margin;
CREATE TABLE mo_no_time AS SELECT user_id, movie_id, rating FROM mo_syn;
SELECT promotion_gate('mo_gate', 'als', '{}', 'mo_no_time');

------------------------------------------------------------------------
-- Features
------------------------------------------------------------------------
INSERT INTO movies VALUES (1, 'One (1999)', 1999, '{Drama,Comedy}'), (2, 'Two (2001)', 2001, '{Drama}'),
                          (3, 'Three', NULL, '{}');
INSERT INTO ratings VALUES (1, 1, 5, now() - interval '2 days'), (1, 2, 4, now() - interval '40 days'),
                           (2, 1, 3, now() - interval '1 day'), (2, 4, 1, '2001-01-01'),
                           (3, 2, 4.5, '2002-02-02');
SELECT (refresh_features() - 'seconds' - 'user_features_seconds' - 'movie_features_seconds') AS refreshed;
SELECT user_id, n_ratings, round(mean_rating::numeric, 3) AS mean, round(stddev_rating::numeric, 3) AS sd,
       first_rated = (SELECT min(rated_at) FROM ratings r WHERE r.user_id = f.user_id) AS first_ok,
       last_rated = (SELECT max(rated_at) FROM ratings r WHERE r.user_id = f.user_id) AS last_ok,
       favourite_genres
  FROM user_features f ORDER BY user_id;
SELECT movie_id, n_ratings, mean_rating, round(damped_mean::numeric, 4) AS damped_mean, popularity_rank,
       genres, year, ratings_last_30_days
  FROM movie_features ORDER BY movie_id;
-- the second refresh runs concurrently (readers are not blocked) and sees new ratings
INSERT INTO ratings VALUES (3, 1, 2, now());
SELECT refresh_features() ? 'seconds' AS refreshed_again;
SELECT movie_id, n_ratings, popularity_rank, ratings_last_30_days FROM movie_features WHERE movie_id = 1;
SELECT has_function_privilege('public', 'movierec.refresh_features()', 'execute') AS public_may_refresh;
DELETE FROM ratings;
DELETE FROM movies;

------------------------------------------------------------------------
-- The job API (the worker serves another database here, so jobs wait)
------------------------------------------------------------------------
SELECT worker_status()->'serves_this_database' AS serves_here,
       worker_status()->>'max_training_workers' AS max_workers;
SELECT train_async('mo_async', 'als', '{"factors": 4}', 'mo_syn') AS j \gset
SELECT state, model_name, algorithm, params, source, promote, owner = current_user::regrole AS owner_ok,
       attempt, max_retries FROM jobs WHERE job_id = :j;
SELECT cancel_job(:j);
SELECT state, error, finished_at IS NOT NULL AS finished FROM jobs WHERE job_id = :j;
SELECT cancel_job(:j);
SELECT cancel_job(-1);
SELECT train_async('');
SELECT train_async('mo_x', promote => 'maybe');
SELECT train_async('mo_x', params => '[1]');
SELECT train_async('mo_x', params => '{"snapshot": "yes"}');
SELECT train_async('mo_x', source => 'mo_syn', rating_col => 'stars');
SELECT train_async('mo_x', max_retries => 11);
SELECT count(*) AS queued FROM jobs WHERE state = 'queued';
-- pg_cron lives in another database here: both functions name the package and the setting
SELECT schedule_retraining('mo_cron', '0 3 * * *');
SELECT unschedule_retraining('mo_cron');

-- clean up what other tests could see
SELECT count(*) AS dropped FROM (SELECT drop_model(model_id) FROM models WHERE model_name LIKE 'mo\_%') d;
DELETE FROM deployments WHERE model_name LIKE 'mo\_%';
DELETE FROM jobs;
