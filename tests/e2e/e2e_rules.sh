#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Every shipped rule file passes promtool check rules, and every rule test
# file passes promtool test rules (the real Prometheus tooling).
set -u
fails=0
cd rules || exit 1
for f in *.rules.yml; do
	if promtool check rules "$f"; then echo "ok   - promtool check rules $f"
	else echo "FAIL - promtool check rules $f"; fails=$((fails + 1)); fi
	t=${f%.rules.yml}.test.yml
	if [ ! -f "$t" ]; then
		echo "FAIL - $f has no unit test file $t"; fails=$((fails + 1)); continue
	fi
	if promtool test rules "$t"; then echo "ok   - promtool test rules $t"
	else echo "FAIL - promtool test rules $t"; fails=$((fails + 1)); fi
done
exit $fails
