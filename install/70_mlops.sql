-- MLOps: training jobs run by the background worker, scheduled retraining
-- through pg_cron, registry stages with a promotion gate and rollback,
-- data snapshots and lineage, and feature tables.  See doc/mlops.md.

------------------------------------------------------------------------------
-- Data snapshots: one row per training run.
------------------------------------------------------------------------------

CREATE TABLE movierec.snapshots (
    snapshot_id   bigserial PRIMARY KEY,
    source        text NOT NULL,
    user_col      name NOT NULL,
    item_col      name NOT NULL,
    rating_col    name NOT NULL,
    n_rows        bigint NOT NULL,
    min_rated_at  timestamptz,
    max_rated_at  timestamptz,
    checksum      text NOT NULL,
    txid_snapshot pg_snapshot NOT NULL,
    rows_table    text,
    created_by    name NOT NULL DEFAULT current_user,
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE movierec.snapshots IS
    'What each training run read: source, row count, rated_at range, content checksum, transaction snapshot; rows_table holds a materialized copy.';
COMMENT ON COLUMN movierec.snapshots.checksum IS
    'md5 of the row count and the sum of 64-bit hashes of (user, movie, rating::float8): independent of row order.';

ALTER TABLE movierec.models
    ADD CONSTRAINT models_snapshot_id_fkey FOREIGN KEY (snapshot_id)
    REFERENCES movierec.snapshots ON DELETE SET NULL;

-- Checksum, count and rated_at range of (user, item, rating) rows of a relation.
CREATE FUNCTION movierec._snapshot_stats(source regclass, user_col name, item_col name,
                                         rating_col name, OUT n_rows bigint,
                                         OUT min_rated_at timestamptz, OUT max_rated_at timestamptz,
                                         OUT checksum text)
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    has_time boolean;
BEGIN
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                   WHERE attrelid = source AND attname = 'rated_at'
                     AND NOT attisdropped AND attnum > 0
                     AND atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype))
      INTO has_time;
    EXECUTE format(
        'SELECT count(*), %s, %s, md5(count(*)::text || '':'' || coalesce(sum('
        'hashint8extended(%I::bigint, 1) # hashint8extended(%I::bigint, 2) '
        '# hashfloat8extended(%I::float8, 3))::text, ''0'')) FROM %s',
        CASE WHEN has_time THEN 'min(rated_at)::timestamptz' ELSE 'NULL::timestamptz' END,
        CASE WHEN has_time THEN 'max(rated_at)::timestamptz' ELSE 'NULL::timestamptz' END,
        user_col, item_col, rating_col, source)
      INTO n_rows, min_rated_at, max_rated_at, checksum;
END
$$;

-- Record (and with copy, materialize) the rows a training run reads.
-- Every column in cols exists in source (shared by take_snapshot and train_async).
CREATE FUNCTION movierec._check_columns(source regclass, cols name[]) RETURNS void
    LANGUAGE plpgsql STABLE AS
$$
DECLARE
    col name;
BEGIN
    FOREACH col IN ARRAY cols LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                       WHERE attrelid = source AND attname = col AND NOT attisdropped AND attnum > 0) THEN
            RAISE EXCEPTION 'column "%" does not exist in %', col, source
                USING ERRCODE = 'undefined_column',
                      HINT = 'Name the user, movie and rating columns with user_col, item_col and rating_col.';
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION movierec.take_snapshot(source regclass, materialize boolean DEFAULT false,
                                       user_col name DEFAULT 'user_id',
                                       item_col name DEFAULT 'movie_id',
                                       rating_col name DEFAULT 'rating')
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    sid bigint := nextval('movierec.snapshots_snapshot_id_seq');
    src text := format('%I.%I', (SELECT nspname FROM pg_catalog.pg_namespace n
                                 JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
                                 WHERE c.oid = source),
                       (SELECT relname FROM pg_catalog.pg_class WHERE oid = source));
    tbl text;
    st record;
BEGIN
    PERFORM movierec._check_columns(source, ARRAY[user_col, item_col, rating_col]);
    IF materialize THEN
        tbl := format('movierec.snapshot_%s', sid);
        EXECUTE format('CREATE TABLE %s AS SELECT %I::bigint AS user_id, %I::bigint AS movie_id, '
                       '%I AS rating%s FROM %s',
                       tbl, user_col, item_col, rating_col,
                       CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                                         WHERE attrelid = source AND attname = 'rated_at'
                                           AND NOT attisdropped AND attnum > 0)
                            THEN ', rated_at' ELSE '' END,
                       source);
        EXECUTE format('COMMENT ON TABLE %s IS %L', tbl,
                       format('movierec snapshot %s of %s', sid, src));
        st := movierec._snapshot_stats(tbl::regclass, 'user_id', 'movie_id', 'rating');
    ELSE
        st := movierec._snapshot_stats(source, user_col, item_col, rating_col);
    END IF;
    INSERT INTO movierec.snapshots (snapshot_id, source, user_col, item_col, rating_col, n_rows,
                                    min_rated_at, max_rated_at, checksum, txid_snapshot, rows_table)
    VALUES (sid, src, user_col, item_col, rating_col, st.n_rows, st.min_rated_at,
            st.max_rated_at, st.checksum, pg_catalog.pg_current_snapshot(), tbl);
    RETURN sid;
END
$$;
COMMENT ON FUNCTION movierec.take_snapshot IS
    'Record the rows of a source (count, rated_at range, checksum, transaction snapshot); with copy, also materialize them into movierec.snapshot_<id>.';

-- Every new model gets the snapshot of what it was trained on.
-- It runs as the extension's owner (a trainer needs no rights on
-- movierec.snapshots) but only reads a source the model's creator may read.
CREATE FUNCTION movierec._models_snapshot_trigger() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    src regclass := to_regclass(NEW.source);
    st record;
BEGIN
    IF NEW.snapshot_id IS NULL AND src IS NOT NULL
       AND has_table_privilege(NEW.created_by, src, 'SELECT') THEN
        -- trained from a materialized snapshot: that is its snapshot
        SELECT snapshot_id INTO NEW.snapshot_id FROM movierec.snapshots
         WHERE rows_table IS NOT NULL AND to_regclass(rows_table) = src
         ORDER BY snapshot_id DESC LIMIT 1;
        IF NEW.snapshot_id IS NULL THEN
            -- train() computed the statistics under the snapshot it read with
            st := movierec._train_read_stats(src);
            IF st.n_rows IS NOT NULL THEN
                INSERT INTO movierec.snapshots (source, user_col, item_col, rating_col, n_rows,
                                                min_rated_at, max_rated_at, checksum, txid_snapshot)
                SELECT format('%I.%I', n.nspname, c.relname), NEW.user_col, NEW.item_col,
                       NEW.rating_col, st.n_rows, st.min_rated_at, st.max_rated_at, st.checksum,
                       st.txid_snapshot
                  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = src
                RETURNING snapshot_id INTO NEW.snapshot_id;
            ELSE
                NEW.snapshot_id := movierec.take_snapshot(src, false, NEW.user_col, NEW.item_col,
                                                          NEW.rating_col);
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER models_snapshot BEFORE INSERT ON movierec.models
    FOR EACH ROW EXECUTE FUNCTION movierec._models_snapshot_trigger();

-- Rows added, removed and changed between two materialized snapshots.
CREATE FUNCTION movierec.snapshot_diff(a bigint, b bigint)
    RETURNS TABLE (change text, user_id bigint, movie_id bigint, rating_a float8, rating_b float8)
    LANGUAGE plpgsql AS
$$
DECLARE
    ta text;
    tb text;
    s bigint;
BEGIN
    FOREACH s IN ARRAY ARRAY[a, b] LOOP
        IF NOT EXISTS (SELECT 1 FROM movierec.snapshots WHERE snapshot_id = s) THEN
            RAISE EXCEPTION 'snapshot % does not exist', s
                USING ERRCODE = 'undefined_object',
                      HINT = 'List snapshots with SELECT * FROM movierec.snapshots.';
        END IF;
        IF (SELECT to_regclass(rows_table) FROM movierec.snapshots WHERE snapshot_id = s) IS NULL THEN
            RAISE EXCEPTION 'snapshot % has no materialized rows', s
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Only snapshots taken with params {"snapshot": "copy"} (or take_snapshot(..., materialize => true)) can be compared.';
        END IF;
    END LOOP;
    SELECT rows_table INTO ta FROM movierec.snapshots WHERE snapshot_id = a;
    SELECT rows_table INTO tb FROM movierec.snapshots WHERE snapshot_id = b;
    RETURN QUERY EXECUTE format(
        'SELECT CASE WHEN x.user_id IS NULL THEN ''added'' WHEN y.user_id IS NULL THEN ''removed'' '
        'ELSE ''changed'' END, coalesce(x.user_id, y.user_id), coalesce(x.movie_id, y.movie_id), '
        'x.rating::float8, y.rating::float8 '
        'FROM %s x FULL JOIN %s y ON x.user_id = y.user_id AND x.movie_id = y.movie_id '
        'WHERE x.user_id IS NULL OR y.user_id IS NULL OR x.rating::float8 <> y.rating::float8 '
        'ORDER BY 2, 3', ta, tb);
END
$$;
COMMENT ON FUNCTION movierec.snapshot_diff IS
    'Rows added (only in b), removed (only in a) and changed (other rating) between two materialized snapshots.';

------------------------------------------------------------------------------
-- Registry stages: promote, rollback, deployments.
------------------------------------------------------------------------------

CREATE TABLE movierec.deployments (
    deployment_id bigserial PRIMARY KEY,
    model_name    text NOT NULL,
    action        text NOT NULL CHECK (action IN ('promote', 'rollback', 'rejected')),
    from_model_id bigint,
    to_model_id   bigint,
    reason        text NOT NULL,
    metrics       jsonb NOT NULL DEFAULT '{}',
    job_id        bigint,
    deployed_by   name NOT NULL DEFAULT current_user,
    deployed_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE movierec.deployments IS
    'Every change of a production model (and every gate refusal): when, who, from, to, why, and the metrics compared.';
CREATE INDEX deployments_model_name_idx ON movierec.deployments (model_name, deployment_id);

CREATE FUNCTION movierec.promote(model_id bigint, reason text DEFAULT 'manual promotion')
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    mname text;
    metrics jsonb;
BEGIN
    SELECT m.model_name INTO mname FROM movierec.models m WHERE m.model_id = promote.model_id;
    SELECT jsonb_build_object(
               'to', (SELECT m.metrics FROM movierec.models m WHERE m.model_id = promote.model_id),
               'from', (SELECT m.metrics FROM movierec.models m
                         WHERE m.model_name = mname AND m.stage = 'production'))
      INTO metrics;
    RETURN movierec._deploy(model_id, 'promote', reason, metrics);
END
$$;
COMMENT ON FUNCTION movierec.promote IS
    'Make a model the production model of its name (the previous one is archived) and log it in movierec.deployments; returns the deployment id.';

CREATE FUNCTION movierec.rollback(model_name text, reason text DEFAULT 'rollback')
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    cur bigint;
    prev bigint;
BEGIN
    SELECT m.model_id INTO cur FROM movierec.models m
     WHERE m.model_name = rollback.model_name AND m.stage = 'production';
    IF cur IS NULL THEN
        RAISE EXCEPTION 'model "%" has no production model', model_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Promote one with movierec.promote(model_id).';
    END IF;
    -- the model the current one replaced when it was promoted
    SELECT d.from_model_id INTO prev FROM movierec.deployments d
     WHERE d.model_name = rollback.model_name AND d.to_model_id = cur AND d.action = 'promote'
     ORDER BY d.deployment_id DESC LIMIT 1;
    IF prev IS NULL THEN
        RAISE EXCEPTION 'model "%" has no earlier production model to roll back to', model_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'See its history with SELECT * FROM movierec.deployments WHERE model_name = ''...''.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM movierec.models m WHERE m.model_id = prev) THEN
        RAISE EXCEPTION 'the earlier production model % of "%" has been dropped', prev, model_name
            USING ERRCODE = 'undefined_object',
                  HINT = 'Promote an existing version with movierec.promote(model_id).';
    END IF;
    RETURN movierec._deploy(prev, 'rollback', reason,
                            jsonb_build_object(
                                'to', (SELECT m.metrics FROM movierec.models m WHERE m.model_id = prev),
                                'from', (SELECT m.metrics FROM movierec.models m WHERE m.model_id = cur)));
END
$$;
COMMENT ON FUNCTION movierec.rollback IS
    'Bring back the production model that the current one replaced; logged in movierec.deployments.';

------------------------------------------------------------------------------
-- The promotion gate.
------------------------------------------------------------------------------

-- promotion_gate() is defined in install/64_ease.sql (0.2: ranking metric for ease).
-- movierec._deploy (used by promote and rollback) is in install/85_scale.sql
-- (0.2: it refuses to run on a hot standby).

------------------------------------------------------------------------------
-- Jobs: the queue served by the background worker.
------------------------------------------------------------------------------

CREATE TABLE movierec.jobs (
    job_id       bigserial PRIMARY KEY,
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    model_name   text NOT NULL CHECK (model_name <> ''),
    algorithm    text NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}',
    source       text NOT NULL,
    user_col     name NOT NULL DEFAULT 'user_id',
    item_col     name NOT NULL DEFAULT 'movie_id',
    rating_col   name NOT NULL DEFAULT 'rating',
    promote      text NOT NULL DEFAULT 'never' CHECK (promote IN ('never', 'if_better', 'always')),
    owner        regrole NOT NULL DEFAULT current_user::regrole,
    max_retries  int NOT NULL DEFAULT 0 CHECK (max_retries BETWEEN 0 AND 10),
    attempt      int NOT NULL DEFAULT 1,
    retry_of     bigint REFERENCES movierec.jobs ON DELETE SET NULL,
    queued_at    timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    worker_pid   int,
    model_id     bigint REFERENCES movierec.models ON DELETE SET NULL,
    error        text,
    error_detail text,
    error_hint   text
);
COMMENT ON TABLE movierec.jobs IS
    'Training jobs: queued by train_async, run by the background worker as the role that queued them.';
CREATE INDEX jobs_queued_idx ON movierec.jobs (job_id) WHERE state = 'queued';

CREATE FUNCTION movierec._worker_check() RETURNS void
    AS 'MODULE_PATHNAME', 'movierec_worker_check' LANGUAGE C;
CREATE FUNCTION movierec._worker_wake() RETURNS void
    AS 'MODULE_PATHNAME', 'movierec_worker_wake' LANGUAGE C;
CREATE FUNCTION movierec._job_signal_cancel(job_id bigint) RETURNS boolean
    AS 'MODULE_PATHNAME', 'movierec_job_signal_cancel' LANGUAGE C STRICT;
CREATE FUNCTION movierec._job_wait(job_id bigint, timeout_ms int) RETURNS boolean
    AS 'MODULE_PATHNAME', 'movierec_job_wait' LANGUAGE C STRICT;
CREATE FUNCTION movierec.worker_status() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'movierec_worker_status' LANGUAGE C;
COMMENT ON FUNCTION movierec.worker_status() IS
    'Whether the training launcher runs, the database it serves, and the jobs running now.';

-- movierec._check_job_request: install/85_scale.sql.
CREATE FUNCTION movierec.train_async(model_name text, algorithm text DEFAULT 'als',
                                     params jsonb DEFAULT '{}',
                                     source regclass DEFAULT 'movierec.ratings',
                                     user_col name DEFAULT 'user_id',
                                     item_col name DEFAULT 'movie_id',
                                     rating_col name DEFAULT 'rating',
                                     promote text DEFAULT 'never',
                                     max_retries int DEFAULT 0)
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    id bigint;
    served jsonb;
BEGIN
    PERFORM movierec._worker_check();
    PERFORM movierec._check_job_request(model_name, promote);
    IF max_retries IS NULL OR max_retries NOT BETWEEN 0 AND 10 THEN
        RAISE EXCEPTION 'max_retries must be between 0 and 10'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Retries re-queue a job that a server restart or crash interrupted.';
    END IF;
    IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'params must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass e.g. ''{"factors": 64}''.';
    END IF;
    IF params ? 'snapshot' AND (params->>'snapshot') IS DISTINCT FROM 'copy'
       AND (params->>'snapshot') IS DISTINCT FROM 'record' THEN
        RAISE EXCEPTION 'params key "snapshot" must be "copy" or "record"'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '"copy" materializes the training rows so that movierec.retrain() can reproduce the model.';
    END IF;
    PERFORM movierec._check_columns(source, ARRAY[user_col, item_col, rating_col]);

    INSERT INTO movierec.jobs (model_name, algorithm, params, source, user_col, item_col,
                               rating_col, promote, max_retries)
    VALUES (model_name, algorithm, params,
            (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source),
            user_col, item_col, rating_col, promote, max_retries)
    RETURNING job_id INTO id;
    PERFORM movierec._worker_wake();

    served := movierec.worker_status();
    IF NOT (served->>'serves_this_database')::boolean THEN
        RAISE WARNING 'job % is queued in database "%", but the training worker serves database "%"',
                      id, current_database(), served->>'database'
            USING HINT = format('Set movierec.database = %L in postgresql.conf and reload.',
                                current_database());
    END IF;
    RETURN id;
END
$$;
COMMENT ON FUNCTION movierec.train_async IS
    'Queue a training job for the background worker; returns its job id at once.';

-- What a job runs, as the role that queued it (called by the job worker).
CREATE FUNCTION movierec.run_training_job(job_id bigint, model_name text, algorithm text,
                                          params jsonb, source regclass, user_col name,
                                          item_col name, rating_col name, promote text)
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    train_params jsonb := params - 'snapshot';
    src regclass := source;
    ucol name := user_col;
    icol name := item_col;
    rcol name := rating_col;
    sid bigint;
    mid bigint;
    decision jsonb;
    prod bigint;
BEGIN
    IF params->>'snapshot' = 'copy' THEN
        sid := movierec.take_snapshot(source, true, user_col, item_col, rating_col);
        SELECT rows_table::regclass INTO src FROM movierec.snapshots WHERE snapshot_id = sid;
        ucol := 'user_id'; icol := 'movie_id'; rcol := 'rating';
    END IF;
    IF promote = 'if_better' THEN
        decision := movierec.promotion_gate(model_name, algorithm, train_params, src, ucol, icol, rcol);
    END IF;
    mid := movierec.train(model_name, algorithm, train_params, src, ucol, icol, rcol);
    IF run_training_job.params ? 'snapshot' THEN
        UPDATE movierec.models m
           SET params = m.params || jsonb_build_object('snapshot', run_training_job.params->'snapshot')
         WHERE m.model_id = mid;
    END IF;
    IF promote = 'always' THEN
        PERFORM movierec._deploy(mid, 'promote', format('job %s: promote always', job_id), '{}', job_id);
    ELSIF promote = 'if_better' THEN
        UPDATE movierec.models m SET metrics = m.metrics || jsonb_build_object('gate', decision)
         WHERE m.model_id = mid;
        IF (decision->>'promote')::boolean THEN
            PERFORM movierec._deploy(mid, 'promote', format('job %s: %s', job_id, decision->>'reason'),
                                     decision, job_id);
        ELSE
            SELECT m.model_id INTO prod FROM movierec.models m
             WHERE m.model_name = run_training_job.model_name AND m.stage = 'production';
            INSERT INTO movierec.deployments (model_name, action, from_model_id, to_model_id,
                                              reason, metrics, job_id)
            VALUES (model_name, 'rejected', prod, mid,
                    format('job %s: %s', job_id, decision->>'reason'), decision, job_id);
        END IF;
    END IF;
    RETURN mid;
END
$$;
COMMENT ON FUNCTION movierec.run_training_job IS
    'The body of a training job: snapshot, gate, train, promote.  The background worker calls it; it can also be called directly.';

CREATE FUNCTION movierec.cancel_job(job_id bigint) RETURNS text
    LANGUAGE plpgsql AS
$$
DECLARE
    j movierec.jobs;
BEGIN
    PERFORM movierec._worker_check();
    SELECT * INTO j FROM movierec.jobs x WHERE x.job_id = cancel_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', job_id
            USING ERRCODE = 'undefined_object', HINT = 'List jobs with SELECT * FROM movierec.jobs.';
    END IF;
    IF NOT pg_catalog.pg_has_role(current_user, j.owner::oid, 'USAGE') THEN
        RAISE EXCEPTION 'permission denied to cancel job %', job_id
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('Only members of role %s can cancel it.', j.owner);
    END IF;
    UPDATE movierec.jobs x SET state = 'cancelled', finished_at = clock_timestamp(),
           error = 'cancelled by ' || current_user
     WHERE x.job_id = cancel_job.job_id AND x.state = 'queued';
    IF FOUND THEN
        RETURN 'cancelled';
    END IF;
    -- running (or just claimed): stop its worker, wait for it to record the end
    IF movierec._job_signal_cancel(job_id) THEN
        PERFORM movierec._job_wait(job_id, 10000);
    END IF;
    SELECT x.state INTO j.state FROM movierec.jobs x WHERE x.job_id = cancel_job.job_id;
    IF j.state IN ('succeeded', 'failed') THEN
        RAISE NOTICE 'job % had already finished: %', job_id, j.state;
    END IF;
    RETURN j.state;
END
$$;
COMMENT ON FUNCTION movierec.cancel_job IS
    'Stop a queued or running job; returns its state afterwards (cancelled, or how it had already ended).';

-- Reproduce a model from its materialized snapshot.
CREATE FUNCTION movierec.retrain(model_id bigint) RETURNS bigint
    LANGUAGE plpgsql AS
$$
DECLARE
    m movierec.models;
    s movierec.snapshots;
    mid bigint;
BEGIN
    SELECT * INTO m FROM movierec.models x WHERE x.model_id = retrain.model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', model_id
            USING ERRCODE = 'undefined_object',
                  HINT = 'List models with SELECT model_id, model_name, version FROM movierec.models.';
    END IF;
    SELECT * INTO s FROM movierec.snapshots x WHERE x.snapshot_id = m.snapshot_id;
    IF s.rows_table IS NULL THEN
        RAISE EXCEPTION 'model % has no materialized snapshot', model_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Train with params {"snapshot": "copy"} to keep the rows a model was trained on.';
    END IF;
    IF to_regclass(s.rows_table) IS NULL THEN
        RAISE EXCEPTION 'the rows of snapshot % (table %) have been dropped', s.snapshot_id, s.rows_table
            USING ERRCODE = 'undefined_table',
                  HINT = 'The model can no longer be reproduced; train a new one.';
    END IF;
    mid := movierec.train(m.model_name, m.algorithm, m.params - 'snapshot', to_regclass(s.rows_table));
    UPDATE movierec.models x SET parent_model_id = m.model_id,
           params = x.params || jsonb_build_object('snapshot', 'copy')
     WHERE x.model_id = mid;
    RETURN mid;
END
$$;
COMMENT ON FUNCTION movierec.retrain IS
    'Train a new version of a model from its materialized snapshot with its stored params; the result has parent_model_id set.';

------------------------------------------------------------------------------
-- Scheduled retraining through pg_cron.
------------------------------------------------------------------------------

CREATE FUNCTION movierec._require_pg_cron() RETURNS void
    LANGUAGE plpgsql AS
$$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'scheduled retraining needs the pg_cron extension in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('Install Debian''s postgresql-15-cron package, add pg_cron to '
                                'shared_preload_libraries, set cron.database_name = %L, restart, '
                                'and run CREATE EXTENSION pg_cron.', current_database());
    END IF;
END
$$;

CREATE FUNCTION movierec.schedule_retraining(model_name text, schedule text,
                                             algorithm text DEFAULT 'als',
                                             params jsonb DEFAULT '{}',
                                             source regclass DEFAULT 'movierec.ratings',
                                             promote text DEFAULT 'if_better')
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    cmd text;
    id bigint;
BEGIN
    PERFORM movierec._worker_check();
    PERFORM movierec._require_pg_cron();
    PERFORM movierec._check_job_request(model_name, promote);
    cmd := format('SELECT movierec.train_async(%L, %L, %L::jsonb, %L::regclass, promote => %L)',
                  model_name, algorithm, params,
                  (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source),
                  promote);
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO id
        USING 'movierec retrain ' || model_name, schedule, cmd;
    RETURN id;
END
$$;
COMMENT ON FUNCTION movierec.schedule_retraining IS
    'Create (or replace) a pg_cron job named "movierec retrain <model_name>" that queues a train_async; returns the cron job id.';

CREATE FUNCTION movierec.unschedule_retraining(model_name text) RETURNS boolean
    LANGUAGE plpgsql AS
$$
DECLARE
    found_it boolean;
BEGIN
    PERFORM movierec._worker_check();
    PERFORM movierec._require_pg_cron();
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job WHERE jobname = $1)' INTO found_it
        USING 'movierec retrain ' || model_name;
    IF NOT found_it THEN
        RAISE EXCEPTION 'no retraining is scheduled for model "%"', model_name
            USING ERRCODE = 'undefined_object',
                  HINT = 'List schedules with SELECT jobname, schedule FROM cron.job.';
    END IF;
    EXECUTE 'SELECT cron.unschedule($1)' INTO found_it USING 'movierec retrain ' || model_name;
    RETURN found_it;
END
$$;
COMMENT ON FUNCTION movierec.unschedule_retraining IS
    'Remove the pg_cron job that schedule_retraining created for a model.';

------------------------------------------------------------------------------
-- Features.
------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW movierec.user_features AS
WITH per_user AS (
    SELECT user_id, count(*) AS n_ratings, avg(rating)::float8 AS mean_rating,
           coalesce(stddev_samp(rating), 0)::float8 AS stddev_rating,
           min(rated_at) AS first_rated, max(rated_at) AS last_rated
      FROM movierec.ratings GROUP BY user_id
), liked AS (
    SELECT r.user_id, g.genre, count(*) AS n,
           row_number() OVER (PARTITION BY r.user_id ORDER BY count(*) DESC, g.genre) AS rk
      FROM movierec.ratings r
      JOIN movierec.movies m ON m.movie_id = r.movie_id
     CROSS JOIN LATERAL unnest(m.genres) AS g(genre)
     WHERE r.rating >= 4
     GROUP BY r.user_id, g.genre
), top AS (
    SELECT user_id, array_agg(genre ORDER BY rk) AS favourite_genres
      FROM liked WHERE rk <= 3 GROUP BY user_id
)
SELECT u.user_id, u.n_ratings, u.mean_rating, u.stddev_rating, u.first_rated, u.last_rated,
       coalesce(t.favourite_genres, '{}') AS favourite_genres
  FROM per_user u LEFT JOIN top t USING (user_id)
WITH NO DATA;
CREATE UNIQUE INDEX user_features_user_id_idx ON movierec.user_features (user_id);
COMMENT ON MATERIALIZED VIEW movierec.user_features IS
    'Per user: ratings, mean, sample stddev, first and last rated, top 3 genres among movies rated >= 4. Refresh with movierec.refresh_features().';

CREATE MATERIALIZED VIEW movierec.movie_features AS
WITH per_movie AS (
    SELECT movie_id, count(*) AS n_ratings, avg(rating)::float8 AS mean_rating,
           sum(rating)::float8 AS total,
           count(*) FILTER (WHERE rated_at >= now() - interval '30 days') AS ratings_last_30_days
      FROM movierec.ratings GROUP BY movie_id
), glob AS (
    SELECT coalesce(avg(rating), 0)::float8 AS mu FROM movierec.ratings
), joined AS (
    SELECT coalesce(m.movie_id, p.movie_id) AS movie_id, coalesce(p.n_ratings, 0) AS n_ratings,
           p.mean_rating, (coalesce(p.total, 0) + 10 * g.mu) / (coalesce(p.n_ratings, 0) + 10) AS damped_mean,
           coalesce(m.genres, '{}') AS genres, m.year,
           coalesce(p.ratings_last_30_days, 0) AS ratings_last_30_days
      FROM movierec.movies m FULL JOIN per_movie p ON p.movie_id = m.movie_id CROSS JOIN glob g
)
SELECT movie_id, n_ratings, mean_rating, damped_mean,
       row_number() OVER (ORDER BY n_ratings DESC, movie_id) AS popularity_rank,
       genres, year, ratings_last_30_days
  FROM joined
WITH NO DATA;
CREATE UNIQUE INDEX movie_features_movie_id_idx ON movierec.movie_features (movie_id);
COMMENT ON MATERIALIZED VIEW movierec.movie_features IS
    'Per movie: ratings, mean, damped mean (10 pseudo-ratings at the global mean), popularity rank (1 = most rated), genres, year, ratings in the 30 days before the refresh.';

CREATE FUNCTION movierec.refresh_features() RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    t0 timestamptz := clock_timestamp();
    t1 timestamptz;
    v text;
    timings jsonb := '{}';
BEGIN
    FOREACH v IN ARRAY ARRAY['user_features', 'movie_features'] LOOP
        t1 := clock_timestamp();
        -- CONCURRENTLY keeps readers going; it needs a populated view (first refresh)
        IF (SELECT relispopulated FROM pg_class WHERE oid = ('movierec.' || v)::regclass) THEN
            EXECUTE format('REFRESH MATERIALIZED VIEW CONCURRENTLY movierec.%I', v);
        ELSE
            EXECUTE format('REFRESH MATERIALIZED VIEW movierec.%I', v);
        END IF;
        timings := timings || jsonb_build_object(v || '_seconds',
                                                 round(extract(epoch FROM clock_timestamp() - t1)::numeric, 3));
    END LOOP;
    RETURN timings || jsonb_build_object(
        'users', (SELECT count(*) FROM movierec.user_features),
        'movies', (SELECT count(*) FROM movierec.movie_features),
        'seconds', round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3));
END
$$;
COMMENT ON FUNCTION movierec.refresh_features() IS
    'Refresh user_features and movie_features (concurrently once populated, so readers are never blocked); returns row counts and durations.';
REVOKE EXECUTE ON FUNCTION movierec.refresh_features() FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('movierec.jobs', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.jobs_job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.deployments', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.deployments_deployment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.snapshots', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.snapshots_snapshot_id_seq', '');
