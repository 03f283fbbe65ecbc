#!/usr/bin/env bash
# The postmaster must not load OpenBLAS (its threads do not survive fork):
# movierec is preloaded, yet libopenblas is mapped only in backends that
# used it.
set -u
pm=$(head -1 "$MR_DATA_DIR/postmaster.pid")
"$BINDIR/psql" -qXAt -c "SELECT movierec.build_info()->>'blas_core'" >/dev/null || exit 1
if grep -q movierec "/proc/$pm/maps"; then echo "ok 1 - movierec is preloaded in the postmaster"; else echo "not ok 1 - movierec is preloaded in the postmaster"; fi
if grep -q libopenblas "/proc/$pm/maps"; then echo "not ok 2 - postmaster has not loaded OpenBLAS"; else echo "ok 2 - postmaster has not loaded OpenBLAS"; fi
th=$(awk '/^Threads:/ {print $2}' "/proc/$pm/status")
if [ "$th" = 1 ]; then echo "ok 3 - postmaster is single-threaded"; else echo "not ok 3 - postmaster has $th threads"; fi
# a backend that used BLAS reports the library in build_info
lib=$("$BINDIR/psql" -qXAt -c "SELECT movierec.build_info()->>'blas_library'")
case "$lib" in *openblas*) echo "ok 4 - backend bound $lib";; *) echo "not ok 4 - backend bound '$lib'";; esac
