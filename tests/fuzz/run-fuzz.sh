#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build and briefly run libFuzzer harnesses.
#
#   OUT=.output/release FUZZ_OUT=.output/fuzz sh tests/fuzz/run-fuzz.sh \
#       tests/fuzz/fuzz_*.c
#
# Each harness tests/fuzz/fuzz_X.c names the sources it needs on a line
#   // fuzz-sources: agent/config.c agent/log.c
# A listed .c or .S file is compiled along with the harness; a listed .o
# is taken as is if the path exists, else from $OUT/obj/ (so
# "default_config.o" means $OUT/obj/default_config.o, built by make).
# The harness runs for FUZZ_SECONDS (default 20; 0 only replays the
# corpus) on a copy of tests/fuzz/corpus/X/ under $FUZZ_OUT, so the tree
# is never modified.  Crash inputs are kept as $FUZZ_OUT/fuzz_X-crash-*.
# Exits non-zero if any harness fails to build, crashes, leaks or hangs
# (FUZZ_TIMEOUT seconds per input, default 10).
#
# Environment: OUT, FUZZ_OUT, FUZZ_SECONDS, FUZZ_TIMEOUT, CLANG.

set -u

OUT=${OUT:-.output/release}
FUZZ_OUT=${FUZZ_OUT:-.output/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
CLANG=${CLANG:-clang}

if [ $# -eq 0 ]; then
	echo "usage: run-fuzz.sh tests/fuzz/fuzz_X.c..." >&2
	exit 2
fi
case $FUZZ_SECONDS in
'' | *[!0-9]*)
	echo "run-fuzz: FUZZ_SECONDS must be a number of seconds, got '$FUZZ_SECONDS'" >&2
	exit 2
	;;
esac

if ! LIBS=$(pkg-config --libs yaml-0.1 libcjson zlib); then
	echo "run-fuzz: pkg-config cannot find yaml-0.1, libcjson or zlib (run 'make deps')" >&2
	exit 1
fi
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
-D_GNU_SOURCE -Iagent -Iexporters -Ibpf -isystem $OUT"

mkdir -p "$FUZZ_OUT" || exit 1
failed=""

for harness in "$@"; do
	base=$(basename "$harness" .c)
	name=${base#fuzz_}
	bin=$FUZZ_OUT/$base
	log=$FUZZ_OUT/$base.log

	if [ ! -f "$harness" ]; then
		echo "run-fuzz: $harness: no such file" >&2
		failed="$failed $base"
		continue
	fi

	# sources named on "fuzz-sources:" lines; .o files resolved
	srcs=""
	missing=0
	# shellcheck disable=SC2013 # words, not lines, are wanted
	for s in $(sed -n 's/^.*fuzz-sources:[[:space:]]*//p' "$harness"); do
		case $s in
		*.o)
			[ -f "$s" ] || s=$OUT/obj/$(basename "$s")
			if [ ! -f "$s" ]; then
				echo "run-fuzz: $base: $s not found (build it with make first)" >&2
				missing=1
			fi
			;;
		esac
		srcs="$srcs $s"
	done
	if [ "$missing" -ne 0 ]; then
		failed="$failed $base"
		continue
	fi

	echo "  FUZZ-CC  $bin ($harness$srcs)"
	# $CFLAGS, $srcs and $LIBS are word lists: split on purpose
	# shellcheck disable=SC2086
	if ! $CLANG $CFLAGS "$harness" $srcs $LIBS -lm -o "$bin"; then
		echo "run-fuzz: $base: build failed" >&2
		failed="$failed $base"
		continue
	fi

	# work on a copy of the seed corpus: new inputs land there
	corpus=$FUZZ_OUT/corpus/$name
	seeds=$(dirname "$harness")/corpus/$name
	rm -rf "$corpus"
	mkdir -p "$corpus" || exit 1
	if [ -d "$seeds" ]; then
		cp -R "$seeds/." "$corpus/"
	else
		echo "run-fuzz: $base: no seed corpus in $seeds, starting empty" >&2
	fi
	nseeds=$(find "$corpus" -type f | wc -l)

	if [ "$FUZZ_SECONDS" -eq 0 ]; then
		echo "  FUZZ     $base: replaying $nseeds seed inputs, log $log"
		"$bin" -runs=0 -timeout="$FUZZ_TIMEOUT" \
			-artifact_prefix="$FUZZ_OUT/$base-" -print_final_stats=1 \
			"$corpus" >"$log" 2>&1
		status=$?
	else
		echo "  FUZZ     $base: ${FUZZ_SECONDS}s on $corpus ($nseeds seeds), log $log"
		"$bin" -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" \
			-artifact_prefix="$FUZZ_OUT/$base-" -print_final_stats=1 \
			"$corpus" >"$log" 2>&1
		status=$?
	fi

	if [ "$status" -ne 0 ]; then
		echo "run-fuzz: $base: failed (exit $status), end of $log:" >&2
		tail -n 40 "$log" >&2
		failed="$failed $base"
		continue
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log")
	echo "  FUZZ     $base: ok, ${runs:-$nseeds} inputs run," \
		"corpus now $(find "$corpus" -type f | wc -l) files"
done

if [ -n "$failed" ]; then
	echo "run-fuzz: FAILED:$failed" >&2
	exit 1
fi
echo "run-fuzz: all harnesses passed"
