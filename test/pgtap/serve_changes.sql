-- Serving semantics of 0.2: the change log, its triggers and privileges,
-- the item fold-in functions and setting, stated as assertions.
BEGIN;
SELECT plan(14);
SELECT has_table('movierec', 'rating_changes', 'the change log exists');
SELECT col_is_pk('movierec', 'rating_changes', ARRAY['user_id'], 'one log row per user');
SELECT has_trigger('movierec', 'ratings', 'ratings_changed_insert', 'inserts are logged');
SELECT has_trigger('movierec', 'ratings', 'ratings_changed_update', 'updates are logged');
SELECT has_trigger('movierec', 'ratings', 'ratings_changed_delete', 'deletes are logged');
SELECT has_trigger('movierec', 'ratings', 'ratings_changed_truncate', 'truncates are logged');
SELECT is((SELECT array_agg(DISTINCT tgenabled::text) FROM pg_trigger
            WHERE tgrelid = 'movierec.ratings'::regclass AND tgname LIKE 'ratings_changed_%'),
          ARRAY['A'], 'the log triggers fire on logical replication subscribers too (ENABLE ALWAYS)');
SELECT ok(NOT has_table_privilege('public', 'movierec.rating_changes', 'SELECT,INSERT,UPDATE,DELETE'),
          'PUBLIC has no right on the log');
SELECT has_function('movierec', 'movie_explain_path', ARRAY['bigint', 'text']);
SELECT has_function('movierec', 'folded_movies', ARRAY['text']);
SELECT is(current_setting('movierec.item_fold_in_min_ratings'), '5', 'item fold-in needs 5 ratings by default');
SELECT throws_ok($$SET movierec.item_fold_in_min_ratings = -1$$, '22023');
-- the trigger refuses to log another table
CREATE TABLE public.not_ratings (user_id bigint, movie_id bigint);
CREATE TRIGGER t AFTER INSERT ON public.not_ratings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION movierec._ratings_changed();
SELECT throws_ok($$INSERT INTO public.not_ratings VALUES (1, 1)$$, '39P01', NULL,
                 'the log trigger works on movierec.ratings only');
SELECT is_empty($$SELECT * FROM movierec.movie_explain_path(NULL)$$, 'a null movie gives an empty result');
SELECT * FROM finish();
ROLLBACK;
