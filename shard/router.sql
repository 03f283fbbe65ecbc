-- shard/router.sql: the router database of user-sharded movierec
-- (doc/scale.md).  Clients connect here and see one database: schema
-- movierec with recommend, rate, popular and movies.  Run it with psql in
-- the router database, then SELECT movierec_proxy.set_shards(ARRAY[...]).
-- The router holds no data and does not install the movierec extension.
\ir cluster.sql
CREATE SCHEMA IF NOT EXISTS movierec;

-- A PL/Proxy error that means "the partition's server cannot be reached".
CREATE OR REPLACE FUNCTION movierec_proxy.is_down(state text, msg text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS
$$ SELECT state LIKE '08%' OR msg ~ '(could not connect|connection to server|server closed the connection|Connection refused|PQconnectPoll|connection timeout|no connection)' $$;

-- The error of a user whose shard is down: SQLSTATE 08001 (PostgREST: 503).
CREATE OR REPLACE FUNCTION movierec_proxy.raise_down(user_id bigint, msg text) RETURNS void
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'the shard of user % (partition %) is unavailable', user_id,
                    movierec_proxy.partition_of(user_id)
        USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection',
              DETAIL = msg,
              HINT = 'Users of other shards are served.  Retry when the shard''s primary is back or its standby is promoted.';
END
$$;

CREATE OR REPLACE FUNCTION movierec.recommend(user_id bigint, k int DEFAULT 10)
    RETURNS TABLE (movie_id bigint, score real, rank int) LANGUAGE plpgsql AS
$$
DECLARE
    st text;
    msg text;
BEGIN
    RETURN QUERY SELECT * FROM movierec_proxy.recommend(user_id, k);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    IF movierec_proxy.is_down(st, msg) THEN
        PERFORM movierec_proxy.raise_down(user_id, msg);
    END IF;
    RAISE;
END
$$;
COMMENT ON FUNCTION movierec.recommend(bigint, int) IS
    'Top-k movies of a user, from the shard of partition hashint8(user_id) & (N-1).';

CREATE OR REPLACE FUNCTION movierec.rate(user_id bigint, movie_id bigint, rating real)
    RETURNS boolean LANGUAGE plpgsql AS
$$
DECLARE
    st text;
    msg text;
BEGIN
    RETURN movierec_proxy.rate(user_id, movie_id, rating);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    IF movierec_proxy.is_down(st, msg) THEN
        PERFORM movierec_proxy.raise_down(user_id, msg);
    END IF;
    RAISE;
END
$$;
COMMENT ON FUNCTION movierec.rate(bigint, bigint, real) IS
    'Record a rating (insert or replace) on the user''s shard; recommend() folds it in at once.';

-- Reads every shard can answer (the same catalogue and training counts
-- everywhere): a random partition first, the next ones if it is down.
CREATE OR REPLACE FUNCTION movierec.popular(k int DEFAULT 10)
    RETURNS TABLE (movie_id bigint, score real, rank int) LANGUAGE plpgsql AS
$$
DECLARE
    n int := movierec_proxy.partitions();
    first int := floor(random() * 2^30)::int;
    st text;
    msg text;
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        BEGIN
            RETURN QUERY SELECT * FROM movierec_proxy.popular((first + i) % n, k);
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF NOT movierec_proxy.is_down(st, msg) THEN
                RAISE;
            END IF;
        END;
    END LOOP;
    RAISE EXCEPTION 'no shard is available'
        USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection', DETAIL = msg;
END
$$;
COMMENT ON FUNCTION movierec.popular(int) IS 'The popularity ranking (RUN ON ANY reachable shard).';

CREATE OR REPLACE FUNCTION movierec.movies(ids bigint[])
    RETURNS TABLE (movie_id bigint, title text, year int, genres text[]) LANGUAGE plpgsql AS
$$
DECLARE
    n int := movierec_proxy.partitions();
    first int := floor(random() * 2^30)::int;
    st text;
    msg text;
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        BEGIN
            RETURN QUERY SELECT * FROM movierec_proxy.movies((first + i) % n, ids);
            RETURN;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF NOT movierec_proxy.is_down(st, msg) THEN
                RAISE;
            END IF;
        END;
    END LOOP;
    RAISE EXCEPTION 'no shard is available'
        USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection', DETAIL = msg;
END
$$;
COMMENT ON FUNCTION movierec.movies(bigint[]) IS 'Catalogue rows (RUN ON ANY reachable shard).';
