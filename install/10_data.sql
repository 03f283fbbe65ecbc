-- Data: the catalogue and the ratings.

CREATE TABLE movierec.movies (
    movie_id bigint PRIMARY KEY CHECK (movie_id > 0),
    title    text NOT NULL,
    year     int CHECK (year BETWEEN 1800 AND 2200),
    genres   text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE movierec.movies IS 'The movie catalogue; year is parsed from the title.';

CREATE TABLE movierec.ratings (
    user_id  bigint NOT NULL CHECK (user_id > 0),
    movie_id bigint NOT NULL CHECK (movie_id > 0),
    rating   real NOT NULL
             CONSTRAINT ratings_rating_check
             CHECK (rating <> 'NaN' AND rating >= 0.5 AND rating <= 5),
    rated_at timestamptz,
    PRIMARY KEY (user_id, movie_id)
);
COMMENT ON TABLE movierec.ratings IS 'Explicit ratings on the 0.5 to 5 scale.';
CREATE INDEX ratings_movie_id_idx ON movierec.ratings (movie_id);

SELECT pg_catalog.pg_extension_config_dump('movierec.movies', '');
SELECT pg_catalog.pg_extension_config_dump('movierec.ratings', '');
