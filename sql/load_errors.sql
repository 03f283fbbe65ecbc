-- load_movielens: bad paths, unknown layouts and who may call it.
-- (Malformed files are tested in test/integration/load_files.sh.)
SET search_path TO movierec, public;
SELECT * FROM load_movielens('relative/ml-100k');
SELECT * FROM load_movielens('/nonexistent/ml-100k');
SELECT * FROM load_movielens('/dev/null');
SELECT * FROM load_movielens('/');
SELECT * FROM load_movielens(NULL);
-- only superusers and members of pg_read_server_files
CREATE ROLE regress_mr_plain;
GRANT USAGE ON SCHEMA movierec TO regress_mr_plain;
SELECT has_function_privilege('regress_mr_plain', 'movierec.load_movielens(text)', 'EXECUTE') AS plain_may_execute,
       has_function_privilege('pg_read_server_files', 'movierec.load_movielens(text)', 'EXECUTE') AS readers_may_execute;
SET ROLE regress_mr_plain;
SELECT * FROM load_movielens('/');
RESET ROLE;
-- the C check holds even if EXECUTE is granted by mistake
GRANT EXECUTE ON FUNCTION load_movielens(text) TO regress_mr_plain;
SET ROLE regress_mr_plain;
SELECT * FROM load_movielens('/');
RESET ROLE;
-- a member of pg_read_server_files passes the check and reaches the folder;
-- replacing the tables also needs INSERT on them (as for generate_ratings)
GRANT pg_read_server_files TO regress_mr_plain;
GRANT EXECUTE ON FUNCTION generate_ratings(int, int, bigint, int, real, int) TO regress_mr_plain;
SET ROLE regress_mr_plain;
SELECT * FROM load_movielens('/');
SELECT generate_ratings(10, 10, 50);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION load_movielens(text) FROM regress_mr_plain;
REVOKE EXECUTE ON FUNCTION generate_ratings(int, int, bigint, int, real, int) FROM regress_mr_plain;
REVOKE USAGE ON SCHEMA movierec FROM regress_mr_plain;
DROP ROLE regress_mr_plain;
