#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# GC pauses through the agent (probes.gc, on by default): runtimes started
# after the agent are discovered and attached (python by its executable at
# exec, HotSpot by libjvm.so, which the java launcher loads later), and
# their collections show up with exact counts per generation.
#   python  /usr/bin/python3.11 (Debian's, built with DTrace probes; not
#           the first python on PATH) runs exactly N0/N1/N2 collections of
#           generations 0/1/2 under its own comm with automatic GC off; the
#           objects gc.collect() returned must equal the exported counter.
#   hotspot OpenJDK 17: System.gc() K times (full) after allocating
#           enough garbage for young collections (minor).
#   ruby    Debian's ruby 3.1 (libruby carries the probes, mapped by the
#           loader after exec): GC.start R times with automatic GC off gives
#           R mark pauses and at least R sweep pauses (lazy sweeping runs in
#           steps, each a pause of its own).
#   go      a program built here with Debian's Go, automatic GC off, calls
#           runtime.GC() G times: 2 G stop-the-world pauses (entry uprobes),
#           with and without its symbol table; and, where the machine has
#           a Go >= 1.21 binary (kubectl), pauses labelled by stwReason.
# The scrape must pass promtool.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
PORT=${E2E_PORT:-19640}
PY=/usr/bin/python3.11
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/bpfwatch-gc.XXXXXX)
AGENT=""
fails=0
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$HERE/lib.sh"

# wait_metric SECONDS REGEX: until a scrape has a line matching REGEX.
wait_metric() {
	local i
	for i in $(seq 1 $(($1 * 10))); do
		curl -s "http://127.0.0.1:$PORT/metrics" | grep -qE "$2" && return 0
		sleep 0.1
	done
	return 1
}

cat > "$TMP/bpfwatch.yml" <<EOC
global:
  collection_interval: 1s
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
EOC
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready" wait_http "http://127.0.0.1:$PORT/-/ready" 30
check "gc probe attached (default config)" \
	wait_metric 3 '^bpfwatch_probe_attached\{probe="gc",attach_type="usdt",reason="ok"\} 1$'

# --- python ------------------------------------------------------------
N0=7 N1=5 N2=3
"$PY" "$HERE/gc/gc_workload.py" bwgc-py $N0 $N1 $N2 "$TMP/py.ready" "$TMP/py.go" 20 \
	>"$TMP/py.out" 2>&1 &
PYPID=$!
for _ in $(seq 1 100); do [ -e "$TMP/py.ready" ] && break; sleep 0.1; done
check "python workload started" [ -e "$TMP/py.ready" ]
# Attached at exec: the next tick (1 s) already reports it.
check "python runtime discovered and attached within 2 ticks of its exec" \
	wait_metric 2 "^bpfwatch_gc_binary_attached\{runtime=\"python\",binary=\"$PY\",attach_type=\"usdt\",reason=\"ok\"\} 1$"
touch "$TMP/py.go"
wait $PYPID
check "python workload ran" grep -q '^collected ' "$TMP/py.out"
read -r _ C0 C1 C2 < <(grep '^collected ' "$TMP/py.out")
sleep 2.2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
L='runtime="python",generation="%s",comm="bwgc-py",container=""'
for g in 0 1 2; do
	eval "want=\$N$g objs=\$C$g"
	l=$(printf "$L" $g)
	check "python generation $g: $want pauses" \
		grep -q "^bpfwatch_gc_pause_seconds_count{$l} $want$" "$TMP/m"
	check "python generation $g: $want collections" \
		grep -q "^bpfwatch_gc_collections_total{$l} $want$" "$TMP/m"
	check "python generation $g: $objs objects collected, as gc.collect() said" \
		grep -q "^bpfwatch_gc_collected_objects_total{$l} $objs$" "$TMP/m"
	check "python generation $g: +Inf bucket equals the count" \
		grep -q "^bpfwatch_gc_pause_seconds_bucket{$l,le=\"+Inf\"} $want$" "$TMP/m"
done
check "python: every pause took more than 0.95 us" \
	grep -q "^bpfwatch_gc_pause_seconds_bucket{$(printf "$L" 2),le=\"9.5367431640625e-07\"} 0$" "$TMP/m"
check "python: the $N2 x 20 garbage cycles made before generation 2 collections were found" \
	[ "$C2" -ge $((N2 * 20)) ]

# --- hotspot ---------------------------------------------------------------
K=3
mkdir "$TMP/java"
"$JAVA_HOME/bin/javac" -d "$TMP/java" "$HERE/gc/GcWorkload.java" 2>"$TMP/javac.log"
check "javac GcWorkload.java" [ -f "$TMP/java/GcWorkload.class" ]
"$JAVA_HOME/bin/java" -Xmx64m -XX:+UseG1GC -Xlog:gc:file="$TMP/jvm-gc.log" \
	-cp "$TMP/java" GcWorkload $K "$TMP/java.go" 256 >"$TMP/java.out" 2>&1 &
JPID=$!
LIBJVM=$(realpath "$JAVA_HOME/lib/server/libjvm.so")
check "hotspot runtime (libjvm.so, loaded after exec) discovered and attached" \
	wait_metric 5 "^bpfwatch_gc_binary_attached\{runtime=\"hotspot\",binary=\"$LIBJVM\",attach_type=\"usdt\",reason=\"ok\"\} 1$"
touch "$TMP/java.go"
wait $JPID
check "java workload ran" grep -q '^done$' "$TMP/java.out"
sleep 2.2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
JL='runtime="hotspot",generation="%s",comm="java",container=""'
full=$(grep "^bpfwatch_gc_collections_total{$(printf "$JL" full)} " "$TMP/m" | awk '{print $2}')
minor=$(grep "^bpfwatch_gc_collections_total{$(printf "$JL" minor)} " "$TMP/m" | awk '{print $2}')
jfull=$(grep -c 'Pause Full' "$TMP/jvm-gc.log")
jyoung=$(grep -c 'Pause Young' "$TMP/jvm-gc.log")
check "hotspot: full pauses ${full:-none} >= $K System.gc() calls and the JVM's own log ($jfull)" \
	[ "${full:-0}" -ge $K -a "${full:-0}" -ge "$jfull" ]
check "hotspot: minor pauses ${minor:-none} >= the young pauses the JVM logged ($jyoung, > 0)" \
	[ "$jyoung" -gt 0 -a "${minor:-0}" -ge "$jyoung" ]

# --- ruby ------------------------------------------------------------------
R=5
ruby -e 'GC.disable
File.write("/proc/self/comm", "bwgc-rb")
File.write(ARGV[1], "")
sleep 0.02 until File.exist?(ARGV[2])
ARGV[0].to_i.times { GC.start }
puts "done"' $R "$TMP/rb.ready" "$TMP/rb.go" >"$TMP/rb.out" 2>&1 &
RPID=$!
LIBRUBY=$(ldd "$(realpath "$(command -v ruby)")" | awk '/libruby/ {print $3}')
LIBRUBY=$(realpath "$LIBRUBY")
check "ruby runtime ($LIBRUBY, mapped after exec) discovered and attached" \
	wait_metric 5 "^bpfwatch_gc_binary_attached\{runtime=\"ruby\",binary=\"$LIBRUBY\",attach_type=\"usdt\",reason=\"ok\"\} 1$"
for _ in $(seq 1 100); do [ -e "$TMP/rb.ready" ] && break; sleep 0.1; done
touch "$TMP/rb.go"
wait $RPID
check "ruby workload ran" grep -q '^done$' "$TMP/rb.out"
sleep 2.2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
RL='runtime="ruby",generation="%s",comm="bwgc-rb",container=""'
check "ruby: $R GC.start calls gave $R mark pauses" \
	grep -q "^bpfwatch_gc_pause_seconds_count{$(printf "$RL" mark)} $R$" "$TMP/m"
sweeps=$(grep "^bpfwatch_gc_pause_seconds_count{$(printf "$RL" sweep)} " "$TMP/m" | awk '{print $2}')
check "ruby: at least $R sweep pauses (got ${sweeps:-none})" [ "${sweeps:-0}" -ge $R ]

# --- go --------------------------------------------------------------------
# Built twice: with its symbol table, and stripped (-s -w, as production
# binaries are), where the functions are found in the Go pclntab.
G=4
export GOCACHE="$TMP/gocache" GOPATH="$TMP/gopath" GO111MODULE=off HOME="$TMP"
go build -o "$TMP/bwgcgo" "$HERE/gc/gcgo.go" 2>"$TMP/gobuild.log"
go build -ldflags="-s -w" -o "$TMP/bwgcgo-s" "$HERE/gc/gcgo.go" 2>>"$TMP/gobuild.log"
check "go build gcgo.go ($(go version 2>&1)), with and without symbols" \
	[ -x "$TMP/bwgcgo" -a -x "$TMP/bwgcgo-s" ]
check "the stripped build really has no symbol table" \
	bash -c '! readelf -S "$1" | grep -q " \.symtab "' _ "$TMP/bwgcgo-s"
case $(go version) in
*go1.1[0-9]*|*go1.20*) want_gen=stw ;;	# no stwReason before Go 1.21
*) want_gen=sweep_termination ;;
esac
for b in bwgcgo bwgcgo-s; do
	rm -f "$TMP/go.go"
	"$TMP/$b" $G "$TMP/go.go" >"$TMP/go.out" 2>&1 &
	GPID=$!
	check "go runtime in $b discovered and attached within 2 ticks of its exec" \
		wait_metric 2 "^bpfwatch_gc_binary_attached\{runtime=\"go\",binary=\"$TMP/$b\",attach_type=\"uprobe\",reason=\"ok\"\} 1$"
	touch "$TMP/go.go"
	wait $GPID
	check "go workload $b ran" grep -q '^done$' "$TMP/go.out"
done
sleep 2.2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
for b in bwgcgo bwgcgo-s; do
	comm=${b:0:15}
	check "go $b: pauses labelled $want_gen" \
		grep -q "^bpfwatch_gc_collections_total{runtime=\"go\",generation=\"$want_gen\",comm=\"$comm\",container=\"\"} " "$TMP/m"
	total=$(grep "^bpfwatch_gc_collections_total{runtime=\"go\",generation=\"[^\"]*\",comm=\"$comm\"" "$TMP/m" |
		awk '{s += $2} END {print s + 0}')
	check "go $b: $G runtime.GC() calls gave $((2 * G)) stop-the-world pauses (got $total)" \
		[ "$total" = $((2 * G)) ]
done

# Go >= 1.21 passes the stop-the-world reason.  Debian 12's Go is 1.19, so
# this needs a newer Go binary: kubectl, when the machine has one.
KUBECTL=$(command -v kubectl || true)
if [ -n "$KUBECTL" ] && "$BIN" list usdt "$KUBECTL" >/dev/null 2>&1 &&
   strings -n 6 "$KUBECTL" | grep -qm1 -E '^go1\.(2[1-9]|[3-9][0-9])'; then
	# Runs until one lives long enough to be looked at (kubectl exits in
	# tens of ms) get it attached; the next one is counted.
	KREAL=$(realpath "$KUBECTL")
	for _ in $(seq 1 20); do
		GOGC=1 "$KUBECTL" version --client >/dev/null 2>&1
		wait_metric 1 "^bpfwatch_gc_binary_attached\{runtime=\"go\",binary=\"$KREAL\",attach_type=\"uprobe\",reason=\"ok\"\} 1$" && break
	done
	check "go >= 1.21: $KREAL attached" wait_metric 1 \
		"^bpfwatch_gc_binary_attached\{runtime=\"go\",binary=\"$KREAL\",attach_type=\"uprobe\",reason=\"ok\"\} 1$"
	sleep 1.1
	k0=$(curl -s "http://127.0.0.1:$PORT/metrics" |
	     grep '^bpfwatch_gc_collections_total{runtime="go",generation="mark_termination",comm="kubectl"' |
	     awk '{print $2 + 0}')
	gcs=$(GOGC=1 GODEBUG=gctrace=1 "$KUBECTL" version --client 2>&1 | grep -c '^gc ')
	sleep 2.2
	curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m"
	k1=$(grep '^bpfwatch_gc_collections_total{runtime="go",generation="mark_termination",comm="kubectl"' "$TMP/m" |
	     awk '{print $2 + 0}')
	# A GC still finishing when kubectl exits may miss its gctrace line.
	d=$((${k1:-0} - ${k0:-0}))
	check "go >= 1.21 ($KREAL, stripped): mark terminations $d = the $gcs GCs gctrace reported (+1)" \
		[ "$gcs" -gt 0 -a "$d" -ge "$gcs" -a "$d" -le $((gcs + 1)) ]
	check "go >= 1.21: sweep terminations labelled by their stwReason too" \
		grep -q '^bpfwatch_gc_collections_total{runtime="go",generation="sweep_termination",comm="kubectl",container=""} ' "$TMP/m"
else
	echo "skip - go >= 1.21 stop-the-world reasons: no Go >= 1.21 binary (kubectl) on this machine"
fi

out=$(promtool check metrics < "$TMP/m" 2>&1)
check "promtool check metrics passes $out" [ $? = 0 ]
# A runtime attached mid-pause (the JVM, found a tick after its exec) may
# show an end without its begin: counted, not an error of the test.
check "pause ends without their begin are exported" \
	grep -qE '^bpfwatch_probe_errors_total\{probe="gc",reason="end_without_begin"\} [0-9]+$' "$TMP/m"

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0" [ $rc = 0 ]

# --- targets: the shared selector filters in the kernel --------------------
# Two interpreters, one selected by comm: only its collections count, the
# other's are filtered (and counted as such).
PORT=${E2E_PORT2:-19646}
cat > "$TMP/targets.yml" <<EOC
global:
  collection_interval: 1s
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
probes:
  runqueue_latency: { enabled: false }
  block_io_latency: { enabled: false }
  gc:
    runtimes: [python]
    targets: { comm: "^bwgc-yes$" }
EOC
"$BIN" run --config "$TMP/targets.yml" >"$TMP/agent2.log" 2>&1 &
AGENT=$!
check "agent with gc targets becomes ready" wait_http "http://127.0.0.1:$PORT/-/ready" 30
rm -f "$TMP/py.go"
pys=""
for n in yes no; do
	"$PY" "$HERE/gc/gc_workload.py" bwgc-$n 6 0 0 "$TMP/py-$n.ready" "$TMP/py.go" 1 \
		>"$TMP/py-$n.out" 2>&1 &
	pys="$pys $!"
done
# the selector is applied at the tick after the rename
wait_metric 3 '^bpfwatch_probe_targets\{probe="gc"\} 1$'
check "gc targets: one process selected" [ $? = 0 ]
touch "$TMP/py.go"
# shellcheck disable=SC2086 # two pids
wait $pys
sleep 2.2
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m2"
check "gc targets: the selected interpreter's 6 collections counted" \
	grep -q '^bpfwatch_gc_collections_total{runtime="python",generation="0",comm="bwgc-yes",container=""} 6$' "$TMP/m2"
check "gc targets: the other one's not" \
	bash -c '! grep -q "comm=\"bwgc-no\"" "$1"' _ "$TMP/m2"
filtered=$(grep '^bpfwatch_probe_filtered_events_total{probe="gc"} ' "$TMP/m2" | awk '{print $2}')
check "gc targets: its 6 begins counted as filtered (got ${filtered:-none})" [ "${filtered:-0}" -ge 6 ]
kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent with gc targets exits 0" [ $rc = 0 ]
if [ $fails != 0 ]; then
	grep -v '^$' "$TMP/agent.log" "$TMP/agent2.log"; cat "$TMP/py.out" "$TMP/java.out" "$TMP/rb.out" "$TMP/go.out"
	grep -E 'gc' "$TMP/m" | grep -v _bucket
	exit 1
fi
echo "all gc checks passed"
