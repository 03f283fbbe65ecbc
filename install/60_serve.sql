-- Serving: recommendations from stored models (src/serve_*.c, doc/serving.md).

CREATE FUNCTION movierec.recommend(user_id bigint, k int DEFAULT 10, model text DEFAULT NULL,
                                   exclude_rated boolean DEFAULT true, among bigint[] DEFAULT NULL)
    RETURNS TABLE (movie_id bigint, score real, rank int)
    AS 'MODULE_PATHNAME', 'movierec_recommend'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION movierec.recommend(bigint, int, text, boolean, bigint[]) IS
    'Exact top-k movies for a user (ties by smaller movie_id); new ratings are folded in at once.';

CREATE FUNCTION movierec.predict(user_id bigint, movie_id bigint, model text DEFAULT NULL)
    RETURNS real
    AS 'MODULE_PATHNAME', 'movierec_predict'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION movierec.predict(bigint, bigint, text) IS
    'Predicted rating of a movie for a user, clipped to the rating scale.';

CREATE FUNCTION movierec.similar_movies(movie_id bigint, k int DEFAULT 10, model text DEFAULT NULL)
    RETURNS TABLE (movie_id bigint, similarity real, rank int)
    AS 'MODULE_PATHNAME', 'movierec_similar_movies'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION movierec.similar_movies(bigint, int, text) IS
    'Movies nearest to a movie by cosine similarity of item factors.';

CREATE FUNCTION movierec.recommend_for_ratings(movie_ids bigint[], ratings real[], k int DEFAULT 10,
                                               model text DEFAULT NULL)
    RETURNS TABLE (movie_id bigint, score real, rank int)
    AS 'MODULE_PATHNAME', 'movierec_recommend_for_ratings'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION movierec.recommend_for_ratings(bigint[], real[], int, text) IS
    'Top-k for an anonymous user described by ratings (one ALS user step against the item factors).';

CREATE FUNCTION movierec.explain(user_id bigint, movie_id bigint, model text DEFAULT NULL, n int DEFAULT 5)
    RETURNS TABLE (rated_movie_id bigint, contribution real)
    AS 'MODULE_PATHNAME', 'movierec_explain'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 5;
COMMENT ON FUNCTION movierec.explain(bigint, bigint, text, int) IS
    'Because you rated: the rated movies contributing most to the user''s score of a movie.';

CREATE FUNCTION movierec.recommend_explain_path(user_id bigint, model text DEFAULT NULL)
    RETURNS TABLE (path text, reason text)
    AS 'MODULE_PATHNAME', 'movierec_recommend_explain_path'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION movierec.recommend_explain_path(bigint, text) IS
    'Which path recommend() serves the user by now (model, fold_in or popularity) and why.';

CREATE TABLE movierec.recommendations (
    model_id bigint NOT NULL,
    user_id  bigint NOT NULL,
    rank     int NOT NULL CHECK (rank > 0),
    movie_id bigint NOT NULL,
    score    real NOT NULL,
    PRIMARY KEY (model_id, user_id, rank)
);
COMMENT ON TABLE movierec.recommendations IS
    'Precomputed top-k lists written by movierec.recommend_all(); a model''s rows are replaced atomically.';
SELECT pg_catalog.pg_extension_config_dump('movierec.recommendations', '');

CREATE FUNCTION movierec.recommend_all(model text DEFAULT NULL, k int DEFAULT 10)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'movierec_recommend_all'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION movierec.recommend_all(text, int) IS
    'Replace the model''s rows of movierec.recommendations with the top k of every stored user.';

-- Cache invalidation: any change to models or item factors reaches every
-- backend's serving cache at commit.
CREATE FUNCTION movierec.serve_invalidate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'movierec_serve_invalidate'
    LANGUAGE C;
CREATE TRIGGER serve_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON movierec.models
    FOR EACH STATEMENT EXECUTE FUNCTION movierec.serve_invalidate();
CREATE TRIGGER serve_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON movierec.item_factors
    FOR EACH STATEMENT EXECUTE FUNCTION movierec.serve_invalidate();

-- Precomputed lists go with their model (no foreign key: it would cost a
-- check per inserted row in recommend_all).
CREATE FUNCTION movierec.serve_drop_recommendations() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM movierec.recommendations WHERE model_id = OLD.model_id;
    RETURN NULL;
END $$;
CREATE TRIGGER serve_drop_recommendations
    AFTER DELETE ON movierec.models
    FOR EACH ROW EXECUTE FUNCTION movierec.serve_drop_recommendations();
