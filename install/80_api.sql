-- since 0.2
------------------------------------------------------------------------------
-- The HTTP API (PostgREST 12, doc/http.md).
--
-- What an HTTP client sees is the schema api: views and thin functions over
-- movierec, owned by the role movierec_api.  Roles are cluster-wide, so
-- CREATE EXTENSION creates none: a superuser runs
--     SELECT movierec.create_api_roles();
-- once per database.  It creates (if missing) web_anon, web_user,
-- web_admin, movierec_api and the PostgREST login movierec_authenticator
-- (LOGIN NOINHERIT, member of the three web roles only), creates pgcrypto
-- if it is missing, makes a JWT signing secret, hands the api schema to
-- movierec_api and grants the web roles what the API needs.
--
-- pgcrypto (bcrypt passwords, HMAC-SHA256 tokens) is not in
-- movierec.control's `requires`: that would make every CREATE EXTENSION
-- movierec and ALTER EXTENSION UPDATE in every script need CASCADE or
-- pgcrypto first, for the sake of one optional part.  The functions here
-- find pgcrypto's schema when they run (movierec._pgcrypto) and say how to
-- install it when it is missing.
------------------------------------------------------------------------------

CREATE TABLE movierec.rate_limits (
    role                name PRIMARY KEY,
    requests_per_minute int NOT NULL CHECK (requests_per_minute > 0),
    burst               int NOT NULL CHECK (burst > 0)
);
COMMENT ON TABLE movierec.rate_limits IS
    'HTTP rate limits per API role: a token bucket per user (web_anon: one shared bucket) refilled at requests_per_minute, holding up to burst; changes apply within a second.  A role without a row is not limited.  movierec.create_api_roles() adds the defaults.';
SELECT pg_catalog.pg_extension_config_dump('movierec.rate_limits', '');

CREATE TABLE movierec.api_accounts (
    username      text PRIMARY KEY CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    password_hash text NOT NULL,
    user_id       bigint NOT NULL CHECK (user_id > 0),
    role          name NOT NULL CHECK (role IN ('web_user', 'web_admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE movierec.api_accounts IS
    'HTTP API logins: bcrypt password hash, the movierec user_id (the token''s sub) and the API role.  Readable by no client role.';
SELECT pg_catalog.pg_extension_config_dump('movierec.api_accounts', '');

CREATE TABLE movierec.api_secrets (
    name  text PRIMARY KEY,
    value text NOT NULL
);
COMMENT ON TABLE movierec.api_secrets IS
    'The JWT signing secret (name jwt_secret).  Readable by no client role: only movierec_api, through api.login.';
SELECT pg_catalog.pg_extension_config_dump('movierec.api_secrets', '');
REVOKE ALL ON movierec.api_accounts, movierec.api_secrets FROM PUBLIC;

------------------------------------------------------------------------------
-- The rate limiter (src/ratelimit.c).
------------------------------------------------------------------------------

CREATE FUNCTION movierec.rate_limit_take(role name, user_id bigint) RETURNS float8
    AS 'MODULE_PATHNAME', 'movierec_rate_limit_take'
    LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION movierec.rate_limit_take(name, bigint) IS
    'Take a token from the bucket of (role, user_id): 0 if the request may go on, else the seconds until a token is there.';

CREATE FUNCTION movierec.rate_limit_buckets()
    RETURNS TABLE (role name, user_id bigint, tokens float8, last_request timestamptz)
    AS 'MODULE_PATHNAME', 'movierec_rate_limit_buckets'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION movierec.rate_limit_buckets() IS
    'The rate limiter''s buckets, most recently used first, with their tokens as of their last request.';

CREATE FUNCTION movierec.rate_limit_reset() RETURNS bigint
    AS 'MODULE_PATHNAME', 'movierec_rate_limit_reset'
    LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION movierec.rate_limit_reset() IS
    'Forget every rate-limit bucket (each starts full again); returns how many there were.';
REVOKE EXECUTE ON FUNCTION movierec.rate_limit_reset() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION movierec.rate_limit_buckets() FROM PUBLIC;

------------------------------------------------------------------------------
-- Helpers (in movierec, so that PostgREST does not expose them).
------------------------------------------------------------------------------

-- The error PostgREST turns into an HTTP response: status, headers, and
-- its usual JSON body {code, message, details, hint}.
CREATE FUNCTION movierec._api_error(status int, code text, message text, hint text,
                                    headers jsonb DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql IMMUTABLE AS
$$
BEGIN
    RAISE SQLSTATE 'PGRST'
        USING MESSAGE = json_build_object('code', code, 'message', message,
                                          'details', NULL, 'hint', hint)::text,
              DETAIL = json_build_object('status', status,
                                         'headers', coalesce(headers, '{}'::jsonb))::text;
END
$$;

-- The caller's movierec user_id: the sub claim of the request's JWT (NULL
-- for the anonymous role or outside PostgREST).
CREATE FUNCTION movierec._api_sub() RETURNS bigint LANGUAGE sql STABLE AS
$$
SELECT (nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb->>'sub')::bigint
$$;

-- A web_user may ask only about its own user_id (403); web_admin about anyone.
CREATE FUNCTION movierec._api_check_user(user_id bigint) RETURNS void LANGUAGE plpgsql STABLE AS
$$
BEGIN
    IF user_id IS NULL THEN
        PERFORM movierec._api_error(400, 'MR400', 'user_id must not be null',
                                    'Pass user_id=<your user id>.');
    END IF;
    -- current_setting('role') is the role PostgREST switched to, also inside
    -- the SECURITY DEFINER functions that call this
    IF pg_catalog.current_setting('role') = 'web_admin' OR user_id = movierec._api_sub() THEN
        RETURN;
    END IF;
    PERFORM movierec._api_error(403, 'MR403',
        format('user %s may not read the data of user %s', coalesce(movierec._api_sub()::text, 'anonymous'), user_id),
        'Ask for your own user_id (the sub claim of your token); only web_admin may ask for anyone.');
END
$$;

-- Re-raise the error being handled as HTTP 404, with its message and hint.
CREATE FUNCTION movierec._api_not_found(message text, hint text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS
$$
BEGIN
    PERFORM movierec._api_error(404, 'MR404', message, hint);
END
$$;

-- The schema pgcrypto is installed in, or an error that says how to get it.
CREATE FUNCTION movierec._pgcrypto() RETURNS name LANGUAGE plpgsql STABLE AS
$$
DECLARE
    s name;
BEGIN
    SELECT n.nspname INTO s FROM pg_catalog.pg_extension e
      JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgcrypto';
    IF s IS NULL THEN
        RAISE EXCEPTION 'the HTTP API needs the pgcrypto extension'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run SELECT movierec.create_api_roles() as a superuser (it creates pgcrypto), or CREATE EXTENSION pgcrypto.';
    END IF;
    RETURN s;
END
$$;

-- base64url without padding (RFC 7515).
CREATE FUNCTION movierec._base64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS
$$
SELECT pg_catalog.translate(pg_catalog.encode(b, 'base64'), E'+/=\n', '-_')
$$;

CREATE FUNCTION movierec.jwt_secret() RETURNS text LANGUAGE plpgsql STABLE AS
$$
DECLARE
    s text;
BEGIN
    SELECT value INTO s FROM movierec.api_secrets WHERE name = 'jwt_secret';
    IF s IS NULL THEN
        RAISE EXCEPTION 'no JWT secret is set'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run SELECT movierec.create_api_roles(), or SELECT movierec.set_jwt_secret(''...'') with 32 or more characters.';
    END IF;
    RETURN s;
END
$$;
COMMENT ON FUNCTION movierec.jwt_secret() IS
    'The JWT signing secret, for starting PostgREST (PGRST_JWT_SECRET).  Superusers only.';

CREATE FUNCTION movierec.set_jwt_secret(secret text) RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    IF secret IS NULL OR length(secret) < 32 THEN
        RAISE EXCEPTION 'the JWT secret must have at least 32 characters'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'PostgREST refuses shorter HS256 secrets; use e.g. encode(gen_random_bytes(32), ''hex'').';
    END IF;
    INSERT INTO movierec.api_secrets (name, value) VALUES ('jwt_secret', secret)
        ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value;
END
$$;
COMMENT ON FUNCTION movierec.set_jwt_secret(text) IS
    'Replace the JWT signing secret (tokens signed with the old one stop working once PostgREST has the new one).';

-- An HS256 JWT of the claims, signed with the secret (pgcrypto hmac).
CREATE FUNCTION movierec.jwt_sign(claims jsonb) RETURNS text LANGUAGE plpgsql STABLE AS
$$
DECLARE
    input text := movierec._base64url(convert_to('{"alg":"HS256","typ":"JWT"}', 'utf8')) || '.' ||
                  movierec._base64url(convert_to(claims::text, 'utf8'));
    sig bytea;
BEGIN
    EXECUTE format('SELECT %I.hmac($1, $2, ''sha256'')', movierec._pgcrypto())
        INTO sig USING convert_to(input, 'utf8'), convert_to(movierec.jwt_secret(), 'utf8');
    RETURN input || '.' || movierec._base64url(sig);
END
$$;
COMMENT ON FUNCTION movierec.jwt_sign(jsonb) IS
    'An HS256 JSON Web Token of the claims, signed with the API''s secret.  Superusers (and api.login) only.';
REVOKE EXECUTE ON FUNCTION movierec.jwt_secret(), movierec.set_jwt_secret(text),
    movierec.jwt_sign(jsonb) FROM PUBLIC;

CREATE FUNCTION movierec.create_account(username text, password text, user_id bigint,
                                        role text DEFAULT 'web_user')
    RETURNS void LANGUAGE plpgsql AS
$$
DECLARE
    h text;
BEGIN
    IF role IS NULL OR role NOT IN ('web_user', 'web_admin') THEN
        RAISE EXCEPTION 'role must be ''web_user'' or ''web_admin'', not %', coalesce(quote_literal(role), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'web_user reads and rates for its own user_id; web_admin may ask for anyone and manage models.';
    END IF;
    IF password IS NULL OR length(password) < 8 THEN
        RAISE EXCEPTION 'the password must have at least 8 characters'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Choose a longer password.';
    END IF;
    IF user_id IS NULL OR user_id <= 0 THEN
        RAISE EXCEPTION 'user_id must be a positive movierec user id'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass the user''s id in movierec.ratings.';
    END IF;
    EXECUTE format('SELECT %1$I.crypt($1, %1$I.gen_salt(''bf'', 8))', movierec._pgcrypto())
        INTO h USING password;
    INSERT INTO movierec.api_accounts (username, password_hash, user_id, role)
    VALUES (username, h, user_id, role)
    ON CONFLICT ON CONSTRAINT api_accounts_pkey DO UPDATE
        SET password_hash = EXCLUDED.password_hash, user_id = EXCLUDED.user_id,
            role = EXCLUDED.role;
END
$$;
COMMENT ON FUNCTION movierec.create_account(text, text, bigint, text) IS
    'Create an HTTP API login (or reset its password, user and role): bcrypt password, the movierec user_id it acts for, web_user or web_admin.';
REVOKE EXECUTE ON FUNCTION movierec.create_account(text, text, bigint, text) FROM PUBLIC;

------------------------------------------------------------------------------
-- PostgREST's db-pre-request: the rate limit (429 with Retry-After) and the
-- body size limit (413).
------------------------------------------------------------------------------

-- The largest request body the API takes, in bytes (1 MiB).  PostgREST 12
-- has no setting for it, so the pre-request reads the Content-Length header
-- and answers 413 above it, before the request's SQL runs (PostgREST has
-- read and parsed the body by then).  A chunked body, whose size is not
-- known there, gets 411.
CREATE FUNCTION movierec._api_max_body_bytes() RETURNS bigint LANGUAGE sql IMMUTABLE
    PARALLEL SAFE AS 'SELECT 1048576::bigint';
COMMENT ON FUNCTION movierec._api_max_body_bytes() IS
    'The largest HTTP request body the API takes (Content-Length, bytes); larger ones get 413 from movierec.api_pre_request().';

-- One plpgsql call per request: the C limiter, then the body size.  The
-- request's token is taken first, so that a client sending huge bodies is
-- rate-limited too.
CREATE FUNCTION movierec.api_pre_request() RETURNS void LANGUAGE plpgsql VOLATILE AS
$$
DECLARE
    wait float8 := movierec.rate_limit_take(current_user, coalesce(movierec._api_sub(), 0));
    hdrs text;
    len text;
BEGIN
    IF wait > 0 THEN
        PERFORM movierec._api_error(429, 'MR429',
            format('rate limit of role %s exceeded', current_user),
            format('Retry in %s s; limits are in movierec.rate_limits.', ceil(wait)),
            jsonb_build_object('Retry-After', ceil(wait)::int::text));
    END IF;
    -- PostgREST puts the headers, lower-cased, in request.headers (JSON)
    hdrs := nullif(pg_catalog.current_setting('request.headers', true), '');
    len := hdrs::json ->> 'content-length';
    IF len IS NOT NULL AND len ~ '^[0-9]+$'
       AND (length(len) > 18 OR len::bigint > movierec._api_max_body_bytes()) THEN
        PERFORM movierec._api_error(413, 'MR413',
            format('the request body of %s bytes is larger than the API''s limit', len),
            format('Send at most %s bytes (movierec._api_max_body_bytes()); a rating is {"movie_id", "rating"}.',
                   movierec._api_max_body_bytes()));
    END IF;
    -- a chunked body has no Content-Length, so its size is unknown here:
    -- 411 Length Required (the strpos() spares the usual request a parse)
    IF len IS NULL AND pg_catalog.strpos(hdrs, '"transfer-encoding"') > 0
       AND hdrs::json ->> 'transfer-encoding' IS NOT NULL THEN
        PERFORM movierec._api_error(411, 'MR411',
            'a request body must have a Content-Length',
            format('Send the body with a Content-Length header (not chunked), at most %s bytes.',
                   movierec._api_max_body_bytes()));
    END IF;
END
$$;
COMMENT ON FUNCTION movierec.api_pre_request() IS
    'PostgREST db-pre-request: takes a token from the caller''s bucket, or answers 429 with Retry-After; answers 413 to a body above movierec._api_max_body_bytes(), 411 to a chunked one.';

------------------------------------------------------------------------------
-- The schema api.
------------------------------------------------------------------------------

CREATE SCHEMA api;
COMMENT ON SCHEMA api IS
    'movierec''s HTTP API (PostgREST): log in at POST /rpc/login, then send Authorization: Bearer <access_token>.';

CREATE FUNCTION api.login(username text, password text) RETURNS json
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    a movierec.api_accounts;
    ok boolean;
    ttl int := 3600;
BEGIN
    SELECT * INTO a FROM movierec.api_accounts WHERE api_accounts.username = login.username;
    -- an unknown user costs one bcrypt too (against a fresh salt), so that
    -- timing does not tell which usernames exist
    EXECUTE format('SELECT %1$I.crypt($1, coalesce($2, %1$I.gen_salt(''bf'', 8))) = $2',
                   movierec._pgcrypto())
        INTO ok USING coalesce(password, ''), a.password_hash;
    IF a.username IS NULL OR NOT coalesce(ok, false) THEN
        PERFORM movierec._api_error(401, 'MR401', 'invalid username or password',
                                    'Accounts are created by an administrator with movierec.create_account().');
    END IF;
    RETURN json_build_object(
        'access_token', movierec.jwt_sign(jsonb_build_object(
            'role', a.role, 'sub', a.user_id::text,
            'exp', extract(epoch FROM now())::bigint + ttl)),
        'token_type', 'bearer',
        'expires_in', ttl);
END
$$;
COMMENT ON FUNCTION api.login(text, text) IS
    'Log in: {"username", "password"} returns {"access_token", "token_type": "bearer", "expires_in"} (an HS256 JWT with role, sub = your user_id, exp).';

CREATE FUNCTION api.recommend(user_id bigint, k int DEFAULT 10)
    RETURNS TABLE (movie_id bigint, score real, rank int) LANGUAGE plpgsql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM movierec._api_check_user(recommend.user_id);
    RETURN QUERY SELECT * FROM movierec.recommend(recommend.user_id, k);
EXCEPTION WHEN undefined_object THEN
    DECLARE m text; h text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
        PERFORM movierec._api_not_found(m, h);
    END;
END
$$;
COMMENT ON FUNCTION api.recommend(bigint, int) IS
    'Top-k movies for a user (your own user_id; web_admin: anyone), exactly as movierec.recommend(user_id, k): movie_id, score, rank.';

CREATE FUNCTION api.recommend_explain_path(user_id bigint)
    RETURNS TABLE (path text, reason text) LANGUAGE plpgsql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM movierec._api_check_user(recommend_explain_path.user_id);
    RETURN QUERY SELECT * FROM movierec.recommend_explain_path(recommend_explain_path.user_id);
EXCEPTION WHEN undefined_object THEN
    DECLARE m text; h text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
        PERFORM movierec._api_not_found(m, h);
    END;
END
$$;
COMMENT ON FUNCTION api.recommend_explain_path(bigint) IS
    'Which path recommend serves the user by (model, fold_in or popularity) and why.';

-- (a row type: an OUT column may not share the name of the movie_id argument)
CREATE TYPE movierec.api_similar_movie AS (movie_id bigint, similarity real, rank int);
CREATE FUNCTION api.similar_movies(movie_id bigint, k int DEFAULT 10)
    RETURNS SETOF movierec.api_similar_movie LANGUAGE plpgsql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    RETURN QUERY SELECT * FROM movierec.similar_movies(similar_movies.movie_id, k);
EXCEPTION WHEN undefined_object THEN
    DECLARE m text; h text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
        PERFORM movierec._api_not_found(m, h);
    END;
END
$$;
COMMENT ON FUNCTION api.similar_movies(bigint, int) IS
    'The k movies nearest to a movie by cosine similarity of the model''s item factors; an unknown movie is 404.';

CREATE FUNCTION api.predict(user_id bigint, movie_id bigint) RETURNS real
    LANGUAGE plpgsql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM movierec._api_check_user(predict.user_id);
    RETURN movierec.predict(predict.user_id, predict.movie_id);
EXCEPTION WHEN undefined_object THEN
    DECLARE m text; h text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
        PERFORM movierec._api_not_found(m, h);
    END;
END
$$;
COMMENT ON FUNCTION api.predict(bigint, bigint) IS
    'The predicted rating of a movie for a user (your own user_id; web_admin: anyone), on the rating scale.';

CREATE FUNCTION api.explain(user_id bigint, movie_id bigint, n int DEFAULT 5)
    RETURNS TABLE (rated_movie_id bigint, contribution real) LANGUAGE plpgsql STABLE
    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
    PERFORM movierec._api_check_user(explain.user_id);
    RETURN QUERY SELECT * FROM movierec.explain(explain.user_id, explain.movie_id, NULL, n);
EXCEPTION WHEN undefined_object THEN
    DECLARE m text; h text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
        PERFORM movierec._api_not_found(m, h);
    END;
END
$$;
COMMENT ON FUNCTION api.explain(bigint, bigint, int) IS
    'Because you rated: the n rated movies that contribute most to the user''s score of a movie.';

-- The caller's own ratings (GET, and DELETE ?movie_id=eq.N); row level
-- security on movierec.ratings enforces it for web_user.
CREATE VIEW api.ratings WITH (security_invoker = true) AS
    SELECT r.user_id, r.movie_id, r.rating, r.rated_at
      FROM movierec.ratings r
     WHERE r.user_id = movierec._api_sub();
COMMENT ON VIEW api.ratings IS
    'Your own ratings.  DELETE /ratings?movie_id=eq.N removes one; rate with POST /rpc/rate.';

CREATE FUNCTION api.rate(movie_id bigint, rating real) RETURNS json
    LANGUAGE plpgsql VOLATILE AS
$$
DECLARE
    me bigint := movierec._api_sub();
    r movierec.ratings;
BEGIN
    IF me IS NULL THEN
        PERFORM movierec._api_error(401, 'MR401', 'rating needs a logged-in user', 'Log in with POST /rpc/login.');
    END IF;
    IF rating IS NULL OR rating = 'NaN' OR rating < 0.5 OR rating > 5 THEN
        RAISE EXCEPTION 'rating must be between 0.5 and 5, not %', coalesce(rating::text, 'null')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Ratings are on the MovieLens scale 0.5 to 5.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM movierec.movies m WHERE m.movie_id = rate.movie_id) THEN
        PERFORM movierec._api_not_found(format('movie %s does not exist', rate.movie_id),
                                        'Find movie ids with GET /movies.');
    END IF;
    INSERT INTO movierec.ratings AS t (user_id, movie_id, rating, rated_at)
    VALUES (me, rate.movie_id, rate.rating, now())
    ON CONFLICT ON CONSTRAINT ratings_pkey DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
    RETURNING t.* INTO r;
    RETURN row_to_json(r);
END
$$;
COMMENT ON FUNCTION api.rate(bigint, real) IS
    'Rate a movie as yourself (insert or update): {"movie_id", "rating"}; the next recommend folds it in.';

CREATE VIEW api.movies AS
    SELECT movie_id, title, year, genres FROM movierec.movies;
COMMENT ON VIEW api.movies IS
    'The movie catalogue; filter and page with PostgREST''s syntax, e.g. ?genres=cs.{Comedy}&order=year.desc&limit=20.';

CREATE VIEW api.popular_movies AS
    WITH m AS (
        SELECT model_id, coalesce(global_mean, 3.5) AS mu FROM movierec.models
         ORDER BY stage = 'production' DESC, created_at DESC, model_id DESC LIMIT 1)
    SELECT f.movie_id, mv.title, mv.year, mv.genres, f.n_ratings, f.mean_rating,
           ((f.n_ratings * f.mean_rating + 10 * m.mu) / (f.n_ratings + 10))::real AS score
      FROM m JOIN movierec.item_factors f ON f.model_id = m.model_id
      JOIN movierec.movies mv ON mv.movie_id = f.movie_id
     WHERE f.n_ratings >= 10 AND f.mean_rating IS NOT NULL
     ORDER BY score DESC, f.movie_id;
COMMENT ON VIEW api.popular_movies IS
    'Most popular movies of the serving model (damped mean rating, at least 10 ratings), best first; page with ?limit=20.';

-- Administration (web_admin only).
CREATE VIEW api.models WITH (security_invoker = true) AS
    SELECT model_id, model_name, version, algorithm, params, n_users, n_movies, n_ratings,
           n_factors, metrics, stage, parent_model_id, created_by, created_at
      FROM movierec.models;
COMMENT ON VIEW api.models IS 'The model registry (web_admin).';

CREATE VIEW api.jobs WITH (security_invoker = true) AS
    SELECT job_id, state, model_name, algorithm, params, promote, owner::text AS owner, attempt,
           queued_at, started_at, finished_at, model_id, error, error_hint
      FROM movierec.jobs;
COMMENT ON VIEW api.jobs IS 'Training jobs and their states (web_admin).';

CREATE FUNCTION api.promote(model_id bigint, reason text DEFAULT 'promoted over HTTP') RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS
$$
BEGIN
    RETURN movierec.promote(promote.model_id, reason);
EXCEPTION WHEN undefined_object THEN
    DECLARE m text; h text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
        PERFORM movierec._api_not_found(m, h);
    END;
END
$$;
COMMENT ON FUNCTION api.promote(bigint, text) IS
    'Make a model the production model of its name (web_admin); returns the deployment id.';

CREATE FUNCTION api.rollback(model_name text, reason text DEFAULT 'rolled back over HTTP') RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS
$$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM movierec.models m WHERE m.model_name = rollback.model_name) THEN
        PERFORM movierec._api_not_found(format('model "%s" does not exist', model_name),
                                        'List models with GET /models.');
    END IF;
    RETURN movierec.rollback(rollback.model_name, reason);
EXCEPTION WHEN undefined_object THEN
    DECLARE m text; h text;
    BEGIN
        GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, h = PG_EXCEPTION_HINT;
        PERFORM movierec._api_not_found(m, h);
    END;
END
$$;
COMMENT ON FUNCTION api.rollback(text, text) IS
    'Bring back the production model that the current one of this name replaced (web_admin).';

CREATE FUNCTION api.train_async(model_name text, algorithm text DEFAULT 'als', params jsonb DEFAULT '{}',
                                promote text DEFAULT 'never') RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS
$$
BEGIN
    RETURN movierec.train_async(model_name, algorithm, params, 'movierec.ratings',
                                promote => promote);
END
$$;
COMMENT ON FUNCTION api.train_async(text, text, jsonb, text) IS
    'Queue a training job on movierec.ratings for the background worker (web_admin); returns the job id.';

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;

------------------------------------------------------------------------------
-- Roles and grants (run by a superuser, per database; idempotent).
------------------------------------------------------------------------------

CREATE FUNCTION movierec.create_api_roles(authenticator_password text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql AS
$$
DECLARE
    r text;
    o record;
    crypto name;
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'movierec.create_api_roles() must be run by a superuser'
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'It creates cluster-wide roles and hands the api schema to movierec_api.';
    END IF;
    FOREACH r IN ARRAY ARRAY['web_anon', 'web_user', 'web_admin', 'movierec_api'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- serving reads ratings with direct scans, which refuse row level
    -- security: the serving functions run as movierec_api (after checking
    -- the caller's user_id), and web_admin may see every user anyway
    ALTER ROLE movierec_api NOLOGIN BYPASSRLS;
    ALTER ROLE web_admin NOLOGIN BYPASSRLS;
    ALTER ROLE web_anon NOLOGIN NOBYPASSRLS;
    ALTER ROLE web_user NOLOGIN NOBYPASSRLS;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'movierec_authenticator') THEN
        CREATE ROLE movierec_authenticator LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
    ALTER ROLE movierec_authenticator LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    IF authenticator_password IS NOT NULL THEN
        EXECUTE format('ALTER ROLE movierec_authenticator PASSWORD %L', authenticator_password);
    END IF;
    FOREACH r IN ARRAY ARRAY['web_anon', 'web_user', 'web_admin'] LOOP
        IF NOT pg_catalog.pg_has_role('movierec_authenticator', r, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO movierec_authenticator', r);
        END IF;
    END LOOP;

    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgcrypto') THEN
        CREATE EXTENSION pgcrypto;
    END IF;
    crypto := movierec._pgcrypto();
    -- the default limits (web_user: the seed's 10 a minute); kept if changed
    INSERT INTO movierec.rate_limits VALUES
        ('web_anon', 60, 20), ('web_user', 10, 10), ('web_admin', 600, 60)
        ON CONFLICT (role) DO NOTHING;
    IF NOT EXISTS (SELECT 1 FROM movierec.api_secrets WHERE name = 'jwt_secret') THEN
        EXECUTE format('SELECT movierec.set_jwt_secret(pg_catalog.encode(%I.gen_random_bytes(32), ''hex''))',
                       crypto);
    END IF;

    -- movierec_api owns the api schema and everything in it
    ALTER SCHEMA api OWNER TO movierec_api;
    FOR o IN SELECT c.relname FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'api'::regnamespace AND c.relkind = 'v' LOOP
        EXECUTE format('ALTER VIEW api.%I OWNER TO movierec_api', o.relname);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS f FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'api'::regnamespace LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO movierec_api', o.f);
    END LOOP;
    GRANT USAGE ON SCHEMA movierec TO movierec_api, web_anon, web_user, web_admin;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO movierec_api', crypto);
    -- what the views owned by movierec_api and api.login read
    GRANT SELECT ON movierec.movies, movierec.models, movierec.item_factors,
                    movierec.api_accounts, movierec.api_secrets TO movierec_api;
    GRANT EXECUTE ON FUNCTION movierec.jwt_sign(jsonb), movierec.jwt_secret() TO movierec_api;

    -- every API role: the catalogue, the limits, log in
    GRANT USAGE ON SCHEMA api TO web_anon, web_user, web_admin;
    GRANT SELECT ON api.movies, api.popular_movies TO web_anon, web_user, web_admin;
    GRANT EXECUTE ON FUNCTION api.login(text, text) TO web_anon, web_user, web_admin;
    GRANT SELECT ON movierec.rate_limits TO web_anon, web_user, web_admin;

    -- the serving functions run as movierec_api
    GRANT SELECT ON movierec.ratings, movierec.deployments, movierec.user_factors TO movierec_api;

    -- users and admins: serving and their own ratings
    GRANT EXECUTE ON FUNCTION api.recommend(bigint, int), api.recommend_explain_path(bigint),
        api.similar_movies(bigint, int), api.predict(bigint, bigint), api.explain(bigint, bigint, int),
        api.rate(bigint, real) TO web_user, web_admin;
    GRANT SELECT, INSERT, UPDATE, DELETE ON api.ratings TO web_user, web_admin;
    GRANT SELECT, INSERT, UPDATE, DELETE ON movierec.ratings TO web_user, web_admin;
    GRANT SELECT ON movierec.movies TO web_user, web_admin;

    -- Row level security: a web_user reads and writes only its own ratings
    -- (the sub claim).  Other roles are not restricted by the policy; note
    -- that serving then needs a role that bypasses row level security (the
    -- table owner, a BYPASSRLS role, or the api functions).
    ALTER TABLE movierec.ratings ENABLE ROW LEVEL SECURITY;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_policies
                WHERE schemaname = 'movierec' AND tablename = 'ratings' AND policyname = 'api_own_ratings') THEN
        DROP POLICY api_own_ratings ON movierec.ratings;
    END IF;
    CREATE POLICY api_own_ratings ON movierec.ratings
        USING (current_user <> 'web_user' OR user_id = movierec._api_sub())
        WITH CHECK (current_user <> 'web_user' OR user_id = movierec._api_sub());

    -- admins: the registry and jobs (jobs run as web_admin, so it can train)
    GRANT SELECT ON api.models, api.jobs TO web_admin;
    GRANT EXECUTE ON FUNCTION api.promote(bigint, text), api.rollback(text, text),
        api.train_async(text, text, jsonb, text) TO web_admin;
    GRANT SELECT, INSERT, UPDATE, DELETE ON movierec.models, movierec.deployments, movierec.jobs,
        movierec.item_factors, movierec.user_factors, movierec.snapshots TO web_admin;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA movierec TO web_admin;

    -- EXECUTE on what PUBLIC may not call (install/95_privileges.sql): the
    -- pre-request check for every API role, training and promotion for
    -- web_admin (api.promote and friends run as the caller, and so do jobs)
    GRANT EXECUTE ON FUNCTION movierec.api_pre_request(), movierec.rate_limit_take(name, bigint)
        TO web_anon, web_user, web_admin;
    FOR o IN SELECT p.oid::regprocedure AS fn FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'movierec'::regnamespace
                AND p.proname IN ('promote', 'rollback', 'train_async', 'train', 'promotion_gate',
                                  'cancel_job', 'worker_status')
    LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO web_admin', o.fn);
    END LOOP;
END
$$;
COMMENT ON FUNCTION movierec.create_api_roles(text) IS
    'Set up the HTTP API in this database: roles web_anon, web_user, web_admin, movierec_api and the PostgREST login movierec_authenticator (LOGIN NOINHERIT), pgcrypto, the JWT secret, ownership and grants.  Superuser; run again after pg_restore.';
REVOKE EXECUTE ON FUNCTION movierec.create_api_roles(text) FROM PUBLIC;
