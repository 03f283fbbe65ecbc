-- train()'s params through SQL, for the paths the kernel's split added
-- (src/kernels/params_check.c, called from src/train_params.c): the key
-- named in an error is the failing one in jsonb's key order, a nested
-- value is shown as written, the seed is stored exactly up to 2^63-1, a
-- number beyond double range is a range error, and an escaped key works.
BEGIN;
SET client_min_messages = warning;
CREATE TABLE public.pq AS
SELECT u AS user_id, i AS movie_id, (1 + (u * 7 + i) % 5)::real AS rating
FROM generate_series(1, 20) u, generate_series(1, 15) i;
RESET client_min_messages;

SELECT plan(9);

SELECT throws_ok($$SELECT movierec.train('pq', 'als', '{"zzz": 1, "factors": 0}', 'public.pq')$$, '22023',
                 'unknown parameter "zzz" for algorithm als',
                 'the first key in jsonb order (shorter first) is the one reported');
SELECT throws_ok($$SELECT movierec.train('pq', 'als', '{"factors": 8, "iterations": 0}', 'public.pq')$$, '22023',
                 'parameter "iterations" must be an integer between 1 and 1000, not 0',
                 'a bad second key is named');
SELECT throws_ok($$SELECT movierec.train('pq', 'als', '{"factors": {"a": [1, "x"]}}', 'public.pq')$$, '22023',
                 'parameter "factors" must be an integer between 1 and 1024, not {"a": [1, "x"]}',
                 'a nested value is shown as jsonb prints it');
SELECT throws_ok($$SELECT movierec.train('pq', 'als', '{"regularization": 1.50e400}', 'public.pq')$$, '22023',
                 NULL, 'a number beyond double range is a range error');
SELECT throws_ok($$SELECT movierec.train('pq', 'als', '{"use_bias": null}', 'public.pq')$$, '22023',
                 'parameter "use_bias" must be true or false, not null', 'null for a boolean');
SELECT throws_ok($$SELECT movierec.train('pq', 'popularity', '"{}"', 'public.pq')$$, '22023',
                 'params must be a json object', 'a string is not an object');
SELECT is((SELECT count(*) FROM movierec.models WHERE model_name = 'pq'), 0::bigint, 'no model from bad params');
CREATE TEMP TABLE ids AS SELECT
    movierec.train('pq', 'popularity', '{"seed": 9223372036854775806, "reg_item_bias": 2.50}', 'public.pq') AS pop,
    movierec.train('pq', 'als', '{"fac\u0074ors": 3, "iterations": 2}', 'public.pq') AS als;
SELECT is((SELECT params->>'seed' FROM movierec.models, ids WHERE model_id = pop),
          '9223372036854775806', 'the seed is stored exactly (not as the nearest double)');
SELECT is((SELECT params->'factors' FROM movierec.models, ids WHERE model_id = als),
          '3'::jsonb, 'an escaped key is the key it spells');

SELECT * FROM finish();
ROLLBACK;
