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
