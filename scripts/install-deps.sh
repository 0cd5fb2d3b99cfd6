#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install every build and test dependency of bpfwatch from Debian 12's
# archive.  Idempotent: packages already installed are left alone, and
# apt-get runs only when something is missing.
#
#   scripts/install-deps.sh                   say what is checked and installed
#   scripts/install-deps.sh --quiet-if-present  silent when nothing is missing
#   scripts/install-deps.sh --build-only        what building and running need
#                                               (make run), not the test peers
set -eu

quiet=0
build_only=0
for arg in "$@"; do
	case $arg in
	--quiet-if-present) quiet=1 ;;
	--build-only) build_only=1 ;;
	*) echo "install-deps: unknown option '$arg'" >&2; exit 2 ;;
	esac
done

# Build: compilers, BPF toolchain, the libraries the agent links.
BUILD="make gcc clang llvm bpftool pkg-config linux-libc-dev
libbpf-dev libelf-dev zlib1g-dev libmicrohttpd-dev libcjson-dev libyaml-dev
libcurl4-openssl-dev systemtap-sdt-dev libcrypt-dev"
# Tests: cmocka, the real Prometheus and Alertmanager peers (promtool;
# notification delivery end to end), HTTP client, fuzzing runtime,
# sanitizer runtime, openssl (test TLS certificates); language runtimes
# whose GC probes the gc end-to-end test exercises (Debian's python3.11,
# OpenJDK 17 and ruby 3.1 carry USDT probes; Go builds the program whose
# stop-the-world pauses it checks).
TEST="libcmocka-dev prometheus prometheus-alertmanager curl libclang-rt-14-dev openssl
python3.11 openjdk-17-jdk-headless ruby golang-go"

[ "$build_only" = 1 ] && TEST=""
missing=""
for p in $BUILD $TEST; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	[ "$quiet" = 1 ] || echo "install-deps: all dependencies present"
	exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "install-deps: need root (or sudo) to install:$missing" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update"
$SUDO apt-get update -qq
echo "install-deps: apt-get install -y --no-install-recommends$missing"
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# Debian's prometheus (alertmanager) package starts a server on :9090 (:9093)
# where systemd runs;
# the tests start their own on other ports, so leave it be.
echo "install-deps: done"
