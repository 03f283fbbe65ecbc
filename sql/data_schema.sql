-- The data tables reject impossible values.
SET search_path TO movierec, public;
INSERT INTO movies VALUES (1, 'Toy Story (1995)', 1995, '{Animation}');
INSERT INTO ratings VALUES (1, 1, 4.5);
INSERT INTO ratings VALUES (1, 2, 'NaN');
INSERT INTO ratings VALUES (1, 3, 5.5);
INSERT INTO ratings VALUES (1, 4, 0);
INSERT INTO ratings VALUES (1, 1, 3);
INSERT INTO ratings VALUES (0, 5, 3);
INSERT INTO movies VALUES (2, 'Nowhere', 99, '{}');
SELECT count(*) FROM ratings;
-- the tables are part of pg_dump output (extension config tables)
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
  JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'movierec'
   AND c.relname IN ('movies', 'ratings', 'models', 'models_model_id_seq',
                     'user_factors', 'item_factors')
 ORDER BY 1;
DELETE FROM ratings;
DELETE FROM movies;
