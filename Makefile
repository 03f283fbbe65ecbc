# movierec: PGXS build.
#
# The install script is built from the ordered parts in install/ (never edit
# movierec--$(EXTVERSION).sql by hand).  Every C file in src/ is part of the
# module.  OpenBLAS is opened at run time by src/blas.c (see the comment
# there for why), so only libdl and libm are linked here.

EXTENSION  = movierec
EXTVERSION = 0.1
MODULE_big = movierec
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA_built = movierec--$(EXTVERSION).sql
# -Wall -Wextra, less two checks that PostgreSQL's own headers and the fmgr
# calling convention trip (utils/array.h: sign-compare; every PG_FUNCTION_ARGS
# and callback that ignores an argument: unused-parameter).
PG_CPPFLAGS = -Isrc -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -O2
SHLIB_LINK = -ldl -lm -lpthread
EXTRA_CLEAN = test/unit/*.bin src/*.d

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# header dependencies (PGXS tracks none unless PostgreSQL was built with them)
override CPPFLAGS += -MMD -MP
-include $(OBJS:.o=.d)

movierec--$(EXTVERSION).sql: $(sort $(wildcard install/*.sql))
	cat $^ > $@

.PHONY: test demo stop deps
# The README's test command: installs missing packages, builds, installs,
# runs every suite against a throwaway cluster, prints "N passed, N failed".
test:
	bash test/run

# The README's main job: a local cluster with MovieLens loaded and a model.
demo:
	bash scripts/demo.sh

stop:
	bash scripts/demo.sh stop

deps:
	bash scripts/deps.sh
