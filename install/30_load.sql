-- Data loading: MovieLens folders and synthetic ratings.  Both functions
-- replace the contents of movierec.movies and movierec.ratings in the
-- caller's transaction.

CREATE FUNCTION movierec.load_movielens(path text)
    RETURNS TABLE(dataset text, movies bigint, ratings bigint, users bigint)
    AS 'MODULE_PATHNAME', 'movierec_load_movielens'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION movierec.load_movielens(text) IS
    'Load a MovieLens folder (ml-100k, ml-1m, ml-10m, ml-20m, ml-25m, ml-latest, ml-latest-small) into movies and ratings, replacing their contents.';
-- reads server files: superusers and pg_read_server_files only (also checked in C)
REVOKE ALL ON FUNCTION movierec.load_movielens(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION movierec.load_movielens(text) TO pg_read_server_files;

CREATE FUNCTION movierec.generate_ratings(n_users int, n_movies int, n_ratings bigint,
                                          rank int DEFAULT 10, noise real DEFAULT 0.5,
                                          seed int DEFAULT 0)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'movierec_generate_ratings'
    LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION movierec.generate_ratings(int, int, bigint, int, real, int) IS
    'Replace movies and ratings with a reproducible synthetic set: planted rank-k structure plus Gaussian noise, long-tailed activity.';
