# dagrun: `make` builds ./dagrun; `make test` builds and runs every test;
# `make run` runs the flagship pipeline; `make deps` installs Debian packages.

PKGS      := yaml-0.1 lua5.4 sqlite3 jansson libgit2 libcurl openblas libcrypto liblbfgs xgboost \
             libmicrohttpd
DEB_PKGS  := build-essential pkg-config libyaml-dev liblua5.4-dev libsqlite3-dev \
             sqlite3 libjansson-dev libgit2-dev libcurl4-openssl-dev \
             libopenblas-dev libssl-dev liblbfgs-dev libmicrohttpd-dev libxgboost-dev jq git
# Peers of the parity tests (tests/parity): skipped where they are missing.
TEST_DEB_PKGS := python3-numpy python3-pandas python3-torch python3-scipy python3-statsmodels python3-xgboost \
                 clang-14 libclang-rt-14-dev chromium wrk
PREFIX    ?= /usr/local
CC        ?= cc
OPT       ?= -O2
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -g $(WARN) -iquote engine -iquote tasks/lib $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lm -lpthread $(LDLIBS)
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

SRC       := $(sort $(wildcard engine/*.c) $(wildcard tasks/*.c) $(wildcard tasks/*/*.c))
LIB_SRC   := $(filter-out engine/main.c,$(SRC))
REL_OBJ   := $(SRC:%.c=build/rel/%.o)
ASAN_LIB  := $(LIB_SRC:%.c=build/asan/%.o)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)

.PHONY: all test unit integration run deps deps-build install clean bench check-deps docs fuzz

all: dagrun

dagrun: $(REL_OBJ)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS_ALL)

build/rel/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(OPT) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC [asan] $<"
	@$(CC) -O1 $(SAN) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

build/asan/dagrun: build/asan/engine/main.o $(ASAN_LIB)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS_ALL)

build/asan/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(ASAN_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD [asan] $@"
	@$(CC) -O1 $(SAN) $(CFLAGS_ALL) -iquote tests/unit -o $@ $< $(ASAN_LIB) $(LDLIBS_ALL)

# The test command: unit tests under ASan+UBSan, then integration tests
# against the real binary. The last line reads "N passed, N failed".
test: check-deps dagrun build/asan/dagrun $(UNIT_BIN)
	@tests/run.sh $(UNIT_BIN)

run: check-deps dagrun
	./dagrun pipelines/full.yaml && ./dagrun show last && \
	./dagrun report last -o state/report.html && ./dagrun models forecaster && \
	echo "results: state/report.html (open it in a browser), dagrun show last," && \
	echo "dagrun metrics last --rank rmse, dagrun models; predictions: dagrun show last predict"

# Installs the build and test dependencies on Debian (idempotent).
deps: deps-build
	@if dpkg -s $(TEST_DEB_PKGS) >/dev/null 2>&1; then echo "deps: test peers installed"; \
	else DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(TEST_DEB_PKGS); fi

deps-build:
	@if dpkg -s $(DEB_PKGS) >/dev/null 2>&1; then echo "deps: all installed"; \
	else DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); fi

check-deps:
	@pkg-config --exists $(PKGS) || $(MAKE) deps-build

install: dagrun
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/dagrun
	install -m 0755 dagrun $(DESTDIR)$(PREFIX)/bin/dagrun
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/dagrun/
	cp -r docs/. $(DESTDIR)$(PREFIX)/share/doc/dagrun/

# Fuzz each target for FUZZ_SECONDS (CI: 60) with libFuzzer (clang).
FUZZ_SECONDS ?= 60
fuzz: dagrun
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# docs/tasks.md is generated from the kernels' param schemas.
docs: dagrun
	./dagrun help --markdown > docs/tasks.md

bench: dagrun
	bench/run.sh

clean:
	rm -rf build dagrun

-include $(shell find build -name '*.d' 2>/dev/null)
