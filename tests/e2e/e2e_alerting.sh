#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Alerts from the agent to a real Alertmanager, end to end: a rule on a
# real probe signal (syscall latency of a process sleeping 10 ms at a
# time) fires in the agent and Alertmanager's own API shows it with its
# labels, the external labels and its annotations; the condition clears
# and Alertmanager sees it resolved.  Then durability: the alert fires
# while Alertmanager is down and arrives once it is back; the agent is
# SIGKILLed with the notification spooled, and after a restart it arrives.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
SLEEPER=$OUT/workloads/sleeper
PORT=${E2E_PORT:-19487}
AM_PORT=${E2E_AM_PORT:-19493}
URL="http://127.0.0.1:$PORT"
AMURL="http://127.0.0.1:$AM_PORT"
AM=prometheus-alertmanager
TMP=$(mktemp -d /tmp/bpfwatch-alerting.XXXXXX)
AGENT=""
AMPID=""
SLEEPERPID=""
fails=0
cleanup() {
	for pid in $AGENT $AMPID $SLEEPERPID; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

if ! command -v "$AM" >/dev/null 2>&1; then
	echo "FAIL - $AM not found: scripts/install-deps.sh installs prometheus-alertmanager"
	exit 1
fi
cat > "$TMP/am.yml" <<EOF
route:
  receiver: blackhole
  group_wait: 1h
receivers:
  - name: blackhole
EOF
start_am() {
	"$AM" --config.file="$TMP/am.yml" --storage.path="$TMP/am" \
		--cluster.listen-address= --web.listen-address="127.0.0.1:$AM_PORT" \
		>>"$TMP/am.log" 2>&1 &
	AMPID=$!
}
stop_am() {
	kill "$AMPID" 2>/dev/null
	wait "$AMPID" 2>/dev/null
	AMPID=""
}
# am_alert NAME: Alertmanager's view of alert NAME (JSON array)
am_alert() {
	curl -s -G "$AMURL/api/v2/alerts" --data-urlencode "filter=alertname=\"$1\""
}
am_has() {	# am_has NAME SECONDS: until Alertmanager shows NAME active
	local i
	for i in $(seq 1 "$2"); do
		am_alert "$1" | grep -q '"state":"active"' && return 0
		sleep 1
	done
	return 1
}
am_gone() {	# am_gone NAME SECONDS: until NAME is no longer active there
	local i
	for i in $(seq 1 "$2"); do
		am_alert "$1" | grep -q '"state":"active"' || return 0
		sleep 1
	done
	return 1
}

cat > "$TMP/rules.yml" <<'EOF'
groups:
  - name: sleepers
    interval: 1s
    rules:
      - alert: SleeperSleeps
        expr: sum by (comm) (rate(bpfwatch_syscall_latency_seconds_count{comm="bw-alert-sleep",syscall="clock_nanosleep"}[5s])) > 10
        for: 2s
        labels: { severity: ticket }
        annotations:
          summary: "{{ $labels.comm }} sleeps {{ $value | humanize }} times a second"
EOF
cat > "$TMP/bpfwatch.yml" <<EOF
global:
  collection_interval: 1s
  evaluation_interval: 1s
  external_labels: { cluster: e2e }
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
rule_files: [ rules.yml ]
alerting:
  alertmanagers:
    - url: $AMURL
      timeout: 2s
  delivery:
    backoff_initial: 200ms
    backoff_max: 2s
    breaker_cooldown: 1s
probes:
  block_io_latency: { enabled: false }
  syscall_latency:
    enabled: true
    targets: { comm: "^bw-alert" }
EOF
out=$("$BIN" check config "$TMP/bpfwatch.yml" 2>&1)
check "config with alerting is valid ($out)" [ $? = 0 ]

start_am
check "alertmanager ready" wait_http "$AMURL/-/ready" 30
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent ready" wait_http "$URL/-/ready" 30

# --- fires, arrives, resolves ----------------------------------------------
"$SLEEPER" "$(hexname bw-alert-sleep)" 600 10 "$TMP" >/dev/null &
SLEEPERPID=$!
check "Alertmanager shows SleeperSleeps" am_has SleeperSleeps 40
a=$(am_alert SleeperSleeps)
check "with the rule's labels and the external labels ($a)" /usr/bin/python3 -c '
import json, sys
a = json.loads(sys.argv[1])[0]
assert a["labels"] == {"alertname": "SleeperSleeps", "comm": "bw-alert-sleep",
                       "severity": "ticket", "cluster": "e2e"}, a["labels"]
assert a["annotations"]["summary"].startswith("bw-alert-sleep sleeps "), a["annotations"]
assert a["annotations"]["summary"].endswith(" times a second")' "$a"
# the counter moves when the agent has read the answer: poll
metric_grep() {	# metric_grep ERE SECONDS: until a line of /metrics matches
	local i
	for i in $(seq 1 "$2"); do
		curl -s "$URL/metrics" > "$TMP/m"
		grep -Eq "$1" "$TMP/m" && return 0
		sleep 1
	done
	return 1
}
check "sent counted" metric_grep "^bpfwatch_notifications_sent_total\{destination=\"$AMURL/api/v2/alerts\"\} [1-9]" 10
check "destination up" grep -q "^bpfwatch_alertmanager_up{destination=\"$AMURL/api/v2/alerts\"} 1" "$TMP/m"
kill "$SLEEPERPID"; wait "$SLEEPERPID" 2>/dev/null; SLEEPERPID=""
check "resolved in Alertmanager once the sleeper stops" am_gone SleeperSleeps 40

# --- Alertmanager down while the alert fires --------------------------------
stop_am
"$SLEEPER" "$(hexname bw-alert-sleep)" 600 10 "$TMP" >/dev/null &
SLEEPERPID=$!
for _ in $(seq 1 40); do
	curl -s "$URL/api/v1/alerts" | grep -q '"state":"firing"' && break
	sleep 1
done
check "the agent fires while Alertmanager is down" bash -c 'curl -s "$1/api/v1/alerts" | grep -q "\"state\":\"firing\""' _ "$URL"
sleep 3
curl -s "$URL/metrics" > "$TMP/m"
check "and counts failed attempts" grep -Eq "^bpfwatch_notifications_failed_total\{destination=\"$AMURL/api/v2/alerts\"\} [1-9]" "$TMP/m"
rm -rf "$TMP/am"
start_am
check "after Alertmanager is back (empty storage), the alert arrives" am_has SleeperSleeps 40

# --- SIGKILL with the notification spooled ----------------------------------
kill "$SLEEPERPID"; wait "$SLEEPERPID" 2>/dev/null; SLEEPERPID=""
check "resolved again" am_gone SleeperSleeps 40
check "nothing left to send" metric_grep "^bpfwatch_notifications_queue_length\{destination=\"$AMURL/api/v2/alerts\"\} 0$" 20
stop_am
"$SLEEPER" "$(hexname bw-alert-sleep)" 600 10 "$TMP" >/dev/null &
SLEEPERPID=$!
for _ in $(seq 1 40); do
	curl -s "$URL/api/v1/alerts" | grep -q '"state":"firing"' && break
	sleep 1
done
check "firing again with Alertmanager down" bash -c 'curl -s "$1/api/v1/alerts" | grep -q "\"state\":\"firing\""' _ "$URL"
check "a notification waits in the spool" \
	metric_grep "^bpfwatch_notifications_queue_length\{destination=\"$AMURL/api/v2/alerts\"\} [1-9]" 20
kill -KILL "$AGENT"; wait "$AGENT" 2>/dev/null; AGENT=""
kill "$SLEEPERPID"; wait "$SLEEPERPID" 2>/dev/null; SLEEPERPID=""
rm -rf "$TMP/am"
start_am
check "alertmanager back" wait_http "$AMURL/-/ready" 30
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent2.log" 2>&1 &
AGENT=$!
check "after the restart, the spooled alert arrives" am_has SleeperSleeps 30
check "the agent said it replayed its spool" grep -q "notifications replayed from the spool" "$TMP/agent2.log"

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0 (exit $rc)" [ $rc = 0 ]
if [ $fails != 0 ]; then
	echo "--- agent log"; cat "$TMP/agent.log"
	echo "--- agent log (restart)"; cat "$TMP/agent2.log" 2>/dev/null
	echo "--- alertmanager log"; tail -20 "$TMP/am.log"
	echo "$fails check(s) failed"
	exit 1
fi
echo "all alerting checks passed"
