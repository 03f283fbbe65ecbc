SET search_path TO movierec, public;
-- movierec.split(): 4 users with 5 ratings each (user u rated movies
-- 1..5 on days 1..5).
CREATE TABLE public.sp (user_id int, movie_id int, rating real, rated_at timestamptz);
INSERT INTO public.sp
SELECT u, m, 1 + (u + m) % 5, '2020-01-01'::timestamptz + (m || ' days')::interval
FROM generate_series(1, 4) u, generate_series(1, 5) m;

-- random: exactly round(20 * 0.25) = 5 test rows; every row lands in one side
SELECT * FROM split('public.sp', 'random', 0.25, 7);
SELECT count(*) AS rows_in_both FROM (SELECT * FROM public.sp_train INTERSECT SELECT * FROM public.sp_test) x;
SELECT (SELECT count(*) FROM (SELECT * FROM public.sp_train UNION ALL SELECT * FROM public.sp_test) a
        EXCEPT ALL SELECT count(*) FROM public.sp) IS NULL AS same_rows;
-- the same seed gives the same split, another seed a different one
CREATE TABLE public.sp_first AS SELECT * FROM public.sp_test;
DROP TABLE public.sp_train, public.sp_test;
SELECT test_rows FROM split('public.sp', 'random', 0.25, 7);
SELECT count(*) AS differing FROM (SELECT * FROM public.sp_first EXCEPT SELECT * FROM public.sp_test) x;
DROP TABLE public.sp_train, public.sp_test;
SELECT test_rows FROM split('public.sp', 'random', 0.25, 8);
SELECT count(*) > 0 AS another_seed_differs FROM (SELECT * FROM public.sp_first EXCEPT SELECT * FROM public.sp_test) x;
DROP TABLE public.sp_train, public.sp_test;

-- temporal: each user's newest round(5 * 0.4) = 2 ratings (movies 4 and 5)
SELECT * FROM split('public.sp', 'temporal', 0.4);
SELECT user_id, array_agg(movie_id ORDER BY movie_id) AS test_movies FROM public.sp_test GROUP BY 1 ORDER BY 1;
DROP TABLE public.sp_train, public.sp_test;

-- leave_k_out: test_fraction is k, the ratings left out per user
SELECT * FROM split('public.sp', 'leave_k_out', 2);
SELECT user_id, count(*) FROM public.sp_test GROUP BY 1 ORDER BY 1;
DROP TABLE public.sp_train, public.sp_test;

-- hash: the issue's fixed split
SELECT test_rows = (SELECT count(*) FROM public.sp WHERE hash_split_is_test(user_id, movie_id)) AS hash_matches
FROM split('public.sp', 'hash');
SELECT hash_split_is_test(1, 2), ((1::int8 * 100003 + 2) * 48271) % 2147483647 % 5 AS remainder,
       hash_split_is_test(1, 6), ((1::int8 * 100003 + 6) * 48271) % 2147483647 % 5 AS remainder6;

-- Bad input: errors with hints; existing tables are not touched
SELECT * FROM split('public.sp', 'hash');
DROP TABLE public.sp_train, public.sp_test;
SELECT * FROM split('public.sp', 'shuffle');
SELECT * FROM split('public.sp', 'random', 1.5);
SELECT * FROM split('public.sp', 'random', 'NaN');
SELECT * FROM split('public.sp', 'leave_k_out', 0.5);
SELECT * FROM split('public.sp', 'random', 0.2, 0, user_col => 'uid');
SELECT * FROM split('public.sp', 'temporal', 0.2, 0, time_col => 'ts');
CREATE TABLE public.sp_empty (user_id int, movie_id int, rating real);
SELECT * FROM split('public.sp_empty');
SELECT count(*) AS leftover_tables FROM pg_class WHERE relname LIKE 'sp%\_t%' OR relname LIKE 'movierec\_split%';
DROP TABLE public.sp, public.sp_first, public.sp_empty;
