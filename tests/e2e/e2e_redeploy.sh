#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A probes.functions binary that is deployed after the agent started, then
# replaced by a new version (a new inode: the old uprobes would not see
# it), then removed: the agent notices each change within a tick, attaches
# again, keeps what it had counted, and says so in the log and in
# bpfwatch_function_attached.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
FUNCS=$(realpath "$OUT/workloads/funcs")
PORT=${E2E_PORT:-19485}
URL="http://127.0.0.1:$PORT"
TMP=$(mktemp -d /tmp/bpfwatch-redeploy.XXXXXX)
APP=$TMP/app/server
AGENT=""
fails=0
cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/app"
cat > "$TMP/bpfwatch.yml" <<EOF
global:
  collection_interval: 1s
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
probes:
  runqueue_latency: { enabled: false }
  block_io_latency: { enabled: false }
  functions:
    - binary: $APP
      symbol: bw_sleep_1ms
EOF

scrape() { curl -s "$URL/metrics" > "$TMP/m"; }
attached() {	# the value of bpfwatch_function_attached for the entry
	sed -n "s/^bpfwatch_function_attached{function=\"bw_sleep_1ms\",binary=\"[^\"]*\",attach_type=\"[^\"]*\",reason=\"\([^\"]*\)\"} \([01]\)$/\2 \1/p" "$TMP/m"
}
calls() {
	awk -v s="bpfwatch_function_calls_total{function=\"bw_sleep_1ms\",binary=\"$APP\",comm=\"bw-app\",container=\"\"}" \
		'index($0, s " ") == 1 { print $2 }' "$TMP/m"
}
wait_attached() {	# wait_attached 0|1 SECONDS
	local i
	for i in $(seq 1 "$2"); do
		scrape
		[ "$(attached | cut -d' ' -f1)" = "$1" ] && return 0
		sleep 1
	done
	return 1
}
wait_calls() {	# wait_calls N SECONDS: until the counter reaches N
	local i
	for i in $(seq 1 "$2"); do
		scrape
		[ "$(calls)" ] && [ "$(calls)" -ge "$1" ] && return 0
		sleep 1
	done
	return 1
}

"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready without the binary" wait_http "$URL/-/ready" 30
scrape
check "entry reported not attached, binary missing ($(attached))" \
	grep -q "^0 binary '$APP': No such file or directory" <<<"$(attached)"

# deploy: the binary appears
cp "$FUNCS" "$APP"
check "deployed binary attached within a few ticks" wait_attached 1 10
check "the log says it appeared" grep -q "function bw_sleep_1ms: binary $APP appeared: attached" "$TMP/agent.log"
"$APP" -n bw-app sleep1 50 >/dev/null
check "its 50 calls are counted ($(calls))" wait_calls 50 10

# redeploy: a new file renamed over the old one (new inode)
cp "$FUNCS" "$APP.new"
mv "$APP.new" "$APP"
for _ in $(seq 1 10); do
	grep -q "binary $APP was replaced: attached" "$TMP/agent.log" && break
	sleep 1
done
check "the replacement is noticed and attached" grep -q "function bw_sleep_1ms: binary $APP was replaced: attached" "$TMP/agent.log"
"$APP" -n bw-app sleep1 30 >/dev/null
check "calls of the new binary are counted on top ($(calls))" wait_calls 80 10

# removal
rm -f "$APP"
check "removed binary reported not attached" wait_attached 0 10
check "the log says it is gone" grep -q "function bw_sleep_1ms: binary $APP is gone: not attached" "$TMP/agent.log"
scrape
check "what was counted stays ($(calls))" [ "$(calls)" -ge 80 ]

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0 (exit $rc)" [ $rc = 0 ]
if [ $fails != 0 ]; then
	echo "--- agent log"; cat "$TMP/agent.log"
	grep bw_sleep_1ms "$TMP/m"
	echo "$fails check(s) failed"
	exit 1
fi
echo "all redeploy checks passed"
