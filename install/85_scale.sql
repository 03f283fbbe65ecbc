-- since 0.2
-- Scale-out (doc/scale.md): what must run on a primary, and models whose
-- factors were trained elsewhere (Spark MLlib ALS) imported as they are.

------------------------------------------------------------------------------
-- Primary only.  A hot standby serves every read-only call; the calls that
-- write (train, train_async, promote, rollback, import_factors) fail there
-- at once with SQLSTATE 25006 and a hint (src/scale.c).
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION movierec._require_primary(what text) RETURNS void
    AS 'MODULE_PATHNAME', 'movierec_require_primary'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION movierec._require_primary(text) IS
    'Raise read_only_sql_transaction with a hint when this server is a hot standby.';

-- Make to_model the production model of its name; write the deployment row.
CREATE OR REPLACE FUNCTION movierec._deploy(to_model bigint, action text, reason text, metrics jsonb,
                                 job_id bigint DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    m movierec.models;
    cur bigint;
    dep bigint;
BEGIN PERFORM movierec._require_primary(action);  -- (one line: keeps the line numbers of errors)
    SELECT * INTO m FROM movierec.models WHERE model_id = to_model;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', to_model
            USING ERRCODE = 'undefined_object',
                  HINT = 'List models with SELECT model_id, model_name, version, stage FROM movierec.models.';
    END IF;
    -- one promotion per model name at a time
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('movierec.promote'),
                                             pg_catalog.hashtext(m.model_name));
    SELECT model_id INTO cur FROM movierec.models
     WHERE model_name = m.model_name AND stage = 'production' FOR UPDATE;
    IF cur = to_model THEN
        RAISE EXCEPTION 'model % is already the production model of "%"', to_model, m.model_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Promote another version, or use movierec.rollback() to go back.';
    END IF;
    UPDATE movierec.models SET stage = 'archived' WHERE model_id = cur;
    UPDATE movierec.models SET stage = 'production' WHERE model_id = to_model;
    INSERT INTO movierec.deployments (model_name, action, from_model_id, to_model_id, reason,
                                      metrics, job_id)
    VALUES (m.model_name, action, cur, to_model, reason, coalesce(metrics, '{}'), job_id)
    RETURNING deployment_id INTO dep;
    RETURN dep;
END
$$;

-- Arguments shared by train_async and schedule_retraining, checked at once.
CREATE OR REPLACE FUNCTION movierec._check_job_request(model_name text, promote text) RETURNS void
    LANGUAGE plpgsql STABLE AS
$$
BEGIN PERFORM movierec._require_primary('queueing a training job');  -- (keeps line numbers)
    IF model_name IS NULL OR model_name = '' THEN
        RAISE EXCEPTION 'model_name must not be empty'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the model a name, e.g. ''movies''.';
    END IF;
    IF promote IS NULL OR promote NOT IN ('never', 'if_better', 'always') THEN
        RAISE EXCEPTION 'promote must be ''never'', ''if_better'' or ''always'', not %',
                        coalesce(quote_literal(promote), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '''if_better'' promotes only a model that passes the promotion gate.';
    END IF;
END
$$;

-- The promotion gate (install/64_ease.sql) compares an imported production
-- model as it is, or retrains the recipe its params name (params.recipe).

------------------------------------------------------------------------------
-- import_factors: a model from factor tables in the layout Spark MLlib's
-- ALSModel writes through JDBC (userFactors / itemFactors: id integer,
-- features real[]).  Algorithm 'external': train() does not know it (it
-- cannot retrain it); everything that reads a stored model (serving,
-- fold-in, evaluate, the registry, the gate) treats it like any other.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION movierec.import_factors(model_name text, user_factors regclass,
                                                   item_factors regclass,
                                                   params jsonb DEFAULT '{}')
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    p jsonb := params;
    keys constant text[] := ARRAY['from', 'regularization', 'reg_exponent', 'reg_user_bias',
                                  'reg_item_bias', 'implicit', 'alpha',
                                  'global_mean', 'rating_min', 'rating_max', 'user_bias_col',
                                  'item_bias_col', 'user_id_map', 'item_id_map', 'trained_at',
                                  'source', 'recipe'];
    bad text;
    src regclass;
    umap regclass;
    imap regclass;
    ubias text := 'NULL::real';
    ibias text := 'NULL::real';
    ukey text := 'f.id';
    ikey text := 'f.id';
    ujoin text := '';
    ijoin text := '';
    k int;
    mid bigint;
    n_u bigint;
    n_i bigint;
    n_r bigint;
    rec jsonb;
BEGIN
    PERFORM movierec._require_primary('import_factors');
    IF model_name IS NULL OR model_name = '' OR model_name LIKE '\_gate\_%' THEN
        RAISE EXCEPTION 'model_name must be a non-empty name not starting with "_gate_"'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the model a name, e.g. ''movies''.';
    END IF;
    IF user_factors IS NULL OR item_factors IS NULL THEN
        RAISE EXCEPTION 'user_factors and item_factors must name tables'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the tables Spark wrote, e.g. ''spark.user_factors'', ''spark.item_factors''.';
    END IF;
    IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
        RAISE EXCEPTION 'params must be a jsonb object'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass e.g. ''{"regularization": 0.1}''.';
    END IF;
    SELECT string_agg(quote_literal(x), ', ') INTO bad FROM jsonb_object_keys(p) x WHERE x <> ALL (keys);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown import_factors params key %', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Known keys: ' || array_to_string(keys, ', ') || '.';
    END IF;
    SELECT string_agg(quote_literal(x), ', ') INTO bad FROM unnest(ARRAY['regularization', 'reg_exponent', 'reg_user_bias', 'reg_item_bias', 'alpha',
                                  'global_mean', 'rating_min', 'rating_max']) x
     WHERE p ? x AND jsonb_typeof(p->x) <> 'number';
    IF bad IS NULL AND p ? 'implicit' AND jsonb_typeof(p->'implicit') <> 'boolean' THEN
        bad := '''implicit''';
    END IF;
    IF bad IS NULL AND p ? 'recipe' AND (jsonb_typeof(p->'recipe') <> 'object'
                                         OR jsonb_typeof(p->'recipe'->'algorithm') IS DISTINCT FROM 'string') THEN
        bad := '''recipe''';
    END IF;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'import_factors params key % has the wrong type', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Numbers for regularization, reg_exponent, reg_user_bias, reg_item_bias, alpha, global_mean, rating_min and rating_max; '
                         'a boolean for implicit; {"algorithm": ..., "params": {...}} for recipe.';
    END IF;
    IF (p->>'regularization')::float8 < 0 OR (p->>'reg_user_bias')::float8 < 0
       OR (p->>'reg_item_bias')::float8 < 0 OR (p->>'reg_exponent')::float8 NOT BETWEEN 0 AND 2
       OR (p->>'alpha')::float8 < 0
       OR coalesce((p->>'rating_min')::float8, 0.5) >= coalesce((p->>'rating_max')::float8, 5) THEN
        RAISE EXCEPTION 'import_factors params out of range'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'regularization >= 0, reg_user_bias and reg_item_bias >= 0, reg_exponent in [0, 2], alpha >= 0, rating_min < rating_max.';
    END IF;
    src := coalesce(p->>'source', 'movierec.ratings')::regclass;

    -- the layout: id and features in both tables, optional bias columns
    PERFORM movierec._check_columns(user_factors, ARRAY['id', 'features']::name[]);
    PERFORM movierec._check_columns(item_factors, ARRAY['id', 'features']::name[]);
    PERFORM movierec._check_columns(src, ARRAY['movie_id', 'rating']::name[]);
    IF p ? 'user_bias_col' THEN
        PERFORM movierec._check_columns(user_factors, ARRAY[p->>'user_bias_col']::name[]);
        ubias := format('f.%I::real', p->>'user_bias_col');
    END IF;
    IF p ? 'item_bias_col' THEN
        PERFORM movierec._check_columns(item_factors, ARRAY[p->>'item_bias_col']::name[]);
        ibias := format('f.%I::real', p->>'item_bias_col');
    END IF;
    -- Spark's ids are 32-bit: a map table (id, user_id) / (id, movie_id) translates them
    IF p ? 'user_id_map' THEN
        umap := (p->>'user_id_map')::regclass;
        PERFORM movierec._check_columns(umap, ARRAY['id', 'user_id']::name[]);
        ujoin := format(' LEFT JOIN %s map ON map.id = f.id', umap);
        ukey := 'map.user_id';
    END IF;
    IF p ? 'item_id_map' THEN
        imap := (p->>'item_id_map')::regclass;
        PERFORM movierec._check_columns(imap, ARRAY['id', 'movie_id']::name[]);
        ijoin := format(' LEFT JOIN %s map ON map.id = f.id', imap);
        ikey := 'map.movie_id';
    END IF;

    EXECUTE format('SELECT max(cardinality(features)) FROM %s', item_factors) INTO k;
    IF k IS NULL OR k = 0 THEN
        RAISE EXCEPTION '% has no factors', item_factors
            USING ERRCODE = 'no_data_found', HINT = 'Write the ALS model''s itemFactors into it first.';
    END IF;

    -- one model row, the next version of the name (as model_store_write.c)
    PERFORM pg_catalog.pg_advisory_xact_lock(1836213603, pg_catalog.hashtext(model_name));
    rec := jsonb_strip_nulls(jsonb_build_object(
        'factors', k,
        'regularization', coalesce(p->'regularization', '0.1'),
        'reg_exponent', coalesce(p->'reg_exponent', '1'),
        'reg_user_bias', p->'reg_user_bias',
        'reg_item_bias', p->'reg_item_bias',
        'implicit', coalesce(p->'implicit', 'false'),
        'alpha', coalesce(p->'alpha', '1'),
        'use_bias', (p ? 'user_bias_col') OR (p ? 'item_bias_col'),
        'recipe', p->'recipe',
        'import', jsonb_build_object(
            'from', coalesce(p->>'from', 'import_factors'),
            'user_factors', user_factors::text, 'item_factors', item_factors::text,
            'user_bias_col', p->>'user_bias_col', 'item_bias_col', p->>'item_bias_col',
            'user_id_map', umap::text, 'item_id_map', imap::text,
            'trained_at', p->>'trained_at', 'imported_at', now())));
    INSERT INTO movierec.models AS m (model_name, version, algorithm, params, source, n_factors,
                                      global_mean, rating_min, rating_max, created_at)
    SELECT import_factors.model_name, coalesce(max(x.version), 0) + 1, 'external', rec, src::text, k,
           coalesce((p->>'global_mean')::real, 0), coalesce((p->>'rating_min')::real, 0.5),
           coalesce((p->>'rating_max')::real, 5), coalesce((p->>'trained_at')::timestamptz, now())
      FROM movierec.models x WHERE x.model_name = import_factors.model_name
    RETURNING m.model_id INTO mid;

    -- items: factors, bias, and the popularity columns from the ratings
    EXECUTE format('INSERT INTO movierec.item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating) '
                   'SELECT $1, %s, coalesce(%s, 0), f.features::real[], coalesce(r.n, 0), r.mean '
                   'FROM %s f%s LEFT JOIN (SELECT movie_id, count(*)::int AS n, avg(rating)::real AS mean '
                   'FROM %s GROUP BY movie_id) r ON r.movie_id = %s',
                   ikey, ibias, item_factors, ijoin, src, ikey) USING mid;
    EXECUTE format('INSERT INTO movierec.user_factors (model_id, user_id, bias, factors) '
                   'SELECT $1, %s, coalesce(%s, 0), f.features::real[] FROM %s f%s',
                   ukey, ubias, user_factors, ujoin) USING mid;

    -- every row: an id, k finite numbers (bad input changes nothing: the error rolls back)
    SELECT format('%s id %s', t, id) INTO bad FROM (
        SELECT 'movie' AS t, movie_id AS id, factors FROM movierec.item_factors WHERE model_id = mid
        UNION ALL
        SELECT 'user', user_id, factors FROM movierec.user_factors WHERE model_id = mid) x
     WHERE factors IS NULL OR cardinality(factors) <> k OR array_position(factors, NULL) IS NOT NULL
        OR EXISTS (SELECT 1 FROM unnest(factors) v WHERE v IN ('NaN', 'Infinity', '-Infinity'))
     LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'the features of % are not % finite real numbers', bad, k
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every row of both tables needs features of the same length, without nulls or NaN.';
    END IF;
    SELECT count(*), count(*) FILTER (WHERE bias IS NULL OR bias IN ('NaN', 'Infinity', '-Infinity'))
      INTO n_u, n_r FROM movierec.user_factors WHERE model_id = mid;
    IF n_r > 0 OR EXISTS (SELECT 1 FROM movierec.item_factors WHERE model_id = mid
                          AND bias IN ('NaN', 'Infinity', '-Infinity')) THEN
        RAISE EXCEPTION 'a bias column holds a non-finite value'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Biases must be finite real numbers.';
    END IF;
    SELECT count(*) INTO n_i FROM movierec.item_factors WHERE model_id = mid;
    EXECUTE format('SELECT count(*) FROM %s', src) INTO n_r;
    UPDATE movierec.models SET n_users = n_u, n_movies = n_i, n_ratings = n_r WHERE models.model_id = mid;
    RETURN mid;
EXCEPTION
    WHEN not_null_violation THEN
        RAISE EXCEPTION 'an id of % or % has no movierec id', user_factors, item_factors
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Every row needs an id; with user_id_map / item_id_map every id must be in the map.';
    WHEN unique_violation THEN
        RAISE EXCEPTION 'an id appears twice in % or %', user_factors, item_factors
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Each user and movie needs exactly one row (and one entry in an id map).';
END
$$;
COMMENT ON FUNCTION movierec.import_factors(text, regclass, regclass, jsonb) IS
    'Register a model (algorithm external) from factor tables in Spark ALS''s layout (id integer, features real[]); returns its model_id.';
REVOKE ALL ON FUNCTION movierec.import_factors(text, regclass, regclass, jsonb) FROM PUBLIC;
