-- generate_ratings: argument checks, exact counts, ranges, long tails,
-- reproducibility from the seed.
SET search_path TO movierec, public;
SELECT generate_ratings(0, 10, 10);
SELECT generate_ratings(10, 0, 10);
SELECT generate_ratings(10, 10, 0);
SELECT generate_ratings(10, 10, 101);
SELECT generate_ratings(10, 10, 10, rank => -1);
SELECT generate_ratings(10, 10, 10, noise => 'NaN');
SELECT generate_ratings(10, 10, 10, noise => -0.5);
SELECT generate_ratings(10, 10, 10, noise => 6);
-- 2,000 users x 1,000 movies x 100,000 ratings
SELECT generate_ratings(2000, 1000, 100000, seed => 7);
SELECT count(*) AS ratings, count(DISTINCT user_id) AS users,
       min(user_id) AS min_user, max(user_id) AS max_user,
       min(movie_id) >= 1 AND max(movie_id) <= 1000 AS movie_ids_in_range
  FROM ratings;
SELECT count(*) AS movies, count(*) FILTER (WHERE year IS NULL) AS without_year,
       count(*) FILTER (WHERE cardinality(genres) = 0) AS without_genres,
       min(year) >= 1915 AND max(year) <= 2023 AS years_in_range
  FROM movies;
SELECT min(rating) AS min_rating, max(rating) AS max_rating,
       bool_and(rating * 2 = round(rating * 2)) AS half_stars,
       count(*) FILTER (WHERE rated_at IS NULL) AS without_time
  FROM ratings;
-- every user has at least 20 ratings and nobody rates over half the catalogue
SELECT min(n) >= 20 AS at_least_20, max(n) <= 500 AS at_most_half
  FROM (SELECT count(*) AS n FROM ratings GROUP BY user_id) s;
-- long tails: the top 10% of users / movies hold far more than 10%
WITH u AS (SELECT count(*) AS n, row_number() OVER (ORDER BY count(*) DESC) AS rk
             FROM ratings GROUP BY user_id)
SELECT sum(n) FILTER (WHERE rk <= 200) > 0.3 * sum(n) AS users_long_tail FROM u;
WITH m AS (SELECT count(*) AS n, row_number() OVER (ORDER BY count(*) DESC) AS rk
             FROM ratings GROUP BY movie_id)
SELECT sum(n) FILTER (WHERE rk <= 100) > 0.3 * sum(n) AS movies_long_tail FROM m;
-- rating times spread over the years, so temporal splits work
SELECT min(rated_at) >= '1996-01-01 00:00+00' AND max(rated_at) < '2024-01-01 00:00+00' AS times_in_range,
       count(DISTINCT extract(year FROM rated_at AT TIME ZONE 'UTC')) >= 20 AS spread_over_20_years
  FROM ratings;
-- mean near mu + biases (3.25), spread of a noisy low-rank model
SELECT avg(rating) BETWEEN 3.1 AND 3.4 AS mean_ok, stddev(rating) BETWEEN 0.7 AND 0.9 AS spread_ok
  FROM ratings;
-- the same seed gives the same data; another seed other data
SELECT md5(string_agg(format('%s %s %s %s', user_id, movie_id, rating, extract(epoch FROM rated_at)),
                      ',' ORDER BY user_id, movie_id)) AS first_hash
  FROM ratings \gset
SELECT md5(string_agg(format('%s %s %s', movie_id, title, genres), ',' ORDER BY movie_id)) AS first_movies
  FROM movies \gset
SELECT generate_ratings(2000, 1000, 100000, seed => 7);
SELECT md5(string_agg(format('%s %s %s %s', user_id, movie_id, rating, extract(epoch FROM rated_at)),
                      ',' ORDER BY user_id, movie_id)) = :'first_hash' AS same_seed_same_ratings
  FROM ratings;
SELECT md5(string_agg(format('%s %s %s', movie_id, title, genres), ',' ORDER BY movie_id)) = :'first_movies' AS same_seed_same_movies
  FROM movies;
SELECT generate_ratings(2000, 1000, 100000, seed => 8);
SELECT md5(string_agg(format('%s %s %s %s', user_id, movie_id, rating, extract(epoch FROM rated_at)),
                      ',' ORDER BY user_id, movie_id)) <> :'first_hash' AS other_seed_other_ratings
  FROM ratings;
-- exact counts at the edges: a full matrix, and fewer ratings than users
SELECT generate_ratings(10, 10, 100, rank => 2);
SELECT count(*), count(DISTINCT (user_id, movie_id)) FROM ratings;
SELECT generate_ratings(50, 200, 30, rank => 0, noise => 0);
SELECT count(*), count(DISTINCT user_id) FROM ratings;
TRUNCATE ratings, movies;
