#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the cmocka unit test binaries given as arguments; fail if any fails.
failed=""
for t in "$@"; do
	echo "=== unit: $(basename "$t")"
	if ! "$t"; then
		failed="$failed $(basename "$t")"
	fi
done
if [ -n "$failed" ]; then
	echo "unit tests FAILED:$failed"
	exit 1
fi
echo "unit tests passed ($# binaries)"
