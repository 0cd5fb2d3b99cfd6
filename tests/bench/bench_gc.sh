#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# What the GC pause probe costs a runtime: CPython's gc.collect() timed
# inside the interpreter (tests/e2e/gc/gc_workload.py), untraced and then
# traced by the agent (probes.gc only), alternating, BENCH_GC_ROUNDS rounds
# each (default 5).  Untraced, the gc__start/gc__done semaphores are 0 and
# the probe sites are skipped; traced, each collection takes two USDT traps
# (begin, end) plus the BPF programs.  Reports the median per-collection
# time of each generation both ways, the difference, and the in-kernel BPF
# time per event.  A benchmark: no figure fails it.
#
# Environment: OUT (default .output/release), BENCH_PORT (default 19641),
# BENCH_GC_ROUNDS, BENCH_GC_N ("N0 N1 N2" collections per round, default
# "20000 2000 500").
set -eu

OUT=${OUT:-.output/release}
PORT=${BENCH_PORT:-19641}
ROUNDS=${BENCH_GC_ROUNDS:-5}
N=${BENCH_GC_N:-"20000 2000 500"}
PY=/usr/bin/python3.11
HERE=$(cd "$(dirname "$0")" && pwd)
WORKLOAD=$HERE/../e2e/gc/gc_workload.py

die() {
	echo "bench_gc: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "needs root (USDT probes)"
[ -x "$PY" ] || die "$PY missing (scripts/install-deps.sh installs it)"
[ -x "$OUT/bpfwatch" ] || die "$OUT/bpfwatch missing: run make"

tmp=$(mktemp -d /tmp/bpfwatch-bench-gc.XXXXXX)
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

# run_py TAG: one round; appends "TAG s0 s1 s2" (seconds per collection).
run_py() {
	rm -f "$tmp/ready" "$tmp/go"
	: >"$tmp/go"
	# shellcheck disable=SC2086 # N is three words
	"$PY" "$WORKLOAD" bwgc-bench $N "$tmp/ready" "$tmp/go" 0 >"$tmp/py.out" ||
		die "workload failed"
	set -- $N
	awk -v tag="$1" -v n0="$1" -v n1="$2" -v n2="$3" -v t="$TAG" \
		'/^seconds/ { printf "%s %.9g %.9g %.9g\n", t, $2 / n0, $3 / n1, $4 / n2 }' \
		"$tmp/py.out" >>"$tmp/results"
}

metric() {
	curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { print s + 0 }'
}

cat >"$tmp/bpfwatch.yml" <<EOC
global:
  collection_interval: 5s		# few ticks: the agent's own work stays out of the timing
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $tmp/state
probes:
  runqueue_latency: { enabled: false }
  block_io_latency: { enabled: false }
  gc: { enabled: true, runtimes: [python] }
EOC

echo "######## bench_gc: CPython gc.collect() untraced vs traced by probes.gc ($ROUNDS rounds of $N collections)"
for r in $(seq 1 "$ROUNDS"); do
	TAG=untraced run_py
	"$OUT/bpfwatch" run --config "$tmp/bpfwatch.yml" >"$tmp/agent.log" 2>&1 &
	agent=$!
	i=0
	until curl -s "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "agent not ready: $(cat "$tmp/agent.log")"
		sleep 0.1
	done
	# A python process that lives long enough to be looked at gets the
	# binary attached (at its exec); wait for that.
	"$PY" -c 'import time; time.sleep(1)'
	i=0
	until curl -s "http://127.0.0.1:$PORT/metrics" |
	      grep -q '^bpfwatch_gc_binary_attached{runtime="python",binary="'"$PY"'",attach_type="usdt",reason="ok"} 1'; do
		i=$((i + 1))
		[ $i -lt 150 ] || die "python not attached: $(cat "$tmp/agent.log")"
		sleep 0.1
	done
	ev0=$(metric 'bpfwatch_probe_events_total{probe="gc",program="usdt_gc_')
	rt0=$(metric 'bpfwatch_probe_run_seconds_total{probe="gc",program="usdt_gc_')
	TAG=traced run_py
	sleep 5.5
	ev1=$(metric 'bpfwatch_probe_events_total{probe="gc",program="usdt_gc_')
	rt1=$(metric 'bpfwatch_probe_run_seconds_total{probe="gc",program="usdt_gc_')
	echo "bpf $ev0 $ev1 $rt0 $rt1" >>"$tmp/results"
	kill -TERM "$agent"
	wait "$agent" || die "agent exited $? on SIGTERM"
	agent=""
done

awk '
function median(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$1 == "untraced" { nu++; for (g = 0; g < 3; g++) u[g, nu] = $(g + 2) }
$1 == "traced" { nt++; for (g = 0; g < 3; g++) t[g, nt] = $(g + 2) }
$1 == "bpf" { ev += $3 - $2; rt += $5 - $4 }
END {
	printf "  %-12s %16s %16s %16s %10s\n", "generation", "untraced", "traced", "difference", "relative"
	for (g = 0; g < 3; g++) {
		for (i = 1; i <= nu; i++) x[i] = u[g, i]
		mu = median(x, nu)
		for (i = 1; i <= nt; i++) y[i] = t[g, i]
		mt = median(y, nt)
		rel = mu > 0 ? 100 * (mt - mu) / mu : 0
		printf "  %-12s %13.3f us %13.3f us %13.3f us %9.1f%%\n", g, mu * 1e6, mt * 1e6,
		       (mt - mu) * 1e6, rel
	}
	printf "  in-kernel BPF time: %.0f ns per USDT event (%d events; 2 per collection)\n",
	       ev ? rt * 1e9 / ev : 0, ev
	print "  (medians over rounds of the mean time per gc.collect() call, measured"
	print "   by the interpreter; the difference is two USDT traps + BPF per collection)"
}' "$tmp/results"
