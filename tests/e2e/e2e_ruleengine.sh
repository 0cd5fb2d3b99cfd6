#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rule engine inside the agent, end to end: a rule file with a
# recording rule and an alert on a real probe signal (syscall latency of a
# process sleeping 10 ms at a time), evaluated by the agent and, from the
# same file, by a real Prometheus scraping the agent: both fire the same
# alert with the same labels and annotations.  Then the API shapes, a
# reload that fails (old rules kept), one that works, and a restart that
# keeps a pending alert's clock.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
SLEEPER=$OUT/workloads/sleeper
PORT=${E2E_PORT:-19486}
PROM_PORT=${E2E_PROM_PORT:-19492}
URL="http://127.0.0.1:$PORT"
TMP=$(mktemp -d /tmp/bpfwatch-rules.XXXXXX)
AGENT=""
PROM=""
SLEEPERPID=""
fails=0
cleanup() {
	for pid in $PROM $AGENT $SLEEPERPID; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

cat > "$TMP/rules.yml" <<'EOF'
groups:
  - name: sleepers
    interval: 2s
    rules:
      - record: comm:syscall_latency_seconds:rate10s
        expr: sum by (comm) (rate(bpfwatch_syscall_latency_seconds_sum{syscall="clock_nanosleep"}[10s]))
      - alert: SleeperSleeps
        expr: sum by (comm) (rate(bpfwatch_syscall_latency_seconds_count{comm="bw-rules-sleep",syscall="clock_nanosleep"}[10s])) > 10
        for: 4s
        labels: { severity: ticket }
        annotations:
          summary: "{{ $labels.comm }} sleeps {{ $value | humanize }} times a second"
      - alert: NeverFires
        expr: absent(bpfwatch_build_info) == 1
        for: 1h
      - alert: LongPending
        expr: count(bpfwatch_build_info) == 1
        for: 1h
EOF
cat > "$TMP/bpfwatch.yml" <<EOF
global:
  collection_interval: 1s
  evaluation_interval: 2s
  external_labels: { cluster: e2e }
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
rule_files: [ rules.yml ]
probes:
  block_io_latency: { enabled: false }
  syscall_latency:
    enabled: true
    targets: { comm: "^bw-rules" }
EOF

out=$(promtool check rules "$TMP/rules.yml" 2>&1)
check "promtool accepts the rule file ($out)" [ $? = 0 ]

# --- a bad rule file stops the start with file:line:col -------------------
cp "$TMP/rules.yml" "$TMP/good.yml"
printf 'groups:\n  - name: x\n    rules:\n      - alert: Bad\n        expr: rate(foo[5m]\n' > "$TMP/rules.yml"
out=$("$BIN" run --config "$TMP/bpfwatch.yml" 2>&1); rc=$?
check "a rule file with a PromQL error stops the agent (exit $rc)" [ $rc = 2 ]
check "naming file:line:col ($out)" grep -q "$TMP/rules.yml:5:" <<<"$out"
cp "$TMP/good.yml" "$TMP/rules.yml"

"$SLEEPER" "$(hexname bw-rules-sleep)" 600 10 "$TMP" >/dev/null &
SLEEPERPID=$!
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready with rules" wait_http "$URL/-/ready" 30

cat > "$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 2s
  external_labels: { cluster: e2e }
rule_files: [ $TMP/rules.yml ]
scrape_configs:
  - job_name: bpfwatch
    static_configs: [ { targets: ['127.0.0.1:$PORT'] } ]
EOF
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
PROM=$!

# alerts of a server as sorted "labels | annotations | state" lines
alerts_of() {
	curl -s "$1/api/v1/alerts" | /usr/bin/python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]["alerts"]:
    print(json.dumps(a["labels"], sort_keys=True), "|",
          sorted(a["annotations"]), "|", a["state"])' | sort
}
firing() {	# firing URL: the SleeperSleeps alert is firing there
	alerts_of "$1" | grep -q '"alertname": "SleeperSleeps".*| firing$'
}
wait_firing() {
	local i
	for i in $(seq 1 "$2"); do
		firing "$1" && return 0
		sleep 1
	done
	return 1
}
check "the agent fires SleeperSleeps" wait_firing "$URL" 40
check "Prometheus fires it too, from the same file" wait_firing "http://127.0.0.1:$PROM_PORT" 60
a=$(alerts_of "$URL" | grep SleeperSleeps)
p=$(alerts_of "http://127.0.0.1:$PROM_PORT" | grep SleeperSleeps)
check "same labels and annotation names in both ($a) ($p)" [ -n "$a" -a "$a" = "$p" ]
s=$(curl -s "$URL/api/v1/alerts")
check "summary templated with humanize ($s)" grep -Eq '"summary":"bw-rules-sleep sleeps [0-9.]+ times a second"' <<<"$s"
q=$(curl -s "$URL/api/v1/query" --data-urlencode 'query=ALERTS{alertname="SleeperSleeps"}')
check "ALERTS series with alertstate=firing ($q)" grep -q '"alertstate":"firing"' <<<"$q"
q=$(curl -s "$URL/api/v1/query" --data-urlencode 'query=comm:syscall_latency_seconds:rate10s{comm="bw-rules-sleep"}')
check "recording rule queryable: about 1 s of sleep per second ($q)" \
	/usr/bin/python3 -c 'import json,sys; r=json.loads(sys.argv[1])["data"]["result"]; sys.exit(not (len(r)==1 and 0.5 < float(r[0]["value"][1]) < 1.5))' "$q"
curl -s "$URL/metrics" > "$TMP/m"
check "recording and ALERTS series stay out of /metrics" bash -c '! grep -Eq "^(ALERTS|comm:)" "$1"' _ "$TMP/m"
check "rule group metrics exported" grep -q '^bpfwatch_rule_group_iterations_total{file="'"$TMP"'/rules.yml",rule_group="sleepers"} [1-9]' "$TMP/m"
r=$(curl -s "$URL/api/v1/rules")
check "/api/v1/rules: healthy, NeverFires inactive" /usr/bin/python3 -c '
import json, sys
g = json.loads(sys.argv[1])["data"]["groups"][0]
rules = {r["name"]: r for r in g["rules"]}
assert g["name"] == "sleepers" and g["interval"] == 2
assert all(r["health"] == "ok" for r in g["rules"]), g
assert rules["NeverFires"]["state"] == "inactive"
assert rules["LongPending"]["state"] == "pending"
assert rules["SleeperSleeps"]["state"] == "firing"
assert rules["comm:syscall_latency_seconds:rate10s"]["type"] == "recording"' "$r"
e=$(curl -s "$URL/api/v1/query" --data-urlencode 'query=sum(rate(x[5m]) by')
check "a bad query is a 400 with the position ($e)" grep -q '"errorType":"bad_data","error":"1:' <<<"$e"

# --- reload ------------------------------------------------------------------
printf 'groups:\n  - name: sleepers\n    rules:\n      - alert: x\n        expr: up ==\n' > "$TMP/rules.yml"
kill -HUP "$AGENT"
sleep 2
curl -s "$URL/metrics" > "$TMP/m"
check "a bad reload is reported" grep -q '^bpfwatch_rules_last_reload_successful 0' "$TMP/m"
check "and logged with the position" grep -q "rules: SIGHUP: reload failed" "$TMP/agent.log"
check "and the old rules keep firing" firing "$URL"
cp "$TMP/good.yml" "$TMP/rules.yml"
cat >> "$TMP/rules.yml" <<'EOF'
  - name: added
    rules:
      - record: agent:build_info:count
        expr: count(bpfwatch_build_info)
EOF
c=$(curl -s -o "$TMP/reload.out" -w '%{http_code}' -X POST "$URL/-/reload")
check "POST /-/reload with a good file: 200 ($c)" [ "$c" = 200 ]
check "the alert survived the reload" firing "$URL"
r=$(curl -s "$URL/api/v1/rules")
check "the new group is there" grep -q '"name":"added"' <<<"$r"

# --- restart keeps the pending clock -----------------------------------------
# LongPending (for: 1h) has been pending since the first evaluation.  A
# restart must not reset its clock: Prometheus' rule (RestoreForState)
# moves ActiveAt forward by the downtime, so the time spent pending
# carries over.
pending_s() {	# seconds LongPending has been pending, by the agent's activeAt
	curl -s "$URL/api/v1/alerts" | /usr/bin/python3 -c '
import json, sys, datetime
for a in json.load(sys.stdin)["data"]["alerts"]:
    if a["labels"]["alertname"] == "LongPending":
        t = datetime.datetime.strptime(a["activeAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
        print(int((datetime.datetime.utcnow() - t).total_seconds()))'
}
sleep 3
before=$(pending_s)
check "LongPending has been pending a while ($before s)" [ -n "$before" ] && [ "$before" -ge 10 ]
kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0 (exit $rc)" [ $rc = 0 ]
check "alert state saved in state_dir" test -s "$TMP/state/alerts.state"
sleep 3
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent2.log" 2>&1 &
AGENT=$!
check "agent ready again" wait_http "$URL/-/ready" 30
after=""
for _ in $(seq 1 20); do
	after=$(pending_s)
	[ -n "$after" ] && break
	sleep 0.5
done
check "restart kept the time spent pending ($before s before, $after s after)" \
	[ -n "$after" ] && [ "$after" -ge "$before" ]
check "and said so" grep -q "LongPending: restored the pending time of 1 alert" "$TMP/agent2.log"

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0 again (exit $rc)" [ $rc = 0 ]
if [ $fails != 0 ]; then
	echo "--- agent log"; cat "$TMP/agent.log"
	echo "--- agent log (restart)"; cat "$TMP/agent2.log" 2>/dev/null
	echo "--- prometheus log"; tail -20 "$TMP/prometheus.log"
	echo "$fails check(s) failed"
	exit 1
fi
echo "all rule engine checks passed"
