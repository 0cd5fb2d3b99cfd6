#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Durable alert delivery end to end, with the real peers: two Debian
# prometheus-alertmanager instances and a webhook receiver (python3),
# fed by tests/integration/notify_driver (the dispatcher in its own epoll
# loop, as the agent will run it).
#   - a firing alert reaches both Alertmanagers (checked through their own
#     GET /api/v2/alerts) with its labels, the external labels and its
#     annotations; the webhook gets the version 4 payload whose
#     fingerprint is the one Alertmanager computes
#   - the resolved alert ends it (gone from the active alerts)
#   - Alertmanager down while an alert is enqueued, back a few seconds
#     later: the alert arrives (backoff and retry), and the other
#     destinations were not held up meanwhile
#   - the driver SIGKILLed with a notification spooled but not delivered,
#     restarted on the same spool: the notification arrives
#   - HTTPS with a CA file, basic auth with a password file, a bearer
#     token file reach the receiver as configured; a 400 is dropped as
#     permanent and counted, not retried
#   - a destination that accepts connections and never answers times out
#     and is retried while the others deliver
#   - a bad configuration is refused with file:line:col
# Pass/fail never depends on timing: everything is polled with generous
# timeouts.
set -u
OUT=${OUT:-.output/release}
DRIVER=$OUT/integration/notify_driver
AM1_PORT=${E2E_AM1_PORT:-19650}
AM2_PORT=${E2E_AM2_PORT:-19651}
HOOK_PORT=${E2E_HOOK_PORT:-19652}
TLS_PORT=${E2E_TLS_PORT:-19653}
HANG_PORT=${E2E_HANG_PORT:-19654}
AM=${ALERTMANAGER:-prometheus-alertmanager}
TMP=$(mktemp -d /tmp/bpfwatch-notify.XXXXXX)
AM1="" AM2="" HOOK="" TLSHOOK="" HANG="" DRV=""
fails=0
cleanup() {
	for pid in $DRV $AM1 $AM2 $HOOK $TLSHOOK $HANG; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

if [ ! -x "$DRIVER" ]; then
	echo "FAIL - $DRIVER missing: run 'make build-tests'"
	exit 1
fi
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
start_am() {	# start_am PORT: prints the pid
	"$AM" --config.file="$TMP/am.yml" --storage.path="$TMP/am-$1" \
		--cluster.listen-address= --web.listen-address="127.0.0.1:$1" \
		>>"$TMP/am-$1.log" 2>&1 &
	echo $!
}
AM1=$(start_am "$AM1_PORT")
AM2=$(start_am "$AM2_PORT")
check "alertmanager 1 ready" wait_http "http://127.0.0.1:$AM1_PORT/-/ready" 30
check "alertmanager 2 ready" wait_http "http://127.0.0.1:$AM2_PORT/-/ready" 30

# The webhook receiver: records every POST body and its headers.
mkdir "$TMP/hook"
cat > "$TMP/hook.py" <<'EOF'
# hook.py PORT DIR [CERT KEY]: records every POST (path, headers, body);
# paths starting with /reject get 400.  HTTPS when CERT and KEY are given.
import http.server, os, ssl, sys
out = sys.argv[2]
count = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        count[0] += 1
        base = os.path.join(out, '%05d' % count[0])
        with open(base + '.headers', 'w') as f:
            f.write('Path: %s\n%s' % (self.path, self.headers))
        with open(base + '.tmp', 'wb') as f:
            f.write(body)
        os.rename(base + '.tmp', base + '.json')
        code = 400 if self.path.startswith('/reject') else 200
        reply = b'invalid alert (test)' if code == 400 else b''
        self.send_response(code)
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *args):
        pass
srv = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
/usr/bin/python3 "$TMP/hook.py" "$HOOK_PORT" "$TMP/hook" 2>"$TMP/hook.log" &
HOOK=$!
check "webhook receiver ready" wait_http "http://127.0.0.1:$HOOK_PORT/" 30

cat > "$TMP/notify.yml" <<EOF
global:
  external_labels: { cluster: e2e-eu, replica: a }
alerting:
  external_url: http://bpfwatch.e2e:9477
  alertmanagers:
    - url: http://127.0.0.1:$AM1_PORT
      timeout: 5s
    - url: http://127.0.0.1:$AM2_PORT/
      timeout: 5s
  webhooks:
    - url: http://127.0.0.1:$HOOK_PORT/hook
      headers: { X-Bpfwatch-Test: e2e-header }
      timeout: 5s
  delivery:
    backoff_initial: 200ms
    backoff_max: 2s
    breaker_failures: 3
    breaker_cooldown: 2s
EOF

# --- a bad configuration: file:line:col, nothing sent ----------------------
sed 's/timeout: 5s/timeout: soon/' "$TMP/notify.yml" > "$TMP/bad.yml"
out=$("$DRIVER" -c "$TMP/bad.yml" -s "$TMP/bad-spool" 'alertname=x' 2>&1); rc=$?
check "bad timeout refused (exit $rc)" [ $rc = 2 ]
check "with file:line:col ($out)" grep -q "$TMP/bad.yml:7:16: alerting.alertmanagers\[0\].timeout: expected a duration" <<<"$out"

# alerts NAME PORT: the alerts named NAME that Alertmanager on PORT holds
alerts() {
	curl -s -G "http://127.0.0.1:$2/api/v2/alerts" --data-urlencode "filter=alertname=\"$1\""
}
# has_alert NAME PORT: Alertmanager on PORT shows NAME with every label
has_alert() {
	alerts "$1" "$2" | /usr/bin/python3 -c '
import json, sys
a = json.load(sys.stdin)
sys.exit(0 if len(a) == 1 and a[0]["status"]["state"] == "active" else 1)'
}
wait_for() {	# wait_for SECONDS COMMAND...: poll every 0.2 s
	local n=$(($1 * 5)); shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
# metric FILE NAME{LABELS}: the value of one sample in a metrics file
metric() {
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}
D1="http://127.0.0.1:$AM1_PORT/api/v2/alerts"
D2="http://127.0.0.1:$AM2_PORT/api/v2/alerts"
DH="http://127.0.0.1:$HOOK_PORT/hook"

# --- 1. a firing alert reaches both Alertmanagers and the webhook ---------
"$DRIVER" -c "$TMP/notify.yml" -s "$TMP/spool" -w 60 -m "$TMP/m1" \
	'alertname=BwE2EFiring,severity=page,service=db;summary=latency over budget,runbook=http://runbooks/db' \
	>"$TMP/d1.log" 2>&1; rc=$?
check "driver delivered the firing alert (exit $rc)" [ $rc = 0 ]
check "sent to alertmanager 1" [ "$(metric "$TMP/m1" "bpfwatch_notifications_sent_total{destination=\"$D1\"}")" = 1 ]
check "sent to alertmanager 2" [ "$(metric "$TMP/m1" "bpfwatch_notifications_sent_total{destination=\"$D2\"}")" = 1 ]
check "sent to the webhook" [ "$(metric "$TMP/m1" "bpfwatch_notifications_sent_total{destination=\"$DH\"}")" = 1 ]
check "destinations up" [ "$(metric "$TMP/m1" "bpfwatch_alertmanager_up{destination=\"$D1\"}")" = 1 ]
check "latency histogram counted the request" \
	[ "$(metric "$TMP/m1" "bpfwatch_notification_latency_seconds_count{destination=\"$D1\"}")" = 1 ]
for port in $AM1_PORT $AM2_PORT; do
	wait_for 30 has_alert BwE2EFiring "$port"
	got=$(alerts BwE2EFiring "$port")
	check "alertmanager :$port shows BwE2EFiring active ($got)" has_alert BwE2EFiring "$port"
	check "with its labels and the external labels" /usr/bin/python3 -c '
import json, sys
a = json.loads(sys.argv[1])[0]
want = {"alertname": "BwE2EFiring", "severity": "page", "service": "db",
        "cluster": "e2e-eu", "replica": "a"}
sys.exit(0 if a["labels"] == want else 1)' "$got"
	check "and its annotations and generator URL" /usr/bin/python3 -c '
import json, sys
a = json.loads(sys.argv[1])[0]
ok = a["annotations"] == {"summary": "latency over budget", "runbook": "http://runbooks/db"}
sys.exit(0 if ok and a["generatorURL"] == "http://bpfwatch.test/graph" else 1)' "$got"
done
fp=$(alerts BwE2EFiring "$AM1_PORT" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')
# hook_has NAME STATUS: a webhook body with alert NAME in STATUS
hook_has() {
	/usr/bin/python3 - "$TMP/hook" "$1" "$2" <<'EOF'
import glob, json, sys
for p in sorted(glob.glob(sys.argv[1] + '/*.json')):
    b = json.load(open(p))
    for a in b.get('alerts', []):
        if a['labels'].get('alertname') == sys.argv[2] and a['status'] == sys.argv[3]:
            print(p)
            sys.exit(0)
sys.exit(1)
EOF
}
body=$(hook_has BwE2EFiring firing)
check "webhook received BwE2EFiring ($body)" [ -n "$body" ]
if [ -n "$body" ]; then
	check "v4 payload with Alertmanager's fingerprint ($fp)" /usr/bin/python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
a = b["alerts"][0]
ok = (b["version"] == "4" and b["status"] == "firing" and b["receiver"] == "bpfwatch"
      and b["groupKey"] == "{}:{alertname=\"BwE2EFiring\"}"
      and b["groupLabels"] == {"alertname": "BwE2EFiring"}
      and b["commonLabels"]["cluster"] == "e2e-eu"
      and b["commonAnnotations"]["summary"] == "latency over budget"
      and b["externalURL"] == "http://bpfwatch.e2e:9477"
      and a["fingerprint"] == sys.argv[2] and a["labels"]["service"] == "db"
      and a["startsAt"].endswith("Z") and a["endsAt"].endswith("Z"))
sys.exit(0 if ok else 1)' "$body" "$fp"
	check "with the configured header" grep -qi '^X-Bpfwatch-Test: e2e-header' "${body%.json}.headers"
	check "as JSON" grep -qi '^Content-Type: application/json' "${body%.json}.headers"
fi

# --- 2. resolved ---------------------------------------------------------------
"$DRIVER" -c "$TMP/notify.yml" -s "$TMP/spool" -w 60 -r \
	'alertname=BwE2EFiring,severity=page,service=db;summary=latency over budget,runbook=http://runbooks/db' \
	>"$TMP/d2.log" 2>&1; rc=$?
check "driver delivered the resolved alert (exit $rc)" [ $rc = 0 ]
gone() { [ "$(alerts "$1" "$2")" = "[]" ]; }
for port in $AM1_PORT $AM2_PORT; do
	wait_for 30 gone BwE2EFiring "$port"
	check "alertmanager :$port: BwE2EFiring resolved, no longer active ($(alerts BwE2EFiring "$port"))" \
		gone BwE2EFiring "$port"
done
check "webhook received it resolved" hook_has BwE2EFiring resolved

# --- 3. Alertmanager down while an alert is enqueued --------------------------
kill "$AM1"; wait "$AM1" 2>/dev/null; AM1=""
# three states of the same alert: only the newest is kept and sent
"$DRIVER" -c "$TMP/notify.yml" -s "$TMP/spool" -w 120 -m "$TMP/m3" \
	'alertname=BwE2EOutage,severity=page;summary=state 1' \
	'alertname=BwE2EOutage,severity=page;summary=state 2' \
	'alertname=BwE2EOutage,severity=page;summary=sent during an outage' \
	>"$TMP/d3.log" 2>&1 &
DRV=$!
# the other destinations are not held up by the dead one
wait_for 30 has_alert BwE2EOutage "$AM2_PORT"
check "alertmanager 2 got BwE2EOutage while alertmanager 1 is down" has_alert BwE2EOutage "$AM2_PORT"
check "webhook too" wait_for 30 hook_has BwE2EOutage firing
check "driver still retrying alertmanager 1" kill -0 "$DRV"
# let a few attempts fail (and the breaker open), then bring it back
wait_for 30 grep -q 'retrying' "$TMP/d3.log"
sleep 4
check "attempts failed and were retried ($(grep -c retrying "$TMP/d3.log") logged)" grep -q 'retrying' "$TMP/d3.log"
AM1=$(start_am "$AM1_PORT")
wait_http "http://127.0.0.1:$AM1_PORT/-/ready" 30
wait "$DRV"; rc=$?; DRV=""
check "driver delivered after the outage (exit $rc)" [ $rc = 0 ]
wait_for 30 has_alert BwE2EOutage "$AM1_PORT"
check "alertmanager 1 shows BwE2EOutage after its restart" has_alert BwE2EOutage "$AM1_PORT"
f=$(metric "$TMP/m3" "bpfwatch_notifications_failed_total{destination=\"$D1\"}")
check "failed attempts counted ($f)" [ "${f:-0}" -ge 1 ]
check "then sent" [ "$(metric "$TMP/m3" "bpfwatch_notifications_sent_total{destination=\"$D1\"}")" = 1 ]
check "the two older states superseded, not sent" \
	[ "$(metric "$TMP/m3" "bpfwatch_notifications_superseded_total{destination=\"$D1\"}")" = 2 ]
check "alertmanager 1 has the newest state" grep -q '"summary":"sent during an outage"' \
	<<<"$(alerts BwE2EOutage "$AM1_PORT")"
check "and alertmanager 1 reported up again" [ "$(metric "$TMP/m3" "bpfwatch_alertmanager_up{destination=\"$D1\"}")" = 1 ]
check "nothing dropped" [ "$(metric "$TMP/m3" "bpfwatch_notifications_dropped_total{destination=\"$D1\",reason=\"permanent\"}")" = 0 ]

# --- 4. SIGKILL with a notification spooled, restart on the same spool -------
kill "$AM1"; wait "$AM1" 2>/dev/null; AM1=""
"$DRIVER" -c "$TMP/notify.yml" -s "$TMP/spool" \
	'alertname=BwE2EKilled,severity=ticket;summary=spooled before a crash' \
	>"$TMP/d4.log" 2>&1 &
DRV=$!
wait_for 30 grep -q '^spooled 1' "$TMP/d4.log"
check "driver spooled the alert" grep -q '^spooled 1' "$TMP/d4.log"
# alertmanager 1 is down: its copy cannot have been delivered yet
kill -KILL "$DRV"; wait "$DRV" 2>/dev/null; DRV=""
check "spool segment on disk" ls "$TMP/spool"/*.seg
AM1=$(start_am "$AM1_PORT")
wait_http "http://127.0.0.1:$AM1_PORT/-/ready" 30
check "alertmanager 1 restarted without BwE2EKilled" gone BwE2EKilled "$AM1_PORT"
"$DRIVER" -c "$TMP/notify.yml" -s "$TMP/spool" -w 60 -m "$TMP/m4" >"$TMP/d5.log" 2>&1; rc=$?
check "restarted driver drained the spool (exit $rc)" [ $rc = 0 ]
check "it replayed the spool" grep -q 'replayed from the spool' "$TMP/d5.log"
wait_for 30 has_alert BwE2EKilled "$AM1_PORT"
check "alertmanager 1 shows BwE2EKilled after the replay" has_alert BwE2EKilled "$AM1_PORT"
check "sent by the second driver" [ "$(metric "$TMP/m4" "bpfwatch_notifications_sent_total{destination=\"$D1\"}")" -ge 1 ]
check "spool empty afterwards" [ "$(metric "$TMP/m4" bpfwatch_notification_spool_records)" = 0 ]
check "no torn or corrupt records" [ "$(metric "$TMP/m4" bpfwatch_notification_spool_corrupt_segments_total)" = 0 ]

# --- 5. TLS, basic auth, bearer token; a 4xx is permanent ----------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bpfwatch-e2e" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>"$TMP/openssl.log"
check "test certificate made" test -s "$TMP/tls.crt"
mkdir "$TMP/tls-hook"
/usr/bin/python3 "$TMP/hook.py" "$TLS_PORT" "$TMP/tls-hook" "$TMP/tls.crt" "$TMP/tls.key" \
	2>"$TMP/tls-hook.log" &
TLSHOOK=$!
wait_for 30 curl -sf --cacert "$TMP/tls.crt" -o /dev/null "https://127.0.0.1:$TLS_PORT/"
printf 's3cret-pw\n' > "$TMP/pw"
printf 'tok-123\n' > "$TMP/token"
cat > "$TMP/auth.yml" <<EOF
alerting:
  alertmanagers:
    - url: https://127.0.0.1:$TLS_PORT
      path_prefix: /basic
      tls_config: { ca_file: $TMP/tls.crt }
      basic_auth: { username: bpfwatch, password_file: $TMP/pw }
    - url: https://127.0.0.1:$TLS_PORT
      path_prefix: /bearer
      tls_config: { ca_file: $TMP/tls.crt }
      bearer_token_file: $TMP/token
    - url: https://127.0.0.1:$TLS_PORT
      path_prefix: /reject
      tls_config: { insecure_skip_verify: true }
EOF
"$DRIVER" -c "$TMP/auth.yml" -s "$TMP/auth-spool" -w 60 -m "$TMP/m5" \
	'alertname=BwE2EAuth' >"$TMP/d6.log" 2>&1; rc=$?
check "driver done with the TLS destinations (exit $rc)" [ $rc = 0 ]
hdr() {	# hdr PATH: the headers file of the request to PATH
	grep -l "^Path: $1\$" "$TMP"/tls-hook/*.headers | head -n 1
}
h=$(hdr /basic/api/v2/alerts)
check "basic auth over HTTPS (ca_file) arrived ($h)" [ -n "$h" ]
check "with the password from the file" grep -q "^Authorization: Basic $(printf 'bpfwatch:s3cret-pw' | base64)" "$h"
h=$(hdr /bearer/api/v2/alerts)
check "bearer token over HTTPS arrived ($h)" [ -n "$h" ]
check "with the token from the file" grep -q '^Authorization: Bearer tok-123$' "$h"
check "and the alert in the body" grep -q '"alertname":"BwE2EAuth"' "${h%.headers}.json"
R="https://127.0.0.1:$TLS_PORT/reject/api/v2/alerts"
check "400 counted as a permanent drop" [ "$(metric "$TMP/m5" "bpfwatch_notifications_dropped_total{destination=\"$R\",reason=\"permanent\"}")" = 1 ]
check "and not retried (one request)" [ "$(grep -l '^Path: /reject' "$TMP"/tls-hook/*.headers | wc -l)" = 1 ]
check "logged with the receiver's answer" grep -q 'HTTP 400, 1 notifications dropped (not retried): invalid alert (test)' "$TMP/d6.log"

# --- 6. a destination that never answers stalls nothing -----------------------
# (the kernel completes the handshakes into the backlog; nobody accepts)
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
time.sleep(3600)' "$HANG_PORT" 2>"$TMP/hang.log" &
HANG=$!
cat > "$TMP/hang.yml" <<EOF
alerting:
  alertmanagers:
    - url: http://127.0.0.1:$HANG_PORT
      timeout: 1s
    - url: http://127.0.0.1:$AM2_PORT
  delivery: { backoff_initial: 100ms, backoff_max: 500ms }
EOF
wait_for 30 /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$HANG_PORT"
"$DRIVER" -c "$TMP/hang.yml" -s "$TMP/hang-spool" -m "$TMP/m6" \
	'alertname=BwE2EHang;summary=next to a dead endpoint' >"$TMP/d7.log" 2>&1 &
DRV=$!
wait_for 30 has_alert BwE2EHang "$AM2_PORT"
check "alertmanager 2 got BwE2EHang while the other destination hangs" has_alert BwE2EHang "$AM2_PORT"
wait_for 30 grep -q 'timed out' "$TMP/d7.log"
check "the hanging request timed out and is retried" grep -q 'timed out.*retrying' "$TMP/d7.log"
kill -TERM "$DRV"; wait "$DRV"; rc=$?; DRV=""
check "driver exits 0 on SIGTERM with a transfer in flight (exit $rc)" [ $rc = 0 ]
HD="http://127.0.0.1:$HANG_PORT/api/v2/alerts"
f=$(metric "$TMP/m6" "bpfwatch_notifications_failed_total{destination=\"$HD\"}")
check "timeouts counted as failures ($f)" [ "${f:-0}" -ge 1 ]
check "still queued for it" [ "$(metric "$TMP/m6" "bpfwatch_notifications_queue_length{destination=\"$HD\"}")" = 1 ]
check "and reported down" [ "$(metric "$TMP/m6" "bpfwatch_alertmanager_up{destination=\"$HD\"}")" = 0 ]
kill "$HANG"; wait "$HANG" 2>/dev/null; HANG=""

if [ $fails != 0 ]; then
	for f in "$TMP"/d*.log "$TMP"/am-*.log "$TMP/hook.log"; do
		echo "--- $f"; tail -n 30 "$f"
	done
fi
echo "e2e_notify: $fails failure(s)"
[ $fails = 0 ]
