-- The HTTP API's privileges: the secret and the logins are readable by no
-- client role; the authenticator is LOGIN NOINHERIT, not superuser, and may
-- become only the API roles; the api schema holds only commented views and
-- functions owned by movierec_api; row level security keeps a web_user to
-- its own ratings; the JWT is standard HS256.  All in one transaction that
-- is rolled back (roles too).
BEGIN;
SET client_min_messages = warning;
SELECT plan(54);

SELECT lives_ok($$SELECT movierec.create_api_roles()$$, 'create_api_roles() sets up the API');
SELECT lives_ok($$SELECT movierec.create_api_roles()$$, '  and may run again');
SELECT lives_ok($$SELECT movierec.create_account('tap_user', 'tap-password', 7)$$, 'create_account()');
SELECT lives_ok($$SELECT movierec.create_account('tap_admin', 'tap-password', 8, 'web_admin')$$, 'create_account() for an admin');
SELECT throws_ok($$SELECT movierec.create_account('x', 'tap-password', 7, 'postgres')$$, '22023', NULL,
                 'create_account() refuses a role that is not an API role');
SELECT throws_ok($$SELECT movierec.create_account('x', 'short', 7)$$, '22023', NULL,
                 'create_account() refuses a short password');
SELECT ok((SELECT password_hash LIKE '$2a$08$%' FROM movierec.api_accounts WHERE username = 'tap_user'),
          'passwords are stored as bcrypt hashes');

-- roles
SELECT is((SELECT row(rolcanlogin, rolinherit, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls)::text
             FROM pg_roles WHERE rolname = 'movierec_authenticator'),
          '(t,f,f,f,f,f)', 'the authenticator is LOGIN NOINHERIT and nothing more');
SELECT is((SELECT array_agg(b.rolname::text ORDER BY b.rolname) FROM pg_auth_members m
             JOIN pg_roles b ON b.oid = m.roleid JOIN pg_roles a ON a.oid = m.member
            WHERE a.rolname = 'movierec_authenticator'),
          ARRAY['web_admin', 'web_anon', 'web_user'], '  and may become only the three API roles');
SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname IN ('web_anon', 'web_user', 'web_admin', 'movierec_api')
             AND NOT rolcanlogin AND NOT rolsuper), 4, 'the API roles cannot log in and are not superusers');
SELECT ok(NOT pg_has_role('movierec_authenticator', 'movierec_api', 'MEMBER'), 'the authenticator cannot become movierec_api');

-- the secret and the logins: readable by no client role
SELECT ok(NOT has_table_privilege(r, 'movierec.api_secrets', 'SELECT'), 'api_secrets is not readable by ' || r)
  FROM unnest(ARRAY['web_anon', 'web_user', 'web_admin', 'movierec_authenticator']) r;
SELECT ok(NOT has_table_privilege(r, 'movierec.api_accounts', 'SELECT'), 'api_accounts is not readable by ' || r)
  FROM unnest(ARRAY['web_anon', 'web_user', 'web_admin', 'movierec_authenticator']) r;
SELECT ok(NOT has_function_privilege(r, f, 'EXECUTE'), f || ' is not callable by ' || r)
  FROM unnest(ARRAY['web_anon', 'web_user', 'web_admin']) r,
       unnest(ARRAY['movierec.jwt_secret()', 'movierec.jwt_sign(jsonb)']) f;
SET ROLE web_user;
SELECT throws_ok($$SELECT value FROM movierec.api_secrets$$, '42501', NULL, 'web_user reading the secret is denied');
SELECT throws_ok($$SELECT movierec.jwt_secret()$$, '42501', NULL, 'web_user calling jwt_secret() is denied');
SELECT throws_ok($$SELECT movierec.create_account('evil', 'evil-password', 1, 'web_admin')$$, '42501', NULL,
                 'web_user cannot create accounts');
SELECT throws_ok($$SELECT movierec.set_jwt_secret(repeat('x', 40))$$, '42501', NULL,
                 'web_user cannot replace the secret');
SELECT throws_ok($$SELECT movierec.rate_limit_reset()$$, '42501', NULL, 'web_user cannot reset the rate limits');
SELECT throws_ok($$UPDATE movierec.rate_limits SET burst = 1000000$$, '42501', NULL, 'web_user cannot change the rate limits');
RESET ROLE;
SET ROLE web_anon;
SELECT throws_ok($$SELECT * FROM movierec.api_accounts$$, '42501', NULL, 'web_anon reading the logins is denied');
SELECT throws_ok($$SELECT * FROM api.recommend(1, 10)$$, '42501', NULL, 'web_anon cannot call api.recommend');
SELECT throws_ok($$SELECT * FROM movierec.ratings$$, '42501', NULL, 'web_anon cannot read ratings');
RESET ROLE;
SET ROLE web_user;
SELECT throws_ok($$SELECT api.promote(1)$$, '42501', NULL, 'web_user cannot call api.promote');
SELECT throws_ok($$SELECT * FROM api.models$$, '42501', NULL, 'web_user cannot read api.models');
RESET ROLE;

-- the api schema: views and functions only, owned by movierec_api, commented
SELECT is((SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'api'), 'movierec_api',
          'movierec_api owns the api schema');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'api'::regnamespace AND relkind <> 'v'), 0,
          'the api schema holds no tables, sequences or indexes');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'api'::regnamespace
             AND relowner <> 'movierec_api'::regrole), 0, 'movierec_api owns every api view');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'api'::regnamespace
             AND proowner <> 'movierec_api'::regrole), 0, 'movierec_api owns every api function');
SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'api'::regnamespace AND obj_description(c.oid, 'pg_class') IS NULL), NULL,
          'every api view has a COMMENT');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'api'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL), NULL,
          'every api function has a COMMENT');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'api'::regnamespace AND p.prosecdef
              AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)), NULL,
          'every SECURITY DEFINER api function pins search_path');
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace
             AND has_function_privilege('public', p.oid, 'EXECUTE')), 0, 'no api function is executable by PUBLIC');

-- row level security on the ratings: a web_user sees and writes its own only
INSERT INTO movierec.movies VALUES (900001, 'tap movie 1', 2000, '{}'), (900002, 'tap movie 2', 2000, '{}');
INSERT INTO movierec.ratings (user_id, movie_id, rating) VALUES (7, 900001, 4), (8, 900001, 3), (8, 900002, 2);
SET ROLE web_user;
SELECT set_config('request.jwt.claims', '{"role": "web_user", "sub": "7"}', true);
SELECT is((SELECT array_agg(user_id) FROM movierec.ratings WHERE movie_id >= 900001), ARRAY[7::bigint],
          'a web_user sees only its own ratings in movierec.ratings');
SELECT is((SELECT count(*)::int FROM api.ratings), 1, '  and in api.ratings');
SELECT throws_ok($$INSERT INTO movierec.ratings (user_id, movie_id, rating) VALUES (8, 900002, 5)$$, '42501', NULL,
                 'a web_user cannot insert a rating for another user');
UPDATE movierec.ratings SET rating = 0.5 WHERE user_id = 8;
DELETE FROM movierec.ratings WHERE user_id = 8;
SELECT lives_ok($$SELECT api.rate(900002, 4.5)$$, 'api.rate rates as the caller');
RESET ROLE;
SELECT is((SELECT array_agg(user_id || ':' || movie_id || ':' || rating ORDER BY user_id, movie_id)
             FROM movierec.ratings WHERE movie_id >= 900001),
          ARRAY['7:900001:4', '7:900002:4.5', '8:900001:3', '8:900002:2'],
          '  and another user''s rows survive UPDATE and DELETE');
SET ROLE web_user;
SELECT set_config('request.jwt.claims', '{"role": "web_user", "sub": "7"}', true);
SELECT throws_ok($$SELECT * FROM api.recommend(8, 10)$$, 'PGRST', NULL, 'api.recommend for another user is refused');
RESET ROLE;

-- the JWT: RFC 7515 base64url and HS256 (the jwt.io example), and login
SELECT is(movierec._base64url(convert_to('{"alg":"HS256","typ":"JWT"}', 'utf8')), 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9',
          'base64url of the JWT header');
SELECT is(movierec._base64url(hmac('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ',
                                   'your-256-bit-secret', 'sha256')),
          'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', 'HMAC-SHA256 signature of the jwt.io example');
SET ROLE web_anon;
SELECT is((SELECT convert_from(decode(translate(split_part(api.login('tap_user', 'tap-password')->>'access_token', '.', 2), '-_', '+/')
                                      || repeat('=', (4 - length(split_part(api.login('tap_user', 'tap-password')->>'access_token', '.', 2)) % 4) % 4),
                                      'base64'), 'utf8')::jsonb - 'exp'),
          '{"role": "web_user", "sub": "7"}'::jsonb, 'login: the token''s claims are role and sub (and exp)');
SELECT throws_ok($$SELECT api.login('tap_user', 'wrong-password')$$, 'PGRST', NULL, 'login with a wrong password is refused');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
