-- Evaluation: metrics of a model on a test set, train/test splits,
-- cross-validation and grid search.  Definitions are in doc/evaluation.md.

CREATE FUNCTION movierec.evaluate(
    model_id bigint,
    test regclass,
    k int DEFAULT 10,
    relevant_min real DEFAULT 4.0,
    user_col name DEFAULT 'user_id',
    item_col name DEFAULT 'movie_id',
    rating_col name DEFAULT 'rating')
RETURNS jsonb
    AS 'MODULE_PATHNAME', 'movierec_evaluate'
    LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION movierec.evaluate(bigint, regclass, int, real, name, name, name) IS
    'RMSE, MAE and top-k ranking metrics of a model on a test relation; merged into models.metrics.';

-- The issue's fixed hash split: a rating is test iff this is true.
CREATE FUNCTION movierec.hash_split_is_test(user_id bigint, movie_id bigint)
RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ((user_id * 100003 + movie_id) * 48271) % 2147483647 % 5 = 0;
COMMENT ON FUNCTION movierec.hash_split_is_test(bigint, bigint) IS
    'True for the test fifth of the hash split: ((u*100003 + i)*48271) % 2147483647 % 5 = 0.';

-- Raise invalid_parameter_value unless column col of rel exists.
CREATE FUNCTION movierec._eval_check_column(rel regclass, col name, what text)
RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = rel AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation % does not exist', col, rel
            USING ERRCODE = 'undefined_column',
                  HINT = format('Name the %s column with the %s parameter.', what, what || '_col');
    END IF;
END;
$$;

CREATE FUNCTION movierec.split(
    source regclass,
    method text DEFAULT 'random',
    test_fraction real DEFAULT 0.2,
    seed int DEFAULT 0,
    user_col name DEFAULT 'user_id',
    item_col name DEFAULT 'movie_id',
    time_col name DEFAULT 'rated_at')
RETURNS TABLE(train regclass, test regclass, train_rows bigint, test_rows bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp name;
    rel name;
    train_name text;
    test_name text;
    u text := quote_ident(user_col);
    i text := quote_ident(item_col);
    key text;
    is_test text;
    tmp text := 'movierec_split_' || pg_backend_pid();
BEGIN
    SELECT n.nspname, c.relname INTO nsp, rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source;
    IF method IS NULL OR method NOT IN ('random', 'temporal', 'leave_k_out', 'hash') THEN
        RAISE EXCEPTION 'unknown split method "%"', method
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of random, temporal, leave_k_out or hash.';
    END IF;
    IF method IN ('random', 'temporal')
       AND (test_fraction IS NULL OR test_fraction = 'NaN' OR test_fraction <= 0 OR test_fraction >= 1) THEN
        RAISE EXCEPTION 'test_fraction must be between 0 and 1 (exclusive) for the % split, not %',
                        method, test_fraction
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a fraction such as 0.2.';
    END IF;
    IF method = 'leave_k_out'
       AND (test_fraction IS NULL OR test_fraction = 'NaN' OR test_fraction < 1
            OR test_fraction > 1000 OR test_fraction <> trunc(test_fraction)) THEN
        RAISE EXCEPTION 'leave_k_out needs a whole number of ratings per user in test_fraction, not %',
                        test_fraction
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass test_fraction => 1 to leave one rating per user out (up to 1000).';
    END IF;
    PERFORM movierec._eval_check_column(source, user_col, 'user');
    PERFORM movierec._eval_check_column(source, item_col, 'item');
    IF method = 'temporal' THEN
        PERFORM movierec._eval_check_column(source, time_col, 'time');
    END IF;

    train_name := left(rel, 57) || '_train';
    test_name := left(rel, 58) || '_test';
    IF to_regclass(format('%I.%I', nsp, train_name)) IS NOT NULL
       OR to_regclass(format('%I.%I', nsp, test_name)) IS NOT NULL THEN
        RAISE EXCEPTION 'relation %.% or %.% already exists',
                        quote_ident(nsp), quote_ident(train_name), quote_ident(nsp), quote_ident(test_name)
            USING ERRCODE = 'duplicate_table',
                  HINT = format('Drop them first: DROP TABLE %I.%I, %I.%I;', nsp, train_name, nsp, test_name);
    END IF;

    -- a seeded hash of (user, movie) orders rows independently of storage
    key := format('hashtextextended(%s::text || '':'' || %s::text, %s)', u, i, seed);
    is_test := CASE method
        WHEN 'random' THEN format(
            'row_number() OVER (ORDER BY %s, %s, %s) <= round(count(*) OVER () * %s)',
            key, u, i, test_fraction)
        WHEN 'temporal' THEN format(
            'row_number() OVER (PARTITION BY %1$s ORDER BY %3$s DESC NULLS LAST, %2$s DESC)'
            ' <= round(count(*) OVER (PARTITION BY %1$s) * %4$s)',
            u, i, quote_ident(time_col), test_fraction)
        WHEN 'leave_k_out' THEN format(
            'count(*) OVER (PARTITION BY %1$s) > %4$s AND '
            'row_number() OVER (PARTITION BY %1$s ORDER BY %3$s, %2$s) <= %4$s',
            u, i, key, test_fraction::int)
        ELSE format('movierec.hash_split_is_test(%s::int8, %s::int8)', u, i)
    END;

    EXECUTE format('CREATE TEMP TABLE %I AS SELECT s AS r, %s AS is_test FROM %s s', tmp, is_test, source);
    GET DIAGNOSTICS train_rows = ROW_COUNT;
    IF train_rows = 0 THEN
        RAISE EXCEPTION 'source % is empty', source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Load ratings into it first.';
    END IF;
    EXECUTE format('CREATE TABLE %I.%I AS SELECT (x.r).* FROM pg_temp.%I x WHERE NOT x.is_test',
                   nsp, train_name, tmp);
    GET DIAGNOSTICS train_rows = ROW_COUNT;
    EXECUTE format('CREATE TABLE %I.%I AS SELECT (x.r).* FROM pg_temp.%I x WHERE x.is_test',
                   nsp, test_name, tmp);
    GET DIAGNOSTICS test_rows = ROW_COUNT;
    EXECUTE format('DROP TABLE pg_temp.%I', tmp);
    train := format('%I.%I', nsp, train_name)::regclass;
    test := format('%I.%I', nsp, test_name)::regclass;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION movierec.split(regclass, text, real, int, name, name, name) IS
    'Create <source>_train and <source>_test: random, temporal, leave_k_out or the fixed hash split.';

CREATE FUNCTION movierec.cross_validate(
    algorithm text,
    params jsonb,
    source regclass,
    folds int DEFAULT 5,
    seed int DEFAULT 0,
    user_col name DEFAULT 'user_id',
    item_col name DEFAULT 'movie_id',
    rating_col name DEFAULT 'rating',
    k int DEFAULT 10,
    relevant_min real DEFAULT 4.0)
RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tab text := 'movierec_cv_' || pg_backend_pid();
    n bigint;
    f int;
    mid bigint;
    ev jsonb;
    per_fold jsonb := '[]';
    out jsonb;
    metric text;
BEGIN
    IF folds IS NULL OR folds < 2 OR folds > 20 THEN
        RAISE EXCEPTION 'folds must be between 2 and 20, not %', folds
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass folds => 5 for five-fold cross-validation.';
    END IF;
    PERFORM movierec._eval_check_column(source, user_col, 'user');
    PERFORM movierec._eval_check_column(source, item_col, 'item');
    PERFORM movierec._eval_check_column(source, rating_col, 'rating');

    -- Everything below runs in a subtransaction that is rolled back at the
    -- end: the fold tables and the temporary models leave no trace.
    BEGIN
        EXECUTE format(
            'CREATE TEMP TABLE %I AS SELECT %s::int8 AS user_id, %s::int8 AS movie_id, '
            '%s::real AS rating, ((row_number() OVER (ORDER BY '
            'hashtextextended(%s::text || '':'' || %s::text, %s), %s, %s) - 1) %% %s)::int AS fold '
            'FROM %s WHERE %s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL',
            tab, quote_ident(user_col), quote_ident(item_col), quote_ident(rating_col),
            quote_ident(user_col), quote_ident(item_col), seed,
            quote_ident(user_col), quote_ident(item_col), folds,
            source, quote_ident(user_col), quote_ident(item_col), quote_ident(rating_col));
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n < folds THEN
            RAISE EXCEPTION 'source % has % ratings, fewer than % folds', source, n, folds
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Load more ratings or use fewer folds.';
        END IF;
        FOR f IN 0 .. folds - 1 LOOP
            EXECUTE format('CREATE TEMP TABLE %I AS SELECT user_id, movie_id, rating FROM %I WHERE fold <> %s',
                           tab || '_train_' || f, tab, f);
            EXECUTE format('CREATE TEMP TABLE %I AS SELECT user_id, movie_id, rating FROM %I WHERE fold = %s',
                           tab || '_test_' || f, tab, f);
            mid := movierec.train('cross_validate', algorithm, params,
                                  format('pg_temp.%I', tab || '_train_' || f)::regclass);
            ev := movierec.evaluate(mid, format('pg_temp.%I', tab || '_test_' || f)::regclass,
                                    k, relevant_min);
            per_fold := per_fold || jsonb_build_array(ev - 'test');
        END LOOP;
        RAISE EXCEPTION USING ERRCODE = 'MRCV0';
    EXCEPTION WHEN SQLSTATE 'MRCV0' THEN
        NULL;
    END;

    out := jsonb_build_object('algorithm', algorithm, 'params', params, 'folds', folds,
                              'seed', seed, 'per_fold', per_fold);
    FOREACH metric IN ARRAY ARRAY['rmse', 'mae', 'precision_at_k', 'recall_at_k',
                                   'ndcg_at_k', 'map_at_k', 'coverage_at_k'] LOOP
        out := out || jsonb_build_object(metric, (
            SELECT jsonb_build_object('mean', avg((e->>metric)::float8),
                                      'std', stddev_pop((e->>metric)::float8))
            FROM jsonb_array_elements(per_fold) e));
    END LOOP;
    RETURN out;
END;
$$;
COMMENT ON FUNCTION movierec.cross_validate(text, jsonb, regclass, int, int, name, name, name, int, real) IS
    'Mean and (population) standard deviation of each metric over seeded folds; leaves no models behind.';

CREATE FUNCTION movierec.grid_search(
    algorithm text,
    param_grid jsonb,
    source regclass,
    folds int DEFAULT 3,
    metric text DEFAULT 'rmse')
RETURNS TABLE(params jsonb, score float8, rank int)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    combos jsonb[] := ARRAY['{}'::jsonb];
    next jsonb[];
    key text;
    vals jsonb;
    c jsonb;
    v jsonb;
    ps jsonb[] := '{}';
    scores float8[] := '{}';
    cv jsonb;
BEGIN
    IF metric IS NULL OR metric NOT IN ('rmse', 'mae', 'precision_at_k', 'recall_at_k',
                                        'ndcg_at_k', 'map_at_k', 'coverage_at_k') THEN
        RAISE EXCEPTION 'unknown metric "%"', metric
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use rmse, mae, precision_at_k, recall_at_k, ndcg_at_k, map_at_k or coverage_at_k.';
    END IF;
    IF param_grid IS NULL OR jsonb_typeof(param_grid) <> 'object' OR param_grid = '{}' THEN
        RAISE EXCEPTION 'param_grid must be a non-empty JSON object of arrays'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass e.g. ''{"factors": [32, 64], "regularization": [0.05, 0.1]}''.';
    END IF;
    FOR key, vals IN SELECT e.key, e.value FROM jsonb_each(param_grid) e ORDER BY e.key LOOP
        IF jsonb_typeof(vals) <> 'array' OR jsonb_array_length(vals) = 0 THEN
            RAISE EXCEPTION 'param_grid key "%" must be a non-empty array', key
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Write the values to try as an array, e.g. {"%s": [%s]}.', key, vals);
        END IF;
        next := '{}';
        FOREACH c IN ARRAY combos LOOP
            FOR v IN SELECT a.value FROM jsonb_array_elements(vals) WITH ORDINALITY a ORDER BY a.ordinality LOOP
                next := next || (c || jsonb_build_object(key, v));
            END LOOP;
        END LOOP;
        combos := next;
        IF cardinality(combos) > 1000 THEN
            RAISE EXCEPTION 'param_grid has more than 1000 combinations'
                USING ERRCODE = 'program_limit_exceeded',
                      HINT = 'Search a smaller grid.';
        END IF;
    END LOOP;

    FOREACH c IN ARRAY combos LOOP
        cv := movierec.cross_validate(algorithm, c, source, folds, 0);
        ps := ps || c;
        scores := scores || (cv->metric->>'mean')::float8;
    END LOOP;

    RETURN QUERY
        SELECT g.p, g.s,
               (CASE WHEN metric IN ('rmse', 'mae')
                     THEN rank() OVER (ORDER BY g.s ASC NULLS LAST)
                     ELSE rank() OVER (ORDER BY g.s DESC NULLS LAST) END)::int AS r
        FROM unnest(ps, scores) WITH ORDINALITY AS g(p, s, o)
        ORDER BY r, g.o;
END;
$$;
COMMENT ON FUNCTION movierec.grid_search(text, jsonb, regclass, int, text) IS
    'Cross-validate every combination of a grid of params; rank 1 is best (lowest rmse/mae, highest otherwise).';
