-- build_info reports the version and a fast OpenBLAS kernel set.
SET search_path TO movierec, public;
SELECT build_info()->>'version' AS version;
SELECT build_info() ?& ARRAY['blas_library', 'blas_core', 'blas_threads', 'blas_config'] AS has_keys;
-- Debian's OpenBLAS falls back to Prescott on CPUs it does not know;
-- movierec must pick the kernels from CPUID instead.
SELECT build_info()->>'blas_core' <> 'Prescott' AS fast_kernels;
SELECT build_info()->>'blas_coretype_source' IN ('cpuid', 'environment') AS coretype_chosen;
SELECT (build_info()->>'blas_threads')::int = current_setting('movierec.blas_threads')::int AS threads_follow_guc;
SELECT build_info()->>'blas_library' LIKE '%openblas%' AS is_openblas;
SELECT (build_info()->>'preloaded')::boolean AS preloaded;
-- the movierec.* prefix is reserved: a typo is an error
SET movierec.no_such_setting = 1;
