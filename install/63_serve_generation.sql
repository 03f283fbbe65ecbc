-- since 0.2
-- Exact model-name resolution for serving (src/serve_generation.c).
--
-- Every statement that writes movierec.models bumps the one row of
-- movierec.models_generation in its own transaction.  A serving backend
-- keeps the row version it saw when it resolved its model names, and each
-- call checks that this version is still the visible one under the call's
-- snapshot: a promotion, rollback, retraining or drop visible to the call
-- makes the names be resolved again, under that same snapshot.  (The
-- relcache invalidation alone reaches a backend only after the writer's
-- commit is already visible, and it can be read mid-statement.)
CREATE TABLE movierec.models_generation (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation bigint NOT NULL DEFAULT 0
);
INSERT INTO movierec.models_generation DEFAULT VALUES;
COMMENT ON TABLE movierec.models_generation IS
    'One row, bumped by every statement that writes movierec.models: serving re-resolves model names when it changes.';
GRANT SELECT ON movierec.models_generation TO PUBLIC;

CREATE FUNCTION movierec.bump_models_generation() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    UPDATE movierec.models_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION movierec.bump_models_generation() FROM PUBLIC;
CREATE TRIGGER bump_models_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON movierec.models
    FOR EACH STATEMENT EXECUTE FUNCTION movierec.bump_models_generation();
