# vmscope — one non-recursive build.
#
#   make            build libraries and programs into build/
#   make check      install missing Debian packages (as root), build, run every test
#   make demo       the same set-up, then run the demo guest
#   make bench      benchmarks, side by side with QEMU when it is installed
#   make install    PREFIX=/usr/local DESTDIR=
#   make V=1        full command lines;  make SANITIZE=1  ASan+UBSan build (in build-san/)
#   make WERROR=0   warnings stay warnings
#
# Each folder adds itself through its Makefile.inc (explicit file lists, no wildcards).

.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

V ?= 0
ifeq ($(V),1)
Q :=
E := @true
else
Q := @
E := @printf '  %-6s %s\n'
endif

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
B ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B ?= build
SANFLAGS :=
endif

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
WERROR  ?= 1
OPT     ?= -O2

WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter -Werror=unused-result -Wvla
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
# gcc-only warning switches, empty under clang (CC=clang must keep building).
CC_IS_CLANG := $(findstring clang,$(shell $(CC) --version 2>/dev/null))
NO_FORMAT_TRUNCATION := $(if $(CC_IS_CLANG),,-Wno-format-truncation)

CPPFLAGS := -I. -I$(B)/gen -D_GNU_SOURCE
CFLAGS   := -std=gnu11 -g $(OPT) $(WARNINGS) $(SANFLAGS) -MMD -MP -pthread
LDFLAGS  := $(SANFLAGS) -pthread
LDLIBS   :=

# Filled in by the fragments.
LIBS        :=   # build/libNAME.a, in link order (users before what they use)
PROGRAMS    :=   # build/NAME
UNIT_TESTS  :=   # cmocka binaries, run by make check
INTEG_TESTS :=   # executables/scripts: exit 0 pass, 77 skip (reason on stdout), else fail
BENCHES     :=   # scripts/binaries run by make bench
MANPAGES    :=   # man/NAME.N
DEB_PKGS    :=   # Debian packages the build and the tests need
CHECK_DEPS  :=   # extra things make check builds first (guests, fixtures)
GEN_HEADERS :=   # generated headers every object may include
CLEAN_EXTRA :=
SAN_TESTS   :=   # integration tests also run under SANITIZE=1 check-sanitize
BENCH_DEPS  :=
FUZZERS     :=   # libFuzzer binaries (clang -fsanitize=fuzzer): make fuzz runs each FUZZ_TIME seconds
FUZZ_TIME   ?= 60

# libFuzzer builds: clang only. Fragments compile their own sources into the fuzzer binary.
CLANG       ?= clang
HAVE_CLANG  := $(shell command -v $(CLANG) >/dev/null 2>&1 && echo 1)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -I. -I$(B)/gen -D_GNU_SOURCE -pthread -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined

DEB_PKGS += build-essential libcmocka-dev qemu-system-x86 gdb mandoc python3 tmux

# Fragments call $(eval $(call library,NAME)): defined before they are included.
# A library: $(B)/libNAME.a from NAME_OBJS.
define library
$(B)/lib$(1).a: $$($(1)_OBJS)
	@mkdir -p $$(@D)
	$$(E) AR $$@
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
endef

include emu/Makefile.inc
include gdbstub/Makefile.inc
include tracing/Makefile.inc
include debugfs/Makefile.inc
include kvmstat/Makefile.inc
include tools/Makefile.inc
include vmscope/Makefile.inc
include tests/Makefile.inc
include bench/Makefile.inc
include man/Makefile.inc

LINK_LIBS = -Wl,--start-group $(LIBS) -Wl,--end-group $(LDLIBS)

# ---- generic rules -------------------------------------------------------
$(B)/%.o: %.c | $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Objects of a program whose folder has the program's name (vmscope/ → build/vmscope) live
# under $(B)/prog/ so the program path stays free.
$(B)/prog/%.o: %.c | $(GEN_HEADERS)
	@mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/%.o: %.S
	@mkdir -p $(@D)
	$(E) AS $<
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<


# A unit test: $(B)/tests/unit/NAME from tests/unit/NAME.c and every library.
$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIBS)
	$(E) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) -lcmocka

all: $(LIBS) $(PROGRAMS)

# ---- dependencies (Debian) -----------------------------------------------
.PHONY: deps
deps:
	@missing=$$(for p in $(sort $(DEB_PKGS)); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	    echo "deps: missing Debian packages; run as root:"; \
	    echo "  apt-get install $$missing"; exit 1; \
	fi

# ---- tests ----------------------------------------------------------------
.PHONY: check check-build check-headers
check-build: $(LIBS) $(PROGRAMS) $(UNIT_TESTS) $(INTEG_TESTS) $(CHECK_DEPS)

check: deps
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)$(MAKE) --no-print-directory check-headers
	$(Q)B=$(B) tests/run-tests $(UNIT_TESTS) $(INTEG_TESTS)

# The unit tests (and SAN_TESTS, integration tests cheap enough) under ASan+UBSan: make SANITIZE=1 check-sanitize

.PHONY: check-sanitize
check-sanitize: deps
	$(Q)$(MAKE) --no-print-directory $(UNIT_TESTS) $(SAN_TESTS) $(PROGRAMS) $(CHECK_DEPS)
	$(Q)B=$(B) ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    tests/run-tests $(UNIT_TESTS) $(SAN_TESTS)

# Every public header compiles on its own.
HEADERS_TO_CHECK = $(filter-out %-local.h,$(wildcard */*.h emu/*/*.h))
check-headers: | $(GEN_HEADERS)
	$(Q)for h in $(HEADERS_TO_CHECK); do \
	    echo "#include \"$$h\"" | $(CC) $(CPPFLAGS) -std=gnu11 -Wall -Wextra -Werror -fsyntax-only -x c - \
	    || { echo "check-headers: $$h does not compile alone"; exit 1; }; done

# make fuzz: every fuzzer for FUZZ_TIME seconds, with its corpus in $(B)/fuzz/corpus-NAME and the
# extra arguments (dictionary, limits) in $(B)/fuzz/NAME.args when it has them.
.PHONY: fuzz
fuzz: $(FUZZERS)
	$(Q)for f in $(FUZZERS); do mkdir -p $(B)/fuzz/corpus-$$(basename $$f); echo "fuzz: $$f for $(FUZZ_TIME) s"; \
	    $$f -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 $$(cat $$f.args 2>/dev/null) \
	        $(B)/fuzz/corpus-$$(basename $$f) || exit 1; done

.PHONY: bench demo install clean
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(CHECK_DEPS) $(BENCH_DEPS)
	$(Q)for b in $(BENCHES); do B=$(B) $$b || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MANPAGES); do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

clean:
	rm -rf build build-san $(CLEAN_EXTRA)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
