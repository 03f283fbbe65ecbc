-- Serving API: signatures, volatility, the recommendations table, the
-- invalidation triggers, and errors stated as assertions.
BEGIN;
SELECT plan(16);
SELECT has_function('movierec', 'recommend', ARRAY['bigint', 'integer', 'text', 'boolean', 'bigint[]']);
SELECT has_function('movierec', 'predict', ARRAY['bigint', 'bigint', 'text']);
SELECT has_function('movierec', 'similar_movies', ARRAY['bigint', 'integer', 'text']);
SELECT has_function('movierec', 'recommend_for_ratings', ARRAY['bigint[]', 'real[]', 'integer', 'text']);
SELECT has_function('movierec', 'explain', ARRAY['bigint', 'bigint', 'text', 'integer']);
SELECT has_function('movierec', 'recommend_all', ARRAY['text', 'integer']);
SELECT has_function('movierec', 'recommend_explain_path', ARRAY['bigint', 'text']);
SELECT function_returns('movierec', 'predict', ARRAY['bigint', 'bigint', 'text'], 'real');
SELECT function_returns('movierec', 'recommend_all', ARRAY['text', 'integer'], 'bigint');
SELECT volatility_is('movierec', 'recommend', ARRAY['bigint', 'integer', 'text', 'boolean', 'bigint[]'], 'stable');
SELECT col_is_pk('movierec', 'recommendations', ARRAY['model_id', 'user_id', 'rank'], 'recommendations keyed by model, user and rank');
SELECT has_trigger('movierec', 'models', 'serve_invalidate', 'models changes invalidate the serving cache');
SELECT has_trigger('movierec', 'item_factors', 'serve_invalidate', 'item factor changes invalidate the serving cache');
SELECT throws_ok($$SELECT * FROM movierec.recommend(1, 0)$$, '22023');
SELECT throws_ok($$SELECT * FROM movierec.recommend_for_ratings('{1, 2}', '{4}')$$, '2202E');
SELECT is_empty($$SELECT * FROM movierec.recommend(NULL)$$, 'a null user gives an empty result');
SELECT * FROM finish();
ROLLBACK;
