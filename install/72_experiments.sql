-- since 0.2
-- Online experiments: A/B tests and team-draft interleaving, exposures,
-- feedback events and their statistics.  See doc/experiments.md for every
-- formula and its source; src/experiments.c and src/kernels/stats.c hold
-- the distribution functions and the assignment hash.

------------------------------------------------------------------------------
-- Distribution functions (C).
------------------------------------------------------------------------------

CREATE FUNCTION movierec.normal_cdf(x float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'movierec_normal_cdf' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.normal_cdf(float8) IS 'Standard normal CDF.';
CREATE FUNCTION movierec.normal_quantile(p float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'movierec_normal_quantile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.normal_quantile(float8) IS 'Standard normal quantile (inverse CDF), 0 < p < 1.';
CREATE FUNCTION movierec.student_t_cdf(t float8, df float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'movierec_student_t_cdf' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.student_t_cdf(float8, float8) IS 'Student t CDF with df (possibly fractional) degrees of freedom.';
CREATE FUNCTION movierec.chi2_sf(x float8, df float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'movierec_chi2_sf' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.chi2_sf(float8, float8) IS 'Upper tail P(X >= x) of the chi-squared distribution.';
CREATE FUNCTION movierec.binomial_test(k bigint, n bigint, p float8 DEFAULT 0.5) RETURNS float8
    AS 'MODULE_PATHNAME', 'movierec_binomial_test' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.binomial_test(bigint, bigint, float8) IS
    'Exact two-sided binomial test of k successes in n trials (R''s binom.test rule).';
CREATE FUNCTION movierec._assign_bucket(salt text, user_id bigint) RETURNS int
    AS 'MODULE_PATHNAME', 'movierec_assign_bucket' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec._assign_bucket(text, bigint) IS
    'Bucket 0..9999: mix64(fnv1a64(salt) xor user_id * 0x9E3779B97F4A7C15) mod 10000.';
CREATE FUNCTION movierec.synthetic_truth(user_id bigint, movie_ids bigint[], n_users int,
                                         n_movies int, rank int DEFAULT 10, seed int DEFAULT 0)
    RETURNS float8[]
    AS 'MODULE_PATHNAME', 'movierec_synthetic_truth' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.synthetic_truth(bigint, bigint[], int, int, int, int) IS
    'The planted noiseless score mu + b_u + b_i + p_u.q_i that generate_ratings(n_users, n_movies, _, rank, _, seed) drew: the simulator''s ground truth.';

------------------------------------------------------------------------------
-- Experiments, exposures, feedback.
------------------------------------------------------------------------------

-- bucket_map run-length encoded (the serving path reads a few runs, not
-- 10,000 entries): the first bucket of each run and the run's variant.
CREATE FUNCTION movierec._bucket_run_starts(map smallint[]) RETURNS int[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (SELECT array_agg(b - 1 ORDER BY b) FROM generate_series(1, cardinality(map)) b
             WHERE b = 1 OR map[b] IS DISTINCT FROM map[b - 1]);
CREATE FUNCTION movierec._bucket_run_owners(map smallint[]) RETURNS smallint[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN (SELECT array_agg(map[b] ORDER BY b) FROM generate_series(1, cardinality(map)) b
             WHERE b = 1 OR map[b] IS DISTINCT FROM map[b - 1]);

CREATE TABLE movierec.experiments (
    experiment_id bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name <> ''),
    kind          text NOT NULL CHECK (kind IN ('ab', 'interleave')),
    variants      jsonb NOT NULL,
    salt          text NOT NULL,
    bucket_map    smallint[] NOT NULL CHECK (cardinality(bucket_map) = 10000),
    bucket_homes  int[] NOT NULL,
    bucket_starts int[] GENERATED ALWAYS AS (movierec._bucket_run_starts(bucket_map)) STORED,
    bucket_owners smallint[] GENERATED ALWAYS AS (movierec._bucket_run_owners(bucket_map)) STORED,
    status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'stopped')),
    created_by    name NOT NULL DEFAULT current_user,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    stopped_at    timestamptz,
    weights_changed_at timestamptz
);
COMMENT ON TABLE movierec.experiments IS
    'Online experiments: variants [{name, model, weight}], salt, the variant index of each of the 10,000 buckets, status and timestamps.';
COMMENT ON COLUMN movierec.experiments.bucket_map IS
    'bucket_map[b + 1] is the 0-based index into variants of bucket b (0..9999).';
COMMENT ON COLUMN movierec.experiments.bucket_starts IS
    'bucket_map run-length encoded: the first bucket of each run; bucket_owners[width_bucket(b, bucket_starts)] is the variant of bucket b.';
COMMENT ON COLUMN movierec.experiments.bucket_homes IS
    'The first bucket of each variant''s range at creation; weight changes grow and shrink ranges around it.';

CREATE TABLE movierec.exposures (
    impression_id bigserial PRIMARY KEY,
    experiment_id bigint NOT NULL REFERENCES movierec.experiments ON DELETE CASCADE,
    variant       text NOT NULL,
    user_id       bigint NOT NULL,
    model_id      bigint,
    model_ids     bigint[],
    movie_ids     bigint[] NOT NULL,
    teams         text[],
    shown_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE movierec.exposures IS
    'One row per list shown by recommend_in: experiment, variant (''interleaved'' for interleaving), user, model, movies in rank order, the team of each row (interleaving), time.';
COMMENT ON COLUMN movierec.exposures.model_ids IS 'Interleaving: the models of the two teams, in variant order.';
CREATE INDEX exposures_user_idx ON movierec.exposures (user_id, impression_id);
CREATE INDEX exposures_experiment_idx ON movierec.exposures (experiment_id, impression_id);

CREATE TABLE movierec.feedback (
    event_id      bigserial PRIMARY KEY,
    user_id       bigint NOT NULL,
    movie_id      bigint NOT NULL,
    event         text NOT NULL CHECK (event IN ('click', 'play', 'rate', 'dismiss')),
    value         real,
    impression_id bigint REFERENCES movierec.exposures ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE movierec.feedback IS
    'Feedback events; impression_id is the exposure they are attributed to (NULL: none within movierec.attribution_window).';
CREATE INDEX feedback_impression_idx ON movierec.feedback (impression_id);

SELECT pg_catalog.pg_extension_config_dump('movierec.experiments', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.experiments_experiment_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.exposures', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.exposures_impression_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.feedback', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.feedback_event_id_seq', '');

-- The experiment row by name, or an error naming the fix.
CREATE FUNCTION movierec._experiment(name text) RETURNS movierec.experiments
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e movierec.experiments;
BEGIN
    SELECT * INTO e FROM movierec.experiments x WHERE x.name = _experiment.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'experiment "%" does not exist', name
            USING ERRCODE = 'undefined_object',
                  HINT = 'List experiments with SELECT name, status FROM movierec.experiments.';
    END IF;
    RETURN e;
END
$$;

-- Check a variants array; returns the weights (errors change nothing).
CREATE FUNCTION movierec._check_variants(variants jsonb, kind text) RETURNS float8[]
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    v jsonb;
    w float8[] := '{}';
    names text[] := '{}';
    m jsonb;
BEGIN
    IF kind IS NULL OR kind NOT IN ('ab', 'interleave') THEN
        RAISE EXCEPTION 'unknown experiment kind "%"', kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use ''ab'' or ''interleave''.';
    END IF;
    IF variants IS NULL OR jsonb_typeof(variants) <> 'array' OR jsonb_array_length(variants) < 2 THEN
        RAISE EXCEPTION 'variants must be a JSON array of at least two objects'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass [{"name": "control", "model": "movies", "weight": 0.5}, {"name": "treatment", "model": "movies_v2", "weight": 0.5}].';
    END IF;
    IF kind = 'interleave' AND jsonb_array_length(variants) <> 2 THEN
        RAISE EXCEPTION 'an interleave experiment needs exactly two variants, not %', jsonb_array_length(variants)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Team-draft interleaving compares two models; use kind ''ab'' for more.';
    END IF;
    FOR v IN SELECT * FROM jsonb_array_elements(variants) LOOP
        IF jsonb_typeof(v) <> 'object' OR coalesce(v->>'name', '') = '' OR NOT v ? 'model' THEN
            RAISE EXCEPTION 'every variant needs a name and a model: %', v
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Write each variant as {"name": "...", "model": "model name or id", "weight": 0.5}.';
        END IF;
        IF v->>'name' = ANY (names) THEN
            RAISE EXCEPTION 'variant name "%" appears twice', v->>'name'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Give every variant its own name.';
        END IF;
        names := names || (v->>'name');
        m := v->'model';
        IF jsonb_typeof(m) = 'number' THEN
            IF NOT EXISTS (SELECT 1 FROM movierec.models WHERE model_id = (m#>>'{}')::numeric) THEN
                RAISE EXCEPTION 'model % does not exist', m
                    USING ERRCODE = 'undefined_object',
                          HINT = 'List models with SELECT model_id, model_name, version, stage FROM movierec.models.';
            END IF;
        ELSIF jsonb_typeof(m) = 'string' THEN
            IF NOT EXISTS (SELECT 1 FROM movierec.models WHERE model_name = m#>>'{}') THEN
                RAISE EXCEPTION 'model "%" does not exist', m#>>'{}'
                    USING ERRCODE = 'undefined_object',
                          HINT = 'Train it first with movierec.train(), or list models with SELECT DISTINCT model_name FROM movierec.models.';
            END IF;
        ELSE
            RAISE EXCEPTION 'the model of variant "%" must be a model name or a model id', v->>'name'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Write "model": "movies" or "model": 12.';
        END IF;
        IF kind = 'interleave' AND NOT v ? 'weight' THEN
            w := w || 0.5::float8;
        ELSIF jsonb_typeof(v->'weight') <> 'number' OR (v->>'weight')::float8 < 0
              OR (v->>'weight')::float8 > 1 THEN
            RAISE EXCEPTION 'the weight of variant "%" must be a number between 0 and 1', v->>'name'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Weights are shares of users and sum to 1.';
        ELSE
            w := w || (v->>'weight')::float8;
        END IF;
    END LOOP;
    IF abs((SELECT sum(x) FROM unnest(w) x) - 1) > 1e-9 THEN
        RAISE EXCEPTION 'variant weights sum to %, not 1', (SELECT sum(x) FROM unnest(w) x)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give weights that add up to 1, such as 0.5 and 0.5.';
    END IF;
    RETURN w;
END
$$;

-- Buckets per variant: round(10000 * cumulative weight) differences.
CREATE FUNCTION movierec._bucket_targets(w float8[]) RETURNS int[]
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS
$$
    SELECT array_agg(d ORDER BY i)
      FROM (SELECT i, c - coalesce(lag(c) OVER (ORDER BY i), 0) AS d
              FROM (SELECT i, round(10000 * sum(x) OVER (ORDER BY i))::int AS c
                      FROM unnest(w) WITH ORDINALITY AS t(x, i)) s) s2
$$;

-- Move as few buckets as possible from map to the counts in target.
-- Every variant has a home bucket (where its range started at creation);
-- a variant above its target gives up the buckets farthest past its home,
-- and a variant below takes the free buckets nearest past its home.  So
-- a change moves exactly the buckets the new weights require, and
-- undoing it moves the same users back.
CREATE FUNCTION movierec._rebalance_buckets(map smallint[], target int[], home int[])
    RETURNS smallint[]
    LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    k int := cardinality(target);
    j int;
    have int;
    b int;
BEGIN
    FOR j IN 1..k LOOP
        SELECT count(*) INTO have FROM generate_series(1, 10000) g WHERE map[g] = j - 1;
        IF have > target[j] THEN
            FOR b IN SELECT g FROM generate_series(1, 10000) g WHERE map[g] = j - 1
                      ORDER BY (g - 1 - home[j] + 10000) % 10000 DESC LIMIT have - target[j] LOOP
                map[b] := -1;
            END LOOP;
        END IF;
    END LOOP;
    FOR j IN 1..k LOOP
        SELECT count(*) INTO have FROM generate_series(1, 10000) g WHERE map[g] = j - 1;
        IF have < target[j] THEN
            FOR b IN SELECT g FROM generate_series(1, 10000) g WHERE map[g] IS NULL OR map[g] < 0 OR map[g] >= k
                      ORDER BY (g - 1 - home[j] + 10000) % 10000 LIMIT target[j] - have LOOP
                map[b] := j - 1;
            END LOOP;
        END IF;
    END LOOP;
    RETURN map;
END
$$;

-- Home bucket of each variant: the start of its range at creation.
CREATE FUNCTION movierec._bucket_homes(target int[]) RETURNS int[]
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS
$$
    SELECT array_agg(c - t ORDER BY i)
      FROM (SELECT i, t, sum(t) OVER (ORDER BY i) AS c FROM unnest(target) WITH ORDINALITY AS x(t, i)) s
$$;

CREATE FUNCTION movierec.create_experiment(name text, variants jsonb, kind text DEFAULT 'ab',
                                           salt text DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    w float8[];
    id bigint;
BEGIN
    IF coalesce(name, '') = '' THEN
        RAISE EXCEPTION 'experiment name must not be empty'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the experiment, such as ''als_v2_vs_v1''.';
    END IF;
    w := movierec._check_variants(variants, kind);
    IF EXISTS (SELECT 1 FROM movierec.experiments e WHERE e.name = create_experiment.name) THEN
        RAISE EXCEPTION 'experiment "%" already exists', name
            USING ERRCODE = 'unique_violation',
                  HINT = 'Choose another name, or see it with SELECT * FROM movierec.experiments.';
    END IF;
    INSERT INTO movierec.experiments (name, kind, variants, salt, bucket_map, bucket_homes)
    VALUES (name, kind, variants,
            coalesce(salt, md5(gen_random_uuid()::text)),
            movierec._rebalance_buckets(array_fill(-1::smallint, ARRAY[10000]),
                                        movierec._bucket_targets(w),
                                        movierec._bucket_homes(movierec._bucket_targets(w))),
            movierec._bucket_homes(movierec._bucket_targets(w)))
    RETURNING experiment_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION movierec.create_experiment(text, jsonb, text, text) IS
    'Create an experiment (draft): variants [{name, model, weight}], kind ab or interleave, salt (default random); returns its id.';

CREATE FUNCTION movierec.set_experiment_weights(name text, weights jsonb)
    RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e movierec.experiments := movierec._experiment(name);
    nv jsonb := '[]';
    v jsonb;
    newmap smallint[];
    i int := 0;
BEGIN
    IF jsonb_typeof(weights) <> 'object' THEN
        RAISE EXCEPTION 'weights must be a JSON object of variant name to weight'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass {"control": 0.4, "treatment": 0.6}.';
    END IF;
    IF e.kind = 'interleave' THEN
        RAISE EXCEPTION 'an interleave experiment has no weights'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Every user of an interleave experiment sees both models.';
    END IF;
    FOR v IN SELECT * FROM jsonb_array_elements(e.variants) LOOP
        IF NOT weights ? (v->>'name') THEN
            RAISE EXCEPTION 'no weight for variant "%"', v->>'name'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a weight for every variant.';
        END IF;
        nv := nv || jsonb_build_array(v || jsonb_build_object('weight', weights->(v->>'name')));
    END LOOP;
    newmap := movierec._rebalance_buckets(e.bucket_map,
                                          movierec._bucket_targets(movierec._check_variants(nv, e.kind)),
                                          e.bucket_homes);
    UPDATE movierec.experiments x SET variants = nv, bucket_map = newmap, weights_changed_at = now()
     WHERE x.experiment_id = e.experiment_id;
    IF e.status = 'running' THEN
        RAISE WARNING 'experiment "%" is running: the users whose buckets moved now see another variant, and the report counts them in the variant of their first exposure', name
            USING HINT = 'To compare cleanly, stop it and start a new experiment with the new weights.';
    END IF;
    SELECT count(*) INTO i FROM generate_series(1, 10000) b WHERE e.bucket_map[b] <> newmap[b];
    RETURN jsonb_build_object('buckets_moved', i, 'share_moved', i / 10000.0);
END
$$;
COMMENT ON FUNCTION movierec.set_experiment_weights(text, jsonb) IS
    'Change variant weights, moving the fewest buckets (shrinking variants give up their highest buckets to growing ones); returns the share of users moved.';

CREATE FUNCTION movierec.start_experiment(name text) RETURNS timestamptz
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e movierec.experiments := movierec._experiment(name);
BEGIN
    IF e.status = 'running' THEN
        RAISE EXCEPTION 'experiment "%" is already running', name
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Stop it with movierec.stop_experiment().';
    END IF;
    UPDATE movierec.experiments x SET status = 'running', started_at = coalesce(x.started_at, now()),
           stopped_at = NULL
     WHERE x.experiment_id = e.experiment_id;
    RETURN now();
END
$$;
COMMENT ON FUNCTION movierec.start_experiment(text) IS 'Start (or resume) an experiment: recommend_in serves it from now on.';

CREATE FUNCTION movierec.stop_experiment(name text) RETURNS timestamptz
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e movierec.experiments := movierec._experiment(name);
BEGIN
    IF e.status <> 'running' THEN
        RAISE EXCEPTION 'experiment "%" is not running (status %)', name, e.status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Start it with movierec.start_experiment().';
    END IF;
    UPDATE movierec.experiments x SET status = 'stopped', stopped_at = now()
     WHERE x.experiment_id = e.experiment_id;
    RETURN now();
END
$$;
COMMENT ON FUNCTION movierec.stop_experiment(text) IS 'Stop an experiment; its exposures and feedback stay for the report.';

CREATE FUNCTION movierec.assign(experiment text, user_id bigint) RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e record;
BEGIN
    SELECT x.salt, x.variants, x.bucket_starts, x.bucket_owners INTO e
      FROM movierec.experiments x WHERE x.name = experiment;
    IF NOT FOUND THEN
        PERFORM movierec._experiment(experiment);
    END IF;
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the user''s id.';
    END IF;
    RETURN e.variants -> e.bucket_owners[width_bucket(movierec._assign_bucket(e.salt, user_id),
                                                      e.bucket_starts)]::int ->> 'name';
END
$$;
COMMENT ON FUNCTION movierec.assign(text, bigint) IS
    'The variant of a user: deterministic, from the bucket mix64(fnv1a64(salt) xor user_id * 0x9E3779B97F4A7C15) mod 10000.';

-- The model id a variant's model names now: an id, or a name's production
-- version (else its newest), as recommend() resolves it.
CREATE FUNCTION movierec._variant_model(m jsonb) RETURNS bigint
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    mid bigint;
BEGIN
    IF jsonb_typeof(m) = 'number' THEN
        RETURN (m#>>'{}')::bigint;
    END IF;
    SELECT x.model_id INTO mid FROM movierec.models x WHERE x.model_name = m#>>'{}'
     ORDER BY x.stage = 'production' DESC, x.version DESC LIMIT 1;
    RETURN mid;
END
$$;

CREATE FUNCTION movierec.recommend_in(experiment text, user_id bigint, k int DEFAULT 10)
    RETURNS TABLE (movie_id bigint, score real, rank int, variant text, impression_id bigint)
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e record;
    vi int;
    vname text;
    m jsonb;
    mid bigint;
    mids bigint[];
    imp bigint;
    ids bigint[];
    sc real[];
    a_ids bigint[]; a_sc real[];
    b_ids bigint[]; b_sc real[];
    teams text[] := '{}';
    na int := 0; nb int := 0; ia int := 1; ib int := 1;
    pick_a boolean;
    rnd int := 0;
    va text; vb text;
BEGIN PERFORM movierec._require_primary('exposure logging');  -- (an exposure is a row: the primary only)
    -- the few columns serving needs (not the 10,000-entry bucket_map)
    SELECT x.experiment_id, x.kind, x.status, x.salt, x.variants, x.bucket_starts, x.bucket_owners
      INTO e FROM movierec.experiments x WHERE x.name = experiment;
    IF NOT FOUND THEN
        PERFORM movierec._experiment(experiment);
    END IF;
    IF e.status <> 'running' THEN
        RAISE EXCEPTION 'experiment "%" is not running (status %)', experiment, e.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Start it with movierec.start_experiment(), or serve with movierec.recommend().';
    END IF;
    IF user_id IS NULL THEN
        RAISE EXCEPTION 'user_id must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the user''s id.';
    END IF;
    imp := nextval('movierec.exposures_impression_id_seq');
    IF e.kind = 'ab' THEN
        vi := e.bucket_owners[width_bucket(movierec._assign_bucket(e.salt, user_id), e.bucket_starts)];
        vname := e.variants -> vi ->> 'name';
        m := e.variants -> vi -> 'model';
        IF jsonb_typeof(m) = 'number' THEN
            mid := (m#>>'{}')::bigint;
        ELSE
            SELECT x.model_id INTO mid FROM movierec.models x WHERE x.model_name = m#>>'{}'
             ORDER BY x.stage = 'production' DESC, x.version DESC LIMIT 1;
        END IF;
        IF mid IS NULL THEN
            RAISE EXCEPTION 'the model of variant "%" no longer exists', vname
                USING ERRCODE = 'undefined_object', HINT = 'Stop the experiment, or train the model again.';
        END IF;
        SELECT array_agg(r.movie_id ORDER BY r.rank), array_agg(r.score ORDER BY r.rank)
          INTO ids, sc FROM movierec.recommend(user_id, k, mid::text) r;
        INSERT INTO movierec.exposures (impression_id, experiment_id, variant, user_id, model_id, movie_ids)
        VALUES (imp, e.experiment_id, vname, user_id, mid, coalesce(ids, '{}'));
        RETURN QUERY SELECT x.m, x.s, x.r::int, vname, imp
                       FROM unnest(ids, sc) WITH ORDINALITY AS x(m, s, r);
        RETURN;
    END IF;

    -- team-draft interleaving (Radlinski, Kurup, Joachims 2008)
    va := e.variants -> 0 ->> 'name';
    vb := e.variants -> 1 ->> 'name';
    mids := ARRAY[movierec._variant_model(e.variants -> 0 -> 'model'),
                  movierec._variant_model(e.variants -> 1 -> 'model')];
    IF mids[1] IS NULL OR mids[2] IS NULL THEN
        RAISE EXCEPTION 'a model of experiment "%" no longer exists', experiment
            USING ERRCODE = 'undefined_object', HINT = 'Stop the experiment, or train the model again.';
    END IF;
    SELECT array_agg(r.movie_id ORDER BY r.rank), array_agg(r.score ORDER BY r.rank)
      INTO a_ids, a_sc FROM movierec.recommend(user_id, k, mids[1]::text) r;
    SELECT array_agg(r.movie_id ORDER BY r.rank), array_agg(r.score ORDER BY r.rank)
      INTO b_ids, b_sc FROM movierec.recommend(user_id, k, mids[2]::text) r;
    a_ids := coalesce(a_ids, '{}'); b_ids := coalesce(b_ids, '{}');
    ids := '{}'; sc := '{}';
    LOOP
        -- skip what the other team already placed
        WHILE ia <= cardinality(a_ids) AND a_ids[ia] = ANY (ids) LOOP ia := ia + 1; END LOOP;
        WHILE ib <= cardinality(b_ids) AND b_ids[ib] = ANY (ids) LOOP ib := ib + 1; END LOOP;
        EXIT WHEN cardinality(ids) >= k OR (ia > cardinality(a_ids) AND ib > cardinality(b_ids));
        IF ia > cardinality(a_ids) THEN
            pick_a := false;
        ELSIF ib > cardinality(b_ids) THEN
            pick_a := true;
        ELSIF na <> nb THEN
            pick_a := na < nb;
        ELSE
            -- a fair coin per round, reproducible from the impression id
            pick_a := movierec._assign_bucket(imp::text, rnd) < 5000;
            rnd := rnd + 1;
        END IF;
        IF pick_a THEN
            ids := ids || a_ids[ia]; sc := sc || a_sc[ia]; teams := teams || va; na := na + 1;
        ELSE
            ids := ids || b_ids[ib]; sc := sc || b_sc[ib]; teams := teams || vb; nb := nb + 1;
        END IF;
    END LOOP;
    INSERT INTO movierec.exposures (impression_id, experiment_id, variant, user_id, model_ids,
                                    movie_ids, teams)
    VALUES (imp, e.experiment_id, 'interleaved', user_id, mids, ids, teams);
    RETURN QUERY SELECT x.m, x.s, x.r::int, x.t, imp
                   FROM unnest(ids, sc, teams) WITH ORDINALITY AS x(m, s, t, r);
END
$$;
COMMENT ON FUNCTION movierec.recommend_in(text, bigint, int) IS
    'Serve a user in a running experiment (A/B: the variant''s model; interleave: team-draft merge, variant = the contributing team) and log the exposure.';

-- The latest exposure of user that showed movie within the attribution window.
CREATE FUNCTION movierec._attribute(user_id bigint, movie_id bigint, at timestamptz) RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
    SELECT x.impression_id FROM movierec.exposures x
      JOIN movierec.experiments e ON e.experiment_id = x.experiment_id AND e.status = 'running'
     WHERE x.user_id = _attribute.user_id AND _attribute.movie_id = ANY (x.movie_ids)
       AND x.shown_at <= _attribute.at
       AND x.shown_at > _attribute.at - current_setting('movierec.attribution_window')::interval
     ORDER BY x.impression_id DESC LIMIT 1
$$;

CREATE FUNCTION movierec.log_feedback(user_id bigint, movie_id bigint, event text,
                                      value real DEFAULT NULL, impression_id bigint DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    x movierec.exposures;
    imp bigint := impression_id;
    id bigint;
    t timestamptz := clock_timestamp();
BEGIN
    IF user_id IS NULL OR movie_id IS NULL THEN
        RAISE EXCEPTION 'user_id and movie_id must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the user and the movie the event is about.';
    END IF;
    IF event IS NULL OR event NOT IN ('click', 'play', 'rate', 'dismiss') THEN
        RAISE EXCEPTION 'unknown event type "%"', event
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use one of click, play, rate or dismiss.';
    END IF;
    IF event = 'rate' AND (value IS NULL OR value = 'NaN' OR value < 0.5 OR value > 5) THEN
        RAISE EXCEPTION 'a rate event needs a rating between 0.5 and 5 in value'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass value => 4.5.';
    END IF;
    IF imp IS NOT NULL THEN
        SELECT * INTO x FROM movierec.exposures e WHERE e.impression_id = imp;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'impression % does not exist', imp
                USING ERRCODE = 'undefined_object',
                      HINT = 'Pass the impression_id that recommend_in returned, or NULL to attribute to the latest exposure.';
        END IF;
        IF x.user_id <> log_feedback.user_id THEN
            RAISE EXCEPTION 'impression % was shown to user %, not %', imp, x.user_id, user_id
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the impression_id of this user''s list.';
        END IF;
        IF NOT log_feedback.movie_id = ANY (x.movie_ids) THEN
            RAISE EXCEPTION 'movie % was not shown in impression %', movie_id, imp
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Feedback is about a movie of the list shown.';
        END IF;
        IF x.shown_at <= t - current_setting('movierec.attribution_window')::interval THEN
            imp := NULL;    -- too late: recorded, not attributed
        END IF;
    ELSE
        imp := movierec._attribute(user_id, movie_id, t);
    END IF;
    INSERT INTO movierec.feedback (user_id, movie_id, event, value, impression_id, at)
    VALUES (user_id, movie_id, event, value, imp, t)
    RETURNING event_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION movierec.log_feedback(bigint, bigint, text, real, bigint) IS
    'Record a click, play, rate or dismiss; attributed to the given impression, else to the latest exposure showing the movie within movierec.attribution_window.';

-- A rating by a user in a running experiment is a rate event too.
CREATE FUNCTION movierec._ratings_feedback_trigger() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    IF EXISTS (SELECT 1 FROM movierec.experiments WHERE status = 'running') THEN
        INSERT INTO movierec.feedback (user_id, movie_id, event, value, impression_id)
        SELECT n.user_id, n.movie_id, 'rate', n.rating, a.imp
          FROM new_rows n
         CROSS JOIN LATERAL (SELECT movierec._attribute(n.user_id, n.movie_id, clock_timestamp()) AS imp) a
         WHERE a.imp IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ratings_feedback_insert AFTER INSERT ON movierec.ratings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION movierec._ratings_feedback_trigger();
CREATE TRIGGER ratings_feedback_update AFTER UPDATE ON movierec.ratings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION movierec._ratings_feedback_trigger();

------------------------------------------------------------------------------
-- Statistics.
------------------------------------------------------------------------------

-- One comparison of a ratio metric (per-user numerator X, denominator Y)
-- of treatment t against control c: relative lift by the delta method,
-- Welch t interval and p-value, and the always-valid confidence sequence
-- (doc/experiments.md, "Statistics").  Moments: n, sums of X, Y, X^2, Y^2, XY.
CREATE FUNCTION movierec._ratio_mean(n float8, sx float8, sy float8, sxx float8, syy float8, sxy float8,
                                     OUT mean float8, OUT var_mean float8)
    LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    mx float8; my float8; vx float8; vy float8; cxy float8;
BEGIN
    IF n IS NULL OR n < 2 OR sy = 0 THEN
        mean := CASE WHEN sy > 0 THEN sx / sy END;
        RETURN;
    END IF;
    mx := sx / n; my := sy / n;
    vx := greatest((sxx - n * mx * mx) / (n - 1), 0);
    vy := greatest((syy - n * my * my) / (n - 1), 0);
    cxy := (sxy - n * mx * my) / (n - 1);
    mean := mx / my;
    var_mean := greatest((vx / (my * my) - 2 * mx * cxy / (my * my * my)
                          + mx * mx * vy / (my * my * my * my)) / n, 0);
END
$$;

CREATE FUNCTION movierec._lift_test(mc float8, vc float8, nc float8, mt float8, vt float8, nt float8,
                                    alpha float8 DEFAULT 0.05, tuning_n float8 DEFAULT 5000)
    RETURNS jsonb LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    lift float8; a float8; b float8; v float8; se float8; df float8; tq float8; p float8;
    nn float8; rho2 float8; half float8;
BEGIN
    IF mc IS NULL OR mt IS NULL OR mc = 0 OR vc IS NULL OR vt IS NULL OR nc < 2 OR nt < 2 THEN
        RETURN jsonb_build_object('lift', NULL, 'ci_low', NULL, 'ci_high', NULL, 'p_value', NULL,
                                  'seq_ci_low', NULL, 'seq_ci_high', NULL);
    END IF;
    lift := mt / mc - 1;
    a := vt / (mc * mc);
    b := mt * mt * vc / (mc * mc * mc * mc);
    v := a + b;
    se := sqrt(v);
    IF se = 0 THEN
        RETURN jsonb_build_object('lift', lift, 'ci_low', lift, 'ci_high', lift,
                                  'p_value', CASE WHEN lift = 0 THEN 1 ELSE 0 END,
                                  'seq_ci_low', lift, 'seq_ci_high', lift);
    END IF;
    df := v * v / (a * a / (nt - 1) + b * b / (nc - 1));
    -- t quantile by bisection on the CDF (monotone, 60 halvings)
    DECLARE lo float8 := 0; hi float8 := 1000; mid float8;
    BEGIN
        FOR i IN 1..60 LOOP
            mid := (lo + hi) / 2;
            IF movierec.student_t_cdf(mid, df) < 1 - alpha / 2 THEN lo := mid; ELSE hi := mid; END IF;
        END LOOP;
        tq := (lo + hi) / 2;
    END;
    p := least(1, 2 * movierec.student_t_cdf(-abs(lift) / se, df));
    -- confidence sequence: sigma_N^2 = N * Var, N = users in both arms
    nn := nc + nt;
    rho2 := (-2 * ln(alpha) + ln(-2 * ln(alpha) + 1)) / tuning_n;
    half := sqrt(nn * v) * sqrt(2 * (nn * rho2 + 1) / (nn * nn * rho2) * ln(sqrt(nn * rho2 + 1) / alpha));
    RETURN jsonb_build_object('lift', lift, 'ci_low', lift - tq * se, 'ci_high', lift + tq * se,
                              'p_value', p, 'se', se, 'df', df,
                              'seq_ci_low', lift - half, 'seq_ci_high', lift + half);
END
$$;

-- Holm's step-down adjustment of p-values (NULLs stay NULL, order kept).
CREATE FUNCTION movierec._holm(p float8[]) RETURNS float8[]
    LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS
$$
    WITH x AS (SELECT v, i FROM unnest(p) WITH ORDINALITY AS t(v, i)),
    r AS (SELECT i, v, row_number() OVER (ORDER BY v, i) AS j, count(*) OVER () AS m
            FROM x WHERE v IS NOT NULL),
    a AS (SELECT i, least(1, max((m - j + 1) * v) OVER (ORDER BY j)) AS adj FROM r)
    SELECT array_agg(a.adj ORDER BY x.i) FROM x LEFT JOIN a USING (i)
$$;

-- Chi-squared test of user counts against weights; checked only when
-- every cell expects at least 5 users.
CREATE FUNCTION movierec._srm(counts bigint[], weights float8[], threshold float8 DEFAULT 0.001)
    RETURNS jsonb LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    n float8 := (SELECT sum(c) FROM unnest(counts) c);
    chi2 float8 := 0;
    e float8;
    p float8;
BEGIN
    IF n IS NULL OR n = 0 OR EXISTS (SELECT 1 FROM unnest(weights) w WHERE w * n < 5) THEN
        RETURN jsonb_build_object('p_value', NULL, 'mismatch', false, 'checked', false,
                                  'reason', 'a variant expects fewer than 5 users', 'threshold', threshold);
    END IF;
    FOR i IN 1..cardinality(counts) LOOP
        e := n * weights[i];
        chi2 := chi2 + (counts[i] - e) ^ 2 / e;
    END LOOP;
    p := movierec.chi2_sf(chi2, cardinality(counts) - 1);
    RETURN jsonb_build_object('p_value', p, 'mismatch', p < threshold, 'checked', true,
                              'chi2', chi2, 'threshold', threshold);
END
$$;

-- Per-user figures of an experiment: variant of the first exposure,
-- exposures, movies shown, and distinct (impression, movie) events; for
-- rate events the latest value counts.
CREATE FUNCTION movierec._experiment_users(experiment_id bigint)
    RETURNS TABLE (user_id bigint, variant text, exposures bigint, shown bigint, clicks bigint,
                   plays bigint, dismisses bigint, rates bigint, rating_sum float8)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
    WITH imp AS (
        SELECT x.impression_id, x.user_id, x.variant, cardinality(x.movie_ids) AS shown
          FROM movierec.exposures x WHERE x.experiment_id = _experiment_users.experiment_id
    ), ev AS (
        SELECT DISTINCT ON (f.impression_id, f.movie_id, f.event) f.impression_id, f.event, f.value
          FROM movierec.feedback f JOIN imp USING (impression_id)
         ORDER BY f.impression_id, f.movie_id, f.event, f.event_id DESC
    ), per_imp AS (
        SELECT impression_id,
               count(*) FILTER (WHERE event = 'click') AS clicks,
               count(*) FILTER (WHERE event = 'play') AS plays,
               count(*) FILTER (WHERE event = 'dismiss') AS dismisses,
               count(*) FILTER (WHERE event = 'rate') AS rates,
               coalesce(sum(value) FILTER (WHERE event = 'rate'), 0) AS rating_sum
          FROM ev GROUP BY impression_id
    )
    SELECT i.user_id, (array_agg(i.variant ORDER BY i.impression_id))[1], count(*), sum(i.shown),
           coalesce(sum(p.clicks), 0), coalesce(sum(p.plays), 0), coalesce(sum(p.dismisses), 0),
           coalesce(sum(p.rates), 0), coalesce(sum(p.rating_sum), 0)
      FROM imp i LEFT JOIN per_imp p USING (impression_id)
     GROUP BY i.user_id
$$;

CREATE FUNCTION movierec.experiment_report(name text, alpha float8 DEFAULT 0.05,
                                           tuning_n int DEFAULT 5000)
    RETURNS jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    e movierec.experiments := movierec._experiment(name);
    metric_names text[] := ARRAY['ctr', 'play_rate', 'mean_rating'];
    v jsonb;
    vs jsonb[] := '{}';
    st record;
    stats jsonb[] := '{}';     -- per variant: {metric: {mean, var, n}}
    counts bigint[] := '{}';
    weights float8[] := '{}';
    ps float8[] := '{}';
    adj float8[];
    metrics jsonb;
    mr record;
    t jsonb;
    i int;
    j int;
    k int;
    total_users bigint := 0;
    total_exp bigint := 0;
    il jsonb := NULL;
    srm jsonb;
    agg jsonb;
BEGIN
    IF alpha IS NULL OR NOT (alpha > 0 AND alpha < 1) THEN
        RAISE EXCEPTION 'alpha must be between 0 and 1 (exclusive), not %', alpha
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass alpha => 0.05.';
    END IF;
    IF tuning_n IS NULL OR tuning_n < 1 THEN
        RAISE EXCEPTION 'tuning_n must be a positive number of users, not %', tuning_n
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the sample size at which the confidence sequence should be tightest, such as 5000.';
    END IF;
    IF e.kind = 'ab' THEN
        SELECT coalesce(jsonb_object_agg(s.variant, to_jsonb(s)), '{}') INTO agg
          FROM (SELECT u.variant, count(*) AS n, sum(u.exposures) AS exposures,
                       sum(u.shown) AS shown, sum(u.clicks) AS clicks,
                       sum(u.plays) AS plays, sum(u.dismisses) AS dismisses, sum(u.rates) AS rates,
                       sum(u.clicks::float8 * u.clicks) AS cc, sum(u.plays::float8 * u.plays) AS pp,
                       sum(u.shown::float8 * u.shown) AS ss, sum(u.clicks::float8 * u.shown) AS cs,
                       sum(u.plays::float8 * u.shown) AS ps,
                       sum(u.rating_sum) AS rsum, sum(u.rating_sum * u.rating_sum) AS rr,
                       sum(u.rates::float8 * u.rates) AS nn, sum(u.rating_sum * u.rates) AS rn
                  FROM movierec._experiment_users(e.experiment_id) u
                 GROUP BY u.variant) s;
    ELSE
        -- per team: the rows it contributed (paired within users: no A/B test,
        -- the test is the interleave object); one pass over the rows and events
        SELECT coalesce(jsonb_object_agg(tm.variant, to_jsonb(tm)), '{}') INTO agg
          FROM (SELECT z.t AS variant, count(DISTINCT y.user_id) AS n,
                       count(DISTINCT y.impression_id) AS exposures, count(*) AS shown,
                       count(*) FILTER (WHERE f.c) AS clicks, count(*) FILTER (WHERE f.p) AS plays,
                       count(*) FILTER (WHERE f.d) AS dismisses, count(*) FILTER (WHERE f.r) AS rates,
                       coalesce(sum(f.rv), 0)::float8 AS rsum
                  FROM movierec.exposures y
                 CROSS JOIN LATERAL unnest(y.movie_ids, y.teams) AS z(m, t)
                  LEFT JOIN (SELECT g.impression_id, g.movie_id,
                                    bool_or(g.event = 'click') AS c, bool_or(g.event = 'play') AS p,
                                    bool_or(g.event = 'dismiss') AS d, bool_or(g.event = 'rate') AS r,
                                    (array_agg(g.value ORDER BY g.event_id DESC)
                                       FILTER (WHERE g.event = 'rate'))[1] AS rv
                               FROM movierec.feedback g
                               JOIN movierec.exposures gx ON gx.impression_id = g.impression_id
                                AND gx.experiment_id = e.experiment_id
                              GROUP BY 1, 2) f ON f.impression_id = y.impression_id AND f.movie_id = z.m
                 WHERE y.experiment_id = e.experiment_id
                 GROUP BY z.t) tm;
    END IF;

    -- per-team figures for interleaving, per-variant for A/B
    i := 0;
    FOR v IN SELECT * FROM jsonb_array_elements(e.variants) LOOP
        i := i + 1;
        weights := weights || coalesce((v->>'weight')::float8, 0.5);
        SELECT coalesce((a->>'n')::bigint, 0) AS n, coalesce((a->>'exposures')::bigint, 0) AS exposures,
               coalesce((a->>'shown')::bigint, 0) AS shown, coalesce((a->>'clicks')::bigint, 0) AS clicks,
               coalesce((a->>'plays')::bigint, 0) AS plays, coalesce((a->>'dismisses')::bigint, 0) AS dismisses,
               coalesce((a->>'rates')::bigint, 0) AS rates,
               (a->>'cc')::float8 AS cc, (a->>'pp')::float8 AS pp, (a->>'ss')::float8 AS ss,
               (a->>'cs')::float8 AS cs, (a->>'ps')::float8 AS ps, coalesce((a->>'rsum')::float8, 0) AS rsum,
               (a->>'rr')::float8 AS rr, (a->>'nn')::float8 AS nn, (a->>'rn')::float8 AS rn
          INTO st FROM (SELECT agg->(v->>'name') AS a) q;
        counts := counts || st.n;
        total_users := total_users + st.n;
        total_exp := total_exp + st.exposures;
        metrics := jsonb_build_object(
            'ctr', to_jsonb(movierec._ratio_mean(st.n, st.clicks, st.shown, st.cc, st.ss, st.cs)),
            'play_rate', to_jsonb(movierec._ratio_mean(st.n, st.plays, st.shown, st.pp, st.ss, st.ps)),
            'mean_rating', to_jsonb(movierec._ratio_mean(st.n, st.rsum, st.rates, st.rr, st.nn, st.rn)));
        IF e.kind = 'interleave' THEN
            metrics := jsonb_build_object(
                'ctr', jsonb_build_object('mean', CASE WHEN st.shown > 0 THEN st.clicks::float8 / st.shown END),
                'play_rate', jsonb_build_object('mean', CASE WHEN st.shown > 0 THEN st.plays::float8 / st.shown END),
                'mean_rating', jsonb_build_object('mean', CASE WHEN st.rates > 0 THEN st.rsum / st.rates END));
        END IF;
        stats := stats || (metrics || jsonb_build_object('_n', st.n));
        vs := vs || jsonb_build_object('name', v->>'name', 'model', v->'model', 'weight', v->'weight',
                                       'users', st.n, 'exposures', st.exposures, 'shown', st.shown,
                                       'events', jsonb_build_object('click', st.clicks, 'play', st.plays,
                                                                    'rate', st.rates, 'dismiss', st.dismisses));
    END LOOP;

    -- tests against the first variant (A/B only); Holm over all of them
    k := cardinality(vs);
    FOR i IN 2..k LOOP
        FOR j IN 1..cardinality(metric_names) LOOP
            IF e.kind = 'ab' THEN
                t := movierec._lift_test((stats[1]->metric_names[j]->>'mean')::float8,
                                         (stats[1]->metric_names[j]->>'var_mean')::float8,
                                         (stats[1]->>'_n')::float8,
                                         (stats[i]->metric_names[j]->>'mean')::float8,
                                         (stats[i]->metric_names[j]->>'var_mean')::float8,
                                         (stats[i]->>'_n')::float8, alpha, tuning_n);
                ps := ps || (t->>'p_value')::float8;
            ELSE
                ps := ps || NULL::float8;
            END IF;
        END LOOP;
    END LOOP;
    adj := CASE WHEN cardinality(ps) > 0 THEN movierec._holm(ps) ELSE '{}' END;
    FOR i IN 1..k LOOP
        metrics := '{}';
        FOR j IN 1..cardinality(metric_names) LOOP
            IF i = 1 OR e.kind <> 'ab' THEN
                t := jsonb_build_object('lift', NULL, 'ci_low', NULL, 'ci_high', NULL, 'p_value', NULL,
                                        'seq_ci_low', NULL, 'seq_ci_high', NULL);
            ELSE
                t := movierec._lift_test((stats[1]->metric_names[j]->>'mean')::float8,
                                         (stats[1]->metric_names[j]->>'var_mean')::float8,
                                         (stats[1]->>'_n')::float8,
                                         (stats[i]->metric_names[j]->>'mean')::float8,
                                         (stats[i]->metric_names[j]->>'var_mean')::float8,
                                         (stats[i]->>'_n')::float8, alpha, tuning_n);
            END IF;
            metrics := metrics || jsonb_build_object(metric_names[j],
                jsonb_build_object('value', coalesce((stats[i]->metric_names[j]->>'mean')::float8, 0),
                                   'p_value_adjusted',
                                   CASE WHEN i > 1 THEN adj[(i - 2) * cardinality(metric_names) + j] END)
                || t);
        END LOOP;
        vs[i] := vs[i] || jsonb_build_object('metrics', metrics);
    END LOOP;

    IF e.kind = 'ab' THEN
        srm := movierec._srm(counts, weights);
    ELSE
        srm := jsonb_build_object('p_value', NULL, 'mismatch', false, 'checked', false,
                                  'reason', 'interleaving shows both models to every user');
    END IF;

    IF e.kind = 'interleave' THEN
        WITH per AS (
            SELECT y.impression_id,
                   count(*) FILTER (WHERE z.t = e.variants->0->>'name') AS a,
                   count(*) FILTER (WHERE z.t = e.variants->1->>'name') AS b
              FROM movierec.exposures y
              CROSS JOIN LATERAL unnest(y.movie_ids, y.teams) AS z(m, t)
              JOIN (SELECT DISTINCT f.impression_id, f.movie_id FROM movierec.feedback f
                      JOIN movierec.exposures fx ON fx.impression_id = f.impression_id
                       AND fx.experiment_id = e.experiment_id
                     WHERE f.event IN ('click', 'play', 'rate')) f
                ON f.impression_id = y.impression_id AND f.movie_id = z.m
             WHERE y.experiment_id = e.experiment_id
             GROUP BY y.impression_id
        ), c AS (
            SELECT count(*) FILTER (WHERE a > b) AS wins, count(*) FILTER (WHERE a < b) AS losses,
                   count(*) FILTER (WHERE a = b) AS ties FROM per
        )
        SELECT jsonb_build_object(
                   'team_a', e.variants->0->>'name', 'team_b', e.variants->1->>'name',
                   'wins', wins, 'losses', losses, 'ties', ties,
                   'impressions_with_events', wins + losses + ties,
                   'delta', CASE WHEN wins + losses + ties > 0
                                 THEN (wins + ties / 2.0)::float8 / (wins + losses + ties) - 0.5 ELSE 0 END,
                   'p_value', CASE WHEN wins + losses > 0
                                   THEN movierec.binomial_test(wins, wins + losses, 0.5) END)
          INTO il FROM c;
    END IF;

    IF e.kind = 'interleave' THEN
        SELECT count(DISTINCT x.user_id), count(*) INTO total_users, total_exp FROM movierec.exposures x
         WHERE x.experiment_id = e.experiment_id;
    END IF;
    RETURN jsonb_build_object(
        'experiment', e.name, 'kind', e.kind, 'status', e.status,
        'started_at', e.started_at, 'stopped_at', e.stopped_at,
        'alpha', alpha, 'tuning_n', tuning_n,
        'users', total_users, 'exposures', total_exp,
        'has_data', total_exp > 0,
        'message', CASE WHEN total_exp = 0 THEN 'no exposures yet: every figure is zero' END,
        'srm', srm,
        'variants', to_jsonb(vs))
        || CASE WHEN e.kind = 'interleave'
                THEN jsonb_build_object('interleave', coalesce(il, jsonb_build_object(
                         'wins', 0, 'losses', 0, 'ties', 0, 'delta', 0, 'p_value', NULL)))
                ELSE '{}' END;
END
$$;
COMMENT ON FUNCTION movierec.experiment_report(text, float8, int) IS
    'Per variant users, exposures, events and metrics (ctr, play_rate, mean_rating) with lift, Welch CI and p-value, Holm-adjusted p-value and confidence sequence; SRM; for interleaving wins/losses/ties, delta and binomial p-value.';

------------------------------------------------------------------------------
-- Monitoring (postgres_exporter reads these as movierec_monitor / pg_monitor).
------------------------------------------------------------------------------

CREATE VIEW movierec.experiment_variant_stats AS
WITH v AS (
    SELECT e.experiment_id, e.name AS experiment, e.kind, x.ord, x.v->>'name' AS variant,
           coalesce((x.v->>'weight')::float8, 0.5) AS weight
      FROM movierec.experiments e
     CROSS JOIN LATERAL jsonb_array_elements(e.variants) WITH ORDINALITY AS x(v, ord)
     WHERE e.status = 'running'
), u AS (
    -- interleaving: by team, a team's rows are what it showed
    SELECT x.experiment_id, coalesce(t.team, x.variant) AS variant, count(DISTINCT x.user_id) AS users,
           count(DISTINCT x.impression_id) AS exposures,
           sum(CASE WHEN t.team IS NULL THEN cardinality(x.movie_ids) ELSE 1 END) AS shown
      FROM movierec.exposures x
      JOIN movierec.experiments e ON e.experiment_id = x.experiment_id AND e.status = 'running'
      LEFT JOIN LATERAL unnest(x.teams) AS t(team) ON true
     GROUP BY 1, 2
), f AS (
    SELECT x.experiment_id,
           coalesce(x.teams[array_position(x.movie_ids, f.movie_id)], x.variant) AS variant,
           count(*) FILTER (WHERE f.event = 'click') AS clicks,
           count(*) FILTER (WHERE f.event = 'play') AS plays,
           count(*) FILTER (WHERE f.event = 'rate') AS rates,
           count(*) FILTER (WHERE f.event = 'dismiss') AS dismisses
      FROM movierec.feedback f
      JOIN movierec.exposures x USING (impression_id)
      JOIN movierec.experiments e ON e.experiment_id = x.experiment_id AND e.status = 'running'
     GROUP BY 1, 2
), j AS (
    SELECT v.*, coalesce(u.users, 0) AS users, coalesce(u.exposures, 0) AS exposures,
           coalesce(u.shown, 0) AS shown, coalesce(f.clicks, 0) AS clicks,
           coalesce(f.plays, 0) AS plays, coalesce(f.rates, 0) AS rates,
           coalesce(f.dismisses, 0) AS dismisses,
           sum(coalesce(u.users, 0)) OVER w AS n_users,
           min(v.weight) OVER w AS min_weight,
           count(*) OVER w AS n_variants
      FROM v LEFT JOIN u USING (experiment_id, variant) LEFT JOIN f USING (experiment_id, variant)
    WINDOW w AS (PARTITION BY v.experiment_id)
)
SELECT experiment, kind, variant, weight, users, exposures, shown, clicks, plays, rates, dismisses,
       CASE WHEN shown > 0 THEN clicks::float8 / shown ELSE 0 END AS ctr,
       CASE WHEN kind = 'ab' AND n_users * min_weight >= 5 THEN
            movierec.chi2_sf(sum((users - n_users * weight) ^ 2 / nullif(n_users * weight, 0))
                                 OVER (PARTITION BY experiment_id), n_variants - 1)
       END AS srm_p_value
  FROM j;
COMMENT ON VIEW movierec.experiment_variant_stats IS
    'Running experiments by variant: users, exposures, movies shown, events, CTR and the SRM p-value (NULL when a variant expects fewer than 5 users): the exporter''s view.';
GRANT SELECT ON movierec.experiment_variant_stats TO pg_monitor;
