-- bench/quality.sql: train and evaluate movierec on MovieLens for the
-- quality targets of issue 3.  Needs the psql variable mldir (the
-- MovieLens folder) and leaves every figure in mlq.results.  Used by
-- bench/quality (prints the table) and test/pgtap/ml_quality.sql (asserts
-- the targets).  Prints nothing, so that it can run inside a TAP stream.
SET client_min_messages = warning;
CREATE SCHEMA mlq;
CREATE TABLE mlq.results (
    dataset text, split text, algorithm text, params jsonb,
    rmse float8, mae float8, ndcg float8, precision_at_k float8, recall_at_k float8,
    map_at_k float8, coverage float8, users int, train_seconds float8, eval_seconds float8);

-- Train on train, evaluate on test, record the figures.
CREATE FUNCTION mlq.run(dataset text, split text, algorithm text, params jsonb,
                        train regclass, test regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    mid bigint;
    t0 timestamptz := clock_timestamp();
    t1 timestamptz;
    ev jsonb;
BEGIN
    mid := movierec.train(format('quality %s %s %s', dataset, split, algorithm), algorithm, params, train);
    t1 := clock_timestamp();
    ev := movierec.evaluate(mid, test);
    INSERT INTO mlq.results VALUES (dataset, split, algorithm, params,
        (ev->>'rmse')::float8, (ev->>'mae')::float8, (ev->>'ndcg_at_k')::float8,
        (ev->>'precision_at_k')::float8, (ev->>'recall_at_k')::float8, (ev->>'map_at_k')::float8,
        (ev->>'coverage_at_k')::float8, (ev->>'users')::int,
        extract(epoch FROM t1 - t0), extract(epoch FROM clock_timestamp() - t1));
END;
$$;

CREATE TABLE mlq.ml100k (user_id int, movie_id int, rating real, ts bigint);
CREATE TABLE mlq.mlsmall (user_id int, movie_id int, rating real, ts bigint);
\set f :mldir '/ml-100k/u.data'
COPY mlq.ml100k FROM :'f';
\set f :mldir '/ml-latest-small/ratings.csv'
COPY mlq.mlsmall FROM :'f' (FORMAT csv, HEADER);
CREATE TABLE mlq.u1_base (LIKE mlq.ml100k); CREATE TABLE mlq.u1_test (LIKE mlq.ml100k);
CREATE TABLE mlq.u2_base (LIKE mlq.ml100k); CREATE TABLE mlq.u2_test (LIKE mlq.ml100k);
CREATE TABLE mlq.u3_base (LIKE mlq.ml100k); CREATE TABLE mlq.u3_test (LIKE mlq.ml100k);
CREATE TABLE mlq.u4_base (LIKE mlq.ml100k); CREATE TABLE mlq.u4_test (LIKE mlq.ml100k);
CREATE TABLE mlq.u5_base (LIKE mlq.ml100k); CREATE TABLE mlq.u5_test (LIKE mlq.ml100k);
\set f :mldir '/ml-100k/u1.base'
COPY mlq.u1_base FROM :'f';
\set f :mldir '/ml-100k/u1.test'
COPY mlq.u1_test FROM :'f';
\set f :mldir '/ml-100k/u2.base'
COPY mlq.u2_base FROM :'f';
\set f :mldir '/ml-100k/u2.test'
COPY mlq.u2_test FROM :'f';
\set f :mldir '/ml-100k/u3.base'
COPY mlq.u3_base FROM :'f';
\set f :mldir '/ml-100k/u3.test'
COPY mlq.u3_test FROM :'f';
\set f :mldir '/ml-100k/u4.base'
COPY mlq.u4_base FROM :'f';
\set f :mldir '/ml-100k/u4.test'
COPY mlq.u4_test FROM :'f';
\set f :mldir '/ml-100k/u5.base'
COPY mlq.u5_base FROM :'f';
\set f :mldir '/ml-100k/u5.test'
COPY mlq.u5_test FROM :'f';
ANALYZE mlq.ml100k, mlq.mlsmall;

-- The issue's hash split (creates mlq.ml100k_train/_test, mlq.mlsmall_train/_test).
CREATE TABLE mlq.split_rows AS
SELECT * FROM movierec.split('mlq.ml100k', 'hash') UNION ALL SELECT * FROM movierec.split('mlq.mlsmall', 'hash');

DO $$
DECLARE
    ds text;
    n int;
BEGIN
    FOREACH ds IN ARRAY ARRAY['ml100k', 'mlsmall'] LOOP
        PERFORM mlq.run(ds, 'hash', a, '{}', format('mlq.%s_train', ds)::regclass,
                        format('mlq.%s_test', ds)::regclass)
        FROM unnest(ARRAY['popularity', 'baseline', 'als', 'svd', 'ials', 'ease']) a;
    END LOOP;
    FOR n IN 1 .. 5 LOOP
        PERFORM mlq.run('ml100k', 'u' || n, 'als', '{}', format('mlq.u%s_base', n)::regclass,
                        format('mlq.u%s_test', n)::regclass);
    END LOOP;
END;
$$;
RESET client_min_messages;
