-- scripts/demo_train.sql: the training part of `make demo`.
-- Evaluates three models on the fixed hash split, then trains the
-- production models on all ratings and shows top-10 lists with titles.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
DROP TABLE IF EXISTS movierec.ratings_train, movierec.ratings_test;
RESET client_min_messages;

\echo
\echo '== hash split: a rating (u, i) is test iff ((u*100003 + i)*48271) % 2147483647 % 5 = 0'
SELECT * FROM movierec.split('movierec.ratings', 'hash');

\echo '== training on the 80% and evaluating on the 20% (k = 10, relevant = rated >= 4)'
CREATE TEMP TABLE demo_eval AS
SELECT algorithm,
       movierec.evaluate(movierec.train('demo_eval_' || algorithm, algorithm, '{}',
                                        'movierec.ratings_train'),
                         'movierec.ratings_test') AS e
  FROM unnest(ARRAY['popularity', 'baseline', 'als', 'svd', 'ials', 'ease']) AS algorithm;
SELECT algorithm,
       round((e->>'rmse')::numeric, 4) AS rmse,
       round((e->>'mae')::numeric, 4) AS mae,
       round((e->>'precision_at_k')::numeric, 4) AS "precision@10",
       round((e->>'ndcg_at_k')::numeric, 4) AS "ndcg@10",
       round((e->>'coverage_at_k')::numeric, 4) AS "coverage@10"
  FROM demo_eval;
\echo 'rmse/mae are for rating models (ials and ease scores are preferences, not ratings);'
\echo 'ials and ease are the top-k models: compare their ndcg@10 and coverage with popularity.'
DROP TABLE movierec.ratings_train, movierec.ratings_test;
SELECT count(movierec.drop_model(model_id)) AS dropped_eval_models
  FROM movierec.models WHERE model_name LIKE 'demo_eval_%';

\echo '== production models on all ratings'
SELECT movierec.train('demo_ratings', 'als') AS als_model_id \gset
SELECT movierec.train('demo_topk', 'ials') AS ials_model_id \gset
-- EASE for new users: small regularization and every rating as a signal, so that
-- three given movies lead to their neighbours, not to the most popular movies
-- (doc/algorithms.md, "ease": the before and after of the example below)
SELECT movierec.train('demo_similar', 'ease', '{"regularization": 100, "binarize": 0}') AS ease_model_id \gset
SELECT movierec.promote(:ials_model_id) \gset
SELECT model_id, model_name, algorithm, n_users, n_movies, n_ratings,
       round(train_seconds::numeric, 2) AS train_seconds, stage
  FROM movierec.models ORDER BY model_id;

\echo '== top-10 for three users (movierec.recommend, production model demo_topk)'
SELECT u.user_id, r.rank, m.title, m.year, round(r.score::numeric, 3) AS score
  FROM (SELECT user_id FROM movierec.ratings GROUP BY user_id ORDER BY user_id LIMIT 3) u,
       LATERAL movierec.recommend(u.user_id, 10) r
  JOIN movierec.movies m USING (movie_id)
 ORDER BY u.user_id, r.rank;

\echo '== a brand-new user who rated three movies (recommend_for_ratings on the ease model demo_similar, no retraining)'
CREATE TEMP TABLE demo_liked AS
SELECT DISTINCT ON (title) movie_id, title, rating
  FROM (VALUES ('Toy Story', 5.0), ('Lion King, The', 5.0), ('Aladdin', 4.0)) v(title, rating)
  JOIN movierec.movies USING (title)
 ORDER BY title, movie_id;
-- other data (a synthetic set): the three most rated movies instead
INSERT INTO demo_liked
SELECT m.movie_id, m.title, 5.0
  FROM movierec.movies m
  JOIN (SELECT movie_id, count(*) AS n FROM movierec.ratings GROUP BY movie_id) c USING (movie_id)
 WHERE NOT EXISTS (SELECT 1 FROM demo_liked)
 ORDER BY c.n DESC, m.movie_id LIMIT 3;
SELECT title, rating FROM demo_liked ORDER BY title;
SELECT r.rank, m.title, m.year
  FROM movierec.recommend_for_ratings(
         (SELECT array_agg(movie_id ORDER BY movie_id) FROM demo_liked),
         (SELECT array_agg(rating::real ORDER BY movie_id) FROM demo_liked), 10, 'demo_similar') r
  JOIN movierec.movies m USING (movie_id)
 ORDER BY r.rank;
\echo '(the production ials model, for comparison: movierec.recommend_for_ratings(..., 10))'
SELECT r.rank, m.title, m.year
  FROM movierec.recommend_for_ratings(
         (SELECT array_agg(movie_id ORDER BY movie_id) FROM demo_liked),
         (SELECT array_agg(rating::real ORDER BY movie_id) FROM demo_liked), 10) r
  JOIN movierec.movies m USING (movie_id)
 ORDER BY r.rank;

\echo '== movies similar to the most rated one (cosine over the item factors of demo_topk)'
SELECT movie_id AS top_movie, title AS top_title
  FROM movierec.movies
 WHERE movie_id = (SELECT movie_id FROM movierec.ratings GROUP BY movie_id
                   ORDER BY count(*) DESC, movie_id LIMIT 1) \gset
\echo 'most rated:' :top_title
SELECT r.rank, m.title, m.year, round(r.similarity::numeric, 3) AS similarity
  FROM movierec.similar_movies(:top_movie, 5, 'demo_topk') r
  JOIN movierec.movies m USING (movie_id)
 ORDER BY r.rank;

\echo '== the same movie in the ease model demo_similar: the top of its row of B'
SELECT r.rank, m.title, m.year, round(r.similarity::numeric, 3) AS weight
  FROM movierec.similar_movies(:top_movie, 5, 'demo_similar') r
  JOIN movierec.movies m USING (movie_id)
 ORDER BY r.rank;
