-- Signatures and privileges of the data-loading functions.
BEGIN;
SELECT plan(8);
SELECT has_function('movierec', 'load_movielens', ARRAY['text'], 'load_movielens(text) exists');
SELECT function_returns('movierec', 'load_movielens', ARRAY['text'], 'setof record', 'load_movielens returns rows');
SELECT has_function('movierec', 'generate_ratings', ARRAY['integer', 'integer', 'bigint', 'integer', 'real', 'integer'],
                    'generate_ratings(int, int, bigint, int, real, int) exists');
SELECT function_returns('movierec', 'generate_ratings', ARRAY['integer', 'integer', 'bigint', 'integer', 'real', 'integer'],
                        'bigint', 'generate_ratings returns bigint');
SELECT is(has_function_privilege('public', 'movierec.load_movielens(text)', 'EXECUTE'), false,
          'PUBLIC may not execute load_movielens');
SELECT is(has_function_privilege('pg_read_server_files', 'movierec.load_movielens(text)', 'EXECUTE'), true,
          'pg_read_server_files may execute load_movielens');
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'movierec.load_movielens(text)'::regprocedure), false,
          'load_movielens runs with the caller''s rights');
SELECT throws_ok($$SELECT movierec.generate_ratings(5, 5, 26)$$, '22023',
                 'n_ratings is larger than n_users * n_movies', 'impossible density refused');
SELECT * FROM finish();
ROLLBACK;
