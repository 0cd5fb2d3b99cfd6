# SPDX-License-Identifier: GPL-2.0
#
# bpfwatch: one entry point.
#   make              build .output/<flavour>/bpfwatch
#   make run          install missing deps, build, run with the embedded config
#   make test         install missing deps, build, run every test
#   make check        unit tests only (no root needed)
#   make bench        in-kernel cost per event and agent CPU/RSS
#   make fuzz         build and briefly run the libFuzzer harnesses
#   make SANITIZE=1   ASan + UBSan build under .output/asan/
#   V=1               show commands

.DELETE_ON_ERROR:
.SUFFIXES:

ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
VMLINUX_ARCH := x86
BPF_TARGET_ARCH := x86
else
$(error unsupported architecture '$(ARCH)': generate vmlinux/<arch>/vmlinux.h with 'bpftool btf dump file /sys/kernel/btf/vmlinux format c' and map it in the Makefile)
endif

ifeq ($(SANITIZE),1)
FLAVOUR := asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
FLAVOUR := release
SAN_FLAGS :=
endif

OUT := .output/$(FLAVOUR)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS := libbpf libelf zlib libmicrohttpd libcjson yaml-0.1 libcurl
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
ALL_CFLAGS := $(CFLAGS) -std=gnu11 $(WARN) -MMD -MP $(SAN_FLAGS) \
	-D_GNU_SOURCE -DBPFWATCH_VERSION='"$(VERSION)"' \
	-Iagent -Iexporters -Ibpf -I$(OUT) $(PKG_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SAN_FLAGS)
LIBS := $(PKG_LIBS) -lcrypt -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_TARGET_ARCH) \
	-Wall -Werror -Werror=undef -MMD -MP \
	-Ivmlinux/$(VMLINUX_ARCH) -Ibpf -idirafter /usr/include/$(ARCH)-linux-gnu

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_NAMES := $(patsubst bpf/%.bpf.c,%,$(BPF_SRCS))
BPF_OBJS := $(patsubst %,$(OUT)/bpf/%.bpf.o,$(BPF_NAMES))
SKELS := $(patsubst %,$(OUT)/%.skel.h,$(BPF_NAMES))

AGENT_SRCS := $(filter-out agent/main.c,$(wildcard agent/*.c)) $(wildcard exporters/*.c)
AGENT_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(AGENT_SRCS)) \
	$(OUT)/obj/default_config.o $(OUT)/obj/syscall_names.o
LIB := $(OUT)/libbpfwatch.a
BIN := $(OUT)/bpfwatch

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_BINS := $(patsubst tests/workloads/%.c,$(OUT)/workloads/%,$(WORKLOAD_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

SYSCALL_HDR := $(firstword $(wildcard /usr/include/$(ARCH)-linux-gnu/asm/unistd_64.h /usr/include/asm/unistd_64.h))

.PHONY: all
all: $(BIN)

# Keep intermediate objects (BPF .o behind skeletons, test objects): make
# would otherwise delete them and rebuild everything next time.  A recipe
# that fails leaves no half-written target behind.
.SECONDARY:
.DELETE_ON_ERROR:

$(OUT) $(OUT)/bpf $(OUT)/obj/agent $(OUT)/obj/exporters $(OUT)/tests $(OUT)/workloads $(OUT)/bench:
	$(Q)mkdir -p $@

# --- BPF objects and skeletons -------------------------------------------
$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(OUT)/bpf/$*.bpf.d -MT $@ -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUT)/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# --- generated sources ----------------------------------------------------
$(OUT)/syscall_names.c: scripts/gen-syscalls.sh $(SYSCALL_HDR) | $(OUT)
	$(call msg,GEN,$@)
	$(Q)sh scripts/gen-syscalls.sh $(SYSCALL_HDR) > $@

$(OUT)/obj/syscall_names.o: $(OUT)/syscall_names.c | $(OUT)/obj/agent
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/obj/default_config.o: agent/default_config.S agent/default_config.yml | $(OUT)/obj/agent
	$(call msg,AS,$@)
	$(Q)$(CC) $(SAN_FLAGS) -c $< -o $@

# --- agent ----------------------------------------------------------------
# Every C object may include any skeleton; generate them all first.
$(OUT)/obj/%.o: %.c | $(SKELS) $(OUT)/obj/agent $(OUT)/obj/exporters
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(OUT)/obj/agent/main.o $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

# --- tests ----------------------------------------------------------------
$(OUT)/obj/tests/%.o: tests/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c $< -o $@

# Per-test link flags (e.g. -Wl,--wrap=) go in tests/unit/<test>.ldflags.
$(OUT)/tests/test_%: $(OUT)/obj/tests/unit/test_%.o $(LIB) | $(OUT)/tests
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $< $(LIB) $(shell cat tests/unit/test_$*.ldflags 2>/dev/null) $(LIBS) -lcmocka -o $@

$(OUT)/tests/probe_%: $(OUT)/obj/tests/probe/probe_%.o $(LIB) | $(OUT)/tests
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $< $(LIB) $(LIBS) -lcmocka -lpthread -o $@

$(OUT)/workloads/%: tests/workloads/%.c | $(OUT)/workloads
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -fno-omit-frame-pointer -std=gnu11 $(WARN) -D_GNU_SOURCE $(SAN_FLAGS) $< -lpthread -o $@

$(OUT)/bench/%: $(OUT)/obj/tests/bench/%.o $(LIB) | $(OUT)/bench
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $< $(LIB) $(LIBS) -lpthread -o $@

PROBE_BINS := $(patsubst tests/probe/%.c,$(OUT)/tests/%,$(wildcard tests/probe/probe_*.c))

# Integration drivers: small programs linked against the agent library
# that tests/e2e scripts run against real peers (e.g. notify_driver with
# a real Alertmanager).  Built by build-tests.
INTEG_BINS := $(patsubst tests/integration/%.c,$(OUT)/integration/%,$(wildcard tests/integration/*.c))
$(OUT)/integration/%: $(OUT)/obj/tests/integration/%.o $(LIB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) $< $(LIB) $(LIBS) -o $@

# --- test ELF files (tests/unit/test_symbolize.c) ---------------------------
# A PIE executable, a shared library and stripped copies of both, from one
# small source, with fixed build-ids the test checks.  Frame pointers and
# no sanitizers: they are inputs, not code under test.
TESTELF := $(OUT)/testelf
TESTELF_SRC := tests/testelf/testelf.c
TESTELF_CFLAGS := -O1 -g -std=gnu11 $(WARN) -D_GNU_SOURCE -fno-omit-frame-pointer
TESTELF_BINS := $(TESTELF)/testprog $(TESTELF)/testprog.stripped \
	$(TESTELF)/libtestelf.so $(TESTELF)/libtestelf-stripped.so

$(TESTELF):
	$(Q)mkdir -p $@

$(TESTELF)/testprog: $(TESTELF_SRC) | $(TESTELF)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TESTELF_CFLAGS) -fPIE -pie \
		-Wl,--build-id=0x7e57e1f0000000000000000000000000000000a1 $< -o $@

$(TESTELF)/libtestelf.so: $(TESTELF_SRC) | $(TESTELF)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TESTELF_CFLAGS) -DTESTELF_LIB -fPIC -shared \
		-Wl,--build-id=0x7e57e1f0000000000000000000000000000000b2 $< -o $@

$(TESTELF)/%.stripped: $(TESTELF)/%
	$(call msg,STRIP,$@)
	$(Q)strip --strip-all -o $@ $<

$(TESTELF)/libtestelf-stripped.so: $(TESTELF)/libtestelf.so
	$(call msg,STRIP,$@)
	$(Q)strip --strip-all -o $@ $<

.PHONY: deps
deps:
	$(Q)sh scripts/install-deps.sh --quiet-if-present

.PHONY: build-tests
build-tests: $(BIN) $(UNIT_BINS) $(PROBE_BINS) $(WORKLOAD_BINS) $(INTEG_BINS) \
	$(TESTELF_BINS)

.PHONY: check
check: $(UNIT_BINS) $(TESTELF_BINS)
	$(Q)sh tests/run-unit.sh $(UNIT_BINS)

.PHONY: test
test:
	$(Q)sh scripts/install-deps.sh --quiet-if-present
	$(Q)$(MAKE) --no-print-directory build-tests
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 build-tests
	$(Q)OUT=$(OUT) ASAN_OUT=.output/asan sh tests/run-all.sh

.PHONY: run
run:
	$(Q)sh scripts/install-deps.sh --quiet-if-present --build-only
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)mkdir -p state
	exec $(BIN) run --state-dir ./state

.PHONY: bench
bench:
	$(Q)sh scripts/install-deps.sh --quiet-if-present
	$(Q)$(MAKE) --no-print-directory $(BIN) $(BENCH_BINS) $(WORKLOAD_BINS) $(OUT)/bpf/empty.bpf.o
	$(Q)OUT=$(OUT) sh tests/bench/run-bench.sh

# libFuzzer harnesses: clang, ASan, linked against the agent sources.
FUZZ_OUT := .output/fuzz
.PHONY: fuzz
fuzz: $(SKELS) $(OUT)/obj/default_config.o
	$(Q)OUT=$(OUT) FUZZ_OUT=$(FUZZ_OUT) sh tests/fuzz/run-fuzz.sh $(FUZZ_SRCS)

.PHONY: clean
clean:
	$(Q)rm -rf .output

-include $(wildcard $(OUT)/bpf/*.d $(OUT)/obj/*/*.d $(OUT)/obj/*/*/*.d)
