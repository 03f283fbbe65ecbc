-- bench/experiments_sim.sql: the experiment simulator (schema mr_sim).
--
-- Users are the users of a movierec.generate_ratings() data set, whose
-- planted noiseless scores movierec.synthetic_truth() gives back.  On each
-- simulated day every user visits with a probability; a visit calls
-- movierec.recommend_in() (so the lists, the assignment and the exposure
-- log are the real ones) and the user clicks each shown movie with
-- probability p_click(truth), which grows with the true score; clicks go
-- through movierec.log_feedback().  After each day the simulator reads
-- movierec.experiment_report(), as an analyst peeking daily would.
-- All randomness is a hash of (seed, day, user) or (seed, impression,
-- movie): a run is reproducible.  Loaded by bench/experiments and
-- test/integration/experiments_sim.sh.

CREATE SCHEMA IF NOT EXISTS mr_sim;

-- Click probability: 0.3 / (1 + exp(-3 (truth - 4))): 0.7% at a true
-- score of 3, 15% at 4, 29% at 5.
CREATE OR REPLACE FUNCTION mr_sim.p_click(truth float8) RETURNS float8
    LANGUAGE sql IMMUTABLE RETURN 0.3 / (1 + exp(-3 * (truth - 4)));

-- A uniform number in [0, 1) from a key and a number (two 10^4 buckets).
CREATE OR REPLACE FUNCTION mr_sim.u01(key text, n bigint) RETURNS float8
    LANGUAGE sql IMMUTABLE
    RETURN (movierec._assign_bucket(key, n) * 10000 + movierec._assign_bucket(key || '#', n)) / 1e8;

-- The data set the truth comes from: n_users, n_movies, rank, seed.
CREATE TABLE IF NOT EXISTS mr_sim.dataset (n_users int, n_movies int, rank int, seed int);

-- One visit of each user in uids: recommend_in, then clicks; returns clicks.
CREATE OR REPLACE FUNCTION mr_sim.visit(exp text, uids bigint[], seed text, k int DEFAULT 10)
    RETURNS bigint LANGUAGE sql SET jit = off AS
$$
    WITH shown AS MATERIALIZED (
        SELECT u, r.movie_id, r.rank, r.impression_id
          FROM unnest(uids) u, LATERAL movierec.recommend_in(exp, u, k) r
    ), lists AS (
        SELECT u, impression_id, array_agg(movie_id ORDER BY rank) AS ms FROM shown GROUP BY 1, 2
    ), truth AS MATERIALIZED (
        SELECT l.u, l.impression_id, x.m, x.t
          FROM lists l, (SELECT * FROM mr_sim.dataset LIMIT 1) d,
               LATERAL unnest(l.ms, movierec.synthetic_truth(l.u, l.ms, d.n_users, d.n_movies,
                                                             d.rank, d.seed)) AS x(m, t)
    )
    SELECT count(movierec.log_feedback(u, m, 'click', NULL, impression_id))
      FROM truth WHERE mr_sim.u01(seed || ':' || impression_id, m) < mr_sim.p_click(t)
$$;

-- An experiment over days: users 1..n_users visit each day with
-- probability visit_prob; one report row per day (peeking), on ctr.
CREATE OR REPLACE FUNCTION mr_sim.run(exp text, n_users int, days int, visit_prob float8, seed text,
                                      tuning_n int DEFAULT 5000)
    RETURNS TABLE (day int, users bigint, p_value float8, lift float8, ci_low float8, ci_high float8,
                   seq_ci_low float8, seq_ci_high float8, report jsonb)
    LANGUAGE plpgsql AS
$$
DECLARE
    r jsonb;
    uids bigint[];
BEGIN
    PERFORM movierec.start_experiment(exp);
    FOR d IN 1..days LOOP
        SELECT array_agg(u) INTO uids FROM generate_series(1, n_users) u
         WHERE mr_sim.u01(seed || ':day:' || d, u) < visit_prob;
        PERFORM mr_sim.visit(exp, uids, seed);
        r := movierec.experiment_report(exp, 0.05, tuning_n);
        day := d;
        users := (r->>'users')::bigint;
        p_value := (r->'variants'->1->'metrics'->'ctr'->>'p_value')::float8;
        lift := (r->'variants'->1->'metrics'->'ctr'->>'lift')::float8;
        ci_low := (r->'variants'->1->'metrics'->'ctr'->>'ci_low')::float8;
        ci_high := (r->'variants'->1->'metrics'->'ctr'->>'ci_high')::float8;
        seq_ci_low := (r->'variants'->1->'metrics'->'ctr'->>'seq_ci_low')::float8;
        seq_ci_high := (r->'variants'->1->'metrics'->'ctr'->>'seq_ci_high')::float8;
        report := r;
        RETURN NEXT;
    END LOOP;
    PERFORM movierec.stop_experiment(exp);
END
$$;

-- Results of A/A runs, one row per (seed, day).
CREATE TABLE IF NOT EXISTS mr_sim.aa (seed int, day int, users bigint, p_value float8,
                                      seq_ci_low float8, seq_ci_high float8);

-- A/A over seeds first..last: both arms serve model m.
CREATE OR REPLACE FUNCTION mr_sim.aa_runs(m text, first int, last int, n_users int, days int,
                                          visit_prob float8)
    RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    FOR s IN first..last LOOP
        PERFORM movierec.create_experiment('aa_' || s, jsonb_build_array(
            jsonb_build_object('name', 'a1', 'model', m, 'weight', 0.5),
            jsonb_build_object('name', 'a2', 'model', m, 'weight', 0.5)), 'ab', 'aa-salt-' || s);
        INSERT INTO mr_sim.aa
        SELECT s, r.day, r.users, r.p_value, r.seq_ci_low, r.seq_ci_high
          FROM mr_sim.run('aa_' || s, n_users, days, visit_prob, 'aa-' || s) r;
        -- keep the tables small: the figures are in mr_sim.aa
        DELETE FROM movierec.experiments WHERE name = 'aa_' || s;
    END LOOP;
END
$$;

-- False-positive rates of the A/A runs at alpha = 0.05: fixed horizon (the
-- last day only), naive daily peeking (any day p < 0.05), sequential
-- daily peeking (any day's confidence sequence excludes 0).
CREATE OR REPLACE VIEW mr_sim.aa_summary AS
WITH per_seed AS (
    SELECT seed,
           bool_or(p_value < 0.05) FILTER (WHERE day = (SELECT max(day) FROM mr_sim.aa)) AS fixed,
           bool_or(p_value < 0.05) AS naive_peeking,
           bool_or(seq_ci_low > 0 OR seq_ci_high < 0) AS sequential_peeking
      FROM mr_sim.aa GROUP BY seed
)
SELECT count(*) AS seeds,
       avg(fixed::int)::numeric(6, 4) AS fpr_fixed_horizon,
       avg(naive_peeking::int)::numeric(6, 4) AS fpr_naive_peeking,
       avg(sequential_peeking::int)::numeric(6, 4) AS fpr_sequential_peeking
  FROM per_seed;

-- SRM: an A/A run of one visit per user; then the exposures of a share of
-- one arm's users are dropped (as a logging bug would).  Returns the
-- report's SRM verdict before and after.
CREATE OR REPLACE FUNCTION mr_sim.srm_run(m text, s int, n_users int, drop_share float8,
                                          OUT clean_p float8, OUT clean_mismatch boolean,
                                          OUT dropped_p float8, OUT dropped_mismatch boolean)
    LANGUAGE plpgsql AS
$$
DECLARE
    r jsonb;
    eid bigint;
BEGIN
    eid := movierec.create_experiment('srm_' || s, jsonb_build_array(
        jsonb_build_object('name', 'a1', 'model', m, 'weight', 0.5),
        jsonb_build_object('name', 'a2', 'model', m, 'weight', 0.5)), 'ab', 'srm-salt-' || s);
    PERFORM movierec.start_experiment('srm_' || s);
    PERFORM count(*) FROM generate_series(1, n_users) u, LATERAL movierec.recommend_in('srm_' || s, u, 10);
    r := movierec.experiment_report('srm_' || s);
    clean_p := (r->'srm'->>'p_value')::float8;
    clean_mismatch := (r->'srm'->>'mismatch')::boolean;
    DELETE FROM movierec.exposures x WHERE x.experiment_id = eid AND x.variant = 'a2'
       AND mr_sim.u01('drop-' || s, x.user_id) < drop_share;
    r := movierec.experiment_report('srm_' || s);
    dropped_p := (r->'srm'->>'p_value')::float8;
    dropped_mismatch := (r->'srm'->>'mismatch')::boolean;
    DELETE FROM movierec.experiments WHERE experiment_id = eid;
END
$$;

-- One A/B run of control against treatment; the last day's report.
CREATE OR REPLACE FUNCTION mr_sim.ab_run(control text, treatment text, s int, n_users int, days int,
                                         visit_prob float8) RETURNS jsonb
    LANGUAGE plpgsql AS
$$
DECLARE
    r jsonb;
BEGIN
    PERFORM movierec.create_experiment('ab_' || s, jsonb_build_array(
        jsonb_build_object('name', 'control', 'model', control, 'weight', 0.5),
        jsonb_build_object('name', 'treatment', 'model', treatment, 'weight', 0.5)), 'ab', 'ab-salt-' || s);
    SELECT x.report INTO r FROM mr_sim.run('ab_' || s, n_users, days, visit_prob, 'ab-' || s) x
     ORDER BY x.day DESC LIMIT 1;
    DELETE FROM movierec.experiments WHERE name = 'ab_' || s;
    RETURN r;
END
$$;

-- One interleaving run of a against b (team a first); the last report,
-- with impressions per user added.
CREATE OR REPLACE FUNCTION mr_sim.il_run(a text, b text, s int, n_users int, days int,
                                         visit_prob float8) RETURNS jsonb
    LANGUAGE plpgsql AS
$$
DECLARE
    r jsonb;
BEGIN
    PERFORM movierec.create_experiment('il_' || s, jsonb_build_array(
        jsonb_build_object('name', 'a', 'model', a), jsonb_build_object('name', 'b', 'model', b)),
        'interleave', 'il-salt-' || s);
    SELECT x.report INTO r FROM mr_sim.run('il_' || s, n_users, days, visit_prob, 'il-' || s) x
     ORDER BY x.day DESC LIMIT 1;
    DELETE FROM movierec.experiments WHERE name = 'il_' || s;
    RETURN r;
END
$$;

-- Users needed for 80% power at alpha = 0.05 (two-sided), from one run.
-- A/B: the relative lift of ctr over its standard error grows as sqrt(n),
--   n80 = n * ((z_{0.975} + z_{0.8}) * se / lift)^2.
-- Interleaving: the binomial test of wins against losses; with
--   q = wins / (wins + losses), the decisive impressions needed are
--   ((z_{0.975} / 2 + z_{0.8} sqrt(q (1 - q))) / (q - 1/2))^2, and users
--   = that / (decisive impressions per user).
CREATE OR REPLACE FUNCTION mr_sim.users_for_power(ab jsonb, il jsonb, OUT ab_users float8,
                                                  OUT il_users float8, OUT ratio float8)
    LANGUAGE plpgsql AS
$$
DECLARE
    za float8 := movierec.normal_quantile(0.975);
    zb float8 := movierec.normal_quantile(0.8);
    lift float8 := (ab->'variants'->1->'metrics'->'ctr'->>'lift')::float8;
    se float8 := (ab->'variants'->1->'metrics'->'ctr'->>'se')::float8;
    w float8 := (il->'interleave'->>'wins')::float8;
    l float8 := (il->'interleave'->>'losses')::float8;
    q float8;
BEGIN
    ab_users := (ab->>'users')::float8 * ((za + zb) * se / lift) ^ 2;
    q := w / (w + l);
    -- team a is the first model: a loss is a win of b
    il_users := ((za / 2 + zb * sqrt(q * (1 - q))) / (q - 0.5)) ^ 2
                / ((w + l) / (il->>'users')::float8);
    ratio := ab_users / il_users;
END
$$;
