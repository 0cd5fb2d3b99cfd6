#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Growth attribution by code path end to end: the real agent (1 s ticks,
# a 25 s leak window, probes.memory.growth_paths on, 1 fault in 16
# sampled) and a memgrow workload started after it as bw-leak, leaking
# 1 MiB/s from leak_alloc().  The scrape must show a growth path for
# bw-leak naming leak_alloc with about the bytes it leaked, no address in
# any path label, the leak suspect's path once it is flagged, a scrape
# promtool accepts, and nothing left of bw-leak after it exits.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
# The release build of the workload when there is one (frame pointers,
# no ASan allocator in the stacks).
MEMGROW=$(realpath .output/release/workloads/memgrow 2>/dev/null || realpath "$OUT/workloads/memgrow")
PORT=${E2E_PORT:-19660}
TMP=$(mktemp -d /tmp/bpfwatch-growth.XXXXXX)
AGENT=""
PIDS=""
fails=0

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

cat > "$TMP/bpfwatch.yml" <<EOC
global:
  collection_interval: 1s
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
probes:
  memory:
    leak_detection:
      window: 25s
      min_samples: 20
    growth_paths:
      enabled: true
      sample_every: 16
      top_k: 3
EOC
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready" wait_http "http://127.0.0.1:$PORT/-/ready" 30
check "growth paths attached" grep -q "growth paths: attached" "$TMP/agent.log"

ln -s "$MEMGROW" "$TMP/bw-leak"
"$TMP/bw-leak" leak 1024 40 0 "$TMP" >/dev/null & LEAK=$!
PIDS="$LEAK"

paths() {	# paths FILE FAMILY: "path value" lines of bw-leak
	sed -n "s/^$2{comm=\"bw-leak\",container=\"\",path=\"\\([^\"]*\\)\"} \\(.*\\)/\\1 \\2/p" "$1"
}

sleep 10
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m1"
paths "$TMP/m1" bpfwatch_memory_growth_path_bytes > "$TMP/p1"
echo "bw-leak growth paths after 10 s:"; sed 's/^/    /' "$TMP/p1"
top=$(sort -k2 -g -r "$TMP/p1" | head -1)
check "bw-leak has growth path series" test -s "$TMP/p1"
check "at most top_k (3) paths for bw-leak" [ "$(wc -l < "$TMP/p1")" -le 3 ]
check "the top path ($top) names leak_alloc" bash -c '[[ "$1" == *leak_alloc* ]]' _ "${top% *}"
# ~10 MiB leaked so far (the scrape and the workload's clock differ by
# up to a tick, and sampling 1 in 16 adds a few percent)
check "the top path's bytes (${top#* }) are about the 10 MiB leaked" \
	awk -v v="${top#* }" 'BEGIN { exit !(v > 6 * 1048576 && v < 16 * 1048576) }'
check "no path label holds an address" \
	bash -c '! grep "^bpfwatch_.*path=\"[^\"]*0x" "$1"' _ "$TMP/m1"
check "the growth program is reported attached (tp_btf)" \
	grep -q '^bpfwatch_probe_attached{probe="memory_growth",attach_type="tp_btf",reason="ok"} 1' "$TMP/m1"
check "its runs are counted" \
	awk -F'} ' '/^bpfwatch_probe_events_total\{probe="memory_growth",program="page_fault_user"\}/ { n = $2 } END { exit !(n > 0) }' "$TMP/m1"
check "samples are counted" \
	awk '/^bpfwatch_memory_growth_path_samples_total / { exit !($2 > 0) } END { }' "$TMP/m1"

# The leak analyzer flags bw-leak once its window is full (~20 s): its
# suspect path names leak_alloc.
sp=""
for i in $(seq 1 25); do
	sleep 1
	curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
	sp=$(paths "$TMP/m" bpfwatch_leak_suspect_path)
	[ -n "$sp" ] && break
done
echo "bw-leak suspect path: ${sp:--}"
check "bw-leak's suspect path names leak_alloc" bash -c '[[ "$1" == *leak_alloc* ]]' _ "$sp"
check "its value is the suspect score" \
	awk -v v="${sp#* }" 'BEGIN { exit !(v > 0.99 && v <= 1) }'
promtool check metrics < "$TMP/m" > "$TMP/promtool.out" 2>&1; rc=$?
check "promtool check metrics accepts the scrape (rc $rc)" [ $rc = 0 ]

kill $PIDS; wait $PIDS 2>/dev/null; PIDS=""
sleep 2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m2"
check "growth path series of the exited workload are gone" \
	bash -c '! grep -Eq "^bpfwatch_(memory_growth_path_bytes|leak_suspect_path)\{comm=\"bw-leak\"" "$1"' _ "$TMP/m2"

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0" [ $rc = 0 ]
if [ $fails != 0 ]; then cat "$TMP/agent.log" "$TMP/promtool.out"; exit 1; fi
echo "all growth path checks passed"
