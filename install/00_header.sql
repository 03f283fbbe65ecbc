-- movierec install script, built from the ordered parts in install/.
-- Do not edit movierec--*.sql: edit the part and run make.

\echo Use "CREATE EXTENSION movierec" to load this file. \quit

COMMENT ON SCHEMA movierec IS 'movierec: movie recommendation inside PostgreSQL';
