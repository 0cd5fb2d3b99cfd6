#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Memory probe and leak analyzer end to end: the real agent (1 s ticks, a
# 25 s analysis window) and three memgrow workloads started after it,
# each under its own comm: bw-leak leaks 1 MiB/s, bw-steady churns at a
# constant footprint, bw-risefall grows for 15 s and frees it all in 10.
# Every second from the moment the window is full, the scrape is checked:
# bw-leak must end up flagged, the other two never; the RSS series must
# match /proc; promtool must accept the scrape.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
# The release build of the workload when there is one: under ASan its
# allocator and shadow pages would add to the leak it is told to make.
MEMGROW=$(realpath .output/release/workloads/memgrow 2>/dev/null || realpath "$OUT/workloads/memgrow")
PORT=${E2E_PORT:-19620}
TMP=$(mktemp -d /tmp/bpfwatch-mem.XXXXXX)
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
EOC
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready" wait_http "http://127.0.0.1:$PORT/-/ready" 30

# The comm is the name the program is run under.
for c in bw-leak bw-steady bw-risefall; do ln -s "$MEMGROW" "$TMP/$c"; done
"$TMP/bw-leak" leak 1024 45 0 "$TMP" >/dev/null & LEAK=$!
"$TMP/bw-steady" steady 45 16384 "$TMP" >/dev/null & STEADY=$!
"$TMP/bw-risefall" risefall 25 32768 20 "$TMP" >/dev/null & RISEFALL=$!
PIDS="$LEAK $STEADY $RISEFALL"

metric() {	# metric FILE NAME COMM: the value, or empty
	awk -v want="$2{comm=\"$3\",container=\"\"}" '$1 == want { print $2 }' "$1"
}

sleep 2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m0"
check "the memory probe is attached (tp_btf)" \
	grep -q '^bpfwatch_probe_attached{probe="memory",attach_type="tp_btf",reason="ok"} 1' "$TMP/m0"
# bw-leak grows 1 MiB/s: the tick and /proc may be up to a second apart.
rss=$(metric "$TMP/m0" bpfwatch_process_resident_bytes bw-leak)
status=$(awk '/^VmRSS:/ { print $2 * 1024 }' /proc/$LEAK/status)
check "bw-leak resident bytes ($rss) within 2 MiB of VmRSS ($status)" \
	awk -v a="${rss:-0}" -v b="${status:-0}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= 2 * 1048576) }'

# From the first full window (20 samples) to the end: poll every second.
sleep 19
leak_max=0 steady_max=0 rf_max=0 last_leak=0 polls=0
for i in $(seq 1 14); do
	curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
	l=$(metric "$TMP/m" bpfwatch_leak_suspect bw-leak)
	s=$(metric "$TMP/m" bpfwatch_leak_suspect bw-steady)
	r=$(metric "$TMP/m" bpfwatch_leak_suspect bw-risefall)
	echo "t+$((20 + i))s suspect: bw-leak=${l:--} bw-steady=${s:--} bw-risefall=${r:--}"
	[ -n "$l" ] && last_leak=$l && polls=$((polls + 1))
	leak_max=$(awk -v a="$leak_max" -v b="${l:-0}" 'BEGIN { print (b > a) ? b : a }')
	steady_max=$(awk -v a="$steady_max" -v b="${s:-0}" 'BEGIN { print (b > a) ? b : a }')
	rf_max=$(awk -v a="$rf_max" -v b="${r:-0}" 'BEGIN { print (b > a) ? b : a }')
	sleep 1
done
check "bw-leak was judged ($polls polls)" [ "$polls" -ge 10 ]
check "bw-leak is flagged at the end (suspect $last_leak)" \
	awk -v v="$last_leak" 'BEGIN { exit !(v > 0.99) }'
check "bw-steady was never flagged (max $steady_max)" awk -v v="$steady_max" 'BEGIN { exit !(v == 0) }'
check "bw-risefall was never flagged (max $rf_max)" awk -v v="$rf_max" 'BEGIN { exit !(v == 0) }'
growth=$(metric "$TMP/m" bpfwatch_memory_growth_bytes_per_second bw-leak)
check "bw-leak growth ($growth B/s) about 1 MiB/s" \
	awk -v g="${growth:-0}" 'BEGIN { exit !(g > 0.8 * 1048576 && g < 1.25 * 1048576) }'
check "bw-risefall has a growth series (judged, not flagged)" \
	test -n "$(metric "$TMP/m" bpfwatch_memory_growth_bytes_per_second bw-risefall)"
check "bw-leak growth confidence above 0.99" \
	awk -v v="$(metric "$TMP/m" bpfwatch_memory_growth_confidence bw-leak)" 'BEGIN { exit !(v > 0.99) }'
check "processes were analysed" grep -q '^bpfwatch_leak_analyzed_processes [1-9]' "$TMP/m"
check "promtool check metrics accepts the scrape" \
	bash -c 'promtool check metrics < "$1" 2>&1 | { ! grep -v "no help text\|counter metrics should have"; }' _ "$TMP/m"
promtool check metrics < "$TMP/m" > "$TMP/promtool.out" 2>&1; rc=$?
check "promtool exits 0 (rc $rc)" [ $rc = 0 ]

# Exited processes go away.
kill $PIDS; wait $PIDS 2>/dev/null; PIDS=""
sleep 2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m2"
check "memory series of exited workloads are gone" \
	bash -c '! grep -Eq "^bpfwatch_(process_|memory_|leak_).*comm=\"bw-(leak|steady|risefall)\"" "$1"' _ "$TMP/m2"
check "their kernel entries were freed" \
	awk '/^bpfwatch_memory_entries_freed_total\{reason="exited"\}/ { exit !($2 >= 3) }' "$TMP/m2"

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0" [ $rc = 0 ]
if [ $fails != 0 ]; then cat "$TMP/agent.log" "$TMP/promtool.out"; exit 1; fi
echo "all memory checks passed"
