#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `bpfwatch leaks` end to end on the leaker workload (tests/workloads/
# leaker.c): the tracer attaches, the workload makes its known outstanding
# allocations among heavy churn, and the report must name leak_a..leak_e
# with their exact bytes and counts (sampling off), must not show the
# churn, must parse as JSON and as folded stacks, must estimate within the
# stated sampling error with sampling on, and must end by itself when the
# process exits.  Needs root.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
LEAKER=$(realpath "$OUT/workloads/leaker")
TMP=$(mktemp -d /tmp/bpfwatch-leaks.XXXXXX)
LPID=""
BPID=""
fails=0
cleanup() {
	[ -n "$BPID" ] && kill "$BPID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	exec 3>&- 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

# An ASan build of the leaker allocates through libasan's interceptors,
# not libc: trace those (--lib), and let the failing mallocs return NULL.
LIBARGS=()
ASANLIB=$(ldd "$LEAKER" 2>/dev/null | awk '/libasan/ { print $1; exit }')
[ -n "$ASANLIB" ] && LIBARGS=(--lib "$ASANLIB")
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1

wait_grep() {	# wait_grep PATTERN FILE SECONDS
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -q "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# run_leaks NAME [--end exit|int] ARGS...: start the leaker waiting, attach
# `bpfwatch leaks ARGS` to it, release it, wait for "ready", then end the
# trace with Ctrl-C (int) or by killing the leaker (exit).  Output in
# $TMP/NAME.out (stdout) and $TMP/NAME.err.
run_leaks() {
	local name=$1 end=int
	shift
	if [ "$1" = --end ]; then
		end=$2
		shift 2
	fi
	rm -f "$TMP/go"
	mkfifo "$TMP/go"
	"$LEAKER" -w <"$TMP/go" >"$TMP/$name.leaker" 2>&1 &
	LPID=$!
	exec 3>"$TMP/go"
	wait_grep "leaker: pid" "$TMP/$name.leaker" 10 || return 1
	"$BIN" leaks --pid "$LPID" --duration 300s "${LIBARGS[@]}" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	BPID=$!
	if ! wait_grep "^tracing pid" "$TMP/$name.err" 30; then
		cat "$TMP/$name.err" >&2
		return 1
	fi
	echo go >&3
	exec 3>&-
	wait_grep "leaker: ready" "$TMP/$name.leaker" 240 || return 1
	sleep 1.5	# older than --min-age 1s
	if [ "$end" = exit ]; then
		kill "$LPID"
	else
		kill -INT "$BPID"
	fi
	wait "$BPID"
	local rc=$?
	BPID=""
	kill "$LPID" 2>/dev/null
	wait "$LPID" 2>/dev/null
	LPID=""
	return $rc
}

# ---- exact: sampling off, JSON --------------------------------------------------
check "leaks --format json exits 0 at Ctrl-C" \
	run_leaks exact --sample-bytes 0 --min-age 1s --format json --top 20
check "json output parses" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/exact.out"
check "start message states the cost per call" grep -q "^cost: every allocator call traps into the kernel" "$TMP/exact.err"

# Expected exact totals per function: bytes allocations.
cat > "$TMP/expect" <<'EOF2'
leak_a 409600 100
leak_b 3276800 50
leak_c 10485760 10
leak_d 1048576 4
leak_e 1000000 5
leak_f 20480000 40000
EOF2
# "FUNC bytes allocations" for each stack whose innermost frame is FUNC.
python3 - "$TMP/exact.out" >"$TMP/exact.got" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["stacks"]:
    f = s["frames"][0]["symbol"] if s["frames"] else None
    print(f, int(s["bytes"]), int(s["allocations"]))
EOF2
while read -r fn bytes count; do
	check "$fn: exactly $bytes bytes in $count allocations ($(grep "^$fn " "$TMP/exact.got" | tr '\n' ' '))" \
		grep -qx "$fn $bytes $count" "$TMP/exact.got"
done <"$TMP/expect"
check "six stacks, nothing else (no churn): $(tr '\n' '|' <"$TMP/exact.got")" \
	[ "$(wc -l <"$TMP/exact.got")" = 6 ]
check "churn functions absent" bash -c "! grep -q churn '$TMP/exact.out'"
check "frames carry the module path" grep -q "\"module\":[[:space:]]*\"$LEAKER\"" "$TMP/exact.out"
python3 - "$TMP/exact.out" >"$TMP/exact.cnt" <<'EOF2'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
print(c["allocations_failed"], c["stack_map_full"], c["evictions"], c["frees_unknown"])
EOF2
check "3 failed allocations counted, no stack/eviction/lost-free problems ($(cat "$TMP/exact.cnt"))" \
	grep -qx "3 0 0 0" "$TMP/exact.cnt"

# ---- table, ended by the process exiting ----------------------------------------
check "leaks (table) ends by itself when the process exits" \
	run_leaks table --end exit --sample-bytes 0 --min-age 1s --top 3
check "says the process exited" grep -q "exited" "$TMP/table.err"
check "table: top 3 shown" [ "$(grep -c '^#[0-9]' "$TMP/table.out")" = 3 ]
check "table: largest first is leak_f, 20480000 B in 40000 allocations" \
	bash -c "grep -A1 '^#1 ' '$TMP/table.out' | grep -q 'leak_f+0x' && grep -q '^#1 .*(20480000 B) in 40000 allocations' '$TMP/table.out'"
check "table: second is leak_c, 10485760 B in 10 allocations" \
	bash -c "grep -A1 '^#2 ' '$TMP/table.out' | grep -q 'leak_c+0x' && grep -q '^#2 .*(10485760 B) in 10 allocations' '$TMP/table.out'"
check "table: counters line" grep -q "^counters: .* stack map full 0, evictions 0" "$TMP/table.out"

# ---- folded, sampling on -------------------------------------------------------------
check "leaks --format folded with sampling exits 0" \
	run_leaks folded --sample-bytes 16KiB --min-age 1s --format folded
check "folded lines are 'frame;frame;... bytes'" \
	bash -c "[ -s '$TMP/folded.out' ] && ! grep -vqE '^[^ ;]+(;[^ ;]+)+ [0-9]+$' '$TMP/folded.out'"
check "folded: no churn" bash -c "! grep -q churn '$TMP/folded.out'"
# Sampling error: leak_c (1 MiB >= 16 intervals) is always taken, exact;
# leak_b (64 KiB, p = 0.98) has a standard deviation of 2% of its total:
# allow 5 of them (10%); leak_a (4 KiB, p = 0.22) of 19%: it only has to
# be there.  The estimate is unbiased; these bounds fail once in ~10^6.
awk '{ n = split($1, f, ";"); b[f[n]] += $2 } END { for (k in b) print k, b[k] }' \
	"$TMP/folded.out" >"$TMP/folded.sum"
check "sampled leak_c exact ($(grep leak_c "$TMP/folded.sum"))" grep -qx "leak_c 10485760" "$TMP/folded.sum"
check "sampled leak_b within 10% of 3276800 ($(grep leak_b "$TMP/folded.sum"))" \
	awk '$1 == "leak_b" && $2 >= 2949120 && $2 <= 3604480 { ok = 1 } END { exit !ok }' "$TMP/folded.sum"
# leak_f: 40000 x 512 B, p = 1 - exp(-1/32) = 0.0308, about 1230 samples:
# a standard deviation of 2.8% of its total; allow 5 (14%).  This is the
# check that the 1/p weights are right: a wrong weight biases it far more.
check "sampled leak_f within 14% of 20480000 ($(grep leak_f "$TMP/folded.sum"))" \
	awk '$1 == "leak_f" && $2 >= 17612800 && $2 <= 23347200 { ok = 1 } END { exit !ok }' "$TMP/folded.sum"
check "sampled leak_a present, below 3x its bytes ($(grep leak_a "$TMP/folded.sum"))" \
	awk '$1 == "leak_a" && $2 > 0 && $2 <= 1228800 { ok = 1 } END { exit !ok }' "$TMP/folded.sum"
check "unsampled allocations counted" grep -qE "[1-9][0-9]* unsampled" "$TMP/folded.err"

# ---- bounds hit: tiny maps must be counted and warned about -------------------
check "leaks with --max-allocs 64 --max-stacks 2 exits 0" \
	run_leaks small --sample-bytes 0 --max-allocs 64 --max-stacks 2 --format json
python3 - "$TMP/small.out" >"$TMP/small.cnt" <<'EOF2'
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
print(max(c["evictions"], c["evicted_by_count"]) > 0, c["stack_map_full"] > 0)
EOF2
check "evictions and stack map full counted ($(cat "$TMP/small.cnt"))" grep -qx "True True" "$TMP/small.cnt"
check "eviction warning" grep -q "warning: the allocation map was full" "$TMP/small.err"
check "stack map warning" grep -q "warning: .* allocations have no stack" "$TMP/small.err"

check "folded with a one-stack map exits 0" \
	run_leaks nostack --sample-bytes 0 --max-stacks 1 --min-age 1s --format folded
check "folded: stackless allocations on a [no_stack] line, format kept" \
	bash -c "grep -q ';\[no_stack\] [0-9]*$' '$TMP/nostack.out' && ! grep -vqE '^[^ ;]+(;[^ ;]+)+ [0-9]+$' '$TMP/nostack.out'"

# ---- bad input ---------------------------------------------------------------------
out=$("$BIN" leaks --pid 999999999 2>&1)
check "invalid pid rejected ($out)" [ $? = 2 ]
out=$("$BIN" leaks --pid 1 --format xml 2>&1)
check "bad format rejected ($out)" [ $? = 2 ]
out=$("$BIN" leaks --pid 1 --sample-bytes 12parsecs 2>&1)
check "bad size rejected ($out)" [ $? = 2 ]
out=$("$BIN" leaks --pid 1 --max-stacks 70000 2>&1)
check "too many stacks rejected ($out)" [ $? = 2 ]
out=$("$BIN" leaks --pid $$ --lib libnosuchalloc.so.9 --duration 1s 2>&1)
check "missing allocator library reported ($out)" \
	bash -c "[ $? = 1 ] && echo '$out' | grep -q 'libnosuchalloc.so.9'"

echo "e2e_leaks: $fails failure(s)"
[ "$fails" = 0 ]
