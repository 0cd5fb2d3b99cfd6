# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the end-to-end scripts (sourced, not run).
# The caller sets `fails=0` and reports it at the end.

ok() { echo "ok   - $*"; }
not_ok() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() {	# check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# Every BPF program id loaded on the machine.
prog_ids() {
	bpftool prog list -j | grep -o '"id":[0-9]*' | cut -d: -f2 | sort -n
}

# BPF programs a process holds, from its fds' fdinfo (exact, unlike a diff
# of the global list, which other BPF users on the machine would disturb).
held_prog_ids() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -nu
}

wait_http() {	# wait_http URL SECONDS: until URL answers 200
	local i
	for i in $(seq 1 $(($2 * 10))); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# The comm as the hex the sleeper workload takes.
hexname() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# write_config FILE PORT STATE_DIR SELECTOR: 1 s ticks, syscall latency on
# for the processes a targets selector matches, e.g. 'comm: "^bw"'.
write_config() {
	cat > "$1" <<EOC
global:
  collection_interval: 1s
web:
  listen_address: 127.0.0.1:$2
state_dir: $3
probes:
  syscall_latency:
    enabled: true
    targets:
      $4
EOC
}
