-- shard/shard.sql: the functions of a movierec user shard (doc/scale.md).
-- Run in each shard database after CREATE EXTENSION movierec, then
-- SELECT movierec_shard.setup(N, ARRAY[partitions held here]).
-- A shard is an ordinary movierec database: its own ratings (the users of
-- its partitions), a copy of the catalogue, and each production model's
-- item factors with its users' factors.  Serving (movierec.recommend) is
-- the extension's own; the router calls it through PL/Proxy.
CREATE SCHEMA IF NOT EXISTS movierec_shard;

CREATE TABLE IF NOT EXISTS movierec_shard.config (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    partitions int NOT NULL CHECK (partitions > 0 AND partitions & (partitions - 1) = 0),
    here       int[] NOT NULL
);

CREATE OR REPLACE FUNCTION movierec_shard.setup(partitions int, here int[]) RETURNS void
    LANGUAGE sql AS
$$ INSERT INTO movierec_shard.config VALUES (true, partitions, here)
   ON CONFLICT (one) DO UPDATE SET partitions = excluded.partitions, here = excluded.here $$;

-- Whether a user's partition (PL/Proxy's hashint8(user_id) & (N-1)) is here.
CREATE OR REPLACE FUNCTION movierec_shard.owns(user_id bigint) RETURNS boolean
    LANGUAGE sql STABLE AS
$$ SELECT (pg_catalog.hashint8(user_id) & (c.partitions - 1)) = ANY (c.here) FROM movierec_shard.config c $$;

-- Refuse a misrouted user.
CREATE OR REPLACE FUNCTION movierec_shard.check_user(user_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE AS
$$
BEGIN
    IF NOT coalesce(movierec_shard.owns(user_id), false) THEN
        RAISE EXCEPTION 'user % is not in a partition of this shard', user_id
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Call through the router: it sends each user to partition hashint8(user_id) & (N-1).';
    END IF;
END
$$;

-- A rating from the router: insert or replace, rated now.
CREATE OR REPLACE FUNCTION movierec_shard.rate(user_id bigint, movie_id bigint, rating real)
    RETURNS boolean LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM movierec_shard.check_user(user_id);
    INSERT INTO movierec.ratings AS r (user_id, movie_id, rating, rated_at)
    VALUES (rate.user_id, rate.movie_id, rate.rating, now())
    ON CONFLICT ON CONSTRAINT ratings_pkey
    DO UPDATE SET rating = excluded.rating, rated_at = excluded.rated_at;
    RETURN true;
END
$$;

-- The popularity ranking of the production model: what recommend() gives a
-- user without ratings (user ids are positive: 0 never has any).  The same
-- on every shard (the training counts come from the training node).
CREATE OR REPLACE FUNCTION movierec_shard.popular(k int)
    RETURNS TABLE (movie_id bigint, score real, rank int) LANGUAGE sql STABLE AS
$$ SELECT r.movie_id, r.score, r.rank FROM movierec.recommend(0, k) r $$;

-- The catalogue, replaced from a jsonb array of movies rows.
CREATE OR REPLACE FUNCTION movierec_shard.put_movies(movies jsonb) RETURNS bigint
    LANGUAGE plpgsql AS
$$
DECLARE
    n bigint;
BEGIN
    INSERT INTO movierec.movies AS m (movie_id, title, year, genres)
    SELECT x.movie_id, x.title, x.year, x.genres FROM jsonb_populate_recordset(NULL::movierec.movies, movies) x
    ON CONFLICT (movie_id) DO UPDATE SET title = excluded.title, year = excluded.year, genres = excluded.genres;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- Stage one model (model: the training node's models row as jsonb): the
-- models row (same name and version as on the training node, stage
-- 'staging', created_at = the training time, so that ratings newer than
-- the gathered ones are folded in), the item factors once, this call's
-- users.  Returns the shard's model_id.
CREATE OR REPLACE FUNCTION movierec_shard.stage(model jsonb, item_ids bigint[], item_bias real[],
                                                item_factors text[], item_n int[], item_mean real[],
                                                user_ids bigint[], user_bias real[], user_factors text[])
    RETURNS bigint LANGUAGE plpgsql AS
$$
DECLARE
    m movierec.models := jsonb_populate_record(NULL::movierec.models, model);
    mid bigint;
    bad bigint;
BEGIN
    SELECT u INTO bad FROM unnest(user_ids) u WHERE NOT movierec_shard.owns(u) LIMIT 1;
    IF bad IS NOT NULL THEN
        PERFORM movierec_shard.check_user(bad);
    END IF;
    -- calls for several partitions of this shard run at once: one row
    PERFORM pg_catalog.pg_advisory_xact_lock(1836213603, pg_catalog.hashtext(m.model_name));
    SELECT x.model_id INTO mid FROM movierec.models x WHERE x.model_name = m.model_name AND x.version = m.version;
    IF mid IS NULL THEN
        INSERT INTO movierec.models (model_name, version, algorithm, params, source, user_col, item_col,
                                     rating_col, n_users, n_movies, n_ratings, n_factors, global_mean,
                                     rating_min, rating_max, train_seconds, metrics, stage, created_at)
        VALUES (m.model_name, m.version, m.algorithm,
                m.params || jsonb_build_object('published_from', m.model_id), 'movierec.ratings',
                m.user_col, m.item_col, m.rating_col, m.n_users, m.n_movies, m.n_ratings, m.n_factors,
                m.global_mean, m.rating_min, m.rating_max, m.train_seconds, m.metrics, 'staging',
                m.created_at)
        RETURNING model_id INTO mid;
        -- The model saw this shard's ratings as they were at the gather
        -- (created_at), not now: without a snapshot of this cluster,
        -- serving counts a user as changed when the change began after
        -- created_at (serve_changes.c), so ratings made between the gather
        -- and this publish are folded in.
        UPDATE movierec.models x SET snapshot_id = NULL WHERE x.model_id = mid
        RETURNING (SELECT y.snapshot_id FROM movierec.models y WHERE y.model_id = mid) INTO bad;
        DELETE FROM movierec.snapshots s WHERE s.snapshot_id = bad;
        INSERT INTO movierec.item_factors (model_id, movie_id, bias, factors, n_ratings, mean_rating)
        SELECT mid, i, b, f::real[], n, mr FROM unnest(item_ids, item_bias, item_factors, item_n, item_mean) t(i, b, f, n, mr);
    END IF;
    INSERT INTO movierec.user_factors (model_id, user_id, bias, factors)
    SELECT mid, u, b, f::real[] FROM unnest(user_ids, user_bias, user_factors) t(u, b, f)
    ON CONFLICT DO NOTHING;
    RETURN mid;
END
$$;

-- Make the staged model the production model here (one transaction: this
-- shard serves the old model or the new one, never a mix).  Idempotent.
CREATE OR REPLACE FUNCTION movierec_shard.go_live(model_name text, version int) RETURNS bigint
    LANGUAGE plpgsql AS
$$
DECLARE
    mid bigint;
    st text;
BEGIN
    -- (the lock promote takes: calls for two partitions of this shard queue)
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('movierec.promote'),
                                             pg_catalog.hashtext(model_name));
    SELECT x.model_id, x.stage INTO mid, st FROM movierec.models x
     WHERE x.model_name = go_live.model_name AND x.version = go_live.version;
    IF mid IS NULL THEN
        RAISE EXCEPTION 'model "%" version % is not staged on this shard', model_name, version
            USING ERRCODE = 'undefined_object', HINT = 'Publish it again from the training node.';
    END IF;
    IF st <> 'production' THEN
        PERFORM movierec.promote(mid, 'published from the training node');
    END IF;
    RETURN mid;
END
$$;
