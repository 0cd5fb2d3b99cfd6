#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End to end: the real agent as root with real probes, scraped with curl and
# checked by promtool, then scraped by a real Prometheus server; bad input
# (a bad config, a port in use) fails cleanly; SIGTERM leaves no bpfwatch
# program in the kernel.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
SLEEPER=$OUT/workloads/sleeper
PORT=${E2E_PORT:-19480}
PROM_PORT=${E2E_PROM_PORT:-19490}
TMP=$(mktemp -d /tmp/bpfwatch-e2e.XXXXXX)
AGENT=""
PROM=""
fails=0

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	[ -n "$PROM" ] && kill "$PROM" 2>/dev/null
	pkill -f "$TMP" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"
write_config "$TMP/bpfwatch.yml" "$PORT" "$TMP/state" 'comm: "^bw-e2e"'

# --- bad input --------------------------------------------------------------
cat > "$TMP/bad.yml" <<'EOF'
global:
  collection_interval: 1s
  colection_timeout: 5s
EOF
out=$("$BIN" check config "$TMP/bad.yml" 2>&1); rc=$?
check "check config rejects an unknown key (exit $rc)" [ $rc = 1 ]
check "error names file:line:col ($out)" grep -q "$TMP/bad.yml:3:3: .*colection_timeout" <<<"$out"
out=$("$BIN" check config "$TMP/bpfwatch.yml" 2>&1); rc=$?
check "check config accepts the test config" [ $rc = 0 ]
out=$("$BIN" run --config "$TMP/bad.yml" 2>&1); rc=$?
check "run with a bad config exits non-zero before attaching (exit $rc)" [ $rc != 0 ]
out=$("$BIN" run --config "$TMP/missing.yml" 2>&1); rc=$?
check "run with a missing config says so ($out)" grep -q "missing.yml: No such file or directory" <<<"$out"

out=$("$BIN" features 2>&1)
check "features lists tp_btf as available" grep -Eq '^tp_btf +available' <<<"$out"
check "features explains every missing feature" \
	bash -c '! grep -E " missing +$" <<<"$1"' _ "$out"

# --- tracefs: mounted by the agent when absent ----------------------------
umount /sys/kernel/tracing 2>/dev/null

# --- run --------------------------------------------------------------------
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready" wait_http "http://127.0.0.1:$PORT/-/ready" 30
check "agent mounted tracefs" bash -c 'grep -q " /sys/kernel/tracing tracefs " /proc/mounts'
ours=$(held_prog_ids "$AGENT")
check "agent loaded BPF programs ($(echo $ours | wc -w))" [ -n "$ours" ]

# A process whose name is hostile to the exposition format, and a process
# the syscall probe targets.
"$SLEEPER" 6122625c630a64ff 30 5 "$TMP" &
"$SLEEPER" "$(hexname bw-e2e-sleep)" 30 10 "$TMP" &
# Block I/O of our own, on the disk holding the build tree (not /tmp,
# which may be tmpfs): direct writes bypass the page cache.
dd if=/dev/zero of="$OUT/e2e-bio.tmp" bs=64k count=16 oflag=direct conv=fsync status=none
dd if="$OUT/e2e-bio.tmp" of=/dev/null bs=64k iflag=direct status=none
rm -f "$OUT/e2e-bio.tmp"
sleep 3.5

code=$(curl -s -D "$TMP/headers" -o "$TMP/metrics" -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
check "GET /metrics is 200" [ "$code" = 200 ]
check "Content-Type is text format 0.0.4" \
	grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$TMP/headers"
out=$(promtool check metrics < "$TMP/metrics" 2>&1); rc=$?
check "promtool check metrics passes (exit $rc) $out" [ $rc = 0 ]

for m in bpfwatch_runqueue_latency_seconds_bucket bpfwatch_block_io_latency_seconds_count \
	 bpfwatch_syscall_latency_seconds_sum bpfwatch_build_info bpfwatch_probe_attached \
	 bpfwatch_probe_events_total bpfwatch_probe_run_seconds_total \
	 bpfwatch_collection_duration_seconds bpfwatch_series bpfwatch_series_dropped_total; do
	check "exports $m" grep -q "^$m[{ ]" "$TMP/metrics"
done
check "block I/O writes and reads were measured" \
	bash -c 'grep -q "^bpfwatch_block_io_latency_seconds_count{device=\"[^\"]*\",operation=\"write\"} [1-9]" "$1" &&
		 grep -q "^bpfwatch_block_io_latency_seconds_count{device=\"[^\"]*\",operation=\"read\"} [1-9]" "$1"' _ "$TMP/metrics"
check "probe_attached reports runqueue_latency via tp_btf" \
	grep -q '^bpfwatch_probe_attached{probe="runqueue_latency",attach_type="tp_btf",reason="ok"} 1$' "$TMP/metrics"
check "hostile comm is escaped and made valid UTF-8" \
	grep -qF 'comm="a\"b\\c\nd'$'\xef\xbf\xbd''"' "$TMP/metrics"
check "targeted process has clock_nanosleep latency" \
	grep -q '^bpfwatch_syscall_latency_seconds_count{syscall="clock_nanosleep",comm="bw-e2e-sleep",container=""} [1-9]' "$TMP/metrics"
check "syscall probe ignores untargeted processes" \
	bash -c '! grep -q "^bpfwatch_syscall_latency_seconds_count{.*comm=\"a" "$1"' _ "$TMP/metrics"
# 10 ms sleeps: all of them within the le=2^-6 s (15.6 ms) bucket, none below 2^-7 (7.8 ms).
inf=$(grep '^bpfwatch_syscall_latency_seconds_bucket{syscall="clock_nanosleep",comm="bw-e2e-sleep",container="",le="+Inf"}' "$TMP/metrics" | awk '{print $2}')
le6=$(grep '^bpfwatch_syscall_latency_seconds_bucket{syscall="clock_nanosleep",comm="bw-e2e-sleep",container="",le="0.015625"}' "$TMP/metrics" | awk '{print $2}')
le7=$(grep '^bpfwatch_syscall_latency_seconds_bucket{syscall="clock_nanosleep",comm="bw-e2e-sleep",container="",le="0.0078125"}' "$TMP/metrics" | awk '{print $2}')
check "10 ms sleeps land between 7.8 and 15.6 ms (+Inf=$inf le15.6ms=$le6 le7.8ms=$le7)" \
	[ -n "$inf" ] && [ "$inf" -gt 0 ] && [ "$inf" = "$le6" ] && [ "$le7" = 0 ]

code=$(curl -s -H 'Accept-Encoding: gzip' -D "$TMP/gzheaders" -o "$TMP/metrics.gz" -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
check "gzip scrape is 200 with Content-Encoding: gzip" \
	bash -c '[ "$1" = 200 ] && grep -qi "^content-encoding: gzip" "$2"' _ "$code" "$TMP/gzheaders"
out=$(gunzip -c "$TMP/metrics.gz" | promtool check metrics 2>&1); rc=$?
check "gzip body decompresses and passes promtool (exit $rc)" [ $rc = 0 ]
check "/-/healthy is 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/-/healthy")" = 200 ]
check "unknown path is 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nope")" = 404 ]
check "POST is refused with 405" [ "$(curl -s -o /dev/null -X POST -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" = 405 ]

# --- a second agent on the same port fails before attaching anything -------
export -f prog_ids
ids1=$(prog_ids)
out=$(timeout 20 "$BIN" run --config "$TMP/bpfwatch.yml" 2>&1); rc=$?
check "second agent on a busy port exits 1 (exit $rc)" [ $rc = 1 ]
check "and says the address is in use" grep -q "listen on 127.0.0.1:$PORT: Address already in use" <<<"$out"
check "and leaves no BPF program behind" bash -c '[ -z "$(comm -13 <(echo "$1") <(prog_ids))" ]' _ "$ids1" 

# --- a real Prometheus scrapes the agent ----------------------------------
cat > "$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: bpfwatch
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
PROM=$!
q() { curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"; }
up=""
for _ in $(seq 1 60); do
	up=$(q 'up{job="bpfwatch"}')
	grep -q '"value":\[[0-9.]*,"1"\]' <<<"$up" && break
	sleep 0.5
done
check "Prometheus scrapes the agent: up == 1 ($up)" grep -q '"value":\[[0-9.]*,"1"\]' <<<"$up"
sleep 3
res=$(q 'histogram_quantile(0.5, sum by (le) (rate(bpfwatch_syscall_latency_seconds_bucket{comm="bw-e2e-sleep",syscall="clock_nanosleep"}[5s])))')
check "Prometheus computes the p50 of the 10 ms sleeps within [7.8ms,15.6ms] ($res)" \
	bash -c 'v=$(grep -o "\"value\":\[[0-9.]*,\"[0-9.e-]*\"" <<<"$1" | sed "s/.*,\"//; s/\"//"); [ -n "$v" ] && awk -v v="$v" "BEGIN{exit !(v>=0.0078125 && v<=0.015625)}"' _ "$res"
kill "$PROM"; wait "$PROM" 2>/dev/null; PROM=""

# --- clean shutdown ---------------------------------------------------------
kill -TERM "$AGENT"
wait "$AGENT"; rc=$?
AGENT=""
check "agent exits 0 on SIGTERM (exit $rc)" [ $rc = 0 ]
# The kernel frees programs after an RCU grace period: give it a moment.
for _ in $(seq 1 50); do
	left=$(comm -12 <(echo "$ours") <(prog_ids))
	[ -z "$left" ] && break
	sleep 0.1
done
check "no bpfwatch program left in the kernel after SIGTERM ($left)" [ -z "$left" ]
check "agent log says it detached" grep -q "detaching probes and exiting" "$TMP/agent.log"

if [ $fails != 0 ]; then
	echo "--- agent log"; cat "$TMP/agent.log"
	echo "$fails check(s) failed"
	exit 1
fi
echo "all e2e checks passed"
