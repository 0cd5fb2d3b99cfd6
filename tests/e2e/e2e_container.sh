#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Container labels for real: a process moved into a docker-style cgroup
# (/docker/<64 hex>) on the cgroup2 hierarchy shows up with that container
# id; once the cgroup is removed its series go away and the kernel entries
# are freed (bpfwatch_probe_entries_freed_total{reason="cgroup_gone"}).
set -u
OUT=${OUT:-.output/release}
BIN=$OUT/bpfwatch
SLEEPER=$OUT/workloads/sleeper
PORT=${E2E_PORT:-19481}
TMP=$(mktemp -d /tmp/bpfwatch-ctr.XXXXXX)
ID=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
AGENT=""
fails=0

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null
	pkill -f "$TMP" 2>/dev/null
	wait 2>/dev/null
	[ -n "$CG2" ] && rmdir "$CG2/bw-e2e-docker/docker/$ID" "$CG2/bw-e2e-docker/docker" \
		"$CG2/bw-e2e-docker" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

if [ -z "$CG2" ]; then
	echo "FAIL - no cgroup2 hierarchy mounted: cannot test container labels"
	exit 1
fi
CG="$CG2/bw-e2e-docker/docker/$ID"
mkdir -p "$CG" || { echo "FAIL - cannot create $CG"; exit 1; }

# Syscalls are traced by cgroup: only once the workload is in the container.
write_config "$TMP/bpfwatch.yml" "$PORT" "$TMP/state" 'cgroup: /bw-e2e-docker'
"$BIN" run --config "$TMP/bpfwatch.yml" >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent becomes ready" wait_http "http://127.0.0.1:$PORT/-/ready" 30

"$SLEEPER" "$(hexname bw-ctr)" 3 5 "$TMP" &
SP=$!
echo "$SP" > "$CG/cgroup.procs"
check "workload moved into the container cgroup" grep -q "^0::/bw-e2e-docker/docker/$ID\$" /proc/$SP/cgroup
sleep 2.5
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m1"
check "run-queue latency carries the container id" \
	grep -q "^bpfwatch_runqueue_latency_seconds_count{comm=\"bw-ctr\",container=\"$ID\"} [1-9]" "$TMP/m1"
check "the cgroup selector picked the workload up" \
	grep -q '^bpfwatch_probe_targets{probe="syscall_latency"} [1-9]' "$TMP/m1"
check "cgroup-targeted syscall latency carries the container id" \
	grep -q "^bpfwatch_syscall_latency_seconds_count{syscall=\"clock_nanosleep\",comm=\"bw-ctr\",container=\"$ID\"} [1-9]" "$TMP/m1"

wait "$SP"
rmdir "$CG"
sleep 3
curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/m2"
check "series of the removed container are gone" bash -c '! grep -q "container=\"$1\"" "$2"' _ "$ID" "$TMP/m2"
freed=$(grep '^bpfwatch_probe_entries_freed_total{probe="runqueue_latency",reason="cgroup_gone"}' "$TMP/m2" | awk '{print $2}')
check "their kernel entries were freed (cgroup_gone=$freed)" [ "${freed:-0}" -ge 1 ]

grep "bw-ctr" "$TMP/m1" | head -5
kill -TERM "$AGENT"; wait "$AGENT"; rc=$?; AGENT=""
check "agent exits 0" [ $rc = 0 ]
if [ $fails != 0 ]; then cat "$TMP/agent.log"; exit 1; fi
echo "all container checks passed"
