-- since 0.2
-- Data drift and online performance tracking: drift_report() compares the
-- ratings that arrived after a model was trained with the ratings it was
-- trained on; track_performance() records the production models' online
-- RMSE, MAE and NDCG@10 with the drift figures in performance_history.
-- See doc/experiments.md, "Drift".

-- PSI and Jensen-Shannon distance of two histograms over the same bins.
-- Empty bins get a share of 1e-4 before renormalising (PSI is undefined at 0).
CREATE FUNCTION movierec._distribution_distance(expected float8[], actual float8[])
    RETURNS jsonb LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS
$$
    WITH raw AS (
        SELECT i, coalesce(e, 0) AS e, coalesce(a, 0) AS a
          FROM unnest(expected, actual) WITH ORDINALITY AS t(e, a, i)
    ), tot AS (SELECT sum(e) AS se, sum(a) AS sa FROM raw),
    sm AS (
        SELECT i, greatest(e / nullif(se, 0), 1e-4) AS e, greatest(a / nullif(sa, 0), 1e-4) AS a
          FROM raw, tot
    ), p AS (
        SELECT i, e / sum(e) OVER () AS e, a / sum(a) OVER () AS a FROM sm
    ), js AS (
        SELECT sum(CASE WHEN e > 0 THEN 0.5 * e * log(2, (e / ((e + a) / 2))::numeric) ELSE 0 END
                 + CASE WHEN a > 0 THEN 0.5 * a * log(2, (a / ((e + a) / 2))::numeric) ELSE 0 END) AS d,
               sum((a - e) * ln(a / e)) AS psi
          FROM p
    )
    SELECT CASE WHEN (SELECT se FROM tot) > 0 AND (SELECT sa FROM tot) > 0 THEN
        jsonb_build_object('psi', round(psi::numeric, 6)::float8,
                           'js_distance', round(sqrt(greatest(d, 0))::numeric, 6)::float8,
                           'band', CASE WHEN psi >= 0.25 THEN 'major' WHEN psi >= 0.1 THEN 'moderate'
                                        ELSE 'none' END)
        ELSE jsonb_build_object('psi', 0, 'js_distance', 0, 'band', 'none') END
      FROM js
$$;

-- Distances of a numeric quantity between baseline and recent values,
-- binned at the baseline's deciles (the usual PSI binning).
CREATE FUNCTION movierec._decile_distance(baseline float8[], recent float8[])
    RETURNS jsonb LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS
$$
    WITH cuts AS (
        SELECT array_agg(DISTINCT c ORDER BY c) AS c FROM (
            SELECT percentile_disc(q) WITHIN GROUP (ORDER BY v) AS c
              FROM unnest(baseline) v, unnest(ARRAY[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) q
             GROUP BY q) s
    ), b AS (
        SELECT width_bucket(v, (SELECT c FROM cuts)) AS k, count(*) AS n FROM unnest(baseline) v GROUP BY 1
    ), r AS (
        SELECT width_bucket(v, (SELECT c FROM cuts)) AS k, count(*) AS n FROM unnest(recent) v GROUP BY 1
    ), allk AS (
        SELECT generate_series(0, coalesce(cardinality((SELECT c FROM cuts)), 0)) AS k
    )
    SELECT CASE WHEN cardinality(baseline) = 0 OR cardinality(recent) = 0
                THEN jsonb_build_object('psi', 0, 'js_distance', 0, 'band', 'none', 'n_baseline',
                                        cardinality(baseline), 'n_recent', cardinality(recent))
           ELSE movierec._distribution_distance(
                    array_agg(coalesce(b.n, 0)::float8 ORDER BY allk.k),
                    array_agg(coalesce(r.n, 0)::float8 ORDER BY allk.k))
                || jsonb_build_object('n_baseline', cardinality(baseline), 'n_recent', cardinality(recent))
           END
      FROM allk LEFT JOIN b USING (k) LEFT JOIN r USING (k)
$$;

-- A model by name (production version, else newest), id as text, or NULL
-- (the production model most recently deployed).
CREATE FUNCTION movierec._resolve_model(model text) RETURNS movierec.models
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    m movierec.models;
BEGIN
    IF model IS NULL THEN
        SELECT x.* INTO m FROM movierec.models x
          LEFT JOIN (SELECT to_model_id, max(deployment_id) AS d FROM movierec.deployments
                      GROUP BY 1) d ON d.to_model_id = x.model_id
         WHERE x.stage = 'production' ORDER BY d.d DESC NULLS LAST, x.model_id DESC LIMIT 1;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'there is no production model'
                USING ERRCODE = 'undefined_object',
                      HINT = 'Promote one with movierec.promote(model_id), or name a model.';
        END IF;
        RETURN m;
    END IF;
    IF model ~ '^[0-9]+$' THEN
        SELECT * INTO m FROM movierec.models x WHERE x.model_id = model::bigint;
    END IF;
    IF m.model_id IS NULL THEN
        SELECT * INTO m FROM movierec.models x WHERE x.model_name = model
         ORDER BY x.stage = 'production' DESC, x.version DESC LIMIT 1;
    END IF;
    IF m.model_id IS NULL THEN
        RAISE EXCEPTION 'model "%" does not exist', model
            USING ERRCODE = 'undefined_object',
                  HINT = 'Pass a model name or model_id from movierec.models, or NULL for the production model.';
    END IF;
    RETURN m;
END
$$;

CREATE FUNCTION movierec.drift_report(model text DEFAULT NULL, since timestamptz DEFAULT NULL)
    RETURNS jsonb LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    m movierec.models := movierec._resolve_model(model);
    s movierec.snapshots;
    t0 timestamptz;
    base_rel text;
    base_cut timestamptz;
    n_recent bigint;
    n_base bigint;
    hb float8[]; hr float8[];
    rating_d jsonb;
    activity_d jsonb;
    ub float8[]; ur float8[];
    feat jsonb := '{}';
    ev jsonb := '{}';
    nu float8; nm float8;
BEGIN
    SELECT * INTO s FROM movierec.snapshots x WHERE x.snapshot_id = m.snapshot_id;
    t0 := coalesce(since, m.created_at);
    IF s.rows_table IS NOT NULL AND to_regclass(s.rows_table) IS NOT NULL THEN
        base_rel := s.rows_table;
    ELSIF to_regclass(m.source) IS NOT NULL THEN
        base_rel := m.source;
    ELSE
        RAISE EXCEPTION 'the ratings model % was trained on (%) are gone', m.model_id, m.source
            USING ERRCODE = 'undefined_table',
                  HINT = 'Train with params {"snapshot": "copy"} to keep them.';
    END IF;
    -- the training rows: the snapshot's rows, or the source up to its newest rated_at
    base_cut := coalesce(s.max_rated_at, m.created_at);

    IF to_regclass('pg_temp.mr_drift_recent') IS NOT NULL THEN
        DROP TABLE pg_temp.mr_drift_recent;
    END IF;
    IF to_regclass('pg_temp.mr_drift_base') IS NOT NULL THEN
        DROP TABLE pg_temp.mr_drift_base;
    END IF;
    CREATE TEMP TABLE mr_drift_recent AS
        SELECT user_id, movie_id, rating::float8 AS rating FROM movierec.ratings WHERE rated_at > t0;
    GET DIAGNOSTICS n_recent = ROW_COUNT;
    EXECUTE format('CREATE TEMP TABLE mr_drift_base AS SELECT %I::bigint AS user_id, %I::bigint AS movie_id, '
                   '%I::float8 AS rating FROM %s %s', m.user_col, m.item_col, m.rating_col, base_rel,
                   CASE WHEN base_rel = m.source AND EXISTS (
                            SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass(base_rel)
                               AND attname = 'rated_at' AND NOT attisdropped AND attnum > 0)
                        THEN format('WHERE rated_at <= %L', base_cut) ELSE '' END);
    GET DIAGNOSTICS n_base = ROW_COUNT;

    IF n_recent = 0 OR n_base = 0 THEN
        RETURN jsonb_build_object(
            'model_id', m.model_id, 'model', m.model_name, 'since', t0,
            'n_recent', n_recent, 'n_baseline', n_base, 'has_data', false,
            'message', CASE WHEN n_recent = 0 THEN format('no ratings since %s: every figure is zero', t0)
                            ELSE 'no training ratings to compare with: every figure is zero' END,
            'psi', 0, 'js_distance', 0, 'band', 'none', 'new_user_share', 0, 'new_movie_share', 0,
            'online_rmse', 0, 'online_mae', 0, 'activity', jsonb_build_object('psi', 0, 'js_distance', 0),
            'features', '{}'::jsonb);
    END IF;

    -- rating values: the ten half-star bins
    SELECT array_agg(coalesce(b.n, 0)::float8 ORDER BY g), array_agg(coalesce(r.n, 0)::float8 ORDER BY g)
      INTO hb, hr
      FROM generate_series(1, 10) g
      LEFT JOIN (SELECT least(10, greatest(1, round(rating * 2)::int)) AS g, count(*) AS n
                   FROM mr_drift_base GROUP BY 1) b USING (g)
      LEFT JOIN (SELECT least(10, greatest(1, round(rating * 2)::int)) AS g, count(*) AS n
                   FROM mr_drift_recent GROUP BY 1) r USING (g);
    rating_d := movierec._distribution_distance(hb, hr);

    -- per-user activity: users by ratings in the period, bins 1, 2-3, 4-7, ... (log2)
    SELECT array_agg(coalesce(b.n, 0)::float8 ORDER BY g), array_agg(coalesce(r.n, 0)::float8 ORDER BY g)
      INTO hb, hr
      FROM generate_series(0, 20) g
      LEFT JOIN (SELECT least(20, floor(log(2, c::numeric))::int) AS g, count(*) AS n
                   FROM (SELECT count(*) AS c FROM mr_drift_base GROUP BY user_id) x GROUP BY 1) b USING (g)
      LEFT JOIN (SELECT least(20, floor(log(2, c::numeric))::int) AS g, count(*) AS n
                   FROM (SELECT count(*) AS c FROM mr_drift_recent GROUP BY user_id) x GROUP BY 1) r USING (g);
    activity_d := movierec._distribution_distance(hb, hr);

    -- feature drift: the numeric columns of user_features / movie_features,
    -- computed over each period's ratings, binned at the baseline deciles
    SELECT array_agg(c), array_agg(mu), array_agg(sd) INTO ub, hb, hr FROM (
        SELECT count(*)::float8 AS c, avg(rating) AS mu, coalesce(stddev_samp(rating), 0) AS sd
          FROM mr_drift_base GROUP BY user_id) x;
    SELECT feat || jsonb_build_object('user_features', jsonb_build_object(
               'n_ratings', movierec._decile_distance(ub, (SELECT array_agg(c) FROM (SELECT count(*)::float8 AS c FROM mr_drift_recent GROUP BY user_id) y)),
               'mean_rating', movierec._decile_distance(hb, (SELECT array_agg(mu) FROM (SELECT avg(rating) AS mu FROM mr_drift_recent GROUP BY user_id) y)),
               'stddev_rating', movierec._decile_distance(hr, (SELECT array_agg(sd) FROM (SELECT coalesce(stddev_samp(rating), 0) AS sd FROM mr_drift_recent GROUP BY user_id) y))))
      INTO feat;
    SELECT array_agg(c), array_agg(mu) INTO ub, hb FROM (
        SELECT count(*)::float8 AS c, avg(rating) AS mu FROM mr_drift_base GROUP BY movie_id) x;
    SELECT feat || jsonb_build_object('movie_features', jsonb_build_object(
               'n_ratings', movierec._decile_distance(ub, (SELECT array_agg(c) FROM (SELECT count(*)::float8 AS c FROM mr_drift_recent GROUP BY movie_id) y)),
               'mean_rating', movierec._decile_distance(hb, (SELECT array_agg(mu) FROM (SELECT avg(rating) AS mu FROM mr_drift_recent GROUP BY movie_id) y))))
      INTO feat;

    -- users and movies the model does not know
    SELECT avg((NOT EXISTS (SELECT 1 FROM movierec.user_factors f WHERE f.model_id = m.model_id
                             AND f.user_id = r.user_id))::int),
           avg((NOT EXISTS (SELECT 1 FROM movierec.item_factors f WHERE f.model_id = m.model_id
                             AND f.movie_id = r.movie_id))::int)
      INTO nu, nm FROM mr_drift_recent r;

    -- online accuracy: evaluate() on the recent ratings, the model's metrics kept as they were
    -- evaluate() excludes each user's training movies from ranking, so it reads
    -- the training rows: point it at mr_drift_base (it checks their count)
    BEGIN
        UPDATE movierec.models x SET source = 'pg_temp.mr_drift_base', user_col = 'user_id',
               item_col = 'movie_id', rating_col = 'rating'
         WHERE x.model_id = m.model_id;
        ev := movierec.evaluate(m.model_id, 'pg_temp.mr_drift_recent'::regclass, 10)
              || jsonb_build_object('online_from', 'evaluate');
        RAISE SQLSTATE 'MRDR1';     -- undo the swap and the metrics evaluate() merged
    EXCEPTION
        WHEN SQLSTATE 'MRDR1' THEN NULL;
        WHEN OTHERS THEN
            -- the training rows cannot be told apart: rating error only, from the stored factors
            PERFORM set_config('movierec.fold_in', 'off', true);
            SELECT jsonb_build_object('rmse', sqrt(avg((p - rating) ^ 2)), 'mae', avg(abs(p - rating)),
                                      'online_from', 'predict')
              INTO ev
              FROM (SELECT r.rating, movierec.predict(r.user_id, r.movie_id, m.model_id::text) AS p
                      FROM mr_drift_recent r) x;
            PERFORM set_config('movierec.fold_in', 'on', true);
    END;

    RETURN jsonb_build_object(
        'model_id', m.model_id, 'model', m.model_name, 'algorithm', m.algorithm,
        'since', t0, 'baseline', base_rel, 'has_data', true, 'message', NULL,
        'n_recent', n_recent, 'n_baseline', n_base,
        'psi', rating_d->'psi', 'js_distance', rating_d->'js_distance', 'band', rating_d->'band',
        'bands', jsonb_build_object('moderate', 0.1, 'major', 0.25),
        'activity', activity_d,
        'new_user_share', round(nu::numeric, 6)::float8, 'new_movie_share', round(nm::numeric, 6)::float8,
        'online_rmse', ev->'rmse', 'online_mae', ev->'mae', 'online_from', ev->'online_from',
        'online_ndcg_at_10', CASE WHEN m.algorithm IN ('ials', 'popularity') THEN ev->'ndcg_at_k' END,
        'reference_rmse', m.metrics->'rmse',
        'features', feat);
END
$$;
COMMENT ON FUNCTION movierec.drift_report(text, timestamptz) IS
    'Ratings since a time (default: since the model was trained) against its training ratings: PSI and JS distance of rating values, per-user activity and feature columns; shares of unknown users and movies; online RMSE/MAE (NDCG@10 for ranking models).';

CREATE TABLE movierec.performance_history (
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    model_id         bigint NOT NULL REFERENCES movierec.models ON DELETE CASCADE,
    model_name       text NOT NULL,
    algorithm        text NOT NULL,
    n_recent         bigint NOT NULL,
    rmse             float8,
    mae              float8,
    ndcg_at_10       float8,
    reference_rmse   float8,
    psi              float8,
    js_distance      float8,
    new_user_share   float8,
    new_movie_share  float8,
    report           jsonb NOT NULL,
    PRIMARY KEY (model_id, recorded_at)
);
COMMENT ON TABLE movierec.performance_history IS
    'Online performance of production models over time: RMSE, MAE, NDCG@10 (ranking models) on ratings after training, the RMSE at training, and the drift figures; written by track_performance().';
COMMENT ON COLUMN movierec.performance_history.reference_rmse IS
    'The model''s RMSE when it was evaluated (models.metrics rmse), else its RMSE on a sample of 10,000 of its training ratings.';
SELECT pg_catalog.pg_extension_config_dump('movierec.performance_history', '');

CREATE FUNCTION movierec.track_performance(model text DEFAULT NULL) RETURNS int
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    m movierec.models;
    r jsonb;
    ref float8;
    n int := 0;
BEGIN
    FOR m IN SELECT * FROM movierec.models x
              WHERE CASE WHEN model IS NULL THEN x.stage = 'production'
                         ELSE x.model_id = (movierec._resolve_model(model)).model_id END
              ORDER BY x.model_id LOOP
        -- one model that cannot be tracked (its training rows dropped) does
        -- not stop the others: a warning, and the next model
        BEGIN
            r := movierec.drift_report(m.model_id::text);
            ref := (m.metrics->>'rmse')::float8;
            IF ref IS NULL AND (r->>'has_data')::boolean THEN
                -- the fit on a fixed sample of its training rows
                IF to_regclass('pg_temp.mr_drift_refsample') IS NOT NULL THEN
                    DROP TABLE pg_temp.mr_drift_refsample;
                END IF;
                CREATE TEMP TABLE mr_drift_refsample AS
                    SELECT * FROM pg_temp.mr_drift_base
                     ORDER BY hashint8(user_id * 1000003 + movie_id) LIMIT 10000;
                PERFORM set_config('movierec.fold_in', 'off', true);
                SELECT sqrt(avg((movierec.predict(x.user_id, x.movie_id, m.model_id::text) - x.rating) ^ 2))
                  INTO ref FROM pg_temp.mr_drift_refsample x;
                PERFORM set_config('movierec.fold_in', 'on', true);
            END IF;
            INSERT INTO movierec.performance_history (recorded_at, model_id, model_name, algorithm, n_recent,
                                                      rmse, mae, ndcg_at_10, reference_rmse, psi,
                                                      js_distance, new_user_share, new_movie_share, report)
            VALUES (clock_timestamp(), m.model_id, m.model_name, m.algorithm, (r->>'n_recent')::bigint,
                    CASE WHEN (r->>'has_data')::boolean THEN (r->>'online_rmse')::float8 END,
                    CASE WHEN (r->>'has_data')::boolean THEN (r->>'online_mae')::float8 END,
                    (r->>'online_ndcg_at_10')::float8, ref,
                    (r->>'psi')::float8, (r->>'js_distance')::float8,
                    (r->>'new_user_share')::float8, (r->>'new_movie_share')::float8,
                    r || jsonb_build_object('reference_rmse', ref));
            n := n + 1;
        EXCEPTION WHEN OTHERS THEN
            IF model IS NOT NULL THEN
                RAISE;
            END IF;
            RAISE WARNING 'model % (%) not tracked: %', m.model_id, m.model_name, SQLERRM;
        END;
    END LOOP;
    IF n = 0 AND model IS NULL THEN
        RAISE NOTICE 'no production model: nothing tracked'
            USING HINT = 'Promote a model with movierec.promote(model_id).';
    END IF;
    RETURN n;
END
$$;
COMMENT ON FUNCTION movierec.track_performance(text) IS
    'Record online RMSE, MAE, NDCG@10 and drift of the production models (or one model) in movierec.performance_history; returns rows written.';

CREATE FUNCTION movierec.schedule_performance_tracking(schedule text DEFAULT '0 * * * *',
                                                       model text DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'scheduled performance tracking needs the pg_cron extension in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Add pg_cron to shared_preload_libraries, set cron.database_name = %L, '
                                'restart, and run CREATE EXTENSION pg_cron.', current_database());
    END IF;
    IF model IS NOT NULL THEN
        PERFORM movierec._resolve_model(model);
    END IF;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO id
        USING 'movierec track performance', schedule,
              CASE WHEN model IS NULL THEN 'SELECT movierec.track_performance()'
                   ELSE format('SELECT movierec.track_performance(%L)', model) END;
    RETURN id;
END
$$;
COMMENT ON FUNCTION movierec.schedule_performance_tracking(text, text) IS
    'Create (or replace) the pg_cron job "movierec track performance" that runs track_performance() (default hourly, all production models); returns the cron job id.';

CREATE FUNCTION movierec.unschedule_performance_tracking() RETURNS boolean
    LANGUAGE plpgsql AS
$$
DECLARE
    found_it boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'scheduled performance tracking needs the pg_cron extension in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Nothing can be scheduled without it.';
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job WHERE jobname = $1)' INTO found_it
        USING 'movierec track performance';
    IF NOT found_it THEN
        RAISE EXCEPTION 'performance tracking is not scheduled'
            USING ERRCODE = 'undefined_object',
                  HINT = 'Schedule it with movierec.schedule_performance_tracking().';
    END IF;
    EXECUTE 'SELECT cron.unschedule($1)' INTO found_it USING 'movierec track performance';
    RETURN found_it;
END
$$;
COMMENT ON FUNCTION movierec.unschedule_performance_tracking() IS
    'Remove the pg_cron job of schedule_performance_tracking().';

-- The newest record of every tracked model: the exporter's view.
CREATE VIEW movierec.drift_status AS
SELECT DISTINCT ON (h.model_name) h.model_name, h.model_id, h.algorithm,
       extract(epoch FROM h.recorded_at)::float8 AS recorded_at_seconds,
       h.n_recent, h.rmse AS online_rmse, h.mae AS online_mae, h.ndcg_at_10 AS online_ndcg_at_10,
       h.reference_rmse, h.psi, h.js_distance,
       (h.report->'activity'->>'psi')::float8 AS activity_psi,
       h.new_user_share, h.new_movie_share
  FROM movierec.performance_history h
 ORDER BY h.model_name, h.recorded_at DESC;
COMMENT ON VIEW movierec.drift_status IS
    'Latest performance_history row per model name: online RMSE/MAE/NDCG, RMSE at training, PSI, JS distance, shares of unknown users and movies.';
GRANT SELECT ON movierec.drift_status TO pg_monitor;
