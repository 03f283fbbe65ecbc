-- Schema shape and privileges of the data tables.
BEGIN;
SELECT plan(9);
SELECT has_schema('movierec');
SELECT has_table('movierec', 'movies', 'movies table');
SELECT has_table('movierec', 'ratings', 'ratings table');
SELECT col_is_pk('movierec', 'ratings', ARRAY['user_id', 'movie_id'], 'ratings keyed by user and movie');
SELECT col_type_is('movierec', 'movies', 'genres', 'text[]', 'genres is text[]');
SELECT col_type_is('movierec', 'ratings', 'rating', 'real', 'rating is real');
SELECT throws_ok($$INSERT INTO movierec.ratings VALUES (1, 1, 'NaN')$$, '23514', NULL, 'NaN rating rejected');
SELECT has_function('movierec', 'build_info', 'build_info exists');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'movierec'), false, 'not relocatable');
SELECT * FROM finish();
ROLLBACK;
