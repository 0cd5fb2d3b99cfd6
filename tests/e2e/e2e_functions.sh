#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Function latency through the agent: probes.functions entries (uprobe,
# USDT pair, single USDT, a bad symbol, a kernel function) attached by the
# daemon, a workload started afterwards is timed, the scrape passes
# promtool, and bad entries are reported while the good ones work.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
FUNCS=$(realpath "$OUT/workloads/funcs")
PORT=${E2E_PORT:-19482}
TMP=$(mktemp -d /tmp/bpfwatch-fn.XXXXXX)
AGENT=""
fails=0
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

cat > "$TMP/bpfwatch.yml" <<EOF
global:
  collection_interval: 1s
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
probes:
  functions:
    - binary: $FUNCS
      symbol: bw_sleep_5ms
    - binary: $FUNCS
      name: request
      usdt_begin: bwtest:req__start
      usdt_end: bwtest:req__done
    - binary: $FUNCS
      usdt: bwtest:tick
    - binary: $FUNCS
      symbol: no_such_function
    - kernel: vfs_read
EOF
out=$("$BIN" check config "$TMP/bpfwatch.yml" 2>&1)
check "config with functions is valid ($out)" [ $? = 0 ]

"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready" wait_http "http://127.0.0.1:$PORT/-/ready" 30
check "bad symbol is logged with its config position" \
	grep -q "function no_such_function ($TMP/bpfwatch.yml:16:7): not attached: binary '$FUNCS': symbol 'no_such_function' not found" "$TMP/agent.log"

# Started after the agent: uprobes follow the binary, not a process.
"$FUNCS" -n bw-fn sleep5 40 usdt 30 tick 25 >/dev/null
sleep 2.5
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
out=$(promtool check metrics < "$TMP/m" 2>&1)
check "promtool check metrics passes $out" [ $? = 0 ]
L="function=\"bw_sleep_5ms\",binary=\"$FUNCS\",comm=\"bw-fn\",container=\"\""
check "bw_sleep_5ms: 40 calls" grep -q "^bpfwatch_function_latency_seconds_count{$L} 40$" "$TMP/m"
# None can be faster than the 5 ms it sleeps; the median is in the bucket
# of 5 ms (a loaded machine may delay some calls past it, so not "all").
check "bw_sleep_5ms: none under 3.9 ms, p50 between 3.9 and 7.8 ms" bash -c \
	'grep -q "^bpfwatch_function_latency_seconds_bucket{$1,le=\"0.00390625\"} 0$" "$2" &&
	 awk -v s="bpfwatch_function_latency_seconds_bucket{$1,le=\"0.0078125\"}" \
		"index(\$0, s \" \") == 1 { exit !(\$2 >= 20) }" "$2"' _ "$L" "$TMP/m"
check "bw_sleep_5ms: calls counter" grep -q "^bpfwatch_function_calls_total{$L} 40$" "$TMP/m"
L2="function=\"request\",binary=\"$FUNCS\",comm=\"bw-fn\",container=\"\""
check "USDT pair timed 30 times" grep -q "^bpfwatch_function_latency_seconds_count{$L2} 30$" "$TMP/m"
L3="function=\"bwtest:tick\",binary=\"$FUNCS\",comm=\"bw-fn\",container=\"\""
check "single USDT counted 25 times" grep -q "^bpfwatch_function_calls_total{$L3} 25$" "$TMP/m"
check "single USDT has no latency histogram" bash -c '! grep -q "^bpfwatch_function_latency_seconds_count{$1}" "$2"' _ "$L3" "$TMP/m"
check "bad entry exported as not attached with its reason" \
	grep -q "^bpfwatch_function_attached{function=\"no_such_function\",binary=\"$FUNCS\",attach_type=\"\",reason=\"binary '$FUNCS': symbol 'no_such_function' not found\"} 0$" "$TMP/m"
check "kernel function reported unavailable, naming fentry and kprobe" \
	grep -q '^bpfwatch_function_attached{function="vfs_read",binary="",attach_type="",reason="[^"]*fentry[^"]*kprobe[^"]*"} 0$' "$TMP/m"
check "good entries exported as attached" \
	grep -q "^bpfwatch_function_attached{function=\"bw_sleep_5ms\",binary=\"$FUNCS\",attach_type=\"uprobe\",reason=\"ok\"} 1$" "$TMP/m"
check "function probe's BPF run time exported" \
	grep -q '^bpfwatch_probe_run_seconds_total{probe="functions",program="[^"]*"} ' "$TMP/m"

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0" [ $rc = 0 ]
if [ $fails != 0 ]; then grep -v '^$' "$TMP/agent.log"; grep 'function' "$TMP/m" | grep -v _bucket; exit 1; fi
echo "all function checks passed"
