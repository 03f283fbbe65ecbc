-- shard/train.sql: the training node of user-sharded movierec
-- (doc/scale.md): a movierec database (run after CREATE EXTENSION
-- movierec) that gathers every shard's ratings, trains as usual, and
-- publishes a model to every shard.  Then
-- SELECT movierec_proxy.set_shards(ARRAY[...]) as on the router.
\ir cluster.sql
CREATE SCHEMA IF NOT EXISTS movierec_shards;

-- When the last gather read the shards: a published model's created_at
-- (fold-in folds in every rating newer than it, on the shards).
CREATE TABLE IF NOT EXISTS movierec_shards.last_gather (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    at  timestamptz NOT NULL
);

-- Replace this node's ratings with every shard's (RUN ON ALL, in parallel).
CREATE OR REPLACE FUNCTION movierec_shards.gather() RETURNS bigint
    LANGUAGE plpgsql AS
$$
DECLARE
    n bigint;
BEGIN
    PERFORM movierec._require_primary('gather');
    TRUNCATE movierec.ratings;
    INSERT INTO movierec_shards.last_gather VALUES (true, now())
        ON CONFLICT (one) DO UPDATE SET at = excluded.at;
    INSERT INTO movierec.ratings SELECT * FROM movierec_proxy.ratings();
    GET DIAGNOSTICS n = ROW_COUNT;
    ANALYZE movierec.ratings;
    RETURN n;
END
$$;

-- Send this node's catalogue to every shard.
CREATE OR REPLACE FUNCTION movierec_shards.put_movies() RETURNS bigint
    LANGUAGE sql AS
$$ SELECT sum(n)::bigint FROM movierec_proxy.put_movies(
       (SELECT coalesce(jsonb_agg(to_jsonb(m)), '[]') FROM movierec.movies m)) n $$;

-- Publish a model of this node to every shard: stage it everywhere (items
-- whole, each user's factors to the user's partition), then switch every
-- shard to it.  A shard switches in one transaction, so it serves the old
-- model or the new one, never a mix; shards switch within one RUN ON ALL
-- call of each other.  Returns the number of shards switched.
CREATE OR REPLACE FUNCTION movierec_shards.publish(model_id bigint) RETURNS int
    LANGUAGE plpgsql AS
$$
DECLARE
    m movierec.models;
    staged int;
    live int;
    parts int := movierec_proxy.partitions();
    with_users int;
BEGIN
    SELECT * INTO m FROM movierec.models x WHERE x.model_id = publish.model_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'model % does not exist', model_id
            USING ERRCODE = 'undefined_object', HINT = 'Train one with movierec.train() first.';
    END IF;
    -- ratings after the gather are not in the model: the shards fold them in
    m.created_at := least(m.created_at, (SELECT g.at FROM movierec_shards.last_gather g));
    SELECT count(DISTINCT movierec_proxy.partition_of(user_id)) INTO with_users
      FROM movierec.user_factors u WHERE u.model_id = m.model_id;
    IF with_users < parts THEN
        RAISE EXCEPTION 'model % has users in % of the % partitions', model_id, with_users, parts
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Each partition needs users: gather the ratings of every shard and train on them.';
    END IF;
    SELECT count(*) INTO staged FROM movierec_proxy.stage(
        to_jsonb(m),
        (SELECT array_agg(i.movie_id ORDER BY i.movie_id) FROM movierec.item_factors i WHERE i.model_id = m.model_id),
        (SELECT array_agg(i.bias ORDER BY i.movie_id) FROM movierec.item_factors i WHERE i.model_id = m.model_id),
        (SELECT array_agg(i.factors::text ORDER BY i.movie_id) FROM movierec.item_factors i WHERE i.model_id = m.model_id),
        (SELECT array_agg(i.n_ratings ORDER BY i.movie_id) FROM movierec.item_factors i WHERE i.model_id = m.model_id),
        (SELECT array_agg(i.mean_rating ORDER BY i.movie_id) FROM movierec.item_factors i WHERE i.model_id = m.model_id),
        (SELECT array_agg(u.user_id ORDER BY u.user_id) FROM movierec.user_factors u WHERE u.model_id = m.model_id),
        (SELECT array_agg(u.bias ORDER BY u.user_id) FROM movierec.user_factors u WHERE u.model_id = m.model_id),
        (SELECT array_agg(u.factors::text ORDER BY u.user_id) FROM movierec.user_factors u WHERE u.model_id = m.model_id));
    IF staged <> parts THEN
        RAISE EXCEPTION 'model % was staged on % of % partitions', model_id, staged, parts
            USING ERRCODE = 'internal_error', HINT = 'Publish it again.';
    END IF;
    SELECT count(*) INTO live FROM movierec_proxy.go_live(m.model_name, m.version);
    RETURN live;
END
$$;
