#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Rule conformance: every tests/rules/conformance/*.test.yml, the template
# golden files tests/rules/*.test.yml and every shipped rules/*.test.yml runs under both `promtool test rules` (Prometheus
# 2.42, the reference) and `bpfwatch test rules`; both must pass.  Every
# tests/rules/failing/*.test.yml must fail under both.  Files
# listed in conformance/KNOWN-FAILURES-bpfwatch.txt are engine bugs still
# open: they must pass under promtool and are expected to FAIL under
# bpfwatch (a listed file that passes is reported, so the list shrinks).
# Shipped rule files must also pass `promtool check rules` and
# `bpfwatch check rules`.
set -u
OUT=${OUT:-.output/release}
BW=${BW:-$OUT/bpfwatch}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
known="$here/conformance/KNOWN-FAILURES-bpfwatch.txt"
fails=0 n=0 xfail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v promtool >/dev/null 2>&1; then
	echo "FAIL - promtool not installed (Debian package prometheus)"
	exit 1
fi
case $BW in /*) ;; *) BW="$root/$BW" ;; esac
if [ ! -x "$BW" ]; then
	echo "FAIL - $BW not built"
	exit 1
fi

is_known() {
	[ -f "$known" ] && grep -v '^#' "$known" | awk '{print $1}' | grep -qx "$1"
}

for t in "$here"/conformance/*.test.yml "$here"/*.test.yml "$root"/rules/*.test.yml; do
	[ -f "$t" ] || continue
	n=$((n + 1))
	name=${t#"$root"/}
	base=$(basename "$t")
	promtool test rules "$t" >"$tmp/p" 2>&1; p=$?
	"$BW" test rules "$t" >"$tmp/b" 2>&1; b=$?
	if [ $p != 0 ]; then
		echo "FAIL - promtool test rules $name (exit $p): the expected values are wrong"
		sed 's/^/    /' "$tmp/p"
		fails=$((fails + 1))
	fi
	if is_known "$base"; then
		if [ $b = 0 ]; then
			echo "FAIL - $name passes under bpfwatch: remove it from $(basename "$known")"
			fails=$((fails + 1))
		else
			echo "xfail - bpfwatch test rules $name (known engine bug, see $(basename "$known"))"
			xfail=$((xfail + 1))
		fi
		continue
	fi
	if [ $b != 0 ]; then
		echo "FAIL - bpfwatch test rules $name (exit $b) disagrees with promtool (exit $p)"
		sed 's/^/    /' "$tmp/b"
		fails=$((fails + 1))
	elif [ $p = 0 ]; then
		echo "ok   - $name: both pass"
	fi
done

# Files both tools must reject: wrong expectations, evaluation errors,
# bad notation, strict decoding.  The verdicts must agree too.
for t in "$here"/failing/*.test.yml; do
	[ -f "$t" ] || continue
	n=$((n + 1))
	name=${t#"$root"/}
	promtool test rules "$t" >"$tmp/p" 2>&1; p=$?
	"$BW" test rules "$t" >"$tmp/b" 2>&1; b=$?
	if [ $p = 1 ] && [ $b = 1 ]; then
		echo "ok   - $name: both fail"
	else
		echo "FAIL - $name must fail under both tools: promtool exit $p, bpfwatch exit $b"
		sed 's/^/    /' "$tmp/b"
		fails=$((fails + 1))
	fi
done

for f in "$root"/rules/*.rules.yml; do
	[ -f "$f" ] || continue
	name=${f#"$root"/}
	if promtool check rules "$f" >"$tmp/p" 2>&1; then
		echo "ok   - promtool check rules $name"
	else
		echo "FAIL - promtool check rules $name"; sed 's/^/    /' "$tmp/p"
		fails=$((fails + 1))
	fi
	if "$BW" check rules "$f" >"$tmp/b" 2>&1; then
		echo "ok   - bpfwatch check rules $name"
	else
		echo "FAIL - bpfwatch check rules $name"; sed 's/^/    /' "$tmp/b"
		fails=$((fails + 1))
	fi
done

# A file full of mistakes: both tools refuse it, and bpfwatch names every
# mistake with its position.
bad=tests/rules/check/bad.rules.yml
if (cd "$root" && promtool check rules "$bad") >/dev/null 2>&1; then
	echo "FAIL - promtool check rules accepts $bad"; fails=$((fails + 1))
else
	echo "ok   - promtool check rules refuses $bad"
fi
(cd "$root" && "$BW" check rules "$bad") >"$tmp/b" 2>"$tmp/e"; b=$?
if [ $b = 1 ] && [ ! -s "$tmp/b" ] && cmp -s "$tmp/e" "$here/check/bad.expected"; then
	echo "ok   - bpfwatch check rules refuses $bad with every error placed"
else
	echo "FAIL - bpfwatch check rules $bad (exit $b), output differs from check/bad.expected:"
	diff "$here/check/bad.expected" "$tmp/e" | sed 's/^/    /'
	fails=$((fails + 1))
fi

echo "rules conformance: $n test files, $fails failures, $xfail known bpfwatch failures"
[ $fails = 0 ]
