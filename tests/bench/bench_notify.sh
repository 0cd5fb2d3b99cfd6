#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench, part 4: alert delivery.  $OUT/bench/bench_notify measures
#   - notifications per second through the spool (fdatasync per commit, on
#     the disk under $OUT) to a local HTTP receiver, 64 per commit and one
#     per commit;
#   - the time from enqueue (spool commit included) to a real
#     Alertmanager's 2xx answer, one alert at a time (Debian's
#     prometheus-alertmanager, started here on BENCH_AM_PORT, default
#     19656; skipped with a note if it is not installed).
# A benchmark: nothing fails on a figure.
#
# Environment: OUT, BENCH_AM_PORT, BENCH_NOTIFY_N (default 20000).
set -eu
OUT=${OUT:-.output/release}
PORT=${BENCH_AM_PORT:-19656}
N=${BENCH_NOTIFY_N:-20000}
AM=prometheus-alertmanager
BIN=$OUT/bench/bench_notify

die() {
	echo "bench_notify: $*" >&2
	exit 1
}
[ -x "$BIN" ] || die "$BIN missing: run 'make bench'"

tmp=$(mktemp -d "$OUT/bench-notify.XXXXXX")
am=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$am" ]; then
		kill "$am" 2>/dev/null || true
		wait "$am" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

echo
echo "######## bench_notify: alert delivery through the spool"
"$BIN" -d "$tmp/spool" -n "$N" -b 64 || die "throughput run (batch 64) failed"
"$BIN" -d "$tmp/spool" -n $((N / 10)) -b 1 || die "throughput run (batch 1) failed"

if ! command -v "$AM" >/dev/null 2>&1; then
	echo "# $AM not installed (scripts/install-deps.sh): no Alertmanager figure"
	exit 0
fi
printf 'route: { receiver: bench }\nreceivers: [ { name: bench } ]\n' >"$tmp/am.yml"
"$AM" --config.file="$tmp/am.yml" --storage.path="$tmp/am" --cluster.listen-address= \
	--web.listen-address="127.0.0.1:$PORT" >"$tmp/am.log" 2>&1 &
am=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/-/ready"; do
	i=$((i + 1))
	[ $i -le 150 ] || { cat "$tmp/am.log" >&2; die "alertmanager not ready on :$PORT"; }
	sleep 0.2
done
"$BIN" -d "$tmp/spool" -n 1000 -b 64 -a "http://127.0.0.1:$PORT" -m 100 |
	sed -n '/^Alertmanager/,$p' || die "Alertmanager run failed"
