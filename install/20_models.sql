-- Model registry and factor storage.  A model is written in its training
-- transaction, so it is visible only once that transaction commits.

CREATE TABLE movierec.models (
    model_id          bigserial PRIMARY KEY,
    model_name        text NOT NULL CHECK (model_name <> ''),
    version           int NOT NULL CHECK (version > 0),
    algorithm         text NOT NULL,
    params            jsonb NOT NULL DEFAULT '{}',
    source            text NOT NULL,
    user_col          name NOT NULL DEFAULT 'user_id',
    item_col          name NOT NULL DEFAULT 'movie_id',
    rating_col        name NOT NULL DEFAULT 'rating',
    n_users           bigint NOT NULL DEFAULT 0,
    n_movies          bigint NOT NULL DEFAULT 0,
    n_ratings         bigint NOT NULL DEFAULT 0,
    n_factors         int NOT NULL DEFAULT 0,
    global_mean       real,
    rating_min        real NOT NULL DEFAULT 0.5,
    rating_max        real NOT NULL DEFAULT 5,
    train_seconds     float8,
    peak_memory_bytes bigint,
    metrics           jsonb NOT NULL DEFAULT '{}',
    stage             text NOT NULL DEFAULT 'none'
                      CHECK (stage IN ('none', 'staging', 'production', 'archived')),
    snapshot_id       bigint,
    parent_model_id   bigint REFERENCES movierec.models ON DELETE SET NULL,
    created_by        name NOT NULL DEFAULT current_user,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (model_name, version)
);
COMMENT ON TABLE movierec.models IS 'Model registry: params, metrics, stage and lineage of every trained model.';
CREATE UNIQUE INDEX models_one_production_idx
    ON movierec.models (model_name) WHERE stage = 'production';

CREATE TABLE movierec.user_factors (
    model_id bigint NOT NULL REFERENCES movierec.models ON DELETE CASCADE,
    user_id  bigint NOT NULL,
    bias     real NOT NULL DEFAULT 0,
    factors  real[],
    PRIMARY KEY (model_id, user_id)
);

CREATE TABLE movierec.item_factors (
    model_id    bigint NOT NULL REFERENCES movierec.models ON DELETE CASCADE,
    movie_id    bigint NOT NULL,
    bias        real NOT NULL DEFAULT 0,
    factors     real[],
    n_ratings   int NOT NULL DEFAULT 0,
    mean_rating real,
    PRIMARY KEY (model_id, movie_id)
);
COMMENT ON COLUMN movierec.item_factors.n_ratings IS 'Training ratings of the movie (popularity).';

SELECT pg_catalog.pg_extension_config_dump('movierec.models', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.models_model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.user_factors', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.item_factors', '');
