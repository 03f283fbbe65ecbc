-- load_movielens on the real MovieLens sets (skipped without them):
-- exact counts, the first movie, a Latin-1 title, replacing contents.
SET search_path TO movierec, public;
\getenv mldir MOVIELENS_DIR
SELECT * FROM load_movielens(:'mldir' || '/ml-100k');
SELECT count(*) AS ratings, count(DISTINCT user_id) AS users, count(DISTINCT movie_id) AS rated_movies,
       min(rating) AS min_rating, max(rating) AS max_rating
  FROM ratings;
SELECT * FROM movies WHERE movie_id IN (1, 267, 543, 1412) ORDER BY movie_id;
SELECT count(*) FILTER (WHERE year IS NULL) AS without_year,
       count(*) FILTER (WHERE cardinality(genres) = 0) AS without_genres
  FROM movies;
-- ml-latest-small replaces ml-100k entirely
SELECT * FROM load_movielens(:'mldir' || '/ml-latest-small/');
SELECT count(*) AS ratings, count(DISTINCT user_id) AS users, count(DISTINCT movie_id) AS rated_movies,
       min(rating) AS min_rating, max(rating) AS max_rating,
       count(*) FILTER (WHERE rating * 2 <> round(rating * 2)) AS not_half_stars
  FROM ratings;
SELECT (SELECT count(*) FROM movies) AS movies,
       (SELECT count(*) FROM movies WHERE title = 'Land Before Time III: The Time of the Great Giving (1995) (V)') AS left_from_100k;
SELECT * FROM movies WHERE movie_id IN (1, 73, 40697, 143410) ORDER BY movie_id;
SELECT title, year FROM movies WHERE title LIKE '%, The' AND year = 1995 ORDER BY movie_id LIMIT 2;
SELECT min(rated_at) AT TIME ZONE 'UTC' AS first_rating, max(rated_at) AT TIME ZONE 'UTC' AS last_rating FROM ratings;
-- the loaded sample ratings of user 1
SELECT user_id, movie_id, rating, rated_at AT TIME ZONE 'UTC' AS rated_at_utc
  FROM ratings WHERE user_id = 1 ORDER BY movie_id LIMIT 3;
-- indexes were rebuilt and are used
SET enable_seqscan = off;
SELECT count(*) FROM ratings WHERE movie_id = 1;
RESET enable_seqscan;
TRUNCATE ratings, movies;
