-- Training: movierec.train(), drop_model() and the training_progress view.

-- Training also stores each user's rating count and the time of the read.
ALTER TABLE movierec.user_factors ADD COLUMN n_ratings int NOT NULL DEFAULT 0;
COMMENT ON COLUMN movierec.user_factors.n_ratings IS 'Training ratings of the user.';
ALTER TABLE movierec.models ADD COLUMN read_seconds float8;
COMMENT ON COLUMN movierec.models.read_seconds IS 'Seconds spent reading the source into memory.';
COMMENT ON COLUMN movierec.models.train_seconds IS 'Seconds spent in the training kernel (read_seconds excluded).';

CREATE FUNCTION movierec.train(
    model_name text,
    algorithm  text     DEFAULT 'als',
    params     jsonb    DEFAULT '{}',
    source     regclass DEFAULT 'movierec.ratings',
    user_col   name     DEFAULT 'user_id',
    item_col   name     DEFAULT 'movie_id',
    rating_col name     DEFAULT 'rating')
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'movierec_train'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION movierec.default_params(algorithm text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'movierec_default_params'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.default_params(text) IS
    'The resolved params train() uses for an algorithm when given none (threads from movierec.train_threads).';

CREATE FUNCTION movierec.drop_model(model_id bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE
    AS $$
BEGIN
    IF drop_model.model_id IS NULL THEN
        RAISE EXCEPTION 'model_id must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass the model_id of a row of movierec.models.';
    END IF;
    DELETE FROM movierec.models m WHERE m.model_id = drop_model.model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', drop_model.model_id
            USING ERRCODE = 'undefined_object',
                  HINT = 'List the models with SELECT model_id, model_name, version FROM movierec.models.';
    END IF;
END
$$;
COMMENT ON FUNCTION movierec.drop_model(bigint) IS
    'Remove a model with its user and item factors.';

CREATE FUNCTION movierec.training_progress(
    OUT pid int, OUT model text, OUT algorithm text, OUT phase text,
    OUT iteration int, OUT "of" int, OUT loss float8, OUT elapsed interval,
    OUT started_at timestamptz)
    RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'movierec_training_progress'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

CREATE VIEW movierec.training_progress AS
    SELECT * FROM movierec.training_progress();
COMMENT ON VIEW movierec.training_progress IS
    'Trainings running now in any session: phase, iteration of total, last loss, elapsed time. Needs movierec in shared_preload_libraries.';

-- The snapshot statistics (row count, rated_at range, checksum, transaction
-- snapshot) that the running train() of this backend computed under the
-- snapshot it read with; NULLs outside a train() of that source.  Used by
-- the trigger that records movierec.snapshots rows.
CREATE FUNCTION movierec._train_read_stats(source regclass, OUT n_rows bigint,
                                           OUT min_rated_at timestamptz,
                                           OUT max_rated_at timestamptz,
                                           OUT checksum text, OUT txid_snapshot pg_snapshot)
    AS 'MODULE_PATHNAME', 'movierec_train_read_stats'
    LANGUAGE C VOLATILE;
