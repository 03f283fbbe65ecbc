-- Build information.

CREATE FUNCTION movierec.build_info() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'movierec_build_info'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION movierec.build_info() IS
    'Extension version, BLAS library, its core (kernel set) and thread count.';
