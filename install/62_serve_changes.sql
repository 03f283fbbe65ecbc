-- since 0.2
-- Serving sees every change of a rating at once (src/serve_changes.c,
-- src/serve_items.c, doc/serving.md "Changes and new movies").
--
-- movierec.rating_changes holds, per user, the last transaction that
-- inserted, updated or deleted one of the user's ratings (user_id 0: a
-- TRUNCATE, i.e. every user).  Serving compares it with the transaction
-- snapshot the model was trained under (movierec.snapshots.txid_snapshot):
-- a change that snapshot did not see makes the user fold in from their
-- current ratings.  One row per user, so the table stays as small as the
-- user base; writers of the same user's ratings queue on that row.

CREATE TABLE movierec.rating_changes (
    user_id    bigint PRIMARY KEY,  -- no CHECK: it would be re-read per write (only the trigger writes)
    xid        xid8 NOT NULL,
    changed_at timestamptz NOT NULL
);
COMMENT ON TABLE movierec.rating_changes IS
    'Last transaction that changed each user''s ratings (0 = a truncate); written by triggers on movierec.ratings.';

-- On ALTER EXTENSION UPDATE from 0.1, the log begins now, and the
-- ratings may have changed, unlogged, since the existing models were
-- trained.  Record when it began (user -1: no user has that id), so that
-- serving applies to models older than that 0.1's rule as well: a rating
-- with rated_at after the model, or without rated_at, counts as a change
-- (src/serve_upgrade.c).  Unchanged users are then served as 0.1 served
-- them.  On CREATE EXTENSION there is no model, and no marker.
INSERT INTO movierec.rating_changes (user_id, xid, changed_at)
SELECT -1, pg_catalog.pg_current_xact_id(), pg_catalog.now()
 WHERE EXISTS (SELECT 1 FROM movierec.models);

-- The transaction snapshot a model read its ratings under, the
-- snapshots row's own xmin/cmin (a model trained in the caller's own
-- transaction), and when the log began if the database was updated from
-- 0.1 (NULL otherwise).  No row for no model; NULL snap for a model
-- without a snapshot.  movierec.snapshots and the log need no grant to
-- serving roles.
CREATE FUNCTION movierec._serve_model_snapshot(model_id bigint)
    RETURNS TABLE (snap text, row_xmin text, row_cmin text, log_began timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
    SELECT s.txid_snapshot::text, s.xmin::text, s.cmin::text,
           (SELECT c.changed_at FROM movierec.rating_changes c WHERE c.user_id = -1)
      FROM movierec.models m LEFT JOIN movierec.snapshots s ON s.snapshot_id = m.snapshot_id
     WHERE m.model_id = $1
$$;

-- Record the users a statement on movierec.ratings touched, and tell
-- serving when a movie some model lacks was rated (serve_changes.c: one
-- prepared statement, written as the log's owner, so writers of ratings
-- need no rights on the log).
CREATE FUNCTION movierec._ratings_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'movierec_ratings_changed'
    LANGUAGE C;

CREATE TRIGGER ratings_changed_insert AFTER INSERT ON movierec.ratings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION movierec._ratings_changed();
CREATE TRIGGER ratings_changed_update AFTER UPDATE ON movierec.ratings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION movierec._ratings_changed();
CREATE TRIGGER ratings_changed_delete AFTER DELETE ON movierec.ratings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION movierec._ratings_changed();
CREATE TRIGGER ratings_changed_truncate AFTER TRUNCATE ON movierec.ratings
    FOR EACH STATEMENT EXECUTE FUNCTION movierec._ratings_changed();
-- also on a logical replication subscriber (session_replication_role = replica)
ALTER TABLE movierec.ratings ENABLE ALWAYS TRIGGER ratings_changed_insert;
ALTER TABLE movierec.ratings ENABLE ALWAYS TRIGGER ratings_changed_update;
ALTER TABLE movierec.ratings ENABLE ALWAYS TRIGGER ratings_changed_delete;
ALTER TABLE movierec.ratings ENABLE ALWAYS TRIGGER ratings_changed_truncate;

-- Which movies a model serves that it was not trained on, and why.
CREATE FUNCTION movierec.movie_explain_path(movie_id bigint, model text DEFAULT NULL)
    RETURNS TABLE (path text, reason text)
    AS 'MODULE_PATHNAME', 'movierec_movie_explain_path'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1;
COMMENT ON FUNCTION movierec.movie_explain_path(bigint, text) IS
    'How the model serves a movie now: model (trained), fold_in (solved from its raters) or unknown, and why.';

CREATE FUNCTION movierec.folded_movies(model text DEFAULT NULL)
    RETURNS TABLE (movie_id bigint, n_ratings int, bias real, factors real[])
    AS 'MODULE_PATHNAME', 'movierec_folded_movies'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION movierec.folded_movies(text) IS
    'The movies the model serves by item fold-in (not in its training data): the ratings they were solved from, bias and factors.';
