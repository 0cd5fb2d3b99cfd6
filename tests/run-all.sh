#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Every test bpfwatch has, in order: unit tests (cmocka), probe tests (real
# BPF programs on this kernel, as root), end-to-end tests (the real agent
# scraped and checked by promtool), the same under ASan + UBSan, and a
# short fuzzing run.
#
# Probe and end-to-end tests need root and a BPF-capable kernel.  They are
# never skipped silently: without root this script fails, unless
# BPFWATCH_ALLOW_SKIP=1 is set (for developers without root), in which case
# it says loudly what it skipped.
set -u
OUT=${OUT:-.output/release}
export OUT
status=0
summary=""

run() {
	name=$1; shift
	echo
	echo "######## $name"
	if "$@"; then
		summary="$summary\n  PASS  $name"
	else
		summary="$summary\n  FAIL  $name"
		status=1
	fi
}

run "unit tests" sh tests/run-unit.sh "$OUT"/tests/test_*
run "rules conformance" sh tests/rules/run-conformance.sh

if [ "$(id -u)" != 0 ]; then
	if [ "${BPFWATCH_ALLOW_SKIP:-0}" = 1 ]; then
		summary="$summary\n  SKIP  probe and end-to-end tests: not root (BPFWATCH_ALLOW_SKIP=1)"
	else
		summary="$summary\n  FAIL  probe and end-to-end tests need root (set BPFWATCH_ALLOW_SKIP=1 to skip them knowingly)"
		status=1
	fi
else
	for t in "$OUT"/tests/probe_*; do
		[ -x "$t" ] || continue
		run "probe: $(basename "$t")" "$t"
	done
	for t in tests/e2e/e2e_*.sh; do
		run "e2e: $(basename "$t")" bash "$t"
	done
fi

# The same agent built with ASan + UBSan: unit tests and the end-to-end run
# (a leak or undefined behaviour makes the agent exit non-zero).
if [ -n "${ASAN_OUT:-}" ] && [ -x "$ASAN_OUT/bpfwatch" ]; then
	run "unit tests (asan)" sh tests/run-unit.sh "$ASAN_OUT"/tests/test_*
	if [ "$(id -u)" = 0 ]; then
		run "e2e (asan): e2e_metrics.sh" env OUT="$ASAN_OUT" bash tests/e2e/e2e_metrics.sh
	fi
fi

run "fuzz (short)" env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" make --no-print-directory fuzz

printf "\n######## summary$summary\n"
[ $status = 0 ] && echo "all tests passed" || echo "some tests FAILED"
exit $status
