#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Overhead budget through the agent: a uprobe on a function called in a
# tight loop costs far more than a 1% budget, so the agent samples or
# suspends it, says so in the log and in bpfwatch_probe_state, keeps what
# was aggregated, and makes it active again once the load is gone; a slow
# function with a generous budget of its own stays active throughout.
# Asserts on states and ratios, never on how fast anything ran.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
FUNCS=$(realpath "$OUT/workloads/funcs")
PORT=${E2E_PORT:-19483}
URL="http://127.0.0.1:$PORT"
TMP=$(mktemp -d /tmp/bpfwatch-budget.XXXXXX)
AGENT=""
HOT=""
SLOW=""
fails=0
cleanup() {
	for pid in $HOT $SLOW $AGENT; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

cat > "$TMP/bpfwatch.yml" <<EOF
global:
  collection_interval: 1s
  overhead_budget: 1%
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
probes:
  runqueue_latency: { enabled: false }
  block_io_latency: { enabled: false }
  functions:
    - binary: $FUNCS
      symbol: bw_hot
    - binary: $FUNCS
      symbol: bw_sleep_1ms
      overhead_budget: 1.0
EOF
out=$("$BIN" check config "$TMP/bpfwatch.yml" 2>&1)
check "config with overhead budgets is valid ($out)" [ $? = 0 ]

scrape() {
	curl -s "$URL/metrics" > "$TMP/m"
}
# value METRIC{LABELS}: the sample's value, empty if absent
value() {
	awk -v s="$1" 'index($0, s " ") == 1 { print $2 }' "$TMP/m"
}
state_of() {	# state_of FUNCTION: the state whose gauge is 1
	sed -n "s/^bpfwatch_probe_state{probe=\"functions\",function=\"$1\",state=\"\([a-z]*\)\"} 1$/\1/p" "$TMP/m"
}
# wait_state FUNCTION SECONDS REGEX: until its state matches
wait_state() {
	local i
	for i in $(seq 1 "$2"); do
		scrape
		state_of "$1" | grep -Eqx "$3" && return 0
		sleep 1
	done
	return 1
}

"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready" wait_http "$URL/-/ready" 30
check "uprobe cost calibrated and logged once" \
	test "$(grep -c 'functions: uprobe costs [0-9.]* us per hit here' "$TMP/agent.log")" = 1
scrape
H="function=\"bw_hot\",binary=\"$FUNCS\""
S="function=\"bw_sleep_1ms\",binary=\"$FUNCS\""
check "per-hit cost exported" grep -Eq '^bpfwatch_uprobe_trap_seconds\{insn="(push|other)"\} [0-9.e-]+$' "$TMP/m"
check "both entries start active" \
	test "$(state_of bw_hot) $(state_of bw_sleep_1ms)" = "active active"
check "budgets exported (1% global, 1.0 override)" \
	test "$(value "bpfwatch_function_overhead_budget{$H}") $(value "bpfwatch_function_overhead_budget{$S}")" = "0.01 1"

# Started after the agent: the slow function about 1000 times a second
# (a couple of % of a CPU in traps: over 1%, well under its own 1.0), the
# hot one as fast as it can.
"$FUNCS" -n bw-slow sleep1 30000 >/dev/null &
SLOW=$!
"$FUNCS" -n bw-hot hotsec 120 >/dev/null &
HOT=$!
check "hot function sampled or suspended within a few ticks" wait_state bw_hot 15 'sampled|suspended'
st=$(state_of bw_hot)
ratio=$(value "bpfwatch_function_sample_ratio{$H}")
if [ "$st" = sampled ]; then
	check "sampled: ratio $ratio in [0.01, 1)" \
		awk -v r="$ratio" 'BEGIN { exit !(r >= 0.01 && r < 1) }'
else
	check "suspended: ratio $ratio is 0" test "$ratio" = 0
fi
check "exactly one state of bw_hot is 1" \
	test "$(grep -c "^bpfwatch_probe_state{probe=\"functions\",function=\"bw_hot\",state=\"[a-z]*\"} 1$" "$TMP/m")" = 1
check "the state change is logged" \
	grep -Eq "function bw_hot: cost [0-9.]+% of a CPU exceeds its 1% budget(: sampling [0-9]+% of the time| even sampled 1% of the time: suspended)" "$TMP/agent.log"
check "hot function: estimated overhead counted" \
	awk -v v="$(value "bpfwatch_function_overhead_seconds_total{$H}")" 'BEGIN { exit !(v > 0) }'
calls0=$(value "bpfwatch_function_calls_total{$H,comm=\"bw-hot\",container=\"\"}")
check "hot function: calls observed before the change are kept ($calls0)" \
	awk -v v="$calls0" 'BEGIN { exit !(v > 0) }'

# The slow function, under its own budget, keeps running at full rate.
sleep 3
scrape
check "slow function stays active with its generous budget" test "$(state_of bw_sleep_1ms)" = active
check "slow function: sample ratio 1" test "$(value "bpfwatch_function_sample_ratio{$S}")" = 1
check "slow function: calls counted" \
	awk -v v="$(value "bpfwatch_function_calls_total{$S,comm=\"bw-slow\",container=\"\"}")" 'BEGIN { exit !(v > 100) }'
check "slow function: its overhead is counted too" \
	awk -v v="$(value "bpfwatch_function_overhead_seconds_total{$S}")" 'BEGIN { exit !(v > 0) }'
check "hot function: its counts never go backwards" \
	awk -v a="$calls0" -v b="$(value "bpfwatch_function_calls_total{$H,comm=\"bw-hot\",container=\"\"}")" 'BEGIN { exit !(b >= a) }'
out=$(promtool check metrics < "$TMP/m" 2>&1)
check "promtool check metrics passes $out" [ $? = 0 ]

# Load gone: back to active after calm estimates (suspended entries are
# measured again within 30 s, sampled ones every duty cycle).
kill "$HOT"; wait "$HOT" 2>/dev/null; HOT=""
check "hot function active again once idle" wait_state bw_hot 90 active
check "the return is logged" \
	grep -Eq "function bw_hot: cost [0-9.]+% of a CPU is within its 1% budget again \(was (sampled|suspended)\): active" "$TMP/agent.log"
check "hot function: ratio 1 again" test "$(value "bpfwatch_function_sample_ratio{$H}")" = 1
check "hot function: aggregated calls survived the state changes" \
	awk -v a="$calls0" -v b="$(value "bpfwatch_function_calls_total{$H,comm=\"bw-hot\",container=\"\"}")" 'BEGIN { exit !(b >= a) }'
check "slow function was never sampled" \
	bash -c '! grep -q "function bw_sleep_1ms: cost" "$1"' _ "$TMP/agent.log"

kill "$SLOW" 2>/dev/null; wait "$SLOW" 2>/dev/null; SLOW=""
kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0" [ $rc = 0 ]
if [ $fails != 0 ]; then
	grep -v '^$' "$TMP/agent.log"
	grep -E 'bpfwatch_(probe_state|function_(sample_ratio|overhead|calls))' "$TMP/m"
	exit 1
fi
echo "all budget checks passed"
