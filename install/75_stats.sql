-- since 0.2
-- Observability: serving and training statistics kept in shared memory
-- (src/stats.c), gauges of the model registry, and the monitoring role the
-- exporter connects as.  See doc/monitoring.md.

CREATE FUNCTION movierec._serving_stats(
        OUT model text, OUT function text, OUT path text, OUT calls bigint, OUT rows bigint,
        OUT errors bigint, OUT total_seconds float8, OUT cache_loads bigint,
        OUT cache_invalidations bigint, OUT bucket_le float8[], OUT bucket_count bigint[],
        OUT stats_reset timestamptz)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'movierec_serving_stats'
    LANGUAGE C VOLATILE;
CREATE VIEW movierec.serving_stats AS SELECT * FROM movierec._serving_stats();
COMMENT ON VIEW movierec.serving_stats IS
    'Serving calls per model name, function and path since the last reset: calls, rows, errors, time, cache loads and invalidations, and a cumulative latency histogram (bucket_count[i] calls took at most bucket_le[i] seconds).';

CREATE FUNCTION movierec._training_stats(
        OUT algorithm text, OUT outcome text, OUT runs bigint, OUT total_seconds float8,
        OUT bucket_le float8[], OUT bucket_count bigint[], OUT stats_reset timestamptz)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'movierec_training_stats'
    LANGUAGE C VOLATILE;
CREATE VIEW movierec.training_stats AS SELECT * FROM movierec._training_stats();
COMMENT ON VIEW movierec.training_stats IS
    'Training runs per algorithm and outcome (succeeded, failed, cancelled) since the last reset, with a cumulative duration histogram.';

CREATE FUNCTION movierec._training_last_success(
        OUT model_name text, OUT algorithm text, OUT model_id bigint, OUT last_success timestamptz,
        OUT seconds float8, OUT successes bigint)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'movierec_training_last_success'
    LANGUAGE C VOLATILE;
CREATE VIEW movierec.training_last_success AS SELECT * FROM movierec._training_last_success();
COMMENT ON VIEW movierec.training_last_success IS
    'The last committed successful training of each model name since the last reset.';

CREATE FUNCTION movierec._stats_dropped() RETURNS bigint
    AS 'MODULE_PATHNAME', 'movierec_stats_dropped' LANGUAGE C VOLATILE;

CREATE FUNCTION movierec.reset_stats() RETURNS void
    AS 'MODULE_PATHNAME', 'movierec_reset_stats' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION movierec.reset_stats() IS
    'Zero the serving and training statistics (serving_stats, training_stats, training_last_success).';
REVOKE ALL ON FUNCTION movierec.reset_stats() FROM PUBLIC;

-- Jobs by state: every state, with zeros, so that dashboards and alerts
-- always have a series.
CREATE VIEW movierec.job_counts AS
SELECT s.state, count(j.job_id) AS jobs
  FROM unnest(ARRAY['queued', 'running', 'succeeded', 'failed', 'cancelled']) AS s(state)
  LEFT JOIN movierec.jobs j ON j.state = s.state
 GROUP BY s.state;
COMMENT ON VIEW movierec.job_counts IS 'Training jobs in each state.';

-- Period of a pg_cron schedule in seconds, for the forms pg_cron accepts
-- that have one ('@daily', 'N seconds', '*/N * * * *', 'M H * * *', ...);
-- NULL for schedules without a fixed period.
CREATE FUNCTION movierec._cron_period(schedule text) RETURNS float8
    LANGUAGE plpgsql IMMUTABLE AS
$$
DECLARE
    f text[] := regexp_split_to_array(btrim(schedule), '\s+');
    n text := '^[0-9]+$';
BEGIN
    CASE lower(btrim(schedule))
        WHEN '@hourly' THEN RETURN 3600;
        WHEN '@daily', '@midnight' THEN RETURN 86400;
        WHEN '@weekly' THEN RETURN 604800;
        WHEN '@monthly' THEN RETURN 2592000;
        WHEN '@yearly', '@annually' THEN RETURN 31536000;
        ELSE NULL;
    END CASE;
    IF btrim(schedule) ~ '^[0-9]+ seconds?$' THEN
        RETURN f[1]::float8;
    END IF;
    IF array_length(f, 1) <> 5 THEN
        RETURN NULL;
    END IF;
    IF f[3] <> '*' OR f[4] <> '*' THEN
        RETURN CASE WHEN f[1] ~ n AND f[2] ~ n AND f[3] ~ n AND f[4] = '*' AND f[5] = '*'
                    THEN 2592000 END;
    END IF;
    IF f[5] <> '*' THEN
        RETURN CASE WHEN f[1] ~ n AND f[2] ~ n AND f[5] ~ n THEN 604800 END;
    END IF;
    RETURN CASE
        WHEN f[1] = '*' AND f[2] = '*' THEN 60
        WHEN f[1] ~ '^\*/[0-9]+$' AND f[2] = '*' THEN substr(f[1], 3)::float8 * 60
        WHEN f[1] ~ n AND f[2] = '*' THEN 3600
        WHEN f[1] ~ n AND f[2] ~ '^\*/[0-9]+$' THEN substr(f[2], 3)::float8 * 3600
        WHEN f[1] ~ n AND f[2] ~ n THEN 86400
        END;
END
$$;

-- Retraining schedules made by schedule_retraining: cron.job is visible
-- row by row to each job's owner only, so this reads it as the
-- extension's owner and returns nothing but the model name and period.
CREATE FUNCTION movierec._retrain_schedules(OUT model_name text, OUT schedule text,
                                            OUT period_seconds float8)
    RETURNS SETOF record
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF to_regclass('cron.job') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE
        'SELECT substr(jobname, length(''movierec retrain '') + 1), schedule::text, '
        'movierec._cron_period(schedule::text) FROM cron.job '
        'WHERE jobname LIKE ''movierec retrain %'' AND active AND database = current_database()';
END
$$;

-- Gauges of the registry: the production and the newest staging model of
-- each name.  rmse and ndcg_at_10 are the last recorded by evaluate() (at
-- k = 10 for NDCG) or else the candidate's by the promotion gate; the
-- baseline is the gate's baseline on the same held-out ratings.
-- ratings_since_training counts ratings whose rated_at is later than the
-- newest rating of the model's snapshot (or than its training, without
-- one); ratings without rated_at are not counted.
CREATE VIEW movierec.model_gauges AS
SELECT m.model_name AS model, m.stage, m.model_id, m.version, m.algorithm,
       coalesce((m.metrics->>'rmse')::float8,
                CASE WHEN m.metrics->'gate'->>'metric' = 'rmse'
                     THEN (m.metrics->'gate'->>'candidate')::float8 END) AS rmse,
       coalesce(CASE WHEN m.metrics->>'k' = '10' THEN (m.metrics->>'ndcg_at_k')::float8 END,
                CASE WHEN m.metrics->'gate'->>'metric' = 'ndcg_at_10'
                     THEN (m.metrics->'gate'->>'candidate')::float8 END) AS ndcg_at_10,
       CASE WHEN m.metrics->'gate'->>'metric' = 'rmse'
            THEN (m.metrics->'gate'->>'baseline')::float8 END AS baseline_rmse,
       CASE WHEN m.metrics->'gate'->>'metric' = 'ndcg_at_10'
            THEN (m.metrics->'gate'->>'baseline')::float8 END AS baseline_ndcg_at_10,
       extract(epoch FROM now() - m.created_at)::float8 AS age_seconds,
       extract(epoch FROM m.created_at)::float8 AS trained_at_seconds,
       (SELECT count(*) FROM movierec.ratings r
         WHERE r.rated_at > coalesce(s.max_rated_at, m.created_at)) AS ratings_since_training,
       m.n_users, m.n_movies, m.n_ratings
  FROM (SELECT DISTINCT ON (x.model_name, x.stage) x.*
          FROM movierec.models x
         WHERE x.stage IN ('production', 'staging')
         ORDER BY x.model_name, x.stage, x.version DESC) m
  LEFT JOIN movierec.snapshots s ON s.snapshot_id = m.snapshot_id;
COMMENT ON VIEW movierec.model_gauges IS
    'Production and newest staging model of each name: RMSE and NDCG@10 as recorded, the gate''s baseline, age, ratings since training.';

-- Each model name: newest version, when it was trained, and its
-- retraining period when schedule_retraining scheduled it.
CREATE VIEW movierec.model_training_gauges AS
SELECT n.model_name AS model, n.last_trained_seconds, s.period_seconds
  FROM (SELECT model_name, extract(epoch FROM max(created_at))::float8 AS last_trained_seconds
          FROM movierec.models WHERE model_name NOT LIKE '\_gate\_%' GROUP BY model_name) n
  LEFT JOIN movierec._retrain_schedules() s USING (model_name);
COMMENT ON VIEW movierec.model_training_gauges IS
    'When each model name was last trained, and the period of its retraining schedule (pg_cron).';

-- Size of the catalogue and the user base, and the ratings written so far.
CREATE VIEW movierec.data_gauges AS
SELECT (SELECT count(*) FROM movierec.movies) AS movies,
       (SELECT count(DISTINCT user_id) FROM movierec.ratings) AS users,
       (SELECT count(*) FROM movierec.ratings) AS ratings,
       (SELECT count(DISTINCT user_id) FROM movierec.ratings
         WHERE rated_at > now() - interval '1 hour') AS active_users_1h,
       (SELECT coalesce(sum(n_tup_ins), 0) FROM pg_catalog.pg_stat_all_tables
         WHERE relid = 'movierec.ratings'::regclass) AS ratings_inserted;
COMMENT ON VIEW movierec.data_gauges IS
    'Movies, distinct users and ratings; users who rated in the last hour; ratings inserted since the server''s statistics were reset.';

-- Deployments (promotions, rollbacks, gate refusals) per model name and action.
CREATE VIEW movierec.deployment_counts AS
SELECT model_name AS model, action, count(*) AS deployments
  FROM movierec.deployments GROUP BY model_name, action;
COMMENT ON VIEW movierec.deployment_counts IS 'Promotions, rollbacks and gate refusals per model name.';

-- The monitoring role: pg_monitor plus SELECT on these views, nothing else
-- of movierec (the views read the tables with their owner's rights).
-- Roles are cluster-wide, so CREATE EXTENSION creates none: call this.
CREATE FUNCTION movierec.create_monitor_role(role_name name DEFAULT 'movierec_monitor')
    RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = role_name) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', role_name);
    END IF;
    EXECUTE format('GRANT pg_monitor TO %I', role_name);
    EXECUTE format('GRANT USAGE ON SCHEMA movierec TO %I', role_name);
    EXECUTE format('GRANT SELECT ON movierec.serving_stats, movierec.training_stats, '
                   'movierec.training_last_success, movierec.job_counts, movierec.model_gauges, '
                   'movierec.model_training_gauges, movierec.data_gauges, '
                   'movierec.deployment_counts TO %I', role_name);
END
$$;
COMMENT ON FUNCTION movierec.create_monitor_role(name) IS
    'Create (if missing) a login role for postgres_exporter: pg_monitor and SELECT on movierec''s statistics views only.';
REVOKE ALL ON FUNCTION movierec.create_monitor_role(name) FROM PUBLIC;
