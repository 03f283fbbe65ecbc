-- since 0.2
-- EASE (algorithm 'ease'): the item-item weight matrix B of each model.
-- One row per movie kept in B (movies with at least min_item_ratings
-- training ratings): weights[b] = B(movie_id, m_b), where m_1 < m_2 < ...
-- are the movie_ids of the model's rows here, in ascending order.  The score
-- of movie j for a user is the sum of B(i, j) over the user's current
-- ratings i (those >= params->binarize when binarize > 0).
CREATE TABLE movierec.ease_weights (
    model_id bigint NOT NULL REFERENCES movierec.models ON DELETE CASCADE,
    movie_id bigint NOT NULL,
    weights  real[] NOT NULL,
    PRIMARY KEY (model_id, movie_id)
);
-- floats do not compress: store them out of line without trying
ALTER TABLE movierec.ease_weights ALTER COLUMN weights SET STORAGE EXTERNAL;
COMMENT ON TABLE movierec.ease_weights IS
    'EASE models: row movie_id of B over the model''s kept movies (ascending movie_id).';
SELECT pg_catalog.pg_extension_config_dump('movierec.ease_weights', '');

-- Serving caches B with the model: a change reaches every backend at commit.
CREATE FUNCTION movierec.ease_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'movierec_ease_invalidate'
    LANGUAGE C;
CREATE TRIGGER ease_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON movierec.ease_weights
    FOR EACH STATEMENT EXECUTE FUNCTION movierec.ease_invalidate();

-- The promotion gate (moved here from 70_mlops.sql in 0.2): ease models,
-- like ials, are judged by NDCG@10.
-- Train candidate, production's recipe and a baseline on the same older
-- ratings; evaluate all three on the newest ones; decide.
CREATE OR REPLACE FUNCTION movierec.promotion_gate(model_name text, algorithm text, params jsonb,
                                        source regclass,
                                        user_col name DEFAULT 'user_id',
                                        item_col name DEFAULT 'movie_id',
                                        rating_col name DEFAULT 'rating',
                                        holdout float8 DEFAULT NULL,
                                        margin float8 DEFAULT NULL)
    RETURNS jsonb LANGUAGE plpgsql AS
$$
DECLARE
    h float8 := coalesce(holdout, current_setting('movierec.gate_holdout')::float8);
    mg float8 := coalesce(margin, current_setting('movierec.promotion_margin')::float8);
    metric text := CASE WHEN algorithm IN ('ials', 'ease', 'popularity') THEN 'ndcg_at_10' ELSE 'rmse' END;
    mkey text := CASE WHEN metric = 'rmse' THEN 'rmse' ELSE 'ndcg_at_k' END;
    lower_better boolean := metric = 'rmse';
    prod movierec.models;
    n bigint;
    n_test bigint;
    gate_name text := '_gate_' || model_name;
    cand_id bigint;
    base_id bigint;
    shadow_id bigint;
    c float8;
    b float8;
    p float8;
    p_asis float8;
    beats_prod boolean;
    beats_base boolean;
    decision boolean;
    why text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                   WHERE attrelid = source AND attname = 'rated_at' AND NOT attisdropped AND attnum > 0) THEN
        RAISE EXCEPTION 'the promotion gate needs a rated_at column in %', source
            USING ERRCODE = 'undefined_column',
                  HINT = 'It holds out the newest ratings by rated_at; use promote => ''always'' or ''never'' for sources without one.';
    END IF;
    SELECT * INTO prod FROM movierec.models m
     WHERE m.model_name = promotion_gate.model_name AND m.stage = 'production';

    EXECUTE format('SELECT count(*) FROM %s', source) INTO n;
    n_test := greatest(1, floor(n * h)::bigint);
    IF to_regclass('pg_temp.mr_gate_test') IS NOT NULL THEN
        DROP TABLE pg_temp.mr_gate_test;
    END IF;
    IF to_regclass('pg_temp.mr_gate_train') IS NOT NULL THEN
        DROP TABLE pg_temp.mr_gate_train;
    END IF;
    EXECUTE format('CREATE TEMP TABLE mr_gate_test AS SELECT %1$I::bigint AS user_id, '
                   '%2$I::bigint AS movie_id, %3$I::float8 AS rating FROM %4$s '
                   'ORDER BY rated_at DESC, %1$I DESC, %2$I DESC LIMIT %5$s',
                   user_col, item_col, rating_col, source, n_test);
    EXECUTE format('CREATE TEMP TABLE mr_gate_train AS SELECT s.%1$I::bigint AS user_id, '
                   's.%2$I::bigint AS movie_id, s.%3$I::float8 AS rating FROM %4$s s '
                   'WHERE NOT EXISTS (SELECT 1 FROM mr_gate_test t '
                   'WHERE t.user_id = s.%1$I AND t.movie_id = s.%2$I)',
                   user_col, item_col, rating_col, source);

    cand_id := movierec.train(gate_name, algorithm, params, 'pg_temp.mr_gate_train'::regclass);
    base_id := movierec.train(gate_name, 'baseline', '{}', 'pg_temp.mr_gate_train'::regclass);
    c := (movierec.evaluate(cand_id, 'pg_temp.mr_gate_test'::regclass, 10))->>mkey;
    b := (movierec.evaluate(base_id, 'pg_temp.mr_gate_test'::regclass, 10))->>mkey;
    IF prod.model_id IS NOT NULL THEN
        -- for information: the production model as it is (it may have seen the held-out rows)
        p_asis := (movierec.evaluate(prod.model_id, 'pg_temp.mr_gate_test'::regclass, 10))->>mkey;
        IF prod.algorithm <> 'external' THEN
            -- production's recipe on the same training rows: a fair comparison
            shadow_id := movierec.train(gate_name, prod.algorithm, prod.params - 'snapshot',
                                        'pg_temp.mr_gate_train'::regclass);
        ELSIF jsonb_typeof(prod.params->'recipe') = 'object' THEN
            -- imported factors (import_factors): the movierec recipe recorded for them
            shadow_id := movierec.train(gate_name, prod.params->'recipe'->>'algorithm',
                                        coalesce(prod.params->'recipe'->'params', '{}'),
                                        'pg_temp.mr_gate_train'::regclass);
        END IF;
        -- imported factors without a recipe cannot be retrained here: the
        -- candidate must beat them as they are (which favours production)
        p := CASE WHEN shadow_id IS NULL THEN p_asis
                  ELSE ((movierec.evaluate(shadow_id, 'pg_temp.mr_gate_test'::regclass, 10))->>mkey)::float8 END;
        UPDATE movierec.models m SET metrics = prod.metrics WHERE m.model_id = prod.model_id;
    END IF;

    beats_base := CASE WHEN lower_better THEN c < b ELSE c > b END;
    beats_prod := p IS NULL OR CASE WHEN lower_better THEN c <= p * (1 - mg) ELSE c >= p * (1 + mg) END;
    decision := beats_base AND beats_prod;
    why := CASE
        WHEN NOT beats_base THEN format('candidate %s %s does not beat the baseline''s %s', metric,
                                        round(c::numeric, 4), round(b::numeric, 4))
        WHEN NOT beats_prod THEN format('candidate %s %s does not beat production''s %s by the margin %s',
                                        metric, round(c::numeric, 4), round(p::numeric, 4), mg)
        WHEN p IS NULL THEN format('no production model; candidate %s %s beats the baseline''s %s',
                                   metric, round(c::numeric, 4), round(b::numeric, 4))
        ELSE format('candidate %s %s beats production''s %s by the margin %s and the baseline''s %s',
                    metric, round(c::numeric, 4), round(p::numeric, 4), mg, round(b::numeric, 4))
        END;

    -- the gate's models and their snapshots leave no trace
    DELETE FROM movierec.snapshots s WHERE s.snapshot_id IN
        (SELECT m.snapshot_id FROM movierec.models m WHERE m.model_id IN (cand_id, base_id, shadow_id));
    DELETE FROM movierec.models m WHERE m.model_id IN (cand_id, base_id, shadow_id);
    DROP TABLE pg_temp.mr_gate_test, pg_temp.mr_gate_train;

    RETURN jsonb_build_object(
        'promote', decision, 'reason', why, 'metric', metric,
        'candidate', c, 'production', p, 'baseline', b,
        'production_as_is', p_asis, 'production_model_id', prod.model_id,
        'margin', mg, 'holdout', h, 'test_rows', n_test, 'train_rows', n - n_test);
END
$$;
COMMENT ON FUNCTION movierec.promotion_gate IS
    'Hold out the newest ratings; train the candidate recipe, production''s recipe and a baseline on the rest; evaluate all three; return the decision with the numbers.';
