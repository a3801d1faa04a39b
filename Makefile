# metastore: PostgreSQL extension (PGXS) plus the developer entry points.
#
#   make run    install what is missing, build, start a local cluster with demo data
#   make stop   stop it
#   make test   everything, from scratch, against a throwaway cluster
#   make bench  run the benchmarks under bench/
#
# PGXS is included only when the server headers are installed, so that
# `make run` / `make test` work on a fresh machine (they install them first).

PG_MAJOR   ?= 15
PG_CONFIG  ?= /usr/lib/postgresql/$(PG_MAJOR)/bin/pg_config

EXTENSION   = metastore
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" metastore.control)
MODULE_big  = metastore
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA_built  = metastore--$(EXTVERSION).sql
# pg_regress tests are sql/<name>.sql; install-script parts live in sql/install/
REGRESS     = $(sort $(patsubst sql/%.sql,%,$(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=metastore
EXTRA_CLEAN = results regression.diffs regression.out build
SHLIB_LINK  = -lsodium

# Warnings are errors.  PostgreSQL's own headers trip -Wunused-parameter and
# -Wsign-compare / -Wmissing-field-initializers under -Wextra, so those three
# are turned back off; everything else in -Wall -Wextra stays fatal.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers -std=gnu11
# Bitcode for the JIT would need clang-14; the JIT gains nothing on our functions.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
all install installcheck clean:
	@echo "PostgreSQL $(PG_MAJOR) server headers are missing: run 'make run' or 'make test' (they install them), or scripts/deps.sh" >&2; exit 1
endif

metastore--$(EXTVERSION).sql: $(sort $(wildcard sql/install/*.sql)) metastore.control
	cat $(sort $(wildcard sql/install/*.sql)) > $@

# the HTTP shim is built with the extension
ifneq ($(wildcard $(PGXS)),)
all: shim
clean: shim-clean
endif
.PHONY: shim shim-clean
shim:
	$(MAKE) -C http-shim
shim-clean:
	$(MAKE) -C http-shim clean

.PHONY: run stop test bench deps
deps:
	@scripts/deps.sh
run:
	@scripts/run.sh
stop:
	@scripts/stop.sh
test:
	@scripts/test.sh
bench:
	@scripts/bench.sh
