-- since 0.2
-- Least privilege (README, "Roles and privileges").
--
-- PUBLIC keeps EXECUTE only on what serving needs: the read-only serving
-- functions, build_info(), default_params() and the pure statistics
-- helpers.  Every function that writes, trains, schedules, creates roles or
-- reads across users is revoked from PUBLIC here, by name, whichever parts
-- defined it, and granted through three roles that movierec.create_roles()
-- creates (roles are cluster-wide, so CREATE EXTENSION creates none):
--   movierec_app      an application: serving, experiments' serving and
--                     feedback, reading the catalogue, writing ratings;
--   movierec_monitor  postgres_exporter: pg_monitor and the statistics views;
--   movierec_admin    an operator: everything, with no superuser.
-- The functions named "_..." are internal: they run inside the public
-- ones (a view's functions run as its caller, hence no revoke), and those
-- that are SECURITY DEFINER pin their search_path.  test/pgtap/privileges.sql
-- checks every function of the schema against these lists.

CREATE FUNCTION movierec._privilege_class(proname name) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$
    SELECT CASE
        WHEN proname IN ('build_info', 'default_params', 'recommend', 'predict', 'similar_movies',
                         'recommend_for_ratings', 'explain', 'recommend_explain_path',
                         'movie_explain_path', 'folded_movies', 'hash_split_is_test',
                         'normal_cdf', 'normal_quantile', 'student_t_cdf', 'chi2_sf',
                         'binomial_test')
            THEN 'public'
        WHEN proname IN ('assign', 'recommend_in', 'log_feedback', 'api_pre_request',
                         'rate_limit_take')
            THEN 'app'
        WHEN proname IN ('worker_status', 'training_progress', 'rate_limit_buckets',
                         'drift_report', 'experiment_report')
            THEN 'monitor'
        WHEN proname LIKE '\_%' OR proname IN ('serve_invalidate', 'serve_drop_recommendations',
                                               'ease_invalidate', 'bump_models_generation',
                                               'run_training_job')
            THEN 'internal'
        ELSE 'admin'
    END
$$;
COMMENT ON FUNCTION movierec._privilege_class(name) IS
    'Which documented role a movierec function belongs to: public, app, monitor, admin or internal.';

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'movierec'::regnamespace
                AND movierec._privilege_class(p.proname) IN ('app', 'monitor', 'admin')
    LOOP
        EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$$;

CREATE FUNCTION movierec.create_roles() RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
    r text;
    f record;
BEGIN
    FOREACH r IN ARRAY ARRAY['movierec_app', 'movierec_monitor', 'movierec_admin'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA movierec TO %I', r);
    END LOOP;
    -- functions: each role gets its class (the admin every class)
    FOR f IN SELECT p.oid::regprocedure AS fn, movierec._privilege_class(p.proname) AS class
               FROM pg_proc p WHERE p.pronamespace = 'movierec'::regnamespace
    LOOP
        IF f.class IN ('app', 'public') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO movierec_app', f.fn);
        END IF;
        IF f.class IN ('monitor', 'public') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO movierec_monitor', f.fn);
        END IF;
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO movierec_admin', f.fn);
    END LOOP;
    -- tables: the application reads what serving reads and writes ratings
    -- (and experiments' exposures and feedback, where installed)
    GRANT SELECT ON movierec.movies, movierec.models, movierec.item_factors,
                    movierec.user_factors, movierec.recommendations TO movierec_app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON movierec.ratings TO movierec_app;
    FOR r IN SELECT c.oid::regclass::text FROM pg_class c
              WHERE c.relnamespace = 'movierec'::regnamespace
                AND c.relname IN ('ease_weights', 'experiments', 'models_generation')
    LOOP
        EXECUTE format('GRANT SELECT ON %s TO movierec_app', r);
    END LOOP;
    FOR r IN SELECT c.oid::regclass::text FROM pg_class c
              WHERE c.relnamespace = 'movierec'::regnamespace
                AND c.relname IN ('exposures', 'feedback')
    LOOP
        EXECUTE format('GRANT SELECT, INSERT ON %s TO movierec_app', r);
    END LOOP;
    FOR r IN SELECT c.oid::regclass::text FROM pg_class c
              WHERE c.relnamespace = 'movierec'::regnamespace AND c.relkind = 'S'
                AND c.relname IN ('exposures_impression_id_seq', 'feedback_event_id_seq')
    LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO movierec_app', r);
    END LOOP;
    -- the monitor: pg_monitor and the statistics views (create_monitor_role)
    IF to_regprocedure('movierec.create_monitor_role(name)') IS NOT NULL THEN
        PERFORM movierec.create_monitor_role('movierec_monitor');
        ALTER ROLE movierec_monitor NOLOGIN;
    END IF;
    -- the admin: every table and sequence of the schema, and creating
    -- snapshot copies there; no superuser, no BYPASSRLS
    GRANT ALL ON ALL TABLES IN SCHEMA movierec TO movierec_admin;
    GRANT ALL ON ALL SEQUENCES IN SCHEMA movierec TO movierec_admin;
    GRANT CREATE ON SCHEMA movierec TO movierec_admin;
    GRANT movierec_app, movierec_monitor TO movierec_admin;
END
$$;
COMMENT ON FUNCTION movierec.create_roles() IS
    'Create (if missing) and grant the roles movierec_app, movierec_monitor and movierec_admin; run again after adding objects.';
REVOKE ALL ON FUNCTION movierec.create_roles() FROM PUBLIC;
