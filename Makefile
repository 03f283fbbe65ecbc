# movierec: PGXS build.
#
# Install and upgrade scripts are built from the ordered parts in install/
# (never edit movierec--*.sql by hand):
#   movierec--$(EXTVERSION).sql  every part, in file-name order;
#   movierec--0.1--0.2.sql       the parts whose first line is "-- since 0.2",
#                                in the same order.
# A part new in 0.2 says "-- since 0.2" on its first line.  A 0.1 object that
# 0.2 changes moves out of its 0.1 part into a 0.2 part, written so that it
# both creates and replaces (CREATE OR REPLACE, or DROP ... IF EXISTS first):
# one copy of every statement, and ALTER EXTENSION movierec UPDATE always works.
#
# Every C file in src/ and src/kernels/ is part of the module.  src/kernels/
# holds the plain-C numerical core (no PostgreSQL header; test/run checks).
# OpenBLAS is opened at run time by src/kernels/blas.c (see the comment
# there for why), so only libdl and libm are linked here.  No -march flag:
# the SIMD variants are chosen at run time.

EXTENSION  = movierec
EXTVERSION = 0.2
MODULE_big = movierec
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c) $(wildcard src/kernels/*.c)))
PARTS      = $(sort $(wildcard install/*.sql))
PARTS_0_2  = $(shell grep -l -m1 '^-- since 0.2' $(PARTS) /dev/null)
DATA_built = movierec--$(EXTVERSION).sql movierec--0.1--0.2.sql
# -Wall -Wextra, less two checks that PostgreSQL's own headers and the fmgr
# calling convention trip (utils/array.h: sign-compare; every PG_FUNCTION_ARGS
# and callback that ignores an argument: unused-parameter).
# -ffp-contract=off: a * b + c stays two roundings on every target (aarch64
# and FMA-enabled x86 code would otherwise fuse it), so the kernels give the
# same bits everywhere; fused multiply-adds are only the explicit fmaf() ones.
PG_CPPFLAGS = -Isrc -Isrc/kernels -Werror=implicit-function-declaration -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -O2 -ffp-contract=off
SHLIB_LINK = -ldl -lm -lpthread
EXTRA_CLEAN = test/unit/*.bin src/*.d src/kernels/*.d

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# header dependencies (PGXS tracks none unless PostgreSQL was built with them).
# Only for the .o files: the LLVM bitcode rule compiles the same sources to
# .bc with the same CPPFLAGS, and its NAME.d, naming only NAME.bc, would
# overwrite the object's and leave the .o stale after a header change.
$(OBJS): override CPPFLAGS += -MMD -MP
-include $(OBJS:.o=.d)

movierec--$(EXTVERSION).sql: $(PARTS)
	cat $^ > $@

movierec--0.1--0.2.sql: $(PARTS)
	{ printf '%s\n' '-- movierec upgrade 0.1 -> 0.2, built from the "since 0.2" parts of install/.' \
	    '\echo Use "ALTER EXTENSION movierec UPDATE" to load this file. \quit'; \
	  for p in $(PARTS_0_2); do cat $$p; done; } > $@

.PHONY: test demo stop deps check-valgrind
# The README's test command: installs missing packages, builds, installs,
# runs every suite against a throwaway cluster, prints "N passed, N failed".
test:
	bash test/run

# The README's main job: a local cluster with MovieLens loaded and a model.
demo:
	bash scripts/demo.sh

stop:
	bash scripts/demo.sh stop

# The pg_regress suite once with the server under valgrind memcheck.
check-valgrind:
	bash test/valgrind.sh

deps:
	bash scripts/deps.sh
