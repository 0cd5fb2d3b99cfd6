#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench, part 3: what the overhead budget buys.  A hot loop
# (workloads/funcs hotsec: bw_hot(), which does nothing, called as fast as
# possible for N seconds) is run
#   untraced;
#   under the agent with bw_hot in probes.functions and the default 1%
#     budget, started with the agent: the first tick runs at full rate (the
#     agent needs one to estimate the cost), then sampled or suspended;
#   the same in steady state: started once the entry is already sampled
#     (a warm-up hot loop got it there and is stopped as the measured one
#     starts);
# and the calls it managed are compared.  Traced in full, every call costs
# a uprobe and a uretprobe: see part 1, "Uprobes end to end".  A benchmark:
# nothing fails on a figure.
#
# Environment: OUT, BENCH_BUDGET_SECONDS (default 20), BENCH_BUDGET_PORT
# (default 19479).
set -eu
OUT=${OUT:-.output/release}
SECS=${BENCH_BUDGET_SECONDS:-20}
PORT=${BENCH_BUDGET_PORT:-19479}
URL="http://127.0.0.1:$PORT"
FUNCS=$(realpath "$OUT/workloads/funcs")

die() {
	echo "bench_budget: $*" >&2
	exit 1
}
case $SECS in
''|*[!0-9]*|0) die "BENCH_BUDGET_SECONDS=$SECS: a whole number of seconds > 0" ;;
esac
[ -x "$FUNCS" ] && [ -x "$OUT/bpfwatch" ] || die "run 'make bench' (missing binaries in $OUT)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpfwatch-bench-budget.XXXXXX")
agent=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$agent" ]; then
		kill -TERM "$agent" 2>/dev/null || true
		wait "$agent" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# hot_calls: run the hot loop for $SECS s, print how many calls it made
hot_calls() {
	"$FUNCS" -n bw-bench-hot hotsec "$SECS" | awk '/hot calls/ { print $2 }'
}

# with_agent BUDGET: start the agent probing bw_hot with that budget
with_agent() {
	cat > "$tmp/bpfwatch.yml" <<YML
global:
  collection_interval: 1s
  overhead_budget: $1
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $tmp/state
probes:
  runqueue_latency: { enabled: false }
  block_io_latency: { enabled: false }
  functions:
    - binary: $FUNCS
      symbol: bw_hot
YML
	"$OUT/bpfwatch" run --config "$tmp/bpfwatch.yml" >"$tmp/agent.log" 2>&1 &
	agent=$!
	i=0
	until curl -sf -o /dev/null "$URL/-/ready"; do
		kill -0 "$agent" 2>/dev/null || { cat "$tmp/agent.log" >&2; agent=""; die "agent exited"; }
		i=$((i + 1))
		[ $i -le 300 ] || die "agent not ready after 30 s"
		sleep 0.1
	done
}


# state: the bw_hot state whose gauge is 1
state() {
	curl -sf "$URL/metrics" | sed -n 's/^bpfwatch_probe_state{probe="functions",function="bw_hot",state="\([a-z]*\)"} 1$/\1/p'
}

echo
echo "######## overhead budget: a hot loop untraced and under the default 1% budget"
echo "bench: 3 runs of ${SECS} s"
n0=$(hot_calls)
with_agent 1%
n1=$(hot_calls)
s1=$(curl -sf "$URL/metrics" | grep -E '^bpfwatch_(probe_state\{.*\} 1|function_sample_ratio)' | sed 's/^/#   /')
# steady state: warm up until the entry is sampled or suspended
"$FUNCS" -n bw-bench-warm hotsec 600 >/dev/null &
warm=$!
i=0
until state | grep -Eqx 'sampled|suspended'; do
	i=$((i + 1))
	[ $i -le 60 ] || { kill "$warm"; die "bw_hot not sampled after 60 s"; }
	sleep 1
done
"$FUNCS" -n bw-bench-hot hotsec "$SECS" > "$tmp/steady.out" &
hot=$!
kill "$warm"; wait "$warm" 2>/dev/null || true
wait "$hot"
n2=$(awk '/hot calls/ { print $2 }' "$tmp/steady.out")
s2=$(curl -sf "$URL/metrics" | grep -E '^bpfwatch_(probe_state\{.*\} 1|function_sample_ratio)' | sed 's/^/#   /')
kill -TERM "$agent"
wait "$agent" || die "agent exited $? on SIGTERM"
agent=""

echo
echo "## Hot loop: calls of an empty function in ${SECS} s, probed by probes.functions"
awk -v s="$SECS" -v n0="$n0" -v n1="$n1" -v n2="$n2" 'BEGIN {
	printf "%-48s %14s %10s %10s\n", "configuration", "calls", "ns/call", "slowdown"
	printf "%-48s %14.0f %10.2f %10s\n", "untraced", n0, s * 1e9 / n0, "-"
	printf "%-48s %14.0f %10.2f %9.1f%%\n", "1% budget, from agent start (1st tick in full)", n1, s * 1e9 / n1, 100 * (n0 / n1 - 1)
	printf "%-48s %14.0f %10.2f %9.1f%%\n", "1% budget, steady state", n2, s * 1e9 / n2, 100 * (n0 / n2 - 1)
}'
echo "# after the run from agent start:"
echo "$s1"
echo "# after the steady-state run:"
echo "$s2"
