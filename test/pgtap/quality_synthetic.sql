-- Synthetic quality target of issue 3: ratings with a planted rank-10
-- structure plus Gaussian noise of sigma 0.5; explicit ALS with 10 factors
-- must reach a test RMSE within 10% of sigma (<= 0.55), i.e. recover the
-- structure and fit nothing but the noise.  800 users x 800 movies, about
-- 25% observed (160,000 ratings: 200 per user and per movie), r = 3 + p.q
-- + noise with p, q ~ N(0, 0.5^2) per factor (p.q has std 0.79).
BEGIN;
SET client_min_messages = warning;
SELECT setseed(0.25);
CREATE TEMP TABLE syn_p AS
SELECT u, f, 0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS v
FROM generate_series(1, 800) u, generate_series(1, 10) f;
CREATE TEMP TABLE syn_q AS
SELECT i, f, 0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS v
FROM generate_series(1, 800) i, generate_series(1, 10) f;
CREATE TEMP TABLE syn_pairs AS
SELECT u, i FROM generate_series(1, 800) u, generate_series(1, 800) i WHERE random() < 0.25;
CREATE TEMP TABLE syn AS
SELECT x.u AS user_id, x.i AS movie_id,
       (3 + x.dot + 0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::real AS rating
FROM (SELECT s.u, s.i, sum(p.v * q.v) AS dot
      FROM syn_pairs s JOIN syn_p p ON p.u = s.u JOIN syn_q q ON q.i = s.i AND q.f = p.f
      GROUP BY s.u, s.i) x;
CREATE TEMP TABLE syn_split AS SELECT * FROM movierec.split('syn', 'random', 0.2, 1);
RESET client_min_messages;

SELECT plan(2);
SELECT ok(count(*) BETWEEN 150000 AND 170000, format('synthetic set has %s ratings', count(*))) FROM syn;
SELECT ok((e->>'rmse')::float8 <= 0.55,
          format('synthetic rank 10, sigma 0.5: als test RMSE %s <= 0.55 (sigma + 10%%)',
                 round((e->>'rmse')::numeric, 4)))
FROM movierec.evaluate(movierec.train('synthetic', 'als', '{"factors": 10}', 'syn_train'), 'syn_test') e;
SELECT * FROM finish();
ROLLBACK;
