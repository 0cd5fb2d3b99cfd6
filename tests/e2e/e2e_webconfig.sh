#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# --web.config.file end to end: the agent serves /metrics over TLS with
# basic auth (bcrypt) in the exporter-toolkit format; curl and a real
# Prometheus with the right credentials get in, without them they are
# refused (401), plain HTTP gets nowhere; a bad web config stops the agent
# with file:line:col before anything is attached.
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
PORT=${E2E_PORT:-19484}
PROM_PORT=${E2E_PROM_PORT:-19491}
TMP=$(mktemp -d /tmp/bpfwatch-web.XXXXXX)
URL="https://127.0.0.1:$PORT"
AGENT=""
PROM=""
fails=0
cleanup() {
	for pid in $PROM $AGENT; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

# A self-signed certificate for 127.0.0.1 and a bcrypt hash, as a user
# would make them (openssl; htpasswd -B does the same as crypt here).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bpfwatch-e2e" \
	-addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$TMP/tls.key" -out "$TMP/tls.crt" 2>"$TMP/openssl.log"
check "test certificate made" test -s "$TMP/tls.crt"
HASH=$(/usr/bin/python3 -W ignore -c \
	'import crypt; print(crypt.crypt("scrape-pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))')
check "bcrypt hash made ($HASH)" grep -q '^\$2b\$10\$' <<<"$HASH"
cat > "$TMP/web.yml" <<EOF
tls_server_config:
  cert_file: tls.crt          # relative to this file
  key_file: tls.key
  min_version: TLS12
basic_auth_users:
  prometheus: '$HASH'
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
EOF
cat > "$TMP/bpfwatch.yml" <<EOF
global:
  collection_interval: 1s
web:
  listen_address: 127.0.0.1:$PORT
state_dir: $TMP/state
probes:
  block_io_latency: { enabled: false }
EOF

# --- bad web configs: clear errors, nothing started ----------------------
printf 'basic_auth_users:\n  prometheus: plain-text\n' > "$TMP/bad.yml"
out=$("$BIN" run --config "$TMP/bpfwatch.yml" --web.config.file "$TMP/bad.yml" 2>&1); rc=$?
check "a plain-text password is refused (exit $rc)" [ $rc = 2 ]
check "with file:line:col ($out)" grep -q "$TMP/bad.yml:2:15: basic_auth_users: prometheus: expected a bcrypt hash" <<<"$out"
printf 'tls_server_config:\n  cert_file: tls.crt\n  key_file: missing.key\n' > "$TMP/bad.yml"
out=$("$BIN" run --config "$TMP/bpfwatch.yml" --web.config.file "$TMP/bad.yml" 2>&1); rc=$?
check "a missing key file is refused (exit $rc): $out" \
	grep -q "$TMP/bad.yml:3:13: key_file '$TMP/missing.key': No such file or directory" <<<"$out"
printf 'tls_server_config:\n  cert_file: tls.key\n  key_file: tls.crt\n' > "$TMP/swapped.yml"
out=$("$BIN" run --config "$TMP/bpfwatch.yml" --web.config.file "$TMP/swapped.yml" 2>&1); rc=$?
check "certificate and key swapped: refused (exit $rc)" [ $rc != 0 ]

# --- the agent over TLS with basic auth ------------------------------------
"$BIN" run --config "$TMP/bpfwatch.yml" --web.config.file "$TMP/web.yml" \
	>"$TMP/agent.log" 2>&1 &
AGENT=$!
code() {	# code ARGS...: the HTTP status curl gets
	curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' "$@"
}
ready=""
for _ in $(seq 1 100); do
	ready=$(code --cacert "$TMP/tls.crt" -u prometheus:scrape-pw "$URL/-/ready")
	[ "$ready" = 200 ] && break
	sleep 0.2
done
check "ready over TLS with the right credentials ($ready)" [ "$ready" = 200 ]
c=$(code --cacert "$TMP/tls.crt" -u prometheus:scrape-pw "$URL/metrics")
check "GET /metrics with the right credentials: 200 ($c)" [ "$c" = 200 ]
check "and it is the exposition" grep -q '^bpfwatch_build_info{' "$TMP/body"
check "configured header sent" grep -qi '^X-Content-Type-Options: nosniff' "$TMP/headers"
c=$(code --cacert "$TMP/tls.crt" "$URL/metrics")
check "no credentials: 401 ($c)" [ "$c" = 401 ]
check "with a Basic challenge" grep -qi '^WWW-Authenticate: Basic realm="bpfwatch"' "$TMP/headers"
c=$(code --cacert "$TMP/tls.crt" -u prometheus:wrong "$URL/metrics")
check "wrong password: 401 ($c)" [ "$c" = 401 ]
c=$(code --cacert "$TMP/tls.crt" -u nobody:scrape-pw "$URL/metrics")
check "unknown user: 401 ($c)" [ "$c" = 401 ]
c=$(code --cacert "$TMP/tls.crt" -u prometheus:scrape-pw "$URL/-/healthy")
check "health behind the same auth ($c)" [ "$c" = 200 ]
c=$(curl -s -o /dev/null -w '%{http_code}' -u prometheus:scrape-pw "http://127.0.0.1:$PORT/metrics")
check "plain HTTP gets no page ($c)" [ "$c" != 200 ]
c=$(code --tls-max 1.1 -k -u prometheus:scrape-pw "$URL/metrics" 2>/dev/null)
check "TLS 1.1 refused with min_version TLS12 ($c)" [ "$c" != 200 ]

# --- a real Prometheus: with credentials up, without them down -------------
cat > "$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: with-auth
    scheme: https
    tls_config: { ca_file: $TMP/tls.crt }
    basic_auth: { username: prometheus, password: scrape-pw }
    static_configs: [ { targets: ['127.0.0.1:$PORT'] } ]
  - job_name: without-auth
    scheme: https
    tls_config: { ca_file: $TMP/tls.crt }
    static_configs: [ { targets: ['127.0.0.1:$PORT'] } ]
EOF
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 &
PROM=$!
q() { curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"; }
up1="" up0=""
for _ in $(seq 1 60); do
	up1=$(q 'up{job="with-auth"}')
	up0=$(q 'up{job="without-auth"}')
	grep -q '"value":\[[0-9.]*,"1"\]' <<<"$up1" &&
		grep -q '"value":\[[0-9.]*,"0"\]' <<<"$up0" && break
	sleep 0.5
done
check "Prometheus with the credentials scrapes: up == 1 ($up1)" grep -q '"value":\[[0-9.]*,"1"\]' <<<"$up1"
check "Prometheus without them is refused: up == 0 ($up0)" grep -q '"value":\[[0-9.]*,"0"\]' <<<"$up0"
v=$(q 'bpfwatch_build_info{job="with-auth"}')
check "and stores the agent's series ($v)" grep -q '"version"' <<<"$v"
kill "$PROM"; wait "$PROM" 2>/dev/null; PROM=""

kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0 on SIGTERM (exit $rc)" [ $rc = 0 ]
if [ $fails != 0 ]; then
	echo "--- agent log"; cat "$TMP/agent.log"
	echo "--- prometheus log"; tail -20 "$TMP/prometheus.log"
	echo "$fails check(s) failed"
	exit 1
fi
echo "all web config checks passed"
