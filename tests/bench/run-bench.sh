#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench: what bpfwatch costs, measured on this machine, next to
# baselines measured in the same run.  A benchmark, not a test: no figure
# fails it; it fails only when something could not be measured or the
# agent does not stop cleanly.
#
#  1. $OUT/bench/bench_probes: in-kernel ns per event of every probe program
#     against an empty program on the same hook, and a syscall end to end;
#     $OUT/bench/bench_memory: the memory probe's ns per event against an
#     empty program on kmem:rss_stat, and a page-fault-heavy workload's time
#     per page untraced and traced.
#  1b. $OUT/bench/bench_leaks: ns per malloc+free pair untraced, under empty
#     uprobes on malloc/free, and traced by `bpfwatch leaks`' probe.
#  2. The agent itself, default config, for BENCH_AGENT_SECONDS (default 60)
#     after a 5 s warm-up, under a background load (sleepers waking every
#     millisecond, a dd loop of direct 4 KiB writes and reads): its CPU time,
#     RSS, /metrics scrape time and size, and the probe events it processed
#     (bpfwatch_probe_events_total), so the CPU per event can be computed.
#     Then SIGTERM, which must make it exit 0.
#  3. tests/bench/bench_budget.sh: the overhead budget.
#  4. tests/bench/bench_notify.sh: alert delivery through the spool, and
#     enqueue to receipt at a real Alertmanager.
#  6. tests/bench/bench_gc.sh: CPython gc.collect() untraced vs traced by
#     probes.gc (what a GC event costs the runtime).
#
# Environment: OUT (build directory, default .output/release),
# BENCH_AGENT_SECONDS, BENCH_PORT (default 19478), BENCH_PROBES_ARGS (extra
# arguments for bench_probes, e.g. "-r 5 -n 1000000"), BENCH_MEMORY_ARGS
# (for bench_memory, e.g. "-r 15 -m 512").
#
# Everything it starts is stopped, and its scratch directory under $OUT
# removed, on exit or on SIGINT/SIGTERM/SIGHUP.
set -eu

OUT=${OUT:-.output/release}
AGENT_SECONDS=${BENCH_AGENT_SECONDS:-60}
PORT=${BENCH_PORT:-19478}
WARMUP=5
SCRAPE_EVERY=5
TICK=5		# collection_interval of the default config (agent/default_config.yml)
URL="http://127.0.0.1:$PORT"

die() {
	echo "run-bench: $*" >&2
	exit 1
}

case $AGENT_SECONDS in
''|*[!0-9]*) die "BENCH_AGENT_SECONDS=$AGENT_SECONDS: not a whole number of seconds" ;;
esac
[ "$AGENT_SECONDS" -ge 10 ] || die "BENCH_AGENT_SECONDS=$AGENT_SECONDS: at least 10 (two collection ticks)"
case $PORT in
''|*[!0-9]*) die "BENCH_PORT=$PORT: not a port number" ;;
esac
[ "$(id -u)" = 0 ] || die "needs root (BPF programs on kernel tracepoints)"
for tool in curl awk date; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/install-deps.sh installs it)"
done
for f in "$OUT/bpfwatch" "$OUT/bench/bench_probes" "$OUT/bench/bench_memory" "$OUT/bench/bench_leaks"; do
	[ -x "$f" ] || die "$f missing: run 'make bench'"
done

tmp=""
agent=""
sleepers=""
ddloop=""

# Stop what we started (by pid), then remove the scratch directory.  The dd
# loop is not killed but told to stop, so no dd is left writing into $tmp.
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	[ -n "$tmp" ] && : >"$tmp/stop" 2>/dev/null
	for pid in $sleepers; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $sleepers $ddloop; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$agent" ] && kill -0 "$agent" 2>/dev/null; then
		kill -TERM "$agent" 2>/dev/null || true
		wait "$agent" 2>/dev/null || true
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---- 1. probes --------------------------------------------------------------
echo "######## bench_probes: in-kernel cost per event and a syscall end to end"
export OUT	# bench_probes puts its block I/O scratch file there
# shellcheck disable=SC2086 # BENCH_PROBES_ARGS is a list of words
"$OUT/bench/bench_probes" ${BENCH_PROBES_ARGS:-} || die "bench_probes failed (exit $?)"

echo
echo "######## bench_memory: the memory probe (kmem:rss_stat) on a page-fault-heavy workload"
# shellcheck disable=SC2086 # BENCH_MEMORY_ARGS is a list of words
"$OUT/bench/bench_memory" ${BENCH_MEMORY_ARGS:-} || die "bench_memory failed (exit $?)"

# ---- 1b. allocation tracing (bpfwatch leaks) ---------------------------------
echo
echo "######## bench_leaks: what the leaks probe costs per malloc+free pair"
"$OUT/bench/bench_leaks" || die "bench_leaks failed (exit $?)"

# ---- 2. the agent -----------------------------------------------------------
echo
echo "######## agent: default config, ${AGENT_SECONDS} s under background load"

tmp=$(mktemp -d "$OUT/bench-agent.XXXXXX")
mkdir "$tmp/state"

now() {
	date +%s.%N
}

# utime+stime of pid $1 in clock ticks (fields 14 and 15; comm may hold spaces).
cpu_ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# ns on a CPU of every thread of pid $1 (schedstat: precise, unlike ticks).
cpu_ns() {
	cat "/proc/$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# Field $2 of /proc/$1/status in kB.
status_kb() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# GET /metrics into $1; prints "seconds bytes".  $2 = gzip to ask for gzip
# (the size is then the compressed size on the wire).
scrape() {
	if [ "${2:-}" = gzip ]; then
		curl -sf -H 'Accept-Encoding: gzip' -o "$1" -w '%{time_total} %{size_download}\n' "$URL/metrics"
	else
		curl -sf -o "$1" -w '%{time_total} %{size_download}\n' "$URL/metrics"
	fi
}

# Sum of metric $2 in exposition file $1, per probe label: "probe value" lines.
by_probe() {
	awk -v m="$2{" '
		index($0, m) == 1 {
			match($0, /probe="[^"]*"/)
			p = substr($0, RSTART + 7, RLENGTH - 8)
			v[p] += $NF
		}
		END { for (p in v) printf "%s %.15g\n", p, v[p] }' "$1"
}

# Value of unlabelled metric $2 in file $1.
value() {
	awk -v m="$2" '$1 == m { print $2 }' "$1"
}

if curl -s -o /dev/null "$URL/" 2>/dev/null; then
	die "something already listens on 127.0.0.1:$PORT (set BENCH_PORT)"
fi

"$OUT/bpfwatch" run --web.listen-address "127.0.0.1:$PORT" --state-dir "$tmp/state" \
	>"$tmp/agent.log" 2>&1 &
agent=$!
i=0
until curl -sf -o /dev/null "$URL/-/ready"; do
	if ! kill -0 "$agent" 2>/dev/null; then
		cat "$tmp/agent.log" >&2
		agent=""
		die "agent exited during start-up"
	fi
	i=$((i + 1))
	[ $i -le 100 ] || { cat "$tmp/agent.log" >&2; die "agent not ready after 10 s"; }
	sleep 0.1
done

# Background load, so the probes have events.  Every piece stops by itself
# after $life seconds, even if this script is SIGKILLed; the loops end
# sooner when $tmp/stop appears, and cleanup kills the sleepers by pid.
life=$((WARMUP + AGENT_SECONDS + 60))
if [ -x "$OUT/workloads/sleeper" ]; then
	load_desc="4 sleepers waking every 1 ms"
	for _ in 1 2 3 4; do
		# comm "bw-bench-sleep" in hex
		"$OUT/workloads/sleeper" 62772d62656e63682d736c656570 "$life" 1 "$tmp" &
		sleepers="$sleepers $!"
	done
else
	load_desc="4 shell loops of 'sleep 0.01'"
	for _ in 1 2 3 4; do
		(
			n=$((life * 100))
			while [ $n -gt 0 ] && [ ! -e "$tmp/stop" ]; do
				sleep 0.01
				n=$((n - 1))
			done
		) &
		sleepers="$sleepers $!"
	done
fi
load_desc="$load_desc; dd: 64 x 4 KiB O_DIRECT|O_DSYNC writes + direct reads, every 0.5 s"
(
	n=$((life * 2))
	while [ $n -gt 0 ] && [ ! -e "$tmp/stop" ]; do
		dd if=/dev/zero of="$tmp/dd.bin" bs=4k count=64 oflag=direct,dsync conv=notrunc status=none
		dd if="$tmp/dd.bin" of=/dev/null bs=4k iflag=direct status=none
		sleep 0.5
		n=$((n - 1))
	done
) &
ddloop=$!

sleep "$WARMUP"
kill -0 "$agent" 2>/dev/null || { cat "$tmp/agent.log" >&2; agent=""; die "agent died during warm-up"; }
alive=0
for pid in $sleepers; do
	! kill -0 "$pid" 2>/dev/null || alive=$((alive + 1))
done
if [ "$alive" = 0 ]; then
	echo "run-bench: warning: the sleepers exited early; the run-queue events come only from the rest of the machine" >&2
	load_desc="$load_desc (sleepers exited early!)"
fi

rss0=$(status_kb "$agent" VmRSS)
scrape "$tmp/m0" >/dev/null || die "scrape of $URL/metrics failed"
t0=$(now)
ticks0=$(cpu_ticks "$agent")
ns0=$(cpu_ns "$agent")
: >"$tmp/plain.times"
: >"$tmp/gzip.times"
# Scrape, then sleep: few forks of our own, so the window measures the
# agent and the load, not this loop.
i=0
while [ $i -lt $((AGENT_SECONDS / SCRAPE_EVERY)) ]; do
	scrape "$tmp/plain.out" >>"$tmp/plain.times" || die "scrape of $URL/metrics failed"
	scrape "$tmp/gzip.out" gzip >>"$tmp/gzip.times" || die "gzip scrape of $URL/metrics failed"
	sleep "$SCRAPE_EVERY"
	kill -0 "$agent" 2>/dev/null || { cat "$tmp/agent.log" >&2; agent=""; die "agent died during the measurement"; }
	i=$((i + 1))
done
sleep $((AGENT_SECONDS % SCRAPE_EVERY))
ticks1=$(cpu_ticks "$agent")
ns1=$(cpu_ns "$agent")
t1=$(now)
scrape "$tmp/m1" >/dev/null || die "scrape of $URL/metrics failed"
rss1=$(status_kb "$agent" VmRSS)
hwm=$(status_kb "$agent" VmHWM)

: >"$tmp/stop"
ts=$(now)
kill -TERM "$agent"
set +e
wait "$agent"
agent_rc=$?
set -e
te=$(now)
agent=""

hz=$(getconf CLK_TCK)
by_probe "$tmp/m0" bpfwatch_probe_events_total >"$tmp/ev0"
by_probe "$tmp/m1" bpfwatch_probe_events_total >"$tmp/ev1"
by_probe "$tmp/m0" bpfwatch_probe_run_seconds_total >"$tmp/rt0"
by_probe "$tmp/m1" bpfwatch_probe_run_seconds_total >"$tmp/rt1"
coll0=$(value "$tmp/m0" bpfwatch_collections_total)
coll1=$(value "$tmp/m1" bpfwatch_collections_total)
series=$(value "$tmp/m1" bpfwatch_series)

echo
echo "## bpfwatch agent: summary"
echo "# load: $load_desc"
echo "# scrapes every ${SCRAPE_EVERY} s (plain and gzip); probe counters move once per"
echo "# collection tick, so events are counted over the ticks that fell in the window"
awk -v t0="$t0" -v t1="$t1" -v k0="$ticks0" -v k1="$ticks1" -v hz="$hz" \
    -v n0="$ns0" -v n1="$ns1" -v rss0="$rss0" -v rss1="$rss1" -v hwm="$hwm" \
    -v c0="${coll0:-0}" -v c1="${coll1:-0}" -v series="${series:-?}" -v tick="$TICK" \
    -v stop_s="$(awk -v a="$ts" -v b="$te" 'BEGIN { print b - a }')" -v rc="$agent_rc" \
    -v ev0="$tmp/ev0" -v ev1="$tmp/ev1" -v rt0="$tmp/rt0" -v rt1="$tmp/rt1" \
    -v plain="$tmp/plain.times" -v gz="$tmp/gzip.times" \
    -v psize="$(wc -c <"$tmp/plain.out")" -v gsize="$(wc -c <"$tmp/gzip.out")" '
function load(file, arr,    line, f) {
	while ((getline line < file) > 0) {
		split(line, f, " ")
		arr[f[1]] = f[2]
	}
	close(file)
}
# min / median / max of column 1 of file, in ms
function stats(file,    line, f, v, n, i, j, t) {
	n = 0
	while ((getline line < file) > 0) {
		split(line, f, " ")
		v[++n] = f[1] * 1000
	}
	close(file)
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
		}
	if (n == 0)
		return "no scrapes"
	return sprintf("%.2f / %.2f / %.2f ms (n=%d)", v[1], v[int((n + 1) / 2)], v[n], n)
}
function row(k, v) {
	printf "%-44s %s\n", k, v
}
BEGIN {
	wall = t1 - t0
	load(ev0, e0); load(ev1, e1); load(rt0, r0); load(rt1, r1)
	cpu_tick = (k1 - k0) / hz
	cpu_sched = (n1 - n0) / 1e9
	ticks = c1 - c0
	row("metric", "value")
	row("--------------------------------------------", "------------------------------")
	row("measurement window", sprintf("%.1f s, %d collection ticks", wall, ticks))
	row("agent CPU, utime+stime (/proc/PID/stat)",
	    sprintf("%.3f %% of one CPU (%.2f s; %d ms ticks)", 100 * cpu_tick / wall,
		    cpu_tick, 1000 / hz))
	row("agent CPU, on-CPU time (schedstat)",
	    sprintf("%.3f %% of one CPU (%.3f s)", 100 * cpu_sched / wall, cpu_sched))
	row("agent RSS after warm-up / at end (VmRSS)",
	    sprintf("%.1f MiB / %.1f MiB", rss0 / 1024, rss1 / 1024))
	row("agent peak RSS (VmHWM)", sprintf("%.1f MiB", hwm / 1024))
	row("series in the store at end", series)
	row("/metrics scrape, plain: min/median/max", stats(plain))
	row("/metrics scrape, gzip: min/median/max", stats(gz))
	row("/metrics size, plain / gzip", sprintf("%d B / %d B (%.1fx)", psize, gsize,
						     gsize ? psize / gsize : 0))
	total = 0; bpf = 0
	for (p in e1) {
		d = e1[p] - e0[p]
		total += d
		rt = r1[p] - r0[p]
		bpf += rt
		row("events " p, sprintf("%.0f (%.0f/s), in-kernel %.1f ns/event", d,
					  ticks ? d / (ticks * tick) : 0, d ? rt * 1e9 / d : 0))
	}
	row("events, all probes", sprintf("%.0f (%.0f/s)", total, ticks ? total / (ticks * tick) : 0))
	row("in-kernel BPF time, all probes",
	    sprintf("%.3f %% of one CPU (%.3f s per %d s of ticks)",
		    ticks ? 100 * bpf / (ticks * tick) : 0, bpf, ticks * tick))
	# CPU per event: the agent CPU rate over the event rate (both per second).
	if (total > 0 && ticks > 0)
		row("agent user+kernel CPU per probe event",
		    sprintf("%.1f ns (schedstat CPU / events)",
			    (cpu_sched / wall) / (total / (ticks * tick)) * 1e9))
	row("SIGTERM to exit", sprintf("%.2f s, exit status %d%s", stop_s, rc,
				       rc == 0 ? "" : " (FAILED: expected 0)"))
}'

if [ "$agent_rc" != 0 ]; then
	cat "$tmp/agent.log" >&2
	die "agent exited $agent_rc on SIGTERM, expected 0"
fi

# ---- 3. the overhead budget -------------------------------------------------
OUT="$OUT" sh tests/bench/bench_budget.sh || die "bench_budget failed"

# ---- 4. the rule engine -----------------------------------------------------
echo
echo "######## rule engine: 1000 rules over 10 000 series with 1 h of samples"
"$OUT/bench/bench_rules" || die "bench_rules failed"

# ---- 5. alert delivery ------------------------------------------------------
OUT="$OUT" sh tests/bench/bench_notify.sh || die "bench_notify failed"

# ---- 6. GC pause probe --------------------------------------------------------
echo
OUT=$OUT sh "$(dirname "$0")/bench_gc.sh" || die "bench_gc failed (exit $?)"
