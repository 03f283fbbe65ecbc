-- EASE (algorithm 'ease'): the closed form of B checked in SQL, and every
-- serving function checked against the same sums computed in SQL from the
-- stored movierec.ease_weights ("brute force"): recommend (stored and
-- brand-new users, before and after a new rating), recommend_for_ratings,
-- predict, similar_movies and explain; the memory refusal and its hint;
-- the registry, evaluate, cross_validate, grid_search, snapshots, retrain,
-- promote and drop_model.  Synthetic data (generate_ratings): no MovieLens.
BEGIN;
SET client_min_messages = warning;
CREATE TEMP TABLE gen AS SELECT movierec.generate_ratings(300, 120, 9000, seed => 3);
-- a few movies with one or two ratings, so that min_item_ratings matters
DELETE FROM movierec.ratings r USING (
    SELECT user_id, movie_id, row_number() OVER (PARTITION BY movie_id ORDER BY user_id) AS n
      FROM movierec.ratings WHERE movie_id > 110) x
 WHERE r.user_id = x.user_id AND r.movie_id = x.movie_id AND x.n > 2;
CREATE TEMP TABLE mid AS
SELECT movierec.train('t_ease', 'ease', '{"regularization": 20, "min_item_ratings": 3, "binarize": 0}') AS id;
CREATE TEMP TABLE mid4 AS
SELECT movierec.train('t_ease4', 'ease', '{"regularization": 20, "binarize": 4}') AS id;

-- the model's kept movies and their positions in weights[]
CREATE TEMP TABLE kp AS
SELECT w.model_id, w.movie_id, row_number() OVER (PARTITION BY w.model_id ORDER BY w.movie_id) AS pos
  FROM movierec.ease_weights w WHERE w.model_id IN (SELECT id FROM mid UNION ALL SELECT id FROM mid4);

-- the score of every kept movie for ratings (ids, vals): sum of rows of B
CREATE FUNCTION pg_temp.brute(m bigint, ids bigint[], vals real[], bin real)
RETURNS TABLE (movie_id bigint, score float8) LANGUAGE sql AS $$
    SELECT k.movie_id, sum(w.weights[k.pos]::float8)
      FROM unnest(ids, vals) x(id, v)
      JOIN movierec.ease_weights w ON w.model_id = m AND w.movie_id = x.id
      CROSS JOIN pg_temp.kp k
     WHERE k.model_id = m AND (bin <= 0 OR x.v >= bin)
     GROUP BY k.movie_id
$$;
-- a served top list agrees with the brute force: same scores, and no
-- unrated kept movie outside the list scores higher than its last one
CREATE FUNCTION pg_temp.agrees(m bigint, ids bigint[], vals real[], bin real,
                               got_ids bigint[], got_scores real[])
RETURNS boolean LANGUAGE sql AS $$
    WITH b AS (SELECT * FROM pg_temp.brute(m, ids, vals, bin) WHERE NOT movie_id = ANY (ids)),
    g AS (SELECT * FROM unnest(got_ids, got_scores) g(movie_id, score))
    SELECT cardinality(got_ids) = least(10, (SELECT count(*) FROM b))
       AND (SELECT bool_and(abs(b.score - g.score) < 1e-5) FROM g JOIN b USING (movie_id))
       AND (SELECT count(*) FROM g JOIN b USING (movie_id)) = cardinality(got_ids)
       AND NOT EXISTS (SELECT 1 FROM b WHERE NOT b.movie_id = ANY (got_ids)
                        AND b.score > (SELECT min(score) FROM g) + 1e-5)
$$;
CREATE FUNCTION pg_temp.user_ok(m bigint, u bigint, bin real) RETURNS boolean LANGUAGE sql AS $$
    SELECT pg_temp.agrees(m,
             (SELECT array_agg(movie_id ORDER BY movie_id) FROM movierec.ratings WHERE user_id = u),
             (SELECT array_agg(rating ORDER BY movie_id) FROM movierec.ratings WHERE user_id = u), bin,
             (SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend(u, 10, m::text)),
             (SELECT array_agg(score ORDER BY rank) FROM movierec.recommend(u, 10, m::text)))
$$;
RESET client_min_messages;

SELECT plan(33);

SELECT is(ARRAY(SELECT jsonb_object_keys(movierec.default_params('ease')) ORDER BY 1),
          ARRAY['binarize', 'min_item_ratings', 'regularization', 'seed', 'threads'],
          'default_params(''ease'') has every key of ease');
SELECT is((SELECT algorithm || ' ' || n_factors FROM movierec.models WHERE model_id = (SELECT id FROM mid)),
          'ease 0', 'an ease model is registered with no factors');
SELECT is((SELECT count(*) FROM movierec.ease_weights WHERE model_id = (SELECT id FROM mid)),
          (SELECT count(*) FROM (SELECT movie_id FROM movierec.ratings GROUP BY movie_id HAVING count(*) >= 3) x),
          'one row of B per movie with at least min_item_ratings ratings');
SELECT ok((SELECT bool_and(cardinality(weights) = (SELECT count(*) FROM kp WHERE model_id = w.model_id))
             FROM movierec.ease_weights w WHERE model_id = (SELECT id FROM mid)),
          'every row of B has one weight per kept movie');
SELECT ok((SELECT bool_and(w.weights[k.pos] = 0) FROM movierec.ease_weights w
             JOIN kp k USING (model_id, movie_id) WHERE w.model_id = (SELECT id FROM mid)),
          'the diagonal of B is zero');

-- closed form: with G = X'X + lambda I, G B = G - D, D diagonal; so off the
-- diagonal (G B)_ij = G_ij (checked on all pairs of the first 12 kept movies)
SELECT ok((WITH k AS (SELECT * FROM kp WHERE model_id = (SELECT id FROM mid)),
          x AS (SELECT r.user_id, r.movie_id FROM movierec.ratings r JOIN k USING (movie_id)),
          g AS (SELECT a.movie_id AS i, b.movie_id AS j,
                       count(*) + CASE WHEN a.movie_id = b.movie_id THEN 20 ELSE 0 END AS g
                  FROM x a JOIN x b USING (user_id) GROUP BY 1, 2),
          gb AS (SELECT g.i, kj.movie_id AS j, sum(g.g * w.weights[kj.pos]::float8) AS v
                   FROM g JOIN movierec.ease_weights w ON w.model_id = (SELECT id FROM mid) AND w.movie_id = g.j
                   CROSS JOIN k kj
                  WHERE g.i IN (SELECT movie_id FROM k WHERE pos <= 12) AND kj.pos <= 12
                  GROUP BY 1, 2)
          SELECT bool_and(abs(gb.v - coalesce(g.g, 0)) < 1e-3 * greatest(1, abs(coalesce(g.g, 0))))
            FROM gb LEFT JOIN g USING (i, j) WHERE gb.i <> gb.j),
          'B solves the EASE normal equations: (X''X + lambda I) B equals X''X off the diagonal');

SELECT ok((SELECT bool_and(pg_temp.user_ok((SELECT id FROM mid), u, 0)) FROM generate_series(1, 300, 37) u),
          'recommend() of 9 stored users = the sums of their rows of B in SQL');
SELECT ok((SELECT bool_and(CASE WHEN EXISTS (SELECT 1 FROM movierec.ratings r JOIN kp ON kp.movie_id = r.movie_id
                                               WHERE kp.model_id = (SELECT id FROM mid4) AND r.user_id = u AND r.rating >= 4)
                                THEN pg_temp.user_ok((SELECT id FROM mid4), u, 4)
                                ELSE (SELECT path FROM movierec.recommend_explain_path(u, 't_ease4')) = 'popularity' END)
             FROM generate_series(2, 300, 41) u),
          'with binarize 4 only ratings >= 4 count, as in SQL (and a user with none gets popularity)');
SELECT alike((SELECT reason FROM movierec.recommend_explain_path(5, 't_ease')), '%no solve%',
            'the path of a stored user says that nothing is solved');

-- a new rating counts at once, with no retraining
CREATE TEMP TABLE before_new AS SELECT array_agg(movie_id ORDER BY rank) AS l FROM movierec.recommend(5, 10, 't_ease');
INSERT INTO movierec.ratings
SELECT 5, (SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend(5, 3, 't_ease'))[t], 5, now()
  FROM generate_series(1, 3) t;
SELECT isnt((SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend(5, 10, 't_ease')),
            (SELECT l FROM before_new), 'three new ratings change the list at once');
SELECT ok(pg_temp.user_ok((SELECT id FROM mid), 5, 0), 'and the new list is the SQL sum over the current ratings');
INSERT INTO movierec.ratings VALUES (100001, 1, 5, now()), (100001, 2, 4, now()), (100001, 3, 1, now());
SELECT ok(pg_temp.user_ok((SELECT id FROM mid), 100001, 0), 'a brand-new user is served from B at once');
SELECT is((SELECT path FROM movierec.recommend_explain_path(999999, 't_ease')), 'popularity',
          'a user without ratings gets popularity');

SELECT ok(pg_temp.agrees((SELECT id FROM mid), '{7, 9, 30}', '{5, 4, 2}', 0,
            (SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend_for_ratings('{30, 7, 9}', '{2, 5, 4}', 10, 't_ease')),
            (SELECT array_agg(score ORDER BY rank) FROM movierec.recommend_for_ratings('{30, 7, 9}', '{2, 5, 4}', 10, 't_ease'))),
          'recommend_for_ratings = the SQL sum of the given movies'' rows');
SELECT ok((SELECT abs(movierec.predict(42, b.movie_id, 't_ease') - b.score) < 1e-5
             FROM pg_temp.brute((SELECT id FROM mid),
                    (SELECT array_agg(movie_id ORDER BY movie_id) FROM movierec.ratings WHERE user_id = 42),
                    (SELECT array_agg(rating ORDER BY movie_id) FROM movierec.ratings WHERE user_id = 42), 0) b
            ORDER BY b.movie_id LIMIT 1), 'predict() is the same score');

SELECT is((SELECT array_agg(movie_id ORDER BY rank) FROM movierec.similar_movies(10, 5, 't_ease')),
          (SELECT array_agg(movie_id) FROM (SELECT k.movie_id FROM movierec.ease_weights w
                   JOIN kp k ON k.model_id = w.model_id
                  WHERE w.model_id = (SELECT id FROM mid) AND w.movie_id = 10 AND k.movie_id <> 10
                  ORDER BY w.weights[k.pos] DESC, k.movie_id LIMIT 5) x),
          'similar_movies(10) is the top of row 10 of B');
SELECT ok((WITH e AS (SELECT * FROM movierec.explain(42, 11, 't_ease', 10000)),
               b AS (SELECT w.movie_id, w.weights[k.pos] AS v FROM movierec.ease_weights w
                       JOIN kp k ON k.model_id = w.model_id AND k.movie_id = 11
                      WHERE w.model_id = (SELECT id FROM mid)
                        AND w.movie_id IN (SELECT movie_id FROM movierec.ratings WHERE user_id = 42))
          SELECT (SELECT count(*) FROM b) > 0
             AND NOT EXISTS (SELECT 1 FROM b LEFT JOIN e ON e.rated_movie_id = b.movie_id
                              WHERE e.contribution IS NULL OR abs(e.contribution - b.v) > 1e-6)
             AND abs((SELECT sum(contribution) FROM e) - movierec.predict(42, 11, 't_ease')) < 1e-4),
          'explain() gives the terms x_ui B_ij, and they add up to the score');
SELECT is((SELECT count(*) FROM movierec.ratings r JOIN movierec.recommend(r.user_id, 20, 't_ease') x ON true
            WHERE r.movie_id = 1 AND x.movie_id NOT IN (SELECT movie_id FROM kp WHERE model_id = (SELECT id FROM mid))),
          0::bigint, 'movies left out of B are never recommended');

-- the memory check comes before any allocation and names min_item_ratings
CREATE TABLE public.ease_wide AS
SELECT u AS user_id, i AS movie_id, (1 + (u + i) % 5)::real AS rating
  FROM generate_series(1, 40) u, generate_series(1, 700) i WHERE (u * 7 + i) % 4 = 0 OR i % 100 = 0;
SET movierec.max_train_memory = '1MB';
SELECT throws_like($$SELECT movierec.train('t_wide', 'ease', '{}', 'public.ease_wide')$$,
                   'ease needs % MB for the % x % item matrix of % movies, more than movierec.max_train_memory allows (1 MB)',
                   'a catalogue too large for max_train_memory is refused');
CREATE FUNCTION pg_temp.hint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE h text;
BEGIN
    PERFORM movierec.train('t_wide', 'ease', '{}', 'public.ease_wide');
    RETURN NULL;
EXCEPTION WHEN program_limit_exceeded THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
SELECT matches(pg_temp.hint(), '^Keep fewer movies with params \{"min_item_ratings": [0-9]+\}',
               'the hint says which min_item_ratings fits');
SELECT lives_ok(format($$SELECT movierec.train('t_wide', 'ease', '{"min_item_ratings": %s}', 'public.ease_wide')$$,
                       substring(pg_temp.hint() FROM '"min_item_ratings": ([0-9]+)')),
                'and training with it fits');
RESET movierec.max_train_memory;

-- registry and MLOps
CREATE TABLE public.ease_ev_train AS SELECT * FROM movierec.ratings WHERE (user_id + movie_id) % 5 <> 0;
CREATE TABLE public.ease_ev_test AS SELECT * FROM movierec.ratings WHERE (user_id + movie_id) % 5 = 0;
SELECT ok((movierec.evaluate(movierec.train('t_ev', 'ease', '{"regularization": 20}', 'public.ease_ev_train'),
                             'public.ease_ev_test')->>'ndcg_at_k')::float8 > 0,
          'evaluate() ranks with B');
-- a user whose only training rating is of a movie outside B (too few
-- ratings) is ranked by popularity, as recommend() serves them: the same
-- NDCG as a popularity model of the same training data
CREATE TABLE public.ease_cold_train AS
  SELECT * FROM movierec.ratings WHERE user_id <> 7
  UNION ALL SELECT 7, 111, 5, now();
CREATE TABLE public.ease_cold_test AS SELECT * FROM movierec.ratings WHERE user_id = 7 AND movie_id <= 110;
CREATE TEMP TABLE cold AS
SELECT (movierec.evaluate(movierec.train('t_cold', 'ease', '{"regularization": 20, "min_item_ratings": 5}',
                                         'public.ease_cold_train'), 'public.ease_cold_test')->>'ndcg_at_k')::float8 AS ease,
       (movierec.evaluate(movierec.train('t_coldpop', 'popularity', '{}', 'public.ease_cold_train'),
                          'public.ease_cold_test')->>'ndcg_at_k')::float8 AS pop;
SELECT ok((SELECT ease > 0 FROM cold), 'an ease user with no rating in B gets a ranking in evaluate()');
SELECT is((SELECT ease FROM cold), (SELECT pop FROM cold),
          '  the popularity ranking (the NDCG of a popularity model of the same data)');
SELECT is((SELECT count(*) FROM movierec.grid_search('ease', '{"regularization": [5, 50]}',
                                                     'movierec.ratings', 2, 'ndcg_at_k')),
          2::bigint, 'grid_search over the regularization of ease');
SELECT ok((movierec.cross_validate('ease', '{}', 'movierec.ratings', 2)->'ndcg_at_k'->>'mean') IS NOT NULL,
          'cross_validate(''ease'')');
CREATE TEMP TABLE snap AS SELECT movierec.train('t_snap', 'ease', '{"snapshot": "copy", "regularization": 20}') AS id;
CREATE TEMP TABLE re AS SELECT movierec.retrain((SELECT id FROM snap)) AS id;
SELECT is((SELECT array_agg(weights ORDER BY movie_id) FROM movierec.ease_weights WHERE model_id = (SELECT id FROM re)),
          (SELECT array_agg(weights ORDER BY movie_id) FROM movierec.ease_weights WHERE model_id = (SELECT id FROM snap)),
          'retrain() from the snapshot reproduces B bit for bit');
CREATE TEMP TABLE prom AS SELECT movierec.promote((SELECT id FROM mid));
SELECT is((SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend(42, 10)),
          (SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend(42, 10, 't_ease')),
          'the promoted ease model serves recommend(user, 10)');
DO $$ BEGIN PERFORM movierec.drop_model((SELECT id FROM mid4)); END $$;
SELECT is((SELECT count(*) FROM movierec.ease_weights WHERE model_id = (SELECT id FROM mid4)), 0::bigint,
          'drop_model removes B');
-- recommend_all: every stored user's list is recommend()'s, from the
-- current ratings (user 7 has none left: popularity; user 9 one new rating)
DELETE FROM movierec.ratings WHERE user_id = 7;
INSERT INTO movierec.ratings (user_id, movie_id, rating)
SELECT 9, min(movie_id), 5 FROM movierec.item_factors f
 WHERE f.model_id = (SELECT id FROM mid)
   AND NOT EXISTS (SELECT 1 FROM movierec.ratings r WHERE r.user_id = 9 AND r.movie_id = f.movie_id);
SELECT is(movierec.recommend_all('t_ease', 10),
          (SELECT 10 * count(*) FROM movierec.user_factors WHERE model_id = (SELECT id FROM mid)),
          'recommend_all writes 10 movies for every stored user of an ease model');
SELECT is((SELECT count(*) FROM movierec.user_factors s
            WHERE s.model_id = (SELECT id FROM mid)
              AND (SELECT array_agg(array[movie_id::float8, score::float8] ORDER BY rank)
                     FROM movierec.recommendations r
                    WHERE r.model_id = s.model_id AND r.user_id = s.user_id)
                  IS DISTINCT FROM
                  (SELECT array_agg(array[movie_id::float8, score::float8] ORDER BY rank)
                     FROM movierec.recommend(s.user_id, 10, 't_ease'))),
          0::bigint, 'recommend_all stores exactly recommend()''s movies and scores for every user');
SELECT is((SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommendations
            WHERE model_id = (SELECT id FROM mid) AND user_id = 7),
          (SELECT array_agg(movie_id ORDER BY rank) FROM movierec.recommend(999999, 10, 't_ease')),
          'a stored user with no rating left gets the list of a user without ratings (popularity)');
SELECT is(movierec.promotion_gate('t_gate', 'ease', '{"regularization": 20}', 'movierec.ratings')->>'metric',
          'ndcg_at_10', 'the promotion gate judges ease by NDCG@10');
SELECT * FROM finish();
ROLLBACK;
