-- bench/quality_bayes.sql: bayes at its default params on MovieLens, every
-- split: ml-100k u1-u5, ua, ub (official) and the issue-3 hash split of
-- ml-100k and ml-latest-small, next to als at its defaults.  The implicit
-- sets come from the whole ratings table (params implicit_source): which
-- movies a user rated is what the database knows, test ratings included;
-- their values are never read.  Needs the psql variable mldir; with the
-- variable quick set, runs only what test/pgtap/ml_quality_bayes.sql
-- asserts (u1-u5 and the two hash splits, bayes only).  Leaves every figure
-- in mlb.results; prints nothing.
SET client_min_messages = warning;
CREATE SCHEMA mlb;
CREATE TABLE mlb.results (dataset text, split text, algorithm text, rmse float8, mae float8,
                          train_seconds float8);
CREATE TABLE mlb.ml100k (user_id int, movie_id int, rating real, ts bigint);
CREATE TABLE mlb.mlsmall (user_id int, movie_id int, rating real, ts bigint);
\set f :mldir '/ml-100k/u.data'
COPY mlb.ml100k FROM :'f';
\set f :mldir '/ml-latest-small/ratings.csv'
COPY mlb.mlsmall FROM :'f' (FORMAT csv, HEADER);
CREATE FUNCTION mlb.load_split(name text, dir text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE mlb.%I (LIKE mlb.ml100k)', name || '_base');
    EXECUTE format('CREATE TABLE mlb.%I (LIKE mlb.ml100k)', name || '_test');
    EXECUTE format('COPY mlb.%I FROM %L', name || '_base', dir || '/ml-100k/' || name || '.base');
    EXECUTE format('COPY mlb.%I FROM %L', name || '_test', dir || '/ml-100k/' || name || '.test');
END;
$$;
SELECT set_config('mlb.dir', :'mldir', false) IS NULL AS unset \gset
DO $$ BEGIN
    PERFORM mlb.load_split(s, current_setting('mlb.dir')) FROM unnest(ARRAY['u1', 'u2', 'u3', 'u4', 'u5', 'ua', 'ub']) s;
END $$;
CREATE TABLE mlb.split_rows AS
SELECT * FROM movierec.split('mlb.ml100k', 'hash') UNION ALL SELECT * FROM movierec.split('mlb.mlsmall', 'hash');
ANALYZE;

-- Train algorithm at its defaults on train (bayes: implicit sets from full), evaluate on test.
CREATE FUNCTION mlb.run(dataset text, split text, algorithm text, train regclass, test regclass,
                        full_table regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    mid bigint;
    t0 timestamptz := clock_timestamp();
    t1 timestamptz;
    ev jsonb;
BEGIN
    mid := movierec.train(format('quality bayes %s %s %s', dataset, split, algorithm), algorithm,
                          CASE WHEN algorithm = 'bayes' THEN jsonb_build_object('implicit_source', full_table::text)
                               ELSE '{}' END, train);
    t1 := clock_timestamp();
    ev := movierec.evaluate(mid, test);
    INSERT INTO mlb.results VALUES (dataset, split, algorithm, (ev->>'rmse')::float8, (ev->>'mae')::float8,
                                    extract(epoch FROM t1 - t0));
END;
$$;
SELECT set_config('mlb.quick', :{?quick}::text, false) IS NULL AS unset \gset
DO $$
DECLARE
    quick boolean := current_setting('mlb.quick')::boolean;
    algos text[] := CASE WHEN quick THEN ARRAY['bayes'] ELSE ARRAY['bayes', 'als'] END;
    splits text[] := CASE WHEN quick THEN ARRAY['u1', 'u2', 'u3', 'u4', 'u5']
                          ELSE ARRAY['u1', 'u2', 'u3', 'u4', 'u5', 'ua', 'ub'] END;
BEGIN
    PERFORM mlb.run('ml100k', s, a, format('mlb.%s_base', s)::regclass, format('mlb.%s_test', s)::regclass,
                    'mlb.ml100k')
    FROM unnest(splits) s, unnest(algos) a;
    PERFORM mlb.run(d, 'hash', a, format('mlb.%s_train', d)::regclass, format('mlb.%s_test', d)::regclass,
                    format('mlb.%s', d)::regclass)
    FROM unnest(ARRAY['ml100k', 'mlsmall']) d, unnest(algos) a;
END;
$$;
RESET client_min_messages;
