# pg_steward — PGXS build.  The targets `test`, `demo` and `bench` are the
# self-starting harness: they install what is missing, build, install and run
# everything against throwaway servers (see test/run, test/demo, test/bench/run).

EXTENSION   = pg_steward
MODULE_big  = pg_steward
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*/*.c)))
DATA        = $(sort $(wildcard sql/pg_steward--*.sql))
STEWARD_HDRS = $(wildcard src/*/*.h)

# Prefer the PostgreSQL 15 pg_config; Debian's /usr/bin/pg_config picks the
# newest installed major version, which need not be 15.
PG_CONFIG ?= $(shell test -x /usr/lib/postgresql/15/bin/pg_config && echo /usr/lib/postgresql/15/bin/pg_config || echo pg_config)

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter

# `make installcheck` against a server you run yourself (needs the library
# preloaded for the metrics tests); `make test` is the self-contained variant.
REGRESS      = $(shell sed -nE 's/^regress: ([A-Za-z0-9_-]+)[[:space:]]*$$/\1/p' test/schedule)
REGRESS_OPTS = --inputdir=test --load-extension=pg_steward

EXTRA_CLEAN = results regression.diffs regression.out tmp_check log output_iso \
              test/bench/results

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(STEWARD_HDRS)

# The pg_steward program (cli/, a PGXS PROGRAM of its own: one Makefile
# cannot build a MODULE_big and a PROGRAM), built, installed into
# PostgreSQL's bindir and cleaned with the extension.
.PHONY: cli cli-install cli-clean
all: cli
install: cli-install
clean: cli-clean
cli:
	$(MAKE) -C cli PG_CONFIG=$(PG_CONFIG)
cli-install: cli
	$(MAKE) -C cli PG_CONFIG=$(PG_CONFIG) install
cli-clean:
	$(MAKE) -C cli PG_CONFIG=$(PG_CONFIG) clean

# The harness chooses the PostgreSQL to test against: PG_CONFIG when you
# give it (make test PG_CONFIG=/path/to/pg_config), else major PG (make test
# PG=18: an installed one, or an assertion build from source, cached), else
# Debian's 15.  It builds and installs into a private copy of that install.
ifneq ($(filter environment command,$(origin PG_CONFIG)),)
HARNESS_ENV = STEWARD_PG_CONFIG=$(PG_CONFIG)
endif
HARNESS_ENV += PG=$(PG)

.PHONY: test demo bench check-compile indent check-indent
test:
	@$(HARNESS_ENV) bash test/run $(SUITES)

demo:
	@$(HARNESS_ENV) KEEP=$(KEEP) bash test/demo

bench:
	@$(HARNESS_ENV) bash test/bench/run $(BENCH)

# Compile every source against another major's headers (make check-compile
# PG=17: the vendored Debian headers); links and installs nothing.
check-compile:
	@bash test/check-compile $(or $(PG),15)

# pgindent with pg_bsd_indent from the PostgreSQL 18 source (cached build)
# and typedefs.list; check-indent only reports (CI).
indent:
	@bash test/indent

check-indent:
	@bash test/indent --check
