-- bayes (Gibbs-sampled Bayesian MF, src/kernels/kern_bayes.c) through SQL:
-- default_params, train, the stored fold-in ridge and implicit_source,
-- evaluate against the baseline, thread independence, retrain
-- bit-identical from a snapshot, serving (predict equals the stored
-- terms, fold-in), cross_validate, grid_search, the gate, and bad input.
BEGIN;
SET client_min_messages = warning;
-- 200 users x 120 movies, two thirds observed: rating = 3.4 + biases + a
-- rank-2 taste term + hashed noise, clipped to 1..5
CREATE TABLE public.bq AS
SELECT u AS user_id, i AS movie_id,
       greatest(1, least(5, 3.4 + 0.3 * sin(u * 1.7) + 0.4 * cos(i * 0.9)
            + 0.9 * sin(u * 0.37) * cos(i * 0.53) + 0.7 * cos(u * 0.71) * sin(i * 0.29)
            + 0.3 * ((hashint4(u * 1000 + i) % 1000) / 1000.0)))::real AS rating,
       timestamptz '2020-01-01' + (hashint4(u * 31 + i) % 100000) * interval '1 minute' AS rated_at
FROM generate_series(1, 200) u, generate_series(1, 120) i
WHERE hashint4(u * 7919 + i) % 3 <> 0;
CREATE TABLE public.bq_train AS SELECT * FROM public.bq WHERE NOT movierec.hash_split_is_test(user_id, movie_id);
CREATE TABLE public.bq_test AS SELECT * FROM public.bq WHERE movierec.hash_split_is_test(user_id, movie_id);
CREATE TEMP TABLE ids AS SELECT
    movierec.train('bq bayes', 'bayes', '{"iterations": 40, "burn_in": 10, "threads": 1}', 'public.bq_train') AS b1,
    movierec.train('bq bayes2', 'bayes', '{"iterations": 40, "burn_in": 10, "threads": 3}', 'public.bq_train') AS b3,
    movierec.train('bq base', 'baseline', '{}', 'public.bq_train') AS base,
    movierec.train('bq bayes imp', 'bayes', '{"iterations": 40, "burn_in": 10, "implicit_source": "public.bq"}',
                   'public.bq_train') AS bimp,
    movierec.train('bq bayes snap', 'bayes', '{"iterations": 20, "burn_in": 5, "snapshot": "copy"}',
                   'public.bq_train') AS snap;
CREATE TEMP TABLE ev AS SELECT
    movierec.evaluate(b1, 'public.bq_test') AS b1, movierec.evaluate(base, 'public.bq_test') AS base,
    movierec.evaluate(bimp, 'public.bq_test') AS bimp FROM ids;
CREATE TEMP TABLE re AS SELECT movierec.retrain(snap) AS id FROM ids;
CREATE TEMP TABLE cv AS SELECT movierec.cross_validate('bayes', '{"iterations": 20, "burn_in": 5}', 'public.bq', 3) AS r;
CREATE TEMP TABLE gs AS SELECT * FROM movierec.grid_search('bayes', '{"factors": [2, 8], "iterations": [20]}', 'public.bq', 2);
RESET client_min_messages;

SELECT plan(22);

SELECT is(movierec.default_params('bayes'),
          '{"burn_in": 20, "factors": 10, "implicit": true, "implicit_items": true, "init_std": 0.1,
            "iterations": 200, "seed": 42, "threads": 2, "use_bias": true}'::jsonb,
          'default_params(bayes): every key, no tuning knobs beyond size and chain length');
SELECT is((SELECT n_factors FROM movierec.models, ids WHERE model_id = b1), 10, 'ten factors stored');
SELECT ok((SELECT (params->>'foldin_regularization')::float8 > 0 AND (params->>'foldin_reg_user_bias')::float8 > 0
           FROM movierec.models, ids WHERE model_id = b1), 'the learned fold-in ridge is stored with the model');
SELECT is((SELECT params->>'implicit_source' FROM movierec.models, ids WHERE model_id = bimp), 'public.bq',
          'implicit_source is stored, qualified');
SELECT ok((SELECT (b1->>'rmse')::float8 < (base->>'rmse')::float8 - 0.02 FROM ev),
          'bayes beats the baseline by more than 0.02 RMSE');
SELECT ok((SELECT (bimp->>'rmse')::float8 < (base->>'rmse')::float8 - 0.02 FROM ev),
          'bayes with implicit_source beats the baseline');
SELECT is((SELECT count(*) FROM (
             SELECT user_id, bias, factors FROM movierec.user_factors, ids WHERE model_id = b1
             EXCEPT SELECT user_id, bias, factors FROM movierec.user_factors, ids WHERE model_id = b3) x)
          + (SELECT count(*) FROM (
             SELECT movie_id, bias, factors FROM movierec.item_factors, ids WHERE model_id = b1
             EXCEPT SELECT movie_id, bias, factors FROM movierec.item_factors, ids WHERE model_id = b3) y),
          0::bigint, '1 and 3 threads: bitwise-identical factors');
SELECT isnt((SELECT array_agg(factors ORDER BY user_id) FROM movierec.user_factors, ids WHERE model_id = bimp),
            (SELECT array_agg(factors ORDER BY user_id) FROM movierec.user_factors, ids WHERE model_id = b1),
            'implicit_source changes the model');
SELECT is((SELECT count(*) FROM (
             SELECT user_id, bias, factors FROM movierec.user_factors, ids WHERE model_id = snap
             EXCEPT SELECT user_id, bias, factors FROM movierec.user_factors, re WHERE model_id = re.id) x)
          + (SELECT count(*) FROM (
             SELECT movie_id, bias, factors FROM movierec.item_factors, ids WHERE model_id = snap
             EXCEPT SELECT movie_id, bias, factors FROM movierec.item_factors, re WHERE model_id = re.id) y),
          0::bigint, 'retrain from the snapshot is bit-identical');
SELECT is((SELECT m.params - 'snapshot' FROM movierec.models m, re WHERE m.model_id = re.id),
          (SELECT m.params - 'snapshot' FROM movierec.models m, ids WHERE m.model_id = snap),
          'retrain stores the same params (fold-in ridge included)');
SELECT ok((SELECT abs(movierec.predict(7, 11, 'bq bayes') - greatest(1, least(5,
                 m.global_mean + u.bias + i.bias
                 + (SELECT sum(a * b) FROM unnest(u.factors, i.factors) t(a, b))))) < 1e-4
           FROM movierec.models m, ids, movierec.user_factors u, movierec.item_factors i
           WHERE m.model_id = b1 AND u.model_id = b1 AND i.model_id = b1 AND u.user_id = 7 AND i.movie_id = 11),
          'predict serves mu + b_u + b_i + p_u . q_i of the stored posterior means');
SELECT is((SELECT count(*) FROM movierec.recommend(7, 10, 'bq bayes')), 10::bigint, 'recommend serves it');
SELECT is((SELECT count(*) FROM movierec.recommend_for_ratings('{1, 2, 3}', '{5, 4, 2}', 5, 'bq bayes')), 5::bigint,
          'fold-in serves a new user with the learned ridge');
SELECT ok((SELECT (r->'rmse'->>'mean')::float8 BETWEEN 0.05 AND 1.5 AND jsonb_array_length(r->'per_fold') = 3 FROM cv),
          'cross_validate runs bayes');
SELECT is((SELECT count(*) FROM gs), 2::bigint, 'grid_search ranks bayes params');
SELECT ok((SELECT bool_and(score > 0) AND min(score) = (SELECT score FROM gs WHERE rank = 1) FROM gs),
          'grid_search: rank 1 has the lowest cross-validated RMSE');
SELECT throws_ok($$SELECT movierec.train('x', 'bayes', '{"regularization": 1}', 'public.bq')$$, '22023',
                 'unknown parameter "regularization" for algorithm bayes');
SELECT throws_ok($$SELECT movierec.train('x', 'bayes', '{"implicit_source": "public.nope"}', 'public.bq')$$, '42P01',
                 'implicit_source relation "public.nope" does not exist');
SELECT throws_ok($$SELECT movierec.train('x', 'bayes', '{"implicit_source": 3}', 'public.bq')$$, '22023',
                 'params key "implicit_source" must be a relation name');
SELECT ok((SELECT g ? 'promote' AND (g->>'candidate')::float8 < (g->>'baseline')::float8
           FROM movierec.promotion_gate('bq bayes', 'bayes', '{"iterations": 20}', 'public.bq') g),
          'the promotion gate trains a bayes candidate and it beats the gate''s baseline');
SELECT movierec.promote(b1) IS NOT NULL AS promoted FROM ids \gset
SELECT is(:'promoted' || ':' || (SELECT stage FROM movierec.models, ids WHERE model_id = b1), 't:production',
          'a bayes model is promoted through the registry');
SELECT is(movierec.predict(7, 11), movierec.predict(7, 11, 'bq bayes'), 'and then serves as the production model');
SELECT * FROM finish();
ROLLBACK;
