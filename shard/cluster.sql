-- shard/cluster.sql: the PL/Proxy cluster of movierec's user shards and the
-- raw proxy functions, for the router (router.sql) and the training node
-- (train.sql), which include this file.  doc/scale.md describes the layout.
--
-- Partitions: PL/Proxy sends a call to partition hashint8(user_id) & (N-1),
-- N = the number of connection strings, a power of 2.  Over-partitioning:
-- start with N = 2^k partitions on fewer clusters (equal connection strings
-- share one connection), and move partitions to new clusters later by
-- copying their users' rows and changing one connection string.
CREATE EXTENSION IF NOT EXISTS plproxy;
CREATE SCHEMA IF NOT EXISTS movierec_proxy;
REVOKE ALL ON SCHEMA movierec_proxy FROM PUBLIC;

-- Define (or redefine) the cluster: one connection string per partition.
CREATE OR REPLACE FUNCTION movierec_proxy.set_shards(connstrs text[], shard_user text DEFAULT current_user)
    RETURNS int LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    n int := coalesce(cardinality(connstrs), 0);
    opts text;
BEGIN
    IF n = 0 OR n & (n - 1) <> 0 THEN
        RAISE EXCEPTION 'the number of partitions must be a power of 2, not %', n
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Repeat a connection string to put several partitions on one cluster.';
    END IF;
    SELECT string_agg(format('p%s %L', i - 1, connstrs[i]), ', ' ORDER BY i) INTO opts
      FROM generate_subscripts(connstrs, 1) i;
    DROP SERVER IF EXISTS movierec_shards CASCADE;
    EXECUTE format('CREATE SERVER movierec_shards FOREIGN DATA WRAPPER plproxy '
                   'OPTIONS (connection_lifetime %L, %s)', '1800', opts);
    EXECUTE format('CREATE USER MAPPING FOR PUBLIC SERVER movierec_shards OPTIONS (user %L)', shard_user);
    RETURN n;
END
$$;

-- The number of partitions (srvoptions: connection_lifetime, p0, p1, ...).
CREATE OR REPLACE FUNCTION movierec_proxy.partitions() RETURNS int
    LANGUAGE sql STABLE AS
$$ SELECT cardinality(srvoptions) - 1 FROM pg_catalog.pg_foreign_server WHERE srvname = 'movierec_shards' $$;

-- The partition of a user, as PL/Proxy computes it.
CREATE OR REPLACE FUNCTION movierec_proxy.partition_of(user_id bigint) RETURNS int
    LANGUAGE sql STABLE AS
$$ SELECT pg_catalog.hashint8(user_id) & (movierec_proxy.partitions() - 1) $$;

CREATE OR REPLACE FUNCTION movierec_proxy.recommend(user_id bigint, k int)
    RETURNS TABLE (movie_id bigint, score real, rank int) LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; RUN ON hashint8(user_id); TARGET movierec.recommend; $$;

CREATE OR REPLACE FUNCTION movierec_proxy.rate(user_id bigint, movie_id bigint, rating real)
    RETURNS boolean LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; RUN ON hashint8(user_id); TARGET movierec_shard.rate; $$;

-- RUN ON a given partition (the wrappers try another when one is down)
CREATE OR REPLACE FUNCTION movierec_proxy.popular(part int, k int)
    RETURNS TABLE (movie_id bigint, score real, rank int) LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; RUN ON part; SELECT movie_id, score, rank FROM movierec_shard.popular(k); $$;

CREATE OR REPLACE FUNCTION movierec_proxy.movies(part int, ids bigint[])
    RETURNS TABLE (movie_id bigint, title text, year int, genres text[]) LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; RUN ON part;
   SELECT movie_id, title, year, genres FROM movierec.movies WHERE movie_id = ANY (ids); $$;

-- every shard's ratings (training gathers them)
CREATE OR REPLACE FUNCTION movierec_proxy.ratings()
    RETURNS TABLE (user_id bigint, movie_id bigint, rating real, rated_at timestamptz) LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; RUN ON ALL;
   SELECT user_id, movie_id, rating, rated_at FROM movierec.ratings; $$;

-- Publishing a model, in two steps (train.sql): stage it on every shard
-- (the items whole, the users split by partition: a cluster holding several
-- partitions gets one call per partition, all into one staged model), then
-- make it the production model on every shard, one transaction each.
CREATE OR REPLACE FUNCTION movierec_proxy.stage(model jsonb, item_ids bigint[], item_bias real[],
                                                item_factors text[], item_n int[], item_mean real[],
                                                user_ids bigint[], user_bias real[], user_factors text[])
    RETURNS SETOF bigint LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; SPLIT user_ids, user_bias, user_factors; RUN ON hashint8(user_ids);
   TARGET movierec_shard.stage; $$;

CREATE OR REPLACE FUNCTION movierec_proxy.go_live(model_name text, version int)
    RETURNS SETOF bigint LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; RUN ON ALL; TARGET movierec_shard.go_live; $$;

-- the catalogue to every shard
CREATE OR REPLACE FUNCTION movierec_proxy.put_movies(movies jsonb)
    RETURNS SETOF bigint LANGUAGE plproxy AS
$$ CLUSTER 'movierec_shards'; RUN ON ALL; TARGET movierec_shard.put_movies; $$;
